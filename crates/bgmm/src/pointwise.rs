//! What posterior draws say point by point: the pointwise log likelihood of every draw (what
//! PSIS-LOO and WAIC take, and ArviZ's `log_likelihood` group) and the number of non-empty
//! components, K₊, of an overfitted (sparse finite) mixture.

use chacha20::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Data;
use crate::density::{pointwise_log_likelihood, responsibilities_and_density};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::params::Params;

/// The draws' parameters, checked: every chain's every draw has the model's constrained
/// length and finite values.
fn params_of(model: &Model, draws: &[Vec<Vec<f64>>], function: &str) -> Result<Vec<Params>> {
    let len = model.constrained_names().len();
    if draws.iter().all(|c| c.is_empty()) {
        return Err(Error::Data(format!("{function}: no draws")));
    }
    let mut out = Vec::new();
    for (c, chain) in draws.iter().enumerate() {
        for (s, flat) in chain.iter().enumerate() {
            if flat.len() != len {
                return Err(Error::Data(format!(
                    "{function}: chain {c}, draw {s} has {} values where the model has {len}",
                    flat.len()
                )));
            }
            if flat.iter().any(|v| !v.is_finite()) {
                return Err(Error::Data(format!(
                    "{function}: chain {c}, draw {s} has a value that is not finite"
                )));
            }
            out.push(Params::from_flat(model, flat));
        }
    }
    Ok(out)
}

/// The pointwise log likelihood `log p(x_n | θ_s)` of every draw, `[chain][draw][point]`, the
/// assignments summed out (label-invariant: relabelled or raw draws give the same values), for
/// [`crate::psis_loo`] and [`crate::waic()`]. `draws[chain][draw]` are constrained parameter
/// vectors, as [`crate::Posterior::draws`].
///
/// Errors ([`Error::Data`]): no draws, a draw of the wrong length or with a value that is not
/// finite.
pub fn log_likelihood_draws(
    model: &Model,
    data: &Data,
    draws: &[Vec<Vec<f64>>],
) -> Result<Vec<Vec<Vec<f64>>>> {
    let params = params_of(model, draws, "log_likelihood_draws")?;
    let flat: Vec<Vec<f64>> = params
        .par_iter()
        .map(|p| pointwise_log_likelihood(model, data, p))
        .collect();
    let mut it = flat.into_iter();
    Ok(draws
        .iter()
        .map(|c| it.by_ref().take(c.len()).collect())
        .collect())
}

/// The posterior of the number of non-empty components K₊ (Malsiner-Walli, Frühwirth-Schnatter
/// and Grün 2016): at every draw θ_s an assignment of every point is drawn from
/// `p(z | x, θ_s)` (which, with θ_s, is a draw of the joint posterior of θ and z), and K₊ is
/// the number of components it uses. With a large K and a small Dirichlet concentration (an
/// overfitted mixture) the superfluous components empty, and the mode of K₊ estimates the
/// number of clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OccupiedComponents {
    /// `probs[k]`: the share of the draws with K₊ = k, for k = 0 ..= K (k = 0 only with no
    /// point).
    pub probs: Vec<f64>,
    /// The draws it counted (every `thin`-th of all chains' draws in order).
    pub draws: usize,
    /// Every `thin`-th draw was used (1: all of them), so that draws × points stays within
    /// [`OCCUPIED_MAX_WORK`].
    pub thin: usize,
}

/// The most draws × points [`occupied_components`] visits: beyond it, it thins the draws.
pub const OCCUPIED_MAX_WORK: usize = 50_000_000;

impl OccupiedComponents {
    /// The most probable K₊ (the smaller on a tie).
    pub fn mode(&self) -> usize {
        let mut best = 0;
        for (k, p) in self.probs.iter().enumerate() {
            if *p > self.probs[best] {
                best = k;
            }
        }
        best
    }
}

/// [`OccupiedComponents`] of the draws `draws[chain][draw]` (constrained parameter vectors),
/// the assignment of draw `i` (over all chains in order) drawn from the stream `seed`, `i`:
/// the same numbers on any number of threads.
///
/// Errors ([`Error::Data`]): no draws, a draw of the wrong length or with a value that is not
/// finite.
pub fn occupied_components(
    model: &Model,
    data: &Data,
    draws: &[Vec<Vec<f64>>],
    seed: u64,
) -> Result<OccupiedComponents> {
    let params = params_of(model, draws, "occupied_components")?;
    let n = data.n();
    let k = model.k;
    let thin = (params.len() * n).div_ceil(OCCUPIED_MAX_WORK).max(1);
    let used: Vec<(usize, &Params)> = params.iter().enumerate().step_by(thin).collect();
    let counts: Vec<usize> = used
        .par_iter()
        .map(|(i, p)| {
            let (resp, _) = responsibilities_and_density(model, &data.view(), p, false);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(*i as u64);
            let mut used = vec![false; k];
            for row in resp.chunks(k) {
                let u: f64 = rng.random();
                let mut acc = 0.0;
                let mut pick = k - 1;
                for (j, lr) in row.iter().enumerate() {
                    acc += lr.exp();
                    if u < acc {
                        pick = j;
                        break;
                    }
                }
                used[pick] = true;
            }
            used.iter().filter(|u| **u).count()
        })
        .collect();
    let mut probs = vec![0.0; k + 1];
    for c in &counts {
        probs[*c] += 1.0;
    }
    for p in &mut probs {
        *p /= counts.len() as f64;
    }
    Ok(OccupiedComponents {
        probs,
        draws: counts.len(),
        thin,
    })
}
