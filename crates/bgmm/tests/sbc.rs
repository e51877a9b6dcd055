//! Simulation-based calibration (Talts et al. 2018) of collapsed NUTS: draw θ from the prior,
//! data given θ, sample the posterior; the rank of θ among the posterior draws is uniform if
//! the sampler is right.

use bgmm::nuts::NutsOptions;
use bgmm::posterior::{sample_posterior, SampleOptions};
use bgmm::simulate::simulate;
use bgmm::ModelSpec;

const MODEL: &str = r#"
k = 2
d = 1
[weights]
concentration = 2.0
[locs]
loc = 0.0
scale = 3.0
ordered = true
[scale]
sharing = "component"
prior = "lognormal"
mu = 0.0
sigma = 0.3
"#;

#[test]
fn sbc_ranks_are_uniform_for_a_two_component_ordered_model() {
    let model = toml::from_str::<ModelSpec>(MODEL)
        .unwrap()
        .build(None)
        .unwrap();
    let reps = 200;
    // 400 kept draws thinned by 4 → L = 100 draws, ranks 0..=100 in 10 bins (the last bin
    // holds 11 ranks: expected counts are weighted accordingly)
    let (draws, thin) = (400usize, 4usize);
    let l = draws / thin;
    let names = model.constrained_names();
    let mut ranks = vec![Vec::with_capacity(reps); names.len()];
    for r in 0..reps {
        let sim = simulate(&model, 20, 1000 + r as u64).unwrap();
        let truth = sim.params.flat();
        let opts = SampleOptions {
            nuts: NutsOptions {
                chains: 1,
                warmup: 300,
                draws: draws as u64,
                seed: r as u64,
                ..NutsOptions::default()
            },
            ..SampleOptions::default()
        };
        let post = sample_posterior(&model, &sim.data, &opts, &|_| {}).unwrap();
        for (i, rk) in ranks.iter_mut().enumerate() {
            let below = post.draws[0]
                .iter()
                .step_by(thin)
                .filter(|d| d[i] < truth[i])
                .count();
            rk.push(below);
        }
    }
    // chi-square over 10 bins, 9 degrees of freedom; critical value at level 0.001: 27.877
    let bins = 10;
    for (name, rk) in names.iter().zip(&ranks) {
        let mut counts = vec![0.0; bins];
        for &x in rk {
            counts[(x * bins / (l + 1)).min(bins - 1)] += 1.0;
        }
        let mut chi2 = 0.0;
        for (b, c) in counts.iter().enumerate() {
            let lo = (b * (l + 1)).div_ceil(bins);
            let hi = ((b + 1) * (l + 1)).div_ceil(bins);
            let expected = reps as f64 * (hi - lo) as f64 / (l + 1) as f64;
            chi2 += (c - expected).powi(2) / expected;
        }
        eprintln!("{name}: chi2 {chi2:.2} counts {counts:?}");
        assert!(
            chi2 < 27.877,
            "{name}: chi-square {chi2:.2} over 9 dof (counts {counts:?})"
        );
    }
}
