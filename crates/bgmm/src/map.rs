//! MAP estimation with the assignments summed out exactly: R initial points screened by their
//! loss (as Pyro's tutorial), the best few optimised by Adam (Pyro's `AutoDelta` + `SVI`) and
//! an L-BFGS polish until the gradient vanishes, so each answer is a mode itself; the lowest
//! proper mode wins.
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
use crate::model::Model;
use crate::optim::{lbfgs, Adam, LbfgsOptions};
use crate::params::Params;

/// Options of [`fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Number of initial points screened by their initial loss (Pyro's tutorial: 100).
    pub restarts: usize,
    /// How initial points are drawn.
    pub init: Init,
    /// The best `candidates` restarts by initial loss are optimised fully and the lowest final
    /// loss wins (Pyro's tutorial optimises only the best one: `candidates = 1`).
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
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            restarts: 100,
            init: Init::Pyro,
            candidates: 10,
            steps: 200,
            lr: 0.1,
            betas: (0.8, 0.99),
            polish: true,
            grad_tol: 1e-9,
            max_polish_iter: 2000,
            seed: 0,
            subsample: 5_000,
        }
    }
}

impl FitOptions {
    fn validate(&self) -> Result<()> {
        if self.restarts == 0 {
            return Err(Error::Option("--restarts must be at least 1".into()));
        }
        if self.candidates == 0 {
            return Err(Error::Option("--candidates must be at least 1".into()));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::Option(format!(
                "--lr must be positive and finite, got {}",
                self.lr
            )));
        }
        let (b1, b2) = self.betas;
        if !((0.0..1.0).contains(&b1) && (0.0..1.0).contains(&b2)) {
            return Err(Error::Option(format!(
                "--betas must both be in [0, 1), got {b1},{b2}"
            )));
        }
        if !(self.grad_tol.is_finite() && self.grad_tol > 0.0) {
            return Err(Error::Option(format!(
                "--grad-tol must be positive, got {}",
                self.grad_tol
            )));
        }
        Ok(())
    }
}

/// Optimisation history, as the seeds record it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    /// Loss at each Adam step (before the update, as `svi.step` returns it).
    pub loss: Vec<f64>,
    /// Norm of the loss gradient per site (`weights`, `locs`, `scale`) on the unconstrained
    /// space at each Adam step (the tutorial's gradient-norm hooks).
    pub grad_norm: BTreeMap<String, Vec<f64>>,
    /// Loss after each L-BFGS iteration of the polish (its start first).
    pub polish_loss: Vec<f64>,
    /// Initial loss of every restart, in restart order.
    pub restart_loss: Vec<f64>,
    /// (restart, final loss) of every fully optimised candidate, best initial loss first.
    #[serde(default)]
    pub candidate_loss: Vec<(usize, f64)>,
    /// The search ran on this many evenly spaced points (losses above scaled to all of them);
    /// `polish_loss` ends with the polish on all the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsample: Option<usize>,
}

/// A MAP fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The mode.
    pub params: Params,
    /// `−log p(x, θ)` at the mode.
    pub loss: f64,
    /// The gradient test passed at the end.
    pub converged: bool,
    /// Max-abs gradient of the loss on the unconstrained space at the end.
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
    /// Warnings about the mode (a weight or scale at the edge of its support).
    pub warnings: Vec<String>,
}

fn site_norms(model: &Model, g: &[f64]) -> [f64; 3] {
    let (k, d) = (model.k, model.d);
    let n = |s: &[f64]| s.iter().map(|v| v * v).sum::<f64>().sqrt();
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

/// Fit the MAP of `model` to `data`.
pub fn fit(model: &Model, data: &Data, opts: &FitOptions) -> Result<Fit> {
    fit_with_progress(model, data, opts, &|_| {})
}

/// [`fit`], calling `progress` as restarts are screened and candidates optimised (from
/// worker threads).
pub fn fit_with_progress(
    model: &Model,
    data: &Data,
    opts: &FitOptions,
    progress: &(dyn Fn(FitProgress) + Sync),
) -> Result<Fit> {
    opts.validate()?;
    check_data(model, data)?;
    if let Some((shift, c)) = badly_scaled(data) {
        return fit_standardised(model, data, opts, progress, &shift, c);
    }
    fit_scaled_well(model, data, opts, progress)
}

/// Data whose spread is far from 1 or whose centre is far from 0 relative to its spread: the
/// optimisers' steps and tolerances are in absolute units of the unconstrained space, so such
/// data are fitted standardised. Returns the per-dimension shift (the means) and one common
/// factor (the geometric mean of the standard deviations; one factor, as a shared scale spans
/// every dimension).
fn badly_scaled(data: &Data) -> Option<(Vec<f64>, f64)> {
    let mut shift = Vec::with_capacity(data.d());
    let mut log_sd = 0.0;
    for j in 0..data.d() {
        let (m, v) = crate::data::mean_var(data.col(j));
        shift.push(m);
        log_sd += 0.5 * v.max(f64::MIN_POSITIVE).ln();
    }
    let c = (log_sd / data.d() as f64).exp();
    let far = shift.iter().any(|m| m.abs() > 1e3 * c);
    if !(c.is_finite() && c > 0.0) || (!far && (1e-3..=1e3).contains(&c)) {
        return None;
    }
    Some((shift, c))
}

/// [`fit`] of data standardised by `shift` and `c`, mapped back.
fn fit_standardised(
    model: &Model,
    data: &Data,
    opts: &FitOptions,
    progress: &(dyn Fn(FitProgress) + Sync),
    shift: &[f64],
    c: f64,
) -> Result<Fit> {
    let std_model = model.standardised(shift, c)?;
    let cols = (0..data.d())
        .map(|j| data.col(j).iter().map(|x| (x - shift[j]) / c).collect())
        .collect();
    let std_data = Data::from_columns(cols)?;
    let mut f = fit_scaled_well(&std_model, &std_data, opts, progress)?;
    let back = |p: &Params| Params {
        weights: p.weights.clone(),
        locs: p
            .locs
            .iter()
            .enumerate()
            .map(|(i, l)| l * c + shift[i % model.d])
            .collect(),
        scales: p.scales.iter().map(|s| s * c).collect(),
    };
    let dloss = (data.n() * model.d + model.k * model.d + model.n_scales()) as f64 * c.ln();
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
    f.warnings = mode_warnings(model, data, &f.params);
    Ok(f)
}

fn fit_scaled_well(
    model: &Model,
    data: &Data,
    opts: &FitOptions,
    progress: &(dyn Fn(FitProgress) + Sync),
) -> Result<Fit> {
    let n = data.n();
    // at least 200 points per component in the subsample
    let m = opts.subsample.max(200 * model.k);
    if opts.subsample > 0 && n >= 5 * m {
        let idx: Vec<usize> = (0..m).map(|i| i * n / m).collect();
        let cols = (0..data.d())
            .map(|j| idx.iter().map(|&i| data.col(j)[i]).collect())
            .collect();
        let sub = Data::from_columns(cols)?;
        let weight = n as f64 / m as f64;
        let mut f = search(model, &sub, weight, opts, progress)?;
        progress(FitProgress {
            stage: "polish on all the data",
            done: 0,
            total: 1,
        });
        // then the polish on all the data, from the subsample's mode
        let t = Transform::new(model);
        let x = t.pack(&f.params);
        let dens = MixtureDensity::new(model, data, false);
        let run = polish(&dens, x, opts, &mut f.history);
        f.history.subsample = Some(m);
        f.params = t.params(&run.x);
        f.loss = run.loss;
        f.converged = run.converged;
        f.grad_norm = run.grad_norm;
        f.polish_iterations += run.polish_iterations;
        f.message = run.message;
        f.warnings = mode_warnings(model, data, &f.params);
        return Ok(f);
    }
    search(model, data, 1.0, opts, progress)
}

/// [`fit`] with the likelihood weighted by `weight`: `data` is a sample standing for
/// `weight` times as many points (no further subsampling).
pub fn fit_weighted(model: &Model, data: &Data, weight: f64, opts: &FitOptions) -> Result<Fit> {
    opts.validate()?;
    check_data(model, data)?;
    search(model, data, weight, opts, &|_| {})
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

/// Maximise a stochastic log density (each call a new minibatch estimate, e.g. Pyro's
/// subsampled plate) by Adam with a decaying learning rate, from `x0`; returns the average of
/// the last iterates and the loss estimate of every step. `progress(step)` is called after
/// each step.
pub fn stochastic<L: LogDensity + ?Sized>(
    dens: &L,
    x0: &[f64],
    opts: &StochasticOptions,
    progress: &dyn Fn(usize),
) -> Result<(Vec<f64>, Vec<f64>)> {
    if opts.steps == 0 {
        return Err(Error::Option("--steps must be at least 1".into()));
    }
    let dim = dens.dim();
    let mut x = x0.to_vec();
    let mut adam = Adam::new(dim, opts.lr, opts.betas.0, opts.betas.1);
    let decay = opts.final_lr_ratio.powf(1.0 / opts.steps as f64);
    let mut g = vec![0.0; dim];
    let mut losses = Vec::with_capacity(opts.steps);
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

/// Restarts, candidates, the winner: [`fit`] on `data` whose likelihood has weight `weight`.
fn search(
    model: &Model,
    data: &Data,
    weight: f64,
    opts: &FitOptions,
    progress: &(dyn Fn(FitProgress) + Sync),
) -> Result<Fit> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let done = AtomicUsize::new(0);
    let dens = MixtureDensity::new(model, data, false).with_weight(weight);
    let t = Transform::new(model);

    // 1. screen the restarts by initial loss
    let inits: Vec<(Params, f64)> = (0..opts.restarts)
        .into_par_iter()
        .map(|r| {
            let p = initial_point(model, data, opts.init, opts.seed, r);
            let loss = -dens.logp(&t.pack(&p));
            progress(FitProgress {
                stage: "restarts",
                done: done.fetch_add(1, Ordering::Relaxed) + 1,
                total: opts.restarts,
            });
            (p, loss)
        })
        .collect();
    let restart_loss: Vec<f64> = inits.iter().map(|(_, l)| *l).collect();
    let mut order: Vec<usize> = (0..inits.len())
        .filter(|&i| restart_loss[i].is_finite())
        .collect();
    if order.is_empty() {
        return Err(Error::Numerical(format!(
            "no finite initial loss in {} restarts: the data are too far from what the priors allow",
            opts.restarts
        )));
    }
    order.sort_by(|&a, &b| restart_loss[a].total_cmp(&restart_loss[b]).then(a.cmp(&b)));
    order.truncate(opts.candidates.max(1));

    // 2. optimise the best candidates fully; each is deterministic, so running them in
    // parallel changes nothing but the wall time
    let done = AtomicUsize::new(0);
    let runs: Vec<Run> = order
        .par_iter()
        .map(|&r| {
            let run = optimise(model, &dens, &t, &inits[r].0, opts);
            progress(FitProgress {
                stage: "candidates",
                done: done.fetch_add(1, Ordering::Relaxed) + 1,
                total: order.len(),
            });
            run
        })
        .collect();
    let candidate_loss: Vec<(usize, f64)> = order
        .iter()
        .zip(&runs)
        .map(|(&r, run)| (r, run.loss))
        .collect();
    // the winner: the lowest loss among proper modes (no empty component, no collapsed scale);
    // among degenerate ones only if every candidate is degenerate
    let warnings: Vec<Vec<String>> = runs
        .iter()
        .map(|run| mode_warnings(model, data, &t.params(&run.x)))
        .collect();
    let pick = |proper: bool| {
        (0..runs.len())
            .filter(|&i| runs[i].loss.is_finite() && (!proper || warnings[i].is_empty()))
            .min_by(|&a, &b| runs[a].loss.total_cmp(&runs[b].loss).then(a.cmp(&b)))
    };
    let w = pick(true).or_else(|| pick(false)).unwrap_or(0);
    let best_restart = order[w];
    let run = runs.into_iter().nth(w).expect("index in range");
    let mut history = run.history;
    history.restart_loss = restart_loss;
    history.candidate_loss = candidate_loss;
    Ok(Fit {
        params: t.params(&run.x),
        loss: run.loss,
        converged: run.converged,
        grad_norm: run.grad_norm,
        best_restart,
        init_params: inits[best_restart].0.clone(),
        steps: run.steps,
        polish_iterations: run.polish_iterations,
        message: run.message,
        history,
        warnings: warnings[w].clone(),
    })
}

/// One optimisation from an initial point.
struct Run {
    x: Vec<f64>,
    loss: f64,
    converged: bool,
    grad_norm: f64,
    steps: usize,
    polish_iterations: usize,
    message: String,
    history: History,
}

/// Adam from `init`, then the L-BFGS polish.
fn optimise(
    model: &Model,
    dens: &MixtureDensity,
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
    for _ in 0..opts.steps {
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
    let steps = history.loss.len();
    for (name, v) in names.iter().zip(norms) {
        history.grad_norm.insert(name.to_string(), v);
    }
    // Adam may end on a worse point than it visited; keep its last point if finite, else the best
    let end_loss = -dens.logp(&x);
    if !end_loss.is_finite() || end_loss > best.0 {
        x = best.1.clone();
    }

    let mut run = polish(dens, x, opts, &mut history);
    run.steps = steps;
    run.history = history;
    run
}

/// The L-BFGS polish from `x` (if `opts.polish`), its losses appended to
/// `history.polish_loss`; returns the end point with its loss and gradient test.
fn polish(dens: &MixtureDensity, x: Vec<f64>, opts: &FitOptions, history: &mut History) -> Run {
    let dim = x.len();
    let mut objective = |x: &[f64], g: &mut [f64]| -> f64 {
        let lp = dens.logp_grad(x, g);
        g.iter_mut().for_each(|v| *v = -*v);
        -lp
    };
    let f_now = {
        let mut g = vec![0.0; dim];
        objective(&x, &mut g)
    };
    let (x, polish_iterations, message) = if opts.polish && f_now.is_finite() {
        let lo = LbfgsOptions {
            grad_tol: opts.grad_tol * f_now.abs().max(1.0),
            max_iter: opts.max_polish_iter,
            // stop on the gradient test (or a line search that can make no progress), not on
            // a small decrease: near the mode the decrease is below rounding long before the
            // gradient is small
            f_tol: 0.0,
            ..LbfgsOptions::default()
        };
        let r = lbfgs(&mut objective, &x, &lo);
        history.polish_loss.extend_from_slice(&r.history);
        // the polish's end may differ from Adam's last point by rounding only; prefer it then
        if r.f.is_finite() && (r.converged || r.f <= f_now + 1e-12 * f_now.abs().max(1.0)) {
            (r.x, r.iterations, r.message)
        } else {
            (x, r.iterations, r.message)
        }
    } else {
        (x, 0, "no polish".to_string())
    };
    let mut g = vec![0.0; dim];
    let loss = objective(&x, &mut g);
    let grad_norm = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let converged = loss.is_finite() && grad_norm <= opts.grad_tol * loss.abs().max(1.0);
    Run {
        x,
        loss,
        converged,
        grad_norm,
        steps: 0,
        polish_iterations,
        message,
        history: History::default(),
    }
}

/// The model and data agree: same dimension, at least K points.
pub fn check_data(model: &Model, data: &Data) -> Result<()> {
    if data.d() != model.d {
        return Err(Error::Data(format!(
            "dimension mismatch: the model has d = {} but the data have {} column{}",
            model.d,
            data.d(),
            if data.d() == 1 { "" } else { "s" }
        )));
    }
    if data.n() < model.k {
        return Err(Error::Data(format!(
            "fewer points ({}) than components (k = {})",
            data.n(),
            model.k
        )));
    }
    Ok(())
}

fn mode_warnings(model: &Model, data: &Data, p: &Params) -> Vec<String> {
    let mut w = Vec::new();
    for (c, &wt) in p.weights.iter().enumerate() {
        if wt < 1e-8 {
            w.push(format!(
                "weights[{c}] = {wt:.3e}: the component is empty{}",
                if model.alpha[c] < 1.0 {
                    " and the Dirichlet prior (concentration < 1) is unbounded there, so this is no proper mode"
                } else {
                    ""
                }
            ));
        }
    }
    let spread: f64 = (0..model.d)
        .map(|j| crate::data::sample_var(data.col(j)).sqrt())
        .fold(0.0, f64::max);
    for (i, &s) in p.scales.iter().enumerate() {
        if s < 1e-6 * spread.max(f64::MIN_POSITIVE) {
            w.push(format!(
                "scale[{i}] = {s:.3e}: a component collapsed on a point; the density may be unbounded"
            ));
        }
    }
    w
}
