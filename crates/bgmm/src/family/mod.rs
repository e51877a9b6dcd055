//! Component families: the shape of each component's Normal density and everything that
//! depends on it, behind one enum whose methods dispatch statically (a `match`, so the
//! kernel's loops stay monomorphic and vectorised).
//!
//! A family owns
//! - its parameters: the component-shape values of [`crate::Params`] (`scales`, one flat
//!   vector: the family says how many, their names and their shape);
//! - its block of the unconstrained space (the last one, after the weights and locations):
//!   its size, pack, unpack with the log-Jacobian, and the pull-back of a gradient;
//! - its prior (log density and gradient in natural coordinates);
//! - the kernel's per-component constants and the map from the likelihood's statistics to
//!   its gradient;
//! - simulation (draws from its prior), initialisation (from the data's spread or from a
//!   partition), split and merge moves, and collapse diagnosis (which free value serves which
//!   components and dimensions, the floor the MAP search keeps it above);
//! - its part of the model's TOML ([`ScaleSpec`], the `[scale]` table).
//!
//! The families: [`Diagonal`] (axis-aligned scales shared as [`Sharing`] says), and the
//! covariance families [`Family::Full`] (each component its own covariance) and
//! [`Family::Tied`] (one covariance shared by every component), see [`Covariance`].

mod covariance;
mod diagonal;
mod scale_prior;

#[cfg(test)]
pub(crate) use covariance::block_of_covariance;
pub use covariance::{CovPrior, CovSharing, Covariance};
pub use diagonal::{Diagonal, ScaleSpec, Sharing};
pub use scale_prior::ScalePrior;
pub(crate) use scale_prior::LN_2PI;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A component family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Family {
    /// Axis-aligned scales, shared as [`Sharing`] says.
    Diagonal(Diagonal),
    /// Each component its own covariance, with this prior on each.
    Full(CovPrior),
    /// One covariance shared by every component (mclust EEE), with this prior.
    Tied(CovPrior),
}

/// A family by its implementation.
enum Kind<'a> {
    Diag(&'a Diagonal),
    Cov(Covariance),
}

/// How two families differ, in the order [`crate::Model::difference`] reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FamilyDifference {
    /// Another family or another sharing.
    pub kind: Option<String>,
    /// Another kind of prior.
    pub prior: Option<String>,
    /// Another number of the prior (beyond a few units in the last place).
    pub numbers: Option<String>,
}

/// The component families a user chooses between (`[covariance] family` in a model file,
/// `--covariance` on the command line): the four sharings of axis-aligned scales, and full
/// covariances per component or tied (one shared by all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CovarianceFamily {
    /// One scale for every component and dimension (mclust EII).
    Shared,
    /// One scale per component, the same in every dimension (spherical, mclust VII).
    Component,
    /// One scale per dimension, shared by the components (mclust EEI).
    Dimension,
    /// One scale per component and dimension (diagonal covariances, mclust VVI).
    Diagonal,
    /// A full covariance per component (mclust VVV).
    Full,
    /// One full covariance shared by every component (mclust EEE).
    Tied,
}

impl CovarianceFamily {
    /// All names, for error messages and help.
    pub const NAMES: &'static str =
        "shared, component (or spherical), dimension, diagonal, full, tied";

    /// Parse a name (with the aliases `spherical` for `component`, `global` for `shared`,
    /// `both` for `diagonal`).
    pub fn parse(s: &str) -> Option<CovarianceFamily> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "full" => CovarianceFamily::Full,
            "tied" => CovarianceFamily::Tied,
            "spherical" => CovarianceFamily::Component,
            other => match Sharing::parse(other)? {
                Sharing::Shared => CovarianceFamily::Shared,
                Sharing::Component => CovarianceFamily::Component,
                Sharing::Dimension => CovarianceFamily::Dimension,
                Sharing::Diagonal => CovarianceFamily::Diagonal,
            },
        })
    }

    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            CovarianceFamily::Full => "full",
            CovarianceFamily::Tied => "tied",
            CovarianceFamily::Shared => Sharing::Shared.name(),
            CovarianceFamily::Component => Sharing::Component.name(),
            CovarianceFamily::Dimension => Sharing::Dimension.name(),
            CovarianceFamily::Diagonal => Sharing::Diagonal.name(),
        }
    }

    /// mclust's name of the same covariance structure (EII, VII, EEI, VVI, VVV, EEE).
    pub fn mclust(self) -> &'static str {
        match self {
            CovarianceFamily::Shared => "EII",
            CovarianceFamily::Component => "VII",
            CovarianceFamily::Dimension => "EEI",
            CovarianceFamily::Diagonal => "VVI",
            CovarianceFamily::Full => "VVV",
            CovarianceFamily::Tied => "EEE",
        }
    }

    /// The sharing of an axis-aligned family; `None` for full and tied.
    pub fn sharing(self) -> Option<Sharing> {
        match self {
            CovarianceFamily::Shared => Some(Sharing::Shared),
            CovarianceFamily::Component => Some(Sharing::Component),
            CovarianceFamily::Dimension => Some(Sharing::Dimension),
            CovarianceFamily::Diagonal => Some(Sharing::Diagonal),
            CovarianceFamily::Full | CovarianceFamily::Tied => None,
        }
    }
}

impl From<Sharing> for CovarianceFamily {
    fn from(s: Sharing) -> CovarianceFamily {
        match s {
            Sharing::Shared => CovarianceFamily::Shared,
            Sharing::Component => CovarianceFamily::Component,
            Sharing::Dimension => CovarianceFamily::Dimension,
            Sharing::Diagonal => CovarianceFamily::Diagonal,
        }
    }
}

impl Family {
    #[inline]
    fn kind(&self) -> Kind<'_> {
        match self {
            Family::Diagonal(f) => Kind::Diag(f),
            Family::Full(prior) => Kind::Cov(Covariance {
                sharing: CovSharing::Full,
                prior: *prior,
            }),
            Family::Tied(prior) => Kind::Cov(Covariance {
                sharing: CovSharing::Tied,
                prior: *prior,
            }),
        }
    }

    /// Whether the family has full covariances (the kernel's cross moments are needed).
    #[inline]
    pub fn is_covariance(&self) -> bool {
        matches!(self, Family::Full(_) | Family::Tied(_))
    }

    /// The family of a model's `[scale]` table in D dimensions: `sharing = "full"` or
    /// `"tied"` gives a covariance family (the scale prior times LKJ(`eta`, default 1), or
    /// `prior = "inverse_wishart"` with `df` and `scale`), any other sharing the diagonal one.
    pub fn from_spec(spec: &ScaleSpec, d: usize) -> Result<Family> {
        let sharing = match spec.sharing.as_deref().unwrap_or("shared") {
            "full" => CovSharing::Full,
            "tied" => CovSharing::Tied,
            _ => {
                if let Some(name) = [("eta", spec.eta), ("df", spec.df)]
                    .iter()
                    .find_map(|(n, v)| v.map(|_| n))
                {
                    return Err(Error::Model(format!(
                        "scale.{name} applies to sharing \"full\" or \"tied\" only"
                    )));
                }
                return Diagonal::from_spec(spec).map(Family::Diagonal);
            }
        };
        let prior = spec.cov_prior()?;
        prior.validate(d)?;
        Ok(match sharing {
            CovSharing::Full => Family::Full(prior),
            CovSharing::Tied => Family::Tied(prior),
        })
    }

    /// Its `[scale]` table.
    pub fn spec(&self) -> ScaleSpec {
        match self.kind() {
            Kind::Diag(f) => f.spec(),
            Kind::Cov(f) => ScaleSpec::from_cov_prior(f.prior, f.sharing.name()),
        }
    }

    /// Which of the user's choices it is.
    pub fn choice(&self) -> CovarianceFamily {
        match self {
            Family::Diagonal(f) => f.sharing.into(),
            Family::Full(_) => CovarianceFamily::Full,
            Family::Tied(_) => CovarianceFamily::Tied,
        }
    }

    /// The name shown to the user (for the diagonal family, its sharing).
    pub fn name(&self) -> &'static str {
        match self.kind() {
            Kind::Diag(f) => f.sharing.name(),
            Kind::Cov(f) => f.sharing.name(),
        }
    }

    /// The prior on each scale, for a family that has one.
    pub fn scale_prior(&self) -> Option<&ScalePrior> {
        match self {
            Family::Diagonal(f) => Some(&f.prior),
            Family::Full(CovPrior::Lkj { scale, .. })
            | Family::Tied(CovPrior::Lkj { scale, .. }) => Some(scale),
            Family::Full(_) | Family::Tied(_) => None,
        }
    }

    /// Number of values (the length of `Params::scales`) for K components in D dimensions.
    #[inline]
    pub fn n_values(&self, k: usize, d: usize) -> usize {
        match self.kind() {
            Kind::Diag(f) => f.n_scales(k, d),
            Kind::Cov(f) => f.n_values(k, d),
        }
    }

    /// Number of values in the data's units (standard deviations; not correlations): the
    /// values [`Family::scaled_values`] multiplies.
    pub fn n_dimensional(&self, k: usize, d: usize) -> usize {
        match self.kind() {
            Kind::Diag(f) => f.n_scales(k, d),
            Kind::Cov(f) => f.sharing.n_blocks(k) * d,
        }
    }

    /// Number of unconstrained coordinates of the family's block.
    #[inline]
    pub fn n_free(&self, k: usize, d: usize) -> usize {
        self.n_values(k, d)
    }

    /// Names of the values, appended to `names`.
    pub fn names(&self, k: usize, d: usize, names: &mut Vec<String>) {
        match self.kind() {
            Kind::Diag(f) => f.names(k, d, names),
            Kind::Cov(f) => f.names(k, d, names),
        }
    }

    /// Shape of the values as reported: `[]`, `[K]`, `[D]` or `[K, D]`; for the covariance
    /// families `[K, D + D(D − 1)/2]` (`full`) or `[D + D(D − 1)/2]` (`tied`).
    pub fn shape(&self, k: usize, d: usize) -> Vec<usize> {
        match self {
            Family::Diagonal(f) => f.sharing.shape(k, d),
            Family::Full(_) => vec![k, covariance::block_len(d)],
            Family::Tied(_) => vec![covariance::block_len(d)],
        }
    }

    /// The standard deviation of component `c` in dimension `j`.
    #[inline]
    pub fn scale(&self, values: &[f64], c: usize, j: usize, d: usize) -> f64 {
        match self.kind() {
            Kind::Diag(f) => f.scale(values, c, j, d),
            Kind::Cov(f) => f.block(values, c, d)[j],
        }
    }

    /// For the covariance families, component `c`'s covariance factor `C = S L` (row-major
    /// D×D, lower: `Σ_c = C Cᵀ`); `None` for the diagonal family.
    pub fn cov_factor(&self, values: &[f64], c: usize, d: usize) -> Option<Vec<f64>> {
        match self.kind() {
            Kind::Diag(_) => None,
            Kind::Cov(f) => Some(covariance::cov_factor(f.block(values, c, d), d)),
        }
    }

    /// For the covariance families, component `c`'s covariance `Σ_c` (row-major D×D);
    /// `None` for the diagonal family.
    pub fn covariance(&self, values: &[f64], c: usize, d: usize) -> Option<Vec<f64>> {
        let cf = self.cov_factor(values, c, d)?;
        let mut sigma = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..=i {
                let v: f64 = (0..=j).map(|l| cf[i * d + l] * cf[j * d + l]).sum();
                sigma[i * d + j] = v;
                sigma[j * d + i] = v;
            }
        }
        Some(sigma)
    }

    /// For the covariance families, component `c`'s correlation matrix (row-major D×D);
    /// `None` for the diagonal family.
    pub fn correlation(&self, values: &[f64], c: usize, d: usize) -> Option<Vec<f64>> {
        let mut r = self.covariance(values, c, d)?;
        let sd: Vec<f64> = (0..d).map(|i| r[i * d + i].sqrt()).collect();
        for i in 0..d {
            for j in 0..d {
                r[i * d + j] = if i == j {
                    1.0
                } else {
                    r[i * d + j] / (sd[i] * sd[j])
                };
            }
        }
        Some(r)
    }

    /// The number of distinct covariances of K components (the tied family's one).
    pub fn n_blocks(&self, k: usize) -> usize {
        match self.kind() {
            Kind::Diag(_) => k,
            Kind::Cov(f) => f.sharing.n_blocks(k),
        }
    }

    /// Check values against their support.
    pub fn check(&self, values: &[f64], d: usize) -> Result<()> {
        match self.kind() {
            Kind::Diag(_) => {
                if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
                    return Err(Error::Params(format!(
                        "scales must be positive and finite, got {v}"
                    )));
                }
                Ok(())
            }
            Kind::Cov(f) => f.check(values, d),
        }
    }

    /// The values with components reordered: component `i` of the result is component
    /// `perm[i]` of `values`.
    pub fn permuted(&self, values: &[f64], perm: &[usize], d: usize) -> Vec<f64> {
        match self.kind() {
            Kind::Diag(f) => f.permuted(values, perm, d),
            Kind::Cov(f) => f.permuted(values, perm, d),
        }
    }

    /// The family for the data divided by `c` (every prior here is a scale family).
    pub fn scaled(&self, c: f64) -> Family {
        match *self {
            Family::Diagonal(f) => Family::Diagonal(Diagonal {
                prior: f.prior.scaled(c),
                ..f
            }),
            Family::Full(p) => Family::Full(p.scaled(c)),
            Family::Tied(p) => Family::Tied(p.scaled(c)),
        }
    }

    /// The values for the data multiplied by `c`.
    pub fn scaled_values(&self, values: &[f64], d: usize, c: f64) -> Vec<f64> {
        match self.kind() {
            Kind::Diag(_) => values.iter().map(|s| s * c).collect(),
            Kind::Cov(f) => f.scaled_values(values, d, c),
        }
    }

    /// How this family differs from `other`, numbers compared by `same`.
    pub fn difference(&self, other: &Family, same: fn(f64, f64) -> bool) -> FamilyDifference {
        let mut diff = FamilyDifference::default();
        if self.name() != other.name() {
            diff.kind = Some(format!(
                "scale sharing '{}' against '{}'",
                self.name(),
                other.name()
            ));
        }
        let (a, b) = (self.spec(), other.spec());
        if a.prior != b.prior {
            diff.prior = Some(format!("scale prior {} against {}", a.prior, b.prior));
        }
        let fields = [
            ("mu", a.mu, b.mu),
            ("sigma", a.sigma, b.sigma),
            ("alpha", a.alpha, b.alpha),
            ("beta", a.beta, b.beta),
            ("scale", a.scale, b.scale),
            ("rate", a.rate, b.rate),
            ("eta", a.eta, b.eta),
            ("df", a.df, b.df),
        ];
        for (name, u, v) in fields {
            if let (Some(u), Some(v)) = (u, v) {
                if !same(u, v) {
                    diff.numbers = Some(format!("scale.{name} = {u:?} against {v:?}"));
                    break;
                }
            }
        }
        diff
    }

    // --- the unconstrained block -------------------------------------------------------------

    /// The unconstrained coordinates of `values`, appended to `x`.
    pub fn pack(&self, values: &[f64], d: usize, x: &mut Vec<f64>) {
        match self.kind() {
            Kind::Diag(f) => f.pack(values, x),
            Kind::Cov(f) => f.pack(values, d, x),
        }
    }

    /// The values at the block's coordinates `xs`, and the log-Jacobian of the map.
    pub fn unpack(&self, xs: &[f64], d: usize) -> (Vec<f64>, f64) {
        match self.kind() {
            Kind::Diag(f) => f.unpack(xs),
            Kind::Cov(f) => f.unpack(xs, d),
        }
    }

    /// Pull the natural gradient `g` of the block back to its coordinates `xs` (into `out`),
    /// adding the gradient of the log-Jacobian when `jacobian` is set.
    pub fn pull_back(&self, xs: &[f64], g: &[f64], jacobian: bool, d: usize, out: &mut [f64]) {
        match self.kind() {
            Kind::Diag(f) => f.pull_back(g, jacobian, out),
            Kind::Cov(f) => f.pull_back(xs, g, jacobian, d, out),
        }
    }

    /// Whether values unpacked from a finite point can be evaluated (outside, the log
    /// density is −∞: the point is beyond what f64 holds).
    pub fn representable(&self, values: &[f64], d: usize) -> bool {
        match self.kind() {
            Kind::Diag(f) => f.representable(values),
            Kind::Cov(f) => f.representable(values, d),
        }
    }

    /// Lower bounds on the block's coordinates that keep free value `i` at least
    /// `floors[i]` (−∞ for a floor of 0; the correlation coordinates of the covariance
    /// families have none).
    pub fn coordinate_floors(&self, floors: &[f64]) -> Vec<f64> {
        floors
            .iter()
            .map(|&t| if t > 0.0 { t.ln() } else { f64::NEG_INFINITY })
            .collect()
    }

    /// The block's coordinates for the data multiplied by `c`, as an affine map of each
    /// coordinate: `(a_i, b_i)` with `x_i = a_i + b_i · y_i`, `y` the block's coordinates of
    /// [`Family::scaled`]`(c)` (the values for the data divided by `c`). For a scale,
    /// `log s = log s' + ln c`: a shift by `ln c`; a correlation coordinate is unchanged.
    pub fn scaled_coordinates(&self, k: usize, d: usize, c: f64) -> Vec<(f64, f64)> {
        match self.kind() {
            Kind::Diag(f) => vec![(c.ln(), 1.0); f.n_scales(k, d)],
            Kind::Cov(f) => {
                let m = covariance::block_len(d);
                (0..f.n_values(k, d))
                    .map(|i| if i % m < d { (c.ln(), 1.0) } else { (0.0, 1.0) })
                    .collect()
            }
        }
    }

    // --- the prior ---------------------------------------------------------------------------

    /// Adds the family's log prior at `values` to `lp`, and its natural gradient into `grad`.
    #[inline]
    pub fn add_log_prior(&self, values: &[f64], d: usize, lp: &mut f64, grad: Option<&mut [f64]>) {
        match self.kind() {
            Kind::Diag(f) => f.add_log_prior(values, lp, grad),
            Kind::Cov(f) => f.add_log_prior(values, d, lp, grad),
        }
    }

    // --- the kernel --------------------------------------------------------------------------

    /// The kernel's per-component constants at `values`: `inv_s` (K·D) for the diagonal
    /// family, `chol` (K·D·D, see `kernel::Consts`) for the covariance families, and
    /// `log_norm` (K: `log w_c` plus the component's log normalising constant).
    #[inline]
    pub fn kernel_consts(
        &self,
        d: usize,
        logw: &[f64],
        values: &[f64],
        inv_s: &mut [f64],
        chol: &mut [f64],
        log_norm: &mut [f64],
    ) {
        match self.kind() {
            Kind::Diag(f) => f.kernel_consts(d, logw, values, inv_s, log_norm),
            Kind::Cov(f) => f.kernel_consts(d, logw, values, chol, log_norm),
        }
    }

    /// The log likelihood's natural gradient with respect to the locations and the family's
    /// block, from the sufficient statistics (`r_sum` K, `r_dev`, `r_dev_sq` and `r_miss` K·D
    /// (`r_miss` empty for no missing values), and for the covariance families `r_cross` K·D·D,
    /// see [`crate::SufficientStats`]) computed at `values`, added into `g_locs` and `g_block`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn add_stats_grad(
        &self,
        d: usize,
        values: &[f64],
        r_sum: &[f64],
        r_dev: &[f64],
        r_dev_sq: &[f64],
        r_cross: &[f64],
        r_miss: &[f64],
        g_locs: &mut [f64],
        g_block: &mut [f64],
    ) {
        match self.kind() {
            Kind::Diag(f) => {
                f.add_stats_grad(d, values, r_sum, r_dev, r_dev_sq, r_miss, g_locs, g_block)
            }
            // incomplete points' conditional moments are in r_dev and r_cross already
            Kind::Cov(f) => f.add_stats_grad(d, values, r_sum, r_dev, r_cross, g_locs, g_block),
        }
    }

    /// The Gaussian part of the EM surrogate of the log likelihood (the expected complete-data
    /// log likelihood) at `values`, from statistics taken about the locations it is evaluated
    /// at (see [`crate::stats`]'s recentring); [`Family::add_stats_grad`] is its gradient.
    pub fn complete_loglik(
        &self,
        d: usize,
        values: &[f64],
        r_sum: &[f64],
        r_dev_sq: &[f64],
        r_cross: &[f64],
        r_miss: &[f64],
    ) -> f64 {
        match self.kind() {
            Kind::Diag(f) => f.complete_loglik(d, values, r_sum, r_dev_sq, r_miss),
            Kind::Cov(f) => f.complete_loglik(d, values, r_sum, r_cross),
        }
    }

    // --- simulation, initialisation, moves ---------------------------------------------------

    /// A draw of the values from the prior.
    pub fn draw<R: rand::Rng + ?Sized>(&self, k: usize, d: usize, rng: &mut R) -> Vec<f64> {
        match self.kind() {
            Kind::Diag(f) => f.draw(k, d, rng),
            Kind::Cov(f) => f.draw(k, d, rng),
        }
    }

    /// The prior of the values as a site's distribution, e.g. `LogNormal(0, 2)`.
    pub fn site_dist(&self) -> String {
        match self.kind() {
            Kind::Diag(f) => f.prior.display(),
            Kind::Cov(f) => f.prior.display(),
        }
    }

    /// The plates of the values' site.
    pub fn plates(&self) -> &'static [&'static str] {
        match self {
            Family::Diagonal(f) => f.plates(),
            Family::Full(_) => &["components"],
            Family::Tied(_) => &[],
        }
    }

    /// The observation's scale as Pyro code writes it.
    pub fn obs_scale(&self) -> &'static str {
        match self {
            Family::Diagonal(f) => f.obs_scale(),
            Family::Full(_) => "scale_tril[assignment]",
            Family::Tied(_) => "scale_tril",
        }
    }

    /// Initial values from the data's spread per dimension (uncorrelated, for the covariance
    /// families).
    pub fn initial(&self, k: usize, per_dim: &[f64]) -> Vec<f64> {
        match self.kind() {
            Kind::Diag(f) => f.initial(k, per_dim),
            Kind::Cov(f) => {
                let d = per_dim.len();
                let mut block = per_dim.to_vec();
                block.resize(covariance::block_len(d), 0.0);
                block.repeat(f.sharing.n_blocks(k))
            }
        }
    }

    /// Values from a partition into clusters (see [`Diagonal::from_clusters`]; the covariance
    /// families take each dimension's scale as the diagonal family with one scale per
    /// component and dimension, or per dimension when tied, and the clusters' correlations
    /// from `cross`, each cluster's D×D within-cluster cross products (row-major; pooled when
    /// tied), shrunk towards none by `n/(n + D + 1)` so that a small cluster starts well
    /// conditioned; a cluster of at most D points starts uncorrelated).
    pub fn from_clusters(
        &self,
        counts: &[usize],
        ss: &[Vec<f64>],
        cross: &[Vec<f64>],
        floor: &[f64],
        fallback: &[f64],
    ) -> Vec<f64> {
        match self.kind() {
            Kind::Diag(f) => f.from_clusters(counts, ss, floor, fallback),
            Kind::Cov(f) => {
                let k = counts.len();
                let d = floor.len();
                let sharing = match f.sharing {
                    CovSharing::Full => Sharing::Diagonal,
                    CovSharing::Tied => Sharing::Dimension,
                };
                let diag = Diagonal {
                    sharing,
                    prior: ScalePrior::Exponential { rate: 1.0 },
                };
                let fallback: Vec<f64> = (0..k)
                    .flat_map(|c| (0..d).map(move |j| (c, j)))
                    .map(|(c, j)| fallback[self.fallback_index(c, j, d)])
                    .collect();
                let scales = diag.from_clusters(counts, ss, floor, &fallback);
                // the cross products and counts each block's correlation comes from
                let pooled: Vec<f64>;
                let blocks: Vec<(usize, &[f64])> = match f.sharing {
                    CovSharing::Full => counts
                        .iter()
                        .copied()
                        .zip(cross.iter().map(Vec::as_slice))
                        .collect(),
                    CovSharing::Tied => {
                        pooled = (0..d * d)
                            .map(|i| cross.iter().map(|c| c[i]).sum())
                            .collect();
                        vec![(counts.iter().sum(), &pooled[..])]
                    }
                };
                scales
                    .chunks(d)
                    .zip(&blocks)
                    .flat_map(|(s, (n, m))| {
                        let mut b = s.to_vec();
                        b.extend(covariance::correlation_block(m, *n, d));
                        b
                    })
                    .collect()
            }
        }
    }

    /// Index of the scale of component `c` in dimension `j` among the family's values.
    fn fallback_index(&self, c: usize, j: usize, d: usize) -> usize {
        match self.kind() {
            Kind::Diag(f) => f.sharing.index(c, j, d),
            Kind::Cov(f) => f.sharing.block(c) * covariance::block_len(d) + j,
        }
    }

    /// Values for components of given per-dimension variances, where only the components
    /// `new` flags are new (see [`Diagonal::from_variances`]). `tied` keeps its covariance;
    /// with full covariances a component not new keeps its block of `values` (its scales and
    /// its correlations), a new one takes its covariance from `covs` (row-major D×D) where it
    /// has one, else starts uncorrelated with those variances.
    pub fn from_variances(
        &self,
        values: &[f64],
        vars: &[&[f64]],
        covs: &[Option<&[f64]>],
        new: &[bool],
    ) -> Vec<f64> {
        match self.kind() {
            Kind::Diag(f) => f.from_variances(values, vars),
            Kind::Cov(f) => match f.sharing {
                CovSharing::Tied => values.to_vec(),
                CovSharing::Full => {
                    let m = values.len() / vars.len().max(1);
                    vars.iter()
                        .enumerate()
                        .flat_map(|(c, v)| match (new[c], covs[c]) {
                            (false, _) => values[c * m..(c + 1) * m].to_vec(),
                            (true, Some(sigma)) => covariance::block_of_covariance(sigma, v.len()),
                            (true, None) => {
                                let mut b: Vec<f64> = v.iter().map(|v| v.sqrt()).collect();
                                b.resize(m, 0.0);
                                b
                            }
                        })
                        .collect()
                }
            },
        }
    }

    // --- collapse ----------------------------------------------------------------------------

    /// The components and dimensions that free value `i` serves (none for a correlation
    /// coordinate of the covariance families).
    pub fn scale_users(&self, i: usize, k: usize, d: usize) -> (Vec<usize>, Vec<usize>) {
        match self.kind() {
            Kind::Diag(f) => f.scale_users(i, k, d),
            Kind::Cov(f) => {
                let m = covariance::block_len(d);
                if i % m >= d {
                    return (vec![], vec![]);
                }
                let comps = match f.sharing {
                    CovSharing::Full => vec![i / m],
                    CovSharing::Tied => (0..k).collect(),
                };
                (comps, vec![i % m])
            }
        }
    }

    /// A remedy for a collapse by sharing what the family lets components share, if any.
    pub fn sharing_remedy(&self) -> Option<&'static str> {
        match self {
            Family::Diagonal(f) => f.sharing_remedy(),
            Family::Full(_) => {
                Some(", or share the covariance across components (sharing = \"tied\")")
            }
            Family::Tied(_) => None,
        }
    }

    /// Why the MAP may not exist on some data (see [`crate::Model::map_may_not_exist`]).
    pub fn map_may_not_exist(&self, k: usize, d: usize) -> Option<String> {
        match self {
            Family::Diagonal(f) => f.map_may_not_exist(k, d),
            Family::Full(CovPrior::Lkj { eta, .. }) | Family::Tied(CovPrior::Lkj { eta, .. })
                if d > 1 =>
            {
                Some(format!(
                    "the LKJ({eta}) prior on the correlation vanishes only like det(R)^{} as it becomes singular, which cannot offset the growth of the likelihood of {d} or more points a component's covariance flattens onto: the density is unbounded on such data",
                    eta - 1.0
                ))
            }
            Family::Full(CovPrior::Lkj { scale, .. }) | Family::Tied(CovPrior::Lkj { scale, .. }) => {
                let diag = Diagonal {
                    sharing: if matches!(self, Family::Full(_)) {
                        Sharing::Diagonal
                    } else {
                        Sharing::Dimension
                    },
                    prior: *scale,
                };
                diag.map_may_not_exist(k, d)
            }
            Family::Full(CovPrior::InverseWishart { .. })
            | Family::Tied(CovPrior::InverseWishart { .. }) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARINGS: [Sharing; 4] = [
        Sharing::Shared,
        Sharing::Component,
        Sharing::Dimension,
        Sharing::Diagonal,
    ];

    fn priors() -> [ScalePrior; 6] {
        [
            ScalePrior::LogNormal {
                mu: 0.3,
                sigma: 0.7,
            },
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
        ]
    }

    /// Every sharing with every prior, for K = 3 components in D = 2 dimensions.
    fn families() -> Vec<Family> {
        let mut out = Vec::new();
        for sharing in SHARINGS {
            for prior in priors() {
                out.push(Family::Diagonal(Diagonal { sharing, prior }));
            }
        }
        out
    }

    /// Values spread over two decades, distinct per index.
    fn values(n: usize) -> Vec<f64> {
        (0..n).map(|i| 0.1 * 1.7f64.powi(i as i32 % 9)).collect()
    }

    /// The prior's log density on the unconstrained block, with or without the Jacobian.
    fn block_logp(f: &Family, xs: &[f64], jacobian: bool) -> f64 {
        let (v, jac) = f.unpack(xs, 2);
        let mut lp = 0.0;
        f.add_log_prior(&v, 2, &mut lp, None);
        if jacobian {
            lp + jac
        } else {
            lp
        }
    }

    #[test]
    fn pack_then_unpack_is_the_identity() {
        let (k, d) = (3, 2);
        for f in families() {
            let n = f.n_values(k, d);
            assert_eq!(n, f.n_free(k, d));
            let v = values(n);
            let mut x = vec![9.0]; // packing appends
            f.pack(&v, d, &mut x);
            assert_eq!(x.len(), 1 + n);
            let (back, jac) = f.unpack(&x[1..], d);
            for (a, b) in back.iter().zip(&v) {
                assert!((a - b).abs() <= 4.0 * f64::EPSILON * b, "{f:?}: {a} vs {b}");
            }
            // s = exp(x): log |det J| = Σ x = Σ log s
            let want: f64 = v.iter().map(|s| s.ln()).sum();
            assert!((jac - want).abs() < 1e-12, "{f:?}: {jac} vs {want}");
            let mut names = Vec::new();
            f.names(k, d, &mut names);
            assert_eq!(names.len(), n);
            assert_eq!(f.shape(k, d).iter().product::<usize>(), n);
        }
    }

    #[test]
    fn pull_back_matches_finite_differences_of_the_prior() {
        let (k, d) = (3, 2);
        for f in families() {
            let v = values(f.n_values(k, d));
            let mut x = Vec::new();
            f.pack(&v, d, &mut x);
            for jacobian in [false, true] {
                let (u, _) = f.unpack(&x, d);
                let mut lp = 0.0;
                let mut g = vec![0.0; u.len()];
                f.add_log_prior(&u, d, &mut lp, Some(&mut g));
                assert_eq!(lp, block_logp(&f, &x, false));
                let mut out = vec![f64::NAN; x.len()];
                f.pull_back(&x, &g, jacobian, d, &mut out);
                let h = 1e-6;
                for i in 0..x.len() {
                    let (mut xp, mut xm) = (x.clone(), x.clone());
                    xp[i] += h;
                    xm[i] -= h;
                    let fd =
                        (block_logp(&f, &xp, jacobian) - block_logp(&f, &xm, jacobian)) / (2.0 * h);
                    assert!(
                        (out[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                        "{f:?}, jacobian {jacobian}, coordinate {i}: {} vs {fd}",
                        out[i]
                    );
                }
            }
        }
    }

    /// The kernel's constants and the statistics → gradient map against a direct evaluation
    /// of `Σ_n log Σ_c w_c Π_j N(x_nj | μ_cj, s_cj)` and its finite differences in `log s`.
    #[test]
    fn statistics_give_the_likelihood_gradient() {
        let (k, d) = (3, 2);
        let xs: Vec<[f64; 2]> = (0..7)
            .map(|i| [(i as f64 * 0.9).sin() * 2.0, (i as f64 * 0.4).cos() - 0.5])
            .collect();
        let logw = [0.2f64.ln(), 0.5f64.ln(), 0.3f64.ln()];
        let locs = [-1.0, 0.5, 0.3, -0.2, 1.1, 0.0];
        let loglik_at = |f: &Family, v: &[f64], locs: &[f64]| -> f64 {
            xs.iter()
                .map(|x| {
                    (0..k)
                        .map(|c| {
                            let mut l = logw[c];
                            for j in 0..d {
                                let s = f.scale(v, c, j, d);
                                let z = (x[j] - locs[c * d + j]) / s;
                                l += -0.5 * LN_2PI - s.ln() - 0.5 * z * z;
                            }
                            l.exp()
                        })
                        .sum::<f64>()
                        .ln()
                })
                .sum()
        };
        let loglik = |f: &Family, v: &[f64]| loglik_at(f, v, &locs);
        for sharing in SHARINGS {
            let f = Family::Diagonal(Diagonal {
                sharing,
                prior: priors()[0],
            });
            let v = values(f.n_values(k, d));
            let (mut inv_s, mut log_norm) = (vec![0.0; k * d], vec![0.0; k]);
            f.kernel_consts(d, &logw, &v, &mut inv_s, &mut [], &mut log_norm);
            // the statistics, by the constants
            let (mut r_sum, mut t1, mut t2) = (vec![0.0; k], vec![0.0; k * d], vec![0.0; k * d]);
            let mut ll = 0.0;
            for x in &xs {
                let a: Vec<f64> = (0..k)
                    .map(|c| {
                        let q: f64 = (0..d)
                            .map(|j| ((x[j] - locs[c * d + j]) * inv_s[c * d + j]).powi(2))
                            .sum();
                        log_norm[c] - 0.5 * q
                    })
                    .collect();
                let lse = a.iter().map(|a| a.exp()).sum::<f64>().ln();
                ll += lse;
                for c in 0..k {
                    let r = (a[c] - lse).exp();
                    r_sum[c] += r;
                    for j in 0..d {
                        t1[c * d + j] += r * (x[j] - locs[c * d + j]);
                        t2[c * d + j] += r * (x[j] - locs[c * d + j]).powi(2);
                    }
                }
            }
            let want = loglik(&f, &v);
            assert!((ll - want).abs() < 1e-12 * want.abs(), "{sharing:?}");
            let (mut gl, mut g) = (vec![0.0; k * d], vec![0.0; v.len()]);
            f.add_stats_grad(d, &v, &r_sum, &t1, &t2, &[], &[], &mut gl, &mut g);
            let h: f64 = 1e-6;
            for i in 0..k * d {
                let (mut lp, mut lm) = (locs, locs);
                lp[i] += h;
                lm[i] -= h;
                let fd = (loglik_at(&f, &v, &lp) - loglik_at(&f, &v, &lm)) / (2.0 * h);
                assert!(
                    (gl[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                    "{sharing:?}, location {i}: {} vs {fd}",
                    gl[i]
                );
            }
            for i in 0..v.len() {
                let (mut vp, mut vm) = (v.clone(), v.clone());
                vp[i] *= h.exp();
                vm[i] *= (-h).exp();
                let fd = (loglik(&f, &vp) - loglik(&f, &vm)) / (2.0 * h);
                assert!(
                    (g[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                    "{sharing:?}, scale {i}: {} vs {fd}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn scale_users_cover_every_component_and_dimension_once() {
        let (k, d) = (3, 2);
        for sharing in SHARINGS {
            let f = Family::Diagonal(Diagonal {
                sharing,
                prior: priors()[0],
            });
            let v = values(f.n_values(k, d));
            let mut seen = vec![0; k * d];
            for i in 0..f.n_values(k, d) {
                let (cs, js) = f.scale_users(i, k, d);
                for &c in &cs {
                    for &j in &js {
                        seen[c * d + j] += 1;
                        assert_eq!(f.scale(&v, c, j, d), v[i], "{sharing:?}");
                    }
                }
            }
            assert!(seen.iter().all(|&n| n == 1), "{sharing:?}: {seen:?}");
        }
    }
}
