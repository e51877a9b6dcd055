//! Model description: a serialisable [`ModelSpec`] (what a TOML file holds) that validates
//! into a checked [`Model`].
//!
//! The model family:
//! - `weights ~ Dirichlet(α)`, α scalar or one per component;
//! - `locs[k, d] ~ Normal(μ0[d], σ0[d])`, optionally `ordered` (strictly increasing in `k`
//!   on the first dimension, as Stan's `ordered`);
//! - the components' shape, a [`Family`]: today the diagonal family, with a prior on the scale
//!   (standard deviation) itself, shared as [`Sharing`] says;
//! - `x[n, d] | z[n] ~ Normal(locs[z[n], d], scale[z[n], d])`, `z[n] ~ Categorical(weights)`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::family::{CovarianceFamily, Family, ScalePrior, ScaleSpec, Sharing};

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

/// Largest number of components.
pub const MAX_K: usize = 100_000;
/// Largest number of dimensions.
pub const MAX_D: usize = 100_000;
/// The LKJ shape of the quick model's correlations ([`ModelSpec::quick`]).
pub const QUICK_ETA: f64 = 1.0;

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
/// [covariance]     # optional: the default is family = "shared"
/// family = "full"  # shared, component (spherical), dimension, diagonal, full or tied
/// eta = 2.0        # full and tied: LKJ(η) on the correlations (default 1)
/// [scale]          # the prior of every scale (standard deviation)
/// prior = "lognormal"
/// mu = 0.0
/// sigma = 2.0
/// ```
///
/// Full and tied covariances take, instead of `[scale]` and `eta`, the conjugate prior
/// `[covariance] prior = "inverse_wishart"` with `df` (ν) and `scale` (ψ): `Σ ~ IW(ν, ψ² I)`.
/// In memory (and in the records) the family is `scale.sharing`, with `scale.eta` or the
/// inverse Wishart's `scale.df` and `scale.scale`; a model file may say it that way too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "ModelFile")]
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

/// The `[covariance]` table of a model file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct CovarianceTable {
    family: String,
    #[serde(default)]
    eta: Option<f64>,
    #[serde(default)]
    prior: Option<String>,
    #[serde(default)]
    df: Option<f64>,
    #[serde(default)]
    scale: Option<f64>,
}

/// A model file as written: [`ModelSpec`]'s fields, `[scale]` optional, and `[covariance]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    k: i64,
    #[serde(default)]
    d: Option<i64>,
    weights: WeightsSpec,
    locs: LocsSpec,
    #[serde(default)]
    scale: Option<ScaleSpec>,
    #[serde(default)]
    covariance: Option<CovarianceTable>,
}

impl TryFrom<ModelFile> for ModelSpec {
    type Error = String;

    fn try_from(f: ModelFile) -> std::result::Result<ModelSpec, String> {
        let scale = match f.covariance {
            None => f
                .scale
                .ok_or("missing table [scale] (the prior of the scales)")?,
            Some(c) => covariance_table(c, f.scale)?,
        };
        Ok(ModelSpec {
            k: f.k,
            d: f.d,
            weights: f.weights,
            locs: f.locs,
            scale,
        })
    }
}

/// The `[scale]` table that a `[covariance]` table and the file's `[scale]` (if any) say.
fn covariance_table(
    c: CovarianceTable,
    scale: Option<ScaleSpec>,
) -> std::result::Result<ScaleSpec, String> {
    let family = CovarianceFamily::parse(&c.family).ok_or_else(|| {
        format!(
            "unknown covariance family '{}' (known: {})",
            c.family,
            CovarianceFamily::NAMES
        )
    })?;
    if let Some(s) = scale.as_ref().and_then(|s| s.sharing.as_deref()) {
        if CovarianceFamily::parse(s) != Some(family) {
            return Err(format!(
                "[scale] sharing = '{s}' and [covariance] family = '{}' disagree: give the family in [covariance] only",
                c.family
            ));
        }
    }
    if let Some(s) = scale.as_ref() {
        if let Some((name, _)) = [("eta", s.eta), ("df", s.df)]
            .into_iter()
            .find(|(_, v)| v.is_some())
        {
            return Err(format!(
                "with a [covariance] table, '{name}' goes in [covariance], not in [scale]"
            ));
        }
    }
    let prior = c
        .prior
        .as_deref()
        .map(|p| p.to_ascii_lowercase().replace(['-', ' '], "_"));
    if family.sharing().is_some() {
        let given = [
            ("eta", c.eta.is_some()),
            ("prior", c.prior.is_some()),
            ("df", c.df.is_some()),
            ("scale", c.scale.is_some()),
        ];
        if let Some((name, _)) = given.iter().find(|(_, g)| *g) {
            return Err(format!(
                "covariance.{name} applies to family full or tied, not '{}'",
                family.name()
            ));
        }
        let mut s = scale.ok_or_else(|| {
            format!(
                "covariance family '{}' needs a [scale] table (the prior of the scales)",
                family.name()
            )
        })?;
        s.sharing = Some(family.name().to_string());
        return Ok(s);
    }
    match prior.as_deref() {
        Some("inverse_wishart" | "inversewishart") => {
            if scale.is_some() {
                return Err("[covariance] prior inverse_wishart is the whole covariance's prior: remove the [scale] table".into());
            }
            if c.eta.is_some() {
                return Err("covariance.eta is the LKJ prior's: inverse_wishart takes 'df' and 'scale'".into());
            }
            let (Some(df), Some(psi)) = (c.df, c.scale) else {
                let f = if c.df.is_none() { "df" } else { "scale" };
                return Err(format!(
                    "covariance prior inverse_wishart needs 'df' and 'scale' (missing '{f}')"
                ));
            };
            Ok(ScaleSpec::from_cov_prior(
                crate::CovPrior::InverseWishart { df, scale: psi },
                family.name(),
            ))
        }
        None | Some("lkj") => {
            if let Some((name, _)) = [("df", c.df), ("scale", c.scale)]
                .into_iter()
                .find(|(_, v)| v.is_some())
            {
                return Err(format!(
                    "covariance.{name} is the inverse Wishart's: give prior = \"inverse_wishart\" too, or leave it out"
                ));
            }
            let mut s = scale.ok_or_else(|| {
                format!(
                    "covariance family '{}' needs a [scale] table (the prior of each dimension's scale) or prior = \"inverse_wishart\"",
                    family.name()
                )
            })?;
            s.sharing = Some(family.name().to_string());
            s.eta = Some(c.eta.unwrap_or(1.0));
            Ok(s)
        }
        Some(_) => Err(format!(
            "unknown covariance prior '{}' (known: lkj, the default, with a [scale] table; inverse_wishart)",
            c.prior.unwrap_or_default()
        )),
    }
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
        let family = Family::from_spec(&self.scale, d)?;
        let mut spec = self.clone();
        spec.d = Some(d as i64);
        Ok(Model {
            k,
            d,
            alpha,
            loc_mu,
            loc_sigma,
            ordered: self.locs.ordered,
            family,
            spec,
        })
    }

    /// The quick model of `-k K --covariance FAMILY`, with priors scaled to the data:
    /// `weights ~ Dirichlet(1)`, `locs[·, d] ~ Normal(mean_d, 10 · sd_d)`,
    /// `scale ~ LogNormal(ln s̄, 2)` where `s̄` is the geometric mean of the per-dimension
    /// standard deviations, and for full and tied covariances the correlations `~ LKJ(1)`
    /// (uniform, the model files' default). These priors are weak (they let the data speak)
    /// yet keep the MAP away from a component collapsing on one point (not a cluster lying
    /// exactly on a line: no prior on the correlations stops that but the inverse Wishart).
    pub fn quick(k: i64, family: impl Into<CovarianceFamily>, data: &crate::Data) -> ModelSpec {
        ModelSpec::quick_from(k, family, &data.column_mean_sd())
    }

    /// [`ModelSpec::quick`] from each column's mean and (population) standard deviation of
    /// its observed values (for data summarised elsewhere: [`crate::DataSummary`]).
    pub fn quick_from(
        k: i64,
        family: impl Into<CovarianceFamily>,
        mean_sd: &[(f64, f64)],
    ) -> ModelSpec {
        let family = family.into();
        let d = mean_sd.len();
        // at any scale: data in femtometres or light years get priors in their own units
        let (means, sds): (Vec<f64>, Vec<f64>) = mean_sd
            .iter()
            .copied()
            .map(|(m, sd)| (m, if sd > 0.0 { sd } else { 1.0 }))
            .unzip();
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
            scale: {
                let prior = ScalePrior::LogNormal {
                    mu: log_sbar,
                    sigma: 2.0,
                };
                match family.sharing() {
                    Some(sharing) => ScaleSpec::from_prior(prior, sharing),
                    None => ScaleSpec::from_cov_prior(
                        crate::CovPrior::Lkj {
                            scale: prior,
                            eta: QUICK_ETA,
                        },
                        family.name(),
                    ),
                }
            },
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
    /// The components' family (its parameters, prior and layout).
    pub family: Family,
    spec: ModelSpec,
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
            scale: self.family.scaled(c).spec(),
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
        let family = self.family.difference(&other.family, nearly_equal);
        if let Some(why) = family.kind {
            return Some(why);
        }
        if self.ordered != other.ordered {
            return Some(format!(
                "ordered = {} against {}",
                self.ordered, other.ordered
            ));
        }
        if let Some(why) = family.prior {
            return Some(why);
        }
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
        family.numbers
    }

    /// The spec this model was built from, with `d` filled in.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Number of the family's values (the length of `Params::scales`).
    pub fn n_scales(&self) -> usize {
        self.family.n_values(self.k, self.d)
    }

    /// Number of unconstrained parameters: (K − 1) + K·D + the family's block.
    pub fn n_unconstrained(&self) -> usize {
        self.k - 1 + self.k * self.d + self.family.n_free(self.k, self.d)
    }

    /// Number of free parameters of the model, as an information criterion counts them:
    /// K − 1 weights, K·D locations and the family's free values (for the diagonal family,
    /// the scales as the sharing has them: 1, K, D or K·D). The dimension of the
    /// unconstrained space, [`Model::n_unconstrained`].
    pub fn n_params(&self) -> usize {
        self.n_unconstrained()
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
        self.family.names(self.k, self.d, &mut names);
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
        self.family.map_may_not_exist(self.k, self.d)
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
        assert_eq!(
            m.family,
            Family::Diagonal(crate::family::Diagonal {
                sharing: Sharing::Shared,
                prior: ScalePrior::LogNormal {
                    mu: 0.0,
                    sigma: 2.0
                }
            })
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
}
