//! Sampling and VI at any scale of the data: the engines run on an affinely reparameterised
//! unconstrained space, `x = a + b ⊙ y`, where `y` are the unconstrained coordinates of the
//! same model for the data standardised (`(x_d − shift_d) / c`, per-dimension centres and one
//! common spread: see [`Standardised::of`]): locations shifted by the data's centre
//! and scaled by their spread, log-scales (and an `ordered` model's log-gaps) shifted by
//! `ln c`, weights unchanged.
//!
//! The map is a constant-Jacobian transform, so the posterior over θ is exactly the same; the
//! density is evaluated as the standardised model's on the standardised data (where f64 holds
//! it: a scale of 1e250 squared overflows, one of 1e-250 underflows) plus a constant, so that
//! [`Rescaled`]'s log density at `y` is the original unconstrained density at `x(y)`. Engines see
//! a density on `y` of unit scale (NUTS's unit mass matrix and VI's initial guide sd of 0.1
//! fit it; a jitter of 0.1 there is relative to the data's spread), and the draws are mapped
//! back to `x` before anything else sees them.
//!
//! Data whose (robust) spread is within [1e-3, 1e3] and whose centre is within 1e3 spreads of
//! 0 are not reparameterised: the map is the identity, and the engines see the original
//! density, bit for bit.

use crate::data::Data;
use crate::density::{LogDensity, MixtureDensity, Tempered, Transform};
use crate::error::Result;
use crate::model::Model;

/// The affine map `x = a + b ⊙ y` between the engines' coordinates `y` and the model's
/// unconstrained coordinates `x`, and the standardised problem whose density `y` has.
#[derive(Debug, Clone)]
pub struct Standardised {
    /// The model for the standardised data.
    pub model: Model,
    /// The data standardised.
    pub data: Data,
    /// Shifts `a`, one per unconstrained coordinate.
    pub a: Vec<f64>,
    /// Scales `b`, one per unconstrained coordinate.
    pub b: Vec<f64>,
    /// `log p_x(x(y)) − log p_y(y)`: `−N·D·ln c − Σ ln b`.
    pub lp_shift: f64,
    /// `Σ ln b_i`: the log-Jacobian of `y ↦ x`.
    pub ln_det: f64,
    /// The log likelihood of the data minus that of the standardised data, at corresponding
    /// parameters: `−(observed values)·ln c`.
    pub lik_shift: f64,
}

impl Standardised {
    /// The standardised problem of `model` given `data`, or `None` where the data are scaled
    /// well (the identity map).
    ///
    /// The centre and spread are robust (per dimension the median, and the median absolute
    /// deviation × 1.4826, or the sd where that is 0; one common spread, their geometric
    /// mean, as a shared scale spans every dimension): one outlier must not set the unit of
    /// the locations (VI's guide starts with an sd of 0.1 units). Data whose spread is within
    /// [1e-3, 1e3] and whose centre is within 1e3 spreads of 0 keep the identity. Where the
    /// data divided by the robust spread leave f64 (an outlier 1e300 spreads out), the mean
    /// and sd standardise them, as [`crate::fit`] does.
    pub fn of(model: &Model, data: &Data) -> Result<Option<Standardised>> {
        let Some((shift, c)) = robust_centre_spread(data) else {
            return Ok(None);
        };
        if c.is_finite() && c > 0.0 {
            if let Ok(s) = Standardised::with(model, data, &shift, c) {
                return Ok(Some(s));
            }
        }
        match crate::map::badly_scaled(data) {
            Some((shift, c)) => Standardised::with(model, data, &shift, c).map(Some),
            None => Ok(None),
        }
    }

    /// The problem of `model` given `data` standardised by `shift` (per dimension) and `c`.
    pub fn with(model: &Model, data: &Data, shift: &[f64], c: f64) -> Result<Standardised> {
        let (k, d) = (model.k, model.d);
        let std_model = model.standardised(shift, c)?;
        let cols = (0..d)
            .map(|j| data.col(j).iter().map(|x| (x - shift[j]) / c).collect())
            .collect();
        let std_data = data.derived(cols)?;
        let n = model.n_unconstrained();
        let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
        // weights (stick-breaking): unchanged
        a.extend(std::iter::repeat_n(0.0, k - 1));
        b.extend(std::iter::repeat_n(1.0, k - 1));
        // locations: μ = shift + c·μ'; an ordered model's gaps: log(μ_k − μ_{k−1}) = log-gap' + ln c
        for comp in 0..k {
            for (j, &s) in shift.iter().enumerate() {
                if model.ordered && j == 0 && comp > 0 {
                    a.push(c.ln());
                    b.push(1.0);
                } else {
                    a.push(s);
                    b.push(c);
                }
            }
        }
        for (ai, bi) in model.family.scaled_coordinates(k, d, c) {
            a.push(ai);
            b.push(bi);
        }
        debug_assert_eq!(a.len(), n);
        let ln_det: f64 = b.iter().map(|v| v.ln()).sum();
        let lp_shift = -((data.n() * d) as f64) * c.ln() - ln_det;
        let lik_shift = -((data.n() * d - data.n_missing()) as f64) * c.ln();
        Ok(Standardised {
            model: std_model,
            data: std_data,
            a,
            b,
            lp_shift,
            ln_det,
            lik_shift,
        })
    }
}

/// The data's robust centre per dimension and common spread, or `None` where the data are
/// scaled well (see [`Standardised::of`]).
fn robust_centre_spread(data: &Data) -> Option<(Vec<f64>, f64)> {
    let mut shift = Vec::with_capacity(data.d());
    let (mut log_sd, mut spread_cols) = (0.0, 0usize);
    for j in 0..data.d() {
        let col = &*data.observed(j);
        let mut sorted = col.to_vec();
        sorted.sort_by(f64::total_cmp);
        let med = median(&sorted);
        let mut dev: Vec<f64> = col.iter().map(|x| (x - med).abs()).collect();
        dev.sort_by(f64::total_cmp);
        let mad = 1.4826 * median(&dev);
        let spread = if mad > 0.0 && mad.is_finite() {
            mad
        } else {
            crate::data::mean_sd(col).1
        };
        shift.push(med);
        if spread > 0.0 && spread.is_finite() {
            log_sd += spread.ln();
            spread_cols += 1;
        }
    }
    let c = if spread_cols > 0 {
        (log_sd / spread_cols as f64).exp()
    } else {
        1.0
    };
    let far = shift.iter().any(|m| m.abs() > 1e3 * c);
    if !far && (1e-3..=1e3).contains(&c) {
        return None;
    }
    Some((shift, c))
}

/// The median of sorted values.
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        // halves first: no overflow near f64's largest values
        sorted[n / 2 - 1] / 2.0 + sorted[n / 2] / 2.0
    }
}

/// How the engines' coordinates map to the model's: the identity, or a [`Standardised`] map.
#[derive(Debug, Clone, Copy)]
pub struct Reparam<'a>(Option<&'a Standardised>);

impl<'a> Reparam<'a> {
    /// The identity map.
    pub fn identity() -> Reparam<'static> {
        Reparam(None)
    }

    /// The map of a standardised problem (the identity for `None`).
    pub fn of(s: Option<&'a Standardised>) -> Reparam<'a> {
        Reparam(s)
    }

    /// Whether the map is the identity.
    pub fn is_identity(&self) -> bool {
        self.0.is_none()
    }

    /// `x = a + b ⊙ y`.
    pub fn to_model(&self, y: &[f64]) -> Vec<f64> {
        match self.0 {
            None => y.to_vec(),
            Some(s) => y
                .iter()
                .zip(s.a.iter().zip(&s.b))
                .map(|(y, (a, b))| a + b * y)
                .collect(),
        }
    }

    /// `y = (x − a) / b`.
    pub fn to_engine(&self, x: &[f64]) -> Vec<f64> {
        match self.0 {
            None => x.to_vec(),
            Some(s) => x
                .iter()
                .zip(s.a.iter().zip(&s.b))
                .map(|(x, (a, b))| (x - a) / b)
                .collect(),
        }
    }

    /// The scale `b_i` of coordinate `i`.
    pub fn scale(&self, i: usize) -> f64 {
        self.0.map_or(1.0, |s| s.b[i])
    }

    /// `Σ ln b_i`.
    pub fn ln_det(&self) -> f64 {
        self.0.map_or(0.0, |s| s.ln_det)
    }
}

/// The mixture's unconstrained density seen through a [`Reparam`]: at `y`, the log density of
/// the model's unconstrained parameters at `x(y)` (the standardised density plus a constant),
/// and its gradient with respect to `y`. The same, bit for bit, as [`MixtureDensity`] where the
/// map is the identity.
#[derive(Debug, Clone, Copy)]
pub struct Rescaled<'a> {
    inner: MixtureDensity<'a>,
    model: &'a Model,
    map: Reparam<'a>,
    lp_shift: f64,
}

impl<'a> Rescaled<'a> {
    /// The density of `model` given `data` (with the Jacobian of the unconstrained transform),
    /// through the map of `std` (`None`: the identity; else the standardised problem of the
    /// same model and data).
    pub fn new(model: &'a Model, data: &'a Data, std: Option<&'a Standardised>) -> Self {
        let (inner, lp_shift) = match std {
            None => (MixtureDensity::new(model, data, true), 0.0),
            Some(s) => (MixtureDensity::new(&s.model, &s.data, true), s.lp_shift),
        };
        Rescaled {
            inner,
            model,
            map: Reparam::of(std),
            lp_shift,
        }
    }

    /// The map between the engines' coordinates and the model's.
    pub fn map(&self) -> Reparam<'a> {
        self.map
    }
}

impl LogDensity for Rescaled<'_> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn logp_grad(&self, y: &[f64], grad: &mut [f64]) -> f64 {
        let lp = self.inner.logp_grad(y, grad);
        if self.map.0.is_none() {
            lp
        } else {
            lp + self.lp_shift
        }
    }

    fn constrain(&self, y: &[f64]) -> Vec<f64> {
        crate::density::Transform::new(self.model)
            .params(&self.map.to_model(y))
            .flat()
    }

    fn names(&self) -> Vec<String> {
        self.model.constrained_names()
    }
}

impl Tempered for Rescaled<'_> {
    fn tempered_grad(&self, y: &[f64], beta: f64, grad: &mut [f64]) -> (f64, f64) {
        let (prior, lik) = self.inner.tempered_grad(y, beta, grad);
        match self.map.0 {
            None => (prior, lik),
            // the likelihood of the data in their own units; the rest of the constant with
            // the prior
            Some(s) => (prior + self.lp_shift - s.lik_shift, lik + s.lik_shift),
        }
    }

    fn draw_prior(&self, rng: &mut chacha20::ChaCha8Rng) -> Vec<f64> {
        let p = crate::simulate::draw_params(self.model, rng);
        self.map.to_engine(&Transform::new(self.model).pack(&p))
    }
}
