//! `bgmm vi`: the mean-field Gaussian variational posterior (Pyro's AutoNormal), in memory or
//! on minibatches of a file; its draws are written as `sample` writes its chains.

use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use bgmm::ViOptions;
use bgmm_io::{
    minibatch_start, missing_per_column, DataInfo, MinibatchDensity, RunOptions, ViRecord,
};

use crate::args::ViArgs;
use crate::common::{id_like_unless, print_warnings, report_posterior, resolve_model, Ctx};
use crate::errors;

/// Run `bgmm vi`.
pub fn run(a: ViArgs, ctx: &Ctx) -> Result<()> {
    crate::common::check_out(&a.output.out, bgmm_io::RunKind::Sample)?;
    // as for NUTS: the summary's quantiles, ESS and R-hat need a few draws
    if a.draws < 4 {
        bail!("--draws must be at least 4, got {}", a.draws);
    }
    // the options' bounds before any work
    options(&a).validate().map_err(errors::cli_error)?;
    if let Some(b) = a.minibatch {
        return vi_minibatch(ctx, &a, b);
    }
    let (data, names) = a.input.read()?;
    let (model, origin) = resolve_model(&a.input.model, &data, &a.input.data)?;
    let id_like = id_like_unless(&data, &names, &a.input.data, a.input.columns.is_some());
    let opts = options(&a);
    let t0 = Instant::now();
    let (post, res) = bgmm::vi(&model, &data, &opts).map_err(|e| match e {
        bgmm::Error::Data(m) => anyhow!("data '{}' and {origin}: {m}", a.input.data),
        other => errors::cli_error(other),
    })?;
    let wall_s = t0.elapsed().as_secs_f64();
    let elbo = elbo_tail(&res.elbo);
    let options = RunOptions::Vi(record(&a, elbo));
    let title = format!(
        "Mean-field VI (AutoNormal, Trace_ELBO) on {} ({} points) with {origin}: {} steps, ELBO {elbo:.3}; {} draws",
        a.input.data,
        data.n(),
        a.steps,
        a.draws
    );
    let info = DataInfo::of(&a.input.data, &names, &data).dropped(a.input.drop_missing);
    report_posterior(
        ctx,
        &post,
        &model,
        info,
        options,
        &a.output,
        &title,
        wall_s,
        Some((&data, a.seed)),
    )?;
    print_warnings(&id_like);
    Ok(())
}

fn options(a: &ViArgs) -> ViOptions {
    ViOptions {
        steps: a.steps,
        lr: a.lr,
        mc_samples: a.mc_samples,
        seed: a.seed,
        draws: a.draws,
        ..ViOptions::default()
    }
}

/// The options as `summary.json` records them.
fn record(a: &ViArgs, elbo: f64) -> ViRecord {
    ViRecord {
        draws: a.draws,
        elbo_last_100_mean: elbo,
        lr: a.lr,
        mc_samples: a.mc_samples,
        method: "vi".into(),
        minibatch: None,
        seed: a.seed,
        start_sample: None,
        steps: a.steps,
    }
}

/// The mean ELBO of the last 100 steps.
fn elbo_tail(elbo: &[f64]) -> f64 {
    let tail = &elbo[elbo.len().saturating_sub(100)..];
    tail.iter().sum::<f64>() / tail.len().max(1) as f64
}

/// `vi --minibatch B`: the ELBO's gradient estimated on minibatches read from the file.
fn vi_minibatch(ctx: &Ctx, a: &ViArgs, b: usize) -> Result<()> {
    let fit_opts = bgmm::FitOptions {
        seed: a.seed,
        subsample: 0,
        ..bgmm::FitOptions::default()
    };
    a.input.check_minibatch()?;
    let spec = &a.input.data;
    let st = minibatch_start(&a.input.spec(), b, a.seed, &fit_opts, &|first| {
        resolve_model(&a.input.model, first, spec)
    })
    .map_err(errors::from_anyhow)?;
    let opts = options(a);
    let t0 = Instant::now();
    let dens = MinibatchDensity::new(&st.model, &st.src, b, true, a.seed ^ 0x5eed);
    let run = bgmm::vi_posterior_of(&st.model, &dens, &st.fit.params, &opts);
    if let Some(e) = dens.error.lock().ok().and_then(|e| e.clone()) {
        bail!("{e}");
    }
    let (post, res) = run.map_err(errors::cli_error)?;
    let wall_s = t0.elapsed().as_secs_f64();
    let elbo = elbo_tail(&res.elbo);
    let mut options = record(a, elbo);
    options.minibatch = Some(b);
    options.start_sample = Some(st.sample_n);
    let title = format!(
        "Mean-field VI on minibatches of {b} rows of {} ({} rows) with {}: {} steps, ELBO (minibatch estimate) {elbo:.3}; {} draws; lp__ is a minibatch estimate",
        a.input.data, st.src.n, st.origin, a.steps, a.draws
    );
    // the minibatches read part of the file: its missing values are counted by a pass
    let missing = missing_per_column(&st.src, &|_, _, _| {}).map_err(errors::from_anyhow)?;
    let info = DataInfo {
        source: a.input.data.clone(),
        columns: st.src.names.clone(),
        n: st.src.n,
        missing,
        drop_missing: false,
    };
    report_posterior(
        ctx,
        &post,
        &st.model,
        info,
        RunOptions::Vi(options),
        &a.output,
        &title,
        wall_s,
        None,
    )
}
