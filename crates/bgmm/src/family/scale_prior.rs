//! Priors on a scale (a standard deviation) `s > 0`: the diagonal family's prior on each free
//! scale (and, with the covariance families, on each dimension's scale).

use crate::error::{Error, Result};

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

/// ln 2π.
pub(crate) const LN_2PI: f64 = 1.837_877_066_409_345_3;
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

    pub(super) fn validate(&self) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
