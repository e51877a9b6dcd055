//! `map::fit` end to end with the default options (100 restarts screened by initial loss, the
//! best 10 candidates each optimised by 200 Adam steps and an L-BFGS polish to a vanishing
//! gradient, the lowest proper mode kept) on:
//! - `tutorial`: Pyro's GMM tutorial data [0, 1, 10, 11, 12], examples/models/tutorial.toml;
//! - `iris`: iris petal length (N = 150), examples/models/iris.toml;
//! - `homework2d_N10000`: 10,000 points simulated (seed 59) from
//!   examples/models/homework-2d-component.toml (K = 3, D = 2).
//!
//! Pyro's tutorial optimises only the best restart, so for a phase-by-phase comparison with its
//! run (init search 0.34 s, 200 Adam steps 2.03 s) the tutorial is also timed with
//! `candidates = 1`: `1cand` (restarts + Adam + polish), `1cand_init_only` (restarts only:
//! 0 steps, no polish) and `1cand_init_adam200` (restarts + 200 Adam steps, no polish). Iris is
//! also timed as `adam3000_lr0.05` (one start, 3000 Adam steps at lr 0.05, no polish), the
//! work of Pyro's iris run, and the 2-D case with `1cand`.
//!
//! `cargo bench -p bgmm --bench fit -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bgmm::{fit, FitOptions};
use bgmm::{Data, Model, ModelSpec};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn load_model(name: &str, d: usize) -> Model {
    let path = format!(
        "{}/../../examples/models/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    toml::from_str::<ModelSpec>(&text)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .build(Some(d))
        .expect("model")
}

fn bench_fit(
    c: &mut Criterion,
    name: &str,
    variants: &[(&str, FitOptions)],
    model: &Model,
    data: &Data,
) {
    let mut g = c.benchmark_group(format!("fit_{name}"));
    g.sample_size(10);
    for (label, opts) in variants {
        // report what is being timed once, outside the measurement
        let f = fit(model, data, opts).expect("fit");
        eprintln!(
            "fit_{name}/{label}: loss {:.6}, {} Adam steps, {} polish iterations, converged {}, {} candidates",
            f.loss, f.steps, f.polish_iterations, f.converged, f.history.candidate_loss.len()
        );
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| fit(black_box(model), black_box(data), opts).expect("fit"))
        });
    }
    g.finish();
}

fn tutorial(c: &mut Criterion) {
    let model = load_model("tutorial", 1);
    let data = Data::from_1d(bgmm::datasets::TUTORIAL.to_vec()).expect("data");
    let default = FitOptions::default();
    let one = FitOptions {
        candidates: 1,
        ..default.clone()
    };
    let variants = [
        ("default", default),
        ("1cand", one.clone()),
        (
            "1cand_init_only",
            FitOptions {
                steps: 0,
                polish: false,
                ..one.clone()
            },
        ),
        (
            "1cand_init_adam200",
            FitOptions {
                polish: false,
                ..one
            },
        ),
    ];
    bench_fit(c, "tutorial", &variants, &model, &data);
}

fn iris(c: &mut Criterion) {
    let model = load_model("iris", 1);
    let data =
        Data::from_1d(bgmm::datasets::iris_column("petal_length").expect("iris")).expect("data");
    let default = FitOptions::default();
    let variants = [
        ("default", default.clone()),
        (
            "adam3000_lr0.05",
            FitOptions {
                restarts: 1,
                candidates: 1,
                steps: 3000,
                lr: 0.05,
                polish: false,
                ..default
            },
        ),
    ];
    bench_fit(c, "iris", &variants, &model, &data);
}

fn homework2d(c: &mut Criterion) {
    let model = load_model("homework-2d-component", 2);
    let sim = bgmm::simulate(&model, 10_000, 59).expect("simulate");
    let variants = [
        ("default", FitOptions::default()),
        (
            "1cand",
            FitOptions {
                candidates: 1,
                ..FitOptions::default()
            },
        ),
    ];
    bench_fit(c, "homework2d_N10000", &variants, &model, &sim.data);
}

criterion_group!(benches, tutorial, iris, homework2d);
criterion_main!(benches);
