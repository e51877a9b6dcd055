//! Pictures of a classification of 1-D points (seed 001): the MAP assignment against x, or
//! the random posterior assignment near the boundary, above the assignment probabilities.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    chart, chart_with, color, err, int_tick, legend_above, titled, Axes, Draw, Entry, Mark,
};

pub struct Classification {
    pub x: Vec<f64>,
    pub z: Vec<usize>,
    pub probs: Vec<Vec<f64>>,
    /// Sampled assignments (temperature 1) rather than MAP ones.
    pub sampled: bool,
    /// The legend of each component ("component with mean 0.5" in the seed).
    pub labels: Vec<String>,
    pub name: String,
}

/// The runs of the MAP-assignment line: indices into `order` (the points sorted by x) split
/// wherever two neighbours are further apart than a gap, so that the line is not drawn across
/// an interval holding no data (issue 11). A gap is wider than 2.5 times the median spacing of
/// the distinct values, and than 1 % of their range: an even grid is one run, iris's petal
/// lengths (0.1 apart, nothing between 1.9 and 3.0) break at the hole.
pub fn runs(x: &[f64], order: &[usize]) -> Vec<Vec<usize>> {
    let mut steps: Vec<f64> = order
        .windows(2)
        .map(|w| x[w[1]] - x[w[0]])
        .filter(|d| *d > 0.0)
        .collect();
    steps.sort_by(f64::total_cmp);
    let median = steps.get(steps.len() / 2).copied().unwrap_or(0.0);
    let range = match (order.first(), order.last()) {
        (Some(&a), Some(&b)) => x[b] - x[a],
        _ => 0.0,
    };
    let gap = (2.5 * median).max(0.01 * range);
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut prev: Option<f64> = None;
    for &i in order {
        match prev {
            Some(p) if x[i] - p <= gap => out.last_mut().unwrap_or_else(|| unreachable!()).push(i),
            _ => out.push(vec![i]),
        }
        prev = Some(x[i]);
    }
    out
}

impl Draw for Classification {
    fn size(&self) -> (u32, u32) {
        (1000, 660)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (x, z, probs) = (&self.x, &self.z, &self.probs);
        let k = probs.first().map_or(1, Vec::len);
        let range = super::padded(x.iter().copied());
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        let (top, bottom) = root.split_vertically(280);
        let title = if self.sampled {
            "Random posterior assignment"
        } else {
            "MAP assignment"
        };
        let mut axes = Axes::new((&self.name, "class assignment"));
        axes.y_tick = &int_tick;
        axes.y_ticks = k + 1;
        let mut c = chart_with(&top, title, range.clone(), -0.5..(k as f64 - 0.5), &axes)?;
        if self.sampled {
            // each point in the colour of the component drawn for it
            c.draw_series(
                order
                    .iter()
                    .map(|&i| Cross::new((x[i], z[i] as f64), 4, color(z[i]).stroke_width(1))),
            )
            .map_err(err)?;
        } else {
            let line = color(1);
            for run in runs(x, &order) {
                if run.len() == 1 {
                    // a point alone between gaps: a dot, as a line of one point shows nothing
                    let i = run[0];
                    c.draw_series(std::iter::once(Circle::new(
                        (x[i], z[i] as f64),
                        2,
                        line.filled(),
                    )))
                    .map_err(err)?;
                } else {
                    c.draw_series(LineSeries::new(
                        run.iter().map(|&i| (x[i], z[i] as f64)),
                        line.stroke_width(2),
                    ))
                    .map_err(err)?;
                }
            }
        }
        let legend: Vec<Entry> = (0..k)
            .map(|comp| {
                let label = self
                    .labels
                    .get(comp)
                    .cloned()
                    .unwrap_or_else(|| format!("component {comp}"));
                (Mark::Dot(color(comp)), label)
            })
            .collect();
        let area = legend_above(
            &titled(&bottom, "Mixture assignment probabilities")?,
            &legend,
        )?;
        let mut c = chart(
            &area,
            "",
            range,
            -0.02..1.02,
            (&self.name, "assignment probability"),
        )?;
        for comp in 0..k {
            let col = color(comp);
            c.draw_series(
                order
                    .iter()
                    .map(|&i| Circle::new((x[i], probs[i][comp]), 3, col.filled())),
            )
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
    fn classify_plot_shows_every_point_with_its_probabilities() {
        let z = vec![0, 0, 1, 1, 1];
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
        let mut c = Classification {
            x: vec![0.0, 1.0, 10.0, 11.0, 12.0],
            z,
            probs,
            sampled: false,
            labels: vec![
                "component with mean 0.5".into(),
                "component with mean 11".into(),
            ],
            name: "data value".into(),
        };
        let svg = c.svg().unwrap();
        assert!(svg.contains("MAP assignment") && svg.contains("Mixture assignment probabilities"));
        assert!(svg.contains("component with mean 11"));
        // one probability mark per point and component, plus the two legend marks
        assert_eq!(svg.matches("<circle").count(), 5 * 2 + 2);
        c.sampled = true;
        assert!(c.svg().unwrap().contains("Random posterior assignment"));
    }

    fn two_groups(sampled: bool) -> Classification {
        // iris-like: a cluster at 1.0–1.9, nothing until 3.0, a cluster at 3.0–6.9
        let x: Vec<f64> = (10..=19).chain(30..=69).map(|i| i as f64 / 10.0).collect();
        let z: Vec<usize> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| usize::from(v > 2.5) ^ usize::from(sampled && i % 7 == 3))
            .collect();
        let probs = z
            .iter()
            .map(|&c| {
                if c == 0 {
                    vec![0.9, 0.1]
                } else {
                    vec![0.1, 0.9]
                }
            })
            .collect();
        Classification {
            x,
            z,
            probs,
            sampled,
            labels: vec![
                "component with mean 1.462".into(),
                "component with mean 4.905".into(),
            ],
            name: "petal_length".into(),
        }
    }

    #[test]
    fn sampled_assignments_are_drawn_in_their_components_colours() {
        let c = two_groups(true);
        let svg = c.svg().unwrap();
        // every cross is two strokes in the colour of the component drawn for its point
        for (k, colour) in ["#D62728", "#1F77B4"].iter().enumerate() {
            let n = c.z.iter().filter(|&&z| z == k).count();
            assert!(n > 0);
            let strokes = lines(&svg).iter().filter(|l| l.2 == *colour).count();
            assert_eq!(strokes, 2 * n, "component {k} ({colour})");
        }
    }

    #[test]
    fn map_assignment_line_does_not_cross_a_gap_without_data() {
        let svg = two_groups(false).svg().unwrap();
        // the top chart's line: x from 1.0 to 6.9 in steps of 0.1, but nothing in 1.9–3.0
        let area = *plot_areas(&svg)
            .iter()
            .min_by(|a, b| a.y0.total_cmp(&b.y0))
            .unwrap();
        let ticks = x_ticks(&svg, &area);
        let segments: Vec<(f64, f64)> = lines_in(&svg, &area)
            .iter()
            .chain(
                polylines(&svg)
                    .iter()
                    .filter(|p| p.points.len() == 2 && p.stroke != "#000000"),
            )
            .flat_map(|p| {
                p.points
                    .windows(2)
                    .map(|w| (x_value(&ticks, w[0].0), x_value(&ticks, w[1].0)))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(!segments.is_empty());
        for (a, b) in &segments {
            let (a, b) = (a.min(*b), a.max(*b));
            assert!(
                !(a < 2.0 && b > 2.9),
                "a segment from {a:.2} to {b:.2} spans the gap"
            );
        }
        // and every point is still on the picture: the two runs cover 1.0–1.9 and 3.0–6.9
        let (lo, hi) = crate::plot::min_max(segments.iter().flat_map(|s| [s.0, s.1]));
        assert!(lo < 1.05 && hi > 6.85, "{lo}..{hi}");
    }
}
