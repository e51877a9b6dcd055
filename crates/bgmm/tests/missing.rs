//! Missing values (NaN in [`Data::with_missing`]) in the kernel and the statistics, under
//! missing at random: a point's likelihood is the mixture of the marginal densities of its
//! observed coordinates. Checked against a brute-force reference (the full density integrated
//! numerically over the missing coordinate), against the plain scalar loop, by finite
//! differences of the gradient, by merging the statistics of a partition, and by the
//! classification of a point with every value missing (the weights alone).
#![allow(clippy::needless_range_loop)]

use bgmm::{
    log_likelihood_at, log_likelihood_from_stats, log_likelihood_grad, log_likelihood_scalar,
    log_responsibilities, stats, Data, LogDensity, MixtureDensity, Model, ModelSpec, NaturalGrad,
    Params, ScalePrior, Sharing, SufficientStats,
};
use bgmm::{LocsSpec, OneOrMany, ScaleSpec, WeightsSpec};

const SHARINGS: [Sharing; 4] = [
    Sharing::Shared,
    Sharing::Component,
    Sharing::Dimension,
    Sharing::Diagonal,
];

fn model(k: usize, d: usize, sharing: Sharing) -> Model {
    ModelSpec {
        k: k as i64,
        d: Some(d as i64),
        weights: WeightsSpec {
            concentration: OneOrMany::One(2.0),
        },
        locs: LocsSpec {
            loc: OneOrMany::One(0.0),
            scale: OneOrMany::One(3.0),
            ordered: false,
        },
        scale: ScaleSpec::from_prior(
            ScalePrior::LogNormal {
                mu: 0.0,
                sigma: 0.5,
            },
            sharing,
        ),
    }
    .build(Some(d))
    .unwrap()
}

/// Simulated data of K = 3 components in `d` dimensions with values removed: column 0 of
/// the first 300 rows (a whole block of incomplete points), about one value in six
/// elsewhere (a fixed pattern), and every value of rows 7, 1000 and 2900.
fn data_with_missing(model: &Model, n: usize) -> (Data, Params) {
    let sim = bgmm::simulate(model, n, 11).unwrap();
    let d = model.d;
    let mut cols: Vec<Vec<f64>> = (0..d).map(|j| sim.data.col(j).to_vec()).collect();
    for i in 0..n {
        for j in 0..d {
            let gone = (i < 300 && j == 0)
                || (i * 7 + j * 3) % 6 == 0 && i % 5 != 0
                || [7, 1000, 2900].contains(&i);
            if gone {
                cols[j][i] = f64::NAN;
            }
        }
    }
    (Data::with_missing(cols).unwrap(), sim.params)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

fn ln_normal(x: f64, mu: f64, s: f64) -> f64 {
    let z = (x - mu) / s;
    -0.5 * (2.0 * std::f64::consts::PI).ln() - s.ln() - 0.5 * z * z
}

/// Each incomplete point's log likelihood against `log ∫ p(x_obs, y) dy`, the full mixture
/// density integrated over the missing coordinate y by Simpson's rule on 40 001 points over
/// ±40 around the data (the components' scales are about 1, their locations within ±10).
#[test]
fn the_likelihood_of_an_incomplete_point_is_the_integral_of_the_full_density() {
    let (k, d) = (3, 3);
    for sharing in SHARINGS {
        let m = model(k, d, sharing);
        let params = Params {
            weights: vec![0.2, 0.5, 0.3],
            locs: vec![-2.0, 0.5, 1.0, 1.5, -1.0, 0.0, 3.0, 2.0, -2.5],
            scales: (0..m.n_scales()).map(|i| 0.6 + 0.25 * i as f64).collect(),
        };
        let full = |x: &[f64; 3]| -> f64 {
            (0..k)
                .map(|c| {
                    let l: f64 = (0..d)
                        .map(|j| {
                            let s = m.family.scale(&params.scales, c, j, d);
                            ln_normal(x[j], params.locs[c * d + j], s)
                        })
                        .sum();
                    params.weights[c] * l.exp()
                })
                .sum()
        };
        let nan = f64::NAN;
        let points: [[f64; 3]; 4] = [
            [0.3, nan, -1.2],
            [nan, 1.1, 0.4],
            [2.5, 0.7, nan],
            [-1.5, nan, nan], // two missing: integrated over the first of them below
        ];
        for p in points {
            let data = Data::with_missing((0..d).map(|j| vec![p[j]]).collect()).unwrap();
            let got = log_likelihood_at(&m, &data, &params);
            let miss = p.iter().position(|v| v.is_nan()).unwrap();
            let (lo, hi, steps) = (-40.0, 40.0, 40_000);
            let h = (hi - lo) / steps as f64;
            let marg = |y: f64| -> f64 {
                let mut x = p;
                x[miss] = y;
                if x.iter().any(|v| v.is_nan()) {
                    // the second missing coordinate: its factor by a nested integral
                    let other = x.iter().position(|v| v.is_nan()).unwrap();
                    let mut s = 0.0;
                    for i in 0..=2000 {
                        let z = -40.0 + 80.0 * i as f64 / 2000.0;
                        x[other] = z;
                        let wgt = if i == 0 || i == 2000 {
                            1.0
                        } else if i % 2 == 1 {
                            4.0
                        } else {
                            2.0
                        };
                        s += wgt * full(&x);
                    }
                    s * (80.0 / 2000.0) / 3.0
                } else {
                    full(&x)
                }
            };
            let steps = if p.iter().filter(|v| v.is_nan()).count() == 2 {
                4000
            } else {
                steps
            };
            let h = if steps == 4000 { (hi - lo) / 4000.0 } else { h };
            let mut integral = 0.0;
            for i in 0..=steps {
                let wgt = if i == 0 || i == steps {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                integral += wgt * marg(lo + h * i as f64);
            }
            let want = (integral * h / 3.0).ln();
            assert!(
                (got - want).abs() < 1e-9,
                "{sharing:?}, point {p:?}: {got} vs the integral's {want}"
            );
        }
        // a point with every value missing contributes nothing
        let data = Data::with_missing(vec![vec![nan]; d]).unwrap();
        assert_eq!(log_likelihood_at(&m, &data, &params), 0.0, "{sharing:?}");
    }
}

/// The kernel (complete rows vectorised, incomplete ones apart) against the plain scalar
/// loop, likelihood and gradient, on 3000 points in two chunks with a block of incomplete
/// points only; and the natural gradient against central finite differences.
#[test]
fn kernel_and_gradient_with_missing_values() {
    let (k, d, n) = (3, 2, 3000);
    for sharing in SHARINGS {
        let m = model(k, d, sharing);
        let (data, params) = data_with_missing(&m, n);
        assert!(data.n_missing() > 500, "{}", data.n_missing());
        let (ll, g) = log_likelihood_grad(&m, &data, &params);
        let mut gs = NaturalGrad::zeros(&m);
        let ls = log_likelihood_scalar(&m, &data, &params, Some(&mut gs));
        assert!(close(ll, ls, 1e-12), "{sharing:?}: {ll} vs {ls}");
        let flat = |g: &NaturalGrad| -> Vec<f64> {
            g.logw
                .iter()
                .chain(&g.locs)
                .chain(&g.log_scales)
                .copied()
                .collect()
        };
        for (a, b) in flat(&g).iter().zip(flat(&gs)) {
            assert!(close(*a, b, 1e-10), "{sharing:?}: gradient {a} vs {b}");
        }
        // finite differences in log w (unnormalised: K free coordinates), μ and log s
        let h = 1e-5;
        let at = |p: &Params| log_likelihood_at(&m, &data, p);
        let mut fd = Vec::new();
        for c in 0..k {
            let (mut p, mut q) = (params.clone(), params.clone());
            p.weights[c] *= f64::exp(h);
            q.weights[c] *= f64::exp(-h);
            fd.push((at(&p) - at(&q)) / (2.0 * h));
        }
        for i in 0..k * d {
            let (mut p, mut q) = (params.clone(), params.clone());
            p.locs[i] += h;
            q.locs[i] -= h;
            fd.push((at(&p) - at(&q)) / (2.0 * h));
        }
        for i in 0..m.n_scales() {
            let (mut p, mut q) = (params.clone(), params.clone());
            p.scales[i] *= f64::exp(h);
            q.scales[i] *= f64::exp(-h);
            fd.push((at(&p) - at(&q)) / (2.0 * h));
        }
        for (i, (a, b)) in flat(&g).iter().zip(&fd).enumerate() {
            assert!(
                (a - b).abs() < 1e-5 * (1.0 + b.abs()),
                "{sharing:?}, coordinate {i}: analytic {a} vs finite differences {b}"
            );
        }
        // without the missing values' correction the scale gradient would be off by
        // Σ r_miss: the test can fail
        let st = stats(&m, &params, data.view(), true).unwrap();
        assert!(st.r_miss.iter().sum::<f64>() > 500.0);
    }
}

/// Statistics of a partition with missing values merge to the whole data's: parts with and
/// without missing values, in any grouping, give the same log likelihood and gradient.
#[test]
fn statistics_with_missing_values_merge() {
    let (k, d, n) = (3, 2, 3000);
    let m = model(k, d, Sharing::Diagonal);
    let (data, params) = data_with_missing(&m, n);
    let whole = stats(&m, &params, data.view(), true).unwrap();
    let (ll, g) = log_likelihood_from_stats(&m, &params, &whole).unwrap();
    // a part without missing values first: its statistics have no r_miss
    let complete: Vec<usize> = (0..n)
        .filter(|&i| (0..d).all(|j| !data.col(j)[i].is_nan()))
        .collect();
    let i0 = complete[0];
    let part = stats(&m, &params, data.view().rows(i0..i0 + 1), true).unwrap();
    assert!(part.r_miss.is_empty());
    for cuts in [vec![0, 1, 300, 301, 2047, n], vec![0, i0, i0 + 1, n]] {
        let mut total = SufficientStats::empty(&m, true);
        for w in cuts.windows(2) {
            let p = stats(&m, &params, data.view().rows(w[0]..w[1]), true).unwrap();
            let sent = serde_json::to_string(&p).unwrap();
            total.merge(&serde_json::from_str(&sent).unwrap()).unwrap();
        }
        assert_eq!(total.n, n as u64);
        let (l2, g2) = log_likelihood_from_stats(&m, &params, &total).unwrap();
        assert!(close(l2, ll, 1e-12), "{cuts:?}: {l2} vs {ll}");
        for (a, b) in g2
            .locs
            .iter()
            .chain(&g2.log_scales)
            .zip(g.locs.iter().chain(&g.log_scales))
        {
            assert!(close(*a, *b, 1e-10), "{cuts:?}: {a} vs {b}");
        }
        for (a, b) in total.r_miss.iter().zip(&whole.r_miss) {
            assert!(close(*a, *b, 1e-12), "{cuts:?}: r_miss {a} vs {b}");
        }
    }
}

/// Responsibilities with missing values: a point with every value missing gets the weights;
/// an incomplete point those of its observed coordinates alone (the same as the point
/// without the missing column under the model of the other columns, for the diagonal
/// sharing).
#[test]
fn points_with_missing_values_are_classified_by_what_is_observed() {
    let (k, d) = (3, 2);
    let m = model(k, d, Sharing::Diagonal);
    let params = Params {
        weights: vec![0.2, 0.5, 0.3],
        locs: vec![-2.0, 0.5, 1.5, -1.0, 3.0, 2.0],
        scales: vec![0.7, 1.1, 0.9, 0.6, 1.3, 0.8],
    };
    let nan = f64::NAN;
    // 300 rows, so the incomplete ones fall in blocks of complete ones too
    let mut c0: Vec<f64> = (0..300).map(|i| (i as f64 * 0.37).sin() * 3.0).collect();
    let mut c1: Vec<f64> = (0..300).map(|i| (i as f64 * 0.11).cos() * 2.0).collect();
    (c0[5], c1[5]) = (nan, nan);
    c1[260] = nan;
    let data = Data::with_missing(vec![c0.clone(), c1]).unwrap();
    let lr = log_responsibilities(&m, &data, &params);
    for (c, w) in params.weights.iter().enumerate() {
        assert!(
            (lr[5][c].exp() - w).abs() < 1e-14,
            "{} vs {w}",
            lr[5][c].exp()
        );
    }
    let x = c0[260];
    let terms: Vec<f64> = (0..k)
        .map(|c| params.weights[c].ln() + ln_normal(x, params.locs[c * d], params.scales[c * d]))
        .collect();
    let lse = terms.iter().map(|t| t.exp()).sum::<f64>().ln();
    for c in 0..k {
        assert!((lr[260][c] - (terms[c] - lse)).abs() < 1e-12);
    }
    // a complete point as it was
    let one = Data::from_columns(vec![vec![c0[17]], vec![data.col(1)[17]]]).unwrap();
    assert_eq!(log_responsibilities(&m, &one, &params)[0], lr[17]);
}

/// Simulated data of `m` with about `frac` of the values removed completely at random (a
/// fixed generator), and no row left without a value.
fn remove_at_random(m: &Model, n: usize, seed: u64, frac: f64) -> (Data, Params) {
    let sim = bgmm::simulate(m, n, seed).unwrap();
    let d = m.d;
    let mut cols: Vec<Vec<f64>> = (0..d).map(|j| sim.data.col(j).to_vec()).collect();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..n {
        for j in 0..d {
            if uniform() < frac {
                cols[j][i] = f64::NAN;
            }
        }
        if (0..d).all(|j| cols[j][i].is_nan()) {
            cols[0][i] = sim.data.col(0)[i];
        }
    }
    (Data::with_missing(cols).unwrap(), sim.params)
}

/// Maximum likelihood with missing values by EM (Ghahramani and Jordan 1994), written here
/// apart from the library: full covariances, the E step conditioning each component's
/// Gaussian on a point's observed values (Gauss-Jordan inverse of Σ_OO), the M step from
/// the filled-in points and the conditional covariances. Returns weights, locations and
/// covariances after `iters` steps from `start`, and the log likelihood.
fn em_full(
    data: &Data,
    k: usize,
    start: (Vec<f64>, Vec<f64>, Vec<Vec<f64>>),
    iters: usize,
) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>, f64) {
    let (n, d) = (data.n(), data.d());
    let (mut w, mut mu, mut sig) = start;
    let inv = |a: &[f64], m: usize| -> (Vec<f64>, f64) {
        // Gauss-Jordan with partial pivoting; returns the inverse and ln det
        let mut a = a.to_vec();
        let mut b: Vec<f64> = (0..m * m)
            .map(|i| if i % (m + 1) == 0 { 1.0 } else { 0.0 })
            .collect();
        let mut ld = 0.0;
        for c in 0..m {
            let p = (c..m)
                .max_by(|&x, &y| a[x * m + c].abs().total_cmp(&a[y * m + c].abs()))
                .unwrap();
            for l in 0..m {
                a.swap(c * m + l, p * m + l);
                b.swap(c * m + l, p * m + l);
            }
            let v = a[c * m + c];
            ld += v.abs().ln();
            for l in 0..m {
                a[c * m + l] /= v;
                b[c * m + l] /= v;
            }
            for r in 0..m {
                if r != c {
                    let f = a[r * m + c];
                    for l in 0..m {
                        a[r * m + l] -= f * a[c * m + l];
                        b[r * m + l] -= f * b[c * m + l];
                    }
                }
            }
        }
        (b, ld)
    };
    let mut ll = 0.0;
    for it in 0..=iters {
        let mut nk = vec![0.0; k];
        let mut sx = vec![0.0; k * d];
        let mut sxx = vec![vec![0.0; d * d]; k];
        ll = 0.0;
        for i in 0..n {
            let x: Vec<f64> = (0..d).map(|j| data.col(j)[i]).collect();
            let o: Vec<usize> = (0..d).filter(|&j| !x[j].is_nan()).collect();
            let miss: Vec<usize> = (0..d).filter(|&j| x[j].is_nan()).collect();
            let mut terms = vec![0.0; k];
            let mut fills = vec![];
            for c in 0..k {
                let s = &sig[c];
                let soo: Vec<f64> = o
                    .iter()
                    .flat_map(|&a| o.iter().map(move |&b| s[a * d + b]))
                    .collect();
                let (p, ld) = inv(&soo, o.len());
                let dev: Vec<f64> = o.iter().map(|&a| x[a] - mu[c * d + a]).collect();
                let pd: Vec<f64> = (0..o.len())
                    .map(|a| (0..o.len()).map(|b| p[a * o.len() + b] * dev[b]).sum())
                    .collect();
                let q: f64 = dev.iter().zip(&pd).map(|(a, b)| a * b).sum();
                terms[c] = w[c].ln()
                    - 0.5 * o.len() as f64 * (2.0 * std::f64::consts::PI).ln()
                    - 0.5 * ld
                    - 0.5 * q;
                // x̂ and the conditional covariance of the missing block
                let mut xh = x.clone();
                for &m in &miss {
                    xh[m] = mu[c * d + m]
                        + o.iter()
                            .enumerate()
                            .map(|(a, &oa)| s[m * d + oa] * pd[a])
                            .sum::<f64>();
                }
                let mut cc = vec![0.0; d * d];
                for &m1 in &miss {
                    for &m2 in &miss {
                        let mut v = s[m1 * d + m2];
                        for (a, &oa) in o.iter().enumerate() {
                            for (b, &ob) in o.iter().enumerate() {
                                v -= s[m1 * d + oa] * p[a * o.len() + b] * s[ob * d + m2];
                            }
                        }
                        cc[m1 * d + m2] = v;
                    }
                }
                fills.push((xh, cc));
            }
            let mx = terms.iter().fold(f64::NEG_INFINITY, |a, t| a.max(*t));
            let lse = mx + terms.iter().map(|t| (t - mx).exp()).sum::<f64>().ln();
            ll += lse;
            for c in 0..k {
                let r = (terms[c] - lse).exp();
                nk[c] += r;
                let (xh, cc) = &fills[c];
                for a in 0..d {
                    sx[c * d + a] += r * xh[a];
                    for b in 0..d {
                        sxx[c][a * d + b] += r * (xh[a] * xh[b] + cc[a * d + b]);
                    }
                }
            }
        }
        if it == iters {
            break;
        }
        for c in 0..k {
            w[c] = nk[c] / n as f64;
            for a in 0..d {
                mu[c * d + a] = sx[c * d + a] / nk[c];
            }
            for a in 0..d {
                for b in 0..d {
                    sig[c][a * d + b] = sxx[c][a * d + b] / nk[c] - mu[c * d + a] * mu[c * d + b];
                }
            }
        }
    }
    (w, mu, sig, ll)
}

/// The MAP with missing values against maximum likelihood by EM. 2000 points of K = 3
/// correlated components in D = 3, 20 % of the values removed at random: bgmm's MAP under the
/// default weak priors (`-k 3 --covariance full`) and EM's maximum, started from the simulated
/// truth, are the same mode (every location within 0.05, weights within 0.01), and EM's log
/// likelihood is at most 2 nats above the MAP's (the priors take a little, as on complete
/// data). The diagonal family fits the same data, less well.
#[test]
fn the_map_with_missing_values_is_the_em_maximum() {
    let (k, d, n) = (3, 3, 2000);
    let m = &cov_models(k, d)[0];
    let (data, truth) = remove_at_random(m, n, 21, 0.2);
    assert!(data.n_missing() > 1000, "{}", data.n_missing());
    let quick = ModelSpec::quick(3, bgmm::CovarianceFamily::Full, &data)
        .build(Some(d))
        .unwrap();
    let f = bgmm::fit(&quick, &data, &bgmm::FitOptions::default()).unwrap();
    assert!(f.converged, "{}", f.message);
    let ll_map = log_likelihood_at(&quick, &data, &f.params);
    let covs: Vec<Vec<f64>> = (0..k)
        .map(|c| m.family.covariance(&truth.scales, c, d).unwrap())
        .collect();
    let (w, mu, _, ll_em) = em_full(
        &data,
        k,
        (truth.weights.clone(), truth.locs.clone(), covs),
        300,
    );
    assert!(
        ll_em >= ll_map - 1e-6 && ll_em - ll_map < 2.0,
        "EM {ll_em} against the MAP's {ll_map}"
    );
    // the same components, matched by their nearest locations
    for c in 0..k {
        let e = (0..k)
            .min_by(|&a, &b| {
                let da: f64 = (0..d)
                    .map(|j| (f.params.locs[c * d + j] - mu[a * d + j]).powi(2))
                    .sum();
                let db: f64 = (0..d)
                    .map(|j| (f.params.locs[c * d + j] - mu[b * d + j]).powi(2))
                    .sum();
                da.total_cmp(&db)
            })
            .unwrap();
        for j in 0..d {
            let (a, b) = (f.params.locs[c * d + j], mu[e * d + j]);
            assert!(
                (a - b).abs() < 0.05,
                "component {c}, dimension {j}: {a} against EM's {b}"
            );
        }
        assert!((f.params.weights[c] - w[e]).abs() < 0.01);
    }
    // the diagonal family's MAP runs on the same data and is a proper fit
    let diag = ModelSpec::quick(3, Sharing::Diagonal, &data)
        .build(Some(d))
        .unwrap();
    let g = bgmm::fit(&diag, &data, &bgmm::FitOptions::default()).unwrap();
    assert!(g.converged, "{}", g.message);
    assert!(log_likelihood_at(&diag, &data, &g.params) < ll_map);
    // ±∞ is still refused
    let e = Data::with_missing(vec![vec![0.0, f64::INFINITY]]).unwrap_err();
    assert!(e.to_string().contains("not finite"), "{e}");
    // a column without an observed value cannot be fitted
    let none = Data::with_missing(vec![vec![0.0, 1.0, 2.0], vec![f64::NAN; 3]]).unwrap();
    let two = model(2, 2, Sharing::Diagonal);
    let e = bgmm::fit(&two, &none, &bgmm::FitOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("column 2 has no observed value"),
        "{e}"
    );
}

/// Missing values counted per column, and the complete rows (what dropping incomplete rows
/// keeps).
#[test]
fn missing_values_are_counted_and_incomplete_rows_dropped() {
    let nan = f64::NAN;
    let data = Data::with_missing(vec![
        vec![1.0, nan, 3.0, nan, 5.0],
        vec![10.0, 20.0, nan, nan, 50.0],
    ])
    .unwrap();
    assert_eq!(data.n_missing(), 4);
    assert_eq!(data.missing_per_column(), vec![2, 2]);
    let kept = data.complete_rows().unwrap();
    assert_eq!(kept.n_missing(), 0);
    assert_eq!(kept.columns(), &[vec![1.0, 5.0], vec![10.0, 50.0]]);
    let none = Data::with_missing(vec![vec![nan, 1.0], vec![2.0, nan]]).unwrap();
    let e = none.complete_rows().unwrap_err();
    assert!(e.to_string().contains("every one of the 2 points"), "{e}");
    // data without missing values are kept whole
    let full = Data::from_columns(vec![vec![1.0, 2.0]]).unwrap();
    assert_eq!(full.complete_rows().unwrap(), full);
    assert_eq!(full.missing_per_column(), vec![0]);
}

/// The covariance families' models: full and tied with scales × LKJ, full with the inverse
/// Wishart.
fn cov_models(k: usize, d: usize) -> Vec<Model> {
    [
        r#""sharing": "full", "prior": "lognormal", "mu": 0.0, "sigma": 0.5, "eta": 1.5"#,
        r#""sharing": "tied", "prior": "lognormal", "mu": 0.0, "sigma": 0.5, "eta": 0.8"#,
        r#""sharing": "full", "prior": "inverse_wishart", "df": 6.0, "scale": 1.0"#,
    ]
    .iter()
    .map(|scale| {
        let spec: ModelSpec = serde_json::from_str(&format!(
            r#"{{"k": {k}, "weights": {{"concentration": 2.0}},
                "locs": {{"loc": 0.0, "scale": 3.0}}, "scale": {{{scale}}}}}"#
        ))
        .unwrap();
        spec.build(Some(d)).unwrap()
    })
    .collect()
}

/// `log N(x | μ, C Cᵀ)` by forward substitution with the factor `C`.
fn ln_mvn(x: &[f64], mu: &[f64], cf: &[f64]) -> f64 {
    let d = x.len();
    let mut w = vec![0.0; d];
    let (mut q, mut ld) = (0.0, 0.0);
    for i in 0..d {
        let mut v = x[i] - mu[i];
        for l in 0..i {
            v -= cf[i * d + l] * w[l];
        }
        w[i] = v / cf[i * d + i];
        q += w[i] * w[i];
        ld += cf[i * d + i].ln();
    }
    -0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln() - ld - 0.5 * q
}

/// Simpson's rule of `f` over [lo, hi] with `steps` (even) intervals.
fn simpson(lo: f64, hi: f64, steps: usize, f: impl Fn(f64) -> f64) -> f64 {
    let h = (hi - lo) / steps as f64;
    let mut s = 0.0;
    for i in 0..=steps {
        let w = if i == 0 || i == steps {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        s += w * f(lo + h * i as f64);
    }
    s * h / 3.0
}

/// Full and tied covariances: an incomplete point's likelihood is the correlated mixture
/// density integrated over its missing coordinates (Simpson's rule; one and two missing of
/// D = 3). Correlation matters here: the marginal of a correlated Gaussian is not the product
/// of its coordinates' (the diagonal family's rule would miss it by far more than 1e-8).
#[test]
fn full_covariance_incomplete_points_integrate_the_correlated_density() {
    let (k, d) = (2, 3);
    for m in cov_models(k, d) {
        let sim = bgmm::simulate(&m, 10, 5).unwrap();
        let params = sim.params;
        let cfs: Vec<Vec<f64>> = (0..k)
            .map(|c| m.family.cov_factor(&params.scales, c, d).unwrap())
            .collect();
        let full = |x: &[f64]| -> f64 {
            (0..k)
                .map(|c| {
                    let mu = &params.locs[c * d..(c + 1) * d];
                    params.weights[c] * ln_mvn(x, mu, &cfs[c]).exp()
                })
                .sum()
        };
        // the points around the first component's location
        let mu0 = &params.locs[0..d];
        let nan = f64::NAN;
        let points = [
            [mu0[0] + 0.4, nan, mu0[2] - 0.3],
            [nan, mu0[1] - 0.8, mu0[2] + 0.5],
            [mu0[0] - 0.2, nan, nan],
        ];
        // the integration range: ±12 of the widest component's largest scale around 0
        let span = 12.0
            * (0..k)
                .flat_map(|c| (0..d).map(move |j| (c, j)))
                .map(|(c, j)| {
                    (0..d)
                        .map(|l| cfs[c][j * d + l].powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .fold(0.0, f64::max)
            + params.locs.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for p in points {
            let data = Data::with_missing((0..d).map(|j| vec![p[j]]).collect()).unwrap();
            let got = log_likelihood_at(&m, &data, &params);
            let miss: Vec<usize> = (0..d).filter(|&j| p[j].is_nan()).collect();
            let integral = if miss.len() == 1 {
                simpson(-span, span, 20_000, |y| {
                    let mut x = p;
                    x[miss[0]] = y;
                    full(&x)
                })
            } else {
                simpson(-span, span, 1_000, |y| {
                    simpson(-span, span, 1_000, |z| {
                        let mut x = p;
                        x[miss[0]] = y;
                        x[miss[1]] = z;
                        full(&x)
                    })
                })
            };
            let want = integral.ln();
            assert!(
                (got - want).abs() < 1e-8,
                "{}, point {p:?}: {got} vs the integral's {want}",
                m.family.name()
            );
            // the diagonal family's rule (each observed coordinate's own marginal, multiplied)
            // would be another number: the test sees the correlation
            let naive: f64 = (0..k)
                .map(|c| {
                    let l: f64 = (0..d)
                        .filter(|&j| !p[j].is_nan())
                        .map(|j| {
                            let s = (0..d)
                                .map(|l| cfs[c][j * d + l].powi(2))
                                .sum::<f64>()
                                .sqrt();
                            ln_normal(p[j], params.locs[c * d + j], s)
                        })
                        .sum();
                    params.weights[c] * l.exp()
                })
                .sum::<f64>()
                .ln();
            if miss.len() == 1 {
                assert!((naive - want).abs() > 1e-4, "{naive} vs {want}");
            }
        }
    }
}

/// Full and tied covariances with missing values: the kernel against the scalar loop on
/// 3000 points (likelihood and gradient statistics), the unconstrained log density's
/// gradient against finite differences (the conditional moments in the statistics are what
/// makes it right), and a partition's statistics merged through JSON equal to the whole's.
#[test]
fn full_covariance_gradient_and_statistics_with_missing_values() {
    let (k, d, n) = (3, 3, 3000);
    for m in cov_models(k, d) {
        let (data, params) = data_with_missing(&m, n);
        let name = m.family.name();
        let (ll, g) = log_likelihood_grad(&m, &data, &params);
        let mut gs = NaturalGrad::zeros(&m);
        let ls = log_likelihood_scalar(&m, &data, &params, Some(&mut gs));
        assert!(close(ll, ls, 1e-12), "{name}: {ll} vs {ls}");
        for (a, b) in g
            .locs
            .iter()
            .chain(&g.log_scales)
            .zip(gs.locs.iter().chain(&gs.log_scales))
        {
            assert!(close(*a, *b, 1e-9), "{name}: gradient {a} vs {b}");
        }
        // finite differences of the unconstrained log density (a subset of the points, so
        // that differences of 1e-5 are well above the sum's rounding)
        let small = Data::with_missing(
            (0..d)
                .map(|j| data.col(j)[..400].to_vec())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(small.n_missing() > 100);
        let dens = MixtureDensity::new(&m, &small, true);
        let x = dens.transform().pack(&params);
        let mut gx = vec![0.0; x.len()];
        let lp = dens.logp_grad(&x, &mut gx);
        assert!(lp.is_finite(), "{name}: {lp}");
        let h = 1e-5;
        for i in 0..x.len() {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[i] += h;
            xm[i] -= h;
            let fd = (dens.logp(&xp) - dens.logp(&xm)) / (2.0 * h);
            assert!(
                (gx[i] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                "{name}, coordinate {i}: analytic {} vs finite differences {fd}",
                gx[i]
            );
        }
        // merged partitions
        let whole = stats(&m, &params, data.view(), true).unwrap();
        let mut total = SufficientStats::empty(&m, true);
        for w in [0, 1, 300, 301, 2047, n].windows(2) {
            let p = stats(&m, &params, data.view().rows(w[0]..w[1]), true).unwrap();
            let sent = serde_json::to_string(&p).unwrap();
            total.merge(&serde_json::from_str(&sent).unwrap()).unwrap();
        }
        let (l2, g2) = log_likelihood_from_stats(&m, &params, &total).unwrap();
        assert!(close(l2, ll, 1e-12), "{name}: {l2} vs {ll}");
        for (a, b) in g2.log_scales.iter().zip(&g.log_scales) {
            assert!(close(*a, *b, 1e-10), "{name}: {a} vs {b}");
        }
        for (a, b) in total.r_cross.iter().zip(&whole.r_cross) {
            assert!(close(*a, *b, 1e-12), "{name}: r_cross {a} vs {b}");
        }
    }
}

/// Full covariances: a point with every value missing is classified by the weights, an
/// incomplete one by its observed coordinates' marginal (here one observed coordinate: a
/// 1-D normal with the covariance's diagonal entry).
#[test]
fn full_covariance_incomplete_points_are_classified_by_their_marginal() {
    let (k, d) = (3, 2);
    let m = &cov_models(k, d)[0];
    let sim = bgmm::simulate(m, 300, 8).unwrap();
    let params = sim.params;
    let nan = f64::NAN;
    let mut c0 = sim.data.col(0).to_vec();
    let mut c1 = sim.data.col(1).to_vec();
    (c0[5], c1[5]) = (nan, nan);
    c0[260] = nan;
    let data = Data::with_missing(vec![c0, c1.clone()]).unwrap();
    let lr = log_responsibilities(m, &data, &params);
    for (c, w) in params.weights.iter().enumerate() {
        assert!((lr[5][c].exp() - w).abs() < 1e-14);
    }
    let terms: Vec<f64> = (0..k)
        .map(|c| {
            let cf = m.family.cov_factor(&params.scales, c, d).unwrap();
            let s = (cf[2].powi(2) + cf[3].powi(2)).sqrt();
            params.weights[c].ln() + ln_normal(c1[260], params.locs[c * d + 1], s)
        })
        .collect();
    let lse = terms.iter().map(|t| t.exp()).sum::<f64>().ln();
    for c in 0..k {
        assert!(
            (lr[260][c] - (terms[c] - lse)).abs() < 1e-12,
            "{} vs {}",
            lr[260][c],
            terms[c] - lse
        );
    }
}

/// NUTS with missing values: with one diagonal component the posterior factorises over the
/// dimensions, so the location and scale of dimension 1 given 2-D data with values removed
/// (incomplete rows through the kernel's marginal path) are those given the observed values
/// of that column alone as 1-D data: posterior means within 4 Monte Carlo standard errors,
/// R-hat below 1.01, no divergence.
#[test]
fn nuts_with_missing_values_samples_the_observed_data_posterior() {
    let m2 = model(1, 2, Sharing::Diagonal);
    let (data, _) = remove_at_random(&model(2, 2, Sharing::Diagonal), 400, 5, 0.3);
    let observed: Vec<f64> = data
        .col(1)
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    assert!(
        observed.len() < 320 && observed.len() > 240,
        "{}",
        observed.len()
    );
    let m1 = model(1, 1, Sharing::Diagonal);
    let opts = bgmm::SampleOptions {
        nuts: bgmm::NutsOptions {
            chains: 4,
            warmup: 500,
            draws: 1000,
            seed: 3,
            ..bgmm::NutsOptions::default()
        },
        ..bgmm::SampleOptions::default()
    };
    let two = bgmm::sample(&m2, &data, &opts).unwrap();
    let one = bgmm::sample(&m1, &Data::from_1d(observed).unwrap(), &opts).unwrap();
    let get = |p: &bgmm::Posterior, name: &str| -> bgmm::ParamSummary {
        p.summary
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} not in {:?}", p.names))
            .1
            .clone()
    };
    for (a, b) in [("locs[0,1]", "locs[0]"), ("scale[0,1]", "scale[0,0]")] {
        let (x, y) = (get(&two, a), get(&one, b));
        let tol = 4.0 * (x.mcse_mean.powi(2) + y.mcse_mean.powi(2)).sqrt();
        assert!(
            (x.mean - y.mean).abs() < tol,
            "{a}: {} against {} of the column alone (tol {tol})",
            x.mean,
            y.mean
        );
        assert!(x.r_hat < 1.01, "{a}: R-hat {}", x.r_hat);
        assert!(
            (x.sd / y.sd - 1.0).abs() < 0.15,
            "{a}: sd {} against {}",
            x.sd,
            y.sd
        );
    }
    assert_eq!(
        two.chain_stats.iter().map(|c| c.divergences).sum::<usize>(),
        0
    );
}
