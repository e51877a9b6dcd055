//! Pictures of posterior draws: trace plots with each chain's density (seeds 001, 003, as
//! ArviZ's `plot_trace`), marginal histograms with mean and HDI (seed 003, as
//! `plot_posterior(kind="hist")`), rank plots (ArviZ's `plot_rank`), the joint histogram of
//! two locations with density contours (seed 001), and the posterior predictive against the
//! data (seed 003).

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    auto_bins, color, dot_mark, err, histogram, kde, kde_bw, legend, line_mark, linspace, min_max,
    padded, panel, Draw,
};

/// At most this many parameters are drawn in the per-parameter figures; the title says when
/// there are more.
pub const MAX_PANELS: usize = 30;

/// `chains[c][s][i]` is parameter `i` of draw `s` in chain `c`.
pub type Chains = Vec<Vec<Vec<f64>>>;

fn column(chains: &Chains, c: usize, i: usize) -> Vec<f64> {
    chains[c].iter().map(|d| d[i]).collect()
}

fn pooled(chains: &Chains, i: usize) -> Vec<f64> {
    chains.iter().flatten().map(|d| d[i]).collect()
}

fn shown_title(title: &str, names: &[String]) -> String {
    if names.len() > MAX_PANELS {
        format!("{title} (first {MAX_PANELS} of {} parameters)", names.len())
    } else {
        title.to_string()
    }
}

/// Trace plots: one row per parameter; on the left each chain's kernel density, on the right
/// the draws against iteration, chains in colours.
pub struct Trace {
    pub names: Vec<String>,
    pub chains: Chains,
}

impl Draw for Trace {
    fn size(&self) -> (u32, u32) {
        (
            1100,
            50 + 150 * self.names.len().clamp(1, MAX_PANELS) as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let rows = self.names.len().min(MAX_PANELS);
        let root = root
            .titled(
                &shown_title("Trace plots (chains in colours)", &self.names),
                ("sans-serif", 20),
            )
            .map_err(err)?;
        let n = self.chains.iter().map(Vec::len).max().unwrap_or(2).max(2);
        for (i, area) in root
            .split_evenly((rows.max(1), 1))
            .iter()
            .enumerate()
            .take(rows)
        {
            let name = &self.names[i];
            let (left, right) = area.split_horizontally(380);
            let range = padded(pooled(&self.chains, i));
            let grid = linspace(&range, 200);
            let dens: Vec<Vec<f64>> = (0..self.chains.len())
                .map(|c| kde(&column(&self.chains, c, i), &grid))
                .collect();
            let top = dens.iter().flatten().copied().fold(0.0, f64::max) * 1.1;
            let mut c = panel(
                &left,
                name,
                range.clone(),
                0.0..top.max(1e-300),
                (name, "density"),
            )?;
            for (k, d) in dens.iter().enumerate() {
                c.draw_series(LineSeries::new(
                    grid.iter().copied().zip(d.iter().copied()),
                    color(k).stroke_width(2),
                ))
                .map_err(err)?;
            }
            let mut c = panel(&right, name, 0.0..(n - 1) as f64, range, ("draw", name))?;
            for k in 0..self.chains.len() {
                c.draw_series(LineSeries::new(
                    self.chains[k]
                        .iter()
                        .enumerate()
                        .map(|(s, d)| (s as f64, d[i])),
                    color(k).mix(0.7),
                ))
                .map_err(err)?
                .label(format!("chain {k}"))
                .legend(line_mark(color(k)));
            }
            if i == 0 && self.chains.len() > 1 {
                legend(&mut c)?;
            }
        }
        Ok(())
    }
}

/// Marginal posterior histograms with the mean and the 90 % highest-density interval, one
/// panel per parameter, all chains pooled (seed 003's "Posterior plots").
pub struct Histograms {
    pub names: Vec<String>,
    pub chains: Chains,
}

/// Bins of the posterior histograms.
pub const POSTERIOR_BINS: usize = 40;

impl Draw for Histograms {
    fn size(&self) -> (u32, u32) {
        let rows = self.names.len().clamp(1, MAX_PANELS).div_ceil(3);
        (1100, 50 + 240 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let shown = self.names.len().min(MAX_PANELS);
        let rows = shown.div_ceil(3).max(1);
        let root = root
            .titled(
                &shown_title(
                    "Posterior histograms (all chains; bar: 90 % HDI)",
                    &self.names,
                ),
                ("sans-serif", 20),
            )
            .map_err(err)?;
        for (i, area) in root.split_evenly((rows, 3)).iter().enumerate().take(shown) {
            let mut v = pooled(&self.chains, i);
            v.sort_by(f64::total_cmp);
            let (lo, hi) = (v[0], v[v.len() - 1]);
            let w = if hi > lo {
                (hi - lo) / POSTERIOR_BINS as f64
            } else {
                1e-9 * lo.abs().max(1.0)
            };
            let range = lo..(lo + w * POSTERIOR_BINS as f64);
            let counts = histogram(&v, &range, POSTERIOR_BINS);
            let top = counts.iter().copied().max().unwrap_or(1) as f64 * 1.25;
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let (h0, h1) = bgmm::diagnostics::hdi(&v, 0.9);
            let mut c = panel(
                area,
                &format!("{}  (mean {mean:.3})", self.names[i]),
                range.clone(),
                0.0..top,
                ("", ""),
            )?;
            c.draw_series(counts.iter().enumerate().map(|(b, &n)| {
                let x0 = range.start + b as f64 * w;
                Rectangle::new([(x0, 0.0), (x0 + w, n as f64)], color(1).mix(0.6).filled())
            }))
            .map_err(err)?;
            let y = top * 0.9;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(h0, y), (h1, y)],
                BLACK.stroke_width(3),
            )))
            .map_err(err)?;
            let label = |v: f64, h: HPos| {
                Text::new(
                    format!(" {} ", super::tick(&((v * 1e3).round() / 1e3))),
                    (v, y),
                    ("sans-serif", 11)
                        .into_font()
                        .into_text_style(area)
                        .pos(Pos::new(h, VPos::Center)),
                )
            };
            c.draw_series([label(h0, HPos::Right), label(h1, HPos::Left)])
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Rank plots (Vehtari et al. 2021; ArviZ's `plot_rank`): the draws of all chains ranked
/// together, then a histogram of each chain's ranks. Chains that mix give flat histograms
/// around the dashed uniform line.
pub struct Rank {
    pub names: Vec<String>,
    pub chains: Chains,
}

/// Bins of the rank histograms.
pub const RANK_BINS: usize = 20;

/// Histogram of each chain's ranks among all draws (ranks 0..total, ties in draw order).
pub fn rank_histograms(chains: &Chains, i: usize, bins: usize) -> Vec<Vec<usize>> {
    let mut all: Vec<(f64, usize)> = Vec::new();
    for (c, ch) in chains.iter().enumerate() {
        all.extend(ch.iter().map(|d| (d[i], c)));
    }
    let total = all.len();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut h = vec![vec![0usize; bins]; chains.len()];
    for (r, &(_, c)) in all.iter().enumerate() {
        h[c][(r * bins / total.max(1)).min(bins - 1)] += 1;
    }
    h
}

impl Draw for Rank {
    fn size(&self) -> (u32, u32) {
        let rows = self.names.len().clamp(1, MAX_PANELS).div_ceil(3);
        (1100, 50 + 240 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let shown = self.names.len().min(MAX_PANELS);
        let rows = shown.div_ceil(3).max(1);
        let m = self.chains.len();
        let root = root
            .titled(
                &shown_title(
                    "Rank plots (one row of bars per chain; dashed: uniform)",
                    &self.names,
                ),
                ("sans-serif", 20),
            )
            .map_err(err)?;
        for (i, area) in root.split_evenly((rows, 3)).iter().enumerate().take(shown) {
            let h = rank_histograms(&self.chains, i, RANK_BINS);
            let total: usize = self.chains.iter().map(Vec::len).sum();
            let tallest = h.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
            let mut axes = super::Axes::new(("rank (all chains)", "chain"));
            axes.small = true;
            axes.y_tick = &super::int_tick;
            axes.y_ticks = m + 1;
            let mut c = super::chart_with(
                area,
                &self.names[i],
                0.0..total as f64,
                0.0..m as f64,
                &axes,
            )?;
            let bw = total as f64 / RANK_BINS as f64;
            for (k, hk) in h.iter().enumerate() {
                let n_k = self.chains[k].len() as f64;
                // each chain's bars fill 90 % of its row at the tallest bar of any chain
                let scale = 0.9 / tallest;
                c.draw_series(hk.iter().enumerate().map(|(b, &n)| {
                    let x0 = b as f64 * bw;
                    Rectangle::new(
                        [
                            (x0 + 0.05 * bw, k as f64),
                            (x0 + 0.95 * bw, k as f64 + n as f64 * scale),
                        ],
                        color(k).mix(0.7).filled(),
                    )
                }))
                .map_err(err)?;
                let uniform = k as f64 + n_k / RANK_BINS as f64 * scale;
                c.draw_series(DashedLineSeries::new(
                    [(0.0, uniform), (total as f64, uniform)],
                    5,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(err)?;
            }
        }
        Ok(())
    }
}

/// Contour segments of `f` (values on a grid: `f[i][j]` at `(xs[i], ys[j])`) at `level`, by
/// marching squares.
pub fn contour_segments(
    f: &[Vec<f64>],
    xs: &[f64],
    ys: &[f64],
    level: f64,
) -> Vec<[(f64, f64); 2]> {
    let mut out = Vec::new();
    for i in 0..xs.len().saturating_sub(1) {
        for j in 0..ys.len().saturating_sub(1) {
            // corners counter-clockwise from bottom-left
            let corners = [
                (xs[i], ys[j], f[i][j]),
                (xs[i + 1], ys[j], f[i + 1][j]),
                (xs[i + 1], ys[j + 1], f[i + 1][j + 1]),
                (xs[i], ys[j + 1], f[i][j + 1]),
            ];
            let mut cuts = Vec::with_capacity(4);
            for e in 0..4 {
                let (x0, y0, a) = corners[e];
                let (x1, y1, b) = corners[(e + 1) % 4];
                if (a >= level) != (b >= level) {
                    let t = (level - a) / (b - a);
                    cuts.push((x0 + t * (x1 - x0), y0 + t * (y1 - y0)));
                }
            }
            match cuts.len() {
                2 => out.push([cuts[0], cuts[1]]),
                4 => {
                    // a saddle: join so that the centre's side stays connected
                    let centre = corners.iter().map(|c| c.2).sum::<f64>() / 4.0;
                    if (centre >= level) == (corners[0].2 >= level) {
                        out.push([cuts[0], cuts[3]]);
                        out.push([cuts[1], cuts[2]]);
                    } else {
                        out.push([cuts[0], cuts[1]]);
                        out.push([cuts[2], cuts[3]]);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// A smoothed 2-D density on a `g × g` grid over the ranges: a fine histogram blurred by a
/// Gaussian of Scott's bandwidth in each direction. Returns the grid values (normalised to
/// sum to one) and the grid coordinates.
pub fn density_grid(
    x: &[f64],
    y: &[f64],
    xr: &std::ops::Range<f64>,
    yr: &std::ops::Range<f64>,
    g: usize,
) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
    let n = x.len().max(1) as f64;
    let dx = (xr.end - xr.start) / g as f64;
    let dy = (yr.end - yr.start) / g as f64;
    let mut h = vec![vec![0.0; g]; g];
    for (&a, &b) in x.iter().zip(y) {
        let i = ((a - xr.start) / dx).floor();
        let j = ((b - yr.start) / dy).floor();
        if i >= 0.0 && j >= 0.0 && (i as usize) < g && (j as usize) < g {
            h[i as usize][j as usize] += 1.0;
        }
    }
    // Scott's factor for two dimensions: n^(-1/6)
    let f = n.powf(-1.0 / 6.0);
    let sx = (bgmm::data::sample_var(x).sqrt() * f / dx).max(0.5);
    let sy = (bgmm::data::sample_var(y).sqrt() * f / dy).max(0.5);
    let kernel = |s: f64| -> Vec<f64> {
        let r = (3.0 * s).ceil() as i64;
        let k: Vec<f64> = (-r..=r)
            .map(|t| (-0.5 * (t as f64 / s).powi(2)).exp())
            .collect();
        let sum: f64 = k.iter().sum();
        k.into_iter().map(|v| v / sum).collect()
    };
    let blur = |src: &Vec<Vec<f64>>, k: &[f64], along_x: bool| -> Vec<Vec<f64>> {
        let r = (k.len() / 2) as i64;
        let mut dst = vec![vec![0.0; g]; g];
        for i in 0..g {
            for j in 0..g {
                let mut acc = 0.0;
                for (t, w) in k.iter().enumerate() {
                    let o = t as i64 - r;
                    let (a, b) = if along_x {
                        (i as i64 + o, j as i64)
                    } else {
                        (i as i64, j as i64 + o)
                    };
                    if a >= 0 && b >= 0 && (a as usize) < g && (b as usize) < g {
                        acc += w * src[a as usize][b as usize];
                    }
                }
                dst[i][j] = acc;
            }
        }
        dst
    };
    let h = blur(&blur(&h, &kernel(sx), true), &kernel(sy), false);
    let total: f64 = h.iter().flatten().sum();
    let h: Vec<Vec<f64>> = h
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v / total.max(f64::MIN_POSITIVE))
                .collect()
        })
        .collect();
    let xs: Vec<f64> = (0..g).map(|i| xr.start + (i as f64 + 0.5) * dx).collect();
    let ys: Vec<f64> = (0..g).map(|j| yr.start + (j as f64 + 0.5) * dy).collect();
    (h, xs, ys)
}

/// Density levels enclosing the given shares of the mass (highest-density regions).
pub fn hdr_levels(grid: &[Vec<f64>], shares: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = grid.iter().flatten().copied().collect();
    v.sort_by(|a, b| b.total_cmp(a));
    let total: f64 = v.iter().sum();
    shares
        .iter()
        .map(|&s| {
            let mut acc = 0.0;
            for &d in &v {
                acc += d;
                if acc >= s * total {
                    return d;
                }
            }
            v.last().copied().unwrap_or(0.0)
        })
        .collect()
}

/// The joint posterior of two parameters: a 20 × 20 histogram (viridis) with white contours
/// of the smoothed density at the 25, 50, 75 and 95 % highest-density regions (seed 001's
/// "Posterior density as estimated by collapsed NUTS").
pub struct Joint {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub xname: String,
    pub yname: String,
}

pub const JOINT_SHARES: [f64; 4] = [0.25, 0.5, 0.75, 0.95];

impl Draw for Joint {
    fn size(&self) -> (u32, u32) {
        (800, 760)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (x0, x1) = min_max(self.x.iter().copied());
        let (y0, y1) = min_max(self.y.iter().copied());
        let xr = x0..if x1 > x0 { x1 } else { x0 + 1e-9 };
        let yr = y0..if y1 > y0 { y1 } else { y0 + 1e-9 };
        let mut c = super::chart(
            root,
            "Posterior density as estimated by collapsed NUTS",
            xr.clone(),
            yr.clone(),
            (&self.xname, &self.yname),
        )?;
        let bins = 20usize;
        let (bx, by) = (
            (xr.end - xr.start) / bins as f64,
            (yr.end - yr.start) / bins as f64,
        );
        let mut h = vec![vec![0usize; bins]; bins];
        for (&a, &b) in self.x.iter().zip(&self.y) {
            let i = (((a - xr.start) / bx) as usize).min(bins - 1);
            let j = (((b - yr.start) / by) as usize).min(bins - 1);
            h[i][j] += 1;
        }
        let top = h.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
        let mut cells = Vec::with_capacity(bins * bins);
        for (i, row) in h.iter().enumerate() {
            for (j, &n) in row.iter().enumerate() {
                let col = ViridisRGB::get_color_normalized(n as f64, 0.0, top);
                let (a, b) = (xr.start + i as f64 * bx, yr.start + j as f64 * by);
                cells.push(Rectangle::new([(a, b), (a + bx, b + by)], col.filled()));
            }
        }
        c.draw_series(cells).map_err(err)?;
        let (g, xs, ys) = density_grid(&self.x, &self.y, &xr, &yr, 80);
        for level in hdr_levels(&g, &JOINT_SHARES) {
            c.draw_series(
                contour_segments(&g, &xs, &ys, level)
                    .into_iter()
                    .map(|s| PathElement::new(s.to_vec(), WHITE.mix(0.85).stroke_width(2))),
            )
            .map_err(err)?;
        }
        c.draw_series(std::iter::once(Text::new(
            format!(
                "{} draws; contours: 25/50/75/95 % highest density",
                self.x.len()
            ),
            (
                xr.start + 0.02 * (xr.end - xr.start),
                yr.end - 0.03 * (yr.end - yr.start),
            ),
            ("sans-serif", 13).into_font().color(&WHITE),
        )))
        .map_err(err)?;
        Ok(())
    }
}

/// The posterior predictive against the data, one panel per dimension: density-scaled
/// histograms and kernel densities of the data and of the predictive draws (seed 003).
pub struct Predictive {
    pub data: Vec<Vec<f64>>,
    pub predictive: Vec<Vec<f64>>,
    pub names: Vec<String>,
    /// How the predictive draws were made, for the title.
    pub what: String,
}

impl Draw for Predictive {
    fn size(&self) -> (u32, u32) {
        let d = self.data.len().clamp(1, 6) as u32;
        (1000, 60 + 360 * d.div_ceil(2))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let d = self.data.len().min(6);
        let root = root
            .titled(
                &format!("Posterior predictive against the data ({})", self.what),
                ("sans-serif", 18),
            )
            .map_err(err)?;
        let areas = if d == 1 {
            vec![root.clone()]
        } else {
            root.split_evenly((d.div_ceil(2), 2))
        };
        for (j, area) in areas.iter().enumerate().take(d) {
            let (x, p) = (&self.data[j], &self.predictive[j]);
            let range = padded(x.iter().copied());
            let bins = auto_bins(x).max(20);
            let w = (range.end - range.start) / bins as f64;
            let dens = |v: &[f64]| -> Vec<f64> {
                histogram(v, &range, bins)
                    .iter()
                    .map(|&c| c as f64 / (v.len() as f64 * w))
                    .collect()
            };
            let (hx, hp) = (dens(x), dens(p));
            let grid = linspace(&range, 300);
            // both densities with the data's bandwidth, so they differ only by the data
            let bw = super::scott_bandwidth(x);
            let (kx, kp) = (kde_bw(x, &grid, bw), kde_bw(p, &grid, bw));
            let top = hx
                .iter()
                .chain(&hp)
                .chain(&kx)
                .chain(&kp)
                .copied()
                .fold(0.0, f64::max)
                * 1.1;
            let mut c = panel(
                area,
                "",
                range.clone(),
                0.0..top.max(1e-300),
                (&self.names[j], "density"),
            )?;
            for (s, (h, k, label, n)) in [
                (&hx, &kx, "data", x.len()),
                (&hp, &kp, "posterior predictive", p.len()),
            ]
            .into_iter()
            .enumerate()
            {
                let col = if s == 0 { color(1) } else { color(3) };
                c.draw_series(h.iter().enumerate().map(|(b, &v)| {
                    let x0 = range.start + b as f64 * w;
                    Rectangle::new([(x0, 0.0), (x0 + w, v)], col.mix(0.35).filled())
                }))
                .map_err(err)?;
                c.draw_series(LineSeries::new(
                    grid.iter().copied().zip(k.iter().copied()),
                    col.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("{label} ({n} values)"))
                .legend(dot_mark(col));
            }
            legend(&mut c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::Render;

    fn chains() -> Chains {
        (0..2)
            .map(|c| {
                (0..50)
                    .map(|s| vec![c as f64 + 0.01 * s as f64, 1.0 + 0.001 * s as f64])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn trace_has_a_line_and_a_density_per_chain_and_parameter() {
        let names = vec!["locs[0]".to_string(), "scale".to_string()];
        let t = Trace {
            names,
            chains: chains(),
        }
        .svg()
        .unwrap();
        assert!(t.contains("locs[0]") && t.contains("scale"));
        // two lines (density and trace) per chain and parameter, plus one legend mark per chain
        assert_eq!(t.matches("stroke=\"#D62728\"").count(), 2 * 2 + 1, "{t}");
        assert_eq!(t.matches("stroke=\"#1F77B4\"").count(), 2 * 2 + 1);
    }

    #[test]
    fn histograms_have_bins_mean_and_hdi() {
        let names = vec!["locs[0]".to_string(), "scale".to_string()];
        let h = Histograms {
            names,
            chains: chains(),
        }
        .svg()
        .unwrap();
        assert!(h.contains("locs[0]  (mean 0.745)"));
        assert_eq!(h.matches("fill=\"#1F77B4\"").count(), 2 * POSTERIOR_BINS);
    }

    #[test]
    fn ranks_of_mixing_chains_are_flat_and_of_stuck_chains_are_not() {
        // two chains drawn from the same sequence, interleaved: every rank bin equal
        let mixed: Chains = (0..2)
            .map(|c| (0..100).map(|s| vec![(2 * s + c) as f64]).collect())
            .collect();
        let h = rank_histograms(&mixed, 0, 10);
        assert!(h.iter().flatten().all(|&n| n == 10), "{h:?}");
        // chain 0 entirely below chain 1: all its ranks in the lower half
        let h = rank_histograms(&chains(), 0, 10);
        assert_eq!(h[0][..5].iter().sum::<usize>(), 50);
        assert_eq!(h[1][5..].iter().sum::<usize>(), 50);
        let svg = Rank {
            names: vec!["locs[0]".into(), "scale".into()],
            chains: chains(),
        }
        .svg()
        .unwrap();
        // 20 bars per chain and parameter
        assert_eq!(svg.matches("fill=\"#D62728\"").count(), 2 * RANK_BINS);
    }

    #[test]
    fn contours_of_a_cone_are_circles() {
        let xs = linspace(&(-2.0..2.0), 81);
        let f: Vec<Vec<f64>> = xs
            .iter()
            .map(|&a| xs.iter().map(|&b| -(a * a + b * b).sqrt()).collect())
            .collect();
        let segs = contour_segments(&f, &xs, &xs, -1.0);
        assert!(segs.len() > 50);
        for s in &segs {
            for &(a, b) in s {
                assert!(((a * a + b * b).sqrt() - 1.0).abs() < 2e-3);
            }
        }
    }

    #[test]
    fn hdr_levels_enclose_their_share() {
        // a normal sample: the 50 % region of a 2-D standard normal has radius sqrt(2 ln 2)
        let n = 4000;
        let (x, y): (Vec<f64>, Vec<f64>) = (0..n)
            .map(|i| {
                let u = (i as f64 + 0.5) / n as f64;
                let r = (-2.0 * (1.0 - u).ln()).sqrt();
                let t = i as f64 * 2.399963; // golden angle
                (r * t.cos(), r * t.sin())
            })
            .unzip();
        let r = -5.0..5.0;
        let (g, xs, ys) = density_grid(&x, &y, &r, &r, 80);
        let lv = hdr_levels(&g, &[0.5]);
        let inside = x
            .iter()
            .zip(&y)
            .filter(|(a, b)| {
                let i = ((*a + 5.0) / 0.125) as usize;
                let j = ((*b + 5.0) / 0.125) as usize;
                g[i.min(79)][j.min(79)] >= lv[0]
            })
            .count() as f64
            / n as f64;
        assert!((inside - 0.5).abs() < 0.05, "{inside}");
        let segs = contour_segments(&g, &xs, &ys, lv[0]);
        let mean_r = segs
            .iter()
            .map(|s| (s[0].0.powi(2) + s[0].1.powi(2)).sqrt())
            .sum::<f64>()
            / segs.len() as f64;
        // smoothing widens the region a little: radius within 15 % of sqrt(2 ln 2) = 1.177
        assert!((mean_r - 1.1774).abs() < 0.18, "{mean_r}");
        let svg = Joint {
            x,
            y,
            xname: "loc of component 0".into(),
            yname: "loc of component 1".into(),
        }
        .svg()
        .unwrap();
        assert!(svg.contains("loc of component 0") && svg.contains("4000 draws"));
    }

    #[test]
    fn predictive_panel_shows_both_samples() {
        let p = Predictive {
            data: vec![vec![1.0, 2.0, 3.0, 4.0]],
            predictive: vec![(0..400).map(|i| 1.0 + 3.0 * i as f64 / 399.0).collect()],
            names: vec!["x".into()],
            what: "test".into(),
        };
        let svg = p.svg().unwrap();
        assert!(
            svg.contains("data (4 values)") && svg.contains("posterior predictive (400 values)")
        );
    }
}
