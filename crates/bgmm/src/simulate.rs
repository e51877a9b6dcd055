//! Simulation from the model (Pyro's `poutine.trace(model).get_trace(n_data=N)`), and the
//! model's sites with their shapes (Pyro's `trace.format_shapes()`).

use chacha20::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Gamma, StandardNormal};

use crate::data::Data;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::params::Params;

/// Most values (N · D) a simulation holds in memory.
pub const MAX_SIMULATED_VALUES: usize = 2_000_000_000;

/// Parameters drawn from the priors, and data drawn given them. Serde: the data as a list of
/// columns (checked again when read).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Simulation {
    /// The drawn global parameters.
    pub params: Params,
    /// The true assignment of every point.
    pub assignments: Vec<usize>,
    /// The drawn points.
    #[serde(with = "columns")]
    pub data: Data,
}

/// Serde of [`Data`] as its columns.
mod columns {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::data::Data;

    pub fn serialize<S: Serializer>(data: &Data, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((0..data.d()).map(|j| data.col(j)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Data, D::Error> {
        Data::from_columns(Vec::<Vec<f64>>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Draw θ from the priors (weights ~ Dirichlet, locs ~ Normal, scales ~ their prior; with
/// `ordered`, the locations sorted on the first dimension, which is exactly the ordered
/// prior), then `n` points with their assignments. The same seed gives the same draws. An `n`
/// of 0, or too large to hold, is an [`Error::InvalidOption`] naming `n`.
pub fn simulate(model: &Model, n: usize, seed: u64) -> Result<Simulation> {
    if n == 0 {
        return Err(Error::option("simulate", "n", "must be at least 1"));
    }
    if n.checked_mul(model.d)
        .is_none_or(|v| v > MAX_SIMULATED_VALUES)
    {
        return Err(Error::option(
            "simulate",
            "n",
            format!(
                "{n} with d = {}: more than {MAX_SIMULATED_VALUES} values to hold in memory",
                model.d
            ),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let params = draw_params(model, &mut rng);
    let (assignments, data) = draw_data(model, &params, n, &mut rng)?;
    Ok(Simulation {
        params,
        assignments,
        data,
    })
}

/// Draw the global parameters from the priors.
pub fn draw_params(model: &Model, rng: &mut ChaCha8Rng) -> Params {
    let (k, d) = (model.k, model.d);
    let mut g: Vec<f64> = model
        .alpha
        .iter()
        .map(|&a| Gamma::new(a, 1.0).expect("validated").sample(rng))
        .collect();
    let sum: f64 = g.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        g.iter_mut().for_each(|v| *v /= sum);
    } else {
        // every Gamma draw underflowed (tiny concentrations): the mass sits on one component
        let i = rng.random_range(0..k);
        g = (0..k).map(|c| if c == i { 1.0 } else { 0.0 }).collect();
    }
    let mut locs = vec![0.0; k * d];
    for c in 0..k {
        for j in 0..d {
            let z: f64 = rng.sample(StandardNormal);
            locs[c * d + j] = model.loc_mu[j] + model.loc_sigma[j] * z;
        }
    }
    let mut p = Params {
        weights: g,
        locs,
        scales: model.family.draw(k, d, rng),
    };
    if model.ordered {
        let mut perm: Vec<usize> = (0..k).collect();
        perm.sort_by(|&a, &b| p.locs[a * d].total_cmp(&p.locs[b * d]));
        // only the locations are ordered; the weights and scales keep their draw order
        let sorted = p.permuted(model, &perm);
        p.locs = sorted.locs;
    }
    p
}

/// `data` with each missing value (NaN) drawn from its distribution given the point's
/// observed values and the parameters: a component from the point's responsibilities (those
/// of its observed values), then the missing coordinates from that component's Gaussian
/// conditioned on the observed ones (for axis-aligned scales, their own Normals; for full
/// and tied covariances, `N(μ_M + Σ_MO Σ_OO⁻¹ (x_O − μ_O), Σ_MM − Σ_MO Σ_OO⁻¹ Σ_OM)`). One such
/// data set per posterior draw is a multiple imputation; the observed values are kept as they
/// are. Data without missing values come back unchanged.
pub fn impute(model: &Model, params: &Params, data: &Data, rng: &mut ChaCha8Rng) -> Result<Data> {
    if data.d() != model.d {
        return Err(Error::dimensions("model", model.d, data.d()));
    }
    let (n, d, k) = (data.n(), model.d, model.k);
    let mut cols: Vec<Vec<f64>> = (0..d).map(|j| data.col(j).to_vec()).collect();
    if data.n_missing() == 0 {
        return Data::from_columns(cols);
    }
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let comps = crate::stats::Components::new(model, &logw, &params.locs, &params.scales);
    let mut fw = comps.is_full().then(|| comps.full_work());
    let (mut terms, mut x, mut e) = (vec![0.0; k], vec![0.0; d], vec![0.0; d]);
    // a component from the responsibilities of the observed values (`lse` their logsumexp;
    // a row with none observed: the weights)
    let draw_component = |terms: &[f64], lse: Option<f64>, rng: &mut ChaCha8Rng| match lse {
        Some(lse) if lse.is_finite() => {
            let r: Vec<f64> = terms.iter().map(|t| (t - lse).exp()).collect();
            sample_categorical(&r, rng)
        }
        _ => sample_categorical(&params.weights, rng),
    };
    for i in 0..n {
        if (0..d).all(|j| !cols[j][i].is_nan()) {
            continue;
        }
        let Some(fw) = fw.as_mut() else {
            // axis-aligned scales: the missing coordinates are the component's own Normals
            let lse = comps.point_terms(data, i, &mut terms, &mut None);
            let c = draw_component(&terms, Some(lse), rng);
            for (j, col) in cols.iter_mut().enumerate() {
                if col[i].is_nan() {
                    let z: f64 = rng.sample(StandardNormal);
                    col[i] = params.loc(model, c, j) + params.scale(model, c, j) * z;
                }
            }
            continue;
        };
        for (j, xj) in x.iter_mut().enumerate() {
            *xj = cols[j][i];
        }
        let miss: Vec<usize> = (0..d).filter(|&j| x[j].is_nan()).collect();
        let m = miss.len();
        // the chosen component's conditional mean and covariance on the missing coordinates
        // (a point with nothing observed: the component's own Gaussian)
        let lse = fw.terms(&x, &params.locs, &mut terms, true);
        let c = draw_component(&terms, lse, rng);
        let (mut mean, mut cov) = (vec![0.0; m], vec![0.0; m * m]);
        if lse.is_some() {
            let z = &fw.zhat[c * d..(c + 1) * d];
            let m2 = &fw.m2[c * d * d..(c + 1) * d * d];
            for (a, &ja) in miss.iter().enumerate() {
                mean[a] = params.loc(model, c, ja) + z[ja];
                for (b, &jb) in miss.iter().enumerate() {
                    cov[a * m + b] = m2[ja * d + jb] - z[ja] * z[jb];
                }
            }
        } else {
            let sigma = model
                .family
                .covariance(&params.scales, c, d)
                .unwrap_or_default();
            for (a, &ja) in miss.iter().enumerate() {
                mean[a] = params.loc(model, c, ja);
                for (b, &jb) in miss.iter().enumerate() {
                    cov[a * m + b] = sigma[ja * d + jb];
                }
            }
        }
        // x_M = mean + L e with L Lᵀ the conditional covariance
        crate::observed::cholesky(&mut cov, m);
        for v in e.iter_mut().take(m) {
            *v = rng.sample(StandardNormal);
        }
        for (a, &j) in miss.iter().enumerate() {
            cols[j][i] = mean[a] + (0..=a).map(|l| cov[a * m + l] * e[l]).sum::<f64>();
        }
    }
    Data::from_columns(cols)
}

/// Draw `n` points given the parameters.
pub fn draw_data(
    model: &Model,
    params: &Params,
    n: usize,
    rng: &mut ChaCha8Rng,
) -> Result<(Vec<usize>, Data)> {
    let d = model.d;
    let what = || format!("{n} points of {d} dimensions");
    let n_opt = Some(("simulate", "n"));
    crate::limits::probe((n as u128) * (d as u128 + 1) * 8, what, n_opt)?;
    let mut z = crate::limits::with_capacity(n, what, n_opt)?;
    let mut cols = Vec::new();
    for _ in 0..d {
        cols.push(crate::limits::with_capacity(n, what, n_opt)?);
    }
    // the covariance families' factors: x = μ + C e
    let factors: Vec<Option<Vec<f64>>> = (0..model.k)
        .map(|c| model.family.cov_factor(&params.scales, c, d))
        .collect();
    let mut e = vec![0.0; d];
    for _ in 0..n {
        let c = sample_categorical(&params.weights, rng);
        z.push(c);
        match &factors[c] {
            None => {
                for (j, col) in cols.iter_mut().enumerate() {
                    let e: f64 = rng.sample(StandardNormal);
                    col.push(params.loc(model, c, j) + params.scale(model, c, j) * e);
                }
            }
            Some(cf) => {
                for v in e.iter_mut() {
                    *v = rng.sample(StandardNormal);
                }
                for (j, col) in cols.iter_mut().enumerate() {
                    let dev: f64 = (0..=j).map(|l| cf[j * d + l] * e[l]).sum();
                    col.push(params.loc(model, c, j) + dev);
                }
            }
        }
    }
    let data = Data::from_columns(cols).map_err(|e| {
        Error::Numerical(format!(
            "simulated data are not finite ({e}); the priors are too wide for f64"
        ))
    })?;
    Ok((z, data))
}

/// One draw from the categorical distribution with probabilities `p` (summing to 1).
pub fn sample_categorical(p: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let u: f64 = rng.random::<f64>();
    let mut acc = 0.0;
    for (i, &pi) in p.iter().enumerate() {
        acc += pi;
        if u < acc {
            return i;
        }
    }
    // rounding left u above the last partial sum: the last component with mass
    p.iter().rposition(|&v| v > 0.0).unwrap_or(p.len() - 1)
}

/// One site of the model, as `format_shapes` prints it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Site {
    /// Site name.
    pub name: String,
    /// Distribution with its parameters.
    pub dist: String,
    /// Plates the site is in.
    pub plates: Vec<String>,
    /// Batch shape.
    pub batch_shape: Vec<usize>,
    /// Event shape.
    pub event_shape: Vec<usize>,
    /// Observed (the data) rather than latent.
    pub observed: bool,
    /// Summed out exactly (the assignments), never sampled by the engines.
    pub enumerated: bool,
}

fn list(v: &[f64]) -> String {
    if v.iter().all(|x| *x == v[0]) {
        format!("{}", v[0])
    } else {
        format!(
            "[{}]",
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Every site of the model for `n` data points, in the model's order.
pub fn sites(model: &Model, n: usize) -> Vec<Site> {
    let (k, d) = (model.k, model.d);
    let plate = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let loc_prior = format!(
        "Normal({}, {}){}",
        list(&model.loc_mu),
        list(&model.loc_sigma),
        if model.ordered { ", ordered" } else { "" }
    );
    vec![
        Site {
            name: "weights".into(),
            dist: format!("Dirichlet({})", list(&model.alpha)),
            plates: vec![],
            batch_shape: vec![],
            event_shape: vec![k],
            observed: false,
            enumerated: false,
        },
        Site {
            name: "scale".into(),
            dist: model.family.site_dist(),
            plates: plate(model.family.plates()),
            batch_shape: model.family.shape(k, d),
            event_shape: vec![],
            observed: false,
            enumerated: false,
        },
        Site {
            name: "locs".into(),
            dist: loc_prior,
            plates: if d == 1 {
                plate(&["components"])
            } else {
                plate(&["components", "dims"])
            },
            batch_shape: model.locs_shape(),
            event_shape: vec![],
            observed: false,
            enumerated: false,
        },
        Site {
            name: "assignment".into(),
            dist: "Categorical(weights)".into(),
            plates: plate(&["data"]),
            batch_shape: vec![n],
            event_shape: vec![],
            observed: false,
            enumerated: true,
        },
        Site {
            name: "obs".into(),
            dist: obs_dist(model, d),
            plates: plate(&["data"]),
            batch_shape: vec![n],
            event_shape: if d == 1 { vec![] } else { vec![d] },
            observed: true,
            enumerated: false,
        },
    ]
}

/// The observation's distribution as Pyro code writes it (the family's scale, see
/// [`crate::Family::obs_scale`]); D > 1 coordinates are one event.
fn obs_dist(model: &Model, d: usize) -> String {
    let scale = model.family.obs_scale();
    let event = if d == 1 { "" } else { ".to_event(1)" };
    format!("Normal(locs[assignment], {scale}){event}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        LocsSpec, ModelSpec, OneOrMany, ScalePrior, ScaleSpec, Sharing, WeightsSpec,
    };

    fn model(prior: ScalePrior, sharing: Sharing, k: i64, d: i64, ordered: bool) -> Model {
        ModelSpec {
            k,
            d: Some(d),
            weights: WeightsSpec {
                concentration: OneOrMany::Many((1..=k).map(|a| a as f64).collect()),
            },
            locs: LocsSpec {
                loc: OneOrMany::One(1.0),
                scale: OneOrMany::One(2.0),
                ordered,
            },
            scale: ScaleSpec::from_prior(prior, sharing),
        }
        .build(None)
        .unwrap()
    }

    #[test]
    fn same_seed_same_draws() {
        let m = model(
            ScalePrior::LogNormal {
                mu: 0.0,
                sigma: 0.5,
            },
            Sharing::Diagonal,
            3,
            2,
            false,
        );
        let a = simulate(&m, 50, 4).unwrap();
        let b = simulate(&m, 50, 4).unwrap();
        assert_eq!(a.params, b.params);
        assert_eq!(a.data, b.data);
        let c = simulate(&m, 50, 5).unwrap();
        assert_ne!(a.params, c.params);
    }

    #[test]
    fn prior_moments_match_closed_forms() {
        // Dirichlet(1,2,3): E w = (1/6, 2/6, 3/6); Normal(1, 2) locs; per-prior scale means.
        let reps = 20000;
        let m = model(
            ScalePrior::Gamma {
                alpha: 3.0,
                beta: 2.0,
            },
            Sharing::Shared,
            3,
            1,
            false,
        );
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (mut w, mut l, mut l2, mut s) = ([0.0; 3], 0.0, 0.0, 0.0);
        for _ in 0..reps {
            let p = draw_params(&m, &mut rng);
            for c in 0..3 {
                w[c] += p.weights[c] / reps as f64;
            }
            l += p.locs[0] / reps as f64;
            l2 += p.locs[0] * p.locs[0] / reps as f64;
            s += p.scales[0] / reps as f64;
        }
        // standard errors: w ≤ 0.005/√… ≈ 0.0013, loc 2/√20000 = 0.014, Gamma mean 1.5 sd 0.87 → 0.006
        for (c, want) in [1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0].iter().enumerate() {
            assert!((w[c] - want).abs() < 0.006, "w[{c}] {}", w[c]);
        }
        assert!((l - 1.0).abs() < 0.06, "loc mean {l}");
        assert!((l2 - l * l - 4.0).abs() < 0.2, "loc var {}", l2 - l * l);
        assert!((s - 1.5).abs() < 0.03, "scale mean {s}");
    }

    #[test]
    fn scale_prior_draws_have_the_right_median() {
        // medians in closed form: LogNormal e^mu; HalfNormal s·0.6745; HalfCauchy s; Exp ln2/λ
        let cases = [
            (
                ScalePrior::LogNormal {
                    mu: 0.5,
                    sigma: 1.0,
                },
                0.5f64.exp(),
            ),
            (
                ScalePrior::HalfNormal { scale: 2.0 },
                2.0 * 0.674_489_750_196_081_7,
            ),
            (ScalePrior::HalfCauchy { scale: 3.0 }, 3.0),
            (
                ScalePrior::Exponential { rate: 2.0 },
                std::f64::consts::LN_2 / 2.0,
            ),
            // InverseGamma(1, 1): 1/Exp(1) → median 1/ln 2
            (
                ScalePrior::InverseGamma {
                    alpha: 1.0,
                    beta: 1.0,
                },
                1.0 / std::f64::consts::LN_2,
            ),
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for (p, want) in cases {
            let mut v: Vec<f64> = (0..20001).map(|_| p.sample(&mut rng)).collect();
            v.sort_by(f64::total_cmp);
            let med = v[10000];
            assert!(
                (med / want - 1.0).abs() < 0.04,
                "{}: median {med} vs {want}",
                p.name()
            );
        }
    }

    #[test]
    fn ordered_simulation_is_increasing_and_data_follow_assignments() {
        let m = model(
            ScalePrior::HalfNormal { scale: 0.1 },
            Sharing::Component,
            4,
            2,
            true,
        );
        let s = simulate(&m, 400, 9).unwrap();
        for c in 1..4 {
            assert!(s.params.locs[c * 2] > s.params.locs[(c - 1) * 2]);
        }
        // each point is near its component's location (scales are ~0.1)
        for i in 0..400 {
            let c = s.assignments[i];
            for j in 0..2 {
                let z = (s.data.col(j)[i] - s.params.loc(&m, c, j)) / s.params.scale(&m, c, j);
                assert!(z.abs() < 6.0);
            }
        }
    }

    #[test]
    fn sites_have_pyro_shapes() {
        let m = model(
            ScalePrior::LogNormal {
                mu: 0.0,
                sigma: 0.5,
            },
            Sharing::Dimension,
            3,
            2,
            false,
        );
        let s = sites(&m, 11);
        let get = |n: &str| s.iter().find(|x| x.name == n).unwrap().clone();
        assert_eq!(get("weights").event_shape, vec![3]);
        assert_eq!(get("scale").batch_shape, vec![2]);
        assert_eq!(get("locs").batch_shape, vec![3, 2]);
        assert_eq!(get("assignment").batch_shape, vec![11]);
        assert_eq!(get("obs").event_shape, vec![2]);
        assert_eq!(get("scale").dist, "LogNormal(0, 0.5)");
        assert_eq!(get("weights").dist, "Dirichlet([1, 2, 3])");
    }

    /// Issue 11: `describe` printed `Normal(locs[assignment], scale[assignment])` for every
    /// sharing; a shared or per-dimension scale is not indexed by the assignment.
    #[test]
    fn the_observation_indexes_the_scale_as_it_is_shared() {
        let prior = ScalePrior::HalfNormal { scale: 1.0 };
        let cases = [
            (
                Sharing::Shared,
                1,
                "Normal(locs[assignment], scale)",
                vec![],
            ),
            (
                Sharing::Shared,
                2,
                "Normal(locs[assignment], scale).to_event(1)",
                vec![],
            ),
            (
                Sharing::Component,
                1,
                "Normal(locs[assignment], scale[assignment])",
                vec![3],
            ),
            (
                Sharing::Component,
                2,
                "Normal(locs[assignment], scale[assignment]).to_event(1)",
                vec![3],
            ),
            (
                Sharing::Dimension,
                1,
                "Normal(locs[assignment], scale)",
                vec![1],
            ),
            (
                Sharing::Dimension,
                2,
                "Normal(locs[assignment], scale).to_event(1)",
                vec![2],
            ),
            (
                Sharing::Diagonal,
                1,
                "Normal(locs[assignment], scale[assignment])",
                vec![3, 1],
            ),
            (
                Sharing::Diagonal,
                2,
                "Normal(locs[assignment], scale[assignment]).to_event(1)",
                vec![3, 2],
            ),
        ];
        for (sharing, d, obs, scale_shape) in cases {
            let s = sites(&model(prior, sharing, 3, d, false), 7);
            let get = |n: &str| s.iter().find(|x| x.name == n).unwrap().clone();
            assert_eq!(get("obs").dist, obs, "{sharing:?}, d = {d}");
            assert_eq!(
                get("scale").batch_shape,
                scale_shape,
                "{sharing:?}, d = {d}"
            );
            let event: Vec<usize> = if d == 1 { vec![] } else { vec![d as usize] };
            assert_eq!(get("obs").event_shape, event);
        }
    }
}
