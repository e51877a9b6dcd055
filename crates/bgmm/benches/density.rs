//! Throughput of the exact marginal log density and its gradient.
//!
//! Each group `D{d}_K{k}_N{n}` times, on the same data and point:
//! - `logp_grad`: `MixtureDensity::logp_grad` (log density + analytic gradient), the engines' cost;
//! - `logp_baseline`: `MixtureDensity::logp` (log density only, no gradient statistics),
//!
//! with throughput in elements = N·K (point·components per second). The model has a diagonal
//! scale (one per component and dimension) with a LogNormal prior; data and the point are a
//! draw from the model. Cases whose single evaluation exceeds 50 ms are skipped.
//!
//! `1thread_D1_K3_N100000` repeats the D = 1, K = 3, N = 1e5 case inside a one-thread rayon
//! pool: the per-core figure. `pyro_data` times one MAP-loss gradient (no Jacobian, called from
//! the main thread as `map::fit` does) on the data of Pyro's tutorial and iris runs, for a
//! per-step comparison with Pyro.
//!
//! `layout_D{d}_K{k}_N{n}` times `logp_grad` on the same points held column-major (a `Data`)
//! and row-major (a `DataView` of one N×D array, gathered block by block by the kernel): the
//! cost of reading a C-order numpy array without a copy.
//!
//! At the end a summary prints, for every case run, both times, the throughputs and the
//! gradient / baseline ratio (read back from criterion's `estimates.json`).
//!
//! `cargo bench -p bgmm --bench density -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use bgmm::density::Transform;
use bgmm::model::{LocsSpec, OneOrMany, ScaleSpec, WeightsSpec};
use bgmm::{Data, DataView, LogDensity, MixtureDensity, Model, ModelSpec, ScalePrior, Sharing};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};

const DIMS: [usize; 3] = [1, 2, 8];
const KS: [usize; 4] = [2, 3, 5, 16];
const NS: [usize; 2] = [1_000, 100_000];
/// Skip a case whose single `logp_grad` takes longer than this.
const MAX_ITER: Duration = Duration::from_millis(50);
const SEED: u64 = 20_240_501;

fn spec(k: usize, d: usize) -> ModelSpec {
    ModelSpec {
        k: k as i64,
        d: Some(d as i64),
        weights: WeightsSpec {
            concentration: OneOrMany::One(1.0),
        },
        locs: LocsSpec {
            loc: OneOrMany::One(0.0),
            scale: OneOrMany::One(4.0),
            ordered: false,
        },
        scale: ScaleSpec::from_prior(
            ScalePrior::LogNormal {
                mu: 0.0,
                sigma: 0.5,
            },
            Sharing::Diagonal,
        ),
    }
}

/// A model with K components in D dimensions, N points drawn from it, and the drawn parameters
/// as an unconstrained point.
struct Case {
    model: Model,
    data: Data,
    x: Vec<f64>,
}

impl Case {
    fn new(d: usize, k: usize, n: usize) -> Case {
        let model = spec(k, d).build(Some(d)).expect("model");
        let sim = bgmm::simulate::simulate(&model, n, SEED).expect("simulate");
        let x = Transform::new(&model).pack(&sim.params);
        Case {
            model,
            data: sim.data,
            x,
        }
    }

    fn density(&self) -> MixtureDensity<'_> {
        MixtureDensity::new(&self.model, &self.data, true)
    }
}

fn group_name(d: usize, k: usize, n: usize) -> String {
    format!("D{d}_K{k}_N{n}")
}

/// Time `logp_grad` and `logp` of one case in one group.
fn bench_case(c: &mut Criterion, group: &str, case: &Case, n: usize, k: usize) {
    let dens = case.density();
    let mut grad = vec![0.0; dens.dim()];
    let lp = dens.logp_grad(&case.x, &mut grad);
    assert!(lp.is_finite(), "{group}: log density {lp}");
    assert!((dens.logp(&case.x) - lp).abs() <= 1e-9 * lp.abs().max(1.0));

    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements((n * k) as u64));
    g.sampling_mode(SamplingMode::Auto);
    g.bench_function("logp_grad", |b| {
        b.iter(|| dens.logp_grad(black_box(&case.x), black_box(&mut grad)))
    });
    g.bench_function("logp_baseline", |b| {
        b.iter(|| dens.logp(black_box(&case.x)))
    });
    g.finish();
}

fn grid(c: &mut Criterion) {
    for &d in &DIMS {
        for &k in &KS {
            for &n in &NS {
                let case = Case::new(d, k, n);
                let dens = case.density();
                let mut grad = vec![0.0; dens.dim()];
                let t = Instant::now();
                dens.logp_grad(&case.x, &mut grad);
                let once = t.elapsed();
                let group = group_name(d, k, n);
                if once > MAX_ITER {
                    eprintln!("skipping {group}: one logp_grad took {once:?} (> {MAX_ITER:?})");
                    continue;
                }
                bench_case(c, &group, &case, n, k);
            }
        }
    }
}

/// The headline per-core figure: D = 1, K = 3, N = 1e5 inside a one-thread rayon pool.
fn one_thread(c: &mut Criterion) {
    let (d, k, n) = (1, 3, 100_000);
    let case = Case::new(d, k, n);
    let dens = case.density();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let mut g = c.benchmark_group(format!("1thread_{}", group_name(d, k, n)));
    g.throughput(Throughput::Elements((n * k) as u64));
    g.bench_function("logp_grad", |b| {
        b.iter_custom(|iters| {
            pool.install(|| {
                let mut grad = vec![0.0; dens.dim()];
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(dens.logp_grad(black_box(&case.x), black_box(&mut grad)));
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("logp_baseline", |b| {
        b.iter_custom(|iters| {
            pool.install(|| {
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(dens.logp(black_box(&case.x)));
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

/// Cases of the layout comparison (D, K, N).
const LAYOUTS: [(usize, usize, usize); 3] = [(1, 3, 100_000), (2, 3, 100_000), (8, 5, 100_000)];

/// Column-major (a `Data`) against row-major (a view of one N×D array) on the same points.
fn layout(c: &mut Criterion) {
    for (d, k, n) in LAYOUTS {
        let case = Case::new(d, k, n);
        let rows: Vec<f64> = (0..n)
            .flat_map(|i| (0..d).map(move |j| (i, j)))
            .map(|(i, j)| case.data.col(j)[i])
            .collect();
        let view = DataView::row_major(&rows, n, d).expect("view");
        let cols = case.density();
        let rowm = MixtureDensity::from_view(&case.model, view, true);
        let mut grad = vec![0.0; cols.dim()];
        let mut grad_r = vec![0.0; cols.dim()];
        assert_eq!(
            cols.logp_grad(&case.x, &mut grad).to_bits(),
            rowm.logp_grad(&case.x, &mut grad_r).to_bits()
        );
        let mut g = c.benchmark_group(format!("layout_{}", group_name(d, k, n)));
        g.throughput(Throughput::Elements((n * k) as u64));
        g.bench_function("column_major", |b| {
            b.iter(|| cols.logp_grad(black_box(&case.x), black_box(&mut grad)))
        });
        g.bench_function("row_major", |b| {
            b.iter(|| rowm.logp_grad(black_box(&case.x), black_box(&mut grad_r)))
        });
        g.finish();
    }
}

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

/// One MAP-loss gradient on the data of Pyro's runs (per-step cost of `map::fit`'s Adam).
fn pyro_data(c: &mut Criterion) {
    let tutorial = (
        load_model("tutorial", 1),
        Data::from_1d(bgmm::datasets::TUTORIAL.to_vec()).expect("data"),
    );
    let iris = (
        load_model("iris", 1),
        Data::from_1d(bgmm::datasets::iris_column("petal_length").expect("iris")).expect("data"),
    );
    let mut g = c.benchmark_group("pyro_data");
    for (name, (model, data)) in [("tutorial_N5_K2", &tutorial), ("iris_N150_K2", &iris)] {
        let dens = MixtureDensity::new(model, data, false);
        // a point inside the support: equal weights, locations at two data points, unit scales
        let mut x = vec![0.0; dens.dim()];
        x[model.k - 1] = data.col(0)[0];
        x[model.k] = data.col(0)[data.n() - 1];
        let mut grad = vec![0.0; dens.dim()];
        assert!(dens.logp_grad(&x, &mut grad).is_finite());
        g.throughput(Throughput::Elements((data.n() * model.k) as u64));
        g.bench_function(BenchmarkId::new("logp_grad", name), |b| {
            b.iter(|| dens.logp_grad(black_box(&x), black_box(&mut grad)))
        });
    }
    g.finish();
}

/// Where criterion writes its results (its own rule, less the `cargo metadata` call).
fn criterion_dir() -> PathBuf {
    if let Some(v) = std::env::var_os("CRITERION_HOME") {
        PathBuf::from(v)
    } else if let Some(v) = std::env::var_os("CARGO_TARGET_DIR") {
        PathBuf::from(v).join("criterion")
    } else {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/criterion"
        ))
    }
}

/// The estimate criterion prints (the slope when it fitted one, else the mean), in seconds,
/// if this run wrote it.
fn estimate(group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
    let ns = v["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| v["mean"]["point_estimate"].as_f64())?;
    Some(ns * 1e-9)
}

fn fmt_time(s: f64) -> String {
    if s < 1e-6 {
        format!("{:.1} ns", s * 1e9)
    } else if s < 1e-3 {
        format!("{:.2} µs", s * 1e6)
    } else {
        format!("{:.3} ms", s * 1e3)
    }
}

fn summary(since: SystemTime) {
    let mut rows = Vec::new();
    let mut push = |group: String, n: usize, k: usize| {
        let grad = estimate(&group, "logp_grad", since);
        let base = estimate(&group, "logp_baseline", since);
        if grad.is_some() || base.is_some() {
            rows.push((group, (n * k) as f64, grad, base));
        }
    };
    for &d in &DIMS {
        for &k in &KS {
            for &n in &NS {
                push(group_name(d, k, n), n, k);
            }
        }
    }
    push(format!("1thread_{}", group_name(1, 3, 100_000)), 100_000, 3);
    let layouts: Vec<(String, f64, f64)> = LAYOUTS
        .iter()
        .filter_map(|&(d, k, n)| {
            let group = format!("layout_{}", group_name(d, k, n));
            let col = estimate(&group, "column_major", since)?;
            let row = estimate(&group, "row_major", since)?;
            Some((group, col, row))
        })
        .collect();
    if !layouts.is_empty() {
        println!("\nLayout (logp_grad; ratio = row-major / column-major):");
        for (group, col, row) in layouts {
            println!(
                "{group:<28} {:>12} {:>12} {:>7.3}",
                fmt_time(col),
                fmt_time(row),
                row / col
            );
        }
    }
    if rows.is_empty() {
        return;
    }
    println!(
        "\nSummary (M = 10^6 point·components per second; ratio = logp_grad / logp_baseline):"
    );
    println!(
        "{:<24} {:>12} {:>10} {:>12} {:>10} {:>7}",
        "case", "logp_grad", "M/s", "baseline", "M/s", "ratio"
    );
    let cell = |t: Option<f64>, e: f64| match t {
        Some(t) => (fmt_time(t), format!("{:.1}", e / t * 1e-6)),
        None => ("-".into(), "-".into()),
    };
    for (group, e, grad, base) in rows {
        let (gt, gr) = cell(grad, e);
        let (bt, br) = cell(base, e);
        let ratio = match (grad, base) {
            (Some(g), Some(b)) => format!("{:.2}", g / b),
            _ => "-".into(),
        };
        println!("{group:<24} {gt:>12} {gr:>10} {bt:>12} {br:>10} {ratio:>7}");
    }
}

fn main() {
    let since = SystemTime::now();
    let mut c = Criterion::default().configure_from_args();
    grid(&mut c);
    one_thread(&mut c);
    pyro_data(&mut c);
    layout(&mut c);
    c.final_summary();
    summary(since);
}
