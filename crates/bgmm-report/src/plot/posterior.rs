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
    auto_bins, color, err, histogram, kde, kde_bw, kde_grid, legend_above, min_max, padded, panel,
    titled, Draw, Entry, Mark, Support, LABEL_FONT,
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

/// The sites of the parameters, in order of first appearance: each site's name (`locs` for
/// `locs[0,1]`) and the indices of its parameters.
pub fn sites(names: &[String]) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let site = n.split('[').next().unwrap_or(n);
        match out.iter_mut().find(|(s, _)| s == site) {
            Some((_, idx)) => idx.push(i),
            None => out.push((site.to_string(), vec![i])),
        }
    }
    out
}

/// The dash pattern of chain `c` in the trace plots' densities (ArviZ's compact trace tells
/// chains apart by line style): solid, dashed, dotted, long dashes, then again.
pub fn chain_dashes(c: usize) -> Option<(i32, i32)> {
    [None, Some((8, 5)), Some((2, 4)), Some((14, 4))][c % 4]
}

fn chain_mark(c: usize) -> Mark {
    match chain_dashes(c) {
        None => Mark::Line(BLACK),
        Some((d, g)) => Mark::Dashed(BLACK, d, g),
    }
}

/// Trace plots as ArviZ's `plot_trace(compact=True)` (seed 003): one row per site, its entries
/// in colours and the chains in line styles; on the left each chain's kernel density of each
/// entry (cut at the draws' range, so never outside the parameter's support), on the right
/// the draws against iteration.
pub struct Trace {
    pub names: Vec<String>,
    pub chains: Chains,
}

impl Draw for Trace {
    fn size(&self) -> (u32, u32) {
        (1000, 110 + 250 * sites(&self.names).len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let sites = sites(&self.names);
        let m = self.chains.len();
        let root = titled(
            root,
            "Trace plots (one row per site: its entries in colours, chains in line styles)",
        )?;
        let chains: Vec<Entry> = (0..m)
            .map(|c| (chain_mark(c), format!("chain {c}")))
            .collect();
        let root = legend_above(&root, &chains)?;
        let n = self.chains.iter().map(Vec::len).max().unwrap_or(2).max(2);
        for ((site, idx), row) in sites.iter().zip(root.split_evenly((sites.len().max(1), 1))) {
            let entries: Vec<Entry> = idx
                .iter()
                .enumerate()
                .map(|(j, &i)| (Mark::Line(color(j)), self.names[i].clone()))
                .collect();
            let row = legend_above(&row, &entries)?;
            let (left, right) = row.split_horizontally(360);
            let support = Support::of(site);
            let range = support.clamp(padded(idx.iter().flat_map(|&i| pooled(&self.chains, i))));
            // each entry's density in each chain, on the grid of that chain's draws
            let mut dens: Vec<(usize, usize, Vec<f64>, Vec<f64>)> = Vec::new();
            for (j, &i) in idx.iter().enumerate() {
                for c in 0..m {
                    let v = column(&self.chains, c, i);
                    let grid = kde_grid(&v, &range, 200);
                    let d = kde(&v, &grid);
                    dens.push((j, c, grid, d));
                }
            }
            let top = dens
                .iter()
                .flat_map(|d| d.3.iter())
                .copied()
                .fold(0.0, f64::max)
                * 1.1;
            let top = if top > 0.0 { top } else { 1.0 };
            let mut c = panel(&left, "", range.clone(), 0.0..top, (site, "density"))?;
            for (j, ch, grid, d) in &dens {
                let style = color(*j).stroke_width(2);
                let points: Vec<(f64, f64)> = if grid.is_empty() {
                    // a chain that never moved: its density is a spike at its one value
                    match self.chains[*ch].first().map(|d| d[idx[*j]]) {
                        Some(v) if v.is_finite() => vec![(v, 0.0), (v, top)],
                        _ => continue,
                    }
                } else {
                    grid.iter().copied().zip(d.iter().copied()).collect()
                };
                match chain_dashes(*ch) {
                    None => c.draw_series(LineSeries::new(points, style)).map_err(err)?,
                    Some((dash, gap)) => c
                        .draw_series(DashedLineSeries::new(points, dash, gap, style))
                        .map_err(err)?,
                };
            }
            let mut c = panel(&right, "", 0.0..(n - 1) as f64, range, ("draw", site))?;
            for (j, &i) in idx.iter().enumerate() {
                for ch in 0..m {
                    c.draw_series(LineSeries::new(
                        self.chains[ch]
                            .iter()
                            .enumerate()
                            .map(|(s, d)| (s as f64, d[i])),
                        color(j).mix(0.6),
                    ))
                    .map_err(err)?;
                }
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
        (1000, 50 + 250 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let shown = self.names.len().min(MAX_PANELS);
        let rows = shown.div_ceil(3).max(1);
        let root = titled(
            root,
            &shown_title(
                "Posterior histograms (all chains; bar: 90 % HDI)",
                &self.names,
            ),
        )?;
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
                    ("sans-serif", LABEL_FONT)
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
        (1000, 50 + 250 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let shown = self.names.len().min(MAX_PANELS);
        let rows = shown.div_ceil(3).max(1);
        let m = self.chains.len();
        let root = titled(
            root,
            &shown_title(
                "Rank plots (one row of bars per chain; dashed: uniform)",
                &self.names,
            ),
        )?;
        let blank = |_: &f64| String::new();
        for (i, area) in root.split_evenly((rows, 3)).iter().enumerate().take(shown) {
            let h = rank_histograms(&self.chains, i, RANK_BINS);
            let total: usize = self.chains.iter().map(Vec::len).sum();
            let tallest = h.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
            let mut axes = super::Axes::new(("rank (all chains)", "chain"));
            axes.small = true;
            // no ticks of plotters' choosing: each chain's label goes in the middle of its row
            axes.y_tick = &blank;
            axes.y_ticks = 0;
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
                // the row's label, left of the axis at the row's middle
                let (px, py) = c.backend_coord(&(0.0, k as f64 + 0.45));
                let (bx, by) = area.get_base_pixel();
                area.draw(&Text::new(
                    format!("{k}"),
                    (px - bx - 8, py - by),
                    ("sans-serif", LABEL_FONT)
                        .into_font()
                        .into_text_style(area)
                        .pos(Pos::new(HPos::Right, VPos::Center)),
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
            ("sans-serif", LABEL_FONT).into_font().color(&WHITE),
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
        (1000, 110 + 380 * d.div_ceil(2))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let d = self.data.len().min(6);
        let (cd, cp) = (color(1), color(3));
        let root = titled(
            root,
            &format!("Posterior predictive against the data ({})", self.what),
        )?;
        let n = |v: &[Vec<f64>]| v.first().map_or(0, Vec::len);
        let root = legend_above(
            &root,
            &[
                (Mark::Dot(cd), format!("data ({} values)", n(&self.data))),
                (
                    Mark::Dot(cp),
                    format!("posterior predictive ({} values)", n(&self.predictive)),
                ),
            ],
        )?;
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
            // both densities with the data's bandwidth, so they differ only by the data; each
            // cut at its own values' range (seaborn's histplot(kde=True))
            let bw = super::scott_bandwidth(x);
            let (gx, gp) = (kde_grid(x, &range, 300), kde_grid(p, &range, 300));
            let (kx, kp) = (kde_bw(x, &gx, bw), kde_bw(p, &gp, bw));
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
            for (h, g, k, col) in [(&hx, &gx, &kx, cd), (&hp, &gp, &kp, cp)] {
                c.draw_series(h.iter().enumerate().map(|(b, &v)| {
                    let x0 = range.start + b as f64 * w;
                    Rectangle::new([(x0, 0.0), (x0 + w, v)], col.mix(0.35).filled())
                }))
                .map_err(err)?;
                c.draw_series(LineSeries::new(
                    g.iter().copied().zip(k.iter().copied()),
                    col.stroke_width(2),
                ))
                .map_err(err)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::svg_check::*;
    use crate::plot::{linspace, Render};

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
        // each site's one entry is red: per row, a trace line of 50 draws per chain and the
        // first chain's density as one solid line (the second's is dashed)
        let red: Vec<usize> = polylines(&t)
            .iter()
            .filter(|p| p.stroke == "#D62728")
            .map(|p| p.points.len())
            .collect();
        assert_eq!(red.iter().filter(|&&n| n == 50).count(), 2 * 2, "{red:?}");
        assert_eq!(red.iter().filter(|&&n| n == 200).count(), 2, "{red:?}");
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

    /// Uniform noise in [0, 1): a small LCG, the same every run.
    fn noise(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Well-mixed chains of a K = 2 model (weights, locs, scale per component), like the
    /// demo's: `chains` chains of `n` draws, every one filling its panel.
    fn mixed_chains(chains: usize, n: usize) -> (Vec<String>, Chains) {
        let names = [
            "weights[0]",
            "weights[1]",
            "locs[0]",
            "locs[1]",
            "scale[0]",
            "scale[1]",
        ]
        .map(String::from)
        .to_vec();
        let mut u = noise(7);
        let draws = (0..chains)
            .map(|_| {
                (0..n)
                    .map(|_| {
                        let w = 0.2 + 0.25 * u();
                        vec![
                            w,
                            1.0 - w,
                            1.3 + 0.3 * u(),
                            4.6 + 0.6 * u(),
                            0.12 + 0.1 * u(),
                            0.7 + 0.3 * u(),
                        ]
                    })
                    .collect()
            })
            .collect();
        (names, draws)
    }

    #[test]
    fn trace_legend_covers_no_trace() {
        let (names, chains) = mixed_chains(4, 300);
        let svg = Trace { names, chains }.svg().unwrap();
        assert_legend_clear(&svg, "chain 0", 3.0);
    }

    #[test]
    fn trace_has_one_row_per_site() {
        // K = 3: nine scalars in three sites, so three rows (ArviZ's compact=True, seed 003),
        // each with one x axis of draws
        let names: Vec<String> = ["weights", "locs", "scale"]
            .iter()
            .flat_map(|s| (0..3).map(move |k| format!("{s}[{k}]")))
            .collect();
        let mut u = noise(3);
        let chains: Chains = (0..2)
            .map(|_| (0..100).map(|_| (0..9).map(|_| u()).collect()).collect())
            .collect();
        let t = Trace { names, chains };
        let svg = t.svg().unwrap();
        let rows = texts(&svg).iter().filter(|t| t.text == "draw").count();
        assert_eq!(rows, 3);
        assert!(t.size().1 < 1000, "{:?}", t.size());
    }

    #[test]
    fn trace_densities_stay_within_the_draws_and_a_weight_above_zero() {
        // weights piled against 0 (a component nearly empty): the density must not spill
        // below 0, nor past the draws at all (ArviZ cuts its kde at the draws' range)
        let mut u = noise(11);
        let chains: Chains = (0..2)
            .map(|_| {
                (0..400)
                    .map(|_| {
                        let w = 0.002 + 0.1 * u() * u();
                        vec![w, 1.0 - w]
                    })
                    .collect()
            })
            .collect();
        let (lo, hi) = min_max(chains.iter().flatten().map(|d| d[0]));
        let svg = Trace {
            names: vec!["weights[0]".into(), "weights[1]".into()],
            chains,
        }
        .svg()
        .unwrap();
        // the density panel is the leftmost plot
        let area = *plot_areas(&svg)
            .iter()
            .min_by(|a, b| a.x0.total_cmp(&b.x0))
            .unwrap();
        let ticks = x_ticks(&svg, &area);
        assert!(ticks.len() >= 2, "{ticks:?}");
        let px = (x_value(&ticks, 1.0) - x_value(&ticks, 0.0)).abs();
        let dens = lines_in(&svg, &area);
        assert!(!dens.is_empty());
        for p in &dens {
            for &(x, _) in &p.points {
                let v = x_value(&ticks, x);
                // weights[0]'s own lines lie within its draws; weights[1]'s far to the right
                if v < 0.5 {
                    assert!(
                        v >= lo - 1.5 * px && v <= hi + 1.5 * px,
                        "{v} outside {lo}..{hi}"
                    );
                }
                assert!(v >= -0.5 * px && v <= 1.0 + 0.5 * px, "{v} outside [0, 1]");
            }
        }
    }

    /// A predictive sample a little wider than the data, as the demo's: 30 copies, jittered.
    fn jittered(x: &[f64], seed: u64) -> Vec<f64> {
        let mut u = noise(seed);
        (0..30)
            .flat_map(|_| x.iter().map(|v| v + 0.6 * (u() - 0.5)).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn predictive_legend_covers_no_bar_or_line() {
        // the 2-D iris: the legend sat on petal_width's density line
        let names = ["petal_length", "petal_width"];
        let data: Vec<Vec<f64>> = names
            .iter()
            .map(|n| bgmm::datasets::iris_column(n).unwrap())
            .collect();
        let predictive = data.iter().map(|x| jittered(x, 5)).collect();
        let svg = Predictive {
            data,
            predictive,
            names: names.map(String::from).to_vec(),
            what: "test".into(),
        }
        .svg()
        .unwrap();
        assert_legend_clear(&svg, "data (150 values)", 3.0);
    }

    #[test]
    fn predictive_densities_stay_within_their_values() {
        let x = bgmm::datasets::iris_column("petal_length").unwrap();
        let p = jittered(&x, 5);
        let (plo, phi) = min_max(p.iter().copied());
        let svg = Predictive {
            data: vec![x.clone()],
            predictive: vec![p],
            names: vec!["petal_length".into()],
            what: "test".into(),
        }
        .svg()
        .unwrap();
        let area = plot_areas(&svg)[0];
        let ticks = x_ticks(&svg, &area);
        let px = (x_value(&ticks, 1.0) - x_value(&ticks, 0.0)).abs();
        let (lo, hi) = min_max(x.iter().copied());
        for (colour, lo, hi) in [("#1F77B4", lo, hi), ("#FF7F0E", plo, phi)] {
            let line = lines_in(&svg, &area)
                .into_iter()
                .find(|l| l.stroke == colour)
                .unwrap();
            let (a, b) = min_max(line.points.iter().map(|q| x_value(&ticks, q.0)));
            assert!(
                a >= lo - 1.5 * px && b <= hi + 1.5 * px,
                "{colour}: {a}..{b} outside {lo}..{hi}"
            );
        }
    }

    #[test]
    fn rank_labels_name_the_chain_rows_and_stay_in_their_panel() {
        let (names, chains) = mixed_chains(3, 200);
        let svg = Rank { names, chains }.svg().unwrap();
        let width: f64 = elements(&svg, "svg")[0].0["width"].parse().unwrap();
        let areas = plot_areas(&svg);
        assert_eq!(areas.len(), 6);
        // every label lies within its panel's third of the figure (the last x tick of the
        // right column was cut at the figure's edge)
        let col = width / 3.0;
        for t in texts(&svg)
            .iter()
            .filter(|t| !t.rotated && !t.text.starts_with("Rank plots"))
        {
            let (a, b) = t.x_extent();
            let c = (t.x / col).floor();
            assert!(
                a >= c * col - 0.5 && b <= (c + 1.0) * col + 0.5,
                "'{}' at {:.0} spans {a:.0}..{b:.0}, past its panel {:.0}..{:.0}",
                t.text,
                t.x,
                c * col,
                (c + 1.0) * col
            );
        }
        for area in &areas {
            // one label per chain, inside its row of bars (rows from the bottom up)
            let labels = y_labels(&svg, area);
            assert_eq!(labels.len(), 3, "{labels:?}");
            let h = (area.y1 - area.y0) / 3.0;
            for (k, (_, y)) in labels.iter().rev().enumerate() {
                let (top, bottom) = (area.y1 - (k + 1) as f64 * h, area.y1 - k as f64 * h);
                assert!(
                    *y > top + 2.0 && *y < bottom - 2.0,
                    "chain {k}: {y} not in {top}..{bottom}"
                );
            }
        }
    }
}
