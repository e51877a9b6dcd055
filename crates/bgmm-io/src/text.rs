//! Human-readable tables and CSV text.

use std::fmt::Write;

use bgmm::Site;
use bgmm::{Data, Model, Params};

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
