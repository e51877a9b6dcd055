//! `bgmm simulate`: parameters from the priors, then points and their assignments; beyond
//! 1e7 points streamed to a file in chunks.

use std::path::Path;

use anyhow::{anyhow, bail, Result};

use bgmm::simulate;
use bgmm::Model;
use bgmm_io::{
    column_names, csv_header, data_csv, json_bytes, load_model_spec, npy_header_bytes, params_text,
    write_npy_rows, RunKind, RunWriter, SimulateRecord, TruthRecord, VERSION,
};

use crate::args::{SimulateArgs, SimulateFormat};
use crate::common::{build_model, Ctx};
use crate::errors;

/// Run `bgmm simulate`.
pub fn run(a: SimulateArgs, ctx: &Ctx) -> Result<()> {
    crate::common::check_out(&a.output.out, bgmm_io::RunKind::Simulate)?;
    let origin = format!("model file '{}'", a.model.display());
    let spec = load_model_spec(&a.model)?;
    let model = build_model(&spec, &origin, None)?;
    if a.n == 0 {
        bail!("-n must be at least 1");
    }
    let npy = a.format == SimulateFormat::Npy;
    if npy && a.output.out.is_none() {
        bail!("--format npy writes a binary file: give --out DIR");
    }
    if a.n > STREAM_N {
        let Some(dir) = &a.output.out else {
            bail!(
                "-n {} is more than {STREAM_N} points: give --out DIR, they are streamed to a file",
                a.n
            );
        };
        if a.with_assignments || a.output.json {
            bail!("beyond {STREAM_N} points only the data are written (no --with-assignments or --json)");
        }
        if a.n
            .checked_mul(model.d)
            .is_none_or(|v| v > MAX_STREAMED_VALUES)
        {
            bail!(
                "-n {} with d = {}: more than {MAX_STREAMED_VALUES:.0e} values ({} GB) to write",
                a.n,
                model.d,
                MAX_STREAMED_VALUES * 8 / 1_000_000_000
            );
        }
        return simulate_streaming(ctx, &model, &a, dir, npy);
    }
    let sim = simulate(&model, a.n, a.seed).map_err(errors::cli_error)?;
    let names = column_names(model.d);
    let csv = data_csv(
        &sim.data,
        &names,
        a.with_assignments.then_some(&sim.assignments[..]),
    );
    let record = SimulateRecord {
        bgmm_version: VERSION.into(),
        command: ctx.command.clone(),
        seed: a.seed,
        model: model.spec().clone(),
        params: sim.params.shaped(&model),
        assignments: sim.assignments.clone(),
        columns: names.clone(),
        data: (0..sim.data.n()).map(|i| sim.data.row(i)).collect(),
    };
    if let Some(dir) = &a.output.out {
        let mut run = RunWriter::create(dir, RunKind::Simulate)?;
        if npy {
            run.write_with("data.npy", |w| {
                w.write_all(&npy_header_bytes(sim.data.n(), sim.data.d()))?;
                write_npy_rows(w, &sim.data)
            })?;
        } else {
            run.write("data.csv", data_csv(&sim.data, &names, None).as_bytes())?;
        }
        let z: String = std::iter::once("z\n".to_string())
            .chain(sim.assignments.iter().map(|z| format!("{z}\n")))
            .collect();
        run.write("assignments.csv", z.as_bytes())?;
        let truth = TruthRecord {
            bgmm_version: record.bgmm_version.clone(),
            command: record.command.clone(),
            model: record.model.clone(),
            n: a.n,
            note: None,
            params: record.params.clone(),
            seed: a.seed,
        };
        run.write("truth.json", &json_bytes(&truth)?)?;
        run.commit()?;
    }
    if a.output.json {
        print!("{}", String::from_utf8(json_bytes(&record)?)?);
    } else {
        // the drawn parameters go to stderr, so that stdout is the CSV alone
        eprint!("{}", params_text(&model, &sim.params));
        if a.output.out.is_none() {
            print!("{csv}");
        } else if let Some(dir) = &a.output.out {
            eprintln!(
                "wrote {}, {}, {}",
                dir.join(if npy { "data.npy" } else { "data.csv" })
                    .display(),
                dir.join("assignments.csv").display(),
                dir.join("truth.json").display()
            );
        }
    }
    Ok(())
}

/// Beyond this many points `simulate` streams the data to a file in chunks.
const STREAM_N: usize = 10_000_000;
/// At most this many values in a streamed simulation (80 GB of f8).
const MAX_STREAMED_VALUES: usize = 10_000_000_000;
/// Points per chunk of a streamed simulation (chunk c draws from random stream c).
const STREAM_CHUNK: usize = 1_000_000;

/// `simulate` beyond [`STREAM_N`] points: θ from the priors as always, then the data chunk by
/// chunk straight into the file (memory: one chunk).
fn simulate_streaming(
    ctx: &Ctx,
    model: &Model,
    a: &SimulateArgs,
    dir: &Path,
    npy: bool,
) -> Result<()> {
    use chacha20::ChaCha8Rng;
    use rand::SeedableRng;
    let mut run = RunWriter::create(dir, RunKind::Simulate)?;
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let params = bgmm::draw_params(model, &mut rng);
    let names = column_names(model.d);
    let data_file = if npy { "data.npy" } else { "data.csv" };
    let file = dir.join(data_file);
    let bar = indicatif::ProgressBar::new(a.n as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "simulating {bar:30} {pos}/{len} points [{elapsed_precise}<{eta_precise}]",
    ) {
        bar.set_style(style);
    }
    run.write_with(data_file, |w| {
        if npy {
            w.write_all(&npy_header_bytes(a.n, model.d))?;
        } else {
            w.write_all(csv_header(&names).as_bytes())?;
        }
        let mut done = 0usize;
        let mut c = 0usize;
        while done < a.n {
            let count = STREAM_CHUNK.min(a.n - done);
            let mut r = bgmm::chain_rng(a.seed, c);
            let (_, data) =
                bgmm::draw_data(model, &params, count, &mut r).map_err(|e| anyhow!("{e}"))?;
            if npy {
                write_npy_rows(w, &data)?;
            } else {
                w.write_all(
                    data_csv(&data, &names, None)
                        .split_once('\n')
                        .map_or("", |x| x.1)
                        .as_bytes(),
                )?;
            }
            done += count;
            c += 1;
            bar.set_position(done as u64);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let truth = TruthRecord {
        bgmm_version: VERSION.into(),
        command: ctx.command.clone(),
        model: model.spec().clone(),
        n: a.n,
        note: Some(format!(
            "streamed: chunk c of {STREAM_CHUNK} points drawn from random stream c of the seed"
        )),
        params: params.shaped(model),
        seed: a.seed,
    };
    run.write("truth.json", &json_bytes(&truth)?)?;
    run.commit()?;
    eprint!("{}", params_text(model, &params));
    eprintln!(
        "wrote {}, {}",
        file.display(),
        dir.join("truth.json").display()
    );
    Ok(())
}
