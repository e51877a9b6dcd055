//! The diagonal family: axis-aligned Normal components whose scales (standard deviations) are
//! shared as [`Sharing`] says, each free scale with the same [`ScalePrior`]. Its values are the
//! free scales; its unconstrained coordinates their logarithms.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::family::covariance::CovPrior;
use crate::family::scale_prior::{ScalePrior, LN_2PI};

/// How the scales are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sharing {
    /// One scale for every component and dimension.
    #[default]
    Shared,
    /// One scale per component, shared across dimensions (shape \[K\]).
    Component,
    /// One scale per dimension, shared across components (shape \[D\]).
    Dimension,
    /// One scale per component and dimension (diagonal covariance, shape \[K, D\]).
    Diagonal,
}

impl Sharing {
    /// All names, for error messages and help.
    pub const NAMES: &'static str = "shared, component, dimension, diagonal";

    /// Parse a name (`shared`, `component`, `dimension`, `diagonal`).
    pub fn parse(s: &str) -> Option<Sharing> {
        match s {
            "shared" | "global" => Some(Sharing::Shared),
            "component" => Some(Sharing::Component),
            "dimension" => Some(Sharing::Dimension),
            "diagonal" | "both" => Some(Sharing::Diagonal),
            _ => None,
        }
    }

    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            Sharing::Shared => "shared",
            Sharing::Component => "component",
            Sharing::Dimension => "dimension",
            Sharing::Diagonal => "diagonal",
        }
    }

    /// Number of free scales for K components in D dimensions.
    pub fn n_scales(self, k: usize, d: usize) -> usize {
        match self {
            Sharing::Shared => 1,
            Sharing::Component => k,
            Sharing::Dimension => d,
            Sharing::Diagonal => k * d,
        }
    }

    /// Index of the free scale used by component `k` in dimension `j`.
    #[inline]
    pub fn index(self, k: usize, j: usize, d: usize) -> usize {
        match self {
            Sharing::Shared => 0,
            Sharing::Component => k,
            Sharing::Dimension => j,
            Sharing::Diagonal => k * d + j,
        }
    }

    /// Shape of the scale site for K components in D dimensions.
    pub fn shape(self, k: usize, d: usize) -> Vec<usize> {
        match self {
            Sharing::Shared => vec![],
            Sharing::Component => vec![k],
            Sharing::Dimension => vec![d],
            Sharing::Diagonal => vec![k, d],
        }
    }
}

/// The `[scale]` table: sharing, prior name and the prior's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleSpec {
    /// `shared` (the default), `component`, `dimension` or `diagonal`; `full` or `tied` for
    /// the covariance families (which a model file says in its `[covariance]` table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing: Option<String>,
    /// Prior name: one of [`ScalePrior::NAMES`].
    pub prior: String,
    /// LogNormal: mean of log s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu: Option<f64>,
    /// LogNormal: sd of log s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    /// InverseGamma / Gamma shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// InverseGamma scale / Gamma rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// HalfCauchy / HalfNormal scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Exponential rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Sharing `full` or `tied` with a scale prior: the LKJ shape η of the correlation's
    /// prior (default 1, uniform over correlation matrices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<f64>,
    /// Prior `inverse_wishart`: degrees of freedom ν (its `scale` is ψ, `Σ ~ IW(ν, ψ² I)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
}

impl ScaleSpec {
    /// The spec of a given prior and sharing.
    pub fn from_prior(prior: ScalePrior, sharing: Sharing) -> ScaleSpec {
        let mut s = ScaleSpec {
            sharing: Some(sharing.name().to_string()),
            prior: prior.name().to_string(),
            mu: None,
            sigma: None,
            alpha: None,
            beta: None,
            scale: None,
            rate: None,
            eta: None,
            df: None,
        };
        match prior {
            ScalePrior::LogNormal { mu, sigma } => {
                s.mu = Some(mu);
                s.sigma = Some(sigma);
            }
            ScalePrior::InverseGamma { alpha, beta } | ScalePrior::Gamma { alpha, beta } => {
                s.alpha = Some(alpha);
                s.beta = Some(beta);
            }
            ScalePrior::HalfCauchy { scale } | ScalePrior::HalfNormal { scale } => {
                s.scale = Some(scale)
            }
            ScalePrior::Exponential { rate } => s.rate = Some(rate),
        }
        s
    }

    /// The spec of a covariance family (`sharing` "full" or "tied") with a given prior.
    pub fn from_cov_prior(prior: CovPrior, sharing: &str) -> ScaleSpec {
        match prior {
            CovPrior::Lkj { scale, eta } => ScaleSpec {
                sharing: Some(sharing.to_string()),
                eta: Some(eta),
                ..ScaleSpec::from_prior(scale, Sharing::Shared)
            },
            CovPrior::InverseWishart { df, scale } => ScaleSpec {
                sharing: Some(sharing.to_string()),
                prior: "inverse_wishart".to_string(),
                mu: None,
                sigma: None,
                alpha: None,
                beta: None,
                scale: Some(scale),
                rate: None,
                eta: None,
                df: Some(df),
            },
        }
    }

    /// The covariance prior of a `[scale]` table of sharing "full" or "tied".
    pub(crate) fn cov_prior(&self) -> Result<CovPrior> {
        let name = self.prior.to_ascii_lowercase().replace(['-', ' '], "_");
        if matches!(name.as_str(), "inverse_wishart" | "inversewishart") {
            let others = [
                ("mu", self.mu),
                ("sigma", self.sigma),
                ("alpha", self.alpha),
                ("beta", self.beta),
                ("rate", self.rate),
                ("eta", self.eta),
            ];
            if let Some((f, _)) = others.iter().find(|(_, v)| v.is_some()) {
                return Err(Error::Model(format!(
                    "covariance prior inverse_wishart takes 'df' and 'scale', not '{f}'"
                )));
            }
            let (Some(df), Some(scale)) = (self.df, self.scale) else {
                let f = if self.df.is_none() { "df" } else { "scale" };
                return Err(Error::Model(format!(
                    "covariance prior inverse_wishart needs 'df' and 'scale' (missing '{f}')"
                )));
            };
            return Ok(CovPrior::InverseWishart { df, scale });
        }
        if self.df.is_some() {
            return Err(Error::Model(
                "scale.df applies to prior inverse_wishart only".into(),
            ));
        }
        Ok(CovPrior::Lkj {
            scale: self.prior()?,
            eta: self.eta.unwrap_or(1.0),
        })
    }

    fn prior(&self) -> Result<ScalePrior> {
        let name = self.prior.to_ascii_lowercase().replace(['-', ' '], "_");
        let fields: [(&str, Option<f64>); 6] = [
            ("mu", self.mu),
            ("sigma", self.sigma),
            ("alpha", self.alpha),
            ("beta", self.beta),
            ("scale", self.scale),
            ("rate", self.rate),
        ];
        let (needed, canonical): (&[&str], &str) = match name.as_str() {
            "lognormal" | "log_normal" => (&["mu", "sigma"], "lognormal"),
            "inverse_gamma" | "inversegamma" | "invgamma" => (&["alpha", "beta"], "inverse_gamma"),
            "half_cauchy" | "halfcauchy" => (&["scale"], "half_cauchy"),
            "half_normal" | "halfnormal" => (&["scale"], "half_normal"),
            "gamma" => (&["alpha", "beta"], "gamma"),
            "exponential" => (&["rate"], "exponential"),
            _ => {
                return Err(Error::Model(format!(
                    "unknown scale prior '{}' (known: {})",
                    self.prior,
                    ScalePrior::NAMES
                )))
            }
        };
        for (f, v) in fields {
            if needed.contains(&f) && v.is_none() {
                return Err(Error::Model(format!(
                    "scale prior {canonical} needs '{}' (missing '{f}')",
                    needed.join("' and '")
                )));
            }
            if !needed.contains(&f) && v.is_some() {
                return Err(Error::Model(format!(
                    "scale prior {canonical} takes '{}', not '{f}'",
                    needed.join("' and '")
                )));
            }
        }
        let g = |o: Option<f64>| o.unwrap_or(f64::NAN);
        let p = match canonical {
            "lognormal" => ScalePrior::LogNormal {
                mu: g(self.mu),
                sigma: g(self.sigma),
            },
            "inverse_gamma" => ScalePrior::InverseGamma {
                alpha: g(self.alpha),
                beta: g(self.beta),
            },
            "half_cauchy" => ScalePrior::HalfCauchy {
                scale: g(self.scale),
            },
            "half_normal" => ScalePrior::HalfNormal {
                scale: g(self.scale),
            },
            "gamma" => ScalePrior::Gamma {
                alpha: g(self.alpha),
                beta: g(self.beta),
            },
            _ => ScalePrior::Exponential { rate: g(self.rate) },
        };
        p.validate()?;
        Ok(p)
    }
}

/// The diagonal family: how the scales are shared and the prior on each free scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Diagonal {
    /// How the scales are shared.
    pub sharing: Sharing,
    /// Prior on every free scale.
    pub prior: ScalePrior,
}

impl Diagonal {
    /// The family of a `[scale]` table.
    pub fn from_spec(spec: &ScaleSpec) -> Result<Diagonal> {
        let name = spec.sharing.as_deref().unwrap_or("shared");
        let sharing = Sharing::parse(name).ok_or_else(|| {
            Error::Model(format!(
                "unknown scale sharing '{name}' (known: {}, full, tied)",
                Sharing::NAMES
            ))
        })?;
        let prior = spec.prior()?;
        Ok(Diagonal { sharing, prior })
    }

    /// Its `[scale]` table.
    pub fn spec(&self) -> ScaleSpec {
        ScaleSpec::from_prior(self.prior, self.sharing)
    }

    /// Number of free scales.
    #[inline]
    pub fn n_scales(&self, k: usize, d: usize) -> usize {
        self.sharing.n_scales(k, d)
    }

    /// Scale of component `c` in dimension `j`.
    #[inline]
    pub fn scale(&self, scales: &[f64], c: usize, j: usize, d: usize) -> f64 {
        scales[self.sharing.index(c, j, d)]
    }

    /// Names of the free scales: `scale` / `scale[0]` / `scale[0,1]`.
    pub fn names(&self, k: usize, d: usize, names: &mut Vec<String>) {
        match self.sharing {
            Sharing::Shared => names.push("scale".into()),
            Sharing::Component => names.extend((0..k).map(|i| format!("scale[{i}]"))),
            Sharing::Dimension => names.extend((0..d).map(|i| format!("scale[{i}]"))),
            Sharing::Diagonal => {
                for k in 0..k {
                    for j in 0..d {
                        names.push(format!("scale[{k},{j}]"));
                    }
                }
            }
        }
    }

    /// The scales with components reordered: component `i` of the result is component
    /// `perm[i]` of `scales`.
    pub fn permuted(&self, scales: &[f64], perm: &[usize], d: usize) -> Vec<f64> {
        match self.sharing {
            Sharing::Shared | Sharing::Dimension => scales.to_vec(),
            Sharing::Component => perm.iter().map(|&p| scales[p]).collect(),
            Sharing::Diagonal => perm
                .iter()
                .flat_map(|&p| scales[p * d..(p + 1) * d].iter().copied())
                .collect(),
        }
    }

    /// The unconstrained coordinates of `scales` (`log s`), appended to `x`.
    pub fn pack(&self, scales: &[f64], x: &mut Vec<f64>) {
        x.extend(scales.iter().map(|s| s.ln()));
    }

    /// The scales at the coordinates `xs` (`s = exp(x)`) and the log-Jacobian of the map.
    pub fn unpack(&self, xs: &[f64]) -> (Vec<f64>, f64) {
        let scales: Vec<f64> = xs.iter().map(|v| v.exp()).collect();
        (scales, xs.iter().sum::<f64>())
    }

    /// Pull the gradient with respect to `log s` back to the coordinates (the identity),
    /// adding the gradient of the log-Jacobian (1 per coordinate) when `jacobian` is set.
    pub fn pull_back(&self, g: &[f64], jacobian: bool, out: &mut [f64]) {
        for (o, gs) in out.iter_mut().zip(g) {
            *o = gs + if jacobian { 1.0 } else { 0.0 };
        }
    }

    /// Whether scales unpacked from a finite point can be evaluated: their square and
    /// inverse square finite (`s` within about 1e±154).
    pub fn representable(&self, scales: &[f64]) -> bool {
        scales
            .iter()
            .all(|&s| (s * s).is_finite() && (1.0 / (s * s)).is_finite())
    }

    /// Adds the log prior of every free scale to `lp`, and its gradient with respect to
    /// `log s` into `grad`.
    pub fn add_log_prior(&self, scales: &[f64], lp: &mut f64, grad: Option<&mut [f64]>) {
        match grad {
            Some(g) => {
                for (&s, g) in scales.iter().zip(g.iter_mut()) {
                    let (l, dl) = self.prior.ln_pdf_dlog(s);
                    *lp += l;
                    *g += dl;
                }
            }
            None => {
                for &s in scales {
                    *lp += self.prior.ln_pdf_dlog(s).0;
                }
            }
        }
    }

    /// The kernel's constants: `inv_s[c·D + j] = 1 / s_cj` and
    /// `log_norm[c] = log w_c − Σ_j log s_cj − D/2 log 2π`.
    #[inline]
    pub fn kernel_consts(
        &self,
        d: usize,
        logw: &[f64],
        scales: &[f64],
        inv_s: &mut [f64],
        log_norm: &mut [f64],
    ) {
        for (c, ln_c) in log_norm.iter_mut().enumerate() {
            let mut ln = logw[c] - 0.5 * d as f64 * LN_2PI;
            for j in 0..d {
                let s = scales[self.sharing.index(c, j, d)];
                inv_s[c * d + j] = 1.0 / s;
                ln -= s.ln();
            }
            *ln_c = ln;
        }
    }

    /// The likelihood's gradient with respect to the locations and `log s` from the
    /// statistics `r_sum[c] = Σ_n r_nc`, `r_dev[c·D + j] = Σ_n r_nc (x_nj − μ_cj)` and
    /// `r_dev_sq[c·D + j] = Σ_n r_nc (x_nj − μ_cj)²`, added into `g_locs` and `g_scales`:
    /// `∂/∂μ_cj = r_dev / s²` and `∂/∂log s = Σ (−r_sum + r_dev_sq / s²)` over the components
    /// and dimensions each scale serves. With missing values (`r_miss[c·D + j] = Σ_n r_nc
    /// [x_nj missing]`, empty for none) the first term is the share of the points that
    /// observe dimension j, `−(r_sum − r_miss)`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn add_stats_grad(
        &self,
        d: usize,
        scales: &[f64],
        r_sum: &[f64],
        r_dev: &[f64],
        r_dev_sq: &[f64],
        r_miss: &[f64],
        g_locs: &mut [f64],
        g_scales: &mut [f64],
    ) {
        for (c, &r) in r_sum.iter().enumerate() {
            for j in 0..d {
                let i = self.sharing.index(c, j, d);
                let is = 1.0 / scales[i];
                let idx = c * d + j;
                let r = if r_miss.is_empty() {
                    r
                } else {
                    r - r_miss[idx]
                };
                g_locs[idx] += r_dev[idx] * is * is;
                g_scales[i] += -r + r_dev_sq[idx] * is * is;
            }
        }
    }

    /// The Gaussian part of the expected complete-data log likelihood (the EM surrogate,
    /// assignments latent, missing coordinates left out) at `scales`, from statistics taken
    /// about the locations it is evaluated at: `Σ_{c,j} −½ n_cj ln(2π s²) − ½ r_dev_sq_cj / s²`,
    /// `n_cj = r_sum_c − r_miss_cj` the weight of the points with coordinate j observed. Its
    /// natural gradient is [`Diagonal::add_stats_grad`]'s.
    pub fn complete_loglik(
        &self,
        d: usize,
        scales: &[f64],
        r_sum: &[f64],
        r_dev_sq: &[f64],
        r_miss: &[f64],
    ) -> f64 {
        let mut q = 0.0;
        for (c, &r) in r_sum.iter().enumerate() {
            for j in 0..d {
                let s = scales[self.sharing.index(c, j, d)];
                let idx = c * d + j;
                let n = if r_miss.is_empty() {
                    r
                } else {
                    r - r_miss[idx]
                };
                q -= 0.5 * (n * (LN_2PI + 2.0 * s.ln()) + r_dev_sq[idx] / (s * s));
            }
        }
        q
    }

    /// A draw of the free scales from the prior.
    pub fn draw<R: rand::Rng + ?Sized>(&self, k: usize, d: usize, rng: &mut R) -> Vec<f64> {
        (0..self.n_scales(k, d))
            .map(|_| self.prior.sample(rng))
            .collect()
    }

    /// The plates of the scale site (as Pyro names them).
    pub fn plates(&self) -> &'static [&'static str] {
        match self.sharing {
            Sharing::Shared => &[],
            Sharing::Component => &["components"],
            Sharing::Dimension => &["dims"],
            Sharing::Diagonal => &["components", "dims"],
        }
    }

    /// The observation's scale as Pyro code writes it: a scale per component is indexed by
    /// the assignment, a shared or per-dimension one is not (the latter, of shape \[D\],
    /// broadcasts over the dimensions as `locs[assignment]` does).
    pub fn obs_scale(&self) -> &'static str {
        match self.sharing {
            Sharing::Shared | Sharing::Dimension => "scale",
            Sharing::Component | Sharing::Diagonal => "scale[assignment]",
        }
    }

    /// Initial scales from the data's per-dimension spread `per_dim`: the root mean square
    /// pooled over the dimensions where a scale serves them all.
    pub fn initial(&self, k: usize, per_dim: &[f64]) -> Vec<f64> {
        let d = per_dim.len();
        let pooled = (per_dim.iter().map(|s| s * s).sum::<f64>() / d as f64).sqrt();
        match self.sharing {
            Sharing::Shared => vec![pooled],
            Sharing::Component => vec![pooled; k],
            Sharing::Dimension => per_dim.to_vec(),
            Sharing::Diagonal => (0..k).flat_map(|_| per_dim.iter().copied()).collect(),
        }
    }

    /// Scales from a partition of the data into `k` clusters: `counts[c]` points with
    /// within-cluster sums of squares `ss[c][j]`, pooled over what each scale serves. A
    /// cluster of at most one point takes `fallback` (as [`Diagonal::initial`] gives), and a
    /// variance is at least `floor[j]²`.
    pub fn from_clusters(
        &self,
        counts: &[usize],
        ss: &[Vec<f64>],
        floor: &[f64],
        fallback: &[f64],
    ) -> Vec<f64> {
        let (k, d) = (counts.len(), floor.len());
        let var_kd = |c: usize, j: usize| -> Option<f64> {
            (counts[c] > 1).then(|| (ss[c][j] / counts[c] as f64).max(floor[j] * floor[j]))
        };
        let pooled = |cs: &[usize], js: &[usize]| -> f64 {
            let (mut num, mut den) = (0.0, 0.0);
            for &c in cs {
                for &j in js {
                    num += ss[c][j];
                    den += counts[c] as f64;
                }
            }
            if den > 0.0 && num > 0.0 {
                (num / den).sqrt()
            } else {
                fallback[0]
            }
        };
        let all_c: Vec<usize> = (0..k).collect();
        let all_j: Vec<usize> = (0..d).collect();
        match self.sharing {
            Sharing::Shared => vec![pooled(&all_c, &all_j)],
            Sharing::Component => (0..k).map(|c| pooled(&[c], &all_j)).collect(),
            Sharing::Dimension => (0..d).map(|j| pooled(&all_c, &[j])).collect(),
            Sharing::Diagonal => (0..k)
                .flat_map(|c| {
                    (0..d)
                        .map(|j| var_kd(c, j).map_or(fallback[c * d + j], f64::sqrt))
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }

    /// Scales for components of per-dimension variances `vars` (one row per component, as a
    /// split or merge move makes them): scales every component shares are kept as they are
    /// in `scales`; a scale per component pools its dimensions.
    pub fn from_variances(&self, scales: &[f64], vars: &[&[f64]]) -> Vec<f64> {
        match self.sharing {
            Sharing::Shared | Sharing::Dimension => scales.to_vec(),
            Sharing::Component => vars
                .iter()
                .map(|v| (v.iter().sum::<f64>() / v.len() as f64).sqrt())
                .collect(),
            Sharing::Diagonal => vars
                .iter()
                .flat_map(|v| v.iter().map(|v| v.sqrt()))
                .collect(),
        }
    }

    /// The components and dimensions that free scale `i` serves: a component collapses in
    /// those dimensions as that scale → 0.
    pub fn scale_users(&self, i: usize, k: usize, d: usize) -> (Vec<usize>, Vec<usize>) {
        match self.sharing {
            Sharing::Shared => ((0..k).collect(), (0..d).collect()),
            Sharing::Component => (vec![i], (0..d).collect()),
            Sharing::Dimension => ((0..k).collect(), vec![i]),
            Sharing::Diagonal => (vec![i / d], vec![i % d]),
        }
    }

    /// The remedy of sharing the scale across components, where it is one per component.
    pub fn sharing_remedy(&self) -> Option<&'static str> {
        matches!(self.sharing, Sharing::Component | Sharing::Diagonal).then_some(
            ", or share the scale across components (sharing = \"shared\" or \"dimension\")",
        )
    }

    /// Why the MAP may not exist on some data (see [`crate::Model::map_may_not_exist`]).
    pub fn map_may_not_exist(&self, k: usize, d: usize) -> Option<String> {
        let a = self.prior.power_at_zero()?;
        let prior = self.prior.display();
        // the coordinates one scale covers, and whether one scale serves every component
        let (m, all, what) = match self.sharing {
            Sharing::Shared => (d, true, "points"),
            Sharing::Component => (d, k == 1, "points"),
            Sharing::Dimension => (1, true, "values in a column"),
            Sharing::Diagonal => (1, k == 1, "values in a column"),
        };
        let near_zero = ScalePrior::near_zero_text(a);
        let reason = if all {
            format!(
                "the {prior} prior on the {} scale {near_zero}, so on data with at most {} distinct {what} the density is unbounded as the scale → 0 with every component on one of them",
                self.sharing.name(),
                k
            )
        } else if m as f64 > a {
            format!(
                "the {prior} prior on each component's scale {near_zero}, which cannot offset the s^-{m} growth of the likelihood of a point a component sits on as its scale → 0: the density is unbounded on any data"
            )
        } else {
            // the fewest identical points r with r·m > a
            let r = (a / m as f64).floor() + 1.0;
            format!(
                "the {prior} prior on each component's scale {near_zero}: a component sitting on {r} or more identical {what} makes the density unbounded as its scale → 0"
            )
        };
        Some(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_indices() {
        assert_eq!(Sharing::Diagonal.index(2, 1, 3), 7);
        assert_eq!(Sharing::Dimension.index(2, 1, 3), 1);
        assert_eq!(Sharing::Component.index(2, 1, 3), 2);
        assert_eq!(Sharing::Shared.n_scales(3, 2), 1);
        assert_eq!(Sharing::Diagonal.n_scales(3, 2), 6);
    }
}
