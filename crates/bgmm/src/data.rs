//! Observed data: N points in D dimensions, stored column by column so the density loop
//! streams each dimension contiguously.

use crate::error::{Error, Result};

/// N finite points in D dimensions, column-major (`col(j)[n]` is point n's coordinate j).
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    n: usize,
    cols: Vec<Vec<f64>>,
}

impl Data {
    /// From columns (`columns[j][n]`). Every column must have the same, non-zero length and
    /// every value must be finite.
    pub fn from_columns(columns: Vec<Vec<f64>>) -> Result<Data> {
        if columns.is_empty() {
            return Err(Error::Data("data have no columns".into()));
        }
        let n = columns[0].len();
        if n == 0 {
            return Err(Error::Data("data have no points".into()));
        }
        for (j, c) in columns.iter().enumerate() {
            if c.len() != n {
                return Err(Error::Data(format!(
                    "column {j} has {} values but column 0 has {n}",
                    c.len()
                )));
            }
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(Error::Data(format!(
                    "point {i}, column {j}: value {} is not finite",
                    c[i]
                )));
            }
        }
        Ok(Data { n, cols: columns })
    }

    /// From one-dimensional values.
    pub fn from_1d(values: Vec<f64>) -> Result<Data> {
        Data::from_columns(vec![values])
    }

    /// From rows (`rows[n][j]`).
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Data> {
        let d = rows.first().map_or(0, |r| r.len());
        if let Some(i) = rows.iter().position(|r| r.len() != d) {
            return Err(Error::Data(format!(
                "point {i} has {} coordinates but point 0 has {d}",
                rows[i].len()
            )));
        }
        Data::from_columns(
            (0..d)
                .map(|j| rows.iter().map(|r| r[j]).collect())
                .collect(),
        )
    }

    /// Number of points.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of dimensions.
    pub fn d(&self) -> usize {
        self.cols.len()
    }

    /// Column `j`.
    pub fn col(&self, j: usize) -> &[f64] {
        &self.cols[j]
    }

    /// All columns.
    pub fn columns(&self) -> &[Vec<f64>] {
        &self.cols
    }

    /// Point `i` as a vector.
    pub fn row(&self, i: usize) -> Vec<f64> {
        self.cols.iter().map(|c| c[i]).collect()
    }

    /// The points in a canonical order (rows sorted lexicographically by `f64::total_cmp`):
    /// the same for every ordering of the same points, so that whatever depends on the order
    /// of a sum or of a random pick among the points (the posterior's engines) gives the same
    /// result, bit for bit, however the rows were ordered. Borrowed when already in order.
    pub fn canonical(&self) -> std::borrow::Cow<'_, Data> {
        let cmp = |a: usize, b: usize| {
            self.cols
                .iter()
                .map(|c| c[a].total_cmp(&c[b]))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        if (1..self.n).all(|i| cmp(i - 1, i).is_le()) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut order: Vec<usize> = (0..self.n).collect();
        order.sort_unstable_by(|&a, &b| cmp(a, b));
        let cols = self
            .cols
            .iter()
            .map(|c| order.iter().map(|&i| c[i]).collect())
            .collect();
        std::borrow::Cow::Owned(Data { n: self.n, cols })
    }
}

/// The resolution a column was recorded to, if it was rounded: the step `g·10^−p` of the
/// grid every value lies on, where `p` is the fewest decimal places (at most 12) that hold
/// every value, and `g` the greatest common divisor of the values' differences in units of
/// `10^−p` (taken only with at least 10 distinct values, so that a few values do not make a
/// coarse grid by chance; else `g = 1`). `None` for values with more than 12 decimals (no
/// rounded record), for fewer than two distinct values, and beyond 10^12 units.
pub fn resolution(x: &[f64]) -> Option<f64> {
    const MAX_PLACES: i32 = 12;
    // in units of 10^−p a value is an integer to within its own rounding (a few ulps of
    // |u|) and 1e-6; beyond 1e12 units that rounding is no longer far below a unit
    const EXACT: f64 = 1e12;
    let places = |v: f64| -> Option<i32> {
        (0..=MAX_PLACES).find(|&p| {
            let u = v * 10f64.powi(p);
            u.abs() < EXACT && (u - u.round()).abs() <= 1e-6 + 4.0 * f64::EPSILON * u.abs()
        })
    };
    let mut p = 0;
    for &v in x {
        p = p.max(places(v)?);
    }
    let scale = 10f64.powi(p);
    let mut units: Vec<i64> = Vec::with_capacity(x.len());
    for &v in x {
        let u = (v * scale).round();
        if u.abs() >= EXACT {
            return None;
        }
        units.push(u as i64);
    }
    units.sort_unstable();
    units.dedup();
    if units.len() < 2 {
        return None;
    }
    let gcd = |mut a: i64, mut b: i64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let g = if units.len() >= 10 {
        units.windows(2).fold(0, |g, w| gcd(g, w[1] - w[0]))
    } else {
        1
    };
    Some(g as f64 / scale)
}

/// Mean and (population) variance, by a two-pass algorithm.
pub fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
    (m, v)
}

/// Unbiased sample variance (divisor N − 1), as `torch.var` computes it; 0 for one point.
pub fn sample_var(x: &[f64]) -> f64 {
    let (_, v) = mean_var(x);
    if x.len() > 1 {
        v * x.len() as f64 / (x.len() - 1) as f64
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_finite_and_ragged() {
        assert!(Data::from_1d(vec![]).is_err());
        let e = Data::from_columns(vec![vec![1.0, f64::NAN]]).unwrap_err();
        assert_eq!(e.to_string(), "point 1, column 0: value NaN is not finite");
        assert!(Data::from_columns(vec![vec![1.0], vec![1.0, 2.0]]).is_err());
    }

    #[test]
    fn rows_and_columns_agree() {
        let d = Data::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]).unwrap();
        assert_eq!((d.n(), d.d()), (3, 2));
        assert_eq!(d.col(1), &[2.0, 4.0, 6.0]);
        assert_eq!(d.row(2), vec![5.0, 6.0]);
    }

    #[test]
    fn resolution_of_rounded_and_continuous_columns() {
        // iris petal lengths are recorded to 0.1
        let iris: Vec<f64> = (10..70).map(|i| i as f64 / 10.0).collect();
        assert_eq!(resolution(&iris), Some(0.1));
        // body masses in steps of 25 g (at least 10 distinct values)
        let mass: Vec<f64> = (0..12).map(|i| 3000.0 + 25.0 * (i * i) as f64).collect();
        assert_eq!(resolution(&mass), Some(25.0));
        // a few coarse values do not make a coarse grid
        assert_eq!(resolution(&[0.0, 1.0, 10.0, 11.0, 12.0]), Some(1.0));
        // half-steps off the integers
        let halves: Vec<f64> = (0..20).map(|i| 0.25 + 0.5 * i as f64).collect();
        assert_eq!(resolution(&halves), Some(0.5));
        assert_eq!(resolution(&[0.001, 0.0025, 1.5]), Some(1e-4));
        // continuous values, a constant column
        let cont: Vec<f64> = (1..50).map(|i| (i as f64).sqrt()).collect();
        assert_eq!(resolution(&cont), None);
        assert_eq!(resolution(&[3.5, 3.5, 3.5]), None);
        assert_eq!(resolution(&[1e300, 2e300]), None);
    }

    #[test]
    fn variances() {
        let x = [0.0, 1.0, 10.0, 11.0, 12.0];
        let (m, v) = mean_var(&x);
        assert!((m - 6.8).abs() < 1e-15);
        assert!((v - 26.96).abs() < 1e-12);
        // torch.tensor([0., 1, 10, 11, 12]).var() = 33.7
        assert!((sample_var(&x) - 33.7).abs() < 1e-12);
    }
}
