//! CmdStan CSV: the chains of a sampling run as `arviz.from_cmdstan` reads them, written and
//! read back.

use std::fmt::Write;
use std::path::Path;

use anyhow::{anyhow, bail, Result};

use bgmm::Posterior;
use bgmm::{Model, Params};

/// The sampler's columns before the parameters'.
const SAMPLER_COLUMNS: [&str; 7] = [
    "lp__",
    "accept_stat__",
    "stepsize__",
    "treedepth__",
    "n_leapfrog__",
    "divergent__",
    "energy__",
];

/// CmdStan's column name of a parameter: `locs[0,1]` → `locs.1.2` (1-based).
pub fn cmdstan_name(name: &str) -> String {
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

/// One chain as a CmdStan CSV (what `arviz.from_cmdstan` reads); `header` goes first as
/// comment lines.
pub fn cmdstan_csv(post: &Posterior, c: usize, draws: &[Vec<f64>], header: &str) -> String {
    let ch = &post.chains[c];
    let mut s = String::new();
    for line in header.lines() {
        let _ = writeln!(s, "# {line}");
    }
    let mut cols: Vec<String> = SAMPLER_COLUMNS.iter().map(|x| x.to_string()).collect();
    cols.extend(post.names.iter().map(|n| cmdstan_name(n)));
    s.push_str(&crate::text::csv_header(&cols));
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

/// The parameter draws of one chain file (`chain-C.csv`), each checked against `model`.
pub fn read_chain(path: &Path, model: &Model) -> Result<Vec<Params>> {
    let width = model.n_constrained();
    let skip = SAMPLER_COLUMNS.len();
    let mut draws = Vec::new();
    let text = crate::input::read_record(path)
        .map_err(|e| anyhow!("cannot read '{}': {e}", path.display()))?;
    let mut header: Option<Vec<&str>> = None;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some(names) = &header else {
            header = Some(line.split(',').collect());
            continue;
        };
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != skip + width {
            bail!(
                "'{}', row {}: expected {} fields, found {}",
                path.display(),
                i + 1,
                skip + width,
                cells.len()
            );
        }
        let flat = cells[skip..]
            .iter()
            .enumerate()
            .map(|(j, c)| {
                c.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        anyhow!(
                            "'{}', row {}, column '{}': '{}' is not a finite number",
                            path.display(),
                            i + 1,
                            names.get(skip + j).copied().unwrap_or("?"),
                            c.trim()
                        )
                    })
            })
            .collect::<Result<Vec<f64>>>()?;
        let p = Params::from_flat(model, &flat);
        p.check(model)
            .map_err(|e| anyhow!("'{}', row {}: {e}", path.display(), i + 1))?;
        draws.push(p);
    }
    if draws.is_empty() {
        bail!("'{}' has no draws", path.display());
    }
    Ok(draws)
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
