//! `bgmm loo`: PSIS-LOO and WAIC of sampling runs from their pointwise log likelihood
//! (`log-lik.npy`, or computed again from the draws and the data), ArviZ's `loo`, `waic` and
//! `compare`.

use anyhow::{anyhow, bail, Result};
use serde_json::json;

use bgmm::{CompareRow, Elpd, Weighting};
use bgmm_io::{compare_text, elpd_warnings, loo_text, run_elpd, RunElpd};

use crate::args::{IcArg, LooArgs, MethodArg};
use crate::errors;

/// Run `bgmm loo`.
pub fn run(a: LooArgs) -> Result<()> {
    let names: Vec<String> = match &a.names {
        Some(n) if n.len() != a.runs.len() => {
            bail!("--names: {} names for {} runs", n.len(), a.runs.len())
        }
        Some(n) => n.clone(),
        None => a.runs.iter().map(|r| r.display().to_string()).collect(),
    };
    let runs = a
        .runs
        .iter()
        .zip(names)
        .map(|(dir, name)| run_elpd(dir, name))
        .collect::<Result<Vec<_>>>()?;
    let notes = elpd_warnings(&runs, a.ic == IcArg::Waic)?;
    let (ic, method) = (ic_name(a.ic), method_name(a.method));
    let table = if runs.len() > 1 {
        Some(compare(&runs, &a)?)
    } else {
        None
    };
    if a.json {
        let per_run: Vec<_> = runs
            .iter()
            .map(|r| json!({"name": r.name, "loo": r.loo, "waic": r.waic}))
            .collect();
        let mut out = json!({"runs": per_run, "warnings": notes});
        if let Some(t) = &table {
            out["compare"] = json!({"ic": ic, "method": method, "table": t});
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    for r in &runs {
        print!("{}", loo_text(r));
    }
    if let Some(t) = &table {
        print!("{}", compare_text(t, ic, method));
    }
    for n in &notes {
        eprintln!("warning: {n}");
    }
    Ok(())
}

fn ic_name(ic: IcArg) -> &'static str {
    match ic {
        IcArg::Loo => "loo",
        IcArg::Waic => "waic",
    }
}

fn method_name(m: MethodArg) -> &'static str {
    match m {
        MethodArg::Stacking => "stacking",
        MethodArg::PseudoBma => "pseudo-bma",
        MethodArg::BbPseudoBma => "bb-pseudo-bma",
    }
}

fn compare(runs: &[RunElpd], a: &LooArgs) -> Result<Vec<CompareRow>> {
    let weighting = match a.method {
        MethodArg::Stacking => Weighting::Stacking,
        MethodArg::PseudoBma => Weighting::PseudoBma,
        MethodArg::BbPseudoBma => Weighting::BbPseudoBma {
            samples: 1000,
            alpha: 1.0,
            seed: a.seed,
        },
    };
    let models: Vec<(String, &dyn Elpd)> = runs
        .iter()
        .map(|r| {
            let e: &dyn Elpd = match a.ic {
                IcArg::Loo => &r.loo,
                IcArg::Waic => &r.waic,
            };
            (r.name.clone(), e)
        })
        .collect();
    bgmm::compare(&models, weighting).map_err(|e| match e {
        bgmm::Error::InvalidOption { .. } => anyhow!("--names: {}", errors::message(&e)),
        other => anyhow!("{}", errors::message(&other)),
    })
}
