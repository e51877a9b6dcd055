//! `bgmm report DIR`: one self-contained HTML page (inline SVG, inline CSS, no network) with
//! everything the runs in DIR hold, in the order of the seeds' narrative: the data, the model,
//! the MAP fit, the classifications, the posterior and its predictive check.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;

use bgmm_io::{find_runs, params_text, sites_text, ClassifyRun, FitRun, Run, SampleRun, SelectRun};

use crate::figures::{classify_figures, fit_figures, sample_figures, select_figures, Figure};
use crate::plot::select::{criterion_label, family_label};

/// HTML-escape text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "
body { font-family: 'DejaVu Sans', Verdana, sans-serif; margin: 0 auto; max-width: 1150px; padding: 1em 2em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #1f77b4; padding-bottom: .2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
nav ol { columns: 2; }
pre { background: #f6f6f6; padding: .7em; overflow-x: auto; font-size: 90%; }
table { border-collapse: collapse; margin: .8em 0; font-size: 90%; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
td.bad { background: #fdd; font-weight: bold; }
.warn { background: #fff4e0; border-left: 4px solid #ff7f0e; padding: .4em .8em; margin: .5em 0; }
.ok { background: #eef8ee; border-left: 4px solid #2ca02c; padding: .4em .8em; margin: .5em 0; }
figure { margin: 1.5em 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 90%; margin-top: .3em; }
code { background: #f3f3f3; padding: 0 .2em; overflow-wrap: anywhere; }
.wide { overflow-x: auto; }
@media (max-width: 900px) {
  body { padding: .5em; }
  nav ol { columns: 1; }
  table { font-size: 80%; }
  th, td { padding: .2em .3em; }
}
";

/// Figure text never shows smaller than this (pixels): below the width that would shrink it
/// further, a figure keeps its width and scrolls sideways in its box instead.
const MIN_TEXT_PX: f64 = 9.0;

/// The SVG with a minimum width that keeps its smallest text at `MIN_TEXT_PX` or more.
fn readable(svg: &str) -> String {
    let attr = |key: &str, from: &str| -> Option<f64> {
        let k = format!("{key}=\"");
        let i = from.find(&k)? + k.len();
        from[i..].split('"').next()?.parse().ok()
    };
    let smallest = svg
        .split("font-size=\"")
        .skip(1)
        .filter_map(|t| t.split('"').next()?.parse::<f64>().ok())
        .fold(f64::INFINITY, f64::min);
    match (svg.strip_prefix("<svg "), attr("width", svg)) {
        (Some(rest), Some(width)) if smallest.is_finite() && smallest > 0.0 => {
            let min = (width * MIN_TEXT_PX / smallest).ceil().min(width);
            format!("<svg style=\"min-width: {min}px\" {rest}")
        }
        _ => svg.to_string(),
    }
}

/// A small self-check the browser runs: how many figures there are and how many rendered
/// with a non-empty size (read by the headless-browser test; harmless anywhere else).
const CHECK: &str = "
window.addEventListener('load', function () {
  var figs = document.querySelectorAll('figure.plot');
  var ok = 0;
  figs.forEach(function (f) {
    var s = f.querySelector('svg');
    if (s && s.getBBox().width > 0 && s.getBBox().height > 0) { ok++; }
  });
  document.body.setAttribute('data-figures', String(figs.length));
  document.body.setAttribute('data-rendered', String(ok));
});
";

struct Page {
    body: String,
    toc: Vec<(String, String)>,
    figures: usize,
}

impl Page {
    fn section(&mut self, title: &str) {
        self.section_of(title, None);
    }

    /// A section heading; when another section already has it, the run's directory is named
    /// so that no two headings (and no two entries of the contents) read the same.
    fn section_of(&mut self, title: &str, dir: Option<&Path>) {
        let mut title = title.to_string();
        if self.toc.iter().any(|(_, t)| *t == title) {
            if let Some(name) = dir.and_then(Path::file_name) {
                title = format!("{title} ({})", name.to_string_lossy());
            }
        }
        let title = title.as_str();
        let id = format!("s{}", self.toc.len() + 1);
        let _ = writeln!(self.body, "<h2 id=\"{id}\">{}</h2>", esc(title));
        self.toc.push((id, title.to_string()));
    }

    fn p(&mut self, html: &str) {
        let _ = writeln!(self.body, "<p>{html}</p>");
    }

    fn pre(&mut self, text: &str) {
        let _ = writeln!(self.body, "<pre>{}</pre>", esc(text));
    }

    fn warnings(&mut self, w: &[String]) {
        for x in w {
            let _ = writeln!(self.body, "<div class=\"warn\">warning: {}</div>", esc(x));
        }
    }

    fn figure(&mut self, f: &Figure) -> Result<()> {
        let svg = readable(&f.render.svg()?);
        self.figures += 1;
        let _ = writeln!(
            self.body,
            "<figure class=\"plot\" id=\"fig-{}\">\n{}\n<figcaption><b>Figure {}. {}.</b> {}</figcaption></figure>",
            self.figures,
            svg,
            self.figures,
            esc(&f.title),
            esc(&f.about)
        );
        Ok(())
    }

    fn table(&mut self, head: &[&str], rows: &[Vec<(String, bool)>]) {
        // a wide table scrolls in its box instead of running off the page
        let mut s = String::from("<div class=\"wide\"><table><tr>");
        for h in head {
            let _ = write!(s, "<th>{}</th>", esc(h));
        }
        s.push_str("</tr>\n");
        for r in rows {
            s.push_str("<tr>");
            for (c, bad) in r {
                let _ = write!(
                    s,
                    "<td{}>{}</td>",
                    if *bad { " class=\"bad\"" } else { "" },
                    esc(c)
                );
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</table></div>");
        let _ = writeln!(self.body, "{s}");
    }
}

fn num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

fn data_table(page: &mut Page, data: &bgmm::Data, names: &[String]) {
    // statistics of the observed values; the missing ones counted apart
    let missing = data.missing_per_column();
    let any = data.n_missing() > 0;
    let rows: Vec<Vec<(String, bool)>> = (0..data.d())
        .map(|j| {
            let mut v = data.observed(j).into_owned();
            v.sort_by(f64::total_cmp);
            let (m, var) = bgmm::mean_var(&v);
            let q = |p| bgmm::quantile_sorted(&v, p);
            let mut row = vec![
                (names[j].clone(), false),
                (num(m), false),
                (num(var.sqrt()), false),
                (num(v[0]), false),
                (num(q(0.5)), false),
                (num(v[v.len() - 1]), false),
            ];
            if any {
                row.push((missing[j].to_string(), false));
            }
            row
        })
        .collect();
    let mut head = vec!["column", "mean", "sd", "min", "median", "max"];
    if any {
        head.push("missing");
    }
    page.table(&head, &rows);
}

fn fit_section(page: &mut Page, r: &FitRun) -> Result<()> {
    let figs = fit_figures(r)?;
    page.section(&format!("The data: {}", r.rec.data.source));
    page.p(&format!(
        "{} points in {} dimension{} (columns {}).",
        r.data.n(),
        r.data.d(),
        if r.data.d() == 1 { "" } else { "s" },
        esc(&r.names.join(", "))
    ));
    data_table(page, &r.data, &r.names);
    for f in figs.iter().filter(|f| f.stem == "data") {
        page.figure(f)?;
    }
    page.section("The model");
    page.p("The model as written (TOML), then every site with its distribution and shape (Pyro's <code>format_shapes</code>):");
    page.pre(&toml::to_string(r.model.spec()).unwrap_or_default());
    page.pre(&sites_text(&r.model, &bgmm::sites(&r.model, r.data.n())));
    page.section("The MAP fit");
    let o = &r.rec.options;
    page.p(&format!(
        "{} initial points ({} init, seed {}) screened by their loss; the best {} optimised by {} Adam steps (lr {}, betas {}, {}) {}. Best restart: {}.",
        o.restarts,
        esc(&o.init),
        o.seed,
        o.candidates,
        o.steps,
        o.lr,
        o.betas[0],
        o.betas[1],
        if o.polish { "then polished by L-BFGS to the mode" } else { "without polish" },
        r.rec.best_restart
    ));
    page.pre(&format!(
        "{}loss (negative log joint, assignments summed out) = {:.6}\nconverged: {} (max |gradient| {}, {} L-BFGS iterations: {})",
        params_text(&r.model, &r.params),
        r.rec.loss,
        r.rec.converged,
        r.rec
            .grad_norm_max
            .map_or("not computed".to_string(), |g| format!("{g:.2e}")),
        r.rec.polish_iterations,
        r.rec.message
    ));
    page.warnings(&r.rec.warnings);
    if r.rec.warnings.is_empty() {
        let _ = writeln!(
            page.body,
            "<div class=\"ok\">A proper mode: no empty component, no collapsed scale.</div>"
        );
    }
    page.p(&format!("Command: <code>{}</code>", esc(&r.rec.command)));
    for f in figs.iter().filter(|f| f.stem != "data") {
        page.figure(f)?;
    }
    Ok(())
}

fn classify_section(page: &mut Page, r: &ClassifyRun) -> Result<()> {
    let sampled = r.sampled;
    let source = r.record.data.source.as_str();
    let method = match r.record.method.as_str() {
        "" => "exact",
        m => m,
    };
    // what the assignments were made by, in the heading: the same data classified under a fit
    // and under a sampling run's posterior, or by SVI, are different sections
    let draws = r.record.draws.unwrap_or(0);
    let heading = match method {
        "posterior" => format!("Posterior assignments of {source} (average over {draws} draws)"),
        "svi" => format!(
            "{} assignments of {source} (SVI)",
            if sampled { "Sampled" } else { "MAP" }
        ),
        _ => format!(
            "{} assignments of {source}",
            if sampled { "Sampled" } else { "MAP" }
        ),
    };
    page.section_of(&heading, Some(&r.dir));
    let k = r.probs.first().map_or(0, Vec::len);
    let counts: Vec<String> = (0..k)
        .map(|c| format!("z={c}: {}", r.z.iter().filter(|&&z| z == c).count()))
        .collect();
    let how = if method == "posterior" {
        format!(
            "most probable component under the posterior: each point's assignment probabilities averaged over {draws} draws of the run {}",
            r.record.run.as_deref().unwrap_or("?")
        )
    } else if sampled {
        "one assignment drawn from each point's posterior (temperature 1)".to_string()
    } else {
        "most probable component (temperature 0)".to_string()
    };
    page.p(&format!(
        "{} points classified ({}, {}): {}.",
        r.data.n(),
        esc(method),
        esc(&how),
        esc(&counts.join(", "))
    ));
    if !r.record.command.is_empty() {
        page.p(&format!("Command: <code>{}</code>", esc(&r.record.command)));
    }
    let figs = classify_figures(r);
    if figs.is_empty() {
        page.p("(Classification pictures are drawn for 1-D data.)");
    }
    for f in &figs {
        page.figure(f)?;
    }
    Ok(())
}

fn sample_section(page: &mut Page, r: &SampleRun) -> Result<()> {
    // the record as its file holds it
    let v = &serde_json::to_value(&r.record)?;
    let method = r.record.method();
    page.section(if method == "vi" {
        "The variational posterior (mean-field VI)"
    } else {
        "The posterior (collapsed NUTS)"
    });
    let o = &v["options"];
    if method == "vi" {
        page.p(&format!(
            "Mean-field Gaussian on the unconstrained space: {} Adam steps (lr {}), {} draws, seed {}; ELBO (mean of the last 100 steps) {}.",
            o["steps"], o["lr"], o["draws"], o["seed"], o["elbo_last_100_mean"]
        ));
    } else {
        page.p(&format!(
            "{} chains × {} draws after {} warmup (step size and mass matrix adapted; target acceptance {}, max tree depth {}, init from {}), seed {}; {:.2} s.",
            o["chains"], o["draws"], o["warmup"], o["target_accept"], o["max_depth"],
            o["init"].as_str().unwrap_or("map"), o["seed"],
            v["wall_s"].as_f64().unwrap_or(f64::NAN)
        ));
    }
    let chains = r.chains.len();
    // the parameters, then what the summary derives from them (the correlations of full and
    // tied covariances, `corr[…]`)
    let mut names = r.model.constrained_names();
    if let Some(m) = v["summary"].as_object() {
        let mut derived: Vec<String> = m
            .keys()
            .filter(|k| k.starts_with("corr[") && !names.contains(k))
            .cloned()
            .collect();
        derived.sort();
        names.extend(derived);
    }
    let rows: Vec<Vec<(String, bool)>> = names
        .iter()
        .filter_map(|n| v["summary"].get(n).map(|s| (n, s)))
        .map(|(n, s)| {
            let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
            let low_ess = |e: f64| chains > 0 && e < 100.0 * chains as f64;
            vec![
                (n.clone(), false),
                (num(f("mean")), false),
                (num(f("sd")), false),
                (num(f("median")), false),
                (num(f("q5")), false),
                (num(f("q95")), false),
                (num(f("hdi_low")), false),
                (num(f("hdi_high")), false),
                (format!("{:.0}", f("ess_bulk")), low_ess(f("ess_bulk"))),
                (format!("{:.0}", f("ess_tail")), low_ess(f("ess_tail"))),
                (
                    format!("{:.4}", f("r_hat")),
                    f("r_hat").is_nan() || f("r_hat") > 1.01,
                ),
            ]
        })
        .collect();
    page.table(
        &[
            "parameter",
            "mean",
            "sd",
            "median",
            "5 %",
            "95 %",
            "HDI 90 % low",
            "HDI 90 % high",
            "ESS bulk",
            "ESS tail",
            "R-hat",
        ],
        &rows,
    );
    if method != "vi" {
        let stats: Vec<Vec<(String, bool)>> = v["chains"]
            .as_array()
            .map(|a| {
                a.iter()
                    .enumerate()
                    .map(|(c, s)| {
                        let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
                        vec![
                            (format!("chain {c}"), false),
                            (
                                format!("{}", s["divergences"]),
                                s["divergences"].as_u64() != Some(0),
                            ),
                            (format!("{:.3}", f("step_size")), false),
                            (format!("{:.3}", f("mean_accept")), false),
                            (format!("{:.2}", f("mean_tree_depth")), false),
                            (format!("{:.1}", f("mean_leapfrog")), false),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        page.table(
            &[
                "chain",
                "divergences",
                "step size",
                "mean acceptance",
                "mean tree depth",
                "leapfrog steps per draw",
            ],
            &stats,
        );
    }
    if v["relabelled"].as_bool() == Some(true) {
        page.p(&format!(
            "Label switching: {:.1} % of the draws were relabelled to the MAP's component order (Hungarian matching); the raw draws are in <code>raw-chain-*.csv</code>.",
            100.0 * v["relabelled_share"].as_f64().unwrap_or(0.0)
        ));
    }
    if let Some(occ) = &r.record.occupied {
        page.p(&format!(
            "{}. With many components and a small Dirichlet concentration (an overfitted, sparse finite mixture: Malsiner-Walli, Frühwirth-Schnatter and Grün 2016) the empty ones are superfluous, and the most probable K₊ estimates the number of clusters.",
            bgmm_io::occupied_text(occ)
        ));
    }
    let warnings: Vec<String> = v["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| w.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    page.warnings(&warnings);
    if warnings.is_empty() {
        let _ = writeln!(
            page.body,
            "<div class=\"ok\">No warnings: every R-hat ≤ 1.01, no divergences, enough effective draws.</div>"
        );
    }
    if let Some(c) = v["command"].as_str().filter(|c| !c.is_empty()) {
        page.p(&format!("Command: <code>{}</code>", esc(c)));
    }
    let figs = sample_figures(r)?;
    for f in &figs {
        page.figure(f)?;
    }
    Ok(())
}

/// A value of a criterion, or a difference of two: two decimals whatever its size (criteria
/// are compared by their differences, which a number of significant digits would hide).
fn criterion_num(v: f64) -> String {
    format!("{v:.2}")
}

/// `K = 1–9` for a run of consecutive numbers, `K = 1, 3, 5` otherwise.
fn ks_text(ks: &[usize]) -> String {
    let consecutive = ks.len() > 2 && ks.windows(2).all(|w| w[1] == w[0] + 1);
    if consecutive {
        format!("K = {}–{}", ks[0], ks[ks.len() - 1])
    } else {
        let ks: Vec<String> = ks.iter().map(usize::to_string).collect();
        format!("K = {}", ks.join(", "))
    }
}

fn select_section(page: &mut Page, s: &SelectRun) -> Result<()> {
    let r = &s.record;
    let name = criterion_label(r.criterion);
    let (ks, families) = (r.ks(), r.families());
    page.section_of(
        &format!("Model selection by {name}: {}", r.data.source),
        Some(&s.dir),
    );
    let d = r.data.columns.len();
    let mut data = format!(
        "{} points in {d} dimension{} (columns {})",
        r.data.n,
        if d == 1 { "" } else { "s" },
        esc(&r.data.columns.join(", "))
    );
    if let Some(m) = r.data.missing_text() {
        let _ = write!(data, "; {}", esc(&m));
    }
    if r.data.drop_missing {
        data.push_str("; the incomplete rows were dropped");
    }
    if r.n != r.data.n {
        let _ = write!(
            data,
            "; {} rows with an observed value count in the criteria",
            r.n
        );
    }
    page.p(&format!("{data}."));
    let o = &r.options;
    page.p(&format!(
        "The default model of each number of components ({}) with each covariance family ({}): {} pairs, each fitted by its MAP ({} initial points, {} init, the best {} optimised, seed {}). {name} = {}; lower is better.",
        ks_text(&ks),
        esc(&families.iter().map(|f| family_label(*f)).collect::<Vec<_>>().join(", ")),
        r.table.len(),
        o.restarts,
        esc(&o.init),
        o.candidates,
        o.seed,
        match r.criterion {
            bgmm::Criterion::Bic => "−2 log likelihood + parameters × ln N",
            bgmm::Criterion::Aic => "−2 log likelihood + 2 × parameters",
            bgmm::Criterion::Icl => "BIC + 2 × the entropy of the classification",
            bgmm::Criterion::Loo =>
                "−2 × elpd_loo, the PSIS-LOO of the pair's posterior sampled by NUTS from its MAP",
            bgmm::Criterion::Waic => "−2 × elpd_waic of the pair's posterior sampled by NUTS from its MAP",
            bgmm::Criterion::Evidence =>
                "−2 × log p(x), the evidence (marginal likelihood) by SMC tempered from the prior",
        },
    ));
    // the criterion by K (rows) and family (columns); a failed fit shows its status
    let mut head = vec!["K".to_string()];
    head.extend(families.iter().map(|f| family_label(*f)));
    let rows: Vec<Vec<(String, bool)>> = ks
        .iter()
        .map(|&k| {
            let mut row = vec![(k.to_string(), false)];
            for &f in &families {
                let cell = r.table.iter().find(|t| t.k == k && t.covariance == f);
                row.push(match cell {
                    None => (String::new(), false),
                    Some(t) if t.status != bgmm::RowStatus::Ok => {
                        (t.status.name().to_string(), true)
                    }
                    Some(t) => (
                        t.value(r.criterion).map_or(String::new(), criterion_num),
                        false,
                    ),
                });
            }
            row
        })
        .collect();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    page.table(&head, &rows);
    // the best three and how far each is from the best
    let ranked = r.ranked();
    match (&r.best, ranked.first()) {
        (Some(b), Some(&top)) => {
            page.p(&format!(
                "Best by {name}: <b>{}, K = {}</b>. The best three:",
                esc(&family_label(b.covariance)),
                b.k
            ));
            let best = r.table[top].value(r.criterion).unwrap_or(f64::NAN);
            let rows: Vec<Vec<(String, bool)>> = ranked
                .iter()
                .take(3)
                .enumerate()
                .map(|(i, &j)| {
                    let t = &r.table[j];
                    let v = t.value(r.criterion).unwrap_or(f64::NAN);
                    vec![
                        ((i + 1).to_string(), false),
                        (family_label(t.covariance), false),
                        (t.k.to_string(), false),
                        (t.n_params.to_string(), false),
                        (t.loglik.map_or(String::new(), criterion_num), false),
                        (criterion_num(v), false),
                        (criterion_num(v - best), false),
                    ]
                })
                .collect();
            let delta = format!("{name} − best");
            page.table(
                &[
                    "rank",
                    "family",
                    "K",
                    "parameters",
                    "log likelihood",
                    &name,
                    &delta,
                ],
                &rows,
            );
        }
        _ => {
            let _ = writeln!(
                page.body,
                "<div class=\"warn\">No fit succeeded: there is no best model.</div>"
            );
        }
    }
    // why each failed fit failed, and what the others warned of
    let mut notes = Vec::new();
    for t in &r.table {
        let pair = format!("K = {}, {}", t.k, family_label(t.covariance));
        if t.status != bgmm::RowStatus::Ok {
            let why = if t.message.is_empty() {
                String::new()
            } else {
                format!(": {}", t.message)
            };
            notes.push(format!("{pair}: {}{why}", t.status.name()));
        }
        notes.extend(t.warnings.iter().map(|w| format!("{pair}: {w}")));
    }
    page.warnings(&notes);
    if !r.command.is_empty() {
        page.p(&format!("Command: <code>{}</code>", esc(&r.command)));
    }
    for f in &select_figures(r) {
        page.figure(f)?;
    }
    Ok(())
}

/// The report page of every run in `dir`: its model selections first (they choose the model
/// that the other runs fit), then the other runs.
pub fn report_html(dir: &Path) -> Result<String> {
    let runs = find_runs(dir)?;
    let mut page = Page {
        body: String::new(),
        toc: Vec::new(),
        figures: 0,
    };
    for run in &runs {
        match run {
            Run::Fit(r) => fit_section(&mut page, r)?,
            Run::Classify(r) => classify_section(&mut page, r)?,
            Run::Sample(r) => sample_section(&mut page, r)?,
            Run::Select(s) => select_section(&mut page, s)?,
        }
    }
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>bgmm report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>bgmm report</h1>\n<p>{} run{} in <code>{}</code>, drawn by bgmm {}. Every figure is inline SVG: this page needs no network and no other file.</p>\n<nav><ol>\n",
        esc(&dir.display().to_string()),
        runs.len(),
        if runs.len() == 1 {
            ""
        } else {
            "s"
        },
        esc(&dir.display().to_string()),
        env!("CARGO_PKG_VERSION"),
    );
    for (id, t) in &page.toc {
        let _ = writeln!(html, "<li><a href=\"#{id}\">{}</a></li>", esc(t));
    }
    html.push_str("</ol></nav>\n");
    html.push_str(&page.body);
    let _ = write!(html, "<script>{CHECK}</script>\n</body>\n</html>\n");
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::{example_record, write_selection};
    use bgmm::Criterion;

    #[test]
    fn a_selection_is_reported_with_its_table_the_best_three_and_its_figure() {
        let tmp = tempfile::tempdir().unwrap();
        write_selection(tmp.path(), &example_record(Criterion::Bic));
        let html = report_html(tmp.path()).unwrap();
        assert!(html.contains("<h2 id=\"s1\">Model selection by BIC: blobs.csv</h2>"));
        assert!(html.contains("<p>200 points in 2 dimensions (columns x, y).</p>"));
        assert!(html.contains("1 run in"));
        // the criterion by K (rows) and family (columns), the collapsed fit by its status
        assert!(html.contains(
            "<tr><th>K</th><th>shared (EII)</th><th>component (VII)</th><th>tied (EEE)</th></tr>"
        ));
        for row in [
            "<tr><td>1</td><td>420.13</td><td>420.13</td><td>431.72</td></tr>",
            "<tr><td>2</td><td>380.57</td><td>371.46</td><td>366.34</td></tr>",
            "<tr><td>3</td><td>350.91</td><td>301.25</td><td class=\"bad\">collapsed</td></tr>",
            "<tr><td>4</td><td>347.22</td><td>318.08</td><td>309.87</td></tr>",
        ] {
            assert!(html.contains(row), "no row {row}");
        }
        // the best three, each with its distance from the best
        assert!(html.contains("Best by BIC: <b>component (VII), K = 3</b>"));
        let ln200 = 200f64.ln();
        let loglik = |p: f64, bic: f64| format!("{:.2}", (p * ln200 - bic) / 2.0);
        for row in [
            format!(
                "<tr><td>1</td><td>component (VII)</td><td>3</td><td>11</td><td>{}</td><td>301.25</td><td>0.00</td></tr>",
                loglik(11.0, 301.25)
            ),
            format!(
                "<tr><td>2</td><td>tied (EEE)</td><td>4</td><td>14</td><td>{}</td><td>309.87</td><td>8.62</td></tr>",
                loglik(14.0, 309.87)
            ),
            format!(
                "<tr><td>3</td><td>component (VII)</td><td>4</td><td>15</td><td>{}</td><td>318.08</td><td>16.83</td></tr>",
                loglik(15.0, 318.08)
            ),
        ] {
            assert!(html.contains(&row), "no row {row}");
        }
        assert!(!html.contains("<tr><td>4</td><td>shared (EII)</td>"));
        // why the fit failed, and the other fits' warnings
        assert!(html.contains(
            "warning: K = 3, tied (EEE): collapsed: every candidate collapsed onto a point"
        ));
        assert!(html.contains("warning: K = 4, shared (EII): a local mode"));
        assert!(html.contains("Command: <code>bgmm select blobs.csv -k 1-4 --out sel</code>"));
        // the figure, inline
        assert_eq!(html.matches("<figure class=\"plot\"").count(), 1);
        let fig = &html[html.find("<figure class=\"plot\"").unwrap()..];
        assert!(fig.contains("<svg") && fig.contains("best: component (VII), K = 3"));
        assert!(fig.contains("<b>Figure 1. BIC of every model.</b>"));
    }

    #[test]
    fn the_table_shows_the_criterion_the_selection_was_made_by() {
        let tmp = tempfile::tempdir().unwrap();
        write_selection(tmp.path(), &example_record(Criterion::Icl));
        let html = report_html(tmp.path()).unwrap();
        assert!(html.contains("Model selection by ICL: blobs.csv"));
        // ICL = BIC + 5 in the example: 301.25 + 5
        assert!(html.contains(
            "<tr><td>3</td><td>355.91</td><td>306.25</td><td class=\"bad\">collapsed</td></tr>"
        ));
        assert!(!html.contains("<td>301.25</td>"));
        assert!(html.contains("<th>ICL</th><th>ICL − best</th>"));
        assert!(html.contains("ICL (lower is better)"));
    }

    #[test]
    fn a_selection_is_reported_beside_other_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let c = tmp.path().join("c");
        std::fs::create_dir(&c).unwrap();
        std::fs::write(
            c.join("classify.json"),
            r#"{"data": {"source": "builtin:tutorial", "columns": ["x"]},
                "assignments": [0, 0, 1, 1, 1],
                "probs": [[1, 0], [1, 0], [0, 1], [0, 1], [0, 1]]}"#,
        )
        .unwrap();
        write_selection(&tmp.path().join("s"), &example_record(Criterion::Bic));
        let html = report_html(tmp.path()).unwrap();
        assert!(html.contains("2 runs in"));
        // the selection first (it chooses the model), then the classification
        let sel = html.find("<h2 id=\"s1\">Model selection by BIC").unwrap();
        let cl = html
            .find("<h2 id=\"s2\">MAP assignments of builtin:tutorial")
            .unwrap();
        assert!(sel < cl);
        assert_eq!(html.matches("<figure class=\"plot\"").count(), 2);
    }

    #[test]
    fn a_selection_without_a_successful_fit_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        let mut rec = example_record(Criterion::Bic);
        for t in &mut rec.table {
            t.status = bgmm::RowStatus::Failed;
            (t.loglik, t.bic, t.icl, t.aic) = (None, None, None, None);
        }
        rec.best = None;
        write_selection(tmp.path(), &rec);
        let html = report_html(tmp.path()).unwrap();
        assert!(html.contains("No fit succeeded: there is no best model."));
        assert_eq!(html.matches("<td class=\"bad\">failed</td>").count(), 12);
        assert!(!html.contains("Best by BIC"));
        assert!(!html.contains("best: "));
    }
}
