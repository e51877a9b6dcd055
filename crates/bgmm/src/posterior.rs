//! The posterior of a mixture by collapsed NUTS (the assignments summed out), with label
//! switching undone for the user, and its summary.
//!
//! Relabelling: unless the model is `ordered`, every draw's components are permuted to best
//! match a reference labelling (the MAP): the assignment minimising
//! `Σ_k Σ_d ((μ_draw[π(k), d] − μ_ref[k, d]) / s_d)² + (ln w_draw[π(k)] − ln w_ref[k])²`, with
//! `s_d` the data's standard deviation in dimension `d`, solved exactly by the Hungarian method.
//! The raw draws are kept.

use serde::{Deserialize, Serialize};

use crate::data::Data;
use crate::density::{LogDensity, Transform};
use crate::diagnostics::{sampling_warnings, summarize, ChainCheck, ParamSummary};
use crate::error::{Error, Result};
use crate::map::{check_data, FitOptions};
use crate::model::Model;
use crate::nuts::{chain_rng, sample, ChainOutput, NutsOptions, Progress};
use crate::options::{Callback, Checked};
use crate::params::Params;
use crate::rescale::{Reparam, Rescaled, Standardised};
use crate::smc::{Evidence, SmcOptions};

/// Where chains start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitFrom {
    /// From the MAP, each chain jittered by N(0, 0.1²) on the engines' unconstrained space
    /// (relative to the data's spread: see [`crate::Rescaled`]); from the
    /// prior when the MAP found is degenerate (a collapsed or empty component, or an
    /// `ordered` model's locations pressed together), where a chain would start in a funnel.
    #[default]
    Map,
    /// From a draw of the prior (redrawn until the density is finite).
    Prior,
}

/// The engine that samples the posterior.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Engine {
    /// Collapsed NUTS chains ([`SampleOptions::nuts`]) from the MAP: fast, exact within the
    /// mode they start in.
    #[default]
    Nuts,
    /// Sequential Monte Carlo tempered from the prior ([`crate::smc`]): every mode in its
    /// share, and the evidence; each run's particles are one chain. [`SampleOptions::nuts`]
    /// and [`SampleOptions::init`] are not used.
    Smc(SmcOptions),
}

/// Options of [`crate::sample`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SampleOptions {
    /// The engine.
    pub engine: Engine,
    /// NUTS settings.
    pub nuts: NutsOptions,
    /// Initial points.
    pub init: InitFrom,
    /// A MAP to start from and label by (e.g. a fit the user already made), instead of the
    /// sampler's own short MAP search; must be parameters of this model.
    pub start: Option<Params>,
    /// Called from the chains' threads after every iteration.
    pub progress: Option<Callback<Progress>>,
}

impl SampleOptions {
    /// Check every field: the NUTS settings ([`NutsOptions::validate`]; `start` is checked
    /// against the model when sampling starts).
    pub fn validate(&self) -> Result<Checked<SampleOptions>> {
        self.nuts.validate()?;
        if let Engine::Smc(smc) = &self.engine {
            smc.validate()?;
        }
        Ok(Checked::new(self.clone()))
    }
}

/// Per-chain sampler statistics. Serde: written as serde_json writes them (a NaN, as VI's
/// `mean_accept`, as `null`, which the CLI's records hold), read back with `null` as NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainStats {
    /// Divergent kept draws.
    pub divergences: usize,
    /// Mean tree depth.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub mean_tree_depth: f64,
    /// Step size after warmup.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub step_size: f64,
    /// Mean leapfrog steps per draw.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub mean_leapfrog: f64,
    /// Mean acceptance probability.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub mean_accept: f64,
}

/// A sampled posterior (serde: see [`ChainOutput`] and [`ChainStats`] for the values that
/// may be NaN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posterior {
    /// Names of the constrained values (`weights[0]`, `locs[1]`, …).
    pub names: Vec<String>,
    /// Relabelled constrained draws: `draws[chain][draw][param]`.
    pub draws: Vec<Vec<Vec<f64>>>,
    /// Raw constrained draws, as the sampler produced them.
    pub raw_draws: Vec<Vec<Vec<f64>>>,
    /// What each chain produced (unconstrained draws and sampler statistics).
    pub chains: Vec<ChainOutput>,
    /// Whether any draw was permuted.
    pub relabelled: bool,
    /// Share of draws that were permuted.
    pub relabelled_share: f64,
    /// The reference labelling (the MAP), if one was used.
    pub reference: Option<Params>,
    /// Summary of every constrained value, in `names` order.
    pub summary: Vec<(String, ParamSummary)>,
    /// Per-chain statistics.
    pub chain_stats: Vec<ChainStats>,
    /// Divergent kept draws over all chains.
    pub divergences: usize,
    /// Warnings, one line per kind: an early stop, chains that look stuck, R-hat > 1.01,
    /// ESS < 100 per chain, divergences .
    pub warnings: Vec<String>,
    /// Set when sampling was stopped early ([`crate::nuts::NutsOptions::stop`]): the draws
    /// kept per chain and the draws asked for. The summary is of the kept draws alone.
    pub interrupted: Option<(usize, u64)>,
    /// The evidence `log p(x)`, from the SMC engine.
    #[serde(default)]
    pub evidence: Option<Evidence>,
}

/// The assignment minimising the total cost `cost[i][j]` (row i gets column `perm[i]`), by the
/// Hungarian method with potentials, O(K³).
pub fn hungarian(cost: &[Vec<f64>]) -> Vec<usize> {
    let n = cost.len();
    let inf = f64::INFINITY;
    // 1-based arrays as in the classic formulation
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut perm = vec![0; n];
    for j in 1..=n {
        if p[j] > 0 {
            perm[p[j] - 1] = j - 1;
        }
    }
    perm
}

/// The permutation (result component k = draw component `perm[k]`) that best matches `reference`.
pub fn match_labels(
    model: &Model,
    draw: &Params,
    reference: &Params,
    spread: &[f64],
) -> Vec<usize> {
    let (k, d) = (model.k, model.d);
    let cost: Vec<Vec<f64>> = (0..k)
        .map(|r| {
            (0..k)
                .map(|c| {
                    let mut s = 0.0;
                    for j in 0..d {
                        let z = (draw.locs[c * d + j] - reference.locs[r * d + j]) / spread[j];
                        s += z * z;
                    }
                    let lw =
                        draw.weights[c].max(1e-300).ln() - reference.weights[r].max(1e-300).ln();
                    s + lw * lw
                })
                .collect()
        })
        .collect();
    hungarian(&cost)
}

/// The MAP that starts the chains (or VI) and fixes the reference labelling: a lighter search
/// than `fit`'s default (20 restarts, the best 4 optimised), as it only needs the main mode.
/// Where the MAP does not exist (every candidate collapsed a component on a point) but the
/// posterior is proper, the degenerate end point and why: it still labels the draws, but no
/// chain should start there ([`crate::map::reference_point`]).
fn reference_map(
    model: &Model,
    data: &Data,
    seed: u64,
) -> Result<(crate::map::Fit, Option<String>)> {
    let opts = FitOptions {
        restarts: 20,
        candidates: 4,
        seed,
        ..FitOptions::default()
    };
    crate::map::reference_point(model, data, &opts.validate()?)
}

/// The chains' initial points, the reference labelling, and why the MAP search's end point
/// was no place to start (where the MAP does not exist).
type Starts = (Vec<Vec<f64>>, Option<Params>, Option<String>);

/// The initial points are on the engines' coordinates of `dens` (its map applied to the
/// model's unconstrained points).
fn initial_points(
    model: &Model,
    data: &Data,
    dens: &Rescaled<'_>,
    opts: &SampleOptions,
) -> Result<Starts> {
    use rand::RngExt;
    use rand_distr::StandardNormal;
    let t = Transform::new(model);
    let map = dens.map();
    let mut grad = vec![0.0; dens.dim()];
    // a degenerate MAP (a component collapsed on a point, or empty) still labels the draws,
    // but a chain started there sits in the collapse's funnel: start from the prior instead
    let (start, degenerate) = match &opts.start {
        Some(p) => {
            p.check(model)?;
            (p.clone(), None)
        }
        None => {
            let (f, degenerate) = reference_map(model, data, opts.nuts.seed)?;
            (f.params, degenerate)
        }
    };
    let packed = map.to_engine(&t.pack(&start));
    // an `ordered` MAP pressed against the ordering (two equal first locations) packs to −∞
    let init = if degenerate.is_some() || packed.iter().any(|v| !v.is_finite()) {
        InitFrom::Prior
    } else {
        opts.init
    };
    let mut inits = Vec::with_capacity(opts.nuts.chains);
    for c in 0..opts.nuts.chains {
        // a stream apart from the chains' own
        let mut rng = chain_rng(opts.nuts.seed ^ 0x9e37_79b9_7f4a_7c15, c);
        let mut found = None;
        for _ in 0..100 {
            let x: Vec<f64> = match init {
                InitFrom::Map => packed
                    .iter()
                    .map(|v| v + 0.1 * rng.sample::<f64, _>(StandardNormal))
                    .collect(),
                InitFrom::Prior => {
                    let mut p = crate::simulate::draw_params(model, &mut rng);
                    if model.ordered {
                        // strictly increasing for the ordered transform
                        for k in 1..model.k {
                            let (a, b) = (p.locs[(k - 1) * model.d], p.locs[k * model.d]);
                            if b <= a {
                                p.locs[k * model.d] = a + 1e-6 * a.abs().max(1.0);
                            }
                        }
                    }
                    map.to_engine(&t.pack(&p))
                }
            };
            // the sampler needs the gradient finite too
            if x.iter().all(|v| v.is_finite())
                && dens.logp_grad(&x, &mut grad).is_finite()
                && grad.iter().all(|g| g.is_finite())
            {
                found = Some(x);
                break;
            }
        }
        inits.push(found.ok_or_else(|| {
            Error::Numerical(format!(
                "chain {c}: no initial point with a finite density in 100 tries"
            ))
        })?);
    }
    Ok((inits, Some(start), degenerate))
}

/// Sample the posterior of `model` given `data` by collapsed NUTS, relabel, and summarise:
/// the engine behind [`crate::sample`]. `progress` is called from the chains' threads after
/// every iteration, and so is [`SampleOptions::progress`].
pub fn run(
    model: &Model,
    data: &Data,
    opts: &Checked<SampleOptions>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Posterior> {
    check_data(model, data)?;
    // the rows in a canonical order: the posterior is then the same, bit for bit, however
    // the data were ordered (sums and the MAP's random picks no longer depend on it)
    let data = &*data.canonical();
    // the engines run on coordinates of the data's scale, mapped back below
    let std = Standardised::of(model, data)?;
    let dens = Rescaled::new(model, data, std.as_ref());
    let (inits, reference, degenerate) = initial_points(model, data, &dens, opts)?;
    let report = |p: Progress| {
        progress(p);
        if let Some(cb) = &opts.progress {
            cb.call(p)
        }
    };
    let (mut chains, evidence, target_accept) = match &opts.engine {
        Engine::Nuts => (
            sample(&dens, &inits, &opts.nuts.validate()?, &report)?,
            None,
            opts.nuts.target_accept,
        ),
        Engine::Smc(smc) => {
            let (chains, evidence) = crate::smc::sample(&dens, &smc.validate()?, &report)?;
            (chains, Some(evidence), smc.target_accept)
        }
    };
    if std.is_some() {
        for c in &mut chains {
            for x in &mut c.draws {
                *x = dens.map().to_model(x);
            }
        }
    }
    let t = Transform::new(model);
    let raw: Vec<Vec<Vec<f64>>> = chains
        .iter()
        .map(|c| c.draws.iter().map(|x| t.params(x).flat()).collect())
        .collect();
    let spread: Vec<f64> = (0..model.d)
        .map(|j| {
            // a unit for matching labels: the column's spread at any scale (1e-12 without any,
            // and for spreads above it, as before)
            let s = crate::data::sample_sd(&data.observed(j));
            if s > 0.0 && s < 1e-12 {
                s
            } else {
                s.max(1e-12)
            }
        })
        .collect();
    let mut permuted = 0usize;
    let total: usize = raw.iter().map(Vec::len).sum();
    let draws: Vec<Vec<Vec<f64>>> = match (&reference, model.ordered || model.k == 1) {
        (Some(r), false) => raw
            .iter()
            .map(|chain| {
                chain
                    .iter()
                    .map(|flat| {
                        let p = Params::from_flat(model, flat);
                        let perm = match_labels(model, &p, r, &spread);
                        if perm.iter().enumerate().any(|(i, &v)| i != v) {
                            permuted += 1;
                        }
                        p.permuted(model, &perm).flat()
                    })
                    .collect()
            })
            .collect(),
        _ => raw.clone(),
    };
    let names = model.constrained_names();
    let summary: Vec<(String, ParamSummary)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let per_chain: Vec<Vec<f64>> = draws
                .iter()
                .map(|c| c.iter().map(|d| d[i]).collect())
                .collect();
            (name.clone(), summarize(&per_chain))
        })
        .chain(correlation_summary(model, &draws))
        .collect();
    let chain_stats: Vec<ChainStats> = chains
        .iter()
        .map(|c| {
            let n = c.draws.len() as f64;
            ChainStats {
                divergences: c.divergent.iter().filter(|d| **d).count(),
                mean_tree_depth: c.tree_depth.iter().sum::<u64>() as f64 / n,
                step_size: c.step_size.last().copied().unwrap_or(f64::NAN),
                mean_leapfrog: c.n_leapfrog.iter().sum::<u64>() as f64 / n,
                mean_accept: c.accept.iter().sum::<f64>() / n,
            }
        })
        .collect();
    let divergences = chain_stats.iter().map(|c| c.divergences).sum();
    // one line per kind of trouble: stuck chains, R-hat, ESS, divergences
    let checks: Vec<ChainCheck> = draws
        .iter()
        .zip(&chain_stats)
        .map(|(d, st)| ChainCheck::of(d, st.mean_accept))
        .collect();
    let mut warnings = sampling_warnings(&summary, &checks, target_accept, divergences);
    if evidence.is_none() && draws.len() > 1 && draws.iter().all(|c| !c.is_empty()) {
        // NUTS chains in different modes (SMC's runs each hold every mode)
        let mean_logp: Vec<f64> = chains
            .iter()
            .map(|c| c.logp.iter().sum::<f64>() / c.logp.len() as f64)
            .collect();
        if let Some(w) = crate::diagnostics::modes_warning(&names, &draws, &mean_logp) {
            warnings.push(w);
        }
    }
    if let Some(why) = degenerate {
        warnings.push(format!(
            "{why}; the chains started from the prior, and the draws are labelled by the search's end point"
        ));
    }
    let interrupted = chains
        .iter()
        .any(|c| c.stopped_at.is_some())
        .then(|| (chains[0].draws.len(), opts.nuts.draws));
    if let Some((kept, asked)) = interrupted {
        warnings.insert(
            0,
            format!(
                "INCOMPLETE: sampling was stopped early; {kept} of {asked} draws per chain kept, and the summary is of these alone"
            ),
        );
    }
    Ok(Posterior {
        names,
        draws,
        raw_draws: raw,
        chains,
        relabelled: permuted > 0,
        relabelled_share: permuted as f64 / total.max(1) as f64,
        reference,
        summary,
        chain_stats,
        divergences,
        warnings,
        interrupted,
        evidence,
    })
}

/// The mean-field Gaussian variational posterior (Pyro's `AutoNormal` + `Trace_ELBO`) on the
/// unconstrained space, started from the MAP, returned as one chain of draws so that every
/// summary, output and predictive works on it as on NUTS draws: the engine behind
/// [`crate::vi()`].
pub fn vi_posterior(
    model: &Model,
    data: &Data,
    opts: &crate::vi::ViOptions,
) -> Result<(Posterior, crate::vi::ViResult)> {
    let opts = &opts.validate()?;
    check_data(model, data)?;
    // as in `run`: the same result however the rows are ordered
    let data = &*data.canonical();
    // VI is a Gaussian around its start's neighbourhood: from a collapsed point it would
    // describe the collapse, so where the MAP does not exist it says so
    let (map, degenerate) = reference_map(model, data, opts.seed)?;
    if let Some(why) = degenerate {
        return Err(crate::Error::Unbounded(format!(
            "{why}; VI starts from the MAP, so it cannot run here (the posterior is proper: sample it with NUTS)"
        )));
    }
    // on coordinates of the data's scale (see [`Rescaled`]), mapped back
    let std = Standardised::of(model, data)?;
    let dens = Rescaled::new(model, data, std.as_ref());
    vi_mapped(model, &dens, dens.map(), &map.params, opts)
}

/// Lower level: mean-field VI of any log density of `model`'s parameters (e.g. a minibatch
/// estimate), started at `start`; the draws' `lp__` is `dens` at each draw.
pub fn vi_posterior_of<L: LogDensity + ?Sized>(
    model: &Model,
    dens: &L,
    start: &Params,
    opts: &crate::vi::ViOptions,
) -> Result<(Posterior, crate::vi::ViResult)> {
    vi_mapped(model, dens, Reparam::identity(), start, opts)
}

/// [`vi_posterior_of`] of a density on the engines' coordinates `y` of `map`: the guide is
/// fitted on `y` (where a mean-field Gaussian is one on `x` too, the map being diagonal and
/// affine) and mapped back to the model's coordinates, with its ELBO (`dens` being the
/// model's density at `x(y)`, the guide's entropy on `x` is `Σ ln b` more).
fn vi_mapped<L: LogDensity + ?Sized>(
    model: &Model,
    dens: &L,
    map: Reparam<'_>,
    start: &Params,
    opts: &crate::vi::ViOptions,
) -> Result<(Posterior, crate::vi::ViResult)> {
    let t = Transform::new(model);
    let mut res = crate::vi::fit_vi(dens, &map.to_engine(&t.pack(start)), &opts.validate()?)?;
    let mut grad = vec![0.0; dens.dim()];
    let n = res.draws.len();
    let logp = res
        .draws
        .iter()
        .map(|x| dens.logp_grad(x, &mut grad))
        .collect();
    if !map.is_identity() {
        res.mean = map.to_model(&res.mean);
        for (i, sd) in res.sd.iter_mut().enumerate() {
            *sd *= map.scale(i);
        }
        for x in &mut res.draws {
            *x = map.to_model(x);
        }
        let ln_det = map.ln_det();
        for e in &mut res.elbo {
            *e += ln_det;
        }
    }
    let chain = ChainOutput {
        logp,
        draws: res.draws.clone(),
        step_size: vec![0.0; n],
        n_leapfrog: vec![0; n],
        tree_depth: vec![0; n],
        divergent: vec![false; n],
        accept: vec![f64::NAN; n],
        energy: vec![f64::NAN; n],
        warmup_divergences: 0,
        stopped_at: None,
    };
    let draws: Vec<Vec<Vec<f64>>> = vec![res.draws.iter().map(|x| t.params(x).flat()).collect()];
    let names = model.constrained_names();
    let summary = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let col: Vec<Vec<f64>> = vec![draws[0].iter().map(|d| d[i]).collect()];
            (name.clone(), summarize(&col))
        })
        .chain(correlation_summary(model, &draws))
        .collect();
    let post = Posterior {
        names,
        raw_draws: draws.clone(),
        draws,
        chains: vec![chain],
        relabelled: false,
        relabelled_share: 0.0,
        reference: Some(start.clone()),
        summary,
        chain_stats: vec![ChainStats {
            divergences: 0,
            mean_tree_depth: 0.0,
            step_size: 0.0,
            mean_leapfrog: 0.0,
            mean_accept: f64::NAN,
        }],
        divergences: 0,
        warnings: if res.skipped > 0 {
            vec![format!(
                "{} Monte Carlo draws had a non-finite density and were skipped",
                res.skipped
            )]
        } else {
            vec![]
        },
        interrupted: None,
        evidence: None,
    };
    Ok((post, res))
}

/// Posterior assignment probabilities, and sampled assignments per draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PosteriorAssignments {
    /// `probs[n][k]`: average over draws of `p(z_n = k | x_n, θ_s)`.
    pub probs: Vec<Vec<f64>>,
    /// `sampled[s][n]`: an assignment drawn for every point at every draw (empty unless asked).
    pub sampled: Vec<Vec<usize>>,
}

/// Posterior assignment probabilities of every point: the average over the (relabelled)
/// draws of each draw's responsibilities, `p(z_n = k | x) ≈ (1/S) Σ_s p(z_n = k | x_n, θ_s)`.
/// Also one sampled assignment per point and draw (temperature 1), when `sampled` is set:
/// `sampled[s][n]`, over the draws of all chains in order, seeded by `seed`.
pub fn assignment_probabilities(
    model: &Model,
    data: &Data,
    post: &Posterior,
    sampled: bool,
    seed: u64,
) -> Result<PosteriorAssignments> {
    let draws: Vec<Params> = post
        .draws
        .iter()
        .flatten()
        .map(|flat| Params::from_flat(model, flat))
        .collect();
    assignment_probabilities_of(model, data, &draws, sampled, seed)
}

/// [`assignment_probabilities`] over any list of parameter draws (e.g. read back from a run).
pub fn assignment_probabilities_of(
    model: &Model,
    data: &Data,
    draws: &[Params],
    sampled: bool,
    seed: u64,
) -> Result<PosteriorAssignments> {
    use crate::classify::{classify, Temperature};
    let mut mean = vec![vec![0.0; model.k]; data.n()];
    let mut draws_z = Vec::new();
    for (s, p) in draws.iter().enumerate() {
        let t = if sampled {
            Temperature::One
        } else {
            Temperature::Zero
        };
        let c = classify(model, p, data, t, seed.wrapping_add(s as u64))?;
        for (m, row) in mean.iter_mut().zip(&c.probs) {
            for (a, b) in m.iter_mut().zip(row) {
                *a += b;
            }
        }
        if sampled {
            draws_z.push(c.assignments);
        }
    }
    for row in &mut mean {
        row.iter_mut().for_each(|v| *v /= draws.len().max(1) as f64);
    }
    Ok(PosteriorAssignments {
        probs: mean,
        sampled: draws_z,
    })
}

/// The correlations of full and tied covariances, summarised beside the parameters:
/// `corr[k,i,j]` for i > j (tied: `corr[i,j]`), from each draw's covariance. The sampler's
/// coordinates are the correlation's Cholesky factor (`corr_chol`); the correlations are what
/// a user reads. Empty for the diagonal family.
fn correlation_summary(model: &Model, draws: &[Vec<Vec<f64>>]) -> Vec<(String, ParamSummary)> {
    if !model.family.is_covariance() {
        return Vec::new();
    }
    let (d, blocks) = (model.d, model.family.n_blocks(model.k));
    // per chain, per draw: every block's correlation matrix
    let corr: Vec<Vec<Vec<f64>>> = draws
        .iter()
        .map(|c| {
            c.iter()
                .map(|flat| {
                    let p = Params::from_flat(model, flat);
                    (0..blocks)
                        .flat_map(|b| {
                            model
                                .family
                                .correlation(&p.scales, b, d)
                                .unwrap_or_else(|| vec![f64::NAN; d * d])
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    for b in 0..blocks {
        for i in 1..d {
            for j in 0..i {
                let at = b * d * d + i * d + j;
                let per_chain: Vec<Vec<f64>> = corr
                    .iter()
                    .map(|c| c.iter().map(|r| r[at]).collect())
                    .collect();
                let name = if blocks < model.k {
                    format!("corr[{i},{j}]")
                } else {
                    format!("corr[{b},{i},{j}]")
                };
                out.push((name, summarize(&per_chain)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hungarian_finds_the_optimal_assignment() {
        // brute force over all 4! permutations
        let cost = vec![
            vec![4.0, 1.0, 3.0, 2.0],
            vec![2.0, 0.0, 5.0, 3.0],
            vec![3.0, 2.0, 2.0, 4.0],
            vec![1.0, 3.0, 4.0, 0.5],
        ];
        let perm = hungarian(&cost);
        let total = |p: &[usize]| p.iter().enumerate().map(|(i, &j)| cost[i][j]).sum::<f64>();
        let mut best = f64::INFINITY;
        let mut p = [0usize, 1, 2, 3];
        // Heap's algorithm, iteratively
        let mut c = [0usize; 4];
        best = best.min(total(&p));
        let mut i = 0;
        while i < 4 {
            if c[i] < i {
                if i % 2 == 0 {
                    p.swap(0, i);
                } else {
                    p.swap(c[i], i);
                }
                best = best.min(total(&p));
                c[i] += 1;
                i = 0;
            } else {
                c[i] = 0;
                i += 1;
            }
        }
        assert_eq!(total(&perm), best);
        let mut seen = perm.clone();
        seen.sort();
        assert_eq!(seen, vec![0, 1, 2, 3]);
    }
}
