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
    fn variances() {
        let x = [0.0, 1.0, 10.0, 11.0, 12.0];
        let (m, v) = mean_var(&x);
        assert!((m - 6.8).abs() < 1e-15);
        assert!((v - 26.96).abs() < 1e-12);
        // torch.tensor([0., 1, 10, 11, 12]).var() = 33.7
        assert!((sample_var(&x) - 33.7).abs() < 1e-12);
    }
}
