//! Split and merge moves from a fitted mode, after Ueda, Nakano, Ghahramani and Hinton's
//! SMEM (2000): a local optimum of a mixture often covers one cluster with two components
//! and two clusters with one. A move merges two components (or drops one that is empty or
//! narrower than the data's resolution) and splits another along its widest direction,
//! keeping K; the MAP search polishes each move's point and keeps what improves.

use crate::data::Data;
use crate::density::log_responsibilities;
use crate::model::Model;
use crate::params::Params;

/// A move's starting point and what it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    /// The starting point.
    pub params: Params,
    /// `merge 0+2, split 1`, `drop 3, split 0`.
    pub what: String,
}

/// One component's moments: weight, location, per-dimension variance and, for the
/// covariance families, the covariance (row-major D×D).
#[derive(Debug, Clone)]
struct Moments {
    w: f64,
    mu: Vec<f64>,
    var: Vec<f64>,
    cov: Option<Vec<f64>>,
}

/// The variance of component `c` in dimension `j` under `p`.
fn comp_var(model: &Model, p: &Params, c: usize, j: usize) -> f64 {
    let s = p.scale(model, c, j);
    s * s
}

fn moments(model: &Model, p: &Params, c: usize) -> Moments {
    let d = model.d;
    Moments {
        w: p.weights[c],
        mu: p.locs[c * d..(c + 1) * d].to_vec(),
        var: (0..d).map(|j| comp_var(model, p, c, j)).collect(),
        cov: model.family.covariance(&p.scales, c, d),
    }
}

/// The moment-matched merge of two components.
fn merged(a: &Moments, b: &Moments) -> Moments {
    let w = a.w + b.w;
    let (fa, fb) = if w > 0.0 {
        (a.w / w, b.w / w)
    } else {
        (0.5, 0.5)
    };
    let mu: Vec<f64> =
        a.mu.iter()
            .zip(&b.mu)
            .map(|(x, y)| fa * x + fb * y)
            .collect();
    let var = (0..a.mu.len())
        .map(|j| {
            let second = fa * (a.var[j] + a.mu[j] * a.mu[j]) + fb * (b.var[j] + b.mu[j] * b.mu[j]);
            (second - mu[j] * mu[j]).max(0.5 * (a.var[j] + b.var[j]))
        })
        .collect();
    // the pair's covariance, moment-matched: E[x xᵀ] of the two, less the mean's
    let cov = match (&a.cov, &b.cov) {
        (Some(ca), Some(cb)) => {
            let d = mu.len();
            let mut c = vec![0.0; d * d];
            for i in 0..d {
                for j in 0..d {
                    let second = fa * (ca[i * d + j] + a.mu[i] * a.mu[j])
                        + fb * (cb[i * d + j] + b.mu[i] * b.mu[j]);
                    c[i * d + j] = second - mu[i] * mu[j];
                }
            }
            Some(c)
        }
        _ => None,
    };
    Moments { w, mu, var, cov }
}

/// The principal direction (unit vector) of a component's responsibility-weighted scatter,
/// by power iteration; the widest of its own variances when it holds no points.
fn principal_direction(data: &Data, resp: &[f64], m: &Moments) -> (Vec<f64>, f64) {
    let d = data.d();
    let total: f64 = resp.iter().sum();
    let mut cov = vec![0.0; d * d];
    if total > 1e-9 {
        let mut x = vec![0.0; d];
        for (i, &r) in resp.iter().enumerate() {
            if r <= 0.0 {
                continue;
            }
            for j in 0..d {
                x[j] = data.col(j)[i] - m.mu[j];
            }
            for a in 0..d {
                for b in 0..=a {
                    cov[a * d + b] += r * x[a] * x[b];
                }
            }
        }
        for a in 0..d {
            for b in 0..=a {
                cov[a * d + b] /= total;
                cov[b * d + a] = cov[a * d + b];
            }
        }
    }
    if total <= 1e-9 || cov.iter().all(|v| *v == 0.0) {
        let j = (0..d)
            .max_by(|&a, &b| m.var[a].total_cmp(&m.var[b]))
            .unwrap_or(0);
        let mut v = vec![0.0; d];
        v[j] = 1.0;
        return (v, m.var[j]);
    }
    // start from the widest axis, so that the iteration is deterministic and never starts
    // orthogonal to a dominant direction along an axis
    let j0 = (0..d)
        .max_by(|&a, &b| cov[a * d + a].total_cmp(&cov[b * d + b]))
        .unwrap_or(0);
    let mut v = vec![0.0; d];
    v[j0] = 1.0;
    let mut lambda = cov[j0 * d + j0];
    for _ in 0..100 {
        let mut u = vec![0.0; d];
        for a in 0..d {
            for b in 0..d {
                u[a] += cov[a * d + b] * v[b];
            }
        }
        let norm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            break;
        }
        let next: Vec<f64> = u.iter().map(|x| x / norm).collect();
        let change: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
        v = next;
        lambda = norm;
        if change < 1e-10 {
            break;
        }
    }
    (v, lambda)
}

/// Two halves of a component split along `v` (variance `lambda` along it): for a Gaussian
/// cut in two at its mean, the halves' means lie `√(2/π)·σ` either side and their spread
/// along the cut is `√(1 − 2/π)·σ`. With a covariance `Σ`, the halves take that of a
/// Gaussian cut by the plane through its mean whose normal `w = Σ⁻¹v` makes the cut's
/// displacement lie along `v`: `Σ − (2/π)·v vᵀ / (vᵀ Σ⁻¹ v)`, positive definite as `Σ` is.
fn split(m: &Moments, v: &[f64], lambda: f64) -> (Moments, Moments) {
    let sd = lambda.max(0.0).sqrt();
    let off = (2.0 / std::f64::consts::PI).sqrt() * sd;
    let shrink = 2.0 / std::f64::consts::PI;
    let var: Vec<f64> = m
        .var
        .iter()
        .zip(v)
        .map(|(s2, vj)| (s2 * (1.0 - shrink * vj * vj)).max(s2 * 0.1))
        .collect();
    let cov = m.cov.as_ref().and_then(|sigma| {
        let d = v.len();
        let q =
            crate::observed::inverse_quadratic(&mut sigma.clone(), v, d).filter(|q| *q > 0.0)?;
        let mut c = sigma.clone();
        for i in 0..d {
            for j in 0..d {
                c[i * d + j] -= shrink * v[i] * v[j] / q;
            }
        }
        Some(c)
    });
    let var = match &cov {
        Some(c) => (0..v.len()).map(|j| c[j * v.len() + j]).collect(),
        None => var,
    };
    let half = |sign: f64| Moments {
        w: 0.5 * m.w,
        mu: m
            .mu
            .iter()
            .zip(v)
            .map(|(mu, vj)| mu + sign * off * vj)
            .collect(),
        var: var.clone(),
        cov: cov.clone(),
    };
    (half(-1.0), half(1.0))
}

/// Parameters from per-component moments, the family's values made from the variances as
/// it requires (for the diagonal family, scales every component shares are kept as they are
/// in `p`; with full covariances, every component not in `new` keeps its covariance from `p`:
/// a move changes two or three components, and the others' correlations, reset, cost the
/// short polish that screens the move most of its iterations).
fn assemble(model: &Model, p: &Params, comps: &[Moments], new: &[usize], spread: f64) -> Params {
    let (k, d) = (model.k, model.d);
    let total: f64 = comps.iter().map(|m| m.w).sum();
    let floor = 1e-6 / k as f64;
    let mut weights: Vec<f64> = comps.iter().map(|m| (m.w / total).max(floor)).collect();
    let s: f64 = weights.iter().sum();
    weights.iter_mut().for_each(|w| *w /= s);
    let locs = comps.iter().flat_map(|m| m.mu.iter().copied()).collect();
    let vars: Vec<&[f64]> = comps.iter().map(|m| m.var.as_slice()).collect();
    let covs: Vec<Option<&[f64]>> = comps.iter().map(|m| m.cov.as_deref()).collect();
    let fresh: Vec<bool> = (0..k).map(|c| new.contains(&c)).collect();
    let scales = model.family.from_variances(&p.scales, &vars, &covs, &fresh);
    let mut out = Params {
        weights,
        locs,
        scales,
    };
    if model.ordered {
        crate::init::order_locs(model, &mut out, spread);
    }
    debug_assert_eq!(out.locs.len(), k * d);
    out
}

/// Moves from the mode `p` of `model` on `data`: for the `pairs` pairs of components whose
/// responsibilities overlap most (cosine of their responsibility vectors) and every
/// component `bad` flags (empty, or narrower than the resolution), the merge or drop,
/// combined with a split of every other component (and of the merged one itself: a fresh
/// split of the two's points).
pub fn moves(model: &Model, data: &Data, p: &Params, bad: &[usize], pairs: usize) -> Vec<Move> {
    let k = model.k;
    if k < 2 {
        return Vec::new();
    }
    let n = data.n();
    // the responsibilities from the data as they are (an incomplete point's are those of
    // its observed values); the split directions from the points with each missing value at
    // its column's mean
    let lr = log_responsibilities(model, data, p);
    let data = &*data.mean_imputed();
    // responsibilities by component
    let resp: Vec<Vec<f64>> = (0..k)
        .map(|c| (0..n).map(|i| lr[i][c].exp()).collect())
        .collect();
    let comps: Vec<Moments> = (0..k).map(|c| moments(model, p, c)).collect();
    let spread = crate::data::sample_sd(&data.observed(0));
    let norm: Vec<f64> = resp
        .iter()
        .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect();
    let mut scored: Vec<(f64, usize, usize)> = Vec::new();
    for a in 0..k {
        for b in a + 1..k {
            if bad.contains(&a) || bad.contains(&b) {
                continue;
            }
            let dot: f64 = resp[a].iter().zip(&resp[b]).map(|(x, y)| x * y).sum();
            let cos = if norm[a] > 0.0 && norm[b] > 0.0 {
                dot / (norm[a] * norm[b])
            } else {
                0.0
            };
            scored.push((cos, a, b));
        }
    }
    scored.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
    scored.truncate(pairs);

    let mut out = Vec::new();
    // merge a and b into slot a, freeing slot b for the split of c
    for &(_, a, b) in &scored {
        let mut base = comps.clone();
        base[a] = merged(&comps[a], &comps[b]);
        let merged_resp: Vec<f64> = resp[a].iter().zip(&resp[b]).map(|(x, y)| x + y).collect();
        for c in 0..k {
            if c == b {
                continue;
            }
            let r = if c == a { &merged_resp } else { &resp[c] };
            let (v, lambda) = principal_direction(data, r, &base[c]);
            let (lo, hi) = split(&base[c], &v, lambda);
            let mut next = base.clone();
            next[c] = lo;
            next[b] = hi;
            let what = if c == a {
                format!("merge {a}+{b}, split again")
            } else {
                format!("merge {a}+{b}, split {c}")
            };
            out.push(Move {
                params: assemble(model, p, &next, &[a, b, c], spread),
                what,
            });
        }
    }
    // drop a bad component, its slot going to the split of another
    for &b in bad {
        for c in 0..k {
            if c == b || bad.contains(&c) {
                continue;
            }
            let (v, lambda) = principal_direction(data, &resp[c], &comps[c]);
            let (lo, hi) = split(&comps[c], &v, lambda);
            let mut next = comps.clone();
            next[c] = lo;
            next[b] = hi;
            out.push(Move {
                params: assemble(model, p, &next, &[b, c], spread),
                what: format!("drop {b}, split {c}"),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelSpec, Sharing};

    fn model(k: i64, sharing: Sharing, data: &Data) -> Model {
        ModelSpec::quick(k, sharing, data)
            .build(Some(data.d()))
            .unwrap()
    }

    #[test]
    fn merge_matches_the_moments_of_the_pair() {
        let a = Moments {
            w: 0.25,
            mu: vec![0.0],
            var: vec![1.0],
            cov: None,
        };
        let b = Moments {
            w: 0.75,
            mu: vec![4.0],
            var: vec![4.0],
            cov: None,
        };
        let m = merged(&a, &b);
        assert_eq!(m.w, 1.0);
        assert!((m.mu[0] - 3.0).abs() < 1e-15);
        // E[x²] = 0.25·1 + 0.75·(4 + 16) = 15.25; minus 9
        assert!((m.var[0] - 6.25).abs() < 1e-12);
    }

    #[test]
    fn split_halves_keep_the_mean_and_move_along_the_widest_direction() {
        // points on a line y = 2x: the principal direction is (1, 2)/√5
        let xs: Vec<f64> = (0..101).map(|i| (i as f64 - 50.0) / 10.0).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 2.0 * x).collect();
        let data = Data::from_columns(vec![xs, ys]).unwrap();
        let m = Moments {
            w: 1.0,
            mu: vec![0.0, 0.0],
            var: vec![1.0, 4.0],
            cov: None,
        };
        let (v, lambda) = principal_direction(&data, &vec![1.0; 101], &m);
        let s5 = 5f64.sqrt();
        assert!((v[0].abs() - 1.0 / s5).abs() < 1e-9 && (v[1].abs() - 2.0 / s5).abs() < 1e-9);
        assert!(v[0] * v[1] > 0.0);
        // the scatter's variance along it: 5·var(x), var(x) = Σ i²/100 / 101 over ±50
        let var_x = (-50..=50).map(|i| (i * i) as f64 / 100.0).sum::<f64>() / 101.0;
        assert!((lambda - 5.0 * var_x).abs() < 1e-9);
        let (lo, hi) = split(&m, &v, lambda);
        for j in 0..2 {
            assert!((lo.mu[j] + hi.mu[j]).abs() < 1e-12);
        }
        let off = (2.0 / std::f64::consts::PI * lambda).sqrt();
        let dist = ((hi.mu[0] - lo.mu[0]).powi(2) + (hi.mu[1] - lo.mu[1]).powi(2)).sqrt();
        assert!((dist - 2.0 * off).abs() < 1e-9);
        assert_eq!(lo.w + hi.w, 1.0);
    }

    #[test]
    fn moves_keep_k_and_cover_every_merge_and_split() {
        let data = Data::from_1d(vec![0.0, 0.1, 0.2, 5.0, 5.1, 5.2, 9.0, 9.1, 9.3]).unwrap();
        let m = model(3, Sharing::Component, &data);
        let p = Params {
            weights: vec![0.3, 0.3, 0.4],
            locs: vec![0.1, 5.1, 9.1],
            scales: vec![0.1, 0.1, 0.15],
        };
        let ms = moves(&m, &data, &p, &[], 3);
        // 3 pairs, each with 2 splits (the third component and the merged one)
        assert_eq!(ms.len(), 6);
        for mv in &ms {
            assert_eq!(mv.params.weights.len(), 3);
            assert!((mv.params.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert!(mv.params.scales.iter().all(|s| *s > 0.0));
        }
        let dropped = moves(&m, &data, &p, &[1], 0);
        assert_eq!(
            dropped.iter().map(|m| m.what.as_str()).collect::<Vec<_>>(),
            ["drop 1, split 0", "drop 1, split 2"]
        );
    }

    #[test]
    fn full_covariance_moves_keep_the_correlations_of_the_components_they_leave() {
        // four correlated clusters in 2-D
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (c, (cx, cy, rho)) in [
            (0.0, 0.0, 0.8),
            (6.0, 0.0, -0.6),
            (0.0, 6.0, 0.5),
            (6.0, 6.0, 0.0),
        ]
        .into_iter()
        .enumerate()
        {
            for i in 0..25 {
                let (u, v) = (
                    ((i * 7 + c) % 11) as f64 / 5.0 - 1.0,
                    ((i * 3) % 13) as f64 / 6.0 - 1.0,
                );
                x.push(cx + u);
                y.push(cy + rho * u + (1.0 - rho * rho).sqrt() * v);
            }
        }
        let data = Data::from_columns(vec![x, y]).unwrap();
        let m = ModelSpec::quick(4, crate::CovarianceFamily::Full, &data)
            .build(Some(2))
            .unwrap();
        // a component's block in 2-D: two scales, one correlation coordinate
        let len = 3;
        let blocks = [
            [0.6, 0.6, 0.8],
            [0.6, 0.6, -0.6],
            [0.6, 0.6, 0.5],
            [0.6, 0.6, 0.0],
        ];
        let p = Params {
            weights: vec![0.25; 4],
            locs: vec![0.0, 0.0, 6.0, 0.0, 0.0, 6.0, 6.0, 6.0],
            scales: blocks.iter().flatten().copied().collect(),
        };
        assert_eq!(p.scales.len(), 4 * len);
        let ms = moves(&m, &data, &p, &[2], 2);
        assert!(ms.len() >= 6);
        for mv in &ms {
            // the components the move made: "merge a+b, split c", "… split again", "drop b, split c"
            let nums: Vec<usize> = mv
                .what
                .split(|ch: char| !ch.is_ascii_digit())
                .filter_map(|t| t.parse().ok())
                .collect();
            for c in 0..4 {
                let got = &mv.params.scales[c * len..(c + 1) * len];
                if nums.contains(&c) {
                    assert!(m.family.representable(got, 2), "{}: component {c}", mv.what);
                } else {
                    assert_eq!(
                        got,
                        &p.scales[c * len..(c + 1) * len],
                        "{}: component {c}",
                        mv.what
                    );
                }
            }
            // a merge that is not split again: the merged component's covariance is the
            // pair's, moment-matched
            if let [a, b, c] = nums[..] {
                if c != a {
                    let cov = |q: &Params, i: usize| m.family.covariance(&q.scales, i, 2).unwrap();
                    let (ca, cb, got) = (cov(&p, a), cov(&p, b), cov(&mv.params, a));
                    let (wa, wb) = (p.weights[a], p.weights[b]);
                    let (fa, fb) = (wa / (wa + wb), wb / (wa + wb));
                    let mu = |q: &Params, i: usize, j: usize| q.locs[i * 2 + j];
                    for i in 0..2 {
                        for j in 0..2 {
                            let second = fa * (ca[i * 2 + j] + mu(&p, a, i) * mu(&p, a, j))
                                + fb * (cb[i * 2 + j] + mu(&p, b, i) * mu(&p, b, j));
                            let want = second - mu(&mv.params, a, i) * mu(&mv.params, a, j);
                            assert!(
                                (got[i * 2 + j] - want).abs() < 1e-9 * want.abs().max(1.0),
                                "{}: Σ[{i}{j}] {} against {want}",
                                mv.what,
                                got[i * 2 + j]
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_split_covariance_is_that_of_the_half_gaussian() {
        // Σ = [[4, 1.2], [1.2, 1]], cut along its principal axis: the halves' variance along
        // it is (1 − 2/π)·λ, across it unchanged
        let sigma = vec![4.0, 1.2, 1.2, 1.0];
        let m = Moments {
            w: 1.0,
            mu: vec![0.0, 0.0],
            var: vec![4.0, 1.0],
            cov: Some(sigma.clone()),
        };
        let tr: f64 = 5.0;
        let det: f64 = 4.0 - 1.44;
        let lambda = 0.5 * (tr + (tr * tr - 4.0 * det).sqrt());
        let v = {
            let (x, y) = (1.2, lambda - 4.0);
            let n = (x * x + y * y).sqrt();
            vec![x / n, y / n]
        };
        let (lo, hi) = split(&m, &v, lambda);
        let c = lo.cov.as_ref().unwrap();
        assert_eq!(lo.cov, hi.cov);
        let quad = |c: &[f64], u: &[f64]| {
            u[0] * u[0] * c[0] + 2.0 * u[0] * u[1] * c[1] + u[1] * u[1] * c[3]
        };
        let shrink = 2.0 / std::f64::consts::PI;
        assert!((quad(c, &v) - (1.0 - shrink) * lambda).abs() < 1e-12);
        let across = [-v[1], v[0]];
        assert!((quad(c, &across) - quad(&sigma, &across)).abs() < 1e-12);
        assert!((lo.var[0] - c[0]).abs() < 1e-15 && (lo.var[1] - c[3]).abs() < 1e-15);
    }
}
