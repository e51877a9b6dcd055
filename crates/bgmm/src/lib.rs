//! # bgmm — Bayesian Gaussian mixture models
//!
//! A model is described by a [`ModelSpec`] (what a TOML file holds), validated into a
//! [`Model`]. Its exact marginal log joint density, with the discrete assignments summed out,
//! is in [`density`]; engines (MAP in [`map`]) see it only through the small
//! [`LogDensity`] trait. [`classify`] gives assignment probabilities and assignments,
//! [`simulate`] draws parameters and data from the priors.
//!
//! ```
//! use bgmm::{Data, ModelSpec};
//! let spec: ModelSpec = serde_json::from_str(r#"{"k": 2,
//!     "weights": {"concentration": 0.5},
//!     "locs": {"loc": 0.0, "scale": 10.0},
//!     "scale": {"prior": "lognormal", "mu": 0.0, "sigma": 2.0}}"#).unwrap();
//! let data = Data::from_1d(vec![0.0, 1.0, 10.0, 11.0, 12.0]).unwrap();
//! let model = spec.build(Some(data.d())).unwrap();
//! let fit = bgmm::map::fit(&model, &data, &bgmm::map::FitOptions::default()).unwrap();
//! assert!((fit.loss - 17.443).abs() < 1e-3);
//! ```
#![warn(missing_docs)]
// Numeric kernels index several arrays by component and dimension at once; index loops say so
// more plainly than zipped iterators.
#![allow(clippy::needless_range_loop)]

pub mod classify;
pub mod data;
pub mod datasets;
pub mod density;
pub mod diagnostics;
pub mod error;
pub mod init;
pub mod kernel;
pub mod map;
pub mod model;
pub mod moves;
pub mod nuts;
pub mod optim;
pub mod params;
pub mod posterior;
pub mod simulate;
pub mod vi;

pub use data::Data;
pub use density::{LogDensity, MixtureDensity};
pub use error::{Error, Result};
pub use model::{Model, ModelSpec, ScalePrior, Sharing};
pub use params::{Params, Shaped, ShapedParams};
