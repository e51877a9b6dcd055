//! Pictures of the data: histogram with a KDE line (seeds 000, 003), scatter and pair grid
//! (seed 000, optionally coloured by cluster with each component's 1- and 2-sigma ellipses),
//! and the swarm of points by cluster (seed 002).

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    auto_bins, chart, chart_with, color, err, histogram, kde, kde_grid, legend_above, padded,
    panel, titled, Axes, Draw, Entry, Mark, LABEL_FONT,
};

/// Histogram of 1-D data (numpy's automatic bins) with a Gaussian KDE line scaled to counts,
/// as seaborn's `histplot(x, kde=True)`, which cuts the line at the data's range.
pub struct DataHistogram {
    pub x: Vec<f64>,
    pub name: String,
    pub title: String,
}

impl Draw for DataHistogram {
    fn size(&self) -> (u32, u32) {
        (900, 420)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let range = padded(self.x.iter().copied());
        let bins = auto_bins(&self.x);
        let (lo, hi) = super::min_max(self.x.iter().copied());
        let hist_range = if hi > lo { lo..hi } else { range.clone() };
        let counts = histogram(&self.x, &hist_range, bins);
        let w = (hist_range.end - hist_range.start) / bins as f64;
        let grid = kde_grid(&self.x, &range, 400);
        let scale = self.x.len() as f64 * w;
        let line: Vec<f64> = kde(&self.x, &grid).iter().map(|d| d * scale).collect();
        let top = counts
            .iter()
            .map(|&c| c as f64)
            .chain(line.iter().copied())
            .fold(0.0, f64::max)
            * 1.1;
        let blue = super::PALETTE[1];
        let area = legend_above(
            &titled(root, &self.title)?,
            &[
                (
                    Mark::Bar(blue, 0.45),
                    format!("{} points, {bins} bins", self.x.len()),
                ),
                (
                    Mark::Line(blue),
                    "kernel density (Scott's bandwidth)".to_string(),
                ),
            ],
        )?;
        let mut c = chart(&area, "", range, 0.0..top.max(1.0), (&self.name, "count"))?;
        c.draw_series(counts.iter().enumerate().map(|(b, &n)| {
            let x0 = hist_range.start + b as f64 * w;
            Rectangle::new([(x0, 0.0), (x0 + w, n as f64)], blue.mix(0.45).filled())
        }))
        .map_err(err)?;
        c.draw_series(LineSeries::new(
            grid.iter().copied().zip(line.iter().copied()),
            blue.stroke_width(2),
        ))
        .map_err(err)?;
        Ok(())
    }
}

/// One component's location and per-dimension scale (diagonal covariance), for its ellipses.
#[derive(Clone, Debug)]
pub struct Ellipse {
    pub loc: Vec<f64>,
    pub sd: Vec<f64>,
    /// The correlation matrix (D×D, row-major) of a full covariance; empty for axis-aligned
    /// components.
    pub corr: Vec<f64>,
    pub weight: f64,
}

impl Ellipse {
    /// The points of the `c`-sigma ellipse in dimensions (i, j): the contour of the
    /// component's marginal on (i, j), rotated by their correlation ρ (the image of the
    /// circle under the marginal covariance's Cholesky factor
    /// `[[s_i, 0], [ρ s_j, s_j √(1 − ρ²)]]`).
    pub fn outline(&self, i: usize, j: usize, c: f64) -> Vec<(f64, f64)> {
        let d = self.loc.len();
        let rho = if self.corr.is_empty() {
            0.0
        } else {
            self.corr[i * d + j].clamp(-1.0, 1.0)
        };
        let rest = (1.0 - rho * rho).sqrt();
        (0..=96)
            .map(|t| {
                let a = t as f64 / 96.0 * std::f64::consts::TAU;
                (
                    self.loc[i] + c * self.sd[i] * a.cos(),
                    self.loc[j] + c * self.sd[j] * (rho * a.cos() + rest * a.sin()),
                )
            })
            .collect()
    }
}

/// Scatter of 2-D data, or a pair grid for D > 2 (histograms on the diagonal), optionally
/// coloured by cluster with each component's location and its 1- and 2-sigma ellipses.
pub struct PairGrid {
    /// The columns (already thinned for very large data).
    pub columns: Vec<Vec<f64>>,
    pub names: Vec<String>,
    /// Cluster of each point and the number of clusters.
    pub groups: Option<(Vec<usize>, usize)>,
    pub ellipses: Vec<Ellipse>,
    pub title: String,
}

/// The pair grid shows at most this many dimensions.
pub const MAX_PAIR_DIMS: usize = 6;

impl PairGrid {
    fn dims(&self) -> usize {
        self.columns.len().min(MAX_PAIR_DIMS)
    }

    /// The axis range of dimension j: the data and the component locations; the 2-sigma
    /// extent of components with visible weight, but never more than the data's own width
    /// beyond the data.
    pub fn range(&self, j: usize) -> std::ops::Range<f64> {
        let data = padded(self.columns[j].iter().copied());
        let w = data.end - data.start;
        let mut lo = data.start;
        let mut hi = data.end;
        for e in &self.ellipses {
            lo = lo.min(e.loc[j]);
            hi = hi.max(e.loc[j]);
            if e.weight >= 0.01 {
                lo = lo.min((e.loc[j] - 2.0 * e.sd[j]).max(data.start - w));
                hi = hi.max((e.loc[j] + 2.0 * e.sd[j]).min(data.end + w));
            }
        }
        let pad = 0.02 * (hi - lo);
        (lo - pad)..(hi + pad)
    }

    fn scatter<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        i: usize,
        j: usize,
        big: bool,
    ) -> Result<()> {
        let labels = (self.names[i].as_str(), self.names[j].as_str());
        let area = if big {
            // the whole figure: a title and the legend above the plot
            let mut legend: Vec<Entry> = Vec::new();
            if let Some((_, k)) = &self.groups {
                legend.extend((0..*k).map(|g| {
                    let label = match self.ellipses.get(g) {
                        Some(e) => format!("component {g} (weight {:.3})", e.weight),
                        None => format!("cluster {g}"),
                    };
                    (Mark::Dot(color(g)), label)
                }));
            }
            if !self.ellipses.is_empty() {
                legend.push((
                    Mark::Line(BLACK),
                    "ellipses: 1 sigma (solid), 2 sigma (dashed)".to_string(),
                ));
            }
            legend_above(&titled(area, &self.title)?, &legend)?
        } else {
            area.clone()
        };
        let mut c = if big {
            chart(&area, "", self.range(i), self.range(j), labels)?
        } else {
            panel(&area, "", self.range(i), self.range(j), labels)?
        };
        let (xs, ys) = (&self.columns[i], &self.columns[j]);
        let r = if big { 3 } else { 2 };
        // a point with either coordinate missing has no place in this panel
        let shown = |p: &usize| !(xs[*p].is_nan() || ys[*p].is_nan());
        match &self.groups {
            None => {
                c.draw_series(
                    (0..xs.len()).filter(shown).map(|p| {
                        Circle::new((xs[p], ys[p]), r, super::PALETTE[1].mix(0.6).filled())
                    }),
                )
                .map_err(err)?;
            }
            Some((z, k)) => {
                for g in 0..*k {
                    let col = color(g);
                    c.draw_series(
                        (0..xs.len())
                            .filter(|p| z[*p] == g && shown(p))
                            .map(|p| Circle::new((xs[p], ys[p]), r, col.mix(0.55).filled())),
                    )
                    .map_err(err)?;
                }
            }
        }
        for (g, e) in self.ellipses.iter().enumerate() {
            let col = color(g);
            c.draw_series(LineSeries::new(e.outline(i, j, 1.0), col.stroke_width(2)))
                .map_err(err)?;
            c.draw_series(DashedLineSeries::new(
                e.outline(i, j, 2.0),
                6,
                4,
                col.stroke_width(2),
            ))
            .map_err(err)?;
            c.draw_series(std::iter::once(Cross::new(
                (e.loc[i], e.loc[j]),
                if big { 8 } else { 5 },
                BLACK.stroke_width(3),
            )))
            .map_err(err)?;
        }
        Ok(())
    }
}

impl Draw for PairGrid {
    fn size(&self) -> (u32, u32) {
        match self.dims() {
            0..=2 => (900, 760),
            d => (1000, 60 + 170 * d as u32),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let d = self.dims();
        if d < 2 {
            return Ok(());
        }
        if d == 2 {
            return self.scatter(root, 0, 1, true);
        }
        let mut title = self.title.clone();
        if self.columns.len() > d {
            title += &format!(" (first {d} of {} dimensions)", self.columns.len());
        }
        if !self.ellipses.is_empty() {
            title += "; crosses: locations; ellipses: 1 sigma (solid), 2 sigma (dashed)";
        }
        let root = titled(root, &title)?;
        let cells = root.split_evenly((d, d));
        for i in 0..d {
            for j in 0..d {
                let area = &cells[j * d + i];
                if i == j {
                    let x = &self.columns[i];
                    let range = self.range(i);
                    let bins = auto_bins(x).min(40);
                    let counts = histogram(x, &range, bins);
                    let top = *counts.iter().max().unwrap_or(&1) as f64 * 1.1;
                    let w = (range.end - range.start) / bins as f64;
                    let mut c = panel(
                        area,
                        "",
                        range.clone(),
                        0.0..top.max(1.0),
                        (&self.names[i], "count"),
                    )?;
                    c.draw_series(counts.iter().enumerate().map(|(b, &n)| {
                        let x0 = range.start + b as f64 * w;
                        Rectangle::new(
                            [(x0, 0.0), (x0 + w, n as f64)],
                            RGBColor(120, 120, 120).mix(0.6).filled(),
                        )
                    }))
                    .map_err(err)?;
                } else {
                    self.scatter(area, i, j, false)?;
                }
            }
        }
        Ok(())
    }
}

/// Swarm plot (seaborn's `swarmplot`, seed 002): every point of 1-D data as a dot, spread
/// sideways so none overlaps, first all together, then one row per cluster.
pub struct Swarm {
    pub x: Vec<f64>,
    pub name: String,
    /// Cluster of each point and the number of clusters.
    pub groups: Option<(Vec<usize>, usize)>,
    pub title: String,
}

/// Beeswarm offsets: for points at pixel positions `px` (any order), the sideways offset of
/// each in pixels so that no two dots of radius `r` overlap, each as close to the centre line
/// as possible (points placed in order of x).
pub fn swarm_offsets(px: &[f64], r: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..px.len()).collect();
    order.sort_by(|&a, &b| px[a].total_cmp(&px[b]));
    let d = 2.0 * r;
    let mut placed: Vec<(f64, f64)> = Vec::with_capacity(px.len());
    let mut off = vec![0.0; px.len()];
    let mut first = 0usize;
    for &i in &order {
        let x = px[i];
        while first < placed.len() && x - placed[first].0 >= d {
            first += 1;
        }
        let near = &placed[first..];
        let fits = |y: f64| {
            near.iter()
                .all(|&(a, b)| (x - a).powi(2) + (y - b).powi(2) >= d * d - 1e-9)
        };
        let mut candidates = vec![0.0];
        for &(a, b) in near {
            let h = (d * d - (x - a).powi(2)).max(0.0).sqrt();
            candidates.push(b + h);
            candidates.push(b - h);
        }
        candidates.sort_by(|a: &f64, b: &f64| a.abs().total_cmp(&b.abs()).then(b.total_cmp(a)));
        let y = candidates.into_iter().find(|&y| fits(y)).unwrap_or(0.0);
        placed.push((x, y));
        off[i] = y;
    }
    off
}

impl Draw for Swarm {
    fn size(&self) -> (u32, u32) {
        let rows = 1 + self.groups.as_ref().map_or(0, |g| g.1);
        (1000, 90 + 150 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let k = self.groups.as_ref().map_or(0, |g| g.1);
        let rows = 1 + k;
        let range = padded(self.x.iter().copied());
        // rows from the top: "all", then z=0, z=1, …
        let row_name = move |y: &f64| -> String {
            if (y - y.round()).abs() > 1e-9 || *y < 0.0 {
                return String::new();
            }
            match rows - 1 - (y.round() as usize).min(rows - 1) {
                0 => "all".to_string(),
                r => format!("z={}", r - 1),
            }
        };
        let mut axes = Axes::new((&self.name, ""));
        axes.y_tick = &row_name;
        axes.y_ticks = rows + 1;
        let mut c = chart_with(
            root,
            &self.title,
            range.clone(),
            -0.5..(rows as f64 - 0.5),
            &axes,
        )?;
        let (xpx, ypx) = c.plotting_area().get_pixel_range();
        let (px0, px1, py0, py1) = (xpx.start, xpx.end, ypx.start, ypx.end);
        let band = (py1 - py0) as f64 / rows as f64;
        let to_px = |v: f64| (v - range.start) / (range.end - range.start) * (px1 - px0) as f64;
        let mut draw_row = |row: usize, idx: &[usize], col: RGBColor| -> Result<()> {
            let px: Vec<f64> = idx.iter().map(|&i| to_px(self.x[i])).collect();
            // shrink the dots until the swarm fits in its band (as seaborn warns and overlaps)
            let mut r = 3.5;
            let mut off = swarm_offsets(&px, r);
            while r > 1.0 && off.iter().any(|o| o.abs() > 0.45 * band) {
                r *= 0.8;
                off = swarm_offsets(&px, r);
            }
            // row 0 at the top, as seaborn draws the categories
            let y0 = (rows - 1 - row) as f64;
            c.draw_series(idx.iter().zip(&off).map(|(&i, o)| {
                Circle::new(
                    (self.x[i], y0 + o / band),
                    r.round().max(1.0) as i32,
                    col.mix(0.8).filled(),
                )
            }))
            .map_err(err)?;
            Ok(())
        };
        let all: Vec<usize> = (0..self.x.len()).collect();
        draw_row(0, &all, RGBColor(90, 90, 90))?;
        if let Some((z, k)) = &self.groups {
            for g in 0..*k {
                let idx: Vec<usize> = all.iter().copied().filter(|&i| z[i] == g).collect();
                draw_row(g + 1, &idx, color(g))?;
            }
        }
        // each row's count, inside the plot on the left
        for row in 0..rows {
            let label = if row == 0 {
                format!("{} points", self.x.len())
            } else {
                let n = self
                    .groups
                    .as_ref()
                    .map_or(0, |(z, _)| z.iter().filter(|&&g| g == row - 1).count());
                format!("{n} points")
            };
            c.draw_series(std::iter::once(Text::new(
                label,
                (range.start, (rows - 1 - row) as f64 + 0.35),
                ("sans-serif", LABEL_FONT).into_font(),
            )))
            .map_err(err)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::svg_check::*;
    use crate::plot::Render;

    #[test]
    fn swarm_offsets_never_overlap_and_stay_central() {
        let px: Vec<f64> = (0..200).map(|i| ((i * 37) % 100) as f64 * 0.5).collect();
        let r = 3.0;
        let off = swarm_offsets(&px, r);
        for a in 0..px.len() {
            for b in 0..a {
                let d2 = (px[a] - px[b]).powi(2) + (off[a] - off[b]).powi(2);
                assert!(d2 >= 4.0 * r * r - 1e-6, "{a} {b} overlap");
            }
        }
        // isolated points stay on the centre line
        let off = swarm_offsets(&[0.0, 100.0, 200.0], 3.0);
        assert_eq!(off, vec![0.0, 0.0, 0.0]);
        // two coincident points sit symmetrically... one at 0, the other one diameter away
        let off = swarm_offsets(&[5.0, 5.0], 3.0);
        assert_eq!(off[0], 0.0);
        assert!((off[1].abs() - 6.0).abs() < 1e-12);
    }

    #[test]
    fn histogram_plot_covers_the_data_with_a_kde() {
        let x: Vec<f64> = (0..150)
            .map(|i| 1.0 + 5.9 * ((i * 61) % 150) as f64 / 149.0)
            .collect();
        let h = DataHistogram {
            x: x.clone(),
            name: "petal_length".into(),
            title: "Data".into(),
        };
        let svg = h.svg().unwrap();
        assert!(svg.contains("petal_length") && svg.contains("kernel density"));
        let bins = auto_bins(&x);
        assert!(svg.contains(&format!("150 points, {bins} bins")));
        let png = h.png().unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    /// A correlated component's ellipse is its marginal's contour: every outline point `x`
    /// of the c-sigma ellipse has Mahalanobis distance `(x − μ)ᵀ Σ⁻¹ (x − μ) = c²` under the
    /// 2×2 covariance of (i, j), and the outline leans with the correlation.
    #[test]
    fn a_correlated_ellipse_is_its_marginal_contour() {
        let e = Ellipse {
            loc: vec![1.0, -2.0, 0.5],
            sd: vec![2.0, 0.5, 1.0],
            corr: vec![1.0, 0.3, -0.8, 0.3, 1.0, 0.1, -0.8, 0.1, 1.0],
            weight: 1.0,
        };
        for (i, j) in [(0, 1), (0, 2), (1, 2), (2, 0)] {
            let rho = e.corr[i * 3 + j];
            let (si, sj) = (e.sd[i], e.sd[j]);
            let det = si * si * sj * sj * (1.0 - rho * rho);
            for c in [1.0, 2.0] {
                for (x, y) in e.outline(i, j, c) {
                    let (u, v) = (x - e.loc[i], y - e.loc[j]);
                    let m = (sj * sj * u * u - 2.0 * rho * si * sj * u * v + si * si * v * v) / det;
                    assert!((m - c * c).abs() < 1e-9, "({i}, {j}) c = {c}: {m}");
                }
            }
            // the outline's points lean as the correlation: Σ u·v has its sign
            let lean: f64 = e
                .outline(i, j, 1.0)
                .iter()
                .map(|(x, y)| (x - e.loc[i]) * (y - e.loc[j]))
                .sum();
            assert_eq!(lean.signum(), rho.signum(), "({i}, {j})");
        }
    }

    /// A point with a missing coordinate is left out of the scatter (plotters would put a NaN
    /// on the panel's edge), and the others are all drawn.
    #[test]
    fn points_with_a_missing_coordinate_are_not_drawn() {
        let nan = f64::NAN;
        let g = PairGrid {
            columns: vec![vec![0.0, nan, 2.0, 3.0], vec![1.0, 2.0, nan, 4.0]],
            names: vec!["a".into(), "b".into()],
            groups: None,
            ellipses: vec![],
            title: "t".into(),
        };
        assert_eq!(g.svg().unwrap().matches("<circle").count(), 2);
        let g = PairGrid {
            groups: Some((vec![0, 1, 1, 0], 2)),
            ..g
        };
        let svg = g.svg().unwrap();
        let legend = 2;
        assert_eq!(svg.matches("<circle").count(), 2 + legend);
    }

    #[test]
    fn pair_grid_range_covers_data_locations_and_ellipses() {
        let g = PairGrid {
            columns: vec![vec![0.0, 1.0, 10.0], vec![5.0, 6.0, 7.0]],
            names: vec!["a".into(), "b".into()],
            groups: Some((vec![0, 0, 1], 2)),
            ellipses: vec![
                Ellipse {
                    loc: vec![0.5, 5.5],
                    sd: vec![1.0, 0.5],
                    corr: vec![],
                    weight: 0.6,
                },
                Ellipse {
                    loc: vec![10.0, 7.0],
                    sd: vec![0.1, 3.0],
                    corr: vec![],
                    weight: 0.4,
                },
            ],
            title: "t".into(),
        };
        let r = g.range(0);
        assert!(r.start <= -1.5 && r.end >= 10.2, "{r:?}");
        // 2-sigma of component 1 in b: 7 ± 6, capped at one data width (2.2) beyond the data
        let r = g.range(1);
        assert!(r.start < 4.9 && r.end > 9.0 && r.end < 9.7, "{r:?}");
        let svg = g.svg().unwrap();
        assert!(svg.contains("component 1 (weight 0.400)"));
        assert!(svg.contains("ellipses: 1 sigma (solid), 2 sigma (dashed)"));
        // three data points plus the two legend dots
        assert_eq!(svg.matches("<circle").count(), 5);
    }

    #[test]
    fn pair_grid_for_more_dimensions_has_a_panel_per_pair() {
        let cols: Vec<Vec<f64>> = (0..3)
            .map(|j| (0..20).map(|i| (i * (j + 1)) as f64).collect())
            .collect();
        let g = PairGrid {
            columns: cols,
            names: vec!["a".into(), "b".into(), "c".into()],
            groups: None,
            ellipses: vec![],
            title: "Data".into(),
        };
        let svg = g.svg().unwrap();
        // 6 scatter panels of 20 points
        assert_eq!(svg.matches("<circle").count(), 120);
    }

    #[test]
    fn swarm_draws_every_point_once_per_row() {
        let s = Swarm {
            x: vec![1.0, 1.1, 1.2, 5.0, 5.1],
            name: "petal_length".into(),
            groups: Some((vec![1, 1, 1, 0, 0], 2)),
            title: "Swarm".into(),
        };
        let svg = s.svg().unwrap();
        // all points in the first row, then each in its cluster's row
        assert_eq!(svg.matches("<circle").count(), 10);
        assert!(svg.contains(">z=0<") || svg.contains("\nz=0\n"), "{svg}");
        assert!(svg.contains("2 points") && svg.contains("3 points") && svg.contains("5 points"));
    }

    fn iris(name: &str) -> Vec<f64> {
        bgmm::datasets::iris_column(name).unwrap()
    }

    /// The histogram of iris petal lengths, as SVG.
    fn petal_length_histogram() -> String {
        DataHistogram {
            x: iris("petal_length"),
            name: "petal_length".into(),
            title: "builtin:iris".into(),
        }
        .svg()
        .unwrap()
    }

    #[test]
    fn histogram_legend_covers_no_bar_or_line() {
        let svg = petal_length_histogram();
        assert_legend_clear(&svg, "kernel density (Scott's bandwidth)", 3.0);
    }

    #[test]
    fn histogram_kde_stays_within_the_data() {
        // seaborn's histplot(kde=True) cuts the density at the data's range: the line starts
        // at the first bar's left edge and ends at the last bar's right edge
        let svg = petal_length_histogram();
        let bars: Vec<Bounds> = filled_rects(&svg)
            .into_iter()
            .filter(|(r, f)| f == "#1F77B4" && (r.x1 - r.x0 - 20.0).abs() > 1.5)
            .map(|(r, _)| r)
            .collect();
        let (lo, hi) = (
            bars.iter().map(|r| r.x0).fold(f64::INFINITY, f64::min),
            bars.iter().map(|r| r.x1).fold(0.0, f64::max),
        );
        let kde = polylines(&svg)
            .into_iter()
            .find(|p| p.stroke == "#1F77B4" && p.points.len() > 2)
            .unwrap();
        let (a, b) = crate::plot::min_max(kde.points.iter().map(|p| p.0));
        assert!(
            a >= lo - 1.0 && b <= hi + 1.0,
            "kde {a}..{b}, bars {lo}..{hi}"
        );
    }

    /// The 2-D iris fit with K = 3 (its MAP), points coloured by their most probable component.
    fn iris_2d() -> PairGrid {
        let (x, y) = (iris("petal_length"), iris("petal_width"));
        let w = [0.334606, 0.332060, 0.333333];
        let locs = [
            [4.256056, 1.338330],
            [5.560901, 2.016201],
            [1.462003, 0.246007],
        ];
        let sd = [0.357185, 0.428007, 0.141860];
        let z = x
            .iter()
            .zip(&y)
            .map(|(&a, &b)| {
                (0..3)
                    .max_by(|&i, &j| {
                        let d = |k: usize| {
                            w[k] * crate::plot::normal_pdf(a, locs[k][0], sd[k])
                                * crate::plot::normal_pdf(b, locs[k][1], sd[k])
                        };
                        d(i).total_cmp(&d(j))
                    })
                    .unwrap()
            })
            .collect();
        PairGrid {
            columns: vec![x, y],
            names: vec!["petal_length".into(), "petal_width".into()],
            groups: Some((z, 3)),
            ellipses: (0..3)
                .map(|k| Ellipse {
                    loc: locs[k].to_vec(),
                    sd: vec![sd[k]; 2],
                    corr: vec![],
                    weight: w[k],
                })
                .collect(),
            title: "Data by MAP assignment (3 components)".into(),
        }
    }

    #[test]
    fn scatter_legend_covers_no_point_or_ellipse() {
        let svg = iris_2d().svg().unwrap();
        assert_legend_clear(&svg, "component 0 (weight 0.335)", 3.0);
    }
}
