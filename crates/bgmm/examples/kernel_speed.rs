use std::time::Instant;
fn main() {
    let spec: bgmm::ModelSpec = toml::from_str("k = 3\nd = 1\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 4.0\n[scale]\nsharing = \"component\"\nprior = \"lognormal\"\nmu = 0.0\nsigma = 0.5\n").unwrap();
    let model = spec.build(Some(1)).unwrap();
    let sim = bgmm::simulate::simulate(&model, 100_000, 1).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        for _ in 0..5 {
            let t = Instant::now();
            let reps = 200;
            for _ in 0..reps {
                std::hint::black_box(bgmm::density::log_likelihood_grad(
                    &model,
                    &sim.data,
                    &sim.params,
                ));
            }
            let s = t.elapsed().as_secs_f64() / reps as f64;
            println!("{:.1} M pc/s", 3e5 / s / 1e6);
        }
    });
}
