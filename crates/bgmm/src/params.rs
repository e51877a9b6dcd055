//! Parameters on the constrained space: weights on the simplex, locations, positive scales.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Model;

/// Values of the global sites of a mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Mixture weights, K values on the simplex.
    pub weights: Vec<f64>,
    /// Locations, K·D values, row-major (`locs[k * D + j]`).
    pub locs: Vec<f64>,
    /// The component family's values: for the diagonal family the free scales, as many as
    /// the sharing has (see [`crate::Sharing::n_scales`]).
    pub scales: Vec<f64>,
}

/// A site's value shaped as it is reported: a number, a vector or a matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Shaped {
    /// A scalar.
    Scalar(f64),
    /// A vector.
    Vector(Vec<f64>),
    /// A matrix, row by row.
    Matrix(Vec<Vec<f64>>),
}

/// Read as a number, a list of numbers or a list of lists, with an error that says so
/// (serde's untagged enums only say that no variant matched).
impl<'de> Deserialize<'de> for Shaped {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use crate::model::OneOrMany;
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Shaped;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number, a list of numbers or a list of lists of numbers")
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Shaped, E> {
                Ok(Shaped::Scalar(v))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Shaped, E> {
                Ok(Shaped::Scalar(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Shaped, E> {
                Ok(Shaped::Scalar(v as f64))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Shaped, A::Error> {
                // each entry a number (a vector) or a list (a matrix's row)
                let (mut vector, mut matrix) = (Vec::new(), Vec::new());
                while let Some(x) = seq.next_element::<OneOrMany>()? {
                    match x {
                        OneOrMany::One(v) => vector.push(v),
                        OneOrMany::Many(row) => matrix.push(row),
                    }
                }
                match (vector.is_empty(), matrix.is_empty()) {
                    (_, true) => Ok(Shaped::Vector(vector)),
                    (true, false) => Ok(Shaped::Matrix(matrix)),
                    (false, false) => {
                        Err(serde::de::Error::custom("a list mixing numbers and lists"))
                    }
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Shaped {
    /// All values, flattened row-major.
    pub fn flatten(&self) -> Vec<f64> {
        match self {
            Shaped::Scalar(v) => vec![*v],
            Shaped::Vector(v) => v.clone(),
            Shaped::Matrix(m) => m.iter().flatten().copied().collect(),
        }
    }

    fn matrix(v: &[f64], cols: usize) -> Shaped {
        Shaped::Matrix(v.chunks(cols).map(|c| c.to_vec()).collect())
    }
}

/// Parameters shaped as the seeds print them: `weights` \[K\], `locs` \[K\] or \[K, D\],
/// `scale` a number, \[K\], \[D\] or \[K, D\].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapedParams {
    /// Mixture weights.
    pub weights: Vec<f64>,
    /// Locations.
    pub locs: Shaped,
    /// Scales.
    pub scale: Shaped,
}

impl Params {
    /// Check lengths and supports against the model.
    pub fn check(&self, model: &Model) -> Result<()> {
        let (k, d) = (model.k, model.d);
        let ns = model.n_scales();
        if self.weights.len() != k || self.locs.len() != k * d || self.scales.len() != ns {
            return Err(Error::Params(format!(
                "parameters have {} weights, {} locs and {} scales; the model needs {k}, {} and {ns}",
                self.weights.len(),
                self.locs.len(),
                self.scales.len(),
                k * d
            )));
        }
        let sum: f64 = self.weights.iter().sum();
        if self.weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || (sum - 1.0).abs() > 1e-6 {
            return Err(Error::Params(format!(
                "weights must be non-negative and sum to 1, got {:?}",
                self.weights
            )));
        }
        if let Some(v) = self.locs.iter().find(|v| !v.is_finite()) {
            return Err(Error::Params(format!("locs must be finite, got {v}")));
        }
        model.family.check(&self.scales, model.d)
    }

    /// Scale of component `k` in dimension `j`.
    #[inline]
    pub fn scale(&self, model: &Model, k: usize, j: usize) -> f64 {
        model.family.scale(&self.scales, k, j, model.d)
    }

    /// Location of component `k` in dimension `j`.
    #[inline]
    pub fn loc(&self, model: &Model, k: usize, j: usize) -> f64 {
        self.locs[k * model.d + j]
    }

    /// Constrained values flattened in the order of [`Model::constrained_names`].
    pub fn flat(&self) -> Vec<f64> {
        let mut v = self.weights.clone();
        v.extend_from_slice(&self.locs);
        v.extend_from_slice(&self.scales);
        v
    }

    /// Inverse of [`Params::flat`].
    pub fn from_flat(model: &Model, v: &[f64]) -> Params {
        let (k, kd) = (model.k, model.k * model.d);
        Params {
            weights: v[..k].to_vec(),
            locs: v[k..k + kd].to_vec(),
            scales: v[k + kd..].to_vec(),
        }
    }

    /// The same parameters with components reordered: component `i` of the result is
    /// component `perm[i]` of `self`.
    pub fn permuted(&self, model: &Model, perm: &[usize]) -> Params {
        let d = model.d;
        let weights = perm.iter().map(|&p| self.weights[p]).collect();
        let locs = perm
            .iter()
            .flat_map(|&p| self.locs[p * d..(p + 1) * d].iter().copied())
            .collect();
        let scales = model.family.permuted(&self.scales, perm, d);
        Params {
            weights,
            locs,
            scales,
        }
    }

    /// Shaped for reporting.
    pub fn shaped(&self, model: &Model) -> ShapedParams {
        let locs = if model.d == 1 {
            Shaped::Vector(self.locs.clone())
        } else {
            Shaped::matrix(&self.locs, model.d)
        };
        let shape = model.family.shape(model.k, model.d);
        let scale = match shape.len() {
            0 => Shaped::Scalar(self.scales[0]),
            1 => Shaped::Vector(self.scales.clone()),
            _ => Shaped::matrix(&self.scales, shape[1]),
        };
        ShapedParams {
            weights: self.weights.clone(),
            locs,
            scale,
        }
    }

    /// From the shaped form (as read back from a fit's JSON), checked against the model.
    pub fn from_shaped(model: &Model, s: &ShapedParams) -> Result<Params> {
        let p = Params {
            weights: s.weights.clone(),
            locs: s.locs.flatten(),
            scales: s.scale.flatten(),
        };
        p.check(model)?;
        Ok(p)
    }
}
