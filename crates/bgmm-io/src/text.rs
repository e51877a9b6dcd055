//! Human-readable tables and CSV text.

use std::fmt::Write;

use bgmm::Site;
use bgmm::{Criterion, RowStatus};
use bgmm::{Data, Model, ParamSummary, Params};

use crate::records::{FitRecord, SelectRecord, SelectTableRow};

/// Column names of simulated data: `x` for one dimension, `x0, x1, …` otherwise.
pub fn column_names(d: usize) -> Vec<String> {
    if d == 1 {
        vec!["x".into()]
    } else {
        (0..d).map(|j| format!("x{j}")).collect()
    }
}

/// A CSV field: as it is, or quoted (quotes doubled) when it holds a comma, quote or line end.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A CSV header line (with its line end) of these names.
pub fn csv_header(names: &[String]) -> String {
    let mut s = names
        .iter()
        .map(|n| csv_field(n))
        .collect::<Vec<_>>()
        .join(",");
    s.push('\n');
    s
}

/// `base`, or `base` behind as many `_` as it takes to be none of `taken`: the name of a column
/// bgmm adds to the data's columns (`assignment`, `z`, `set`, …), which must not take a data
/// column's name (a reader would find two columns of one name).
pub fn free_name(base: &str, taken: &[String]) -> String {
    let mut name = base.to_string();
    while taken.iter().any(|t| t.trim() == name) {
        name.insert(0, '_');
    }
    name
}

/// CSV of the data (shortest round-trip formatting of f64), with an optional `z` column (`_z`
/// if a data column is named `z`).
pub fn data_csv(data: &Data, names: &[String], z: Option<&[usize]>) -> String {
    let mut head = names.to_vec();
    if z.is_some() {
        head.push(free_name("z", names));
    }
    let mut s = csv_header(&head);
    for i in 0..data.n() {
        let row: Vec<String> = (0..data.d())
            .map(|j| format!("{:?}", data.col(j)[i]))
            .collect();
        s.push_str(&row.join(","));
        if let Some(z) = z {
            let _ = write!(s, ",{}", z[i]);
        }
        s.push('\n');
    }
    s
}

fn fmt_vec(v: &[f64]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|x| format!("{x:.6}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The parameters as the seeds print them (`weights = [...]`, `locs = ...`, `scale = ...`).
pub fn params_text(model: &Model, p: &Params) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "weights = {}", fmt_vec(&p.weights));
    if model.d == 1 {
        let _ = writeln!(s, "locs    = {}", fmt_vec(&p.locs));
    } else {
        let _ = writeln!(s, "locs    = [");
        for c in 0..model.k {
            let _ = writeln!(
                s,
                "    {},",
                fmt_vec(&p.locs[c * model.d..(c + 1) * model.d])
            );
        }
        let _ = writeln!(s, "]");
    }
    if model.family.is_covariance() {
        // standard deviations and correlations, per component (the tied family: one)
        let (d, blocks) = (model.d, model.family.n_blocks(model.k));
        let tied = if blocks < model.k {
            " (tied: every component's)"
        } else {
            ""
        };
        let _ = writeln!(s, "sd      = [{tied}");
        for c in 0..blocks {
            let sd: Vec<f64> = (0..d)
                .map(|j| model.family.scale(&p.scales, c, j, d))
                .collect();
            let _ = writeln!(s, "    {},", fmt_vec(&sd));
        }
        let _ = writeln!(s, "]");
        let _ = writeln!(s, "corr    = [{tied}");
        for c in 0..blocks {
            if let Some(r) = model.family.correlation(&p.scales, c, d) {
                let _ = writeln!(s, "    [");
                for row in r.chunks(d) {
                    let _ = writeln!(s, "        {},", fmt_vec(row));
                }
                let _ = writeln!(s, "    ],");
            }
        }
        let _ = writeln!(s, "]");
        return s;
    }
    // the family's values by their shape: a number, a list, or a matrix row by row
    let shape = model.family.shape(model.k, model.d);
    match shape.len() {
        0 => {
            let _ = writeln!(s, "scale   = {:.6}", p.scales[0]);
        }
        1 => {
            let _ = writeln!(s, "scale   = {}", fmt_vec(&p.scales));
        }
        _ => {
            let _ = writeln!(s, "scale   = [");
            for row in p.scales.chunks(shape[1]) {
                let _ = writeln!(s, "    {},", fmt_vec(row));
            }
            let _ = writeln!(s, "]");
        }
    }
    s
}

fn shape(v: &[usize]) -> String {
    if v.is_empty() {
        "[]".into()
    } else {
        format!(
            "[{}]",
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The sites table (like Pyro's `format_shapes`).
pub fn sites_text(model: &Model, sites: &[Site]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Mixture of K = {} components in D = {} dimension{}, covariance family '{}'{}",
        model.k,
        model.d,
        if model.d == 1 { "" } else { "s" },
        model.family.name(),
        if model.ordered { ", locs ordered" } else { "" }
    );
    let rows: Vec<[String; 5]> = sites
        .iter()
        .map(|x| {
            let kind = if x.observed {
                "observed"
            } else if x.enumerated {
                "enumerated"
            } else {
                "latent"
            };
            [
                x.name.clone(),
                x.dist.clone(),
                format!("{} | {}", shape(&x.batch_shape), shape(&x.event_shape)),
                if x.plates.is_empty() {
                    "-".into()
                } else {
                    x.plates.join(", ")
                },
                kind.into(),
            ]
        })
        .collect();
    let head = ["site", "distribution", "batch | event", "plates", "kind"];
    let mut w = head.map(|h| h.chars().count());
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(s, "{}", line(&head.map(String::from)));
    for r in &rows {
        let _ = writeln!(s, "{}", line(r));
    }
    let _ = writeln!(
        s,
        "The assignments are summed out exactly (logsumexp over components); engines see {} unconstrained parameters.",
        model.n_unconstrained()
    );
    s
}

/// CSV of the data with their assignment and probabilities (`assignment`, `p0`, `p1`, …, each
/// behind `_` where a data column has its name).
pub fn assignments_csv(data: &Data, names: &[String], z: &[usize], probs: &[Vec<f64>]) -> String {
    let k = probs.first().map_or(0, Vec::len);
    let mut head = names.to_vec();
    head.push(free_name("assignment", names));
    for c in 0..k {
        head.push(free_name(&format!("p{c}"), names));
    }
    let mut s = csv_header(&head);
    for i in 0..data.n() {
        let row: Vec<String> = (0..data.d())
            .map(|j| format!("{:?}", data.col(j)[i]))
            .collect();
        let _ = write!(s, "{},{}", row.join(","), z[i]);
        for p in &probs[i] {
            let _ = write!(s, ",{p:?}");
        }
        s.push('\n');
    }
    s
}

/// A cell of the table: the value, or the status of a pair without one.
fn cell(r: &SelectTableRow, criterion: Criterion) -> String {
    match (r.status, r.value(criterion)) {
        (RowStatus::Ok, Some(v)) => format!("{v:.2}"),
        // a proper mode whose posterior could not be sampled
        (RowStatus::Ok, None) if r.posterior.is_some() => "no draws".into(),
        (RowStatus::NoProperMode, _) => "no mode".into(),
        (s, _) => s.name().into(),
    }
}

/// A model selection's pairs without a value, by status: "2 collapsed, 1 failed".
pub fn select_failures(rec: &SelectRecord) -> String {
    let mut parts = Vec::new();
    for s in [
        RowStatus::Collapsed,
        RowStatus::NoProperMode,
        RowStatus::Spike,
        RowStatus::Failed,
    ] {
        let n = rec.table.iter().filter(|r| r.status == s).count();
        if n > 0 {
            parts.push(format!("{n} {}", s.name()));
        }
    }
    parts.join(", ")
}

/// `select`'s text: mclust's table of the criterion, one row per K, one column per family, then the best three.
pub fn select_text(rec: &SelectRecord, source: &str) -> String {
    let c = rec.criterion;
    let upper = c.name().to_uppercase();
    let ks = rec.ks();
    let fams = rec.families();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Model selection on '{source}' ({} rows, {} column{}): the MAP of the default model for each K and family",
        rec.n,
        rec.data.columns.len(),
        if rec.data.columns.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        s,
        "{upper}, lower is better{}\n",
        match c {
            Criterion::Bic => " (mclust prints −BIC: higher is better)",
            Criterion::Icl =>
                " (BIC + 2 × the entropy of the MAP classification; mclust prints its negative)",
            Criterion::Aic => "",
            Criterion::Loo =>
                " (−2 × elpd_loo, PSIS-LOO of each pair's posterior sampled from its MAP)",
            Criterion::Waic => " (−2 × elpd_waic of each pair's posterior sampled from its MAP)",
            Criterion::Evidence =>
                " (−2 × log p(x), the evidence by SMC tempered from the prior; the scale BIC approximates)",
        }
    );
    let w = 12;
    let _ = write!(s, "{:>4}", "K");
    for f in &fams {
        let _ = write!(s, " {:>w$}", f.name());
    }
    s.push('\n');
    let _ = write!(s, "{:>4}", "");
    for f in &fams {
        let _ = write!(s, " {:>w$}", f.mclust());
    }
    s.push('\n');
    for k in &ks {
        let _ = write!(s, "{k:>4}");
        for f in &fams {
            let text = rec
                .table
                .iter()
                .find(|r| r.k == *k && r.covariance == *f)
                .map_or(String::new(), |r| cell(r, c));
            let _ = write!(s, " {text:>w$}");
        }
        s.push('\n');
    }
    let ranked = rec.ranked();
    if let Some(&first) = ranked.first() {
        let top = rec.table[first].value(c).unwrap_or(f64::NAN);
        let _ = writeln!(s, "\nBest by {upper}:");
        for (i, &r) in ranked.iter().take(3).enumerate() {
            let row = &rec.table[r];
            let v = row.value(c).unwrap_or(f64::NAN);
            let label = format!(
                "{}, K = {} ({},{})",
                row.covariance.name(),
                row.k,
                row.covariance.mclust(),
                row.k
            );
            let diff = if i == 0 {
                String::new()
            } else {
                format!("  Δ = {:+.2}", v - top)
            };
            let _ = writeln!(
                s,
                "  {}. {label:<24} {upper} {v:.2}{diff}   (log likelihood {:.2}, {} parameters)",
                i + 1,
                row.loglik.unwrap_or(f64::NAN),
                row.n_params
            );
        }
        if c == Criterion::Evidence {
            s.push_str(&evidence_text(rec, &ranked));
        }
        if !rec.compare.is_empty() {
            let ic = if c == Criterion::Waic { "waic" } else { "loo" };
            s.push('\n');
            s.push_str(&compare_text(&rec.compare, ic, "stacking"));
        }
        let best = &rec.table[first];
        let _ = writeln!(
            s,
            "The best alone: bgmm fit {source} -k {} --covariance {}",
            best.k,
            best.covariance.name()
        );
    }
    let failed = select_failures(rec);
    if !failed.is_empty() {
        let _ = writeln!(
            s,
            "Without a value: {failed} (collapsed: every candidate collapsed onto a point, so the MAP does not exist; no mode: every mode found sat on tied values or emptied a component; spike: every mode found had a component alone on one point; the messages are in --json)"
        );
    }
    s
}

/// The evidence of the ranked pairs with their Monte Carlo errors and posterior
/// probabilities, and the posterior of K (the families summed).
fn evidence_text(rec: &SelectRecord, ranked: &[usize]) -> String {
    let mut s =
        String::from("\nPosterior probability of each pair (all equally likely a priori):\n");
    for &r in ranked {
        let row = &rec.table[r];
        let Some(p) = &row.posterior else { continue };
        let (Some(l), Some(prob)) = (p.log_evidence, p.probability) else {
            continue;
        };
        let se = p
            .evidence_se
            .filter(|v| v.is_finite())
            .map_or(String::new(), |v| format!(" ± {v:.2}"));
        let _ = writeln!(
            s,
            "  {:>8}  log p(x) {l:>10.2}{se:<8}  P = {prob:.3}",
            format!("{},{}", row.covariance.mclust(), row.k)
        );
    }
    let mut by_k: Vec<(usize, f64)> = Vec::new();
    for row in &rec.table {
        if let Some(prob) = row.posterior.as_ref().and_then(|p| p.probability) {
            match by_k.iter_mut().find(|(k, _)| *k == row.k) {
                Some(e) => e.1 += prob,
                None => by_k.push((row.k, prob)),
            }
        }
    }
    by_k.sort_by_key(|e| e.0);
    let _ = writeln!(
        s,
        "P(K | x): {}",
        by_k.iter()
            .map(|(k, p)| format!("K = {k} {p:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    s
}

/// `fit`'s text: the data, the search, the mode and its parameters.
pub fn fit_text(model: &Model, origin: &str, rec: &FitRecord, f: &bgmm::Fit) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "MAP fit of {} ({} points, {} dimension{}: {}{}) with {origin}",
        rec.data.source,
        rec.data.n,
        model.d,
        if model.d == 1 { "" } else { "s" },
        rec.data.columns.join(", "),
        rec.data
            .missing_text()
            .map_or(String::new(), |m| format!("; {m}"))
    );
    let _ = writeln!(
        s,
        "  {} starts ({} init), {} optimised: Adam {} steps (lr {}, betas {}/{}), then L-BFGS ({} iterations for the winner)",
        f.history.restart_loss.len(),
        rec.options.init,
        f.history.candidate_loss.len(),
        f.steps,
        rec.options.lr,
        rec.options.betas[0],
        rec.options.betas[1],
        f.polish_iterations
    );
    let _ = writeln!(
        s,
        "  the mode came from: {} (initial loss {:.6})",
        f.strategy, f.history.restart_loss[f.best_restart]
    );
    let recorded: Vec<String> = rec
        .data
        .columns
        .iter()
        .zip(&f.resolution)
        .filter(|(_, r)| **r > 0.0)
        .map(|(c, r)| format!("{c} to {r}"))
        .collect();
    if !recorded.is_empty() {
        let _ = writeln!(
            s,
            "  data recorded to a resolution ({}): modes with a component narrower than resolution/√12 are set aside (--resolution off keeps them)",
            recorded.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "  loss = −log p(x, θ) = {:.6}   {} (max |gradient| {:.1e}; {})",
        f.loss,
        if f.converged {
            "converged"
        } else {
            "NOT converged"
        },
        f.grad_norm,
        f.message
    );
    if let (Some(ll), Some(np)) = (rec.loglik, rec.n_params) {
        let _ = writeln!(
            s,
            "  log likelihood Σ log p(x_n | θ) = {ll:.6} with {np} free parameters"
        );
    }
    s.push_str(&params_text(model, &f.params));
    s
}

/// The posterior summary's table, one row per parameter.
pub fn summary_table(summary: &[(String, ParamSummary)]) -> String {
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
pub fn dimension_legend(model: &bgmm::Model, columns: &[String]) -> Option<String> {
    if model.d < 2 || columns.len() != model.d {
        return None;
    }
    let sites = match model.family {
        bgmm::Family::Diagonal(f) => match f.sharing {
            bgmm::Sharing::Dimension => "locs[k,j] and scale[j]",
            bgmm::Sharing::Diagonal => "locs[k,j] and scale[k,j]",
            _ => "locs[k,j]",
        },
        bgmm::Family::Full(_) => "locs[k,j] and scale[k,j]",
        bgmm::Family::Tied(_) => "locs[k,j] and scale[j]",
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

/// ArviZ's `compare` table.
pub fn compare_text(t: &[bgmm::CompareRow], ic: &str, method: &str) -> String {
    let width = t
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "Comparison by {} ({} weights), best first:\n{:<4} {:<width$} {:>10} {:>8} {:>10} {:>8} {:>8} {:>8}  warning\n",
        if ic == "loo" { "PSIS-LOO" } else { "WAIC" },
        method,
        "rank",
        "model",
        format!("elpd_{ic}"),
        format!("p_{ic}"),
        "elpd_diff",
        "weight",
        "se",
        "dse",
    );
    for r in t {
        out.push_str(&format!(
            "{:<4} {:<width$} {:>10.2} {:>8.2} {:>10.2} {:>8.3} {:>8.2} {:>8.2}  {}\n",
            r.rank,
            r.name,
            r.elpd,
            r.p,
            r.elpd_diff,
            r.weight,
            r.se,
            r.dse,
            if r.warning { "yes" } else { "" }
        ));
    }
    out
}
