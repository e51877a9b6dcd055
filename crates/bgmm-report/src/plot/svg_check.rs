//! Reading back what a figure drew (tests only): the SVG that plotters writes, one element per
//! line, parsed into shapes in pixels, so that a test can check the picture a user sees (a
//! legend over data, a label past the edge, a line across a gap) rather than the code that
//! drew it.

use std::collections::HashMap;

/// An element's attributes.
pub type Attrs = HashMap<String, String>;

/// Every element with this tag, in drawing order: its attributes and its text (for `<text>`).
pub fn elements(svg: &str, tag: &str) -> Vec<(Attrs, String)> {
    let open = format!("<{tag} ");
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let end = rest.find('>').expect("an unclosed tag");
        let attrs = parse_attrs(&rest[..end]);
        let mut text = String::new();
        if !rest[..end].ends_with('/') {
            let close = format!("</{tag}>");
            if let Some(j) = rest.find(&close) {
                text = rest[end + 1..j]
                    .trim()
                    .replace("&apos;", "'")
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&");
            }
        }
        out.push((attrs, text));
        rest = &rest[end..];
    }
    out
}

fn parse_attrs(s: &str) -> Attrs {
    let mut m = HashMap::new();
    let mut rest = s;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim().to_string();
        let after = &rest[eq + 2..];
        let close = after.find('"').unwrap_or(after.len());
        m.insert(key, after[..close].to_string());
        rest = &after[(close + 1).min(after.len())..];
    }
    m
}

pub fn num(a: &Attrs, key: &str) -> f64 {
    a.get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number '{key}' in {a:?}"))
}

/// An axis-aligned rectangle in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Bounds {
    pub fn contains(&self, (x, y): (f64, f64)) -> bool {
        x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1
    }
    /// Whether the open interiors overlap (touching edges do not count).
    pub fn overlaps(&self, o: &Bounds) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    pub fn area(&self) -> f64 {
        (self.x1 - self.x0) * (self.y1 - self.y0)
    }
}

pub fn rect_of(a: &Attrs) -> Bounds {
    let (x, y) = (num(a, "x"), num(a, "y"));
    Bounds {
        x0: x,
        y0: y,
        x1: x + num(a, "width"),
        y1: y + num(a, "height"),
    }
}

/// A `<text>`: where it is anchored, its size, anchor and content.
#[derive(Clone, Debug)]
pub struct SvgText {
    pub x: f64,
    pub y: f64,
    pub size: f64,
    pub anchor: String,
    pub rotated: bool,
    pub text: String,
}

impl SvgText {
    /// Its horizontal extent, estimated (DejaVu Sans averages about 0.62 em a character).
    pub fn x_extent(&self) -> (f64, f64) {
        let w = 0.62 * self.size * self.text.chars().count() as f64;
        match self.anchor.as_str() {
            "middle" => (self.x - w / 2.0, self.x + w / 2.0),
            "end" => (self.x - w, self.x),
            _ => (self.x, self.x + w),
        }
    }
}

pub fn texts(svg: &str) -> Vec<SvgText> {
    elements(svg, "text")
        .into_iter()
        .map(|(a, t)| SvgText {
            x: num(&a, "x"),
            y: num(&a, "y"),
            size: num(&a, "font-size"),
            anchor: a.get("text-anchor").cloned().unwrap_or_default(),
            rotated: a.contains_key("transform"),
            text: t,
        })
        .collect()
}

/// A `<polyline>`: its stroke colour and points.
#[derive(Clone, Debug)]
pub struct Polyline {
    pub stroke: String,
    /// (read by no test today; parsed with the rest of the element)
    #[allow(dead_code)]
    pub width: f64,
    pub points: Vec<(f64, f64)>,
}

pub fn polylines(svg: &str) -> Vec<Polyline> {
    elements(svg, "polyline")
        .into_iter()
        .map(|(a, _)| Polyline {
            stroke: a.get("stroke").cloned().unwrap_or_default(),
            width: a
                .get("stroke-width")
                .and_then(|w| w.parse().ok())
                .unwrap_or(1.0),
            points: a["points"]
                .split_whitespace()
                .filter_map(|p| {
                    let (x, y) = p.split_once(',')?;
                    Some((x.parse().ok()?, y.parse().ok()?))
                })
                .collect(),
        })
        .collect()
}

/// Circles: centre, radius and fill.
pub fn circles(svg: &str) -> Vec<((f64, f64), f64, String)> {
    elements(svg, "circle")
        .into_iter()
        .map(|(a, _)| {
            (
                (num(&a, "cx"), num(&a, "cy")),
                num(&a, "r"),
                a.get("fill").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// A straight line: its end points and stroke colour.
pub type Line = ((f64, f64), (f64, f64), String);

/// Straight lines: end points and stroke colour.
pub fn lines(svg: &str) -> Vec<Line> {
    elements(svg, "line")
        .into_iter()
        .map(|(a, _)| {
            (
                (num(&a, "x1"), num(&a, "y1")),
                (num(&a, "x2"), num(&a, "y2")),
                a.get("stroke").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// Filled rectangles (not the white background, not outlines) with their fill colour.
pub fn filled_rects(svg: &str) -> Vec<(Bounds, String)> {
    elements(svg, "rect")
        .into_iter()
        .filter(|(a, _)| {
            let f = a.get("fill").map_or("", String::as_str);
            f != "none" && f != "#FFFFFF"
        })
        .map(|(a, _)| (rect_of(&a), a["fill"].clone()))
        .collect()
}

/// The frames of the legends holding `label` (one per panel that has it): for each text
/// reading `label`, the smallest outlined (unfilled) rectangle around its anchor point.
pub fn legend_boxes(svg: &str, label: &str) -> Vec<Bounds> {
    let frames: Vec<Bounds> = elements(svg, "rect")
        .into_iter()
        .filter(|(a, _)| a.get("fill").map(String::as_str) == Some("none"))
        .map(|(a, _)| rect_of(&a))
        .collect();
    let found: Vec<Bounds> = texts(svg)
        .into_iter()
        .filter(|t| t.text == label)
        .map(|t| {
            *frames
                .iter()
                .filter(|r| r.contains((t.x, t.y)))
                .min_by(|a, b| a.area().total_cmp(&b.area()))
                .unwrap_or_else(|| panic!("no frame around the legend label '{label}'"))
        })
        .collect();
    assert!(!found.is_empty(), "no legend label '{label}'");
    found
}

/// Whether the segment from `a` to `b` passes through the rectangle (sampled every half
/// pixel).
pub fn segment_hits(r: &Bounds, a: (f64, f64), b: (f64, f64)) -> bool {
    let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    let steps = (2.0 * len).ceil().max(1.0) as usize;
    (0..=steps).any(|i| {
        let t = i as f64 / steps as f64;
        let p = (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
        // strictly inside: a line along the frame's edge does not cover it
        p.0 > r.x0 && p.0 < r.x1 && p.1 > r.y0 && p.1 < r.y1
    })
}

/// What of the plotted data lies under the rectangle: data lines (polylines of more than two
/// points; a legend's line mark has two), data dots (radius at most `max_dot`; a legend's dot
/// has radius 4) and bars or cells (filled rectangles other than the legend's 20 × 10
/// swatches). Each hit is described for the assertion message.
pub fn data_under(svg: &str, r: &Bounds, max_dot: f64) -> Vec<String> {
    let mut hits = Vec::new();
    for p in polylines(svg).iter().filter(|p| p.points.len() > 2) {
        if let Some(w) = p.points.windows(2).find(|w| segment_hits(r, w[0], w[1])) {
            hits.push(format!("line {} at {:?}", p.stroke, w[0]));
        }
    }
    for (c, rad, fill) in circles(svg) {
        let grown = Bounds {
            x0: r.x0 - rad,
            y0: r.y0 - rad,
            x1: r.x1 + rad,
            y1: r.y1 + rad,
        };
        if rad <= max_dot && grown.contains(c) && !(c.0 == grown.x0 || c.0 == grown.x1) {
            hits.push(format!("dot {fill} at {c:?}"));
        }
    }
    for (b, fill) in filled_rects(svg) {
        let swatch = (b.x1 - b.x0 - 20.0).abs() < 1.5 && (b.y1 - b.y0 - 10.0).abs() < 1.5;
        if !swatch && b.area() > 0.0 && b.overlaps(r) {
            hits.push(format!("bar {fill} at {b:?}"));
        }
    }
    hits
}

/// The legend holding `label` covers none of the plotted data (dots up to `max_dot` pixels).
pub fn assert_legend_clear(svg: &str, label: &str, max_dot: f64) {
    for b in legend_boxes(svg, label) {
        let hits = data_under(svg, &b, max_dot);
        assert!(
            hits.is_empty(),
            "the legend with '{label}' at {b:?} covers {} plotted marks, the first {:?}",
            hits.len(),
            &hits[..hits.len().min(3)]
        );
    }
}

/// The plotting areas: each vertical axis line (a black two-point polyline) with the
/// horizontal axis line that starts at its foot.
pub fn plot_areas(svg: &str) -> Vec<Bounds> {
    let axes: Vec<Polyline> = polylines(svg)
        .into_iter()
        .filter(|p| p.stroke == "#000000" && p.points.len() == 2)
        .collect();
    let mut out = Vec::new();
    for v in &axes {
        let (a, b) = (v.points[0], v.points[1]);
        if a.0 != b.0 || (b.1 - a.1).abs() < 20.0 {
            continue;
        }
        let (top, foot) = (a.1.min(b.1), a.1.max(b.1));
        let h = axes.iter().find(|h| {
            let (c, d) = (h.points[0], h.points[1]);
            c.1 == d.1
                && (c.1 - foot).abs() <= 2.0
                && (c.0.min(d.0) - a.0).abs() <= 2.0
                && (d.0 - c.0).abs() > 20.0
        });
        if let Some(h) = h {
            let (c, d) = (h.points[0], h.points[1]);
            out.push(Bounds {
                x0: c.0.min(d.0),
                y0: top,
                x1: c.0.max(d.0),
                y1: foot,
            });
        }
    }
    out
}

/// The labelled ticks under a plotting area: (value, pixel x), left to right.
pub fn x_ticks(svg: &str, area: &Bounds) -> Vec<(f64, f64)> {
    let mut t: Vec<(f64, f64)> = texts(svg)
        .into_iter()
        .filter(|t| {
            !t.rotated
                && t.anchor == "middle"
                && t.y > area.y1
                && t.y < area.y1 + 25.0
                && t.x >= area.x0 - 2.0
                && t.x <= area.x1 + 2.0
        })
        .filter_map(|t| Some((t.text.parse::<f64>().ok()?, t.x)))
        .collect();
    t.sort_by(|a, b| a.1.total_cmp(&b.1));
    t
}

/// The labelled ticks left of a plotting area: (text, pixel y), top to bottom.
pub fn y_labels(svg: &str, area: &Bounds) -> Vec<(String, f64)> {
    let mut t: Vec<(String, f64)> = texts(svg)
        .into_iter()
        .filter(|t| {
            !t.rotated
                && t.anchor == "end"
                && t.x < area.x0
                && t.x > area.x0 - 60.0
                && t.y >= area.y0 - 2.0
                && t.y <= area.y1 + 2.0
        })
        .map(|t| (t.text, t.y))
        .collect();
    t.sort_by(|a, b| a.1.total_cmp(&b.1));
    t
}

/// Pixel x → data value, by the first and last labelled ticks.
pub fn x_value(ticks: &[(f64, f64)], px: f64) -> f64 {
    let ((v0, p0), (v1, p1)) = (ticks[0], ticks[ticks.len() - 1]);
    v0 + (px - p0) * (v1 - v0) / (p1 - p0)
}

/// Data value → pixel x, by the first and last labelled ticks.
pub fn x_pixel(ticks: &[(f64, f64)], v: f64) -> f64 {
    let ((v0, p0), (v1, p1)) = (ticks[0], ticks[ticks.len() - 1]);
    p0 + (v - v0) * (p1 - p0) / (v1 - v0)
}

/// The data lines (polylines of more than two points) inside an area.
pub fn lines_in(svg: &str, area: &Bounds) -> Vec<Polyline> {
    polylines(svg)
        .into_iter()
        .filter(|p| {
            p.points.len() > 2
                && p.points.iter().all(|&(x, y)| {
                    x >= area.x0 - 1.0
                        && x <= area.x1 + 1.0
                        && y >= area.y0 - 1.0
                        && y <= area.y1 + 1.0
                })
        })
        .collect()
}
