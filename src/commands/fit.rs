//! `bgmm fit`: the MAP, in memory or on minibatches of a file larger than memory.

use std::cell::RefCell;
use std::time::Instant;

use anyhow::{anyhow, Result};
use indicatif::ProgressBar;

use bgmm_io::{
    fit_minibatch as fit_minibatch_steps, minibatch_start, params_text, DataInfo, FitOptionsRecord,
    FitRecord, MinibatchFit, MinibatchOptions, MinibatchStart, VERSION,
};

use crate::args::FitArgs;
use crate::common::{
    bar, emit_fit, fit_record, id_like_unless, print_warnings, resolve_model, Ctx,
};
use crate::errors;

/// Run `bgmm fit`.
pub fn run(a: FitArgs, ctx: &Ctx) -> Result<()> {
    crate::common::check_out(&a.output.out, bgmm_io::RunKind::Fit)?;
    if let Some(b) = a.minibatch {
        return fit_minibatch(ctx, &a, b);
    }
    let (data, names) = a.input.read()?;
    let (model, origin) = resolve_model(&a.input.model, &data, &a.input.data)?;
    let id_like = id_like_unless(&data, &names, &a.input.data, a.input.columns.is_some());
    let opts = a.search.options(a.search.subsample)?;
    // a progress bar on stderr when it is a terminal and the fit takes a while
    let bar = indicatif::ProgressBar::new(opts.restarts as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} [{elapsed_precise}]")
    {
        bar.set_style(style);
    }
    let shown = bar.clone();
    let progress = bgmm::Callback::new(move |p: bgmm::FitProgress| {
        if shown.length() != Some(p.total as u64) {
            shown.set_length(p.total as u64);
        }
        shown.set_prefix(p.stage);
        shown.set_position(p.done as u64);
    });
    let f = bgmm::fit(
        &model,
        &data,
        &bgmm::FitOptions {
            progress: Some(progress),
            ..opts.clone()
        },
    );
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
    let record = fit_record(&model, &data, &names, &a.input, &f, &opts, ctx);
    emit_fit(
        &a.output,
        &record,
        &bgmm_io::fit_text(&model, &origin, &record, &f),
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

/// `fit FILE --minibatch B`: the MAP of data larger than memory (see
/// [`bgmm_io::fit_minibatch`]), with progress bars and the fit's record.
fn fit_minibatch(ctx: &Ctx, a: &FitArgs, b: usize) -> Result<()> {
    let t0 = Instant::now();
    let mopts = MinibatchOptions {
        batch: b,
        steps: a.sgd_steps,
        lr: a.sgd_lr,
        seed: a.search.seed,
    };
    mopts.check()?;
    a.input.check_minibatch()?;
    let spec = &a.input.data;
    let opts = a.search.options(0)?;
    let st = minibatch_start(&a.input.spec(), b, a.search.seed, &opts, &|first| {
        resolve_model(&a.input.model, first, spec)
    })
    .map_err(errors::from_anyhow)?;
    // one bar per stage (the minibatch steps, then the pass over the file)
    let bars: RefCell<Option<(String, ProgressBar)>> = RefCell::new(None);
    let progress = |what: &str, done: u64, total: u64| {
        let mut slot = bars.borrow_mut();
        if slot.as_ref().is_none_or(|(w, _)| w != what) {
            if let Some((_, old)) = slot.take() {
                old.finish_and_clear();
            }
            let pb = bar(
                total,
                "{prefix} {bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}]",
            );
            pb.set_prefix(what.to_string());
            *slot = Some((what.to_string(), pb));
        }
        if let Some((_, pb)) = slot.as_ref() {
            pb.set_position(done);
        }
    };
    let end = fit_minibatch_steps(&st, &mopts, &progress);
    if let Some((_, pb)) = bars.borrow_mut().take() {
        pb.finish_and_clear();
    }
    let MinibatchFit {
        params,
        losses,
        loss,
        loglik,
        missing,
    } = end.map_err(errors::from_anyhow)?;
    let MinibatchStart {
        src,
        model,
        origin,
        sample_n,
        fit: start,
    } = st;
    let n = src.n;
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
        loglik: Some(loglik),
        n_params: Some(model.n_params()),
        message: format!(
            "minibatch: MAP of a {}-row sample, then {} Adam steps on minibatches of {b} rows (averaged); loss exact on all {n} rows",
            sample_n,
            a.sgd_steps
        ),
        warnings: start.warnings.iter().map(|w| errors::rewrite(w)).collect(),
        strategy: start.strategy.clone(),
        resolution: start.resolution.clone(),
        init_params: start.params.shaped(&model),
        model: model.spec().clone(),
        data: DataInfo {
            source: spec.clone(),
            columns: src.names.clone(),
            n,
            missing,
            drop_missing: false,
        },
        options: FitOptionsRecord::of(&opts, sample_n),
        bgmm_version: VERSION.into(),
        command: ctx.command.clone(),
    };
    let text = format!(
        "Minibatch MAP of {spec} ({n} rows, {} column{}: {}{}) with {origin}, {secs:.2} s\n  start: the MAP of {sample_n} random rows (loss scaled to all rows {:.6}); {} Adam steps on minibatches of {b} (lr {} decaying to 1 %), the last half averaged\n  loss = −log p(x, θ) on all {n} rows = {loss:.6}\n{}",
        src.d(),
        if src.d() == 1 { "" } else { "s" },
        src.names.join(", "),
        record.data.missing_text().map_or(String::new(), |m| format!("; {m}")),
        start.loss,
        a.sgd_steps,
        a.sgd_lr,
        params_text(&model, &params)
    );
    emit_fit(&a.output, &record, &text)
}
