//! Choosing the model: the MAP of every (number of components, covariance family) pair, with
//! the information criteria mclust and scikit-learn report, lower is better:
//!
//! - `bic = −2·loglik + n_params·ln N` (scikit-learn's `bic()`; mclust reports −BIC, higher
//!   is better);
//! - `aic = −2·loglik + 2·n_params`;
//! - `icl = bic + 2·Σ_n (−ln max_k r_nk)`: the BIC plus twice the entropy of the hard
//!   classification (mclust's `icl()`, sign flipped), which penalises overlapping components.
//!
//! With [`Criterion::Loo`] or [`Criterion::Waic`] every pair that has a proper mode is also
//! sampled (collapsed NUTS from its MAP, [`SelectOptions::posterior`]), and ranked by
//! `looic = −2·elpd_loo` (PSIS-LOO, [`crate::psis_loo`]) or `−2·elpd_waic`: the predictive
//! accuracy of the whole posterior, on the same scale as the BIC; [`Selection::compare`] then
//! holds ArviZ's `compare` table of those models.
//!
//! `loglik` is `Σ_n log p(x_n | θ̂)` with the assignments summed out, at the MAP of the default
//! model of each pair ([`ModelSpec::quick`]), not at the maximum likelihood as mclust and
//! scikit-learn take it; with the default priors' weak pull the two differ little (and the MAP
//! exists where the likelihood is unbounded). `N` counts the rows with at least one observed
//! value; `n_params` is [`Model::n_params`] (the free parameters: K − 1 weights, K·D
//! locations and the family's scales or covariances).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Data;
use crate::error::{Error, Result};
use crate::family::CovarianceFamily;
use crate::loo::{CompareRow, Elpd, Loo, Waic, Weighting};
use crate::map::{Fit, FitOptions};
use crate::model::{Model, ModelSpec};
use crate::nuts::NutsOptions;
use crate::options::{Callback, Checked};
use crate::partitioned::{stats_of, Partitioned, SharedPasses, StatsRequest};
use crate::posterior::{InitFrom, SampleOptions};
use crate::smc::{Evidence, SmcOptions};

/// The most components [`SelectOptions::ks`] may ask for.
pub const MAX_SELECT_K: usize = 1000;

/// A criterion to rank models by (lower is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Criterion {
    /// Bayesian information criterion.
    #[default]
    Bic,
    /// Integrated completed likelihood (BIC + twice the classification entropy).
    Icl,
    /// Akaike information criterion.
    Aic,
    /// The PSIS-LOO information criterion `−2·elpd_loo` of the posterior.
    Loo,
    /// The WAIC on the deviance scale, `−2·elpd_waic`, of the posterior.
    Waic,
    /// The evidence on the deviance scale, `−2·log p(x)` (the scale BIC approximates), by
    /// sequential Monte Carlo ([`crate::smc`]); each pair's posterior probability (the pairs
    /// equally likely a priori) is `p(x | pair) / Σ p(x | pair')`.
    Evidence,
}

impl Criterion {
    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Criterion::Bic => "bic",
            Criterion::Icl => "icl",
            Criterion::Aic => "aic",
            Criterion::Loo => "loo",
            Criterion::Waic => "waic",
            Criterion::Evidence => "evidence",
        }
    }

    /// Whether the criterion needs the posterior (every pair sampled).
    pub fn needs_posterior(self) -> bool {
        matches!(self, Criterion::Loo | Criterion::Waic | Criterion::Evidence)
    }

    /// Parse a name (case-insensitive).
    pub fn parse(s: &str) -> Option<Criterion> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bic" => Some(Criterion::Bic),
            "icl" => Some(Criterion::Icl),
            "aic" => Some(Criterion::Aic),
            "loo" => Some(Criterion::Loo),
            "waic" => Some(Criterion::Waic),
            "evidence" => Some(Criterion::Evidence),
            _ => None,
        }
    }
}

/// Options of [`crate::select`].
#[derive(Debug, Clone, PartialEq)]
pub struct SelectOptions {
    /// The numbers of components to try (mclust: 1–9).
    pub ks: Vec<usize>,
    /// The families to try; empty: [`default_families`] of the data's dimension.
    pub families: Vec<CovarianceFamily>,
    /// The criterion the best model is chosen by.
    pub criterion: Criterion,
    /// The MAP search of every pair (the same for all: same restarts, same seed).
    pub fit: FitOptions,
    /// The sampler of every pair with a proper mode, for [`Criterion::Loo`] and
    /// [`Criterion::Waic`] (unused otherwise): chains started from the pair's MAP and labelled
    /// by it. By default 4 chains of 500 warmup iterations and 500 draws.
    pub posterior: NutsOptions,
    /// The SMC runs of every pair with a proper mode, for [`Criterion::Evidence`] (unused
    /// otherwise): by default 4 runs of 1000 particles.
    pub evidence: SmcOptions,
    /// Called as each pair's fit ends (from worker threads).
    pub progress: Option<Callback<SelectProgress>>,
}

impl Default for SelectOptions {
    fn default() -> Self {
        SelectOptions {
            ks: (1..=9).collect(),
            families: Vec::new(),
            criterion: Criterion::Bic,
            fit: FitOptions::default(),
            posterior: NutsOptions {
                warmup: 500,
                draws: 500,
                ..NutsOptions::default()
            },
            evidence: SmcOptions::default(),
            progress: None,
        }
    }
}

/// How far [`crate::select`] is: `done` of `total` pairs fitted, then (for the posterior
/// criteria) `done` of `total` sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectProgress {
    /// Pairs fitted (or sampled).
    pub done: usize,
    /// Pairs in all (or to sample).
    pub total: usize,
    /// Whether this is the sampling stage.
    pub sampling: bool,
}

impl SelectOptions {
    /// Check every field: `ks` (not empty, each 1–[`MAX_SELECT_K`], no repeats), `families`
    /// (no repeats) and the search's own ([`FitOptions::validate`]); an invalid field is an
    /// [`Error::InvalidOption`] naming it.
    pub fn validate(&self) -> Result<Checked<SelectOptions>> {
        let bad = |option, message: String| Err(Error::option("SelectOptions", option, message));
        if self.ks.is_empty() {
            return bad("ks", "must hold at least one number of components".into());
        }
        if let Some(k) = self.ks.iter().find(|&&k| k == 0 || k > MAX_SELECT_K) {
            return bad(
                "ks",
                format!("must be between 1 and {MAX_SELECT_K}, got {k}"),
            );
        }
        for (i, k) in self.ks.iter().enumerate() {
            if self.ks[..i].contains(k) {
                return bad("ks", format!("holds {k} twice"));
            }
        }
        for (i, f) in self.families.iter().enumerate() {
            if self.families[..i].contains(f) {
                return bad("families", format!("holds {} twice", f.name()));
            }
        }
        self.fit.validate()?;
        match self.criterion {
            Criterion::Evidence => {
                self.evidence.validate()?;
            }
            c if c.needs_posterior() => {
                self.posterior.validate()?;
            }
            _ => {}
        }
        Ok(Checked::new(self.clone()))
    }
}

/// The families [`crate::select`] tries by default: for one dimension the two that differ
/// (mclust's E and V: `shared`, `component`), otherwise all six, simplest first (mclust's EII,
/// VII, EEI, VVI, EEE, VVV).
pub fn default_families(d: usize) -> Vec<CovarianceFamily> {
    use CovarianceFamily::*;
    if d == 1 {
        vec![Shared, Component]
    } else {
        vec![Shared, Component, Dimension, Diagonal, Tied, Full]
    }
}

/// How a pair's fit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowStatus {
    /// A proper mode: the criteria are its.
    #[serde(rename = "ok")]
    Ok,
    /// Every candidate collapsed onto a point (the MAP does not exist: [`Error::Unbounded`]).
    #[serde(rename = "collapsed")]
    Collapsed,
    /// Every mode found sits on tied values or empties a component
    /// ([`Error::NoProperMode`]).
    #[serde(rename = "no proper mode")]
    NoProperMode,
    /// Every mode found has a component alone on one point, a spike its prior holds from
    /// collapsing ([`Fit::spike`]): its likelihood is no model's, so no criteria.
    #[serde(rename = "spike")]
    Spike,
    /// The fit failed otherwise (the message says why).
    #[serde(rename = "failed")]
    Failed,
}

impl RowStatus {
    /// The name in tables and files.
    pub fn name(self) -> &'static str {
        match self {
            RowStatus::Ok => "ok",
            RowStatus::Collapsed => "collapsed",
            RowStatus::NoProperMode => "no proper mode",
            RowStatus::Spike => "spike",
            RowStatus::Failed => "failed",
        }
    }
}

/// One (K, family) pair of a [`Selection`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectRow {
    /// Number of components.
    pub k: usize,
    /// The family.
    pub covariance: CovarianceFamily,
    /// How its fit ended; the numbers below are `None` unless [`RowStatus::Ok`].
    pub status: RowStatus,
    /// Why the fit failed (empty when it did not).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Free parameters of the model.
    pub n_params: usize,
    /// `Σ_n log p(x_n | θ̂)` at the MAP.
    #[serde(default)]
    pub loglik: Option<f64>,
    /// Bayesian information criterion.
    #[serde(default)]
    pub bic: Option<f64>,
    /// Integrated completed likelihood.
    #[serde(default)]
    pub icl: Option<f64>,
    /// Akaike information criterion.
    #[serde(default)]
    pub aic: Option<f64>,
    /// The fit's warnings (a local mode, modes set aside, an empty component).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The model fitted ([`ModelSpec::quick`] for this K and family).
    pub model: ModelSpec,
    /// The MAP, when the status is [`RowStatus::Ok`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<Fit>,
    /// PSIS-LOO and WAIC of the pair's posterior ([`Criterion::Loo`], [`Criterion::Waic`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<PosteriorCriteria>,
}

/// The posterior criteria of one pair: its PSIS-LOO and WAIC (pointwise values included), the
/// sampler's divergences and warnings; or why sampling failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PosteriorCriteria {
    /// PSIS-LOO, when sampling succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loo: Option<Loo>,
    /// WAIC, when sampling succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waic: Option<Waic>,
    /// The evidence, with [`Criterion::Evidence`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// With [`Criterion::Evidence`]: the pair's posterior probability among the pairs with an
    /// evidence, equally likely a priori.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Divergent draws after warmup.
    pub divergences: usize,
    /// The sampler's warnings (R-hat, effective sample size, divergences) and LOO's (points
    /// with a large Pareto k).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why sampling or the criteria failed (empty when they did not).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl SelectRow {
    /// The value of `criterion`, when the fit succeeded.
    pub fn value(&self, criterion: Criterion) -> Option<f64> {
        match criterion {
            Criterion::Bic => self.bic,
            Criterion::Icl => self.icl,
            Criterion::Aic => self.aic,
            Criterion::Loo => self.loo().map(Loo::looic),
            Criterion::Waic => self.waic().map(|w| -2.0 * w.elpd),
            Criterion::Evidence => self.evidence().map(|e| -2.0 * e.log_evidence),
        }
    }

    /// Its evidence, when sampled by SMC.
    pub fn evidence(&self) -> Option<&Evidence> {
        self.posterior.as_ref().and_then(|p| p.evidence.as_ref())
    }

    /// Its PSIS-LOO, when sampled.
    pub fn loo(&self) -> Option<&Loo> {
        self.posterior.as_ref().and_then(|p| p.loo.as_ref())
    }

    /// Its WAIC, when sampled.
    pub fn waic(&self) -> Option<&Waic> {
        self.posterior.as_ref().and_then(|p| p.waic.as_ref())
    }

    /// The mclust code of the pair, `VVV,2`.
    pub fn code(&self) -> String {
        format!("{},{}", self.covariance.mclust(), self.k)
    }
}

/// The result of [`crate::select`]: every pair tried, in the order of
/// [`SelectOptions::ks`] then [`SelectOptions::families`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The criterion the models are ranked by.
    pub criterion: Criterion,
    /// Rows of data counted in the criteria (those with an observed value).
    pub n: usize,
    /// Every pair.
    pub rows: Vec<SelectRow>,
    /// For [`Criterion::Loo`] and [`Criterion::Waic`]: ArviZ's `compare` table of the pairs
    /// sampled (stacking weights), named by their mclust codes ([`SelectRow::code`]), best
    /// first; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compare: Vec<CompareRow>,
    /// For partitioned data ([`crate::select_partitioned`]): the passes over the data that
    /// the fits shared (the rows gathered for the searches not counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passes: Option<usize>,
}

impl Selection {
    /// Indices of the rows with a value of the criterion, best (lowest) first; ties keep
    /// the order of the rows (fewer components, simpler family first).
    pub fn ranked(&self) -> Vec<usize> {
        let mut ok: Vec<usize> = (0..self.rows.len())
            .filter(|&i| self.rows[i].value(self.criterion).is_some())
            .collect();
        ok.sort_by(|&a, &b| {
            let (va, vb) = (
                self.rows[a].value(self.criterion).unwrap_or(f64::INFINITY),
                self.rows[b].value(self.criterion).unwrap_or(f64::INFINITY),
            );
            va.total_cmp(&vb).then(a.cmp(&b))
        });
        ok
    }

    /// The best row, if any fit succeeded.
    pub fn best(&self) -> Option<&SelectRow> {
        self.ranked().first().map(|&i| &self.rows[i])
    }
}

/// Whether each row of `data` has at least one observed value.
fn observed_rows(data: &Data) -> Vec<bool> {
    if data.n_missing() == 0 {
        return vec![true; data.n()];
    }
    (0..data.n())
        .map(|i| (0..data.d()).any(|j| !data.col(j)[i].is_nan()))
        .collect()
}

/// Fit one pair (`fit`) and form its criteria (`criteria`: the log likelihood at the MAP and
/// the classification entropy; `n` rows counted).
fn row(
    k: usize,
    family: CovarianceFamily,
    spec: ModelSpec,
    d: usize,
    n: usize,
    fit: impl FnOnce(&Model) -> Result<Fit>,
    criteria: impl FnOnce(&Model, &Fit) -> Result<(f64, f64)>,
) -> SelectRow {
    let mut out = SelectRow {
        k,
        covariance: family,
        status: RowStatus::Failed,
        message: String::new(),
        n_params: 0,
        loglik: None,
        bic: None,
        icl: None,
        aic: None,
        warnings: Vec::new(),
        model: spec.clone(),
        fit: None,
        posterior: None,
    };
    let model = match spec.build(Some(d)) {
        Ok(m) => m,
        Err(e) => {
            out.message = e.to_string();
            return out;
        }
    };
    out.n_params = model.n_params();
    let result = fit(&model).and_then(|f| {
        if f.spike.is_some() {
            return Ok((f, None));
        }
        let c = criteria(&model, &f)?;
        Ok((f, Some(c)))
    });
    match result {
        Ok((f, None)) => {
            out.status = RowStatus::Spike;
            out.message = f.spike.clone().unwrap_or_default();
            out.warnings = f.warnings;
        }
        Ok((f, Some((loglik, entropy)))) => {
            let p = out.n_params as f64;
            let bic = -2.0 * loglik + p * (n as f64).ln();
            out.status = RowStatus::Ok;
            out.loglik = Some(loglik);
            out.bic = Some(bic);
            out.aic = Some(-2.0 * loglik + 2.0 * p);
            out.icl = Some(bic + 2.0 * entropy);
            out.warnings = f.warnings.clone();
            out.fit = Some(f);
        }
        Err(e) => {
            out.status = match e {
                Error::Unbounded(_) => RowStatus::Collapsed,
                Error::NoProperMode(_) => RowStatus::NoProperMode,
                _ => RowStatus::Failed,
            };
            out.message = e.to_string();
        }
    }
    out
}

/// The pairs to fit, in the order of the rows: every K, then every family (`d` columns).
fn pairs_of(opts: &SelectOptions, d: usize) -> Vec<(usize, CovarianceFamily)> {
    let families = if opts.families.is_empty() {
        default_families(d)
    } else {
        opts.families.clone()
    };
    opts.ks
        .iter()
        .flat_map(|&k| families.iter().map(move |&f| (k, f)))
        .collect()
}

/// `one` of every pair, in parallel, the costliest first (many components, full covariances),
/// so that none runs alone at the end; in the pairs' order. On the thread pool, or with
/// `threads` (their number and what each calls as it ends), on threads of their own, each
/// fitting pairs one after another (fits that wait for each other: they must all run, not
/// queue behind each other on the pool's threads).
fn fit_pairs(
    pairs: &[(usize, CovarianceFamily)],
    d: usize,
    opts: &SelectOptions,
    threads: Option<(usize, &(dyn Fn() + Sync))>,
    one: impl Fn(usize, CovarianceFamily) -> SelectRow + Sync,
) -> Vec<SelectRow> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let done = AtomicUsize::new(0);
    let total = pairs.len();
    let cost = |&(k, f): &(usize, CovarianceFamily)| {
        k * match f {
            CovarianceFamily::Full => d * (d + 3) / 2,
            CovarianceFamily::Tied => d * (d + 3) / 4 + 1,
            _ => d,
        }
    };
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cost(&pairs[i])));
    let fit_one = |i: usize| {
        let (k, f) = pairs[i];
        let r = one(k, f);
        if let Some(p) = &opts.progress {
            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
            p.call(SelectProgress {
                done,
                total,
                sampling: false,
            });
        }
        (i, r)
    };
    let mut rows: Vec<(usize, SelectRow)> = match threads {
        None => order
            .par_iter()
            .with_max_len(1)
            .map(|&i| fit_one(i))
            .collect(),
        Some((w, ended)) => {
            struct End<'f>(&'f (dyn Fn() + Sync));
            impl Drop for End<'_> {
                fn drop(&mut self) {
                    (self.0)()
                }
            }
            let next = AtomicUsize::new(0);
            let out = std::sync::Mutex::new(Vec::with_capacity(pairs.len()));
            std::thread::scope(|scope| {
                for _ in 0..w {
                    scope.spawn(|| {
                        let _end = End(ended);
                        loop {
                            let j = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&i) = order.get(j) else { break };
                            let r = fit_one(i);
                            out.lock().unwrap_or_else(|e| e.into_inner()).push(r);
                        }
                    });
                }
            });
            out.into_inner().unwrap_or_else(|e| e.into_inner())
        }
    };
    rows.sort_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// [`crate::select`] on checked options.
pub(crate) fn run(data: &Data, opts: &Checked<SelectOptions>) -> Result<Selection> {
    if data.n() == 0 {
        return Err(Error::Data("no data: the data have no rows".into()));
    }
    let pairs = pairs_of(opts, data.d());
    let n = observed_rows(data).iter().filter(|o| **o).count();
    let fit = opts.fit.validate()?;
    // the fits share nothing: in parallel, each as deterministic as a fit alone
    let mut rows = fit_pairs(&pairs, data.d(), opts, None, |k, f| {
        let spec = ModelSpec::quick(k as i64, f, data);
        row(
            k,
            f,
            spec,
            data.d(),
            n,
            |m| crate::map::run(m, data, &fit),
            |m, f| {
                Ok((
                    crate::density::log_likelihood_at(m, data, &f.params),
                    crate::density::classification_entropy(m, &data.view(), &f.params),
                ))
            },
        )
    });
    let mut compare = Vec::new();
    if opts.criterion.needs_posterior() {
        sample_rows(data, &mut rows, opts)?;
        if matches!(opts.criterion, Criterion::Loo | Criterion::Waic) {
            compare = compare_rows(&rows, opts.criterion)?;
        }
    }
    Ok(Selection {
        criterion: opts.criterion,
        n,
        rows,
        compare,
        passes: None,
    })
}

/// The most fits [`run_partitioned`] runs at once (each on a thread of its own).
const MAX_SHARED_FITS: usize = 64;

/// [`crate::select_partitioned`] on checked options: every pair fitted as
/// [`crate::fit_partitioned`] fits it, all at once, their passes over the data shared
/// ([`SharedPasses`]), then one more shared pass for each pair's log likelihood and
/// classification entropy at its MAP.
pub(crate) fn run_partitioned(
    parts: &dyn Partitioned,
    opts: &Checked<SelectOptions>,
) -> Result<Selection> {
    if opts.criterion.needs_posterior() {
        return Err(Error::option(
            "SelectOptions",
            "criterion",
            format!(
                "'{}' needs every model's posterior, which is not sampled for partitioned data: use bic, icl or aic",
                opts.criterion.name()
            ),
        ));
    }
    crate::partitioned::refuse_weight(opts.fit.weight)?;
    let summary = parts.summary()?;
    let (n, d) = (summary.n as usize, summary.d());
    if n == 0 {
        return Err(Error::Data("no data: the data have no rows".into()));
    }
    summary.check_observed()?;
    let fit = opts.fit.validate()?;
    let sub = fit.subsample;
    // the subsample of each K's search (as `fit_partitioned` takes it)
    let m_of = |k: usize| crate::map::subsample_size(sub, k);
    let (k_min, k_max) = (
        opts.ks.iter().copied().min().unwrap_or(1),
        opts.ks.iter().copied().max().unwrap_or(1),
    );
    if sub == 0 && n > 5 * m_of(k_min) {
        return Err(Error::option(
            "FitOptions",
            "subsample",
            format!("must be at least 1 for partitioned data of {n} points: the search runs on a subsample gathered to the driver"),
        ));
    }
    if !crate::map::subsampled(n, m_of(k_max), sub) {
        // small data: gathered, and selected in memory (what every pair's fit would do)
        let all: Vec<usize> = (0..n).collect();
        return run(&parts.rows(&all)?, opts);
    }
    let mut ms: Vec<usize> = opts.ks.iter().map(|&k| m_of(k)).collect();
    ms.sort_unstable();
    ms.dedup();
    let subsets: Vec<Vec<usize>> = ms
        .iter()
        .map(|&m| crate::map::evenly_spaced(n, m))
        .collect();
    let pairs = pairs_of(opts, d);
    let threads = pairs.len().clamp(1, MAX_SHARED_FITS);
    let shared = SharedPasses::new(parts, summary.clone(), &subsets, threads)?;
    let mean_sd = summary.column_mean_sd();
    let n_rows = summary.rows_observed as usize;
    let p: &dyn Partitioned = &shared;
    let rows = fit_pairs(
        &pairs,
        d,
        opts,
        Some((threads, &|| shared.leave())),
        |k, f| {
            let spec = ModelSpec::quick_from(k as i64, f, &mean_sd);
            row(
                k,
                f,
                spec,
                d,
                n_rows,
                |m| crate::map::run_partitioned(m, p, &fit),
                |m, f| {
                    let request = StatsRequest {
                        x: crate::density::Transform::new(m).pack(&f.params),
                        scaling: None,
                        grad: false,
                        entropy: true,
                    };
                    let st = stats_of(p, m, &request)?;
                    let entropy = st.entropy.ok_or_else(|| {
                        Error::Data("the partitions' statistics have no entropy".into())
                    })?;
                    Ok((st.loglik, entropy))
                },
            )
        },
    );
    if let Some(e) = shared.failure() {
        return Err(e);
    }
    Ok(Selection {
        criterion: opts.criterion,
        n: n_rows,
        rows,
        compare: Vec::new(),
        passes: Some(shared.passes()),
    })
}

/// Sample every row with a proper mode from its MAP and form its PSIS-LOO and WAIC; an
/// interruption stops them all ([`Error::Interrupted`]), any other failure is the row's.
fn sample_rows(data: &Data, rows: &mut [SelectRow], opts: &SelectOptions) -> Result<()> {
    let todo: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].status == RowStatus::Ok)
        .collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total = todo.len();
    let results: Vec<(usize, Result<PosteriorCriteria>)> = todo
        .par_iter()
        .with_max_len(1)
        .map(|&i| {
            let r = posterior_criteria(data, &rows[i], opts);
            if let Some(p) = &opts.progress {
                let done = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                p.call(SelectProgress {
                    done,
                    total,
                    sampling: true,
                });
            }
            (i, r)
        })
        .collect();
    for (i, r) in results {
        rows[i].posterior = Some(match r {
            Ok(c) => c,
            Err(e @ Error::Interrupted(_)) => return Err(e),
            Err(e) => PosteriorCriteria {
                loo: None,
                waic: None,
                evidence: None,
                probability: None,
                divergences: 0,
                warnings: Vec::new(),
                message: e.to_string(),
            },
        });
    }
    if opts.criterion == Criterion::Evidence {
        // each pair's posterior probability, the pairs equally likely a priori
        let logs: Vec<(usize, f64)> = (0..rows.len())
            .filter_map(|i| rows[i].evidence().map(|e| (i, e.log_evidence)))
            .collect();
        let m = logs.iter().map(|l| l.1).fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = logs.iter().map(|l| (l.1 - m).exp()).sum();
        for (i, l) in logs {
            if let Some(p) = rows[i].posterior.as_mut() {
                p.probability = Some((l - m).exp() / total);
            }
        }
    }
    Ok(())
}

/// One row's posterior: NUTS from its MAP, the pointwise log likelihood of every draw, PSIS-LOO
/// (the relative efficiency of the draws, as ArviZ) and WAIC.
fn posterior_criteria(
    data: &Data,
    row: &SelectRow,
    select: &SelectOptions,
) -> Result<PosteriorCriteria> {
    let model = row.model.build(Some(data.d()))?;
    let evidence = select.criterion == Criterion::Evidence;
    let opts = SampleOptions {
        engine: if evidence {
            crate::posterior::Engine::Smc(select.evidence.clone())
        } else {
            crate::posterior::Engine::Nuts
        },
        nuts: select.posterior.clone(),
        init: InitFrom::Map,
        start: row.fit.as_ref().map(|f| f.params.clone()),
        progress: None,
    };
    let post = crate::posterior::run(&model, data, &opts.validate()?, &|_| {})?;
    if evidence {
        return Ok(PosteriorCriteria {
            loo: None,
            waic: None,
            evidence: post.evidence,
            probability: None,
            divergences: post.divergences,
            warnings: post.warnings,
            message: String::new(),
        });
    }
    if let Some((kept, asked)) = post.interrupted {
        return Err(Error::Interrupted(format!(
            "sampling stopped early ({kept} of {asked} draws of {})",
            row.code()
        )));
    }
    let log_lik = crate::pointwise::log_likelihood_draws(&model, data, &post.raw_draws)?;
    let reff = if post.draws.len() > 1 {
        crate::loo::relative_efficiency(&post.draws)?
    } else {
        1.0
    };
    let loo = crate::loo::psis_loo(&log_lik, reff)?;
    let waic = crate::loo::waic(&log_lik)?;
    let mut warnings = post.warnings.clone();
    let bad = loo.bad_points();
    if !bad.is_empty() {
        warnings.push(format!(
            "{} of {} points have a Pareto k above {:.2}: their leave-one-out estimate is unreliable",
            bad.len(),
            loo.n_points,
            loo.good_k
        ));
    }
    Ok(PosteriorCriteria {
        loo: Some(loo),
        waic: Some(waic),
        evidence: None,
        probability: None,
        divergences: post.divergences,
        warnings,
        message: String::new(),
    })
}

/// ArviZ's `compare` of the sampled rows (stacking), by the criterion's elpd.
fn compare_rows(rows: &[SelectRow], criterion: Criterion) -> Result<Vec<CompareRow>> {
    let models: Vec<(String, &dyn Elpd)> = rows
        .iter()
        .filter_map(|r| {
            let e: &dyn Elpd = match criterion {
                Criterion::Waic => r.waic()?,
                _ => r.loo()?,
            };
            Some((r.code(), e))
        })
        .collect();
    if models.is_empty() {
        return Ok(Vec::new());
    }
    crate::loo::compare(&models, Weighting::Stacking)
}
