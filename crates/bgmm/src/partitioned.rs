//! Data held elsewhere, in partitions (a Dask array's blocks, a Spark DataFrame's
//! partitions): the MAP search as [`crate::fit`] runs it, with every pass over the data done
//! where the data live.
//!
//! A driver implements [`Partitioned`]: a [`DataSummary`] of every partition, merged (one
//! pass: what the search needs to know of each column: its count, mean, spread, range and
//! the grid it was recorded to); the rows it asks for, gathered (the search's evenly spaced
//! subsample); and the merged statistics at a point ([`StatsRequest`]), each partition's
//! computed by [`partition_stats`] where it lives. [`crate::fit_partitioned`] then searches
//! the subsample and polishes on all the data, as [`crate::fit`] does with
//! [`crate::FitOptions::subsample`]: the same subsample, the same search, the same polish,
//! so the same mode, with the polish's sums grouped by partition (rounding only).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::data::{Data, DataView};
use crate::density::{RemoteStats, StatsDensity, Transform};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::stats::SufficientStats;

/// Data in partitions the driver reaches (see the [module](self)). A fit calls it from its
/// thread, one call at a time; [`crate::select_partitioned`] calls it from one thread at a
/// time too, with the requests of all its fits gathered into each pass.
pub trait Partitioned: Sync {
    /// Every partition's [`DataSummary::of`], merged in partition order.
    fn summary(&self) -> Result<DataSummary>;
    /// The points with these indices (ascending; 0-based over the partitions in order),
    /// gathered in that order, with NaN where a value is missing.
    fn rows(&self, idx: &[usize]) -> Result<Data>;
    /// For each ask, every partition's [`partition_stats`] of it, merged in partition order
    /// ([`SufficientStats::merge`]), in the asks' order: all of them in one pass over the
    /// data (a fit asks one at a time; a selection the asks of all its models).
    fn stats(&self, asks: &[Ask<'_>]) -> Result<Vec<SufficientStats>>;
}

/// One model's request, for [`Partitioned::stats`].
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The model the statistics are of (its data's units: before any standardisation).
    pub model: &'a Model,
    /// Where, and what.
    pub request: &'a StatsRequest,
}

/// How the driver standardises the data for the search (the search runs on
/// `(x − shift) / factor` when the data's units are far from 1: see [`crate::FitOptions`]):
/// each partition applies it to its points before their statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Subtracted from each column.
    pub shift: Vec<f64>,
    /// Then every column divided by it.
    pub factor: f64,
}

/// What a partition is asked for at each step of the polish: its statistics at the
/// unconstrained point `x` of the model (standardised by `scaling` when it is there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsRequest {
    /// The unconstrained point (the engines' coordinates, see [`crate::Transform`]).
    pub x: Vec<f64>,
    /// The standardisation of the data and model, if any.
    pub scaling: Option<Scaling>,
    /// With the gradient statistics.
    pub grad: bool,
    /// With the classification entropy ([`SufficientStats::entropy`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub entropy: bool,
}

/// The statistics of one partition's points (`view`, NaN: missing) for `request`, under
/// `model` (the model the driver fits, before any standardisation): what a worker computes.
/// A partition without points gives the empty statistics.
pub fn partition_stats(
    model: &Model,
    request: &StatsRequest,
    view: DataView<'_>,
) -> Result<SufficientStats> {
    crate::stats::check_view(model, &view)?;
    if view.n() == 0 {
        return Ok(SufficientStats::empty(model, request.grad));
    }
    let entropy = |m: &Model, v: &DataView<'_>| {
        let params = Transform::new(m).params(&request.x);
        crate::density::classification_entropy(m, v, &params)
    };
    let mut st;
    match &request.scaling {
        None => {
            st = StatsDensity::new(model, false).stats(&request.x, view, request.grad)?;
            if request.entropy {
                st.entropy = Some(entropy(model, &view));
            }
        }
        Some(s) => {
            if s.shift.len() != model.d || !(s.factor.is_finite() && s.factor > 0.0) {
                return Err(Error::Data(format!(
                    "a scaling of {} shifts and factor {} for data of {} columns",
                    s.shift.len(),
                    s.factor,
                    model.d
                )));
            }
            let std_model = model.standardised(&s.shift, s.factor)?;
            let cols: Vec<Vec<f64>> = (0..model.d)
                .map(|j| {
                    (0..view.n())
                        .map(|i| (view.get(i, j) - s.shift[j]) / s.factor)
                        .collect()
                })
                .collect();
            let data = Data::with_missing(cols)?;
            st = StatsDensity::new(&std_model, false).stats(
                &request.x,
                data.view(),
                request.grad,
            )?;
            if request.entropy {
                // the responsibilities do not change with the standardisation
                st.entropy = Some(entropy(&std_model, &data.view()));
            }
        }
    }
    Ok(st)
}

/// What the search needs to know of one column, mergeable across partitions: the count,
/// mean and sum of squared deviations of its observed values (merged by Chan's formula),
/// their range, and the decimal grid they lie on (for [`crate::Resolution::Auto`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnSummary {
    /// Observed values.
    pub observed: u64,
    /// Missing values.
    pub missing: u64,
    /// Mean of the observed values (0 without any).
    pub mean: f64,
    /// Σ (x − mean)² over the observed values.
    pub m2: f64,
    /// Smallest observed value (+∞ without any).
    pub min: f64,
    /// Largest observed value (−∞ without any).
    pub max: f64,
    /// The grid of the values, `None` when they are not on one (more than 12 decimals).
    pub grid: Option<Grid>,
}

/// The decimal grid a column's values lie on (see [`crate::data::resolution`]): in units of
/// `10^−places`, the smallest value, the greatest common divisor of the values' differences
/// from it, and up to ten distinct values (to tell whether there are ten).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Decimal places.
    pub places: i32,
    /// The smallest value, in units (`None` without values).
    pub min: Option<i64>,
    /// The gcd of the differences from `min`, in units (0 for one distinct value).
    pub gcd: i64,
    /// Up to ten distinct values, in units, ascending.
    pub distinct: Vec<i64>,
}

/// Values at most this large in units of the grid are integers to well within rounding.
const GRID_EXACT: f64 = 1e12;
const GRID_MAX_PLACES: i32 = 12;
/// The grid's gcd counts only with this many distinct values.
const GRID_DISTINCT: usize = 10;

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

impl Grid {
    fn empty() -> Grid {
        Grid {
            places: 0,
            min: None,
            gcd: 0,
            distinct: Vec::new(),
        }
    }

    /// The grid of `x` (finite values), `None` off any.
    fn of(x: &[f64]) -> Option<Grid> {
        let places = |v: f64| -> Option<i32> {
            (0..=GRID_MAX_PLACES).find(|&p| {
                let u = v * 10f64.powi(p);
                u.abs() < GRID_EXACT && (u - u.round()).abs() <= 1e-6 + 4.0 * f64::EPSILON * u.abs()
            })
        };
        let mut p = 0;
        for &v in x {
            p = p.max(places(v)?);
        }
        let scale = 10f64.powi(p);
        let mut units = Vec::with_capacity(x.len());
        for &v in x {
            let u = (v * scale).round();
            if u.abs() >= GRID_EXACT {
                return None;
            }
            units.push(u as i64);
        }
        units.sort_unstable();
        units.dedup();
        let min = units.first().copied();
        let g = units.iter().fold(0, |g, u| gcd(g, u - units[0]));
        units.truncate(GRID_DISTINCT);
        Some(Grid {
            places: p,
            min,
            gcd: g,
            distinct: units,
        })
    }

    /// The grid in `places` ≥ its own (`None` beyond the exact range).
    fn at(&self, places: i32) -> Option<Grid> {
        let f = 10i64.checked_pow((places - self.places) as u32)?;
        let up = |u: i64| -> Option<i64> {
            let v = u.checked_mul(f)?;
            ((v as f64).abs() < GRID_EXACT).then_some(v)
        };
        Some(Grid {
            places,
            min: match self.min {
                Some(m) => Some(up(m)?),
                None => None,
            },
            gcd: self.gcd.checked_mul(f)?,
            distinct: self
                .distinct
                .iter()
                .map(|&u| up(u))
                .collect::<Option<_>>()?,
        })
    }

    fn merge(&self, other: &Grid) -> Option<Grid> {
        let p = self.places.max(other.places);
        let (a, b) = (self.at(p)?, other.at(p)?);
        let (min, g) = match (a.min, b.min) {
            (None, _) => (b.min, b.gcd),
            (_, None) => (a.min, a.gcd),
            (Some(x), Some(y)) => (Some(x.min(y)), gcd(gcd(a.gcd, b.gcd), x - y)),
        };
        let mut distinct = a.distinct;
        distinct.extend(b.distinct);
        distinct.sort_unstable();
        distinct.dedup();
        distinct.truncate(GRID_DISTINCT);
        Some(Grid {
            places: p,
            min,
            gcd: g,
            distinct,
        })
    }

    /// The resolution, as [`crate::data::resolution`] gives it for the same values.
    fn resolution(&self) -> Option<f64> {
        if self.distinct.len() < 2 {
            return None;
        }
        let g = if self.distinct.len() >= GRID_DISTINCT {
            self.gcd
        } else {
            1
        };
        Some(g as f64 / 10f64.powi(self.places))
    }
}

impl ColumnSummary {
    fn of(x: &[f64], missing: u64) -> ColumnSummary {
        let n = x.len();
        let (mean, m2) = if n == 0 {
            (0.0, 0.0)
        } else {
            let m = x.iter().sum::<f64>() / n as f64;
            (m, x.iter().map(|v| (v - m) * (v - m)).sum())
        };
        ColumnSummary {
            observed: n as u64,
            missing,
            mean,
            m2,
            min: x.iter().copied().fold(f64::INFINITY, f64::min),
            max: x.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            grid: if n == 0 {
                Some(Grid::empty())
            } else {
                Grid::of(x)
            },
        }
    }

    fn merge(&mut self, o: &ColumnSummary) {
        let (na, nb) = (self.observed as f64, o.observed as f64);
        if o.observed > 0 {
            if self.observed == 0 {
                self.mean = o.mean;
                self.m2 = o.m2;
            } else {
                let n = na + nb;
                let delta = o.mean - self.mean;
                self.mean += delta * (nb / n);
                self.m2 += o.m2 + delta * delta * (na * nb / n);
            }
        }
        self.observed += o.observed;
        self.missing += o.missing;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.grid = match (&self.grid, &o.grid) {
            (Some(a), Some(b)) => a.merge(b),
            _ => None,
        };
    }

    /// Mean and population standard deviation of the observed values.
    pub fn mean_sd(&self) -> (f64, f64) {
        let n = self.observed.max(1) as f64;
        (self.mean, (self.m2 / n).max(0.0).sqrt())
    }

    /// Sample standard deviation (divisor N − 1), 0 when every value is equal.
    pub fn spread(&self) -> f64 {
        if self.min == self.max || self.observed < 2 {
            0.0
        } else {
            (self.m2 / (self.observed - 1) as f64).max(0.0).sqrt()
        }
    }

    /// The resolution the values were recorded to (see [`crate::Resolution::Auto`]).
    pub fn resolution(&self) -> Option<f64> {
        self.grid.as_ref().and_then(Grid::resolution)
    }
}

/// A summary of the data, mergeable across partitions ([`DataSummary::merge`] in partition
/// order): the number of points and a [`ColumnSummary`] per column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// Points (rows), missing values or not.
    pub n: u64,
    /// Points with at least one observed value (what BIC's `N` counts).
    pub rows_observed: u64,
    /// One summary per column.
    pub columns: Vec<ColumnSummary>,
}

impl DataSummary {
    /// The summary of one partition's points (NaN: missing; other values must be finite).
    pub fn of(view: DataView<'_>) -> Result<DataSummary> {
        let columns = (0..view.d())
            .map(|j| {
                let mut x = Vec::with_capacity(view.n());
                let mut missing = 0;
                for i in 0..view.n() {
                    let v = view.get(i, j);
                    if v.is_nan() {
                        missing += 1;
                    } else if v.is_finite() {
                        x.push(v);
                    } else {
                        return Err(Error::Data(format!(
                            "point {i}, column {j}: value {v} is not finite"
                        )));
                    }
                }
                Ok(ColumnSummary::of(&x, missing))
            })
            .collect::<Result<Vec<_>>>()?;
        // a second look at the rows only where a value is missing
        let rows_observed = if columns.iter().all(|c| c.missing == 0) {
            view.n() as u64
        } else {
            (0..view.n())
                .filter(|&i| (0..view.d()).any(|j| !view.get(i, j).is_nan()))
                .count() as u64
        };
        Ok(DataSummary {
            n: view.n() as u64,
            rows_observed,
            columns,
        })
    }

    /// An error naming the first column without an observed value (every value missing),
    /// which no fit can use.
    pub fn check_observed(&self) -> Result<()> {
        match self.columns.iter().position(|c| c.observed == 0) {
            Some(j) => Err(Error::Data(format!(
                "column {} has no observed value (every value is missing)",
                j + 1
            ))),
            None => Ok(()),
        }
    }

    /// Columns.
    pub fn d(&self) -> usize {
        self.columns.len()
    }

    /// Add another partition's summary (of other points, the same columns).
    pub fn merge(&mut self, other: &DataSummary) -> Result<()> {
        if other.d() != self.d() {
            return Err(Error::Data(format!(
                "cannot merge summaries of {} and {} columns",
                self.d(),
                other.d()
            )));
        }
        self.n += other.n;
        self.rows_observed += other.rows_observed;
        for (a, b) in self.columns.iter_mut().zip(&other.columns) {
            a.merge(b);
        }
        Ok(())
    }

    /// Each column's mean and population standard deviation (what the default model's
    /// priors adapt to: [`crate::ModelSpec::quick_from`]).
    pub fn column_mean_sd(&self) -> Vec<(f64, f64)> {
        self.columns.iter().map(ColumnSummary::mean_sd).collect()
    }

    /// Missing values per column.
    pub fn missing_per_column(&self) -> Vec<u64> {
        self.columns.iter().map(|c| c.missing).collect()
    }
}

/// [`RemoteStats`] on a driver's [`Partitioned`], for `model` (in the data's units; the
/// polish may run on it standardised by `scaling`): its first failure kept, to be returned by
/// the fit (the engines see NaN statistics from then on and stop).
pub(crate) struct Remote<'a> {
    parts: &'a dyn Partitioned,
    model: &'a Model,
    scaling: Option<Scaling>,
    n: usize,
    failed: Mutex<Option<Error>>,
}

impl<'a> Remote<'a> {
    pub(crate) fn new(
        parts: &'a dyn Partitioned,
        model: &'a Model,
        scaling: Option<Scaling>,
        n: usize,
    ) -> Self {
        Remote {
            parts,
            model,
            scaling,
            n,
            failed: Mutex::new(None),
        }
    }

    /// The first failure, if any.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.failed.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn fetch(&self, x: &[f64], grad: bool) -> Result<SufficientStats> {
        let request = StatsRequest {
            x: x.to_vec(),
            scaling: self.scaling.clone(),
            grad,
            entropy: false,
        };
        let st = stats_of(self.parts, self.model, &request)?;
        if st.n != self.n as u64 {
            return Err(Error::Data(format!(
                "the partitions' statistics are of {} points where the data have {}",
                st.n, self.n
            )));
        }
        Ok(st)
    }
}

/// [`crate::FitOptions::weight`] refused: partitioned data are all the data.
pub(crate) fn refuse_weight(weight: Option<f64>) -> Result<()> {
    match weight {
        Some(_) => Err(Error::option(
            "FitOptions",
            "weight",
            "cannot be given for partitioned data (they are all the data)",
        )),
        None => Ok(()),
    }
}

/// The merged statistics of one model's request, checked against its shape.
pub(crate) fn stats_of(
    parts: &dyn Partitioned,
    model: &Model,
    request: &StatsRequest,
) -> Result<SufficientStats> {
    let mut out = parts.stats(&[Ask { model, request }])?;
    if out.len() != 1 {
        return Err(Error::Data(format!(
            "the partitions answered one request with {} statistics",
            out.len()
        )));
    }
    let st = out.remove(0);
    st.check_shape(model.k, model.d, request.grad)?;
    Ok(st)
}

/// Fits run at once on their own threads over the same partitions, sharing the passes: a
/// fit's [`Partitioned::stats`] waits until the fit of every other thread still running has
/// asked too, and one call to the driver answers them all (the `members` threads are counted
/// from the start, each until it [`SharedPasses::leave`]s). Each fit's answers are what it would get alone
/// (every ask is merged in partition order on its own), so each result is the same as alone,
/// bit for bit, however the asks are grouped. The summary and the search's rows are gathered
/// once, before the fits start ([`SharedPasses::new`]).
pub(crate) struct SharedPasses<'a> {
    parts: &'a dyn Partitioned,
    summary: DataSummary,
    gathered: Vec<(Vec<usize>, Data)>,
    state: Mutex<PassState>,
    turn: std::sync::Condvar,
}

#[derive(Default)]
struct PassState {
    /// Fits running.
    live: usize,
    /// Fits waiting for an answer (queued or in the pass under way).
    waiting: usize,
    /// Asks not yet sent: (ticket, model, request).
    queue: Vec<(u64, Model, StatsRequest)>,
    answers: std::collections::HashMap<u64, Result<SufficientStats>>,
    next: u64,
    running: bool,
    passes: usize,
    failure: Option<Error>,
}

impl<'a> SharedPasses<'a> {
    /// Over `parts` (summarised by `summary`), with the rows of each index set of `subsets`
    /// gathered in one call.
    pub(crate) fn new(
        parts: &'a dyn Partitioned,
        summary: DataSummary,
        subsets: &[Vec<usize>],
        members: usize,
    ) -> Result<Self> {
        let mut union: Vec<usize> = subsets.iter().flatten().copied().collect();
        union.sort_unstable();
        union.dedup();
        let mut gathered = Vec::new();
        if !union.is_empty() {
            let all = parts.rows(&union)?;
            if (all.n(), all.d()) != (union.len(), summary.d()) {
                return Err(Error::Data(format!(
                    "the rows gathered are {} × {} where {} × {} were asked for",
                    all.n(),
                    all.d(),
                    union.len(),
                    summary.d()
                )));
            }
            for idx in subsets {
                let at: Vec<usize> = idx
                    .iter()
                    .map(|i| union.binary_search(i).unwrap_or(0))
                    .collect();
                let cols = (0..all.d())
                    .map(|j| at.iter().map(|&a| all.col(j)[a]).collect())
                    .collect();
                gathered.push((idx.clone(), Data::with_missing(cols)?));
            }
        }
        Ok(SharedPasses {
            parts,
            summary,
            gathered,
            state: Mutex::new(PassState {
                live: members,
                ..PassState::default()
            }),
            turn: std::sync::Condvar::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PassState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One of the `members` threads asking through these passes (each running fits one after
    /// another) has ended: later passes do not wait for it.
    pub(crate) fn leave(&self) {
        self.lock().live -= 1;
        self.turn.notify_all();
    }

    /// Passes over the data so far.
    pub(crate) fn passes(&self) -> usize {
        self.lock().passes
    }

    /// The first failure of a pass, if any.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.lock().failure.clone()
    }
}

impl Partitioned for SharedPasses<'_> {
    fn summary(&self) -> Result<DataSummary> {
        Ok(self.summary.clone())
    }

    fn rows(&self, idx: &[usize]) -> Result<Data> {
        match self.gathered.iter().find(|(i, _)| i == idx) {
            Some((_, data)) => Ok(data.clone()),
            None => Err(Error::Data(format!(
                "{} rows asked for that were not gathered before the fits",
                idx.len()
            ))),
        }
    }

    fn stats(&self, asks: &[Ask<'_>]) -> Result<Vec<SufficientStats>> {
        let mut st = self.lock();
        let tickets: Vec<u64> = asks
            .iter()
            .map(|a| {
                st.next += 1;
                let t = st.next;
                st.queue.push((t, a.model.clone(), a.request.clone()));
                t
            })
            .collect();
        st.waiting += 1;
        loop {
            if tickets.iter().all(|t| st.answers.contains_key(t)) {
                return tickets
                    .iter()
                    .map(|t| st.answers.remove(t).unwrap_or_else(|| unreachable!()))
                    .collect();
            }
            if !st.running && !st.queue.is_empty() && st.waiting == st.live {
                // every running fit waits: one pass for all their asks
                st.running = true;
                let batch = std::mem::take(&mut st.queue);
                let fits = st.waiting;
                drop(st);
                let sent: Vec<Ask<'_>> = batch
                    .iter()
                    .map(|(_, model, request)| Ask { model, request })
                    .collect();
                // a panic in the driver's pass must not leave the other fits waiting for ever:
                // their asks fail, and the panic goes on in this thread
                let (out, panic) =
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.parts.stats(&sent)
                    })) {
                        Ok(out) => (out, None),
                        Err(p) => (
                            Err(Error::Numerical(
                                "a pass over the partitions panicked".into(),
                            )),
                            Some(p),
                        ),
                    };
                let out = out.and_then(|out| {
                    if out.len() == batch.len() {
                        Ok(out)
                    } else {
                        Err(Error::Data(format!(
                            "the partitions answered {} requests with {} statistics",
                            batch.len(),
                            out.len()
                        )))
                    }
                });
                st = self.lock();
                st.running = false;
                st.passes += 1;
                // the fits answered (this one among them) stop waiting now: a later pass
                // waits only for the others
                st.waiting -= fits;
                match out {
                    Ok(out) => {
                        for ((t, ..), s) in batch.iter().zip(out) {
                            st.answers.insert(*t, Ok(s));
                        }
                    }
                    Err(e) => {
                        st.failure.get_or_insert(e.clone());
                        for (t, ..) in &batch {
                            st.answers.insert(*t, Err(e.clone()));
                        }
                    }
                }
                self.turn.notify_all();
                if let Some(p) = panic {
                    drop(st);
                    std::panic::resume_unwind(p);
                }
                continue;
            }
            st = self.turn.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl RemoteStats for Remote<'_> {
    fn n(&self) -> usize {
        self.n
    }

    fn stats(&self, x: &[f64], grad: bool) -> SufficientStats {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if failed.is_none() {
            match self.fetch(x, grad) {
                Ok(st) => return st,
                Err(e) => *failed = Some(e),
            }
        }
        let mut st = SufficientStats::empty(self.model, grad);
        st.n = self.n as u64;
        st.loglik = f64::NAN;
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CovarianceFamily, FitOptions, ModelSpec};
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    /// Data in memory cut into partitions (some possibly empty), every result sent as JSON.
    struct Blocks<'a> {
        data: &'a Data,
        cuts: Vec<std::ops::Range<usize>>,
        fail_after: Option<usize>,
        panic_after: Option<usize>,
        /// Passes over the data.
        calls: Mutex<usize>,
        /// Requests answered.
        asked: Mutex<usize>,
    }

    impl<'a> Blocks<'a> {
        fn new(data: &'a Data, cuts: Vec<std::ops::Range<usize>>) -> Self {
            Blocks {
                data,
                cuts,
                fail_after: None,
                panic_after: None,
                calls: Mutex::new(0),
                asked: Mutex::new(0),
            }
        }
    }

    impl Partitioned for Blocks<'_> {
        fn summary(&self) -> Result<DataSummary> {
            let mut total: Option<DataSummary> = None;
            for r in &self.cuts {
                let s = DataSummary::of(self.data.view().rows(r.clone()))?;
                let s: DataSummary = serde_json::from_str(&serde_json::to_string(&s).unwrap())
                    .expect("a summary's JSON");
                match &mut total {
                    None => total = Some(s),
                    Some(t) => t.merge(&s)?,
                }
            }
            Ok(total.expect("a partition"))
        }

        fn rows(&self, idx: &[usize]) -> Result<Data> {
            let cols = (0..self.data.d())
                .map(|j| idx.iter().map(|&i| self.data.col(j)[i]).collect())
                .collect();
            Data::with_missing(cols)
        }

        fn stats(&self, asks: &[Ask<'_>]) -> Result<Vec<SufficientStats>> {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            *self.asked.lock().unwrap() += asks.len();
            if self.fail_after.is_some_and(|f| *calls > f) {
                return Err(Error::Data("worker 3 lost".into()));
            }
            if self.panic_after.is_some_and(|f| *calls > f) {
                panic!("a bug in the driver");
            }
            asks.iter()
                .map(|a| {
                    let request: StatsRequest =
                        serde_json::from_str(&serde_json::to_string(a.request).unwrap()).unwrap();
                    let mut total = SufficientStats::empty(a.model, request.grad);
                    for r in &self.cuts {
                        let st =
                            partition_stats(a.model, &request, self.data.view().rows(r.clone()))?;
                        total.merge(
                            &serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap(),
                        )?;
                    }
                    Ok(total)
                })
                .collect()
        }
    }

    /// Three correlated clusters in 2-D, `n` points, in units `unit` about `centre`, a share
    /// `missing` of the values removed at random.
    fn clusters(n: usize, unit: f64, centre: f64, missing: f64, seed: u64) -> Data {
        let mut rng = chacha20::ChaCha8Rng::seed_from_u64(seed);
        let z = Normal::new(0.0, 1.0).unwrap();
        let u = rand_distr::Uniform::new(0.0, 1.0).unwrap();
        let means = [(0.0, 0.0), (5.0, 1.0), (2.0, 6.0)];
        let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let (mx, my) = means[i % 3];
            let e1: f64 = z.sample(&mut rng);
            let e2: f64 = z.sample(&mut rng);
            let (x, y) = (mx + e1, my + 0.7 * e1 + 0.5 * e2);
            let drop: f64 = u.sample(&mut rng);
            let (x, y) = match drop {
                v if v < missing / 2.0 => (f64::NAN, y),
                v if v < missing => (x, f64::NAN),
                _ => (x, y),
            };
            a.push(centre + unit * x);
            b.push(centre + unit * y);
        }
        Data::with_missing(vec![a, b]).unwrap()
    }

    #[test]
    fn partitioned_fit_equals_the_fit_in_memory() {
        let opts = FitOptions {
            subsample: 300,
            restarts: 20,
            candidates: 4,
            ..FitOptions::default()
        };
        for (unit, centre, missing) in [(1.0, 0.0, 0.0), (1.0, 0.0, 0.05), (1e4, 1e7, 0.03)] {
            let data = clusters(4000, unit, centre, missing, 7);
            for family in [
                CovarianceFamily::Diagonal,
                CovarianceFamily::Full,
                CovarianceFamily::Tied,
            ] {
                let model = ModelSpec::quick(3, family, &data).build(Some(2)).unwrap();
                let local = crate::fit(&model, &data, &opts).unwrap();
                assert_eq!(local.history.subsample, Some(600));
                // the loss in the data's units, standardised or not: the observed values'
                // densities and the scales (not the correlations) carry the units
                let lj = crate::log_joint(&model, &data, &local.params);
                assert!(
                    (local.loss + lj).abs() <= 1e-9 * lj.abs(),
                    "{family:?}, unit {unit}"
                );
                for cuts in [
                    std::iter::once(0..4000).collect::<Vec<_>>(),
                    vec![0..1, 1..1500, 1500..2999, 2999..4000],
                ] {
                    let parts = Blocks::new(&data, cuts);
                    let f = crate::fit_partitioned(&model, &parts, &opts).unwrap();
                    let what = format!("{family:?}, unit {unit}, missing {missing}");
                    assert!(
                        (f.loss - local.loss).abs() <= 1e-9 * local.loss.abs(),
                        "{what}: {} vs {}",
                        f.loss,
                        local.loss
                    );
                    assert!(f.converged, "{what}");
                    for (a, b) in f.params.locs.iter().zip(&local.params.locs) {
                        assert!((a - b).abs() <= 1e-5 * unit, "{what}: locs {a} vs {b}");
                    }
                    // the loss is the model's at the parameters (in the data's own units)
                    let lj = crate::log_joint(&model, &data, &f.params);
                    assert!(
                        (f.loss + lj).abs() <= 1e-9 * lj.abs(),
                        "{what}: {} vs {lj}",
                        f.loss
                    );
                    assert!(*parts.calls.lock().unwrap() > 0);
                }
            }
        }
    }

    #[test]
    fn a_failed_partition_is_the_fits_error() {
        let data = clusters(4000, 1.0, 0.0, 0.0, 3);
        let model = ModelSpec::quick(3, CovarianceFamily::Diagonal, &data)
            .build(Some(2))
            .unwrap();
        let opts = FitOptions {
            subsample: 300,
            restarts: 10,
            ..FitOptions::default()
        };
        let parts = Blocks {
            fail_after: Some(2),
            ..Blocks::new(&data, vec![0..2000, 2000..4000])
        };
        let e = crate::fit_partitioned(&model, &parts, &opts).unwrap_err();
        assert_eq!(e.to_string(), "worker 3 lost");
        let no_sub = FitOptions {
            subsample: 0,
            ..opts.clone()
        };
        let e = crate::fit_partitioned(&model, &parts, &no_sub).unwrap_err();
        assert!(e.to_string().contains("subsample"), "{e}");
        // small data are gathered and fitted as in memory
        let head = Data::from_columns(vec![
            data.col(0)[..1200].to_vec(),
            data.col(1)[..1200].to_vec(),
        ])
        .unwrap();
        let small = Blocks::new(&head, vec![0..1000, 1000..1200]);
        let f = crate::fit_partitioned(&model, &small, &opts).unwrap();
        let local = crate::fit(&model, small.data, &opts).unwrap();
        assert_eq!(f.loss, local.loss);
    }

    /// Every number of a selection's row that the criteria rank by.
    fn numbers(r: &crate::SelectRow) -> [Option<f64>; 4] {
        [r.loglik, r.bic, r.icl, r.aic]
    }

    #[test]
    fn partitioned_selection_equals_the_selection_in_memory() {
        let opts = crate::SelectOptions {
            ks: vec![1, 2, 3, 4],
            families: vec![
                CovarianceFamily::Shared,
                CovarianceFamily::Diagonal,
                CovarianceFamily::Full,
            ],
            criterion: crate::Criterion::Icl,
            fit: FitOptions {
                subsample: 300,
                restarts: 12,
                candidates: 4,
                ..FitOptions::default()
            },
            ..crate::SelectOptions::default()
        };
        for (unit, missing) in [(1.0, 0.04), (1e4, 0.0)] {
            let data = clusters(4200, unit, 3.0 * unit, missing, 11);
            let local = crate::select(&data, &opts).unwrap();
            let mut bits = None;
            for cuts in [
                std::iter::once(0..4200).collect::<Vec<_>>(),
                vec![0..7, 7..2100, 2100..4000, 4000..4200],
                vec![0..7, 7..2100, 2100..4000, 4000..4200],
            ] {
                let parts = Blocks::new(&data, cuts.clone());
                let sel = crate::select_partitioned(&parts, &opts).unwrap();
                let what = format!("unit {unit}, missing {missing}, {} partitions", cuts.len());
                assert_eq!(sel.n, local.n, "{what}");
                assert_eq!(sel.rows.len(), 12);
                for (a, b) in sel.rows.iter().zip(&local.rows) {
                    assert_eq!((a.k, a.covariance, a.status), (b.k, b.covariance, b.status));
                    assert_eq!(a.n_params, b.n_params);
                    // to the polish's tolerance: a flat direction of an overfitted model
                    // (VVV,4 of three clusters) may end 2e-9 apart on another partitioning
                    for (x, y) in numbers(a).iter().zip(numbers(b)) {
                        let (x, y) = (x.expect("a criterion"), y.expect("a criterion"));
                        assert!(
                            (x - y).abs() <= 1e-8 * y.abs(),
                            "{what}, {}: {x} vs {y}",
                            a.code()
                        );
                    }
                }
                assert_eq!(sel.ranked(), local.ranked(), "{what}");
                // one pass per step of the longest polish, not one per step of every fit
                let passes = sel.passes.expect("passes counted");
                let asked = *parts.asked.lock().unwrap();
                assert_eq!(passes, *parts.calls.lock().unwrap());
                // each pass answers every fit still running: as many passes as the longest
                // fit asks for alone, its criteria's pass included
                let alone: Vec<usize> = sel
                    .rows
                    .iter()
                    .map(|r| {
                        let parts = Blocks::new(&data, cuts.clone());
                        let model = r.model.build(Some(2)).unwrap();
                        let f = crate::fit_partitioned(&model, &parts, &opts.fit).unwrap();
                        assert_eq!(Some(&f), r.fit.as_ref(), "{what}: {} alone", r.code());
                        let calls = *parts.calls.lock().unwrap();
                        calls + usize::from(r.status == crate::RowStatus::Ok)
                    })
                    .collect();
                assert_eq!(asked, alone.iter().sum::<usize>(), "{what}");
                assert_eq!(passes, *alone.iter().max().unwrap(), "{what}");
                assert!(passes < asked, "{what}: {passes} passes, {asked} requests");
                if cuts.len() == 4 {
                    let json = serde_json::to_string(&sel.rows).unwrap();
                    match &bits {
                        None => bits = Some(json),
                        Some(b) => assert_eq!(b, &json, "{what}: the same bits twice"),
                    }
                }
            }
        }
    }

    #[test]
    fn partitioned_selection_errors_and_small_data() {
        let data = clusters(4000, 1.0, 0.0, 0.0, 5);
        let opts = crate::SelectOptions {
            ks: vec![1, 2],
            families: vec![CovarianceFamily::Diagonal],
            fit: FitOptions {
                subsample: 300,
                restarts: 8,
                ..FitOptions::default()
            },
            ..crate::SelectOptions::default()
        };
        let loo = crate::SelectOptions {
            criterion: crate::Criterion::Loo,
            ..opts.clone()
        };
        let parts = Blocks::new(&data, vec![0..2000, 2000..4000]);
        let e = crate::select_partitioned(&parts, &loo).unwrap_err();
        assert!(e.to_string().contains("criterion"), "{e}");
        let failing = Blocks {
            fail_after: Some(3),
            ..Blocks::new(&data, vec![0..2000, 2000..4000])
        };
        let e = crate::select_partitioned(&failing, &opts).unwrap_err();
        assert_eq!(e.to_string(), "worker 3 lost");
        // a panic in a pass ends the selection (no fit is left waiting for an answer)
        let panicking = Blocks {
            panic_after: Some(3),
            ..Blocks::new(&data, vec![0..2000, 2000..4000])
        };
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::select_partitioned(&panicking, &opts)
        }));
        assert!(out.is_err());
        // K = 8 needs a search on 1600 points: 4000 < 5 × 1600, so gathered and selected
        // in memory, the same bits as in memory
        let big_k = crate::SelectOptions {
            ks: vec![1, 8],
            ..opts.clone()
        };
        let sel = crate::select_partitioned(&parts, &big_k).unwrap();
        let local = crate::select(&data, &big_k).unwrap();
        assert_eq!(sel.passes, None);
        assert_eq!(
            serde_json::to_string(&sel).unwrap(),
            serde_json::to_string(&local).unwrap()
        );
    }

    #[test]
    fn grid_merges_to_the_whole_columns_resolution() {
        // iris-like lengths to 0.1 next to masses in steps of 25 and continuous values
        let cases: Vec<Vec<f64>> = vec![
            (10..70).map(|i| i as f64 / 10.0).collect(),
            (0..12).map(|i| 3000.0 + 25.0 * (i * i) as f64).collect(),
            (0..40).map(|i| (i as f64 * 0.37).sin()).collect(),
            vec![1.0, 2.0, 2.5, 3.0],
            vec![5.0; 20],
            (0..30)
                .map(|i| i as f64 * 0.25 + if i > 20 { 0.005 } else { 0.0 })
                .collect(),
        ];
        for x in cases {
            let whole = crate::data::resolution(&x);
            for cut in [1, 3, x.len() / 2, x.len() - 1] {
                let mut a = ColumnSummary::of(&x[..cut], 0);
                a.merge(&ColumnSummary::of(&x[cut..], 0));
                assert_eq!(a.resolution(), whole, "{x:?} cut at {cut}");
                let (m, v) = crate::data::mean_var(&x);
                let (mm, sd) = a.mean_sd();
                assert!((mm - m).abs() <= 1e-13 * m.abs().max(1.0));
                assert!((sd * sd - v).abs() <= 1e-12 * v.max(1e-300));
            }
        }
    }
}
