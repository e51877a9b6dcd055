//! `bgmm demo`: the whole pipeline on the embedded iris petal lengths (seed 002's data and
//! model), step by step with the command each step runs, ending in one HTML report. Each step
//! is a command with typed arguments, run by the caller's `exec` (no command line is parsed);
//! the command line it shows is the one its outputs record.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Result};

use bgmm::Data;
use bgmm::Temperature;
use bgmm_io::{ensure_dir, load_fit, write_atomic};
use bgmm_report::{min_max, IRIS_TOML};

use crate::args::{
    ClassifyArgs, Command, DemoArgs, DescribeArgs, FitArgs, InitArg, InputArgs, Method, ModelArgs,
    OutputArgs, PlotArgs, PlotFormat, PredictArgs, ReportArgs, SampleArgs, SampleEngine,
    SampleInit, SearchArgs,
};
use crate::common::Ctx;

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// One step: what it shows, its arguments as a user would type them, and the command.
struct Step {
    what: String,
    args: Vec<String>,
    command: Command,
}

fn step(what: &str, args: &[&str], command: Command) -> Step {
    Step {
        what: what.to_string(),
        args: args.iter().map(|x| x.to_string()).collect(),
        command,
    }
}

/// The demo's steps writing into `a.out`, the boundary sampled near being at `b`.
fn plan(a: &DemoArgs, b: f64) -> Vec<Step> {
    let out = &a.out;
    let model = out.join("iris.toml");
    let seed = a.seed.to_string();
    let (fit, grid, near, run) = (
        out.join("1-fit"),
        out.join("2-classify-grid"),
        out.join("3-classify-boundary"),
        out.join("4-sample"),
    );
    let input = InputArgs {
        data: "builtin:iris".into(),
        model: ModelArgs {
            model: Some(model.clone()),
            k: None,
            covariance: None,
        },
        columns: Some(vec!["petal_length".into()]),
        drop_missing: false,
    };
    let to = |dir: &PathBuf| OutputArgs {
        json: false,
        out: Some(dir.clone()),
    };
    let classify_args = |data: &str, temperature: u8, seed: u64, out: &PathBuf| ClassifyArgs {
        fit: fit.clone(),
        data: data.into(),
        columns: None,
        drop_missing: false,
        temperature,
        seed,
        method: Method::Exact,
        svi_steps: 10_000,
        output: to(out),
    };
    let near_grid = format!("grid:{:.2},{:.2},0.005", b - 0.3, b + 0.3);
    let (pm, pf, pg, pn, pr, po) = (p(&model), p(&fit), p(&grid), p(&near), p(&run), p(out));
    let data = ["builtin:iris", "--columns", "petal_length"];
    let mut sample_args: Vec<&str> = vec!["sample"];
    sample_args.extend(data);
    sample_args.extend([
        &pm,
        "--chains",
        "4",
        "--seed",
        &seed,
        "--from-fit",
        &pf,
        "--out",
        &pr,
    ]);
    if a.quiet {
        sample_args.push("--quiet");
    }
    let mut fit_args: Vec<&str> = vec!["fit"];
    fit_args.extend(data);
    fit_args.extend([&pm, "--seed", &seed, "--out", &pf]);
    vec![
        step(
            "The model: every site and its shape",
            &["describe", &pm, "-n", "150"],
            Command::Describe(DescribeArgs {
                model: model.clone(),
                n: 150,
                json: false,
            }),
        ),
        step(
            "The MAP, with the assignments summed out exactly",
            &fit_args,
            Command::Fit(FitArgs {
                input: input.clone(),
                search: SearchArgs {
                    restarts: 100,
                    candidates: 10,
                    steps: 200,
                    lr: 0.1,
                    betas: "0.8,0.99".into(),
                    init: InitArg::Auto,
                    seed: a.seed,
                    no_polish: false,
                    grad_tol: 1e-9,
                    subsample: 5000,
                    resolution: "auto".into(),
                },
                minibatch: None,
                sgd_steps: 2000,
                sgd_lr: 0.01,
                output: to(&fit),
            }),
        ),
        step(
            "MAP assignments and assignment probabilities along a grid",
            &["classify", &pf, "grid:0,8,0.02", "--out", &pg],
            Command::Classify(classify_args("grid:0,8,0.02", 0, 0, &grid)),
        ),
        step(
            &format!("Assignments sampled from their posterior near the boundary at {b:.3}"),
            &[
                "classify",
                &pf,
                &near_grid,
                "--temperature",
                "1",
                "--seed",
                &seed,
                "--out",
                &pn,
            ],
            Command::Classify(classify_args(&near_grid, 1, a.seed, &near)),
        ),
        step(
            "The posterior: collapsed NUTS, 4 chains started from the MAP and labelled by it",
            &sample_args,
            Command::Sample(SampleArgs {
                input,
                chains: 4,
                warmup: 1000,
                draws: 1000,
                seed: a.seed,
                target_accept: 0.8,
                max_depth: 10,
                init: SampleInit::Map,
                low_rank: false,
                engine: SampleEngine::Nuts,
                ess_ratio: 0.5,
                sweeps: 6,
                from_fit: Some(fit.clone()),
                quiet: a.quiet,
                output: to(&run),
            }),
        ),
        step(
            "Posterior predictive data sets (one per draw, 200 draws)",
            &[
                "predict",
                &pr,
                "--max-draws",
                "200",
                "--seed",
                &seed,
                "--out",
                &pr,
            ],
            Command::Predict(PredictArgs {
                run: run.clone(),
                n: None,
                impute: None,
                columns: None,
                sets: 100,
                max_draws: Some("200".into()),
                seed: a.seed,
                json: false,
                out: Some(run.clone()),
            }),
        ),
        step(
            "Every picture, as SVG and PNG",
            &["plot", &po],
            Command::Plot(PlotArgs {
                dir: out.clone(),
                out: None,
                format: PlotFormat::Both,
            }),
        ),
        step(
            "One page with all of it",
            &["report", &po],
            Command::Report(ReportArgs {
                dir: out.clone(),
                out: None,
            }),
        ),
    ]
}

/// Where the MAP assignment of a fit to 1-D data changes between its two outermost locations
/// (a wide component also wins far out in the tails; that boundary is not the interesting one).
fn boundary(fit: &Path) -> Result<f64> {
    let (_, model, params) = load_fit(fit)?;
    let (lo, hi) = min_max(params.locs.iter().copied());
    let grid: Vec<f64> = (0..=4000)
        .map(|i| lo + (hi - lo) * i as f64 / 4000.0)
        .collect();
    let data = Data::from_1d(grid.clone()).map_err(|e| anyhow!("{e}"))?;
    let c = bgmm::classify(
        &model,
        &params,
        &data,
        &bgmm::ClassifyOptions {
            temperature: Temperature::Zero,
            seed: 0,
            svi: None,
        },
    )
    .map_err(|e| anyhow!("{e}"))?;
    let i = (1..grid.len())
        .find(|&i| c.assignments[i] != c.assignments[i - 1])
        .ok_or_else(|| anyhow!("the fit assigns every point to one component"))?;
    Ok(0.5 * (grid[i - 1] + grid[i]))
}

/// Run `bgmm demo`; `exec` runs one step's command with the command line it records.
pub fn run(a: DemoArgs, exec: &dyn Fn(Command, &Ctx) -> Result<()>) -> Result<()> {
    let t0 = Instant::now();
    let out = &a.out;
    ensure_dir(out)?;
    let model = out.join("iris.toml");
    write_atomic(&model, IRIS_TOML.as_bytes())?;
    println!(
        "bgmm demo: a two-component Gaussian mixture of Fisher's iris petal lengths (150 flowers), the blog post's model (seed 002), written to {}",
        p(&model)
    );
    // the boundary is known once the fit is made (steps 1 to 3 do not depend on it)
    let mut steps = plan(&a, f64::NAN);
    let n = steps.len();
    for i in 0..n {
        if i == 3 {
            steps = plan(&a, boundary(&out.join("1-fit"))?);
        }
        let s = &steps[i];
        let line = format!("bgmm {}", s.args.join(" "));
        println!("\n[{}/{n}] {}\n$ {line}", i + 1, s.what);
        let t = Instant::now();
        let ctx = Ctx {
            command: line.clone(),
        };
        exec(s.command.clone(), &ctx).map_err(|e| anyhow!("demo step '{line}': {e:#}"))?;
        println!("({:.2} s)", t.elapsed().as_secs_f64());
    }
    let report = out.join("report.html");
    let shown = std::fs::canonicalize(&report).unwrap_or(report);
    println!(
        "\nDone in {:.1} s. Open the report:\n  {}",
        t0.elapsed().as_secs_f64(),
        shown.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Cli;
    use clap::Parser;

    /// Each step's typed command is exactly what its shown (and recorded) command line parses
    /// to, so that the demo runs what it says it runs.
    #[test]
    fn every_step_is_the_command_its_line_shows() {
        for quiet in [false, true] {
            let a = DemoArgs {
                out: PathBuf::from("some dir/demo"),
                seed: 7,
                quiet,
            };
            for s in plan(&a, 2.4713) {
                let argv = std::iter::once("bgmm".to_string()).chain(s.args.iter().cloned());
                let parsed = Cli::try_parse_from(argv).unwrap().command;
                assert_eq!(parsed, s.command, "{}", s.args.join(" "));
            }
        }
    }
}
