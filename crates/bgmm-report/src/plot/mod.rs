//! Pictures, drawn once and rendered as SVG or PNG (plotters; the DejaVu font is embedded, so
//! nothing is needed from the system). Every figure is a struct owning what it shows and
//! implementing [`Draw`]; [`Render`] turns any of them into an SVG string or PNG bytes.
//!
//! - [`data`]: histogram with a KDE line (seeds 000, 003), scatter and pair grid (seed 000),
//!   swarm of points by cluster (seed 002).
//! - [`fit`]: loss curve (seed 001), gradient norms (seed 001), mixture density (seeds 001,
//!   002), data by MAP assignment with 1- and 2-sigma ellipses.
//! - [`classify`]: assignment against x and assignment probabilities (seed 001).
//! - [`posterior`]: trace plots (seeds 001, 003), marginal histograms (seed 003), joint
//!   histogram of two locations with contours (seed 001), posterior predictive against the
//!   data (seed 003), rank plots.
//! - [`select`]: a model selection's criterion against K, a line per covariance family
//!   (mclust's BIC plot).

pub mod classify;
pub mod data;
pub mod fit;
pub mod posterior;
pub mod select;
#[cfg(test)]
pub mod svg_check;

use std::ops::Range;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor;

static FONTS: Once = Once::new();

fn fonts() {
    FONTS.call_once(|| {
        // a static font in the binary: registering cannot fail for a valid TTF
        for style in [FontStyle::Normal, FontStyle::Bold] {
            let _ = plotters::style::register_font("sans-serif", style, dejavu::sans::regular());
        }
    });
}

/// A drawing error (from any backend) as an error of ours.
pub(crate) fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

/// A figure: its size in pixels and how to draw it on any backend.
pub trait Draw {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// A figure rendered to a file format.
pub trait Render {
    fn svg(&self) -> Result<String>;
    /// PNG without text chunks (the tests' shorthand).
    #[cfg(test)]
    fn png(&self) -> Result<Vec<u8>> {
        self.png_tagged(&[])
    }
    /// PNG with text chunks (keyword, text): where the picture came from.
    fn png_tagged(&self, tags: &[(&str, &str)]) -> Result<Vec<u8>>;
}

/// The SVG with a `<metadata>` element (XML-escaped text) right after its root tag.
pub fn svg_with_metadata(svg: &str, text: &str) -> String {
    let esc = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    match svg.find('>') {
        Some(i) => format!(
            "{}\n<metadata>{esc}</metadata>{}",
            &svg[..=i],
            &svg[i + 1..]
        ),
        None => svg.to_string(),
    }
}

impl<T: Draw> Render for T {
    fn svg(&self) -> Result<String> {
        fonts();
        let mut s = String::new();
        {
            let root = SVGBackend::with_string(&mut s, self.size()).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            self.draw(&root)?;
            root.present().map_err(err)?;
        }
        Ok(s)
    }

    fn png_tagged(&self, tags: &[(&str, &str)]) -> Result<Vec<u8>> {
        fonts();
        let (w, h) = self.size();
        let mut rgb = vec![0u8; w as usize * h as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            self.draw(&root)?;
            root.present().map_err(err)?;
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            for (k, t) in tags {
                // iTXt: UTF-8 text (tEXt is Latin-1 only)
                enc.add_itxt_chunk(k.to_string(), t.to_string())
                    .map_err(|e| anyhow!("PNG: {e}"))?;
            }
            let mut writer = enc.write_header().map_err(|e| anyhow!("PNG: {e}"))?;
            writer
                .write_image_data(&rgb)
                .map_err(|e| anyhow!("PNG: {e}"))?;
        }
        Ok(out)
    }
}

/// The tab10 colours of matplotlib, in the order the seeds' figures use (red and blue first,
/// as seed 001 draws component 0 in red and component 1 in blue).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub fn color(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
}

pub(crate) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A tick label: short, without trailing zeros, scientific for very small or large values.
pub fn tick(v: &f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e6).contains(&a) {
        let s = format!("{v:.3e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        return format!("{m}e{e}");
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A tick label for a category axis: integers only.
pub fn int_tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}

/// Text sizes (plotters' sizes; an SVG pixel is 1/1.24 of one). Every figure is at most 1000
/// pixels wide and its smallest text is 16 (12.9 px), so a report page 800 pixels wide, which
/// shows a figure at 0.78 of its size, still shows text of 10 px.
pub const TITLE_FONT: u32 = 20;
pub const CAPTION_FONT: u32 = 17;
pub const LABEL_FONT: u32 = 16;
pub const DESC_FONT: u32 = 17;
pub const LEGEND_FONT: u32 = 16;

/// How a chart's axes are labelled.
pub(crate) struct Axes<'l> {
    pub labels: (&'l str, &'l str),
    pub y_tick: &'l dyn Fn(&f64) -> String,
    /// Number of y labels (plotters picks round values up to this many).
    pub y_ticks: usize,
    /// A grid panel (smaller fonts and margins) rather than a whole figure.
    pub small: bool,
}

impl<'l> Axes<'l> {
    pub fn new(labels: (&'l str, &'l str)) -> Axes<'l> {
        Axes {
            labels,
            y_tick: &tick,
            y_ticks: 10,
            small: false,
        }
    }
}

/// A chart with f64 axes, labelled, with light grid lines. The right margin leaves room for
/// half of the last x label, which is centred on the plot's right edge.
pub(crate) fn chart_with<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x: Range<f64>,
    y: Range<f64>,
    axes: &Axes,
) -> Result<Chart<'a, DB>> {
    let (font, xl, yl) = if axes.small {
        (CAPTION_FONT, 44, 62)
    } else {
        (TITLE_FONT, 50, 78)
    };
    let mut b = ChartBuilder::on(area);
    b.margin(if axes.small { 6 } else { 10 })
        .margin_right(if axes.small { 22 } else { 26 })
        .x_label_area_size(xl)
        .y_label_area_size(yl);
    if !caption.is_empty() {
        b.caption(caption, ("sans-serif", font));
    }
    let mut c = b.build_cartesian_2d(x, y).map_err(err)?;
    c.configure_mesh()
        .x_desc(axes.labels.0)
        .y_desc(axes.labels.1)
        .x_labels(if axes.small { 5 } else { 10 })
        .y_labels(if axes.small {
            axes.y_ticks.min(4)
        } else {
            axes.y_ticks
        })
        .x_label_formatter(&tick)
        .y_label_formatter(axes.y_tick)
        .label_style(("sans-serif", LABEL_FONT))
        .axis_desc_style(("sans-serif", DESC_FONT))
        .light_line_style(RGBColor(235, 235, 235))
        .max_light_lines(if axes.small { 1 } else { 2 })
        .draw()
        .map_err(err)?;
    Ok(c)
}

/// A whole-figure chart with the default ticks.
pub(crate) fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x: Range<f64>,
    y: Range<f64>,
    labels: (&str, &str),
) -> Result<Chart<'a, DB>> {
    chart_with(area, caption, x, y, &Axes::new(labels))
}

/// A smaller panel of a grid: fewer labels, a smaller caption.
pub(crate) fn panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x: Range<f64>,
    y: Range<f64>,
    labels: (&str, &str),
) -> Result<Chart<'a, DB>> {
    let mut axes = Axes::new(labels);
    axes.small = true;
    chart_with(area, caption, x, y, &axes)
}

/// The area below a title.
pub fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>> {
    area.titled(title, ("sans-serif", TITLE_FONT)).map_err(err)
}

/// How a legend entry is marked.
#[derive(Clone, Copy, Debug)]
pub enum Mark {
    Line(RGBColor),
    /// A line with a dot in its middle, as a series drawn with markers.
    LineDot(RGBColor),
    /// A line of dashes: dash and gap lengths in pixels.
    Dashed(RGBColor, i32, i32),
    Dot(RGBColor),
    Cross(RGBColor),
    /// A filled swatch (20 × 10 pixels) of this opacity, as a histogram's bars.
    Bar(RGBColor, f64),
}

/// A legend entry: its mark and what it stands for.
pub type Entry = (Mark, String);

/// Width of a legend mark in pixels.
const MARK_W: i32 = 24;

/// Draws a legend mark with its left end at `(x, y)` (the middle of the row).
fn draw_mark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    mark: Mark,
    (x, y): (i32, i32),
) -> Result<()> {
    match mark {
        Mark::Line(c) => area
            .draw(&PathElement::new(
                vec![(x, y), (x + MARK_W, y)],
                c.stroke_width(2),
            ))
            .map_err(err),
        Mark::LineDot(c) => {
            draw_mark(area, Mark::Line(c), (x, y))?;
            draw_mark(area, Mark::Dot(c), (x, y))
        }
        Mark::Dashed(c, dash, gap) => {
            let mut a = x;
            while a < x + MARK_W {
                let b = (a + dash).min(x + MARK_W);
                area.draw(&PathElement::new(vec![(a, y), (b, y)], c.stroke_width(2)))
                    .map_err(err)?;
                a = b + gap;
            }
            Ok(())
        }
        Mark::Dot(c) => area
            .draw(&Circle::new((x + MARK_W / 2, y), 4, c.filled()))
            .map_err(err),
        Mark::Cross(c) => area
            .draw(&Cross::new((x + MARK_W / 2, y), 4, c.stroke_width(1)))
            .map_err(err),
        Mark::Bar(c, alpha) => area
            .draw(&Rectangle::new(
                [(x + 2, y - 5), (x + 22, y + 5)],
                c.mix(alpha).filled(),
            ))
            .map_err(err),
    }
}

/// Draws the legend in a frame across the top of `area`, entries left to right and wrapped
/// into rows at its width, and returns the area below it: outside the plot, where it cannot
/// cover the data (issue 11 found legends inside the plots over bars, lines and points).
pub fn legend_above<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
) -> Result<DrawingArea<DB, Shift>> {
    if entries.is_empty() {
        return Ok(area.clone());
    }
    let style: TextStyle = ("sans-serif", LEGEND_FONT).into_font().color(&BLACK);
    let (w, _) = area.dim_in_pixel();
    let (pad, gap, row_h) = (8i32, 22i32, 22i32);
    let widths: Vec<i32> = entries
        .iter()
        .map(|(_, label)| {
            let (tw, _) = area.estimate_text_size(label, &style).map_err(err)?;
            Ok(MARK_W + 6 + tw as i32)
        })
        .collect::<Result<_>>()?;
    // greedy rows within the width
    let room = w as i32 - 2 * pad - 20;
    let mut rows: Vec<Vec<usize>> = vec![vec![]];
    let mut used = 0;
    for (i, &ew) in widths.iter().enumerate() {
        let row = rows.last_mut().unwrap_or_else(|| unreachable!());
        let need = if row.is_empty() { ew } else { used + gap + ew };
        if !row.is_empty() && need > room {
            rows.push(vec![i]);
            used = ew;
        } else {
            row.push(i);
            used = need;
        }
    }
    let row_w = |r: &Vec<usize>| -> i32 {
        r.iter().map(|&i| widths[i]).sum::<i32>() + gap * (r.len() as i32 - 1).max(0)
    };
    let box_w = rows.iter().map(row_w).max().unwrap_or(0) + 2 * pad;
    let box_h = rows.len() as i32 * row_h + 2 * pad - 6;
    let (x0, y0) = ((w as i32 - box_w) / 2, 4);
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + box_w, y0 + box_h)],
        WHITE.filled(),
    ))
    .map_err(err)?;
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + box_w, y0 + box_h)],
        RGBColor(170, 170, 170).stroke_width(1),
    ))
    .map_err(err)?;
    let text = style.pos(text_anchor::Pos::new(
        text_anchor::HPos::Left,
        text_anchor::VPos::Center,
    ));
    for (r, row) in rows.iter().enumerate() {
        // each row centred in the frame
        let mut x = x0 + pad + (box_w - 2 * pad - row_w(row)) / 2;
        let y = y0 + pad - 3 + r as i32 * row_h + row_h / 2;
        for &i in row {
            let (mark, label) = &entries[i];
            draw_mark(area, *mark, (x, y))?;
            area.draw(&Text::new(label.as_str(), (x + MARK_W + 6, y), &text))
                .map_err(err)?;
            x += widths[i] + gap;
        }
    }
    let (_, below) = area.split_vertically((y0 + box_h + 6) as u32);
    Ok(below)
}

/// Smallest and largest finite value.
pub fn min_max(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        })
}

/// The range of the values padded by 5 % on each side (a unit range around a single value).
pub fn padded(values: impl IntoIterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = min_max(values);
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let w = hi - lo;
    let pad = if w > 0.0 {
        0.05 * w
    } else {
        0.5 * lo.abs().max(1.0)
    };
    (lo - pad)..(hi + pad)
}

/// Range of positive values for a log axis: the values padded by 5 % of their span in log
/// space (at least 2 % either way), so that they fill the plot (issue 11: losses of 210 to 297
/// on an axis from 70 to 900 drew a flat line).
pub fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (1e-3, 1.0);
    }
    // the ratio and the padded ends in logs: values near f64::MAX (an extreme prior's gradient
    // norms) must not pad to an infinite end, whose ticks would never end
    let ratio = (hi / lo).ln();
    let ratio = if ratio.is_finite() {
        ratio
    } else {
        hi.ln() - lo.ln()
    };
    let pad = (0.05 * ratio).max(0.02);
    let (a, b) = (lo * (-pad).exp(), hi * pad.exp());
    if a > 0.0 && b.is_finite() {
        return (a, b);
    }
    let lo = (lo.ln() - pad).exp().max(f64::MIN_POSITIVE);
    let hi = (hi.ln() + pad).exp().min(f64::MAX);
    (lo.min(hi), hi)
}

/// A round step of about `raw`: 1, 2 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

/// The labelled (bold) and light tick values of a log axis over `lo..hi`: powers of ten over
/// several decades, with 2 and 5 times them over one or two, and round linear steps within a
/// decade (where plotters' log axis has no tick at all).
pub fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let decades = (hi / lo).log10();
    let within = |v: &f64| *v >= lo * (1.0 - 1e-12) && *v <= hi * (1.0 + 1e-12);
    if decades < 1.0 {
        let step = nice_step((hi - lo) / 5.0);
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        let bold: Vec<f64> = (first..=last).map(|i| i as f64 * step).collect();
        let light = ((2 * first - 1)..=(2 * last + 1))
            .filter(|i| i % 2 != 0)
            .map(|i| i as f64 * step / 2.0)
            .filter(within)
            .collect();
        return (bold, light);
    }
    // the decades of finite floats at most
    let (e0, e1) = (
        (lo.log10().floor() as i32).max(-324),
        (hi.log10().ceil() as i32).min(308),
    );
    let mantissas: &[f64] = if decades < 2.5 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let every = ((decades / 8.0).ceil() as i32).max(1);
    let mut bold = Vec::new();
    let mut light = Vec::new();
    for e in e0..=e1 {
        let p = 10f64.powi(e);
        for m in 1..10 {
            let v = m as f64 * p;
            if !within(&v) {
                continue;
            }
            if mantissas.contains(&(m as f64)) && (m > 1 || e.rem_euclid(every) == 0) {
                bold.push(v);
            } else {
                light.push(v);
            }
        }
    }
    (bold, light)
}

/// Where a parameter lies: anywhere, above zero (scales) or in [0, 1] (weights).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Support {
    Real,
    Positive,
    Unit,
}

impl Support {
    /// The support of a parameter by its site's name (`weights[0]`, `scale[1]`, …).
    pub fn of(name: &str) -> Support {
        match name.split('[').next().unwrap_or(name) {
            "weights" => Support::Unit,
            "scale" | "scales" => Support::Positive,
            _ => Support::Real,
        }
    }

    /// The range cut to the support.
    pub fn clamp(self, r: Range<f64>) -> Range<f64> {
        let (lo, hi) = match self {
            Support::Real => (f64::NEG_INFINITY, f64::INFINITY),
            Support::Positive => (0.0, f64::INFINITY),
            Support::Unit => (0.0, 1.0),
        };
        let (a, b) = (r.start.max(lo), r.end.min(hi));
        if b > a {
            a..b
        } else {
            r
        }
    }
}

/// The grid a kernel density of `values` is drawn on: `n` points from their smallest to
/// their largest value (seaborn's `histplot(kde=True)` and ArviZ's trace plots cut the density
/// there, so it never runs past the data nor out of a parameter's support), within the axis.
pub fn kde_grid(values: &[f64], axis: &Range<f64>, n: usize) -> Vec<f64> {
    let (lo, hi) = min_max(values.iter().copied());
    let (lo, hi) = (lo.max(axis.start), hi.min(axis.end));
    if hi > lo {
        linspace(&(lo..hi), n)
    } else {
        vec![]
    }
}

/// A number for a legend: three decimals, or three significant digits in scientific notation
/// when that would show nothing (a scale of 4e-16 is not "0.000").
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        format!("{v:.2e}")
    } else {
        format!("{v:.3}")
    }
}

pub fn normal_pdf(x: f64, m: f64, s: f64) -> f64 {
    let z = (x - m) / s;
    (-0.5 * z * z).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
}

/// Scott's bandwidth, as scipy's `gaussian_kde` (which seaborn's `kde=True` uses): the sample
/// sd times n^(-1/5).
pub fn scott_bandwidth(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let sd = if x.len() > 1 {
        bgmm::sample_var(x).sqrt()
    } else {
        0.0
    };
    let bw = sd * n.powf(-0.2);
    if bw > 0.0 {
        bw
    } else {
        // all values equal: a narrow bump so the line is still drawn
        1e-3 * x.first().map_or(1.0, |v| v.abs().max(1.0))
    }
}

/// Gaussian kernel density estimate at each grid point (a density: it integrates to one).
/// Large samples are binned on a fine grid first (a standard linear-binning approximation);
/// the error is far below what a line on screen shows.
pub fn kde(x: &[f64], grid: &[f64]) -> Vec<f64> {
    kde_bw(x, grid, scott_bandwidth(x))
}

/// Gaussian kernel density estimate with the given bandwidth.
pub fn kde_bw(x: &[f64], grid: &[f64], bw: f64) -> Vec<f64> {
    let n = x.len() as f64;
    if x.len() <= 2000 {
        return grid
            .iter()
            .map(|&g| x.iter().map(|&v| normal_pdf(g, v, bw)).sum::<f64>() / n)
            .collect();
    }
    // linear binning onto 1024 bins spanning the data
    let (lo, hi) = min_max(x.iter().copied());
    let bins = 1024usize;
    let w = ((hi - lo) / (bins - 1) as f64).max(f64::MIN_POSITIVE);
    let mut mass = vec![0.0; bins];
    for &v in x {
        let t = (v - lo) / w;
        let i = (t.floor() as usize).min(bins - 2);
        let f = t - i as f64;
        mass[i] += 1.0 - f;
        mass[i + 1] += f;
    }
    grid.iter()
        .map(|&g| {
            mass.iter()
                .enumerate()
                .filter(|(_, m)| **m > 0.0)
                .map(|(i, m)| m * normal_pdf(g, lo + i as f64 * w, bw))
                .sum::<f64>()
                / n
        })
        .collect()
}

/// Number of histogram bins as numpy's `bins="auto"` (seaborn's default): the larger of the
/// Sturges and Freedman–Diaconis counts, kept between 1 and 200.
pub fn auto_bins(x: &[f64]) -> usize {
    let n = x.len();
    if n < 2 {
        return 1;
    }
    let sturges = (n as f64).log2().ceil() as usize + 1;
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let iqr = bgmm::quantile_sorted(&s, 0.75) - bgmm::quantile_sorted(&s, 0.25);
    let range = s[n - 1] - s[0];
    let fd = if iqr > 0.0 && range > 0.0 {
        (range / (2.0 * iqr * (n as f64).powf(-1.0 / 3.0))).ceil() as usize
    } else {
        1
    };
    sturges.max(fd).clamp(1, 200)
}

/// Counts of the values in `bins` equal bins over `range` (values outside are dropped; the
/// last bin is closed).
pub fn histogram(x: &[f64], range: &Range<f64>, bins: usize) -> Vec<usize> {
    let mut counts = vec![0usize; bins.max(1)];
    let w = (range.end - range.start) / bins as f64;
    for &v in x {
        if v < range.start || v > range.end || !v.is_finite() {
            continue;
        }
        let b = if w > 0.0 {
            (((v - range.start) / w) as usize).min(bins - 1)
        } else {
            0
        };
        counts[b] += 1;
    }
    counts
}

/// `n` evenly spaced points from `range.start` to `range.end`.
pub fn linspace(range: &Range<f64>, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| range.start + (range.end - range.start) * i as f64 / (n - 1).max(1) as f64)
        .collect()
}

/// At most `max` indices of `0..n`, evenly spaced (all when n ≤ max): big data sets are
/// thinned for scatter plots, and the caption says so.
pub fn thin(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    (0..max).map(|i| i * n / max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kde_integrates_to_one_and_matches_a_normal_for_one_point() {
        let x = [1.0, 2.0, 2.5, 4.0, 7.0];
        let grid = linspace(&(-10.0..20.0), 3001);
        let d = kde(&x, &grid);
        let integral: f64 = d.iter().sum::<f64>() * (30.0 / 3000.0);
        assert!((integral - 1.0).abs() < 1e-6, "{integral}");
        // binned path for large samples: close to the exact sum
        let big: Vec<f64> = (0..5000)
            .map(|i| ((i * 7919) % 1000) as f64 / 100.0)
            .collect();
        let g = linspace(&(0.0..10.0), 50);
        let exact: Vec<f64> = {
            let bw = scott_bandwidth(&big);
            g.iter()
                .map(|&t| big.iter().map(|&v| normal_pdf(t, v, bw)).sum::<f64>() / 5000.0)
                .collect()
        };
        for (a, b) in kde(&big, &g).iter().zip(&exact) {
            assert!((a - b).abs() < 1e-4 * b.max(0.01), "{a} {b}");
        }
    }

    #[test]
    fn bins_follow_numpy_auto() {
        // numpy.histogram_bin_edges(np.arange(100.0), "auto") has 8 bins (Sturges wins)
        let x: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(auto_bins(&x), 8);
        // 1000 normal-ish points: FD wins (numpy gives 17 for this uniform grid of quantiles)
        let y: Vec<f64> = (1..1000)
            .map(|i| bgmm::normal_quantile(i as f64 / 1000.0))
            .collect();
        let b = auto_bins(&y);
        assert!((15..=30).contains(&b), "{b}");
        let h = histogram(&x, &(0.0..99.0), 8);
        assert_eq!(h.iter().sum::<usize>(), 100);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(&200.0), "200");
        assert_eq!(tick(&1.45), "1.45");
        assert_eq!(tick(&0.30000000000000004), "0.3");
        assert_eq!(tick(&-0.0), "0");
        assert_eq!(tick(&2.5e-8), "2.5e-8");
        assert_eq!(tick(&3e9), "3e9");
        assert_eq!(int_tick(&2.0), "2");
        assert_eq!(int_tick(&0.4), "");
    }

    #[test]
    fn padding_and_thinning() {
        let r = padded([1.0, 3.0]);
        assert!((r.start - 0.9).abs() < 1e-12 && (r.end - 3.1).abs() < 1e-12);
        let r = padded([5.0]);
        assert!(r.start < 5.0 && r.end > 5.0);
        assert_eq!(thin(10, 20).len(), 10);
        assert_eq!(thin(100_000, 5000).len(), 5000);
    }

    #[test]
    fn log_ticks_label_a_narrow_range_and_decades() {
        // the demo's losses, 210 to 297, padded: round linear steps (plotters' own log axis
        // has no tick between 100 and 1000)
        let (lo, hi) = log_range([210.206, 297.2].into_iter());
        assert!(
            lo > 200.0 && lo < 210.206 && hi > 297.2 && hi < 310.0,
            "{lo} {hi}"
        );
        let (bold, light) = log_ticks(lo, hi);
        assert_eq!(bold, vec![220.0, 240.0, 260.0, 280.0, 300.0]);
        assert!(light.iter().all(|v| *v >= lo && *v <= hi) && light.contains(&250.0));
        // gradient norms over seven decades: the powers of ten
        let (bold, _) = log_ticks(3e-6, 60.0);
        assert_eq!(bold, vec![1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0]);
        // two decades: 1, 2 and 5 times them
        let (bold, _) = log_ticks(0.8, 40.0);
        assert_eq!(bold, vec![1.0, 2.0, 5.0, 10.0, 20.0]);
        // norms up to 8e299 (a fit under an exponential prior of rate 1e300): the padded end
        // stays finite and the ticks few (it padded to infinity and the ticks never ended)
        let (lo, hi) = log_range([0.04, 8.2e299].into_iter());
        assert!(
            lo > 0.0 && lo < 0.04 && hi.is_finite() && hi > 8.2e299,
            "{lo} {hi}"
        );
        let (bold, light) = log_ticks(lo, hi);
        assert!(bold.len() <= 12 && light.len() < 3000, "{}", bold.len());
        assert!(bold.contains(&1e0) || bold.iter().any(|b| *b > 1e290));
        let (lo, hi) = log_range([1e-320, 1.0].into_iter());
        assert!(lo > 0.0 && hi > 1.0 && hi.is_finite(), "{lo} {hi}");
    }

    #[test]
    fn kde_grids_keep_to_the_values_and_supports_to_their_bounds() {
        let g = kde_grid(&[0.002, 0.3, 0.05], &(-0.1..1.0), 5);
        assert_eq!(g.first(), Some(&0.002));
        assert_eq!(g.last(), Some(&0.3));
        // cut to the axis when the values run past it
        let g = kde_grid(&[-5.0, 5.0], &(-1.0..2.0), 4);
        assert_eq!(g, vec![-1.0, 0.0, 1.0, 2.0]);
        assert!(kde_grid(&[3.0, 3.0], &(0.0..5.0), 4).is_empty());
        assert_eq!(Support::of("weights[2]"), Support::Unit);
        assert_eq!(Support::of("scale"), Support::Positive);
        assert_eq!(Support::of("locs[0,1]"), Support::Real);
        assert_eq!(Support::Unit.clamp(-0.05..1.02), 0.0..1.0);
        assert_eq!(Support::Positive.clamp(-0.05..3.0), 0.0..3.0);
        assert_eq!(short(4.081e-16), "4.08e-16");
        assert_eq!(short(0.3751), "0.375");
    }
}
