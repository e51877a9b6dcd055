//! The statistics contract: sufficient statistics of any partition of the data, merged, equal
//! the whole data's (to 1e-12 relative) and give the same log likelihood, gradient and log
//! density; a fixed partitioning gives the same bits on any number of threads; statistics
//! survive a JSON round trip exactly; the gradient from merged statistics matches finite
//! differences; row-major and column-major views of the same data give the same bits.
#![allow(clippy::needless_range_loop)]

use bgmm::{
    log_joint_from_stats, log_likelihood_from_stats, stats, Data, DataView, LogDensity,
    MixtureDensity, Model, ModelSpec, NaturalGrad, Params, ScalePrior, Sharing, StatsDensity,
    SufficientStats,
};
use bgmm::{log_joint_grad, log_likelihood_grad, Transform};
use bgmm::{LocsSpec, OneOrMany, ScaleSpec, WeightsSpec};
use chacha20::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

const SHARINGS: [Sharing; 4] = [
    Sharing::Shared,
    Sharing::Component,
    Sharing::Dimension,
    Sharing::Diagonal,
];

fn model(k: usize, d: usize, sharing: Sharing, ordered: bool) -> Model {
    ModelSpec {
        k: k as i64,
        d: Some(d as i64),
        weights: WeightsSpec {
            concentration: OneOrMany::One(2.0),
        },
        locs: LocsSpec {
            loc: OneOrMany::One(0.0),
            scale: OneOrMany::One(3.0),
            ordered,
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

/// Data drawn from the model, and parameters near (not at) the drawn ones.
fn case(m: &Model, n: usize, seed: u64) -> (Data, Params) {
    let sim = bgmm::simulate(m, n, seed).unwrap();
    let mut p = sim.params;
    for (i, v) in p.locs.iter_mut().enumerate() {
        *v += 0.3 * ((i % 3) as f64 - 1.0);
    }
    for s in p.scales.iter_mut() {
        *s *= 1.2;
    }
    (sim.data, p)
}

/// `cuts.len() + 1` consecutive ranges of `0..n` split at the sorted `cuts`.
fn ranges(n: usize, cuts: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(n);
    bounds.windows(2).map(|w| w[0]..w[1]).collect()
}

/// `parts` random consecutive partitions of `0..n` (distinct random split points).
fn random_ranges(rng: &mut ChaCha8Rng, n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let mut cuts: Vec<usize> = Vec::new();
    while cuts.len() + 1 < parts.min(n) {
        let c = rng.random_range(1..n);
        if !cuts.contains(&c) {
            cuts.push(c);
        }
    }
    cuts.sort_unstable();
    ranges(n, &cuts)
}

fn merged(
    m: &Model,
    p: &Params,
    view: DataView<'_>,
    parts: &[std::ops::Range<usize>],
    grad: bool,
) -> SufficientStats {
    let mut total = SufficientStats::empty(m, grad);
    for r in parts {
        total
            .merge(&stats(m, p, view.rows(r.clone()), grad).unwrap())
            .unwrap();
    }
    total
}

/// `a` within `tol` of `b`, relative to the larger of `|b|` and `scale` (the magnitude of the
/// vector `b` belongs to: a sum that cancels to near 0 is judged against its terms' size).
fn close(a: f64, b: f64, scale: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(scale)
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

fn assert_vec_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = max_abs(b);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(close(*x, *y, scale, tol), "{what}[{i}]: {x} vs {y}");
    }
}

/// The statistics by a plain loop over the points (std `exp`/`ln`, one running sum each): a
/// reference independent of the kernel, its chunks and `merge`.
fn naive_stats(m: &Model, data: &Data, p: &Params) -> SufficientStats {
    let (k, d) = (m.k, m.d);
    let mut s = SufficientStats::empty(m, true);
    s.n = data.n() as u64;
    let mut a = vec![0.0; k];
    for i in 0..data.n() {
        for c in 0..k {
            a[c] = p.weights[c].ln();
            for j in 0..d {
                let sc = p.scale(m, c, j);
                let z = (data.col(j)[i] - p.locs[c * d + j]) / sc;
                a[c] += -0.5 * (2.0 * std::f64::consts::PI).ln() - sc.ln() - 0.5 * z * z;
            }
        }
        let mx = a.iter().fold(f64::NEG_INFINITY, |x, y| x.max(*y));
        let lse = mx + a.iter().map(|v| (v - mx).exp()).sum::<f64>().ln();
        s.loglik += lse;
        for c in 0..k {
            let r = (a[c] - lse).exp();
            s.r_sum[c] += r;
            for j in 0..d {
                let dev = data.col(j)[i] - p.locs[c * d + j];
                s.r_dev[c * d + j] += r * dev;
                s.r_dev_sq[c * d + j] += r * dev * dev;
            }
        }
    }
    s
}

fn grad_vec(g: &NaturalGrad) -> Vec<f64> {
    g.logw
        .iter()
        .chain(&g.locs)
        .chain(&g.log_scales)
        .copied()
        .collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn stats_bits(s: &SufficientStats) -> (u64, u64, Vec<u64>, Vec<u64>, Vec<u64>) {
    (
        s.n,
        s.loglik.to_bits(),
        bits(&s.r_sum),
        bits(&s.r_dev),
        bits(&s.r_dev_sq),
    )
}

/// Any partition of the data (1 to 40 parts at random split points, uneven sizes down to one
/// point), merged, gives the whole data's statistics, log likelihood, gradient and log joint,
/// for K 1–5, D 1–8 and every sharing; the whole data's statistics agree with a plain loop.
#[test]
fn merged_partitions_equal_the_whole() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut checked = 0;
    for (k, d, n) in [
        (1, 1, 9),
        (2, 1, 700),
        (3, 2, 2049),
        (4, 3, 6000),
        (5, 8, 4500),
    ] {
        for (si, sharing) in SHARINGS.into_iter().enumerate() {
            let m = model(k, d, sharing, si % 2 == 1);
            let (data, p) = case(&m, n, 100 + si as u64);
            let whole = stats(&m, &p, data.view(), true).unwrap();
            assert_eq!(whole.n, n as u64);
            let naive = naive_stats(&m, &data, &p);
            let what = format!("K{k} D{d} N{n} {sharing:?} against the plain loop");
            assert!(close(whole.loglik, naive.loglik, 0.0, 1e-12), "{what}");
            assert_vec_close(&whole.r_sum, &naive.r_sum, 1e-12, &what);
            assert_vec_close(&whole.r_dev, &naive.r_dev, 1e-12, &what);
            assert_vec_close(&whole.r_dev_sq, &naive.r_dev_sq, 1e-12, &what);
            // the whole view's statistics are exactly what the density functions use
            let (ll, g) = log_likelihood_grad(&m, &data, &p);
            let (ll_s, g_s) = log_likelihood_from_stats(&m, &p, &whole).unwrap();
            assert_eq!(ll.to_bits(), ll_s.to_bits());
            assert_eq!(bits(&grad_vec(&g)), bits(&grad_vec(&g_s)));
            let (lj, gj) = log_joint_grad(&m, &data, &p);
            let (lj_s, gj_s) = log_joint_from_stats(&m, &p, &whole).unwrap();
            assert_eq!(lj.to_bits(), lj_s.to_bits());
            assert_eq!(bits(&grad_vec(&gj)), bits(&grad_vec(&gj_s)));
            for parts in [1, 2, 3, 7, 40] {
                let rs = random_ranges(&mut rng, n, parts);
                let tot = merged(&m, &p, data.view(), &rs, true);
                let what = format!("K{k} D{d} N{n} {sharing:?} {} parts", rs.len());
                assert_eq!(tot.n, n as u64, "{what}");
                assert!(close(tot.loglik, whole.loglik, 0.0, 1e-12), "{what}");
                assert_vec_close(&tot.r_sum, &whole.r_sum, 1e-12, &what);
                assert_vec_close(&tot.r_dev, &whole.r_dev, 1e-12, &what);
                assert_vec_close(&tot.r_dev_sq, &whole.r_dev_sq, 1e-12, &what);
                let (ll_p, g_p) = log_likelihood_from_stats(&m, &p, &tot).unwrap();
                assert!(close(ll_p, ll, 0.0, 1e-12), "{what}");
                assert_vec_close(&grad_vec(&g_p), &grad_vec(&g), 1e-12, &what);
                let (lj_p, gj_p) = log_joint_from_stats(&m, &p, &tot).unwrap();
                assert!(close(lj_p, lj, 0.0, 1e-12), "{what}");
                assert_vec_close(&grad_vec(&gj_p), &grad_vec(&gj), 1e-12, &what);
                // statistics without the gradient's give the same log likelihood
                let plain = merged(&m, &p, data.view(), &rs, false);
                assert!(!plain.has_grad() && plain.r_sum.is_empty());
                assert_eq!(plain.loglik.to_bits(), tot.loglik.to_bits(), "{what}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 5 * 4 * 5);
}

/// A responsibility sums to 1 over the components, so the merged `r_sum` adds up to N: an
/// independent check that the statistics are sums over points and not, say, averages.
#[test]
fn responsibility_sums_add_up_to_n() {
    let m = model(3, 2, Sharing::Diagonal, false);
    let (data, p) = case(&m, 5000, 3);
    let tot = merged(&m, &p, data.view(), &ranges(5000, &[1, 2048, 4999]), true);
    let s: f64 = tot.r_sum.iter().sum();
    assert!((s - 5000.0).abs() < 1e-9, "{s}");
}

/// A fixed partitioning gives the same bits in pools of 1, 2 and 4 threads (parts large
/// enough for the parallel path, and parts of one point).
#[test]
fn fixed_partitioning_is_bit_identical_on_any_thread_count() {
    let m = model(3, 2, Sharing::Diagonal, false);
    let (data, p) = case(&m, 30_011, 5);
    let parts = ranges(30_011, &[1, 2, 7_000, 7_001, 20_000]);
    let x = Transform::new(&m).pack(&p);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let tot = merged(&m, &p, data.view(), &parts, true);
                let dens = StatsDensity::new(&m, true);
                let mut t2 = SufficientStats::empty(&m, true);
                for r in &parts {
                    t2.merge(&dens.stats(&x, data.view().rows(r.clone()), true).unwrap())
                        .unwrap();
                }
                let mut g = vec![0.0; dens.dim()];
                let lp = dens.logp_grad(&x, &t2, &mut g).unwrap();
                (stats_bits(&tot), lp.to_bits(), bits(&g))
            })
    };
    let one = run(1);
    for t in [2, 4] {
        assert_eq!(run(t), one, "{t} threads");
    }
}

/// Statistics survive JSON exactly (every bit of every value), with and without the
/// gradient statistics.
#[test]
fn serde_round_trip_is_exact() {
    let m = model(4, 3, Sharing::Component, false);
    let (data, p) = case(&m, 777, 8);
    for grad in [true, false] {
        let s = stats(&m, &p, data.view().rows(100..777), grad).unwrap();
        let text = serde_json::to_string(&s).unwrap();
        let back: SufficientStats = serde_json::from_str(&text).unwrap();
        assert_eq!(stats_bits(&back), stats_bits(&s));
        assert_eq!(back, s);
    }
    // the field names are the contract's
    let v: serde_json::Value =
        serde_json::to_value(stats(&m, &p, data.view(), true).unwrap()).unwrap();
    for key in ["n", "k", "d", "loglik", "r_sum", "r_dev", "r_dev_sq"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    assert_eq!(v["n"], 777);
}

/// Central differences of `f` at `x`: (f(x + h) − f(x − h)) / 2h with h relative to |x|.
fn central(f: &mut dyn FnMut(&[f64]) -> f64, x: &[f64], i: usize) -> f64 {
    let h = 1e-5 * x[i].abs().max(1.0);
    let (mut a, mut b) = (x.to_vec(), x.to_vec());
    a[i] += h;
    b[i] -= h;
    (f(&a) - f(&b)) / (2.0 * h)
}

/// The natural gradient from merged statistics against central differences of the log
/// likelihood, itself from merged statistics (locations and log-scales; the weights are on
/// the simplex and are checked through the unconstrained density below).
#[test]
fn gradient_from_merged_stats_matches_finite_differences() {
    for (si, sharing) in SHARINGS.into_iter().enumerate() {
        let m = model(3, 2, sharing, false);
        let (data, p) = case(&m, 400, 20 + si as u64);
        let parts = ranges(400, &[13, 200, 201]);
        let tot = merged(&m, &p, data.view(), &parts, true);
        let (ll, g) = log_likelihood_from_stats(&m, &p, &tot).unwrap();
        let lik = |q: &Params| merged(&m, q, data.view(), &parts, false).loglik;
        for i in 0..p.locs.len() {
            let mut f = |v: &[f64]| {
                let mut q = p.clone();
                q.locs[i] = v[i];
                lik(&q)
            };
            let fd = central(&mut f, &p.locs, i);
            assert!(
                (fd - g.locs[i]).abs() <= 1e-6 * g.locs[i].abs().max(1.0) + 1e-9 * ll.abs(),
                "{sharing:?} loc {i}: {fd} vs {}",
                g.locs[i]
            );
        }
        let log_s: Vec<f64> = p.scales.iter().map(|s| s.ln()).collect();
        for i in 0..log_s.len() {
            let mut f = |v: &[f64]| {
                let mut q = p.clone();
                q.scales[i] = v[i].exp();
                lik(&q)
            };
            let fd = central(&mut f, &log_s, i);
            assert!(
                (fd - g.log_scales[i]).abs()
                    <= 1e-6 * g.log_scales[i].abs().max(1.0) + 1e-9 * ll.abs(),
                "{sharing:?} log-scale {i}: {fd} vs {}",
                g.log_scales[i]
            );
        }
        // the whole unconstrained gradient (weights through the stick-breaking, the prior,
        // the Jacobian, a weight) from merged statistics against differences of its value
        for (jacobian, weight) in [(false, 1.0), (true, 2.5)] {
            let dens = StatsDensity::new(&m, jacobian).with_weight(weight);
            let x = Transform::new(&m).pack(&p);
            let st = |x: &[f64], grad: bool| {
                let mut t = SufficientStats::empty(&m, grad);
                for r in &parts {
                    t.merge(&dens.stats(x, data.view().rows(r.clone()), grad).unwrap())
                        .unwrap();
                }
                t
            };
            let mut gx = vec![0.0; dens.dim()];
            let lp = dens.logp_grad(&x, &st(&x, true), &mut gx).unwrap();
            assert_eq!(
                lp.to_bits(),
                dens.logp(&x, &st(&x, false)).unwrap().to_bits()
            );
            for i in 0..x.len() {
                let mut f = |v: &[f64]| dens.logp(v, &st(v, false)).unwrap();
                let fd = central(&mut f, &x, i);
                assert!(
                    (fd - gx[i]).abs() <= 1e-6 * gx[i].abs().max(1.0) + 1e-9 * lp.abs(),
                    "{sharing:?} jacobian {jacobian} coordinate {i}: {fd} vs {}",
                    gx[i]
                );
            }
        }
    }
}

/// From the statistics of the whole data, `StatsDensity` is `MixtureDensity` bit for bit
/// (with and without the Jacobian, with a weight, at a point outside f64's range).
#[test]
fn stats_density_is_the_mixture_density() {
    let m = model(3, 2, Sharing::Dimension, true);
    let (data, p) = case(&m, 3000, 4);
    let mut x = Transform::new(&m).pack(&p);
    for (jacobian, weight) in [(false, 1.0), (true, 1.0), (true, 7.0)] {
        let mix = MixtureDensity::new(&m, &data, jacobian).with_weight(weight);
        let sd = StatsDensity::new(&m, jacobian).with_weight(weight);
        let st = sd.stats(&x, data.view(), true).unwrap();
        let (mut g1, mut g2) = (vec![0.0; mix.dim()], vec![0.0; mix.dim()]);
        let (l1, n1) = mix.logp_grad_natural(&x, &mut g1);
        let (l2, n2) = sd.logp_grad_natural(&x, &st, &mut g2).unwrap();
        assert_eq!(l1.to_bits(), l2.to_bits());
        assert_eq!(bits(&g1), bits(&g2));
        assert_eq!(bits(&grad_vec(&n1)), bits(&grad_vec(&n2)));
        assert_eq!(mix.logp(&x).to_bits(), sd.logp(&x, &st).unwrap().to_bits());
    }
    // a log-scale coordinate of −800: the scale underflows to 0, both say −∞
    let last = x.len() - 1;
    x[last] = -800.0;
    let sd = StatsDensity::new(&m, true);
    let st = sd.stats(&x, data.view(), true).unwrap();
    let mut g = vec![1.0; sd.dim()];
    assert_eq!(sd.logp_grad(&x, &st, &mut g).unwrap(), f64::NEG_INFINITY);
    assert!(g.iter().all(|v| *v == 0.0));
    assert_eq!(
        MixtureDensity::new(&m, &data, true).logp(&x),
        f64::NEG_INFINITY
    );
}

/// Statistics of the wrong shape, or without the gradient's where it is needed, are refused
/// with a message saying what differs; a refused merge changes nothing.
#[test]
fn mismatched_statistics_are_refused() {
    let m2 = model(2, 1, Sharing::Diagonal, false);
    let m3 = model(3, 1, Sharing::Diagonal, false);
    let (data, p2) = case(&m2, 50, 1);
    let (_, p3) = case(&m3, 50, 1);
    let s2 = stats(&m2, &p2, data.view(), true).unwrap();
    let s3 = stats(&m3, &p3, data.view(), true).unwrap();
    let mut a = s2.clone();
    let e = a.merge(&s3).unwrap_err().to_string();
    assert!(e.contains("K = 2") && e.contains("K = 3"), "{e}");
    assert_eq!(a, s2);
    let plain = stats(&m2, &p2, data.view(), false).unwrap();
    assert!(a.merge(&plain).is_err());
    let e = log_likelihood_from_stats(&m2, &p2, &plain)
        .unwrap_err()
        .to_string();
    assert!(e.contains("without gradient statistics"), "{e}");
    assert!(log_likelihood_from_stats(&m3, &p3, &s2).is_err());
    // a view of 2 columns for a model of 1
    let two = Data::from_columns(vec![vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    let e = stats(&m2, &p2, two.view(), true).unwrap_err().to_string();
    assert_eq!(
        e,
        "dimension mismatch: the model has d = 1 but the data have 2 columns"
    );
    // statistics whose vectors do not fit their K and D (a hand-made or corrupted record)
    let mut bad = s2.clone();
    bad.r_dev.pop();
    assert!(a.merge(&bad).is_err());
    // statistics of other parameters: refused when merged and when turned into a density
    let mut q2 = p2.clone();
    q2.locs[0] += 1e-9;
    let t2 = stats(&m2, &q2, data.view(), true).unwrap();
    assert_ne!(t2.at, s2.at);
    let mut a = s2.clone();
    let e = a.merge(&t2).unwrap_err().to_string();
    assert!(e.contains("different parameters"), "{e}");
    assert_eq!(a, s2);
    let e = log_likelihood_from_stats(&m2, &q2, &s2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("other parameters"), "{e}");
    assert!(log_likelihood_from_stats(&m2, &q2, &t2).is_ok());
    // the unconstrained route keys them the same way
    let sd = StatsDensity::new(&m2, true);
    let t = sd.transform();
    let (x, y) = (t.pack(&p2), t.pack(&q2));
    let sx = sd.stats(&x, data.view(), true).unwrap();
    let mut g = vec![0.0; x.len()];
    assert!(sd.logp_grad(&x, &sx, &mut g).is_ok());
    assert!(sd.logp_grad(&y, &sx, &mut g).is_err());
    // statistics without a fingerprint (an older record, or made by hand) are taken as they are
    let mut json: serde_json::Value = serde_json::to_value(&s2).unwrap();
    json.as_object_mut().unwrap().remove("at");
    let old: SufficientStats = serde_json::from_value(json).unwrap();
    assert_eq!(old.at, 0);
    assert!(log_likelihood_from_stats(&m2, &q2, &old).is_ok());
    let mut from_empty = SufficientStats::empty(&m2, true);
    from_empty.merge(&s2).unwrap();
    assert_eq!(from_empty.at, s2.at);
}

/// Row-major and column-major views of the same points give the same bits: statistics of the
/// whole and of parts, log densities and gradients (rows with a stride whose gaps hold NaN,
/// which must never be read, and a single contiguous column).
#[test]
fn row_major_and_column_major_views_agree_bit_for_bit() {
    for (k, d, n) in [(2, 1, 3000), (3, 2, 5000), (4, 5, 700), (16, 8, 300)] {
        let m = model(k, d, Sharing::Diagonal, false);
        let (data, p) = case(&m, n, 9);
        let rows: Vec<f64> = (0..n)
            .flat_map(|i| (0..d).map(move |j| (i, j)))
            .map(|(i, j)| data.col(j)[i])
            .collect();
        let stride = d + 3;
        let mut padded = vec![f64::NAN; (n - 1) * stride + d];
        for i in 0..n {
            for j in 0..d {
                padded[i * stride + j] = data.col(j)[i];
            }
        }
        let cols: Vec<&[f64]> = (0..d).map(|j| data.col(j)).collect();
        let views = [
            DataView::row_major(&rows, n, d).unwrap(),
            DataView::row_major_strided(&padded, n, d, stride).unwrap(),
            DataView::columns(&cols).unwrap(),
        ];
        let base = data.view();
        let parts = ranges(n, &[1, n / 3, n / 3 + n / 4 + 1]);
        let x = Transform::new(&m).pack(&p);
        let reference = |v: DataView<'_>| {
            let whole = stats_bits(&stats(&m, &p, v, true).unwrap());
            let part = stats_bits(&merged(&m, &p, v, &parts, true));
            let dens = MixtureDensity::from_view(&m, v, true);
            let mut g = vec![0.0; dens.dim()];
            let lp = dens.logp_grad(&x, &mut g);
            (whole, part, lp.to_bits(), dens.logp(&x).to_bits(), bits(&g))
        };
        let want = reference(base);
        for v in views {
            assert_eq!(
                reference(v),
                want,
                "K{k} D{d} N{n} row-major {}",
                v.is_row_major()
            );
            assert_eq!(v.to_data(), data);
        }
    }
}

/// A row-major view is checked as `Data` is, with the same wording for a value that is not
/// finite (point and column named).
#[test]
fn row_major_views_are_validated() {
    let e = |r: bgmm::Result<DataView<'_>>| r.unwrap_err().to_string();
    let v = [1.0, 2.0, 3.0, f64::NAN, 5.0, 6.0];
    assert_eq!(
        e(DataView::row_major(&v, 3, 2)),
        "point 1, column 1: value NaN is not finite"
    );
    assert_eq!(
        e(DataView::row_major(&v, 3, 2)),
        Data::from_rows(&[vec![1.0, 2.0], vec![3.0, f64::NAN], vec![5.0, 6.0]])
            .unwrap_err()
            .to_string()
    );
    assert_eq!(
        e(DataView::row_major(&v[..5], 3, 2)),
        "row-major data of 3 points and 2 columns need 6 values, got 5"
    );
    assert_eq!(e(DataView::row_major(&[], 0, 2)), "data have no points");
    assert_eq!(e(DataView::row_major(&[], 3, 0)), "data have no columns");
    assert_eq!(
        e(DataView::row_major_strided(&v, 2, 2, 1)),
        "row-major data of 2 columns need a row stride of at least 2, got 1"
    );
    assert_eq!(
        e(DataView::row_major_strided(&v, 3, 2, 3)),
        "row-major data of 3 points, 2 columns and row stride 3 need 8 values, got 6"
    );
    // the gap after each row is not data: a NaN there is fine
    let w = [1.0, f64::NAN, 2.0, f64::NAN, 3.0];
    let ok = DataView::row_major_strided(&w, 3, 1, 2).unwrap();
    assert_eq!(ok.to_data().col(0), &[1.0, 2.0, 3.0]);
    let c: [&[f64]; 2] = [&[1.0, 2.0], &[3.0, f64::INFINITY]];
    assert_eq!(
        e(DataView::columns(&c)),
        "point 1, column 1: value inf is not finite"
    );
    let ragged: [&[f64]; 2] = [&[1.0, 2.0], &[3.0]];
    assert_eq!(
        e(DataView::columns(&ragged)),
        "column 1 has 1 values but column 0 has 2"
    );
}
