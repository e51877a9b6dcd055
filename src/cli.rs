//! Command-line arguments and the commands.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};

use bgmm::classify::{classify, classify_svi, SviOptions, Temperature};
use bgmm::init::Init;
use bgmm::map::{FitOptions, History};
use bgmm::simulate::{simulate, sites};
use bgmm::{Data, Model, ModelSpec, Params, ShapedParams, Sharing};

use crate::atomic::{ensure_dir, write_atomic, write_atomic_with};
use crate::errors;
use crate::output;
use crate::table;

#[derive(Parser, Debug)]
#[command(
    name = "bgmm",
    version,
    about = "Bayesian Gaussian mixture models: simulate, fit the MAP with the assignments summed out, classify, sample the posterior, draw every picture and report",
    long_about = None,
    after_help = "DATA is a CSV file with a header row, a NumPy .npy file (float64 or float32, shape (N,) or (N, D)),\n\
                  a Parquet file (.parquet: double and float columns; needs the cargo feature parquet),\n\
                  builtin:iris, builtin:faithful, builtin:penguins, builtin:wine, builtin:tutorial or grid:START,STOP,STEP.\n\
                  MODEL is a TOML file (see examples/models/); -k K --scale SHARING builds a default model instead.\n\
                  Errors print one line and exit with code 2."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Draw parameters from the priors, then N points and their true assignments (CSV).
    Simulate(SimulateArgs),
    /// Print every site of the model with its distribution and shape (Pyro's format_shapes).
    Describe(DescribeArgs),
    /// Fit the MAP: R initial points screened, the best C optimised (Adam, then an L-BFGS polish
    /// to the mode); the lowest mode wins.
    Fit(FitArgs),
    /// Assignments and assignment probabilities of points under a fit.
    Classify(ClassifyArgs),
    /// Sample the posterior by collapsed NUTS over several chains, relabel, summarise.
    Sample(SampleArgs),
    /// Posterior predictive data sets from a sampling run (or plug-in ones from a MAP fit).
    Predict(crate::predict::PredictArgs),
    /// Mean-field Gaussian variational posterior (Pyro's AutoNormal), as draws like `sample`.
    Vi(ViArgs),
    /// Draw the pictures of a fit, classification or sampling run directory (SVG and PNG).
    Plot(PlotArgs),
    /// One self-contained HTML page with the model, data, fit, summaries and every picture.
    Report(crate::report::ReportArgs),
    /// The whole pipeline on the embedded iris petal lengths: fit, classify, sample, predict,
    /// pictures and the report (bgmm-demo/report.html).
    Demo(crate::demo::DemoArgs),
    /// Time the data kernel against the scalar baseline, and the peers' end-to-end jobs.
    Bench(crate::bench::BenchArgs),
}

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// A directory written by `fit`, `classify`, `sample` or `vi` with `--out`, or a directory
    /// holding such directories (each run's pictures are written next to it).
    dir: PathBuf,
    /// Write the pictures here instead of into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// svg, png or both.
    #[arg(long, default_value = "both")]
    format: String,
}

#[derive(Args, Debug)]
pub struct ViArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Adam steps on the negative ELBO.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) steps: usize,
    /// Adam learning rate (decays to 1 % of it at the last step).
    #[arg(long, default_value_t = 0.01)]
    pub(crate) lr: f64,
    /// Reparameterised Monte Carlo draws per step.
    #[arg(long, default_value_t = 4)]
    pub(crate) mc_samples: usize,
    /// Draws from the fitted approximation.
    #[arg(long, default_value_t = 1000)]
    pub(crate) draws: usize,
    /// Data larger than memory: start from the MAP of a random sample of the file and
    /// estimate each ELBO gradient on a minibatch of B rows read from the file (weighted N/B).
    #[arg(long, value_name = "B")]
    pub(crate) minibatch: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct SampleArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Number of chains (each on its own thread).
    #[arg(long, default_value_t = 4)]
    pub(crate) chains: usize,
    /// Warmup iterations per chain (step size and mass matrix adaptation), discarded.
    #[arg(long, default_value_t = 1000)]
    pub(crate) warmup: u64,
    /// Kept draws per chain.
    #[arg(long, default_value_t = 1000)]
    pub(crate) draws: u64,
    /// Seed; chain c uses its own stream under it.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Target acceptance rate of the step-size adaptation.
    #[arg(long, default_value_t = 0.8)]
    pub(crate) target_accept: f64,
    /// Maximum tree depth.
    #[arg(long, default_value_t = 10)]
    pub(crate) max_depth: u64,
    /// Initial points: map (a short MAP fit, jittered per chain) or prior.
    #[arg(long, default_value = "map")]
    pub(crate) init: String,
    /// Adapt a low-rank plus diagonal mass matrix (for strongly correlated posteriors).
    #[arg(long)]
    pub(crate) low_rank: bool,
    /// Start the chains from this MAP fit (a `fit --out` directory or fit JSON) and label the
    /// draws by its components, instead of a fresh MAP search.
    #[arg(long, value_name = "FIT")]
    pub(crate) from_fit: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Args, Debug)]
pub(crate) struct OutputArgs {
    /// Print JSON on stdout instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also write the results as files into this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SimulateArgs {
    /// Model file (TOML).
    model: PathBuf,
    /// Number of points.
    #[arg(short = 'n', long, default_value_t = 100)]
    n: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Add the true assignment of each point as a last column `z`.
    #[arg(long)]
    with_assignments: bool,
    /// File format of --out: csv (data.csv) or npy (data.npy, float64). Beyond 1e7 points the
    /// data are streamed to the file in chunks of 1e6 points, each from its own random stream.
    #[arg(long, default_value = "csv")]
    format: String,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args, Debug)]
struct DescribeArgs {
    /// Model file (TOML).
    model: PathBuf,
    /// Number of data points the shapes are shown for.
    #[arg(short = 'n', long, default_value_t = 100)]
    n: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The data and the model of `fit`, `sample` and `vi`.
#[derive(Args, Debug)]
pub struct InputArgs {
    /// Data: a CSV file (header row), a .npy file, a .parquet file (feature parquet),
    /// builtin:iris, builtin:faithful, builtin:penguins, builtin:wine, builtin:tutorial or grid:START,STOP,STEP.
    pub(crate) data: String,
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// Columns to use, comma-separated (default: every numeric column).
    #[arg(long, value_delimiter = ',')]
    pub(crate) columns: Option<Vec<String>>,
}

#[derive(Args, Debug)]
pub(crate) struct ModelArgs {
    /// Model file (TOML); or give -k.
    model: Option<PathBuf>,
    /// Number of components, for the default model (instead of a model file).
    #[arg(short = 'k', long = "components", value_name = "K")]
    k: Option<i64>,
    /// Scale sharing of the default model: shared, component, dimension or diagonal.
    #[arg(long = "scale", value_name = "SHARING")]
    scale: Option<String>,
}

#[derive(Args, Debug)]
pub struct FitArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Initial points, screened by their loss; the --candidates best of them are optimised
    /// (with --init auto: R of Pyro's and R/5 k-means++ starts per batch).
    #[arg(long, default_value_t = 100)]
    pub(crate) restarts: usize,
    /// The best C restarts by initial loss are optimised fully (with --init auto: half from
    /// Pyro's starts, half from k-means++); the lowest proper mode wins (--init pyro
    /// --candidates 1: Pyro's recipe).
    #[arg(long, default_value_t = 10, value_name = "C")]
    pub(crate) candidates: usize,
    /// Adam steps.
    #[arg(long, default_value_t = 200)]
    pub(crate) steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub(crate) lr: f64,
    /// Adam betas, b1,b2.
    #[arg(long, default_value = "0.8,0.99", value_name = "B1,B2")]
    pub(crate) betas: String,
    /// Initial points: auto (Pyro's and k-means++ starts, then split and merge moves from the
    /// best mode), pyro (the tutorial's only) or kmeans++.
    #[arg(long, default_value = "auto")]
    pub(crate) init: String,
    /// Seed of the initial points.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Skip the L-BFGS polish (stop where Adam stops, as Pyro does).
    #[arg(long)]
    pub(crate) no_polish: bool,
    /// Convergence: max |gradient| ≤ TOL · max(1, |loss|).
    #[arg(long, default_value_t = 1e-9, value_name = "TOL")]
    pub(crate) grad_tol: f64,
    /// With at least 5·M points (M at least 200·K), search for the mode on M evenly spaced
    /// points and polish it on all of them; 0 searches on all the data.
    #[arg(long, default_value_t = 5000, value_name = "M")]
    pub(crate) subsample: usize,
    /// The resolution the data were recorded to: auto (detected per column from its decimal
    /// places, e.g. 0.1 for iris), one value for every column or one per column (R1,R2,…),
    /// or off. A mode with a component narrower than resolution/√12 (the spread of rounding
    /// itself) sits on tied values: it is set aside for the best mode without one, with a
    /// warning; off keeps such modes.
    #[arg(long, default_value = "auto", value_name = "auto|off|R[,R…]")]
    pub(crate) resolution: String,
    /// Data larger than memory: start from the MAP of a random sample of the file, then take
    /// --sgd-steps Adam steps on minibatches of B rows read from the file (likelihood weighted
    /// by N/B), averaging the last half of the iterates; memory stays at the sample's size.
    #[arg(long, value_name = "B")]
    pub(crate) minibatch: Option<usize>,
    /// Adam steps on minibatches (with --minibatch).
    #[arg(long, default_value_t = 2000)]
    pub(crate) sgd_steps: usize,
    /// Initial learning rate of the minibatch steps (decays to 1 % of it).
    #[arg(long, default_value_t = 0.01)]
    pub(crate) sgd_lr: f64,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Args, Debug)]
struct ClassifyArgs {
    /// A fit (the JSON `bgmm fit --json` prints, or the directory `fit --out` wrote), or a sampling
    /// run directory (`sample --out`) for posterior assignment probabilities.
    fit: PathBuf,
    /// Data: a CSV file (header row), a .npy file, a .parquet file (feature parquet),
    /// builtin:iris, builtin:faithful, builtin:penguins, builtin:wine, builtin:tutorial or grid:START,STOP,STEP.
    data: String,
    /// Columns to use (default: the fit's or run's columns if the data have them, else every
    /// numeric column).
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// 0: MAP assignments; 1: assignments sampled from their posterior.
    #[arg(long, default_value_t = 0)]
    temperature: u8,
    /// Seed of the sampled assignments.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// exact: responsibilities in closed form; svi: trained by SVI with the globals fixed.
    #[arg(long, default_value = "exact")]
    method: String,
    /// SVI steps (with --method svi).
    #[arg(long, default_value_t = 10_000)]
    svi_steps: usize,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run a command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Simulate(a) => cmd_simulate(a),
        Command::Describe(a) => cmd_describe(a),
        Command::Fit(a) => cmd_fit(a),
        Command::Classify(a) => cmd_classify(a),
        Command::Sample(a) => crate::sample::cmd_sample(a),
        Command::Predict(a) => crate::predict::cmd_predict(a),
        Command::Vi(a) => crate::sample::cmd_vi(a),
        Command::Plot(a) => cmd_plot(a),
        Command::Report(a) => crate::report::cmd_report(a),
        Command::Demo(a) => crate::demo::cmd_demo(a),
        Command::Bench(a) => crate::bench::cmd_bench(a),
    }
}

/// A run stopped on request (Ctrl-C): what was kept and where. The binary exits with 130, the
/// shell's code for an interrupt, rather than 2.
#[derive(Debug)]
pub struct Interrupted(pub String);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted: {}", self.0)
    }
}

impl std::error::Error for Interrupted {}

/// The command line recorded in every output: this process's, or the one `bgmm demo` runs.
pub(crate) static COMMAND: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

pub(crate) fn command_line() -> String {
    if let Some(c) = COMMAND.lock().ok().and_then(|c| c.clone()) {
        return c;
    }
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Read and validate a model file; errors name the file and, for TOML syntax, line and column.
pub fn load_model_spec(path: &Path) -> Result<ModelSpec> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read model file '{shown}': {e}"))?;
    model_spec_from_str(&text, &shown.to_string())
}

/// [`load_model_spec`] on the file's text; `shown` names the file in errors.
pub fn model_spec_from_str(text: &str, shown: &str) -> Result<ModelSpec> {
    if text.trim().is_empty() {
        bail!("model file '{shown}' is empty");
    }
    toml::from_str::<ModelSpec>(text).map_err(|e| {
        let msg = e.message().replace('\n', " ");
        match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                // the line itself, so that the key is named
                let text: String = text
                    .lines()
                    .nth(line - 1)
                    .unwrap_or("")
                    .trim()
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(60)
                    .collect();
                if text.is_empty() {
                    anyhow!("model file '{shown}', line {line}, column {col}: {msg}")
                } else {
                    anyhow!("model file '{shown}', line {line}, column {col} ({text}): {msg}")
                }
            }
            None => anyhow!("model file '{shown}': {msg}"),
        }
    })
}

fn build_model(spec: &ModelSpec, origin: &str, d: Option<usize>) -> Result<Model> {
    spec.build(d).map_err(|e| anyhow!("{origin}: {e}"))
}

pub(crate) fn load_data(spec: &str, columns: Option<&[String]>) -> Result<(Data, Vec<String>)> {
    if spec.ends_with(".parquet") {
        #[cfg(feature = "parquet")]
        return crate::stream::load_parquet(Path::new(spec), columns);
        #[cfg(not(feature = "parquet"))]
        bail!(
            "'{spec}': this bgmm was built without Parquet support (cargo build --release --features parquet)"
        );
    }
    if spec.ends_with(".npy") || is_large_csv(spec) {
        // straight into exactly-sized columns: memory is the data's own f64 size
        let path = Path::new(spec);
        let cols = match columns {
            Some(c) => c.to_vec(),
            None if spec.ends_with(".npy") => Vec::new(),
            None => crate::stream::Source::numeric_columns(path)?,
        };
        let chosen = if cols.is_empty() {
            None
        } else {
            Some(&cols[..])
        };
        let src = crate::stream::Source::open(path, chosen)?;
        let data = src.load_all()?;
        return Ok((data, src.names));
    }
    table_data(spec, table::load(spec, columns)?)
}

/// CSV files above this size are read by the streaming reader (exactly-sized columns, no copy
/// of the text in memory); smaller ones by the full reader (quoted fields, text columns
/// anywhere, every error with its row). `BGMM_STREAM_CSV_BYTES` overrides it (tests).
const STREAM_CSV_BYTES: u64 = 256 << 20;

/// [`load_data`] with default columns: `preferred` (a fit's or a run's) when the data have all
/// of them, else (or when there are none) every numeric column.
fn load_data_preferring(
    spec: &str,
    columns: Option<&[String]>,
    preferred: &[String],
) -> Result<(Data, Vec<String>)> {
    if columns.is_some() || preferred.is_empty() {
        return load_data(spec, columns);
    }
    if spec.ends_with(".npy") || spec.ends_with(".parquet") || is_large_csv(spec) {
        return load_data(spec, Some(preferred)).or_else(|_| load_data(spec, None));
    }
    // the text reader: one read of the file, then the columns picked
    let t = table::load(spec, None)?
        .select(preferred)
        .unwrap_or_else(|all| all);
    table_data(spec, t)
}

/// Integers in row order are taken for row numbers from this many rows on.
const ROW_NUMBERS_MIN: usize = 10;

/// Warnings about data columns that look like row numbers or a row index, used as data
/// because no `--columns` were given: integers 1..N or 0..N−1 in row order, or integers in a
/// column named like an index (`id`, `index`, `…_id`, pandas' `Unnamed: 0` or an empty name).
pub(crate) fn id_like_warnings(data: &Data, names: &[String], source: &str) -> Vec<String> {
    if source.starts_with("grid:") || source.starts_with("builtin:") || data.n() < 2 {
        return Vec::new();
    }
    let mut warnings = Vec::new();
    let mut id_like = vec![false; data.d()];
    for (j, name) in names.iter().enumerate().take(data.d()) {
        let col = data.col(j);
        if !col.iter().all(|v| v.fract() == 0.0) {
            continue;
        }
        // row numbers of a handful of points may well be data
        let start = col[0];
        let counts = col.len() >= ROW_NUMBERS_MIN
            && (start == 0.0 || start == 1.0)
            && col.iter().enumerate().all(|(i, &v)| v == start + i as f64);
        let lower = name.trim().to_lowercase();
        let named = ["id", "index", "idx", ""].contains(&lower.as_str())
            || lower.ends_with("_id")
            || lower.starts_with("unnamed:");
        let why = if counts {
            format!(
                "holds the integers {start}..{} in row order, like a row number",
                start + (col.len() - 1) as f64
            )
        } else if named {
            "holds integers and is named like a row index".to_string()
        } else {
            continue;
        };
        id_like[j] = true;
        warnings.push(format!(
            "column '{name}' of '{source}' {why}, yet is used as a data column (no --columns given)"
        ));
    }
    if !warnings.is_empty() {
        let rest: Vec<&str> = names
            .iter()
            .zip(&id_like)
            .filter(|(_, id)| !**id)
            .map(|(n, _)| n.as_str())
            .collect();
        let remedy = if rest.is_empty() {
            "it is the only numeric column: check the file".to_string()
        } else {
            format!("to leave it out, give --columns {}", rest.join(","))
        };
        let last = warnings.len() - 1;
        warnings[last].push_str(&format!("; {remedy}"));
    }
    warnings
}

/// [`id_like_warnings`] of data read without `--columns` (none with them). The command prints
/// them once it has succeeded, so that a failure stays one line.
pub(crate) fn id_like_unless(
    data: &Data,
    names: &[String],
    source: &str,
    columns: bool,
) -> Vec<String> {
    if columns {
        Vec::new()
    } else {
        id_like_warnings(data, names, source)
    }
}

/// Print warnings on stderr, one line each.
pub(crate) fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn is_large_csv(spec: &str) -> bool {
    if spec.starts_with("builtin:") || spec.starts_with("grid:") {
        return false;
    }
    let limit = std::env::var("BGMM_STREAM_CSV_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(STREAM_CSV_BYTES);
    std::fs::metadata(spec).is_ok_and(|m| m.len() > limit)
}

fn table_data(spec: &str, t: table::Table) -> Result<(Data, Vec<String>)> {
    let names = t.names.clone();
    let data = Data::from_columns(t.columns).map_err(|e| anyhow!("data '{spec}': {e}"))?;
    Ok((data, names))
}

pub(crate) fn write_out(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    write_atomic(&dir.join(name), bytes)
}

/// Before a command writes several files into `dir`: none of them may be taken by a
/// directory, so that a failure cannot leave the first files written and the rest not.
pub(crate) fn check_out<S: AsRef<str>>(dir: &Path, names: &[S]) -> Result<()> {
    for name in names {
        let p = dir.join(name.as_ref());
        if p.is_dir() {
            bail!(
                "cannot write '{}': a directory with that name exists",
                p.display()
            );
        }
    }
    Ok(())
}

pub(crate) fn json_bytes<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut b = serde_json::to_vec_pretty(v)?;
    b.push(b'\n');
    Ok(b)
}

// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct SimulateRecord<'a> {
    bgmm_version: &'a str,
    command: String,
    seed: u64,
    model: &'a ModelSpec,
    params: ShapedParams,
    assignments: &'a [usize],
    columns: Vec<String>,
    data: Vec<Vec<f64>>,
}

fn cmd_simulate(a: SimulateArgs) -> Result<()> {
    let origin = format!("model file '{}'", a.model.display());
    let spec = load_model_spec(&a.model)?;
    let model = build_model(&spec, &origin, None)?;
    if a.n == 0 {
        bail!("-n must be at least 1");
    }
    let npy = match a.format.as_str() {
        "csv" => false,
        "npy" => true,
        other => bail!("--format: unknown '{other}' (known: csv, npy)"),
    };
    if npy && a.output.out.is_none() {
        bail!("--format npy writes a binary file: give --out DIR");
    }
    if a.n > STREAM_N {
        let Some(dir) = &a.output.out else {
            bail!(
                "-n {} is more than {STREAM_N} points: give --out DIR, they are streamed to a file",
                a.n
            );
        };
        if a.with_assignments || a.output.json {
            bail!("beyond {STREAM_N} points only the data are written (no --with-assignments or --json)");
        }
        if a.n
            .checked_mul(model.d)
            .is_none_or(|v| v > MAX_STREAMED_VALUES)
        {
            bail!(
                "-n {} with d = {}: more than {MAX_STREAMED_VALUES:.0e} values ({} GB) to write",
                a.n,
                model.d,
                MAX_STREAMED_VALUES * 8 / 1_000_000_000
            );
        }
        return simulate_streaming(&model, &a, dir, npy);
    }
    let sim = simulate(&model, a.n, a.seed).map_err(errors::cli_error)?;
    let names = output::column_names(model.d);
    let csv = output::data_csv(
        &sim.data,
        &names,
        a.with_assignments.then_some(&sim.assignments[..]),
    );
    let record = SimulateRecord {
        bgmm_version: env!("CARGO_PKG_VERSION"),
        command: command_line(),
        seed: a.seed,
        model: model.spec(),
        params: sim.params.shaped(&model),
        assignments: &sim.assignments,
        columns: names.clone(),
        data: (0..sim.data.n()).map(|i| sim.data.row(i)).collect(),
    };
    if let Some(dir) = &a.output.out {
        ensure_dir(dir)?;
        let data_file = if npy { "data.npy" } else { "data.csv" };
        check_out(dir, &[data_file, "assignments.csv", "truth.json"])?;
        if npy {
            write_atomic_with(&dir.join("data.npy"), |w| {
                w.write_all(&crate::stream::npy_header_bytes(sim.data.n(), sim.data.d()))?;
                crate::stream::write_npy_rows(w, &sim.data)
            })?;
        } else {
            write_out(
                dir,
                "data.csv",
                output::data_csv(&sim.data, &names, None).as_bytes(),
            )?;
        }
        let z: String = std::iter::once("z\n".to_string())
            .chain(sim.assignments.iter().map(|z| format!("{z}\n")))
            .collect();
        write_out(dir, "assignments.csv", z.as_bytes())?;
        let truth = serde_json::json!({
            "bgmm_version": record.bgmm_version, "command": record.command, "seed": a.seed,
            "model": model.spec(), "params": record.params, "n": a.n,
        });
        write_out(dir, "truth.json", &json_bytes(&truth)?)?;
    }
    if a.output.json {
        print!("{}", String::from_utf8(json_bytes(&record)?)?);
    } else {
        // the drawn parameters go to stderr, so that stdout is the CSV alone
        eprint!("{}", output::params_text(&model, &sim.params));
        if a.output.out.is_none() {
            print!("{csv}");
        } else if let Some(dir) = &a.output.out {
            eprintln!(
                "wrote {}, {}, {}",
                dir.join(if npy { "data.npy" } else { "data.csv" })
                    .display(),
                dir.join("assignments.csv").display(),
                dir.join("truth.json").display()
            );
        }
    }
    Ok(())
}

/// Beyond this many points `simulate` streams the data to a file in chunks.
const STREAM_N: usize = 10_000_000;
/// At most this many values in a streamed simulation (80 GB of f8).
const MAX_STREAMED_VALUES: usize = 10_000_000_000;
/// Points per chunk of a streamed simulation (chunk c draws from random stream c).
const STREAM_CHUNK: usize = 1_000_000;

/// `simulate` beyond [`STREAM_N`] points: θ from the priors as always, then the data chunk by
/// chunk straight into the file (memory: one chunk).
fn simulate_streaming(model: &Model, a: &SimulateArgs, dir: &Path, npy: bool) -> Result<()> {
    use chacha20::ChaCha8Rng;
    use rand::SeedableRng;
    ensure_dir(dir)?;
    check_out(
        dir,
        &[if npy { "data.npy" } else { "data.csv" }, "truth.json"],
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let params = bgmm::simulate::draw_params(model, &mut rng);
    let names = output::column_names(model.d);
    let file = dir.join(if npy { "data.npy" } else { "data.csv" });
    let bar = indicatif::ProgressBar::new(a.n as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "simulating {bar:30} {pos}/{len} points [{elapsed_precise}<{eta_precise}]",
    ) {
        bar.set_style(style);
    }
    write_atomic_with(&file, |w| {
        if npy {
            w.write_all(&crate::stream::npy_header_bytes(a.n, model.d))?;
        } else {
            writeln!(w, "{}", names.join(","))?;
        }
        let mut done = 0usize;
        let mut c = 0usize;
        while done < a.n {
            let count = STREAM_CHUNK.min(a.n - done);
            let mut r = bgmm::nuts::chain_rng(a.seed, c);
            let (_, data) = bgmm::simulate::draw_data(model, &params, count, &mut r)
                .map_err(|e| anyhow!("{e}"))?;
            if npy {
                crate::stream::write_npy_rows(w, &data)?;
            } else {
                w.write_all(
                    output::data_csv(&data, &names, None)
                        .split_once('\n')
                        .map_or("", |x| x.1)
                        .as_bytes(),
                )?;
            }
            done += count;
            c += 1;
            bar.set_position(done as u64);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let truth = serde_json::json!({
        "bgmm_version": env!("CARGO_PKG_VERSION"), "command": command_line(), "seed": a.seed,
        "model": model.spec(), "params": params.shaped(model), "n": a.n,
        "note": format!("streamed: chunk c of {STREAM_CHUNK} points drawn from random stream c of the seed"),
    });
    write_out(dir, "truth.json", &json_bytes(&truth)?)?;
    eprint!("{}", output::params_text(model, &params));
    eprintln!(
        "wrote {}, {}",
        file.display(),
        dir.join("truth.json").display()
    );
    Ok(())
}

fn cmd_describe(a: DescribeArgs) -> Result<()> {
    let origin = format!("model file '{}'", a.model.display());
    let spec = load_model_spec(&a.model)?;
    let model = build_model(&spec, &origin, None)?;
    let s = sites(&model, a.n);
    if a.json {
        let v = serde_json::json!({"model": model.spec(), "n": a.n, "sites": s});
        print!("{}", String::from_utf8(json_bytes(&v)?)?);
    } else {
        print!("{}", output::sites_text(&model, &s));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------

/// What `fit --json` prints and `fit --out` writes; `classify` reads it back.
#[derive(Serialize, Deserialize, Debug)]
pub struct FitRecord {
    pub params: ShapedParams,
    pub loss: f64,
    pub converged: bool,
    pub best_restart: usize,
    pub steps: usize,
    pub history: History,
    /// Max |gradient| at the end (none for a minibatch fit, whose gradient is never exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_norm_max: Option<f64>,
    pub polish_iterations: usize,
    pub message: String,
    pub warnings: Vec<String>,
    /// How the winning mode was found (`kmeans++ start #113, then merge 0+2, split 1`).
    #[serde(default)]
    pub strategy: String,
    /// The resolution each column was taken to be recorded to (0: none).
    #[serde(default)]
    pub resolution: Vec<f64>,
    pub init_params: ShapedParams,
    pub model: ModelSpec,
    pub data: DataInfo,
    pub options: FitOptionsRecord,
    pub bgmm_version: String,
    pub command: String,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct DataInfo {
    pub source: String,
    pub columns: Vec<String>,
    pub n: usize,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct FitOptionsRecord {
    pub restarts: usize,
    #[serde(default = "one")]
    pub candidates: usize,
    pub init: String,
    pub steps: usize,
    pub lr: f64,
    pub betas: [f64; 2],
    pub polish: bool,
    pub grad_tol: f64,
    pub seed: u64,
    #[serde(default)]
    pub subsample: usize,
    /// `--resolution` as given (fits written before it existed: `off`).
    #[serde(default = "off")]
    pub resolution: String,
}

fn one() -> usize {
    1
}

fn off() -> String {
    "off".into()
}

/// `--resolution`: `auto`, `off` (or 0), one value for every column or one per column (the
/// library checks their number against the data's columns).
pub(crate) fn parse_resolution(s: &str) -> Result<bgmm::map::Resolution> {
    use bgmm::map::Resolution;
    match s.trim() {
        "auto" => return Ok(Resolution::Auto),
        "off" | "0" => return Ok(Resolution::Off),
        _ => {}
    }
    let bad = |v: &str| {
        anyhow!(
            "--resolution: '{v}' is not auto, off or a number at least 0 (one, or one per column)"
        )
    };
    let values = s
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| bad(v.trim()))
        })
        .collect::<Result<Vec<f64>>>()?;
    Ok(Resolution::Given(values))
}

fn parse_betas(s: &str) -> Result<(f64, f64)> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let bad = || anyhow!("--betas expects two numbers b1,b2 in [0, 1), got '{s}'");
    if parts.len() != 2 {
        return Err(bad());
    }
    let b1: f64 = parts[0].parse().map_err(|_| bad())?;
    let b2: f64 = parts[1].parse().map_err(|_| bad())?;
    if !((0.0..1.0).contains(&b1) && (0.0..1.0).contains(&b2)) {
        return Err(bad());
    }
    Ok((b1, b2))
}

/// The model of a model file or of `-k`, for `data` (read from `source`).
pub(crate) fn resolve_model(m: &ModelArgs, data: &Data, source: &str) -> Result<(Model, String)> {
    match (&m.model, m.k) {
        (Some(_), Some(_)) => bail!("give a model file or -k, not both"),
        (None, None) => bail!("no model: give a model file (TOML) or -k K"),
        (Some(path), None) => {
            if m.scale.is_some() {
                bail!("--scale goes with -k; a model file sets its own scale sharing");
            }
            let origin = format!("model file '{}'", path.display());
            let spec = load_model_spec(path)?;
            // a dimension mismatch names the data as well
            let model = spec.build(Some(data.d())).map_err(|e| match e {
                e @ bgmm::Error::DimensionMismatch { .. } => {
                    anyhow!("{origin} and data '{source}': {e}")
                }
                e => anyhow!("{origin}: {e}"),
            })?;
            Ok((model, origin))
        }
        (None, Some(k)) => {
            if k < 1 {
                bail!("-k must be at least 1, got {k}");
            }
            let sharing = match &m.scale {
                None => Sharing::Component,
                Some(s) => Sharing::parse(s).ok_or_else(|| {
                    anyhow!("--scale: unknown sharing '{s}' (known: {})", Sharing::NAMES)
                })?,
            };
            let spec = ModelSpec::quick(k, sharing, data);
            Ok((
                build_model(&spec, "-k", Some(data.d()))?,
                format!("default model (-k {k} --scale {})", sharing.name()),
            ))
        }
    }
}

impl FitArgs {
    /// The fit's options from the flags (`subsample`: the search's subsample size).
    pub(crate) fn options(
        &self,
        betas: (f64, f64),
        init: Init,
        subsample: usize,
    ) -> Result<FitOptions> {
        Ok(FitOptions {
            restarts: self.restarts,
            candidates: self.candidates,
            init,
            steps: self.steps,
            lr: self.lr,
            betas,
            polish: !self.no_polish,
            grad_tol: self.grad_tol,
            seed: self.seed,
            subsample,
            resolution: parse_resolution(&self.resolution)?,
            ..FitOptions::default()
        })
    }
}

impl FitOptionsRecord {
    /// The record of `opts`, with the subsample size actually used.
    pub(crate) fn of(opts: &FitOptions, subsample: usize) -> FitOptionsRecord {
        FitOptionsRecord {
            restarts: opts.restarts,
            candidates: opts.candidates,
            init: opts.init.name().into(),
            steps: opts.steps,
            lr: opts.lr,
            betas: [opts.betas.0, opts.betas.1],
            polish: opts.polish,
            grad_tol: opts.grad_tol,
            seed: opts.seed,
            subsample,
            resolution: match &opts.resolution {
                bgmm::map::Resolution::Auto => "auto".into(),
                bgmm::map::Resolution::Off => "off".into(),
                bgmm::map::Resolution::Given(v) => v
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            },
        }
    }
}

/// Write `fit.json` into `--out` and print the record as JSON, or else `text`.
pub(crate) fn emit_fit(output: &OutputArgs, record: &FitRecord, text: &str) -> Result<()> {
    let bytes = json_bytes(record)?;
    if let Some(dir) = &output.out {
        ensure_dir(dir)?;
        write_out(dir, "fit.json", &bytes)?;
    }
    if output.json {
        print!("{}", String::from_utf8(bytes)?);
    } else {
        print!("{text}");
        if let Some(dir) = &output.out {
            println!("wrote {}", dir.join("fit.json").display());
        }
    }
    Ok(())
}

fn cmd_fit(a: FitArgs) -> Result<()> {
    let betas = parse_betas(&a.betas)?;
    let init = Init::parse(&a.init)
        .ok_or_else(|| anyhow!("--init: unknown '{}' (known: auto, pyro, kmeans++)", a.init))?;
    if let Some(b) = a.minibatch {
        return crate::minibatch::fit_minibatch(&a, b, betas, init);
    }
    let (data, names) = load_data(&a.input.data, a.input.columns.as_deref())?;
    let (model, origin) = resolve_model(&a.input.model, &data, &a.input.data)?;
    let id_like = id_like_unless(&data, &names, &a.input.data, a.input.columns.is_some());
    let opts = a.options(betas, init, a.subsample)?;
    // a progress bar on stderr when it is a terminal and the fit takes a while
    let bar = indicatif::ProgressBar::new(opts.restarts as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} [{elapsed_precise}]")
    {
        bar.set_style(style);
    }
    let progress = |p: bgmm::map::FitProgress| {
        if bar.length() != Some(p.total as u64) {
            bar.set_length(p.total as u64);
        }
        bar.set_prefix(p.stage);
        bar.set_position(p.done as u64);
    };
    let f = bgmm::map::fit_with_progress(&model, &data, &opts, &progress);
    bar.finish_and_clear();
    let f = f.map_err(|e| match e {
        bgmm::Error::Data(_)
        | bgmm::Error::DimensionMismatch { .. }
        | bgmm::Error::Unbounded(_)
        | bgmm::Error::NoProperMode(_) => {
            anyhow!(
                "data '{}' and {origin}: {}",
                a.input.data,
                named_columns(&errors::message(&e), &names)
            )
        }
        other => errors::cli_error(other),
    })?;
    let mut f = f;
    for w in f.warnings.iter_mut() {
        *w = named_columns(&errors::rewrite(w), &names);
    }
    let record = FitRecord {
        params: f.params.shaped(&model),
        loss: f.loss,
        converged: f.converged,
        best_restart: f.best_restart,
        steps: f.steps,
        history: f.history.clone(),
        grad_norm_max: Some(f.grad_norm),
        polish_iterations: f.polish_iterations,
        message: f.message.clone(),
        warnings: f.warnings.clone(),
        strategy: f.strategy.clone(),
        resolution: f.resolution.clone(),
        init_params: f.init_params.shaped(&model),
        model: model.spec().clone(),
        data: DataInfo {
            source: a.input.data.clone(),
            columns: names,
            n: data.n(),
        },
        options: FitOptionsRecord::of(&opts, opts.subsample),
        bgmm_version: env!("CARGO_PKG_VERSION").into(),
        command: command_line(),
    };
    emit_fit(
        &a.output,
        &record,
        &output::fit_text(&model, &origin, &record, &f),
    )?;
    print_warnings(&id_like);
    print_warnings(&f.warnings);
    Ok(())
}

/// The library's "column 3 is recorded to …" with the column's name: "column 3 (petal_length)
/// is recorded to …".
fn named_columns(text: &str, names: &[String]) -> String {
    let mut out = text.to_string();
    for (j, name) in names.iter().enumerate() {
        out = out.replace(
            &format!("column {j} is recorded to"),
            &format!("column {j} ({name}) is recorded to"),
        );
    }
    out
}

/// `classify RUN_DIR DATA`: posterior assignment probabilities (the average over the run's
/// draws of each draw's responsibilities) and, with `--temperature 1`, one sampled assignment
/// per point and draw.
fn classify_posterior(a: &ClassifyArgs) -> Result<()> {
    if a.method != "exact" {
        bail!("--method svi needs a MAP fit, not a sampling run");
    }
    let run = crate::predict::load_run_record(&a.fit)?;
    let model = run.model;
    let draws = run.chains.concat();
    // default columns: the run's, when the new data have all of them (as for a fit)
    let (data, names) = load_data_preferring(&a.data, a.columns.as_deref(), &run.columns)?;
    if data.d() != model.d {
        bail!(
            "dimension mismatch: the run '{}' has d = {} but the data '{}' have {} column{} ({})",
            a.fit.display(),
            model.d,
            a.data,
            data.d(),
            if data.d() == 1 { "" } else { "s" },
            names.join(", ")
        );
    }
    let sampled = a.temperature == 1;
    let pa = bgmm::posterior::assignment_probabilities_of(&model, &data, &draws, sampled, a.seed)
        .map_err(|e| anyhow!("{e}"))?;
    let z = bgmm::classify::assign(&pa.probs, Temperature::Zero, 0);
    let v = serde_json::json!({
        "assignments": z,
        "probs": pa.probs,
        "method": "posterior",
        "draws": draws.len(),
        "sampled_assignments": if sampled { serde_json::to_value(&pa.sampled)? } else { serde_json::Value::Null },
        "data": DataInfo { source: a.data.clone(), columns: names.clone(), n: data.n() },
        "run": a.fit.display().to_string(),
        "bgmm_version": env!("CARGO_PKG_VERSION"),
        "command": command_line(),
    });
    let bytes = json_bytes(&v)?;
    if let Some(dir) = &a.output.out {
        ensure_dir(dir)?;
        check_out(dir, &["classify.json", "assignments.csv"])?;
        write_out(dir, "classify.json", &bytes)?;
        write_out(
            dir,
            "assignments.csv",
            output::assignments_csv(&data, &names, &z, &pa.probs).as_bytes(),
        )?;
    }
    if a.output.json {
        print!("{}", String::from_utf8(bytes)?);
    } else {
        print!(
            "{}",
            output::classify_text(
                &data,
                &names,
                &z,
                &pa.probs,
                "posterior average over draws",
                0
            )
        );
    }
    Ok(())
}

fn cmd_plot(a: PlotArgs) -> Result<()> {
    let (svg, png) = match a.format.as_str() {
        "svg" => (true, false),
        "png" => (false, true),
        "both" => (true, true),
        other => bail!("--format: unknown '{other}' (known: svg, png, both)"),
    };
    let out = a.out.clone().unwrap_or_else(|| a.dir.clone());
    let runs = crate::figures::find_runs(&a.dir)?;
    for run in &runs {
        // each run's pictures go next to it (under --out, in the same relative place)
        let dest = match run.dir().strip_prefix(&a.dir) {
            Ok(rel) if rel.as_os_str().is_empty() => out.clone(),
            Ok(rel) => out.join(rel),
            Err(_) => out.clone(),
        };
        let figs = crate::figures::figures(run)?;
        if figs.is_empty() {
            continue;
        }
        ensure_dir(&dest)?;
        let mut written = Vec::new();
        // every file says where it came from
        let prov = crate::figures::provenance(run);
        let software = format!("bgmm {}", env!("CARGO_PKG_VERSION"));
        for f in &figs {
            if svg {
                let text = crate::plot::svg_with_metadata(&f.render.svg()?, &prov);
                write_out(&dest, &format!("{}.svg", f.stem), text.as_bytes())?;
                written.push(format!("{}.svg", f.stem));
            }
            if png {
                let tags = [
                    ("Software", software.as_str()),
                    ("Description", prov.as_str()),
                ];
                write_out(
                    &dest,
                    &format!("{}.png", f.stem),
                    &f.render.png_tagged(&tags)?,
                )?;
                written.push(format!("{}.png", f.stem));
            }
        }
        println!("{}: wrote {}", dest.display(), written.join(", "));
    }
    Ok(())
}

/// Read a fit record from a JSON file or a directory holding `fit.json`.
pub fn load_fit(path: &Path) -> Result<(FitRecord, Model, Params)> {
    let file = if path.is_dir() {
        path.join("fit.json")
    } else {
        path.to_path_buf()
    };
    let shown = file.display();
    let text =
        std::fs::read_to_string(&file).map_err(|e| anyhow!("cannot read fit '{shown}': {e}"))?;
    fit_from_str(&text, &shown.to_string())
}

/// [`load_fit`] on the file's text; `shown` names the file in errors.
pub fn fit_from_str(text: &str, shown: &str) -> Result<(FitRecord, Model, Params)> {
    let rec: FitRecord = serde_json::from_str(text).map_err(|e| {
        // a fit of another bgmm version may have other fields: say which version wrote it
        let ours = env!("CARGO_PKG_VERSION");
        let version = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v["bgmm_version"].as_str().map(str::to_string))
            .filter(|v| v != ours)
            .map(|v| format!("; it was written by bgmm {v}, this is bgmm {ours}"))
            .unwrap_or_default();
        anyhow!(
            "fit '{shown}', line {}, column {}: not a bgmm fit ({}){version}",
            e.line(),
            e.column(),
            e.to_string().replace('\n', " ")
        )
    })?;
    let model = rec
        .model
        .build(None)
        .map_err(|e| anyhow!("fit '{shown}': its model is invalid: {e}"))?;
    let params = Params::from_shaped(&model, &rec.params)
        .map_err(|e| anyhow!("fit '{shown}': its parameters are invalid: {e}"))?;
    Ok((rec, model, params))
}

#[derive(Serialize)]
struct ClassifyRecord<'a> {
    assignments: &'a [usize],
    probs: &'a [Vec<f64>],
    method: &'a str,
    temperature: u8,
    seed: u64,
    data: DataInfo,
    fit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    svi_loss: Option<&'a [f64]>,
    bgmm_version: &'a str,
    command: String,
}

fn cmd_classify(a: ClassifyArgs) -> Result<()> {
    let temperature = match a.temperature {
        0 => Temperature::Zero,
        1 => Temperature::One,
        t => bail!("--temperature must be 0 (MAP) or 1 (sampled), got {t}"),
    };
    if a.method != "exact" && a.method != "svi" {
        bail!("--method: unknown '{}' (known: exact, svi)", a.method);
    }
    if a.method == "svi" && a.svi_steps == 0 {
        bail!("--svi-steps must be at least 1");
    }
    if a.fit.join("summary.json").exists() {
        return classify_posterior(&a);
    }
    let (rec, model, params) = load_fit(&a.fit)?;
    // default columns: the fit's, when the new data have all of them (one read of the file)
    let (data, names) = load_data_preferring(&a.data, a.columns.as_deref(), &rec.data.columns)?;
    if data.d() != model.d {
        bail!(
            "dimension mismatch: the fit '{}' has d = {} but the data '{}' have {} column{} ({})",
            a.fit.display(),
            model.d,
            a.data,
            data.d(),
            if data.d() == 1 { "" } else { "s" },
            names.join(", ")
        );
    }
    let mut c = classify(&model, &params, &data, temperature, a.seed).map_err(errors::cli_error)?;
    let mut svi_loss = None;
    if a.method == "svi" {
        let s = classify_svi(
            &model,
            &params,
            &data,
            &SviOptions {
                steps: a.svi_steps,
                ..SviOptions::default()
            },
        )
        .map_err(errors::cli_error)?;
        // assignments from the trained probabilities
        let recomputed = bgmm::classify::assign(&s.probs, temperature, a.seed);
        c.probs = s.probs;
        c.assignments = recomputed;
        svi_loss = Some(s.loss);
    }
    let record = ClassifyRecord {
        assignments: &c.assignments,
        probs: &c.probs,
        method: &a.method,
        temperature: a.temperature,
        seed: a.seed,
        data: DataInfo {
            source: a.data.clone(),
            columns: names.clone(),
            n: data.n(),
        },
        fit: a.fit.display().to_string(),
        svi_loss: svi_loss.as_deref(),
        bgmm_version: env!("CARGO_PKG_VERSION"),
        command: command_line(),
    };
    let bytes = json_bytes(&record)?;
    if let Some(dir) = &a.output.out {
        ensure_dir(dir)?;
        check_out(dir, &["classify.json", "assignments.csv"])?;
        write_out(dir, "classify.json", &bytes)?;
        write_out(
            dir,
            "assignments.csv",
            output::assignments_csv(&data, &names, &c.assignments, &c.probs).as_bytes(),
        )?;
    }
    if a.output.json {
        print!("{}", String::from_utf8(bytes)?);
    } else {
        print!(
            "{}",
            output::classify_text(
                &data,
                &names,
                &c.assignments,
                &c.probs,
                &a.method,
                a.temperature
            )
        );
        if let Some(dir) = &a.output.out {
            println!(
                "wrote {}, {}",
                dir.join("classify.json").display(),
                dir.join("assignments.csv").display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64: a fixed stream of 64-bit patterns, independent of any crate's API.
    fn bits(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Found with `sample --from-fit`: a fit's column mean 200.91520467836258 was written to
    /// fit.json and read back one ulp off (serde_json parses floats exactly only with its
    /// `float_roundtrip` feature). Every finite f64 written as bgmm writes its JSON must read
    /// back bit for bit, through the typed and the untyped (`Value`) readers alike.
    #[test]
    fn every_f64_written_to_json_reads_back_bit_identical() {
        let mut s = 11u64;
        let mut values = vec![
            200.91520467836258,
            34356.5 / 171.0,
            0.1 + 0.2,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::from_bits(0x000f_ffff_ffff_ffff),
            1e-300,
            1e300,
            -1.7976931348623157e308,
        ];
        for _ in 0..100_000 {
            // every exponent alike: huge, tiny, negative
            let v = f64::from_bits(bits(&mut s));
            if v.is_finite() {
                values.push(v);
            }
            // subnormals (exponent field 0)
            values.push(f64::from_bits(bits(&mut s) & 0x800f_ffff_ffff_ffff));
            // data-like values: a mean of a few hundred numbers around 200
            let n = 2 + bits(&mut s) % 500;
            let sum = (bits(&mut s) % 1_000_000) as f64 / 2.0;
            values.push(sum / n as f64);
            // unit-scale values with 17 significant digits
            values.push((bits(&mut s) >> 11) as f64 / (1u64 << 53) as f64 * 1e3 - 500.0);
        }
        let text = String::from_utf8(json_bytes(&values).unwrap()).unwrap();
        let typed: Vec<f64> = serde_json::from_str(&text).unwrap();
        let untyped: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(typed.len(), values.len());
        let mut off = Vec::new();
        for (i, (a, b)) in values.iter().zip(&typed).enumerate() {
            let c = untyped[i].as_f64().unwrap();
            if a.to_bits() != b.to_bits() || a.to_bits() != c.to_bits() {
                off.push(format!("{a:?} read back as {b:?} / {c:?}"));
            }
        }
        assert!(
            off.is_empty(),
            "{} of {} values read back changed, e.g. {:?}",
            off.len(),
            values.len(),
            &off[..off.len().min(5)]
        );
    }

    /// 171 points in two groups whose mean is 34356.5 / 171 = 200.91520467836258, the value
    /// that read back one ulp off.
    fn mean_200_915() -> Vec<f64> {
        let mut x: Vec<f64> = (0..170)
            .map(|i| if i < 106 { 150.0 } else { 250.0 } + (i % 10) as f64 * 3.0)
            .collect();
        x.push(161.5);
        x
    }

    /// Issue 11: `fit DATA -k K` used a column of row numbers as data without a word.
    #[test]
    fn row_numbers_and_index_columns_are_named() {
        let warn = |cols: Vec<(&str, Vec<f64>)>, source: &str| {
            let names: Vec<String> = cols.iter().map(|(n, _)| n.to_string()).collect();
            let data = Data::from_columns(cols.into_iter().map(|(_, c)| c).collect()).unwrap();
            id_like_warnings(&data, &names, source)
        };
        // 12 rows
        let a: Vec<f64> = (0..12).map(|i| 0.37 * i as f64 - 1.1).collect();
        let ids: Vec<f64> = (1..=12).map(f64::from).collect();
        assert_eq!(
            warn(
                vec![("id", ids.clone()), ("a", a.clone()), ("b", a.clone())],
                "d.csv"
            ),
            [
                "column 'id' of 'd.csv' holds the integers 1..12 in row order, like a row number, \
                 yet is used as a data column (no --columns given); to leave it out, give \
                 --columns a,b"
            ]
        );
        // pandas' index, from 0, under another name
        let from0: Vec<f64> = (0..12).map(f64::from).collect();
        assert_eq!(
            warn(vec![("a", a.clone()), ("row", from0.clone())], "d.csv"),
            [
                "column 'row' of 'd.csv' holds the integers 0..11 in row order, like a row \
                 number, yet is used as a data column (no --columns given); to leave it out, \
                 give --columns a"
            ]
        );
        // named like an index, integers in any order (any number of rows); two of them
        let shuffled: Vec<f64> = (0..12).map(|i| f64::from((i * 5) % 12)).collect();
        assert_eq!(
            warn(
                vec![
                    ("Unnamed: 0", shuffled.clone()),
                    ("a", a.clone()),
                    ("patient_ID", shuffled.clone())
                ],
                "d.csv"
            ),
            [
                "column 'Unnamed: 0' of 'd.csv' holds integers and is named like a row index, \
                 yet is used as a data column (no --columns given)",
                "column 'patient_ID' of 'd.csv' holds integers and is named like a row index, \
                 yet is used as a data column (no --columns given); to leave it out, give \
                 --columns a"
            ]
        );
        assert_eq!(
            warn(vec![("", vec![3.0, 1.0]), ("a", vec![0.5, 0.7])], "d.csv").len(),
            1
        );
        // the only numeric column
        assert_eq!(
            warn(vec![("n", ids.clone())], "d.csv"),
            [
                "column 'n' of 'd.csv' holds the integers 1..12 in row order, like a row \
                 number, yet is used as a data column (no --columns given); it is the only \
                 numeric column: check the file"
            ]
        );
        // not row numbers: other integers, another start, another step, backwards, not all
        // integers, fewer than 10 rows, or deliberately a grid
        let none: Vec<String> = Vec::new();
        let mut last_off = ids.clone();
        last_off[11] = 12.5;
        for col in [
            shuffled.clone(),
            (2..14).map(f64::from).collect(),
            (0..12).map(|i| f64::from(2 * i)).collect(),
            (1..=12).rev().map(f64::from).collect(),
            last_off,
        ] {
            assert_eq!(warn(vec![("count", col), ("a", a.clone())], "d.csv"), none);
        }
        let nine: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(
            warn(
                vec![("count", nine.clone()), ("a", a[..9].to_vec())],
                "d.csv"
            ),
            none
        );
        assert_eq!(warn(vec![("count", vec![1.0, 2.0])], "d.csv"), none);
        let mut index_of_reals = from0.clone();
        index_of_reals[0] = 0.5;
        assert_eq!(warn(vec![("index", index_of_reals)], "d.csv"), none);
        assert_eq!(warn(vec![("x", from0)], "grid:0,12,1"), none);
    }

    /// The model a fit records reads back as the one it was built from, bit for bit.
    #[test]
    fn a_default_model_reads_back_from_json_as_it_was_written() {
        let data = Data::from_1d(mean_200_915()).unwrap();
        let spec = ModelSpec::quick(2, Sharing::Component, &data);
        let text = String::from_utf8(json_bytes(&spec).unwrap()).unwrap();
        assert!(text.contains("200.91520467836258"), "{text}");
        let back: ModelSpec = serde_json::from_str(&text).unwrap();
        assert_eq!(back, spec);
    }
}
