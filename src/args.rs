//! The command line: every command's arguments, parsed by clap, with typed choices.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "bgmm",
    version,
    about = "Bayesian Gaussian mixture models: simulate, fit the MAP with the assignments summed out, classify, sample the posterior, draw every picture and report",
    long_about = None,
    after_help = "DATA is a CSV file with a header row, a NumPy .npy file (float64 or float32, shape (N,) or (N, D)),\n\
                  a Parquet file (.parquet: double and float columns; needs the cargo feature parquet),\n\
                  builtin:iris, builtin:faithful, builtin:penguins, builtin:wine, builtin:tutorial or grid:START,STOP,STEP.\n\
                  MODEL is a TOML file (see examples/models/); -k K [--covariance FAMILY] builds a default model instead.\n\
                  Errors print one line and exit with code 2."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum Command {
    /// Draw parameters from the priors, then N points and their true assignments (CSV).
    Simulate(SimulateArgs),
    /// Print every site of the model with its distribution and shape (Pyro's format_shapes).
    Describe(DescribeArgs),
    /// Fit the MAP: R initial points screened, the best C optimised (Adam, then an L-BFGS polish
    /// to the mode); the lowest mode wins.
    Fit(FitArgs),
    /// Choose the number of components and the covariance family: the MAP of every pair,
    /// ranked by BIC, ICL or AIC (mclust's table).
    Select(SelectArgs),
    /// Assignments and assignment probabilities of points under a fit.
    Classify(ClassifyArgs),
    /// Sample the posterior by collapsed NUTS over several chains, relabel, summarise.
    Sample(SampleArgs),
    /// Posterior predictive data sets from a sampling run (or plug-in ones from a MAP fit).
    Predict(PredictArgs),
    /// Mean-field Gaussian variational posterior (Pyro's AutoNormal), as draws like `sample`.
    Vi(ViArgs),
    /// PSIS-LOO and WAIC of sampling runs, with Pareto k diagnostics; several runs compared
    /// (ArviZ's loo, waic and compare).
    Loo(LooArgs),
    /// Draw the pictures of a fit, classification or sampling run directory (SVG and PNG).
    Plot(PlotArgs),
    /// One self-contained HTML page with the model, data, fit, summaries and every picture.
    Report(ReportArgs),
    /// The whole pipeline on the embedded iris petal lengths: fit, classify, sample, predict,
    /// pictures and the report (bgmm-demo/report.html).
    Demo(DemoArgs),
    /// Time the data kernel against the scalar baseline, and the peers' end-to-end jobs.
    Bench(BenchArgs),
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct PlotArgs {
    /// A directory written by `fit`, `classify`, `sample` or `vi` with `--out`, or a directory
    /// holding such directories (each run's pictures are written next to it).
    pub dir: PathBuf,
    /// Write the pictures here instead of into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// svg, png or both.
    #[arg(long, default_value = "both", hide_possible_values = true)]
    pub format: PlotFormat,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct ViArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Adam steps on the negative ELBO (at most 100000000).
    #[arg(long, default_value_t = 10_000)]
    pub steps: usize,
    /// Adam learning rate (decays to 1 % of it at the last step).
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Reparameterised Monte Carlo draws per step (at most 100000).
    #[arg(long, default_value_t = 4)]
    pub mc_samples: usize,
    /// Draws from the fitted approximation (at most 100000000).
    #[arg(long, default_value_t = 1000)]
    pub draws: usize,
    /// Data larger than memory: start from the MAP of a random sample of the file and
    /// estimate each ELBO gradient on a minibatch of B rows read from the file (weighted N/B).
    #[arg(long, value_name = "B")]
    pub minibatch: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct SampleArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Number of chains (each on its own thread; at most 256).
    #[arg(long, default_value_t = 4)]
    pub chains: usize,
    /// Warmup iterations per chain (step size and mass matrix adaptation), discarded (at most
    /// 100000000).
    #[arg(long, default_value_t = 1000)]
    pub warmup: u64,
    /// Kept draws per chain (at most 100000000).
    #[arg(long, default_value_t = 1000)]
    pub draws: u64,
    /// Seed; chain c uses its own stream under it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Target acceptance rate of the step-size adaptation.
    #[arg(long, default_value_t = 0.8)]
    pub target_accept: f64,
    /// Maximum tree depth.
    #[arg(long, default_value_t = 10)]
    pub max_depth: u64,
    /// Initial points: map (a short MAP fit, jittered per chain) or prior.
    #[arg(long, default_value = "map", hide_possible_values = true)]
    pub init: SampleInit,
    /// Adapt a low-rank plus diagonal mass matrix (for strongly correlated posteriors).
    #[arg(long)]
    pub low_rank: bool,
    /// Engine: nuts (chains from the MAP: fast, exact within the mode they start in) or smc
    /// (sequential Monte Carlo tempered from the prior: a posterior with several modes in
    /// their shares, and the evidence log p(x); --chains independent runs of --draws
    /// particles each; --warmup, --max-depth, --init and --low-rank do not apply).
    #[arg(long, default_value = "nuts", hide_possible_values = true)]
    pub engine: SampleEngine,
    /// With --engine smc: the share of the particles' effective sample size each tempering
    /// step keeps (smaller: fewer, longer steps).
    #[arg(long, default_value_t = 0.5)]
    pub ess_ratio: f64,
    /// With --engine smc: the fewest HMC sweeps over the particles at each temperature (more:
    /// better mixed particles and a steadier evidence, at proportional cost).
    #[arg(long, default_value_t = 6)]
    pub sweeps: usize,
    /// Start the chains from this MAP fit (a `fit --out` directory or fit JSON) and label the
    /// draws by its components, instead of a fresh MAP search.
    #[arg(long, value_name = "FIT")]
    pub from_fit: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct OutputArgs {
    /// Print JSON on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the results as files into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct SimulateArgs {
    /// Model file (TOML).
    pub model: PathBuf,
    /// Number of points.
    #[arg(short = 'n', long, default_value_t = 100)]
    pub n: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Add the true assignment of each point as a last column `z`.
    #[arg(long)]
    pub with_assignments: bool,
    /// File format of --out: csv (data.csv) or npy (data.npy, float64). Beyond 1e7 points the
    /// data are streamed to the file in chunks of 1e6 points, each from its own random stream.
    #[arg(long, default_value = "csv", hide_possible_values = true)]
    pub format: SimulateFormat,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct DescribeArgs {
    /// Model file (TOML).
    pub model: PathBuf,
    /// Number of data points the shapes are shown for.
    #[arg(short = 'n', long, default_value_t = 100)]
    pub n: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The data and the model of `fit`, `sample` and `vi`.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct InputArgs {
    /// Data: a CSV file (header row), a .npy file, a .parquet file (feature parquet),
    /// builtin:iris, builtin:faithful, builtin:penguins, builtin:wine, builtin:tutorial or grid:START,STOP,STEP.
    pub data: String,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Columns to use, comma-separated (default: every numeric column).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Drop the rows with a missing value (an empty cell, NA, NaN or null) instead of
    /// taking each row's observed values.
    #[arg(long)]
    pub drop_missing: bool,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct ModelArgs {
    /// Model file (TOML); or give -k.
    pub model: Option<PathBuf>,
    /// Number of components, for the default model (instead of a model file).
    #[arg(short = 'k', long = "components", value_name = "K")]
    pub k: Option<i64>,
    /// Component family of the default model: shared, component (spherical), dimension,
    /// diagonal, full or tied [default: component] (--scale is another name for it).
    #[arg(
        long = "covariance",
        alias = "scale",
        value_name = "FAMILY",
        hide_possible_values = true
    )]
    pub covariance: Option<CovarianceArg>,
}

/// The MAP search's options (`fit`, `select`).
#[derive(Args, Debug, Clone, PartialEq)]
pub struct SearchArgs {
    /// Initial points, screened by their loss; the --candidates best of them are optimised
    /// (with --init auto: R of Pyro's and R/5 k-means++ starts per batch; at most 1000000).
    #[arg(long, default_value_t = 100)]
    pub restarts: usize,
    /// The best C restarts by initial loss are optimised fully (with --init auto: half from
    /// Pyro's starts, half from k-means++); the lowest proper mode wins (--init pyro
    /// --candidates 1: Pyro's recipe; at most 10000).
    #[arg(long, default_value_t = 10, value_name = "C")]
    pub candidates: usize,
    /// Adam steps (at most 100000000).
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// Adam betas, b1,b2.
    #[arg(long, default_value = "0.8,0.99", value_name = "B1,B2")]
    pub betas: String,
    /// Initial points: auto (Pyro's and k-means++ starts, then split and merge moves from the
    /// best mode), pyro (the tutorial's only) or kmeans++.
    #[arg(long, default_value = "auto", hide_possible_values = true)]
    pub init: InitArg,
    /// Seed of the initial points.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Skip the L-BFGS polish (stop where Adam stops, as Pyro does).
    #[arg(long)]
    pub no_polish: bool,
    /// Convergence: max |gradient| ≤ TOL · max(1, |loss|).
    #[arg(long, default_value_t = 1e-9, value_name = "TOL")]
    pub grad_tol: f64,
    /// With at least 5·M points (M at least 200·K), search for the mode on M evenly spaced
    /// points and polish it on all of them; 0 searches on all the data.
    #[arg(long, default_value_t = 5000, value_name = "M")]
    pub subsample: usize,
    /// The resolution the data were recorded to: auto (detected per column from its decimal
    /// places, e.g. 0.1 for iris), one value for every column or one per column (R1,R2,…),
    /// or off. A mode with a component narrower than resolution/√12 (the spread of rounding
    /// itself) sits on tied values: it is set aside for the best mode without one, with a
    /// warning; off keeps such modes.
    #[arg(long, default_value = "auto", value_name = "auto|off|R[,R…]")]
    pub resolution: String,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct FitArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub search: SearchArgs,
    /// Data larger than memory: start from the MAP of a random sample of the file, then take
    /// --sgd-steps Adam steps on minibatches of B rows read from the file (likelihood weighted
    /// by N/B), averaging the last half of the iterates; memory stays at the sample's size.
    #[arg(long, value_name = "B")]
    pub minibatch: Option<usize>,
    /// Adam steps on minibatches (with --minibatch; at most 100000000).
    #[arg(long, default_value_t = 2000)]
    pub sgd_steps: usize,
    /// Initial learning rate of the minibatch steps (decays to 1 % of it).
    #[arg(long, default_value_t = 0.01)]
    pub sgd_lr: f64,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct SelectArgs {
    /// Data: a CSV file (header row), a .npy file, a .parquet file (feature parquet),
    /// builtin:iris, builtin:faithful, builtin:penguins, builtin:wine, builtin:tutorial or grid:START,STOP,STEP.
    pub data: String,
    /// Numbers of components to try: a range (1..9 or 1-9), a list (2,3,5) or one number.
    #[arg(
        short = 'k',
        long = "k",
        alias = "components",
        default_value = "1..9",
        value_name = "K"
    )]
    pub k: String,
    /// Families to try, comma-separated: shared, component (spherical), dimension, diagonal,
    /// tied, full [default: all six; shared and component for one column, where the others
    /// are the same models].
    #[arg(
        long = "covariance",
        alias = "scale",
        value_delimiter = ',',
        value_name = "FAMILY,…",
        hide_possible_values = true
    )]
    pub covariance: Option<Vec<CovarianceArg>>,
    /// The criterion the best model is chosen by: bic, icl (BIC plus twice the classification
    /// entropy: penalises overlapping components) or aic, at the MAP of the default model
    /// (-k K --covariance FAMILY of `fit`), not at the maximum likelihood; or loo (PSIS-LOO) or
    /// waic of each pair's posterior, sampled by NUTS from its MAP (--chains, --warmup,
    /// --draws), as −2·elpd; or evidence: −2·log p(x), the marginal likelihood by SMC
    /// tempered from the prior (--chains runs of --draws particles), with each pair's
    /// posterior probability and P(K | x). Lower is better, as scikit-learn's bic() and aic();
    /// mclust prints −BIC, higher is better.
    #[arg(long, default_value = "bic", hide_possible_values = true)]
    pub criterion: CriterionArg,
    /// With --criterion loo|waic: chains per pair; with evidence: SMC runs per pair.
    #[arg(long, default_value_t = 4)]
    pub chains: usize,
    /// With --criterion loo|waic: warmup iterations per chain.
    #[arg(long, default_value_t = 500)]
    pub warmup: u64,
    /// With --criterion loo|waic: kept draws per chain; with evidence: particles per run.
    #[arg(long, default_value_t = 500)]
    pub draws: u64,
    /// Columns to use, comma-separated (default: every numeric column).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Drop the rows with a missing value (an empty cell, NA, NaN or null) instead of
    /// taking each row's observed values.
    #[arg(long)]
    pub drop_missing: bool,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct LooArgs {
    /// Sampling run directories (`sample --out` or `vi --out`) of models of the same data;
    /// two or more are compared.
    #[arg(required = true, value_name = "RUN")]
    pub runs: Vec<PathBuf>,
    /// The estimate a comparison ranks by: loo (PSIS-LOO) or waic.
    #[arg(long, default_value = "loo", hide_possible_values = true)]
    pub ic: IcArg,
    /// How a comparison weights the models: stacking, pseudo-bma or bb-pseudo-bma (pseudo-BMA
    /// with the Bayesian bootstrap, 1000 samples).
    #[arg(long, default_value = "stacking", hide_possible_values = true)]
    pub method: MethodArg,
    /// The runs' names in the table, comma-separated (default: the directories as given).
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub names: Option<Vec<String>>,
    /// Seed of the Bayesian bootstrap (bb-pseudo-bma).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print JSON on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// `loo --ic`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcArg {
    Loo,
    Waic,
}

/// `loo --method`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodArg {
    Stacking,
    PseudoBma,
    BbPseudoBma,
}

/// `select --criterion`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CriterionArg {
    Bic,
    Icl,
    Aic,
    Loo,
    Waic,
    Evidence,
}

impl CriterionArg {
    pub fn criterion(self) -> bgmm::Criterion {
        match self {
            CriterionArg::Bic => bgmm::Criterion::Bic,
            CriterionArg::Icl => bgmm::Criterion::Icl,
            CriterionArg::Aic => bgmm::Criterion::Aic,
            CriterionArg::Loo => bgmm::Criterion::Loo,
            CriterionArg::Waic => bgmm::Criterion::Waic,
            CriterionArg::Evidence => bgmm::Criterion::Evidence,
        }
    }
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct ClassifyArgs {
    /// A fit (the JSON `bgmm fit --json` prints, or the directory `fit --out` wrote), or a sampling
    /// run directory (`sample --out`) for posterior assignment probabilities.
    pub fit: PathBuf,
    /// Data: a CSV file (header row), a .npy file, a .parquet file (feature parquet),
    /// builtin:iris, builtin:faithful, builtin:penguins, builtin:wine, builtin:tutorial or grid:START,STOP,STEP.
    pub data: String,
    /// Columns to use (default: the fit's or run's columns if the data have them, else every
    /// numeric column).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Drop the rows with a missing value (an empty cell, NA, NaN or null) instead of
    /// taking each row's observed values.
    #[arg(long)]
    pub drop_missing: bool,
    /// 0: MAP assignments; 1: assignments sampled from their posterior.
    #[arg(long, default_value_t = 0)]
    pub temperature: u8,
    /// Seed of the sampled assignments.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// exact: responsibilities in closed form; svi: trained by SVI with the globals fixed.
    #[arg(long, default_value = "exact", hide_possible_values = true)]
    pub method: Method,
    /// SVI steps (with --method svi; at most 100000000).
    #[arg(long, default_value_t = 10_000)]
    pub svi_steps: usize,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct PredictArgs {
    /// A sampling run directory (`sample --out`), or a fit (`fit --out` directory or fit JSON).
    pub run: PathBuf,
    /// Points per predictive data set (default: as many as the data had).
    #[arg(short = 'n', long)]
    pub n: Option<usize>,
    /// Impute the missing values of DATA instead of drawing new points: one completed copy of
    /// DATA per draw of a run (multiple imputation) or per --sets at a fit, each missing value
    /// drawn given its row's observed values.
    #[arg(long, value_name = "DATA")]
    pub impute: Option<String>,
    /// With --impute: columns to use (default: the run's or fit's).
    #[arg(long, value_delimiter = ',', requires = "impute")]
    pub columns: Option<Vec<String>>,
    /// Data sets from a MAP fit (a run gives one per draw).
    #[arg(long, default_value_t = 100)]
    pub sets: usize,
    /// Use at most M draws of a run, evenly spaced over its chains (default 100: a data set per
    /// draw of every draw of a long run is hundreds of MB); `all` uses every draw.
    #[arg(long, value_name = "M|all")]
    pub max_draws: Option<String>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print JSON (summary and every data set) instead of CSV.
    #[arg(long)]
    pub json: bool,
    /// Write `predictive.csv` into this directory instead of printing the CSV.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct ReportArgs {
    /// A run directory (`fit`, `classify`, `sample` or `vi` with `--out`) or a directory holding
    /// several (as `bgmm demo` writes).
    pub dir: PathBuf,
    /// The page to write (default: DIR/report.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct DemoArgs {
    /// Directory to write every step's output and the report into.
    #[arg(long, value_name = "DIR", default_value = "bgmm-demo")]
    pub out: PathBuf,
    /// Seed of every step.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// No progress bars while sampling.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct BenchArgs {
    /// What to measure: kernel, fit, search (how often the MAP search reaches the best mode
    /// known, and its time against the old search) or all.
    #[arg(default_value = "all", value_parser = bench_what)]
    pub what: BenchWhat,
    /// Leave out N = 1e7 (the kernel table) and the N = 1e6 fit; a quarter of the search
    /// cases.
    #[arg(long)]
    pub quick: bool,
    /// With search: redo the very long search for the best mode known of every case and write
    /// it to FILE (examples/search-bench/best-known.json), instead of the benchmark.
    #[arg(long, value_name = "FILE")]
    pub long: Option<PathBuf>,
    /// With --long: search only for the cases FILE does not hold yet (new cases), keeping
    /// the others as they are.
    #[arg(long, requires = "long")]
    pub only_new: bool,
    /// Print the results as JSON lines as well.
    #[arg(long)]
    pub json: bool,
}

/// `plot --format`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotFormat {
    Svg,
    Png,
    Both,
}

/// `simulate --format`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulateFormat {
    Csv,
    Npy,
}

/// `--covariance`: the default model's component family.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CovarianceArg {
    #[value(alias = "global")]
    Shared,
    #[value(alias = "spherical")]
    Component,
    Dimension,
    #[value(alias = "both")]
    Diagonal,
    Full,
    Tied,
}

impl CovarianceArg {
    pub fn family(self) -> bgmm::CovarianceFamily {
        use bgmm::CovarianceFamily as F;
        match self {
            CovarianceArg::Shared => F::Shared,
            CovarianceArg::Component => F::Component,
            CovarianceArg::Dimension => F::Dimension,
            CovarianceArg::Diagonal => F::Diagonal,
            CovarianceArg::Full => F::Full,
            CovarianceArg::Tied => F::Tied,
        }
    }
}

/// `fit --init`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitArg {
    Auto,
    Pyro,
    #[value(name = "kmeans++", alias = "kmeans", alias = "k-means++")]
    KMeansPlusPlus,
}

impl InitArg {
    pub fn init(self) -> bgmm::Init {
        match self {
            InitArg::Auto => bgmm::Init::Auto,
            InitArg::Pyro => bgmm::Init::Pyro,
            InitArg::KMeansPlusPlus => bgmm::Init::KMeansPlusPlus,
        }
    }
}

/// `sample --init`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleInit {
    Map,
    Prior,
}

impl SampleInit {
    pub fn name(self) -> &'static str {
        match self {
            SampleInit::Map => "map",
            SampleInit::Prior => "prior",
        }
    }
}

/// `sample --engine`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleEngine {
    Nuts,
    Smc,
}

/// `classify --method`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Exact,
    Svi,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::Svi => "svi",
        }
    }
}

/// `bench WHAT`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchWhat {
    Kernel,
    Fit,
    Search,
    All,
}

/// `bench WHAT`, with the command named in the error.
fn bench_what(s: &str) -> Result<BenchWhat, String> {
    BenchWhat::from_str(s, false)
        .map_err(|_| format!("bench: unknown '{s}' (known: kernel, fit, search, all)"))
}
