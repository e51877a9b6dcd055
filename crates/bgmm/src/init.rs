//! Initial points for MAP: the tutorial's (`init_loc_fn`) and k-means++.

use chacha20::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use crate::data::{mean_var, sample_var, Data};
use crate::model::Model;
use crate::params::Params;

/// How the MAP search picks its initial points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Init {
    /// Several strategies: Pyro's and k-means++ starts, then split and merge moves from the
    /// best mode found (see [`crate::FitOptions`]).
    #[default]
    Auto,
    /// Pyro's tutorial: uniform weights, every scale `sqrt(var / 2)`, the locations K distinct
    /// data points drawn at random.
    Pyro,
    /// k-means++ seeding, then Lloyd iterations; weights and scales from the clusters.
    KMeansPlusPlus,
}

impl Init {
    /// Parse `auto`, `pyro` or `kmeans++`.
    pub fn parse(s: &str) -> Option<Init> {
        match s {
            "auto" => Some(Init::Auto),
            "pyro" => Some(Init::Pyro),
            "kmeans++" | "kmeans" | "k-means++" => Some(Init::KMeansPlusPlus),
            _ => None,
        }
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Init::Auto => "auto",
            Init::Pyro => "pyro",
            Init::KMeansPlusPlus => "kmeans++",
        }
    }
}

/// The RNG of restart `r` under `seed`: independent streams, whatever order restarts run in.
pub fn restart_rng(seed: u64, r: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(r as u64 + 1);
    rng
}

/// `k` distinct indices out of `0..n` (n ≥ k), uniformly (partial Fisher–Yates).
fn distinct_indices(n: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..k {
        let j = rng.random_range(i..n);
        idx.swap(i, j);
    }
    idx.truncate(k);
    idx
}

/// Per-dimension spread of the data used for initial scales: `sqrt(var_d / 2)` (sample
/// variance, as `torch.var`), at least a tiny positive number so constant data still start.
fn init_scales(model: &Model, data: &Data) -> Vec<f64> {
    let d = model.d;
    let per_dim: Vec<f64> = (0..d)
        .map(|j| {
            let v = sample_var(&data.observed(j));
            let (m, _) = mean_var(&data.observed(j));
            let floor = 1e-6 * m.abs().max(1.0);
            (v / 2.0).sqrt().max(floor)
        })
        .collect();
    model.family.initial(model.k, &per_dim)
}

/// Make the locations strictly increasing on the first dimension (for `ordered` models):
/// components are sorted by it and ties are pulled apart by a small fraction of the spread.
pub(crate) fn order_locs(model: &Model, p: &mut Params, spread: f64) {
    let (k, d) = (model.k, model.d);
    let mut perm: Vec<usize> = (0..k).collect();
    perm.sort_by(|&a, &b| p.locs[a * d].total_cmp(&p.locs[b * d]));
    *p = p.permuted(model, &perm);
    let gap = 1e-3 * spread.max(1e-12);
    for c in 1..k {
        let prev = p.locs[(c - 1) * d];
        if p.locs[c * d] <= prev {
            p.locs[c * d] = prev + gap.max(prev.abs() * 1e-12);
        }
    }
}

/// The tutorial's initial point for restart `rng`.
pub fn pyro_init(model: &Model, data: &Data, rng: &mut ChaCha8Rng) -> Params {
    let (k, d) = (model.k, model.d);
    let idx = distinct_indices(data.n(), k, rng);
    let locs = idx.iter().flat_map(|&i| data.row(i)).collect();
    let mut p = Params {
        weights: vec![1.0 / k as f64; k],
        locs,
        scales: init_scales(model, data),
    };
    if model.ordered {
        let spread = crate::data::sample_sd(&data.observed(0));
        order_locs(model, &mut p, spread);
    }
    let _ = d;
    p
}

fn sq_dist(data: &Data, i: usize, centre: &[f64]) -> f64 {
    centre
        .iter()
        .enumerate()
        .map(|(j, c)| (data.col(j)[i] - c) * (data.col(j)[i] - c))
        .sum()
}

/// k-means++ seeding and up to 25 Lloyd iterations; weights are the cluster proportions and
/// scales the within-cluster standard deviations (pooled as the sharing requires).
pub fn kmeans_init(model: &Model, data: &Data, rng: &mut ChaCha8Rng) -> Params {
    let (k, d, n) = (model.k, model.d, data.n());
    let mut centres: Vec<Vec<f64>> = vec![data.row(rng.random_range(0..n))];
    let mut dist: Vec<f64> = (0..n).map(|i| sq_dist(data, i, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = dist.iter().sum();
        let next = if total > 0.0 {
            let u = rng.random::<f64>() * total;
            let mut acc = 0.0;
            let mut pick = n - 1;
            for (i, w) in dist.iter().enumerate() {
                acc += w;
                if u < acc {
                    pick = i;
                    break;
                }
            }
            pick
        } else {
            rng.random_range(0..n)
        };
        let c = data.row(next);
        for (i, di) in dist.iter_mut().enumerate() {
            *di = di.min(sq_dist(data, i, &c));
        }
        centres.push(c);
    }
    let mut label = vec![0usize; n];
    for _ in 0..25 {
        let mut changed = false;
        for (i, l) in label.iter_mut().enumerate() {
            let best = (0..k)
                .min_by(|&a, &b| {
                    sq_dist(data, i, &centres[a]).total_cmp(&sq_dist(data, i, &centres[b]))
                })
                .unwrap_or(0);
            if best != *l {
                *l = best;
                changed = true;
            }
        }
        let mut sums = vec![vec![0.0; d]; k];
        let mut counts = vec![0usize; k];
        for (i, &l) in label.iter().enumerate() {
            counts[l] += 1;
            for j in 0..d {
                sums[l][j] += data.col(j)[i];
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                centres[c] = sums[c].iter().map(|s| s / counts[c] as f64).collect();
            }
        }
        if !changed {
            break;
        }
    }
    // within-cluster variances per component and dimension, and for the covariance
    // families the cross products
    let mut counts = vec![0usize; k];
    let mut ss = vec![vec![0.0; d]; k];
    let with_cross = model.family.is_covariance();
    let mut cross = vec![vec![0.0; if with_cross { d * d } else { 0 }]; k];
    let mut r = vec![0.0; d];
    for (i, &l) in label.iter().enumerate() {
        counts[l] += 1;
        for j in 0..d {
            r[j] = data.col(j)[i] - centres[l][j];
            ss[l][j] += r[j] * r[j];
        }
        if with_cross {
            for a in 0..d {
                for b in 0..d {
                    cross[l][a * d + b] += r[a] * r[b];
                }
            }
        }
    }
    let fallback = init_scales(model, data);
    let floor: Vec<f64> = (0..d)
        .map(|j| 1e-3 * crate::data::sample_sd(&data.observed(j)).max(1e-9))
        .collect();
    let scales = model
        .family
        .from_clusters(&counts, &ss, &cross, &floor, &fallback);
    let weights: Vec<f64> = counts
        .iter()
        .map(|&c| (c as f64 + 0.5) / (n as f64 + 0.5 * k as f64))
        .collect();
    let mut p = Params {
        weights,
        locs: centres.into_iter().flatten().collect(),
        scales,
    };
    if model.ordered {
        let spread = crate::data::sample_sd(&data.observed(0));
        order_locs(model, &mut p, spread);
    }
    p
}

/// The initial point of restart `r` under `seed` (`Auto` starts as `Pyro`; the search adds
/// the other strategies' starts itself).
///
/// With missing values the starts are drawn from the data with each missing value replaced by
/// its column's mean: a start only needs to be near the data.
pub fn initial_point(model: &Model, data: &Data, init: Init, seed: u64, r: usize) -> Params {
    let data = &*data.mean_imputed();
    let mut rng = restart_rng(seed, r);
    match init {
        Init::Pyro | Init::Auto => pyro_init(model, data, &mut rng),
        Init::KMeansPlusPlus => kmeans_init(model, data, &mut rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ModelSpec;
    use rand_distr::{Distribution, StandardNormal};

    /// Two clusters of 1000 points with correlations +0.8 and −0.6, far apart.
    fn correlated() -> Data {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (centre, rho) in [(-20.0, 0.8), (20.0, -0.6)] {
            for _ in 0..1000 {
                let (a, b): (f64, f64) = (
                    StandardNormal.sample(&mut rng),
                    StandardNormal.sample(&mut rng),
                );
                x.push(centre + a);
                y.push(rho * a + (1.0f64 - rho * rho).sqrt() * b);
            }
        }
        Data::from_columns(vec![x, y]).unwrap()
    }

    /// A k-means++ start of a covariance family takes its clusters' correlations (shrunk by
    /// n/(n + D + 1)), each cluster's for `full`, the pooled one for `tied`; the diagonal
    /// family has none to take.
    #[test]
    fn kmeans_starts_take_the_clusters_correlations() {
        let data = correlated();
        let full = ModelSpec::quick(2, crate::CovarianceFamily::Full, &data)
            .build(Some(2))
            .unwrap();
        let p = kmeans_init(&full, &data, &mut ChaCha8Rng::seed_from_u64(1));
        let mut got: Vec<(f64, f64)> = (0..2)
            .map(|c| {
                let r = full.family.correlation(&p.scales, c, 2).unwrap()[1];
                (p.locs[c * 2], r)
            })
            .collect();
        got.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!((got[0].1 - 0.8).abs() < 0.05, "{got:?}");
        assert!((got[1].1 + 0.6).abs() < 0.05, "{got:?}");
        let tied = ModelSpec::quick(2, crate::CovarianceFamily::Tied, &data)
            .build(Some(2))
            .unwrap();
        let p = kmeans_init(&tied, &data, &mut ChaCha8Rng::seed_from_u64(1));
        let r = tied.family.correlation(&p.scales, 0, 2).unwrap()[1];
        assert!((r - 0.1).abs() < 0.05, "pooled {r}");
    }
}
