//! `bgmm select`: the number of components and the covariance family chosen by BIC, ICL or
//! AIC, from the MAP of every pair (mclust's table).

use anyhow::{anyhow, bail, Result};

use bgmm::CovarianceFamily;
use bgmm_io::{
    json_bytes, select_failures, select_text, FitOptionsRecord, RunKind, RunWriter, SelectRecord,
    SelectTableRow, VERSION,
};

use crate::args::{InputArgs, ModelArgs, SelectArgs};
use crate::common::{bar, check_out, fit_record, id_like_unless, print_warnings, Ctx};
use crate::errors;

/// Run `bgmm select`.
pub fn run(a: SelectArgs, ctx: &Ctx) -> Result<()> {
    check_out(&a.output.out, RunKind::Select)?;
    let ks = parse_ks(&a.k)?;
    let families: Vec<CovarianceFamily> =
        a.covariance.iter().flatten().map(|c| c.family()).collect();
    let input = InputArgs {
        data: a.data.clone(),
        model: ModelArgs {
            model: None,
            k: None,
            covariance: None,
        },
        columns: a.columns.clone(),
        drop_missing: a.drop_missing,
    };
    let (data, names) = input.read()?;
    let id_like = id_like_unless(&data, &names, &a.data, a.columns.is_some());
    let fit_opts = a.search.options(a.search.subsample)?;
    let pb = bar(0, "{prefix} {bar:30} {pos}/{len} [{elapsed_precise}]");
    pb.set_prefix("fits");
    let shown = pb.clone();
    let opts = bgmm::SelectOptions {
        ks,
        families,
        criterion: a.criterion.criterion(),
        fit: fit_opts.clone(),
        posterior: bgmm::NutsOptions {
            chains: a.chains,
            warmup: a.warmup,
            draws: a.draws,
            seed: a.search.seed,
            stop: Some(crate::signals::sampling_stop()),
            ..bgmm::NutsOptions::default()
        },
        evidence: bgmm::SmcOptions {
            runs: a.chains,
            particles: usize::try_from(a.draws).unwrap_or(usize::MAX),
            seed: a.search.seed,
            stop: Some(crate::signals::sampling_stop()),
            ..bgmm::SmcOptions::default()
        },
        progress: Some(bgmm::Callback::new(move |p: bgmm::SelectProgress| {
            if p.sampling {
                shown.set_prefix("posteriors");
            }
            shown.set_length(p.total as u64);
            shown.set_position(p.done as u64);
        })),
    };
    let sel = bgmm::select(&data, &opts);
    pb.finish_and_clear();
    let sel = sel.map_err(|e| match e {
        bgmm::Error::Data(_) => anyhow!("data '{}': {}", a.data, errors::message(&e)),
        bgmm::Error::Interrupted(m) => {
            crate::common::Interrupted(format!("{m}; nothing written")).into()
        }
        other => errors::cli_error(other),
    })?;
    let record = SelectRecord {
        criterion: sel.criterion,
        n: sel.n,
        table: sel.rows.iter().map(SelectTableRow::of).collect(),
        best: sel.best().map(SelectTableRow::of),
        compare: sel.compare.clone(),
        data: bgmm_io::DataInfo::of(&a.data, &names, &data).dropped(a.drop_missing),
        options: FitOptionsRecord::of(&fit_opts, fit_opts.subsample),
        bgmm_version: VERSION.into(),
        command: ctx.command.clone(),
    };
    // the best model's fit, as `fit --out` writes it
    let best_fit = match sel.best() {
        Some(row) => match (&row.fit, row.model.build(Some(data.d()))) {
            (Some(f), Ok(model)) => {
                Some(fit_record(&model, &data, &names, &input, f, &fit_opts, ctx))
            }
            _ => None,
        },
        None => None,
    };
    let bytes = json_bytes(&record)?;
    if let Some(dir) = &a.output.out {
        let mut run = RunWriter::create(dir, RunKind::Select)?;
        run.write("select.json", &bytes)?;
        if let Some(f) = &best_fit {
            run.write("best-fit.json", &json_bytes(f)?)?;
        }
        run.commit()?;
    }
    if a.output.json {
        print!("{}", String::from_utf8(bytes)?);
    } else {
        print!("{}", select_text(&record, &a.data));
        if let Some(dir) = &a.output.out {
            println!("wrote {}", dir.join("select.json").display());
            if best_fit.is_some() {
                println!("wrote {}", dir.join("best-fit.json").display());
            }
        }
    }
    print_warnings(&id_like);
    if let Some(best) = &record.best {
        let mut warnings: Vec<String> = best.warnings.iter().map(|w| errors::rewrite(w)).collect();
        if let Some(p) = &best.posterior {
            let code = format!("{},{}", best.covariance.mclust(), best.k);
            warnings.extend(
                p.warnings
                    .iter()
                    .map(|w| format!("the posterior of {code}: {}", errors::rewrite(w))),
            );
        }
        print_warnings(&warnings);
    }
    if record.best.is_none() {
        bail!(
            "data '{}': no pair was fitted ({}); try other -k or --covariance",
            a.data,
            select_failures(&record)
        );
    }
    Ok(())
}

/// `-k`: a range `A..B` (or `A-B`, `A..=B`), a list `A,B,C` (each item a number or a range)
/// or one number.
pub fn parse_ks(text: &str) -> Result<Vec<usize>> {
    let bad = || {
        anyhow!(
            "-k: expected a range (1..9), a list (2,3,5) or a number of components, got '{text}'"
        )
    };
    let num = |s: &str| -> Result<usize> {
        let k: usize = s.trim().parse().map_err(|_| bad())?;
        if k == 0 {
            bail!("-k: a number of components is at least 1, got '{text}'");
        }
        Ok(k)
    };
    let mut ks = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let range = part
            .split_once("..=")
            .or_else(|| part.split_once(".."))
            .or_else(|| part.split_once('-'));
        match range {
            Some((lo, hi)) => {
                let (lo, hi) = (num(lo)?, num(hi)?);
                if lo > hi {
                    bail!("-k: the range '{part}' is empty (it goes from {lo} down to {hi})");
                }
                if hi - lo >= bgmm::MAX_SELECT_K {
                    bail!(
                        "-k: the range '{part}' has more than {} numbers",
                        bgmm::MAX_SELECT_K
                    );
                }
                ks.extend(lo..=hi);
            }
            None => ks.push(num(part)?),
        }
    }
    let mut seen = Vec::new();
    for k in ks {
        if !seen.contains(&k) {
            seen.push(k);
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::parse_ks;

    #[test]
    fn ks_are_read_as_ranges_lists_and_numbers() {
        assert_eq!(parse_ks("1..9").unwrap(), (1..=9).collect::<Vec<_>>());
        assert_eq!(parse_ks("2-4").unwrap(), vec![2, 3, 4]);
        assert_eq!(parse_ks("1..=3").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_ks("2,3,5").unwrap(), vec![2, 3, 5]);
        assert_eq!(parse_ks("5,1..2,5").unwrap(), vec![5, 1, 2]);
        assert_eq!(parse_ks("4").unwrap(), vec![4]);
        for bad in ["", "0", "3..1", "a", "1..", "1,,2", "-3"] {
            assert!(parse_ks(bad).is_err(), "{bad}");
        }
    }
}
