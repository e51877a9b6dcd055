//! `bgmm sample`: collapsed NUTS, progress bars, summary table, CmdStan CSV output.

use std::fmt::Write;
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use bgmm::diagnostics::ParamSummary;
use bgmm::nuts::{NutsOptions, Progress, StopSignal};
use bgmm::posterior::{
    sample_posterior, vi_posterior, ChainStats, InitFrom, Posterior, SampleOptions,
};
use bgmm::vi::ViOptions;

use crate::atomic::ensure_dir;
use crate::cli::{
    check_out, command_line, id_like_unless, json_bytes, load_data, print_warnings, resolve_model,
    write_out, DataInfo, Interrupted, OutputArgs, SampleArgs, ViArgs,
};

#[derive(Serialize)]
struct SampleRecord<'a> {
    summary: serde_json::Map<String, serde_json::Value>,
    divergences: usize,
    relabelled: bool,
    relabelled_share: f64,
    wall_s: f64,
    chains: &'a [ChainStats],
    warnings: &'a [String],
    /// false when sampling was stopped early (Ctrl-C): the draws are the ones kept so far
    complete: bool,
    /// draws kept per chain and draws asked for, when stopped early
    #[serde(skip_serializing_if = "Option::is_none")]
    interrupted: Option<serde_json::Value>,
    model: &'a bgmm::ModelSpec,
    data: DataInfo,
    options: serde_json::Value,
    bgmm_version: &'a str,
    command: String,
}

/// CmdStan's column name of a parameter: `locs[0,1]` → `locs.1.2` (1-based).
fn cmdstan_name(name: &str) -> String {
    match name.split_once('[') {
        None => name.to_string(),
        Some((base, rest)) => {
            let idx: Vec<String> = rest
                .trim_end_matches(']')
                .split(',')
                .map(|i| (i.trim().parse::<usize>().unwrap_or(0) + 1).to_string())
                .collect();
            format!("{base}.{}", idx.join("."))
        }
    }
}

/// One chain as a CmdStan CSV (what `arviz.from_cmdstan` reads).
fn cmdstan_csv(post: &Posterior, c: usize, draws: &[Vec<f64>], header: &str) -> String {
    let ch = &post.chains[c];
    let mut s = String::new();
    for line in header.lines() {
        let _ = writeln!(s, "# {line}");
    }
    let mut cols: Vec<String> = [
        "lp__",
        "accept_stat__",
        "stepsize__",
        "treedepth__",
        "n_leapfrog__",
        "divergent__",
        "energy__",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    cols.extend(post.names.iter().map(|n| cmdstan_name(n)));
    let _ = writeln!(s, "{}", cols.join(","));
    for (i, d) in draws.iter().enumerate() {
        let _ = write!(
            s,
            "{:?},{:?},{:?},{},{},{},{:?}",
            ch.logp[i],
            ch.accept[i],
            ch.step_size[i],
            ch.tree_depth[i],
            ch.n_leapfrog[i],
            ch.divergent[i] as u8,
            ch.energy[i]
        );
        for v in d {
            let _ = write!(s, ",{v:?}");
        }
        s.push('\n');
    }
    s
}

fn summary_table(summary: &[(String, ParamSummary)]) -> String {
    let w = summary
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>w$} {:>10} {:>9} {:>10} {:>10} {:>10} {:>21} {:>9} {:>9} {:>7}",
        "", "mean", "sd", "median", "5.0%", "95.0%", "90% HDI", "ess_bulk", "ess_tail", "r_hat"
    );
    for (name, p) in summary {
        let _ = writeln!(
            s,
            "{name:>w$} {:>10.4} {:>9.4} {:>10.4} {:>10.4} {:>10.4} {:>21} {:>9.0} {:>9.0} {:>7.3}",
            p.mean,
            p.sd,
            p.median,
            p.q5,
            p.q95,
            format!("[{:.3}, {:.3}]", p.hdi_low, p.hdi_high),
            p.ess_bulk,
            p.ess_tail,
            p.r_hat
        );
    }
    s
}

/// Which data column the index j of the parameters' names is (D > 1), e.g. `j in locs[k,j] is
/// the data's column: 0 = bill_length_mm, 1 = bill_depth_mm`.
fn dimension_legend(model: &bgmm::Model, columns: &[String]) -> Option<String> {
    if model.d < 2 || columns.len() != model.d {
        return None;
    }
    let sites = match model.family {
        bgmm::Family::Diagonal(f) => match f.sharing {
            bgmm::Sharing::Dimension => "locs[k,j] and scale[j]",
            bgmm::Sharing::Diagonal => "locs[k,j] and scale[k,j]",
            _ => "locs[k,j]",
        },
    };
    let named: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(j, c)| format!("{j} = {c}"))
        .collect();
    Some(format!(
        "j in {sites} is the data's column: {}",
        named.join(", ")
    ))
}

/// Run `bgmm sample`.
pub fn cmd_sample(a: SampleArgs) -> Result<()> {
    let init = match a.init.as_str() {
        "map" => InitFrom::Map,
        "prior" => InitFrom::Prior,
        other => bail!("--init: unknown '{other}' (known: map, prior)"),
    };
    let (data, names) = load_data(&a.input.data, a.input.columns.as_deref())?;
    let (model, origin) = resolve_model(&a.input.model, &data, &a.input.data)?;
    let id_like = id_like_unless(&data, &names, &a.input.data, a.input.columns.is_some());
    let start = match &a.from_fit {
        None => None,
        Some(f) => {
            if a.init != "map" {
                bail!(
                    "--from-fit starts the chains from the fit: it cannot go with --init {}",
                    a.init
                );
            }
            let (_, fit_model, params) = crate::cli::load_fit(f)?;
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
    let opts = SampleOptions {
        nuts: NutsOptions {
            chains: a.chains,
            warmup: a.warmup,
            draws: a.draws,
            seed: a.seed,
            target_accept: a.target_accept,
            max_depth: a.max_depth,
            low_rank: a.low_rank,
            stop: Some(stop_signal()),
        },
        init,
        start,
        progress: None,
    };
    // progress bars on stderr: hidden when it is not a terminal or with --quiet
    let multi = MultiProgress::with_draw_target(if a.quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let style = ProgressStyle::with_template(
        "chain {prefix} {bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}, {per_sec}] {msg}",
    )
    .map_err(|e| anyhow!("progress template: {e}"))?;
    let bars: Vec<ProgressBar> = (0..a.chains)
        .map(|c| {
            let b = multi.add(ProgressBar::new(a.warmup + a.draws));
            b.set_style(style.clone());
            b.set_prefix(c.to_string());
            b
        })
        .collect();
    let progress = |p: Progress| {
        let b = &bars[p.chain];
        b.set_position(p.done);
        if p.done.is_multiple_of(20) || p.done == p.total {
            b.set_message(format!(
                "{} step size {:.2e}, acc. {:.2}, divergences {}",
                if p.tuning { "warmup," } else { "sampling," },
                p.step_size,
                p.accept,
                p.divergences
            ));
        }
    };
    let t0 = Instant::now();
    let post = sample_posterior(&model, &data, &opts, &progress);
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
        other => crate::errors::cli_error(other),
    })?;
    let wall_s = t0.elapsed().as_secs_f64();
    let options = serde_json::json!({
        "method": "nuts", "chains": a.chains, "warmup": a.warmup, "draws": a.draws, "seed": a.seed,
        "target_accept": a.target_accept, "max_depth": a.max_depth, "init": a.init,
        "low_rank": a.low_rank,
        "from_fit": a.from_fit.as_ref().map(|f| f.display().to_string()),
    });
    let title = format!(
        "Collapsed NUTS on {} ({} points) with {origin}: {} chains × {} draws after {} warmup",
        a.input.data,
        data.n(),
        a.chains,
        a.draws,
        a.warmup
    );
    let info = DataInfo {
        source: a.input.data.clone(),
        columns: names,
        n: data.n(),
    };
    report(&post, &model, info, options, &a.output, &title, wall_s)?;
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

/// The stop signal of this process's sampling, raised by the first Ctrl-C (or SIGTERM): the
/// chains stop after their current draw and the draws so far are written, marked incomplete.
/// A second Ctrl-C quits at once; outputs are written atomically, so none is left half-written.
fn stop_signal() -> StopSignal {
    static STOP: OnceLock<StopSignal> = OnceLock::new();
    STOP.get_or_init(|| {
        let stop = StopSignal::new();
        let raised = stop.clone();
        // without a handler (one is already set in this process) Ctrl-C simply ends it
        let _ = ctrlc::set_handler(move || {
            if raised.is_raised() {
                eprintln!("\ninterrupted again: quitting without writing");
                std::process::exit(130);
            }
            raised.raise();
            eprintln!(
                "\ninterrupted: stopping after the current draw of each chain and keeping the draws so far (Ctrl-C again to quit without writing)"
            );
        });
        stop
    })
    .clone()
}

/// Print and write a posterior (NUTS or VI) the same way.
#[allow(clippy::too_many_arguments)]
pub(crate) fn report(
    post: &Posterior,
    model: &bgmm::Model,
    data: DataInfo,
    options: serde_json::Value,
    output: &OutputArgs,
    title: &str,
    wall_s: f64,
) -> Result<()> {
    let warnings: Vec<String> = post
        .warnings
        .iter()
        .map(|w| crate::errors::rewrite(w))
        .collect();
    let summary = post
        .summary
        .iter()
        .map(|(n, s)| Ok((n.clone(), serde_json::to_value(s)?)))
        .collect::<Result<serde_json::Map<_, _>>>()?;
    let record = SampleRecord {
        summary,
        divergences: post.divergences,
        relabelled: post.relabelled,
        relabelled_share: post.relabelled_share,
        wall_s,
        chains: &post.chain_stats,
        warnings: &warnings,
        complete: post.interrupted.is_none(),
        interrupted: post
            .interrupted
            .map(|(kept, asked)| serde_json::json!({"kept_draws": kept, "asked_draws": asked})),
        model: model.spec(),
        data,
        options,
        bgmm_version: env!("CARGO_PKG_VERSION"),
        command: command_line(),
    };
    let bytes = json_bytes(&record)?;
    if let Some(dir) = &output.out {
        ensure_dir(dir)?;
        let mut names: Vec<String> = (0..post.draws.len())
            .flat_map(|c| [format!("chain-{c}.csv"), format!("raw-chain-{c}.csv")])
            .collect();
        names.push("summary.json".into());
        check_out(dir, &names)?;
        let mut header = format!(
            "bgmm {}: {title}\ncommand: {}\ndraws relabelled to the MAP's labelling: {}",
            env!("CARGO_PKG_VERSION"),
            record.command,
            post.relabelled
        );
        if let Some((kept, asked)) = post.interrupted {
            header.push_str(&format!(
                "\nINCOMPLETE: sampling was stopped early; {kept} of {asked} draws kept"
            ));
        }
        for c in 0..post.draws.len() {
            write_out(
                dir,
                &format!("chain-{c}.csv"),
                cmdstan_csv(post, c, &post.draws[c], &header).as_bytes(),
            )?;
            write_out(
                dir,
                &format!("raw-chain-{c}.csv"),
                cmdstan_csv(post, c, &post.raw_draws[c], &header).as_bytes(),
            )?;
        }
        write_out(dir, "summary.json", &bytes)?;
    }
    if output.json {
        print!("{}", String::from_utf8(bytes)?);
    } else {
        println!("{title}, {wall_s:.2} s");
        print!("{}", summary_table(&post.summary));
        if let Some(legend) = dimension_legend(model, &record.data.columns) {
            println!("{legend}");
        }
        if post.chain_stats.iter().any(|c| c.mean_leapfrog > 0.0) {
            println!(
                "Number of divergences: {}. Step size per chain: {}. Mean acceptance: {}. Mean tree depth: {}.",
                post.divergences,
                post.chain_stats
                    .iter()
                    .map(|c| format!("{:.3}", c.step_size))
                    .collect::<Vec<_>>()
                    .join(", "),
                post.chain_stats
                    .iter()
                    .map(|c| format!("{:.3}", c.mean_accept))
                    .collect::<Vec<_>>()
                    .join(", "),
                post.chain_stats
                    .iter()
                    .map(|c| format!("{:.2}", c.mean_tree_depth))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if post.relabelled {
            println!(
                "Label switching: {:.1} % of the draws were relabelled to the MAP's component order (raw draws in raw-chain-*.csv with --out).",
                100.0 * post.relabelled_share
            );
        }
        if let Some(dir) = &output.out {
            println!(
                "wrote {}/chain-*.csv (CmdStan CSV: arviz.from_cmdstan(glob)), raw-chain-*.csv, summary.json",
                dir.display()
            );
        }
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Run `bgmm vi`.
pub fn cmd_vi(a: ViArgs) -> Result<()> {
    // as for NUTS: the summary's quantiles, ESS and R-hat need a few draws
    if a.draws < 4 {
        bail!("--draws must be at least 4, got {}", a.draws);
    }
    if let Some(b) = a.minibatch {
        return vi_minibatch(&a, b);
    }
    let (data, names) = load_data(&a.input.data, a.input.columns.as_deref())?;
    let (model, origin) = resolve_model(&a.input.model, &data, &a.input.data)?;
    let id_like = id_like_unless(&data, &names, &a.input.data, a.input.columns.is_some());
    let opts = a.options();
    let t0 = Instant::now();
    let (post, res) = vi_posterior(&model, &data, &opts).map_err(|e| match e {
        bgmm::Error::Data(m) => anyhow!("data '{}' and {origin}: {m}", a.input.data),
        other => crate::errors::cli_error(other),
    })?;
    let wall_s = t0.elapsed().as_secs_f64();
    let elbo = elbo_tail(&res.elbo);
    let options = a.record(elbo);
    let title = format!(
        "Mean-field VI (AutoNormal, Trace_ELBO) on {} ({} points) with {origin}: {} steps, ELBO {elbo:.3}; {} draws",
        a.input.data,
        data.n(),
        a.steps,
        a.draws
    );
    let info = DataInfo {
        source: a.input.data.clone(),
        columns: names,
        n: data.n(),
    };
    report(&post, &model, info, options, &a.output, &title, wall_s)?;
    print_warnings(&id_like);
    Ok(())
}

impl ViArgs {
    fn options(&self) -> ViOptions {
        ViOptions {
            steps: self.steps,
            lr: self.lr,
            mc_samples: self.mc_samples,
            seed: self.seed,
            draws: self.draws,
            ..ViOptions::default()
        }
    }

    /// The options as `summary.json` records them.
    fn record(&self, elbo: f64) -> serde_json::Value {
        serde_json::json!({
            "method": "vi", "steps": self.steps, "lr": self.lr, "mc_samples": self.mc_samples,
            "draws": self.draws, "seed": self.seed, "elbo_last_100_mean": elbo,
        })
    }
}

/// The mean ELBO of the last 100 steps.
fn elbo_tail(elbo: &[f64]) -> f64 {
    let tail = &elbo[elbo.len().saturating_sub(100)..];
    tail.iter().sum::<f64>() / tail.len().max(1) as f64
}

/// `vi --minibatch B`: the ELBO's gradient estimated on minibatches read from the file.
fn vi_minibatch(a: &ViArgs, b: usize) -> Result<()> {
    let fit_opts = bgmm::map::FitOptions {
        seed: a.seed,
        subsample: 0,
        ..bgmm::map::FitOptions::default()
    };
    let st = crate::minibatch::start(&a.input, b, a.seed, &fit_opts)?;
    let opts = a.options();
    let t0 = Instant::now();
    let dens = crate::stream::MinibatchDensity::new(&st.model, &st.src, b, true, a.seed ^ 0x5eed);
    let run = bgmm::posterior::vi_posterior_of(&st.model, &dens, &st.fit.params, &opts);
    if let Some(e) = dens.error.lock().ok().and_then(|e| e.clone()) {
        bail!("{e}");
    }
    let (post, res) = run.map_err(crate::errors::cli_error)?;
    let wall_s = t0.elapsed().as_secs_f64();
    let elbo = elbo_tail(&res.elbo);
    let mut options = a.record(elbo);
    options["minibatch"] = b.into();
    options["start_sample"] = st.sample_n.into();
    let title = format!(
        "Mean-field VI on minibatches of {b} rows of {} ({} rows) with {}: {} steps, ELBO (minibatch estimate) {elbo:.3}; {} draws; lp__ is a minibatch estimate",
        a.input.data, st.src.n, st.origin, a.steps, a.draws
    );
    let info = DataInfo {
        source: a.input.data.clone(),
        columns: st.src.names.clone(),
        n: st.src.n,
    };
    report(&post, &st.model, info, options, &a.output, &title, wall_s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cmdstan_names() {
        assert_eq!(super::cmdstan_name("locs[0,1]"), "locs.1.2");
        assert_eq!(super::cmdstan_name("weights[2]"), "weights.3");
        assert_eq!(super::cmdstan_name("scale"), "scale");
    }
}
