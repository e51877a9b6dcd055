//! The SMC engine's evidence `log p(x)` against brute-force numerical integration of
//! `prior × likelihood` over the whole parameter space (the trapezoid rule on a grid over the
//! unconstrained coordinates, with the Jacobian: spectrally accurate for these smooth,
//! quickly decaying integrands), on problems small enough to integrate: one component in 1-D
//! (in units of 1e5, so the engine runs on the standardised problem and maps the likelihood
//! back), one diagonal component in 2-D (the evidence factorises over the dimensions), and two
//! components with a shared scale in 1-D (four coordinates, including the region where one
//! component is empty and its location roams the prior).

use bgmm::{Data, Engine, MixtureDensity, Model, ModelSpec, SampleOptions, SmcOptions};
use rayon::prelude::*;

fn model(toml_text: &str, d: usize) -> Model {
    toml::from_str::<ModelSpec>(toml_text)
        .unwrap()
        .build(Some(d))
        .unwrap()
}

/// `log ∫ exp(logp)` over the grid with `points` nodes per coordinate between `bounds`.
fn grid_log_integral(
    logp: &(dyn Fn(&[f64]) -> f64 + Sync),
    bounds: &[(f64, f64)],
    points: usize,
) -> f64 {
    let dim = bounds.len();
    let h: Vec<f64> = bounds
        .iter()
        .map(|(lo, hi)| (hi - lo) / (points - 1) as f64)
        .collect();
    let total = points.pow(dim as u32);
    let values: Vec<f64> = (0..total)
        .into_par_iter()
        .map(|mut i| {
            let mut x = vec![0.0; dim];
            let mut w = 0.0;
            for j in 0..dim {
                let at = i % points;
                i /= points;
                x[j] = bounds[j].0 + at as f64 * h[j];
                // the trapezoid rule's half weights at the ends
                if at == 0 || at == points - 1 {
                    w += 0.5f64.ln();
                }
            }
            logp(&x) + w
        })
        .collect();
    let m = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + values.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
        + h.iter().map(|v| v.ln()).sum::<f64>()
}

fn smc_evidence(model: &Model, data: &Data) -> bgmm::Evidence {
    let opts = SampleOptions {
        engine: Engine::Smc(SmcOptions {
            runs: 8,
            particles: 1000,
            seed: 11,
            ..SmcOptions::default()
        }),
        ..SampleOptions::default()
    };
    let post = bgmm::sample(model, data, &opts).unwrap();
    assert_eq!(post.chains.len(), 8);
    assert!(post.chains.iter().all(|c| c.draws.len() == 1000));
    post.evidence.expect("SMC reports the evidence")
}

fn assert_close(ev: &bgmm::Evidence, exact: f64, what: &str) {
    println!(
        "{what}: SMC {:.4} ± {:.4}, brute force {exact:.4}",
        ev.log_evidence, ev.std_error
    );
    assert!(ev.std_error > 0.0 && ev.std_error < 0.1, "{what}: {ev:?}");
    assert!(
        (ev.log_evidence - exact).abs() < 4.0 * ev.std_error + 0.02,
        "{what}: SMC {} ± {} against brute force {exact}",
        ev.log_evidence,
        ev.std_error
    );
}

#[test]
fn one_component_in_units_of_1e5_matches_quadrature() {
    let xs = [
        3.1, 2.4, 4.0, 3.6, 2.2, 3.3, 2.9, 4.4, 3.0, 2.7, 3.8, 3.5, 2.5, 3.2, 4.1,
    ];
    let x: Vec<f64> = xs.iter().map(|v| v * 1e5).collect();
    let data = Data::from_columns(vec![x]).unwrap();
    let m = model(
        "k = 1\nd = 1\n[weights]\nconcentration = 1.0\n[locs]\nloc = 200000.0\nscale = 300000.0\n\
         [scale]\nsharing = \"component\"\nprior = \"lognormal\"\nmu = 10.8\nsigma = 1.0\n",
        1,
    );
    let dens = MixtureDensity::new(&m, &data, true);
    // location ± 2.5e5 around the mean; log-scale over e^8.5 … e^13.5 (5e3 … 7e5)
    let exact = grid_log_integral(&|x| dens.logp(x), &[(0.8e5, 5.8e5), (8.5, 13.5)], 400);
    assert_close(&smc_evidence(&m, &data), exact, "K = 1, 1-D, units 1e5");
}

#[test]
fn one_diagonal_component_in_2d_is_the_product_of_its_dimensions() {
    let rows: Vec<Vec<f64>> = (0..20)
        .map(|i| {
            let t = i as f64;
            vec![(t * 0.7).sin() * 1.2 + 0.5, (t * 1.3).cos() * 0.6 - 1.0]
        })
        .collect();
    let data = Data::from_rows(&rows).unwrap();
    let prior = "[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 3.0\n\
                 [scale]\nsharing = \"diagonal\"\nprior = \"gamma\"\nalpha = 2.0\nbeta = 2.0\n";
    let m = model(&format!("k = 1\nd = 2\n{prior}"), 2);
    // each dimension alone: the same prior on its location and scale
    let mut exact = 0.0;
    for j in 0..2 {
        let col = Data::from_columns(vec![rows.iter().map(|r| r[j]).collect()]).unwrap();
        let m1 = model(
            &format!("k = 1\nd = 1\n{}", prior.replace("diagonal", "component")),
            1,
        );
        let dens = MixtureDensity::new(&m1, &col, true);
        exact += grid_log_integral(&|x| dens.logp(x), &[(-4.0, 4.0), (-4.0, 2.5)], 500);
    }
    assert_close(&smc_evidence(&m, &data), exact, "K = 1, 2-D diagonal");
}

#[test]
fn two_components_with_a_shared_scale_match_a_4d_grid() {
    let x = vec![
        -2.3, -1.6, -2.0, -2.8, -1.9, -2.2, 1.7, 2.4, 2.0, 1.5, 2.2, 2.9,
    ];
    let data = Data::from_columns(vec![x]).unwrap();
    let m = model(
        "k = 2\nd = 1\n[weights]\nconcentration = 2.0\n[locs]\nloc = 0.0\nscale = 3.0\n\
         [scale]\nsharing = \"shared\"\nprior = \"lognormal\"\nmu = -0.5\nsigma = 0.5\n",
        1,
    );
    let dens = MixtureDensity::new(&m, &data, true);
    // the stick coordinate, both locations over the prior's ±3.3 sd (an empty component's
    // location roams it), the log-scale
    let exact = grid_log_integral(
        &|x| dens.logp(x),
        &[(-9.0, 9.0), (-10.0, 10.0), (-10.0, 10.0), (-3.0, 1.0)],
        72,
    );
    assert_close(&smc_evidence(&m, &data), exact, "K = 2, 1-D, shared scale");
}
