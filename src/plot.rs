//! Pictures of a MAP fit, as SVG (plotters, with an embedded DejaVu font so nothing from the
//! system is needed): the loss curve (log y, seed 001), gradient norms per site (seed 001),
//! and the mixture density with each weighted component and the data (seeds 001, 002), or for
//! D ≥ 2 the data coloured by MAP assignment with the component locations.

use std::collections::BTreeMap;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use bgmm::classify::{classify, Temperature};
use bgmm::{Data, Model, Params};

static FONTS: Once = Once::new();

fn fonts() {
    FONTS.call_once(|| {
        // a static font in the binary: registering cannot fail for a valid TTF
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

/// Range of positive values for a log axis, padded by a factor.
fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (1e-3, 1.0);
    }
    let (lo, hi) = (lo / 1.5, hi * 1.5);
    if hi / lo < 10.0 {
        (lo / 2.0, hi * 2.0)
    } else {
        (lo, hi)
    }
}

/// The loss of every Adam step, then of every L-BFGS iteration, on a log axis.
pub fn loss_svg(adam: &[f64], polish: &[f64]) -> Result<String> {
    fonts();
    // a loss can be negative (densities above 1): shift so the log axis shows the approach
    let all: Vec<f64> = adam.iter().chain(polish).copied().collect();
    let min = all.iter().copied().fold(f64::INFINITY, f64::min);
    let shift = if min <= 0.0 { 1.0 - min } else { 0.0 };
    let (lo, hi) = log_range(all.iter().map(|v| v + shift));
    let n = all.len().max(2);
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (1000, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut c = ChartBuilder::on(&root)
            .caption(
                "Convergence of the MAP fit (Adam, then L-BFGS)",
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..(n - 1) as f64, (lo..hi).log_scale())
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("iters")
            .y_desc(if shift > 0.0 {
                format!("loss + {shift:.3}")
            } else {
                "loss".to_string()
            })
            .draw()
            .map_err(err)?;
        c.draw_series(LineSeries::new(
            adam.iter().enumerate().map(|(i, v)| (i as f64, v + shift)),
            &BLUE,
        ))
        .map_err(err)?
        .label("Adam")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        c.draw_series(LineSeries::new(
            polish
                .iter()
                .enumerate()
                .map(|(i, v)| ((adam.len() + i) as f64, v + shift)),
            &RED,
        ))
        .map_err(err)?
        .label("L-BFGS polish")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(s)
}

/// Gradient norm per site at each Adam step, on a log axis.
pub fn grad_norm_svg(norms: &BTreeMap<String, Vec<f64>>) -> Result<String> {
    fonts();
    let (lo, hi) = log_range(norms.values().flatten().copied());
    let n = norms.values().map(Vec::len).max().unwrap_or(2).max(2);
    let colors = [RED, BLUE, GREEN, MAGENTA];
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (1000, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut c = ChartBuilder::on(&root)
            .caption("Gradient norms during SVI (Adam)", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..(n - 1) as f64, (lo..hi).log_scale())
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("iters")
            .y_desc("gradient norm")
            .draw()
            .map_err(err)?;
        for (i, (name, v)) in norms.iter().enumerate() {
            let col = colors[i % colors.len()];
            c.draw_series(LineSeries::new(
                v.iter()
                    .enumerate()
                    .filter(|(_, g)| **g > 0.0)
                    .map(|(i, g)| (i as f64, *g)),
                &col,
            ))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col));
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(s)
}

/// The x range a 1-D density plot covers: the data and every component's ±4 sd, padded.
pub fn density_range(model: &Model, p: &Params, x: &[f64]) -> (f64, f64) {
    let mut lo = x.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for k in 0..model.k {
        let (m, s) = (p.loc(model, k, 0), p.scale(model, k, 0));
        lo = lo.min(m - 4.0 * s);
        hi = hi.max(m + 4.0 * s);
    }
    let pad = 0.05 * (hi - lo).max(1e-9);
    (lo - pad, hi + pad)
}

fn normal_pdf(x: f64, m: f64, s: f64) -> f64 {
    let z = (x - m) / s;
    (-0.5 * z * z).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// D = 1: each weighted component, their sum (dashed in the seed; black here) and the data as
/// marks on the axis. D ≥ 2: the first two dimensions, points coloured by MAP assignment,
/// component locations as crosses.
pub fn density_svg(model: &Model, p: &Params, data: &Data, names: &[String]) -> Result<String> {
    fonts();
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (1000, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        if model.d == 1 {
            let x = data.col(0);
            let (lo, hi) = density_range(model, p, x);
            let grid: Vec<f64> = (0..=600)
                .map(|i| lo + (hi - lo) * i as f64 / 600.0)
                .collect();
            let comp = |k: usize, v: f64| {
                p.weights[k] * normal_pdf(v, p.loc(model, k, 0), p.scale(model, k, 0))
            };
            let total: Vec<f64> = grid
                .iter()
                .map(|&v| (0..model.k).map(|k| comp(k, v)).sum())
                .collect();
            let top = total.iter().copied().fold(0.0, f64::max) * 1.1;
            let mut c = ChartBuilder::on(&root)
                .caption(
                    format!("Density of the {}-component mixture (MAP)", model.k),
                    ("sans-serif", 18),
                )
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(70)
                .build_cartesian_2d(lo..hi, 0f64..top.max(1e-12))
                .map_err(err)?;
            c.configure_mesh()
                .x_desc(names.first().map_or("x", |s| s.as_str()))
                .y_desc("probability density")
                .draw()
                .map_err(err)?;
            for k in 0..model.k {
                let col = PALETTE[k % PALETTE.len()];
                c.draw_series(LineSeries::new(
                    grid.iter().map(|&v| (v, comp(k, v))),
                    col.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!(
                    "component {k}: w {:.3}, loc {:.3}, scale {:.3}",
                    p.weights[k],
                    p.loc(model, k, 0),
                    p.scale(model, k, 0)
                ))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col));
            }
            c.draw_series(DashedLineSeries::new(
                grid.iter().copied().zip(total.iter().copied()),
                6,
                4,
                BLACK.stroke_width(1),
            ))
            .map_err(err)?
            .label("mixture")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
            c.draw_series(
                x.iter()
                    .map(|&v| Circle::new((v, 0.0), 3, BLACK.mix(0.5).filled())),
            )
            .map_err(err)?;
            c.configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
        } else {
            let cl = classify(model, p, data, Temperature::Zero, 0).map_err(|e| anyhow!("{e}"))?;
            let (x, y) = (data.col(0), data.col(1));
            let span = |v: &[f64], j: usize| {
                let mut lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let mut hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                for k in 0..model.k {
                    lo = lo.min(p.loc(model, k, j));
                    hi = hi.max(p.loc(model, k, j));
                }
                let pad = 0.05 * (hi - lo).max(1e-9);
                (lo - pad, hi + pad)
            };
            let (x0, x1) = span(x, 0);
            let (y0, y1) = span(y, 1);
            let mut c = ChartBuilder::on(&root)
                .caption(
                    format!("Data by MAP assignment ({} components)", model.k),
                    ("sans-serif", 18),
                )
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(70)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(err)?;
            c.configure_mesh()
                .x_desc(names[0].as_str())
                .y_desc(names[1].as_str())
                .draw()
                .map_err(err)?;
            for k in 0..model.k {
                let col = PALETTE[k % PALETTE.len()];
                c.draw_series(
                    (0..data.n())
                        .filter(|&i| cl.assignments[i] == k)
                        .map(|i| Circle::new((x[i], y[i]), 3, col.mix(0.6).filled())),
                )
                .map_err(err)?
                .label(format!("component {k} (w {:.3})", p.weights[k]))
                .legend(move |(a, b)| Circle::new((a + 10, b), 4, col.filled()));
                c.draw_series(std::iter::once(Cross::new(
                    (p.loc(model, k, 0), p.loc(model, k, 1)),
                    8,
                    BLACK.stroke_width(3),
                )))
                .map_err(err)?;
            }
            c.configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(s)
}

/// Trace plots: one panel per parameter, draws against iteration, one colour per chain
/// (seeds 001 and 003). `chains[c][s][i]` is parameter `i` of draw `s` in chain `c`.
pub fn trace_svg(names: &[String], chains: &[Vec<Vec<f64>>]) -> Result<String> {
    fonts();
    let rows = names.len().max(1);
    let mut s = String::new();
    {
        let root =
            SVGBackend::with_string(&mut s, (1000, 40 + 160 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let root = root
            .titled("Trace plots (chains in colours)", ("sans-serif", 20))
            .map_err(err)?;
        let panels = root.split_evenly((rows, 1));
        let n = chains.iter().map(Vec::len).max().unwrap_or(2).max(2);
        for (i, (name, area)) in names.iter().zip(panels.iter()).enumerate() {
            let vals = chains.iter().flatten().map(|d| d[i]);
            let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
            let pad = 0.05 * (hi - lo).max(1e-12);
            let mut c = ChartBuilder::on(area)
                .margin(6)
                .x_label_area_size(25)
                .y_label_area_size(70)
                .caption(name.as_str(), ("sans-serif", 14))
                .build_cartesian_2d(0f64..(n - 1) as f64, (lo - pad)..(hi + pad))
                .map_err(err)?;
            c.configure_mesh()
                .x_desc("draw")
                .max_light_lines(2)
                .draw()
                .map_err(err)?;
            for (k, chain) in chains.iter().enumerate() {
                let col = PALETTE[k % PALETTE.len()];
                c.draw_series(LineSeries::new(
                    chain.iter().enumerate().map(|(s, d)| (s as f64, d[i])),
                    col.mix(0.7),
                ))
                .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(s)
}

/// Marginal posterior histograms, one panel per parameter, all chains pooled (seed 003).
pub fn histograms_svg(names: &[String], chains: &[Vec<Vec<f64>>]) -> Result<String> {
    fonts();
    let cols = 3usize;
    let rows = names.len().div_ceil(cols).max(1);
    let bins = 40usize;
    let mut s = String::new();
    {
        let root =
            SVGBackend::with_string(&mut s, (1000, 40 + 220 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let root = root
            .titled("Posterior histograms", ("sans-serif", 20))
            .map_err(err)?;
        let panels = root.split_evenly((rows, cols));
        for (i, (name, area)) in names.iter().zip(panels.iter()).enumerate() {
            let mut v: Vec<f64> = chains.iter().flatten().map(|d| d[i]).collect();
            v.sort_by(f64::total_cmp);
            let (lo, hi) = (v[0], v[v.len() - 1]);
            let width = ((hi - lo) / bins as f64).max(1e-12);
            let mut counts = vec![0usize; bins];
            for x in &v {
                counts[(((x - lo) / width) as usize).min(bins - 1)] += 1;
            }
            let top = counts.iter().copied().max().unwrap_or(1) as f64 * 1.1;
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let mut c = ChartBuilder::on(area)
                .margin(8)
                .x_label_area_size(25)
                .y_label_area_size(45)
                .caption(format!("{name}  (mean {mean:.3})"), ("sans-serif", 14))
                .build_cartesian_2d(lo..(lo + width * bins as f64), 0f64..top)
                .map_err(err)?;
            c.configure_mesh()
                .max_light_lines(1)
                .x_labels(4)
                .y_labels(3)
                .draw()
                .map_err(err)?;
            c.draw_series(counts.iter().enumerate().map(|(b, &n)| {
                let x0 = lo + b as f64 * width;
                Rectangle::new(
                    [(x0, 0.0), (x0 + width, n as f64)],
                    PALETTE[1].mix(0.6).filled(),
                )
            }))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(s)
}

/// 1-D classification: the assignment of each point against x (seed 001's "MAP assignment" or
/// "Random posterior assignment") above its assignment probabilities (seed 001's "Mixture
/// assignment probabilities").
pub fn classify_svg(x: &[f64], z: &[usize], probs: &[Vec<f64>], sampled: bool) -> Result<String> {
    fonts();
    let k = probs.first().map_or(1, Vec::len);
    let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = 0.03 * (hi - lo).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (1000, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, bottom) = root.split_vertically(240);
        let mut c = ChartBuilder::on(&top)
            .caption(
                if sampled {
                    "Random posterior assignment"
                } else {
                    "MAP assignment"
                },
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(70)
            .build_cartesian_2d(lo..hi, -0.5f64..(k as f64 - 0.5))
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("data value")
            .y_desc("class assignment")
            .y_labels(k.min(10))
            .draw()
            .map_err(err)?;
        if sampled {
            c.draw_series(
                order
                    .iter()
                    .map(|&i| Cross::new((x[i], z[i] as f64), 4, PALETTE[1].stroke_width(1))),
            )
            .map_err(err)?;
        } else {
            c.draw_series(LineSeries::new(
                order.iter().map(|&i| (x[i], z[i] as f64)),
                PALETTE[1].stroke_width(2),
            ))
            .map_err(err)?;
        }
        let mut c = ChartBuilder::on(&bottom)
            .caption("Mixture assignment probabilities", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(70)
            .build_cartesian_2d(lo..hi, -0.02f64..1.02)
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("data value")
            .y_desc("assignment probability")
            .draw()
            .map_err(err)?;
        for comp in 0..k {
            let col = PALETTE[comp % PALETTE.len()];
            c.draw_series(
                order
                    .iter()
                    .map(|&i| Circle::new((x[i], probs[i][comp]), 3, col.filled())),
            )
            .map_err(err)?
            .label(format!("component {comp}"))
            .legend(move |(a, b)| Circle::new((a + 10, b), 4, col.filled()));
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tutorial() -> (Model, Params, Data) {
        let spec: bgmm::ModelSpec = toml::from_str(
            "k = 2\n[weights]\nconcentration = 0.5\n[locs]\nloc = 0.0\nscale = 10.0\n\
             [scale]\nprior = \"lognormal\"\nmu = 0.0\nsigma = 2.0\n",
        )
        .unwrap();
        let model = spec.build(Some(1)).unwrap();
        let p = Params {
            weights: vec![0.375, 0.625],
            locs: vec![0.498941, 10.984462],
            scales: vec![0.651434],
        };
        (
            model,
            p,
            Data::from_1d(vec![0.0, 1.0, 10.0, 11.0, 12.0]).unwrap(),
        )
    }

    #[test]
    fn density_axis_covers_the_data_and_the_components() {
        let (m, p, d) = tutorial();
        let (lo, hi) = density_range(&m, &p, d.col(0));
        // data 0..12, components ±4 sd: 0.499 − 2.61 = −2.11 and 10.98 + 2.61 = 13.59
        assert!(lo < -2.1 && lo > -3.0, "{lo}");
        assert!(hi > 13.5 && hi < 14.5, "{hi}");
    }

    #[test]
    fn density_svg_shows_every_point_and_component() {
        let (m, p, d) = tutorial();
        let svg = density_svg(&m, &p, &d, &["x".to_string()]).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        // one mark per data point (plus none elsewhere)
        assert_eq!(svg.matches("<circle").count(), 5);
        assert!(svg.contains("component 0: w 0.375, loc 0.499, scale 0.651"));
        assert!(svg.contains("Density of the 2-component mixture"));
    }

    #[test]
    fn trace_and_histograms_have_a_panel_per_parameter() {
        let names = vec!["locs[0]".to_string(), "scale".to_string()];
        let chains: Vec<Vec<Vec<f64>>> = (0..2)
            .map(|c| {
                (0..50)
                    .map(|s| vec![c as f64 + 0.01 * s as f64, 1.0 + 0.001 * s as f64])
                    .collect()
            })
            .collect();
        let t = trace_svg(&names, &chains).unwrap();
        assert!(t.contains("\nlocs[0]\n") && t.contains("\nscale\n"));
        // one line per chain and parameter: chain 0 red, chain 1 blue
        assert_eq!(t.matches("stroke=\"#D62728\"").count(), 2);
        assert_eq!(t.matches("stroke=\"#1F77B4\"").count(), 2);
        let h = histograms_svg(&names, &chains).unwrap();
        assert!(h.contains("locs[0]  (mean 0.745)"), "{}", &h[..300]);
        // 40 bars per parameter
        assert_eq!(h.matches("fill=\"#1F77B4\"").count(), 80);
    }

    #[test]
    fn classify_plot_shows_every_point_with_its_probabilities() {
        let x = [0.0, 1.0, 10.0, 11.0, 12.0];
        let z = [0, 0, 1, 1, 1];
        let probs: Vec<Vec<f64>> = z
            .iter()
            .map(|&c| {
                if c == 0 {
                    vec![1.0, 0.0]
                } else {
                    vec![0.0, 1.0]
                }
            })
            .collect();
        let svg = classify_svg(&x, &z, &probs, false).unwrap();
        assert!(svg.contains("MAP assignment") && svg.contains("Mixture assignment probabilities"));
        // one probability mark per point and component, plus the two legend marks
        assert_eq!(svg.matches("<circle").count(), 5 * 2 + 2);
        let svg = classify_svg(&x, &z, &probs, true).unwrap();
        assert!(svg.contains("Random posterior assignment"));
    }

    #[test]
    fn loss_and_gradient_plots_have_their_series() {
        let loss: Vec<f64> = (0..50)
            .map(|i| 17.4 + 10.0 * (-0.1 * i as f64).exp())
            .collect();
        let svg = loss_svg(&loss, &[17.41, 17.4]).unwrap();
        assert!(svg.contains("Adam") && svg.contains("L-BFGS polish") && svg.contains("iters"));
        // negative losses are shifted onto the log axis, and the label says so
        let svg = loss_svg(&[-5.0, -7.0, -7.5], &[]).unwrap();
        assert!(svg.contains("loss + 8.500"), "{}", &svg[..200]);
        let mut g = BTreeMap::new();
        g.insert("locs".to_string(), vec![1.0, 0.5, 0.1]);
        g.insert("scale".to_string(), vec![2.0, 0.2, 0.02]);
        let svg = grad_norm_svg(&g).unwrap();
        assert!(svg.contains("\nlocs\n") && svg.contains("\nscale\n"));
    }
}
