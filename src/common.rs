//! What several commands share (none of the commands themselves): the command line they
//! record, the model of a model file or of `-k`, warnings, the fit options of the flags, and
//! how a fit or a posterior is printed and written.

use anyhow::{anyhow, bail, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use bgmm::FitOptions;
use bgmm::Posterior;
use bgmm::{Data, Model, ModelSpec};
use bgmm_io::{
    json_bytes, load_model_spec, DataInfo, DataSpec, FitRecord, RunKind, RunOptions, RunWriter,
    SampleRecord,
};

use crate::args::{InputArgs, ModelArgs, OutputArgs, SearchArgs};
use crate::errors;

/// What a command needs to know of how it was called: the command line its records hold
/// (this process's, or the one `bgmm demo` shows for its step).
#[derive(Debug, Clone, PartialEq)]
pub struct Ctx {
    pub command: String,
}

impl Ctx {
    /// This process's command line.
    pub fn of_process() -> Ctx {
        Ctx {
            command: std::env::args().collect::<Vec<_>>().join(" "),
        }
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

impl InputArgs {
    /// The data argument and `--columns`, parsed.
    pub fn spec(&self) -> DataSpec {
        DataSpec::new(&self.data, self.columns.as_deref())
    }

    /// The data and their columns' names, without the incomplete rows with --drop-missing.
    pub fn read(&self) -> Result<(Data, Vec<String>)> {
        drop_missing(self.spec().read()?, &self.data, self.drop_missing)
    }

    /// --drop-missing reads the whole data; --minibatch takes missing values as they are.
    pub fn check_minibatch(&self) -> Result<()> {
        if self.drop_missing {
            bail!("--drop-missing does not go with --minibatch, which takes the rows' missing values as they are (drop the incomplete rows from the file instead)");
        }
        Ok(())
    }
}

/// With `drop` (--drop-missing), the data without their incomplete rows, how many of how many
/// went said on stderr.
pub fn drop_missing(
    read: (Data, Vec<String>),
    source: &str,
    drop: bool,
) -> Result<(Data, Vec<String>)> {
    let (data, names) = read;
    if !drop {
        return Ok((data, names));
    }
    let kept = data.complete_rows().map_err(|e| {
        anyhow!(
            "data '{source}' with --drop-missing: {}",
            errors::message(&e)
        )
    })?;
    eprintln!(
        "--drop-missing: dropped {} of the {} rows of '{source}', those with a missing value",
        data.n() - kept.n(),
        data.n()
    );
    Ok((kept, names))
}

pub fn build_model(spec: &ModelSpec, origin: &str, d: Option<usize>) -> Result<Model> {
    spec.build(d).map_err(|e| anyhow!("{origin}: {e}"))
}

/// [`bgmm_io::id_like_warnings`] of data read without `--columns` (none with them). The
/// command prints them once it has succeeded, so that a failure stays one line.
pub fn id_like_unless(data: &Data, names: &[String], source: &str, columns: bool) -> Vec<String> {
    if columns {
        Vec::new()
    } else {
        bgmm_io::id_like_warnings(data, names, source)
            .iter()
            .map(|w| errors::rewrite(w))
            .collect()
    }
}

/// Print warnings on stderr, one line each.
pub fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// A progress bar on stderr (hidden when it is not a terminal) with this template.
pub fn bar(len: u64, template: &str) -> ProgressBar {
    let b = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        b.set_style(style);
    }
    b
}

/// `--resolution`: `auto`, `off` (or 0), one value for every column or one per column (the
/// library checks their number against the data's columns).
pub fn parse_resolution(s: &str) -> Result<bgmm::Resolution> {
    use bgmm::Resolution;
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

pub fn parse_betas(s: &str) -> Result<(f64, f64)> {
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
pub fn resolve_model(m: &ModelArgs, data: &Data, source: &str) -> Result<(Model, String)> {
    match (&m.model, m.k) {
        (Some(_), Some(_)) => bail!("give a model file or -k, not both"),
        (None, None) => bail!("no model: give a model file (TOML) or -k K"),
        (Some(path), None) => {
            if m.covariance.is_some() {
                bail!("--covariance goes with -k; a model file sets its own family ([covariance] family)");
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
            let family = m
                .covariance
                .map_or(bgmm::CovarianceFamily::Component, |c| c.family());
            let spec = bgmm_io::default_model_spec(k, family, data, &format!("data '{source}'"))?;
            Ok((
                build_model(&spec, "-k", Some(data.d()))?,
                format!("default model (-k {k} --covariance {})", family.name()),
            ))
        }
    }
}

/// The record of the fit `f` of `model` to `data` (read as `input` says, its columns `names`).
pub fn fit_record(
    model: &Model,
    data: &Data,
    names: &[String],
    input: &InputArgs,
    f: &bgmm::Fit,
    opts: &FitOptions,
    ctx: &Ctx,
) -> FitRecord {
    let info = DataInfo::of(&input.data, names, data).dropped(input.drop_missing);
    FitRecord::of(model, data, f, opts, info, ctx.command.clone())
}

impl SearchArgs {
    /// The search's options from the flags (`subsample`: the search's subsample size).
    pub fn options(&self, subsample: usize) -> Result<FitOptions> {
        Ok(FitOptions {
            restarts: self.restarts,
            candidates: self.candidates,
            init: self.init.init(),
            steps: self.steps,
            lr: self.lr,
            betas: parse_betas(&self.betas)?,
            polish: !self.no_polish,
            grad_tol: self.grad_tol,
            seed: self.seed,
            subsample,
            resolution: parse_resolution(&self.resolution)?,
            ..FitOptions::default()
        })
    }
}

/// Refuse, before the work, an `--out` that cannot take the run (a link, a file, a special
/// file, a directory holding a directory or another run's files of the same names).
pub fn check_out(out: &Option<std::path::PathBuf>, kind: RunKind) -> Result<()> {
    match out {
        Some(dir) => RunWriter::check(dir, kind),
        None => Ok(()),
    }
}

/// Write `fit.json` into `--out` and print the record as JSON, or else `text`.
pub fn emit_fit(output: &OutputArgs, record: &FitRecord, text: &str) -> Result<()> {
    let bytes = json_bytes(record)?;
    if let Some(dir) = &output.out {
        let mut run = RunWriter::create(dir, RunKind::Fit)?;
        run.write("fit.json", &bytes)?;
        run.commit()?;
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

/// Print and write a posterior (NUTS or VI) the same way.
#[allow(clippy::too_many_arguments)]
pub fn report_posterior(
    ctx: &Ctx,
    post: &Posterior,
    model: &bgmm::Model,
    data: DataInfo,
    options: RunOptions,
    output: &OutputArgs,
    title: &str,
    wall_s: f64,
    points: Option<(&bgmm::Data, u64)>,
) -> Result<()> {
    // the library's warnings in the command line's words
    let mut record = SampleRecord::of(post, model, data, options, wall_s, ctx.command.clone())?;
    record.warnings = record.warnings.iter().map(|w| errors::rewrite(w)).collect();
    let (log_lik, skipped) = match points {
        Some((data, seed)) => {
            bgmm_io::pointwise_outputs(post, model, data, seed, output.out.is_some(), &mut record)
                .map_err(errors::from_anyhow)?
        }
        None => (None, None),
    };
    let bytes = json_bytes(&record)?;
    if let Some(dir) = &output.out {
        bgmm_io::write_sample_run(dir, post, &record, &bytes, log_lik.as_deref(), title)?;
    }
    if output.json {
        print!("{}", String::from_utf8(bytes)?);
    } else {
        print!(
            "{}",
            bgmm_io::posterior_text(post, model, &record, title, wall_s)
        );
        if let Some(dir) = &output.out {
            println!(
                "wrote {}/chain-*.csv (CmdStan CSV: arviz.from_cmdstan(glob)), raw-chain-*.csv, {}summary.json",
                dir.display(),
                if log_lik.is_some() {
                    format!("{} (pointwise log likelihood, chain × draw × point), ", bgmm_io::LOG_LIK_FILE)
                } else {
                    String::new()
                }
            );
        }
        if let Some(note) = &skipped {
            println!("{note}");
        }
    }
    for w in &record.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}
