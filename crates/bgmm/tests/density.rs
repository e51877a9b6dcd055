//! The log density against independent references: Pyro's loss, a naive statrs sum, finite
#![allow(clippy::needless_range_loop)]
//! differences for every gradient and a numerical Jacobian determinant.

use bgmm::{log_joint, log_joint_grad, log_responsibilities, Transform};
use bgmm::{Data, LogDensity, MixtureDensity, Model, ModelSpec, Params, ScalePrior, Sharing};
use bgmm::{LocsSpec, OneOrMany, ScaleSpec, WeightsSpec};
use chacha20::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use statrs::distribution::{Continuous, Normal};
use statrs::function::gamma::ln_gamma;

fn spec(
    k: i64,
    d: i64,
    alpha: f64,
    prior: ScalePrior,
    sharing: Sharing,
    ordered: bool,
) -> ModelSpec {
    ModelSpec {
        k,
        d: Some(d),
        weights: WeightsSpec {
            concentration: OneOrMany::One(alpha),
        },
        locs: LocsSpec {
            loc: OneOrMany::Many((0..d).map(|j| 0.5 * j as f64).collect()),
            scale: OneOrMany::Many((0..d).map(|j| 4.0 + j as f64).collect()),
            ordered,
        },
        scale: ScaleSpec::from_prior(prior, sharing),
    }
}

const PRIORS: [ScalePrior; 6] = [
    ScalePrior::LogNormal {
        mu: 0.2,
        sigma: 0.5,
    },
    ScalePrior::InverseGamma {
        alpha: 2.0,
        beta: 1.5,
    },
    ScalePrior::HalfCauchy { scale: 3.0 },
    ScalePrior::HalfNormal { scale: 2.0 },
    ScalePrior::Gamma {
        alpha: 2.5,
        beta: 1.2,
    },
    ScalePrior::Exponential { rate: 0.7 },
];
const SHARINGS: [Sharing; 4] = [
    Sharing::Shared,
    Sharing::Component,
    Sharing::Dimension,
    Sharing::Diagonal,
];

fn random_data(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Data {
    Data::from_columns(
        (0..d)
            .map(|_| (0..n).map(|_| rng.random::<f64>() * 8.0 - 3.0).collect())
            .collect(),
    )
    .unwrap()
}

fn random_x(rng: &mut ChaCha8Rng, model: &Model) -> Vec<f64> {
    (0..model.n_unconstrained())
        .map(|_| rng.random::<f64>() * 2.0 - 1.0)
        .collect()
}

/// log p(x, θ) summed naively with statrs densities, w = probabilities, no logsumexp tricks.
fn naive_log_joint(model: &Model, data: &Data, p: &Params) -> f64 {
    let (k, d) = (model.k, model.d);
    // Dirichlet density written out with statrs's ln_gamma
    let a0: f64 = model.alpha.iter().sum();
    let mut lp = ln_gamma(a0) - model.alpha.iter().map(|&a| ln_gamma(a)).sum::<f64>()
        + (0..k)
            .map(|c| (model.alpha[c] - 1.0) * p.weights[c].ln())
            .sum::<f64>();
    for c in 0..k {
        for j in 0..d {
            lp += Normal::new(model.loc_mu[j], model.loc_sigma[j])
                .unwrap()
                .ln_pdf(p.loc(model, c, j));
        }
    }
    for &s in &p.scales {
        lp += model.family.scale_prior().unwrap().ln_pdf_dlog(s).0;
    }
    for i in 0..data.n() {
        let mut tot = 0.0;
        for c in 0..k {
            let mut dens = p.weights[c];
            for j in 0..d {
                dens *= Normal::new(p.loc(model, c, j), p.scale(model, c, j))
                    .unwrap()
                    .pdf(data.col(j)[i]);
            }
            tot += dens;
        }
        lp += tot.ln();
    }
    lp
}

#[test]
fn pyro_tutorial_loss_at_pyros_map() {
    // ../shared/peers/results/pyro_tutorial_5pt.json: Pyro's MAP (float32) and the float64
    // negative log joint there (scipy): 17.443254889813197.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/models/tutorial.toml"
    ))
    .unwrap();
    let model = toml::from_str::<ModelSpec>(&text)
        .unwrap()
        .build(Some(1))
        .unwrap();
    let data = Data::from_1d(vec![0.0, 1.0, 10.0, 11.0, 12.0]).unwrap();
    let p = Params {
        weights: vec![0.625, 0.375],
        locs: vec![10.984463691711426, 0.4988740384578705],
        scales: vec![0.6514337062835693],
    };
    let loss = -log_joint(&model, &data, &p);
    assert!(((loss - 17.443254889813197) / loss).abs() < 1e-9, "{loss}");
    // Pyro's own float32 loss at its MAP: 17.443254470825195
    assert!(((loss - 17.443254470825195) / loss).abs() < 1e-6, "{loss}");
}

#[test]
fn iris_reference_neg_log_joint() {
    // ../shared/peers/results/pyro_iris.json reference_map_f64 (scipy, float64).
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/models/iris.toml"
    ))
    .unwrap();
    let model = toml::from_str::<ModelSpec>(&text)
        .unwrap()
        .build(Some(1))
        .unwrap();
    let data = Data::from_1d(bgmm::datasets::iris_column("petal_length").unwrap()).unwrap();
    let p = Params {
        weights: vec![0.3331541861521335, 0.6668458138478666],
        locs: vec![1.4617939599305458, 4.904843583766605],
        scales: vec![0.17827350515392235, 0.8196919814729957],
    };
    let loss = -log_joint(&model, &data, &p);
    assert!(((loss - 210.20632240458963) / loss).abs() < 1e-10, "{loss}");
}

#[test]
fn log_joint_matches_naive_statrs_sum_for_every_prior_and_sharing() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for d in [1usize, 2, 3] {
        let data = random_data(&mut rng, 40, d);
        for prior in PRIORS {
            for sharing in SHARINGS {
                let model = spec(3, d as i64, 1.7, prior, sharing, false)
                    .build(None)
                    .unwrap();
                let x = random_x(&mut rng, &model);
                let p = Transform::new(&model).params(&x);
                let got = log_joint(&model, &data, &p);
                let want = naive_log_joint(&model, &data, &p);
                assert!(
                    (got - want).abs() < 1e-9 * want.abs().max(1.0),
                    "d={d} {prior:?} {sharing:?}: {got} vs {want}"
                );
            }
        }
    }
}

fn fd_check(dens: &MixtureDensity, x: &[f64], what: &str) {
    let n = dens.dim();
    let mut g = vec![0.0; n];
    let f0 = dens.logp_grad(x, &mut g);
    assert!(f0.is_finite(), "{what}: logp {f0}");
    assert!((dens.logp(x) - f0).abs() < 1e-10 * f0.abs().max(1.0));
    let mut scratch = vec![0.0; n];
    for i in 0..n {
        let h = 1e-5 * x[i].abs().max(1.0);
        let mut xp = x.to_vec();
        xp[i] += h;
        let fp = dens.logp_grad(&xp, &mut scratch);
        xp[i] = x[i] - h;
        let fm = dens.logp_grad(&xp, &mut scratch);
        let fd = (fp - fm) / (2.0 * h);
        let tol = 1e-6 * (1.0 + g[i].abs().max(fd.abs()));
        assert!(
            (g[i] - fd).abs() < tol,
            "{what}: coordinate {i}: analytic {} vs fd {fd}",
            g[i]
        );
    }
}

#[test]
fn gradients_match_finite_differences_for_every_prior_sharing_and_transform() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (k, d) in [(1usize, 1usize), (3, 1), (3, 2), (2, 3)] {
        let data = random_data(&mut rng, 30, d);
        for prior in PRIORS {
            for sharing in SHARINGS {
                for ordered in [false, true] {
                    let model = spec(k as i64, d as i64, 0.8, prior, sharing, ordered)
                        .build(None)
                        .unwrap();
                    for jacobian in [false, true] {
                        let dens = MixtureDensity::new(&model, &data, jacobian);
                        let x = random_x(&mut rng, &model);
                        fd_check(
                            &dens,
                            &x,
                            &format!("K={k} D={d} {prior:?} {sharing:?} ordered={ordered} jac={jacobian}"),
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn natural_gradient_matches_finite_differences_in_constrained_coordinates() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let data = random_data(&mut rng, 25, 2);
    let model = spec(3, 2, 1.3, PRIORS[1], Sharing::Diagonal, false)
        .build(None)
        .unwrap();
    let p = Params {
        weights: vec![0.2, 0.3, 0.5],
        locs: vec![0.1, -0.4, 1.2, 2.0, -1.0, 0.7],
        scales: vec![0.8, 1.1, 0.6, 1.9, 1.3, 0.9],
    };
    let (_, g) = log_joint_grad(&model, &data, &p);
    let h = 1e-6;
    for i in 0..6 {
        let mut pp = p.clone();
        pp.locs[i] += h;
        let mut pm = p.clone();
        pm.locs[i] -= h;
        let fd = (log_joint(&model, &data, &pp) - log_joint(&model, &data, &pm)) / (2.0 * h);
        assert!((g.locs[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()));
        let mut pp = p.clone();
        pp.scales[i] *= h.exp();
        let mut pm = p.clone();
        pm.scales[i] *= (-h).exp();
        let fd = (log_joint(&model, &data, &pp) - log_joint(&model, &data, &pm)) / (2.0 * h);
        assert!((g.log_scales[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()));
    }
}

/// log |det| of a square matrix by Gaussian elimination with partial pivoting.
fn log_abs_det(mut a: Vec<Vec<f64>>) -> f64 {
    let n = a.len();
    let mut ld = 0.0;
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, p);
        let piv = a[c][c];
        ld += piv.abs().ln();
        for r in c + 1..n {
            let f = a[r][c] / piv;
            for cc in c..n {
                a[r][cc] -= f * a[c][cc];
            }
        }
    }
    ld
}

#[test]
fn log_jacobian_matches_numerical_determinant() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (k, d, ordered) in [
        (2usize, 1usize, false),
        (4, 1, true),
        (3, 2, true),
        (4, 2, false),
    ] {
        let model = spec(
            k as i64,
            d as i64,
            1.0,
            PRIORS[0],
            Sharing::Component,
            ordered,
        )
        .build(None)
        .unwrap();
        let t = Transform::new(&model);
        let x = random_x(&mut rng, &model);
        // y = (w_0..w_{K-2}, locs, scales): the coordinates the densities are defined on
        let f = |x: &[f64]| {
            let p = t.params(x);
            let mut y = p.weights[..k - 1].to_vec();
            y.extend(p.locs);
            y.extend(p.scales);
            y
        };
        let n = x.len();
        let mut jac = vec![vec![0.0; n]; n];
        for i in 0..n {
            let h = 1e-6;
            let mut xp = x.clone();
            xp[i] += h;
            let yp = f(&xp);
            xp[i] -= 2.0 * h;
            let ym = f(&xp);
            for r in 0..n {
                jac[r][i] = (yp[r] - ym[r]) / (2.0 * h);
            }
        }
        let want = log_abs_det(jac);
        let got = t.unpack(&x).log_jac;
        assert!(
            (got - want).abs() < 1e-6,
            "K={k} D={d} ordered={ordered}: {got} vs {want}"
        );
    }
}

#[test]
fn pack_inverts_unpack() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for ordered in [false, true] {
        let model = spec(4, 2, 1.0, PRIORS[2], Sharing::Diagonal, ordered)
            .build(None)
            .unwrap();
        let t = Transform::new(&model);
        let x = random_x(&mut rng, &model);
        let back = t.pack(&t.params(&x));
        for (a, b) in x.iter().zip(&back) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}

#[test]
fn same_result_whatever_the_thread_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let data = random_data(&mut rng, 3 * bgmm::CHUNK + 17, 2);
    let model = spec(3, 2, 1.0, PRIORS[0], Sharing::Diagonal, false)
        .build(None)
        .unwrap();
    let x = random_x(&mut rng, &model);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let dens = MixtureDensity::new(&model, &data, true);
            let mut g = vec![0.0; dens.dim()];
            let f = dens.logp_grad(&x, &mut g);
            (f, g)
        })
    };
    let (f1, g1) = run(1);
    for t in [2, 3, 8] {
        let (f, g) = run(t);
        assert_eq!(f.to_bits(), f1.to_bits());
        assert!(g.iter().zip(&g1).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn responsibilities_are_normalised_posteriors() {
    let model = spec(2, 1, 1.0, PRIORS[0], Sharing::Shared, false)
        .build(None)
        .unwrap();
    let data = Data::from_1d(vec![0.0, 5.0, 10.0]).unwrap();
    let p = Params {
        weights: vec![0.25, 0.75],
        locs: vec![0.0, 10.0],
        scales: vec![2.0],
    };
    let r = log_responsibilities(&model, &data, &p);
    // at x = 5 (equidistant) the posterior is the prior weights
    assert!((r[1][0].exp() - 0.25).abs() < 1e-14);
    for row in &r {
        assert!((row.iter().map(|v| v.exp()).sum::<f64>() - 1.0).abs() < 1e-14);
    }
    // closed form at x = 0: w0 N(0|0,2) / (w0 N(0|0,2) + w1 N(0|10,2)) = 1 / (1 + 3 e^{-12.5})
    assert!((r[0][0].exp() - 1.0 / (1.0 + 3.0 * (-12.5f64).exp())).abs() < 1e-15);
}

/// A weighted likelihood (a subsample standing for more points): the value is the prior plus
/// the weight times the likelihood, and its gradient matches finite differences.
#[test]
fn weighted_likelihood_value_and_gradient() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let data = random_data(&mut rng, 40, 2);
    let model = spec(
        3,
        2,
        1.0,
        ScalePrior::LogNormal {
            mu: 0.0,
            sigma: 1.0,
        },
        Sharing::Diagonal,
        false,
    )
    .build(None)
    .unwrap();
    let x = random_x(&mut rng, &model);
    let plain = MixtureDensity::new(&model, &data, true);
    let weighted = MixtureDensity::new(&model, &data, true).with_weight(25.0);
    let p = Transform::new(&model).params(&x);
    // prior + jacobian = plain − likelihood; weighted = that + 25 · likelihood
    let lik = bgmm::log_likelihood_at(&model, &data, &p);
    let expect = plain.logp(&x) - lik + 25.0 * lik;
    assert!((weighted.logp(&x) - expect).abs() < 1e-9 * expect.abs());
    fd_check(&weighted, &x, "weight 25");
}

/// Found by the property tests (tests/gradients_prop.rs): beyond f64's range the log density
/// was NaN (a log-scale coordinate of −793 underflows the scale to 0, and a point equal to its
/// location gives 0 · ∞) or finite with an infinite gradient (a data term near −1.7e308 whose
/// log-scale derivative is twice as large). Both are now −∞ with a zero gradient.
#[test]
fn points_beyond_f64_range_have_minus_infinite_density_not_nan() {
    let model = spec(
        1,
        1,
        1.0,
        ScalePrior::LogNormal {
            mu: 0.0,
            sigma: 1.0,
        },
        Sharing::Shared,
        false,
    )
    .build(None)
    .unwrap();
    let data = Data::from_1d(vec![0.5]).unwrap();
    // locs[0] = 0.5 = the point, scale = exp(−793) = 0
    let dens = MixtureDensity::new(&model, &data, true);
    let mut g = vec![1.0; 2];
    assert_eq!(dens.logp_grad(&[0.5, -793.0], &mut g), f64::NEG_INFINITY);
    assert_eq!(g, vec![0.0, 0.0]);
    assert_eq!(dens.logp(&[0.5, -793.0]), f64::NEG_INFINITY);
    // an ordered gap of exp(800) overflows the second location
    let ordered = spec(2, 1, 1.0, PRIORS[0], Sharing::Shared, true)
        .build(None)
        .unwrap();
    let dens = MixtureDensity::new(&ordered, &data, false);
    let mut g = vec![1.0; 4];
    assert_eq!(
        dens.logp_grad(&[0.0, 0.0, 800.0, 0.0], &mut g),
        f64::NEG_INFINITY
    );
    assert!(g.iter().all(|v| *v == 0.0));
    // five points 310 from the location with scale e^−348.66: each term −0.5 z² ≈ −3.3e307
    // sums to a finite −1.66e308, but d/d log s = Σ z² overflows
    let data = Data::from_1d(vec![0.0; 5]).unwrap();
    let dens = MixtureDensity::new(&model, &data, false);
    let x = [310.0, -348.66];
    assert!(dens.logp(&x).is_finite() && dens.logp(&x) < -1e308);
    let mut g = vec![1.0; 2];
    assert_eq!(dens.logp_grad(&x, &mut g), f64::NEG_INFINITY);
    assert_eq!(g, vec![0.0, 0.0]);
    // and a moderate point is untouched
    assert!(dens.logp_grad(&[0.3, 0.1], &mut g).is_finite());
    assert!(g.iter().all(|v| v.is_finite() && *v != 0.0));
}
