//! `bgmm fit FILE --minibatch B`: the MAP of data larger than memory. The file (CSV or .npy)
//! is never loaded whole: a random sample of it gives the starting mode (the usual search,
//! its likelihood weighted by N/m), then Adam runs on minibatches read from random places in
//! the file, and a last streaming pass computes the exact loss on all the data.

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use chacha20::ChaCha8Rng;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::SeedableRng;

use bgmm::density::Transform;
use bgmm::init::Init;
use bgmm::map::{fit_weighted, stochastic, FitOptions, StochasticOptions};
use bgmm::Data;

use crate::cli::{
    command_line, emit_fit, resolve_model, DataInfo, FitArgs, FitOptionsRecord, FitRecord,
};
use crate::stream::{MinibatchDensity, Source};

/// Rows per chunk of the streaming pass.
const PASS_CHUNK: usize = 1 << 20;

fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix} {bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}]",
    ) {
        b.set_style(style);
    }
    b.set_prefix(what.to_string());
    b
}

/// `Σ_n log p(x_n | θ)` over the whole file, chunk by chunk (memory: one chunk).
fn streaming_loglik(src: &Source, model: &bgmm::Model, p: &bgmm::Params) -> Result<f64> {
    let b = bar(src.n as u64, "exact loss, pass over the file");
    let mut total = 0.0;
    let mut done = 0;
    src.for_each_chunk(PASS_CHUNK, |chunk| {
        total += bgmm::density::log_likelihood_at(model, &chunk, p);
        done += chunk.n();
        b.set_position(done as u64);
        Ok(())
    })?;
    b.finish_and_clear();
    Ok(total)
}

/// The start of a minibatch run: the file, the model, and the MAP of a random sample of the
/// file (at least 20 000 rows and 200 per component, all if fewer), its likelihood weighted
/// by N/m.
pub struct Start {
    pub src: Source,
    pub model: bgmm::Model,
    pub origin: String,
    pub sample_n: usize,
    pub fit: bgmm::map::Fit,
}

pub fn start(
    input: &crate::cli::InputArgs,
    b: usize,
    seed: u64,
    opts: &FitOptions,
) -> Result<Start> {
    if b == 0 {
        bail!("--minibatch must be at least 1");
    }
    let spec = &input.data;
    if spec.starts_with("builtin:") || spec.starts_with("grid:") {
        bail!("--minibatch reads a data file (CSV or .npy), not '{spec}'");
    }
    if spec.ends_with(".parquet") {
        bail!("--minibatch reads CSV or .npy files; '{spec}' is Parquet (fit it whole, or convert it)");
    }
    // without --columns, a CSV file's numeric columns (text columns left out, as for a
    // whole-file fit)
    let path = Path::new(spec);
    let numeric = match &input.columns {
        None if !spec.ends_with(".npy") => Some(Source::numeric_columns(path)?),
        _ => None,
    };
    let src = Source::open(path, input.columns.as_deref().or(numeric.as_deref()))?;
    let n = src.n;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m0 = 20_000usize.max(b).min(n);
    let first = src.minibatch(m0, &mut rng)?;
    let (model, origin) = resolve_model(&input.model, &first, spec)?;
    let m = m0.max(200 * model.k).min(n);
    let sample = if m > first.n() {
        src.minibatch(m, &mut rng)?
    } else {
        first
    };
    let fit =
        fit_weighted(&model, &sample, n as f64 / sample.n() as f64, opts).map_err(|e| match e {
            bgmm::Error::Data(m) => anyhow!("data '{spec}' and {origin}: {m}"),
            other => crate::errors::cli_error(other),
        })?;
    Ok(Start {
        src,
        model,
        origin,
        sample_n: sample.n(),
        fit,
    })
}

pub fn fit_minibatch(a: &FitArgs, b: usize, betas: (f64, f64), init: Init) -> Result<()> {
    let t0 = Instant::now();
    if a.sgd_steps == 0 {
        bail!("--sgd-steps must be at least 1");
    }
    if !(a.sgd_lr.is_finite() && a.sgd_lr > 0.0) {
        bail!("--sgd-lr must be positive and finite, got {}", a.sgd_lr);
    }
    let spec = &a.input.data;
    let opts = a.options(betas, init, 0)?;
    let Start {
        src,
        model,
        origin,
        sample_n,
        fit: start,
    } = start(&a.input, b, a.seed, &opts)?;
    let n = src.n;
    let t = Transform::new(&model);
    let dens = MinibatchDensity::new(&model, &src, b, false, a.seed ^ 0x5eed);
    let sopts = StochasticOptions {
        steps: a.sgd_steps,
        lr: a.sgd_lr,
        ..StochasticOptions::default()
    };
    let pb = bar(a.sgd_steps as u64, &format!("Adam on minibatches of {b}"));
    let run = stochastic(&dens, &t.pack(&start.params), &sopts, &|s| {
        if s % 50 == 0 {
            pb.set_position(s as u64);
        }
    });
    pb.finish_and_clear();
    if let Some(e) = dens.error.lock().ok().and_then(|e| e.clone()) {
        bail!("{e}");
    }
    let (x, losses) = run.map_err(crate::errors::cli_error)?;
    let params = t.params(&x);
    // the exact loss on all the data: prior from a small piece, likelihood by a streaming pass
    let piece: Data = src.rows(0, 1.min(n))?;
    let prior = bgmm::density::log_joint(&model, &piece, &params)
        - bgmm::density::log_likelihood_at(&model, &piece, &params);
    let loss = -(prior + streaming_loglik(&src, &model, &params)?);
    let secs = t0.elapsed().as_secs_f64();
    let mut history = start.history.clone();
    history.loss = losses;
    history.grad_norm = Default::default();
    history.subsample = Some(sample_n);
    let record = FitRecord {
        params: params.shaped(&model),
        loss,
        converged: false,
        best_restart: start.best_restart,
        steps: a.sgd_steps,
        history,
        grad_norm_max: None,
        polish_iterations: start.polish_iterations,
        message: format!(
            "minibatch: MAP of a {}-row sample, then {} Adam steps on minibatches of {b} rows (averaged); loss exact on all {n} rows",
            sample_n,
            a.sgd_steps
        ),
        warnings: start.warnings.iter().map(|w| crate::errors::rewrite(w)).collect(),
        strategy: start.strategy.clone(),
        resolution: start.resolution.clone(),
        init_params: start.params.shaped(&model),
        model: model.spec().clone(),
        data: DataInfo {
            source: spec.clone(),
            columns: src.names.clone(),
            n,
        },
        options: FitOptionsRecord::of(&opts, sample_n),
        bgmm_version: env!("CARGO_PKG_VERSION").into(),
        command: command_line(),
    };
    let text = format!(
        "Minibatch MAP of {spec} ({n} rows, {} column{}: {}) with {origin}, {secs:.2} s\n  start: the MAP of {sample_n} random rows (loss scaled to all rows {:.6}); {} Adam steps on minibatches of {b} (lr {} decaying to 1 %), the last half averaged\n  loss = −log p(x, θ) on all {n} rows = {loss:.6}\n{}",
        src.d(),
        if src.d() == 1 { "" } else { "s" },
        src.names.join(", "),
        start.loss,
        a.sgd_steps,
        a.sgd_lr,
        crate::output::params_text(&model, &params)
    );
    emit_fit(&a.output, &record, &text)?;
    Ok(())
}
