//! The pointwise log likelihood (for PSIS-LOO, WAIC and ArviZ) against a dense multivariate
//! normal written out here, with missing values marginalised by hand; its sum against the
//! kernel's statistics path; and the number of non-empty components K₊ against the closed form
//! of a case where it has one.
#![allow(clippy::needless_range_loop)]

use bgmm::{
    log_likelihood_at, log_likelihood_draws, occupied_components, pointwise_log_likelihood, Data,
    Model, ModelSpec, Params,
};

fn model(sharing: &str, k: usize, d: usize, concentration: f64) -> Model {
    let prior = if sharing == "full" || sharing == "tied" {
        r#""prior": "lognormal", "mu": 0.0, "sigma": 1.0, "eta": 2.0"#
    } else {
        r#""prior": "lognormal", "mu": 0.0, "sigma": 1.0"#
    };
    let spec: ModelSpec = serde_json::from_str(&format!(
        r#"{{"k": {k}, "weights": {{"concentration": {concentration}}},
            "locs": {{"loc": 0.0, "scale": 3.0}},
            "scale": {{"sharing": "{sharing}", {prior}}}}}"#
    ))
    .unwrap();
    spec.build(Some(d)).unwrap()
}

/// Component `c`'s covariance, dense, for any family.
fn sigma(m: &Model, p: &Params, c: usize) -> Vec<f64> {
    let d = m.d;
    if let Some(s) = m.family.covariance(&p.scales, c, d) {
        return s;
    }
    let mut s = vec![0.0; d * d];
    for j in 0..d {
        let v = m.family.scale(&p.scales, c, j, d);
        s[j * d + j] = v * v;
    }
    s
}

/// `log N(x | mu, S)` over the coordinates `obs`, by a Cholesky factor written out here.
fn log_normal(x: &[f64], mu: &[f64], s: &[f64], d: usize, obs: &[usize]) -> f64 {
    let m = obs.len();
    let mut l = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let mut v = s[obs[i] * d + obs[j]];
            for q in 0..j {
                v -= l[i * m + q] * l[j * m + q];
            }
            l[i * m + j] = if i == j { v.sqrt() } else { v / l[j * m + j] };
        }
    }
    let mut z = vec![0.0; m];
    for i in 0..m {
        let mut v = x[obs[i]] - mu[obs[i]];
        for q in 0..i {
            v -= l[i * m + q] * z[q];
        }
        z[i] = v / l[i * m + i];
    }
    let logdet: f64 = (0..m).map(|i| l[i * m + i].ln()).sum();
    -0.5 * z.iter().map(|v| v * v).sum::<f64>()
        - logdet
        - 0.5 * m as f64 * (2.0 * std::f64::consts::PI).ln()
}

fn reference(m: &Model, p: &Params, x: &[f64]) -> f64 {
    let d = m.d;
    let obs: Vec<usize> = (0..d).filter(|j| !x[*j].is_nan()).collect();
    if obs.is_empty() {
        return 0.0;
    }
    let terms: Vec<f64> = (0..m.k)
        .map(|c| {
            p.weights[c].ln() + log_normal(x, &p.locs[c * d..(c + 1) * d], &sigma(m, p, c), d, &obs)
        })
        .collect();
    let top = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln()
}

/// Every family, D = 1..3, with a block of missing values, a scattered pattern and a point
/// with none: each point's value equals the dense reference to 1e-12, the sum equals the
/// statistics path's log likelihood, and permuting the components changes nothing.
#[test]
fn pointwise_log_likelihood_is_the_mixture_density_of_each_point() {
    for sharing in [
        "shared",
        "component",
        "dimension",
        "diagonal",
        "tied",
        "full",
    ] {
        for d in 1..=3 {
            let m = model(sharing, 3, d, 2.0);
            let sim = bgmm::simulate(&m, 400, 5 + d as u64).unwrap();
            let p = sim.params.clone();
            let mut cols: Vec<Vec<f64>> = (0..d).map(|j| sim.data.col(j).to_vec()).collect();
            if d > 1 {
                for i in 0..400 {
                    for j in 0..d {
                        if (i < 40 && j == 0) || (i * 5 + j) % 7 == 0 || i == 123 {
                            cols[j][i] = f64::NAN;
                        }
                    }
                }
            }
            let data = if d > 1 {
                Data::with_missing(cols.clone()).unwrap()
            } else {
                Data::from_columns(cols.clone()).unwrap()
            };
            let pw = pointwise_log_likelihood(&m, &data, &p);
            assert_eq!(pw.len(), 400);
            for i in 0..400 {
                let x: Vec<f64> = (0..d).map(|j| cols[j][i]).collect();
                let r = reference(&m, &p, &x);
                assert!(
                    (pw[i] - r).abs() < 1e-12 * (1.0 + r.abs()),
                    "{sharing} d={d} point {i}: {} vs {r}",
                    pw[i]
                );
            }
            if d > 1 {
                assert!(pw[123].abs() < 1e-12, "a point with no value: {}", pw[123]);
            }
            let total: f64 = pw.iter().sum();
            let ll = log_likelihood_at(&m, &data, &p);
            assert!(
                (total - ll).abs() < 1e-9 * ll.abs(),
                "{sharing} d={d}: {total} vs {ll}"
            );
            // the components in another order: the same values
            let perm = [2, 0, 1];
            let per = m.family.permuted(&p.scales, &perm, d);
            let q = Params {
                weights: perm.iter().map(|c| p.weights[*c]).collect(),
                locs: perm
                    .iter()
                    .flat_map(|c| p.locs[c * d..(c + 1) * d].to_vec())
                    .collect(),
                scales: per,
            };
            let pq = pointwise_log_likelihood(&m, &data, &q);
            for i in 0..400 {
                assert!((pq[i] - pw[i]).abs() < 1e-12 * (1.0 + pw[i].abs()));
            }
        }
    }
}

/// The draws' values are each draw's pointwise values, in `[chain][draw][point]`; a draw of
/// the wrong length is an error naming it.
#[test]
fn log_likelihood_draws_keeps_chains_and_draws_in_order() {
    let m = model("diagonal", 2, 2, 2.0);
    let sim = bgmm::simulate(&m, 50, 3).unwrap();
    let draws: Vec<Vec<Vec<f64>>> = (0..3)
        .map(|c| {
            (0..4)
                .map(|s| {
                    let mut rng = bgmm::chain_rng(100 + 10 * c + s, 0);
                    bgmm::draw_params(&m, &mut rng).flat()
                })
                .collect()
        })
        .collect();
    let ll = log_likelihood_draws(&m, &sim.data, &draws).unwrap();
    assert_eq!(ll.len(), 3);
    for c in 0..3 {
        assert_eq!(ll[c].len(), 4);
        for s in 0..4 {
            let p = Params::from_flat(&m, &draws[c][s]);
            assert_eq!(ll[c][s], pointwise_log_likelihood(&m, &sim.data, &p));
        }
    }
    let mut bad = draws.clone();
    bad[1][2].pop();
    let e = log_likelihood_draws(&m, &sim.data, &bad).unwrap_err();
    assert!(e.to_string().contains("chain 1, draw 2"), "{e}");
}

/// Two identical components of weight ½ each: every point's assignment is a fair coin, so
/// K₊ = 1 with probability 2·2⁻ᴺ; with N = 3 that is ¼. 4000 draws: within 4 standard errors.
/// A third component of negligible weight is never occupied. The same seed gives the same
/// counts on one thread and on four.
#[test]
fn occupied_components_follow_the_allocation_law() {
    let m = model("shared", 3, 1, 0.1);
    let data = Data::from_1d(vec![-0.3, 0.1, 0.4]).unwrap();
    let p = Params {
        weights: vec![0.5 - 5e-13, 0.5 - 5e-13, 1e-12],
        locs: vec![0.0, 0.0, 50.0],
        scales: vec![1.0],
    };
    let draws = vec![vec![p.flat(); 2000]; 2];
    let occ = occupied_components(&m, &data, &draws, 7).unwrap();
    assert_eq!(occ.draws, 4000);
    assert_eq!(occ.thin, 1);
    assert_eq!(occ.probs.len(), 4);
    assert_eq!(occ.probs[0], 0.0);
    assert_eq!(occ.probs[3], 0.0);
    let se = (0.25f64 * 0.75 / 4000.0).sqrt();
    assert!((occ.probs[1] - 0.25).abs() < 4.0 * se, "{:?}", occ.probs);
    assert!((occ.probs[1] + occ.probs[2] - 1.0).abs() < 1e-12);
    assert_eq!(occ.mode(), 2);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let four = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let a = one.install(|| occupied_components(&m, &data, &draws, 7).unwrap());
    let b = four.install(|| occupied_components(&m, &data, &draws, 7).unwrap());
    assert_eq!(a, occ);
    assert_eq!(b, occ);
    let c = occupied_components(&m, &data, &draws, 8).unwrap();
    assert_ne!(c.probs, occ.probs);
}
