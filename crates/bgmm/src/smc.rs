//! Sequential Monte Carlo with adaptive tempering: an engine for posteriors with several modes,
//! and for the evidence `p(x)`.
//!
//! Particles drawn from the prior are carried through the tempered densities
//! `π_β ∝ prior · likelihood^β` from β = 0 to 1 (Del Moral, Doucet & Jasra 2006). Each step:
//! 1. the next β is the one at which the incremental weights `likelihood^(β' − β)` keep an
//!    effective sample size of `ess_ratio` of the particles (bisection; 1 where that allows);
//! 2. the log mean weight is added to the log evidence (the product of the mean weights is an
//!    unbiased estimate of `p(x)`), and the particles are resampled (systematic resampling);
//! 3. every particle is moved by Hamiltonian Monte Carlo sweeps that leave `π_β` invariant
//!    (Buchholz, Chopin & Jacob 2021): the inverse mass matrix is diagonal, per coordinate
//!    `√(Var x / Var g)` over the particles' points and gradients (nutpie's estimate: the
//!    particles' own variance overstates a mode's scale by far when they spread over several
//!    modes, or over the K! labellings of a mixture), the step size is adapted between sweeps
//!    towards `target_accept`, each trajectory is `trajectory` long in those units, and sweeps
//!    repeat until nearly every particle has moved (the product of `1 − mean acceptance` below
//!    1 %), at least `min_sweeps` and at most `max_sweeps`.
//!
//! Particles from the prior see every mode, and the reweighting keeps each mode's share, so
//! the final particles are a sample of the whole posterior, however far apart its modes lie.
//! Independent runs give the evidence's Monte Carlo error; the log of their mean evidence is
//! the estimate reported.
//!
//! Every random number comes from a stream named by (seed, run, step, particle), and every sum
//! over particles is taken in particle order, so a seed gives the same bits on any number of
//! threads.

use chacha20::ChaCha8Rng;
use rand::{Rng, RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::density::Tempered;
use crate::error::{Error, Result};
use crate::limits::{at_most, MAX_CHAINS, MAX_DRAWS};
use crate::loo::log_sum_exp;
use crate::nuts::{chain_rng, ChainOutput, Progress, StopSignal};
use crate::options::{check, Checked};

/// Tempering steps allowed before a run gives up.
const MAX_STEPS: usize = 10_000;
/// Most leapfrog steps in one trajectory.
const MAX_LEAPFROG: usize = 256;
/// An energy error above this is a divergence (rejected and counted).
const DIVERGENCE: f64 = 1000.0;

/// Options of the SMC engine.
#[derive(Debug, Clone, PartialEq)]
pub struct SmcOptions {
    /// Independent runs (their spread gives the evidence's Monte Carlo error; each run's
    /// particles are reported as one chain).
    pub runs: usize,
    /// Particles per run.
    pub particles: usize,
    /// Seed; run `r` uses stream `r + 1` of ChaCha8 under it.
    pub seed: u64,
    /// Share of the particles' effective sample size each tempering step keeps, in (0, 1).
    pub ess_ratio: f64,
    /// Acceptance the HMC step size is adapted towards, in (0, 1).
    pub target_accept: f64,
    /// Length of an HMC trajectory (step size × leapfrog steps), in units of the particles'
    /// standard deviation per coordinate.
    pub trajectory: f64,
    /// Fewest HMC sweeps per step.
    pub min_sweeps: usize,
    /// Most HMC sweeps per step.
    pub max_sweeps: usize,
    /// Stop when raised (between steps; the run then fails with [`Error::Interrupted`]: a
    /// tempering run has no posterior draws before β = 1).
    pub stop: Option<StopSignal>,
}

impl Default for SmcOptions {
    fn default() -> Self {
        SmcOptions {
            runs: 4,
            particles: 1000,
            seed: 0,
            ess_ratio: 0.5,
            target_accept: 0.8,
            trajectory: 1.5,
            min_sweeps: 6,
            max_sweeps: 50,
            stop: None,
        }
    }
}

impl SmcOptions {
    /// Check every field; an invalid one is an [`Error::InvalidOption`] naming it.
    pub fn validate(&self) -> Result<Checked<SmcOptions>> {
        let bad = |option, message: String| Err(Error::option("SmcOptions", option, message));
        if let Some(m) = check::at_least_one(self.runs as u64)
            .or_else(|| at_most(self.runs as u64, MAX_CHAINS as u64))
        {
            return bad("runs", m);
        }
        if self.particles < 10 {
            return bad(
                "particles",
                format!("must be at least 10, got {}", self.particles),
            );
        }
        if let Some(m) = at_most(self.particles as u64, MAX_DRAWS) {
            return bad("particles", m);
        }
        for (name, v) in [
            ("ess_ratio", self.ess_ratio),
            ("target_accept", self.target_accept),
        ] {
            if !(v > 0.0 && v < 1.0) {
                return bad(name, format!("must be in (0, 1), got {v}"));
            }
        }
        if !(self.trajectory > 0.0 && self.trajectory <= 100.0) {
            return bad(
                "trajectory",
                format!("must be in (0, 100], got {}", self.trajectory),
            );
        }
        if self.min_sweeps == 0 {
            return bad("min_sweeps", "must be at least 1".into());
        }
        if self.max_sweeps < self.min_sweeps || self.max_sweeps > 10_000 {
            return bad(
                "max_sweeps",
                format!(
                    "must be in min_sweeps..=10000 ({}..=10000), got {}",
                    self.min_sweeps, self.max_sweeps
                ),
            );
        }
        Ok(Checked::new(self.clone()))
    }
}

/// One tempering step of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmcStep {
    /// The inverse temperature reached.
    pub beta: f64,
    /// Effective sample size of the reweighted particles, as a share of the particles.
    pub ess: f64,
    /// This step's term of the log evidence: the log mean incremental weight.
    pub log_weight: f64,
    /// HMC sweeps made.
    pub sweeps: usize,
    /// Leapfrog steps per trajectory.
    pub leapfrog: usize,
    /// Step size of the last sweep (in units of the particles' standard deviation).
    pub step_size: f64,
    /// Mean acceptance over the sweeps.
    pub accept: f64,
    /// Divergent trajectories over the sweeps.
    pub divergences: usize,
}

/// What one run found: its estimate of the log evidence and its steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmcRun {
    /// `log p(x)` by this run.
    pub log_evidence: f64,
    /// The tempering steps, β increasing to 1.
    pub steps: Vec<SmcStep>,
}

/// The evidence `log p(x)` (the marginal likelihood of the model: the prior's normalised
/// density times the likelihood, integrated over the parameters) from independent SMC runs.
/// Serde: a NaN `std_error` is written as `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The log of the runs' mean evidence (each run's is unbiased for `p(x)`).
    pub log_evidence: f64,
    /// Its Monte Carlo standard error: the standard deviation of the runs' log evidence over
    /// √runs (NaN with one run).
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub std_error: f64,
    /// Each run.
    pub runs: Vec<SmcRun>,
}

impl Evidence {
    /// Combine the runs' estimates.
    fn of(runs: Vec<SmcRun>) -> Evidence {
        let logs: Vec<f64> = runs.iter().map(|r| r.log_evidence).collect();
        let r = logs.len() as f64;
        let log_evidence = log_sum_exp(&logs) - r.ln();
        let std_error = if logs.len() < 2 {
            f64::NAN
        } else {
            let mean = logs.iter().sum::<f64>() / r;
            let var = logs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r - 1.0);
            (var / r).sqrt()
        };
        Evidence {
            log_evidence,
            std_error,
            runs,
        }
    }
}

/// The effective sample size of the weights `exp(logw)`: `(Σ w)² / Σ w²`.
fn ess(logw: &[f64]) -> f64 {
    let m = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (s1, s2) = logw.iter().fold((0.0, 0.0), |(a, b), v| {
        let w = (v - m).exp();
        (a + w, b + w * w)
    });
    s1 * s1 / s2
}

/// One particle: its point, prior and likelihood there, and the gradient of the current
/// tempered density.
#[derive(Debug, Clone)]
struct Particle {
    x: Vec<f64>,
    prior: f64,
    lik: f64,
    grad: Vec<f64>,
}

/// The RNG of particle `i` in a sweep whose seed is `seed`.
fn particle_rng(seed: u64, i: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(i as u64);
    rng
}

/// Run SMC on `dens`: one chain of `particles` draws per run (on `dens`'s unconstrained
/// space, the last step's particles) and the evidence. `progress` is called after every step
/// of every run (`done` / `total`: β in thousandths).
pub fn sample<T: Tempered + ?Sized>(
    dens: &T,
    opts: &Checked<SmcOptions>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Vec<ChainOutput>, Evidence)> {
    let out: Vec<(ChainOutput, SmcRun)> = (0..opts.runs)
        .into_par_iter()
        .map(|r| run(dens, opts, r, progress))
        .collect::<Result<_>>()?;
    let (chains, runs): (Vec<_>, Vec<_>) = out.into_iter().unzip();
    Ok((chains, Evidence::of(runs)))
}

/// The next inverse temperature after `beta` and the incremental log weights there: the
/// largest step keeping an effective sample size of `ratio` of the particles whose
/// likelihood is finite.
fn next_beta(lik: &[f64], beta: f64, ratio: f64) -> (f64, Vec<f64>) {
    let finite = lik.iter().filter(|v| v.is_finite()).count() as f64;
    let weights = |delta: f64| -> Vec<f64> {
        lik.iter()
            .map(|&l| {
                if l.is_finite() {
                    delta * l
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect()
    };
    let full = 1.0 - beta;
    let w = weights(full);
    if ess(&w) >= ratio * finite {
        return (1.0, w);
    }
    let (mut lo, mut hi) = (0.0, full);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if ess(&weights(mid)) >= ratio * finite {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // at least the smallest representable step, so that β always increases
    let delta = if lo > 0.0 { lo } else { hi };
    let next = if beta + delta >= 1.0 {
        1.0
    } else {
        beta + delta
    };
    (next, weights(next - beta))
}

/// Systematic resampling: `n` ancestor indices for the normalised weights of `logw`, by one
/// uniform `u` in [0, 1).
fn systematic(logw: &[f64], u: f64) -> Vec<usize> {
    let n = logw.len();
    let m = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = logw.iter().map(|v| (v - m).exp()).collect();
    let total: f64 = w.iter().sum();
    let mut out = Vec::with_capacity(n);
    let (mut cum, mut i) = (w[0] / total, 0usize);
    for j in 0..n {
        let t = (j as f64 + u) / n as f64;
        while t > cum && i + 1 < n {
            i += 1;
            cum += w[i] / total;
        }
        out.push(i);
    }
    out
}

/// One HMC move of `p` at inverse temperature `beta`: inverse mass `var`, `l` leapfrog steps
/// of `eps` jittered by ±20 %. Returns the acceptance probability and whether the trajectory
/// diverged.
fn hmc<T: Tempered + ?Sized>(
    dens: &T,
    p: &mut Particle,
    beta: f64,
    eps: f64,
    l: usize,
    var: &[f64],
    rng: &mut ChaCha8Rng,
) -> (f64, bool) {
    let eps = eps * rng.random_range(0.8..1.2);
    let mut mom: Vec<f64> = var
        .iter()
        .map(|v| rng.sample::<f64, _>(StandardNormal) / v.sqrt())
        .collect();
    let kinetic = |mom: &[f64]| 0.5 * mom.iter().zip(var).map(|(m, v)| m * m * v).sum::<f64>();
    let h0 = -(p.prior + beta * p.lik) + kinetic(&mom);
    let mut x = p.x.clone();
    let mut g = p.grad.clone();
    let (mut prior, mut lik) = (p.prior, p.lik);
    for _ in 0..l {
        for (m, gi) in mom.iter_mut().zip(&g) {
            *m += 0.5 * eps * gi;
        }
        for ((xi, m), v) in x.iter_mut().zip(&mom).zip(var) {
            *xi += eps * v * m;
        }
        (prior, lik) = dens.tempered_grad(&x, beta, &mut g);
        if !(lik.is_finite() && prior.is_finite()) {
            return (0.0, true);
        }
        for (m, gi) in mom.iter_mut().zip(&g) {
            *m += 0.5 * eps * gi;
        }
    }
    let h1 = -(prior + beta * lik) + kinetic(&mom);
    let dh = h1 - h0;
    if !dh.is_finite() || dh > DIVERGENCE {
        return (0.0, true);
    }
    let accept = (-dh).exp().min(1.0);
    if rng.random::<f64>() < accept {
        p.x = x;
        p.prior = prior;
        p.lik = lik;
        p.grad = g;
    }
    (accept, false)
}

/// The inverse mass matrix (diagonal) from the particles: per coordinate
/// `√(Var x / Var g)` of the points and the gradients (nutpie's choice: where the particles
/// spread over several modes, `Var x` is far larger than the modes' own scale, which the
/// gradients' spread tells; the geometric mean of the two sits between them), sums in
/// particle order. A coordinate without spread in either gets 1.
fn inverse_mass(particles: &[Particle]) -> Vec<f64> {
    let n = particles.len() as f64;
    let dim = particles[0].x.len();
    let var = |f: &dyn Fn(&Particle) -> f64| {
        let mean = particles.iter().map(f).sum::<f64>() / n;
        particles.iter().map(|p| (f(p) - mean).powi(2)).sum::<f64>() / n
    };
    (0..dim)
        .map(|j| {
            let vx = var(&|p| p.x[j]);
            let vg = var(&|p| p.grad[j]);
            let v = (vx / vg).sqrt();
            if v > 0.0 && v.is_finite() {
                v
            } else if vx > 0.0 && vx.is_finite() {
                vx
            } else {
                1.0
            }
        })
        .collect()
}

/// One SMC run (index `r`).
fn run<T: Tempered + ?Sized>(
    dens: &T,
    opts: &SmcOptions,
    r: usize,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(ChainOutput, SmcRun)> {
    let n = opts.particles;
    let dim = dens.dim();
    let mut rng = chain_rng(opts.seed, r);
    let stopped = || opts.stop.as_ref().is_some_and(StopSignal::is_raised);
    let interrupted = |beta: f64| {
        Error::Interrupted(format!(
            "SMC run {r} was stopped at β = {beta:.3}, before the posterior (β = 1): no draws to keep"
        ))
    };
    // from the prior; a draw where the likelihood is not finite gets weight 0 (redrawing it
    // would change the prior and bias the evidence)
    let seed0 = rng.next_u64();
    let mut particles: Vec<Particle> = (0..n)
        .into_par_iter()
        .map(|i| {
            let x = dens.draw_prior(&mut particle_rng(seed0, i));
            let mut grad = vec![0.0; dim];
            let (prior, lik) = if x.iter().all(|v| v.is_finite()) {
                dens.tempered_grad(&x, 0.0, &mut grad)
            } else {
                (f64::NEG_INFINITY, f64::NEG_INFINITY)
            };
            let lik = if prior.is_finite() {
                lik
            } else {
                f64::NEG_INFINITY
            };
            Particle {
                x,
                prior,
                lik,
                grad,
            }
        })
        .collect();
    if particles.iter().all(|p| !p.lik.is_finite()) {
        return Err(Error::Numerical(format!(
            "SMC run {r}: the likelihood is not finite at any of {n} draws from the prior"
        )));
    }
    let (mut beta, mut log_z) = (0.0f64, 0.0f64);
    let mut eps = 0.5 / (dim as f64).powf(0.25);
    let mut steps: Vec<SmcStep> = Vec::new();
    let (mut last_accept, mut last_div) = (vec![0.0; n], vec![false; n]);
    let mut warmup_divergences = 0usize;
    while beta < 1.0 {
        if stopped() {
            return Err(interrupted(beta));
        }
        if steps.len() >= MAX_STEPS {
            return Err(Error::Numerical(format!(
                "SMC run {r} did not reach β = 1 in {MAX_STEPS} tempering steps (β = {beta:.3e})"
            )));
        }
        let lik: Vec<f64> = particles.iter().map(|p| p.lik).collect();
        let (next, logw) = next_beta(&lik, beta, opts.ess_ratio);
        let step_log = log_sum_exp(&logw) - (n as f64).ln();
        let ess = ess(&logw) / n as f64;
        log_z += step_log;
        let ancestors = systematic(&logw, rng.random::<f64>());
        particles = ancestors.iter().map(|&i| particles[i].clone()).collect();
        beta = next;
        // the gradients at the new temperature
        particles.par_iter_mut().for_each(|p| {
            let (prior, lik) = dens.tempered_grad(&p.x, beta, &mut p.grad);
            p.prior = prior;
            p.lik = lik;
        });
        let var = inverse_mass(&particles);
        let mut still = 1.0;
        let (mut sweeps, mut acc_sum, mut divergences) = (0usize, 0.0, 0usize);
        let l = ((opts.trajectory / eps).ceil() as usize).clamp(1, MAX_LEAPFROG);
        let mut step_eps = eps;
        let mut accept = vec![0.0; n];
        let mut divergent = vec![false; n];
        while sweeps < opts.max_sweeps && (sweeps < opts.min_sweeps || still > 0.01) {
            let seed = rng.next_u64();
            let moved: Vec<(f64, bool)> = particles
                .par_iter_mut()
                .enumerate()
                .map(|(i, p)| hmc(dens, p, beta, eps, l, &var, &mut particle_rng(seed, i)))
                .collect();
            let mean = moved.iter().map(|m| m.0).sum::<f64>() / n as f64;
            for (i, (a, d)) in moved.iter().enumerate() {
                accept[i] += a;
                divergent[i] |= d;
            }
            divergences += moved.iter().filter(|m| m.1).count();
            acc_sum += mean;
            still *= 1.0 - mean;
            sweeps += 1;
            step_eps = eps;
            // towards the target acceptance, by at most a factor e per sweep
            eps = (eps * (2.0 * (mean - opts.target_accept)).clamp(-1.0, 1.0).exp())
                .clamp(1e-6, 10.0);
        }
        accept.iter_mut().for_each(|a| *a /= sweeps as f64);
        if beta < 1.0 {
            warmup_divergences += divergences;
        }
        last_accept = accept;
        last_div = divergent;
        steps.push(SmcStep {
            beta,
            ess,
            log_weight: step_log,
            sweeps,
            leapfrog: l,
            step_size: step_eps,
            accept: acc_sum / sweeps as f64,
            divergences,
        });
        progress(Progress {
            chain: r,
            done: (beta * 1000.0).floor() as u64,
            total: 1000,
            tuning: beta < 1.0,
            step_size: step_eps,
            divergences: 0,
            accept: acc_sum / sweeps as f64,
        });
    }
    let last = steps.last().expect("at least one step");
    let leapfrog = (last.leapfrog * last.sweeps) as u64;
    let step_size = last.step_size;
    let chain = ChainOutput {
        logp: particles.iter().map(|p| p.prior + p.lik).collect(),
        step_size: vec![step_size; n],
        n_leapfrog: vec![leapfrog; n],
        tree_depth: vec![0; n],
        divergent: last_div,
        accept: last_accept,
        energy: vec![f64::NAN; n],
        warmup_divergences,
        stopped_at: None,
        draws: particles.into_iter().map(|p| p.x).collect(),
    };
    Ok((
        chain,
        SmcRun {
            log_evidence: log_z,
            steps,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::LogDensity;

    /// `μ ~ N(0, s0²)`, `x_i ~ N(μ, 1)`: the evidence and the posterior in closed form.
    struct Conjugate {
        x: Vec<f64>,
        s0: f64,
    }

    impl Conjugate {
        fn lik(&self, mu: f64) -> (f64, f64) {
            let n = self.x.len() as f64;
            let ss: f64 = self.x.iter().map(|v| (v - mu).powi(2)).sum();
            let g: f64 = self.x.iter().map(|v| v - mu).sum();
            (-0.5 * n * (2.0 * std::f64::consts::PI).ln() - 0.5 * ss, g)
        }
        fn prior(&self, mu: f64) -> (f64, f64) {
            let s2 = self.s0 * self.s0;
            (
                -0.5 * (2.0 * std::f64::consts::PI * s2).ln() - 0.5 * mu * mu / s2,
                -mu / s2,
            )
        }
        /// log p(x): x ~ N(0, I + s0² 11ᵀ).
        fn log_evidence(&self) -> f64 {
            let n = self.x.len() as f64;
            let s2 = self.s0 * self.s0;
            let sum: f64 = self.x.iter().sum();
            let ss: f64 = self.x.iter().map(|v| v * v).sum();
            // det = 1 + n s0²; inverse = I − s0²/(1 + n s0²) 11ᵀ
            let quad = ss - s2 / (1.0 + n * s2) * sum * sum;
            -0.5 * n * (2.0 * std::f64::consts::PI).ln() - 0.5 * (1.0 + n * s2).ln() - 0.5 * quad
        }
        /// Posterior mean and sd of μ.
        fn posterior(&self) -> (f64, f64) {
            let n = self.x.len() as f64;
            let prec = n + 1.0 / (self.s0 * self.s0);
            (self.x.iter().sum::<f64>() / prec, prec.powf(-0.5))
        }
    }

    impl LogDensity for Conjugate {
        fn dim(&self) -> usize {
            1
        }
        fn logp_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
            let (p, gp) = self.prior(x[0]);
            let (l, gl) = self.lik(x[0]);
            grad[0] = gp + gl;
            p + l
        }
        fn constrain(&self, x: &[f64]) -> Vec<f64> {
            x.to_vec()
        }
        fn names(&self) -> Vec<String> {
            vec!["mu".into()]
        }
    }

    impl Tempered for Conjugate {
        fn tempered_grad(&self, x: &[f64], beta: f64, grad: &mut [f64]) -> (f64, f64) {
            let (p, gp) = self.prior(x[0]);
            let (l, gl) = self.lik(x[0]);
            grad[0] = gp + beta * gl;
            (p, l)
        }
        fn draw_prior(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
            vec![self.s0 * rng.sample::<f64, _>(StandardNormal)]
        }
    }

    fn conjugate() -> Conjugate {
        // 50 points around 3 with a wide prior: the posterior is 70× narrower than the prior
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        Conjugate {
            x: (0..50)
                .map(|_| 3.0 + rng.sample::<f64, _>(StandardNormal))
                .collect(),
            s0: 10.0,
        }
    }

    #[test]
    fn evidence_and_posterior_match_the_closed_form() {
        let m = conjugate();
        let opts = SmcOptions {
            runs: 8,
            particles: 2000,
            seed: 3,
            ..SmcOptions::default()
        }
        .validate()
        .unwrap();
        let (chains, ev) = sample(&m, &opts, &|_| {}).unwrap();
        let exact = m.log_evidence();
        assert!(ev.std_error > 0.0 && ev.std_error < 0.05, "{ev:?}");
        assert!(
            (ev.log_evidence - exact).abs() < 4.0 * ev.std_error + 0.01,
            "SMC {} ± {} against exact {exact}",
            ev.log_evidence,
            ev.std_error
        );
        let (mean, sd) = m.posterior();
        let all: Vec<f64> = chains
            .iter()
            .flat_map(|c| c.draws.iter().map(|d| d[0]))
            .collect();
        let k = all.len() as f64;
        let m1 = all.iter().sum::<f64>() / k;
        let s1 = (all.iter().map(|v| (v - m1).powi(2)).sum::<f64>() / k).sqrt();
        // 16 000 particles, far from independent after resampling: a loose Monte Carlo bound
        assert!((m1 - mean).abs() < 0.1 * sd, "mean {m1} against {mean}");
        assert!((s1 / sd - 1.0).abs() < 0.1, "sd {s1} against {sd}");
        for r in &ev.runs {
            assert_eq!(r.steps.last().unwrap().beta, 1.0);
            assert!(r.steps.windows(2).all(|w| w[0].beta < w[1].beta));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bits_on_any_number_of_threads() {
        let m = conjugate();
        let opts = SmcOptions {
            runs: 2,
            particles: 200,
            ..SmcOptions::default()
        }
        .validate()
        .unwrap();
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| sample(&m, &opts, &|_| {}).unwrap())
        };
        // the energies are NaN (no NUTS tree): compare the printed bits
        let bits = |x: &(Vec<ChainOutput>, Evidence)| format!("{x:?}");
        let (a, b) = (on(1), on(4));
        assert!(bits(&a) == bits(&b), "one thread and four differ");
        let a = a.0;
        let (c, _) = sample(
            &m,
            &SmcOptions {
                seed: 1,
                ..(*opts).clone()
            }
            .validate()
            .unwrap(),
            &|_| {},
        )
        .unwrap();
        assert!(a[0].draws != c[0].draws);
    }

    #[test]
    fn systematic_resampling_keeps_the_weights_in_expectation() {
        let logw: Vec<f64> = [0.1f64, 0.2, 0.3, 0.4].iter().map(|v| v.ln()).collect();
        // every offset gives each index ⌊n w⌋ or ⌈n w⌉ copies
        for u in [0.0, 0.25, 0.5, 0.99] {
            let idx = systematic(&logw, u);
            let counts: Vec<usize> = (0..4)
                .map(|i| idx.iter().filter(|&&j| j == i).count())
                .collect();
            assert_eq!(counts.iter().sum::<usize>(), 4);
            for (c, w) in counts.iter().zip([0.4, 0.8, 1.2, 1.6]) {
                assert!((*c as f64 - w).abs() < 1.0, "{counts:?} at u = {u}");
            }
        }
    }

    #[test]
    fn options_are_checked_by_name() {
        for (opts, name) in [
            (
                SmcOptions {
                    runs: 0,
                    ..SmcOptions::default()
                },
                "runs",
            ),
            (
                SmcOptions {
                    particles: 5,
                    ..SmcOptions::default()
                },
                "particles",
            ),
            (
                SmcOptions {
                    ess_ratio: 1.0,
                    ..SmcOptions::default()
                },
                "ess_ratio",
            ),
            (
                SmcOptions {
                    target_accept: 0.0,
                    ..SmcOptions::default()
                },
                "target_accept",
            ),
            (
                SmcOptions {
                    trajectory: f64::NAN,
                    ..SmcOptions::default()
                },
                "trajectory",
            ),
            (
                SmcOptions {
                    min_sweeps: 0,
                    ..SmcOptions::default()
                },
                "min_sweeps",
            ),
            (
                SmcOptions {
                    max_sweeps: 2,
                    ..SmcOptions::default()
                },
                "max_sweeps",
            ),
        ] {
            match opts.validate() {
                Err(Error::InvalidOption { option, .. }) => assert_eq!(option, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_raised_stop_ends_the_run_with_an_interruption() {
        let stop = StopSignal::new();
        stop.raise();
        let opts = SmcOptions {
            runs: 1,
            particles: 50,
            stop: Some(stop),
            ..SmcOptions::default()
        }
        .validate()
        .unwrap();
        assert!(matches!(
            sample(&conjugate(), &opts, &|_| {}),
            Err(Error::Interrupted(_))
        ));
    }
}
