//! Pictures of a MAP fit: the loss curve on a log axis and the gradient norms per site (seed
//! 001), and the mixture density with each weighted component and the data (seeds 001, 002).
//! For D ≥ 2 the data by MAP assignment with ellipses is a [`super::data::PairGrid`].

use std::collections::BTreeMap;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use bgmm::{Model, Params};

use plotters::coord::combinators::{BindKeyPoints, LogCoord, WithKeyPoints};
use plotters::coord::types::RangedCoordf64;

use super::{
    chart, color, err, legend_above, log_range, log_ticks, normal_pdf, short, tick, titled, Draw,
    Entry, Mark, DESC_FONT, LABEL_FONT,
};

type LogChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, WithKeyPoints<LogCoord<f64>>>>;

/// Iterations against values on a log axis, under a title and a legend.
fn log_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    caption: &str,
    legend: &[Entry],
    n: usize,
    (lo, hi): (f64, f64),
    ylabel: &str,
) -> Result<LogChart<'a, DB>> {
    let area = legend_above(&titled(root, caption)?, legend)?;
    let (bold, light) = log_ticks(lo, hi);
    let mut c = ChartBuilder::on(&area)
        .margin(10)
        .margin_right(26)
        .x_label_area_size(50)
        .y_label_area_size(88)
        .build_cartesian_2d(
            0f64..(n.max(2) - 1) as f64,
            (lo..hi)
                .log_scale()
                .with_key_points(bold)
                .with_light_points(light),
        )
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("iters")
        .y_desc(ylabel)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(("sans-serif", LABEL_FONT))
        .axis_desc_style(("sans-serif", DESC_FONT))
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
        (1000, 360)
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
        let (adam, polish) = (super::PALETTE[1], super::PALETTE[0]);
        let mut c = log_chart(
            root,
            "Convergence of the MAP fit (Adam, then L-BFGS)",
            &[
                (Mark::Line(adam), "Adam".to_string()),
                (Mark::Line(polish), "L-BFGS polish".to_string()),
            ],
            n,
            (lo, hi),
            &ylabel,
        )?;
        c.draw_series(LineSeries::new(
            self.adam
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64, v + shift)),
            adam.stroke_width(2),
        ))
        .map_err(err)?;
        let start = self.adam.len();
        c.draw_series(LineSeries::new(
            self.polish
                .iter()
                .enumerate()
                .map(|(i, v)| ((start + i) as f64, v + shift)),
            polish.stroke_width(2),
        ))
        .map_err(err)?;
        Ok(())
    }
}

/// Gradient norm per site at each Adam step, on a log axis (seed 001).
pub struct GradNorms {
    pub norms: BTreeMap<String, Vec<f64>>,
}

impl Draw for GradNorms {
    fn size(&self) -> (u32, u32) {
        (1000, 440)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (lo, hi) = log_range(self.norms.values().flatten().copied());
        let n = self.norms.values().map(Vec::len).max().unwrap_or(2).max(2);
        let legend: Vec<Entry> = self
            .norms
            .keys()
            .enumerate()
            .map(|(i, name)| (Mark::Line(color(i)), name.clone()))
            .collect();
        let mut c = log_chart(
            root,
            "Gradient norms during the fit (Adam)",
            &legend,
            n,
            (lo, hi),
            "gradient norm",
        )?;
        for (i, v) in self.norms.values().enumerate() {
            c.draw_series(LineSeries::new(
                v.iter()
                    .enumerate()
                    .filter(|(_, g)| **g > 0.0)
                    .map(|(i, g)| (i as f64, *g)),
                color(i).stroke_width(2),
            ))
            .map_err(err)?;
        }
        Ok(())
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

/// Points of the density curves.
const DENSITY_GRID: usize = 801;

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

    /// Whether component k is too narrow for the curve's grid to show (a scale below two grid
    /// steps, such as a component collapsed onto one point): it is drawn as a spike instead.
    pub fn is_spike(&self, k: usize) -> bool {
        let (lo, hi) = self.range();
        let step = (hi - lo) / (DENSITY_GRID - 1) as f64;
        self.params.scale(&self.model, k, 0) < 2.0 * step
    }
}

impl Draw for Density {
    fn size(&self) -> (u32, u32) {
        (1000, 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (m, p) = (&self.model, &self.params);
        let (lo, hi) = self.range();
        let grid = super::linspace(&(lo..hi), DENSITY_GRID);
        let comp =
            |k: usize, v: f64| p.weights[k] * normal_pdf(v, p.loc(m, k, 0), p.scale(m, k, 0));
        let spikes: Vec<usize> = (0..m.k).filter(|&k| self.is_spike(k)).collect();
        // the curves of the components the grid can show (a spike's height, up to 1e15 for a
        // collapsed scale, would flatten everything else)
        let total: Vec<f64> = grid
            .iter()
            .map(|&v| {
                (0..m.k)
                    .filter(|k| !spikes.contains(k))
                    .map(|k| comp(k, v))
                    .sum()
            })
            .collect();
        let top = total.iter().copied().fold(0.0, f64::max).max(1e-12) * 1.12;
        let mut legend: Vec<Entry> = (0..m.k)
            .map(|k| {
                let spike = if spikes.contains(&k) {
                    " (a spike: too narrow to draw)"
                } else {
                    ""
                };
                (
                    Mark::Line(color(k)),
                    format!(
                        "z={k}: weight {}, loc {}, scale {}{spike}",
                        short(p.weights[k]),
                        short(p.loc(m, k, 0)),
                        short(p.scale(m, k, 0))
                    ),
                )
            })
            .collect();
        legend.push((
            Mark::Dashed(BLACK, 6, 4),
            match spikes.len() {
                0 => "mixture".to_string(),
                1 => "mixture (without the spike)".to_string(),
                _ => "mixture (without the spikes)".to_string(),
            },
        ));
        legend.push((
            Mark::Cross(BLACK),
            format!("data ({} points)", self.x.len()),
        ));
        let area = legend_above(
            &titled(
                root,
                &format!("Density of the {}-component mixture model (MAP)", m.k),
            )?,
            &legend,
        )?;
        let mut c = chart(
            &area,
            "",
            lo..hi,
            0.0..top,
            (&self.name, "probability density"),
        )?;
        for k in (0..m.k).filter(|k| !spikes.contains(k)) {
            c.draw_series(LineSeries::new(
                grid.iter().map(|&v| (v, comp(k, v))),
                color(k).stroke_width(2),
            ))
            .map_err(err)?;
        }
        for &k in &spikes {
            // up to its peak, or to the top with an arrowhead when the peak is off the scale
            // (a scale of exactly 0 gives an infinite peak, not normal_pdf's 0/0)
            let (mu, peak) = (
                p.loc(m, k, 0),
                p.weights[k] / (p.scale(m, k, 0) * (2.0 * std::f64::consts::PI).sqrt()),
            );
            let end = peak.min(top);
            c.draw_series(std::iter::once(PathElement::new(
                vec![(mu, 0.0), (mu, end)],
                color(k).stroke_width(3),
            )))
            .map_err(err)?;
            if peak > top {
                c.draw_series(std::iter::once(TriangleMarker::new(
                    (mu, end),
                    7,
                    color(k).filled(),
                )))
                .map_err(err)?;
            }
        }
        c.draw_series(DashedLineSeries::new(
            grid.iter().copied().zip(total.iter().copied()),
            6,
            4,
            BLACK.stroke_width(2),
        ))
        .map_err(err)?;
        c.draw_series(
            self.x
                .iter()
                .map(|&v| Cross::new((v, 0.0), 4, BLACK.mix(0.45).stroke_width(1))),
        )
        .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::svg_check::*;
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
        assert_eq!((info.width, info.height), (1000, 480));
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

    /// Gradient norms that wander over the whole axis, as the demo's do (issue 11: the legend
    /// sat on the lines).
    fn wandering_norms() -> BTreeMap<String, Vec<f64>> {
        ["locs", "scale", "weights"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let v = (0..200)
                    .map(|t| 10f64.powf(2.5 * (t as f64 / 9.0 + 2.1 * i as f64).sin() - i as f64))
                    .collect();
                (name.to_string(), v)
            })
            .collect()
    }

    #[test]
    fn legends_cover_no_plotted_data() {
        let svg = GradNorms {
            norms: wandering_norms(),
        }
        .svg()
        .unwrap();
        assert_legend_clear(&svg, "locs", 3.0);
        let loss: Vec<f64> = (0..200)
            .map(|i| 210.2 + 87.0 * (-0.15 * i as f64).exp())
            .collect();
        let svg = Loss {
            adam: loss,
            polish: vec![210.21, 210.206],
        }
        .svg()
        .unwrap();
        assert_legend_clear(&svg, "Adam", 3.0);
        let svg = iris_k4().svg().unwrap();
        assert_legend_clear(&svg, "mixture (without the spike)", 3.0);
    }

    #[test]
    fn loss_axis_fits_the_losses() {
        // the demo's losses: 297 down to 210.2 (the axis ran 70 to 900, so the curve was flat)
        let adam: Vec<f64> = (0..200)
            .map(|i| 210.2 + 87.0 * (-0.15 * i as f64).exp())
            .collect();
        let svg = Loss {
            adam,
            polish: vec![210.21, 210.206],
        }
        .svg()
        .unwrap();
        let area = plot_areas(&svg)[0];
        let ys: Vec<f64> = lines_in(&svg, &area)
            .iter()
            .flat_map(|p| p.points.iter().map(|q| q.1))
            .collect();
        let (top, bottom) = crate::plot::min_max(ys);
        // the curve fills most of the plot's height
        assert!(
            bottom - top > 0.8 * (area.y1 - area.y0),
            "curve {top}..{bottom} in a plot {area:?}"
        );
        // every labelled value on the axis is within 10 % of the losses' range, and there
        // are enough of them to read the axis
        let labels: Vec<f64> = y_labels(&svg, &area)
            .iter()
            .filter_map(|(t, _)| t.parse().ok())
            .collect();
        assert!(labels.len() >= 3, "{labels:?}");
        for v in &labels {
            assert!(*v > 210.2 / 1.1 && *v < 297.2 * 1.1, "{labels:?}");
        }
    }

    /// The iris fit with K = 4: component 3 sits on the eight points at 5.1 with scale 4e-16.
    fn iris_k4() -> Density {
        let spec: bgmm::ModelSpec = toml::from_str(
            "k = 4\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 10.0\n\
             [scale]\nsharing = \"component\"\nprior = \"lognormal\"\nmu = 0.565\nsigma = 2.0\n",
        )
        .unwrap();
        Density {
            model: spec.build(Some(1)).unwrap(),
            params: Params {
                weights: vec![0.504436, 0.333083, 0.109147, 0.053333],
                locs: vec![5.011615, 1.461732, 4.315834, 5.1],
                scales: vec![0.880085, 0.170919, 0.320276, 4.081e-16],
            },
            x: bgmm::datasets::iris_column("petal_length").unwrap(),
            name: "petal_length".into(),
        }
    }

    #[test]
    fn a_degenerate_component_is_shown_as_a_spike_and_named() {
        let svg = iris_k4().svg().unwrap();
        // its scale is written out, not rounded to 0.000
        assert!(svg.contains("scale 4.08e-16"), "label");
        let area = plot_areas(&svg)[0];
        let ticks = x_ticks(&svg, &area);
        let at = x_pixel(&ticks, 5.1);
        // a vertical mark in component 3's colour (orange) at 5.1, most of the plot high
        let orange = "#FF7F0E";
        let mut marks: Vec<((f64, f64), (f64, f64))> = lines(&svg)
            .into_iter()
            .filter(|l| l.2 == orange)
            .map(|l| (l.0, l.1))
            .collect();
        for p in polylines(&svg).iter().filter(|p| p.stroke == orange) {
            marks.extend(p.points.windows(2).map(|w| (w[0], w[1])));
        }
        let tall = marks.iter().any(|(a, b)| {
            (a.0 - at).abs() <= 2.0
                && (b.0 - at).abs() <= 2.0
                && (a.1 - b.1).abs() > 0.5 * (area.y1 - area.y0)
        });
        assert!(tall, "no spike at x = {at}: {marks:?}");
        // its peak (5e13) is off the scale: an arrowhead at the top of the spike
        let arrow = elements(&svg, "polygon")
            .iter()
            .any(|(a, _)| a.get("fill").map(String::as_str) == Some(orange));
        assert!(arrow);
        // a scale of exactly 0 (an infinite peak) draws the same
        let mut d = iris_k4();
        d.params.scales[3] = 0.0;
        let svg = d.svg().unwrap();
        assert!(svg.contains("scale 0.000 (a spike: too narrow to draw)"));
        assert!(svg.contains(&format!("fill=\"{orange}\" points=")));
    }
}
