//! The records every command writes (and the ones that read them back): one type per file,
//! written and read through the same type. Fields added after a file kind was first written
//! carry `#[serde(default)]`, so that files of older versions still load.

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use bgmm::ParamSummary;
use bgmm::{ChainStats, Posterior};
use bgmm::{FitOptions, History, Resolution};
use bgmm::{Model, ModelSpec, Params, ShapedParams};

/// The version of bgmm that writes the records.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Pretty JSON with a final line end: how every record is written. A float that is not finite
/// where a number is expected (serde_json would write `null`, which no reader of the number
/// takes back) is refused, naming its field path: a value undefined on purpose is written as
/// what it is (see [`undefined`]), never as a bare NaN.
pub fn json_bytes<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    if let Some(why) = crate::finite::first_non_finite(v) {
        return Err(anyhow!(
            "refusing to write a record with a value that is not a number: {why} (JSON has no number for it)"
        ));
    }
    let mut b = serde_json::to_vec_pretty(v)?;
    b.push(b'\n');
    Ok(b)
}

/// Serialise as a JSON object with its keys sorted: how the files written through
/// `serde_json::json!` hold a value (`truth.json`, `predictive.json`).
fn sorted<T: Serialize, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::Error;
    serde_json::to_value(v)
        .map_err(S::Error::custom)?
        .serialize(s)
}

/// A statistic that may be undefined for a run (VI has no acceptance rate or step size; an
/// ELBO of a run whose draws all failed is −∞): a finite value is a JSON number, NaN (not
/// defined for this run) is `null`, ±∞ are the strings `"inf"` and `"-inf"`. Reading takes
/// each of them back (and `"NaN"`).
mod undefined {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_none()
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    /// Read as the core reads its non-finite values (a number, null, "NaN", "inf", "-inf").
    pub use bgmm::serde_float::deserialize;
}

/// The data a record was made from.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct DataInfo {
    #[serde(default)]
    pub source: String,
    /// The columns used (a sampling run of an early version does not record them).
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub n: usize,
    /// Missing values of each column, in the order of `columns` (written since issue 14;
    /// empty in older records, and then not written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<usize>,
    /// The rows with a missing value were dropped (`--drop-missing`): `n` counts the others,
    /// and reading the data again drops them again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop_missing: bool,
}

impl DataInfo {
    /// The record of `data` read from `source`, its columns named `columns`.
    pub fn of(source: &str, columns: &[String], data: &bgmm::Data) -> DataInfo {
        DataInfo {
            source: source.to_string(),
            columns: columns.to_vec(),
            n: data.n(),
            missing: data.missing_per_column(),
            drop_missing: false,
        }
    }

    /// The record with whether the incomplete rows were dropped (`--drop-missing`).
    pub fn dropped(self, drop_missing: bool) -> DataInfo {
        DataInfo {
            drop_missing,
            ..self
        }
    }

    /// `7 missing values: y 5, z 2` (the columns that have any), or nothing.
    pub fn missing_text(&self) -> Option<String> {
        let total: usize = self.missing.iter().sum();
        let per: Vec<String> = self
            .columns
            .iter()
            .zip(&self.missing)
            .filter(|(_, m)| **m > 0)
            .map(|(c, m)| format!("{c} {m}"))
            .collect();
        (total > 0).then(|| {
            let s = if total == 1 { "" } else { "s" };
            format!("{total} missing value{s}: {}", per.join(", "))
        })
    }
}

/// What `fit --json` prints and `fit --out` writes (`fit.json`); `classify`, `predict`,
/// `sample --from-fit`, `plot` and `report` read it back.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FitRecord {
    pub params: ShapedParams,
    pub loss: f64,
    pub converged: bool,
    pub best_restart: usize,
    pub steps: usize,
    pub history: History,
    /// Max |gradient| at the end (none for a minibatch fit, whose gradient is never exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_norm_max: Option<f64>,
    pub polish_iterations: usize,
    /// `Σ_n log p(x_n | θ̂)` at the fit's parameters, the assignments summed out (with
    /// `n_params`, what BIC and AIC are formed from; none in fits written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loglik: Option<f64>,
    /// The model's free parameters: K − 1 weights, K·D locations and the family's free
    /// values (see `bgmm::Model::n_params`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_params: Option<usize>,
    pub message: String,
    pub warnings: Vec<String>,
    /// How the winning mode was found (`kmeans++ start #113, then merge 0+2, split 1`).
    #[serde(default)]
    pub strategy: String,
    /// The resolution each column was taken to be recorded to (0: none).
    #[serde(default)]
    pub resolution: Vec<f64>,
    pub init_params: ShapedParams,
    pub model: ModelSpec,
    pub data: DataInfo,
    pub options: FitOptionsRecord,
    pub bgmm_version: String,
    pub command: String,
}

/// The options of a fit, as `fit.json` records them.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FitOptionsRecord {
    pub restarts: usize,
    #[serde(default = "one")]
    pub candidates: usize,
    pub init: String,
    pub steps: usize,
    pub lr: f64,
    pub betas: [f64; 2],
    pub polish: bool,
    pub grad_tol: f64,
    pub seed: u64,
    #[serde(default)]
    pub subsample: usize,
    /// `--resolution` as given (fits written before it existed: `off`).
    #[serde(default = "off")]
    pub resolution: String,
}

fn one() -> usize {
    1
}

fn off() -> String {
    "off".into()
}

impl FitOptionsRecord {
    /// The record of `opts`, with the subsample size actually used.
    pub fn of(opts: &FitOptions, subsample: usize) -> FitOptionsRecord {
        FitOptionsRecord {
            restarts: opts.restarts,
            candidates: opts.candidates,
            init: opts.init.name().into(),
            steps: opts.steps,
            lr: opts.lr,
            betas: [opts.betas.0, opts.betas.1],
            polish: opts.polish,
            grad_tol: opts.grad_tol,
            seed: opts.seed,
            subsample,
            resolution: match &opts.resolution {
                Resolution::Auto => "auto".into(),
                Resolution::Off => "off".into(),
                Resolution::Given(v) => v
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            },
        }
    }
}

/// Read a fit record from a JSON file or a directory holding `fit.json`, with its model and
/// parameters checked.
pub fn load_fit(path: &std::path::Path) -> Result<(FitRecord, Model, Params)> {
    let file = if path.is_dir() {
        path.join("fit.json")
    } else {
        path.to_path_buf()
    };
    let shown = file.display();
    let text =
        crate::input::read_record(&file).map_err(|e| anyhow!("cannot read fit '{shown}': {e}"))?;
    let fit = fit_from_str(&text, &shown.to_string())?;
    // it reads; does it belong to its directory's manifest?
    if path.is_dir() {
        crate::rundir::verify_run(path, crate::rundir::RunKind::Fit)?;
    }
    Ok(fit)
}

/// [`load_fit`] on the file's text; `shown` names the file in errors.
pub fn fit_from_str(text: &str, shown: &str) -> Result<(FitRecord, Model, Params)> {
    let rec: FitRecord = serde_json::from_str(text).map_err(|e| {
        // a fit of another bgmm version may have other fields: say which version wrote it
        let version = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v["bgmm_version"].as_str().map(str::to_string))
            .filter(|v| v != VERSION)
            .map(|v| format!("; it was written by bgmm {v}, this is bgmm {VERSION}"))
            .unwrap_or_default();
        anyhow!(
            "fit '{shown}', line {}, column {}: not a bgmm fit ({}){version}",
            e.line(),
            e.column(),
            e.to_string().replace('\n', " ")
        )
    })?;
    let model = rec
        .model
        .build(None)
        .map_err(|e| anyhow!("fit '{shown}': its model is invalid: {e}"))?;
    let params = Params::from_shaped(&model, &rec.params)
        .map_err(|e| anyhow!("fit '{shown}': its parameters are invalid: {e}"))?;
    Ok((rec, model, params))
}

/// `classify.json`: the assignments of points under a fit (`method` exact or svi) or under a
/// sampling run's posterior (`method` posterior).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct ClassifyRecord {
    pub assignments: Vec<usize>,
    pub probs: Vec<Vec<f64>>,
    #[serde(default)]
    pub method: String,
    /// 0: MAP assignments, 1: sampled (a fit's classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Draws averaged over (a posterior classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draws: Option<usize>,
    /// One sampled assignment per point and draw (a posterior classification with
    /// `--temperature 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_assignments: Option<Vec<Vec<usize>>>,
    pub data: DataInfo,
    /// The fit classified under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<String>,
    /// The sampling run classified under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svi_loss: Option<Vec<f64>>,
    #[serde(default)]
    pub bgmm_version: String,
    #[serde(default)]
    pub command: String,
}

/// What `simulate --json` prints.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SimulateRecord {
    pub bgmm_version: String,
    pub command: String,
    pub seed: u64,
    pub model: ModelSpec,
    pub params: ShapedParams,
    pub assignments: Vec<usize>,
    pub columns: Vec<String>,
    pub data: Vec<Vec<f64>>,
}

/// `truth.json` of `simulate --out`: the drawn parameters and how they were drawn.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct TruthRecord {
    pub bgmm_version: String,
    pub command: String,
    #[serde(serialize_with = "sorted")]
    pub model: ModelSpec,
    pub n: usize,
    /// How a streamed simulation drew its chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(serialize_with = "sorted")]
    pub params: ShapedParams,
    pub seed: u64,
}

/// The options of a sampling run (`summary.json`), by method.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum RunOptions {
    Nuts(NutsRecord),
    Smc(SmcRecord),
    Vi(ViRecord),
}

impl RunOptions {
    /// `nuts`, `smc` or `vi`.
    pub fn method(&self) -> &str {
        match self {
            RunOptions::Nuts(o) => &o.method,
            RunOptions::Smc(o) => &o.method,
            RunOptions::Vi(o) => &o.method,
        }
    }
}

/// `sample --engine smc`'s options (`method` smc): `chains` independent runs of `draws`
/// particles.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SmcRecord {
    pub chains: usize,
    pub draws: u64,
    pub ess_ratio: f64,
    pub method: String,
    pub seed: u64,
    pub sweeps: usize,
    pub target_accept: f64,
}

impl SmcRecord {
    /// The engine's options this record describes (`chains` runs of `draws` particles, at
    /// least `sweeps` sweeps per temperature), stopped by `stop`.
    pub fn options(&self, stop: Option<bgmm::StopSignal>) -> bgmm::SmcOptions {
        let defaults = bgmm::SmcOptions::default();
        bgmm::SmcOptions {
            runs: self.chains,
            particles: usize::try_from(self.draws).unwrap_or(usize::MAX),
            seed: self.seed,
            ess_ratio: self.ess_ratio,
            target_accept: self.target_accept,
            min_sweeps: self.sweeps,
            max_sweeps: self.sweeps.max(defaults.max_sweeps),
            stop,
            ..defaults
        }
    }
}

/// `sample`'s options (`method` nuts).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct NutsRecord {
    pub chains: usize,
    pub draws: u64,
    #[serde(default)]
    pub from_fit: Option<String>,
    pub init: String,
    #[serde(default)]
    pub low_rank: bool,
    pub max_depth: u64,
    pub method: String,
    pub seed: u64,
    pub target_accept: f64,
    pub warmup: u64,
}

/// `vi`'s options (`method` vi).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ViRecord {
    pub draws: usize,
    #[serde(with = "undefined")]
    pub elbo_last_100_mean: f64,
    pub lr: f64,
    pub mc_samples: usize,
    pub method: String,
    /// Rows per minibatch (`vi --minibatch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minibatch: Option<usize>,
    pub seed: u64,
    /// Rows of the random sample whose MAP started a minibatch run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_sample: Option<usize>,
    pub steps: usize,
}

/// A chain's sampler statistics, as `summary.json` holds them ([`ChainStats`]; a statistic
/// that is not a number, e.g. VI's acceptance, is `null`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ChainRecord {
    pub divergences: usize,
    #[serde(with = "undefined")]
    pub mean_tree_depth: f64,
    #[serde(with = "undefined")]
    pub step_size: f64,
    #[serde(with = "undefined")]
    pub mean_leapfrog: f64,
    #[serde(with = "undefined")]
    pub mean_accept: f64,
}

impl From<&ChainStats> for ChainRecord {
    fn from(c: &ChainStats) -> ChainRecord {
        ChainRecord {
            divergences: c.divergences,
            mean_tree_depth: c.mean_tree_depth,
            step_size: c.step_size,
            mean_leapfrog: c.mean_leapfrog,
            mean_accept: c.mean_accept,
        }
    }
}

/// Draws kept of those asked for, when sampling was stopped early.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Interruption {
    pub asked_draws: u64,
    pub kept_draws: usize,
}

/// `summary.json` of a sampling run (`sample --out`, `vi --out`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SampleRecord {
    /// The posterior summary of each parameter by name (its keys sorted; a value that is not
    /// finite is `null`).
    #[serde(default)]
    pub summary: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub divergences: usize,
    #[serde(default)]
    pub relabelled: bool,
    #[serde(default, with = "undefined")]
    pub relabelled_share: f64,
    #[serde(default, with = "undefined")]
    pub wall_s: f64,
    #[serde(default)]
    pub chains: Vec<ChainRecord>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// false when sampling was stopped early (Ctrl-C): the draws are the ones kept so far
    #[serde(default = "yes")]
    pub complete: bool,
    /// draws kept per chain and draws asked for, when stopped early
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interruption>,
    pub model: ModelSpec,
    pub data: DataInfo,
    /// The method's options (always written; a run summary of an early version may lack them).
    #[serde(default)]
    pub options: Option<RunOptions>,
    /// The posterior of the number of non-empty components K₊ (K ≥ 2, the data in memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupied: Option<bgmm::OccupiedComponents>,
    /// The file of the pointwise log likelihood in the run directory, when written
    /// ([`crate::LOG_LIK_FILE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_lik: Option<String>,
    /// The evidence `log p(x)` and each run's tempering steps (`sample --engine smc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<bgmm::Evidence>,
    #[serde(default)]
    pub bgmm_version: String,
    #[serde(default)]
    pub command: String,
}

fn yes() -> bool {
    true
}

impl FitRecord {
    /// The record of the fit `f` of `model` to `data` (`info`: where the data came from),
    /// made by `command`.
    pub fn of(
        model: &Model,
        data: &bgmm::Data,
        f: &bgmm::Fit,
        opts: &bgmm::FitOptions,
        info: DataInfo,
        command: String,
    ) -> FitRecord {
        FitRecord {
            params: f.params.shaped(model),
            loss: f.loss,
            converged: f.converged,
            best_restart: f.best_restart,
            steps: f.steps,
            history: f.history.clone(),
            grad_norm_max: Some(f.grad_norm),
            polish_iterations: f.polish_iterations,
            loglik: Some(bgmm::log_likelihood_at(model, data, &f.params)),
            n_params: Some(model.n_params()),
            message: f.message.clone(),
            warnings: f.warnings.clone(),
            strategy: f.strategy.clone(),
            resolution: f.resolution.clone(),
            init_params: f.init_params.shaped(model),
            model: model.spec().clone(),
            data: info,
            options: FitOptionsRecord::of(opts, opts.subsample),
            bgmm_version: VERSION.into(),
            command,
        }
    }
}

impl SampleRecord {
    /// `nuts` or `vi` (a run that does not say: `nuts`, the only method early versions had).
    pub fn method(&self) -> &str {
        self.options.as_ref().map_or("nuts", RunOptions::method)
    }

    /// The record of a posterior.
    pub fn of(
        post: &Posterior,
        model: &Model,
        data: DataInfo,
        options: RunOptions,
        wall_s: f64,
        command: String,
    ) -> Result<SampleRecord> {
        let options = Some(options);
        Ok(SampleRecord {
            summary: summary_map(&post.summary)?,
            divergences: post.divergences,
            relabelled: post.relabelled,
            relabelled_share: post.relabelled_share,
            wall_s,
            chains: post.chain_stats.iter().map(ChainRecord::from).collect(),
            warnings: post.warnings.clone(),
            complete: post.interrupted.is_none(),
            interrupted: post.interrupted.map(|(kept, asked)| Interruption {
                asked_draws: asked,
                kept_draws: kept,
            }),
            model: model.spec().clone(),
            data,
            options,
            occupied: None,
            log_lik: None,
            evidence: post.evidence.clone(),
            bgmm_version: VERSION.into(),
            command,
        })
    }
}

/// The summary as `summary.json` holds it.
fn summary_map(
    summary: &[(String, ParamSummary)],
) -> Result<serde_json::Map<String, serde_json::Value>> {
    summary
        .iter()
        .map(|(n, s)| Ok((n.clone(), serde_json::to_value(s)?)))
        .collect()
}

/// One column's summary over every predictive data set.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ColumnSummary {
    pub column: String,
    #[serde(with = "undefined")]
    pub mean: f64,
    #[serde(with = "undefined")]
    pub median: f64,
    #[serde(with = "undefined")]
    pub q5: f64,
    #[serde(with = "undefined")]
    pub q95: f64,
    #[serde(with = "undefined")]
    pub sd: f64,
}

/// `predictive.json` of `predict --out`: where the data sets came from and their summary.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PredictiveRecord {
    pub bgmm_version: String,
    pub columns: Vec<String>,
    pub command: String,
    pub draws_total: Option<usize>,
    pub draws_used: Option<usize>,
    pub kind: String,
    #[serde(serialize_with = "sorted")]
    pub model: ModelSpec,
    pub n: usize,
    pub seed: u64,
    pub sets: usize,
    pub source: String,
    pub summary: Vec<ColumnSummary>,
}

/// One (K, family) pair of `select.json`: the criteria at its MAP, or why its fit failed.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SelectTableRow {
    pub k: usize,
    pub covariance: bgmm::CovarianceFamily,
    /// `ok`, `collapsed`, `no proper mode` or `failed`.
    pub status: bgmm::RowStatus,
    /// Why the fit failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    pub n_params: usize,
    pub loglik: Option<f64>,
    pub bic: Option<f64>,
    pub icl: Option<f64>,
    pub aic: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// PSIS-LOO and WAIC of the pair's posterior (`--criterion loo|waic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<PosteriorSummary>,
}

/// A pair's posterior criteria in `select.json` (without the pointwise values): `looic` =
/// −2·elpd_loo and `waic` = −2·elpd_waic (lower is better, the BIC's scale), or why sampling
/// failed.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PosteriorSummary {
    pub looic: Option<f64>,
    pub elpd_loo: Option<f64>,
    pub se_loo: Option<f64>,
    pub p_loo: Option<f64>,
    /// Points whose Pareto k exceeds the threshold (0.7 for 2000 draws or more).
    pub bad_pareto_k: Option<usize>,
    pub waic: Option<f64>,
    pub elpd_waic: Option<f64>,
    pub se_waic: Option<f64>,
    pub p_waic: Option<f64>,
    /// `log p(x)` by SMC and its Monte Carlo standard error (`--criterion evidence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_evidence: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_se: Option<f64>,
    /// The pair's posterior probability, the pairs equally likely a priori.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    pub divergences: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl PosteriorSummary {
    /// The summary of a row's [`bgmm::PosteriorCriteria`].
    pub fn of(p: &bgmm::PosteriorCriteria) -> PosteriorSummary {
        let (l, w) = (p.loo.as_ref(), p.waic.as_ref());
        PosteriorSummary {
            looic: l.map(bgmm::Loo::looic),
            elpd_loo: l.map(|l| l.elpd),
            se_loo: l.map(|l| l.se),
            p_loo: l.map(|l| l.p),
            bad_pareto_k: l.map(|l| l.bad_points().len()),
            waic: w.map(|w| -2.0 * w.elpd),
            elpd_waic: w.map(|w| w.elpd),
            se_waic: w.map(|w| w.se),
            p_waic: w.map(|w| w.p),
            log_evidence: p.evidence.as_ref().map(|e| e.log_evidence),
            evidence_se: p.evidence.as_ref().map(|e| e.std_error),
            probability: p.probability,
            divergences: p.divergences,
            warnings: p.warnings.clone(),
            message: p.message.clone(),
        }
    }
}

impl SelectTableRow {
    /// The row of a selection's pair.
    pub fn of(r: &bgmm::SelectRow) -> SelectTableRow {
        SelectTableRow {
            k: r.k,
            covariance: r.covariance,
            status: r.status,
            message: r.message.clone(),
            n_params: r.n_params,
            loglik: r.loglik,
            bic: r.bic,
            icl: r.icl,
            aic: r.aic,
            warnings: r.warnings.clone(),
            posterior: r.posterior.as_ref().map(PosteriorSummary::of),
        }
    }

    /// The value of `criterion`.
    pub fn value(&self, criterion: bgmm::Criterion) -> Option<f64> {
        match criterion {
            bgmm::Criterion::Bic => self.bic,
            bgmm::Criterion::Icl => self.icl,
            bgmm::Criterion::Aic => self.aic,
            bgmm::Criterion::Loo => self.posterior.as_ref().and_then(|p| p.looic),
            bgmm::Criterion::Waic => self.posterior.as_ref().and_then(|p| p.waic),
            bgmm::Criterion::Evidence => self
                .posterior
                .as_ref()
                .and_then(|p| p.log_evidence)
                .map(|l| -2.0 * l),
        }
    }
}

/// What `select --json` prints and `select --out` writes (`select.json`): every pair tried,
/// the best by the criterion, and the data and search it was made with.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SelectRecord {
    /// The criterion the best model was chosen by.
    pub criterion: bgmm::Criterion,
    /// Rows counted in the criteria (those with an observed value).
    pub n: usize,
    pub table: Vec<SelectTableRow>,
    /// The best row, if any fit succeeded.
    pub best: Option<SelectTableRow>,
    /// `--criterion loo|waic`: ArviZ's `compare` of the pairs sampled (stacking weights), named
    /// by their mclust codes, best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compare: Vec<bgmm::CompareRow>,
    pub data: DataInfo,
    pub options: FitOptionsRecord,
    pub bgmm_version: String,
    pub command: String,
}

impl SelectRecord {
    /// Indices of the rows with a value of the criterion, best (lowest) first; ties keep the
    /// order of the table.
    pub fn ranked(&self) -> Vec<usize> {
        let mut ok: Vec<usize> = (0..self.table.len())
            .filter(|&i| self.table[i].value(self.criterion).is_some())
            .collect();
        let v = |i: usize| self.table[i].value(self.criterion).unwrap_or(f64::INFINITY);
        ok.sort_by(|&a, &b| v(a).total_cmp(&v(b)).then(a.cmp(&b)));
        ok
    }

    /// The numbers of components tried, in order.
    pub fn ks(&self) -> Vec<usize> {
        let mut ks: Vec<usize> = Vec::new();
        for r in &self.table {
            if !ks.contains(&r.k) {
                ks.push(r.k);
            }
        }
        ks
    }

    /// The families tried, in order.
    pub fn families(&self) -> Vec<bgmm::CovarianceFamily> {
        let mut fs = Vec::new();
        for r in &self.table {
            if !fs.contains(&r.covariance) {
                fs.push(r.covariance);
            }
        }
        fs
    }
}

/// Read `select.json` of a `select --out` directory (or the file itself).
pub fn load_select(path: &std::path::Path) -> Result<SelectRecord> {
    let file = if path.is_dir() {
        path.join("select.json")
    } else {
        path.to_path_buf()
    };
    let shown = file.display();
    let text = crate::input::read_record(&file)
        .map_err(|e| anyhow!("cannot read model selection '{shown}': {e}"))?;
    let rec: SelectRecord = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "model selection '{shown}', line {}, column {}: not a bgmm model selection ({})",
            e.line(),
            e.column(),
            e.to_string().replace('\n', " ")
        )
    })?;
    if path.is_dir() {
        crate::rundir::verify_run(path, crate::rundir::RunKind::Select)?;
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgmm::{Data, Sharing};

    /// splitmix64: a fixed stream of 64-bit patterns, independent of any crate's API.
    fn bits(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Found with `sample --from-fit`: a fit's column mean 200.91520467836258 was written to
    /// fit.json and read back one ulp off (serde_json parses floats exactly only with its
    /// `float_roundtrip` feature). Every finite f64 written as bgmm writes its JSON must read
    /// back bit for bit, through the typed and the untyped (`Value`) readers alike.
    #[test]
    fn every_f64_written_to_json_reads_back_bit_identical() {
        let mut s = 11u64;
        let mut values = vec![
            200.91520467836258,
            34356.5 / 171.0,
            0.1 + 0.2,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::from_bits(0x000f_ffff_ffff_ffff),
            1e-300,
            1e300,
            -1.7976931348623157e308,
        ];
        for _ in 0..100_000 {
            // every exponent alike: huge, tiny, negative
            let v = f64::from_bits(bits(&mut s));
            if v.is_finite() {
                values.push(v);
            }
            // subnormals (exponent field 0)
            values.push(f64::from_bits(bits(&mut s) & 0x800f_ffff_ffff_ffff));
            // data-like values: a mean of a few hundred numbers around 200
            let n = 2 + bits(&mut s) % 500;
            let sum = (bits(&mut s) % 1_000_000) as f64 / 2.0;
            values.push(sum / n as f64);
            // unit-scale values with 17 significant digits
            values.push((bits(&mut s) >> 11) as f64 / (1u64 << 53) as f64 * 1e3 - 500.0);
        }
        let text = String::from_utf8(json_bytes(&values).unwrap()).unwrap();
        let typed: Vec<f64> = serde_json::from_str(&text).unwrap();
        let untyped: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(typed.len(), values.len());
        let mut off = Vec::new();
        for (i, (a, b)) in values.iter().zip(&typed).enumerate() {
            let c = untyped[i].as_f64().unwrap();
            if a.to_bits() != b.to_bits() || a.to_bits() != c.to_bits() {
                off.push(format!("{a:?} read back as {b:?} / {c:?}"));
            }
        }
        assert!(
            off.is_empty(),
            "{} of {} values read back changed, e.g. {:?}",
            off.len(),
            values.len(),
            &off[..off.len().min(5)]
        );
    }

    /// The safety net: a record with a float that is not finite where a number is expected is
    /// refused, naming the field (serde_json would write `null`, which no reader takes back);
    /// statistics undefined on purpose are written as what they are and read back.
    #[test]
    fn json_bytes_refuses_a_number_that_is_not_one_and_names_it() {
        let fit = DataInfo {
            columns: vec!["a".into()],
            ..DataInfo::default()
        };
        let c = ColumnSummary {
            column: "a".into(),
            mean: 1.0,
            median: 1.0,
            q5: f64::NAN,
            q95: f64::INFINITY,
            sd: 0.5,
        };
        // undefined on purpose: NaN is null, an infinity a string; both read back
        let text = String::from_utf8(json_bytes(&c).unwrap()).unwrap();
        assert!(
            text.contains("\"q5\": null") && text.contains("\"q95\": \"inf\""),
            "{text}"
        );
        let back: ColumnSummary = serde_json::from_str(&text).unwrap();
        assert!(back.q5.is_nan() && back.q95 == f64::INFINITY);
        // a bare float that is not finite is refused with its path
        let bad = FitOptionsRecord {
            restarts: 1,
            candidates: 1,
            init: "auto".into(),
            steps: 1,
            lr: 0.1,
            betas: [0.8, f64::NAN],
            polish: true,
            grad_tol: 1e-9,
            seed: 0,
            subsample: 0,
            resolution: "off".into(),
        };
        let e = json_bytes(&bad).unwrap_err().to_string();
        assert_eq!(
            e,
            "refusing to write a record with a value that is not a number: betas[1] is NaN (JSON has no number for it)"
        );
        let e = json_bytes(&vec![(fit, f64::NEG_INFINITY)])
            .unwrap_err()
            .to_string();
        assert!(e.contains(": [0][1] is -inf"), "{e}");
    }

    /// 171 points in two groups whose mean is 34356.5 / 171 = 200.91520467836258, the value
    /// that read back one ulp off.
    fn mean_200_915() -> Vec<f64> {
        let mut x: Vec<f64> = (0..170)
            .map(|i| if i < 106 { 150.0 } else { 250.0 } + (i % 10) as f64 * 3.0)
            .collect();
        x.push(161.5);
        x
    }

    /// The model a fit records reads back as the one it was built from, bit for bit.
    #[test]
    fn a_default_model_reads_back_from_json_as_it_was_written() {
        let data = Data::from_1d(mean_200_915()).unwrap();
        let spec = ModelSpec::quick(2, Sharing::Component, &data);
        let text = String::from_utf8(json_bytes(&spec).unwrap()).unwrap();
        assert!(text.contains("200.91520467836258"), "{text}");
        let back: ModelSpec = serde_json::from_str(&text).unwrap();
        assert_eq!(back, spec);
    }
}
