//! `bgmm classify`: assignments and their probabilities under a fit (exact or by SVI), or
//! under a sampling run's posterior.

use anyhow::{bail, Result};

use std::fmt::Write;

use bgmm::Data;
use bgmm::{ClassifyOptions, SviOptions, Temperature};
use bgmm_io::{
    assignments_csv, is_sampling_run, json_bytes, load_fit, load_run, ClassifyRecord, DataInfo,
    DataSpec, RunKind, RunWriter, VERSION,
};

use crate::args::{ClassifyArgs, Method};
use crate::common::{drop_missing, Ctx};
use crate::errors;

fn data_spec(a: &ClassifyArgs) -> DataSpec {
    DataSpec::new(&a.data, a.columns.as_deref())
}

/// `classify RUN_DIR DATA`: posterior assignment probabilities (the average over the run's
/// draws of each draw's responsibilities) and, with `--temperature 1`, one sampled assignment
/// per point and draw.
fn classify_posterior(a: &ClassifyArgs, ctx: &Ctx) -> Result<()> {
    if a.method != Method::Exact {
        bail!("--method svi needs a MAP fit, not a sampling run");
    }
    let (_, run) = load_run(&a.fit)?;
    let model = run.model;
    let draws = run.chains.concat();
    // default columns: the run's, when the new data have all of them (as for a fit)
    let read = data_spec(a).read_preferring(&run.columns)?;
    let (data, names) = drop_missing(read, &a.data, a.drop_missing)?;
    same_dimension(a, "run", model.d, &data, &names)?;
    let sampled = a.temperature == 1;
    let pa = bgmm::assignment_probabilities_of(&model, &data, &draws, sampled, a.seed)
        .map_err(errors::cli_error)?;
    let z = bgmm::assign(&pa.probs, Temperature::Zero, 0);
    let record = ClassifyRecord {
        assignments: z,
        probs: pa.probs,
        method: "posterior".into(),
        draws: Some(draws.len()),
        sampled_assignments: sampled.then_some(pa.sampled),
        data: DataInfo::of(&a.data, &names, &data).dropped(a.drop_missing),
        run: Some(a.fit.display().to_string()),
        bgmm_version: VERSION.into(),
        command: ctx.command.clone(),
        ..ClassifyRecord::default()
    };
    let (z, probs) = (&record.assignments, &record.probs);
    let bytes = json_bytes(&record)?;
    if let Some(dir) = &a.output.out {
        let mut run = RunWriter::create(dir, RunKind::Classify)?;
        run.write(
            "assignments.csv",
            assignments_csv(&data, &names, z, probs).as_bytes(),
        )?;
        run.write("classify.json", &bytes)?;
        run.commit()?;
    }
    if a.output.json {
        print!("{}", String::from_utf8(bytes)?);
    } else {
        print!(
            "{}",
            classify_text(&data, &names, z, probs, "posterior average over draws", 0)
        );
    }
    Ok(())
}

/// Run `bgmm classify`.
pub fn run(a: ClassifyArgs, ctx: &Ctx) -> Result<()> {
    crate::common::check_out(&a.output.out, bgmm_io::RunKind::Classify)?;
    let temperature = match a.temperature {
        0 => Temperature::Zero,
        1 => Temperature::One,
        t => bail!("--temperature must be 0 (MAP) or 1 (sampled), got {t}"),
    };
    if a.method == Method::Svi && a.svi_steps == 0 {
        bail!("--svi-steps must be at least 1");
    }
    if is_sampling_run(&a.fit) {
        return classify_posterior(&a, ctx);
    }
    let (rec, model, params) = load_fit(&a.fit)?;
    // default columns: the fit's, when the new data have all of them (one read of the file)
    let read = data_spec(&a).read_preferring(&rec.data.columns)?;
    let (data, names) = drop_missing(read, &a.data, a.drop_missing)?;
    same_dimension(&a, "fit", model.d, &data, &names)?;
    // exact, or trained by SVI (the assignments then come from the trained probabilities)
    let svi = (a.method == Method::Svi).then(|| SviOptions {
        steps: a.svi_steps,
        ..SviOptions::default()
    });
    let opts = ClassifyOptions {
        temperature,
        seed: a.seed,
        svi,
    };
    let c = bgmm::classify(&model, &params, &data, &opts).map_err(errors::cli_error)?;
    let svi_loss = c.svi_loss.clone();
    let record = ClassifyRecord {
        assignments: c.assignments,
        probs: c.probs,
        method: a.method.name().into(),
        temperature: Some(a.temperature),
        seed: Some(a.seed),
        data: DataInfo::of(&a.data, &names, &data).dropped(a.drop_missing),
        fit: Some(a.fit.display().to_string()),
        svi_loss,
        bgmm_version: VERSION.into(),
        command: ctx.command.clone(),
        ..ClassifyRecord::default()
    };
    let bytes = json_bytes(&record)?;
    if let Some(dir) = &a.output.out {
        let mut run = RunWriter::create(dir, RunKind::Classify)?;
        run.write(
            "assignments.csv",
            assignments_csv(&data, &names, &record.assignments, &record.probs).as_bytes(),
        )?;
        run.write("classify.json", &bytes)?;
        run.commit()?;
    }
    if a.output.json {
        print!("{}", String::from_utf8(bytes)?);
    } else {
        print!(
            "{}",
            classify_text(
                &data,
                &names,
                &record.assignments,
                &record.probs,
                a.method.name(),
                a.temperature
            )
        );
        if let Some(dir) = &a.output.out {
            println!(
                "wrote {}, {}",
                dir.join("classify.json").display(),
                dir.join("assignments.csv").display()
            );
        }
    }
    Ok(())
}

/// Table of points, assignments and probabilities, then counts per component.
/// Classifications of more points than this print their first 20 and last 10 rows.
const CLASSIFY_ROWS: usize = 60;

fn classify_text(
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

/// The data's columns against the fit's or run's dimension (`what`), the error naming both.
fn same_dimension(
    a: &ClassifyArgs,
    what: &str,
    d: usize,
    data: &Data,
    names: &[String],
) -> Result<()> {
    if data.d() != d {
        bail!(
            "dimension mismatch: the {what} '{}' has d = {d} but the data '{}' have {} column{} ({})",
            a.fit.display(),
            a.data,
            data.d(),
            if data.d() == 1 { "" } else { "s" },
            names.join(", ")
        );
    }
    Ok(())
}
