//! MAP estimation with the assignments summed out exactly: R initial points screened by their
//! loss (as Pyro's tutorial), the best few optimised by Adam (Pyro's `AutoDelta` + `SVI`) and
//! an L-BFGS polish until the gradient vanishes, so each answer is a mode itself; the lowest
//! proper mode wins. The default search ([`Init::Auto`]) takes its starts from Pyro's init and
//! k-means++, tries split and merge moves ([`crate::moves`]) from the best modes, and repeats
//! on fresh starts until the best mode has been reached from two of them.
//!
//! A proper mode keeps clear of two edges: a component emptied where a Dirichlet
//! concentration below 1 makes the density unbounded (the search stops short of it, so that a
//! polish stays in its basin), and a component narrower than the resolution the data were
//! recorded to ([`Resolution`]: it sits on tied values). Modes with either are set aside, with
//! a warning, for the best mode without; where every mode found has one, [`fit`] says so.
//!
//! Where the MAP does not exist: with a scale prior whose density does not vanish fast enough
//! at 0 (half-Cauchy, half-Normal, exponential, gamma with a small shape; see
//! [`Model::map_may_not_exist`]) a component can sit on a data point with its scale → 0 and
//! the posterior density grows without bound. Candidates that collapse so are passed over for
//! any proper mode, which is then returned with a warning that it is a local one; if every
//! candidate collapses, [`fit`] returns [`Error::Unbounded`], naming the component, the point,
//! the prior and the remedy, instead of a degenerate point. A collapse the prior keeps bounded
//! (lognormal, inverse gamma) is a mode like any other, with a warning.
//!
//! The loss is `−log p(x, θ)` on the constrained space (Pyro's `TraceEnum_ELBO` loss with an
//! `AutoDelta` guide), optimised over the unconstrained coordinates of [`Transform`].

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Data;
use crate::density::{LogDensity, MixtureDensity, Transform};
use crate::error::{Error, Result};
use crate::init::{initial_point, Init};
use crate::limits::{at_most, MAX_CANDIDATES, MAX_RESTARTS, MAX_STEPS};
use crate::model::{Model, ScalePrior};
use crate::optim::{lbfgs, Adam, LbfgsOptions};
use crate::options::{check, Callback, Checked};
use crate::params::Params;

/// Options of [`crate::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Number of initial points screened by their initial loss (Pyro's tutorial: 100); with
    /// [`Init::Auto`], Pyro's starts per batch, and a fifth as many k-means++ ones.
    pub restarts: usize,
    /// How initial points are drawn, and whether split and merge moves follow.
    pub init: Init,
    /// The best `candidates` restarts by initial loss are optimised fully and the lowest final
    /// loss wins (Pyro's tutorial optimises only the best one: `candidates = 1` with
    /// [`Init::Pyro`]); with [`Init::Auto`], half from each kind of start.
    pub candidates: usize,
    /// Adam steps from the best initial point.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Adam betas.
    pub betas: (f64, f64),
    /// Polish with L-BFGS after Adam until the gradient is below `grad_tol`.
    pub polish: bool,
    /// Convergence: max-abs gradient of the loss ≤ `grad_tol · max(1, |loss|)`.
    pub grad_tol: f64,
    /// At most this many L-BFGS iterations.
    pub max_polish_iter: usize,
    /// Seed of the initial points.
    pub seed: u64,
    /// With at least 5·m points, m = max(`subsample`, 200·K), the restarts and candidates run
    /// on m evenly spaced points (their likelihood weighted by N/m) and only the final L-BFGS
    /// polish on all the data; 0: always all the data.
    pub subsample: usize,
    /// The resolution the data were recorded to: a mode with a component narrower than
    /// it (a standard deviation below `resolution/√12`, the spread of rounding itself) is
    /// set aside as a collapse on tied values.
    pub resolution: Resolution,
    /// The likelihood's weight: `Some(w)` when `data` is a sample standing for `w` times as
    /// many points (the search then runs on the data as given: no further subsampling, no
    /// standardising); `None`: the data are all the data.
    pub weight: Option<f64>,
    /// Called as restarts are screened and candidates optimised (from worker threads).
    pub progress: Option<Callback<FitProgress>>,
}

/// The resolution each column was recorded to (see [`FitOptions::resolution`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Resolution {
    /// Detected from the data (the smallest step between its distinct values, per column).
    #[default]
    Auto,
    /// None: every mode counts, however narrow its components.
    Off,
    /// One value per column, or one for every column (0: none).
    Given(Vec<f64>),
}

impl Resolution {
    /// The resolution of each column of `data`, 0 where there is none; given values must be
    /// one for every column or one per column (and pass [`FitOptions::validate`]).
    pub fn per_column(&self, data: &Data) -> Result<Vec<f64>> {
        Ok(match self {
            Resolution::Off => vec![0.0; data.d()],
            Resolution::Auto => (0..data.d())
                .map(|j| crate::data::resolution(&data.observed(j)).unwrap_or(0.0))
                .collect(),
            Resolution::Given(r) => {
                if r.len() != data.d() && r.len() != 1 {
                    return Err(Error::option(
                        "FitOptions",
                        "resolution",
                        format!(
                            "has {} value{} but the data have {} column{}",
                            r.len(),
                            if r.len() == 1 { "" } else { "s" },
                            data.d(),
                            if data.d() == 1 { "" } else { "s" }
                        ),
                    ));
                }
                if r.len() == 1 {
                    vec![r[0]; data.d()]
                } else {
                    r.clone()
                }
            }
        })
    }
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            restarts: 100,
            init: Init::Auto,
            candidates: 10,
            steps: 200,
            lr: 0.1,
            betas: (0.8, 0.99),
            polish: true,
            grad_tol: 1e-9,
            max_polish_iter: 2000,
            seed: 0,
            subsample: 5_000,
            resolution: Resolution::Auto,
            weight: None,
            progress: None,
        }
    }
}

impl FitOptions {
    /// Check every field: the options a MAP search takes. An invalid field is an
    /// [`Error::InvalidOption`] naming it (`restarts`, `candidates`, `lr`, `betas`, `grad_tol`,
    /// `resolution`, `weight`).
    pub fn validate(&self) -> Result<Checked<FitOptions>> {
        let bad = |option, message: Option<String>| match message {
            Some(m) => Err(Error::option("FitOptions", option, m)),
            None => Ok(()),
        };
        bad("restarts", check::at_least_one(self.restarts as u64))?;
        bad(
            "restarts",
            at_most(self.restarts as u64, MAX_RESTARTS as u64),
        )?;
        bad("candidates", check::at_least_one(self.candidates as u64))?;
        bad(
            "candidates",
            at_most(self.candidates as u64, MAX_CANDIDATES as u64),
        )?;
        bad("steps", at_most(self.steps as u64, MAX_STEPS as u64))?;
        bad("lr", check::positive_finite(self.lr))?;
        bad("betas", check::betas(self.betas))?;
        if !(self.grad_tol.is_finite() && self.grad_tol > 0.0) {
            bad(
                "grad_tol",
                Some(format!("must be positive, got {}", self.grad_tol)),
            )?;
        }
        if let Resolution::Given(r) = &self.resolution {
            if let Some(v) = r.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                bad(
                    "resolution",
                    Some(format!("must be finite and at least 0, got {v}")),
                )?;
            }
        }
        if let Some(w) = self.weight {
            bad("weight", check::positive_finite(w))?;
        }
        Ok(Checked::new(self.clone()))
    }
}

/// Optimisation history, as the seeds record it. Serde: a value that is not finite (a restart
/// whose start has no finite loss) is written as `"NaN"`, `"inf"` or `"-inf"`, never as the
/// `null` serde_json would write (no reader of a number takes it back); read back, `null`
/// (files written before) is NaN.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    /// Loss at each Adam step (before the update, as `svi.step` returns it).
    #[serde(with = "crate::options::float::vec")]
    pub loss: Vec<f64>,
    /// Norm of the loss gradient per site (`weights`, `locs`, `scale`) on the unconstrained
    /// space at each Adam step (the tutorial's gradient-norm hooks).
    #[serde(with = "crate::options::float::map")]
    pub grad_norm: BTreeMap<String, Vec<f64>>,
    /// Loss after each L-BFGS iteration of the polish (its start first).
    #[serde(with = "crate::options::float::vec")]
    pub polish_loss: Vec<f64>,
    /// Initial loss of every restart, in restart order.
    #[serde(with = "crate::options::float::vec")]
    pub restart_loss: Vec<f64>,
    /// (restart, final loss) of every fully optimised candidate, best initial loss first.
    #[serde(default, with = "crate::options::float::pairs")]
    pub candidate_loss: Vec<(usize, f64)>,
    /// The search ran on this many evenly spaced points (losses above scaled to all of them);
    /// `polish_loss` ends with the polish on all the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsample: Option<usize>,
}

/// A MAP fit. Serde: `loss` and `grad_norm`, if not finite, are written as `"NaN"`, `"inf"`,
/// `"-inf"`; the [`History`] as the CLI's records hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// The mode.
    pub params: Params,
    /// `−log p(x, θ)` at the mode.
    #[serde(with = "crate::options::float")]
    pub loss: f64,
    /// The gradient test passed at the end, on every coordinate not pinned by rounding (a
    /// location whose optimum lies between two adjacent floats, as for a component sitting
    /// on identical points with a scale near the spacing of floats there; `message` says so).
    pub converged: bool,
    /// Max-abs gradient of the loss on the unconstrained space at the end.
    #[serde(with = "crate::options::float")]
    pub grad_norm: f64,
    /// Which restart won (index into `history.restart_loss`): the candidate with the lowest
    /// final loss among proper modes.
    pub best_restart: usize,
    /// Initial point of the winning restart.
    pub init_params: Params,
    /// Adam steps taken.
    pub steps: usize,
    /// L-BFGS iterations of the polish.
    pub polish_iterations: usize,
    /// Why the polish stopped.
    pub message: String,
    /// Loss and gradient histories.
    pub history: History,
    /// Warnings about the mode: an empty component, a component sitting on a single point
    /// (where the prior keeps the density bounded), a local mode of a density that is
    /// unbounded elsewhere (so that no MAP exists), modes set aside.
    pub warnings: Vec<String>,
    /// The resolution each column was taken to be recorded to (0: none), from
    /// [`FitOptions::resolution`].
    pub resolution: Vec<f64>,
    /// How the winner was found: its start's kind and number, then the split and merge
    /// moves that improved on it (`pyro start #6, then merge 0+2, split 1`).
    pub strategy: String,
    /// Set when every mode the search found has a component alone on one data point, its
    /// scale held from 0 by the prior (a spike whose likelihood no sensible component
    /// matches): which component and point. Model selection leaves such a fit out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike: Option<String>,
}

fn site_norms(model: &Model, g: &[f64]) -> [f64; 3] {
    let (k, d) = (model.k, model.d);
    // scaled by the largest entry, so that a gradient near f64::MAX (an extreme prior) does
    // not overflow in its squares, nor one near the smallest float underflow
    let n = |s: &[f64]| {
        let m = s.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if m == 0.0 || !m.is_finite() {
            return m;
        }
        m * s.iter().map(|v| (v / m) * (v / m)).sum::<f64>().sqrt()
    };
    [
        n(&g[..k - 1]),
        n(&g[k - 1..k - 1 + k * d]),
        n(&g[k - 1 + k * d..]),
    ]
}

/// Where a fit is: `stage` ("restarts", "candidates", "polish on all the data"), `done` of
/// `total` units of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitProgress {
    /// The stage.
    pub stage: &'static str,
    /// Units done.
    pub done: usize,
    /// Units in the stage.
    pub total: usize,
}

/// Fit the MAP of `model` to `data` with checked options: the MAP engine behind
/// [`crate::fit`]. With [`FitOptions::weight`] the likelihood is weighted (the data a sample
/// standing for more points); [`FitOptions::progress`] is told how the search goes.
/// [`Error::Unbounded`] when every candidate ends with a component collapsed on a point where
/// the density is unbounded (the MAP does not exist).
pub fn run(model: &Model, data: &Data, opts: &Checked<FitOptions>) -> Result<Fit> {
    let report = |p: FitProgress| {
        if let Some(cb) = &opts.progress {
            cb.call(p)
        }
    };
    run_with(model, data, opts, &report)
}

/// [`run`] with the progress callback given apart (borrowed, not carried in the options).
fn run_with(
    model: &Model,
    data: &Data,
    opts: &Checked<FitOptions>,
    progress: &(dyn Fn(FitProgress) + Sync),
) -> Result<Fit> {
    check_data(model, data)?;
    let resolution = opts.resolution.per_column(data)?;
    match opts.weight {
        // a weighted sample is searched as given: no further subsampling, no standardising
        Some(weight) => {
            let f = search(model, data, weight, opts, progress, &resolution)?;
            finish(model, data, weight, f, opts)
        }
        None => {
            let f = search_end(model, data, opts, progress, resolution)?;
            finish(model, data, 1.0, f, opts)
        }
    }
}

/// The MAP search's end point for engines that only need a reference point (the sampler's
/// start and the labelling of its draws), also where the MAP does not exist: the fit as [`fit`]
/// returns it and `None`, or, where [`fit`] would fail because every candidate collapsed a
/// component on a point, that degenerate end point and why (no place to start a chain). Where
/// the collapse is not integrable either, so that the posterior itself is improper, it is an
/// [`Error::Unbounded`] that says so.
pub(crate) fn reference_point(
    model: &Model,
    data: &Data,
    opts: &Checked<FitOptions>,
) -> Result<(Fit, Option<String>)> {
    check_data(model, data)?;
    let resolution = opts.resolution.per_column(data)?;
    let f = search_end(model, data, opts, &|_| {}, resolution)?;
    let dg = diagnose(
        model,
        data,
        1.0,
        &f.params,
        f.loss,
        &spreads(data),
        &f.resolution,
    );
    match (dg.tier, &dg.error) {
        (Tier::Degenerate, Some(Error::Unbounded(why))) if !dg.improper => {
            let why = why.clone();
            Ok((f, Some(why)))
        }
        (Tier::Degenerate, Some(Error::Unbounded(why))) => Err(Error::Unbounded(format!(
            "{why}; the posterior is improper there too (its mass near the collapse is infinite), so it cannot be sampled either"
        ))),
        // a component on tied values is a fine place for a chain to start
        (Tier::Unresolved, _) => {
            let mut f = f;
            f.warnings.extend(dg.unresolved);
            Ok((f, None))
        }
        _ => finish_diagnosed(model, data, 1.0, f, dg, opts).map(|f| (f, None)),
    }
}

/// The MAP search's end point on all of `data` (checked against the model, its resolution
/// per column given); badly scaled data are searched standardised and mapped back.
fn search_end(
    model: &Model,
    data: &Data,
    opts: &Checked<FitOptions>,
    progress: &(dyn Fn(FitProgress) + Sync),
    resolution: Vec<f64>,
) -> Result<Fit> {
    match badly_scaled(data) {
        Some((shift, c)) => fit_standardised(model, data, opts, progress, &shift, c, &resolution),
        None => fit_scaled_well(model, data, opts, progress, &resolution),
    }
}

/// Data whose spread is far from 1 or whose centre is far from 0 relative to its spread: the
/// optimisers' steps and tolerances are in absolute units of the unconstrained space, so such
/// data are fitted standardised. Returns the per-dimension shift (the means) and one common
/// factor (the geometric mean of the standard deviations; one factor, as a shared scale spans
/// every dimension).
///
/// Columns without spread (all values equal) carry no unit: they do not set the factor (1
/// when no column has any spread), and data with such a column are always shifted, so that
/// the column is 0 (or as near as its mean rounds to), where a location can match it to far
/// more digits than at the column's own magnitude.
pub(crate) fn badly_scaled(data: &Data) -> Option<(Vec<f64>, f64)> {
    let cols = (0..data.d())
        .map(|j| {
            let col = &*data.observed(j);
            let (m, v) = if column_spread(col) == 0.0 {
                (col[0], 0.0)
            } else {
                crate::data::mean_var(col)
            };
            // the variance of data beyond ±1e154 overflows, one of a spread below 1e-154
            // underflows: their mean and spread then come scaled ([`crate::data::mean_sd`])
            if v == 0.0 && column_spread(col) == 0.0 {
                (m, None)
            } else if m.is_finite() && v.is_finite() && (1e-280..1e280).contains(&v) {
                (m, Some(0.5 * v.ln()))
            } else {
                let (m, sd) = crate::data::mean_sd(col);
                (m, (sd > 0.0).then(|| sd.ln()))
            }
        })
        .collect::<Vec<_>>();
    scaling_of(&cols)
}

/// [`badly_scaled`] from each column's mean and log standard deviation (`None` for a column
/// without spread, whose "mean" is its value).
fn scaling_of(cols: &[(f64, Option<f64>)]) -> Option<(Vec<f64>, f64)> {
    let mut shift = Vec::with_capacity(cols.len());
    let (mut log_sd, mut spread_cols) = (0.0, 0usize);
    for &(m, ln_sd) in cols {
        shift.push(m);
        if let Some(l) = ln_sd {
            log_sd += l;
            spread_cols += 1;
        }
    }
    let c = if spread_cols > 0 {
        (log_sd / spread_cols as f64).exp()
    } else {
        1.0
    };
    let far = shift.iter().any(|m| m.abs() > 1e3 * c);
    let constant = spread_cols < cols.len();
    if !(c.is_finite() && c > 0.0) || (!far && !constant && (1e-3..=1e3).contains(&c)) {
        return None;
    }
    Some((shift, c))
}

/// [`fit`] of data standardised by `shift` and `c`, mapped back.
fn fit_standardised(
    model: &Model,
    data: &Data,
    opts: &Checked<FitOptions>,
    progress: &(dyn Fn(FitProgress) + Sync),
    shift: &[f64],
    c: f64,
    resolution: &[f64],
) -> Result<Fit> {
    let std_model = model.standardised(shift, c)?;
    let cols = (0..data.d())
        .map(|j| data.col(j).iter().map(|x| (x - shift[j]) / c).collect())
        .collect();
    let std_data = data.derived(cols)?;
    let std_resolution: Vec<f64> = resolution.iter().map(|r| r / c).collect();
    let f = fit_scaled_well(&std_model, &std_data, opts, progress, &std_resolution)?;
    let observed = data.n() * data.d() - data.n_missing();
    Ok(unstandardised(model, observed, f, shift, c, resolution))
}

/// A fit of data standardised by `shift` and `c` mapped back to the data's units (`observed`:
/// the data's observed values, each of whose densities the standardisation divided by `c`).
fn unstandardised(
    model: &Model,
    observed: usize,
    mut f: Fit,
    shift: &[f64],
    c: f64,
    resolution: &[f64],
) -> Fit {
    f.resolution = resolution.to_vec();
    let back = |p: &Params| Params {
        weights: p.weights.clone(),
        locs: p
            .locs
            .iter()
            .enumerate()
            .map(|(i, l)| l * c + shift[i % model.d])
            .collect(),
        scales: model.family.scaled_values(&p.scales, model.d, c),
    };
    let dims = model.family.n_dimensional(model.k, model.d);
    let dloss = (observed + model.k * model.d + dims) as f64 * c.ln();
    f.params = back(&f.params);
    f.init_params = back(&f.init_params);
    f.loss += dloss;
    let h = &mut f.history;
    for v in h
        .loss
        .iter_mut()
        .chain(h.polish_loss.iter_mut())
        .chain(h.restart_loss.iter_mut())
    {
        *v += dloss;
    }
    for (_, v) in h.candidate_loss.iter_mut() {
        *v += dloss;
    }
    f
}

/// The size of the search's subsample for `k` components: `subsample`, at least 200 points
/// per component.
pub(crate) fn subsample_size(subsample: usize, k: usize) -> usize {
    subsample.max(200 * k)
}

/// Whether the search of `n` points runs on a subsample of `m` ([`subsample_size`]): one was
/// asked for (`subsample` > 0) and the data hold at least 5·m points.
pub(crate) fn subsampled(n: usize, m: usize, subsample: usize) -> bool {
    subsample > 0 && n >= 5 * m
}

/// The subsample's rows: `m` of `n`, evenly spaced (row i·n/m).
pub(crate) fn evenly_spaced(n: usize, m: usize) -> Vec<usize> {
    (0..m).map(|i| i * n / m).collect()
}

fn fit_scaled_well(
    model: &Model,
    data: &Data,
    opts: &Checked<FitOptions>,
    progress: &(dyn Fn(FitProgress) + Sync),
    resolution: &[f64],
) -> Result<Fit> {
    let n = data.n();
    let m = subsample_size(opts.subsample, model.k);
    if subsampled(n, m, opts.subsample) {
        let idx = evenly_spaced(n, m);
        let cols = (0..data.d())
            .map(|j| idx.iter().map(|&i| data.col(j)[i]).collect())
            .collect();
        let sub = data.derived(cols)?;
        let weight = n as f64 / m as f64;
        let mut f = search(model, &sub, weight, opts, progress, resolution)?;
        progress(FitProgress {
            stage: "polish on all the data",
            done: 0,
            total: 1,
        });
        // then the polish on all the data, from the subsample's mode
        let dens = MixtureDensity::new(model, data, false);
        polish_on_all(&dens, &mut f, opts, resolution, m);
        return Ok(f);
    }
    search(model, data, 1.0, opts, progress, resolution)
}

/// The polish of a subsample's mode `f` on all the data `dens` reads (`m`: the subsample's
/// size), its end point written into `f`.
fn polish_on_all(
    dens: &MixtureDensity,
    f: &mut Fit,
    opts: &Checked<FitOptions>,
    resolution: &[f64],
    m: usize,
) {
    let model = dens.model();
    let t = Transform::new(model);
    let x = t.pack(&f.params);
    let guard = Guard::new(model, dens.n() as f64, resolution);
    let run = polish(dens, &guard, x, opts, &mut f.history);
    let run = refine(dens, &guard, run, opts, &mut f.history);
    f.history.subsample = Some(m);
    f.params = t.params(&run.x);
    f.loss = run.loss;
    f.converged = run.converged;
    f.grad_norm = run.grad_norm;
    f.polish_iterations += run.polish_iterations;
    f.message = run.stop_message();
}

/// [`run`] on data held in partitions ([`crate::partitioned`]): the subsample gathered to the
/// driver, searched as [`fit_scaled_well`] searches it (standardised first where [`run`] would
/// be), then the polish on all the data with each pass's statistics from the partitions. With
/// fewer than 5·m points (m = max(`subsample`, 200·K)) every point is gathered and fitted as
/// [`run`] fits it. The end point's diagnosis looks at the subsample (as a fit with
/// [`FitOptions::weight`] does).
pub(crate) fn run_partitioned(
    model: &Model,
    parts: &dyn crate::partitioned::Partitioned,
    opts: &Checked<FitOptions>,
) -> Result<Fit> {
    use crate::partitioned::{Remote, Scaling};
    crate::partitioned::refuse_weight(opts.weight)?;
    let summary = parts.summary()?;
    let (n, d) = (summary.n as usize, summary.d());
    if d != model.d {
        return Err(Error::dimensions("model", model.d, d));
    }
    if n < model.k {
        return Err(Error::Data(format!(
            "fewer points ({n}) than components (k = {})",
            model.k
        )));
    }
    summary.check_observed()?;
    let m = subsample_size(opts.subsample, model.k);
    if !subsampled(n, m, opts.subsample) {
        if opts.subsample == 0 && n > 5 * m {
            return Err(Error::option(
                "FitOptions",
                "subsample",
                format!("must be at least 1 for partitioned data of {n} points: the search runs on a subsample gathered to the driver"),
            ));
        }
        let all: Vec<usize> = (0..n).collect();
        let data = parts.rows(&all)?;
        return run(model, &data, opts);
    }
    let resolution = match &opts.resolution {
        Resolution::Auto => summary
            .columns
            .iter()
            .map(|c| c.resolution().unwrap_or(0.0))
            .collect(),
        Resolution::Off => vec![0.0; d],
        Resolution::Given(r) if r.len() == 1 => vec![r[0]; d],
        Resolution::Given(r) if r.len() == d => r.clone(),
        Resolution::Given(r) => {
            return Err(Error::option(
                "FitOptions",
                "resolution",
                format!("has {} values but the data have {d} columns", r.len()),
            ))
        }
    };
    let idx = evenly_spaced(n, m);
    let sub = parts.rows(&idx)?;
    if (sub.n(), sub.d()) != (m, d) {
        return Err(Error::Data(format!(
            "the rows gathered are {} × {} where {m} × {d} were asked for",
            sub.n(),
            sub.d()
        )));
    }
    let cols: Vec<(f64, Option<f64>)> = summary
        .columns
        .iter()
        .map(|c| {
            let (mean, sd) = c.mean_sd();
            if c.min == c.max {
                (c.min, None)
            } else {
                (mean, (sd > 0.0 && sd.is_finite()).then(|| sd.ln()))
            }
        })
        .collect();
    let scaling = scaling_of(&cols);
    let (std_model, std_sub, std_resolution);
    let (fit_model, fit_sub, fit_resolution) = match &scaling {
        None => (model, &sub, &resolution),
        Some((shift, c)) => {
            std_model = model.standardised(shift, *c)?;
            let cols = (0..d)
                .map(|j| sub.col(j).iter().map(|x| (x - shift[j]) / c).collect())
                .collect();
            std_sub = sub.derived(cols)?;
            std_resolution = resolution.iter().map(|r| r / c).collect::<Vec<f64>>();
            (&std_model, &std_sub, &std_resolution)
        }
    };
    let report = |p: FitProgress| {
        if let Some(cb) = &opts.progress {
            cb.call(p)
        }
    };
    let weight = n as f64 / m as f64;
    let mut f = search(fit_model, fit_sub, weight, opts, &report, fit_resolution)?;
    report(FitProgress {
        stage: "polish on all the data",
        done: 0,
        total: 1,
    });
    let remote = Remote::new(
        parts,
        model,
        scaling.as_ref().map(|(shift, c)| Scaling {
            shift: shift.clone(),
            factor: *c,
        }),
        n,
    );
    let dens = MixtureDensity::remote(fit_model, &remote, false);
    polish_on_all(&dens, &mut f, opts, fit_resolution, m);
    if let Some(e) = remote.failure() {
        return Err(e);
    }
    if let Some((shift, c)) = &scaling {
        let observed = summary.columns.iter().map(|c| c.observed as usize).sum();
        f = unstandardised(model, observed, f, shift, *c, &resolution);
    }
    finish(model, &sub, weight, f, opts)
}

/// Options of [`stochastic`].
#[derive(Debug, Clone, PartialEq)]
pub struct StochasticOptions {
    /// Adam steps (one minibatch each).
    pub steps: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// Adam betas.
    pub betas: (f64, f64),
    /// The learning rate decays geometrically to `lr · final_lr_ratio` at the last step.
    pub final_lr_ratio: f64,
    /// The answer is the average of the iterates over this last share of the steps (Polyak
    /// averaging: it cancels most of the minibatch noise).
    pub average_share: f64,
}

impl Default for StochasticOptions {
    fn default() -> Self {
        StochasticOptions {
            steps: 2000,
            lr: 0.01,
            betas: (0.9, 0.999),
            final_lr_ratio: 0.01,
            average_share: 0.5,
        }
    }
}

impl StochasticOptions {
    /// Check every field (`steps`, `lr`, `betas`, `final_lr_ratio`; `average_share` is taken
    /// within [0, 1]); an invalid one is an [`Error::InvalidOption`] naming it.
    pub fn validate(&self) -> Result<Checked<StochasticOptions>> {
        let bad = |option, message: Option<String>| match message {
            Some(m) => Err(Error::option("StochasticOptions", option, m)),
            None => Ok(()),
        };
        bad("steps", check::at_least_one(self.steps as u64))?;
        bad("steps", at_most(self.steps as u64, MAX_STEPS as u64))?;
        bad("lr", check::positive_finite(self.lr))?;
        bad("betas", check::betas(self.betas))?;
        bad("final_lr_ratio", check::ratio(self.final_lr_ratio))?;
        Ok(Checked::new(self.clone()))
    }
}

/// Maximise a stochastic log density (each call a new minibatch estimate, e.g. Pyro's
/// subsampled plate) by Adam with a decaying learning rate, from `x0`; returns the average of
/// the last iterates and the loss estimate of every step. `progress(step)` is called after
/// each step. The options are checked first ([`StochasticOptions::validate`]).
pub fn stochastic<L: LogDensity + ?Sized>(
    dens: &L,
    x0: &[f64],
    opts: &StochasticOptions,
    progress: &dyn Fn(usize),
) -> Result<(Vec<f64>, Vec<f64>)> {
    let opts = &opts.validate()?;
    let dim = dens.dim();
    let mut x = x0.to_vec();
    let mut adam = Adam::new(dim, opts.lr, opts.betas.0, opts.betas.1);
    let decay = opts.final_lr_ratio.powf(1.0 / opts.steps as f64);
    let mut g = vec![0.0; dim];
    let mut losses = crate::limits::with_capacity(
        opts.steps,
        || format!("the losses of {} steps", opts.steps),
        Some(("StochasticOptions", "steps")),
    )?;
    let first_avg = ((1.0 - opts.average_share.clamp(0.0, 1.0)) * opts.steps as f64) as usize;
    let mut avg = vec![0.0; dim];
    let mut n_avg = 0usize;
    for step in 0..opts.steps {
        let lp = dens.logp_grad(&x, &mut g);
        if !lp.is_finite() || g.iter().any(|v| !v.is_finite()) {
            return Err(Error::Numerical(format!(
                "step {step}: the minibatch log density is not finite ({lp})"
            )));
        }
        losses.push(-lp);
        g.iter_mut().for_each(|v| *v = -*v);
        adam.step(&mut x, &g);
        adam.lr *= decay;
        if step >= first_avg {
            n_avg += 1;
            for (a, v) in avg.iter_mut().zip(&x) {
                *a += (v - *a) / n_avg as f64;
            }
        }
        progress(step + 1);
    }
    Ok((if n_avg > 0 { avg } else { x }, losses))
}

/// Restarts, candidates, moves, the winner: [`fit`] on `data` whose likelihood has weight
/// `weight`.
///
/// 1. Initial points: `opts.restarts` of `opts.init`'s kind screened by their loss, the best
///    `opts.candidates` kept. `Init::Auto` keeps the best half of the candidates from Pyro's
///    starts and the other half from distinct k-means++ starts (a fifth as many restarts).
/// 2. Each candidate is optimised (Adam, then the L-BFGS polish) and diagnosed.
/// 3. With `Init::Auto`, split and merge moves ([`crate::moves`]) from the best few distinct
///    end points, each screened by a short polish, for as long as one improves; and all of
///    it again on fresh restarts (up to [`MAX_BATCHES`] times) until the best mode has been
///    reached from two different starts.
///
/// The winner is the lowest loss among proper modes (no component emptied or narrower than
/// the data's resolution, no scale collapsed on a point where the density is unbounded);
/// else among modes with an empty component; the others only if every candidate is one, and
/// then `finish` says so.
fn search(
    model: &Model,
    data: &Data,
    weight: f64,
    opts: &Checked<FitOptions>,
    progress: &(dyn Fn(FitProgress) + Sync),
    resolution: &[f64],
) -> Result<Fit> {
    let dens = MixtureDensity::new(model, data, false).with_weight(weight);
    let t = Transform::new(model);
    let guard = Guard::new(model, data.n() as f64 * weight, resolution);
    let spread = spreads(data);
    let auto = opts.init == Init::Auto;
    let kinds: Vec<(Init, usize, usize)> = if auto {
        let pyro = opts.candidates.div_ceil(2);
        vec![
            (Init::Pyro, opts.restarts, pyro),
            (
                Init::KMeansPlusPlus,
                opts.restarts.div_ceil(5),
                opts.candidates - opts.candidates.div_ceil(2),
            ),
        ]
    } else {
        vec![(opts.init, opts.restarts, opts.candidates)]
    };
    let searcher = Searcher {
        model,
        data,
        weight,
        dens: &dens,
        guard: &guard,
        t: &t,
        spread: &spread,
        resolution,
        opts,
        progress,
    };
    let mut inits: Vec<(Params, f64)> = Vec::new();
    let mut origin: Vec<Init> = Vec::new();
    let mut candidate_loss: Vec<(usize, f64)> = Vec::new();
    let mut passed: Vec<(f64, Tier, Option<String>)> = Vec::new();
    let mut ends: Vec<End> = Vec::new();
    // the modes whose moves have all been tried (loss and tier)
    let mut explored: Vec<(f64, Tier)> = Vec::new();
    let batches = if auto && opts.polish { MAX_BATCHES } else { 1 };
    for _ in 0..batches {
        let order = searcher.starts(&kinds, &mut inits, &mut origin)?;
        let mut runs = searcher.candidates(&order, &inits);
        for e in runs.iter_mut() {
            e.strategy = format!("{} start #{}", origin[e.start].name(), e.start);
        }
        candidate_loss.extend(order.iter().zip(&runs).map(|(&r, e)| (r, e.run.loss)));
        passed.extend(runs.iter().map(|e| (e.run.loss, e.dg.tier, e.dg.why())));
        let first = ends.len();
        ends.extend(runs);
        if !(auto && opts.polish) {
            break;
        }
        // moves from the best few distinct end points of this batch
        let mut mine: Vec<usize> = (first..ends.len()).collect();
        mine.sort_by(|&a, &b| ends[a].cmp(&ends[b]).then(a.cmp(&b)));
        let mut from: Vec<usize> = Vec::new();
        for i in mine {
            if from.len() == MOVE_FROM {
                break;
            }
            let e = &ends[i];
            if e.dg.tier == Tier::Degenerate
                || from
                    .iter()
                    .any(|&j| same_loss(ends[j].run.loss, e.run.loss))
            {
                continue;
            }
            from.push(i);
        }
        for i in from {
            let improved = searcher.improve(&ends[i], &mut passed, &mut explored);
            ends.extend(improved);
        }
        // the best mode reached from two starts is taken to be the best there is
        let best = best_end(&ends).expect("at least one candidate");
        let mut starts: Vec<usize> = ends
            .iter()
            .filter(|e| {
                e.dg.tier == ends[best].dg.tier && same_loss(e.run.loss, ends[best].run.loss)
            })
            .map(|e| e.start)
            .collect();
        starts.sort_unstable();
        starts.dedup();
        if starts.len() >= 2 {
            break;
        }
    }
    let w = best_end(&ends).expect("at least one candidate");
    let End {
        mut run,
        dg,
        start: best_restart,
        strategy,
    } = ends.swap_remove(w);
    let mut history = std::mem::take(&mut run.history);
    history.restart_loss = inits.iter().map(|(_, l)| *l).collect();
    history.candidate_loss = candidate_loss;
    let warnings = set_aside(&passed, run.loss, dg.tier);
    if dg.tier != Tier::Degenerate {
        run = refine(&dens, &guard, run, opts, &mut history);
    }
    Ok(Fit {
        // the components in order of their first location, whatever start found them
        params: in_location_order(model, &t.params(&run.x)),
        loss: run.loss,
        converged: run.converged,
        grad_norm: run.grad_norm,
        best_restart,
        init_params: inits[best_restart].0.clone(),
        steps: run.steps,
        polish_iterations: run.polish_iterations,
        message: run.stop_message(),
        history,
        warnings,
        resolution: resolution.to_vec(),
        strategy,
        spike: None,
    })
}

/// An end point of the search: the run, its diagnosis, the restart it came from and how.
struct End {
    run: Run,
    dg: Diagnosis,
    start: usize,
    strategy: String,
}

impl End {
    /// Which of two end points is the better mode: the lower tier, then the lower loss;
    /// of losses within rounding of each other (one mode reached twice) the one that
    /// converged (then the one found first).
    fn cmp(&self, other: &End) -> std::cmp::Ordering {
        let (ra, rb) = (&self.run, &other.run);
        self.dg
            .tier
            .cmp(&other.dg.tier)
            .then(if same_loss(ra.loss, rb.loss) {
                rb.converged.cmp(&ra.converged)
            } else {
                ra.loss.total_cmp(&rb.loss)
            })
    }
}

/// The index of the best of `ends` ([`End::cmp`], then the first); `None` if there are none.
fn best_end(ends: &[End]) -> Option<usize> {
    (0..ends.len()).min_by(|&a, &b| ends[a].cmp(&ends[b]).then(a.cmp(&b)))
}

/// Two losses equal to rounding: one mode reached twice.
fn same_loss(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-10 * a.abs().max(1.0)
}

/// What the search's stages share: the model, data, density, guard and options.
struct Searcher<'a> {
    model: &'a Model,
    data: &'a Data,
    weight: f64,
    dens: &'a MixtureDensity<'a>,
    guard: &'a Guard,
    t: &'a Transform<'a>,
    spread: &'a [f64],
    resolution: &'a [f64],
    opts: &'a FitOptions,
    progress: &'a (dyn Fn(FitProgress) + Sync),
}

impl Searcher<'_> {
    /// The diagnosis of a run's end point.
    fn judge(&self, run: &Run) -> Diagnosis {
        let p = self.t.params(&run.x);
        diagnose(
            self.model,
            self.data,
            self.weight,
            &p,
            run.loss,
            self.spread,
            self.resolution,
        )
    }

    /// A batch of restarts of each kind in `kinds` (kind, restarts, kept), numbered on from
    /// those in `inits` (their initial points and losses, appended there with their kinds to
    /// `origin`), screened by their loss: the indices of the kept ones.
    fn starts(
        &self,
        kinds: &[(Init, usize, usize)],
        inits: &mut Vec<(Params, f64)>,
        origin: &mut Vec<Init>,
    ) -> Result<Vec<usize>> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (model, data, t) = (self.model, self.data, self.t);
        let kinds: Vec<&(Init, usize, usize)> = kinds.iter().filter(|k| k.2 > 0).collect();
        let total: usize = kinds.iter().map(|k| k.1).sum();
        let done = AtomicUsize::new(0);
        let mut order = Vec::new();
        // every start is kept (its parameters and loss) until the screening
        let per = (self.dens.dim() as u128 + 2) * 8 + 128;
        crate::limits::probe(
            total as u128 * per,
            || format!("{total} restarts of {} parameters", self.dens.dim()),
            Some(("FitOptions", "restarts")),
        )?;
        for &&(init, restarts, keep) in &kinds {
            let first = inits.len();
            let batch: Vec<(Params, f64)> = (first..first + restarts)
                .into_par_iter()
                .map(|r| {
                    let mut p = initial_point(model, data, init, self.opts.seed, r);
                    lift_scales(model, &mut p, self.resolution);
                    let loss = -self.dens.logp(&t.pack(&p));
                    (self.progress)(FitProgress {
                        stage: "restarts",
                        done: done.fetch_add(1, Ordering::Relaxed) + 1,
                        total,
                    });
                    (p, loss)
                })
                .collect();
            inits.extend(batch);
            origin.extend(std::iter::repeat_n(init, restarts));
            let mut mine: Vec<usize> = (first..inits.len())
                .filter(|&i| inits[i].1.is_finite())
                .collect();
            mine.sort_by(|&a, &b| inits[a].1.total_cmp(&inits[b].1).then(a.cmp(&b)));
            // the same start twice (k-means++ often converges to one partition) is kept once
            let mut kept: Vec<usize> = Vec::new();
            for i in mine {
                if kept.len() == keep {
                    break;
                }
                if !kept.iter().any(|&j| inits[j].0 == inits[i].0) {
                    kept.push(i);
                }
            }
            order.extend(kept);
        }
        if order.is_empty() {
            return Err(Error::Numerical(format!(
                "no finite initial loss in {total} restarts: the data are too far from what the priors allow"
            )));
        }
        Ok(order)
    }

    /// The starts `order` optimised fully (Adam, then the polish) and diagnosed; each is
    /// deterministic, so running them in parallel changes nothing but the wall time.
    fn candidates(&self, order: &[usize], inits: &[(Params, f64)]) -> Vec<End> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (model, t) = (self.model, self.t);
        let done = AtomicUsize::new(0);
        order
            .par_iter()
            .map(|&r| {
                let run = optimise(model, self.dens, self.guard, t, &inits[r].0, self.opts);
                (self.progress)(FitProgress {
                    stage: "candidates",
                    done: done.fetch_add(1, Ordering::Relaxed) + 1,
                    total: order.len(),
                });
                let dg = self.judge(&run);
                End {
                    strategy: String::new(),
                    run,
                    dg,
                    start: r,
                }
            })
            .collect()
    }

    /// Rounds of moves from `end`, each polished, the best taken while it improves on the
    /// last; the improved end point, if any. Every move's end goes to `passed`. A round
    /// from a mode in `explored` (one reached before, by another start or move, whose moves
    /// were all tried) is not run again: its moves lead where they led then. The modes
    /// whose moves this tries are added to `explored`.
    fn improve(
        &self,
        end: &End,
        passed: &mut Vec<(f64, Tier, Option<String>)>,
        explored: &mut Vec<(f64, Tier)>,
    ) -> Option<End> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (model, t) = (self.model, self.t);
        let mut best: Option<End> = None;
        for _ in 0..MOVE_ROUNDS {
            let cur = best.as_ref().unwrap_or(end);
            let (loss, tier) = (cur.run.loss, cur.dg.tier);
            if explored
                .iter()
                .any(|&(l, t)| t == tier && same_loss(l, loss))
            {
                break;
            }
            explored.push((loss, tier));
            let p = t.params(&cur.run.x);
            let n = self.data.n() as f64 * self.weight;
            let bad = bad_components(model, &p, n, self.resolution);
            let tries: Vec<(Vec<f64>, String)> =
                crate::moves::moves(model, self.data, &p, &bad, MOVE_PAIRS)
                    .into_iter()
                    .map(|m| (t.pack(&m.params), m.what))
                    .filter(|(x, _)| self.guard.admits(t, x))
                    .collect();
            let done = AtomicUsize::new(0);
            // each move screened by a short polish; the best then polished fully
            let short = FitOptions {
                max_polish_iter: MOVE_POLISH,
                ..self.opts.clone()
            };
            let results: Vec<End> = tries
                .par_iter()
                .map(|(x, what)| {
                    let mut h = History::default();
                    let run = polish(self.dens, self.guard, x.clone(), &short, &mut h);
                    let dg = self.judge(&run);
                    (self.progress)(FitProgress {
                        stage: "split and merge moves",
                        done: done.fetch_add(1, Ordering::Relaxed) + 1,
                        total: tries.len(),
                    });
                    End {
                        strategy: format!("{}, then {what}", cur.strategy),
                        run,
                        dg,
                        start: cur.start,
                    }
                })
                .collect();
            passed.extend(results.iter().map(|e| (e.run.loss, e.dg.tier, e.dg.why())));
            let Some(b) = best_end(&results) else {
                break;
            };
            let cand = &results[b];
            let improves = cand.dg.tier < cur.dg.tier
                || (cand.dg.tier == cur.dg.tier
                    && cand.run.loss < cur.run.loss - 1e-9 * cur.run.loss.abs().max(1.0));
            if !improves {
                break;
            }
            let mut next = results.into_iter().nth(b).expect("index in range");
            let mut h = cur.run.history.clone();
            let run = polish(self.dens, self.guard, next.run.x, self.opts, &mut h);
            next.dg = self.judge(&run);
            let screened = next.run.polish_iterations;
            next.run = run;
            next.run.history = h;
            next.run.steps = cur.run.steps;
            next.run.polish_iterations += screened + cur.run.polish_iterations;
            passed.push((next.run.loss, next.dg.tier, next.dg.why()));
            if next.cmp(cur) != std::cmp::Ordering::Less {
                break;
            }
            best = Some(next);
        }
        best
    }
}

/// `p` with its components in increasing order of their first location (ties in their
/// order): an answer that does not depend on which start found the mode.
fn in_location_order(model: &Model, p: &Params) -> Params {
    let d = model.d;
    let mut perm: Vec<usize> = (0..model.k).collect();
    perm.sort_by(|&a, &b| p.locs[a * d].total_cmp(&p.locs[b * d]).then(a.cmp(&b)));
    p.permuted(model, &perm)
}

/// Batches of starts, candidates and moves at most (with `Init::Auto`), until the best mode
/// has been reached from two starts.
const MAX_BATCHES: usize = 4;

/// Rounds of split and merge moves at most.
const MOVE_ROUNDS: usize = 4;
/// Split and merge moves start from this many distinct end points of the candidates.
const MOVE_FROM: usize = 2;
/// L-BFGS iterations of the short polish that screens the moves.
const MOVE_POLISH: usize = 50;
/// Pairs of components tried for a merge in each round (the most overlapping).
const MOVE_PAIRS: usize = 6;

/// Components of `p` that are no proper part of a mode: less than one point's share of the
/// weight, or narrower than the resolution.
fn bad_components(model: &Model, p: &Params, n: f64, resolution: &[f64]) -> Vec<usize> {
    let share = one_point_share(model, n);
    (0..model.k)
        .filter(|&c| {
            emptied(model, c, p.weights[c], share)
                || (0..model.n_scales()).any(|i| {
                    scale_users(model, i).0.contains(&c)
                        && p.scales[i] < narrowest(model, resolution, i)
                })
        })
        .collect()
}

/// Initial scales at least twice the narrowest the resolution allows (k-means++ floors a
/// cluster of tied values at a tiny spread).
fn lift_scales(model: &Model, p: &mut Params, resolution: &[f64]) {
    for (i, s) in p.scales.iter_mut().enumerate() {
        // only values that serve a dimension are scales (not a correlation's)
        if !scale_users(model, i).1.is_empty() {
            *s = s.max(2.0 * narrowest(model, resolution, i));
        }
    }
}

/// The warning for end points of the search (loss, tier, why) that reached a lower loss than
/// the winner's (`loss`, `tier`) but were passed over as no proper mode (a component emptied
/// where the density is unbounded, narrower than the data's resolution, or collapsed on a
/// point).
fn set_aside(passed: &[(f64, Tier, Option<String>)], loss: f64, tier: Tier) -> Vec<String> {
    let lower: Vec<&(f64, Tier, Option<String>)> = passed
        .iter()
        .filter(|(l, t, _)| *t > tier && *l < loss)
        .collect();
    let Some(first) = lower.first() else {
        return Vec::new();
    };
    vec![format!(
        "{} end point{} of the search with a lower loss (down to {:.6}) {} set aside as no proper mode; the first: {}",
        lower.len(),
        if lower.len() == 1 { "" } else { "s" },
        lower.iter().map(|p| p.0).fold(f64::INFINITY, f64::min),
        if lower.len() == 1 { "was" } else { "were" },
        first.2.as_deref().unwrap_or("not finite"),
    )]
}

/// The edges a proper mode keeps clear of, on the unconstrained space: a weight far below
/// one point's share where the Dirichlet density is unbounded (concentration below 1, so
/// that an optimiser runs off to the edge of the simplex), and a scale far below the data's
/// resolution (a collapse on tied values). Beyond them the search's objective is +∞: a line
/// search steps back, so that a polish stays in the basin it started in, and Adam stops.
struct Guard {
    /// Per component: the least log weight (−∞ where the concentration is at least 1).
    min_logw: Vec<f64>,
    /// Per free scale: the least log scale (−∞ without a resolution).
    min_log_scale: Vec<f64>,
}

impl Guard {
    /// The guard for `model` on `n` points (the likelihood's weight included), the data
    /// recorded to `resolution` per column (0: none).
    fn new(model: &Model, n: f64, resolution: &[f64]) -> Guard {
        // a hundredth of what diagnose calls empty or unresolved: the guard stops runaways,
        // diagnose judges the end points
        let ln_share = one_point_share(model, n).ln();
        let min_logw = model
            .alpha
            .iter()
            .map(|&a| {
                if a < 1.0 {
                    ln_share - 100f64.ln()
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        let floors: Vec<f64> = (0..model.n_scales())
            .map(|i| 0.01 * narrowest(model, resolution, i))
            .collect();
        let min_log_scale = model.family.coordinate_floors(&floors);
        Guard {
            min_logw,
            min_log_scale,
        }
    }

    /// Whether `x` is inside.
    fn admits(&self, t: &Transform, x: &[f64]) -> bool {
        let off = x.len() - self.min_log_scale.len();
        if x[off..].iter().zip(&self.min_log_scale).any(|(v, m)| v < m) {
            return false;
        }
        if self.min_logw.iter().all(|m| *m == f64::NEG_INFINITY) {
            return true;
        }
        let logw = t.unpack(x).logw;
        logw.iter().zip(&self.min_logw).all(|(l, m)| l >= m)
    }
}

/// Whether component `c`, of weight `w`, is empty at a mode: it holds `r` points where its
/// weight is `(r + α − 1)·share` (`share`: [`one_point_share`]). Where the Dirichlet's
/// concentration is below 1 the density grows without bound as the weight → 0, and a
/// component is kept only while its weight is at least one point's share (`r + α − 1 ≥ 1`);
/// else it is empty when it holds less than half a point.
fn emptied(model: &Model, c: usize, w: f64, share: f64) -> bool {
    let alpha = model.alpha[c];
    if alpha < 1.0 {
        w < share
    } else {
        w / share + 1.0 - alpha < 0.5
    }
}

/// The weight of one point's responsibility at a mode: `1/(N + Σα − K)` (at a mode, a
/// component holding `r` points has weight `(r + α − 1)/(N + Σα − K)`).
fn one_point_share(model: &Model, n: f64) -> f64 {
    let excess: f64 = model.alpha.iter().map(|a| a - 1.0).sum();
    1.0 / (n + excess).max(1.0)
}

/// The narrowest standard deviation free scale `i` may have: `resolution/√12` (the spread
/// of rounding itself) in the coarsest column it serves; 0 without a resolution.
fn narrowest(model: &Model, resolution: &[f64], i: usize) -> f64 {
    let (_, dims) = scale_users(model, i);
    dims.iter().map(|&j| resolution[j]).fold(0.0, f64::max) / 12f64.sqrt()
}

/// The loss and its gradient on the unconstrained space, +∞ outside `guard`.
fn objective<'a>(
    dens: &'a MixtureDensity,
    guard: &'a Guard,
) -> impl FnMut(&[f64], &mut [f64]) -> f64 + 'a {
    let t = dens.transform();
    move |x: &[f64], g: &mut [f64]| -> f64 {
        if !guard.admits(&t, x) {
            g.iter_mut().for_each(|v| *v = 0.0);
            return f64::INFINITY;
        }
        let lp = dens.logp_grad(x, g);
        g.iter_mut().for_each(|v| *v = -*v);
        -lp
    }
}

/// One optimisation from an initial point.
struct Run {
    x: Vec<f64>,
    loss: f64,
    converged: bool,
    grad_norm: f64,
    steps: usize,
    polish_iterations: usize,
    /// Why the optimiser stopped, as it says it.
    message: String,
    /// Coordinates pinned by rounding, left out of the gradient test.
    pinned: usize,
    /// Set where the gradient test failed but a Newton step would lower the loss by no more
    /// than its rounding ([`newton_gain`]): that decrease.
    rounding: Option<f64>,
    history: History,
}

impl Run {
    /// Why the run stopped, in agreement with the final gradient test: "gradient below
    /// tolerance" only when it passed at the end point, else the optimiser's reason and that
    /// the test failed.
    fn stop_message(&self) -> String {
        let reason = &self.message;
        let pins = match self.pinned {
            0 => String::new(),
            1 => "; 1 coordinate pinned by rounding".to_string(),
            n => format!("; {n} coordinates pinned by rounding"),
        };
        if let (true, Some(gain)) = (self.converged, self.rounding) {
            format!(
                "at the mode to the loss's rounding: the gradient left (max {:.1e}) would lower the loss by {gain:.1e} at most (a Newton step){pins}",
                self.grad_norm
            )
        } else if self.converged {
            format!("gradient below tolerance{pins}")
        } else if reason.starts_with("gradient below tolerance") {
            format!("stopped short of the gradient test{pins}")
        } else {
            format!("{reason}, gradient above tolerance{pins}")
        }
    }
}

/// Adam from `init` (stopping where it would leave `guard`), then the L-BFGS polish.
fn optimise(
    model: &Model,
    dens: &MixtureDensity,
    guard: &Guard,
    t: &Transform,
    init: &Params,
    opts: &FitOptions,
) -> Run {
    let mut x = t.pack(init);
    let dim = x.len();
    let mut adam = Adam::new(dim, opts.lr, opts.betas.0, opts.betas.1);
    let mut grad = vec![0.0; dim];
    let mut history = History::default();
    let names = ["weights", "locs", "scale"];
    let mut norms: [Vec<f64>; 3] = Default::default();
    let mut best = (f64::INFINITY, x.clone());
    let mut last = x.clone();
    for _ in 0..opts.steps {
        if !guard.admits(t, &x) {
            x.copy_from_slice(&last);
            break;
        }
        last.copy_from_slice(&x);
        let lp = dens.logp_grad(&x, &mut grad);
        let loss = -lp;
        if !loss.is_finite() || grad.iter().any(|g| !g.is_finite()) {
            break;
        }
        grad.iter_mut().for_each(|g| *g = -*g);
        if loss < best.0 {
            best = (loss, x.clone());
        }
        history.loss.push(loss);
        for (v, nrm) in norms.iter_mut().zip(site_norms(model, &grad)) {
            v.push(nrm);
        }
        adam.step(&mut x, &grad);
    }
    if !guard.admits(t, &x) {
        x.copy_from_slice(&last);
    }
    let steps = history.loss.len();
    for (name, v) in names.iter().zip(norms) {
        history.grad_norm.insert(name.to_string(), v);
    }
    // Adam may end on a worse point than it visited; keep its last point if finite, else the best
    let end_loss = -dens.logp(&x);
    if !end_loss.is_finite() || end_loss > best.0 {
        x = best.1.clone();
    }

    let mut run = polish(dens, guard, x, opts, &mut history);
    run.steps = steps;
    run.history = history;
    run
}

/// The L-BFGS polish from `x` (if `opts.polish`), its losses appended to
/// `history.polish_loss`; returns the end point with its loss and gradient test.
fn polish(
    dens: &MixtureDensity,
    guard: &Guard,
    x: Vec<f64>,
    opts: &FitOptions,
    history: &mut History,
) -> Run {
    let dim = x.len();
    // a pass over the data costs more than the surrogate's maximisation (about a millisecond)
    // only on many points: below that, EM passes would cost more than the iterations they save
    let large = dens.n() as f64 * dens.model().k as f64 >= EM_MIN_WORK;
    let (x, f_em, passes) = if opts.polish && large {
        em_passes(dens, guard, x, opts, history)
    } else {
        (x, None, 0)
    };
    let mut objective = objective(dens, guard);
    let f_now = f_em.unwrap_or_else(|| {
        let mut g = vec![0.0; dim];
        objective(&x, &mut g)
    });
    let (x, polish_iterations, message) = if opts.polish && f_now.is_finite() {
        let (mut x, mut f_ref, mut iterations, mut message) = (x, f_now, passes, String::new());
        // the gradient test scales with the loss where a run starts; a run that starts far
        // above the mode (a prior-dominated loss, say) passes a looser test than the one its
        // end must meet, so it runs again from its end while that tightens the test
        for _ in 0..5 {
            let lo = LbfgsOptions {
                grad_tol: opts.grad_tol * f_ref.abs().max(1.0),
                max_iter: opts.max_polish_iter.saturating_sub(iterations).max(1),
                // stop on the gradient test (or a line search that can make no progress),
                // not on a small decrease: near the mode the decrease is below rounding long
                // before the gradient is small
                f_tol: 0.0,
                ..LbfgsOptions::default()
            };
            let r = lbfgs(&mut objective, &x, &lo);
            history.polish_loss.extend_from_slice(&r.history);
            iterations += r.iterations;
            message = r.message;
            // the polish's end may differ from its start by rounding only; prefer it then
            if !(r.f.is_finite() && (r.converged || r.f <= f_ref + 1e-12 * f_ref.abs().max(1.0))) {
                break;
            }
            x = r.x;
            let end_tol = opts.grad_tol * r.f.abs().max(1.0);
            if !r.converged || r.grad_norm_inf <= end_tol || iterations >= opts.max_polish_iter {
                break;
            }
            f_ref = r.f;
        }
        (x, iterations, message)
    } else {
        (x, 0, "no polish".to_string())
    };
    let (loss, grad_norm, converged) = assess(&mut objective, &x, &[], opts);
    Run {
        x,
        loss,
        converged,
        grad_norm,
        steps: 0,
        polish_iterations,
        message,
        pinned: 0,
        rounding: None,
        history: History::default(),
    }
}

/// At most this many EM passes before a polish (and at most half its iterations).
const EM_PASSES: usize = 30;

/// EM passes only on at least this many point·components.
const EM_MIN_WORK: f64 = 2e5;

/// Expectation–maximisation passes over the data from `x`, each loss appended to
/// `history.polish_loss`; returns the last point, for the L-BFGS polish to finish, with its
/// loss (`None` if no pass found it finite) and the number of passes. Each pass
/// takes the statistics at the current point and moves to the maximum of the EM surrogate
/// plus the prior ([`crate::stats::surrogate`]: the statistics alone, by an inner L-BFGS, no
/// pass over the data), which cannot lower the density. EM converges at the rate of the
/// information the assignments hide: near 0 for well separated components, where a few
/// passes reach the mode L-BFGS approaches in tens, each a pass too; near 1 where they
/// overlap, so the passes stop as soon as one gains more than a quarter of the one before.
fn em_passes(
    dens: &MixtureDensity,
    guard: &Guard,
    x: Vec<f64>,
    opts: &FitOptions,
    history: &mut History,
) -> (Vec<f64>, Option<f64>, usize) {
    let (model, t, sd) = (dens.model(), dens.transform(), dens.stats_density());
    let (mut x, mut prev): (Vec<f64>, Option<(Vec<f64>, f64)>) = (x, None);
    let mut gain_before = f64::INFINITY;
    let mut passes = 0;
    if !guard.admits(&t, &x) {
        return (x, None, 0);
    }
    while passes < EM_PASSES.min(opts.max_polish_iter / 2) {
        let Some(st) = dens.stats_of(&x) else {
            break;
        };
        passes += 1;
        let f = sd.logp(&x, &st).map_or(f64::INFINITY, |lp| -lp);
        let f_before = prev.as_ref().map_or(f64::INFINITY, |p| p.1);
        if !f.is_finite() || f > f_before {
            // rounding (or a point beyond f64): the pass before is the better one
            return match prev {
                Some((x, f)) => (x, Some(f), passes),
                None => (x, None, passes),
            };
        }
        history.polish_loss.push(f);
        let gain = f_before - f;
        if gain > 0.25 * gain_before || gain <= 1e-13 * f.abs().max(1.0) {
            return (x, Some(f), passes);
        }
        let locs_at = t.unpack(&x).locs;
        let mut surrogate = |y: &[f64], g: &mut [f64]| -> f64 {
            if guard.admits(&t, y) {
                let u = t.unpack(y);
                let q = crate::stats::surrogate(model, &st, &locs_at, &u.logw, &u.locs, &u.scales);
                if let Ok(lp) = sd.logp_grad(y, &q, g) {
                    if lp.is_finite() {
                        g.iter_mut().for_each(|v| *v = -*v);
                        return -lp;
                    }
                }
            }
            g.fill(0.0);
            f64::INFINITY
        };
        let lo = LbfgsOptions {
            grad_tol: 0.1 * opts.grad_tol * f.abs().max(1.0),
            max_iter: 500,
            ..LbfgsOptions::default()
        };
        let r = lbfgs(&mut surrogate, &x, &lo);
        if !r.f.is_finite() {
            break;
        }
        prev = Some((std::mem::replace(&mut x, r.x), f));
        gain_before = gain;
    }
    // the last step's loss is not known: the polish finds it
    (x, None, passes)
}

/// The loss at `x`, the max-abs gradient, and the gradient test on every coordinate but the
/// `pinned` ones.
fn assess<F: FnMut(&[f64], &mut [f64]) -> f64>(
    objective: &mut F,
    x: &[f64],
    pinned: &[usize],
    opts: &FitOptions,
) -> (f64, f64, bool) {
    let mut g = vec![0.0; x.len()];
    let loss = objective(x, &mut g);
    let grad_norm = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut held = vec![false; x.len()];
    for &i in pinned {
        held[i] = true;
    }
    let free_norm = g
        .iter()
        .zip(&held)
        .filter(|(_, h)| !**h)
        .fold(0.0f64, |m, (v, _)| m.max(v.abs()));
    let converged = loss.is_finite() && free_norm <= opts.grad_tol * loss.abs().max(1.0);
    (loss, grad_norm, converged)
}

/// The winner's polish, when the plain one ended short of the gradient test: see
/// [`polish_harder`]. `run.history` is not used; the losses go to `history`.
fn refine(
    dens: &MixtureDensity,
    guard: &Guard,
    mut run: Run,
    opts: &FitOptions,
    history: &mut History,
) -> Run {
    if !opts.polish || run.converged || !run.loss.is_finite() {
        return run;
    }
    let mut objective = objective(dens, guard);
    let (x, iterations, message, pins) = polish_harder(
        dens,
        &mut objective,
        run.x.clone(),
        opts,
        history,
        run.polish_iterations,
        run.message.clone(),
    );
    let (loss, grad_norm, converged) = assess(&mut objective, &x, &pins, opts);
    if loss.is_finite() && loss <= run.loss {
        run.x = x;
        run.loss = loss;
        run.grad_norm = grad_norm;
        run.converged = converged;
        run.message = message;
        run.pinned = pins.len();
    }
    run.polish_iterations = iterations;
    if !run.converged && run.loss.is_finite() {
        if let Some(gain) = newton_gain(&mut objective, &run.x, dens.n(), dens.model().d) {
            if gain <= ROUNDING_GAIN * run.loss.abs().max(1.0) {
                run.converged = true;
                run.rounding = Some(gain);
            }
        }
    }
    run
}

/// A point whose Newton step would lower the loss by at most this much (relative to the
/// loss) is at the mode to what the loss resolves: its sums over the data round at about
/// 1e-16 relative per term, and stalled polishes end within ~1e-12 of their best.
const ROUNDING_GAIN: f64 = 1e-11;

/// Largest work for [`newton_gain`]'s Hessian, in values read: two gradient evaluations per
/// coordinate, each over the N·D values (wine's 178 × 13 with 314 coordinates: 1.5·10⁶, a
/// few milliseconds; a fit of 10⁶ points is never checked this way).
const NEWTON_MAX_WORK: f64 = 2e8;

/// Most unconstrained coordinates for [`newton_gain`]'s Hessian (2 MB, and its Cholesky
/// factor in about 4·10⁷ operations).
const NEWTON_MAX_DIM: usize = 500;

/// Where the gradient test fails but no step lowers the loss (an ill-conditioned mode, as
/// with correlations near ±1 on rounded data: the loss is flat to rounding, yet the gradient
/// is above `grad_tol` along stiff directions): the decrease the gradient left can still
/// give, `½ gᵀ H⁻¹ g` with `H` the Hessian by central differences of the gradient. `None`
/// where `H` is not positive definite (not a mode), not finite, or too costly (more than
/// [`NEWTON_MAX_WORK`] values read or [`NEWTON_MAX_DIM`] coordinates), for `n` points of `d`
/// dimensions.
fn newton_gain<F: FnMut(&[f64], &mut [f64]) -> f64>(
    objective: &mut F,
    x: &[f64],
    n: usize,
    d: usize,
) -> Option<f64> {
    let m = x.len();
    if m == 0 || m > NEWTON_MAX_DIM || 2.0 * (m * n * d) as f64 > NEWTON_MAX_WORK {
        return None;
    }
    let mut g = vec![0.0; m];
    let f = objective(x, &mut g);
    if !f.is_finite() {
        return None;
    }
    let mut h = vec![0.0; m * m];
    let (mut y, mut gp, mut gm) = (x.to_vec(), vec![0.0; m], vec![0.0; m]);
    for i in 0..m {
        let step = 1e-5 * x[i].abs().max(1.0);
        y[i] = x[i] + step;
        let fp = objective(&y, &mut gp);
        y[i] = x[i] - step;
        let fm = objective(&y, &mut gm);
        y[i] = x[i];
        if !(fp.is_finite() && fm.is_finite()) {
            return None;
        }
        for j in 0..m {
            h[j * m + i] = (gp[j] - gm[j]) / (2.0 * step);
        }
    }
    // symmetrised into the lower triangle, the part the factorisation reads
    for i in 0..m {
        for j in 0..i {
            h[i * m + j] = 0.5 * (h[i * m + j] + h[j * m + i]);
        }
    }
    crate::observed::inverse_quadratic(&mut h, &g, m).map(|q| 0.5 * q)
}

/// Most coordinates [`pinned`] probes in one call (each probe evaluates the loss once).
const MAX_PIN_PROBES: usize = 256;

/// Coordinates of `x` (loss `f`, gradient `g`) pinned by rounding: the gradient is above
/// `tol` there, yet at the next float downhill the loss is higher or the gradient points
/// back (or is not finite): the optimum in that coordinate lies between two floats, and the
/// nearest float is as good as it gets. A component sitting on a point with a scale near the
/// spacing of floats at its location is one: its location's gradient (the prior's pull)
/// cannot vanish.
fn pinned<F: FnMut(&[f64], &mut [f64]) -> f64>(
    objective: &mut F,
    x: &[f64],
    f: f64,
    g: &[f64],
    tol: f64,
) -> Vec<usize> {
    let mut y = x.to_vec();
    let mut gy = vec![0.0; x.len()];
    let mut out = Vec::new();
    // each probe is a whole evaluation: at most MAX_PIN_PROBES of them, the largest
    // gradients first (wide data has a coordinate per column: probing every one was
    // quadratic in the columns)
    let mut failing: Vec<usize> = (0..x.len())
        .filter(|&i| !(g[i].is_nan() || g[i].abs() <= tol))
        .collect();
    if failing.len() > MAX_PIN_PROBES {
        failing.select_nth_unstable_by(MAX_PIN_PROBES, |&a, &b| {
            g[b].abs().total_cmp(&g[a].abs()).then(a.cmp(&b))
        });
        failing.truncate(MAX_PIN_PROBES);
        failing.sort_unstable();
    }
    for i in failing {
        y[i] = if g[i] > 0.0 {
            x[i].next_down()
        } else {
            x[i].next_up()
        };
        let fy = objective(&y, &mut gy);
        y[i] = x[i];
        // the step downhill raises the loss past rounding, or the gradient turns back
        let rises = fy > f + 1e-12 * f.abs().max(1.0);
        if !(fy.is_finite() && gy[i].is_finite() && gy[i] * g[i] > 0.0) || rises {
            out.push(i);
        }
    }
    out
}

/// Diagonal curvature estimates of the loss on the unconstrained space at `x` (expected
/// information, from the responsibilities' sums): `r_k / s_kd² + 1/σ0_d²` for a location,
/// `1 + 2 Σ r_k` over the coordinates a scale serves for its log, `max(1, R_j z_j (1 − z_j))`
/// for a stick-breaking coordinate (`R_j` the responsibility left to break); 1 for the
/// increments of ordered locations.
fn curvature_diag(dens: &MixtureDensity, x: &[f64]) -> Vec<f64> {
    let model = dens.model();
    let (k, d) = (model.k, model.d);
    let mut scratch = vec![0.0; x.len()];
    let (_, ng) = dens.logp_grad_natural(x, &mut scratch);
    let u = dens.transform().unpack(x);
    let r: Vec<f64> = (0..k)
        .map(|c| (ng.logw[c] - (model.alpha[c] - 1.0)).max(0.0))
        .collect();
    let mut h = Vec::with_capacity(x.len());
    for j in 0..k - 1 {
        let rest: f64 = r[j..].iter().sum();
        h.push((rest * u.z[j] * (1.0 - u.z[j])).max(1.0));
    }
    for c in 0..k {
        for j in 0..d {
            if model.ordered && j == 0 && c > 0 {
                h.push(1.0);
            } else {
                let s = model.family.scale(&u.scales, c, j, d);
                let v = r[c] / (s * s) + 1.0 / (model.loc_sigma[j] * model.loc_sigma[j]);
                h.push(if v.is_finite() && v > 0.0 { v } else { 1.0 });
            }
        }
    }
    for i in 0..model.n_scales() {
        let (comps, dims) = scale_users(model, i);
        let v = 1.0 + 2.0 * comps.iter().map(|&c| r[c]).sum::<f64>() * dims.len() as f64;
        h.push(if v.is_finite() { v } else { 1.0 });
    }
    h
}

/// After the polish, if the gradient test still fails: the coordinates pinned by rounding
/// ([`pinned`]) are held (their gradient zeroed, so L-BFGS never moves them) and the others
/// polished again in coordinates scaled by the diagonal curvature ([`curvature_diag`]): a
/// tight cluster next to a far point puts curvatures 1e16 apart, where plain L-BFGS stops on
/// a failed line search. A few rounds, as coordinates get pinned on the way. Returns the end
/// point, the iterations and message so far, and the pinned coordinates (left out of the
/// convergence test).
fn polish_harder<F: FnMut(&[f64], &mut [f64]) -> f64>(
    dens: &MixtureDensity,
    objective: &mut F,
    mut x: Vec<f64>,
    opts: &FitOptions,
    history: &mut History,
    mut iterations: usize,
    mut message: String,
) -> (Vec<f64>, usize, String, Vec<usize>) {
    let mut g = vec![0.0; x.len()];
    let mut pins: Vec<usize> = Vec::new();
    for round in 0..3 {
        let f = objective(&x, &mut g);
        let tol = opts.grad_tol * f.abs().max(1.0);
        if !f.is_finite() {
            return (x, iterations, message, vec![]);
        }
        pins.extend(pinned(objective, &x, f, &g, tol));
        pins.sort_unstable();
        pins.dedup();
        let mut held = vec![false; x.len()];
        for &i in &pins {
            held[i] = true;
        }
        let free_ok = g.iter().zip(&held).all(|(v, h)| v.abs() <= tol || *h);
        if free_ok || pins.len() == x.len() {
            if round == 0 && pins.is_empty() {
                return (x, iterations, message, pins);
            }
            break;
        }
        let root_h: Vec<f64> = curvature_diag(dens, &x).iter().map(|v| v.sqrt()).collect();
        // y = x·√h: the loss and its gradient in y
        let mut scaled = |y: &[f64], gy: &mut [f64]| {
            let xs: Vec<f64> = y.iter().zip(&root_h).map(|(v, r)| v / r).collect();
            let v = objective(&xs, gy);
            for (gi, r) in gy.iter_mut().zip(&root_h) {
                *gi /= r;
            }
            for &i in &pins {
                gy[i] = 0.0;
            }
            v
        };
        // the pinned coordinates keep their exact floats
        let y0: Vec<f64> = x.iter().zip(&root_h).map(|(v, r)| v * r).collect();
        let max_root = root_h.iter().fold(1.0f64, |m, v| m.max(*v));
        let lo = LbfgsOptions {
            grad_tol: tol / max_root,
            max_iter: opts.max_polish_iter.clamp(1, 500),
            f_tol: 0.0,
            ..LbfgsOptions::default()
        };
        let r = lbfgs(&mut scaled, &y0, &lo);
        history.polish_loss.extend_from_slice(&r.history);
        iterations += r.iterations;
        message = format!("{} (preconditioned)", r.message);
        // an end point that passed the gradient test may lie above the start by rounding only
        let noise = 1e-12 * f.abs().max(1.0);
        if !(r.f.is_finite() && (r.f <= f || (r.converged && r.f <= f + noise))) {
            break;
        }
        let mut xs: Vec<f64> = r.x.iter().zip(&root_h).map(|(v, h)| v / h).collect();
        for &i in &pins {
            xs[i] = x[i];
        }
        x = xs;
    }
    (x, iterations, message, pins)
}

/// The model and data agree: same dimension, at least K points.
pub fn check_data(model: &Model, data: &Data) -> Result<()> {
    if data.d() != model.d {
        return Err(Error::dimensions("model", model.d, data.d()));
    }
    if data.n() < model.k {
        return Err(Error::Data(format!(
            "fewer points ({}) than components (k = {})",
            data.n(),
            model.k
        )));
    }
    if let Some(j) = data.unobserved_column() {
        return Err(Error::Data(format!(
            "column {} has no observed value (every value is missing)",
            j + 1
        )));
    }
    Ok(())
}

/// How a candidate mode looks, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    /// No empty component, no scale collapsed on a point where the density is unbounded (a
    /// collapse the prior keeps bounded is a mode like any other, if a warned one).
    Proper,
    /// An empty component (less than one point's share of the weight) where the Dirichlet
    /// density is bounded: a mode at the edge of the simplex.
    Edge,
    /// A component alone on one point with a scale far below the data's spread, kept from 0
    /// by its prior: a mode, but a spike; returned, with a warning, only when every mode found
    /// has one.
    Spike,
    /// A component narrower than the data's resolution: a collapse on tied values.
    Unresolved,
    /// A component emptied where the Dirichlet density is unbounded (concentration below
    /// 1), a scale collapsed on a point where the density is unbounded, or a value that is not
    /// finite: no mode at all.
    Degenerate,
}

impl Diagnosis {
    /// Why the point is no proper mode, if it is not.
    fn why(&self) -> Option<String> {
        self.error
            .as_ref()
            .map(|e| e.to_string())
            .or_else(|| self.unresolved.clone())
    }
}

/// What [`diagnose`] found at a point.
struct Diagnosis {
    tier: Tier,
    /// One line per edge found (for `Fit::warnings`).
    warnings: Vec<String>,
    /// Why the point is degenerate.
    error: Option<Error>,
    /// Why the point is unresolved: the first component narrower than the resolution.
    unresolved: Option<String>,
    /// The collapse is not integrable either: the posterior itself is improper there.
    improper: bool,
}

/// The data's standard deviation per dimension (0 for a constant column).
fn spreads(data: &Data) -> Vec<f64> {
    (0..data.d())
        .map(|j| column_spread(&data.observed(j)))
        .collect()
}

/// The components and dimensions that free scale `i` serves.
fn scale_users(model: &Model, i: usize) -> (Vec<usize>, Vec<usize>) {
    model.family.scale_users(i, model.k, model.d)
}

/// Point `n` in the dimensions `dims`, as `5.1` or `[5.1, 3.5]`.
fn point_text(data: &Data, n: usize, dims: &[usize]) -> String {
    if dims.len() == 1 {
        format!("{}", data.col(dims[0])[n])
    } else {
        let v: Vec<String> = dims
            .iter()
            .map(|&j| format!("{}", data.col(j)[n]))
            .collect();
        format!("[{}]", v.join(", "))
    }
}

/// `3 distinct points`, `1 distinct value in column 0` (`column`: `None` for whole points).
fn distinct_what(u: usize, column: Option<usize>) -> String {
    match column {
        None => format!("{u} distinct point{}", if u == 1 { "" } else { "s" }),
        Some(j) => format!(
            "{u} distinct value{} in column {j}",
            if u == 1 { "" } else { "s" }
        ),
    }
}

/// `k = 1 component`, `k = 3 components`.
fn k_components(k: usize) -> String {
    format!("k = {k} component{}", if k == 1 { "" } else { "s" })
}

/// A column's standard deviation (as `torch.std`), exactly 0 when all its values are equal
/// (where the two-pass variance may leave rounding).
fn column_spread(x: &[f64]) -> f64 {
    if x.iter().all(|v| *v == x[0]) {
        0.0
    } else {
        crate::data::sample_sd(x)
    }
}

/// The remedy named in the errors and warnings: a prior whose density vanishes fast enough
/// at 0 for a likelihood growing like `s^−m` (`m` if known), or sharing the scale across
/// components (when that helps).
fn remedy(model: &Model, m: Option<f64>, sharing_helps: bool) -> String {
    let priors = match m {
        Some(m) => format!(
            "lognormal or inverse_gamma, or gamma with shape > {}",
            1.0 + m
        ),
        None => "lognormal or inverse_gamma".to_string(),
    };
    let share = match model.family.sharing_remedy() {
        Some(share) if sharing_helps => share,
        _ => "",
    };
    let to = if m.is_some() { "" } else { "for a MAP, " };
    format!("{to}use a scale prior that vanishes at 0 ({priors}){share}")
}

/// The weights, scales and loss at `p` (the likelihood weighted by `weight`). An empty
/// component (weight below 1e-8) is an edge. A collapse is a scale below 1e-6 of the data's
/// spread (or any scale of data without spread) whose components sit on single points (in
/// the scale's dimensions: identical points within 10 scales of the location; for a scale
/// every component shares, every point on one): it is degenerate when the scale's prior
/// does not stop it, i.e. when the likelihood grows like `s^−m` there and the prior's density
/// near 0 falls only like `s^a` with `a ≤ m` (see [`Model::map_may_not_exist`]; at `a = m`
/// the density tends to a constant, and the search ended on that edge, not at a mode), and
/// otherwise a mode that gets a warning. A value that is not finite is degenerate.
fn diagnose(
    model: &Model,
    data: &Data,
    weight: f64,
    p: &Params,
    loss: f64,
    spread: &[f64],
    resolution: &[f64],
) -> Diagnosis {
    let mut warnings = Vec::new();
    let names = model.constrained_names();
    let scale_name = |i: usize| names[model.k + model.k * model.d + i].clone();
    let mut tier = Tier::Proper;
    let mut error = None;
    let mut unresolved = None;
    let mut improper = false;
    let n = data.n() as f64 * weight;
    let share = one_point_share(model, n);
    // said after a collapsed scale, the more basic fault, if there is one
    let mut emptied_error = None;
    for (c, &wt) in p.weights.iter().enumerate() {
        if !emptied(model, c, wt, share) {
            continue;
        }
        let alpha = model.alpha[c];
        if alpha < 1.0 {
            tier = Tier::Degenerate;
            emptied_error.get_or_insert_with(|| {
                Error::Unbounded(format!(
                    "no proper mode: the search runs off to weights[{c}] → 0 (stopped at {wt:.1e}, less than one point's share 1/{:.0}), where the Dirichlet prior's concentration {alpha} < 1 makes the density unbounded: the component is emptied, not fitted; use a concentration of at least 1 ([weights] concentration = 1){}, or sample the posterior (bgmm sample), which is proper",
                    1.0 / share,
                    if model.k > 1 {
                        format!(" or fewer components (k = {})", model.k - 1)
                    } else {
                        String::new()
                    }
                ))
            });
        } else {
            tier = tier.max(Tier::Edge);
            warnings.push(format!(
                "weights[{c}] = {wt:.3e}: the component is empty (it holds less than half a point)"
            ));
        }
    }
    for i in 0..model.n_scales() {
        let (t, s) = (narrowest(model, resolution, i), p.scales[i]);
        // a correlation's value (covariance families) serves no dimension: not a scale
        if s < t && !scale_users(model, i).1.is_empty() {
            tier = tier.max(Tier::Unresolved);
            let (_, dims) = scale_users(model, i);
            let j = dims
                .iter()
                .copied()
                .max_by(|&a, &b| resolution[a].total_cmp(&resolution[b]))
                .unwrap_or(0);
            unresolved.get_or_insert_with(|| {
                format!(
                    "{} = {s:.3e} is narrower than the data's resolution: column {j} is recorded to {} (rounding alone spreads it by {}/√12 = {t:.3e}), so this component sits on tied values",
                    scale_name(i),
                    resolution[j],
                    resolution[j]
                )
            });
        }
    }
    // full and tied covariances: a component whose points lie on a line (a plane, …) has a
    // covariance going singular, where the likelihood is unbounded whatever the scales' prior
    // (LKJ's density vanishes only like a power of the determinant): the sd of column i given
    // the columns before it, the factor's C_ii, goes to 0
    let d = model.d;
    for b in 0..model.family.n_blocks(model.k) {
        let Some(cf) = model.family.cov_factor(&p.scales, b, d) else {
            break;
        };
        let what = if model.family.n_blocks(model.k) < model.k {
            "the tied covariance".to_string()
        } else {
            format!("component {b}'s covariance")
        };
        for i in 1..d {
            let cond = cf[i * d + i];
            let floor = resolution[i] / 12f64.sqrt();
            if cond.is_nan() || cond <= 1e-6 * spread[i] {
                tier = Tier::Degenerate;
                error.get_or_insert_with(|| {
                    Error::Unbounded(format!(
                        "the MAP does not exist: {what} becomes singular (within the component, column {i} is a linear function of the columns before it: it varies by {cond:.3e} given them, where the column spreads by {:.3e}), and there the likelihood is unbounded; use the inverse Wishart prior ([covariance] prior = \"inverse_wishart\", whose density vanishes at a singular covariance), the tied or a diagonal family, or leave out a column that is a linear function of others",
                        spread[i]
                    ))
                });
            } else if cond < floor {
                tier = tier.max(Tier::Unresolved);
                unresolved.get_or_insert_with(|| {
                    format!(
                        "{what} is singular to the data's resolution: column {i} varies by {cond:.3e} given the columns before it, less than rounding to {} alone spreads it ({floor:.3e}), so the component's points lie on a line (a plane, …)",
                        resolution[i]
                    )
                });
            }
        }
    }
    let scale_prior = model.family.scale_prior();
    let power = scale_prior.and_then(ScalePrior::power_at_zero);
    let prior = scale_prior.map(ScalePrior::display).unwrap_or_default();
    for (i, &s) in p.scales.iter().enumerate() {
        let (comps, dims) = scale_users(model, i);
        if dims.is_empty() {
            continue;
        }
        let spread_i = dims.iter().map(|&j| spread[j]).fold(0.0, f64::max);
        // below 1e-6 of the spread the search ran to a collapse; up to 1e-3 a scale may still
        // hold a component on one point alone (the quick model's lognormal prior stops such a
        // spike at e^−(m+1)σ² of the spread: 3e-4 in one dimension, 6e-6 in two)
        let tiny = s < 1e-6 * spread_i || spread_i == 0.0 || s <= 0.0;
        if !(tiny || s < 1e-3 * spread_i) {
            continue;
        }
        // the points each component using this scale sits on
        // (a missing coordinate does not hold a point away from the component: its
        // likelihood does not involve it)
        let near = |c: usize, n: usize| {
            dims.iter().all(|&j| {
                let (x, mu) = (data.col(j)[n], p.locs[c * model.d + j]);
                x.is_nan()
                    || (x - mu).abs() <= 10.0 * s + 4.0 * f64::EPSILON * x.abs().max(mu.abs())
            })
        };
        let same = |a: usize, b: usize| {
            dims.iter().all(|&j| {
                let (x, y) = (data.col(j)[a], data.col(j)[b]);
                x == y || x.is_nan() || y.is_nan()
            })
        };
        let mut held: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut single = true;
        for &c in &comps {
            let pts: Vec<usize> = (0..data.n()).filter(|&n| near(c, n)).collect();
            if let Some(&first) = pts.first() {
                single &= pts.iter().all(|&n| same(first, n));
                held.push((c, pts));
            }
        }
        let all = comps.len() == model.k;
        let covered = if all {
            let mut hit = vec![false; data.n()];
            for (_, pts) in &held {
                for &n in pts {
                    hit[n] = true;
                }
            }
            hit.iter().all(|h| *h)
        } else {
            !held.is_empty()
        };
        if !(single && covered) {
            if !tiny {
                continue;
            }
            // a tiny scale over distinct points (a tight cluster), or one far from any point:
            // a mode, unless the prior's density itself grows without bound at 0
            if let Some(a) = power.filter(|a| *a < 0.0) {
                tier = Tier::Degenerate;
                error.get_or_insert_with(|| {
                    Error::Unbounded(format!(
                        "the MAP does not exist: {} = s → 0 ({s:.3e} where the search stopped), where the {prior} prior's density {} by itself; {}",
                        scale_name(i),
                        ScalePrior::near_zero_text(a),
                        remedy(model, Some(0.0), false)
                    ))
                });
                continue;
            }
            if !(s > 0.0 && s.is_finite()) {
                tier = Tier::Degenerate;
                error.get_or_insert_with(|| {
                    Error::Numerical(format!(
                        "{} = {s:e} after the MAP search: the scale left the floating-point range",
                        scale_name(i)
                    ))
                });
            }
            continue;
        }
        // the likelihood grows like s^−m along this collapse
        let (c, pts) = held
            .iter()
            .max_by_key(|(_, pts)| pts.len())
            .expect("held is not empty");
        let count = if all { data.n() } else { pts.len() };
        let m = weight * (count * dims.len()) as f64;
        let n0 = pts[0];
        let copies = if pts.len() > 1 {
            format!(", {} identical points", pts.len())
        } else {
            String::new()
        };
        let distinct = if all {
            let mut reps: Vec<usize> = Vec::new();
            for (_, pts) in &held {
                if !reps.iter().any(|&r| same(r, pts[0])) {
                    reps.push(pts[0]);
                }
            }
            reps.len()
        } else {
            0
        };
        // a component alone on one point (not repeated), its scale kept from 0 by the prior: a
        // mode, but a spike whose likelihood grows as its scale falls, set aside for any mode
        // without one; every component on a point (the data have at most K distinct points)
        // is said below
        let alone = |tier: &mut Tier, unresolved: &mut Option<String>| {
            *tier = (*tier).max(Tier::Spike);
            unresolved.get_or_insert_with(|| {
                format!(
                    "{} = {s:.3e}: component {c} sits on point {n0} alone (x = {}{copies}); the {prior} prior keeps the density bounded there, so this is a mode, but of a single point{}",
                    scale_name(i),
                    point_text(data, n0, &dims),
                    if spread_i > 0.0 {
                        format!(", its scale {:.1e} of the data's spread", s / spread_i)
                    } else {
                        String::new()
                    }
                )
            });
        };
        // a component on several identical points is a collapse on tied values, which the
        // data's resolution judges
        let one_copy = pts.len() == 1;
        if !tiny {
            if !all && one_copy {
                alone(&mut tier, &mut unresolved);
            }
            continue;
        }
        // one scale for every component stops this collapse unless the data have at most K
        // distinct points
        let all_dims: Vec<usize> = (0..model.d).collect();
        let sharing_helps = distinct_up_to(data, &all_dims, model.k).is_none();
        match power {
            // m = a: the density tends to a constant at the edge, the search ended there
            Some(a) if m >= a => {
                tier = Tier::Degenerate;
                // the posterior mass near the collapse: integrating each sitting component's
                // location over the scale's coordinates takes s^(dims) off the growth, so the
                // density is integrable there (a proper posterior, a sampler can run) iff
                // a − (m − sitting·dims) > −1
                let sitting = if all { distinct } else { 1 };
                improper |= a - (m - (sitting * dims.len()) as f64) <= -1.0;
                let growth = format!(
                    "the likelihood grows like s^-{m} as s → 0 while the {prior} prior's density {}",
                    ScalePrior::near_zero_text(a)
                );
                let unbounded = if m > a {
                    "the density is unbounded"
                } else {
                    "the density does not fall (it tends to its supremum)"
                };
                let msg = if all {
                    format!(
                        "the MAP does not exist: the data have only {} for {}, so with every component on one of them (component {c} on point {n0}, x = {}) {unbounded} as {} = s → 0 ({s:.3e} where the search stopped): {growth}; {}",
                        distinct_what(distinct, (dims.len() < model.d).then(|| dims[0])),
                        k_components(model.k),
                        point_text(data, n0, &dims),
                        scale_name(i),
                        remedy(model, Some(m), false)
                    )
                } else {
                    format!(
                        "the MAP does not exist: component {c} collapses on point {n0} (x = {}{copies}) as {} = s → 0 ({s:.3e} where the search stopped), where {unbounded}: {growth}; {}",
                        point_text(data, n0, &dims),
                        scale_name(i),
                        remedy(model, Some(m), sharing_helps)
                    )
                };
                error.get_or_insert(Error::Unbounded(msg));
            }
            // a mode of a bounded density: every component on a point is said; one component
            // alone on a point is set aside
            _ if !all && one_copy => alone(&mut tier, &mut unresolved),
            _ if !all => warnings.push(format!(
                "{} = {s:.3e}: component {c} sits on point {n0} alone (x = {}{copies}); the {prior} prior keeps the density bounded there, so this is a mode, but of a single point",
                scale_name(i),
                point_text(data, n0, &dims)
            )),
            _ => {
                warnings.push(format!(
                    "{} = {s:.3e}: every component sits on a data point (the data have {} for {}); the {prior} prior keeps the density bounded, so this is a mode, but with a scale far below the data's spread",
                    scale_name(i),
                    distinct_what(distinct, (dims.len() < model.d).then(|| dims[0])),
                    k_components(model.k)
                ));
            }
        }
    }
    if tier < Tier::Spike {
        if let Some((c, ratio, held)) = spurious_component(model, data, weight, p, spread) {
            tier = Tier::Spike;
            unresolved.get_or_insert_with(|| {
                format!(
                    "component {c} holds {held:.1} points and fits them {ratio:.1e} times as narrowly as the data spread along its narrowest axis (a few points close together or on a line: a spurious mode, its likelihood gained by a shape no cluster has)"
                )
            });
        }
    }
    let finite = loss.is_finite()
        && p.weights.iter().all(|w| w.is_finite())
        && p.locs.iter().all(|v| v.is_finite())
        && model.family.check(&p.scales, model.d).is_ok();
    if !finite {
        tier = Tier::Degenerate;
        error.get_or_insert_with(|| {
            Error::Numerical(format!(
                "the MAP search ended at a point where the loss or a parameter is not finite (loss {loss})"
            ))
        });
    }
    Diagnosis {
        tier,
        warnings,
        error: error.or(emptied_error),
        unresolved,
        improper,
    }
}

/// Fewer points than this many per dimension plus one make a component "small" for
/// [`spurious_component`].
const SPURIOUS_POINTS_PER_DIM: f64 = 5.0;

/// A small component's narrowest axis below this share of the data's spread along it is
/// spurious ([`spurious_component`]).
const SPURIOUS_RATIO: f64 = 1e-2;

/// A spurious component (McLachlan and Peel 2000, §3.10: a local maximiser whose component
/// fits a few points lying close together or on a lower-dimensional subspace): a component
/// with its own shape (the `component`, `diagonal` and `full` families), holding fewer than
/// 5·(D + 1) points, whose sd along its narrowest axis is below 1 % of the data's sd along that
/// axis. Its likelihood grows as the shape narrows and the prior alone stops it, so it is set
/// aside like a spike for any mode without one. (component, ratio, points held).
fn spurious_component(
    model: &Model,
    data: &Data,
    weight: f64,
    p: &Params,
    spread: &[f64],
) -> Option<(usize, f64, f64)> {
    use crate::family::CovarianceFamily as F;
    if !matches!(model.family.choice(), F::Component | F::Diagonal | F::Full) {
        return None;
    }
    let d = model.d;
    let n = data.n() as f64 * weight;
    let few = SPURIOUS_POINTS_PER_DIM * (d as f64 + 1.0);
    let mut cov: Option<Vec<f64>> = None;
    let mut worst: Option<(usize, f64, f64)> = None;
    for c in 0..model.k {
        let held = n * p.weights[c];
        if held >= few || !held.is_finite() {
            continue;
        }
        // axis-aligned: the narrowest axis is a column's, against that column's spread (no
        // D×D matrix: wide data stay linear)
        let Some(sigma) = model.family.covariance(&p.scales, c, d) else {
            let ratio = (0..d)
                .filter(|&j| spread[j] > 0.0)
                .map(|j| model.family.scale(&p.scales, c, j, d) / spread[j])
                .fold(f64::INFINITY, f64::min);
            if ratio < SPURIOUS_RATIO && worst.is_none_or(|w| ratio < w.1) {
                worst = Some((c, ratio, held));
            }
            continue;
        };
        let (lambda, v) = smallest_eigen(&sigma, d);
        let s = cov.get_or_insert_with(|| data_covariance(data));
        let along: f64 = (0..d)
            .map(|i| (0..d).map(|j| v[i] * s[i * d + j] * v[j]).sum::<f64>())
            .sum();
        if along.is_nan() || along <= 0.0 {
            continue;
        }
        let ratio = (lambda.max(0.0) / along).sqrt();
        if ratio < SPURIOUS_RATIO && worst.is_none_or(|w| ratio < w.1) {
            worst = Some((c, ratio, held));
        }
    }
    worst
}

/// The data's covariance matrix (row-major D×D), each entry over the rows where both its
/// columns are observed.
fn data_covariance(data: &Data) -> Vec<f64> {
    let d = data.d();
    let mut out = vec![0.0; d * d];
    for a in 0..d {
        for b in 0..=a {
            let (x, y) = (data.col(a), data.col(b));
            let pairs: Vec<(f64, f64)> = x
                .iter()
                .zip(y)
                .filter(|(u, v)| !u.is_nan() && !v.is_nan())
                .map(|(u, v)| (*u, *v))
                .collect();
            if pairs.len() < 2 {
                continue;
            }
            let m = pairs.len() as f64;
            let (mx, my) = pairs
                .iter()
                .fold((0.0, 0.0), |(p, q), (u, v)| (p + u / m, q + v / m));
            let c = pairs.iter().map(|(u, v)| (u - mx) * (v - my)).sum::<f64>() / (m - 1.0);
            out[a * d + b] = c;
            out[b * d + a] = c;
        }
    }
    out
}

/// The smallest eigenvalue of the symmetric D×D matrix `m` (row-major) and a unit
/// eigenvector, by cyclic Jacobi rotations.
fn smallest_eigen(m: &[f64], d: usize) -> (f64, Vec<f64>) {
    let mut a = m.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..50 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j].powi(2))
            .sum();
        let scale: f64 = (0..d).map(|i| a[i * d + i].powi(2)).sum();
        if off <= 1e-30 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let i = (0..d)
        .min_by(|&x, &y| a[x * d + x].total_cmp(&a[y * d + y]))
        .unwrap_or(0);
    (a[i * d + i], (0..d).map(|k| v[k * d + i]).collect())
}

/// The bit patterns of row `i` in the dimensions `dims` (−0 and 0 alike).
fn row_key(data: &Data, i: usize, dims: &[usize]) -> Vec<u64> {
    dims.iter()
        .map(|&j| (data.col(j)[i] + 0.0).to_bits())
        .collect()
}

/// The number of distinct rows of `data` in the dimensions `dims`, if at most `k`.
fn distinct_up_to(data: &Data, dims: &[usize], k: usize) -> Option<usize> {
    let mut seen: Vec<Vec<u64>> = Vec::new();
    for i in 0..data.n() {
        let key = row_key(data, i, dims);
        if !seen.contains(&key) {
            if seen.len() == k {
                return None;
            }
            seen.push(key);
        }
    }
    Some(seen.len())
}

/// Whether the density of `model` given `data` (the likelihood weighted by `weight`) is
/// unbounded because a scale can collapse on a point (see [`Model::map_may_not_exist`]),
/// and, if so, where: exact for these data.
pub fn unbounded_density(model: &Model, data: &Data, weight: f64) -> Option<String> {
    let scale_prior = model.family.scale_prior()?;
    let a = scale_prior.power_at_zero()?;
    let prior = scale_prior.display();
    let (k, d, n) = (model.k, model.d, data.n());
    let key = |i: usize, dims: &[usize]| row_key(data, i, dims);
    let all_dims: Vec<usize> = (0..d).collect();
    let few_distinct = |dims: &[usize]| distinct_up_to(data, dims, k);
    // the most repeated row (in `dims`) if it has at least `need` copies: (index, count)
    let repeated = |dims: &[usize], need: usize| -> Option<(usize, usize)> {
        if need <= 1 {
            return Some((0, 1));
        }
        let mut counts: std::collections::HashMap<Vec<u64>, (usize, usize)> =
            std::collections::HashMap::new();
        for i in 0..n {
            counts.entry(key(i, dims)).or_insert((i, 0)).1 += 1;
        }
        counts
            .into_values()
            .filter(|&(_, c)| c >= need)
            .max_by_key(|&(i, c)| (c, std::cmp::Reverse(i)))
    };
    // whether one scale serves every component, and each scale one dimension
    let (first_comps, first_dims) = scale_users(model, 0);
    let shared_scale = first_comps.len() == k;
    let per_dim = first_dims.len() == 1;
    let dim_sets: Vec<Vec<usize>> = if per_dim {
        (0..d).map(|j| vec![j]).collect()
    } else {
        vec![all_dims]
    };
    for dims in &dim_sets {
        let m1 = weight * dims.len() as f64;
        if shared_scale {
            if weight * (n * dims.len()) as f64 > a {
                if let Some(u) = few_distinct(dims) {
                    return Some(format!(
                        "the data have only {} for {}, so with every component on one of them the density is unbounded as the scale → 0 under the {prior} prior",
                        distinct_what(u, (dims.len() < d).then(|| dims[0])),
                        k_components(k)
                    ));
                }
            }
        } else {
            // r identical points give s^−(r·m1): unbounded when r·m1 > a
            let need = (a / m1).floor() as usize + 1;
            if let Some((i, r)) = repeated(dims, need) {
                return Some(format!(
                    "a component can collapse on point {i} (x = {}{}) with its scale → 0, where the density is unbounded under the {prior} prior",
                    point_text(data, i, dims),
                    if r > 1 { format!(", {r} identical points") } else { String::new() }
                ));
            }
        }
    }
    None
}

/// The last step of every fit: a degenerate end point is an error (the MAP does not exist,
/// or the search left the floating-point range); else the edges found become warnings, and
/// if the density is unbounded on these data the mode is said to be a local one.
fn finish(model: &Model, data: &Data, weight: f64, f: Fit, opts: &FitOptions) -> Result<Fit> {
    let dg = diagnose(
        model,
        data,
        weight,
        &f.params,
        f.loss,
        &spreads(data),
        &f.resolution,
    );
    finish_diagnosed(model, data, weight, f, dg, opts)
}

/// [`finish`] with the end point's diagnosis already made.
fn finish_diagnosed(
    model: &Model,
    data: &Data,
    weight: f64,
    mut f: Fit,
    dg: Diagnosis,
    opts: &FitOptions,
) -> Result<Fit> {
    if dg.tier == Tier::Degenerate {
        return Err(dg.error.unwrap_or_else(|| {
            Error::Numerical("the MAP search ended at a degenerate point".into())
        }));
    }
    if let (Tier::Unresolved, Some(why)) = (dg.tier, &dg.unresolved) {
        return Err(Error::NoProperMode(format!(
            "no proper mode: every mode the search found has a component narrower than the data's resolution; the best: {why}; use fewer components, or set `resolution` to 0 to keep such a mode"
        )));
    }
    let set_aside = std::mem::replace(&mut f.warnings, dg.warnings);
    f.warnings.extend(set_aside);
    if let (Tier::Spike, Some(why)) = (dg.tier, &dg.unresolved) {
        f.spike = Some(why.clone());
        f.warnings.push(format!(
            "{why}; every mode the search found has such a spike, so this one is returned (fewer components may fit the data without one)"
        ));
    }
    if !f.converged && opts.polish {
        f.warnings.push(format!(
            "not converged: the polish stopped with max |gradient| {:.1e} above the tolerance {:.1e} ({}), so this point is near a mode but not at it; another `seed` or a looser `grad_tol` may help",
            f.grad_norm,
            opts.grad_tol * f.loss.abs().max(1.0),
            f.message
        ));
    }
    // a Dirichlet concentration below 1 has density → ∞ as a weight → 0, while the likelihood
    // stays finite with that component emptied: the density is unbounded at the simplex's edge
    let below_one = model
        .alpha
        .iter()
        .copied()
        .filter(|a| *a < 1.0)
        .reduce(f64::min);
    if let Some(alpha) = below_one.filter(|_| model.k >= 2) {
        f.warnings.push(format!(
            "this is a local mode, not the MAP, which does not exist: the Dirichlet prior's concentration {alpha} < 1 makes the density unbounded as a weight → 0 (a component emptied), so no mode is the MAP; for a MAP that exists, use a concentration ≥ 1"
        ));
    }
    if let Some(why) = unbounded_density(model, data, weight) {
        f.warnings.push(format!(
            "this is a local mode, not the MAP, which does not exist: {why}; {}",
            remedy(
                model,
                None,
                distinct_up_to(data, &(0..model.d).collect::<Vec<_>>(), model.k).is_none()
            )
        ));
    }
    Ok(f)
}

#[cfg(test)]
mod rounding {
    use super::newton_gain;

    /// On a quadratic `½ xᵀAx − bᵀx` the Newton gain is `½ gᵀA⁻¹g` exactly (central
    /// differences of a linear gradient are exact to rounding); an indefinite `A` has no mode,
    /// so no gain; too much work, none either.
    #[test]
    fn newton_gain_is_half_the_newton_decrement() {
        let quad = |a: [[f64; 3]; 3]| {
            move |x: &[f64], g: &mut [f64]| -> f64 {
                let b = [1.0, -2.0, 0.5];
                let mut f = 0.0;
                for i in 0..3 {
                    g[i] = (0..3).map(|j| a[i][j] * x[j]).sum::<f64>() - b[i];
                    f += 0.5 * x[i] * (g[i] - b[i]);
                }
                f
            }
        };
        let a = [[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]];
        let x = [0.3, -0.2, 1.1];
        let mut g = [0.0; 3];
        quad(a)(&x, &mut g);
        // A⁻¹g by Cramer's rule
        let det = |m: [[f64; 3]; 3]| {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        };
        let d = det(a);
        let want: f64 = (0..3)
            .map(|i| {
                let mut m = a;
                for r in 0..3 {
                    m[r][i] = g[r];
                }
                0.5 * g[i] * det(m) / d
            })
            .sum();
        let got = newton_gain(&mut quad(a), &x, 10, 1).unwrap();
        assert!((got - want).abs() <= 1e-8 * want, "{got} against {want}");
        let indefinite = [[4.0, 1.0, 0.0], [1.0, -3.0, 0.5], [0.0, 0.5, 2.0]];
        assert!(newton_gain(&mut quad(indefinite), &x, 10, 1).is_none());
        assert!(newton_gain(&mut quad(a), &x, 1_000_000_000, 1).is_none());
        let wide = vec![0.0; super::NEWTON_MAX_DIM + 1];
        assert!(newton_gain(&mut |_: &[f64], _: &mut [f64]| 0.0, &wide, 1, 1).is_none());
    }
}

#[cfg(test)]
mod em {
    use super::*;
    use crate::ModelSpec;

    fn model(scale: &str, k: usize, d: usize) -> Model {
        let spec: ModelSpec = serde_json::from_str(&format!(
            r#"{{"k": {k}, "weights": {{"concentration": 2.0}},
                "locs": {{"loc": 0.0, "scale": 6.0}}, "scale": {{{scale}}}}}"#
        ))
        .unwrap();
        spec.build(Some(d)).unwrap()
    }

    /// On enough points for EM passes (N·K ≥ [`EM_MIN_WORK`]), every family: the polish with
    /// EM passes first ends at the mode plain L-BFGS reaches from the same start (loss to
    /// 1e-10 relative, parameters to 1e-4), its EM losses never rise, and where the
    /// components are apart it takes fewer passes over the data than L-BFGS iterations.
    #[test]
    fn em_passes_reach_the_lbfgs_mode_in_fewer_passes() {
        let (k, d, n) = (3, 3, 100_000);
        for scale in [
            r#""sharing": "diagonal", "prior": "lognormal", "mu": 0.0, "sigma": 0.5"#,
            r#""sharing": "shared", "prior": "lognormal", "mu": 0.0, "sigma": 0.5"#,
            r#""sharing": "full", "prior": "lognormal", "mu": 0.0, "sigma": 0.5, "eta": 2.0"#,
            r#""sharing": "tied", "prior": "inverse_wishart", "df": 6.0, "scale": 1.0"#,
        ] {
            let m = model(scale, k, d);
            let sim = crate::simulate::simulate(&m, n, 7).unwrap();
            let dens = MixtureDensity::new(&m, &sim.data, false);
            let guard = Guard::new(&m, n as f64, &vec![0.0; d]);
            let t = dens.transform();
            // a start near the truth, as the subsample's mode is
            let x0: Vec<f64> = t
                .pack(&sim.params)
                .iter()
                .enumerate()
                .map(|(i, v)| v + 0.05 * ((i % 5) as f64 - 2.0))
                .collect();
            let opts = FitOptions::default();
            let mut h = History::default();
            let run = polish(&dens, &guard, x0.clone(), &opts, &mut h);
            assert!(run.converged, "{scale}: {}", run.message);
            let em: Vec<f64> = h.polish_loss.clone();
            assert!(
                em.windows(2).all(|w| w[1] <= w[0] + 1e-12 * w[0].abs()),
                "{em:?}"
            );
            let tol = opts.grad_tol * run.loss.abs();
            let plain = lbfgs(
                &mut objective(&dens, &guard),
                &x0,
                &LbfgsOptions {
                    grad_tol: tol,
                    max_iter: 2000,
                    f_tol: 0.0,
                    ..LbfgsOptions::default()
                },
            );
            assert!(plain.converged, "{scale}: {}", plain.message);
            assert!(
                (run.loss - plain.f).abs() <= 1e-10 * plain.f.abs(),
                "{scale}: {} vs {}",
                run.loss,
                plain.f
            );
            let (a, b) = (t.params(&run.x).flat(), t.params(&plain.x).flat());
            for (u, v) in a.iter().zip(&b) {
                assert!(
                    (u - v).abs() <= 1e-4 * v.abs().max(1.0),
                    "{scale}: {u} vs {v}"
                );
            }
            assert!(
                run.polish_iterations < plain.iterations,
                "{scale}: {} EM passes and iterations against {} L-BFGS iterations",
                run.polish_iterations,
                plain.iterations
            );
        }
    }
}

#[cfg(test)]
mod spurious {
    use super::*;

    /// Jacobi's smallest eigenpair against the closed form of a 2×2 matrix and a rotated
    /// diagonal 3×3 one.
    #[test]
    fn smallest_eigenpair() {
        let (l, v) = smallest_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((l - 1.0).abs() < 1e-14);
        assert!((v[0].abs() - 0.5f64.sqrt()).abs() < 1e-14 && (v[0] + v[1]).abs() < 1e-14);
        // R diag(5, 0.01, 2) Rᵀ, R a rotation about the axis (1, 1, 1)/√3 by 0.7
        let (c, s) = (0.7f64.cos(), 0.7f64.sin());
        let k = 1.0 / 3f64.sqrt();
        let u = [k, k, k];
        let mut r = [0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                let cross = match (i, j) {
                    (0, 1) => -u[2],
                    (0, 2) => u[1],
                    (1, 0) => u[2],
                    (1, 2) => -u[0],
                    (2, 0) => -u[1],
                    (2, 1) => u[0],
                    _ => 0.0,
                };
                r[i * 3 + j] = if i == j { c } else { 0.0 } + s * cross + (1.0 - c) * u[i] * u[j];
            }
        }
        let diag = [5.0, 0.01, 2.0];
        let m: Vec<f64> = (0..9)
            .map(|e| {
                (0..3)
                    .map(|q| r[(e / 3) * 3 + q] * diag[q] * r[(e % 3) * 3 + q])
                    .sum()
            })
            .collect();
        let (l, v) = smallest_eigen(&m, 3);
        assert!((l - 0.01).abs() < 1e-13, "{l}");
        let dot: f64 = (0..3).map(|i| v[i] * r[i * 3 + 1]).sum();
        assert!((dot.abs() - 1.0).abs() < 1e-12);
    }

    /// Two clusters of 100 points and a third component on 3 points nearly on a line: spurious
    /// with a full covariance fitted to the line (its minor sd 1e-4 of the data's), not with a
    /// round one of their own size, nor with many points.
    #[test]
    fn a_few_points_on_a_line_are_a_spurious_component() {
        let spec: crate::ModelSpec = serde_json::from_str(
            r#"{"k": 3, "weights": {"concentration": 1.0},
                "locs": {"loc": 0.0, "scale": 10.0},
                "scale": {"sharing": "full", "prior": "lognormal", "mu": 0.0, "sigma": 2.0, "eta": 1.0}}"#,
        )
        .unwrap();
        let model = spec.build(Some(2)).unwrap();
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let t = (i as f64 * 0.618).fract() - 0.5;
            let u = (i as f64 * 0.414).fract() - 0.5;
            let centre = if i < 100 { -4.0 } else { 4.0 };
            x.push(centre + 2.0 * t);
            y.push(2.0 * u);
        }
        let data = Data::from_columns(vec![x, y]).unwrap();
        let n = data.n() as f64;
        let make = |minor: f64, w2: f64| {
            // component 2's covariance: major sd 1 along (1, 1), minor sd `minor` across
            let (l1, l2) = (1.0, minor * minor);
            let s = [
                0.5 * (l1 + l2),
                0.5 * (l1 - l2),
                0.5 * (l1 - l2),
                0.5 * (l1 + l2),
            ];
            let mut values = Vec::new();
            for c in 0..3 {
                let m = if c == 2 {
                    s.to_vec()
                } else {
                    vec![0.33, 0.0, 0.0, 0.33]
                };
                values.extend(crate::family::block_of_covariance(&m, 2));
            }
            Params {
                weights: vec![(1.0 - w2) / 2.0, (1.0 - w2) / 2.0, w2],
                locs: vec![-4.0, 0.0, 4.0, 0.0, 0.0, 0.0],
                scales: values,
            }
        };
        let thin = make(1e-4, 3.0 / n);
        let found =
            spurious_component(&model, &data, 1.0, &thin, &spreads(&data)).expect("spurious");
        assert_eq!(found.0, 2);
        assert!((found.2 - 3.0).abs() < 1e-9);
        assert!(
            spurious_component(&model, &data, 1.0, &make(0.5, 3.0 / n), &spreads(&data)).is_none()
        );
        assert!(
            spurious_component(&model, &data, 1.0, &make(1e-4, 40.0 / n), &spreads(&data))
                .is_none()
        );
    }
}
