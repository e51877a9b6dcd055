//! Human-readable tables and CSV text.

use std::fmt::Write;

use bgmm::map::Fit;
use bgmm::simulate::Site;
use bgmm::{Data, Model, Params};

use crate::cli::FitRecord;

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

/// CSV of the data (shortest round-trip formatting of f64), with an optional `z` column.
pub fn data_csv(data: &Data, names: &[String], z: Option<&[usize]>) -> String {
    let mut s = names.join(",");
    if z.is_some() {
        s.push_str(",z");
    }
    s.push('\n');
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
        "Mixture of K = {} components in D = {} dimension{}, scale sharing '{}'{}",
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

/// The fit summary.
pub fn fit_text(model: &Model, origin: &str, rec: &FitRecord, f: &Fit) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "MAP fit of {} ({} points, {} dimension{}: {}) with {origin}",
        rec.data.source,
        rec.data.n,
        model.d,
        if model.d == 1 { "" } else { "s" },
        rec.data.columns.join(", ")
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
    s.push_str(&params_text(model, &f.params));
    s
}

/// CSV of the data with their assignment and probabilities.
pub fn assignments_csv(data: &Data, names: &[String], z: &[usize], probs: &[Vec<f64>]) -> String {
    let k = probs.first().map_or(0, Vec::len);
    let mut s = names
        .iter()
        .map(|n| csv_field(n))
        .collect::<Vec<_>>()
        .join(",");
    s.push_str(",assignment");
    for c in 0..k {
        let _ = write!(s, ",p{c}");
    }
    s.push('\n');
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

/// Table of points, assignments and probabilities, then counts per component.
/// Classifications of more points than this print their first 20 and last 10 rows.
pub const CLASSIFY_ROWS: usize = 60;

pub fn classify_text(
    data: &Data,
    names: &[String],
    z: &[usize],
    probs: &[Vec<f64>],
    method: &str,
    temperature: u8,
) -> String {
    let k = probs.first().map_or(0, Vec::len);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} assignments ({}), probabilities by {method}",
        if temperature == 0 { "MAP" } else { "sampled" },
        if temperature == 0 {
            "temperature 0"
        } else {
            "temperature 1"
        },
    );
    let mut head: Vec<String> = names.to_vec();
    head.push("assignment".into());
    head.extend((0..k).map(|c| format!("p{c}")));
    // every column at least 12 wide and a space wider than its name, so that long names
    // stay apart and each value ends under its name
    let w: Vec<usize> = head
        .iter()
        .map(|h| (h.chars().count() + 1).max(12))
        .collect();
    let _ = writeln!(
        s,
        "{}",
        head.iter()
            .zip(&w)
            .map(|(h, &w)| format!("{h:>w$}"))
            .collect::<String>()
    );
    // long tables show their head and tail, as pandas does
    let n = data.n();
    let shown: Vec<usize> = if n > CLASSIFY_ROWS {
        (0..20).chain(n - 10..n).collect()
    } else {
        (0..n).collect()
    };
    for (r, &i) in shown.iter().enumerate() {
        if r > 0 && i != shown[r - 1] + 1 {
            let _ = writeln!(
                s,
                "  … {} more rows (all of them with --json, or in assignments.csv with --out DIR)",
                i - shown[r - 1] - 1
            );
        }
        let d = data.d();
        for j in 0..d {
            let _ = write!(s, "{:>w$.5}", data.col(j)[i], w = w[j]);
        }
        let _ = write!(s, "{:>w$}", z[i], w = w[d]);
        for (c, p) in probs[i].iter().enumerate() {
            let _ = write!(s, "{p:>w$.6}", w = w[d + 1 + c]);
        }
        s.push('\n');
    }
    let mut counts = vec![0usize; k];
    for &c in z {
        counts[c] += 1;
    }
    let _ = writeln!(
        s,
        "counts: {}",
        counts
            .iter()
            .enumerate()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    s
}
