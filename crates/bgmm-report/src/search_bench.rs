//! `bgmm bench search`: how often the default MAP search reaches the best mode known, and
//! its time against the search bgmm had before (Pyro's starts only, `--init pyro`), both
//! measured in the same run.
//!
//! The cases: the seeds' models simulated at several seeds, iris (one to four columns, K 2–6),
//! the embedded real data sets (faithful, penguins, wine; with full and tied covariances on
//! iris, penguins and wine), and data made with known hard structure (overlapping components,
//! unequal weights, outliers, many components). For each, the best proper mode known from a
//! very long search is kept in `examples/search-bench/best-known.json` with the search that
//! found it; `--long` redoes that search and writes the file.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use chacha20::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use bgmm::FitOptions;
use bgmm::Init;
use bgmm::{CovarianceFamily, Data, Model, ModelSpec, Sharing};

/// The best modes known, as the repository keeps them.
const BEST_KNOWN: &str = include_str!("../../../examples/search-bench/best-known.json");

/// The seeds' model files, by name.
const SEED_MODELS: [(&str, &str); 8] = [
    (
        "homework-1d",
        include_str!("../../../examples/models/homework-1d.toml"),
    ),
    (
        "homework-2d-component",
        include_str!("../../../examples/models/homework-2d-component.toml"),
    ),
    (
        "homework-2d-dimension",
        include_str!("../../../examples/models/homework-2d-dimension.toml"),
    ),
    (
        "homework-2d-shared",
        include_str!("../../../examples/models/homework-2d-shared.toml"),
    ),
    ("iris", include_str!("../../../examples/models/iris.toml")),
    (
        "tutorial",
        include_str!("../../../examples/models/tutorial.toml"),
    ),
    (
        "numpyro",
        include_str!("../../../examples/models/numpyro.toml"),
    ),
    (
        "low_dim_gauss_mix",
        include_str!("../../../examples/models/low_dim_gauss_mix.toml"),
    ),
];

/// One benchmark case: a model and data.
pub struct Case {
    /// `sim-numpyro-3`, `iris-PLPW-k4-diagonal`, `faithful-k3-diagonal`, …
    pub id: String,
    /// The model.
    pub model: Model,
    /// The data.
    pub data: Data,
}

/// The best mode known for a case.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Known {
    /// Its loss; `None` when no proper mode was found.
    pub loss: Option<f64>,
    /// The search that found it first.
    pub found_by: String,
}

/// The file of best modes known.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BestKnown {
    /// How the values were found.
    pub how: String,
    /// By case id.
    pub cases: BTreeMap<String, Known>,
}

fn model_from_toml(name: &str, text: &str, d: usize) -> Result<Model> {
    let spec: ModelSpec = toml::from_str(text).with_context(|| format!("model {name}"))?;
    spec.build(Some(d))
        .map_err(|e| anyhow!("model {name}: {e}"))
}

fn quick(k: i64, family: impl Into<CovarianceFamily>, data: &Data) -> Result<Model> {
    ModelSpec::quick(k, family, data)
        .build(Some(data.d()))
        .map_err(|e| anyhow!("{e}"))
}

fn builtin(name: &str, columns: &[&str]) -> Result<Data> {
    let cols: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    let (data, _) = bgmm_io::read_data(&format!("builtin:{name}"), Some(&cols))?;
    Ok(data)
}

/// Points from a mixture with the given weights, locations and per-dimension standard
/// deviations (`extra`: points uniform on a box, as outliers), rounded to 1e-4.
fn made(
    seed: u64,
    n: usize,
    weights: &[f64],
    locs: &[Vec<f64>],
    sds: &[Vec<f64>],
    outliers: usize,
    bounds: (f64, f64),
) -> Result<Data> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = locs[0].len();
    let mut cols = vec![Vec::with_capacity(n + outliers); d];
    let std = Normal::new(0.0, 1.0).map_err(|e| anyhow!("{e}"))?;
    for _ in 0..n {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut c = weights.len() - 1;
        for (i, w) in weights.iter().enumerate() {
            acc += w;
            if u < acc {
                c = i;
                break;
            }
        }
        for j in 0..d {
            let e: f64 = std.sample(&mut rng);
            cols[j].push(round4(locs[c][j] + sds[c][j] * e));
        }
    }
    for _ in 0..outliers {
        for col in cols.iter_mut() {
            col.push(round4(rng.random_range(bounds.0..bounds.1)));
        }
    }
    Ok(Data::from_columns(cols)?)
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Every case of the benchmark.
pub fn cases() -> Result<Vec<Case>> {
    let mut out = Vec::new();
    // the seeds' models, simulated
    for (name, text) in SEED_MODELS {
        let d = if name.contains("2d") { 2 } else { 1 };
        let model = model_from_toml(name, text, d)?;
        let sizes: &[(usize, u64)] = if name.starts_with("homework") {
            &[(200, 6), (1000, 3)]
        } else {
            &[(200, 6)]
        };
        for &(n, seeds) in sizes {
            for s in 0..seeds {
                let sim = bgmm::simulate(&model, n, 1000 + s)?;
                let id = if n == 200 {
                    format!("sim-{name}-{s}")
                } else {
                    format!("sim-{name}-n{n}-{s}")
                };
                out.push(Case {
                    id,
                    model: model.clone(),
                    data: sim.data,
                });
            }
        }
    }
    // iris
    let sets: [(&str, &[&str]); 5] = [
        ("PL", &["petal_length"]),
        ("PLPW", &["petal_length", "petal_width"]),
        ("SLSW", &["sepal_length", "sepal_width"]),
        ("SLSWPL", &["sepal_length", "sepal_width", "petal_length"]),
        (
            "ALL",
            &["sepal_length", "sepal_width", "petal_length", "petal_width"],
        ),
    ];
    for (tag, cols) in sets {
        let data = builtin("iris", cols)?;
        for k in 2..=6 {
            let sharings: &[Sharing] = if cols.len() == 1 {
                &[Sharing::Component]
            } else {
                &[Sharing::Component, Sharing::Diagonal]
            };
            for &sh in sharings {
                out.push(Case {
                    id: format!("iris-{tag}-k{k}-{}", sh.name()),
                    model: quick(k, sh, &data)?,
                    data: data.clone(),
                });
            }
        }
    }
    // real data sets
    let faithful = builtin("faithful", &["eruptions", "waiting"])?;
    let bills = builtin("penguins", &["bill_length_mm", "bill_depth_mm"])?;
    for k in 2..=5 {
        for sh in [Sharing::Diagonal, Sharing::Component] {
            for (tag, data) in [("faithful", &faithful), ("penguins2", &bills)] {
                out.push(Case {
                    id: format!("{tag}-k{k}-{}", sh.name()),
                    model: quick(k, sh, data)?,
                    data: data.clone(),
                });
            }
        }
    }
    let penguins = builtin(
        "penguins",
        &[
            "bill_length_mm",
            "bill_depth_mm",
            "flipper_length_mm",
            "body_mass_g",
        ],
    )?;
    let wine_cols: Vec<String> = bgmm::datasets::WINE_CSV
        .lines()
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|c| *c != "cultivar")
        .map(str::to_string)
        .collect();
    let wine_refs: Vec<&str> = wine_cols.iter().map(String::as_str).collect();
    let wine = builtin("wine", &wine_refs)?;
    for k in 2..=4 {
        for (tag, data) in [("penguins4", &penguins), ("wine", &wine)] {
            out.push(Case {
                id: format!("{tag}-k{k}-diagonal"),
                model: quick(k, Sharing::Diagonal, data)?,
                data: data.clone(),
            });
        }
    }
    // full and tied covariances on the real data sets with correlated columns
    let iris4 = builtin(
        "iris",
        &["sepal_length", "sepal_width", "petal_length", "petal_width"],
    )?;
    for family in [CovarianceFamily::Full, CovarianceFamily::Tied] {
        let sets: [(&str, &Data, std::ops::RangeInclusive<i64>); 3] = [
            ("iris4", &iris4, 2..=5),
            ("penguins4", &penguins, 2..=4),
            ("wine", &wine, 2..=3),
        ];
        for (tag, data, ks) in sets {
            for k in ks {
                out.push(Case {
                    id: format!("{tag}-k{k}-{}", family.name()),
                    model: quick(k, family, data)?,
                    data: data.clone(),
                });
            }
        }
    }
    // data with known hard structure
    for s in 0..5u64 {
        let overlap = made(
            s,
            300,
            &[0.5, 0.33, 0.17],
            &[vec![0.0], vec![1.5], vec![5.0]],
            &[vec![1.0], vec![1.0], vec![0.7]],
            0,
            (0.0, 0.0),
        )?;
        out.push(Case {
            id: format!("made-overlap1d-{s}"),
            model: quick(3, Sharing::Component, &overlap)?,
            data: overlap,
        });
        let unequal = made(
            100 + s,
            400,
            &[0.85, 0.12, 0.03],
            &[vec![0.0, 0.0], vec![3.0, 1.0], vec![-2.0, 4.0]],
            &[vec![1.0, 1.0], vec![0.5, 0.8], vec![0.3, 0.3]],
            0,
            (0.0, 0.0),
        )?;
        out.push(Case {
            id: format!("made-unequal2d-{s}"),
            model: quick(3, Sharing::Diagonal, &unequal)?,
            data: unequal,
        });
        let outliers = made(
            200 + s,
            300,
            &[0.5, 0.5],
            &[vec![0.0, 0.0], vec![4.0, 4.0]],
            &[vec![1.0, 1.0], vec![1.0, 1.0]],
            10,
            (-15.0, 20.0),
        )?;
        out.push(Case {
            id: format!("made-outliers2d-{s}"),
            model: quick(3, Sharing::Diagonal, &outliers)?,
            data: outliers,
        });
        // six components at places drawn once per seed, unequal weights
        let mut rng = ChaCha8Rng::seed_from_u64(300 + s);
        let locs: Vec<Vec<f64>> = (0..6)
            .map(|_| vec![rng.random_range(-10.0..10.0), rng.random_range(-10.0..10.0)])
            .collect();
        let six = made(
            400 + s,
            300,
            &[0.3, 0.25, 0.2, 0.15, 0.07, 0.03],
            &locs,
            &vec![vec![0.8, 0.8]; 6],
            0,
            (0.0, 0.0),
        )?;
        out.push(Case {
            id: format!("made-six2d-{s}"),
            model: quick(6, Sharing::Diagonal, &six)?,
            data: six,
        });
    }
    Ok(out)
}

/// A fit's loss if it is a proper mode that converged, `None` if the search said there is
/// none (or did not converge), and the seconds it took.
fn run(case: &Case, opts: &FitOptions) -> (Option<f64>, f64) {
    let t = Instant::now();
    let f = bgmm::fit(&case.model, &case.data, opts);
    let secs = t.elapsed().as_secs_f64();
    (f.ok().filter(|f| f.converged).map(|f| f.loss), secs)
}

/// Whether `loss` reaches the best known `best` (within 0.01 nats; both `None` agree).
fn reaches(loss: Option<f64>, best: Option<f64>) -> bool {
    match (loss, best) {
        (Some(l), Some(b)) => l <= b + 0.01,
        (None, None) => true,
        _ => false,
    }
}

/// The searches of `--long`, by name.
fn long_searches() -> Vec<(String, FitOptions)> {
    let mut out = vec![
        (
            "pyro, 3000 restarts, 150 candidates".to_string(),
            FitOptions {
                init: Init::Pyro,
                restarts: 3000,
                candidates: 150,
                ..FitOptions::default()
            },
        ),
        (
            "kmeans++, 1000 restarts, 100 candidates".to_string(),
            FitOptions {
                init: Init::KMeansPlusPlus,
                restarts: 1000,
                candidates: 100,
                ..FitOptions::default()
            },
        ),
    ];
    for seed in 0..5 {
        out.push((
            format!("auto, 500 restarts, 40 candidates, seed {seed}"),
            FitOptions {
                init: Init::Auto,
                restarts: 500,
                candidates: 40,
                seed,
                ..FitOptions::default()
            },
        ));
    }
    out
}

/// `--long`: the best proper mode of every case over the long searches, written to `out`;
/// where `out` already holds a lower loss for a case (from an earlier run), it is kept. With
/// `only_new`, the cases `out` holds are kept as they are, unsearched.
pub fn long(out: &std::path::Path, only_new: bool) -> Result<()> {
    let cases = cases()?;
    let searches = long_searches();
    let before: Option<BestKnown> = std::fs::read_to_string(out)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let mut known = BTreeMap::new();
    for case in &cases {
        let held = before.as_ref().and_then(|b| b.cases.get(&case.id));
        if let (true, Some(k)) = (only_new, held) {
            known.insert(case.id.clone(), k.clone());
            continue;
        }
        let mut best: Option<(f64, String)> =
            held.and_then(|k| k.loss.map(|l| (l, k.found_by.clone())));
        for (name, opts) in &searches {
            if let (Some(l), _) = run(case, opts) {
                if best.as_ref().is_none_or(|(b, _)| l < *b - 1e-9) {
                    best = Some((l, name.clone()));
                }
            }
        }
        println!(
            "{:<32} {}",
            case.id,
            best.as_ref()
                .map_or("no proper mode".to_string(), |(l, n)| format!(
                    "{l:.6} ({n})"
                ))
        );
        known.insert(
            case.id.clone(),
            Known {
                loss: best.as_ref().map(|b| b.0),
                found_by: best.map_or_else(|| "none of the searches".into(), |b| b.1),
            },
        );
    }
    let how = format!(
            "the lowest loss of a converged proper mode over every run of bgmm bench search --long (bgmm {}; found_by names the search that found it), whose searches are: {}",
            env!("CARGO_PKG_VERSION"),
            searches
                .iter()
                .map(|s| s.0.as_str())
                .collect::<Vec<_>>()
                .join("; ")
    );
    let file = BestKnown {
        how: match (only_new, before) {
            (true, Some(b)) => b.how,
            _ => how,
        },
        cases: known,
    };
    let text = serde_json::to_string_pretty(&file)? + "\n";
    bgmm_io::write_atomic(out, text.as_bytes())?;
    println!("wrote {}", out.display());
    Ok(())
}

/// The benchmark: every case with the old search (`--init pyro`) and the default, the share
/// of cases where each reaches the best mode known, and their times.
pub fn bench(quick: bool, json: bool) -> Result<()> {
    let known: BestKnown =
        serde_json::from_str(BEST_KNOWN).context("examples/search-bench/best-known.json")?;
    let mut cases = cases()?;
    if quick {
        cases = cases.into_iter().step_by(4).collect();
    }
    let old = FitOptions {
        init: Init::Pyro,
        ..FitOptions::default()
    };
    let new = FitOptions::default();
    println!(
        "MAP search on {} cases: the old search (--init pyro: 100 Pyro starts, 10 optimised) and the default (--init auto), against the best mode known",
        cases.len()
    );
    println!(
        "{:<30} {:>14} {:>14} {:>8} {:>14} {:>8}",
        "case", "best known", "old", "old s", "default", "s"
    );
    let (mut n_old, mut n_new) = (0, 0);
    let (mut t_old, mut t_new) = (0.0, 0.0);
    let mut misses = Vec::new();
    let show = |l: Option<f64>| l.map_or("none".to_string(), |l| format!("{l:.4}"));
    for case in &cases {
        let best = known.cases.get(&case.id).ok_or_else(|| {
            anyhow!(
                "case {} is not in best-known.json: run bgmm bench search --long",
                case.id
            )
        })?;
        // each twice, alternating, the faster time kept
        let (lo, so1) = run(case, &old);
        let (ln, sn1) = run(case, &new);
        let (_, so2) = run(case, &old);
        let (_, sn2) = run(case, &new);
        let (so, sn) = (so1.min(so2), sn1.min(sn2));
        let (ro, rn) = (reaches(lo, best.loss), reaches(ln, best.loss));
        n_old += ro as usize;
        n_new += rn as usize;
        t_old += so;
        t_new += sn;
        if !rn {
            misses.push(case.id.clone());
        }
        let better = matches!((ln, best.loss), (Some(l), Some(b)) if l < b - 0.01);
        println!(
            "{:<30} {:>14} {:>13}{} {:>8.3} {:>13}{} {:>8.3}{}",
            case.id,
            show(best.loss),
            show(lo),
            if ro { ' ' } else { '*' },
            so,
            show(ln),
            if rn { ' ' } else { '*' },
            sn,
            if better {
                "  (better than the best known)"
            } else {
                ""
            }
        );
        if json {
            println!(
                "{}",
                serde_json::json!({"case": case.id, "best_known": best.loss,
                    "old": lo, "old_s": so, "default": ln, "default_s": sn})
            );
        }
    }
    let n = cases.len() as f64;
    println!("(* misses the best mode known by more than 0.01 nats)");
    println!(
        "reached the best mode known: old {n_old}/{} ({:.1} %), default {n_new}/{} ({:.1} %)",
        cases.len(),
        100.0 * n_old as f64 / n,
        cases.len(),
        100.0 * n_new as f64 / n
    );
    println!(
        "time over all cases: old {t_old:.2} s, default {t_new:.2} s, ratio {:.2}",
        t_new / t_old
    );
    if !misses.is_empty() {
        println!("default misses: {}", misses.join(", "));
    }
    Ok(())
}
