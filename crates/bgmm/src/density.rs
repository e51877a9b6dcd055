//! The exact marginal log joint density of a mixture, with the assignments summed out:
//!
//! `log p(x, θ) = log p(θ) + Σ_n logsumexp_k [log w_k + Σ_d log N(x_nd | μ_kd, s_kd)]`
//!
//! and its analytic gradient. The data enter only through their sufficient statistics
//! ([`mod@crate::stats`]): one pass of the kernel over fixed chunks of points in parallel (rayon),
//! the chunks' sums added in chunk order, so the result does not depend on the number of
//! threads. The `*_from_stats` functions and [`StatsDensity`] give the same values from
//! statistics merged over partitions of the data.

use rayon::prelude::*;

use crate::data::{Data, DataView};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::params::Params;
pub use crate::stats::CHUNK;
use crate::stats::{merge_in_order, stats_at, SufficientStats};
pub(crate) use crate::stats::{Components, LN_2PI};

/// Gradient of the log joint with respect to the natural coordinates: log-weights (treated as
/// K free coordinates), locations and log-scales.
#[derive(Debug, Clone, PartialEq)]
pub struct NaturalGrad {
    /// d/d log w_k.
    pub logw: Vec<f64>,
    /// d/d μ_kd, row-major.
    pub locs: Vec<f64>,
    /// The component family's block in natural coordinates (for the diagonal family, d/d log s
    /// for each free scale).
    pub log_scales: Vec<f64>,
}

impl NaturalGrad {
    /// The zero gradient of a model's parameters.
    pub fn zeros(model: &Model) -> NaturalGrad {
        NaturalGrad {
            logw: vec![0.0; model.k],
            locs: vec![0.0; model.k * model.d],
            log_scales: vec![0.0; model.n_scales()],
        }
    }
}

/// The statistics of one chunk of points by the plain scalar loop.
fn chunk_pass(
    data: &Data,
    model: &Model,
    comps: &Components,
    range: std::ops::Range<usize>,
    grad: bool,
) -> SufficientStats {
    let (k, d) = (comps.k, comps.d);
    let mut p = SufficientStats::empty(model, grad);
    p.n = range.len() as u64;
    let mut a = vec![0.0; k];
    let mut fw = comps.is_full().then(|| comps.full_work());
    for i in range {
        let observed = (0..d).filter(|&j| !data.col(j)[i].is_nan()).count();
        if observed == 0 {
            // every value missing: the point contributes nothing
            continue;
        }
        if let (Some(fw), true) = (fw.as_mut(), observed < d) {
            // the observed marginal, and the conditional moments in the statistics
            let x: Vec<f64> = (0..d).map(|j| data.col(j)[i]).collect();
            let lse = fw.terms(&x, comps.locs, &mut a, grad).unwrap_or(f64::NAN);
            p.loglik += lse;
            if grad && lse.is_finite() {
                for c in 0..k {
                    let r = (a[c] - lse).exp();
                    p.r_sum[c] += r;
                    for j in 0..d {
                        p.r_dev[c * d + j] += r * fw.zhat[c * d + j];
                        p.r_dev_sq[c * d + j] += r * fw.m2[c * d * d + j * d + j];
                        for l in 0..d {
                            p.r_cross[c * d * d + j * d + l] += r * fw.m2[c * d * d + j * d + l];
                        }
                    }
                }
            }
            continue;
        }
        let lse = comps.point_terms(data, i, &mut a, &mut fw);
        p.loglik += lse;
        if grad && observed < d && p.r_miss.is_empty() {
            p.r_miss = vec![0.0; k * d];
        }
        if grad && lse.is_finite() {
            for c in 0..k {
                let r = (a[c] - lse).exp();
                p.r_sum[c] += r;
                for j in 0..d {
                    if data.col(j)[i].is_nan() {
                        p.r_miss[c * d + j] += r;
                        continue;
                    }
                    let diff = data.col(j)[i] - comps.locs[c * d + j];
                    let rd = r * diff;
                    p.r_dev[c * d + j] += rd;
                    p.r_dev_sq[c * d + j] += rd * diff;
                    if !p.r_cross.is_empty() {
                        for l in 0..d {
                            let dl = data.col(l)[i] - comps.locs[c * d + l];
                            p.r_cross[c * d * d + j * d + l] += rd * dl;
                        }
                    }
                }
            }
        }
    }
    p
}

/// Log likelihood `Σ_n logsumexp_k [...]` and, if `grad` is given, its gradient added into it:
/// the statistics of the view ([`stats_at`]) turned into the gradient.
pub(crate) fn log_likelihood(
    model: &Model,
    view: DataView<'_>,
    logw: &[f64],
    locs: &[f64],
    scales: &[f64],
    grad: Option<&mut NaturalGrad>,
) -> f64 {
    let comps = Components::new(model, logw, locs, scales);
    let st = stats_at(model, &comps, view, grad.is_some());
    if let Some(g) = grad {
        add_likelihood_grad(model, scales, &st, g);
    }
    st.loglik
}

/// Log likelihood and its natural gradient by the vectorised kernel (what every engine runs).
pub fn log_likelihood_grad(model: &Model, data: &Data, params: &Params) -> (f64, NaturalGrad) {
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let mut g = NaturalGrad::zeros(model);
    let ll = log_likelihood(
        model,
        data.view(),
        &logw,
        &params.locs,
        &params.scales,
        Some(&mut g),
    );
    (ll, g)
}

/// The same log likelihood by the plain scalar loop: the reference the kernel is tested and
/// benchmarked against.
pub fn log_likelihood_scalar(
    model: &Model,
    data: &Data,
    params: &Params,
    grad: Option<&mut NaturalGrad>,
) -> f64 {
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let comps = Components::new(model, &logw, &params.locs, &params.scales);
    let n = data.n();
    let n_chunks = n.div_ceil(CHUNK);
    let want = grad.is_some();
    let parts: Vec<SufficientStats> = (0..n_chunks)
        .into_par_iter()
        .map(|c| {
            chunk_pass(
                data,
                model,
                &comps,
                c * CHUNK..((c + 1) * CHUNK).min(n),
                want,
            )
        })
        .collect();
    let st = merge_in_order(model, &parts, want);
    if let Some(g) = grad {
        add_likelihood_grad(model, &params.scales, &st, g);
    }
    st.loglik
}

/// Add the log likelihood's natural gradient, from the statistics `st` computed at
/// parameters with these `scales` (the family's values), into `g`: `∂/∂log w_k = Σ r_k`, and
/// the locations' and the family's block as the family turns the statistics into them (see
/// [`crate::Family::add_stats_grad`]).
fn add_likelihood_grad(model: &Model, scales: &[f64], st: &SufficientStats, g: &mut NaturalGrad) {
    for (g, r) in g.logw.iter_mut().zip(&st.r_sum) {
        *g += r;
    }
    model.family.add_stats_grad(
        model.d,
        scales,
        &st.r_sum,
        &st.r_dev,
        &st.r_dev_sq,
        &st.r_cross,
        &st.r_miss,
        &mut g.locs,
        &mut g.log_scales,
    );
}

/// Check that statistics and parameters fit the model (gradient statistics included).
fn check_stats(model: &Model, params: &Params, st: &SufficientStats) -> Result<()> {
    params.check(model)?;
    st.check_shape(model.k, model.d, true)?;
    crate::stats::check_cross(model, st)?;
    crate::stats::check_at(st, params)
}

/// The log likelihood `Σ_n log Σ_k w_k N(x_n | μ_k, s_k)` and its natural gradient from
/// statistics computed (and merged) at `params` by [`crate::stats::stats`] with `want_grad`.
/// With the statistics of a whole [`Data`], the same bits as [`log_likelihood_grad`].
pub fn log_likelihood_from_stats(
    model: &Model,
    params: &Params,
    st: &SufficientStats,
) -> Result<(f64, NaturalGrad)> {
    check_stats(model, params, st)?;
    let mut g = NaturalGrad::zeros(model);
    add_likelihood_grad(model, &params.scales, st, &mut g);
    Ok((st.loglik, g))
}

/// `log p(x, θ)` (prior plus likelihood, on the constrained space, no Jacobian) and its
/// gradient in natural coordinates, from statistics computed (and merged) at `params` with
/// `want_grad`. With the statistics of a whole [`Data`], the same bits as [`log_joint_grad`].
pub fn log_joint_from_stats(
    model: &Model,
    params: &Params,
    st: &SufficientStats,
) -> Result<(f64, NaturalGrad)> {
    check_stats(model, params, st)?;
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let mut g = NaturalGrad::zeros(model);
    let lp = log_prior(model, &logw, &params.locs, &params.scales, Some(&mut g));
    add_likelihood_grad(model, &params.scales, st, &mut g);
    Ok((lp + st.loglik, g))
}

/// `ln K!`: the normalising constant of `K` i.i.d. locations restricted to increasing order.
fn ln_factorial(k: usize) -> f64 {
    (2..=k).map(|i| (i as f64).ln()).sum()
}

/// Log prior density on the constrained space; adds its natural gradient into `grad`.
///
/// With `ordered`, the locations' prior is the Normal product restricted to the ordered
/// region, normalised by `K!` when the prior means and sds are equal across components (they are).
pub(crate) fn log_prior(
    model: &Model,
    logw: &[f64],
    locs: &[f64],
    scales: &[f64],
    grad: Option<&mut NaturalGrad>,
) -> f64 {
    let (k, d) = (model.k, model.d);
    // Dirichlet(α) on the simplex.
    let a_sum: f64 = model.alpha.iter().sum();
    let mut lp = ln_gamma(a_sum) - model.alpha.iter().map(|&a| ln_gamma(a)).sum::<f64>();
    for c in 0..k {
        lp += (model.alpha[c] - 1.0) * logw[c];
    }
    // Normal on each location.
    for c in 0..k {
        for j in 0..d {
            let z = (locs[c * d + j] - model.loc_mu[j]) / model.loc_sigma[j];
            lp += -0.5 * LN_2PI - model.loc_sigma[j].ln() - 0.5 * z * z;
        }
    }
    if model.ordered {
        lp += ln_factorial(k);
    }
    // The family's prior.
    match grad {
        Some(g) => {
            model
                .family
                .add_log_prior(scales, d, &mut lp, Some(&mut g.log_scales));
            for c in 0..k {
                g.logw[c] += model.alpha[c] - 1.0;
                for j in 0..d {
                    let s0 = model.loc_sigma[j];
                    g.locs[c * d + j] -= (locs[c * d + j] - model.loc_mu[j]) / (s0 * s0);
                }
            }
        }
        None => model.family.add_log_prior(scales, d, &mut lp, None),
    }
    lp
}

fn ln_gamma(x: f64) -> f64 {
    special::Gamma::ln_gamma(x).0
}

/// `log p(x, θ)` on the constrained space (no Jacobian): the negative of Pyro's
/// `TraceEnum_ELBO` loss with an `AutoDelta` guide at the same θ.
pub fn log_joint(model: &Model, data: &Data, params: &Params) -> f64 {
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    log_prior(model, &logw, &params.locs, &params.scales, None)
        + log_likelihood(
            model,
            data.view(),
            &logw,
            &params.locs,
            &params.scales,
            None,
        )
}

/// `log p(x, θ)` and its gradient in natural coordinates (log-weights, locs, log-scales).
pub fn log_joint_grad(model: &Model, data: &Data, params: &Params) -> (f64, NaturalGrad) {
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let mut g = NaturalGrad::zeros(model);
    let lp = log_prior(model, &logw, &params.locs, &params.scales, Some(&mut g))
        + log_likelihood(
            model,
            data.view(),
            &logw,
            &params.locs,
            &params.scales,
            Some(&mut g),
        );
    (lp, g)
}

/// Log likelihood alone, `Σ_n log Σ_k w_k N(x_n | μ_k, s_k)`.
pub fn log_likelihood_at(model: &Model, data: &Data, params: &Params) -> f64 {
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    log_likelihood(
        model,
        data.view(),
        &logw,
        &params.locs,
        &params.scales,
        None,
    )
}

// ---------------------------------------------------------------------------------------------
// The unconstrained space.

/// What every engine sees of a model: a log density on ℝ^dim with its gradient, and the map
/// back to constrained values. Engines (MAP, NUTS, VI) know nothing else of the model.
pub trait LogDensity: Sync {
    /// Number of unconstrained coordinates.
    fn dim(&self) -> usize;
    /// Log density at `x`; the gradient is written into `grad` (length `dim`). A non-finite
    /// value means `x` is outside the usable region.
    fn logp_grad(&self, x: &[f64], grad: &mut [f64]) -> f64;
    /// Constrained values at `x`, flattened.
    fn constrain(&self, x: &[f64]) -> Vec<f64>;
    /// Names of the constrained values.
    fn names(&self) -> Vec<String>;
}

/// A log density that splits into a prior and a likelihood, for engines that temper the
/// likelihood (`π_β ∝ prior · likelihood^β`, β from 0 to 1): sequential Monte Carlo
/// ([`crate::smc`]). The engines still know nothing of mixtures.
pub trait Tempered: LogDensity {
    /// At `x`: the log prior (with the Jacobian of the unconstrained transform, so that it is
    /// the prior density of `x`) and the log likelihood; the gradient of
    /// `prior + beta · likelihood` is written into `grad`. A non-finite likelihood means `x` is
    /// outside the usable region.
    fn tempered_grad(&self, x: &[f64], beta: f64, grad: &mut [f64]) -> (f64, f64);
    /// A draw from the prior (a proper one), on this density's unconstrained space.
    fn draw_prior(&self, rng: &mut chacha20::ChaCha8Rng) -> Vec<f64>;
}

/// `log σ(x)` without overflow.
#[inline]
fn log_sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

/// `σ(x) = 1 / (1 + e^{−x})` without overflow.
#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The bijection between ℝ^dim and the constrained parameters:
/// - weights: stick-breaking (as PyTorch's `StickBreakingTransform`): `z_j = σ(x_j − ln(K−1−j))`,
///   `w_j = z_j Π_{i<j}(1 − z_i)`, `w_{K−1} = Π_i (1 − z_i)`;
/// - locs: identity, or with `ordered` Stan's ordered transform on the first dimension
///   (`μ_0 = x_0`, `μ_k = μ_{k−1} + exp(x_k)`);
/// - the component family's block last, as the family maps it (for the diagonal family,
///   scales `s = exp(x)`).
#[derive(Debug, Clone, Copy)]
pub struct Transform<'a> {
    model: &'a Model,
}

/// Constrained values computed from an unconstrained point, in log space where it matters.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// log w_k.
    pub logw: Vec<f64>,
    /// z_j of the stick-breaking, K − 1 values.
    pub z: Vec<f64>,
    /// Locations, row-major.
    pub locs: Vec<f64>,
    /// The family's values (scales).
    pub scales: Vec<f64>,
    /// log |det J| of the map.
    pub log_jac: f64,
}

impl<'a> Transform<'a> {
    /// The transform of a model.
    pub fn new(model: &'a Model) -> Self {
        Transform { model }
    }

    /// Constrained values at `x`.
    pub fn unpack(&self, x: &[f64]) -> Unpacked {
        let m = self.model;
        let (k, d) = (m.k, m.d);
        let mut logw = vec![0.0; k];
        let mut z = vec![0.0; k - 1];
        let mut log_rest = 0.0; // log Π_{i<j} (1 − z_i)
        let mut log_jac = 0.0;
        for j in 0..k - 1 {
            let y = x[j] - ((k - 1 - j) as f64).ln();
            let lz = log_sigmoid(y);
            let l1z = log_sigmoid(-y);
            z[j] = sigmoid(y);
            logw[j] = lz + log_rest;
            log_jac += lz + l1z + log_rest;
            log_rest += l1z;
        }
        logw[k - 1] = log_rest;
        let xl = &x[k - 1..k - 1 + k * d];
        let mut locs = xl.to_vec();
        if m.ordered {
            for c in 1..k {
                locs[c * d] = locs[(c - 1) * d] + xl[c * d].exp();
                log_jac += xl[c * d];
            }
        }
        let (scales, family_jac) = m.family.unpack(&x[k - 1 + k * d..], d);
        log_jac += family_jac;
        Unpacked {
            logw,
            z,
            locs,
            scales,
            log_jac,
        }
    }

    /// The unconstrained point of constrained parameters. With `ordered`, the locations must be
    /// strictly increasing in the first dimension.
    pub fn pack(&self, p: &Params) -> Vec<f64> {
        let m = self.model;
        let (k, d) = (m.k, m.d);
        let mut x = Vec::with_capacity(m.n_unconstrained());
        // tail sums Σ_{i ≥ j} w_i, computed from the end for accuracy
        let mut tail = vec![0.0; k + 1];
        for j in (0..k).rev() {
            tail[j] = tail[j + 1] + p.weights[j];
        }
        for j in 0..k - 1 {
            x.push(p.weights[j].ln() - tail[j + 1].ln() + ((k - 1 - j) as f64).ln());
        }
        let mut locs = p.locs.clone();
        if m.ordered {
            for c in (1..k).rev() {
                locs[c * d] = (p.locs[c * d] - p.locs[(c - 1) * d]).ln();
            }
        }
        x.extend(locs);
        m.family.pack(&p.scales, d, &mut x);
        x
    }

    /// Constrained parameters at `x`.
    pub fn params(&self, x: &[f64]) -> Params {
        let u = self.unpack(x);
        Params {
            weights: u.logw.iter().map(|l| l.exp()).collect(),
            locs: u.locs,
            scales: u.scales,
        }
    }

    /// Pull a natural gradient (log-weights, locs, the family's block) back to `x`, adding the gradient
    /// of log |det J| when `jacobian` is set.
    pub fn pull_back(
        &self,
        x: &[f64],
        u: &Unpacked,
        g: &NaturalGrad,
        jacobian: bool,
        out: &mut [f64],
    ) {
        let m = self.model;
        let (k, d) = (m.k, m.d);
        // stick-breaking: ∂/∂x_j = G_j (1 − z_j) − z_j Σ_{i>j} G_i;  log-det part: 1 − (K − j) z_j
        let mut tail = g.logw[k - 1];
        for j in (0..k - 1).rev() {
            let zj = u.z[j];
            out[j] = g.logw[j] * (1.0 - zj) - zj * tail;
            if jacobian {
                out[j] += 1.0 - (k - j) as f64 * zj;
            }
            tail += g.logw[j];
        }
        let ol = &mut out[k - 1..k - 1 + k * d];
        ol.copy_from_slice(&g.locs);
        if m.ordered {
            // μ_c = x_0 + Σ_{1≤i≤c} exp(x_i): ∂/∂x_i = exp(x_i) Σ_{c ≥ i} G_c
            let xl = &x[k - 1..k - 1 + k * d];
            let mut acc = 0.0;
            for c in (0..k).rev() {
                acc += g.locs[c * d];
                ol[c * d] = if c == 0 { acc } else { acc * xl[c * d].exp() };
                if jacobian && c > 0 {
                    ol[c * d] += 1.0;
                }
            }
        }
        let b = k - 1 + k * d;
        m.family
            .pull_back(&x[b..], &g.log_scales, jacobian, d, &mut out[b..]);
    }
}

/// Whether constrained values unpacked from a finite point can be evaluated: finite
/// locations (an `ordered` gap's `exp` overflows beyond 709) and values the family can
/// evaluate (for the diagonal family, scales whose square and inverse square are finite:
/// `s` within about 1e±154, a log-scale coordinate within ±354; beyond, `1/s²` in the
/// gradient overflows, and `exp` underflows to 0 below −745, where `(x − μ)/s` is NaN).
/// Outside, the log density is −∞ (the point is beyond what f64 holds), never NaN.
fn representable(model: &Model, u: &Unpacked) -> bool {
    u.locs.iter().all(|v| v.is_finite()) && model.family.representable(&u.scales, model.d)
}

/// The mixture's log joint on the unconstrained space, from sufficient statistics: what
/// [`MixtureDensity`] evaluates, for a driver that holds the data in partitions (Dask, Spark,
/// files read in pieces). At an unconstrained point `x`, each partition's statistics come from
/// [`StatsDensity::stats`] (where the partition lives); merged in a fixed order
/// ([`SufficientStats::merge`]), they give the log density and its gradient
/// ([`StatsDensity::logp_grad`]) for the optimiser's or sampler's next step. With the
/// statistics of a whole [`Data`], the values are the same bits as [`MixtureDensity`]'s.
#[derive(Debug, Clone, Copy)]
pub struct StatsDensity<'a> {
    model: &'a Model,
    jacobian: bool,
    /// The likelihood's weight: N/m when the statistics are of m points standing for N
    /// (Pyro's subsampled plate); 1 otherwise.
    weight: f64,
}

impl<'a> StatsDensity<'a> {
    /// The density of `model`: with `jacobian`, the density of the unconstrained parameters
    /// (for samplers and VI); without, the constrained density through the transform (MAP).
    pub fn new(model: &'a Model, jacobian: bool) -> Self {
        StatsDensity {
            model,
            jacobian,
            weight: 1.0,
        }
    }

    /// The same density with the likelihood multiplied by `weight` (for statistics of a
    /// subsample of m of N points, N/m).
    pub fn with_weight(mut self, weight: f64) -> Self {
        self.weight = weight;
        self
    }

    /// Number of unconstrained coordinates.
    pub fn dim(&self) -> usize {
        self.model.n_unconstrained()
    }

    fn check_x(&self, x: &[f64]) -> Result<()> {
        if x.len() != self.dim() {
            return Err(Error::Params(format!(
                "an unconstrained point of {} coordinates where the model has {}",
                x.len(),
                self.dim()
            )));
        }
        Ok(())
    }

    /// Statistics computed at another point than `x` are refused (unless their fingerprint
    /// is unknown: no cost then).
    fn check_at(&self, x: &[f64], st: &SufficientStats) -> Result<()> {
        if st.at == 0 {
            return Ok(());
        }
        crate::stats::check_at(st, &self.transform().params(x))
    }

    /// The statistics of the points of `view` at the unconstrained point `x` (with the
    /// gradient statistics if `want_grad`), as [`crate::stats::stats`] computes them.
    pub fn stats(&self, x: &[f64], view: DataView<'_>, want_grad: bool) -> Result<SufficientStats> {
        self.check_x(x)?;
        crate::stats::check_view(self.model, &view)?;
        let u = self.transform().unpack(x);
        let comps = Components::new(self.model, &u.logw, &u.locs, &u.scales);
        let mut st = stats_at(self.model, &comps, view, want_grad);
        st.at = crate::stats::fingerprint(&self.transform().params(x));
        Ok(st)
    }

    /// The transform.
    pub fn transform(&self) -> Transform<'a> {
        Transform::new(self.model)
    }

    /// Log density at `x` from the statistics `st` (computed at `x`, with the gradient
    /// statistics); the gradient with respect to `x` is written into `grad`. −∞ with a zero
    /// gradient where `x` is beyond what f64 holds (as [`MixtureDensity`]).
    pub fn logp_grad(&self, x: &[f64], st: &SufficientStats, grad: &mut [f64]) -> Result<f64> {
        Ok(self.logp_grad_natural(x, st, grad)?.0)
    }

    /// [`StatsDensity::logp_grad`], also returning the natural gradient.
    pub fn logp_grad_natural(
        &self,
        x: &[f64],
        st: &SufficientStats,
        grad: &mut [f64],
    ) -> Result<(f64, NaturalGrad)> {
        self.check_x(x)?;
        if grad.len() != x.len() {
            return Err(Error::Params(format!(
                "a gradient of {} coordinates for a point of {}",
                grad.len(),
                x.len()
            )));
        }
        st.check_shape(self.model.k, self.model.d, true)?;
        crate::stats::check_cross(self.model, st)?;
        self.check_at(x, st)?;
        let u = self.transform().unpack(x);
        if !representable(self.model, &u) {
            grad.fill(0.0);
            return Ok((f64::NEG_INFINITY, NaturalGrad::zeros(self.model)));
        }
        Ok(self.grad_from(x, &u, st, grad))
    }

    /// Log density at `x` from the statistics `st` (computed at `x`, with or without the
    /// gradient statistics).
    pub fn logp(&self, x: &[f64], st: &SufficientStats) -> Result<f64> {
        self.check_x(x)?;
        st.check_shape(self.model.k, self.model.d, st.has_grad())?;
        self.check_at(x, st)?;
        let u = self.transform().unpack(x);
        if !representable(self.model, &u) {
            return Ok(f64::NEG_INFINITY);
        }
        Ok(self.value_from(&u, st))
    }

    /// Prior, weighted likelihood and Jacobian, and the gradient pulled back to `x`, at a
    /// representable point.
    fn grad_from(
        &self,
        x: &[f64],
        u: &Unpacked,
        st: &SufficientStats,
        grad: &mut [f64],
    ) -> (f64, NaturalGrad) {
        let t = self.transform();
        let mut g = NaturalGrad::zeros(self.model);
        let mut lp = log_prior(self.model, &u.logw, &u.locs, &u.scales, Some(&mut g));
        if self.weight == 1.0 {
            add_likelihood_grad(self.model, &u.scales, st, &mut g);
            lp += st.loglik;
        } else {
            let mut gl = NaturalGrad::zeros(self.model);
            add_likelihood_grad(self.model, &u.scales, st, &mut gl);
            lp += self.weight * st.loglik;
            let w = self.weight;
            for (a, b) in g.logw.iter_mut().zip(&gl.logw) {
                *a += w * b;
            }
            for (a, b) in g.locs.iter_mut().zip(&gl.locs) {
                *a += w * b;
            }
            for (a, b) in g.log_scales.iter_mut().zip(&gl.log_scales) {
                *a += w * b;
            }
        }
        if self.jacobian {
            lp += u.log_jac;
        }
        t.pull_back(x, u, &g, self.jacobian, grad);
        if grad.iter().any(|v| !v.is_finite()) {
            // the gradient overflowed (a log-scale's is twice the data term's magnitude, so
            // near f64's largest value the value can be finite and the gradient not): the
            // point is beyond what f64 holds
            grad.fill(0.0);
            return (f64::NEG_INFINITY, g);
        }
        (lp, g)
    }

    /// Prior, weighted likelihood and Jacobian at a representable point.
    fn value_from(&self, u: &Unpacked, st: &SufficientStats) -> f64 {
        let mut lp =
            log_prior(self.model, &u.logw, &u.locs, &u.scales, None) + self.weight * st.loglik;
        if self.jacobian {
            lp += u.log_jac;
        }
        lp
    }
}

/// The mixture's log joint on the unconstrained space. With `jacobian`, it is the density of
/// the unconstrained parameters (for samplers and VI); without, it is the constrained density
/// evaluated through the transform (for MAP, as Pyro's `AutoDelta`). Each evaluation is one
/// pass over the data for their statistics, then [`StatsDensity`]'s arithmetic.
#[derive(Debug, Clone, Copy)]
pub struct MixtureDensity<'a> {
    density: StatsDensity<'a>,
    data: Source<'a>,
}

/// Where a [`MixtureDensity`]'s statistics come from: data in memory, or partitions held
/// elsewhere (a driver's callback, [`crate::partitioned`]).
#[derive(Clone, Copy)]
enum Source<'a> {
    View(DataView<'a>),
    Remote(&'a dyn RemoteStats),
}

impl std::fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::View(v) => write!(f, "View({} × {})", v.n(), v.d()),
            Source::Remote(r) => write!(f, "Remote({} points)", r.n()),
        }
    }
}

/// Statistics of data held elsewhere, at an unconstrained point of the density's model: what
/// [`StatsDensity::stats`] gives on each partition, merged. A failure is kept by the
/// implementation (and reported by its driver); the statistics returned then have a NaN log
/// likelihood, which the engines treat as a point outside the density's support.
pub(crate) trait RemoteStats: Sync {
    /// Number of points.
    fn n(&self) -> usize;
    /// The merged statistics at `x` (with the gradient statistics if `grad`).
    fn stats(&self, x: &[f64], grad: bool) -> SufficientStats;
}

impl<'a> MixtureDensity<'a> {
    /// The density of `model` given `data`.
    pub fn new(model: &'a Model, data: &'a Data, jacobian: bool) -> Self {
        MixtureDensity::from_view(model, data.view(), jacobian)
    }

    /// The density of `model` given the points of a view (of `model.d` columns; panics
    /// otherwise).
    pub fn from_view(model: &'a Model, data: DataView<'a>, jacobian: bool) -> Self {
        assert_eq!(
            data.d(),
            model.d,
            "a view of {} columns for a model of d = {}",
            data.d(),
            model.d
        );
        MixtureDensity {
            density: StatsDensity::new(model, jacobian),
            data: Source::View(data),
        }
    }

    /// The density of `model` given data held elsewhere, whose statistics `remote` gives.
    pub(crate) fn remote(model: &'a Model, remote: &'a dyn RemoteStats, jacobian: bool) -> Self {
        MixtureDensity {
            density: StatsDensity::new(model, jacobian),
            data: Source::Remote(remote),
        }
    }

    /// The same density with the likelihood multiplied by `weight` (for a subsample of m of N
    /// points, N/m: an unbiased estimate of the full likelihood).
    pub fn with_weight(mut self, weight: f64) -> Self {
        self.density = self.density.with_weight(weight);
        self
    }

    /// The model.
    pub fn model(&self) -> &'a Model {
        self.density.model
    }

    /// The transform.
    pub fn transform(&self) -> Transform<'a> {
        self.density.transform()
    }

    /// The statistics of the data at the point `x`, unpacked as `u`.
    fn stats(&self, x: &[f64], u: &Unpacked, grad: bool) -> SufficientStats {
        let model = self.density.model;
        match self.data {
            Source::View(view) => {
                let comps = Components::new(model, &u.logw, &u.locs, &u.scales);
                stats_at(model, &comps, view, grad)
            }
            Source::Remote(r) => r.stats(x, grad),
        }
    }

    /// The statistics of the data at the unconstrained point `x`, with the gradient
    /// statistics; `None` where `x` is beyond what f64 holds.
    pub(crate) fn stats_of(&self, x: &[f64]) -> Option<SufficientStats> {
        let u = self.transform().unpack(x);
        representable(self.model(), &u).then(|| self.stats(x, &u, true))
    }

    /// Number of points.
    pub(crate) fn n(&self) -> usize {
        match self.data {
            Source::View(v) => v.n(),
            Source::Remote(r) => r.n(),
        }
    }

    /// The arithmetic on statistics this density does after each pass.
    pub(crate) fn stats_density(&self) -> StatsDensity<'a> {
        self.density
    }

    /// Log density and gradient, also returning the natural gradient (for per-site norms).
    pub fn logp_grad_natural(&self, x: &[f64], grad: &mut [f64]) -> (f64, NaturalGrad) {
        let u = self.transform().unpack(x);
        if !representable(self.model(), &u) {
            grad.fill(0.0);
            return (f64::NEG_INFINITY, NaturalGrad::zeros(self.density.model));
        }
        let st = self.stats(x, &u, true);
        self.density.grad_from(x, &u, &st, grad)
    }

    /// The log prior (with the Jacobian if the density has it) and the log likelihood at `x`,
    /// and the gradient of `prior + beta · likelihood` in `grad` (this density's own likelihood
    /// weight is replaced by `beta`): what a tempering engine needs, from one pass.
    pub fn tempered_grad(&self, x: &[f64], beta: f64, grad: &mut [f64]) -> (f64, f64) {
        let u = self.transform().unpack(x);
        let outside = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        if !representable(self.model(), &u) {
            grad.fill(0.0);
            return outside;
        }
        let st = self.stats(x, &u, true);
        if !st.loglik.is_finite() {
            grad.fill(0.0);
            return outside;
        }
        let (lp, _) = self.density.with_weight(beta).grad_from(x, &u, &st, grad);
        if !lp.is_finite() {
            return outside;
        }
        // the prior (and Jacobian) from the value just computed, not a second evaluation
        (lp - beta * st.loglik, st.loglik)
    }

    /// Log density alone (no gradient pass over the data's statistics).
    pub fn logp(&self, x: &[f64]) -> f64 {
        let u = self.transform().unpack(x);
        if !representable(self.model(), &u) {
            return f64::NEG_INFINITY;
        }
        let st = self.stats(x, &u, false);
        self.density.value_from(&u, &st)
    }
}

impl LogDensity for MixtureDensity<'_> {
    fn dim(&self) -> usize {
        self.density.dim()
    }

    fn logp_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        self.logp_grad_natural(x, grad).0
    }

    fn constrain(&self, x: &[f64]) -> Vec<f64> {
        self.transform().params(x).flat()
    }

    fn names(&self) -> Vec<String> {
        self.density.model.constrained_names()
    }
}

impl Tempered for MixtureDensity<'_> {
    fn tempered_grad(&self, x: &[f64], beta: f64, grad: &mut [f64]) -> (f64, f64) {
        MixtureDensity::tempered_grad(self, x, beta, grad)
    }

    fn draw_prior(&self, rng: &mut chacha20::ChaCha8Rng) -> Vec<f64> {
        let p = crate::simulate::draw_params(self.model(), rng);
        self.transform().pack(&p)
    }
}

/// Assignment log probabilities `log p(z_n = k | x_n, θ)` for every point (N rows of K).
pub fn log_responsibilities(model: &Model, data: &Data, params: &Params) -> Vec<Vec<f64>> {
    let (resp, _) = responsibilities_and_density(model, &data.view(), params, false);
    resp.chunks(model.k.max(1)).map(<[f64]>::to_vec).collect()
}

/// The log likelihood of every point, `log p(x_n | θ) = log Σ_k w_k N(x_n | k)`, the assignment
/// summed out (so it does not depend on the components' labelling); for a point with missing
/// values the density of its observed values, 0 for a point with none. Their sum is the
/// log likelihood of the data; the pointwise values are what PSIS-LOO and WAIC take.
pub fn pointwise_log_likelihood(model: &Model, data: &Data, params: &Params) -> Vec<f64> {
    responsibilities_and_density(model, &data.view(), params, true).1
}

/// The log responsibilities `log p(z_n = k | x_n, θ)` (point-major, N × K) and, when `density`
/// is set, each point's log density `log p(x_n | θ)` (else an empty vector), in one pass over a
/// borrowed [`DataView`] (a row-major array without a copy), in chunks over the points in
/// parallel (the same numbers on any thread count). `params` must be the model's
/// ([`Params::check`]) and the view of the model's dimension.
pub fn responsibilities_and_density(
    model: &Model,
    view: &crate::DataView<'_>,
    params: &Params,
    density: bool,
) -> (Vec<f64>, Vec<f64>) {
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let comps = Components::new(model, &logw, &params.locs, &params.scales);
    let consts = comps.consts();
    let (n, k) = (view.n(), model.k);
    let n_chunks = n.div_ceil(CHUNK);
    let chunks: Vec<(Vec<f64>, Vec<f64>)> = (0..n_chunks)
        .into_par_iter()
        .map(|c| {
            let range = c * CHUNK..((c + 1) * CHUNK).min(n);
            let mut out = vec![0.0; range.len() * k];
            let mut lse = vec![0.0; if density { range.len() } else { 0 }];
            crate::kernel::chunk_log_resp(view, range, &consts, &mut out, &mut lse);
            (out, lse)
        })
        .collect();
    let mut resp = Vec::with_capacity(n * k);
    let mut lse = Vec::with_capacity(if density { n } else { 0 });
    for (r, l) in chunks {
        resp.extend_from_slice(&r);
        lse.extend_from_slice(&l);
    }
    (resp, lse)
}

/// `Σ_n −ln max_k p(z_n = k | x_n, θ)` over the points of `view` with at least one observed
/// value: the entropy of the hard classification that mclust's ICL adds to the BIC. In
/// chunks over the points in parallel, summed in chunk order (the same number on any thread
/// count). `params` must be the model's and the view of the model's dimension.
pub fn classification_entropy(model: &Model, view: &DataView<'_>, params: &Params) -> f64 {
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let comps = Components::new(model, &logw, &params.locs, &params.scales);
    let consts = comps.consts();
    let (n, k, d) = (view.n(), model.k, view.d());
    let parts: Vec<f64> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let range = c * CHUNK..((c + 1) * CHUNK).min(n);
            let mut out = vec![0.0; range.len() * k];
            crate::kernel::chunk_log_resp(view, range.clone(), &consts, &mut out, &mut []);
            out.chunks(k.max(1))
                .zip(range)
                .filter(|(_, i)| (0..d).any(|j| !view.get(*i, j).is_nan()))
                .map(|(r, _)| -r.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v)))
                .sum::<f64>()
        })
        .collect();
    parts.iter().sum()
}

#[cfg(test)]
mod covariance_families {
    use super::*;
    use crate::{stats, ModelSpec};

    fn model(sharing: &str, prior: &str, k: usize, d: usize) -> Model {
        let spec: ModelSpec = serde_json::from_str(&format!(
            r#"{{"k": {k}, "weights": {{"concentration": 2.0}},
                "locs": {{"loc": 0.0, "scale": 3.0}},
                "scale": {{"sharing": "{sharing}", {prior}}}}}"#
        ))
        .unwrap();
        spec.build(Some(d)).unwrap()
    }

    fn models(k: usize, d: usize) -> Vec<Model> {
        let mut out = Vec::new();
        for sharing in ["full", "tied"] {
            for prior in [
                r#""prior": "lognormal", "mu": 0.0, "sigma": 1.0, "eta": 2.0"#,
                r#""prior": "half_cauchy", "scale": 2.0"#,
                r#""prior": "inverse_wishart", "df": 6.0, "scale": 1.5"#,
            ] {
                out.push(model(sharing, prior, k, d));
            }
        }
        out
    }

    /// The unconstrained log density's gradient (statistics from the kernel, the family's
    /// gradient map, prior and Jacobian pulled back) against its finite differences, full and
    /// tied, scale priors × LKJ and the inverse Wishart, D = 1, 2, 3, with and without the
    /// Jacobian.
    #[test]
    fn unconstrained_gradient_matches_finite_differences() {
        let k = 2;
        for d in 1..=3 {
            for m in models(k, d) {
                let sim = crate::simulate::simulate(&m, 40, 3).unwrap();
                for jacobian in [false, true] {
                    let dens = MixtureDensity::new(&m, &sim.data, jacobian);
                    let x = dens.transform().pack(&sim.params);
                    let mut g = vec![0.0; x.len()];
                    let (lp, _) = dens.logp_grad_natural(&x, &mut g);
                    assert!(lp.is_finite());
                    assert!((lp - dens.logp(&x)).abs() < 1e-9 * lp.abs());
                    let h = 1e-5;
                    for i in 0..x.len() {
                        let (mut xp, mut xm) = (x.clone(), x.clone());
                        xp[i] += h;
                        xm[i] -= h;
                        let fd = (dens.logp(&xp) - dens.logp(&xm)) / (2.0 * h);
                        assert!(
                            (g[i] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                            "{} D{d} jacobian {jacobian}, coordinate {i}: {} vs {fd}",
                            m.family.name(),
                            g[i]
                        );
                    }
                }
            }
        }
    }

    /// The statistics contract with cross moments: a partition's statistics merged equal the
    /// whole's (1e-12 relative), and give the kernel's log likelihood and gradient, which
    /// agree with the plain scalar loop.
    #[test]
    fn statistics_of_a_partition_merge_to_the_whole() {
        let (k, d, n) = (3, 3, 5000);
        for m in models(k, d) {
            let sim = crate::simulate::simulate(&m, n, 11).unwrap();
            let whole = stats(&m, &sim.params, sim.data.view(), true).unwrap();
            assert_eq!(whole.r_cross.len(), k * d * d);
            let mut total = SufficientStats::empty(&m, true);
            for r in [0..1, 1..2100, 2100..n] {
                let part = stats(&m, &sim.params, sim.data.view().rows(r), true).unwrap();
                let sent = serde_json::to_string(&part).unwrap();
                total.merge(&serde_json::from_str(&sent).unwrap()).unwrap();
            }
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
            assert!(close(total.loglik, whole.loglik));
            for (a, b) in total.r_cross.iter().zip(&whole.r_cross) {
                assert!(close(*a, *b), "{a} vs {b}");
            }
            let (ll, g) = log_likelihood_from_stats(&m, &sim.params, &total).unwrap();
            let mut gs = NaturalGrad::zeros(&m);
            let ls = log_likelihood_scalar(&m, &sim.data, &sim.params, Some(&mut gs));
            assert!(close(ll, ls), "{ll} vs {ls}");
            for (a, b) in g
                .locs
                .iter()
                .chain(&g.log_scales)
                .zip(gs.locs.iter().chain(&gs.log_scales))
            {
                assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
            }
            // statistics without the cross moments are refused
            let mut bare = whole.clone();
            bare.r_cross.clear();
            assert!(log_likelihood_from_stats(&m, &sim.params, &bare).is_err());
        }
    }
}

#[cfg(test)]
mod em_surrogate {
    use super::*;
    use crate::ModelSpec;

    /// Every family: the four diagonal sharings, full and tied (LKJ and inverse Wishart).
    fn models(k: usize, d: usize) -> Vec<Model> {
        let mut out = Vec::new();
        for scale in [
            r#""sharing": "shared", "prior": "lognormal", "mu": 0.0, "sigma": 1.0"#,
            r#""sharing": "component", "prior": "half_cauchy", "scale": 2.0"#,
            r#""sharing": "dimension", "prior": "lognormal", "mu": 0.0, "sigma": 1.0"#,
            r#""sharing": "diagonal", "prior": "lognormal", "mu": 0.0, "sigma": 1.0"#,
            r#""sharing": "full", "prior": "lognormal", "mu": 0.0, "sigma": 1.0, "eta": 2.0"#,
            r#""sharing": "tied", "prior": "half_cauchy", "scale": 2.0"#,
            r#""sharing": "full", "prior": "inverse_wishart", "df": 6.0, "scale": 1.5"#,
        ] {
            let spec: ModelSpec = serde_json::from_str(&format!(
                r#"{{"k": {k}, "weights": {{"concentration": 2.0}},
                    "locs": {{"loc": 0.0, "scale": 3.0}}, "scale": {{{scale}}}}}"#
            ))
            .unwrap();
            out.push(spec.build(Some(d)).unwrap());
        }
        out
    }

    /// Simulated data with about one value in five removed (a fixed pattern, no row empty).
    fn data(m: &Model, n: usize, missing: bool) -> (Data, Params) {
        let sim = crate::simulate::simulate(m, n, 5).unwrap();
        if !missing {
            return (sim.data, sim.params);
        }
        let cols = (0..m.d)
            .map(|j| {
                (0..n)
                    .map(|i| {
                        let v = sim.data.col(j)[i];
                        if (i * 3 + j * 7) % 5 == 0 && j != i % m.d {
                            f64::NAN
                        } else {
                            v
                        }
                    })
                    .collect()
            })
            .collect();
        (Data::with_missing(cols).unwrap(), sim.params)
    }

    /// The surrogate's log density at `y` from statistics taken at `x`, and its gradient.
    fn q(dens: &MixtureDensity, st: &SufficientStats, x: &[f64], y: &[f64], g: &mut [f64]) -> f64 {
        let t = dens.transform();
        let (at, u) = (t.unpack(x), t.unpack(y));
        let s = crate::stats::surrogate(dens.model(), st, &at.locs, &u.logw, &u.locs, &u.scales);
        dens.stats_density().logp_grad(y, &s, g).unwrap()
    }

    /// For every family, with and without missing values: the surrogate's gradient is its
    /// value's (finite differences, away from where the statistics were taken); where they
    /// were taken it is the log density's gradient (Fisher's identity); and it minorises the
    /// log density: `log p(y) − log p(x) ≥ Q(y) − Q(x)` at points around `x`.
    #[test]
    fn surrogate_is_a_minorant_with_the_density_gradient() {
        let (k, d) = (2, 3);
        for m in models(k, d) {
            for missing in [false, true] {
                let (data, params) = data(&m, 200, missing);
                let dens = MixtureDensity::new(&m, &data, false);
                let x = dens.transform().pack(&params);
                let st = dens.stats_of(&x).unwrap();
                let mut gx = vec![0.0; x.len()];
                let lx = dens.logp_grad(&x, &mut gx);
                let mut gq = vec![0.0; x.len()];
                let qx = q(&dens, &st, &x, &x, &mut gq);
                for (a, b) in gq.iter().zip(&gx) {
                    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
                }
                let what = format!("{} missing {missing}", m.family.name());
                for step in 0..6 {
                    let y: Vec<f64> = x
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            v + 0.05 * (step as f64 + 1.0) * ((i * 5 + step) % 7) as f64 / 7.0 - 0.1
                        })
                        .collect();
                    let mut g = vec![0.0; y.len()];
                    let qy = q(&dens, &st, &x, &y, &mut g);
                    let ly = dens.logp(&y);
                    assert!(
                        ly - lx >= qy - qx - 1e-9 * lx.abs(),
                        "{what}: log p gains {} where Q gains {}",
                        ly - lx,
                        qy - qx
                    );
                    let h = 1e-6;
                    for i in 0..y.len() {
                        let (mut yp, mut ym) = (y.clone(), y.clone());
                        yp[i] += h;
                        ym[i] -= h;
                        let mut s = vec![0.0; y.len()];
                        let fd = (q(&dens, &st, &x, &yp, &mut s) - q(&dens, &st, &x, &ym, &mut s))
                            / (2.0 * h);
                        assert!(
                            (g[i] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                            "{what}, coordinate {i}: {} vs {fd}",
                            g[i]
                        );
                    }
                }
            }
        }
    }
}
