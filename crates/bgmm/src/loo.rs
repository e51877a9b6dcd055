//! Predictive accuracy from posterior draws: leave-one-out cross-validation by Pareto-smoothed
//! importance sampling (PSIS-LOO), the widely applicable information criterion (WAIC), and the
//! comparison of models by either, computed as ArviZ 0.23 computes them (`arviz.loo`,
//! `arviz.waic`, `arviz.compare`, `arviz.psislw`), after Vehtari, Gelman and Gabry (2017),
//! "Practical Bayesian model evaluation using leave-one-out cross-validation and WAIC", and
//! Vehtari, Simpson, Gelman, Yao and Gabry (2024), "Pareto smoothed importance sampling".
//!
//! The input is the pointwise log likelihood `log_lik[c][s][i] = log p(y_i | θ_cs)` of point
//! `i` under draw `s` of chain `c`: chains × draws × points, every chain with the same number
//! of draws and every draw with the same number of points. The draws of all chains are pooled
//! chain by chain (ArviZ's `stack(__sample__=("chain", "draw"))`). Every value is on ArviZ's
//! `"log"` scale: an expected log pointwise predictive density (elpd), higher is better; the
//! deviance scale (`looic`, `waic` of older texts) is −2 times it.
//!
//! What ArviZ 0.23 does, and so this module, where other implementations differ:
//! - the relative efficiency `reff` is one number for all points, the mean effective sample
//!   size for the mean of the posterior's parameters over the number of draws
//!   ([`relative_efficiency`]), not R's `loo` per-point efficiency of `exp(log_lik)`; it only
//!   sets the tail length `⌈min(S/5, 3·√(S/reff))⌉` of [`psis`];
//! - a Pareto k is flagged above `min(1 − 1/log10(S), 0.7)` (0.697 for 2000 draws);
//! - the smoothed ratios are truncated at the largest raw ratio (not at `S^{3/4}` times the
//!   mean, as the 2015 paper did);
//! - [`compare`]'s standard error of a difference is `sqrt(n · var(diff_i))` with divisor n.

use chacha20::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Gamma};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::diagnostics::{ess, split};
use crate::error::{Error, Result};

/// PSIS-LOO of one model: ArviZ's `loo(..., pointwise=True)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loo {
    /// `elpd_loo = Σ_i elpd_i`.
    #[serde(with = "crate::options::float")]
    pub elpd: f64,
    /// Its standard error, `sqrt(n · var(elpd_i))` (the variance with divisor n).
    #[serde(with = "crate::options::float")]
    pub se: f64,
    /// The effective number of parameters, `p_loo = lppd − elpd_loo`, with
    /// `lppd = Σ_i log(mean_s p(y_i | θ_s))`.
    #[serde(with = "crate::options::float")]
    pub p: f64,
    /// Draws pooled over the chains, S.
    pub n_draws: usize,
    /// Points, n.
    pub n_points: usize,
    /// The relative efficiency the tail lengths were set with (see [`psis`]).
    #[serde(with = "crate::options::float")]
    pub reff: f64,
    /// The threshold of a reliable Pareto k, `min(1 − 1/log10(S), 0.7)` (ArviZ's `good_k`).
    #[serde(with = "crate::options::float")]
    pub good_k: f64,
    /// Whether any Pareto k exceeds `good_k`: the importance sampling of those points (see
    /// [`Loo::bad_points`]) is unreliable, and their `elpd_i` with it.
    pub warning: bool,
    /// `elpd_i = log Σ_s w_is p(y_i | θ_s)`, the smoothed importance weights `w_is` of
    /// leaving point i out normalised to sum to 1 (ArviZ's `loo_i`).
    #[serde(with = "crate::options::float::vec")]
    pub pointwise: Vec<f64>,
    /// The Pareto shape k of every point's importance ratios (∞ where the tail had fewer than
    /// 5 draws, too few to fit).
    #[serde(with = "crate::options::float::vec")]
    pub pareto_k: Vec<f64>,
}

impl Loo {
    /// The LOO information criterion on the deviance scale, `−2 · elpd_loo`.
    pub fn looic(&self) -> f64 {
        -2.0 * self.elpd
    }

    /// The points whose Pareto k exceeds `good_k`.
    pub fn bad_points(&self) -> Vec<usize> {
        (0..self.pareto_k.len())
            .filter(|&i| self.pareto_k[i] > self.good_k)
            .collect()
    }
}

/// WAIC of one model: ArviZ's `waic(..., pointwise=True)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waic {
    /// `elpd_waic = Σ_i (lppd_i − var_s log p(y_i | θ_s))`.
    #[serde(with = "crate::options::float")]
    pub elpd: f64,
    /// Its standard error, `sqrt(n · var(elpd_i))` (the variance with divisor n).
    #[serde(with = "crate::options::float")]
    pub se: f64,
    /// The effective number of parameters, `p_waic = Σ_i var_s log p(y_i | θ_s)` (variances
    /// with divisor S).
    #[serde(with = "crate::options::float")]
    pub p: f64,
    /// Draws pooled over the chains, S.
    pub n_draws: usize,
    /// Points, n.
    pub n_points: usize,
    /// Whether the variance of any point's log likelihood exceeds 0.4, where WAIC starts to
    /// fail (ArviZ's warning).
    pub warning: bool,
    /// `elpd_i` of every point (ArviZ's `waic_i`).
    #[serde(with = "crate::options::float::vec")]
    pub pointwise: Vec<f64>,
}

/// Pareto-smoothed importance weights of one point: ArviZ's `psislw` of one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Psis {
    /// The smoothed, truncated log weights, normalised so that their exponentials sum to 1.
    #[serde(with = "crate::options::float::vec")]
    pub log_weights: Vec<f64>,
    /// The fitted Pareto shape k of the largest ratios (∞ where the tail had fewer than 5
    /// draws, and then the weights are not smoothed).
    #[serde(with = "crate::options::float")]
    pub k: f64,
}

/// An estimate of a model's elpd that [`compare`] can rank: [`Loo`] or [`Waic`].
pub trait Elpd {
    /// The elpd estimate.
    fn elpd(&self) -> f64;
    /// The effective number of parameters.
    fn p(&self) -> f64;
    /// The standard error of the elpd.
    fn se(&self) -> f64;
    /// The pointwise elpd.
    fn pointwise(&self) -> &[f64];
    /// Whether the estimate may be unreliable.
    fn warning(&self) -> bool;
}

/// A borrowed estimate ranks as the estimate itself: [`compare`] takes `(name, &loo)` or
/// `(name, &dyn Elpd)` without copying the pointwise values.
impl<T: Elpd + ?Sized> Elpd for &T {
    fn elpd(&self) -> f64 {
        (**self).elpd()
    }

    fn p(&self) -> f64 {
        (**self).p()
    }

    fn se(&self) -> f64 {
        (**self).se()
    }

    fn pointwise(&self) -> &[f64] {
        (**self).pointwise()
    }

    fn warning(&self) -> bool {
        (**self).warning()
    }
}

impl Elpd for Loo {
    fn elpd(&self) -> f64 {
        self.elpd
    }
    fn p(&self) -> f64 {
        self.p
    }
    fn se(&self) -> f64 {
        self.se
    }
    fn pointwise(&self) -> &[f64] {
        &self.pointwise
    }
    fn warning(&self) -> bool {
        self.warning
    }
}

impl Elpd for Waic {
    fn elpd(&self) -> f64 {
        self.elpd
    }
    fn p(&self) -> f64 {
        self.p
    }
    fn se(&self) -> f64 {
        self.se
    }
    fn pointwise(&self) -> &[f64] {
        &self.pointwise
    }
    fn warning(&self) -> bool {
        self.warning
    }
}

/// How [`compare`] weights the models (ArviZ's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// Stacking of the predictive distributions (ArviZ's default): the weights `w` on the
    /// simplex maximising `Σ_i log Σ_k w_k exp(elpd_ik)`, found by an active-set Newton
    /// method to a KKT residual of 1e-10 or better. ArviZ stops scipy's SLSQP at its default
    /// tolerance, so its weights may differ from the optimum in the 5th decimal.
    #[default]
    Stacking,
    /// Pseudo-Bayesian model averaging, `w_k ∝ exp(elpd_k)`.
    PseudoBma,
    /// Pseudo-BMA stabilised by the Bayesian bootstrap: `samples` Dirichlet(`alpha`) weightings
    /// `b` of the points, each giving `z_k = n Σ_i b_i elpd_ik` and weights `∝ exp(z_k)`; the
    /// weights are their mean over the samples and each model's `se` the standard deviation of
    /// its `z_k`. The draws are ChaCha8's from `seed`, so the numbers are not numpy's.
    BbPseudoBma {
        /// Bootstrap samples (ArviZ's `b_samples`, 1000 by default).
        samples: usize,
        /// Dirichlet concentration (ArviZ's `alpha`, 1 by default).
        alpha: f64,
        /// Seed of the bootstrap draws.
        seed: u64,
    },
}

/// One model of a [`compare`] table (ArviZ's columns, on the `"log"` scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    /// The model's name.
    pub name: String,
    /// Its rank, 0 for the highest elpd.
    pub rank: usize,
    /// Its elpd (`elpd_loo` or `elpd_waic`).
    #[serde(with = "crate::options::float")]
    pub elpd: f64,
    /// Its effective number of parameters (`p_loo` or `p_waic`).
    #[serde(with = "crate::options::float")]
    pub p: f64,
    /// `Σ_i (elpd_i of the best − elpd_i of this model)`, 0 for the best.
    #[serde(with = "crate::options::float")]
    pub elpd_diff: f64,
    /// Its weight by the [`Weighting`].
    #[serde(with = "crate::options::float")]
    pub weight: f64,
    /// The standard error of its elpd (the bootstrap's with [`Weighting::BbPseudoBma`]).
    #[serde(with = "crate::options::float")]
    pub se: f64,
    /// The standard error of `elpd_diff`, `sqrt(n · var_i(elpd_i of the best − elpd_i))`
    /// (divisor n), 0 for the best.
    #[serde(with = "crate::options::float")]
    pub dse: f64,
    /// Its estimate's warning ([`Loo::warning`], [`Waic::warning`]).
    pub warning: bool,
}

/// PSIS-LOO of the pointwise log likelihood `log_lik[c][s][i]` (chains × draws × points, see
/// the module's documentation), as ArviZ's `loo`: for every point, the importance ratios
/// `1 / p(y_i | θ_s)` Pareto-smoothed by [`psis`] with relative efficiency `reff`.
///
/// ArviZ's default `reff` is [`relative_efficiency`] of the posterior draws (1 for one chain);
/// `reff` only sets how many of the largest ratios are smoothed.
///
/// Errors: `log_lik` empty, ragged or holding a value that is not finite ([`Error::Data`]),
/// fewer than 2 draws in all, `reff` not positive and finite ([`Error::InvalidOption`]).
pub fn psis_loo(log_lik: &[Vec<Vec<f64>>], reff: f64) -> Result<Loo> {
    check_reff("psis_loo", reff)?;
    let by_point = points_by_draws(log_lik, "psis_loo")?;
    let s = by_point[0].len();
    let tail = tail_length(s, reff);
    let ln_s = (s as f64).ln();
    let per_point: Vec<(f64, f64, f64)> = by_point
        .par_iter()
        .map(|ll| {
            let mut lw: Vec<f64> = ll.iter().map(|v| -v).collect();
            let k = smooth(&mut lw, tail);
            lw.iter_mut().zip(ll).for_each(|(w, l)| *w += l);
            (log_sum_exp(&lw), k, log_sum_exp(ll) - ln_s)
        })
        .collect();
    let pointwise: Vec<f64> = per_point.iter().map(|p| p.0).collect();
    let pareto_k: Vec<f64> = per_point.iter().map(|p| p.1).collect();
    let lppd: f64 = per_point.iter().map(|p| p.2).sum();
    let n = pointwise.len();
    let elpd: f64 = pointwise.iter().sum();
    let good_k = (1.0 - 1.0 / (s as f64).log10()).min(0.7);
    Ok(Loo {
        elpd,
        se: (n as f64 * variance(&pointwise)).sqrt(),
        p: lppd - elpd,
        n_draws: s,
        n_points: n,
        reff,
        good_k,
        warning: pareto_k.iter().any(|&k| k > good_k),
        pointwise,
        pareto_k,
    })
}

/// WAIC of the pointwise log likelihood `log_lik[c][s][i]` (chains × draws × points, see the
/// module's documentation), as ArviZ's `waic`.
///
/// Errors: `log_lik` empty, ragged or holding a value that is not finite ([`Error::Data`]),
/// fewer than 2 draws in all ([`Error::InvalidOption`]).
pub fn waic(log_lik: &[Vec<Vec<f64>>]) -> Result<Waic> {
    let by_point = points_by_draws(log_lik, "waic")?;
    let s = by_point[0].len();
    let ln_s = (s as f64).ln();
    let per_point: Vec<(f64, f64)> = by_point
        .par_iter()
        .map(|ll| (log_sum_exp(ll) - ln_s, variance(ll)))
        .collect();
    let pointwise: Vec<f64> = per_point.iter().map(|(lppd, v)| lppd - v).collect();
    let n = pointwise.len();
    Ok(Waic {
        elpd: pointwise.iter().sum(),
        se: (n as f64 * variance(&pointwise)).sqrt(),
        p: per_point.iter().map(|p| p.1).sum(),
        n_draws: s,
        n_points: n,
        warning: per_point.iter().any(|p| p.1 > 0.4),
        pointwise,
    })
}

/// The relative efficiency ArviZ's `loo` takes by default: the mean over the parameters of the
/// posterior `draws[c][s][j]` (chains × draws × parameters, as [`crate::Posterior::draws`]) of
/// their effective sample size for the mean (ArviZ's `ess(method="mean")`: split chains, as
/// [`crate::ess`]), divided by the number of draws; 1 for one chain.
///
/// Errors ([`Error::Data`]): `draws` empty or ragged, no parameters, fewer than 8 draws per
/// chain (where [`crate::ess`] has no value), a value that is not finite.
pub fn relative_efficiency(draws: &[Vec<Vec<f64>>]) -> Result<f64> {
    let (chains, per_chain, params) = shape(draws, "draws", "parameters")?;
    if params == 0 {
        return Err(Error::Data("draws: the draws have no parameters".into()));
    }
    if chains == 1 {
        return Ok(1.0);
    }
    if per_chain < 8 {
        return Err(Error::Data(format!(
            "draws: {per_chain} draws per chain, fewer than the 8 an effective sample size needs"
        )));
    }
    let total = (chains * per_chain) as f64;
    let mut sum = 0.0;
    for j in 0..params {
        let series: Vec<Vec<f64>> = draws
            .iter()
            .map(|c| c.iter().map(|d| d[j]).collect())
            .collect();
        let halves = split(&series);
        let (lo, hi) = halves
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        // as ArviZ: a parameter constant to numpy's float resolution counts every draw
        sum += if hi - lo < 1e-15 {
            halves.iter().map(Vec::len).sum::<usize>() as f64
        } else {
            ess(&halves)
        };
    }
    let reff = sum / params as f64 / total;
    if reff.is_finite() && reff > 0.0 {
        Ok(reff)
    } else {
        Err(Error::Numerical(format!(
            "draws: the relative efficiency is {reff}, not a positive number"
        )))
    }
}

/// Pareto-smoothed importance sampling of the log importance ratios `log_ratios` (S draws of
/// one point), as ArviZ's `psislw(log_ratios, reff)`: the largest
/// `M = ⌈min(S/5, 3·√(S/reff))⌉` ratios (those above the (M+1)-th largest) are replaced by the
/// quantiles `(j − ½)/M` of a generalized Pareto distribution fitted to them by Zhang and
/// Stephens' (2009) empirical Bayes estimate, k shrunk toward ½ by 10 pseudo-observations;
/// the smoothed log ratios are truncated at the largest raw one, and normalised.
///
/// Errors ([`Error::InvalidOption`]): fewer than 2 ratios, a ratio that is not finite, `reff`
/// not positive and finite.
pub fn psis(log_ratios: &[f64], reff: f64) -> Result<Psis> {
    check_reff("psis", reff)?;
    if log_ratios.len() < 2 {
        return Err(Error::option(
            "psis",
            "log_ratios",
            format!("must hold at least 2 draws, got {}", log_ratios.len()),
        ));
    }
    if let Some(i) = log_ratios.iter().position(|v| !v.is_finite()) {
        return Err(Error::option(
            "psis",
            "log_ratios",
            format!("must be finite, got {} at draw {i}", log_ratios[i]),
        ));
    }
    let mut log_weights = log_ratios.to_vec();
    let k = smooth(&mut log_weights, tail_length(log_ratios.len(), reff));
    Ok(Psis { log_weights, k })
}

/// The models ranked by their elpd, best first, with ArviZ's `compare` columns (see
/// [`CompareRow`]; the scale is `"log"`). Every model must have the same number of pointwise
/// values, on the same points; names must differ.
///
/// Errors: no model, a name twice, an invalid [`Weighting`] ([`Error::InvalidOption`]);
/// models of different numbers of points, a pointwise value that is not finite
/// ([`Error::Data`]); stacking that does not converge ([`Error::Numerical`]).
pub fn compare<E: Elpd>(models: &[(String, E)], weighting: Weighting) -> Result<Vec<CompareRow>> {
    if models.is_empty() {
        return Err(Error::option(
            "compare",
            "models",
            "must hold at least one model",
        ));
    }
    for (i, (name, _)) in models.iter().enumerate() {
        if models[..i].iter().any(|(other, _)| other == name) {
            return Err(Error::option(
                "compare",
                "models",
                format!("must name each model once, {name:?} is there twice"),
            ));
        }
    }
    let n = models[0].1.pointwise().len();
    for (name, m) in models {
        let len = m.pointwise().len();
        if len != n || len == 0 {
            return Err(Error::Data(format!(
                "compare: model {name:?} has {len} pointwise values where {:?} has {n}: the models must be evaluated on the same points",
                models[0].0
            )));
        }
        if let Some(i) = m.pointwise().iter().position(|v| !v.is_finite()) {
            return Err(Error::Data(format!(
                "compare: model {name:?} has a pointwise elpd that is not finite at point {i}"
            )));
        }
    }
    if let Weighting::BbPseudoBma { samples, alpha, .. } = weighting {
        if samples == 0 {
            return Err(Error::option("Weighting", "samples", "must be at least 1"));
        }
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(Error::option(
                "Weighting",
                "alpha",
                format!("must be positive and finite, got {alpha}"),
            ));
        }
    }

    // best first; ties keep the given order
    let mut order: Vec<usize> = (0..models.len()).collect();
    order.sort_by(|&a, &b| models[b].1.elpd().total_cmp(&models[a].1.elpd()));
    let cols: Vec<&[f64]> = order.iter().map(|&m| models[m].1.pointwise()).collect();
    let (weights, se): (Vec<f64>, Vec<f64>) = match weighting {
        Weighting::Stacking => (
            stacking(&cols)?,
            order.iter().map(|&m| models[m].1.se()).collect(),
        ),
        Weighting::PseudoBma => {
            let best = models[order[0]].1.elpd();
            let u: Vec<f64> = order
                .iter()
                .map(|&m| (models[m].1.elpd() - best).exp())
                .collect();
            let total: f64 = u.iter().sum();
            (
                u.iter().map(|v| v / total).collect(),
                order.iter().map(|&m| models[m].1.se()).collect(),
            )
        }
        Weighting::BbPseudoBma {
            samples,
            alpha,
            seed,
        } => bayesian_bootstrap(&cols, samples, alpha, seed),
    };
    let best = cols[0];
    Ok(order
        .iter()
        .enumerate()
        .map(|(rank, &m)| {
            let (name, model) = &models[m];
            let diff: Vec<f64> = best
                .iter()
                .zip(model.pointwise())
                .map(|(b, v)| b - v)
                .collect();
            CompareRow {
                name: name.clone(),
                rank,
                elpd: model.elpd(),
                p: model.p(),
                elpd_diff: diff.iter().sum(),
                weight: weights[rank],
                se: se[rank],
                dse: (n as f64 * variance(&diff)).sqrt(),
                warning: model.warning(),
            }
        })
        .collect())
}

fn check_reff(function: &'static str, reff: f64) -> Result<()> {
    if reff.is_finite() && reff > 0.0 {
        Ok(())
    } else {
        Err(Error::option(
            function,
            "reff",
            format!("must be positive and finite, got {reff}"),
        ))
    }
}

/// The (chains, draws per chain, values per draw) of `a[c][s][j]`, checked rectangular and
/// finite; `name` is the argument, `values` what the innermost index counts.
fn shape(a: &[Vec<Vec<f64>>], name: &str, values: &str) -> Result<(usize, usize, usize)> {
    let Some(first) = a.first() else {
        return Err(Error::Data(format!("{name}: no chains")));
    };
    let Some(first_draw) = first.first() else {
        return Err(Error::Data(format!("{name}: chain 0 has no draws")));
    };
    let (per_chain, width) = (first.len(), first_draw.len());
    for (c, chain) in a.iter().enumerate() {
        if chain.len() != per_chain {
            return Err(Error::Data(format!(
                "{name}: chain {c} has {} draws where chain 0 has {per_chain}",
                chain.len()
            )));
        }
        for (s, draw) in chain.iter().enumerate() {
            if draw.len() != width {
                return Err(Error::Data(format!(
                    "{name}: draw {s} of chain {c} has {} {values} where draw 0 of chain 0 has {width}",
                    draw.len()
                )));
            }
            if let Some(j) = draw.iter().position(|v| !v.is_finite()) {
                return Err(Error::Data(format!(
                    "{name}: the value of chain {c}, draw {s}, index {j} is {}, not finite",
                    draw[j]
                )));
            }
        }
    }
    Ok((a.len(), per_chain, width))
}

/// `log_lik[c][s][i]` checked and rearranged point by point: `out[i][c·draws + s]`.
fn points_by_draws(log_lik: &[Vec<Vec<f64>>], function: &'static str) -> Result<Vec<Vec<f64>>> {
    let (chains, per_chain, points) = shape(log_lik, "log_lik", "points")?;
    if points == 0 {
        return Err(Error::Data("log_lik: the draws have no points".into()));
    }
    if chains * per_chain < 2 {
        return Err(Error::option(
            function,
            "log_lik",
            "must hold at least 2 draws in all, got 1",
        ));
    }
    let mut out = vec![Vec::with_capacity(chains * per_chain); points];
    for draw in log_lik.iter().flatten() {
        for (o, &v) in out.iter_mut().zip(draw) {
            o.push(v);
        }
    }
    Ok(out)
}

/// ArviZ's tail length `M = ⌈min(S/5, 3·√(S/reff))⌉` (at most S − 1 for S ≥ 2).
fn tail_length(s: usize, reff: f64) -> usize {
    let s = s as f64;
    (s / 5.0).min(3.0 * (s / reff).sqrt()).ceil() as usize
}

/// Pareto-smooth the log ratios `x` in place (at least `tail + 1` of them) and normalise them;
/// returns the fitted k (∞ for a tail of fewer than 5 draws, left unsmoothed).
fn smooth(x: &mut [f64], tail: usize) -> f64 {
    let s = x.len();
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    x.iter_mut().for_each(|v| *v -= max);
    let mut order: Vec<usize> = (0..s).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    // the body ends at the (M+1)-th largest ratio, or where exp underflows
    let cutoff = x[order[s - tail - 1]].max(f64::MIN_POSITIVE.ln());
    let exp_cutoff = cutoff.exp();
    let first = order.partition_point(|&i| x[i] <= cutoff);
    let tail_idx = &order[first..];
    let k = if tail_idx.len() <= 4 {
        f64::INFINITY
    } else {
        let excess: Vec<f64> = tail_idx.iter().map(|&i| x[i].exp() - exp_cutoff).collect();
        let (k, sigma) = gpd_fit(&excess);
        if k.is_finite() {
            let m = tail_idx.len() as f64;
            for (j, &i) in tail_idx.iter().enumerate() {
                let p = (j as f64 + 0.5) / m;
                x[i] = (gpd_quantile(p, k, sigma) + exp_cutoff).ln();
            }
            // truncated at the largest raw ratio
            x.iter_mut().filter(|v| **v > 0.0).for_each(|v| *v = 0.0);
        }
        k
    };
    let total = log_sum_exp(x);
    x.iter_mut().for_each(|v| *v -= total);
    k
}

/// Zhang and Stephens' (2009) empirical Bayes estimate of the generalized Pareto distribution
/// of the sorted (ascending) positive excesses `x`, as ArviZ's `_gpdfit`: the posterior mean of
/// `b = −k/σ` over a grid of `30 + ⌊√n⌋` values, then `k = mean(log1p(−b·x))`, `σ = −k/b`,
/// and k shrunk toward ½ by a prior worth 10 observations. Returns `(k, σ)` (σ from the k
/// before shrinking). At least 2 values.
fn gpd_fit(x: &[f64]) -> (f64, f64) {
    const PRIOR_BS: f64 = 3.0;
    const PRIOR_K: f64 = 10.0;
    let n = x.len();
    let nf = n as f64;
    let grid = 30 + nf.sqrt() as usize;
    let quartile = x[(nf / 4.0 + 0.5) as usize - 1];
    let max = x[n - 1];
    let k_of = |b: f64| x.iter().map(|&v| (-b * v).ln_1p()).sum::<f64>() / nf;
    let b: Vec<f64> = (1..=grid)
        .map(|j| {
            (1.0 - (grid as f64 / (j as f64 - 0.5)).sqrt()) / (PRIOR_BS * quartile) + 1.0 / max
        })
        .collect();
    // profile log likelihood of every b
    let log_lik: Vec<f64> = b
        .iter()
        .map(|&b| {
            let k = k_of(b);
            nf * ((-b / k).ln() - k - 1.0)
        })
        .collect();
    let total = log_sum_exp(&log_lik);
    let (mut num, mut den) = (0.0, 0.0);
    for (&b, &l) in b.iter().zip(&log_lik) {
        let w = (l - total).exp();
        // negligible weights are dropped, as ArviZ does
        if w >= 10.0 * f64::EPSILON {
            num += b * w;
            den += w;
        }
    }
    let b_post = num / den;
    let k = k_of(b_post);
    let sigma = -k / b_post;
    ((nf * k + PRIOR_K * 0.5) / (nf + PRIOR_K), sigma)
}

/// The quantile `p ∈ (0, 1)` of the generalized Pareto distribution of shape k and scale σ
/// (ArviZ's `_gpinv`; NaN where σ is not positive).
fn gpd_quantile(p: f64, k: f64, sigma: f64) -> f64 {
    if sigma.is_nan() || sigma <= 0.0 {
        return f64::NAN;
    }
    let q = if k.abs() < f64::EPSILON {
        -(-p).ln_1p()
    } else {
        (-k * (-p).ln_1p()).exp_m1() / k
    };
    q * sigma
}

/// `log Σ exp(x)` (−∞ for no values).
pub(crate) fn log_sum_exp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + x.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// The variance with divisor n (numpy's `var`), two-pass.
fn variance(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n
}

/// KKT residual the stacking weights are converged to, and the most they may miss it by.
const STACKING_TOL: f64 = 1e-12;
const STACKING_ACCEPT: f64 = 1e-10;

/// Stacking weights of the models whose pointwise elpd are `cols[k][i]`: the `w` on the simplex
/// maximising `f(w) = Σ_i log Σ_k w_k exp(elpd_ik)`, a concave function.
///
/// With `a_ik = exp(elpd_ik − max_k elpd_ik)` and `s_i = Σ_k a_ik w_k`, the scaled gradient is
/// `g_k = (1/n) Σ_i a_ik / s_i`, and `Σ_k w_k g_k = 1` everywhere, so the optimum is where
/// `g_k = 1` for every model with a positive weight and `g_k ≤ 1` for the others. An active-set
/// method: Newton directions on the simplex face of the free models, an exact line search
/// (the derivative along the direction is computed directly, not from differences of f),
/// a model dropped when its weight reaches 0 and added back when its `g_k` exceeds 1.
fn stacking(cols: &[&[f64]]) -> Result<Vec<f64>> {
    let models = cols.len();
    if models == 1 {
        return Ok(vec![1.0]);
    }
    let n = cols[0].len();
    let nf = n as f64;
    let a: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let max = cols.iter().map(|c| c[i]).fold(f64::NEG_INFINITY, f64::max);
            cols.iter().map(|c| (c[i] - max).exp()).collect()
        })
        .collect();
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
    let mut w = vec![1.0 / models as f64; models];
    let mut free = vec![true; models];
    let mut residual = f64::INFINITY;
    for _ in 0..1000 {
        let s: Vec<f64> = a.iter().map(|r| dot(r, &w)).collect();
        let g: Vec<f64> = (0..models)
            .map(|k| a.iter().zip(&s).map(|(r, s)| r[k] / s).sum::<f64>() / nf)
            .collect();
        let free_residual = (0..models)
            .filter(|&k| free[k])
            .map(|k| (g[k] - 1.0).abs())
            .fold(0.0, f64::max);
        let entering = (0..models)
            .filter(|&k| !free[k])
            .max_by(|&x, &y| g[x].total_cmp(&g[y]));
        let enter_residual = entering.map_or(0.0, |k| (g[k] - 1.0).max(0.0));
        residual = free_residual.max(enter_residual);
        if residual < STACKING_TOL {
            break;
        }
        if free_residual < STACKING_TOL {
            free[entering.expect("a residual")] = true;
            continue;
        }
        let idx: Vec<usize> = (0..models).filter(|&k| free[k]).collect();
        let d = newton_direction(&a, &s, &g, &idx, nf);
        let mut step = vec![0.0; models];
        for (&k, &dk) in idx.iter().zip(&d) {
            step[k] = dk;
        }
        // the longest step that keeps every weight non-negative
        let (t_max, blocking) = idx
            .iter()
            .filter(|&&k| step[k] < 0.0)
            .map(|&k| (w[k] / -step[k], k))
            .fold((f64::INFINITY, usize::MAX), |best, c| {
                if c.0 < best.0 {
                    c
                } else {
                    best
                }
            });
        if blocking == usize::MAX {
            // no direction left (rounding): the residual is what it is
            break;
        }
        // f along the direction is concave: its derivative decreases in t
        let as_step: Vec<f64> = a.iter().map(|r| dot(r, &step)).collect();
        let slope = |t: f64| {
            s.iter()
                .zip(&as_step)
                .map(|(s, ad)| ad / (s + t * ad))
                .sum::<f64>()
        };
        let t = if slope(t_max) >= 0.0 {
            t_max
        } else {
            let (mut lo, mut hi) = (0.0, t_max);
            if 1.0 < t_max {
                if slope(1.0) >= 0.0 {
                    lo = 1.0;
                } else {
                    hi = 1.0;
                }
            }
            for _ in 0..100 {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if slope(mid) >= 0.0 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        for &k in &idx {
            w[k] = (w[k] + t * step[k]).max(0.0);
        }
        if t == t_max {
            w[blocking] = 0.0;
            free[blocking] = false;
        }
        let total: f64 = w.iter().sum();
        w.iter_mut().for_each(|v| *v /= total);
    }
    if residual <= STACKING_ACCEPT {
        Ok(w)
    } else {
        Err(Error::Numerical(format!(
            "compare: the stacking weights did not converge (KKT residual {residual:.1e})"
        )))
    }
}

/// The Newton direction of the stacking objective on the face of the models `idx`:
/// `d = Q⁻¹(g − ν1)` with `ν` making `Σ d = 0`, `Q = (1/n) Σ_i a_i a_iᵀ / s_i²` (minus the
/// Hessian, scaled) restricted to `idx`, regularised by a relative 1e-12 for models whose
/// pointwise elpd coincide.
fn newton_direction(a: &[Vec<f64>], s: &[f64], g: &[f64], idx: &[usize], nf: f64) -> Vec<f64> {
    let m = idx.len();
    let mut q = vec![0.0; m * m];
    for (r, &si) in a.iter().zip(s) {
        let inv = 1.0 / (si * si * nf);
        for p in 0..m {
            for c in 0..=p {
                q[p * m + c] += r[idx[p]] * r[idx[c]] * inv;
            }
        }
    }
    let trace: f64 = (0..m).map(|p| q[p * m + p]).sum();
    let mut ridge = 1e-12 * trace / m as f64;
    let factor = loop {
        let mut f = q.clone();
        for p in 0..m {
            f[p * m + p] += ridge;
        }
        if crate::observed::cholesky(&mut f, m) {
            break f;
        }
        ridge *= 100.0;
    };
    let solve = |b: &[f64]| -> Vec<f64> {
        let mut z = b.to_vec();
        for i in 0..m {
            let v = z[i] - (0..i).map(|j| factor[i * m + j] * z[j]).sum::<f64>();
            z[i] = v / factor[i * m + i];
        }
        for i in (0..m).rev() {
            let v = z[i] - (i + 1..m).map(|j| factor[j * m + i] * z[j]).sum::<f64>();
            z[i] = v / factor[i * m + i];
        }
        z
    };
    let qg = solve(&idx.iter().map(|&k| g[k]).collect::<Vec<_>>());
    let q1 = solve(&vec![1.0; m]);
    let nu = qg.iter().sum::<f64>() / q1.iter().sum::<f64>();
    qg.iter().zip(&q1).map(|(a, b)| a - nu * b).collect()
}

/// Bayesian-bootstrap pseudo-BMA (ArviZ's `BB-pseudo-BMA`): the mean weights and the standard
/// deviation (divisor `samples`) of every model's `z = n Σ_i b_i elpd_ik`.
fn bayesian_bootstrap(
    cols: &[&[f64]],
    samples: usize,
    alpha: f64,
    seed: u64,
) -> (Vec<f64>, Vec<f64>) {
    let models = cols.len();
    let n = cols[0].len();
    let gamma = Gamma::new(alpha, 1.0).expect("checked: alpha positive and finite");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut weights = vec![0.0; models];
    let mut z_all: Vec<Vec<f64>> = Vec::with_capacity(samples);
    let mut b = vec![0.0; n];
    for _ in 0..samples {
        b.iter_mut().for_each(|v| *v = gamma.sample(&mut rng));
        let total: f64 = b.iter().sum();
        if total > 0.0 && total.is_finite() {
            b.iter_mut().for_each(|v| *v /= total);
        } else {
            // every Gamma draw underflowed (a tiny alpha): the mass sits on one point
            let i = rng.random_range(0..n);
            b.fill(0.0);
            b[i] = 1.0;
        }
        let z: Vec<f64> = cols
            .iter()
            .map(|c| c.iter().zip(&b).map(|(e, b)| b * (e * n as f64)).sum())
            .collect();
        let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let u: Vec<f64> = z.iter().map(|v| (v - max).exp()).collect();
        let total: f64 = u.iter().sum();
        for (w, u) in weights.iter_mut().zip(&u) {
            *w += u / total;
        }
        z_all.push(z);
    }
    weights.iter_mut().for_each(|w| *w /= samples as f64);
    let se = (0..models)
        .map(|k| variance(&z_all.iter().map(|z| z[k]).collect::<Vec<_>>()).sqrt())
        .collect();
    (weights, se)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64 (as tests/loo.rs and tests/data/loo_arviz.py).
    struct SplitMix64(u64);

    impl SplitMix64 {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// In (0, 1).
        fn uniform(&mut self) -> f64 {
            ((self.next_u64() >> 11) as f64 + 0.5) * 2f64.powi(-53)
        }
    }

    /// Sorted draws of the GPD(k, σ) by its inverse cdf (`gpd_sample` of loo_arviz.py).
    fn gpd_sample(seed: u64, n: usize, k: f64, sigma: f64) -> Vec<f64> {
        let mut rng = SplitMix64(seed);
        let mut x: Vec<f64> = (0..n)
            .map(|_| sigma * (-k * (-rng.uniform()).ln_1p()).exp_m1() / k)
            .collect();
        x.sort_by(f64::total_cmp);
        x
    }

    #[test]
    fn gpd_fit_is_arviz_gpdfit() {
        // ArviZ 0.23.4's `_gpdfit` of the same draws (tests/data/loo_arviz.py prints them)
        for (seed, n, k, sigma) in [
            (7, 20, 0.26405679833832385, 2.578134468167681),
            (8, 1000, 0.3052280037507155, 2.0365549539973213),
        ] {
            let (k_hat, sigma_hat) = gpd_fit(&gpd_sample(seed, n, 0.3, 2.0));
            assert!((k_hat - k).abs() < 1e-12, "n {n}: k {k_hat} vs ArviZ's {k}");
            assert!(
                (sigma_hat / sigma - 1.0).abs() < 1e-12,
                "n {n}: sigma {sigma_hat} vs ArviZ's {sigma}"
            );
        }
    }

    #[test]
    fn gpd_fit_recovers_the_shape_and_scale() {
        // The estimate is asymptotically efficient: sd(k̂) ≈ (1 + k)/√n and
        // sd(σ̂/σ) ≈ √(2(1 + k)/n) (the GPD's Fisher information, k > −1/2); the prior's pull
        // toward ½ is 10(½ − k)/(n + 10) ≤ 1e-3. Four standard deviations, at n = 10000
        // (0.052 for k, 0.065 for σ at k = 0.3) — a fit off by a sign or a factor fails.
        let n = 10_000;
        for (seed, k) in [(11, -0.2), (12, 0.3), (13, 0.8)] {
            let sigma = 2.0;
            let (k_hat, sigma_hat) = gpd_fit(&gpd_sample(seed, n, k, sigma));
            let nf = n as f64;
            let sd_k = (1.0 + k) / nf.sqrt();
            let sd_s = (2.0 * (1.0 + k) / nf).sqrt();
            assert!((k_hat - k).abs() < 4.0 * sd_k, "k {k}: k̂ {k_hat}");
            assert!(
                (sigma_hat / sigma - 1.0).abs() < 4.0 * sd_s,
                "k {k}: σ̂ {sigma_hat}"
            );
        }
    }

    #[test]
    fn gpd_quantile_inverts_the_cdf() {
        for k in [-0.4, 0.0, 1e-20, 0.3, 1.5] {
            for p in [1e-6, 0.1, 0.5, 0.9, 0.999] {
                let x = gpd_quantile(p, k, 2.0);
                let cdf = if k == 0.0 || k.abs() < f64::EPSILON {
                    1.0 - (-x / 2.0).exp()
                } else {
                    1.0 - (1.0 + k * x / 2.0).powf(-1.0 / k)
                };
                assert!((cdf - p).abs() < 1e-12, "k {k} p {p}: F(x) = {cdf}");
            }
        }
        assert!(gpd_quantile(0.5, 0.3, 0.0).is_nan());
    }

    #[test]
    fn psis_smooths_the_tail_and_truncates_at_the_largest_raw_weight() {
        // log ratios of a heavy-tailed distribution: log of Pareto(k = 0.5) draws
        let mut rng = SplitMix64(3);
        let r: Vec<f64> = (0..1000).map(|_| -0.5 * rng.uniform().ln()).collect();
        let out = psis(&r, 1.0).unwrap();
        let total: f64 = out.log_weights.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!((out.k - 0.5).abs() < 0.25, "k {}", out.k);
        // the body is untouched: its weights are the raw ones shifted by one constant
        let m = tail_length(r.len(), 1.0);
        assert_eq!(m, 95);
        let mut sorted = r.clone();
        sorted.sort_by(f64::total_cmp);
        let cutoff = sorted[r.len() - m - 1];
        let body = (0..r.len()).find(|&i| r[i] <= cutoff).unwrap();
        let shift = out.log_weights[body] - r[body];
        let mut smoothed = 0;
        for (&lw, &raw) in out.log_weights.iter().zip(&r) {
            if raw <= cutoff {
                assert!((lw - raw - shift).abs() < 1e-12);
            } else if (lw - raw - shift).abs() > 1e-9 {
                smoothed += 1;
            }
        }
        assert!(
            smoothed > m / 2,
            "{smoothed} of the {m} tail draws smoothed"
        );
        // none above the largest raw ratio (the largest smoothed ones are cut to it)
        let max_raw = sorted[r.len() - 1];
        assert!(out
            .log_weights
            .iter()
            .all(|&lw| lw <= max_raw + shift + 1e-12));
        // with the largest ratio pulled down to the second largest, the fitted tail's top
        // quantile lies above it, and is cut to it
        let mut r2 = r.clone();
        let imax = (0..r.len()).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
        r2[imax] = sorted[r.len() - 2];
        let out2 = psis(&r2, 1.0).unwrap();
        let shift2 = out2.log_weights[body] - r2[body];
        let at_max = out2.log_weights.iter().map(|lw| lw - shift2);
        let cut = at_max.filter(|&v| (v - sorted[r.len() - 2]).abs() < 1e-12);
        assert!(cut.count() >= 1);
        assert!(out2
            .log_weights
            .iter()
            .all(|&lw| lw <= sorted[r.len() - 2] + shift2 + 1e-12));
    }

    #[test]
    fn a_tail_of_fewer_than_five_draws_is_not_smoothed() {
        // 20 draws: M = ⌈min(4, 3·√20)⌉ = 4
        let r: Vec<f64> = (0..20).map(|i| (i as f64 * 0.37).sin()).collect();
        let out = psis(&r, 1.0).unwrap();
        assert_eq!(out.k, f64::INFINITY);
        let lse = log_sum_exp(&r);
        for (lw, raw) in out.log_weights.iter().zip(&r) {
            assert!((lw - (raw - lse)).abs() < 1e-14);
        }
    }

    /// `g_k = (1/n) Σ_i a_ik / s_i` of the stacking objective at `w`.
    fn stacking_gradient(cols: &[&[f64]], w: &[f64]) -> Vec<f64> {
        let n = cols[0].len();
        let mut g = vec![0.0; cols.len()];
        for i in 0..n {
            let max = cols.iter().map(|c| c[i]).fold(f64::NEG_INFINITY, f64::max);
            let a: Vec<f64> = cols.iter().map(|c| (c[i] - max).exp()).collect();
            let s: f64 = a.iter().zip(w).map(|(a, w)| a * w).sum();
            for k in 0..cols.len() {
                g[k] += a[k] / s / n as f64;
            }
        }
        g
    }

    #[test]
    fn stacking_meets_the_kkt_conditions() {
        let mut rng = SplitMix64(5);
        let n = 50;
        // model 0 good, 1 good elsewhere, 2 a copy of 1, 3 worse everywhere
        let m0: Vec<f64> = (0..n)
            .map(|i| -1.0 - (i % 3) as f64 * rng.uniform())
            .collect();
        let m1: Vec<f64> = (0..n)
            .map(|i| -1.0 - ((i + 1) % 3) as f64 * rng.uniform())
            .collect();
        let m3: Vec<f64> = m0.iter().zip(&m1).map(|(a, b)| a.min(*b) - 3.0).collect();
        let cols: Vec<&[f64]> = vec![&m0, &m1, &m1, &m3];
        let w = stacking(&cols).unwrap();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!(w.iter().all(|&v| v >= 0.0));
        let g = stacking_gradient(&cols, &w);
        for k in 0..4 {
            if w[k] > 0.0 {
                assert!((g[k] - 1.0).abs() < 1e-10, "model {k}: g {}", g[k]);
            } else {
                assert!(g[k] <= 1.0 + 1e-10, "model {k}: g {}", g[k]);
            }
        }
        assert_eq!(w[3], 0.0);
        assert!(w[0] > 0.1 && w[1] + w[2] > 0.1, "{w:?}");
        // the optimum does not depend on the order of the models
        let w2 = stacking(&[&m3, &m1, &m0]).unwrap();
        assert!((w2[2] - w[0]).abs() < 1e-9 && (w2[1] - w[1] - w[2]).abs() < 1e-9);
    }

    #[test]
    fn stacking_of_many_models_meets_the_kkt_conditions() {
        let mut rng = SplitMix64(17);
        let n = 200;
        let base: Vec<f64> = (0..n).map(|_| -1.0 - rng.uniform()).collect();
        // eight models, each a perturbation of one pointwise elpd, each worse by 0.02 a point
        let models: Vec<Vec<f64>> = (0..8)
            .map(|k| {
                base.iter()
                    .map(|b| b + (2.0 * rng.uniform() - 1.0) - k as f64 * 0.02)
                    .collect()
            })
            .collect();
        let cols: Vec<&[f64]> = models.iter().map(Vec::as_slice).collect();
        let w = stacking(&cols).unwrap();
        let g = stacking_gradient(&cols, &w);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        for k in 0..8 {
            assert!(w[k] >= 0.0);
            if w[k] > 0.0 {
                assert!((g[k] - 1.0).abs() < 1e-10, "model {k}: g {} ({w:?})", g[k]);
            } else {
                assert!(g[k] <= 1.0 + 1e-10, "model {k}: g {} ({w:?})", g[k]);
            }
        }
        let support = w.iter().filter(|&&v| v > 0.0).count();
        assert!((3..8).contains(&support), "{w:?}");
    }

    #[test]
    fn stacking_of_a_dominated_model_is_all_on_the_other() {
        let a: Vec<f64> = (0..10).map(|i| -(i as f64) * 0.1).collect();
        let b: Vec<f64> = a.iter().map(|v| v - 1.0).collect();
        assert_eq!(stacking(&[&a, &b]).unwrap(), vec![1.0, 0.0]);
        assert_eq!(stacking(&[&b, &a]).unwrap(), vec![0.0, 1.0]);
        assert_eq!(stacking(&[&a]).unwrap(), vec![1.0]);
    }
}
