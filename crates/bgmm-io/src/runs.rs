//! Run directories: what `fit`, `classify`, `sample` and `vi` write with `--out`, found and
//! read back with their data (for `classify`, `predict`, `plot` and `report`).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};

use bgmm::{Data, Model, ModelSpec, Params};

use crate::atomic::is_temporary;
use crate::cmdstan::read_chain;
use crate::data::read_data;
use crate::records::{
    load_fit, load_select, ClassifyRecord, FitRecord, SampleRecord, SelectRecord,
};
use crate::rundir::{chain_index, verify_run, RunKind};

/// The draws of a sampling run as `sample --out` (or `vi --out`) wrote it.
pub struct SampledRun {
    pub model: Model,
    /// Points in the data sampled on.
    pub n: usize,
    /// The data's columns the run was sampled on (empty when the run does not record them).
    pub columns: Vec<String>,
    /// Relabelled draws, chain by chain.
    pub chains: Vec<Vec<Params>>,
}

/// The summary and the relabelled draws, chain by chain, of the sampling run in `dir`.
pub fn load_run(dir: &Path) -> Result<(SampleRecord, SampledRun)> {
    let summary = dir.join("summary.json");
    let shown = summary.display();
    let text = crate::input::read_record(&summary)
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
    let record: SampleRecord = serde_json::from_value(v)
        .map_err(|e| anyhow!("run summary '{shown}': not a bgmm run summary ({e})"))?;
    // as many names as dimensions, or none (a run that does not record them)
    let columns = if record.data.columns.len() == model.d {
        record.data.columns.clone()
    } else {
        Vec::new()
    };
    let count = (0..)
        .take_while(|c| dir.join(format!("chain-{c}.csv")).exists())
        .count();
    if count == 0 {
        bail!("run directory '{}' has no chain-0.csv", dir.display());
    }
    let mut chains = Vec::new();
    for c in 0..count {
        chains.push(read_chain(&dir.join(format!("chain-{c}.csv")), &model)?);
    }
    // each file reads; do they belong together? (the manifest's sizes and hashes, and the
    // chains the summary describes)
    verify_run(dir, RunKind::Sample)?;
    let present = std::fs::read_dir(dir)
        .map_err(|e| anyhow!("cannot list '{}': {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| chain_index(&e.file_name().to_string_lossy(), "chain-"))
        .count();
    if present != count || (!record.chains.is_empty() && record.chains.len() != count) {
        bail!(
            "run directory '{}' does not hold one whole sampling run: {present} chain files, {} in its summary.json; write it again with --out",
            dir.display(),
            if record.chains.is_empty() { count } else { record.chains.len() }
        );
    }
    Ok((
        record,
        SampledRun {
            model,
            n,
            columns,
            chains,
        },
    ))
}

/// Whether `dir` holds a sampling run (`summary.json`).
pub fn is_sampling_run(dir: &Path) -> bool {
    dir.join("summary.json").exists()
}

/// A fit directory (`fit --out`).
pub struct FitRun {
    pub dir: PathBuf,
    pub rec: FitRecord,
    pub model: Model,
    pub params: Params,
    pub data: Data,
    pub names: Vec<String>,
}

/// A classification directory (`classify --out`).
pub struct ClassifyRun {
    pub dir: PathBuf,
    pub record: ClassifyRecord,
    pub data: Data,
    pub names: Vec<String>,
    pub z: Vec<usize>,
    pub probs: Vec<Vec<f64>>,
    pub sampled: bool,
    /// The fit (or sampling run) it was made from, when it can still be read.
    pub locs: Option<Vec<f64>>,
}

/// A model selection directory (`select --out`).
pub struct SelectRun {
    pub dir: PathBuf,
    pub record: SelectRecord,
}

/// A sampling directory (`sample --out` or `vi --out`).
pub struct SampleRun {
    pub dir: PathBuf,
    pub record: SampleRecord,
    pub model: Model,
    pub chains: Vec<Vec<Params>>,
    /// The data, when the source can still be read.
    pub data: Option<(Data, Vec<String>)>,
}

/// A run directory's content.
pub enum Run {
    Fit(Box<FitRun>),
    Classify(Box<ClassifyRun>),
    Sample(Box<SampleRun>),
    Select(Box<SelectRun>),
}

impl Run {
    pub fn dir(&self) -> &Path {
        match self {
            Run::Fit(r) => &r.dir,
            Run::Classify(r) => &r.dir,
            Run::Sample(r) => &r.dir,
            Run::Select(r) => &r.dir,
        }
    }
    fn order(&self) -> u8 {
        match self {
            // a selection chooses the model the other runs fit
            Run::Select(_) => 0,
            Run::Fit(_) => 1,
            Run::Classify(_) => 2,
            Run::Sample(_) => 3,
        }
    }
}

fn read_json(file: &Path) -> Result<serde_json::Value> {
    let shown = file.display();
    let text =
        crate::input::read_record(file).map_err(|e| anyhow!("cannot read '{shown}': {e}"))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "'{shown}', line {}, column {}: not JSON ({e})",
            e.line(),
            e.column()
        )
    })
}

/// A run's data read again (for pictures and reports) as the run read them: without the
/// incomplete rows if it dropped them (`--drop-missing`).
pub(crate) fn read_again(
    source: &str,
    columns: Option<&[String]>,
    drop_missing: bool,
) -> Result<(bgmm::Data, Vec<String>)> {
    let (data, names) = read_data(source, columns)?;
    if !drop_missing {
        return Ok((data, names));
    }
    let kept = data
        .complete_rows()
        .map_err(|e| anyhow!("data '{source}': {e}"))?;
    Ok((kept, names))
}

/// The classification in `dir` (`classify.json`) with its data read again.
pub fn load_classification(dir: &Path) -> Result<ClassifyRun> {
    let file = dir.join("classify.json");
    let v = read_json(&file)?;
    let shown = file.display();
    let bad = |what: &str| anyhow!("'{shown}' is not a bgmm classification (no valid {what})");
    let source = v["data"]["source"]
        .as_str()
        .ok_or_else(|| bad("data.source"))?;
    let columns: Vec<String> =
        serde_json::from_value(v["data"]["columns"].clone()).map_err(|_| bad("data.columns"))?;
    let z: Vec<usize> =
        serde_json::from_value(v["assignments"].clone()).map_err(|_| bad("assignments"))?;
    let probs: Vec<Vec<f64>> =
        serde_json::from_value(v["probs"].clone()).map_err(|_| bad("probs"))?;
    let dropped = v["data"]["drop_missing"].as_bool().unwrap_or(false);
    let (data, names) = read_again(source, Some(&columns), dropped)
        .map_err(|e| anyhow!("'{shown}': its data cannot be read again: {e}"))?;
    if z.len() != data.n() || probs.len() != data.n() {
        bail!("'{shown}': {} assignments for {} points", z.len(), data.n());
    }
    if let Some(i) = probs.iter().position(|p| p.len() != probs[0].len()) {
        bail!(
            "'{shown}': point {} has {} assignment probabilities, point 1 has {}",
            i + 1,
            probs[i].len(),
            probs[0].len()
        );
    }
    // K is the probabilities' width: every assignment names one of the K components, and
    // every point has a probability per component
    let k = probs[0].len();
    if k == 0 {
        bail!("'{shown}': point 1 has no assignment probabilities");
    }
    if let Some(i) = z.iter().position(|&zi| zi >= k) {
        bail!(
            "'{shown}': point {} is assigned to component {}, but there are {k} components",
            i + 1,
            z[i]
        );
    }
    let record: ClassifyRecord = serde_json::from_value(v)
        .map_err(|e| anyhow!("'{shown}' is not a bgmm classification ({e})"))?;
    verify_run(dir, RunKind::Classify)?;
    let sampled = record.temperature == Some(1);
    let locs = record
        .fit
        .as_deref()
        .and_then(|f| load_fit(Path::new(f)).ok())
        .map(|(_, _, p)| p.locs);
    Ok(ClassifyRun {
        dir: dir.to_path_buf(),
        record,
        data,
        names,
        z,
        probs,
        sampled,
        locs,
    })
}

fn load_sampling(dir: &Path) -> Result<SampleRun> {
    // (the summary's JSON is judged first, as for the other files of a run directory)
    read_json(&dir.join("summary.json"))?;
    let (record, run) = load_run(dir)?;
    let columns = &record.data.columns;
    let data = read_again(
        &record.data.source,
        (!columns.is_empty()).then_some(&columns[..]),
        record.data.drop_missing,
    )
    .ok();
    Ok(SampleRun {
        dir: dir.to_path_buf(),
        record,
        model: run.model,
        chains: run.chains,
        data,
    })
}

/// The runs in one directory: a fit and a classification may share a directory.
fn runs_in(dir: &Path) -> Result<Vec<Run>> {
    let mut runs = Vec::new();
    if dir.join("select.json").is_file() {
        runs.push(Run::Select(Box::new(SelectRun {
            dir: dir.to_path_buf(),
            record: load_select(dir)?,
        })));
    }
    if dir.join("fit.json").is_file() {
        let (rec, model, params) = load_fit(dir)?;
        let (data, names) = read_again(
            &rec.data.source,
            Some(&rec.data.columns),
            rec.data.drop_missing,
        )
        .map_err(|e| {
            anyhow!(
                "the data of the fit '{}' cannot be read again: {e}",
                dir.join("fit.json").display()
            )
        })?;
        runs.push(Run::Fit(Box::new(FitRun {
            dir: dir.to_path_buf(),
            rec,
            model,
            params,
            data,
            names,
        })));
    }
    if dir.join("classify.json").is_file() {
        runs.push(Run::Classify(Box::new(load_classification(dir)?)));
    }
    if dir.join("summary.json").is_file() {
        runs.push(Run::Sample(Box::new(load_sampling(dir)?)));
    }
    Ok(runs)
}

/// Every run in `dir` and in its immediate subdirectories (by name), fits first, then
/// classifications, then sampling runs.
pub fn find_runs(dir: &Path) -> Result<Vec<Run>> {
    if !dir.exists() {
        bail!("'{}' is not a directory: it does not exist", dir.display());
    }
    if !dir.is_dir() {
        bail!("'{}' is not a directory", dir.display());
    }
    let mut runs = runs_in(dir)?;
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow!("cannot list '{}': {e}", dir.display()))?
        .filter_map(|e| e.ok())
        // a run being written next to its directory is not a run yet
        .filter(|e| !is_temporary(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for s in subdirs {
        runs.extend(runs_in(&s)?);
    }
    runs.sort_by_key(Run::order);
    if runs.is_empty() {
        bail!(
            "'{}' holds no bgmm run (no fit.json, classify.json, summary.json or select.json in it or its subdirectories; write one with `bgmm fit|classify|sample|select … --out {}`)",
            dir.display(),
            dir.display()
        );
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (_, run) = load_run(dir.path()).unwrap();
        let (model, n, chains) = (run.model, run.n, run.chains);
        assert_eq!((model.k, n, chains.len(), chains[0].len()), (2, 30, 1, 1));
        assert_eq!(chains[0][0].flat(), [0.25, 0.75, -1.0, 2.0, 0.5]);
    }
}
