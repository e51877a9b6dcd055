//! Model description: a serialisable [`ModelSpec`] (what a TOML file holds) that validates
//! into a checked [`Model`].
//!
//! The model family:
//! - `weights ~ Dirichlet(α)`, α scalar or one per component;
//! - `locs[k, d] ~ Normal(μ0[d], σ0[d])`, optionally `ordered` (strictly increasing in `k`
//!   on the first dimension, as Stan's `ordered`);
//! - a prior on the scale (standard deviation) itself, shared as [`Sharing`] says;
//! - `x[n, d] | z[n] ~ Normal(locs[z[n], d], scale[z[n], d])`, `z[n] ~ Categorical(weights)`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A number or a list of numbers (TOML `0.5` or `[0.5, 1.0]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value for every entry.
    One(f64),
    /// One value per entry.
    Many(Vec<f64>),
}

/// Read as a number or a list of numbers, with an error that says so (serde's untagged
/// enums only say that no variant matched).
impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a list of numbers")
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<OneOrMany, E> {
                Ok(OneOrMany::One(v))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<OneOrMany, E> {
                Ok(OneOrMany::One(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<OneOrMany, E> {
                Ok(OneOrMany::One(v as f64))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<OneOrMany, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element::<f64>()? {
                    v.push(x);
                }
                Ok(OneOrMany::Many(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl OneOrMany {
    fn expand(&self, n: usize, what: &str, per: &str) -> Result<Vec<f64>> {
        match self {
            OneOrMany::One(v) => Ok(vec![*v; n]),
            OneOrMany::Many(v) if v.len() == n => Ok(v.clone()),
            OneOrMany::Many(v) if v.len() == 1 => Ok(vec![v[0]; n]),
            OneOrMany::Many(v) => Err(Error::Model(format!(
                "{what} has {} values but the model has {n} {per}",
                v.len()
            ))),
        }
    }
}

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

/// A prior on a scale (standard deviation) `s > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScalePrior {
    /// `log s ~ Normal(mu, sigma)`.
    LogNormal {
        /// Mean of `log s`.
        mu: f64,
        /// Standard deviation of `log s`.
        sigma: f64,
    },
    /// Density `β^α / Γ(α) s^(−α−1) exp(−β/s)`.
    InverseGamma {
        /// Shape.
        alpha: f64,
        /// Scale.
        beta: f64,
    },
    /// Half-Cauchy with the given scale.
    HalfCauchy {
        /// Scale.
        scale: f64,
    },
    /// Half-Normal with the given scale.
    HalfNormal {
        /// Scale.
        scale: f64,
    },
    /// Gamma with shape `alpha` and rate `beta`.
    Gamma {
        /// Shape.
        alpha: f64,
        /// Rate.
        beta: f64,
    },
    /// Exponential with the given rate.
    Exponential {
        /// Rate.
        rate: f64,
    },
}

const LN_2PI: f64 = 1.837_877_066_409_345_3;
const LN_PI: f64 = 1.144_729_885_849_400_2;
const LN_2: f64 = std::f64::consts::LN_2;

fn ln_gamma(x: f64) -> f64 {
    special::Gamma::ln_gamma(x).0
}

impl ScalePrior {
    /// All prior names, for error messages and help.
    pub const NAMES: &'static str =
        "lognormal, inverse_gamma, half_cauchy, half_normal, gamma, exponential";

    /// The name used in files.
    pub fn name(&self) -> &'static str {
        match self {
            ScalePrior::LogNormal { .. } => "lognormal",
            ScalePrior::InverseGamma { .. } => "inverse_gamma",
            ScalePrior::HalfCauchy { .. } => "half_cauchy",
            ScalePrior::HalfNormal { .. } => "half_normal",
            ScalePrior::Gamma { .. } => "gamma",
            ScalePrior::Exponential { .. } => "exponential",
        }
    }

    /// Human form, e.g. `LogNormal(0, 2)`.
    pub fn display(&self) -> String {
        match *self {
            ScalePrior::LogNormal { mu, sigma } => format!("LogNormal({mu}, {sigma})"),
            ScalePrior::InverseGamma { alpha, beta } => format!("InverseGamma({alpha}, {beta})"),
            ScalePrior::HalfCauchy { scale } => format!("HalfCauchy({scale})"),
            ScalePrior::HalfNormal { scale } => format!("HalfNormal({scale})"),
            ScalePrior::Gamma { alpha, beta } => format!("Gamma({alpha}, {beta})"),
            ScalePrior::Exponential { rate } => format!("Exponential({rate})"),
        }
    }

    /// `log p(s)` and `s · d log p(s) / ds` (the derivative with respect to `log s`).
    #[inline]
    pub fn ln_pdf_dlog(&self, s: f64) -> (f64, f64) {
        match *self {
            ScalePrior::LogNormal { mu, sigma } => {
                let ls = s.ln();
                let z = (ls - mu) / sigma;
                (
                    -ls - sigma.ln() - 0.5 * LN_2PI - 0.5 * z * z,
                    -1.0 - z / sigma,
                )
            }
            ScalePrior::InverseGamma { alpha, beta } => (
                alpha * beta.ln() - ln_gamma(alpha) - (alpha + 1.0) * s.ln() - beta / s,
                -(alpha + 1.0) + beta / s,
            ),
            ScalePrior::HalfCauchy { scale } => {
                let r = s / scale;
                (
                    LN_2 - LN_PI - scale.ln() - r.ln_1p_sq(),
                    -2.0 * r * r / (1.0 + r * r),
                )
            }
            ScalePrior::HalfNormal { scale } => {
                let r = s / scale;
                (LN_2 - 0.5 * LN_2PI - scale.ln() - 0.5 * r * r, -r * r)
            }
            ScalePrior::Gamma { alpha, beta } => (
                alpha * beta.ln() - ln_gamma(alpha) + (alpha - 1.0) * s.ln() - beta * s,
                (alpha - 1.0) - beta * s,
            ),
            ScalePrior::Exponential { rate } => (rate.ln() - rate * s, -rate * s),
        }
    }

    /// The power `a` of the density near 0, `p(s) ∝ s^a` as `s → 0`: 0 for the half-Cauchy,
    /// half-Normal and exponential (their density is positive at 0), `α − 1` for the gamma;
    /// `None` for the lognormal and inverse gamma, whose densities vanish at 0 faster than any
    /// power of `s`.
    pub fn power_at_zero(&self) -> Option<f64> {
        match *self {
            ScalePrior::LogNormal { .. } | ScalePrior::InverseGamma { .. } => None,
            ScalePrior::HalfCauchy { .. }
            | ScalePrior::HalfNormal { .. }
            | ScalePrior::Exponential { .. } => Some(0.0),
            ScalePrior::Gamma { alpha, .. } => Some(alpha - 1.0),
        }
    }

    /// How a density `∝ s^a` behaves at 0, in words.
    pub(crate) fn near_zero_text(a: f64) -> String {
        if a == 0.0 {
            "does not vanish at 0".to_string()
        } else if a < 0.0 {
            format!("grows like s^{a} at 0")
        } else {
            format!("vanishes only like s^{a} at 0")
        }
    }

    /// A draw from the prior.
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        use rand::RngExt;
        use rand_distr::{Distribution, Exp, Gamma, StandardNormal};
        let z: f64 = rng.sample(StandardNormal);
        match *self {
            ScalePrior::LogNormal { mu, sigma } => (mu + sigma * z).exp(),
            ScalePrior::InverseGamma { alpha, beta } => {
                let g: f64 = Gamma::new(alpha, 1.0).expect("validated").sample(rng);
                beta / g
            }
            ScalePrior::HalfCauchy { scale } => {
                let u: f64 = rng.random::<f64>();
                scale * (0.5 * std::f64::consts::PI * u).tan()
            }
            ScalePrior::HalfNormal { scale } => scale * z.abs(),
            ScalePrior::Gamma { alpha, beta } => Gamma::new(alpha, 1.0 / beta)
                .expect("validated")
                .sample(rng),
            ScalePrior::Exponential { rate } => Exp::new(rate).expect("validated").sample(rng),
        }
    }

    fn validate(&self) -> Result<()> {
        let (pairs, what): (Vec<(&str, f64)>, _) = match *self {
            ScalePrior::LogNormal { mu, sigma } => {
                if !mu.is_finite() {
                    return Err(Error::Model(format!(
                        "scale prior lognormal: 'mu' must be finite, got {mu}"
                    )));
                }
                (vec![("sigma", sigma)], "lognormal")
            }
            ScalePrior::InverseGamma { alpha, beta } => {
                (vec![("alpha", alpha), ("beta", beta)], "inverse_gamma")
            }
            ScalePrior::HalfCauchy { scale } => (vec![("scale", scale)], "half_cauchy"),
            ScalePrior::HalfNormal { scale } => (vec![("scale", scale)], "half_normal"),
            ScalePrior::Gamma { alpha, beta } => (vec![("alpha", alpha), ("beta", beta)], "gamma"),
            ScalePrior::Exponential { rate } => (vec![("rate", rate)], "exponential"),
        };
        for (name, v) in pairs {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::Model(format!(
                    "scale prior {what}: '{name}' must be positive and finite, got {v}"
                )));
            }
        }
        Ok(())
    }
}

trait Ln1pSq {
    fn ln_1p_sq(self) -> f64;
}
impl Ln1pSq for f64 {
    /// `ln(1 + x²)` without overflow for large `x`.
    #[inline]
    fn ln_1p_sq(self) -> f64 {
        let a = self.abs();
        if a > 1e150 {
            2.0 * a.ln()
        } else {
            (a * a).ln_1p()
        }
    }
}

/// The `[weights]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsSpec {
    /// Dirichlet concentration α: one number or one per component.
    pub concentration: OneOrMany,
}

/// The `[locs]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocsSpec {
    /// Prior mean μ0: one number or one per dimension.
    pub loc: OneOrMany,
    /// Prior standard deviation σ0: one number or one per dimension.
    pub scale: OneOrMany,
    /// Locations strictly increasing (first dimension) to remove label switching.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ordered: bool,
}

/// The `[scale]` table: sharing, prior name and the prior's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleSpec {
    /// `shared`, `component`, `dimension` or `diagonal`.
    #[serde(default = "default_sharing")]
    pub sharing: String,
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
}

fn default_sharing() -> String {
    "shared".to_string()
}

impl ScaleSpec {
    /// The spec of a given prior and sharing.
    pub fn from_prior(prior: ScalePrior, sharing: Sharing) -> ScaleSpec {
        let mut s = ScaleSpec {
            sharing: sharing.name().to_string(),
            prior: prior.name().to_string(),
            mu: None,
            sigma: None,
            alpha: None,
            beta: None,
            scale: None,
            rate: None,
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

/// Largest number of components.
pub const MAX_K: usize = 100_000;
/// Largest number of dimensions.
pub const MAX_D: usize = 100_000;
/// Largest number of locations K · D.
pub const MAX_KD: usize = 10_000_000;

/// A model as written in a TOML file.
///
/// ```toml
/// k = 2            # components
/// d = 1            # dimensions (optional when fitting: taken from the data)
/// [weights]
/// concentration = 0.5
/// [locs]
/// loc = 0.0
/// scale = 10.0
/// [scale]
/// sharing = "shared"
/// prior = "lognormal"
/// mu = 0.0
/// sigma = 2.0
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Number of components K.
    pub k: i64,
    /// Number of dimensions D (optional: the data's when fitting, 1 when simulating).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<i64>,
    /// Dirichlet prior on the weights.
    pub weights: WeightsSpec,
    /// Normal prior on the locations.
    pub locs: LocsSpec,
    /// Prior on the scales and how they are shared.
    pub scale: ScaleSpec,
}

impl ModelSpec {
    /// Validate into a [`Model`]. `data_dim` is the data's dimension, if there are data: it
    /// fills in a missing `d` and must agree with a given one.
    pub fn build(&self, data_dim: Option<usize>) -> Result<Model> {
        if self.k < 1 {
            return Err(Error::Model(format!(
                "'k' must be at least 1, got {}",
                self.k
            )));
        }
        if self.k > MAX_K as i64 {
            return Err(Error::Model(format!(
                "'k' = {} is too large (at most {MAX_K})",
                self.k
            )));
        }
        let k = self.k as usize;
        let d = match (self.d, data_dim) {
            (Some(d), _) if d < 1 => {
                return Err(Error::Model(format!("'d' must be at least 1, got {d}")))
            }
            (Some(d), _) if d > MAX_D as i64 => {
                return Err(Error::Model(format!(
                    "'d' = {d} is too large (at most {MAX_D})"
                )))
            }
            (Some(d), Some(dd)) if d as usize != dd => {
                return Err(Error::dimensions("model", d as usize, dd))
            }
            (Some(d), _) => d as usize,
            (None, Some(dd)) => dd,
            (None, None) => 1,
        };
        if k * d > MAX_KD {
            return Err(Error::Model(format!(
                "k · d = {} locations is too many (at most {MAX_KD})",
                k * d
            )));
        }
        let alpha = self
            .weights
            .concentration
            .expand(k, "weights.concentration", "components")?;
        for (i, a) in alpha.iter().enumerate() {
            if !(a.is_finite() && *a > 0.0) {
                return Err(Error::Model(format!(
                    "weights.concentration[{i}] must be positive and finite, got {a}"
                )));
            }
        }
        let loc_mu = self.locs.loc.expand(d, "locs.loc", "dimensions")?;
        let loc_sigma = self.locs.scale.expand(d, "locs.scale", "dimensions")?;
        for (i, m) in loc_mu.iter().enumerate() {
            if !m.is_finite() {
                return Err(Error::Model(format!(
                    "locs.loc[{i}] must be finite, got {m}"
                )));
            }
        }
        for (i, s) in loc_sigma.iter().enumerate() {
            if !(s.is_finite() && *s > 0.0) {
                return Err(Error::Model(format!(
                    "locs.scale[{i}] must be positive and finite, got {s}"
                )));
            }
        }
        let sharing = Sharing::parse(&self.scale.sharing).ok_or_else(|| {
            Error::Model(format!(
                "unknown scale sharing '{}' (known: {})",
                self.scale.sharing,
                Sharing::NAMES
            ))
        })?;
        let scale_prior = self.scale.prior()?;
        let mut spec = self.clone();
        spec.d = Some(d as i64);
        Ok(Model {
            k,
            d,
            alpha,
            loc_mu,
            loc_sigma,
            ordered: self.locs.ordered,
            scale_prior,
            sharing,
            spec,
        })
    }

    /// The quick model of `-k K --scale SHARING`, with priors scaled to the data:
    /// `weights ~ Dirichlet(1)`, `locs[·, d] ~ Normal(mean_d, 10 · sd_d)`,
    /// `scale ~ LogNormal(ln s̄, 2)` where `s̄` is the geometric mean of the per-dimension
    /// standard deviations. These priors are weak (they let the data speak) yet keep the MAP
    /// away from a component collapsing on one point.
    pub fn quick(k: i64, sharing: Sharing, data: &crate::Data) -> ModelSpec {
        let d = data.d();
        let mut means = Vec::with_capacity(d);
        let mut sds = Vec::with_capacity(d);
        for j in 0..d {
            let (m, v) = crate::data::mean_var(data.col(j));
            means.push(m);
            sds.push(if v > 0.0 { v.sqrt() } else { 1.0 });
        }
        let log_sbar = sds.iter().map(|s| s.ln()).sum::<f64>() / d as f64;
        ModelSpec {
            k,
            d: Some(d as i64),
            weights: WeightsSpec {
                concentration: OneOrMany::One(1.0),
            },
            locs: LocsSpec {
                loc: OneOrMany::Many(means),
                scale: OneOrMany::Many(sds.iter().map(|s| 10.0 * s).collect()),
                ordered: false,
            },
            scale: ScaleSpec::from_prior(
                ScalePrior::LogNormal {
                    mu: log_sbar,
                    sigma: 2.0,
                },
                sharing,
            ),
        }
    }
}

/// Numbers of two models this many units in the last place apart are the same number
/// ([`Model::difference`]).
pub const SAME_ULPS: u64 = 4;

/// `a` and `b` equal, or within `SAME_ULPS` units in the last place of each other.
pub fn nearly_equal(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    if !(a.is_finite() && b.is_finite()) || a.is_sign_negative() != b.is_sign_negative() {
        return false;
    }
    a.to_bits().abs_diff(b.to_bits()) <= SAME_ULPS
}

/// A validated model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Number of components K.
    pub k: usize,
    /// Number of dimensions D.
    pub d: usize,
    /// Dirichlet concentration, one per component.
    pub alpha: Vec<f64>,
    /// Prior mean of the locations, one per dimension.
    pub loc_mu: Vec<f64>,
    /// Prior sd of the locations, one per dimension.
    pub loc_sigma: Vec<f64>,
    /// Locations ordered on the first dimension.
    pub ordered: bool,
    /// Prior on every free scale.
    pub scale_prior: ScalePrior,
    /// How scales are shared.
    pub sharing: Sharing,
    spec: ModelSpec,
}

impl ScalePrior {
    /// The prior of `s / c` when `s` has this prior (every prior here is a scale family).
    pub fn scaled(&self, c: f64) -> ScalePrior {
        match *self {
            ScalePrior::LogNormal { mu, sigma } => ScalePrior::LogNormal {
                mu: mu - c.ln(),
                sigma,
            },
            ScalePrior::InverseGamma { alpha, beta } => ScalePrior::InverseGamma {
                alpha,
                beta: beta / c,
            },
            ScalePrior::HalfCauchy { scale } => ScalePrior::HalfCauchy { scale: scale / c },
            ScalePrior::HalfNormal { scale } => ScalePrior::HalfNormal { scale: scale / c },
            ScalePrior::Gamma { alpha, beta } => ScalePrior::Gamma {
                alpha,
                beta: beta * c,
            },
            ScalePrior::Exponential { rate } => ScalePrior::Exponential { rate: rate * c },
        }
    }
}

impl Model {
    /// The same model for the data `(x_d − shift_d) / c`: locations' priors shifted and
    /// scaled, the scales' prior scaled. Its log density differs from this one's by
    /// `(N·D + K·D + number of scales) · ln c` at corresponding points.
    pub fn standardised(&self, shift: &[f64], c: f64) -> Result<Model> {
        let spec = ModelSpec {
            k: self.k as i64,
            d: Some(self.d as i64),
            weights: self.spec.weights.clone(),
            locs: LocsSpec {
                loc: OneOrMany::Many(
                    (0..self.d)
                        .map(|j| (self.loc_mu[j] - shift[j]) / c)
                        .collect(),
                ),
                scale: OneOrMany::Many(self.loc_sigma.iter().map(|s| s / c).collect()),
                ordered: self.ordered,
            },
            scale: ScaleSpec::from_prior(self.scale_prior.scaled(c), self.sharing),
        };
        spec.build(Some(self.d))
    }

    /// What differs between this model and `other`, or `None` when they are the same model.
    /// Numbers within `SAME_ULPS` units in the last place count as equal: a model's numbers
    /// may be derived from data (`-k`), and a derived number must not make a model "another"
    /// by its last bit. Specs that differ only in form (`1.0` against `[1.0, 1.0]`) are the
    /// same model.
    pub fn difference(&self, other: &Model) -> Option<String> {
        if (self.k, self.d) != (other.k, other.d) {
            return Some(format!(
                "K = {}, D = {} against K = {}, D = {}",
                self.k, self.d, other.k, other.d
            ));
        }
        if self.sharing != other.sharing {
            return Some(format!(
                "scale sharing '{}' against '{}'",
                self.sharing.name(),
                other.sharing.name()
            ));
        }
        if self.ordered != other.ordered {
            return Some(format!(
                "ordered = {} against {}",
                self.ordered, other.ordered
            ));
        }
        if self.scale_prior.name() != other.scale_prior.name() {
            return Some(format!(
                "scale prior {} against {}",
                self.scale_prior.name(),
                other.scale_prior.name()
            ));
        }
        let (a, b) = (
            ScaleSpec::from_prior(self.scale_prior, self.sharing),
            ScaleSpec::from_prior(other.scale_prior, other.sharing),
        );
        let lists = [
            ("weights.concentration", &self.alpha, &other.alpha),
            ("locs.loc", &self.loc_mu, &other.loc_mu),
            ("locs.scale", &self.loc_sigma, &other.loc_sigma),
        ];
        for (name, x, y) in lists {
            for (i, (u, v)) in x.iter().zip(y.iter()).enumerate() {
                if !nearly_equal(*u, *v) {
                    return Some(format!("{name}[{i}] = {u:?} against {v:?}"));
                }
            }
        }
        let fields = [
            ("mu", a.mu, b.mu),
            ("sigma", a.sigma, b.sigma),
            ("alpha", a.alpha, b.alpha),
            ("beta", a.beta, b.beta),
            ("scale", a.scale, b.scale),
            ("rate", a.rate, b.rate),
        ];
        for (name, u, v) in fields {
            if let (Some(u), Some(v)) = (u, v) {
                if !nearly_equal(u, v) {
                    return Some(format!("scale.{name} = {u:?} against {v:?}"));
                }
            }
        }
        None
    }

    /// The spec this model was built from, with `d` filled in.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Number of free scales.
    pub fn n_scales(&self) -> usize {
        self.sharing.n_scales(self.k, self.d)
    }

    /// Number of unconstrained parameters: (K − 1) + K·D + number of scales.
    pub fn n_unconstrained(&self) -> usize {
        self.k - 1 + self.k * self.d + self.n_scales()
    }

    /// Number of constrained values: K + K·D + number of scales.
    pub fn n_constrained(&self) -> usize {
        self.k + self.k * self.d + self.n_scales()
    }

    /// Names of the constrained values, flattened: `weights[0]`, `locs[0]` (D = 1) or
    /// `locs[0,1]`, `scale` / `scale[0]` / `scale[0,1]`.
    pub fn constrained_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (0..self.k).map(|i| format!("weights[{i}]")).collect();
        for k in 0..self.k {
            for j in 0..self.d {
                names.push(if self.d == 1 {
                    format!("locs[{k}]")
                } else {
                    format!("locs[{k},{j}]")
                });
            }
        }
        match self.sharing {
            Sharing::Shared => names.push("scale".into()),
            Sharing::Component => names.extend((0..self.k).map(|i| format!("scale[{i}]"))),
            Sharing::Dimension => names.extend((0..self.d).map(|i| format!("scale[{i}]"))),
            Sharing::Diagonal => {
                for k in 0..self.k {
                    for j in 0..self.d {
                        names.push(format!("scale[{k},{j}]"));
                    }
                }
            }
        }
        names
    }

    /// Shape of the locs site: \[K\] for D = 1, \[K, D\] otherwise.
    pub fn locs_shape(&self) -> Vec<usize> {
        if self.d == 1 {
            vec![self.k]
        } else {
            vec![self.k, self.d]
        }
    }

    /// Why the MAP may not exist on some data (`None`: it exists on all data as far as the
    /// scales go; see below for the weights).
    ///
    /// A component whose location sits on a data point and whose scale `s → 0` gives that
    /// point a likelihood growing like `s^−m`, with `m` the number of coordinates that scale
    /// covers (D for a scale per component, 1 for a scale per component and dimension), times
    /// the number of identical points it sits on. The scale's prior density near 0 behaves
    /// like `s^a` ([`ScalePrior::power_at_zero`]). So the log density along that path goes
    /// like `(a − m) ln s`: it grows without bound when `m > a`, tends to a constant at the
    /// edge when `m = a` (its supremum may lie there, unattained), and falls when `m < a`.
    /// - lognormal and inverse gamma vanish faster than any power: the density stays bounded
    ///   and falls to 0 along every such path; the MAP exists.
    /// - half-Cauchy, half-Normal and exponential (`a = 0`) and gamma with shape `α < 1 + m`
    ///   (`a = α − 1 < m`): with a scale per component (or per component and dimension) and
    ///   K ≥ 2, any component can collapse on any point while the others explain the rest,
    ///   so the MAP does not exist on any data (for a gamma, on data with enough coinciding
    ///   points). A scale shared by all components (or per dimension) can only go to 0 if
    ///   every point (every value of that column) sits on a location: data with at most K
    ///   distinct points (values). The same holds for K = 1.
    ///
    /// The posterior itself may still be proper. The MAP engine passes over collapsing
    /// candidates for any proper mode, which it reports as a local one, and reports a search
    /// where every candidate collapsed as an error ([`crate::Error::Unbounded`]). (Separately, a Dirichlet concentration below 1 makes the density
    /// unbounded as a weight → 0; a fit that ends there carries an "empty component"
    /// warning.)
    pub fn map_may_not_exist(&self) -> Option<String> {
        let a = self.scale_prior.power_at_zero()?;
        let prior = self.scale_prior.display();
        // the coordinates one scale covers, and whether one scale serves every component
        let (m, all, what) = match self.sharing {
            Sharing::Shared => (self.d, true, "points"),
            Sharing::Component => (self.d, self.k == 1, "points"),
            Sharing::Dimension => (1, true, "values in a column"),
            Sharing::Diagonal => (1, self.k == 1, "values in a column"),
        };
        let near_zero = ScalePrior::near_zero_text(a);
        let reason = if all {
            format!(
                "the {prior} prior on the {} scale {near_zero}, so on data with at most {} distinct {what} the density is unbounded as the scale → 0 with every component on one of them",
                self.sharing.name(),
                self.k
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

    fn spec(toml_text: &str) -> ModelSpec {
        toml::from_str(toml_text).unwrap()
    }

    const BASE: &str = r#"
k = 2
[weights]
concentration = 0.5
[locs]
loc = 0.0
scale = 10.0
[scale]
prior = "lognormal"
mu = 0.0
sigma = 2.0
"#;

    /// `sample --from-fit` compares the fit's model with the one built from the command line:
    /// a number derived from the data a few ulps off, or a spec of another form, is the same
    /// model; anything else is named.
    #[test]
    fn models_differ_by_more_than_a_few_ulps_or_in_kind() {
        let base = spec(BASE).build(Some(1)).unwrap();
        let with = |text: &str| spec(text).build(Some(1)).unwrap();
        assert_eq!(base.difference(&base.clone()), None);
        // the same numbers written as lists
        let lists = BASE
            .replace("concentration = 0.5", "concentration = [0.5, 0.5]")
            .replace("loc = 0.0", "loc = [0.0]");
        assert_eq!(base.difference(&with(&lists)), None);
        // a derived number one and four ulps off is the same; five ulps is another model
        let m = 200.91520467836258f64;
        let at = |ulps: u64| {
            with(&BASE.replace(
                "loc = 0.0",
                &format!("loc = {:?}", f64::from_bits(m.to_bits() + ulps)),
            ))
        };
        assert_eq!(at(0).difference(&at(1)), None);
        assert_eq!(at(0).difference(&at(4)), None);
        assert_eq!(
            at(0).difference(&at(5)),
            Some("locs.loc[0] = 200.91520467836258 against 200.91520467836273".into())
        );
        let mu = |v: f64| with(&BASE.replace("mu = 0.0", &format!("mu = {v:?}")));
        assert_eq!(mu(-1.0).difference(&mu(-1.0 - 2.0 * f64::EPSILON)), None);
        assert_eq!(
            mu(1e-300).difference(&mu(-1e-300)),
            Some("scale.mu = 1e-300 against -1e-300".into())
        );
        let cases = [
            ("k = 2", "k = 3", "K = 2, D = 1 against K = 3, D = 1"),
            (
                "prior = \"lognormal\"",
                "sharing = \"component\"\nprior = \"lognormal\"",
                "scale sharing 'shared' against 'component'",
            ),
            (
                "scale = 10.0",
                "scale = 10.0\nordered = true",
                "ordered = false against true",
            ),
            (
                "sigma = 2.0",
                "sigma = 2.5",
                "scale.sigma = 2.0 against 2.5",
            ),
            (
                "concentration = 0.5",
                "concentration = [0.5, 0.6]",
                "weights.concentration[1] = 0.5 against 0.6",
            ),
            (
                "prior = \"lognormal\"\nmu = 0.0\nsigma = 2.0",
                "prior = \"half_cauchy\"\nscale = 1.0",
                "scale prior lognormal against half_cauchy",
            ),
        ];
        for (from, to, said) in cases {
            let other = with(&BASE.replace(from, to));
            assert_eq!(base.difference(&other).as_deref(), Some(said), "{to}");
        }
    }

    #[test]
    fn builds_the_tutorial_model() {
        let m = spec(BASE).build(Some(1)).unwrap();
        assert_eq!((m.k, m.d), (2, 1));
        assert_eq!(m.alpha, vec![0.5, 0.5]);
        assert_eq!(m.sharing, Sharing::Shared);
        assert_eq!(
            m.scale_prior,
            ScalePrior::LogNormal {
                mu: 0.0,
                sigma: 2.0
            }
        );
        assert_eq!(m.n_unconstrained(), 1 + 2 + 1);
        assert_eq!(
            m.constrained_names(),
            vec!["weights[0]", "weights[1]", "locs[0]", "locs[1]", "scale"]
        );
    }

    #[test]
    fn rejects_bad_models_with_named_fields() {
        let e = spec(&BASE.replace("k = 2", "k = 0"))
            .build(None)
            .unwrap_err();
        assert_eq!(e.to_string(), "'k' must be at least 1, got 0");
        let e = spec(&BASE.replace("concentration = 0.5", "concentration = -1"))
            .build(None)
            .unwrap_err();
        assert!(e
            .to_string()
            .contains("weights.concentration[0] must be positive"));
        let e = spec(&BASE.replace("scale = 10.0", "scale = 0.0"))
            .build(None)
            .unwrap_err();
        assert!(e.to_string().contains("locs.scale[0] must be positive"));
        let e = spec(&BASE.replace("sigma = 2.0", "sigma = -2.0"))
            .build(None)
            .unwrap_err();
        assert!(e.to_string().contains("'sigma' must be positive"));
        let e = spec(&BASE.replace("\"lognormal\"", "\"weibull\""))
            .build(None)
            .unwrap_err();
        assert!(e.to_string().starts_with("unknown scale prior 'weibull'"));
        let e = spec(&BASE.replace("mu = 0.0\n", ""))
            .build(None)
            .unwrap_err();
        assert!(e.to_string().contains("missing 'mu'"));
        let e = spec(&format!("d = 2\n{BASE}")).build(Some(3)).unwrap_err();
        assert!(e.to_string().starts_with("dimension mismatch"));
        let e = spec(&BASE.replace("k = 2", "k = 9223372036854775807"))
            .build(None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "'k' = 9223372036854775807 is too large (at most 100000)"
        );
        let e = spec(&format!(
            "d = 100000\n{}",
            BASE.replace("k = 2", "k = 100000")
        ))
        .build(None)
        .unwrap_err();
        assert!(e.to_string().contains("too many"), "{e}");
        let e = spec(&BASE.replace("concentration = 0.5", "concentration = [1, 2, 3]"))
            .build(None)
            .unwrap_err();
        assert!(e
            .to_string()
            .contains("has 3 values but the model has 2 components"));
    }

    #[test]
    fn sharing_indices() {
        assert_eq!(Sharing::Diagonal.index(2, 1, 3), 7);
        assert_eq!(Sharing::Dimension.index(2, 1, 3), 1);
        assert_eq!(Sharing::Component.index(2, 1, 3), 2);
        assert_eq!(Sharing::Shared.n_scales(3, 2), 1);
        assert_eq!(Sharing::Diagonal.n_scales(3, 2), 6);
    }

    #[test]
    fn scale_prior_log_densities_match_statrs() {
        use statrs::distribution::{Continuous, Exp, Gamma, InverseGamma, LogNormal, Normal};
        let s = 0.73;
        let cases: Vec<(ScalePrior, f64)> = vec![
            (
                ScalePrior::LogNormal {
                    mu: 0.3,
                    sigma: 0.5,
                },
                LogNormal::new(0.3, 0.5).unwrap().ln_pdf(s),
            ),
            (
                ScalePrior::InverseGamma {
                    alpha: 2.5,
                    beta: 1.5,
                },
                InverseGamma::new(2.5, 1.5).unwrap().ln_pdf(s),
            ),
            (
                ScalePrior::HalfNormal { scale: 2.0 },
                Normal::new(0.0, 2.0).unwrap().ln_pdf(s) + LN_2,
            ),
            (
                ScalePrior::HalfCauchy { scale: 10.0 },
                statrs::distribution::Cauchy::new(0.0, 10.0)
                    .unwrap()
                    .ln_pdf(s)
                    + LN_2,
            ),
            (
                ScalePrior::Gamma {
                    alpha: 3.0,
                    beta: 2.0,
                },
                Gamma::new(3.0, 2.0).unwrap().ln_pdf(s),
            ),
            (
                ScalePrior::Exponential { rate: 1.7 },
                Exp::new(1.7).unwrap().ln_pdf(s),
            ),
        ];
        for (p, want) in cases {
            let (got, _) = p.ln_pdf_dlog(s);
            assert!((got - want).abs() < 1e-12, "{}: {got} vs {want}", p.name());
            // derivative w.r.t. log s by central differences
            let h: f64 = 1e-6;
            let fd = (p.ln_pdf_dlog(s * h.exp()).0 - p.ln_pdf_dlog(s * (-h).exp()).0) / (2.0 * h);
            let (_, d) = p.ln_pdf_dlog(s);
            assert!((d - fd).abs() < 1e-7, "{}: {d} vs {fd}", p.name());
        }
    }
}
