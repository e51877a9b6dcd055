//! Classification: assignment probabilities `p(z_n = k | x_n, θ)` and MAP or sampled
//! assignments (Pyro's `infer_discrete` at temperature 0 or 1), and the guide-side route of
//! the tutorial: per-point assignment probabilities trained by SVI with the globals fixed.

use chacha20::ChaCha8Rng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::data::Data;
use crate::density::{log_prior, log_responsibilities, sigmoid, Components};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::optim::Adam;
use crate::options::{check, Checked};
use crate::params::Params;
use crate::simulate::sample_categorical;

/// Assignments and their probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// One component index per point.
    pub assignments: Vec<usize>,
    /// Assignment probabilities, one row of K per point.
    pub probs: Vec<Vec<f64>>,
    /// With the probabilities trained by SVI ([`ClassifyOptions::svi`]), the loss at every
    /// step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svi_loss: Option<Vec<f64>>,
}

/// Temperature of `infer_discrete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Temperature {
    /// MAP assignment (ties go to the lower index).
    #[default]
    Zero,
    /// Assignments sampled from their posterior.
    One,
}

fn check(model: &Model, params: &Params, data: &Data) -> Result<()> {
    params.check(model)?;
    if data.d() != model.d {
        return Err(Error::dimensions("fit", model.d, data.d()));
    }
    Ok(())
}

/// Classify every point of `data` under the parameters `params` (lower level: see
/// [`crate::classify()`]).
pub fn classify(
    model: &Model,
    params: &Params,
    data: &Data,
    temperature: Temperature,
    seed: u64,
) -> Result<Classification> {
    check(model, params, data)?;
    let logr = log_responsibilities(model, data, params);
    let probs: Vec<Vec<f64>> = logr
        .iter()
        .map(|row| row.iter().map(|v| v.exp()).collect())
        .collect();
    let assignments = assign(&probs, temperature, seed);
    Ok(Classification {
        assignments,
        probs,
        svi_loss: None,
    })
}

/// Assignments from assignment probabilities: the most probable component (ties go to the
/// lower index) at temperature 0, a draw from each row at temperature 1 (seeded, one stream
/// for all points in order).
pub fn assign(probs: &[Vec<f64>], temperature: Temperature, seed: u64) -> Vec<usize> {
    match temperature {
        Temperature::Zero => probs
            .iter()
            .map(|row| {
                let mut best = 0;
                for (k, v) in row.iter().enumerate() {
                    if *v > row[best] {
                        best = k;
                    }
                }
                best
            })
            .collect(),
        Temperature::One => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            probs
                .iter()
                .map(|p| sample_categorical(p, &mut rng))
                .collect()
        }
    }
}

/// Options of the SVI route of [`crate::classify()`] ([`ClassifyOptions::svi`]). The tutorial runs 200 steps of `Adam(lr 0.2, betas 0.8/0.99)`;
/// the defaults here (10 000 steps, lr 0.2 decaying geometrically to 2e-5) settle the
/// probabilities to about 1e-7 of the exact ones, where a fixed step size leaves them
/// jittering at 3e-4.
#[derive(Debug, Clone, PartialEq)]
pub struct SviOptions {
    /// Adam steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Adam betas.
    pub betas: (f64, f64),
    /// The learning rate decays geometrically to `lr · final_lr_ratio` at the last step.
    pub final_lr_ratio: f64,
}

impl Default for SviOptions {
    fn default() -> Self {
        SviOptions {
            steps: 10_000,
            lr: 0.2,
            betas: (0.8, 0.99),
            final_lr_ratio: 1e-4,
        }
    }
}

impl SviOptions {
    /// Check every field (`lr`, `betas`, `final_lr_ratio`; any number of `steps` will do, 0
    /// leaves the probabilities at 1/K); an invalid one is an [`Error::InvalidOption`] naming
    /// it.
    pub fn validate(&self) -> Result<Checked<SviOptions>> {
        let bad = |option, message: Option<String>| match message {
            Some(m) => Err(Error::option("SviOptions", option, m)),
            None => Ok(()),
        };
        bad(
            "steps",
            crate::limits::at_most(self.steps as u64, crate::limits::MAX_STEPS as u64),
        )?;
        bad("lr", check::positive_finite(self.lr))?;
        bad("betas", check::betas(self.betas))?;
        bad("final_lr_ratio", check::ratio(self.final_lr_ratio))?;
        Ok(Checked::new(self.clone()))
    }
}

/// Options of [`crate::classify()`]: exact assignment probabilities, or with `svi` set the
/// tutorial's SVI route ([`ClassifyOptions::svi`]); assignments at `temperature` (sampled ones seeded
/// by `seed`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassifyOptions {
    /// Most probable assignments (0) or sampled ones (1).
    pub temperature: Temperature,
    /// Seed of sampled assignments.
    pub seed: u64,
    /// Train the probabilities by SVI with these options instead of computing them exactly.
    pub svi: Option<SviOptions>,
}

impl ClassifyOptions {
    /// Check every field (the SVI options, if any: [`SviOptions::validate`]).
    pub fn validate(&self) -> Result<Checked<ClassifyOptions>> {
        if let Some(svi) = &self.svi {
            svi.validate()?;
        }
        Ok(Checked::new(self.clone()))
    }
}

/// Classify every point of `data` under `params` with checked options: the engine behind
/// [`crate::classify()`]. With [`ClassifyOptions::svi`], the probabilities are trained and the
/// SVI loss of every step is kept too.
pub fn run(
    model: &Model,
    params: &Params,
    data: &Data,
    opts: &Checked<ClassifyOptions>,
) -> Result<Classification> {
    match &opts.svi {
        None => classify(model, params, data, opts.temperature, opts.seed),
        Some(svi) => {
            let s = classify_svi_checked(model, params, data, &svi.validate()?)?;
            Ok(Classification {
                assignments: assign(&s.probs, opts.temperature, opts.seed),
                probs: s.probs,
                svi_loss: Some(s.loss),
            })
        }
    }
}

/// The SVI route's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SviClassification {
    /// Trained assignment probabilities, one row of K per point.
    pub probs: Vec<Vec<f64>>,
    /// Loss (negative ELBO, globals fixed) at every step.
    pub loss: Vec<f64>,
}

/// Train per-point assignment probabilities by SVI with the globals fixed, enumerating the
/// assignments in the guide (the tutorial's `full_guide`): `q_n = p_n / Σ_k p_nk` with
/// `p_nk = σ(u_nk)` (Pyro's `unit_interval` parameter, initialised to 1/K), loss
/// `−[log p(θ) + Σ_n Σ_k q_nk (log w_k + log N(x_n | μ_k, s_k) − log q_nk)]`. Its optimum is
/// the exact posterior of the assignments, where the loss equals `−log p(x, θ)`.
/// The engine behind [`crate::classify()`] with [`ClassifyOptions::svi`].
fn classify_svi_checked(
    model: &Model,
    params: &Params,
    data: &Data,
    opts: &Checked<SviOptions>,
) -> Result<SviClassification> {
    check(model, params, data)?;
    let (n, k) = (data.n(), model.k);
    let logw: Vec<f64> = params.weights.iter().map(|w| w.ln()).collect();
    let comps = Components::new(model, &logw, &params.locs, &params.scales);
    // three n × k arrays and the loss of each step
    crate::limits::probe(
        (n as u128 * k as u128 * 3 + opts.steps as u128) * 8,
        || format!("{n} points × {k} components over {} steps", opts.steps),
        Some(("SviOptions", "steps")),
    )?;
    let mut a = vec![0.0; n * k];
    let mut full = None;
    for i in 0..n {
        comps.point_terms(data, i, &mut a[i * k..(i + 1) * k], &mut full);
    }
    let lprior = log_prior(model, &logw, &params.locs, &params.scales, None);
    // logit(1/K); one component needs no training (its probability is 1 whatever u is)
    let init = if k == 1 { 30.0 } else { -((k - 1) as f64).ln() };
    let mut u = vec![init; n * k];
    let mut adam = Adam::new(n * k, opts.lr, opts.betas.0, opts.betas.1);
    let mut grad = vec![0.0; n * k];
    let mut loss_hist = Vec::with_capacity(opts.steps);
    let mut q = vec![0.0; k];
    let mut p = vec![0.0; k];
    let mut c = vec![0.0; k];
    // the learning rate decays geometrically to lr · final_lr_ratio (Pyro's ClippedAdam `lrd`),
    // so that the probabilities settle instead of jittering at a fixed step size
    let decay = opts.final_lr_ratio.powf(1.0 / opts.steps.max(1) as f64);
    for _ in 0..opts.steps {
        let mut elbo = lprior;
        for i in 0..n {
            let ui = &u[i * k..(i + 1) * k];
            let ai = &a[i * k..(i + 1) * k];
            let mut s = 0.0;
            for j in 0..k {
                p[j] = sigmoid(ui[j]);
                s += p[j];
            }
            let mut mean_c = 0.0;
            for j in 0..k {
                q[j] = p[j] / s;
                let lq = q[j].ln();
                c[j] = if q[j] > 0.0 { ai[j] - lq } else { 0.0 };
                if q[j] > 0.0 {
                    elbo += q[j] * c[j];
                }
                mean_c += q[j] * c[j];
            }
            for j in 0..k {
                // ∂ELBO/∂p_j = (c_j − Σ q c) / S;  ∂p/∂u = p (1 − p); the loss is −ELBO
                grad[i * k + j] = -(c[j] - mean_c) / s * p[j] * (1.0 - p[j]);
            }
        }
        loss_hist.push(-elbo);
        adam.step(&mut u, &grad);
        adam.lr *= decay;
    }
    let probs = (0..n)
        .map(|i| {
            let row: Vec<f64> = u[i * k..(i + 1) * k].iter().map(|&v| sigmoid(v)).collect();
            let s: f64 = row.iter().sum();
            row.iter().map(|v| v / s).collect()
        })
        .collect();
    Ok(SviClassification {
        probs,
        loss: loss_hist,
    })
}

/// `−log p(x, θ)`: what the SVI loss converges to.
#[cfg(test)]
pub(crate) fn exact_loss(model: &Model, params: &Params, data: &Data) -> f64 {
    -crate::density::log_joint(model, data, params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        LocsSpec, ModelSpec, OneOrMany, ScalePrior, ScaleSpec, Sharing, WeightsSpec,
    };

    fn tutorial() -> (Model, Data, Params) {
        let m = ModelSpec {
            k: 2,
            d: Some(1),
            weights: WeightsSpec {
                concentration: OneOrMany::One(0.5),
            },
            locs: LocsSpec {
                loc: OneOrMany::One(0.0),
                scale: OneOrMany::One(10.0),
                ordered: false,
            },
            scale: ScaleSpec::from_prior(
                ScalePrior::LogNormal {
                    mu: 0.0,
                    sigma: 2.0,
                },
                Sharing::Shared,
            ),
        }
        .build(Some(1))
        .unwrap();
        let data = Data::from_1d(vec![0.0, 1.0, 10.0, 11.0, 12.0]).unwrap();
        let p = Params {
            weights: vec![0.375, 0.625],
            locs: vec![0.498941, 10.984462],
            scales: vec![0.651434],
        };
        (m, data, p)
    }

    #[test]
    fn map_classifier_on_the_tutorial_grid_switches_once_at_the_analytic_boundary() {
        let (m, _, p) = tutorial();
        let grid: Vec<f64> = (0..180).map(|i| -3.0 + 0.1 * i as f64).collect();
        let c = classify(
            &m,
            &p,
            &Data::from_1d(grid.clone()).unwrap(),
            Temperature::Zero,
            0,
        )
        .unwrap();
        let switches: Vec<usize> = (1..180)
            .filter(|&i| c.assignments[i] != c.assignments[i - 1])
            .collect();
        assert_eq!(switches.len(), 1);
        // shared scale: x* = (μ0+μ1)/2 + s² ln(w0/w1)/(μ1−μ0)
        let xs = (p.locs[0] + p.locs[1]) / 2.0
            + p.scales[0].powi(2) * (p.weights[0] / p.weights[1]).ln() / (p.locs[1] - p.locs[0]);
        assert!((xs - 5.7210).abs() < 1e-3, "{xs}");
        let i = switches[0];
        assert!(
            grid[i - 1] < xs && xs <= grid[i],
            "switch between {} and {}",
            grid[i - 1],
            grid[i]
        );
    }

    #[test]
    fn sampled_assignments_follow_the_probabilities() {
        let (m, _, p) = tutorial();
        // at the boundary each class has probability 1/2: 4000 draws, sd of the share 0.0079
        let data = Data::from_1d(vec![5.7210; 4000]).unwrap();
        let c = classify(&m, &p, &data, Temperature::One, 3).unwrap();
        let share = c.assignments.iter().filter(|&&a| a == 1).count() as f64 / 4000.0;
        assert!((c.probs[0][1] - 0.5).abs() < 1e-3);
        assert!((share - c.probs[0][1]).abs() < 0.04, "{share}");
        let again = classify(&m, &p, &data, Temperature::One, 3).unwrap();
        assert_eq!(c.assignments, again.assignments);
    }

    #[test]
    fn svi_route_agrees_with_exact_responsibilities() {
        let (m, data, p) = tutorial();
        let exact = classify(&m, &p, &data, Temperature::Zero, 0).unwrap();
        let svi = classify_svi_checked(&m, &p, &data, &SviOptions::default().validate().unwrap())
            .unwrap();
        for (a, b) in exact.probs.iter().zip(&svi.probs) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-6, "{x} vs {y}");
            }
        }
        let last = *svi.loss.last().unwrap();
        let exact_loss = exact_loss(&m, &p, &data);
        // the gap is KL(q ‖ p), dominated by the ~1e-7 probabilities of the far component
        assert!((last - exact_loss).abs() < 1e-4, "{last} vs {exact_loss}");
        // the ELBO is a lower bound: the loss never goes below −log p(x, θ)
        assert!(svi.loss.iter().all(|l| *l >= exact_loss - 1e-9));
    }

    #[test]
    fn svi_on_overlapping_points_agrees_too() {
        let (m, _, p) = tutorial();
        let grid: Vec<f64> = (0..180).map(|i| -3.0 + 0.1 * i as f64).collect();
        let data = Data::from_1d(grid).unwrap();
        let exact = classify(&m, &p, &data, Temperature::Zero, 0).unwrap();
        let svi = classify_svi_checked(&m, &p, &data, &SviOptions::default().validate().unwrap())
            .unwrap();
        for (a, b) in exact.probs.iter().zip(&svi.probs) {
            assert!((a[0] - b[0]).abs() < 1e-6, "{} vs {}", a[0], b[0]);
        }
    }
}
