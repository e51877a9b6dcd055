//! The exact marginal log joint density of a mixture, with the assignments summed out:
//!
//! `log p(x, θ) = log p(θ) + Σ_n logsumexp_k [log w_k + Σ_d log N(x_nd | μ_kd, s_kd)]`
//!
//! and its analytic gradient. The data loop runs over fixed chunks of points in parallel
//! (rayon) and the chunks' partial sums are added in chunk order, so the result does not
//! depend on the number of threads.

use rayon::prelude::*;

use crate::data::Data;
use crate::model::Model;
use crate::params::Params;

pub(crate) const LN_2PI: f64 = 1.837_877_066_409_345_3;
/// Points per chunk of the data loop (the unit of parallel work and of the fixed reduction).
pub const CHUNK: usize = 2048;
/// Below this many point·component·(dimension + 2) operations an evaluation runs on the
/// calling thread (about 0.2 ms of work on one core).
pub const PARALLEL_WORK: usize = 1 << 18;

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
    fn zeros(model: &Model) -> NaturalGrad {
        NaturalGrad {
            logw: vec![0.0; model.k],
            locs: vec![0.0; model.k * model.d],
            log_scales: vec![0.0; model.n_scales()],
        }
    }
}

/// Per-component constants of one evaluation, hoisted out of the point loop.
pub(crate) struct Components<'a> {
    k: usize,
    d: usize,
    locs: &'a [f64],
    /// 1 / s_kd, row-major.
    inv_s: Vec<f64>,
    /// log w_k − Σ_d log s_kd − D/2 log 2π.
    log_norm: Vec<f64>,
}

impl<'a> Components<'a> {
    pub(crate) fn new(model: &Model, logw: &[f64], locs: &'a [f64], scales: &[f64]) -> Self {
        let (k, d) = (model.k, model.d);
        let mut inv_s = vec![0.0; k * d];
        let mut log_norm = vec![0.0; k];
        for c in 0..k {
            let mut ln = logw[c] - 0.5 * d as f64 * LN_2PI;
            for j in 0..d {
                let s = model.family.scale(scales, c, j, d);
                inv_s[c * d + j] = 1.0 / s;
                ln -= s.ln();
            }
            log_norm[c] = ln;
        }
        Components {
            k,
            d,
            locs,
            inv_s,
            log_norm,
        }
    }

    /// The constants as the kernel takes them.
    pub(crate) fn consts(&self) -> crate::kernel::Consts<'_> {
        crate::kernel::Consts {
            k: self.k,
            d: self.d,
            locs: self.locs,
            inv_s: &self.inv_s,
            log_norm: &self.log_norm,
        }
    }

    /// `out[k] = log w_k + log N(x | μ_k, s_k)` for the point `i`; returns their logsumexp.
    #[inline]
    pub(crate) fn point_terms(&self, data: &Data, i: usize, out: &mut [f64]) -> f64 {
        let d = self.d;
        let mut m = f64::NEG_INFINITY;
        for (c, o) in out.iter_mut().enumerate().take(self.k) {
            let mut q = 0.0;
            for j in 0..d {
                let z = (data.col(j)[i] - self.locs[c * d + j]) * self.inv_s[c * d + j];
                q += z * z;
            }
            let a = self.log_norm[c] - 0.5 * q;
            *o = a;
            if a > m {
                m = a;
            }
        }
        if m == f64::NEG_INFINITY || !m.is_finite() {
            return m;
        }
        let s: f64 = out[..self.k].iter().map(|a| (a - m).exp()).sum();
        m + s.ln()
    }
}

/// Partial sums of one chunk of points.
struct Partial {
    loglik: f64,
    /// Σ_n r_nk.
    r_sum: Vec<f64>,
    /// Σ_n r_nk (x_nd − μ_kd).
    t1: Vec<f64>,
    /// Σ_n r_nk (x_nd − μ_kd)².
    t2: Vec<f64>,
}

fn chunk_pass(
    data: &Data,
    comps: &Components,
    range: std::ops::Range<usize>,
    grad: bool,
) -> Partial {
    let (k, d) = (comps.k, comps.d);
    let mut p = Partial {
        loglik: 0.0,
        r_sum: vec![0.0; if grad { k } else { 0 }],
        t1: vec![0.0; if grad { k * d } else { 0 }],
        t2: vec![0.0; if grad { k * d } else { 0 }],
    };
    let mut a = vec![0.0; k];
    for i in range {
        let lse = comps.point_terms(data, i, &mut a);
        p.loglik += lse;
        if grad && lse.is_finite() {
            for c in 0..k {
                let r = (a[c] - lse).exp();
                p.r_sum[c] += r;
                for j in 0..d {
                    let diff = data.col(j)[i] - comps.locs[c * d + j];
                    let rd = r * diff;
                    p.t1[c * d + j] += rd;
                    p.t2[c * d + j] += rd * diff;
                }
            }
        }
    }
    p
}

/// Log likelihood `Σ_n logsumexp_k [...]` and, if `grad` is given, its gradient added into it.
/// Runs the vectorised [`crate::kernel`] over fixed chunks in parallel, summed in chunk order.
pub(crate) fn log_likelihood(
    model: &Model,
    data: &Data,
    logw: &[f64],
    locs: &[f64],
    scales: &[f64],
    grad: Option<&mut NaturalGrad>,
) -> f64 {
    let comps = Components::new(model, logw, locs, scales);
    let consts = comps.consts();
    let cols: Vec<&[f64]> = (0..data.d()).map(|j| data.col(j)).collect();
    let n = data.n();
    let n_chunks = n.div_ceil(CHUNK);
    let want = grad.is_some();
    let run = |c: usize| {
        crate::kernel::chunk_stats(&cols, c * CHUNK..((c + 1) * CHUNK).min(n), &consts, want)
    };
    // small work runs on the calling thread: a thread pool round trip costs more than the
    // evaluation (the chunks and their order are the same either way, so are the sums)
    let parts: Vec<crate::kernel::Stats> = if n * model.k * (model.d + 2) < PARALLEL_WORK {
        (0..n_chunks).map(run).collect()
    } else {
        (0..n_chunks).into_par_iter().map(run).collect()
    };
    let parts: Vec<Partial> = parts
        .into_iter()
        .map(|s| Partial {
            loglik: s.loglik,
            r_sum: s.r_sum,
            t1: s.t1,
            t2: s.t2,
        })
        .collect();
    finish(model, &comps, &parts, grad)
}

/// Log likelihood and its natural gradient by the vectorised kernel (what every engine runs).
pub fn log_likelihood_grad(model: &Model, data: &Data, params: &Params) -> (f64, NaturalGrad) {
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let mut g = NaturalGrad::zeros(model);
    let ll = log_likelihood(
        model,
        data,
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
    let parts: Vec<Partial> = (0..n_chunks)
        .into_par_iter()
        .map(|c| chunk_pass(data, &comps, c * CHUNK..((c + 1) * CHUNK).min(n), want))
        .collect();
    finish(model, &comps, &parts, grad)
}

/// Add the chunks' sums in order and turn the statistics into the gradient.
fn finish(
    model: &Model,
    comps: &Components,
    parts: &[Partial],
    grad: Option<&mut NaturalGrad>,
) -> f64 {
    let mut loglik = 0.0;
    for p in parts {
        loglik += p.loglik;
    }
    if let Some(g) = grad {
        let (k, d) = (model.k, model.d);
        let mut r_sum = vec![0.0; k];
        let mut t1 = vec![0.0; k * d];
        let mut t2 = vec![0.0; k * d];
        for p in parts {
            for (a, b) in r_sum.iter_mut().zip(&p.r_sum) {
                *a += b;
            }
            for (a, b) in t1.iter_mut().zip(&p.t1) {
                *a += b;
            }
            for (a, b) in t2.iter_mut().zip(&p.t2) {
                *a += b;
            }
        }
        for c in 0..k {
            g.logw[c] += r_sum[c];
            for j in 0..d {
                let is = comps.inv_s[c * d + j];
                let idx = c * d + j;
                g.locs[idx] += t1[idx] * is * is;
            }
        }
        model
            .family
            .add_stats_grad(d, &comps.inv_s, &r_sum, &t2, &mut g.log_scales);
    }
    loglik
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
                .add_log_prior(scales, &mut lp, Some(&mut g.log_scales));
            for c in 0..k {
                g.logw[c] += model.alpha[c] - 1.0;
                for j in 0..d {
                    let s0 = model.loc_sigma[j];
                    g.locs[c * d + j] -= (locs[c * d + j] - model.loc_mu[j]) / (s0 * s0);
                }
            }
        }
        None => model.family.add_log_prior(scales, &mut lp, None),
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
        + log_likelihood(model, data, &logw, &params.locs, &params.scales, None)
}

/// `log p(x, θ)` and its gradient in natural coordinates (log-weights, locs, log-scales).
pub fn log_joint_grad(model: &Model, data: &Data, params: &Params) -> (f64, NaturalGrad) {
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let mut g = NaturalGrad::zeros(model);
    let lp = log_prior(model, &logw, &params.locs, &params.scales, Some(&mut g))
        + log_likelihood(
            model,
            data,
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
    log_likelihood(model, data, &logw, &params.locs, &params.scales, None)
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
        let (scales, family_jac) = m.family.unpack(&x[k - 1 + k * d..]);
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
        m.family.pack(&p.scales, &mut x);
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
        m.family
            .pull_back(&g.log_scales, jacobian, &mut out[k - 1 + k * d..]);
    }
}

/// Whether constrained values unpacked from a finite point can be evaluated: finite
/// locations (an `ordered` gap's `exp` overflows beyond 709) and values the family can
/// evaluate (for the diagonal family, scales whose square and inverse square are finite:
/// `s` within about 1e±154, a log-scale coordinate within ±354; beyond, `1/s²` in the
/// gradient overflows, and `exp` underflows to 0 below −745, where `(x − μ)/s` is NaN).
/// Outside, the log density is −∞ (the point is beyond what f64 holds), never NaN.
fn representable(model: &Model, u: &Unpacked) -> bool {
    u.locs.iter().all(|v| v.is_finite()) && model.family.representable(&u.scales)
}

/// The mixture's log joint on the unconstrained space. With `jacobian`, it is the density of
/// the unconstrained parameters (for samplers and VI); without, it is the constrained density
/// evaluated through the transform (for MAP, as Pyro's `AutoDelta`).
#[derive(Debug, Clone, Copy)]
pub struct MixtureDensity<'a> {
    model: &'a Model,
    data: &'a Data,
    jacobian: bool,
    /// The likelihood's weight: N/m when `data` is m points standing for N (Pyro's
    /// subsampled plate); 1 otherwise.
    weight: f64,
}

impl<'a> MixtureDensity<'a> {
    /// The density of `model` given `data`.
    pub fn new(model: &'a Model, data: &'a Data, jacobian: bool) -> Self {
        MixtureDensity {
            model,
            data,
            jacobian,
            weight: 1.0,
        }
    }

    /// The same density with the likelihood multiplied by `weight` (for a subsample of m of N
    /// points, N/m: an unbiased estimate of the full likelihood).
    pub fn with_weight(mut self, weight: f64) -> Self {
        self.weight = weight;
        self
    }

    /// The model.
    pub fn model(&self) -> &'a Model {
        self.model
    }

    /// The transform.
    pub fn transform(&self) -> Transform<'a> {
        Transform::new(self.model)
    }

    /// Log density and gradient, also returning the natural gradient (for per-site norms).
    pub fn logp_grad_natural(&self, x: &[f64], grad: &mut [f64]) -> (f64, NaturalGrad) {
        let t = self.transform();
        let u = t.unpack(x);
        let mut g = NaturalGrad::zeros(self.model);
        if !representable(self.model, &u) {
            grad.fill(0.0);
            return (f64::NEG_INFINITY, g);
        }
        let mut lp = log_prior(self.model, &u.logw, &u.locs, &u.scales, Some(&mut g));
        if self.weight == 1.0 {
            lp += log_likelihood(
                self.model,
                self.data,
                &u.logw,
                &u.locs,
                &u.scales,
                Some(&mut g),
            );
        } else {
            let mut gl = NaturalGrad::zeros(self.model);
            let ll = log_likelihood(
                self.model,
                self.data,
                &u.logw,
                &u.locs,
                &u.scales,
                Some(&mut gl),
            );
            lp += self.weight * ll;
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
        t.pull_back(x, &u, &g, self.jacobian, grad);
        if grad.iter().any(|v| !v.is_finite()) {
            // the gradient overflowed (a log-scale's is twice the data term's magnitude, so
            // near f64's largest value the value can be finite and the gradient not): the
            // point is beyond what f64 holds
            grad.fill(0.0);
            return (f64::NEG_INFINITY, g);
        }
        (lp, g)
    }

    /// Log density alone (no gradient pass over the data's statistics).
    pub fn logp(&self, x: &[f64]) -> f64 {
        let u = self.transform().unpack(x);
        if !representable(self.model, &u) {
            return f64::NEG_INFINITY;
        }
        let mut lp = log_prior(self.model, &u.logw, &u.locs, &u.scales, None)
            + self.weight
                * log_likelihood(self.model, self.data, &u.logw, &u.locs, &u.scales, None);
        if self.jacobian {
            lp += u.log_jac;
        }
        lp
    }
}

impl LogDensity for MixtureDensity<'_> {
    fn dim(&self) -> usize {
        self.model.n_unconstrained()
    }

    fn logp_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        self.logp_grad_natural(x, grad).0
    }

    fn constrain(&self, x: &[f64]) -> Vec<f64> {
        self.transform().params(x).flat()
    }

    fn names(&self) -> Vec<String> {
        self.model.constrained_names()
    }
}

/// Assignment log probabilities `log p(z_n = k | x_n, θ)` for every point (N rows of K).
pub fn log_responsibilities(model: &Model, data: &Data, params: &Params) -> Vec<Vec<f64>> {
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let comps = Components::new(model, &logw, &params.locs, &params.scales);
    let consts = comps.consts();
    let cols: Vec<&[f64]> = (0..data.d()).map(|j| data.col(j)).collect();
    let (n, k) = (data.n(), model.k);
    let n_chunks = n.div_ceil(CHUNK);
    let chunks: Vec<Vec<f64>> = (0..n_chunks)
        .into_par_iter()
        .map(|c| {
            let range = c * CHUNK..((c + 1) * CHUNK).min(n);
            let mut out = vec![0.0; range.len() * k];
            crate::kernel::chunk_log_resp(&cols, range, &consts, &mut out);
            out
        })
        .collect();
    chunks
        .iter()
        .flat_map(|c| c.chunks(k).map(<[f64]>::to_vec))
        .collect()
}
