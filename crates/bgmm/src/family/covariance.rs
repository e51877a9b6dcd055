//! The covariance families: `full` (each component its own covariance) and `tied` (one
//! covariance shared by every component, mclust's EEE).
//!
//! # Parameters
//!
//! A covariance is held as its scales and the Cholesky factor of its correlation:
//! `Σ = S R S` with `S = diag(s_1 … s_D)` the standard deviations and `R = L Lᵀ`, `L` lower
//! triangular with rows of unit length (so its diagonal follows from the rest:
//! `L_ii = √(1 − Σ_{j<i} L_ij²)`). The covariance's own Cholesky factor is then `C = S L`, with
//! no factorisation. This form, rather than the covariance's Cholesky factor, because
//! - the six scale priors of the diagonal family apply to each `s_j` as they stand, and the
//!   LKJ prior is a density on `L` (Stan's parameterisation);
//! - a scale prior adapts to the data's units as the diagonal family's does (dividing the data
//!   by `c` divides the scales and leaves `L` as it is);
//! - the values read as what they are (standard deviations, and correlations through `L Lᵀ`),
//!   and the collapse handling of the diagonal family (floors on `log s`) carries over.
//!
//! A covariance's values (a *block*) are its `D` scales, then the `D(D − 1)/2` entries of `L`
//! below the diagonal, row by row (`L_10, L_20, L_21, L_30, …`). The family's values are `K`
//! blocks for `full`, one for `tied`. `L`'s diagonal is recomputed from the rest, to about
//! `1e-16 / L_ii²` relative: well for every correlation not within 1e-12 of ±1.
//!
//! # Unconstrained coordinates
//!
//! Per block, `log s_j`, then Stan's Cholesky-correlation transform: each below-diagonal
//! coordinate `y_ij` gives a canonical partial correlation `z_ij = tanh y_ij`, and row `i` of
//! `L` is `L_ij = z_ij √(1 − Σ_{k<j} L_ik²)`. Its log-Jacobian is
//! `Σ_{i>j} [ln(1 − z_ij²) + ½ ln(1 − Σ_{k<j} L_ik²)]` (plus `Σ log s_j` for the scales).
//! The remainders `1 − Σ_{k<j} L_ik² = Π_{k<j} (1 − z_ik²)` are carried as products, in logs.
//!
//! # Priors (densities on `(s, L)`, `L` by its below-diagonal entries)
//!
//! - [`CovPrior::Lkj`]: each `s_j` from a [`ScalePrior`], times LKJ(η) on the correlation,
//!   whose density on `L` is (Stan's `lkj_corr_cholesky`)
//!   `c_D(η)⁻¹ Π_{i=2}^{D} L_ii^{D − i + 2η − 2}` (1-based `i`), with the normalising constant of
//!   Lewandowski, Kurowicka and Joe (2009)
//!   `c_D(η) = 2^{Σ_{k=1}^{D−1} (2η − 2 + D − k)(D − k)} Π_{k=1}^{D−1} B(η + (D − k − 1)/2, η + (D − k − 1)/2)^{D−k}`.
//!   η = 1 is uniform over correlation matrices, η > 1 favours weaker correlations.
//! - [`CovPrior::InverseWishart`]: `Σ ~ InverseWishart(ν, ψ² I)` (density
//!   `|Ψ|^{ν/2} / (2^{νD/2} Γ_D(ν/2)) |Σ|^{−(ν+D+1)/2} exp(−½ tr(Ψ Σ⁻¹))`), the conjugate prior,
//!   times the Jacobian of `(s, L) ↦ Σ`, `2^D Π_j s_j^D Π_i L_ii^{D−i}` (1-based `i`). `ψ` is in
//!   the data's units (`E[Σ] = ψ² I / (ν − D − 1)` for ν > D + 1).
//!
//! The gradients are with respect to `(log s, L below the diagonal)`, the diagonal family's
//! convention for the scales.

use crate::error::{Error, Result};
use crate::family::scale_prior::{ScalePrior, LN_2PI};

const LN_PI: f64 = 1.144_729_885_849_400_2;
const LN_2: f64 = std::f64::consts::LN_2;

fn ln_gamma(x: f64) -> f64 {
    special::Gamma::ln_gamma(x).0
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Which components a covariance serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CovSharing {
    /// Each component its own covariance (K blocks).
    Full,
    /// One covariance shared by all components (one block; mclust EEE).
    Tied,
}

impl CovSharing {
    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            CovSharing::Full => "full",
            CovSharing::Tied => "tied",
        }
    }

    /// Number of covariances for K components.
    #[inline]
    pub fn n_blocks(self, k: usize) -> usize {
        match self {
            CovSharing::Full => k,
            CovSharing::Tied => 1,
        }
    }

    /// The covariance of component `c`.
    #[inline]
    pub fn block(self, c: usize) -> usize {
        match self {
            CovSharing::Full => c,
            CovSharing::Tied => 0,
        }
    }
}

/// The prior on a covariance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CovPrior {
    /// Each dimension's scale from `scale`, times LKJ(`eta`) on the correlation.
    Lkj {
        /// Prior on each standard deviation.
        scale: ScalePrior,
        /// LKJ shape η > 0.
        eta: f64,
    },
    /// `Σ ~ InverseWishart(df, scale² I)`.
    InverseWishart {
        /// Degrees of freedom ν > D − 1.
        df: f64,
        /// ψ > 0, in the data's units.
        scale: f64,
    },
}

impl CovPrior {
    /// The name used in files.
    pub fn name(&self) -> &'static str {
        match self {
            CovPrior::Lkj { .. } => "lkj",
            CovPrior::InverseWishart { .. } => "inverse_wishart",
        }
    }

    /// Human form, e.g. `LogNormal(0, 2) × LKJ(2)`.
    pub fn display(&self) -> String {
        match self {
            CovPrior::Lkj { scale, eta } => format!("{} × LKJ({eta})", scale.display()),
            CovPrior::InverseWishart { df, scale } => format!("InverseWishart({df}, {scale}² I)"),
        }
    }

    /// Check the prior's numbers for D dimensions; the error names the field.
    pub fn validate(&self, d: usize) -> Result<()> {
        match *self {
            CovPrior::Lkj { scale, eta } => {
                scale.validate()?;
                if !(eta.is_finite() && eta > 0.0) {
                    return Err(Error::Model(format!(
                        "covariance prior lkj: 'eta' must be positive and finite, got {eta}"
                    )));
                }
            }
            CovPrior::InverseWishart { df, scale } => {
                if !(df.is_finite() && df > d as f64 - 1.0) {
                    return Err(Error::Model(format!(
                        "covariance prior inverse_wishart: 'df' must be finite and above D − 1 = {}, got {df}",
                        d as f64 - 1.0
                    )));
                }
                if !(scale.is_finite() && scale > 0.0) {
                    return Err(Error::Model(format!(
                        "covariance prior inverse_wishart: 'scale' must be positive and finite, got {scale}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The prior of the covariance of the data divided by `c`.
    pub fn scaled(&self, c: f64) -> CovPrior {
        match *self {
            CovPrior::Lkj { scale, eta } => CovPrior::Lkj {
                scale: scale.scaled(c),
                eta,
            },
            CovPrior::InverseWishart { df, scale } => CovPrior::InverseWishart {
                df,
                scale: scale / c,
            },
        }
    }
}

/// `ln c_D(η)`, the log normalising constant of LKJ(η) in D dimensions (see the module).
pub fn lkj_ln_norm(d: usize, eta: f64) -> f64 {
    let mut out = 0.0;
    for k in 1..d {
        let m = (d - k) as f64;
        let b = eta + 0.5 * (m - 1.0);
        out += (2.0 * eta - 2.0 + m) * m * LN_2 + m * ln_beta(b, b);
    }
    out
}

/// `ln Γ_D(a)`, the multivariate gamma function.
fn ln_mgamma(d: usize, a: f64) -> f64 {
    let df = d as f64;
    df * (df - 1.0) / 4.0 * LN_PI + (0..d).map(|j| ln_gamma(a - 0.5 * j as f64)).sum::<f64>()
}

/// Number of entries of `L` below the diagonal.
#[inline]
pub fn n_corr(d: usize) -> usize {
    d * (d.saturating_sub(1)) / 2
}

/// Values of one covariance: D scales and the entries of `L` below the diagonal.
#[inline]
pub fn block_len(d: usize) -> usize {
    d + n_corr(d)
}

/// Index of `L_ij` (i > j) among the below-diagonal entries.
#[inline]
fn tri(i: usize, j: usize) -> usize {
    i * (i - 1) / 2 + j
}

/// `ln(1 − tanh² y) = −2 ln cosh y`, without overflow.
#[inline]
fn ln_sech2(y: f64) -> f64 {
    let a = y.abs();
    -2.0 * (a + (-2.0 * a).exp().ln_1p() - LN_2)
}

/// The full D×D lower factor `L` (row-major, zero above the diagonal) of a block's
/// below-diagonal entries `lo`.
pub fn corr_factor(lo: &[f64], d: usize) -> Vec<f64> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        let mut ss = 0.0;
        for j in 0..i {
            let v = lo[tri(i, j)];
            l[i * d + j] = v;
            ss += v * v;
        }
        l[i * d + i] = (1.0 - ss).max(0.0).sqrt();
    }
    l
}

/// The covariance's Cholesky factor `C = S L` (row-major D×D, lower) of one block.
pub fn cov_factor(block: &[f64], d: usize) -> Vec<f64> {
    let mut c = corr_factor(&block[d..], d);
    for i in 0..d {
        for j in 0..=i {
            c[i * d + j] *= block[i];
        }
    }
    c
}

/// The block (scales, then `L` below the diagonal) of a symmetric positive definite
/// covariance `sigma` (row-major D×D), by its Cholesky factor `C`: `s_i` the length of row
/// `i` of `C`, `L = S⁻¹ C`. Where `sigma` is not positive definite to rounding, the factor's
/// failing pivots are set to a millionth of the diagonal's root.
pub fn block_of_covariance(sigma: &[f64], d: usize) -> Vec<f64> {
    let mut c = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut v = sigma[i * d + j];
            for k in 0..j {
                v -= c[i * d + k] * c[j * d + k];
            }
            c[i * d + j] = if i == j {
                let floor = 1e-6 * sigma[i * d + i].abs().sqrt();
                if v > floor * floor {
                    v.sqrt()
                } else {
                    floor
                }
            } else {
                v / c[j * d + j]
            };
        }
    }
    let mut out = Vec::with_capacity(block_len(d));
    let norms: Vec<f64> = (0..d)
        .map(|i| (0..=i).map(|j| c[i * d + j].powi(2)).sum::<f64>().sqrt())
        .collect();
    out.extend_from_slice(&norms);
    for i in 1..d {
        out.extend((0..i).map(|j| c[i * d + j] / norms[i]));
    }
    out
}

/// The below-diagonal entries of `L` (a block's values after its scales) for the correlation
/// of the D×D cross products `m` of `n` points, shrunk towards none by `n/(n + D + 1)`; no
/// correlation for at most D points or a dimension without spread.
pub fn correlation_block(m: &[f64], n: usize, d: usize) -> Vec<f64> {
    let none = vec![0.0; n_corr(d)];
    let sd: Vec<f64> = (0..d).map(|i| m[i * d + i].sqrt()).collect();
    if n <= d || sd.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return none;
    }
    let shrink = n as f64 / (n + d + 1) as f64;
    let mut r = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            r[i * d + j] = if i == j {
                1.0
            } else {
                shrink * m[i * d + j] / (sd[i] * sd[j])
            };
        }
    }
    let b = block_of_covariance(&r, d);
    if b.iter().all(|v| v.is_finite()) {
        b[d..].to_vec()
    } else {
        none
    }
}

/// The inverse of a lower-triangular D×D matrix (row-major), by forward substitution.
fn lower_inverse(c: &[f64], d: usize) -> Vec<f64> {
    let mut m = vec![0.0; d * d];
    for col in 0..d {
        for i in col..d {
            let mut v = if i == col { 1.0 } else { 0.0 };
            for k in col..i {
                v -= c[i * d + k] * m[k * d + col];
            }
            m[i * d + col] = v / c[i * d + i];
        }
    }
    m
}

/// `A B` for D×D row-major matrices.
fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for k in 0..d {
            let aik = a[i * d + k];
            if aik != 0.0 {
                for j in 0..d {
                    out[i * d + j] += aik * b[k * d + j];
                }
            }
        }
    }
    out
}

fn transpose(a: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            out[j * d + i] = a[i * d + j];
        }
    }
    out
}

/// Chain a gradient with respect to the entries of `C = S L` on and below the diagonal
/// (`gc`, row-major D×D) to the block's natural coordinates, added into `g`: `∂/∂log s_i =
/// Σ_j gc_ij C_ij`; `∂/∂L_ij = gc_ij s_i`, the diagonal's share passed on through
/// `∂L_ii/∂L_ij = −L_ij / L_ii`.
fn chain_factor(block: &[f64], l: &[f64], gc: &[f64], d: usize, g: &mut [f64]) {
    for i in 0..d {
        let s = block[i];
        let mut gs = 0.0;
        for j in 0..=i {
            gs += gc[i * d + j] * s * l[i * d + j];
        }
        g[i] += gs;
        let gdiag = gc[i * d + i] * s;
        let lii = l[i * d + i];
        for j in 0..i {
            g[d + tri(i, j)] += gc[i * d + j] * s - gdiag * l[i * d + j] / lii;
        }
    }
}

/// Adds `Σ_i a_i ln L_ii` to `lp`, and its gradient with respect to the below-diagonal
/// entries (`−a_i L_ij / L_ii²`) into `g` (the block's gradient, scales first).
fn add_ln_diag(l: &[f64], d: usize, a: impl Fn(usize) -> f64, lp: &mut f64, g: Option<&mut [f64]>) {
    let mut g = g;
    for i in 1..d {
        let lii = l[i * d + i];
        let ai = a(i);
        *lp += ai * lii.ln();
        if let Some(g) = g.as_deref_mut() {
            for j in 0..i {
                g[d + tri(i, j)] -= ai * l[i * d + j] / (lii * lii);
            }
        }
    }
}

/// The covariance families: how covariances are shared and their prior.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Covariance {
    /// `full` or `tied`.
    pub sharing: CovSharing,
    /// The prior on each covariance.
    pub prior: CovPrior,
}

impl Covariance {
    /// Number of values for K components in D dimensions (also the number of unconstrained
    /// coordinates).
    #[inline]
    pub fn n_values(&self, k: usize, d: usize) -> usize {
        self.sharing.n_blocks(k) * block_len(d)
    }

    /// The values of component `c`'s covariance.
    #[inline]
    pub fn block<'v>(&self, values: &'v [f64], c: usize, d: usize) -> &'v [f64] {
        let m = block_len(d);
        let b = self.sharing.block(c);
        &values[b * m..(b + 1) * m]
    }

    /// Names of the values: `scale[c,j]` and `corr_chol[c,i,j]` (`full`), `scale[j]` and
    /// `corr_chol[i,j]` (`tied`).
    pub fn names(&self, k: usize, d: usize, names: &mut Vec<String>) {
        let pre = |c: usize| match self.sharing {
            CovSharing::Full => format!("{c},"),
            CovSharing::Tied => String::new(),
        };
        for c in 0..self.sharing.n_blocks(k) {
            let p = pre(c);
            names.extend((0..d).map(|j| format!("scale[{p}{j}]")));
            for i in 1..d {
                names.extend((0..i).map(|j| format!("corr_chol[{p}{i},{j}]")));
            }
        }
    }

    /// Check values against their support: positive finite scales, rows of `L` of length
    /// below 1.
    pub fn check(&self, values: &[f64], d: usize) -> Result<()> {
        let m = block_len(d);
        if m == 0 || !values.len().is_multiple_of(m) {
            return Err(Error::Params(format!(
                "covariance values come in blocks of {m}, got {}",
                values.len()
            )));
        }
        for b in values.chunks(m) {
            if let Some(v) = b[..d].iter().find(|v| !(v.is_finite() && **v > 0.0)) {
                return Err(Error::Params(format!(
                    "scales must be positive and finite, got {v}"
                )));
            }
            for i in 1..d {
                let row = &b[d + tri(i, 0)..d + tri(i, 0) + i];
                let ss: f64 = row.iter().map(|v| v * v).sum();
                if ss.is_nan() || ss >= 1.0 {
                    return Err(Error::Params(format!(
                        "row {i} of the correlation's Cholesky factor must have length below 1 (a positive definite correlation), got squared length {ss}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The values with components reordered (component `i` of the result is component
    /// `perm[i]`).
    pub fn permuted(&self, values: &[f64], perm: &[usize], d: usize) -> Vec<f64> {
        match self.sharing {
            CovSharing::Tied => values.to_vec(),
            CovSharing::Full => perm
                .iter()
                .flat_map(|&p| self.block(values, p, d).iter().copied())
                .collect(),
        }
    }

    /// The values for the data multiplied by `c` (the scales multiplied, `L` unchanged).
    pub fn scaled_values(&self, values: &[f64], d: usize, c: f64) -> Vec<f64> {
        let m = block_len(d);
        values
            .iter()
            .enumerate()
            .map(|(i, v)| if i % m < d { v * c } else { *v })
            .collect()
    }

    /// The family for the data divided by `c`.
    pub fn scaled(&self, c: f64) -> Covariance {
        Covariance {
            prior: self.prior.scaled(c),
            ..*self
        }
    }

    // --- the unconstrained block -------------------------------------------------------------

    /// The unconstrained coordinates of `values` (per block `log s`, then
    /// `y_ij = atanh(L_ij / √(1 − Σ_{k<j} L_ik²))`), appended to `x`.
    pub fn pack(&self, values: &[f64], d: usize, x: &mut Vec<f64>) {
        for b in values.chunks(block_len(d)) {
            x.extend(b[..d].iter().map(|s| s.ln()));
            for i in 1..d {
                let mut rem = 1.0;
                for j in 0..i {
                    let v = b[d + tri(i, j)];
                    x.push((v / f64::sqrt(rem)).atanh());
                    rem -= v * v;
                }
            }
        }
    }

    /// The values at the coordinates `xs` and the log-Jacobian of the map.
    pub fn unpack(&self, xs: &[f64], d: usize) -> (Vec<f64>, f64) {
        let mut out = Vec::with_capacity(xs.len());
        let mut jac = 0.0;
        for y in xs.chunks(block_len(d)) {
            out.extend(y[..d].iter().map(|v| v.exp()));
            jac += y[..d].iter().sum::<f64>();
            for i in 1..d {
                // ln of the remainder 1 − Σ_{k<j} L_ik² = Π_{k<j} (1 − z_ik²)
                let mut lrem: f64 = 0.0;
                for j in 0..i {
                    let yij = y[d + tri(i, j)];
                    let l1z = ln_sech2(yij);
                    out.push(yij.tanh() * (0.5 * lrem).exp());
                    jac += l1z + 0.5 * lrem;
                    lrem += l1z;
                }
            }
        }
        (out, jac)
    }

    /// Pull the natural gradient `g` (with respect to `log s` and `L` below the diagonal) back
    /// to the coordinates `xs` (into `out`), adding the gradient of the log-Jacobian when
    /// `jacobian` is set. Reverse mode through each row of the transform.
    pub fn pull_back(&self, xs: &[f64], g: &[f64], jacobian: bool, d: usize, out: &mut [f64]) {
        let m = block_len(d);
        for ((y, g), o) in xs.chunks(m).zip(g.chunks(m)).zip(out.chunks_mut(m)) {
            for j in 0..d {
                o[j] = g[j] + if jacobian { 1.0 } else { 0.0 };
            }
            let mut z = vec![0.0; d];
            let mut lrem = vec![0.0; d + 1];
            for i in 1..d {
                for j in 0..i {
                    let yij = y[d + tri(i, j)];
                    z[j] = yij.tanh();
                    lrem[j + 1] = lrem[j] + ln_sech2(yij);
                }
                // L_ij = z_j √rem_j, rem_{j+1} = rem_j (1 − z_j²); backwards over j, carrying
                // the gradient with respect to rem_{j+1}
                let mut g_rem = 0.0;
                for j in (0..i).rev() {
                    let rem = lrem[j].exp();
                    let sq = rem.sqrt();
                    let one_z2 = (lrem[j + 1] - lrem[j]).exp();
                    let gl = g[d + tri(i, j)];
                    // through L_ij and rem_{j+1}
                    let mut g_z = gl * sq - g_rem * rem * 2.0 * z[j];
                    let mut g_rem_j = gl * z[j] * 0.5 / sq + g_rem * one_z2;
                    if jacobian {
                        // ln(1 − z²) and ½ ln rem_j
                        g_z += -2.0 * z[j] / one_z2;
                        g_rem_j += 0.5 / rem;
                    }
                    // z = tanh y
                    o[d + tri(i, j)] = g_z * one_z2;
                    g_rem = g_rem_j;
                }
            }
        }
    }

    /// Whether values unpacked from a finite point can be evaluated: scales as the diagonal
    /// family's, and every `L_ii` positive with a finite inverse square.
    pub fn representable(&self, values: &[f64], d: usize) -> bool {
        values.chunks(block_len(d)).all(|b| {
            let scales_ok = b[..d]
                .iter()
                .all(|&s| (s * s).is_finite() && (1.0 / (s * s)).is_finite());
            let l = corr_factor(&b[d..], d);
            scales_ok && (0..d).all(|i| (1.0 / (l[i * d + i] * l[i * d + i])).is_finite())
        })
    }

    // --- the prior ---------------------------------------------------------------------------

    /// Adds the log prior at `values` to `lp`, and its gradient with respect to `(log s, L)`
    /// into `grad`.
    pub fn add_log_prior(&self, values: &[f64], d: usize, lp: &mut f64, grad: Option<&mut [f64]>) {
        let m = block_len(d);
        let mut grad = grad;
        for (bi, b) in values.chunks(m).enumerate() {
            let mut gb = grad.as_deref_mut().map(|g| &mut g[bi * m..(bi + 1) * m]);
            let l = corr_factor(&b[d..], d);
            let df = d as f64;
            match self.prior {
                CovPrior::Lkj { scale, eta } => {
                    for j in 0..d {
                        let (v, dv) = scale.ln_pdf_dlog(b[j]);
                        *lp += v;
                        if let Some(g) = gb.as_deref_mut() {
                            g[j] += dv;
                        }
                    }
                    *lp -= lkj_ln_norm(d, eta);
                    // power of L_ii, 0-based i: D − i + 2η − 3
                    add_ln_diag(&l, d, |i| df - i as f64 + 2.0 * eta - 3.0, lp, gb);
                }
                CovPrior::InverseWishart { df: nu, scale: psi } => {
                    let psi2 = psi * psi;
                    *lp +=
                        0.5 * nu * df * psi2.ln() - 0.5 * nu * df * LN_2 - ln_mgamma(d, 0.5 * nu)
                            + df * LN_2;
                    // |Σ|^{−(ν+D+1)/2} and the Jacobian's s^D L_ii^{D−1−i}
                    for j in 0..d {
                        *lp -= (nu + 1.0) * b[j].ln();
                        if let Some(g) = gb.as_deref_mut() {
                            g[j] -= nu + 1.0;
                        }
                    }
                    add_ln_diag(&l, d, |i| -nu - 2.0 - i as f64, lp, gb.as_deref_mut());
                    // −ψ²/2 tr Σ⁻¹ = −ψ²/2 ‖C⁻¹‖²; ∂‖C⁻¹‖²/∂C = −2 C⁻ᵀ C⁻¹ C⁻ᵀ
                    let c = cov_factor(b, d);
                    let ci = lower_inverse(&c, d);
                    *lp -= 0.5 * psi2 * ci.iter().map(|v| v * v).sum::<f64>();
                    if let Some(g) = gb {
                        let cit = transpose(&ci, d);
                        let a = matmul(&matmul(&cit, &ci, d), &cit, d);
                        let gc: Vec<f64> = a.iter().map(|v| psi2 * v).collect();
                        chain_factor(b, &l, &gc, d, g);
                    }
                }
            }
        }
    }

    // --- simulation and initialisation -------------------------------------------------------

    /// A draw of the values from the prior: for LKJ, each scale from its prior and the
    /// canonical partial correlations of column `j` from `2 Beta(a_j, a_j) − 1`,
    /// `a_j = η + (D − 2 − j)/2` (Stan's `lkj_corr_cholesky_rng`, 0-based `j`); for the inverse
    /// Wishart, `Σ = ψ² (A Aᵀ)⁻¹` with Bartlett's `A` (`A_ii² ~ χ²(ν − i)`, `A_ij ~ N(0, 1)`
    /// below the diagonal).
    pub fn draw<R: rand::Rng + ?Sized>(&self, k: usize, d: usize, rng: &mut R) -> Vec<f64> {
        use rand::RngExt;
        use rand_distr::{Beta, ChiSquared, Distribution, StandardNormal};
        let mut out = Vec::with_capacity(self.n_values(k, d));
        for _ in 0..self.sharing.n_blocks(k) {
            match self.prior {
                CovPrior::Lkj { scale, eta } => {
                    out.extend((0..d).map(|_| scale.sample(rng)));
                    let mut z = vec![0.0; n_corr(d)];
                    for j in 0..d.saturating_sub(1) {
                        let a = eta + 0.5 * (d as f64 - 2.0 - j as f64);
                        let beta = Beta::new(a, a).expect("validated");
                        for i in j + 1..d {
                            z[tri(i, j)] = 2.0 * beta.sample(rng) - 1.0;
                        }
                    }
                    // L from its canonical partial correlations, row by row
                    for i in 1..d {
                        let mut rem = 1.0;
                        for j in 0..i {
                            let zij = z[tri(i, j)];
                            out.push(zij * f64::sqrt(rem));
                            rem *= 1.0 - zij * zij;
                        }
                    }
                }
                CovPrior::InverseWishart { df, scale } => {
                    let mut a = vec![0.0; d * d];
                    for i in 0..d {
                        let chi = ChiSquared::new(df - i as f64).expect("validated");
                        a[i * d + i] = chi.sample(rng).sqrt();
                        for j in 0..i {
                            a[i * d + j] = rng.sample(StandardNormal);
                        }
                    }
                    let ai = lower_inverse(&a, d);
                    let sigma: Vec<f64> = matmul(&transpose(&ai, d), &ai, d)
                        .iter()
                        .map(|v| v * scale * scale)
                        .collect();
                    out.extend(block_of_covariance(&sigma, d));
                }
            }
        }
        out
    }

    // --- the kernel, densities and the statistics → gradient map -----------------------------

    /// The kernel's per-component constants at `values` (see `kernel::Consts`): `chol`
    /// (K·D·D) each component's covariance factor `C = S L` row-major with `1 / C_ii` on the
    /// diagonal and zeros above it, and `log_norm` (K) `log w_c − D/2 log 2π − Σ_i log C_ii`.
    pub fn kernel_consts(
        &self,
        d: usize,
        logw: &[f64],
        values: &[f64],
        chol: &mut [f64],
        log_norm: &mut [f64],
    ) {
        for (c, ln_c) in log_norm.iter_mut().enumerate() {
            let cf = cov_factor(self.block(values, c, d), d);
            let out = &mut chol[c * d * d..(c + 1) * d * d];
            out.copy_from_slice(&cf);
            let mut ln = logw[c] - 0.5 * d as f64 * LN_2PI;
            for i in 0..d {
                ln -= cf[i * d + i].ln();
                out[i * d + i] = 1.0 / cf[i * d + i];
            }
            *ln_c = ln;
        }
    }

    /// `log N(x | μ, Σ_c)` of one point (the reference path: forward substitution with
    /// `C = S L`).
    pub fn log_normal(&self, values: &[f64], c: usize, d: usize, x: &[f64], mu: &[f64]) -> f64 {
        let b = self.block(values, c, d);
        let cf = cov_factor(b, d);
        let mut w = vec![0.0; d];
        let mut q = 0.0;
        let mut log_det = 0.0;
        for i in 0..d {
            let mut v = x[i] - mu[i];
            for k in 0..i {
                v -= cf[i * d + k] * w[k];
            }
            w[i] = v / cf[i * d + i];
            q += w[i] * w[i];
            log_det += cf[i * d + i].ln();
        }
        -0.5 * d as f64 * LN_2PI - log_det - 0.5 * q
    }

    /// The Gaussian part of the expected complete-data log likelihood (the EM surrogate:
    /// assignments and missing coordinates latent, their conditional moments in `r_cross`) at
    /// `values`, from statistics taken about the locations it is evaluated at:
    /// `Σ_c −½ r_c (D ln 2π + ln|Σ_c|) − ½ tr(Σ_c⁻¹ M_c)`, `M_c` component c's `r_cross`. Its
    /// natural gradient is [`Covariance::add_stats_grad`]'s.
    pub fn complete_loglik(&self, d: usize, values: &[f64], r_sum: &[f64], r_cross: &[f64]) -> f64 {
        let m = block_len(d);
        let mut q = 0.0;
        for bi in 0..self.sharing.n_blocks(r_sum.len()) {
            let cf = cov_factor(&values[bi * m..(bi + 1) * m], d);
            let ci = lower_inverse(&cf, d);
            let log_det: f64 = 2.0 * (0..d).map(|i| cf[i * d + i].ln()).sum::<f64>();
            for c in (0..r_sum.len()).filter(|&c| self.sharing.block(c) == bi) {
                let mc = &r_cross[c * d * d..(c + 1) * d * d];
                // tr(Σ⁻¹ M) = Σ_ij (C⁻ᵀ C⁻¹)_ij M_ji = ‖rows of C⁻¹ against M‖
                let mut tr = 0.0;
                for a in 0..d {
                    let row = &ci[a * d..a * d + a + 1];
                    for (i, &ri) in row.iter().enumerate() {
                        for (j, &rj) in row.iter().enumerate() {
                            tr += ri * rj * mc[i * d + j];
                        }
                    }
                }
                q -= 0.5 * (r_sum[c] * (d as f64 * LN_2PI + log_det) + tr);
            }
        }
        q
    }

    /// The log likelihood's gradient with respect to the locations and the family's values
    /// (`log s`, `L`), from the statistics at `values`: `r_sum[c] = Σ_n r_nc`,
    /// `r_dev[c·D + j] = Σ_n r_nc (x_nj − μ_cj)` and `r_cross[c·D² + i·D + j] =
    /// Σ_n r_nc (x_ni − μ_ci)(x_nj − μ_cj)`, added into `g_locs` and `g_block`:
    /// `∂/∂μ_c = Σ_c⁻¹ r_dev_c` and, by the covariance's factor `C`,
    /// `∂/∂C = lower(C⁻ᵀ C⁻¹ T C⁻ᵀ) − r diag(1 / C_ii)` chained to `(log s, L)`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_stats_grad(
        &self,
        d: usize,
        values: &[f64],
        r_sum: &[f64],
        r_dev: &[f64],
        r_cross: &[f64],
        g_locs: &mut [f64],
        g_block: &mut [f64],
    ) {
        let k = r_sum.len();
        let m = block_len(d);
        let nb = self.sharing.n_blocks(k);
        for bi in 0..nb {
            let b = &values[bi * m..(bi + 1) * m];
            let cf = cov_factor(b, d);
            let ci = lower_inverse(&cf, d);
            let cit = transpose(&ci, d);
            let prec = matmul(&cit, &ci, d);
            // the statistics of the components this covariance serves
            let mut t = vec![0.0; d * d];
            let mut r = 0.0;
            for c in (0..k).filter(|&c| self.sharing.block(c) == bi) {
                r += r_sum[c];
                for (tv, v) in t.iter_mut().zip(&r_cross[c * d * d..(c + 1) * d * d]) {
                    *tv += v;
                }
                for i in 0..d {
                    g_locs[c * d + i] += (0..d)
                        .map(|j| prec[i * d + j] * r_dev[c * d + j])
                        .sum::<f64>();
                }
            }
            let mut gc = matmul(&matmul(&prec, &t, d), &cit, d);
            for i in 0..d {
                gc[i * d + i] -= r / cf[i * d + i];
                for j in i + 1..d {
                    gc[i * d + j] = 0.0;
                }
            }
            let l = corr_factor(&b[d..], d);
            chain_factor(b, &l, &gc, d, &mut g_block[bi * m..(bi + 1) * m]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lkj(eta: f64) -> CovPrior {
        CovPrior::Lkj {
            scale: ScalePrior::LogNormal {
                mu: 0.3,
                sigma: 0.7,
            },
            eta,
        }
    }

    fn all_priors() -> Vec<CovPrior> {
        let mut out = vec![
            CovPrior::InverseWishart {
                df: 4.5,
                scale: 1.3,
            },
            lkj(0.7),
            lkj(2.5),
        ];
        for scale in [
            ScalePrior::InverseGamma {
                alpha: 2.5,
                beta: 1.5,
            },
            ScalePrior::HalfCauchy { scale: 2.0 },
            ScalePrior::HalfNormal { scale: 1.3 },
            ScalePrior::Gamma {
                alpha: 3.0,
                beta: 2.0,
            },
            ScalePrior::Exponential { rate: 0.8 },
        ] {
            out.push(CovPrior::Lkj { scale, eta: 1.0 });
        }
        out
    }

    /// Deterministic unconstrained coordinates (moderate correlations).
    fn coords(n: usize, seed: f64) -> Vec<f64> {
        (0..n)
            .map(|i| 0.9 * ((i as f64 + 1.0) * seed).sin())
            .collect()
    }

    fn families() -> Vec<Covariance> {
        let mut out = Vec::new();
        for sharing in [CovSharing::Full, CovSharing::Tied] {
            for prior in all_priors() {
                out.push(Covariance { sharing, prior });
            }
        }
        out
    }

    #[test]
    fn pack_then_unpack_is_the_identity_and_values_are_valid() {
        let k = 3;
        for d in 1..=4 {
            for f in families() {
                let n = f.n_values(k, d);
                let x = coords(n, 1.7);
                let (v, _) = f.unpack(&x, d);
                assert_eq!(v.len(), n);
                f.check(&v, d).unwrap();
                let mut back = vec![];
                f.pack(&v, d, &mut back);
                for (a, b) in back.iter().zip(&x) {
                    assert!((a - b).abs() < 1e-12, "{f:?} D{d}: {a} vs {b}");
                }
                let mut names = vec![];
                f.names(k, d, &mut names);
                assert_eq!(names.len(), n);
            }
        }
    }

    /// The determinant of a square matrix (row-major, n×n) by Gaussian elimination with
    /// partial pivoting.
    fn det(mut a: Vec<f64>, n: usize) -> f64 {
        let mut det = 1.0;
        for col in 0..n {
            let p = (col..n)
                .max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))
                .unwrap();
            if p != col {
                for j in 0..n {
                    a.swap(p * n + j, col * n + j);
                }
                det = -det;
            }
            let piv = a[col * n + col];
            det *= piv;
            for i in col + 1..n {
                let f = a[i * n + col] / piv;
                for j in col..n {
                    a[i * n + j] -= f * a[col * n + j];
                }
            }
        }
        det
    }

    /// The inverse of a symmetric positive definite matrix by Gauss–Jordan.
    fn inverse(a: &[f64], n: usize) -> Vec<f64> {
        let mut m = a.to_vec();
        let mut inv: Vec<f64> = (0..n * n)
            .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
            .collect();
        for col in 0..n {
            let piv = m[col * n + col];
            for j in 0..n {
                m[col * n + j] /= piv;
                inv[col * n + j] /= piv;
            }
            for i in 0..n {
                if i != col {
                    let f = m[i * n + col];
                    for j in 0..n {
                        m[i * n + j] -= f * m[col * n + j];
                        inv[i * n + j] -= f * inv[col * n + j];
                    }
                }
            }
        }
        inv
    }

    /// The covariance `Σ = S R S` of one block, from the correlations `R = L Lᵀ` formed here.
    fn covariance(b: &[f64], d: usize) -> Vec<f64> {
        let l = corr_factor(&b[d..], d);
        let r = matmul(&l, &transpose(&l, d), d);
        (0..d * d).map(|ij| b[ij / d] * b[ij % d] * r[ij]).collect()
    }

    #[test]
    fn transform_log_jacobian_matches_the_determinant_of_its_finite_differences() {
        let f = Covariance {
            sharing: CovSharing::Tied,
            prior: lkj(1.0),
        };
        for d in 1..=4 {
            let n = block_len(d);
            for seed in [0.7, 1.9, 3.1] {
                let x = coords(n, seed);
                let (_, jac) = f.unpack(&x, d);
                let h = 1e-6;
                let mut jm = vec![0.0; n * n];
                for c in 0..n {
                    let (mut xp, mut xm) = (x.clone(), x.clone());
                    xp[c] += h;
                    xm[c] -= h;
                    let (vp, vm) = (f.unpack(&xp, d).0, f.unpack(&xm, d).0);
                    for r in 0..n {
                        jm[r * n + c] = (vp[r] - vm[r]) / (2.0 * h);
                    }
                }
                let want = det(jm, n).abs().ln();
                assert!((jac - want).abs() < 1e-7, "D{d}: {jac} vs {want}");
            }
        }
    }

    /// The Jacobian the inverse-Wishart prior uses, `|∂ vech Σ / ∂(s, L)| = 2^D Π s^D Π
    /// L_ii^{D−i}`, against finite differences of the map.
    #[test]
    fn covariance_map_jacobian_matches_finite_differences() {
        for d in 1..=4 {
            let n = block_len(d);
            let f = Covariance {
                sharing: CovSharing::Tied,
                prior: lkj(1.0),
            };
            let (b, _) = f.unpack(&coords(n, 2.3), d);
            let vech = |b: &[f64]| {
                let s = covariance(b, d);
                let mut out = vec![];
                for i in 0..d {
                    out.extend_from_slice(&s[i * d..i * d + i + 1]);
                }
                out
            };
            let h = 1e-6;
            let mut jm = vec![0.0; n * n];
            for c in 0..n {
                let (mut bp, mut bm) = (b.clone(), b.clone());
                bp[c] += h;
                bm[c] -= h;
                let (vp, vm) = (vech(&bp), vech(&bm));
                for r in 0..n {
                    jm[r * n + c] = (vp[r] - vm[r]) / (2.0 * h);
                }
            }
            let l = corr_factor(&b[d..], d);
            let want: f64 = d as f64 * LN_2
                + (0..d)
                    .map(|i| d as f64 * b[i].ln() + (d - 1 - i) as f64 * l[i * d + i].ln())
                    .sum::<f64>();
            let got = det(jm, n).abs().ln();
            assert!((got - want).abs() < 1e-7, "D{d}: {got} vs {want}");
        }
    }

    /// LKJ(η) in D = 2 is a density on ρ ∝ (1 − ρ²)^{η−1}: integrated over ρ by Simpson's rule
    /// after ρ = sin θ (the integrand `∝ cos^{2η−1} θ`, smooth enough at ±π/2 for η ≥ 1).
    #[test]
    fn lkj_is_normalised_in_two_dimensions() {
        for eta in [1.0, 1.3, 2.5, 4.0] {
            let f = Covariance {
                sharing: CovSharing::Tied,
                prior: CovPrior::Lkj {
                    scale: ScalePrior::Exponential { rate: 1.0 },
                    eta,
                },
            };
            // the scale part is ln p(1) for both scales: take it out
            let (sp, _) = ScalePrior::Exponential { rate: 1.0 }.ln_pdf_dlog(1.0);
            let dens = |rho: f64| {
                let mut lp = 0.0;
                f.add_log_prior(&[1.0, 1.0, rho], 2, &mut lp, None);
                (lp - 2.0 * sp).exp()
            };
            let n = 20_000;
            let h = std::f64::consts::PI / n as f64;
            let mut total = 0.0;
            for i in 0..=n {
                let th = -std::f64::consts::FRAC_PI_2 + i as f64 * h;
                let w = if i == 0 || i == n {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                let (s, c) = th.sin_cos();
                let v = if s.abs() >= 1.0 { 0.0 } else { dens(s) * c };
                total += w * v;
            }
            total *= h / 3.0;
            assert!((total - 1.0).abs() < 1e-9, "η = {eta}: {total}");
        }
    }

    /// LKJ(η) in D = 3 with the transform's Jacobian integrates to 1 over the unconstrained
    /// correlation coordinates (trapezoid rule, exponentially accurate for these smooth,
    /// exponentially decaying integrands).
    #[test]
    fn lkj_is_normalised_in_three_dimensions() {
        for eta in [1.0, 2.0] {
            let f = Covariance {
                sharing: CovSharing::Tied,
                prior: CovPrior::Lkj {
                    scale: ScalePrior::Exponential { rate: 1.0 },
                    eta,
                },
            };
            let (sp, _) = ScalePrior::Exponential { rate: 1.0 }.ln_pdf_dlog(1.0);
            let (n, lim) = (90, 9.0);
            let h = 2.0 * lim / n as f64;
            let mut total = 0.0;
            for a in 0..=n {
                for b in 0..=n {
                    for c in 0..=n {
                        let y = [
                            -lim + a as f64 * h,
                            -lim + b as f64 * h,
                            -lim + c as f64 * h,
                        ];
                        let x = [0.0, 0.0, 0.0, y[0], y[1], y[2]];
                        let (v, jac) = f.unpack(&x, 3);
                        let mut lp = 0.0;
                        f.add_log_prior(&v, 3, &mut lp, None);
                        total += (lp - 3.0 * sp + jac).exp();
                    }
                }
            }
            total *= h * h * h;
            assert!((total - 1.0).abs() < 1e-6, "η = {eta}: {total}");
        }
    }

    /// In D = 1 the inverse Wishart on σ² is InverseGamma(ν/2, ψ²/2); on s it gains 2s.
    #[test]
    fn inverse_wishart_in_one_dimension_is_an_inverse_gamma_on_the_variance() {
        use statrs::distribution::{Continuous, InverseGamma};
        let (nu, psi) = (3.5, 1.7);
        let f = Covariance {
            sharing: CovSharing::Tied,
            prior: CovPrior::InverseWishart { df: nu, scale: psi },
        };
        for s in [0.3, 1.0, 2.9] {
            let mut lp = 0.0;
            f.add_log_prior(&[s], 1, &mut lp, None);
            let want = InverseGamma::new(nu / 2.0, psi * psi / 2.0)
                .unwrap()
                .ln_pdf(s * s)
                + (2.0 * s).ln();
            assert!((lp - want).abs() < 1e-12, "{lp} vs {want}");
        }
    }

    /// The inverse Wishart's closed form in D = 3 at a random covariance, against the density
    /// formed from Σ's own determinant and inverse (and the Jacobian of the covariance map).
    #[test]
    fn inverse_wishart_matches_its_formula() {
        let d = 3;
        let (nu, psi) = (5.5, 0.8);
        let f = Covariance {
            sharing: CovSharing::Tied,
            prior: CovPrior::InverseWishart { df: nu, scale: psi },
        };
        let (b, _) = f.unpack(&coords(6, 0.9), d);
        let sigma = covariance(&b, d);
        let df = d as f64;
        let ln_mg = df * (df - 1.0) / 4.0 * LN_PI
            + ln_gamma(nu / 2.0)
            + ln_gamma(nu / 2.0 - 0.5)
            + ln_gamma(nu / 2.0 - 1.0);
        let tr: f64 = (0..d).map(|i| inverse(&sigma, d)[i * d + i]).sum();
        let iw = 0.5 * nu * df * (psi * psi).ln()
            - 0.5 * nu * df * LN_2
            - ln_mg
            - 0.5 * (nu + df + 1.0) * det(sigma.clone(), d).ln()
            - 0.5 * psi * psi * tr;
        let l = corr_factor(&b[d..], d);
        let jac = df * LN_2
            + (0..d)
                .map(|i| df * b[i].ln() + (d - 1 - i) as f64 * l[i * d + i].ln())
                .sum::<f64>();
        let mut lp = 0.0;
        f.add_log_prior(&b, d, &mut lp, None);
        assert!((lp - (iw + jac)).abs() < 1e-10, "{lp} vs {}", iw + jac);
    }

    /// K = 1: the component's log density is the multivariate normal's, formed from Σ's
    /// determinant and inverse, at points around the location.
    #[test]
    fn log_density_is_the_multivariate_normal() {
        for d in 1..=4 {
            let f = Covariance {
                sharing: CovSharing::Full,
                prior: lkj(1.0),
            };
            let (v, _) = f.unpack(&coords(block_len(d), 1.3), d);
            let sigma = covariance(&v, d);
            let inv = inverse(&sigma, d);
            let ld = det(sigma.clone(), d).ln();
            let mu: Vec<f64> = (0..d).map(|j| 0.5 - j as f64).collect();
            for p in 0..5 {
                let x: Vec<f64> = (0..d)
                    .map(|j| mu[j] + 1.5 * ((p * d + j) as f64 * 2.1).sin())
                    .collect();
                let q: f64 = (0..d)
                    .flat_map(|i| (0..d).map(move |j| (i, j)))
                    .map(|(i, j)| (x[i] - mu[i]) * inv[i * d + j] * (x[j] - mu[j]))
                    .sum();
                let want = -0.5 * d as f64 * LN_2PI - 0.5 * ld - 0.5 * q;
                let got = f.log_normal(&v, 0, d, &x, &mu);
                assert!((got - want).abs() < 1e-12, "D{d}: {got} vs {want}");
            }
        }
    }

    /// The prior's log density on the unconstrained block, with or without the Jacobian.
    fn block_logp(f: &Covariance, xs: &[f64], d: usize, jacobian: bool) -> f64 {
        let (v, jac) = f.unpack(xs, d);
        let mut lp = 0.0;
        f.add_log_prior(&v, d, &mut lp, None);
        if jacobian {
            lp + jac
        } else {
            lp
        }
    }

    #[test]
    fn prior_gradient_pulled_back_matches_finite_differences() {
        let k = 2;
        for d in 1..=3 {
            for f in families() {
                let x = coords(f.n_values(k, d), 1.1);
                let (v, _) = f.unpack(&x, d);
                for jacobian in [false, true] {
                    let mut lp = 0.0;
                    let mut g = vec![0.0; v.len()];
                    f.add_log_prior(&v, d, &mut lp, Some(&mut g));
                    assert!((lp - block_logp(&f, &x, d, false)).abs() < 1e-12);
                    let mut out = vec![f64::NAN; x.len()];
                    f.pull_back(&x, &g, jacobian, d, &mut out);
                    let h = 1e-6;
                    for i in 0..x.len() {
                        let (mut xp, mut xm) = (x.clone(), x.clone());
                        xp[i] += h;
                        xm[i] -= h;
                        let fd = (block_logp(&f, &xp, d, jacobian)
                            - block_logp(&f, &xm, d, jacobian))
                            / (2.0 * h);
                        assert!(
                            (out[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                            "{f:?} D{d}, jacobian {jacobian}, coordinate {i}: {} vs {fd}",
                            out[i]
                        );
                    }
                }
            }
        }
    }

    /// The statistics → gradient map against finite differences of a direct evaluation of
    /// `Σ_n log Σ_c w_c N(x_n | μ_c, Σ_c)`, full and tied, D = 1, 2, 3.
    #[test]
    fn statistics_give_the_likelihood_gradient() {
        let k = 3;
        let logw = [0.2f64.ln(), 0.5f64.ln(), 0.3f64.ln()];
        for d in 1..=3 {
            let xs: Vec<Vec<f64>> = (0..9)
                .map(|i| {
                    (0..d)
                        .map(|j| 2.0 * ((i * d + j) as f64 * 0.77).sin() + 0.3 * j as f64)
                        .collect()
                })
                .collect();
            let locs0: Vec<f64> = (0..k * d).map(|i| (i as f64 * 1.3).cos()).collect();
            for sharing in [CovSharing::Full, CovSharing::Tied] {
                let f = Covariance {
                    sharing,
                    prior: lkj(1.0),
                };
                let loglik = |v: &[f64], locs: &[f64]| -> f64 {
                    xs.iter()
                        .map(|x| {
                            (0..k)
                                .map(|c| {
                                    (logw[c] + f.log_normal(v, c, d, x, &locs[c * d..(c + 1) * d]))
                                        .exp()
                                })
                                .sum::<f64>()
                                .ln()
                        })
                        .sum()
                };
                let y = coords(f.n_values(k, d), 0.6);
                let (v, _) = f.unpack(&y, d);
                // the statistics, by brute force
                let (mut r_sum, mut t1, mut t2) =
                    (vec![0.0; k], vec![0.0; k * d], vec![0.0; k * d * d]);
                for x in &xs {
                    let a: Vec<f64> = (0..k)
                        .map(|c| logw[c] + f.log_normal(&v, c, d, x, &locs0[c * d..(c + 1) * d]))
                        .collect();
                    let lse = a.iter().map(|a| a.exp()).sum::<f64>().ln();
                    for c in 0..k {
                        let r = (a[c] - lse).exp();
                        r_sum[c] += r;
                        for i in 0..d {
                            let di = x[i] - locs0[c * d + i];
                            t1[c * d + i] += r * di;
                            for j in 0..d {
                                t2[c * d * d + i * d + j] += r * di * (x[j] - locs0[c * d + j]);
                            }
                        }
                    }
                }
                let (mut gl, mut g) = (vec![0.0; k * d], vec![0.0; v.len()]);
                f.add_stats_grad(d, &v, &r_sum, &t1, &t2, &mut gl, &mut g);
                let h = 1e-6;
                for i in 0..k * d {
                    let (mut lp, mut lm) = (locs0.clone(), locs0.clone());
                    lp[i] += h;
                    lm[i] -= h;
                    let fd = (loglik(&v, &lp) - loglik(&v, &lm)) / (2.0 * h);
                    assert!(
                        (gl[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                        "{sharing:?} D{d}, location {i}: {} vs {fd}",
                        gl[i]
                    );
                }
                let mut out = vec![0.0; y.len()];
                f.pull_back(&y, &g, false, d, &mut out);
                for i in 0..y.len() {
                    let (mut yp, mut ym) = (y.clone(), y.clone());
                    yp[i] += h;
                    ym[i] -= h;
                    let fd = (loglik(&f.unpack(&yp, d).0, &locs0)
                        - loglik(&f.unpack(&ym, d).0, &locs0))
                        / (2.0 * h);
                    assert!(
                        (out[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                        "{sharing:?} D{d}, coordinate {i}: {} vs {fd}",
                        out[i]
                    );
                }
            }
        }
    }

    #[test]
    fn block_of_covariance_inverts_the_covariance_map() {
        for d in 1..=4 {
            let f = Covariance {
                sharing: CovSharing::Tied,
                prior: lkj(1.0),
            };
            let (b, _) = f.unpack(&coords(block_len(d), 0.8), d);
            let back = block_of_covariance(&covariance(&b, d), d);
            for (u, v) in back.iter().zip(&b) {
                assert!((u - v).abs() < 1e-12, "D{d}: {u} vs {v}");
            }
        }
    }

    /// Draws from the prior against its moments: under LKJ(η) each correlation has variance
    /// `1 / (2η + D − 1)`; under the inverse Wishart `E[Σ] = ψ² I / (ν − D − 1)`. 20 000
    /// draws, within 4.5 standard errors.
    #[test]
    fn draws_have_the_prior_moments() {
        use rand::SeedableRng;
        let mut rng = chacha20::ChaCha8Rng::seed_from_u64(5);
        let (d, n) = (3, 20_000);
        for eta in [0.8, 3.0] {
            let f = Covariance {
                sharing: CovSharing::Tied,
                prior: lkj(eta),
            };
            let mut sq = [0.0; 3];
            let mut sq2 = [0.0; 3];
            for _ in 0..n {
                let b = f.draw(1, d, &mut rng);
                f.check(&b, d).unwrap();
                let l = corr_factor(&b[d..], d);
                let r = matmul(&l, &transpose(&l, d), d);
                for (t, (i, j)) in [(1, 0), (2, 0), (2, 1)].into_iter().enumerate() {
                    let v = r[i * d + j] * r[i * d + j];
                    sq[t] += v;
                    sq2[t] += v * v;
                }
            }
            let want = 1.0 / (2.0 * eta + d as f64 - 1.0);
            for t in 0..3 {
                let m = sq[t] / n as f64;
                let se = ((sq2[t] / n as f64 - m * m) / n as f64).sqrt();
                assert!(
                    (m - want).abs() < 4.5 * se,
                    "η {eta}, pair {t}: {m} vs {want} ± {se}"
                );
            }
        }
        let (nu, psi) = (10.0, 1.5);
        let f = Covariance {
            sharing: CovSharing::Full,
            prior: CovPrior::InverseWishart { df: nu, scale: psi },
        };
        let mut s1 = vec![0.0; d * d];
        let mut s2 = vec![0.0; d * d];
        for _ in 0..n / 2 {
            let v = f.draw(2, d, &mut rng);
            f.check(&v, d).unwrap();
            for b in v.chunks(block_len(d)) {
                for (i, x) in covariance(b, d).into_iter().enumerate() {
                    s1[i] += x;
                    s2[i] += x * x;
                }
            }
        }
        for i in 0..d * d {
            let want = if i / d == i % d {
                psi * psi / (nu - d as f64 - 1.0)
            } else {
                0.0
            };
            let m = s1[i] / n as f64;
            let se = ((s2[i] / n as f64 - m * m) / n as f64).sqrt();
            assert!(
                (m - want).abs() < 4.5 * se,
                "Σ entry {i}: {m} vs {want} ± {se}"
            );
        }
    }
}
