//! Mean-field Gaussian variational inference on the unconstrained space, as Pyro's
//! `AutoNormal` guide trained with `Trace_ELBO`, for any [`LogDensity`].
//!
//! The guide is `q(x) = Π_i Normal(x_i | m_i, exp(ω_i))`, with `m` started at a given point
//! and `ω` at `ln 0.1` (AutoNormal's `init_scale = 0.1`). Each step estimates the ELBO
//!
//! `ELBO = E_q[log p(x)] + Σ_i ω_i + dim/2 · (1 + ln 2π)`
//!
//! with `mc_samples` reparameterised draws `x = m + exp(ω) ⊙ ε`, `ε ~ N(0, I)`, whose
//! gradients are `∂/∂m = mean ∇log p(x)` and `∂/∂ω = mean(∇log p(x) ⊙ ε ⊙ exp(ω)) + 1`, and
//! takes one Adam step (betas 0.9/0.999, Pyro's defaults) on the negative ELBO. The learning
//! rate decays geometrically from `lr` at the first step to `lr · final_lr_ratio` at the last
//! (Pyro's `ClippedAdam` `lrd`), so that the parameters settle instead of jittering at a fixed
//! step size. A draw where `log p` or its gradient is not finite is left out of that step's
//! averages (and counted); a step with no finite draw changes nothing.
//!
//! Everything runs in one loop on one ChaCha8 stream seeded by `seed`, so a seed fixes the
//! result. Mean-field VI minimises the reverse KL divergence: it finds the means well but
//! under-states the spread of correlated posteriors (for a Gaussian target, each `sd_i` is
//! `1/sqrt(Λ_ii)`, `Λ` the precision matrix, not the marginal sd).

use chacha20::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::density::{LogDensity, LN_2PI};
use crate::error::{Error, Result};
use crate::limits::{at_most, MAX_DRAWS, MAX_MC_SAMPLES, MAX_STEPS};
use crate::optim::Adam;
use crate::options::{check, Checked};

/// AutoNormal's `init_scale`: every guide sd starts at 0.1.
pub const INIT_SCALE: f64 = 0.1;

/// Options of [`crate::vi()`].
///
/// Defaults: 10 000 steps of Adam at lr 0.01 decaying geometrically to 1e-4
/// (`final_lr_ratio` 0.01), 4 draws per ELBO estimate, seed 0, 1000 draws from the fitted
/// guide. Pyro's `Trace_ELBO` uses one particle; four make the gradient quieter at a cost
/// that is small next to the number of steps.
#[derive(Debug, Clone, PartialEq)]
pub struct ViOptions {
    /// Adam steps.
    pub steps: usize,
    /// Initial Adam learning rate.
    pub lr: f64,
    /// Reparameterised draws per ELBO estimate (Pyro's `num_particles`).
    pub mc_samples: usize,
    /// The learning rate decays geometrically to `lr · final_lr_ratio` at the last step.
    pub final_lr_ratio: f64,
    /// Seed of the random stream.
    pub seed: u64,
    /// Draws from the fitted guide to return.
    pub draws: usize,
}

impl Default for ViOptions {
    fn default() -> Self {
        ViOptions {
            steps: 10_000,
            lr: 0.01,
            mc_samples: 4,
            final_lr_ratio: 0.01,
            seed: 0,
            draws: 1000,
        }
    }
}

impl ViOptions {
    /// Check every field (`steps`, `lr`, `mc_samples`, `final_lr_ratio`); an invalid one is
    /// an [`Error::InvalidOption`] naming it.
    pub fn validate(&self) -> Result<Checked<ViOptions>> {
        let bad = |option, message: Option<String>| match message {
            Some(m) => Err(Error::option("ViOptions", option, m)),
            None => Ok(()),
        };
        bad("steps", check::at_least_one(self.steps as u64))?;
        bad("steps", at_most(self.steps as u64, MAX_STEPS as u64))?;
        bad("lr", check::positive_finite(self.lr))?;
        bad("mc_samples", check::at_least_one(self.mc_samples as u64))?;
        bad(
            "mc_samples",
            at_most(self.mc_samples as u64, MAX_MC_SAMPLES as u64),
        )?;
        bad("draws", at_most(self.draws as u64, MAX_DRAWS))?;
        bad("final_lr_ratio", check::ratio(self.final_lr_ratio))?;
        Ok(Checked::new(self.clone()))
    }
}

/// A fitted mean-field Gaussian guide. Serde: non-finite ELBO values are written as the
/// strings `"NaN"`, `"inf"`, `"-inf"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViResult {
    /// Guide means `m` on the unconstrained space.
    pub mean: Vec<f64>,
    /// Guide standard deviations `exp(ω)` on the unconstrained space.
    pub sd: Vec<f64>,
    /// ELBO estimate at every step (before that step's update), including the entropy's
    /// constant; `-inf` at a step where no draw had a finite density.
    #[serde(with = "crate::options::float::vec")]
    pub elbo: Vec<f64>,
    /// Draws from the fitted guide on the unconstrained space (map them with the density's
    /// `constrain`).
    pub draws: Vec<Vec<f64>>,
    /// Number of draws left out of the ELBO estimates because `log p` or its gradient was not
    /// finite there.
    pub skipped: usize,
}

/// Fit a mean-field Gaussian guide to `dens`, starting its means at `x0`.
pub fn fit_vi<L: LogDensity + ?Sized>(
    dens: &L,
    x0: &[f64],
    opts: &Checked<ViOptions>,
) -> Result<ViResult> {
    let dim = dens.dim();
    if x0.len() != dim {
        return Err(Error::Params(format!(
            "initial point has {} coordinates, the density has {dim}",
            x0.len()
        )));
    }
    if let Some(i) = x0.iter().position(|v| !v.is_finite()) {
        return Err(Error::Params(format!(
            "initial point coordinate {i} is not finite ({})",
            x0[i]
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    // parameters packed as [m; ω], so one Adam drives both
    let mut theta = Vec::with_capacity(2 * dim);
    theta.extend_from_slice(x0);
    theta.extend(std::iter::repeat_n(INIT_SCALE.ln(), dim));
    let mut adam = Adam::new(2 * dim, opts.lr, 0.9, 0.999);
    let entropy_const = 0.5 * dim as f64 * (1.0 + LN_2PI);
    // lr_t = lr · ratio^(t / (steps − 1)): exactly lr at the first step and lr · ratio at the last
    let decay = if opts.steps > 1 {
        opts.final_lr_ratio.powf(1.0 / (opts.steps - 1) as f64)
    } else {
        1.0
    };

    let mut eps = vec![0.0; dim];
    let mut x = vec![0.0; dim];
    let mut g = vec![0.0; dim];
    let mut grad = vec![0.0; 2 * dim];
    let mut elbo = crate::limits::with_capacity(
        opts.steps,
        || format!("the ELBO of {} steps", opts.steps),
        Some(("ViOptions", "steps")),
    )?;
    crate::limits::probe(
        opts.draws as u128 * ((dim as u128) * 8 + 32),
        || format!("{} draws of {dim} parameters", opts.draws),
        Some(("ViOptions", "draws")),
    )?;
    let mut skipped = 0usize;
    for _ in 0..opts.steps {
        let (m, omega) = theta.split_at(dim);
        grad.fill(0.0);
        let mut sum_logp = 0.0;
        let mut used = 0usize;
        for _ in 0..opts.mc_samples {
            for i in 0..dim {
                eps[i] = rng.sample::<f64, _>(StandardNormal);
                x[i] = m[i] + omega[i].exp() * eps[i];
            }
            g.fill(0.0);
            let lp = dens.logp_grad(&x, &mut g);
            if !lp.is_finite() || g.iter().any(|v| !v.is_finite()) {
                skipped += 1;
                continue;
            }
            used += 1;
            sum_logp += lp;
            // accumulate the loss (−ELBO) gradient's data part
            for i in 0..dim {
                grad[i] -= g[i];
                grad[dim + i] -= g[i] * eps[i] * omega[i].exp();
            }
        }
        let entropy = omega.iter().sum::<f64>() + entropy_const;
        if used == 0 {
            elbo.push(f64::NEG_INFINITY);
        } else {
            let inv = 1.0 / used as f64;
            for v in grad.iter_mut() {
                *v *= inv;
            }
            // the entropy's gradient: ∂(Σ ω)/∂ω = 1
            for v in grad[dim..].iter_mut() {
                *v -= 1.0;
            }
            elbo.push(sum_logp * inv + entropy);
            adam.step(&mut theta, &grad);
        }
        adam.lr *= decay;
    }

    let (m, omega) = theta.split_at(dim);
    let sd: Vec<f64> = omega.iter().map(|w| w.exp()).collect();
    let draws = (0..opts.draws)
        .map(|_| {
            (0..dim)
                .map(|i| m[i] + sd[i] * rng.sample::<f64, _>(StandardNormal))
                .collect()
        })
        .collect();
    Ok(ViResult {
        mean: m.to_vec(),
        sd,
        elbo,
        draws,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`super::fit_vi`] of options checked here.
    fn fit_vi<L: LogDensity + ?Sized>(dens: &L, x0: &[f64], opts: &ViOptions) -> Result<ViResult> {
        super::fit_vi(dens, x0, &opts.validate()?)
    }

    /// Independent Gaussians with the given means and sds.
    struct Diag {
        mu: Vec<f64>,
        sd: Vec<f64>,
    }
    impl LogDensity for Diag {
        fn dim(&self) -> usize {
            self.mu.len()
        }
        fn logp_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
            let mut lp = 0.0;
            for i in 0..x.len() {
                let z = (x[i] - self.mu[i]) / self.sd[i];
                lp -= 0.5 * z * z;
                g[i] = -z / self.sd[i];
            }
            lp
        }
        fn constrain(&self, x: &[f64]) -> Vec<f64> {
            x.to_vec()
        }
        fn names(&self) -> Vec<String> {
            (0..self.mu.len()).map(|i| format!("x{i}")).collect()
        }
    }

    /// A 2-D Gaussian with mean (0, 1), unit sds and correlation `rho`.
    struct Corr {
        rho: f64,
    }
    impl LogDensity for Corr {
        fn dim(&self) -> usize {
            2
        }
        fn logp_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
            let r = self.rho;
            let (a, b) = (x[0], x[1] - 1.0);
            let c = 1.0 - r * r;
            g[0] = -(a - r * b) / c;
            g[1] = -(b - r * a) / c;
            -0.5 * (a * a - 2.0 * r * a * b + b * b) / c
        }
        fn constrain(&self, x: &[f64]) -> Vec<f64> {
            x.to_vec()
        }
        fn names(&self) -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
    }

    /// A standard normal that is −inf (undefined) for x > 1.5.
    struct Walled;
    impl LogDensity for Walled {
        fn dim(&self) -> usize {
            1
        }
        fn logp_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
            if x[0] > 1.5 {
                return f64::NEG_INFINITY;
            }
            g[0] = -x[0];
            -0.5 * x[0] * x[0]
        }
        fn constrain(&self, x: &[f64]) -> Vec<f64> {
            x.to_vec()
        }
        fn names(&self) -> Vec<String> {
            vec!["x".into()]
        }
    }

    fn mean_sd(v: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
        let n = v.clone().count() as f64;
        let m = v.clone().sum::<f64>() / n;
        let var = v.map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1.0);
        (m, var.sqrt())
    }

    #[test]
    fn diagonal_gaussian_is_recovered_exactly() {
        let dens = Diag {
            mu: vec![1.0, -2.0, 0.5],
            sd: vec![0.5, 2.0, 1.0],
        };
        let r = fit_vi(&dens, &[0.0; 3], &ViOptions::default()).unwrap();
        eprintln!("diag: mean {:?} sd {:?}", r.mean, r.sd);
        for i in 0..3 {
            assert!(
                (r.mean[i] - dens.mu[i]).abs() < 0.05,
                "mean {i}: {:?}",
                r.mean
            );
            assert!(
                (r.sd[i] / dens.sd[i] - 1.0).abs() < 0.1,
                "sd {i}: {:?}",
                r.sd
            );
        }
        assert_eq!(r.elbo.len(), 10_000);
        assert_eq!(r.skipped, 0);
        // at the optimum q = p, so the ELBO is log Z = Σ ln(√(2π) sd_i) (p is unnormalised)
        let log_z: f64 = dens.sd.iter().map(|s| 0.5 * LN_2PI + s.ln()).sum();
        let tail = &r.elbo[9000..];
        let late = tail.iter().sum::<f64>() / tail.len() as f64;
        assert!((late - log_z).abs() < 0.05, "elbo {late} vs log Z {log_z}");
        assert!(r.elbo[0] < late - 1.0, "first {} late {late}", r.elbo[0]);
        // the draws follow the guide
        assert_eq!(r.draws.len(), 1000);
        for i in 0..3 {
            let (m, s) = mean_sd(r.draws.iter().map(|d| d[i]));
            assert!(
                (m - r.mean[i]).abs() < 4.0 * r.sd[i] / 1000f64.sqrt(),
                "draw mean {i}"
            );
            assert!((s / r.sd[i] - 1.0).abs() < 0.1, "draw sd {i}");
        }
    }

    #[test]
    fn correlated_gaussian_is_under_dispersed() {
        let r = fit_vi(&Corr { rho: 0.8 }, &[2.0, -1.0], &ViOptions::default()).unwrap();
        eprintln!("corr: mean {:?} sd {:?}", r.mean, r.sd);
        assert!((r.mean[0] - 0.0).abs() < 0.05, "{:?}", r.mean);
        assert!((r.mean[1] - 1.0).abs() < 0.05, "{:?}", r.mean);
        // reverse-KL mean field: sd_i = 1/sqrt(Λ_ii) = sqrt(1 − ρ²) = 0.6
        for s in &r.sd {
            assert!((s / 0.6 - 1.0).abs() < 0.1, "{:?}", r.sd);
        }
    }

    #[test]
    fn same_seed_same_result_other_seed_differs() {
        let dens = Diag {
            mu: vec![1.0, -2.0],
            sd: vec![0.5, 2.0],
        };
        let opts = ViOptions {
            steps: 500,
            draws: 50,
            seed: 3,
            ..ViOptions::default()
        };
        let a = fit_vi(&dens, &[0.0, 0.0], &opts).unwrap();
        let b = fit_vi(&dens, &[0.0, 0.0], &opts).unwrap();
        assert_eq!(a, b);
        let c = fit_vi(&dens, &[0.0, 0.0], &ViOptions { seed: 4, ..opts }).unwrap();
        assert_ne!(a.mean, c.mean);
    }

    #[test]
    fn non_finite_draws_are_skipped() {
        let opts = ViOptions {
            steps: 3000,
            draws: 10,
            ..ViOptions::default()
        };
        let r = fit_vi(&Walled, &[1.4], &opts).unwrap();
        assert!(r.skipped > 0);
        assert!(r.mean[0].is_finite() && r.sd[0].is_finite());
        assert!(r.elbo.iter().all(|e| !e.is_nan()));
        // started at the wall with all draws beyond it: nothing moves, nothing breaks
        let r = fit_vi(&Walled, &[10.0], &ViOptions { steps: 20, ..opts }).unwrap();
        assert_eq!(r.skipped, 20 * 4);
        assert_eq!(r.mean, vec![10.0]);
        assert_eq!(r.sd, vec![INIT_SCALE.ln().exp()]);
        assert!(r.elbo.iter().all(|e| *e == f64::NEG_INFINITY));
    }

    #[test]
    fn options_are_validated() {
        let d = Diag {
            mu: vec![0.0],
            sd: vec![1.0],
        };
        let bad = [
            (
                ViOptions {
                    steps: 0,
                    ..Default::default()
                },
                "steps",
            ),
            (
                ViOptions {
                    lr: 0.0,
                    ..Default::default()
                },
                "lr",
            ),
            (
                ViOptions {
                    lr: f64::NAN,
                    ..Default::default()
                },
                "lr",
            ),
            (
                ViOptions {
                    mc_samples: 0,
                    ..Default::default()
                },
                "mc_samples",
            ),
            (
                ViOptions {
                    final_lr_ratio: 0.0,
                    ..Default::default()
                },
                "final_lr_ratio",
            ),
            (
                ViOptions {
                    final_lr_ratio: 2.0,
                    ..Default::default()
                },
                "final_lr_ratio",
            ),
        ];
        for (o, name) in bad {
            match fit_vi(&d, &[0.0], &o) {
                Err(
                    e @ Error::InvalidOption {
                        options, option, ..
                    },
                ) => {
                    assert_eq!((options, option), ("ViOptions", name));
                    let msg = e.to_string();
                    assert!(msg.starts_with(name), "{msg}");
                    assert!(!msg.contains('\n'));
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(matches!(
            fit_vi(&d, &[0.0, 1.0], &ViOptions::default()),
            Err(Error::Params(_))
        ));
        assert!(matches!(
            fit_vi(&d, &[f64::NAN], &ViOptions::default()),
            Err(Error::Params(_))
        ));
    }

    #[test]
    fn mixture_locations_match_nuts() {
        use crate::density::{MixtureDensity, Transform};
        use crate::{Data, ModelSpec};
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
        let spec: ModelSpec = toml::from_str(
            &std::fs::read_to_string(format!("{root}/models/numpyro.toml")).unwrap(),
        )
        .unwrap();
        let csv = std::fs::read_to_string(format!("{root}/data/numpyro_2500.csv")).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next().map(str::trim), Some("x"));
        let xs: Vec<f64> = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().parse().unwrap())
            .collect();
        assert_eq!(xs.len(), 2500);
        let data = Data::from_1d(xs).unwrap();
        let model = spec.build(Some(data.d())).unwrap();
        let fit = crate::fit(&model, &data, &Default::default()).unwrap();
        let t = Transform::new(&model);
        let x0 = t.pack(&fit.params);
        let dens = MixtureDensity::new(&model, &data, true);
        let start = std::time::Instant::now();
        let r = fit_vi(&dens, &x0, &ViOptions::default()).unwrap();
        let took = start.elapsed();
        let p = t.params(&r.mean);
        eprintln!(
            "mixture VI {took:?}: locs {:?} weights {:?} scales {:?} sd {:?} skipped {} map locs {:?}",
            p.locs, p.weights, p.scales, r.sd, r.skipped, fit.params.locs
        );
        let mut locs = p.locs.clone();
        locs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        // NUTS posterior means of the locations (4 chains × 1000 draws)
        let nuts = [-1.001, 0.989, 3.997];
        for (a, b) in locs.iter().zip(nuts) {
            assert!((a - b).abs() < 0.05, "VI locs {locs:?} vs NUTS {nuts:?}");
        }
        assert!(
            r.sd.iter().all(|s| s.is_finite() && *s > 0.0 && *s < 1.0),
            "{:?}",
            r.sd
        );
        assert_eq!(r.draws.len(), 1000);
        assert!(r
            .draws
            .iter()
            .all(|d| dens.constrain(d).iter().all(|v| v.is_finite())));
    }
}
