//! # bgmm — Bayesian Gaussian mixture models
//!
//! A model is described by a [`ModelSpec`] (what a TOML file holds), validated into a
//! [`Model`]. Its exact marginal log joint density, with the discrete assignments summed out,
//! is [`MixtureDensity`]; engines see it only through the small [`LogDensity`] trait. The data
//! enter only through sufficient statistics ([`stats()`]: mergeable across partitions of the
//! data, read from a borrowed [`DataView`], row-major or column-major; see [`SufficientStats`]).
//!
//! One function per job, each taking its options struct (public fields, a `Default`, and a
//! `validate` that checks every field in one place into a [`Checked`] value) and returning a result
//! type that is `Serialize + Deserialize`:
//!
//! | job | function | options | result |
//! |---|---|---|---|
//! | MAP | [`fit`] | [`FitOptions`] | [`Fit`] |
//! | posterior by NUTS | [`sample`] | [`SampleOptions`] | [`Posterior`] |
//! | posterior by mean-field VI | [`vi()`] | [`ViOptions`] | [`Posterior`], [`ViResult`] |
//! | assignments | [`classify()`] | [`ClassifyOptions`] | [`Classification`] |
//! | number of components and family | [`select()`] | [`SelectOptions`] | [`Selection`] |
//! | draws from the priors | [`simulate()`] | `n`, `seed` | [`Simulation`] |
//! | pointwise log likelihood of posterior draws | [`log_likelihood_draws`] | the draws | `[chain][draw][point]` |
//! | predictive accuracy of posterior draws | [`psis_loo`], [`waic()`], [`compare`] | `reff`, [`Weighting`] | [`Loo`], [`Waic`], [`CompareRow`] |
//! | non-empty components of an overfitted mixture | [`occupied_components`] | the draws, `seed` | [`OccupiedComponents`] |
//!
//! Errors are an [`Error`] whose messages name the options' fields (never a command-line
//! flag): an invalid option is an [`Error::InvalidOption`] carrying the field's name.
//!
//! ```
//! use bgmm::{Data, FitOptions, ModelSpec};
//! let spec: ModelSpec = serde_json::from_str(r#"{"k": 2,
//!     "weights": {"concentration": 0.5},
//!     "locs": {"loc": 0.0, "scale": 10.0},
//!     "scale": {"prior": "lognormal", "mu": 0.0, "sigma": 2.0}}"#).unwrap();
//! let data = Data::from_1d(vec![0.0, 1.0, 10.0, 11.0, 12.0]).unwrap();
//! let model = spec.build(Some(data.d())).unwrap();
//! let fit = bgmm::fit(&model, &data, &FitOptions::default()).unwrap();
//! assert!((fit.loss - 17.443).abs() < 1e-3);
//! ```
//!
//! The modules are private; what the root re-exports is the whole supported surface (the
//! embedded data sets are the one public module, [`datasets`]). Besides the jobs above:
//! - the model's exact density for other engines: [`MixtureDensity`] (the [`LogDensity`] of
//!   the unconstrained parameters), [`log_joint`], [`log_joint_grad`],
//!   [`log_responsibilities`], and the statistics contract for partitioned data
//!   ([`stats()`], [`SufficientStats`], [`StatsDensity`], [`DataView`]);
//! - two engines for out-of-core use on any [`LogDensity`] (e.g. a minibatch estimate):
//!   [`stochastic`] (Adam on a stochastic density) and [`vi_posterior_of`] (VI of a given
//!   density), with [`assignment_probabilities`] and [`assignment_probabilities_of`] for
//!   posterior draws;
//! - the convergence diagnostics ([`rhat`], [`ess`], [`summarize`]) and draws from the
//!   priors ([`draw_params`], [`draw_data`]).
#![warn(missing_docs)]
// Numeric kernels index several arrays by component and dimension at once; index loops say so
// more plainly than zipped iterators.
#![allow(clippy::needless_range_loop)]

mod classify;
mod data;
pub mod datasets;
mod density;
mod diagnostics;
mod error;
mod family;
mod init;
mod kernel;
pub mod limits;
mod loo;
mod map;
mod model;
mod moves;
mod nuts;
mod observed;
mod optim;
mod options;
mod params;
mod partitioned;
mod pointwise;
mod posterior;
mod rescale;
mod select;
mod simulate;
mod smc;
mod stats;
mod vi;

pub use classify::{assign, Classification, ClassifyOptions, SviOptions, Temperature};
pub use data::{mean_sd, mean_var, sample_sd, sample_var, Data, DataView};
pub use density::{
    classification_entropy, log_joint, log_joint_from_stats, log_joint_grad, log_likelihood_at,
    log_likelihood_from_stats, log_likelihood_grad, log_likelihood_scalar, log_responsibilities,
    pointwise_log_likelihood, responsibilities_and_density, LogDensity, MixtureDensity,
    NaturalGrad, StatsDensity, Tempered, Transform, CHUNK,
};
pub use diagnostics::{ess, hdi, normal_quantile, quantile_sorted, rhat, summarize, ParamSummary};
pub use error::{Error, Result};
pub use family::{CovPrior, CovSharing, Covariance, CovarianceFamily, Diagonal, Family};
pub use init::Init;
pub use loo::{
    compare, psis, psis_loo, relative_efficiency, waic, CompareRow, Elpd, Loo, Psis, Waic,
    Weighting,
};
pub use map::{
    stochastic, unbounded_density, Fit, FitOptions, FitProgress, History, Resolution,
    StochasticOptions,
};
pub use model::{
    LocsSpec, Model, ModelSpec, OneOrMany, ScalePrior, ScaleSpec, Sharing, WeightsSpec,
};
pub use nuts::{chain_rng, ChainOutput, NutsOptions, Progress as ChainProgress, StopSignal};
pub use options::{float as serde_float, Callback, Checked};
pub use params::{Params, Shaped, ShapedParams};
pub use partitioned::{
    partition_stats, Ask, ColumnSummary, DataSummary, Grid, Partitioned, Scaling, StatsRequest,
};
pub use pointwise::{
    log_likelihood_draws, occupied_components, OccupiedComponents, OCCUPIED_MAX_WORK,
};
pub use posterior::{
    assignment_probabilities, assignment_probabilities_of, vi_posterior_of, ChainStats, Engine,
    InitFrom, Posterior, PosteriorAssignments, SampleOptions,
};
pub use rescale::{Reparam, Rescaled, Standardised};
pub use select::{
    default_families, Criterion, PosteriorCriteria, RowStatus, SelectOptions, SelectProgress,
    SelectRow, Selection, MAX_SELECT_K,
};
pub use simulate::{draw_data, draw_params, impute, simulate, sites, Simulation, Site};
pub use smc::{Evidence, SmcOptions, SmcRun, SmcStep};
pub use stats::{stats, SufficientStats};
pub use vi::{ViOptions, ViResult};

/// The MAP of `model` given `data`: restarts screened, the best candidates optimised and
/// polished, split and merge moves (see [`FitOptions`] for the search and when the MAP does not
/// exist). The options are checked first ([`FitOptions::validate`]); [`FitOptions::weight`]
/// weights the likelihood (the data a sample of a larger set), [`FitOptions::progress`]
/// reports how the search goes.
pub fn fit(model: &Model, data: &Data, opts: &FitOptions) -> Result<Fit> {
    map::run(model, data, &opts.validate()?)
}

/// [`fit`] of data held elsewhere in partitions (a Dask array's blocks, a Spark DataFrame's
/// partitions: see [`Partitioned`]): the same search on the same subsample, the polish's
/// passes over all the data done by the partitions ([`partition_stats`]), so the same mode
/// as [`fit`] of the data in memory, to rounding. The options are checked first;
/// [`FitOptions::weight`] cannot be given.
pub fn fit_partitioned(model: &Model, data: &dyn Partitioned, opts: &FitOptions) -> Result<Fit> {
    map::run_partitioned(model, data, &opts.validate()?)
}

/// The posterior of `model` given `data` by collapsed NUTS, relabelled and summarised (see
/// [`Posterior`]). The options are checked first ([`SampleOptions::validate`]);
/// [`SampleOptions::progress`] is called after every iteration of every chain.
pub fn sample(model: &Model, data: &Data, opts: &SampleOptions) -> Result<Posterior> {
    posterior::run(model, data, &opts.validate()?, &|_| {})
}

/// The mean-field Gaussian variational posterior of `model` given `data`, started from the
/// MAP, as one chain of draws, and the fitted guide (see [`ViOptions`]). The options are
/// checked first ([`ViOptions::validate`]).
pub fn vi(model: &Model, data: &Data, opts: &ViOptions) -> Result<(Posterior, ViResult)> {
    posterior::vi_posterior(model, data, opts)
}

/// The MAP of the default model ([`ModelSpec::quick`]) for every number of components and
/// covariance family of `opts`, in parallel, with BIC, ICL and AIC (see [`Selection`]); the
/// options are checked first ([`SelectOptions::validate`]). A pair whose fit fails is a row
/// saying why, not an error.
pub fn select(data: &Data, opts: &SelectOptions) -> Result<Selection> {
    select::run(data, &opts.validate()?)
}

/// [`select`] of data held elsewhere in partitions ([`Partitioned`]): every pair fitted as
/// [`fit_partitioned`] fits it, all at once, their passes over the data shared (each pass
/// computes the statistics every running fit asked for), so the same rows as [`select`] of
/// the data in memory, to rounding. The BIC, ICL and AIC only (the posterior criteria are
/// refused); [`Selection::passes`] counts the passes.
pub fn select_partitioned(data: &dyn Partitioned, opts: &SelectOptions) -> Result<Selection> {
    select::run_partitioned(data, &opts.validate()?)
}

/// Assignment probabilities and assignments of every point of `data` under `params`: exact,
/// or trained by SVI with [`ClassifyOptions::svi`] (see [`Classification`]). The
/// options are checked first ([`ClassifyOptions::validate`]).
pub fn classify(
    model: &Model,
    params: &Params,
    data: &Data,
    opts: &ClassifyOptions,
) -> Result<Classification> {
    classify::run(model, params, data, &opts.validate()?)
}
