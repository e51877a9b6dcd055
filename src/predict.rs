//! `bgmm predict`: posterior predictive data sets from a sampling run (one per draw), or
//! plug-in predictive data sets from a MAP fit (NumPyro's `Predictive`).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::Args;

use bgmm::nuts::chain_rng;
use bgmm::simulate::draw_data;
use bgmm::{Model, ModelSpec, Params};

use crate::atomic::ensure_dir;
use crate::cli::{command_line, json_bytes, load_fit, write_out};
use crate::output::column_names;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A sampling run directory (`sample --out`), or a fit (`fit --out` directory or fit JSON).
    run: PathBuf,
    /// Points per predictive data set (default: as many as the data had).
    #[arg(short = 'n', long)]
    n: Option<usize>,
    /// Data sets from a MAP fit (a run gives one per draw).
    #[arg(long, default_value_t = 100)]
    sets: usize,
    /// Use at most M draws of a run, evenly spaced over its chains (default 100: a data set per
    /// draw of every draw of a long run is hundreds of MB); `all` uses every draw.
    #[arg(long, value_name = "M|all")]
    max_draws: Option<String>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print JSON (summary and every data set) instead of CSV.
    #[arg(long)]
    json: bool,
    /// Write `predictive.csv` into this directory instead of printing the CSV.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Parameter draws of a sampling run: the model, the data's size and the relabelled draws,
/// chain by chain.
pub(crate) fn load_run(dir: &Path) -> Result<(Model, usize, Vec<Vec<Params>>)> {
    let r = load_run_record(dir)?;
    Ok((r.model, r.n, r.chains))
}

/// A sampling run as `sample --out` (or `vi --out`) wrote it.
pub(crate) struct Run {
    pub model: Model,
    /// Points in the data sampled on.
    pub n: usize,
    /// The data's columns the run was sampled on (empty when the run does not record them).
    pub columns: Vec<String>,
    /// Relabelled draws, chain by chain.
    pub chains: Vec<Vec<Params>>,
}

/// [`load_run`] with the columns the run was sampled on.
pub(crate) fn load_run_record(dir: &Path) -> Result<Run> {
    let summary = dir.join("summary.json");
    let shown = summary.display();
    let text = std::fs::read_to_string(&summary)
        .map_err(|e| anyhow!("cannot read run summary '{shown}': {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("run summary '{shown}', line {}: not JSON ({e})", e.line()))?;
    let spec: ModelSpec = serde_json::from_value(v["model"].clone())
        .map_err(|e| anyhow!("run summary '{shown}': no valid model ({e})"))?;
    let model = spec
        .build(None)
        .map_err(|e| anyhow!("run summary '{shown}': its model is invalid: {e}"))?;
    let n = v["data"]["n"]
        .as_u64()
        .ok_or_else(|| anyhow!("run summary '{shown}': no data.n"))? as usize;
    // as many names as dimensions, or none (a run that does not record them)
    let columns: Vec<String> = v["data"]["columns"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .filter(|c: &Vec<String>| c.len() == model.d)
        .unwrap_or_default();
    let width = model.n_constrained();
    let mut chains = Vec::new();
    for c in 0.. {
        let mut draws = Vec::new();
        let path = dir.join(format!("chain-{c}.csv"));
        if !path.exists() {
            if c == 0 {
                bail!("run directory '{}' has no chain-0.csv", dir.display());
            }
            break;
        }
        let text = std::fs::read_to_string(&path)
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
            if cells.len() != 7 + width {
                bail!(
                    "'{}', row {}: expected {} fields, found {}",
                    path.display(),
                    i + 1,
                    7 + width,
                    cells.len()
                );
            }
            let flat = cells[7..]
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
                                names.get(7 + j).copied().unwrap_or("?"),
                                c.trim()
                            )
                        })
                })
                .collect::<Result<Vec<f64>>>()?;
            let p = Params::from_flat(&model, &flat);
            p.check(&model)
                .map_err(|e| anyhow!("'{}', row {}: {e}", path.display(), i + 1))?;
            draws.push(p);
        }
        if draws.is_empty() {
            bail!("'{}' has no draws", path.display());
        }
        chains.push(draws);
    }
    Ok(Run {
        model,
        n,
        columns,
        chains,
    })
}

/// Draws of a run `predict` uses unless told otherwise (`--max-draws`).
pub const DEFAULT_MAX_DRAWS: usize = 100;

/// `--max-draws`: a positive count, or `all` (`None`).
fn parse_max_draws(v: Option<&str>) -> Result<Option<usize>> {
    match v.map(str::trim) {
        None => Ok(Some(DEFAULT_MAX_DRAWS)),
        Some("all") => Ok(None),
        Some(v) => match v.parse::<usize>() {
            Ok(0) => bail!("--max-draws must be at least 1 (or all), got 0"),
            Ok(m) => Ok(Some(m)),
            Err(_) => bail!("--max-draws expects a number of draws or all, got '{v}'"),
        },
    }
}

/// At most `max` of `draws`, evenly spaced (chains one after the other, so each chain gives
/// its share), always the same ones; every draw when `max` is `None` or not below their number.
fn thin<T: Clone>(draws: Vec<T>, max: Option<usize>) -> Vec<T> {
    match max {
        Some(max) if draws.len() > max => {
            let step = draws.len() as f64 / max as f64;
            (0..max)
                .map(|i| draws[(i as f64 * step) as usize].clone())
                .collect()
        }
        _ => draws,
    }
}

/// The header of the predictive CSV: the data's column names, and `set` and `z` for the data
/// set and the assignment, unless a data column has taken such a name: then `_set` (`_z`, …).
fn csv_names(data: &[String]) -> (String, String) {
    let free = |base: &str| {
        let mut name = base.to_string();
        while data.contains(&name) {
            name.insert(0, '_');
        }
        name
    };
    (free("set"), free("z"))
}

/// Run `bgmm predict`.
pub fn cmd_predict(a: PredictArgs) -> Result<()> {
    let is_run = a.run.join("summary.json").exists();
    let max = parse_max_draws(a.max_draws.as_deref())?;
    // (model, data size, data columns, parameter sets, draws in the run, kind)
    let (model, n_data, columns, draws, total, kind) = if is_run {
        let run = load_run_record(&a.run)?;
        let all = run.chains.concat();
        let total = all.len();
        (
            run.model,
            run.n,
            run.columns,
            thin(all, max),
            total,
            "posterior predictive",
        )
    } else {
        if a.max_draws.is_some() {
            bail!(
                "--max-draws picks draws of a sampling run; '{}' is a fit: give --sets",
                a.run.display()
            );
        }
        let (rec, m, p) = load_fit(&a.run)?;
        if a.sets == 0 {
            bail!("--sets must be at least 1");
        }
        (
            m,
            rec.data.n,
            rec.data.columns,
            vec![p; a.sets],
            a.sets,
            "plug-in predictive at the MAP",
        )
    };
    // the draws used, out of how many, and how to get all of them
    let used = if !is_run {
        None
    } else if draws.len() < total {
        Some(format!(
            "{} of the run's {total} draws, evenly spaced (--max-draws all for every draw)",
            draws.len()
        ))
    } else {
        Some(format!("all {total} draws of the run"))
    };
    let n = a.n.unwrap_or(n_data);
    if n == 0 {
        bail!("-n must be at least 1");
    }
    if n.saturating_mul(draws.len()).saturating_mul(model.d) > 200_000_000 {
        bail!(
            "{} data sets of {n} points is more than 2e8 values; use --max-draws or -n",
            draws.len()
        );
    }
    // the data's names (a run or fit that does not record them: x, or x0, x1, …)
    let names = if columns.len() == model.d {
        columns
    } else {
        column_names(model.d)
    };
    let (set_name, z_name) = csv_names(&names);
    let mut csv = crate::output::csv_header(
        &std::iter::once(set_name)
            .chain(names.iter().cloned())
            .chain(std::iter::once(z_name))
            .collect::<Vec<_>>(),
    );
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); model.d];
    let mut sets_json = Vec::new();
    for (s, p) in draws.iter().enumerate() {
        let mut rng = chain_rng(a.seed, s);
        let (z, data) = draw_data(&model, p, n, &mut rng).map_err(|e| anyhow!("{e}"))?;
        for (i, zi) in z.iter().enumerate() {
            let _ = write!(csv, "{s}");
            for (j, col) in all.iter_mut().enumerate() {
                let v = data.col(j)[i];
                let _ = write!(csv, ",{v:?}");
                col.push(v);
            }
            let _ = writeln!(csv, ",{zi}");
        }
        if a.json {
            sets_json.push(serde_json::json!({
                "assignments": z,
                "data": (0..n).map(|i| data.row(i)).collect::<Vec<_>>(),
            }));
        }
    }
    // a short predictive summary per dimension: mean, sd and quantiles over all sets
    let mut summary = Vec::new();
    for (j, v) in all.iter_mut().enumerate() {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| bgmm::diagnostics::quantile_sorted(v, p);
        summary.push(serde_json::json!({
            "column": names[j], "mean": m, "sd": sd, "q5": q(0.05), "median": q(0.5), "q95": q(0.95),
        }));
    }
    if let Some(dir) = &a.out {
        ensure_dir(dir)?;
        write_out(dir, "predictive.csv", csv.as_bytes())?;
        // the CSV stays plain so that every reader (bgmm's included) takes it; its provenance
        // goes beside it, as `simulate` does with truth.json
        let record = serde_json::json!({
            "bgmm_version": env!("CARGO_PKG_VERSION"), "command": command_line(), "seed": a.seed,
            "model": model.spec(), "source": a.run.display().to_string(), "kind": kind,
            "sets": draws.len(), "n": n, "columns": names, "summary": summary,
            "draws_used": is_run.then_some(draws.len()), "draws_total": is_run.then_some(total),
        });
        write_out(dir, "predictive.json", &json_bytes(&record)?)?;
    }
    if a.json {
        let v = serde_json::json!({
            "kind": kind, "sets": draws.len(), "n": n, "seed": a.seed, "columns": names,
            "draws_used": is_run.then_some(draws.len()), "draws_total": is_run.then_some(total),
            "summary": summary, "data_sets": sets_json,
        });
        print!("{}", String::from_utf8(json_bytes(&v)?)?);
    } else if let Some(dir) = &a.out {
        println!(
            "{kind}: {} data sets of {n} points{} → {} (provenance and summary in {})",
            draws.len(),
            used.as_ref()
                .map(|u| format!(", from {u}"))
                .unwrap_or_default(),
            dir.join("predictive.csv").display(),
            dir.join("predictive.json").display()
        );
        for s in &summary {
            println!(
                "  {}: mean {:.4}, sd {:.4}, 5% {:.4}, median {:.4}, 95% {:.4}",
                s["column"].as_str().unwrap_or(""),
                s["mean"].as_f64().unwrap_or(f64::NAN),
                s["sd"].as_f64().unwrap_or(f64::NAN),
                s["q5"].as_f64().unwrap_or(f64::NAN),
                s["median"].as_f64().unwrap_or(f64::NAN),
                s["q95"].as_f64().unwrap_or(f64::NAN)
            );
        }
    } else {
        print!("{csv}");
        // stdout is the CSV alone; what was left out goes to stderr
        if let Some(u) = used.filter(|_| draws.len() < total) {
            eprintln!("note: {kind} data sets from {u}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_takes_evenly_spaced_draws_of_every_chain() {
        // 3 chains of 150 draws, one after the other
        let draws: Vec<usize> = (0..450).collect();
        assert_eq!(thin(draws.clone(), Some(6)), [0, 75, 150, 225, 300, 375]);
        assert_eq!(thin(draws.clone(), Some(4)), [0, 112, 225, 337]);
        let hundred = thin(draws.clone(), Some(100));
        assert_eq!(hundred.len(), 100);
        assert_eq!(hundred.iter().filter(|&&d| d < 150).count(), 34);
        assert_eq!(hundred.iter().filter(|&&d| d >= 300).count(), 33);
        assert_eq!(thin(draws.clone(), Some(450)), draws);
        assert_eq!(thin(draws.clone(), Some(1000)), draws);
        assert_eq!(thin(draws.clone(), None), draws);
    }

    #[test]
    fn max_draws_is_a_count_or_all() {
        assert_eq!(parse_max_draws(None).unwrap(), Some(DEFAULT_MAX_DRAWS));
        assert_eq!(parse_max_draws(Some("all")).unwrap(), None);
        assert_eq!(parse_max_draws(Some("25")).unwrap(), Some(25));
        for (bad, said) in [
            ("0", "--max-draws must be at least 1 (or all), got 0"),
            (
                "-3",
                "--max-draws expects a number of draws or all, got '-3'",
            ),
            (
                "All",
                "--max-draws expects a number of draws or all, got 'All'",
            ),
        ] {
            assert_eq!(parse_max_draws(Some(bad)).unwrap_err().to_string(), said);
        }
    }

    #[test]
    fn the_csvs_own_columns_give_way_to_the_datas() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(csv_names(&names(&["a", "b"])), ("set".into(), "z".into()));
        assert_eq!(
            csv_names(&names(&["x", "y", "z"])),
            ("set".into(), "_z".into())
        );
        assert_eq!(
            csv_names(&names(&["set", "_set", "z"])),
            ("__set".into(), "_z".into())
        );
    }

    /// Found by reading what the fuzz target `run_dir` reaches, confirmed with `bgmm plot`: a
    /// chain file with a header and no draws loaded as an empty chain, and the posterior
    /// histograms indexed into it.
    #[test]
    fn a_chain_without_draws_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("summary.json"),
            r#"{"model": {"k": 2, "d": 1, "weights": {"concentration": 1.0},
                          "locs": {"loc": 0.0, "scale": 5.0},
                          "scale": {"prior": "lognormal", "mu": 0.0, "sigma": 1.0}},
                "data": {"n": 30}}"#,
        )
        .unwrap();
        let chain = dir.path().join("chain-0.csv");
        let header = "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,\
                      energy__,weights.1,weights.2,locs.1,locs.2,scale\n";
        std::fs::write(&chain, format!("# bgmm\n{header}")).unwrap();
        let e = load_run(dir.path()).err().unwrap().to_string();
        assert_eq!(e, format!("'{}' has no draws", chain.display()));
        // one draw is a chain
        std::fs::write(
            &chain,
            format!("{header}-1,1,0.1,2,3,0,1,0.25,0.75,-1,2,0.5\n"),
        )
        .unwrap();
        let (model, n, chains) = load_run(dir.path()).unwrap();
        assert_eq!((model.k, n, chains.len(), chains[0].len()), (2, 30, 1, 1));
        assert_eq!(chains[0][0].flat(), [0.25, 0.75, -1.0, 2.0, 0.5]);
    }
}
