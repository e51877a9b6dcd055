//! The statistics contract: the sufficient statistics of a partition of the data at given
//! parameters, from which the log likelihood and its gradient follow without the data.
//!
//! [`stats`] reads a [`DataView`] once (the vectorised [`crate::kernel`], over fixed chunks of
//! [`CHUNK`] points in parallel, their sums added in chunk order) and returns a
//! [`SufficientStats`]. Statistics of disjoint partitions, each computed where its data live,
//! [`merge`](SufficientStats::merge) by exact addition in a fixed order; the merged statistics
//! give the log likelihood and its gradient
//! ([`log_likelihood_from_stats`](crate::density::log_likelihood_from_stats)), the log joint
//! with the prior ([`log_joint_from_stats`](crate::density::log_joint_from_stats)), and the
//! engines' unconstrained log density ([`StatsDensity`](crate::density::StatsDensity)). The
//! density of the whole data in memory ([`crate::density`]) is this same path with a single
//! partition.
//!
//! Merged statistics equal the whole data's to rounding (about 1e-15 relative: the sums are
//! grouped differently), and are bit-identical for a fixed partitioning, merged in a fixed
//! order, whatever the number of threads.
//!
//! A partitioned driver (each `part` would be computed on a worker and sent back, e.g. as
//! JSON; here they are computed in place):
//!
//! ```
//! use bgmm::{stats, Data, ModelSpec, Params, SufficientStats};
//! let spec: ModelSpec = serde_json::from_str(r#"{"k": 2,
//!     "weights": {"concentration": 1.0}, "locs": {"loc": 0.0, "scale": 10.0},
//!     "scale": {"prior": "lognormal", "mu": 0.0, "sigma": 2.0}}"#).unwrap();
//! let data = Data::from_1d((0..1000).map(|i| (i % 17) as f64).collect()).unwrap();
//! let model = spec.build(Some(1)).unwrap();
//! let params = Params { weights: vec![0.4, 0.6], locs: vec![2.0, 12.0], scales: vec![3.0] };
//! let mut total = SufficientStats::empty(&model, true);
//! for range in [0..300, 300..301, 301..1000] {
//!     let part = stats(&model, &params, data.view().rows(range), true).unwrap();
//!     let sent = serde_json::to_string(&part).unwrap();
//!     total.merge(&serde_json::from_str(&sent).unwrap()).unwrap();
//! }
//! let (ll, grad) = bgmm::log_likelihood_from_stats(&model, &params, &total).unwrap();
//! let whole = bgmm::log_likelihood_grad(&model, &data, &params);
//! assert!((ll - whole.0).abs() <= 1e-12 * ll.abs() && total.n == 1000);
//! assert!((grad.locs[0] - whole.1.locs[0]).abs() <= 1e-12 * grad.locs[0].abs());
//! ```

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{Data, DataView};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::params::Params;

pub(crate) use crate::family::LN_2PI;
/// Points per chunk of the data loop (the unit of parallel work and of the fixed reduction).
pub const CHUNK: usize = 2048;
/// Below this many point·component·(dimension + 2) operations an evaluation runs on the
/// calling thread (about 0.2 ms of work on one core).
pub const PARALLEL_WORK: usize = 1 << 18;

/// The sufficient statistics of a partition of the data at given parameters: the number of
/// points, the log likelihood and what its gradient needs, for today's diagonal components.
/// With responsibilities `r_nk = p(z_n = k | x_n, θ)`:
///
/// - `loglik = Σ_n log Σ_k w_k N(x_n | μ_k, s_k)`,
/// - `r_sum[k] = Σ_n r_nk`,
/// - `r_dev[k·D + d] = Σ_n r_nk (x_nd − μ_kd)`,
/// - `r_dev_sq[k·D + d] = Σ_n r_nk (x_nd − μ_kd)²`.
///
/// Deviations are taken from the locations the statistics were computed at (they are what
/// the gradient needs, and better conditioned than raw moments). The covariance families
/// add the K·D·D cross moments `r_cross`, `Σ_n r_nk (x_n − μ_k)(x_n − μ_k)ᵀ` (of which
/// `r_dev_sq` is the diagonal).
///
/// Statistics only mean something at the parameters they were computed at: merging
/// statistics of different parameters is a caller's error the type cannot see. Without
/// gradient statistics (`want_grad` false) the three vectors are empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SufficientStats {
    /// Number of points summed.
    pub n: u64,
    /// Components K.
    pub k: usize,
    /// Dimensions D.
    pub d: usize,
    /// `Σ_n log Σ_k w_k N(x_n | μ_k, s_k)`, the log likelihood of the points.
    pub loglik: f64,
    /// `Σ_n r_nk`, K values: each component's share of the points.
    pub r_sum: Vec<f64>,
    /// `Σ_n r_nk (x_nd − μ_kd)`, K·D values, row-major (component by component).
    pub r_dev: Vec<f64>,
    /// `Σ_n r_nk (x_nd − μ_kd)²`, K·D values, row-major.
    pub r_dev_sq: Vec<f64>,
    /// For the covariance families, `Σ_n r_nk (x_ni − μ_ki)(x_nj − μ_kj)`, K·D·D values
    /// (component by component, row-major, symmetric); empty otherwise (and absent from the
    /// JSON).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub r_cross: Vec<f64>,
    /// `Σ_n r_nk [x_nd missing]`, K·D values, row-major: the share of each component's points
    /// whose coordinate d is missing (they are left out of `r_dev` and `r_dev_sq`, and the
    /// log likelihood is that of the observed coordinates). Empty for statistics of points
    /// without missing values (the same as zeros). Points with every value missing are left
    /// out of every sum but `n`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub r_miss: Vec<f64>,
    /// A fingerprint of the parameters the statistics were computed at (a hash of their
    /// bits), so that statistics of other parameters are refused when merged or turned into a
    /// density; 0 for unknown (what [`SufficientStats::empty`] starts from), which merges with
    /// any.
    #[serde(default)]
    pub at: u64,
    /// `Σ_n −ln max_k r_nk` over the points with an observed value (the classification
    /// entropy of ICL: [`crate::classification_entropy`]), when the request asked for it
    /// ([`crate::StatsRequest::entropy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entropy: Option<f64>,
}

impl SufficientStats {
    /// The statistics of no points (what merging starts from), with gradient statistics if
    /// `grad`.
    pub fn empty(model: &Model, grad: bool) -> SufficientStats {
        let mut st = SufficientStats::zeros(model.k, model.d, grad);
        if grad && model.family.is_covariance() {
            st.r_cross = vec![0.0; model.k * model.d * model.d];
        }
        st
    }

    fn zeros(k: usize, d: usize, grad: bool) -> SufficientStats {
        SufficientStats {
            n: 0,
            k,
            d,
            loglik: 0.0,
            r_sum: vec![0.0; if grad { k } else { 0 }],
            r_dev: vec![0.0; if grad { k * d } else { 0 }],
            r_dev_sq: vec![0.0; if grad { k * d } else { 0 }],
            r_cross: Vec::new(),
            r_miss: Vec::new(),
            at: 0,
            entropy: None,
        }
    }

    /// Whether the gradient statistics are there.
    pub fn has_grad(&self) -> bool {
        self.r_sum.len() == self.k && self.k > 0
    }

    /// Add `other`'s statistics (of other points, at the same parameters) into these: exact
    /// IEEE addition, value by value, so merging the same statistics in the same order gives
    /// the same bits. Fails, changing nothing, when the shapes differ (K, D, or gradient
    /// statistics on one side only).
    pub fn merge(&mut self, other: &SufficientStats) -> Result<()> {
        self.check_shape(other.k, other.d, other.has_grad())
            .and_then(|()| other.check_shape(self.k, self.d, self.has_grad()))
            .map_err(|e| Error::Data(format!("cannot merge statistics: {e}")))?;
        if self.r_cross.len() != other.r_cross.len() {
            return Err(Error::Data(
                "cannot merge statistics: cross moments (of a covariance family) on one side only"
                    .into(),
            ));
        }
        if self.at != 0 && other.at != 0 && self.at != other.at {
            return Err(Error::Data(
                "cannot merge statistics: they were computed at different parameters".into(),
            ));
        }
        if self.at == 0 {
            self.at = other.at;
        }
        self.add(other);
        Ok(())
    }

    /// `merge` without the check (the shapes are known to agree).
    fn add(&mut self, other: &SufficientStats) {
        self.n += other.n;
        self.loglik += other.loglik;
        self.entropy = match (self.entropy, other.entropy) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        for (a, b) in self.r_sum.iter_mut().zip(&other.r_sum) {
            *a += b;
        }
        for (a, b) in self.r_dev.iter_mut().zip(&other.r_dev) {
            *a += b;
        }
        for (a, b) in self.r_dev_sq.iter_mut().zip(&other.r_dev_sq) {
            *a += b;
        }
        for (a, b) in self.r_cross.iter_mut().zip(&other.r_cross) {
            *a += b;
        }
        if !other.r_miss.is_empty() {
            if self.r_miss.is_empty() {
                self.r_miss = vec![0.0; other.r_miss.len()];
            }
            for (a, b) in self.r_miss.iter_mut().zip(&other.r_miss) {
                *a += b;
            }
        }
    }

    /// Check that the statistics have the shape of K components in D dimensions (and the
    /// gradient statistics if `grad`); the error names what differs.
    pub(crate) fn check_shape(&self, k: usize, d: usize, grad: bool) -> Result<()> {
        let consistent = |s: &SufficientStats| {
            let g = if s.r_sum.is_empty() { 0 } else { 1 };
            s.r_sum.len() == g * s.k
                && s.r_dev.len() == g * s.k * s.d
                && s.r_dev_sq.len() == g * s.k * s.d
                && (s.r_cross.is_empty() || s.r_cross.len() == g * s.k * s.d * s.d)
                && (s.r_miss.is_empty() || s.r_miss.len() == g * s.k * s.d)
        };
        if !consistent(self) {
            return Err(Error::Data(format!(
                "statistics of K = {} and D = {} have {} r_sum, {} r_dev, {} r_dev_sq and {} r_miss values",
                self.k,
                self.d,
                self.r_sum.len(),
                self.r_dev.len(),
                self.r_dev_sq.len(),
                self.r_miss.len()
            )));
        }
        if (self.k, self.d) != (k, d) {
            return Err(Error::Data(format!(
                "statistics of K = {} and D = {} where K = {k} and D = {d} are needed",
                self.k, self.d
            )));
        }
        if self.has_grad() != grad {
            return Err(Error::Data(if grad {
                "statistics without gradient statistics where they are needed (computed with want_grad false)".to_string()
            } else {
                "statistics with gradient statistics merged with statistics without".to_string()
            }));
        }
        Ok(())
    }
}

/// Per-component constants of one evaluation, hoisted out of the point loop.
pub(crate) struct Components<'a> {
    pub(crate) k: usize,
    pub(crate) d: usize,
    pub(crate) locs: &'a [f64],
    /// 1 / s_kd, row-major (the diagonal family's kernel constants).
    pub(crate) inv_s: Vec<f64>,
    /// The covariance families' factors (K·D·D, see `kernel::Consts::chol`); empty for the
    /// diagonal family.
    chol: Vec<f64>,
    /// log w_k − Σ_d log s_kd − D/2 log 2π.
    log_norm: Vec<f64>,
}

impl<'a> Components<'a> {
    pub(crate) fn new(model: &Model, logw: &[f64], locs: &'a [f64], scales: &[f64]) -> Self {
        let (k, d) = (model.k, model.d);
        let full = model.family.is_covariance();
        let mut inv_s = vec![0.0; if full { 0 } else { k * d }];
        let mut chol = vec![0.0; if full { k * d * d } else { 0 }];
        let mut log_norm = vec![0.0; k];
        model
            .family
            .kernel_consts(d, logw, scales, &mut inv_s, &mut chol, &mut log_norm);
        Components {
            k,
            d,
            locs,
            inv_s,
            chol,
            log_norm,
        }
    }

    /// Whether the components have full covariances.
    pub(crate) fn is_full(&self) -> bool {
        !self.chol.is_empty()
    }

    /// The work space of incomplete points under full covariances, set to these components.
    pub(crate) fn full_work(&self) -> crate::observed::FullWork {
        let mut fw = crate::observed::FullWork::default();
        fw.set(self.k, self.d, &self.chol, &self.log_norm);
        fw
    }

    /// The constants as the kernel takes them.
    pub(crate) fn consts(&self) -> crate::kernel::Consts<'_> {
        crate::kernel::Consts {
            k: self.k,
            d: self.d,
            locs: self.locs,
            inv_s: &self.inv_s,
            log_norm: &self.log_norm,
            chol: &self.chol,
        }
    }

    /// `out[k] = log w_k + log N(x | μ_k, s_k)` for the point `i`; returns their logsumexp.
    /// A missing coordinate (NaN) is left out: its factor `N(x_j | μ_kj, s_kj)` integrates to 1
    /// (the constants' `−log s_kj − ½ log 2π` for it is added back); for full covariances the
    /// observed coordinates' marginal, by the work space `full` (set up at the first incomplete
    /// point, then kept by the caller for the next).
    #[inline]
    pub(crate) fn point_terms(
        &self,
        data: &Data,
        i: usize,
        out: &mut [f64],
        full: &mut Option<crate::observed::FullWork>,
    ) -> f64 {
        let d = self.d;
        if !self.chol.is_empty() && (0..d).any(|j| data.col(j)[i].is_nan()) {
            let x: Vec<f64> = (0..d).map(|j| data.col(j)[i]).collect();
            let fw = full.get_or_insert_with(|| self.full_work());
            return fw.terms(&x, self.locs, out, false).unwrap_or_else(|| {
                // every value missing: the terms are the log weights
                out[..self.k].copy_from_slice(fw.log_weights());
                let m = out[..self.k]
                    .iter()
                    .fold(f64::NEG_INFINITY, |m, t| m.max(*t));
                m + out[..self.k]
                    .iter()
                    .map(|t| (t - m).exp())
                    .sum::<f64>()
                    .ln()
            });
        }
        let mut m = f64::NEG_INFINITY;
        let mut w = vec![0.0; if self.chol.is_empty() { 0 } else { d }];
        for (c, o) in out.iter_mut().enumerate().take(self.k) {
            let mut q = 0.0;
            let mut back = 0.0;
            if self.chol.is_empty() {
                for j in 0..d {
                    let x = data.col(j)[i];
                    if x.is_nan() {
                        back += 0.5 * LN_2PI - self.inv_s[c * d + j].ln();
                        continue;
                    }
                    let z = (x - self.locs[c * d + j]) * self.inv_s[c * d + j];
                    q += z * z;
                }
            } else {
                // forward substitution with the covariance's factor
                let ch = &self.chol[c * d * d..(c + 1) * d * d];
                for j in 0..d {
                    let mut v = data.col(j)[i] - self.locs[c * d + j];
                    for l in 0..j {
                        v -= ch[j * d + l] * w[l];
                    }
                    w[j] = v * ch[j * d + j];
                    q += w[j] * w[j];
                }
            }
            let a = self.log_norm[c] + back - 0.5 * q;
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

/// The sufficient statistics of the points of `view` at `params` (with the gradient
/// statistics if `want_grad`). The points are read in fixed chunks of [`CHUNK`], in parallel
/// (rayon) when there is enough work, and the chunks' sums are merged in chunk order: the same
/// bits on any number of threads.
pub fn stats(
    model: &Model,
    params: &Params,
    view: DataView<'_>,
    want_grad: bool,
) -> Result<SufficientStats> {
    params.check(model)?;
    check_view(model, &view)?;
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let comps = Components::new(model, &logw, &params.locs, &params.scales);
    let mut st = stats_at(model, &comps, view, want_grad);
    st.at = fingerprint(params);
    Ok(st)
}

/// The expectation–maximisation surrogate of the log likelihood at the constrained point
/// (`logw`, `locs`, `values`), from the statistics `st` taken at other locations `locs_at`
/// (with the gradient statistics): the expected complete-data log likelihood
/// `Q(θ | θ_t) = Σ_k r_k log w_k + Σ_k E[log N(x | μ_k, Σ_k)]`, up to a constant, as statistics
/// whose `loglik` is `Q` and whose deviations are taken about `locs`, so that the density's
/// arithmetic on statistics ([`crate::StatsDensity`]) gives `Q` plus the prior and its
/// gradient. At `θ = θ_t` the gradient is the log likelihood's (Fisher's identity), and `Q`
/// minorises the log likelihood up to that constant: raising `Q` raises the likelihood.
pub(crate) fn surrogate(
    model: &Model,
    st: &SufficientStats,
    locs_at: &[f64],
    logw: &[f64],
    locs: &[f64],
    values: &[f64],
) -> SufficientStats {
    let (k, d) = (model.k, model.d);
    let mut out = st.clone();
    out.at = 0;
    for c in 0..k {
        for i in 0..d {
            let idx = c * d + i;
            // deviations about the new locations: x − μ = (x − μ_t) + δ
            let di = locs_at[idx] - locs[idx];
            let n = if st.r_miss.is_empty() {
                st.r_sum[c]
            } else {
                st.r_sum[c] - st.r_miss[idx]
            };
            out.r_dev[idx] = st.r_dev[idx] + n * di;
            out.r_dev_sq[idx] = st.r_dev_sq[idx] + di * (2.0 * st.r_dev[idx] + n * di);
            if !st.r_cross.is_empty() {
                for j in 0..d {
                    let dj = locs_at[c * d + j] - locs[c * d + j];
                    let at = c * d * d + i * d + j;
                    out.r_cross[at] = st.r_cross[at]
                        + di * st.r_dev[c * d + j]
                        + st.r_dev[idx] * dj
                        + st.r_sum[c] * di * dj;
                }
            }
        }
    }
    let weights: f64 = st.r_sum.iter().zip(logw).map(|(r, l)| r * l).sum();
    out.loglik = weights
        + model.family.complete_loglik(
            d,
            values,
            &out.r_sum,
            &out.r_dev_sq,
            &out.r_cross,
            &out.r_miss,
        );
    out
}

/// A hash of the parameters' bits (FNV-1a, 64 bits; never 0, which means unknown).
pub(crate) fn fingerprint(params: &Params) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let values = params
        .weights
        .iter()
        .chain(&params.locs)
        .chain(&params.scales);
    for v in values {
        for byte in v.to_bits().to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h.max(1)
}

/// Statistics computed at other parameters than `params` (by their fingerprint) are refused.
pub(crate) fn check_at(st: &SufficientStats, params: &Params) -> Result<()> {
    if st.at != 0 && st.at != fingerprint(params) {
        return Err(Error::Params(
            "the statistics were computed at other parameters than these".into(),
        ));
    }
    Ok(())
}

/// Gradient statistics of a covariance family's model must carry its cross moments.
pub(crate) fn check_cross(model: &Model, st: &SufficientStats) -> Result<()> {
    let want = if model.family.is_covariance() && st.has_grad() {
        model.k * model.d * model.d
    } else {
        0
    };
    if st.r_cross.len() != want {
        return Err(Error::Data(format!(
            "statistics with {} cross moments (r_cross) for a model of family '{}' that needs {want}",
            st.r_cross.len(),
            model.family.name()
        )));
    }
    Ok(())
}

/// The view's dimension against the model's.
pub(crate) fn check_view(model: &Model, view: &DataView<'_>) -> Result<()> {
    if view.d() != model.d {
        return Err(Error::dimensions("model", model.d, view.d()));
    }
    Ok(())
}

/// [`stats`] at the constants `comps`: the one data pass of every density evaluation.
pub(crate) fn stats_at(
    model: &Model,
    comps: &Components,
    view: DataView<'_>,
    grad: bool,
) -> SufficientStats {
    let consts = comps.consts();
    let n = view.n();
    let n_chunks = n.div_ceil(CHUNK);
    let run = |c: usize| {
        let range = c * CHUNK..((c + 1) * CHUNK).min(n);
        let len = range.len() as u64;
        let s = crate::kernel::chunk_stats(&view, range, &consts, grad);
        SufficientStats {
            n: len,
            k: model.k,
            d: model.d,
            loglik: s.loglik,
            r_sum: s.r_sum,
            r_dev: s.t1,
            r_dev_sq: s.t2,
            r_cross: s.t_cross,
            r_miss: s.miss,
            at: 0,
            entropy: None,
        }
    };
    // small work runs on the calling thread: a thread pool round trip costs more than the
    // evaluation (the chunks and their order are the same either way, so are the sums)
    let parts: Vec<SufficientStats> = if n * model.k * (model.d + 2) < PARALLEL_WORK {
        (0..n_chunks).map(run).collect()
    } else {
        (0..n_chunks).into_par_iter().map(run).collect()
    };
    merge_in_order(model, &parts, grad)
}

/// The chunks' statistics added in order, starting from zero.
pub(crate) fn merge_in_order(
    model: &Model,
    parts: &[SufficientStats],
    grad: bool,
) -> SufficientStats {
    let mut total = SufficientStats::empty(model, grad);
    for p in parts {
        total.add(p);
    }
    total
}
