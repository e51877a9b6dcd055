//! Pictures of a MAP fit: the loss curve on a log axis and the gradient norms per site (seed
//! 001), and the mixture density with each weighted component and the data (seeds 001, 002).
//! For D ≥ 2 the data by MAP assignment with ellipses is a [`super::data::PairGrid`].

use std::collections::BTreeMap;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use bgmm::{Model, Params};

use super::{chart, color, err, legend, line_mark, log_range, normal_pdf, tick, Draw};

type LogChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::combinators::LogCoord<f64>,
    >,
>;

/// Iterations against values on a log axis.
fn log_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    caption: &str,
    n: usize,
    (lo, hi): (f64, f64),
    ylabel: &str,
) -> Result<LogChart<'a, DB>> {
    let mut c = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..(n.max(2) - 1) as f64, (lo..hi).log_scale())
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("iters")
        .y_desc(ylabel)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    Ok(c)
}

/// The loss of every Adam step, then of every L-BFGS iteration, on a log axis (seed 001's
/// "Convergence of SVI").
pub struct Loss {
    pub adam: Vec<f64>,
    pub polish: Vec<f64>,
}

impl Loss {
    /// Losses can be negative (densities above one); they are shifted onto the log axis.
    pub fn shift(&self) -> f64 {
        let min = self
            .adam
            .iter()
            .chain(&self.polish)
            .copied()
            .fold(f64::INFINITY, f64::min);
        if min <= 0.0 {
            1.0 - min
        } else {
            0.0
        }
    }
}

impl Draw for Loss {
    fn size(&self) -> (u32, u32) {
        (1000, 320)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let shift = self.shift();
        let all = self.adam.iter().chain(&self.polish).map(|v| v + shift);
        let (lo, hi) = log_range(all);
        let n = (self.adam.len() + self.polish.len()).max(2);
        let ylabel = if shift > 0.0 {
            format!("loss + {shift:.3}")
        } else {
            "loss".to_string()
        };
        let mut c = log_chart(
            root,
            "Convergence of the MAP fit (Adam, then L-BFGS)",
            n,
            (lo, hi),
            &ylabel,
        )?;
        c.draw_series(LineSeries::new(
            self.adam
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64, v + shift)),
            super::PALETTE[1].stroke_width(2),
        ))
        .map_err(err)?
        .label("Adam")
        .legend(line_mark(super::PALETTE[1]));
        let start = self.adam.len();
        c.draw_series(LineSeries::new(
            self.polish
                .iter()
                .enumerate()
                .map(|(i, v)| ((start + i) as f64, v + shift)),
            super::PALETTE[0].stroke_width(2),
        ))
        .map_err(err)?
        .label("L-BFGS polish")
        .legend(line_mark(super::PALETTE[0]));
        legend(&mut c)
    }
}

/// Gradient norm per site at each Adam step, on a log axis (seed 001).
pub struct GradNorms {
    pub norms: BTreeMap<String, Vec<f64>>,
}

impl Draw for GradNorms {
    fn size(&self) -> (u32, u32) {
        (1000, 400)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (lo, hi) = log_range(self.norms.values().flatten().copied());
        let n = self.norms.values().map(Vec::len).max().unwrap_or(2).max(2);
        let mut c = log_chart(
            root,
            "Gradient norms during the fit (Adam)",
            n,
            (lo, hi),
            "gradient norm",
        )?;
        for (i, (name, v)) in self.norms.iter().enumerate() {
            let col = color(i);
            c.draw_series(LineSeries::new(
                v.iter()
                    .enumerate()
                    .filter(|(_, g)| **g > 0.0)
                    .map(|(i, g)| (i as f64, *g)),
                col.stroke_width(2),
            ))
            .map_err(err)?
            .label(name.as_str())
            .legend(line_mark(col));
        }
        legend(&mut c)
    }
}

/// 1-D: each weighted component, their sum (dashed) and the data as marks on the axis
/// (seed 001's "Density of two-component mixture model", seed 002's plot with x marks).
pub struct Density {
    pub model: Model,
    pub params: Params,
    pub x: Vec<f64>,
    pub name: String,
}

impl Density {
    /// The x range: the data and every component's ±4 sd, padded.
    pub fn range(&self) -> (f64, f64) {
        let (m, p) = (&self.model, &self.params);
        let (mut lo, mut hi) = super::min_max(self.x.iter().copied());
        for k in 0..m.k {
            let (mu, s) = (p.loc(m, k, 0), p.scale(m, k, 0));
            lo = lo.min(mu - 4.0 * s);
            hi = hi.max(mu + 4.0 * s);
        }
        let pad = 0.05 * (hi - lo).max(1e-9);
        (lo - pad, hi + pad)
    }
}

impl Draw for Density {
    fn size(&self) -> (u32, u32) {
        (1000, 420)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (m, p) = (&self.model, &self.params);
        let (lo, hi) = self.range();
        let grid = super::linspace(&(lo..hi), 801);
        let comp =
            |k: usize, v: f64| p.weights[k] * normal_pdf(v, p.loc(m, k, 0), p.scale(m, k, 0));
        let total: Vec<f64> = grid
            .iter()
            .map(|&v| (0..m.k).map(|k| comp(k, v)).sum())
            .collect();
        let top = total.iter().copied().fold(0.0, f64::max) * 1.12;
        let mut c = chart(
            root,
            &format!("Density of the {}-component mixture model (MAP)", m.k),
            lo..hi,
            0.0..top.max(1e-12),
            (&self.name, "probability density"),
        )?;
        for k in 0..m.k {
            let col = color(k);
            c.draw_series(LineSeries::new(
                grid.iter().map(|&v| (v, comp(k, v))),
                col.stroke_width(2),
            ))
            .map_err(err)?
            .label(format!(
                "z={k}: weight {:.3}, loc {:.3}, scale {:.3}",
                p.weights[k],
                p.loc(m, k, 0),
                p.scale(m, k, 0)
            ))
            .legend(line_mark(col));
        }
        c.draw_series(DashedLineSeries::new(
            grid.iter().copied().zip(total.iter().copied()),
            6,
            4,
            BLACK.stroke_width(2),
        ))
        .map_err(err)?
        .label("mixture")
        .legend(line_mark(BLACK));
        c.draw_series(
            self.x
                .iter()
                .map(|&v| Cross::new((v, 0.0), 4, BLACK.mix(0.45).stroke_width(1))),
        )
        .map_err(err)?
        .label(format!("data ({} points)", self.x.len()))
        .legend(|(x, y)| Cross::new((x + 10, y), 4, BLACK.stroke_width(1)));
        legend(&mut c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::Render;

    pub(crate) fn tutorial() -> Density {
        let spec: bgmm::ModelSpec = toml::from_str(
            "k = 2\n[weights]\nconcentration = 0.5\n[locs]\nloc = 0.0\nscale = 10.0\n\
             [scale]\nprior = \"lognormal\"\nmu = 0.0\nsigma = 2.0\n",
        )
        .unwrap();
        Density {
            model: spec.build(Some(1)).unwrap(),
            params: Params {
                weights: vec![0.375, 0.625],
                locs: vec![0.498941, 10.984462],
                scales: vec![0.651434],
            },
            x: vec![0.0, 1.0, 10.0, 11.0, 12.0],
            name: "x".into(),
        }
    }

    #[test]
    fn density_axis_covers_the_data_and_the_components() {
        let (lo, hi) = tutorial().range();
        // data 0..12, components ±4 sd: 0.499 − 2.61 = −2.11 and 10.98 + 2.61 = 13.59
        assert!(lo < -2.1 && lo > -3.0, "{lo}");
        assert!(hi > 13.5 && hi < 14.5, "{hi}");
    }

    #[test]
    fn density_shows_every_point_and_component() {
        let svg = tutorial().svg().unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        // one cross (two half-transparent black strokes) per data point
        assert_eq!(
            svg.matches("<line opacity=\"0.45\" stroke=\"#000000\"")
                .count(),
            5 * 2
        );
        assert!(svg.contains("z=0: weight 0.375, loc 0.499, scale 0.651"));
        assert!(svg.contains("Density of the 2-component mixture model"));
    }

    #[test]
    fn density_png_is_drawn_with_the_components_colours() {
        let png = tutorial().png().unwrap();
        let dec = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (1000, 420));
        let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(3).collect();
        let count = |c: [u8; 3]| px.iter().filter(|p| **p == c).count();
        // both components' curves (red, blue) are there in full colour, over many pixels
        assert!(count([214, 39, 40]) > 300, "red {}", count([214, 39, 40]));
        assert!(
            count([31, 119, 180]) > 300,
            "blue {}",
            count([31, 119, 180])
        );
        // and most of the picture is the white background
        assert!(count([255, 255, 255]) > px.len() / 2);
    }

    #[test]
    fn loss_and_gradient_plots_have_their_series() {
        let loss: Vec<f64> = (0..50)
            .map(|i| 17.4 + 10.0 * (-0.1 * i as f64).exp())
            .collect();
        let l = Loss {
            adam: loss,
            polish: vec![17.41, 17.4],
        };
        let svg = l.svg().unwrap();
        assert!(svg.contains("Adam") && svg.contains("L-BFGS polish") && svg.contains("iters"));
        // negative losses are shifted onto the log axis, and the label says so
        let l = Loss {
            adam: vec![-5.0, -7.0, -7.5],
            polish: vec![],
        };
        assert!(l.svg().unwrap().contains("loss + 8.500"));
        let mut g = BTreeMap::new();
        g.insert("locs".to_string(), vec![1.0, 0.5, 0.1]);
        g.insert("scale".to_string(), vec![2.0, 0.2, 0.02]);
        let svg = GradNorms { norms: g }.svg().unwrap();
        assert!(svg.contains(">locs<") || svg.contains("\nlocs\n"), "{svg}");
    }
}
