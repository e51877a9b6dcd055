//! The picture of a model selection (mclust's BIC plot): a criterion of every (K, family) pair
//! against the number of components K, one line with markers per covariance family, a gap
//! where a pair's fit failed, and the best model ringed on a dashed vertical line at its K.

use std::ops::Range;

use anyhow::Result;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use bgmm::{CovarianceFamily, Criterion};

use super::{
    color, err, int_tick, legend_above, padded, tick, titled, Draw, Entry, Mark, DESC_FONT,
    LABEL_FONT,
};

/// The families in a fixed order, which gives each its colour: the same family has the same
/// colour in every picture, whichever families a selection tried (mclust's EII, VII, EEI, VVI,
/// EEE, VVV, simplest first).
const FAMILY_ORDER: [CovarianceFamily; 6] = [
    CovarianceFamily::Shared,
    CovarianceFamily::Component,
    CovarianceFamily::Dimension,
    CovarianceFamily::Diagonal,
    CovarianceFamily::Tied,
    CovarianceFamily::Full,
];

/// A family's colour.
pub fn family_color(f: CovarianceFamily) -> RGBColor {
    color(FAMILY_ORDER.iter().position(|&g| g == f).unwrap_or(0))
}

/// A family as the legend and the report name it: `tied (EEE)`.
pub fn family_label(f: CovarianceFamily) -> String {
    format!("{} ({})", f.name(), f.mclust())
}

/// The criterion's name on an axis or in a table: `BIC`.
pub fn criterion_label(c: Criterion) -> String {
    c.name().to_uppercase()
}

/// A criterion against K for each family (mclust's `plot(mclustBIC(…))`, with the criterion as
/// bgmm and scikit-learn report it: lower is better).
pub struct CriterionCurves {
    pub criterion: Criterion,
    /// The families in the legend's order.
    pub families: Vec<CovarianceFamily>,
    /// Every pair tried: its K, family and value (`None` where its fit failed).
    pub points: Vec<(usize, CovarianceFamily, Option<f64>)>,
    /// The best pair (K, family).
    pub best: Option<(usize, CovarianceFamily)>,
    pub title: String,
}

impl CriterionCurves {
    /// The numbers of components tried, ascending.
    pub fn ks(&self) -> Vec<usize> {
        let mut ks: Vec<usize> = self.points.iter().map(|p| p.0).collect();
        ks.sort_unstable();
        ks.dedup();
        ks
    }

    /// The value of a pair, if it was tried and its fit succeeded.
    pub fn value(&self, k: usize, f: CovarianceFamily) -> Option<f64> {
        self.points
            .iter()
            .find(|p| p.0 == k && p.1 == f)
            .and_then(|p| p.2)
            .filter(|v| v.is_finite())
    }

    /// A family's lines: its values over the K tried, ascending, split wherever a pair has no
    /// value (a failed fit, or a pair not tried), so that no line is drawn across it.
    pub fn runs(&self, f: CovarianceFamily) -> Vec<Vec<(usize, f64)>> {
        let mut out: Vec<Vec<(usize, f64)>> = vec![];
        let mut open = false;
        for k in self.ks() {
            match self.value(k, f) {
                Some(v) if open => out
                    .last_mut()
                    .unwrap_or_else(|| unreachable!())
                    .push((k, v)),
                Some(v) => {
                    out.push(vec![(k, v)]);
                    open = true;
                }
                None => open = false,
            }
        }
        out
    }

    /// The labelled K on the axis: every K tried up to 20 of them, otherwise round steps.
    fn k_ticks(&self) -> Vec<f64> {
        let ks = self.ks();
        if ks.len() <= 20 {
            return ks.iter().map(|&k| k as f64).collect();
        }
        let (lo, hi) = (ks[0], ks[ks.len() - 1]);
        let step = [1usize, 2, 5]
            .iter()
            .flat_map(|m| (0..4).map(move |e| m * 10usize.pow(e)))
            .filter(|s| (hi - lo) / s <= 15)
            .min()
            .unwrap_or(1000);
        (lo.div_ceil(step) * step..=hi)
            .step_by(step)
            .map(|k| k as f64)
            .collect()
    }
}

/// The K axis: positions as f64 (half a step of room either side of the first and last K),
/// labelled at the given K only (plotters' own f64 axis labels fractions, and its integer axis
/// has no room beside its ends).
#[derive(Clone)]
struct KAxis {
    range: Range<f64>,
    keys: Vec<f64>,
}

impl Ranged for KAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(v, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // no light lines between two K
        if hint.weight().allow_light_points() {
            vec![]
        } else {
            self.keys.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// A criterion's tick label: [`tick`] up to a million, and all the digits beyond, where the
/// values of a large data set's criterion differ in the fifth digit or later (`1.235e6` would
/// label two ticks alike).
fn criterion_tick(v: &f64) -> String {
    if v.abs() < 1e6 || v.abs() >= 1e15 {
        return tick(v);
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Draw for CriterionCurves {
    fn size(&self) -> (u32, u32) {
        (1000, 520)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let name = criterion_label(self.criterion);
        let mut legend: Vec<Entry> = self
            .families
            .iter()
            .map(|&f| (Mark::LineDot(family_color(f)), family_label(f)))
            .collect();
        let best = self.best.and_then(|(k, f)| Some((k, f, self.value(k, f)?)));
        if let Some((k, f, _)) = best {
            legend.push((
                Mark::Dashed(BLACK, 6, 4),
                format!("best: {}, K = {k}", family_label(f)),
            ));
        }
        let area = legend_above(&titled(root, &self.title)?, &legend)?;
        let ks = self.ks();
        let (k0, k1) = match (ks.first(), ks.last()) {
            (Some(&a), Some(&b)) => (a as f64, b as f64),
            _ => (1.0, 1.0),
        };
        // half a step either side, so that the first and last markers clear the axes
        let x: Range<f64> = (k0 - 0.5)..(k1 + 0.5);
        let y = padded(self.points.iter().filter_map(|p| p.2));
        // room for the widest label: the ends rounded to about a tenth of the range, as the
        // labels are
        let step = super::nice_step((y.end - y.start) / 10.0);
        let widest = [y.start, y.end]
            .iter()
            .map(|v| criterion_tick(&((v / step).round() * step)).chars().count())
            .max()
            .unwrap_or(0) as u32;
        let mut c = ChartBuilder::on(&area)
            .margin(10)
            .margin_right(26)
            .x_label_area_size(50)
            .y_label_area_size(78.max(30 + 10 * widest))
            .build_cartesian_2d(
                KAxis {
                    range: x,
                    keys: self.k_ticks(),
                },
                y.clone(),
            )
            .map_err(err)?;
        let ylabel = format!("{name} (lower is better)");
        c.configure_mesh()
            .x_desc("K (number of components)")
            .y_desc(ylabel.as_str())
            .x_label_formatter(&int_tick)
            .y_label_formatter(&criterion_tick)
            .label_style(("sans-serif", LABEL_FONT))
            .axis_desc_style(("sans-serif", DESC_FONT))
            .light_line_style(RGBColor(235, 235, 235))
            .max_light_lines(2)
            .draw()
            .map_err(err)?;
        if let Some((k, _, _)) = best {
            draw_best_line(&mut c, k as f64, &y)?;
        }
        for &f in &self.families {
            let col = family_color(f);
            for run in self.runs(f) {
                let pts = run.iter().map(|&(k, v)| (k as f64, v));
                if run.len() > 1 {
                    c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))
                        .map_err(err)?;
                }
                c.draw_series(pts.map(|p| Circle::new(p, 5, col.filled())))
                    .map_err(err)?;
            }
        }
        if let Some((k, _, v)) = best {
            c.draw_series(std::iter::once(Circle::new(
                (k as f64, v),
                11,
                BLACK.stroke_width(2),
            )))
            .map_err(err)?;
        }
        Ok(())
    }
}

type KChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<KAxis, RangedCoordf64>>;

/// The dashed vertical line at the best K, the height of the plot (under the data).
fn draw_best_line<DB: DrawingBackend>(c: &mut KChart<DB>, k: f64, y: &Range<f64>) -> Result<()> {
    c.draw_series(DashedLineSeries::new(
        [(k, y.start), (k, y.end)],
        6,
        4,
        BLACK.mix(0.6).stroke_width(1),
    ))
    .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::svg_check::*;
    use crate::plot::Render;
    use CovarianceFamily::*;

    /// Three families over K = 1–5; tied's K = 3 failed; the best is component at K = 4.
    pub(crate) fn curves() -> CriterionCurves {
        let values = [
            (Shared, [420.0, 380.0, 350.0, 345.0, 352.0]),
            (Component, [420.0, 370.0, 330.0, 310.5, 318.0]),
            (Tied, [431.0, 385.0, f64::NAN, 340.0, 349.0]),
        ];
        let mut points = vec![];
        for (f, v) in values {
            for (i, &x) in v.iter().enumerate() {
                points.push((i + 1, f, Some(x).filter(|x| !x.is_nan())));
            }
        }
        CriterionCurves {
            criterion: Criterion::Bic,
            families: vec![Shared, Component, Tied],
            points,
            best: Some((4, Component)),
            title: "BIC of each model".into(),
        }
    }

    #[test]
    fn runs_break_at_a_failed_fit() {
        let c = curves();
        assert_eq!(c.ks(), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            c.runs(Tied),
            vec![vec![(1, 431.0), (2, 385.0)], vec![(4, 340.0), (5, 349.0)]]
        );
        assert_eq!(c.runs(Shared).len(), 1);
        assert_eq!(c.runs(Shared)[0].len(), 5);
        // a family not tried at all has no line
        assert!(c.runs(Full).is_empty());
        assert_eq!(c.k_ticks(), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        // beyond 20 K tried, round steps: K = 1–30 is labelled every 2
        let many = CriterionCurves {
            points: (1..=30).map(|k| (k, Shared, Some(k as f64))).collect(),
            ..curves()
        };
        let t = many.k_ticks();
        assert_eq!((t.len(), t[0], t[14]), (15, 2.0, 30.0));
        assert_eq!(criterion_tick(&1234567.5), "1234567.5");
        assert_eq!(criterion_tick(&1234500.0), "1234500");
        assert_eq!(criterion_tick(&512.25), "512.25");
    }

    #[test]
    fn each_family_is_a_line_through_its_values_with_a_gap_where_a_fit_failed() {
        let c = curves();
        let svg = c.svg().unwrap();
        let area = plot_areas(&svg)[0];
        let ticks = x_ticks(&svg, &area);
        // the K axis is labelled at the integers tried, and only there
        assert_eq!(
            ticks.iter().map(|t| t.0).collect::<Vec<_>>(),
            vec![1.0, 2.0, 3.0, 4.0, 5.0]
        );
        for f in [Shared, Component, Tied] {
            let hex = rgb_hex(family_color(f));
            // the legend names the family with mclust's code
            assert!(
                texts(&svg).iter().any(|t| t.text == family_label(f)),
                "no legend entry '{}'",
                family_label(f)
            );
            let segments: Vec<((f64, f64), (f64, f64))> = polylines(&svg)
                .into_iter()
                .filter(|p| p.stroke == hex && p.points.iter().all(|&q| area.contains(q)))
                .flat_map(|p| {
                    p.points
                        .windows(2)
                        .map(|w| (w[0], w[1]))
                        .collect::<Vec<_>>()
                })
                .collect();
            let ks: Vec<(f64, f64)> = segments
                .iter()
                .map(|(a, b)| (x_value(&ticks, a.0), x_value(&ticks, b.0)))
                .collect();
            let expected: Vec<(f64, f64)> = match f {
                Tied => vec![(1.0, 2.0), (4.0, 5.0)],
                _ => vec![(1.0, 2.0), (2.0, 3.0), (3.0, 4.0), (4.0, 5.0)],
            };
            assert_eq!(ks.len(), expected.len(), "{f:?}: {ks:?}");
            for ((a, b), (ea, eb)) in ks.iter().zip(&expected) {
                assert!(
                    (a - ea).abs() < 0.02 && (b - eb).abs() < 0.02,
                    "{f:?}: {ks:?}"
                );
            }
            // a marker at every value: four for tied, five for the others
            let dots = circles(&svg)
                .into_iter()
                .filter(|(p, r, fill)| *fill == hex && *r == 5.0 && area.contains(*p))
                .count();
            assert_eq!(dots, if f == Tied { 4 } else { 5 }, "{f:?}");
        }
        // lower values are drawn lower: component's K = 4 (310.5) is the lowest marker
        let blue = rgb_hex(family_color(Component));
        let lowest = circles(&svg)
            .into_iter()
            .filter(|(p, r, _)| *r == 5.0 && area.contains(*p))
            .max_by(|a, b| a.0 .1.total_cmp(&b.0 .1))
            .unwrap();
        assert_eq!(lowest.2, blue);
        assert!((x_value(&ticks, lowest.0 .0) - 4.0).abs() < 0.02);
    }

    #[test]
    fn the_best_model_is_ringed_on_a_dashed_line_and_named() {
        let c = curves();
        let svg = c.svg().unwrap();
        assert!(svg.contains("best: component (VII), K = 4"), "label");
        assert!(svg.contains("BIC (lower is better)"));
        assert!(svg.contains("K (number of components)"));
        let area = plot_areas(&svg)[0];
        let ticks = x_ticks(&svg, &area);
        let at = x_pixel(&ticks, 4.0);
        // the ring: an unfilled black circle around component's marker at K = 4
        let blue = rgb_hex(family_color(Component));
        let marker = circles(&svg)
            .into_iter()
            .filter(|(p, r, fill)| *fill == blue && *r == 5.0 && (p.0 - at).abs() < 1.0)
            .map(|c| c.0)
            .next()
            .expect("component's marker at K = 4");
        let rings: Vec<(f64, f64)> = elements(&svg, "circle")
            .into_iter()
            .filter(|(a, _)| {
                a.get("fill").map(String::as_str) == Some("none")
                    && a.get("stroke").map(String::as_str) == Some("#000000")
            })
            .map(|(a, _)| (num(&a, "cx"), num(&a, "cy")))
            .collect();
        assert_eq!(rings.len(), 1, "{rings:?}");
        assert!(
            (rings[0].0 - marker.0).abs() < 1.0 && (rings[0].1 - marker.1).abs() < 1.0,
            "ring at {:?}, marker at {marker:?}",
            rings[0]
        );
        // the dashed line: short vertical dashes at K = 4 over most of the plot's height
        let dashes: Vec<(f64, f64)> = polylines(&svg)
            .into_iter()
            .filter(|p| {
                p.points.len() == 2
                    && p.stroke == "#000000"
                    && p.points
                        .iter()
                        .all(|q| (q.0 - at).abs() < 1.0 && area.contains(*q))
            })
            .map(|p| (p.points[0].1, p.points[1].1))
            .collect();
        assert!(dashes.len() >= 10, "{dashes:?}");
        let (top, bottom) = crate::plot::min_max(dashes.iter().flat_map(|d| [d.0, d.1]));
        assert!(bottom - top > 0.8 * (area.y1 - area.y0), "{top}..{bottom}");
        // without a best model (every fit failed), no ring and no label
        let mut none = curves();
        none.best = None;
        let svg = none.svg().unwrap();
        assert!(!svg.contains("best:"));
        assert!(!elements(&svg, "circle")
            .iter()
            .any(|(a, _)| a.get("fill").map(String::as_str) == Some("none")));
    }

    #[test]
    fn the_legend_covers_no_line() {
        let svg = curves().svg().unwrap();
        assert_legend_clear(&svg, "shared (EII)", 3.0);
    }

    #[test]
    fn the_png_shows_every_family_in_its_colour() {
        let png = curves().png().unwrap();
        let dec = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (1000, 520));
        let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(3).collect();
        for f in [Shared, Component, Tied] {
            let RGBColor(r, g, b) = family_color(f);
            let n = px.iter().filter(|p| **p == [r, g, b]).count();
            assert!(n > 300, "{f:?}: {n} pixels");
        }
    }

    #[test]
    fn large_values_get_ticks_that_differ() {
        // a criterion of a million points: values 2.4e6 apart by a few hundred
        let mut c = curves();
        for p in &mut c.points {
            p.2 = p.2.map(|v| 2_400_000.0 + v);
        }
        let svg = c.svg().unwrap();
        let area = plot_areas(&svg)[0];
        let labels: Vec<String> = y_labels(&svg, &area).into_iter().map(|l| l.0).collect();
        assert!(labels.len() >= 3, "{labels:?}");
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(unique, labels);
        assert!(labels.iter().all(|l| l.starts_with("24")), "{labels:?}");
    }

    fn rgb_hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }
}
