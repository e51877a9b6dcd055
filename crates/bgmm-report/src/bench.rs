//! `bgmm bench`: the data kernel's throughput next to the scalar baseline, measured in the same
//! run, and the end-to-end jobs the peers time (their numbers are in ../shared/peers/results).

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Result};

use bgmm::{log_likelihood_grad, log_likelihood_scalar, Transform};
use bgmm::{Data, LogDensity, MixtureDensity, ModelSpec, Params, ScalePrior, Sharing};
use bgmm::{LocsSpec, OneOrMany, ScaleSpec, WeightsSpec};

/// The blog post's model (seed 002), as in `examples/models/iris.toml`.
pub const IRIS_TOML: &str = include_str!("../../../examples/models/iris.toml");
/// The Pyro tutorial's model (seed 001).
pub const TUTORIAL_TOML: &str = include_str!("../../../examples/models/tutorial.toml");
/// The NumPyro notebook's model (seed 003) and its 2500 points.
pub const NUMPYRO_TOML: &str = include_str!("../../../examples/models/numpyro.toml");
const NUMPYRO_CSV: &str = include_str!("../../../examples/data/numpyro_2500.csv");

/// The NumPyro notebook's 2500 points (seed 003).
pub fn numpyro_data() -> Result<Data> {
    let values = NUMPYRO_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse::<f64>())
        .collect::<std::result::Result<Vec<f64>, _>>()
        .map_err(|e| anyhow!("embedded numpyro data: {e}"))?;
    Data::from_1d(values).map_err(|e| anyhow!("{e}"))
}

/// What `bgmm bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bench {
    /// The data kernel against the scalar baseline.
    Kernel,
    /// The peers' end-to-end fits.
    Fit,
    /// How often the MAP search reaches the best mode known, and its time.
    Search,
    /// All three.
    All,
}

/// The benchmark's model of K components in D dimensions: axis-aligned scales shared as
/// `sharing` says, or (`None`) full covariances, scales × LKJ(2).
fn spec(k: usize, d: usize, sharing: Option<Sharing>) -> ModelSpec {
    let prior = ScalePrior::LogNormal {
        mu: 0.0,
        sigma: 0.5,
    };
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
        scale: match sharing {
            Some(sharing) => ScaleSpec::from_prior(prior, sharing),
            None => ScaleSpec::from_cov_prior(
                bgmm::CovPrior::Lkj {
                    scale: prior,
                    eta: 2.0,
                },
                "full",
            ),
        },
    }
}

/// Seconds per call: repeat until at least `budget` seconds (at least `min_reps` calls), and
/// keep the fastest call (the least disturbed by the other jobs of a shared machine).
fn time<F: FnMut()>(mut f: F, budget: f64, min_reps: usize) -> f64 {
    let t0 = Instant::now();
    let mut best = f64::INFINITY;
    let mut reps = 0;
    while reps < min_reps || t0.elapsed().as_secs_f64() < budget {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
        reps += 1;
    }
    best
}

fn one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| anyhow!("thread pool: {e}"))?;
    Ok(pool.install(f))
}

pub fn kernel_table(quick: bool, json: bool) -> Result<()> {
    println!("Log likelihood + gradient, one core (rayon pool of 1 thread), million point·components per second");
    println!("(kernel: the vectorised kernel every engine runs; scalar: the plain loop it replaced, same run)");
    println!("(family: diagonal, or full covariances, whose kernel solves a triangular system per point and component)");
    println!(
        "{:>8} {:>3} {:>3} {:>9} {:>12} {:>12} {:>7} {:>14}",
        "family", "D", "K", "N", "kernel M/s", "scalar M/s", "ratio", "logp_grad M/s"
    );
    let mut cases: Vec<(usize, usize, bool)> = vec![(1, 3, false)];
    for d in [1, 2, 8] {
        for k in [2, 5, 16] {
            cases.push((d, k, false));
            if d > 1 {
                cases.push((d, k, true));
            }
        }
    }
    let ns: &[usize] = if quick {
        &[1_000, 100_000]
    } else {
        &[1_000, 100_000, 10_000_000]
    };
    for &n in ns {
        for &(d, k, full) in &cases {
            let family = if full { "full" } else { "diagonal" };
            let model = spec(k, d, (!full).then_some(Sharing::Diagonal))
                .build(Some(d))
                .map_err(|e| anyhow!("{e}"))?;
            let sim = bgmm::simulate(&model, n, 20_240_501).map_err(|e| anyhow!("{e}"))?;
            let (data, params) = (sim.data, sim.params);
            let x = Transform::new(&model).pack(&params);
            let dens = MixtureDensity::new(&model, &data, true);
            let mut g = vec![0.0; dens.dim()];
            let (budget, reps) = if n >= 10_000_000 { (0.0, 1) } else { (0.3, 3) };
            let (tk, ts, te) = one_thread(|| {
                let tk = time(
                    || {
                        std::hint::black_box(log_likelihood_grad(&model, &data, &params));
                    },
                    budget,
                    reps,
                );
                let ts = time(
                    || {
                        let mut ng = bgmm::NaturalGrad::zeros(&model);
                        std::hint::black_box(log_likelihood_scalar(
                            &model,
                            &data,
                            &params,
                            Some(&mut ng),
                        ));
                    },
                    budget,
                    reps,
                );
                let te = time(
                    || {
                        std::hint::black_box(dens.logp_grad(&x, &mut g));
                    },
                    budget,
                    reps,
                );
                (tk, ts, te)
            })?;
            let pc = (n * k) as f64 / 1e6;
            println!(
                "{family:>8} {d:>3} {k:>3} {n:>9} {:>12.1} {:>12.1} {:>6.2}x {:>14.1}",
                pc / tk,
                pc / ts,
                ts / tk,
                pc / te
            );
            if json {
                println!(
                    "{}",
                    serde_json::json!({"bench": "kernel", "family": family, "d": d, "k": k, "n": n,
                        "kernel_mpcs": pc / tk, "scalar_mpcs": pc / ts, "logp_grad_mpcs": pc / te})
                );
            }
        }
    }
    Ok(())
}

/// The data of `../shared/peers/sklearn_scale.py` (`generate`), bit for bit up to libm
/// rounding: SplitMix64 uniforms, a categorical draw, Box–Muller.
pub fn sklearn_data(n: usize, d: usize, k: usize, seed: u64) -> (Data, Params) {
    struct SplitMix(u64);
    impl SplitMix {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 * (2.0f64).powi(-53)
        }
    }
    let mut p = SplitMix(seed);
    let means: Vec<f64> = (0..k * d).map(|_| -10.0 + 20.0 * p.next()).collect();
    let sds: Vec<f64> = (0..k * d).map(|_| 0.5 + 1.5 * p.next()).collect();
    let g: Vec<f64> = (0..k).map(|_| 1.0 + p.next()).collect();
    let total: f64 = g.iter().sum();
    let w: Vec<f64> = g.iter().map(|v| v / total).collect();
    let mut cw = vec![0.0; k];
    let mut acc = 0.0;
    for (c, wc) in w.iter().enumerate() {
        acc += wc;
        cw[c] = acc;
    }
    let mut xs = SplitMix(seed + 1);
    let mut cols = vec![Vec::with_capacity(n); d];
    for _ in 0..n {
        let u = xs.next();
        let z = cw.iter().position(|&c| u < c).unwrap_or(k - 1);
        for (j, col) in cols.iter_mut().enumerate() {
            let (u1, u2) = (xs.next(), xs.next());
            let eps = (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            col.push(means[z * d + j] + sds[z * d + j] * eps);
        }
    }
    let data = Data::from_columns(cols).expect("finite data");
    (
        data,
        Params {
            weights: w,
            locs: means,
            scales: sds,
        },
    )
}

pub fn fit_table(quick: bool, json: bool) -> Result<()> {
    use bgmm::{fit, FitOptions};
    println!("\nEnd to end (wall seconds, all cores; the best of several runs for the short jobs)");
    let row = |name: &str, secs: f64, extra: String| {
        println!("{name:<52} {secs:>10.4} s  {extra}");
        if json {
            println!(
                "{}",
                serde_json::json!({"bench": "fit", "job": name, "seconds": secs, "detail": extra})
            );
        }
    };
    // seed 001: the tutorial's 5 points, 100 restarts + 200 Adam steps (and the polish)
    let tut: ModelSpec = toml::from_str(TUTORIAL_TOML).map_err(|e| anyhow!("{e}"))?;
    let model = tut.build(Some(1)).map_err(|e| anyhow!("{e}"))?;
    let data = Data::from_1d(vec![0.0, 1.0, 10.0, 11.0, 12.0]).map_err(|e| anyhow!("{e}"))?;
    let pyro = FitOptions {
        init: bgmm::Init::Pyro,
        candidates: 1,
        polish: false,
        ..FitOptions::default()
    };
    let t = time(|| drop(fit(&model, &data, &pyro)), 1.0, 5);
    row(
        "seed 001 MAP: 100 restarts + 200 Adam (Pyro's recipe)",
        t,
        String::new(),
    );
    let t = time(|| drop(fit(&model, &data, &FitOptions::default())), 1.0, 5);
    row(
        "seed 001 MAP: bgmm default (auto search, L-BFGS)",
        t,
        String::new(),
    );
    // seed 002: iris petal length
    let iris: ModelSpec = toml::from_str(IRIS_TOML).map_err(|e| anyhow!("{e}"))?;
    let model = iris.build(Some(1)).map_err(|e| anyhow!("{e}"))?;
    let petal = bgmm::datasets::iris_column("petal_length").ok_or_else(|| anyhow!("iris"))?;
    let data = Data::from_1d(petal).map_err(|e| anyhow!("{e}"))?;
    let t = time(|| drop(fit(&model, &data, &FitOptions::default())), 1.0, 5);
    let f = fit(&model, &data, &FitOptions::default()).map_err(|e| anyhow!("{e}"))?;
    row(
        "seed 002 iris MAP: bgmm default",
        t,
        format!("loss {:.6}", f.loss),
    );
    // seed 003: NumPyro's NUTS on 2500 points, 1000 warmup + 2000 draws
    let np: ModelSpec = toml::from_str(NUMPYRO_TOML).map_err(|e| anyhow!("{e}"))?;
    let model = np.build(Some(1)).map_err(|e| anyhow!("{e}"))?;
    let data = numpyro_data()?;
    // the default diagonal mass matrix and nutpie's low-rank one, each at the default target
    // acceptance (0.8) and at 0.9: minimum bulk ESS, leapfrog steps per draw, ESS per second
    for (chains, low_rank, target_accept) in [
        (1usize, false, 0.8),
        (1, true, 0.8),
        (1, false, 0.9),
        (1, true, 0.9),
        (4, false, 0.8),
        (4, true, 0.8),
    ] {
        use bgmm::NutsOptions;
        use bgmm::SampleOptions;
        let opts = SampleOptions {
            nuts: NutsOptions {
                chains,
                warmup: 1000,
                draws: 2000,
                seed: 42,
                low_rank,
                target_accept,
                ..NutsOptions::default()
            },
            ..SampleOptions::default()
        };
        let (mut min_ess, mut leapfrog) = (0.0, 0.0);
        let t = time(
            || {
                let post = bgmm::sample(&model, &data, &opts).expect("sample");
                min_ess = post
                    .summary
                    .iter()
                    .map(|(_, s)| s.ess_bulk)
                    .fold(f64::INFINITY, f64::min);
                let steps: u64 = post.chains.iter().flat_map(|c| &c.n_leapfrog).sum();
                let draws: usize = post.chains.iter().map(|c| c.n_leapfrog.len()).sum();
                leapfrog = steps as f64 / draws as f64;
            },
            0.0,
            3,
        );
        let mass = if low_rank { "low-rank" } else { "diagonal" };
        row(
            &format!("seed 003 NUTS, {chains} chain(s), {mass}, target {target_accept}"),
            t,
            format!(
                "min bulk ESS {min_ess:.0}, {:.0} ESS/s, {leapfrog:.2} leapfrog/draw",
                min_ess / t
            ),
        );
    }
    if !quick {
        for (d, family) in [
            (2usize, bgmm::CovarianceFamily::Diagonal),
            (8, bgmm::CovarianceFamily::Diagonal),
            (8, bgmm::CovarianceFamily::Full),
        ] {
            let (data, truth) = sklearn_data(1_000_000, d, 5, 20_240_501);
            let spec = ModelSpec::quick(5, family, &data);
            let model = spec.build(Some(d)).map_err(|e| anyhow!("{e}"))?;
            let opts = FitOptions::default();
            let t0 = Instant::now();
            let f = fit(&model, &data, &opts).map_err(|e| anyhow!("{e}"))?;
            let secs = t0.elapsed().as_secs_f64();
            let n = data.n() as f64;
            let ll = bgmm::log_likelihood_at(&model, &data, &f.params) / n;
            // the generating parameters are axis-aligned: as the family's values
            let truth_model = ModelSpec::quick(5, Sharing::Diagonal, &data)
                .build(Some(d))
                .map_err(|e| anyhow!("{e}"))?;
            let ll_true = bgmm::log_likelihood_at(&truth_model, &data, &truth) / n;
            row(
                &format!("{} MAP, N = 1e6, D = {d}, K = 5 (sklearn's data)", family.name()),
                secs,
                format!(
                    "mean LL {ll:.5} (generating parameters {ll_true:.5}); {} L-BFGS iterations in all, converged: {}",
                    f.polish_iterations, f.converged
                ),
            );
        }
    }
    Ok(())
}

/// Run a benchmark and print its tables (`long`: with [`Bench::Search`], redo the very long
/// search for the best mode known of every case and write it to this file instead).
pub fn run_bench(
    what: Bench,
    quick: bool,
    json: bool,
    long: Option<&Path>,
    only_new: bool,
) -> Result<()> {
    if long.is_some() && what != Bench::Search {
        return Err(anyhow!("--long goes with bench search"));
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "bgmm {} bench on {cpu}, {} threads",
        env!("CARGO_PKG_VERSION"),
        rayon::current_num_threads()
    );
    match what {
        Bench::Kernel => kernel_table(quick, json),
        Bench::Fit => fit_table(quick, json),
        Bench::Search => match long {
            Some(file) => crate::search_bench::long(file, only_new),
            None => crate::search_bench::bench(quick, json),
        },
        Bench::All => {
            kernel_table(quick, json)?;
            fit_table(quick, json)?;
            crate::search_bench::bench(quick, json)
        }
    }
}
