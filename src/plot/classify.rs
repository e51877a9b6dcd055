//! Pictures of a classification of 1-D points (seed 001): the MAP assignment against x, or
//! the random posterior assignment near the boundary, above the assignment probabilities.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{chart, chart_with, color, dot_mark, err, int_tick, legend, Axes, Draw};

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

impl Draw for Classification {
    fn size(&self) -> (u32, u32) {
        (1000, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (x, z, probs) = (&self.x, &self.z, &self.probs);
        let k = probs.first().map_or(1, Vec::len);
        let range = super::padded(x.iter().copied());
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        let (top, bottom) = root.split_vertically(260);
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
            c.draw_series(
                order
                    .iter()
                    .map(|&i| Cross::new((x[i], z[i] as f64), 4, color(1).stroke_width(1))),
            )
            .map_err(err)?;
        } else {
            c.draw_series(LineSeries::new(
                order.iter().map(|&i| (x[i], z[i] as f64)),
                color(1).stroke_width(2),
            ))
            .map_err(err)?;
        }
        let mut c = chart(
            &bottom,
            "Mixture assignment probabilities",
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
            .map_err(err)?
            .label(
                self.labels
                    .get(comp)
                    .cloned()
                    .unwrap_or_else(|| format!("component {comp}")),
            )
            .legend(dot_mark(col));
        }
        legend(&mut c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
