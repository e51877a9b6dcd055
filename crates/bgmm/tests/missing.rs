//! Missing values (NaN in [`Data::with_missing`]) in the kernel and the statistics, under
//! missing at random: a point's likelihood is the mixture of the marginal densities of its
//! observed coordinates. Checked against a brute-force reference (the full density integrated
//! numerically over the missing coordinate), against the plain scalar loop, by finite
//! differences of the gradient, by merging the statistics of a partition, and by the
//! classification of a point with every value missing (the weights alone).
#![allow(clippy::needless_range_loop)]

use bgmm::{
    log_likelihood_at, log_likelihood_from_stats, log_likelihood_grad, log_likelihood_scalar,
    log_responsibilities, stats, Data, Model, ModelSpec, NaturalGrad, Params, ScalePrior, Sharing,
    SufficientStats,
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

/// The engines refuse data with missing values (until they handle them), naming them.
#[test]
fn the_engines_refuse_missing_values_for_now() {
    let m = model(2, 1, Sharing::Shared);
    let data = Data::with_missing(vec![vec![0.0, 1.0, f64::NAN, 5.0, 6.0]]).unwrap();
    let e = bgmm::fit(&m, &data, &bgmm::FitOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("the data have 1 missing value, and the MAP, NUTS and VI cannot"),
        "{e}"
    );
    // ±∞ is still refused
    let e = Data::with_missing(vec![vec![0.0, f64::INFINITY]]).unwrap_err();
    assert!(e.to_string().contains("not finite"), "{e}");
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
