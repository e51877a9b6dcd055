//! `bgmm sample`: collapsed NUTS over several chains with progress bars; the summary and
//! the CmdStan CSV are written as `vi` writes its draws.

use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use bgmm::{ChainProgress as Progress, NutsOptions};
use bgmm::{Engine, InitFrom, SampleOptions};
use bgmm_io::{load_fit, DataInfo, NutsRecord, RunOptions, SmcRecord};

use crate::args::{SampleArgs, SampleEngine, SampleInit};
use crate::common::{
    id_like_unless, print_warnings, report_posterior, resolve_model, Ctx, Interrupted,
};
use crate::errors;

/// Run `bgmm sample`.
pub fn run(a: SampleArgs, ctx: &Ctx) -> Result<()> {
    crate::common::check_out(&a.output.out, bgmm_io::RunKind::Sample)?;
    let init = match a.init {
        SampleInit::Map => InitFrom::Map,
        SampleInit::Prior => InitFrom::Prior,
    };
    let smc = a.engine == SampleEngine::Smc;
    if smc && a.init != SampleInit::Map {
        bail!("--init does not apply to --engine smc: its particles start from the prior");
    }
    let (data, names) = a.input.read()?;
    let (model, origin) = resolve_model(&a.input.model, &data, &a.input.data)?;
    let id_like = id_like_unless(&data, &names, &a.input.data, a.input.columns.is_some());
    let start = match &a.from_fit {
        None => None,
        Some(f) => {
            if a.init != SampleInit::Map {
                bail!(
                    "--from-fit starts the chains from the fit: it cannot go with --init {}",
                    a.init.name()
                );
            }
            let (_, fit_model, params) = load_fit(f)?;
            // the fit's numbers may be derived from the data (-k): equal within a few ulps
            if let Some(what) = fit_model.difference(&model) {
                bail!(
                    "--from-fit '{}': the fit is of a different model than {origin} ({what})",
                    f.display()
                );
            }
            Some(params)
        }
    };
    let stop = crate::signals::sampling_stop();
    let smc_record = SmcRecord {
        chains: a.chains,
        draws: a.draws,
        ess_ratio: a.ess_ratio,
        method: "smc".into(),
        seed: a.seed,
        sweeps: a.sweeps,
        target_accept: a.target_accept,
    };
    let engine = match smc {
        true => Engine::Smc(smc_record.options(Some(stop.clone()))),
        false => Engine::Nuts,
    };
    let mut opts = SampleOptions {
        engine,
        nuts: NutsOptions {
            chains: a.chains,
            warmup: a.warmup,
            draws: a.draws,
            seed: a.seed,
            target_accept: a.target_accept,
            max_depth: a.max_depth,
            low_rank: a.low_rank,
            stop: Some(stop),
        },
        init,
        start,
        progress: None,
    };
    // the options' bounds (chains, draws) before the MAP and the chains' progress bars
    opts.validate().map_err(crate::errors::cli_error)?;
    // progress bars on stderr: hidden when it is not a terminal or with --quiet
    let multi = MultiProgress::with_draw_target(if a.quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let template = if smc {
        "run {prefix} {bar:30} β {pos}‰ [{elapsed_precise}] {msg}"
    } else {
        "chain {prefix} {bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}, {per_sec}] {msg}"
    };
    let style =
        ProgressStyle::with_template(template).map_err(|e| anyhow!("progress template: {e}"))?;
    let length = if smc { 1000 } else { a.warmup + a.draws };
    let bars: Vec<ProgressBar> = (0..a.chains)
        .map(|c| {
            let b = multi.add(ProgressBar::new(length));
            b.set_style(style.clone());
            b.set_prefix(c.to_string());
            b
        })
        .collect();
    let shown = bars.clone();
    opts.progress = Some(bgmm::Callback::new(move |p: Progress| {
        let b = &shown[p.chain];
        b.set_position(p.done);
        // SMC reports once per temperature
        if smc || p.done.is_multiple_of(20) || p.done == p.total {
            b.set_message(format!(
                "{} step size {:.2e}, acc. {:.2}, divergences {}",
                match (smc, p.tuning) {
                    (true, _) => "",
                    (false, true) => "warmup,",
                    (false, false) => "sampling,",
                },
                p.step_size,
                p.accept,
                p.divergences
            ));
        }
    }));
    let t0 = Instant::now();
    let post = bgmm::sample(&model, &data, &opts);
    for b in &bars {
        if post.as_ref().is_ok_and(|p| p.interrupted.is_none()) {
            b.finish();
        } else {
            b.abandon();
        }
    }
    let post = post.map_err(|e| match e {
        bgmm::Error::Data(m) => anyhow!("data '{}' and {origin}: {m}", a.input.data),
        bgmm::Error::Interrupted(m) => Interrupted(format!("{m}; nothing written")).into(),
        other => errors::cli_error(other),
    })?;
    let wall_s = t0.elapsed().as_secs_f64();
    let options = if smc {
        RunOptions::Smc(smc_record)
    } else {
        RunOptions::Nuts(NutsRecord {
            chains: a.chains,
            draws: a.draws,
            from_fit: a.from_fit.as_ref().map(|f| f.display().to_string()),
            init: a.init.name().into(),
            low_rank: a.low_rank,
            max_depth: a.max_depth,
            method: "nuts".into(),
            seed: a.seed,
            target_accept: a.target_accept,
            warmup: a.warmup,
        })
    };
    let (what, unit, after) = match smc {
        true => (
            "SMC",
            "runs × {} particles, tempered from the prior",
            String::new(),
        ),
        false => (
            "Collapsed NUTS",
            "chains × {} draws",
            format!(" after {} warmup", a.warmup),
        ),
    };
    let title = format!(
        "{what} on {} ({} points) with {origin}: {} {}{after}",
        a.input.data,
        data.n(),
        a.chains,
        unit.replace("{}", &a.draws.to_string()),
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
    if let Some((kept, asked)) = post.interrupted {
        let written = match &a.output.out {
            Some(dir) => format!("written to '{}', marked incomplete", dir.display()),
            None => "summarised above, marked incomplete".into(),
        };
        return Err(Interrupted(format!(
            "sampling stopped early: {kept} of {asked} draws per chain kept, {written}"
        ))
        .into());
    }
    Ok(())
}
