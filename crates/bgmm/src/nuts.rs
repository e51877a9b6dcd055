//! NUTS on any [`LogDensity`], through the nuts-rs crate (the sampler behind nutpie):
//! step-size and diagonal mass-matrix adaptation during warmup, one thread per chain. Each
//! chain's random stream is fixed by (seed, chain index), so the draws do not depend on how
//! many threads run them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chacha20::ChaCha8Rng;
use nuts_rs::{
    Chain, CpuLogpFunc, CpuMath, CpuMathError, DiagNutsSettings, HasDims, LogpError,
    LowRankNutsSettings, Settings, Storable, Value,
};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::density::LogDensity;
use crate::error::{Error, Result};
use crate::limits::{at_most, MAX_CHAINS, MAX_DRAWS, MAX_WARMUP};
use crate::options::{check, Checked};

/// A request to stop sampling early, shared between the sampler and whoever asks (a Ctrl-C
/// handler, a progress callback). Each chain stops before its next iteration; the draws kept so
/// far are returned, every chain cut to the same length.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// A new signal, not raised.
    pub fn new() -> Self {
        Self::default()
    }
    /// Ask the sampler to stop.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether a stop was asked for.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl PartialEq for StopSignal {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Options of the NUTS chains of [`crate::sample`].
#[derive(Debug, Clone, PartialEq)]
pub struct NutsOptions {
    /// Number of chains.
    pub chains: usize,
    /// Warmup (tuning) iterations per chain, discarded.
    pub warmup: u64,
    /// Kept draws per chain.
    pub draws: u64,
    /// Seed; chain `c` uses stream `c + 1` of ChaCha8 under it.
    pub seed: u64,
    /// Target acceptance rate of the step-size adaptation.
    pub target_accept: f64,
    /// Maximum tree depth (at most 2^depth leapfrog steps).
    pub max_depth: u64,
    /// Adapt a low-rank plus diagonal mass matrix (nutpie's) instead of a diagonal one: for
    /// posteriors with strong correlations.
    pub low_rank: bool,
    /// Stop early when raised: the chains keep the draws made so far (see [`crate::sample`]).
    pub stop: Option<StopSignal>,
}

impl Default for NutsOptions {
    fn default() -> Self {
        NutsOptions {
            chains: 4,
            warmup: 1000,
            draws: 1000,
            seed: 0,
            target_accept: 0.8,
            max_depth: 10,
            low_rank: false,
            stop: None,
        }
    }
}

impl NutsOptions {
    /// Check every field (`chains`, `draws`, `target_accept`, `max_depth`); an invalid one is
    /// an [`Error::InvalidOption`] naming it.
    pub fn validate(&self) -> Result<Checked<NutsOptions>> {
        let bad = |option, message: String| Err(Error::option("NutsOptions", option, message));
        if let Some(m) = check::at_least_one(self.chains as u64) {
            return bad("chains", m);
        }
        if let Some(m) = at_most(self.chains as u64, MAX_CHAINS as u64) {
            return bad("chains", m);
        }
        if self.draws < 4 {
            return bad("draws", format!("must be at least 4, got {}", self.draws));
        }
        if let Some(m) = at_most(self.draws, MAX_DRAWS) {
            return bad("draws", m);
        }
        if let Some(m) = at_most(self.warmup, MAX_WARMUP) {
            return bad("warmup", m);
        }
        if !(self.target_accept > 0.0 && self.target_accept < 1.0) {
            return bad(
                "target_accept",
                format!("must be in (0, 1), got {}", self.target_accept),
            );
        }
        if !(1..=30).contains(&self.max_depth) {
            return bad(
                "max_depth",
                format!("must be in 1..=30, got {}", self.max_depth),
            );
        }
        Ok(Checked::new(self.clone()))
    }
}

/// What one chain produced. Serde: the per-draw statistics that may be NaN (a VI "chain" has
/// no acceptance or energy) are written as `"NaN"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainOutput {
    /// Kept draws on the unconstrained space, one vector per draw.
    pub draws: Vec<Vec<f64>>,
    /// Log density at each kept draw.
    #[serde(with = "crate::options::float::vec")]
    pub logp: Vec<f64>,
    /// Step size of each kept draw.
    #[serde(with = "crate::options::float::vec")]
    pub step_size: Vec<f64>,
    /// Leapfrog steps of each kept draw.
    pub n_leapfrog: Vec<u64>,
    /// Tree depth of each kept draw.
    pub tree_depth: Vec<u64>,
    /// Whether each kept draw's trajectory diverged.
    pub divergent: Vec<bool>,
    /// Mean acceptance probability over each kept draw's tree.
    #[serde(with = "crate::options::float::vec")]
    pub accept: Vec<f64>,
    /// Hamiltonian energy at each kept draw.
    #[serde(with = "crate::options::float::vec")]
    pub energy: Vec<f64>,
    /// Divergences during warmup (not counted against the posterior).
    pub warmup_divergences: usize,
    /// The iteration (warmup included) before which the chain was stopped by
    /// [`NutsOptions::stop`], if it was.
    pub stopped_at: Option<u64>,
}

impl ChainOutput {
    /// Keep the first `n` draws.
    fn truncate(&mut self, n: usize) {
        self.draws.truncate(n);
        self.logp.truncate(n);
        self.step_size.truncate(n);
        self.n_leapfrog.truncate(n);
        self.tree_depth.truncate(n);
        self.divergent.truncate(n);
        self.accept.truncate(n);
        self.energy.truncate(n);
    }
}

/// Progress of one chain, reported after every iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Chain index.
    pub chain: usize,
    /// Iterations done (warmup included).
    pub done: u64,
    /// Iterations in all.
    pub total: u64,
    /// Still in warmup.
    pub tuning: bool,
    /// Current step size.
    pub step_size: f64,
    /// Divergences among the kept draws so far.
    pub divergences: usize,
    /// Mean tree acceptance of this iteration.
    pub accept: f64,
}

#[derive(Debug, thiserror::Error)]
#[error("log density is not finite")]
struct NonFinite;

impl LogpError for NonFinite {
    fn is_recoverable(&self) -> bool {
        true
    }
}

struct Adapter<'a, L: LogDensity + ?Sized> {
    dens: &'a L,
}

impl<L: LogDensity + ?Sized> HasDims for Adapter<'_, L> {
    fn dim_sizes(&self) -> HashMap<String, u64> {
        [(
            "unconstrained_parameter".to_string(),
            self.dens.dim() as u64,
        )]
        .into_iter()
        .collect()
    }
}

impl<L: LogDensity + ?Sized> CpuLogpFunc for Adapter<'_, L> {
    type LogpError = NonFinite;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        self.dens.dim()
    }

    fn logp(&mut self, position: &[f64], grad: &mut [f64]) -> std::result::Result<f64, NonFinite> {
        let lp = self.dens.logp_grad(position, grad);
        if lp.is_finite() && grad.iter().all(|g| g.is_finite()) {
            Ok(lp)
        } else {
            Err(NonFinite)
        }
    }

    fn expand_vector<R: rand::Rng + ?Sized>(
        &mut self,
        _rng: &mut R,
        array: &[f64],
    ) -> std::result::Result<Vec<f64>, CpuMathError> {
        Ok(array.to_vec())
    }
}

/// The RNG of chain `c` under `seed`.
pub fn chain_rng(seed: u64, c: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(c as u64 + 1);
    rng
}

fn run_chain<L: LogDensity + ?Sized>(
    dens: &L,
    init: &[f64],
    c: usize,
    opts: &NutsOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ChainOutput> {
    // the diagonal and the low-rank settings are different types with the same fields
    macro_rules! configured {
        ($t:ty) => {{
            let mut settings = <$t>::default();
            settings.num_tune = opts.warmup;
            settings.num_draws = opts.draws;
            settings.maxdepth = opts.max_depth;
            settings.num_chains = opts.chains;
            settings.seed = opts.seed;
            settings.adapt_options.step_size_settings.target_accept = opts.target_accept;
            settings
        }};
    }
    if opts.low_rank {
        run_with(
            configured!(LowRankNutsSettings),
            dens,
            init,
            c,
            opts,
            progress,
        )
    } else {
        run_with(configured!(DiagNutsSettings), dens, init, c, opts, progress)
    }
}

fn run_with<S: Settings, L: LogDensity + ?Sized>(
    settings: S,
    dens: &L,
    init: &[f64],
    c: usize,
    opts: &NutsOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ChainOutput> {
    let math = CpuMath::new(Adapter { dens });
    let mut rng = chain_rng(opts.seed, c);
    let mut chain = settings
        .new_chain(c as u64, math, &mut rng)
        .map_err(|e| Error::Numerical(format!("chain {c}: cannot start NUTS: {e}")))?;
    chain
        .set_position(init)
        .map_err(|e| Error::Numerical(format!("chain {c}: bad initial point: {e}")))?;
    let total = opts.warmup + opts.draws;
    // capacity for the draws asked, up to a bound: a long run that is stopped early (or a
    // huge `draws`) must not reserve memory it never uses
    let n = (opts.draws as usize).min(1 << 16);
    let mut out = ChainOutput {
        draws: Vec::with_capacity(n),
        logp: Vec::with_capacity(n),
        step_size: Vec::with_capacity(n),
        n_leapfrog: Vec::with_capacity(n),
        tree_depth: Vec::with_capacity(n),
        divergent: Vec::with_capacity(n),
        accept: Vec::with_capacity(n),
        energy: Vec::with_capacity(n),
        warmup_divergences: 0,
        stopped_at: None,
    };
    for i in 0..total {
        if opts.stop.as_ref().is_some_and(StopSignal::is_raised) {
            out.stopped_at = Some(i);
            break;
        }
        let (draw, _, mut stats, info) = chain
            .expanded_draw()
            .map_err(|e| Error::Numerical(format!("chain {c}, iteration {i}: {e}")))?;
        let (mut accept, mut energy, mut logp) = (f64::NAN, f64::NAN, f64::NAN);
        {
            let math = chain.math();
            for (name, value) in stats.get_all(&(&*math).into()) {
                match (name, value) {
                    ("mean_tree_accept", Some(Value::ScalarF64(v))) => accept = v,
                    ("energy", Some(Value::ScalarF64(v))) => energy = v,
                    ("logp", Some(Value::ScalarF64(v))) => logp = v,
                    _ => {}
                }
            }
        }
        if i < opts.warmup {
            out.warmup_divergences += info.diverging as usize;
        } else {
            debug_assert!(
                (logp - dens.logp_grad(&draw, &mut vec![0.0; dens.dim()])).abs()
                    < 1e-8 * logp.abs().max(1.0)
            );
            out.logp.push(logp);
            out.draws.push(draw.to_vec());
            out.step_size.push(info.step_size);
            out.n_leapfrog.push(info.num_steps);
            // a tree of depth d has at most 2^d − 1 leapfrog steps
            out.tree_depth
                .push(64 - info.num_steps.leading_zeros() as u64);
            out.divergent.push(info.diverging);
            out.accept.push(accept);
            out.energy.push(energy);
        }
        progress(Progress {
            chain: c,
            done: i + 1,
            total,
            tuning: i < opts.warmup,
            step_size: info.step_size,
            divergences: out.divergent.iter().filter(|d| **d).count(),
            accept,
        });
    }
    Ok(out)
}

/// Run `opts.chains` NUTS chains from the initial points `inits` (one per chain), each on
/// its own thread. `progress` is called from the chains' threads after every iteration.
///
/// When [`NutsOptions::stop`] is raised, every chain stops before its next iteration and the
/// chains are cut to the shortest one's kept draws, so that they stay comparable; each draw
/// kept is the one an uninterrupted run makes. Stopped before any chain finished warmup (fewer
/// than 4 draws each), it is an [`Error::Interrupted`].
pub fn sample<L: LogDensity + ?Sized>(
    dens: &L,
    inits: &[Vec<f64>],
    opts: &Checked<NutsOptions>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Vec<ChainOutput>> {
    if inits.len() != opts.chains || inits.iter().any(|x| x.len() != dens.dim()) {
        return Err(Error::Params(format!(
            "need {} initial points of dimension {}",
            opts.chains,
            dens.dim()
        )));
    }
    // each kept draw: its point, and eight statistics
    let per_draw = (dens.dim() as u128 + 8) * 8 + 32;
    let draws = opts.chains as u128 * opts.draws as u128;
    crate::limits::probe(
        draws * per_draw,
        || {
            format!(
                "{} chains of {} draws of {} parameters",
                opts.chains,
                opts.draws,
                dens.dim()
            )
        },
        Some(("NutsOptions", "draws")),
    )?;
    let results: Vec<Result<ChainOutput>> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        let mut failed = None;
        for c in 0..opts.chains {
            let init = &inits[c];
            let spawned = std::thread::Builder::new()
                .name(format!("chain-{c}"))
                .spawn_scoped(s, move || run_chain(dens, init, c, opts, progress));
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // the chains started stop at their next iteration
                    if let Some(stop) = &opts.stop {
                        stop.raise();
                    }
                    failed = Some(Error::option(
                        "NutsOptions",
                        "chains",
                        format!(
                            "{}: cannot start the thread of chain {c} ({e}); use fewer chains",
                            opts.chains
                        ),
                    ));
                    break;
                }
            }
        }
        let joined: Vec<Result<ChainOutput>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Numerical("a chain's thread panicked".into())))
            })
            .collect();
        match failed {
            Some(e) => vec![Err(e)],
            None => joined,
        }
    });
    let mut chains: Vec<ChainOutput> = results.into_iter().collect::<Result<_>>()?;
    if chains.iter().any(|c| c.stopped_at.is_some()) {
        let kept = chains.iter().map(|c| c.draws.len()).min().unwrap_or(0);
        if kept < 4 {
            let at = chains
                .iter()
                .map(|c| c.stopped_at.unwrap_or(opts.warmup + opts.draws))
                .min()
                .unwrap_or(0);
            return Err(Error::Interrupted(format!(
                "sampling stopped at iteration {at} of {} ({} warmup): fewer than 4 draws after warmup in every chain, nothing to keep",
                opts.warmup + opts.draws,
                opts.warmup
            )));
        }
        for c in &mut chains {
            c.truncate(kept);
        }
    }
    Ok(chains)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A correlated 2-D Gaussian: mean (1, −2), sds (1, 3), correlation 0.5.
    struct Gauss;
    impl LogDensity for Gauss {
        fn dim(&self) -> usize {
            2
        }
        fn logp_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
            let (a, b) = ((x[0] - 1.0) / 1.0, (x[1] + 2.0) / 3.0);
            let r = 0.5;
            let q = (a * a - 2.0 * r * a * b + b * b) / (1.0 - r * r);
            g[0] = -(a - r * b) / (1.0 - r * r);
            g[1] = -(b - r * a) / (1.0 - r * r) / 3.0;
            -0.5 * q
        }
        fn constrain(&self, x: &[f64]) -> Vec<f64> {
            x.to_vec()
        }
        fn names(&self) -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
    }

    #[test]
    fn samples_a_gaussian_and_is_reproducible() {
        let opts = NutsOptions {
            chains: 2,
            warmup: 500,
            draws: 2000,
            seed: 7,
            ..NutsOptions::default()
        };
        let inits = vec![vec![0.0, 0.0], vec![3.0, 3.0]];
        let out = sample(&Gauss, &inits, &opts.validate().unwrap(), &|_| {}).unwrap();
        let all: Vec<&Vec<f64>> = out.iter().flat_map(|c| c.draws.iter()).collect();
        let n = all.len() as f64;
        let m0 = all.iter().map(|d| d[0]).sum::<f64>() / n;
        let m1 = all.iter().map(|d| d[1]).sum::<f64>() / n;
        let v1 = all.iter().map(|d| (d[1] - m1).powi(2)).sum::<f64>() / n;
        // 4000 draws with ESS > 1000: MC error of the means ≤ 0.03 and 0.1
        assert!((m0 - 1.0).abs() < 0.15, "{m0}");
        assert!((m1 + 2.0).abs() < 0.45, "{m1}");
        assert!((v1.sqrt() / 3.0 - 1.0).abs() < 0.1, "{v1}");
        // the step size adaptation reaches the target acceptance (0.8) on average
        let acc: Vec<f64> = out.iter().flat_map(|c| c.accept.iter().copied()).collect();
        let mean_acc = acc.iter().sum::<f64>() / acc.len() as f64;
        assert!((mean_acc - 0.8).abs() < 0.1, "mean acceptance {mean_acc}");
        assert!(out.iter().all(|c| c.energy.iter().all(|e| e.is_finite())));
        let again = sample(&Gauss, &inits, &opts.validate().unwrap(), &|_| {}).unwrap();
        assert_eq!(out, again);
        // the low-rank mass matrix samples the same distribution
        let lr = NutsOptions {
            low_rank: true,
            ..opts
        };
        let out = sample(&Gauss, &inits, &lr.validate().unwrap(), &|_| {}).unwrap();
        let all: Vec<&Vec<f64>> = out.iter().flat_map(|c| c.draws.iter()).collect();
        let m1 = all.iter().map(|d| d[1]).sum::<f64>() / all.len() as f64;
        assert!((m1 + 2.0).abs() < 0.45, "{m1}");
    }

    #[test]
    fn a_raised_stop_keeps_the_draws_an_uninterrupted_run_makes() {
        let full = NutsOptions {
            chains: 2,
            warmup: 200,
            draws: 300,
            seed: 3,
            ..NutsOptions::default()
        };
        let inits = vec![vec![0.0, 0.0], vec![3.0, 3.0]];
        let whole = sample(&Gauss, &inits, &full.validate().unwrap(), &|_| {}).unwrap();
        assert!(whole.iter().all(|c| c.stopped_at.is_none()));

        // one chain, stopped from its progress callback after its 10th kept draw: exactly 10
        let stop = StopSignal::new();
        let one = NutsOptions {
            chains: 1,
            stop: Some(stop.clone()),
            ..full.clone()
        };
        let raise_at = |p: Progress| {
            if p.done == 200 + 10 {
                stop.raise();
            }
        };
        let cut = sample(&Gauss, &inits[..1], &one.validate().unwrap(), &raise_at).unwrap();
        assert_eq!(cut[0].stopped_at, Some(210));
        assert_eq!(cut[0].draws.len(), 10);
        assert_eq!(cut[0].draws[..], whole[0].draws[..10]);
        assert_eq!(cut[0].logp[..], whole[0].logp[..10]);
        assert_eq!(cut[0].energy.len(), 10);

        // two chains, stopped once both have at least 5 draws: cut to the same length, and
        // each a prefix of its uninterrupted chain
        let stop = StopSignal::new();
        let two = NutsOptions {
            stop: Some(stop.clone()),
            ..full.clone()
        };
        let done: [std::sync::atomic::AtomicU64; 2] = Default::default();
        let raise_when_both = |p: Progress| {
            done[p.chain].store(p.done, Ordering::SeqCst);
            if done.iter().all(|d| d.load(Ordering::SeqCst) >= 205) {
                stop.raise();
            }
        };
        let cut = sample(&Gauss, &inits, &two.validate().unwrap(), &raise_when_both).unwrap();
        let kept = cut[0].draws.len();
        assert!((5..300).contains(&kept), "{kept}");
        for (c, w) in cut.iter().zip(&whole) {
            assert_eq!(c.draws.len(), kept);
            assert_eq!(c.divergent.len(), kept);
            assert_eq!(c.draws[..], w.draws[..kept]);
        }

        // stopped before any draw is kept: an error that says so
        let stop = StopSignal::new();
        stop.raise();
        let early = NutsOptions {
            stop: Some(stop),
            ..full
        };
        match sample(&Gauss, &inits, &early.validate().unwrap(), &|_| {}) {
            Err(Error::Interrupted(m)) => {
                assert!(m.contains("stopped at iteration 0 of 500"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
}
