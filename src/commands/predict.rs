//! `bgmm predict`: posterior predictive data sets from a sampling run (one per draw), or
//! plug-in predictive data sets from a MAP fit (NumPyro's `Predictive`).

use std::fmt::Write;

use anyhow::{anyhow, bail, Result};

use bgmm::chain_rng;
use bgmm::draw_data;
use bgmm_io::{
    column_names, csv_header, free_name, is_sampling_run, json_bytes, load_fit, load_run,
    ColumnSummary, PredictiveRecord, RunKind, RunWriter, VERSION,
};

use crate::args::PredictArgs;
use crate::common::Ctx;

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
    (free_name("set", data), free_name("z", data))
}

/// Run `bgmm predict`.
pub fn run(a: PredictArgs, ctx: &Ctx) -> Result<()> {
    crate::common::check_out(&a.out, bgmm_io::RunKind::Predict)?;
    let is_run = is_sampling_run(&a.run);
    let max = parse_max_draws(a.max_draws.as_deref())?;
    // (model, data size, data columns, parameter sets, draws in the run, kind)
    let (model, n_data, columns, draws, total, kind) = if is_run {
        let (_, run) = load_run(&a.run)?;
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
    // --impute: the data whose missing values are drawn, as the run or fit reads them
    let imputed = match &a.impute {
        None => None,
        Some(source) => {
            if a.n.is_some() {
                bail!("-n sets the size of new data sets; --impute completes DATA as it is");
            }
            let read =
                bgmm_io::DataSpec::new(source, a.columns.as_deref()).read_preferring(&columns)?;
            let (data, names) = read;
            if data.d() != model.d {
                bail!(
                    "data '{source}' has {} column{} ({}) and the {}'s model {} dimensions: give --columns",
                    data.d(),
                    if data.d() == 1 { "" } else { "s" },
                    names.join(", "),
                    if is_run { "run" } else { "fit" },
                    model.d
                );
            }
            Some((data, names))
        }
    };
    let kind = match (&imputed, is_run) {
        (None, _) => kind,
        (Some(_), true) => "multiple imputation (one completed data set per posterior draw)",
        (Some(_), false) => "imputation at the MAP",
    };
    let n = match &imputed {
        Some((data, _)) => data.n(),
        None => a.n.unwrap_or(n_data),
    };
    if n == 0 {
        bail!("-n must be at least 1");
    }
    if n.saturating_mul(draws.len()).saturating_mul(model.d) > 200_000_000 {
        bail!(
            "{} data sets of {n} points is more than 2e8 values; use --max-draws or -n",
            draws.len()
        );
    }
    // held as columns, CSV text and JSON: about 64 bytes a value
    let values = n as u128 * draws.len() as u128 * model.d as u128;
    bgmm::limits::probe(
        values * 64,
        || format!("{} data sets of {n} points (-n, --max-draws)", draws.len()),
        None,
    )
    .map_err(crate::errors::cli_error)?;
    // the data's names (a run or fit that does not record them: x, or x0, x1, …)
    let names = if let Some((_, names)) = &imputed {
        names.clone()
    } else if columns.len() == model.d {
        columns
    } else {
        column_names(model.d)
    };
    let (set_name, z_name) = csv_names(&names);
    let mut csv = csv_header(
        &std::iter::once(set_name)
            .chain(names.iter().cloned())
            .chain(imputed.is_none().then_some(z_name))
            .collect::<Vec<_>>(),
    );
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); model.d];
    let mut sets_json = Vec::new();
    for (s, p) in draws.iter().enumerate() {
        let mut rng = chain_rng(a.seed, s);
        let (z, data) = match &imputed {
            // the completed data's rows in order; no assignment column (its `z` is empty)
            Some((data, _)) => (
                Vec::new(),
                bgmm::impute(&model, p, data, &mut rng).map_err(|e| anyhow!("{e}"))?,
            ),
            None => draw_data(&model, p, n, &mut rng).map_err(|e| anyhow!("{e}"))?,
        };
        for i in 0..n {
            let _ = write!(csv, "{s}");
            for (j, col) in all.iter_mut().enumerate() {
                let v = data.col(j)[i];
                let _ = write!(csv, ",{v:?}");
                col.push(v);
            }
            match z.get(i) {
                Some(zi) => {
                    let _ = writeln!(csv, ",{zi}");
                }
                None => csv.push('\n'),
            }
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
        let q = |p: f64| bgmm::quantile_sorted(v, p);
        summary.push(ColumnSummary {
            column: names[j].clone(),
            mean: m,
            median: q(0.5),
            q5: q(0.05),
            q95: q(0.95),
            sd,
        });
    }
    if let Some(dir) = &a.out {
        let mut run = RunWriter::create(dir, RunKind::Predict)?;
        run.write("predictive.csv", csv.as_bytes())?;
        // the CSV stays plain so that every reader (bgmm's included) takes it; its provenance
        // goes beside it, as `simulate` does with truth.json
        let record = PredictiveRecord {
            bgmm_version: VERSION.into(),
            columns: names.clone(),
            command: ctx.command.clone(),
            draws_total: is_run.then_some(total),
            draws_used: is_run.then_some(draws.len()),
            kind: kind.into(),
            model: model.spec().clone(),
            n,
            seed: a.seed,
            sets: draws.len(),
            source: a.run.display().to_string(),
            summary: summary.clone(),
        };
        run.write("predictive.json", &json_bytes(&record)?)?;
        run.commit()?;
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
                s.column, s.mean, s.sd, s.q5, s.median, s.q95
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
}
