//! Observed data: N points in D dimensions, stored column by column so the density loop
//! streams each dimension contiguously ([`Data`]), or borrowed without a copy, column-major or
//! row-major ([`DataView`]).

use crate::error::{Error, Result};

/// N finite points in D dimensions, column-major (`col(j)[n]` is point n's coordinate j).
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    n: usize,
    cols: Vec<Vec<f64>>,
    /// Number of missing values (NaN; only [`Data::with_missing`] admits them).
    missing: usize,
}

/// The number of points of `columns` (`columns[j][n]`), checked: at least one column, every
/// column of the same non-zero length, every value finite.
fn check_columns<C: AsRef<[f64]> + Sync>(columns: &[C]) -> Result<usize> {
    check_columns_with(columns, false).map(|(n, _)| n)
}

/// [`check_columns`], where a NaN (a missing value) passes if `nan_ok`: the number of points
/// and of NaNs. The columns are checked in parallel, each in one pass; the error is the first
/// column's, as one after the other.
fn check_columns_with<C: AsRef<[f64]> + Sync>(
    columns: &[C],
    nan_ok: bool,
) -> Result<(usize, usize)> {
    use rayon::prelude::*;
    let Some(first) = columns.first() else {
        return Err(Error::Data("data have no columns".into()));
    };
    let n = first.as_ref().len();
    if n == 0 {
        return Err(Error::Data("data have no points".into()));
    }
    let per_column: Vec<Result<usize>> = columns
        .par_iter()
        .enumerate()
        .map(|(j, c)| {
            let c = c.as_ref();
            if c.len() != n {
                return Err(Error::Data(format!(
                    "column {j} has {} values but column 0 has {n}",
                    c.len()
                )));
            }
            let mut nan = 0;
            for (i, &v) in c.iter().enumerate() {
                if v.is_finite() {
                    continue;
                }
                if !(nan_ok && v.is_nan()) {
                    return Err(not_finite(i, j, v));
                }
                nan += 1;
            }
            Ok(nan)
        })
        .collect();
    let mut missing = 0;
    for nan in per_column {
        missing += nan?;
    }
    Ok((n, missing))
}

impl Data {
    /// From columns (`columns[j][n]`). Every column must have the same, non-zero length and
    /// every value must be finite.
    pub fn from_columns(columns: Vec<Vec<f64>>) -> Result<Data> {
        let n = check_columns(&columns)?;
        Ok(Data {
            n,
            cols: columns,
            missing: 0,
        })
    }

    /// From columns (`columns[j][n]`) where NaN marks a missing value (missing at random: a
    /// point's likelihood is the mixture of the marginal densities of its observed
    /// coordinates, and a point with every value missing contributes nothing). Every other
    /// value must be finite.
    pub fn with_missing(columns: Vec<Vec<f64>>) -> Result<Data> {
        let (n, missing) = check_columns_with(&columns, true)?;
        Ok(Data {
            n,
            cols: columns,
            missing,
        })
    }

    /// Number of missing values (NaN).
    pub fn n_missing(&self) -> usize {
        self.missing
    }

    /// Number of missing values of each column.
    pub fn missing_per_column(&self) -> Vec<usize> {
        self.cols
            .iter()
            .map(|c| {
                if self.missing == 0 {
                    0
                } else {
                    c.iter().filter(|v| v.is_nan()).count()
                }
            })
            .collect()
    }

    /// The rows with every value observed, in their order (what dropping incomplete rows
    /// keeps); an error when no row is complete.
    pub fn complete_rows(&self) -> Result<Data> {
        if self.missing == 0 {
            return Ok(self.clone());
        }
        let keep: Vec<usize> = (0..self.n)
            .filter(|&i| self.cols.iter().all(|c| !c[i].is_nan()))
            .collect();
        if keep.is_empty() {
            return Err(Error::Data(format!(
                "every one of the {} points has a missing value: none is left without them",
                self.n
            )));
        }
        Data::from_columns(
            self.cols
                .iter()
                .map(|c| keep.iter().map(|&i| c[i]).collect())
                .collect(),
        )
    }

    /// The first column (0-based) without an observed value, if any (all its values
    /// missing).
    pub fn unobserved_column(&self) -> Option<usize> {
        if self.missing == 0 {
            return None;
        }
        self.cols
            .iter()
            .position(|c| !c.is_empty() && c.iter().all(|v| v.is_nan()))
    }

    /// The observed values of column `j` (the column itself when nothing is missing): what
    /// a column's statistics (mean, spread, resolution) are computed from.
    pub fn observed(&self, j: usize) -> std::borrow::Cow<'_, [f64]> {
        let c = &self.cols[j];
        if self.missing == 0 {
            std::borrow::Cow::Borrowed(c)
        } else {
            std::borrow::Cow::Owned(c.iter().copied().filter(|v| !v.is_nan()).collect())
        }
    }

    /// Each column's [`mean_sd`] of its observed values, the columns in parallel.
    pub fn column_mean_sd(&self) -> Vec<(f64, f64)> {
        use rayon::prelude::*;
        (0..self.d())
            .into_par_iter()
            .map(|j| mean_sd(&self.observed(j)))
            .collect()
    }

    /// The data with each missing value replaced by its column's observed mean (the data
    /// themselves when nothing is missing): points to start a search from or to propose a
    /// move with, never what a likelihood is computed on.
    pub(crate) fn mean_imputed(&self) -> std::borrow::Cow<'_, Data> {
        if self.missing == 0 {
            return std::borrow::Cow::Borrowed(self);
        }
        let cols = (0..self.d())
            .map(|j| {
                let m = mean_var(&self.observed(j)).0;
                self.cols[j]
                    .iter()
                    .map(|v| if v.is_nan() { m } else { *v })
                    .collect()
            })
            .collect();
        std::borrow::Cow::Owned(Data {
            n: self.n,
            cols,
            missing: 0,
        })
    }

    /// Data of these columns, derived from these data (standardised, subsampled): with
    /// missing values where these have them.
    pub(crate) fn derived(&self, cols: Vec<Vec<f64>>) -> Result<Data> {
        if self.missing == 0 {
            Data::from_columns(cols)
        } else {
            Data::with_missing(cols)
        }
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

    /// A borrowed view of all the points (what [`crate::stats::stats`] and the kernel read).
    pub fn view(&self) -> DataView<'_> {
        DataView {
            start: 0,
            n: self.n,
            d: self.cols.len(),
            layout: Layout::Owned(&self.cols),
            missing: self.missing > 0,
        }
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
        std::borrow::Cow::Owned(Data {
            n: self.n,
            cols,
            missing: self.missing,
        })
    }
}

/// The error of a value that is not finite (one wording for every layout).
fn not_finite(i: usize, j: usize, v: f64) -> Error {
    Error::Data(format!("point {i}, column {j}: value {v} is not finite"))
}

/// N finite points in D dimensions, borrowed: the columns of a [`Data`] ([`Data::view`]),
/// column slices ([`DataView::columns`]: an Arrow batch, a Fortran-order array split into its
/// columns), or a row-major array ([`DataView::row_major`]: a C-order numpy array, rows of
/// `stride` values). Nothing is copied; the kernel gathers the rows of a row-major view block by
/// block into its scratch. Every constructor checks what [`Data::from_columns`] checks (N ≥ 1,
/// D ≥ 1, finite values) with the same messages, so a view, once made, is valid.
///
/// ```
/// use bgmm::DataView;
/// // three points in two dimensions, row by row
/// let values = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
/// let v = DataView::row_major(&values, 3, 2).unwrap();
/// assert_eq!((v.n(), v.d(), v.get(2, 1)), (3, 2, 5.0));
/// // the same points column by column
/// let cols: [&[f64]; 2] = [&[0.0, 2.0, 4.0], &[1.0, 3.0, 5.0]];
/// let c = DataView::columns(&cols).unwrap();
/// assert_eq!(c.to_data(), v.to_data());
/// // the rows 1..3 of it, for a partition
/// assert_eq!(v.rows(1..3).get(0, 0), 2.0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DataView<'a> {
    /// The view's first row in the storage.
    start: usize,
    n: usize,
    d: usize,
    layout: Layout<'a>,
    /// Whether some values are missing (NaN): the kernel then looks for incomplete rows.
    missing: bool,
}

#[derive(Debug, Clone, Copy)]
enum Layout<'a> {
    /// A [`Data`]'s columns.
    Owned(&'a [Vec<f64>]),
    /// Borrowed columns.
    Columns(&'a [&'a [f64]]),
    /// Row `i` is `values[i · stride .. i · stride + d]`.
    Rows { values: &'a [f64], stride: usize },
}

impl<'a> DataView<'a> {
    /// A view of column slices (`columns[j][n]`). Every column must have the same, non-zero
    /// length and every value must be finite.
    pub fn columns(columns: &'a [&'a [f64]]) -> Result<DataView<'a>> {
        let n = check_columns(columns)?;
        Ok(DataView {
            start: 0,
            n,
            d: columns.len(),
            layout: Layout::Columns(columns),
            missing: false,
        })
    }

    /// [`DataView::columns`] where a value may be missing (NaN; other values must be finite).
    pub fn columns_with_missing(columns: &'a [&'a [f64]]) -> Result<DataView<'a>> {
        let (n, missing) = check_columns_with(columns, true)?;
        Ok(DataView {
            start: 0,
            n,
            d: columns.len(),
            layout: Layout::Columns(columns),
            missing: missing > 0,
        })
    }

    /// A view of `n` points of `d` coordinates stored row by row (`values[i · d + j]`, a
    /// C-order array of shape (n, d)): `values` must hold exactly `n · d` finite values.
    pub fn row_major(values: &'a [f64], n: usize, d: usize) -> Result<DataView<'a>> {
        if n.checked_mul(d) != Some(values.len()) {
            return Err(Error::Data(format!(
                "row-major data of {n} points and {d} columns need {} values, got {}",
                n.saturating_mul(d),
                values.len()
            )));
        }
        DataView::row_major_strided(values, n, d, d)
    }

    /// A view of `n` points of `d` coordinates, point `i` at `values[i · stride ..][..d]` (an
    /// array whose rows are `stride ≥ d` values apart, as a numpy slice of columns):
    /// `values` must hold at least `(n − 1) · stride + d` values; those of the points must be
    /// finite (the gaps between rows are not read).
    pub fn row_major_strided(
        values: &'a [f64],
        n: usize,
        d: usize,
        stride: usize,
    ) -> Result<DataView<'a>> {
        if d == 0 {
            return Err(Error::Data("data have no columns".into()));
        }
        if n == 0 {
            return Err(Error::Data("data have no points".into()));
        }
        if stride < d {
            return Err(Error::Data(format!(
                "row-major data of {d} columns need a row stride of at least {d}, got {stride}"
            )));
        }
        let need = (n - 1).checked_mul(stride).and_then(|v| v.checked_add(d));
        if need.is_none_or(|need| values.len() < need) {
            return Err(Error::Data(format!(
                "row-major data of {n} points, {d} columns and row stride {stride} need {} values, got {}",
                need.map_or("more than 2^64".to_string(), |v| v.to_string()),
                values.len()
            )));
        }
        for (i, row) in values.chunks(stride).take(n).enumerate() {
            if let Some(j) = row[..d].iter().position(|v| !v.is_finite()) {
                return Err(not_finite(i, j, row[j]));
            }
        }
        Ok(DataView {
            start: 0,
            n,
            d,
            layout: Layout::Rows { values, stride },
            missing: false,
        })
    }

    /// Number of points.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of dimensions.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Whether the points are stored row by row.
    pub fn is_row_major(&self) -> bool {
        matches!(self.layout, Layout::Rows { .. })
    }

    /// Coordinate `j` of point `i`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(
            i < self.n && j < self.d,
            "point {i}, column {j} is outside the view"
        );
        match self.layout {
            Layout::Owned(cols) => cols[j][self.start + i],
            Layout::Columns(cols) => cols[j][self.start + i],
            Layout::Rows { values, stride } => values[(self.start + i) * stride + j],
        }
    }

    /// The points `range` (a partition of the view, without a copy). Panics if the range is
    /// empty or beyond the view's points, as slicing does.
    pub fn rows(&self, range: std::ops::Range<usize>) -> DataView<'a> {
        assert!(
            range.start < range.end && range.end <= self.n,
            "rows {range:?} of a view of {} points",
            self.n
        );
        DataView {
            start: self.start + range.start,
            n: range.len(),
            ..*self
        }
    }

    /// The points copied into an owned [`Data`].
    pub fn to_data(&self) -> Data {
        let cols: Vec<Vec<f64>> = (0..self.d)
            .map(|j| (0..self.n).map(|i| self.get(i, j)).collect())
            .collect();
        let missing = cols
            .iter()
            .map(|c| c.iter().filter(|v| v.is_nan()).count())
            .sum();
        Data {
            n: self.n,
            cols,
            missing,
        }
    }

    /// Whether some values of the data viewed may be missing (NaN).
    #[inline]
    pub(crate) fn has_missing(&self) -> bool {
        self.missing
    }

    /// Each column's values over the view's points, when the columns are contiguous
    /// (column-major, or a single column of contiguous rows); `None` for rows to gather.
    pub(crate) fn column_slices(&self) -> Option<Vec<&'a [f64]>> {
        let (s, e) = (self.start, self.start + self.n);
        match self.layout {
            Layout::Owned(cols) => Some(cols.iter().map(|c| &c[s..e]).collect()),
            Layout::Columns(cols) => Some(cols.iter().map(|c| &c[s..e]).collect()),
            Layout::Rows { values, stride: 1 } => Some(vec![&values[s..e]]),
            Layout::Rows { .. } => None,
        }
    }

    /// The coordinates of the points `start .. start + n` of a row-major view, column `j` into
    /// `buf[j · stride_buf ..][..n]`: the kernel's copy of one block of rows (with
    /// [`DataView::column_slices`], nothing is copied).
    #[inline(always)]
    pub(crate) fn gather(&self, start: usize, n: usize, buf: &mut [f64], stride_buf: usize) {
        let Layout::Rows { values, stride } = self.layout else {
            panic!("gather on a column-major view");
        };
        let d = self.d;
        let rows = &values[(self.start + start) * stride..];
        // dense rows of a few columns: a fixed row length lets the compiler vectorise the
        // transposition
        match (d, stride) {
            (2, 2) => gather_dense::<2>(rows, n, buf, stride_buf),
            (3, 3) => gather_dense::<3>(rows, n, buf, stride_buf),
            (4, 4) => gather_dense::<4>(rows, n, buf, stride_buf),
            (5, 5) => gather_dense::<5>(rows, n, buf, stride_buf),
            (6, 6) => gather_dense::<6>(rows, n, buf, stride_buf),
            (7, 7) => gather_dense::<7>(rows, n, buf, stride_buf),
            (8, 8) => gather_dense::<8>(rows, n, buf, stride_buf),
            _ => {
                for (j, out) in buf.chunks_mut(stride_buf).take(d).enumerate() {
                    let src = rows[j..].iter().step_by(stride);
                    for (o, v) in out[..n].iter_mut().zip(src) {
                        *o = *v;
                    }
                }
            }
        }
    }
}

/// The first `n` rows of `D` values each of `rows`, column `j` into `buf[j · stride_buf ..]`:
/// tiles of 8 rows (an 8 × D transposition of fixed size, which the compiler turns into
/// vector shuffles), then the rows left over.
#[inline(always)]
fn gather_dense<const D: usize>(rows: &[f64], n: usize, buf: &mut [f64], stride_buf: usize) {
    const T: usize = 8;
    let rows = &rows[..n * D];
    let tiles = rows.chunks_exact(T * D);
    let rest = tiles.remainder();
    for (t, tile) in tiles.enumerate() {
        for j in 0..D {
            let out = &mut buf[j * stride_buf + t * T..j * stride_buf + t * T + T];
            for r in 0..T {
                out[r] = tile[r * D + j];
            }
        }
    }
    let done = n / T * T;
    for j in 0..D {
        let out = &mut buf[j * stride_buf + done..j * stride_buf + n];
        for (o, row) in out.iter_mut().zip(rest.chunks_exact(D)) {
            *o = row[j];
        }
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

/// Mean and (population) standard deviation at any scale: where the variance itself leaves
/// the range of f64 (data beyond about ±1e154 overflow in their squares; a spread below about
/// 1e-154 underflows to 0) they are computed on the data divided by their largest magnitude
/// and scaled back. Elsewhere they are exactly [`mean_var`]'s mean and the square root of its
/// variance.
pub fn mean_sd(x: &[f64]) -> (f64, f64) {
    let (m, v) = mean_var(x);
    if m.is_finite() && v.is_finite() && (1e-280..1e280).contains(&v) {
        return (m, v.sqrt());
    }
    let n = x.len() as f64;
    let a = x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    if a == 0.0 || !a.is_finite() {
        return (m, v.sqrt());
    }
    let m = a * (x.iter().map(|v| v / a).sum::<f64>() / n);
    let s = x.iter().fold(0.0f64, |s, v| s.max((v - m).abs()));
    if s == 0.0 || !s.is_finite() {
        return (m, s);
    }
    let sd = s * (x.iter().map(|v| ((v - m) / s).powi(2)).sum::<f64>() / n).sqrt();
    (m, sd)
}

/// Sample standard deviation (divisor N − 1; 0 for one point) at any scale: the square root of
/// [`sample_var`] where that is in the range of f64, else from [`mean_sd`].
pub fn sample_sd(x: &[f64]) -> f64 {
    let v = sample_var(x);
    if v.is_finite() && (1e-280..1e280).contains(&v) || x.len() < 2 {
        return v.sqrt();
    }
    let n = x.len() as f64;
    mean_sd(x).1 * (n / (n - 1.0)).sqrt()
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
