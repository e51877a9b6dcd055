//! A full covariance's marginal on the observed coordinates of an incomplete point, and the
//! conditional moments of its missing ones.
//!
//! A point with missing coordinates `M` and observed ones `O` has the likelihood
//! `Σ_k w_k N(x_O | μ_kO, Σ_kOO)`: the Gaussian's marginal on `O`. Its gradient is, by Fisher's
//! identity, the expected gradient of the complete-data likelihood given `x_O`. So an
//! incomplete point adds to the statistics `Σ r`, `Σ r (x − μ)` and `Σ r (x − μ)(x − μ)ᵀ` their
//! conditional expectations given `x_O` and the component:
//! `ẑ = E[x − μ | x_O] = Σ_{·O} Σ_OO⁻¹ (x_O − μ_O)` and `ẑ ẑᵀ + Σ − Σ_{·O} Σ_OO⁻¹ Σ_{O·}`.
//! The gradient formulas of complete data then hold unchanged, so the statistics contract
//! holds with missing values too.

use crate::family::LN_2PI;

/// ½ ln 2π.
const HALF_LN_2PI: f64 = 0.5 * LN_2PI;

/// Work space of the incomplete points of one evaluation, reused between points.
#[derive(Debug, Default)]
pub(crate) struct FullWork {
    /// Per component its covariance `Σ_k = C_k C_kᵀ`, K·D·D row-major.
    cov: Vec<f64>,
    /// Per component `log w_k`.
    logw: Vec<f64>,
    /// Per component `E[x − μ_k | x_O]`, K·D (filled with the moments).
    pub(crate) zhat: Vec<f64>,
    /// Per component `E[(x − μ_k)(x − μ_k)ᵀ | x_O]`, K·D·D (filled with the moments).
    pub(crate) m2: Vec<f64>,
    obs: Vec<usize>,
    /// The Cholesky factor of `Σ_OO`, |O|·|O|.
    a: Vec<f64>,
    /// `A⁻¹ Σ_{O·}` (A the factor), |O|·D.
    b: Vec<f64>,
    /// `A⁻¹ (x_O − μ_O)`, |O|.
    y: Vec<f64>,
    /// One point's coordinates, gathered by [`FullWork::terms_of`].
    row: Vec<f64>,
}

impl FullWork {
    /// The covariances and log weights of the constants: `chol` holds per component its
    /// covariance's factor `C` with `1 / C_ii` on the diagonal, `log_norm` `log w_k − Σ_i log
    /// C_ii − D/2 log 2π` (the kernel's layout).
    pub(crate) fn set(&mut self, k: usize, d: usize, chol: &[f64], log_norm: &[f64]) {
        self.cov.clear();
        self.cov.resize(k * d * d, 0.0);
        self.logw.clear();
        for c in 0..k {
            let ch = &chol[c * d * d..(c + 1) * d * d];
            let l = |i: usize, j: usize| -> f64 {
                match i.cmp(&j) {
                    std::cmp::Ordering::Greater => ch[i * d + j],
                    std::cmp::Ordering::Equal => 1.0 / ch[i * d + i],
                    std::cmp::Ordering::Less => 0.0,
                }
            };
            let cov = &mut self.cov[c * d * d..(c + 1) * d * d];
            for i in 0..d {
                for j in 0..=i {
                    let v: f64 = (0..=j).map(|m| l(i, m) * l(j, m)).sum();
                    cov[i * d + j] = v;
                    cov[j * d + i] = v;
                }
            }
            let ln_diag: f64 = (0..d).map(|i| ch[i * d + i].ln()).sum();
            self.logw
                .push(log_norm[c] - ln_diag + d as f64 * HALF_LN_2PI);
        }
    }

    /// Per component `log w_k` (of the last [`FullWork::set`]).
    pub(crate) fn log_weights(&self) -> &[f64] {
        &self.logw
    }

    /// `terms[k] = log w_k + log N(x_O | μ_kO, Σ_kOO)` of the point `x` (D values, NaN for
    /// missing) and their logsumexp; with `moments`, also [`FullWork::zhat`] and
    /// [`FullWork::m2`]. `None` when every value is missing. [`FullWork::set`] first.
    pub(crate) fn terms(
        &mut self,
        x: &[f64],
        locs: &[f64],
        terms: &mut [f64],
        moments: bool,
    ) -> Option<f64> {
        self.row.clear();
        self.row.extend_from_slice(x);
        self.row_terms(locs, terms, moments)
    }

    /// [`FullWork::terms`] of point `i` of a block's columns `xs`, gathered into the work
    /// space's own row (no allocation per point).
    pub(crate) fn terms_of(
        &mut self,
        xs: &[&[f64]],
        i: usize,
        locs: &[f64],
        terms: &mut [f64],
        moments: bool,
    ) -> Option<f64> {
        self.row.clear();
        self.row.extend(xs.iter().map(|x| x[i]));
        self.row_terms(locs, terms, moments)
    }

    fn row_terms(&mut self, locs: &[f64], terms: &mut [f64], moments: bool) -> Option<f64> {
        let x = std::mem::take(&mut self.row);
        let out = self.point_terms(&x, locs, terms, moments);
        self.row = x;
        out
    }

    fn point_terms(
        &mut self,
        x: &[f64],
        locs: &[f64],
        terms: &mut [f64],
        moments: bool,
    ) -> Option<f64> {
        let d = x.len();
        let k = self.logw.len();
        self.obs.clear();
        self.obs.extend((0..d).filter(|&j| !x[j].is_nan()));
        let o = self.obs.len();
        if o == 0 {
            return None;
        }
        if moments {
            self.zhat.resize(k * d, 0.0);
            self.m2.resize(k * d * d, 0.0);
        }
        self.a.resize(o * o, 0.0);
        self.y.resize(o, 0.0);
        let mut m = f64::NEG_INFINITY;
        for (c, t) in terms.iter_mut().enumerate().take(k) {
            let cov = &self.cov[c * d * d..(c + 1) * d * d];
            let mu = &locs[c * d..(c + 1) * d];
            // Cholesky of Σ_OO
            for (p, &i) in self.obs.iter().enumerate() {
                for (q, &j) in self.obs.iter().enumerate() {
                    self.a[p * o + q] = cov[i * d + j];
                }
            }
            let ok = cholesky(&mut self.a, o);
            if !ok {
                *t = f64::NEG_INFINITY;
                continue;
            }
            // y = A⁻¹ (x_O − μ_O)
            let (mut q2, mut log_det) = (0.0, 0.0);
            for (p, &i) in self.obs.iter().enumerate() {
                let mut v = x[i] - mu[i];
                for r in 0..p {
                    v -= self.a[p * o + r] * self.y[r];
                }
                self.y[p] = v / self.a[p * o + p];
                q2 += self.y[p] * self.y[p];
                log_det += self.a[p * o + p].ln();
            }
            *t = self.logw[c] - o as f64 * HALF_LN_2PI - log_det - 0.5 * q2;
            m = if *t > m { *t } else { m };
            if moments {
                self.moments(c, d, x, mu);
            }
        }
        if !m.is_finite() {
            return Some(m);
        }
        let s: f64 = terms[..k].iter().map(|t| (t - m).exp()).sum();
        Some(m + s.ln())
    }

    /// The conditional moments of component `c` from its factor `a` and whitened deviation `y`.
    fn moments(&mut self, c: usize, d: usize, x: &[f64], mu: &[f64]) {
        let o = self.obs.len();
        let cov = &self.cov[c * d * d..(c + 1) * d * d];
        // b = A⁻¹ Σ_{O·}, column by column
        self.b.resize(o * d, 0.0);
        for j in 0..d {
            for (p, &i) in self.obs.iter().enumerate() {
                let mut v = cov[i * d + j];
                for r in 0..p {
                    v -= self.a[p * o + r] * self.b[r * d + j];
                }
                self.b[p * d + j] = v / self.a[p * o + p];
            }
        }
        // ẑ_j = Σ_{jO} Σ_OO⁻¹ (x_O − μ_O) = bᵀ y (exactly the deviation where observed)
        let zhat = &mut self.zhat[c * d..(c + 1) * d];
        for (j, z) in zhat.iter_mut().enumerate() {
            *z = if x[j].is_nan() {
                (0..o).map(|p| self.b[p * d + j] * self.y[p]).sum()
            } else {
                x[j] - mu[j]
            };
        }
        // m2 = ẑ ẑᵀ + Σ − bᵀ b, the conditional covariance zero where either is observed
        let m2 = &mut self.m2[c * d * d..(c + 1) * d * d];
        for i in 0..d {
            for j in 0..=i {
                let mut v = zhat[i] * zhat[j];
                if x[i].is_nan() && x[j].is_nan() {
                    let bb: f64 = (0..o).map(|p| self.b[p * d + i] * self.b[p * d + j]).sum();
                    v += cov[i * d + j] - bb;
                }
                m2[i * d + j] = v;
                m2[j * d + i] = v;
            }
        }
    }
}

/// The lower Cholesky factor of the symmetric m×m matrix `a` (row-major), in place (the part
/// above the diagonal set to 0). Where a pivot is not positive (a singular matrix, to
/// rounding) its column is set to 0 and the factorisation goes on; returns whether every
/// pivot was positive.
pub(crate) fn cholesky(a: &mut [f64], m: usize) -> bool {
    let mut ok = true;
    for p in 0..m {
        for q in 0..=p {
            let mut v = a[p * m + q];
            for r in 0..q {
                v -= a[p * m + r] * a[q * m + r];
            }
            a[p * m + q] = if p == q {
                if v > 0.0 && v.is_finite() {
                    v.sqrt()
                } else {
                    ok = false;
                    0.0
                }
            } else if a[q * m + q] > 0.0 {
                v / a[q * m + q]
            } else {
                0.0
            };
        }
        for q in p + 1..m {
            a[p * m + q] = 0.0;
        }
    }
    ok
}

/// `vᵀ A⁻¹ v` for the symmetric positive definite m×m matrix `a` (row-major; its lower
/// triangle is read, and overwritten by its [`cholesky`] factor `L`): `|L⁻¹ v|²` by forward
/// substitution. `None` where `a` is not positive definite or the value is not finite.
pub(crate) fn inverse_quadratic(a: &mut [f64], v: &[f64], m: usize) -> Option<f64> {
    if !cholesky(a, m) {
        return None;
    }
    let mut z = v.to_vec();
    for i in 0..m {
        let s = z[i] - (0..i).map(|j| a[i * m + j] * z[j]).sum::<f64>();
        z[i] = s / a[i * m + i];
    }
    let q: f64 = z.iter().map(|z| z * z).sum();
    q.is_finite().then_some(q)
}
