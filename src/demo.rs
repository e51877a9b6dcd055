//! `bgmm demo`: the whole pipeline on the embedded iris petal lengths (seed 002's data and
//! model), step by step with the command each step runs, ending in one HTML report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Result};
use clap::{Args, Parser};

use bgmm::classify::{classify, Temperature};
use bgmm::Data;

use crate::atomic::{ensure_dir, write_atomic};
use crate::cli::{load_fit, Cli, COMMAND};

/// The blog post's model (seed 002), as in `examples/models/iris.toml`.
pub const IRIS_TOML: &str = include_str!("../examples/models/iris.toml");
/// The Pyro tutorial's model (seed 001).
pub const TUTORIAL_TOML: &str = include_str!("../examples/models/tutorial.toml");
/// The NumPyro notebook's model (seed 003) and its 2500 points.
pub const NUMPYRO_TOML: &str = include_str!("../examples/models/numpyro.toml");
const NUMPYRO_CSV: &str = include_str!("../examples/data/numpyro_2500.csv");

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

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Directory to write every step's output and the report into.
    #[arg(long, value_name = "DIR", default_value = "bgmm-demo")]
    out: PathBuf,
    /// Seed of every step.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// No progress bars while sampling.
    #[arg(long)]
    quiet: bool,
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// Run one step as the command line a user would type (and record that command in its outputs).
fn step(i: usize, n: usize, what: &str, args: &[String]) -> Result<()> {
    let line = format!("bgmm {}", args.join(" "));
    println!("\n[{i}/{n}] {what}\n$ {line}");
    if let Ok(mut c) = COMMAND.lock() {
        *c = Some(line.clone());
    }
    let cli = Cli::try_parse_from(std::iter::once("bgmm".to_string()).chain(args.iter().cloned()))
        .map_err(|e| anyhow!("demo step '{line}': {e}"))?;
    let t = Instant::now();
    let r = crate::cli::run(cli);
    if let Ok(mut c) = COMMAND.lock() {
        *c = None;
    }
    r.map_err(|e| anyhow!("demo step '{line}': {e:#}"))?;
    println!("({:.2} s)", t.elapsed().as_secs_f64());
    Ok(())
}

/// Where the MAP assignment of a fit to 1-D data changes between its two outermost locations
/// (a wide component also wins far out in the tails; that boundary is not the interesting one).
fn boundary(fit: &Path) -> Result<f64> {
    let (_, model, params) = load_fit(fit)?;
    let (lo, hi) = crate::plot::min_max(params.locs.iter().copied());
    let grid: Vec<f64> = (0..=4000)
        .map(|i| lo + (hi - lo) * i as f64 / 4000.0)
        .collect();
    let data = Data::from_1d(grid.clone()).map_err(|e| anyhow!("{e}"))?;
    let c = classify(&model, &params, &data, Temperature::Zero, 0).map_err(|e| anyhow!("{e}"))?;
    let i = (1..grid.len())
        .find(|&i| c.assignments[i] != c.assignments[i - 1])
        .ok_or_else(|| anyhow!("the fit assigns every point to one component"))?;
    Ok(0.5 * (grid[i - 1] + grid[i]))
}

pub fn cmd_demo(a: DemoArgs) -> Result<()> {
    let t0 = Instant::now();
    let out = &a.out;
    ensure_dir(out)?;
    let model = out.join("iris.toml");
    write_atomic(&model, IRIS_TOML.as_bytes())?;
    let seed = a.seed.to_string();
    let (fit, grid, near, run) = (
        out.join("1-fit"),
        out.join("2-classify-grid"),
        out.join("3-classify-boundary"),
        out.join("4-sample"),
    );
    let s = |v: &[&str]| -> Vec<String> { v.iter().map(|x| x.to_string()).collect() };
    let data = ["builtin:iris", "--columns", "petal_length"];
    let n = 8;
    println!(
        "bgmm demo: a two-component Gaussian mixture of Fisher's iris petal lengths (150 flowers), the blog post's model (seed 002), written to {}",
        p(&model)
    );
    step(
        1,
        n,
        "The model: every site and its shape",
        &s(&["describe", &p(&model), "-n", "150"]),
    )?;
    let mut fit_args = s(&["fit"]);
    fit_args.extend(s(&data));
    fit_args.extend(s(&[&p(&model), "--seed", &seed, "--out", &p(&fit)]));
    step(
        2,
        n,
        "The MAP, with the assignments summed out exactly",
        &fit_args,
    )?;
    step(
        3,
        n,
        "MAP assignments and assignment probabilities along a grid",
        &s(&["classify", &p(&fit), "grid:0,8,0.02", "--out", &p(&grid)]),
    )?;
    let b = boundary(&fit)?;
    let near_grid = format!("grid:{:.2},{:.2},0.005", b - 0.3, b + 0.3);
    step(
        4,
        n,
        &format!("Assignments sampled from their posterior near the boundary at {b:.3}"),
        &s(&[
            "classify",
            &p(&fit),
            &near_grid,
            "--temperature",
            "1",
            "--seed",
            &seed,
            "--out",
            &p(&near),
        ]),
    )?;
    let mut sample_args = s(&["sample"]);
    sample_args.extend(s(&data));
    sample_args.extend(s(&[
        &p(&model),
        "--chains",
        "4",
        "--seed",
        &seed,
        "--from-fit",
        &p(&fit),
        "--out",
        &p(&run),
    ]));
    if a.quiet {
        sample_args.push("--quiet".into());
    }
    step(
        5,
        n,
        "The posterior: collapsed NUTS, 4 chains started from the MAP and labelled by it",
        &sample_args,
    )?;
    step(
        6,
        n,
        "Posterior predictive data sets (one per draw, 200 draws)",
        &s(&[
            "predict",
            &p(&run),
            "--max-draws",
            "200",
            "--seed",
            &seed,
            "--out",
            &p(&run),
        ]),
    )?;
    step(
        7,
        n,
        "Every picture, as SVG and PNG",
        &s(&["plot", &p(out)]),
    )?;
    step(8, n, "One page with all of it", &s(&["report", &p(out)]))?;
    let report = out.join("report.html");
    let shown = std::fs::canonicalize(&report).unwrap_or(report);
    println!(
        "\nDone in {:.1} s. Open the report:\n  {}",
        t0.elapsed().as_secs_f64(),
        shown.display()
    );
    Ok(())
}
