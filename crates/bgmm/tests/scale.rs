//! Sampling and VI at any scale of the data: the posterior of the data multiplied by `f` is
//! the posterior of the data, scaled by `f` (the default model's priors follow the data; an
//! explicit model's priors are scaled alike), for `f` from 1e-250 to 1e250, with the chains
//! as healthy as at unit scale; and the engines' density (the affine reparameterisation) has
//! the gradient of its values and is the model's unconstrained density at the mapped point.

use bgmm::{
    sample, vi, Data, LocsSpec, LogDensity, MixtureDensity, Model, ModelSpec, NutsOptions,
    OneOrMany, Posterior, Rescaled, SampleOptions, ScalePrior, ScaleSpec, Sharing, Standardised,
    ViOptions, WeightsSpec,
};

const SCALES: [f64; 4] = [1e-250, 1e-10, 1e10, 1e250];

/// Deterministic standard normals (an LCG through Box–Muller).
fn normals(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut u = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (a, b) = (u(), u());
            (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
        })
        .collect()
}

/// Two well separated clusters in one dimension (60 around −3 with sd 1, 90 around 3 with sd
/// 0.8), times `f`.
fn data_1d(f: f64) -> Data {
    let z = normals(150, 7);
    let x: Vec<f64> = z
        .iter()
        .enumerate()
        .map(|(i, z)| if i < 60 { -3.0 + z } else { 3.0 + 0.8 * z } * f)
        .collect();
    Data::from_1d(x).unwrap()
}

/// An explicit model (not the default one): ordered locations, 2-D, diagonal scales, priors
/// in the units of the data times `f`.
fn explicit_model(f: f64) -> Model {
    ModelSpec {
        k: 2,
        d: Some(2),
        weights: WeightsSpec {
            concentration: OneOrMany::One(2.0),
        },
        locs: LocsSpec {
            loc: OneOrMany::One(0.5 * f),
            scale: OneOrMany::One(10.0 * f),
            ordered: true,
        },
        scale: ScaleSpec::from_prior(
            ScalePrior::LogNormal {
                mu: f.ln(),
                sigma: 1.0,
            },
            Sharing::Diagonal,
        ),
    }
    .build(None)
    .unwrap()
}

fn data_2d(f: f64) -> Data {
    let z = normals(240, 3);
    let (a, b) = z.split_at(120);
    let x = (0..120)
        .map(|i| if i < 50 { -2.5 + a[i] } else { 3.0 + 0.7 * a[i] } * f)
        .collect();
    let y = (0..120)
        .map(|i| if i < 50 { 1.0 + 0.5 * b[i] } else { -1.0 + 1.5 * b[i] } * f)
        .collect();
    Data::from_columns(vec![x, y]).unwrap()
}

fn quick_model(data: &Data) -> Model {
    ModelSpec::quick(2, Sharing::Component, data)
        .build(Some(data.d()))
        .unwrap()
}

fn sample_opts() -> SampleOptions {
    SampleOptions {
        engine: bgmm::Engine::Nuts,
        nuts: NutsOptions {
            chains: 4,
            warmup: 500,
            draws: 500,
            seed: 5,
            ..NutsOptions::default()
        },
        ..SampleOptions::default()
    }
}

/// The posterior at scale `f` against the one at unit scale: every value's mean within Monte
/// Carlo error (5 combined MCSEs, plus a relative 1e-9 for the rounding of the scaling) and its
/// sd within 15 %, weights unscaled, locations and scales scaled by `f`.
fn assert_scaled(name: &str, unit: &Posterior, at: &Posterior, f: f64, mcse: bool) {
    for ((n, u), (_, s)) in unit.summary.iter().zip(&at.summary) {
        let c = if n.starts_with("weights") { 1.0 } else { f };
        let (m, sd) = (s.mean / c, s.sd / c);
        let err = if mcse {
            5.0 * (u.mcse_mean.powi(2) + (s.mcse_mean / c).powi(2)).sqrt()
        } else {
            // VI: two guides fitted on differently scaled coordinates, each to its own
            // optimisation noise, and 1000 draws each
            0.1 * u.sd + 5.0 * u.sd / 1000f64.sqrt()
        };
        assert!(
            (m - u.mean).abs() <= err + 1e-9 * u.mean.abs(),
            "{name} × {f:e}: {n} mean {m} (scaled back) against {} at unit scale (± {err})",
            u.mean
        );
        assert!(
            (sd / u.sd - 1.0).abs() < 0.15,
            "{name} × {f:e}: {n} sd {sd} (scaled back) against {} at unit scale",
            u.sd
        );
    }
}

fn assert_healthy(name: &str, p: &Posterior, f: f64) {
    assert_eq!(p.divergences, 0, "{name} × {f:e}: divergences");
    for (n, s) in &p.summary {
        assert!(
            s.r_hat <= 1.01,
            "{name} × {f:e}: {n} R-hat {} ({:?})",
            s.r_hat,
            p.warnings
        );
        assert!(s.ess_bulk > 400.0, "{name} × {f:e}: {n} ESS {}", s.ess_bulk);
    }
}

#[test]
fn nuts_posterior_of_scaled_data_is_the_posterior_scaled() {
    // the default model (priors from the data) and an explicit ordered 2-D model
    type Case = (&'static str, fn(f64) -> Data, fn(&Data, f64) -> Model);
    let cases: [Case; 2] = [
        ("default model", data_1d, |d, _| quick_model(d)),
        ("ordered 2-D model", data_2d, |_, f| explicit_model(f)),
    ];
    for (name, data, model) in cases {
        let unit_data = data(1.0);
        let unit = sample(&model(&unit_data, 1.0), &unit_data, &sample_opts()).unwrap();
        assert_healthy(name, &unit, 1.0);
        for f in SCALES {
            let d = data(f);
            let m = model(&d, f);
            let p =
                sample(&m, &d, &sample_opts()).unwrap_or_else(|e| panic!("{name} × {f:e}: {e}"));
            assert_healthy(name, &p, f);
            assert_scaled(name, &unit, &p, f, true);
            // the draws are the model's: unconstrained draws map to the constrained ones
            let t = bgmm::Transform::new(&m);
            assert_eq!(t.params(&p.chains[0].draws[7]).flat(), p.raw_draws[0][7]);
        }
    }
}

#[test]
fn vi_posterior_of_scaled_data_is_the_posterior_scaled() {
    let opts = ViOptions {
        steps: 3000,
        seed: 2,
        ..ViOptions::default()
    };
    let unit_data = data_1d(1.0);
    let (unit, unit_res) = vi(&quick_model(&unit_data), &unit_data, &opts).unwrap();
    assert_eq!(unit_res.skipped, 0);
    for f in SCALES {
        let d = data_1d(f);
        let (p, res) = vi(&quick_model(&d), &d, &opts).unwrap();
        assert_eq!(res.skipped, 0, "× {f:e}: draws skipped");
        assert!(p.warnings.is_empty(), "× {f:e}: {:?}", p.warnings);
        assert_scaled("VI", &unit, &p, f, false);
        // the guide is on the model's coordinates: its ELBO is the unit one's shifted by the
        // data's Jacobian, −N ln f
        let tail = |e: &[f64]| e[e.len() - 100..].iter().sum::<f64>() / 100.0;
        let shift = -(d.n() as f64) * f.ln();
        let (a, b) = (tail(&res.elbo), tail(&unit_res.elbo) + shift);
        assert!(
            (a - b).abs() < 1.0 + 1e-9 * b.abs(),
            "× {f:e}: ELBO {a} against {b}"
        );
        // guide sds of the locations scale with the data
        let loc = 1; // K − 1 = 1 stick-breaking coordinate first
        let r = res.sd[loc] / (unit_res.sd[loc] * f);
        assert!((r - 1.0).abs() < 0.15, "× {f:e}: guide sd ratio {r}");
    }
}

/// Central differences of the engines' density against its gradient, and its values and
/// gradient against the model's own density at the mapped point (where f64 holds that).
#[test]
fn the_reparameterised_density_has_the_gradient_of_its_values() {
    for f in [1e-250, 1e-10, 1e10, 1e250] {
        for (data, model) in [
            (data_2d(f), explicit_model(f)),
            (data_1d(f), quick_model(&data_1d(f))),
        ] {
            let std = Standardised::of(&model, &data)
                .unwrap()
                .expect("badly scaled");
            let dens = Rescaled::new(&model, &data, Some(&std));
            let n = dens.dim();
            let y: Vec<f64> = normals(n, 9).iter().map(|z| 0.3 * z).collect();
            let mut g = vec![0.0; n];
            let lp = dens.logp_grad(&y, &mut g);
            assert!(lp.is_finite(), "× {f:e}: {lp}");
            let mut scratch = vec![0.0; n];
            for i in 0..n {
                let h = 1e-5;
                let (mut a, mut b) = (y.clone(), y.clone());
                a[i] += h;
                b[i] -= h;
                let fd = (dens.logp_grad(&a, &mut scratch) - dens.logp_grad(&b, &mut scratch))
                    / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() <= 1e-5 * (1.0 + g[i].abs()) + 1e-9 * lp.abs() / h,
                    "× {f:e}: coordinate {i}: finite difference {fd} against gradient {}",
                    g[i]
                );
            }
            if f.abs().log10().abs() < 100.0 {
                // the model's density itself is representable here
                let x = dens.map().to_model(&y);
                let own = MixtureDensity::new(&model, &data, true);
                let mut gx = vec![0.0; n];
                let lx = own.logp_grad(&x, &mut gx);
                assert!(
                    (lx - lp).abs() < 1e-9 * lx.abs(),
                    "× {f:e}: {lp} against the model's {lx}"
                );
                for i in 0..n {
                    let gy = gx[i] * dens.map().scale(i);
                    assert!(
                        (gy - g[i]).abs() < 1e-6 * (1.0 + g[i].abs()),
                        "× {f:e}: coordinate {i}: {} against the model's {gy}",
                        g[i]
                    );
                }
                // and the constrained values are the model's at x
                assert_eq!(dens.constrain(&y), own.constrain(&x));
            }
        }
    }
}

#[test]
fn data_at_unit_scale_are_not_reparameterised() {
    let d = data_1d(1.0);
    assert!(Standardised::of(&quick_model(&d), &d).unwrap().is_none());
}

/// One point 1e6 away from a cluster of sd 0.01: the cluster's unit, not the outlier's, is the
/// engines' unit (VI's guide starts at 0.1 units), at any scale.
#[test]
fn an_outlier_does_not_set_the_unit() {
    for f in [1e-10, 1.0, 1e10] {
        let mut x: Vec<f64> = normals(100, 5).iter().map(|z| 5.0 + 0.01 * z).collect();
        x.push(5.0 + 1e6);
        let data = Data::from_1d(x.iter().map(|v| v * f).collect()).unwrap();
        // one scale shared: the outlier's component is pinned there, no label switching
        let model = ModelSpec {
            k: 2,
            d: Some(1),
            weights: WeightsSpec {
                concentration: OneOrMany::One(1.0),
            },
            locs: LocsSpec {
                loc: OneOrMany::One(5.0 * f),
                scale: OneOrMany::One(1e7 * f),
                ordered: false,
            },
            scale: ScaleSpec::from_prior(
                ScalePrior::LogNormal {
                    mu: (0.01 * f).ln(),
                    sigma: 1.0,
                },
                Sharing::Shared,
            ),
        }
        .build(None)
        .unwrap();
        let post = sample(&model, &data, &sample_opts()).unwrap();
        let (vi_post, _) = vi(&model, &data, &ViOptions::default()).unwrap();
        let r = post.reference.as_ref().unwrap();
        let c = if (r.locs[0] - 5.0 * f).abs() < (r.locs[1] - 5.0 * f).abs() {
            0
        } else {
            1
        };
        let name = format!("locs[{c}]");
        let of = |p: &Posterior| {
            p.summary
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap()
                .1
                .clone()
        };
        let sd = of(&post).sd;
        assert!(sd > 0.0 && sd < 0.01 * f, "× {f:e}: sd {sd}");
        for (engine, p) in [("NUTS", &post), ("VI", &vi_post)] {
            let m = of(p).mean;
            // at the cluster's mean
            let centre = x[..100].iter().sum::<f64>() / 100.0 * f;
            assert!(
                (m - centre).abs() < 0.3 * sd,
                "× {f:e}: {engine} {name} mean {m} (sd {sd})"
            );
        }
    }
    // an outlier 1e350 cluster spreads away: the data divided by the cluster's spread leave
    // f64, and the mean and sd standardise them instead
    let mut x: Vec<f64> = normals(50, 1).iter().map(|z| 1e-150 * z).collect();
    x.push(1e200);
    let data = Data::from_1d(x).unwrap();
    let s = Standardised::of(&quick_model(&data), &data)
        .unwrap()
        .unwrap();
    assert!(s
        .data
        .col(0)
        .iter()
        .all(|v| v.is_finite() && v.abs() < 100.0));
}
