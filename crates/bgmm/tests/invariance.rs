//! Invariances a mixture must have: relabelling the components leaves the log density
//! unchanged; reordering the data leaves the MAP unchanged; an affine change of units of the
//! data, with the priors changed alike, changes the MAP alike.

use bgmm::log_joint;
use bgmm::{fit, FitOptions};
use bgmm::{Data, ModelSpec, Params, ScalePrior, Sharing};
use bgmm::{LocsSpec, OneOrMany, ScaleSpec, WeightsSpec};

fn spec(k: i64, d: i64, loc: f64, scale: f64, mu: f64, sharing: Sharing) -> ModelSpec {
    ModelSpec {
        k,
        d: Some(d),
        weights: WeightsSpec {
            concentration: OneOrMany::One(1.0),
        },
        locs: LocsSpec {
            loc: OneOrMany::One(loc),
            scale: OneOrMany::One(scale),
            ordered: false,
        },
        scale: ScaleSpec::from_prior(ScalePrior::LogNormal { mu, sigma: 1.0 }, sharing),
    }
}

#[test]
fn relabelling_components_leaves_the_log_density_unchanged() {
    for sharing in [
        Sharing::Shared,
        Sharing::Component,
        Sharing::Dimension,
        Sharing::Diagonal,
    ] {
        let model = spec(3, 2, 0.0, 5.0, 0.0, sharing).build(None).unwrap();
        let sim = bgmm::simulate(&model, 500, 11).unwrap();
        let base = log_joint(&model, &sim.data, &sim.params);
        for perm in [[0, 2, 1], [1, 0, 2], [2, 1, 0], [1, 2, 0]] {
            let p = sim.params.permuted(&model, &perm);
            let v = log_joint(&model, &sim.data, &p);
            assert!(
                (v - base).abs() < 1e-12 * base.abs(),
                "{sharing:?} {perm:?}: {v} vs {base}"
            );
        }
    }
}

fn sorted_locs(p: &Params) -> Vec<f64> {
    let mut v = p.locs.clone();
    v.sort_by(f64::total_cmp);
    v
}

#[test]
fn reordering_the_data_leaves_the_map_unchanged() {
    let x = bgmm::datasets::iris_column("petal_length").unwrap();
    let model = spec(2, 1, 0.0, 10.0, 0.0, Sharing::Component)
        .build(Some(1))
        .unwrap();
    let a = fit(
        &model,
        &Data::from_1d(x.clone()).unwrap(),
        &FitOptions::default(),
    )
    .unwrap();
    // a fixed shuffle (multiplicative step through the indices) and the reversal
    let n = x.len();
    let shuffled: Vec<f64> = (0..n).map(|i| x[(i * 37 + 11) % n]).collect();
    let reversed: Vec<f64> = x.iter().rev().copied().collect();
    for (what, y) in [("shuffled", shuffled), ("reversed", reversed)] {
        let b = fit(&model, &Data::from_1d(y).unwrap(), &FitOptions::default()).unwrap();
        assert!(a.converged && b.converged);
        assert!(
            (a.loss - b.loss).abs() < 1e-10 * a.loss.abs(),
            "{what}: {} vs {}",
            a.loss,
            b.loss
        );
        for (u, v) in sorted_locs(&a.params).iter().zip(sorted_locs(&b.params)) {
            assert!((u - v).abs() < 1e-7, "{what}: locs {u} vs {v}");
        }
    }
}

#[test]
fn changing_units_changes_the_map_alike() {
    // x' = a x + b, with locs ~ Normal(a·0 + b, a·10) and scale ~ LogNormal(ln a, 1): the MAP
    // maps to locs' = a locs + b, scales' = a scales, the same weights, and the loss shifts by
    // (N·D + K·D + number of scales) · ln a (the Jacobians of the data and of the priors).
    let x = bgmm::datasets::iris_column("petal_length").unwrap();
    let base_model = spec(2, 1, 0.0, 10.0, 0.0, Sharing::Component)
        .build(Some(1))
        .unwrap();
    let base = fit(
        &base_model,
        &Data::from_1d(x.clone()).unwrap(),
        &FitOptions::default(),
    )
    .unwrap();
    for (a, b) in [
        (2.5, 0.0),
        (1000.0, -5e4),
        (1e-6, 3.0),
        (1e-8, 0.0),
        (1e9, 1e9),
    ] {
        let model = spec(2, 1, b, 10.0 * a, f64::ln(a), Sharing::Component)
            .build(Some(1))
            .unwrap();
        let y: Vec<f64> = x.iter().map(|v| a * v + b).collect();
        let f = fit(&model, &Data::from_1d(y).unwrap(), &FitOptions::default()).unwrap();
        assert!(f.converged, "a = {a}: {}", f.message);
        let expect_loss = base.loss + (150.0 + 2.0 + 2.0) * a.ln();
        assert!(
            (f.loss - expect_loss).abs() < 1e-8 * expect_loss.abs().max(1.0),
            "a = {a}: loss {} vs {expect_loss}",
            f.loss
        );
        let mut want: Vec<f64> = base.params.locs.iter().map(|l| a * l + b).collect();
        want.sort_by(f64::total_cmp);
        for (u, v) in sorted_locs(&f.params).iter().zip(&want) {
            assert!(
                (u - v).abs() < 1e-7 * a.max(v.abs()),
                "a = {a}: locs {u} vs {v}"
            );
        }
        let mut s: Vec<f64> = f.params.scales.clone();
        s.sort_by(f64::total_cmp);
        let mut w: Vec<f64> = base.params.scales.iter().map(|v| a * v).collect();
        w.sort_by(f64::total_cmp);
        for (u, v) in s.iter().zip(&w) {
            assert!((u / v - 1.0).abs() < 1e-7, "a = {a}: scales {u} vs {v}");
        }
    }
}

/// The rows of `data` in the order `perm`.
fn permuted(data: &Data, perm: &[usize]) -> Data {
    Data::from_columns(
        data.columns()
            .iter()
            .map(|c| perm.iter().map(|&i| c[i]).collect())
            .collect(),
    )
    .unwrap()
}

#[test]
fn reordering_the_data_leaves_the_posterior_unchanged() {
    use bgmm::NutsOptions;
    use bgmm::SampleOptions;
    use bgmm::ViOptions;
    use bgmm::{LogDensity, MixtureDensity};

    // 2-D, three components with per-component, per-dimension scales
    let model = spec(3, 2, 0.0, 5.0, 0.0, Sharing::Diagonal)
        .build(None)
        .unwrap();
    let data = bgmm::simulate(&model, 300, 11).unwrap().data;
    let n = data.n();
    let orders: Vec<(&str, Vec<usize>)> = vec![
        ("shuffled", (0..n).map(|i| (i * 97 + 5) % n).collect()),
        ("reversed", (0..n).rev().collect()),
    ];

    // the order matters to the last bits of the log density (a sum over points): the
    // equality below comes from the engines' canonical order, not from luck
    let x0 = vec![0.1; MixtureDensity::new(&model, &data, true).dim()];
    let mut g = vec![0.0; x0.len()];
    let lp = MixtureDensity::new(&model, &data, true).logp_grad(&x0, &mut g);
    let differs = orders.iter().any(|(_, p)| {
        let other = permuted(&data, p);
        MixtureDensity::new(&model, &other, true).logp_grad(&x0, &mut g) != lp
    });
    assert!(
        differs,
        "every ordering gave the same bits: the test shows nothing"
    );

    let opts = SampleOptions {
        nuts: NutsOptions {
            chains: 2,
            warmup: 200,
            draws: 200,
            seed: 5,
            ..NutsOptions::default()
        },
        ..SampleOptions::default()
    };
    let a = bgmm::sample(&model, &data, &opts).unwrap();
    let vi_opts = ViOptions {
        steps: 300,
        draws: 200,
        seed: 5,
        ..ViOptions::default()
    };
    let (va, _) = bgmm::vi(&model, &data, &vi_opts).unwrap();
    for (what, p) in &orders {
        let other = permuted(&data, p);
        let b = bgmm::sample(&model, &other, &opts).unwrap();
        assert_eq!(a.summary, b.summary, "NUTS, {what}");
        assert_eq!(a.draws, b.draws, "NUTS, {what}");
        let (vb, _) = bgmm::vi(&model, &other, &vi_opts).unwrap();
        assert_eq!(va.summary, vb.summary, "VI, {what}");
    }
}
