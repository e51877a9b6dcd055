//! Numerical robustness of every engine (MAP, NUTS, VI, classify) on awkward data: duplicated
//! points, one outlier 1e6 away, far more components than clusters, all points equal, N = K
//! (and N < K), a component collapsing on one point. Never a NaN, never a panic: a meaningful
//! answer, checked against numbers known in closed form (or solved here from the stationarity
//! equations) or found by a second route, or a clear error; where the posterior density is
//! unbounded, `map::fit` says that the MAP does not exist.
//!
//! Data are deterministic: clusters are Normal quantiles.
#![allow(clippy::needless_range_loop)]

use bgmm::NutsOptions;
use bgmm::Temperature;
use bgmm::ViOptions;
use bgmm::{fit, unbounded_density, Fit, FitOptions, Resolution};
use bgmm::{Data, Error, Model, ModelSpec, Params, ScalePrior, Sharing};
use bgmm::{LocsSpec, OneOrMany, ScaleSpec, WeightsSpec};
use bgmm::{Posterior, SampleOptions};
use statrs::distribution::{ContinuousCDF, Normal};

// ---------------------------------------------------------------------------------------------
// helpers

fn model(
    k: i64,
    d: usize,
    prior: ScalePrior,
    sharing: Sharing,
    alpha: f64,
    loc: f64,
    loc_sd: f64,
) -> Model {
    ModelSpec {
        k,
        d: Some(d as i64),
        weights: WeightsSpec {
            concentration: OneOrMany::One(alpha),
        },
        locs: LocsSpec {
            loc: OneOrMany::One(loc),
            scale: OneOrMany::One(loc_sd),
            ordered: false,
        },
        scale: ScaleSpec::from_prior(prior, sharing),
    }
    .build(Some(d))
    .unwrap()
}

/// `n` Normal(c, sd²) quantiles: a cluster with exactly known shape and no randomness.
fn cluster(c: f64, sd: f64, n: usize) -> Vec<f64> {
    let z = Normal::new(0.0, 1.0).unwrap();
    (0..n)
        .map(|i| c + sd * z.inverse_cdf((i as f64 + 0.5) / n as f64))
        .collect()
}

/// The six scale priors, with their typical scale at `u`.
fn priors(u: f64) -> [ScalePrior; 6] {
    [
        ScalePrior::LogNormal {
            mu: u.ln(),
            sigma: 2.0,
        },
        ScalePrior::InverseGamma {
            alpha: 1.0,
            beta: u,
        },
        ScalePrior::HalfCauchy { scale: u },
        ScalePrior::HalfNormal { scale: 2.0 * u },
        ScalePrior::Gamma {
            alpha: 2.0,
            beta: 1.0 / u,
        },
        ScalePrior::Exponential { rate: 1.0 / u },
    ]
}

/// The prior's density vanishes at 0 faster than any power (the MAP exists).
fn vanishes(p: &ScalePrior) -> bool {
    p.power_at_zero().is_none()
}

/// `s · d log p(s) / ds`, written out here (not the library's) for the stationarity equations.
fn prior_dlog(p: &ScalePrior, s: f64) -> f64 {
    match *p {
        ScalePrior::LogNormal { mu, sigma } => -1.0 - (s.ln() - mu) / (sigma * sigma),
        ScalePrior::InverseGamma { alpha, beta } => -(alpha + 1.0) + beta / s,
        ScalePrior::HalfCauchy { scale } => {
            let r = s / scale;
            -2.0 * r * r / (1.0 + r * r)
        }
        ScalePrior::HalfNormal { scale } => -(s / scale) * (s / scale),
        ScalePrior::Gamma { alpha, beta } => (alpha - 1.0) - beta * s,
        ScalePrior::Exponential { rate } => -rate * s,
    }
}

/// The MAP of Normal components sharing one scale, component g holding the points
/// `groups[g]` alone (hard assignments; any other point held by components with other
/// scales), with locs ~ Normal(mu0, sd0) and the scale ~ `p`: each
/// `loc_g = (Σx/s² + mu0/sd0²) / (n_g/s² + 1/sd0²)` (the mean shrunk towards mu0) and
/// `−Σ n_g + Σ_g Σ(x − loc_g)²/s² + s·dlog p/ds = 0`, solved by bisection on `ln s` inside a
/// fixed-point loop on the locations.
fn shared_map(groups: &[Vec<f64>], mu0: f64, sd0: f64, p: &ScalePrior) -> (Vec<f64>, f64) {
    let n: f64 = groups.iter().map(|g| g.len() as f64).sum();
    // means, corrected once (exactly the value for a group of copies)
    let means: Vec<f64> = groups
        .iter()
        .map(|g| {
            let m = g.iter().sum::<f64>() / g.len() as f64;
            m + g.iter().map(|v| v - m).sum::<f64>() / g.len() as f64
        })
        .collect();
    let mut locs = means.clone();
    let mut s = 1.0;
    for _ in 0..200 {
        let ss: f64 = groups
            .iter()
            .zip(&locs)
            .map(|(g, l)| g.iter().map(|v| (v - l) * (v - l)).sum::<f64>())
            .sum();
        let f = |ls: f64| {
            let s = ls.exp();
            -n + ss / (s * s) + prior_dlog(p, s)
        };
        // f decreases in ln s: bisect
        let (mut lo, mut hi) = (-700.0, 700.0);
        for _ in 0..300 {
            let mid = 0.5 * (lo + hi);
            if f(mid) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        s = (0.5 * (lo + hi)).exp();
        // loc = mean + (mu0 − mean)·shrink, exactly the mean once the shrink underflows
        let new: Vec<f64> = groups
            .iter()
            .zip(&means)
            .map(|(g, m)| {
                let shrink = 1.0 / (1.0 + g.len() as f64 * sd0 * sd0 / (s * s));
                m + (mu0 - m) * shrink
            })
            .collect();
        if new == locs {
            break;
        }
        locs = new;
    }
    (locs, s)
}

/// [`shared_map`] of one component.
fn component_map(x: &[f64], mu0: f64, sd0: f64, p: &ScalePrior) -> (f64, f64) {
    let (locs, s) = shared_map(&[x.to_vec()], mu0, sd0, p);
    (locs[0], s)
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        ((a - b) / b).abs()
    }
}

fn assert_finite_params(p: &Params, what: &str) {
    let sum: f64 = p.weights.iter().sum();
    assert!(
        p.weights.iter().all(|w| w.is_finite() && *w >= 0.0) && (sum - 1.0).abs() < 1e-9,
        "{what}: weights {:?}",
        p.weights
    );
    assert!(
        p.locs.iter().all(|v| v.is_finite()),
        "{what}: locs {:?}",
        p.locs
    );
    assert!(
        p.scales.iter().all(|s| s.is_finite() && *s > 0.0),
        "{what}: scales {:?}",
        p.scales
    );
}

fn assert_finite_fit(f: &Fit, what: &str) {
    assert!(f.loss.is_finite(), "{what}: loss {}", f.loss);
    assert!(f.grad_norm.is_finite(), "{what}: gradient {}", f.grad_norm);
    assert_finite_params(&f.params, what);
    assert_finite_params(&f.init_params, what);
    let h = &f.history;
    for v in h.loss.iter().chain(&h.polish_loss) {
        assert!(v.is_finite(), "{what}: a non-finite loss in the history");
    }
}

/// A MAP result: a finite fit, or the one-line error that the MAP does not exist (which
/// names the point, the prior and the remedy). Any other error fails the test.
fn fit_or_unbounded(r: bgmm::Result<Fit>, prior: &ScalePrior, what: &str) -> Option<Fit> {
    match r {
        Ok(f) => {
            assert_finite_fit(&f, what);
            Some(f)
        }
        Err(Error::Unbounded(m)) => {
            assert!(
                !vanishes(prior),
                "{what}: the {} prior keeps the density bounded, yet: {m}",
                prior.name()
            );
            assert_unbounded_message(&m, prior, what);
            None
        }
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

fn assert_unbounded_message(m: &str, prior: &ScalePrior, what: &str) {
    assert!(m.starts_with("the MAP does not exist: "), "{what}: {m}");
    assert!(!m.contains('\n'), "{what}: more than one line: {m}");
    for needle in [
        "point",
        "x = ",
        prior.display().as_str(),
        "lognormal or inverse_gamma",
    ] {
        assert!(m.contains(needle), "{what}: no '{needle}' in: {m}");
    }
}

fn unbounded_err(r: bgmm::Result<Fit>, prior: &ScalePrior, what: &str) -> String {
    match r {
        Err(Error::Unbounded(m)) => {
            assert_unbounded_message(&m, prior, what);
            m
        }
        Ok(f) => panic!(
            "{what}: expected 'the MAP does not exist', got a fit {:?}",
            f.params
        ),
        Err(e) => panic!("{what}: expected 'the MAP does not exist', got {e:?}"),
    }
}

/// Components in the order of their first location (a fixed labelling to compare fits).
fn by_loc(m: &Model, p: &Params) -> Params {
    let mut perm: Vec<usize> = (0..m.k).collect();
    perm.sort_by(|&a, &b| p.locs[a * m.d].total_cmp(&p.locs[b * m.d]));
    p.permuted(m, &perm)
}

/// The component whose (first) location is nearest `x`.
fn nearest(m: &Model, p: &Params, x: f64) -> usize {
    (0..m.k)
        .min_by(|&a, &b| {
            (p.locs[a * m.d] - x)
                .abs()
                .total_cmp(&(p.locs[b * m.d] - x).abs())
        })
        .unwrap()
}

fn assert_classification_finite(m: &Model, p: &Params, data: &Data, what: &str) -> Vec<usize> {
    let c = bgmm::classify(
        m,
        p,
        data,
        &bgmm::ClassifyOptions {
            temperature: Temperature::Zero,
            seed: 0,
            svi: None,
        },
    )
    .unwrap();
    for row in &c.probs {
        let s: f64 = row.iter().sum();
        assert!(
            row.iter().all(|v| v.is_finite() && *v >= 0.0) && (s - 1.0).abs() < 1e-9,
            "{what}: probabilities {row:?}"
        );
    }
    let t1 = bgmm::classify(
        m,
        p,
        data,
        &bgmm::ClassifyOptions {
            temperature: Temperature::One,
            seed: 3,
            svi: None,
        },
    )
    .unwrap();
    assert!(t1.assignments.iter().all(|&z| z < m.k));
    c.assignments
}

fn short_nuts(seed: u64) -> SampleOptions {
    SampleOptions {
        engine: bgmm::Engine::Nuts,
        nuts: NutsOptions {
            chains: 2,
            warmup: 200,
            draws: 200,
            seed,
            ..NutsOptions::default()
        },
        ..SampleOptions::default()
    }
}

fn short_vi() -> ViOptions {
    ViOptions {
        draws: 200,
        ..ViOptions::default()
    }
}

fn assert_finite_posterior(post: &Posterior, what: &str) {
    for chain in post.draws.iter().chain(&post.raw_draws) {
        for d in chain {
            assert!(
                d.iter().all(|v| v.is_finite()),
                "{what}: a non-finite draw {d:?}"
            );
        }
    }
    for (name, s) in &post.summary {
        assert!(
            s.mean.is_finite() && s.sd.is_finite(),
            "{what}: {name} summary {s:?}"
        );
    }
}

fn mean_of(post: &Posterior, name: &str) -> f64 {
    post.summary.iter().find(|(n, _)| n == name).unwrap().1.mean
}

fn sd_of(post: &Posterior, name: &str) -> f64 {
    post.summary.iter().find(|(n, _)| n == name).unwrap().1.sd
}

// ---------------------------------------------------------------------------------------------
// which models and data have a MAP

#[test]
fn the_predicate_names_the_priors_that_let_a_scale_collapse() {
    for sharing in [
        Sharing::Shared,
        Sharing::Component,
        Sharing::Dimension,
        Sharing::Diagonal,
    ] {
        for p in priors(1.0) {
            let m = model(2, 2, p, sharing, 1.0, 0.0, 10.0);
            let why = m.map_may_not_exist();
            if vanishes(&p) {
                assert_eq!(why, None, "{} {sharing:?}", p.name());
                continue;
            }
            let why = why.unwrap_or_else(|| panic!("{} {sharing:?}: None", p.name()));
            assert!(why.contains(&p.display()), "{why}");
            match sharing {
                Sharing::Shared | Sharing::Dimension => {
                    assert!(why.contains("at most 2 distinct"), "{sharing:?}: {why}")
                }
                // a = 0 (or 1 for Gamma(2, ·)) against s^-2 per point: any data
                Sharing::Component => assert!(why.contains("on any data"), "{why}"),
                // against s^-1 per coordinate: Gamma(2, ·) (a = 1) needs 2 equal values
                Sharing::Diagonal => {
                    if p.name() == "gamma" {
                        assert!(why.contains("2 or more identical values"), "{why}")
                    } else {
                        assert!(why.contains("on any data"), "{why}")
                    }
                }
            }
        }
    }
    // gamma with shape 3 (a = 2): one point per component in D = 1 is not enough, 3 are
    let g3 = ScalePrior::Gamma {
        alpha: 3.0,
        beta: 1.0,
    };
    let m = model(2, 1, g3, Sharing::Component, 1.0, 0.0, 10.0);
    assert!(m
        .map_may_not_exist()
        .unwrap()
        .contains("3 or more identical points"));
    let with = |r: usize| {
        let mut x = cluster(0.0, 1.0, 20);
        x.extend(std::iter::repeat_n(7.5, r));
        Data::from_1d(x).unwrap()
    };
    assert_eq!(unbounded_density(&m, &with(2), 1.0), None);
    let why = unbounded_density(&m, &with(3), 1.0).unwrap();
    assert!(
        why.contains("point 20 (x = 7.5, 3 identical points)"),
        "{why}"
    );
    // a likelihood weighted by 2 counts every point twice
    assert!(unbounded_density(&m, &with(2), 2.0).is_some());
    // a shared scale: only data with at most K distinct points
    let hn = ScalePrior::HalfNormal { scale: 1.0 };
    let m = model(3, 1, hn, Sharing::Shared, 1.0, 0.0, 10.0);
    let d3 = Data::from_1d(vec![0.0, 1.0, 10.0, 1.0]).unwrap();
    let d4 = Data::from_1d(vec![0.0, 1.0, 10.0, 11.0]).unwrap();
    assert!(unbounded_density(&m, &d3, 1.0)
        .unwrap()
        .contains("only 3 distinct points for k = 3 components"));
    assert_eq!(unbounded_density(&m, &d4, 1.0), None);
    // a scale per dimension: a column with at most K distinct values
    let m = model(2, 2, hn, Sharing::Dimension, 1.0, 0.0, 10.0);
    let col0 = cluster(0.0, 1.0, 10);
    let two_values: Vec<f64> = (0..10).map(|i| (i % 2) as f64).collect();
    let d = Data::from_columns(vec![col0.clone(), two_values]).unwrap();
    assert!(unbounded_density(&m, &d, 1.0)
        .unwrap()
        .contains("2 distinct values in column 1"));
    let d = Data::from_columns(vec![col0.clone(), cluster(5.0, 1.0, 10)]).unwrap();
    assert_eq!(unbounded_density(&m, &d, 1.0), None);
    // vanishing priors: never
    for p in [priors(1.0)[0], priors(1.0)[1]] {
        let m = model(3, 1, p, Sharing::Shared, 1.0, 0.0, 10.0);
        assert_eq!(unbounded_density(&m, &d3, 1.0), None);
    }
}

// ---------------------------------------------------------------------------------------------
// duplicated points

/// The MAP of data repeated r times is the MAP of the data with the likelihood weighted by r
/// (the same function of θ, reached from different restarts).
#[test]
fn repeated_data_have_the_map_of_the_weighted_likelihood() {
    let mut base = cluster(0.0, 1.0, 15);
    base.extend(cluster(6.0, 0.5, 15));
    let r = 10;
    let repeated: Vec<f64> = base
        .iter()
        .flat_map(|v| std::iter::repeat_n(*v, r))
        .collect();
    let (base, repeated) = (
        Data::from_1d(base).unwrap(),
        Data::from_1d(repeated).unwrap(),
    );
    for sharing in [Sharing::Component, Sharing::Shared] {
        for p in priors(1.0) {
            let what = format!("{} {sharing:?}", p.display());
            let m = model(2, 1, p, sharing, 1.0, 3.0, 10.0);
            let a = fit(&m, &repeated, &FitOptions::default());
            let b = bgmm::fit(
                &m,
                &base,
                &bgmm::FitOptions {
                    weight: Some(r as f64),
                    ..FitOptions::default().clone()
                },
            );
            let (a, b) = match (
                fit_or_unbounded(a, &p, &what),
                fit_or_unbounded(b, &p, &what),
            ) {
                (Some(a), Some(b)) => (a, b),
                (None, None) => continue,
                (a, b) => panic!(
                    "{what}: repeated {:?} but weighted {:?}",
                    a.map(|f| f.params),
                    b.map(|f| f.params)
                ),
            };
            assert!(a.converged && b.converged, "{what}");
            assert!(
                rel(a.loss, b.loss) < 1e-9,
                "{what}: loss {} vs {}",
                a.loss,
                b.loss
            );
            let (pa, pb) = (by_loc(&m, &a.params), by_loc(&m, &b.params));
            for i in 0..2 {
                assert!(
                    (pa.locs[i] - pb.locs[i]).abs() < 1e-6,
                    "{what}: {pa:?} {pb:?}"
                );
                assert!((pa.weights[i] - pb.weights[i]).abs() < 1e-7, "{what}");
            }
            for (u, v) in pa.scales.iter().zip(&pb.scales) {
                assert!(rel(*u, *v) < 1e-6, "{what}: scales {u} vs {v}");
            }
            // the same verdict on the mode: a local one where the density is unbounded
            for f in [&a, &b] {
                assert_eq!(
                    f.warnings.iter().any(|w| w.contains("local mode")),
                    !vanishes(&p) && sharing == Sharing::Component,
                    "{what}: {:?}",
                    f.warnings
                );
            }
        }
    }
}

/// Many exact duplicates in one cluster: 40 distinct points around 0 and 30 copies of 20.
/// A component with its own scale can sit on the copies: with a lognormal or inverse gamma
/// prior that is the MAP (its scale solves −30 + s·dlog p/ds = 0: e^(μ − 31σ²), β/(α + 31));
/// with the other priors the density is unbounded there (s^-30), so the MAP does not exist.
/// A scale shared with the spread cluster cannot collapse: a proper MAP under every prior.
#[test]
fn many_duplicates_in_one_cluster() {
    let a = cluster(0.0, 1.0, 40);
    let mut x = a.clone();
    x.extend(std::iter::repeat_n(20.0, 30));
    let data = Data::from_1d(x).unwrap();
    for p in priors(1.0) {
        let what = format!("component {}", p.display());
        let m = model(2, 1, p, Sharing::Component, 1.0, 10.0, 20.0);
        let r = fit(&m, &data, &FitOptions::default());
        if !vanishes(&p) {
            let msg = unbounded_err(r, &p, &what);
            assert!(msg.contains("x = 20, 30 identical points"), "{msg}");
            assert!(msg.contains("s^-30"), "{msg}");
            continue;
        }
        let f = fit_or_unbounded(r, &p, &what).unwrap();
        let q = by_loc(&m, &f.params);
        // the spike's component: on 6, its scale from the prior and 30 points alone (about
        // 1e-54 for the lognormal: its location is then 20 to the last bit, pinned there by
        // rounding, and the fit converges on the other coordinates)
        assert!(f.converged, "{what}: {}", f.message);
        let (loc_spike, s_spike) = component_map(&[20.0; 30], 10.0, 20.0, &p);
        assert!(
            (q.locs[1] - loc_spike).abs() < 1e-6 * s_spike,
            "{what}: {q:?} vs {loc_spike}"
        );
        assert!(
            rel(q.scales[1], s_spike) < 1e-6,
            "{what}: {} vs {s_spike}",
            q.scales[1]
        );
        // the other: the spread cluster's MAP
        let (loc_a, s_a) = component_map(&a, 10.0, 20.0, &p);
        assert!(
            (q.locs[0] - loc_a).abs() < 1e-6 * s_a,
            "{what}: {q:?} vs {loc_a}"
        );
        assert!(rel(q.scales[0], s_a) < 1e-6, "{what}: {q:?} vs {s_a}");
        // Dirichlet(1): the weights are the shares
        assert!((q.weights[0] - 40.0 / 70.0).abs() < 1e-6, "{what}: {q:?}");
        let z = assert_classification_finite(&m, &f.params, &data, &what);
        let spike = nearest(&m, &f.params, 20.0);
        assert!(z[40..].iter().all(|&c| c == spike), "{what}");
        assert!(z[..40].iter().all(|&c| c != spike), "{what}");
    }
    for p in priors(1.0) {
        let what = format!("shared {}", p.display());
        let m = model(2, 1, p, Sharing::Shared, 1.0, 10.0, 20.0);
        let f = fit_or_unbounded(fit(&m, &data, &FitOptions::default()), &p, &what)
            .unwrap_or_else(|| panic!("{what}: a shared scale cannot collapse"));
        assert!(f.warnings.is_empty(), "{what}: {:?}", f.warnings);
        let q = by_loc(&m, &f.params);
        assert!((q.weights[0] - 40.0 / 70.0).abs() < 1e-6, "{what}: {q:?}");
        // the shared scale: the spread cluster and the copies
        let (locs, s) = shared_map(&[a.clone(), vec![20.0; 30]], 10.0, 20.0, &p);
        assert!(rel(q.scales[0], s) < 1e-6, "{what}: {} vs {s}", q.scales[0]);
        for i in 0..2 {
            assert!(
                (q.locs[i] - locs[i]).abs() < 1e-6 * s,
                "{what}: {q:?} vs {locs:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// an outlier

/// A tight cluster (100 points, sd 0.01 around 5) and one point 1e6 away; priors in the
/// cluster's units, locations ~ Normal(5, 1e7). With two components the cluster's component
/// is the cluster's own MAP, whatever the other does; with a shared scale the outlier's
/// component shares the cluster's scale, so nothing collapses.
#[test]
fn one_outlier_a_million_away() {
    let c = cluster(5.0, 0.01, 100);
    let mut x = c.clone();
    x.push(5.0 + 1e6);
    let data = Data::from_1d(x.clone()).unwrap();
    for sharing in [Sharing::Component, Sharing::Shared] {
        for p in priors(0.01) {
            let what = format!("{} {sharing:?}", p.display());
            let m = model(2, 1, p, sharing, 1.0, 5.0, 1e7);
            let r = fit(&m, &data, &FitOptions::default());
            let Some(f) = fit_or_unbounded(r, &p, &what) else {
                // only a component's own scale can collapse, and only on the outlier
                assert_eq!(sharing, Sharing::Component, "{what}");
                continue;
            };
            if f.params.weights.iter().any(|w| *w * 101.0 < 0.5) {
                // where every mode with two components collapses one on the outlier (a
                // prior whose density does not vanish at 0, and a scale per component), the
                // search may end on the one mode left, one component for every point and
                // the other emptied, and says so
                assert!(
                    !vanishes(&p) && sharing == Sharing::Component,
                    "{what}: {f:?}"
                );
                assert!(
                    f.warnings.iter().any(|w| w.contains("component is empty")),
                    "{what}: {:?}",
                    f.warnings
                );
                continue;
            }
            let main = nearest(&m, &f.params, 5.0);
            let other = 1 - main;
            let (loc, s) = if sharing == Sharing::Shared {
                let (locs, s) = shared_map(&[c.clone(), vec![5.0 + 1e6]], 5.0, 1e7, &p);
                (locs[0], s)
            } else {
                component_map(&c, 5.0, 1e7, &p)
            };
            let scale_main = f.params.scales[if sharing == Sharing::Shared { 0 } else { main }];
            assert!(
                (f.params.locs[main] - loc).abs() < 1e-9,
                "{what}: main loc {} vs {loc}",
                f.params.locs[main]
            );
            // a fit where the outlier's component is on its way to collapse (not converged:
            // the search is ill-conditioned, scales 1e-7 and 1e-2 of the data's spread)
            // settles the cluster's scale less tightly
            let tol = if f.converged || vanishes(&p) {
                1e-6
            } else {
                1e-3
            };
            assert!(
                rel(scale_main, s) < tol,
                "{what}: main scale {scale_main} vs {s}"
            );
            let z = assert_classification_finite(&m, &f.params, &data, &what);
            assert!(z[..100].iter().all(|&k| k == main), "{what}");
            assert_eq!(z[100], other, "{what}");
            if vanishes(&p) || sharing == Sharing::Shared {
                // hard assignments: Dirichlet(1) weights are the shares; the outlier's
                // component sits on it
                assert!(
                    (f.params.weights[main] - 100.0 / 101.0).abs() < 1e-8,
                    "{what}: {:?}",
                    f.params.weights
                );
                assert!(
                    (f.params.locs[other] - (5.0 + 1e6)).abs() < 1e-6,
                    "{what}: {:?}",
                    f.params.locs
                );
            }
            if vanishes(&p) && sharing == Sharing::Component {
                // the outlier's own scale: the prior's answer for one point
                let (_, s1) = component_map(&[5.0 + 1e6], 5.0, 1e7, &p);
                let s_other = f.params.scales[other];
                assert!(rel(s_other, s1) < 1e-6, "{what}: {s_other} vs {s1}");
                assert!(
                    f.warnings
                        .iter()
                        .any(|w| w.contains("sits on point 100 alone")),
                    "{what}: {:?}",
                    f.warnings
                );
            }
        }
    }
    // one component: the outlier drags it; loc and scale solve the equations for all points
    for p in priors(0.01) {
        let what = format!("k = 1 {}", p.display());
        let m = model(1, 1, p, Sharing::Component, 1.0, 5.0, 1e7);
        let f = fit_or_unbounded(fit(&m, &data, &FitOptions::default()), &p, &what).unwrap();
        let (loc, s) = component_map(&x, 5.0, 1e7, &p);
        assert!(
            (f.params.locs[0] - loc).abs() < 1e-6 * s,
            "{what}: {:?} vs {loc}",
            f.params
        );
        assert!(
            rel(f.params.scales[0], s) < 1e-7,
            "{what}: {:?} vs {s}",
            f.params
        );
        assert!(f.warnings.is_empty(), "{what}: {:?}", f.warnings);
    }
}

// ---------------------------------------------------------------------------------------------
// K far larger than the number of clusters

fn two_clusters() -> Data {
    let mut x = cluster(0.0, 1.0, 100);
    x.extend(cluster(10.0, 1.0, 100));
    Data::from_1d(x).unwrap()
}

/// With Gamma(2, 1) scales and Dirichlet(1) weights, the MAP of 8 components on 2 clusters
/// is the 2-component MAP plus 6 empty components at their prior's mode (loc 5, scale 1),
/// and its loss follows in closed form: the Dirichlet normaliser changes by ln 7! and each
/// empty component adds −ln N(5 | 5, 20) − ln Gamma(1 | 2, 1) = ln(20 √(2π)) + 1.
#[test]
fn empty_components_sit_at_the_prior_mode_and_the_rest_is_the_two_cluster_map() {
    let data = two_clusters();
    let g = ScalePrior::Gamma {
        alpha: 2.0,
        beta: 1.0,
    };
    let m2 = model(2, 1, g, Sharing::Component, 1.0, 5.0, 20.0);
    let m8 = model(8, 1, g, Sharing::Component, 1.0, 5.0, 20.0);
    let f2 = fit(&m2, &data, &FitOptions::default()).unwrap();
    let f8 = fit(&m8, &data, &FitOptions::default()).unwrap();
    assert_finite_fit(&f8, "k = 8");
    let ln_7_factorial = (2..=7).map(|i| (i as f64).ln()).sum::<f64>();
    let per_empty = (20.0 * (2.0 * std::f64::consts::PI).sqrt()).ln() + 1.0;
    let want = f2.loss - ln_7_factorial + 6.0 * per_empty;
    assert!(
        (f8.loss - want).abs() < 1e-6,
        "loss {} vs {want} (k = 2: {})",
        f8.loss,
        f2.loss
    );
    let q2 = by_loc(&m2, &f2.params);
    let (mut occupied, mut empty) = (vec![], vec![]);
    for c in 0..8 {
        if f8.params.weights[c] > 1e-3 {
            occupied.push(c);
        } else {
            empty.push(c);
        }
    }
    assert_eq!(occupied.len(), 2, "{:?}", f8.params.weights);
    occupied.sort_by(|&a, &b| f8.params.locs[a].total_cmp(&f8.params.locs[b]));
    for (i, &c) in occupied.iter().enumerate() {
        assert!((f8.params.locs[c] - q2.locs[i]).abs() < 1e-6);
        assert!(rel(f8.params.scales[c], q2.scales[i]) < 1e-6);
        assert!((f8.params.weights[c] - q2.weights[i]).abs() < 1e-6);
    }
    for &c in &empty {
        assert!(f8.params.weights[c] < 1e-8, "{:?}", f8.params.weights);
        assert!(
            (f8.params.locs[c] - 5.0).abs() < 1e-3,
            "{:?}",
            f8.params.locs
        );
        assert!(
            (f8.params.scales[c] - 1.0).abs() < 1e-3,
            "{:?}",
            f8.params.scales
        );
    }
    assert_eq!(
        f8.warnings
            .iter()
            .filter(|w| w.contains("the component is empty"))
            .count(),
        6,
        "{:?}",
        f8.warnings
    );
    // every point goes to an occupied component of its own cluster
    let z = assert_classification_finite(&m8, &f8.params, &data, "k = 8");
    assert!(z[..100].iter().all(|&c| c == occupied[0]));
    assert!(z[100..].iter().all(|&c| c == occupied[1]));
}

/// Every prior, weights Dirichlet(1) or Dirichlet(2), a scale per component or one shared:
/// 8 components on 2 clusters split or leave empty the spare components, but the answer is
/// finite, each cluster keeps half the weight, and every point is assigned to a component
/// of its own cluster. Where a spare component can collapse on a point, the MAP may not
/// exist: then the error says so.
#[test]
fn eight_components_on_two_clusters_are_finite_under_every_prior() {
    let data = two_clusters();
    let opts = FitOptions {
        restarts: 30,
        candidates: 4,
        ..FitOptions::default()
    };
    for alpha in [1.0, 2.0] {
        for sharing in [Sharing::Component, Sharing::Shared] {
            for p in priors(1.0) {
                let what = format!("alpha {alpha} {} {sharing:?}", p.display());
                let m = model(8, 1, p, sharing, alpha, 5.0, 20.0);
                let Some(f) = fit_or_unbounded(fit(&m, &data, &opts), &p, &what) else {
                    assert_eq!(sharing, Sharing::Component, "{what}");
                    continue;
                };
                let z = assert_classification_finite(&m, &f.params, &data, &what);
                let side = |c: usize| f.params.locs[c] > 5.0;
                assert!(z[..100].iter().all(|&c| !side(c)), "{what}: {:?}", f.params);
                assert!(z[100..].iter().all(|&c| side(c)), "{what}: {:?}", f.params);
                let left: f64 = (0..8)
                    .filter(|&c| !side(c) && f.params.weights[c] > 1e-6)
                    .map(|c| f.params.weights[c])
                    .sum();
                assert!((left - 0.5).abs() < 0.02, "{what}: {:?}", f.params.weights);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// all points equal

/// 20 copies of one value. One scale for everything (one component, or a shared scale) must
/// shrink onto it: with an inverse gamma prior its MAP is β/(20 + α + 1) (the location then
/// solves its own equation); with a lognormal prior e^(μ − 21σ²) ≈ 3e-37, far below what the
/// optimiser resolves next to a location of magnitude 1, so the fit ends short of it with a
/// tiny scale; with the other priors the density is unbounded and the MAP does not exist.
#[test]
fn all_points_equal() {
    for x0 in [3.0, 0.1, 1e9, -7e-9] {
        let data = Data::from_1d(vec![x0; 20]).unwrap();
        let u = 1.0;
        for (k, sharing) in [
            (1, Sharing::Component),
            (2, Sharing::Shared),
            (2, Sharing::Component),
        ] {
            for p in priors(u) {
                let what = format!("x = {x0}, k = {k} {sharing:?} {}", p.display());
                let sd0 = 10.0 * x0.abs().max(1.0);
                let m = model(k, 1, p, sharing, 1.0, 0.0, sd0);
                // every restart starts alike (every point is equal): a few suffice
                let opts = FitOptions {
                    restarts: 4,
                    candidates: 2,
                    ..FitOptions::default()
                };
                let r = fit(&m, &data, &opts);
                if !vanishes(&p) {
                    let msg = unbounded_err(r, &p, &what);
                    assert!(msg.contains(&format!("x = {x0}")), "{what}: {msg}");
                    continue;
                }
                let f = fit_or_unbounded(r, &p, &what).unwrap();
                // the search may empty a component (every point on the other is the better
                // mode); every component that holds points sits on the value, to within a
                // fraction of its scale
                let n = data.n() as f64;
                let scale_of =
                    |c: usize| f.params.scales[if sharing == Sharing::Shared { 0 } else { c }];
                let held: Vec<usize> = (0..k as usize)
                    .filter(|&c| f.params.weights[c] * n >= 0.5)
                    .collect();
                assert!(!held.is_empty(), "{what}: {:?}", f.params);
                for &c in &held {
                    let (l, s) = (f.params.locs[c], scale_of(c));
                    assert!((l - x0).abs() < 0.1 * s, "{what}: loc {l}, scale {s}");
                }
                assert!(
                    f.warnings.iter().any(|w| w.contains("sits on")),
                    "{what}: {:?}",
                    f.warnings
                );
                if let ScalePrior::InverseGamma { .. } = p {
                    // the closed form for the points each component holds (concentration 1:
                    // a weight is the component's share of the points): 20 on one, or 10
                    // each when the two stay equal
                    let count = |c: usize| (f.params.weights[c] * n).round() as usize;
                    let groups: Vec<Vec<usize>> = if sharing == Sharing::Shared {
                        vec![held.clone()]
                    } else {
                        held.iter().map(|&c| vec![c]).collect()
                    };
                    for g in groups {
                        let pts: Vec<Vec<f64>> = g.iter().map(|&c| vec![x0; count(c)]).collect();
                        let (locs, s) = shared_map(&pts, 0.0, sd0, &p);
                        for (&c, loc) in g.iter().zip(&locs) {
                            let (v, l) = (scale_of(c), f.params.locs[c]);
                            assert!(rel(v, s) < 1e-6, "{what}: scale {v} vs {s}");
                            assert!((l - loc).abs() < 1e-6 * s, "{what}: loc {l} vs {loc}");
                        }
                    }
                } else {
                    // lognormal: tiny, and not below the MAP the search approaches
                    let (_, s) = component_map(&[x0; 20], 0.0, sd0, &p);
                    for &c in &held {
                        let v = scale_of(c);
                        assert!(
                            v < 1e-12 && v >= s * (1.0 - 1e-9),
                            "{what}: scale {v} (MAP {s})"
                        );
                    }
                }
                // the tiny scales still classify every point, and a grid around them
                assert_classification_finite(&m, &f.params, &data, &what);
                let grid: Vec<f64> = (-10..=10).map(|i| x0 + i as f64).collect();
                assert_classification_finite(&m, &f.params, &Data::from_1d(grid).unwrap(), &what);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// N = K, N < K

/// Three points far apart and three components: each component sits on one point. With a
/// scale per component the scale is the prior's answer for one point (lognormal e^(μ − 2σ²),
/// inverse gamma β/(α + 2), gamma (α − 2)/β for shape α > 2); with priors whose density does
/// not vanish at 0 (or gamma with shape ≤ 2) the MAP does not exist. A shared scale is the
/// prior's answer for three points at zero residual.
#[test]
fn as_many_points_as_components() {
    let x = [0.0, 10.0, 20.0];
    let data = Data::from_1d(x.to_vec()).unwrap();
    let mut ps = priors(1.0).to_vec();
    ps.push(ScalePrior::Gamma {
        alpha: 3.0,
        beta: 1.0,
    });
    for sharing in [Sharing::Component, Sharing::Shared] {
        for p in &ps {
            let what = format!("{} {sharing:?}", p.display());
            let m = model(3, 1, *p, sharing, 1.0, 0.0, 10.0);
            // the points are integers: with the resolution detected (1), a component on one
            // point narrower than rounding (lognormal: e^−8) makes no proper mode
            if matches!(p, ScalePrior::LogNormal { .. }) && sharing == Sharing::Component {
                match fit(&m, &data, &FitOptions::default()) {
                    Err(Error::NoProperMode(msg)) => {
                        assert!(msg.contains("recorded to 1"), "{msg}")
                    }
                    other => panic!("{what}: {other:?}"),
                }
            }
            let off = FitOptions {
                resolution: Resolution::Off,
                ..FitOptions::default()
            };
            let r = fit(&m, &data, &off);
            let bounded =
                vanishes(p) || (sharing == Sharing::Component && p.display() == "Gamma(3, 1)");
            if !bounded {
                let msg = unbounded_err(r, p, &what);
                if sharing == Sharing::Shared {
                    assert!(msg.contains("only 3 distinct points for k = 3"), "{msg}");
                } else {
                    assert!(msg.contains("gamma with shape > 2"), "{msg}");
                }
                continue;
            }
            let f = fit_or_unbounded(r, p, &what).unwrap();
            let q = by_loc(&m, &f.params);
            let groups: Vec<Vec<f64>> = x.iter().map(|v| vec![*v]).collect();
            let shared = shared_map(&groups, 0.0, 10.0, p);
            for i in 0..3 {
                let (loc, s) = if sharing == Sharing::Shared {
                    (shared.0[i], shared.1)
                } else {
                    component_map(&[x[i]], 0.0, 10.0, p)
                };
                assert!((q.locs[i] - loc).abs() < 1e-8, "{what}: {q:?} vs {loc}");
                assert!(
                    rel(q.scales[i.min(q.scales.len() - 1)], s) < 1e-6,
                    "{what}: {q:?} vs {s}"
                );
                assert!((q.weights[i] - 1.0 / 3.0).abs() < 1e-7, "{what}: {q:?}");
            }
            let z = assert_classification_finite(&m, &f.params, &data, &what);
            let mut seen = z.clone();
            seen.sort();
            assert_eq!(seen, vec![0, 1, 2], "{what}: one point per component");
        }
    }
}

/// Fewer points than components: every engine refuses, naming both numbers.
#[test]
fn fewer_points_than_components_is_a_clear_error() {
    let m = model(3, 1, priors(1.0)[0], Sharing::Component, 1.0, 0.0, 10.0);
    let data = Data::from_1d(vec![0.0, 1.0]).unwrap();
    let want = "fewer points (2) than components (k = 3)";
    let e = fit(&m, &data, &FitOptions::default()).unwrap_err();
    assert_eq!(e, Error::Data(want.into()));
    let e = bgmm::fit(
        &m,
        &data,
        &bgmm::FitOptions {
            weight: Some(2.0),
            ..FitOptions::default().clone()
        },
    )
    .unwrap_err();
    assert_eq!(e, Error::Data(want.into()));
    let e = bgmm::sample(&m, &data, &short_nuts(0)).unwrap_err();
    assert_eq!(e, Error::Data(want.into()));
    let e = bgmm::vi(&m, &data, &short_vi()).unwrap_err();
    assert_eq!(e, Error::Data(want.into()));
}

// ---------------------------------------------------------------------------------------------
// a component collapsing during the MAP search

/// Hard optimiser settings on the outlier data (Adam at lr 1 for 3000 steps drives a
/// collapsing scale to the bottom of the floating-point range; no polish; a long polish):
/// never a NaN or a panic. Where the prior stops the collapse the answer is the same mode
/// (the outlier's scale e^(μ − 2σ²) or β/(α + 2)); where it does not, the error says the MAP
/// does not exist or the fit is a proper mode with finite values.
#[test]
fn a_collapsing_component_never_gives_nan() {
    let mut x = cluster(5.0, 0.01, 100);
    x.push(5.0 + 1e6);
    let data = Data::from_1d(x).unwrap();
    let settings = [
        FitOptions {
            lr: 1.0,
            steps: 3000,
            max_polish_iter: 10_000,
            ..FitOptions::default()
        },
        FitOptions {
            polish: false,
            ..FitOptions::default()
        },
        FitOptions {
            steps: 0,
            ..FitOptions::default()
        },
    ];
    for (i, opts) in settings.iter().enumerate() {
        for p in priors(0.01) {
            let what = format!("settings {i}, {}", p.display());
            let m = model(2, 1, p, Sharing::Component, 1.0, 5.0, 1e7);
            let Some(f) = fit_or_unbounded(fit(&m, &data, opts), &p, &what) else {
                continue;
            };
            assert_classification_finite(&m, &f.params, &data, &what);
            if vanishes(&p) && opts.polish {
                let other = 1 - nearest(&m, &f.params, 5.0);
                let (_, s1) = component_map(&[5.0 + 1e6], 5.0, 1e7, &p);
                assert!(
                    rel(f.params.scales[other], s1) < 1e-6,
                    "{what}: {:?} vs {s1}",
                    f.params.scales
                );
            }
        }
    }
    // a weight that is no weight
    let m = model(2, 1, priors(0.01)[0], Sharing::Component, 1.0, 5.0, 1e7);
    for w in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let e = bgmm::fit(
            &m,
            &data,
            &bgmm::FitOptions {
                weight: Some(w),
                ..FitOptions::default().clone()
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidOption {
                    option: "weight",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// the posterior engines on the same data

/// Collapsed NUTS and VI (short runs) on each awkward data set under a prior that vanishes
/// at 0: finite draws, and the cluster locations where they must be. Under a prior that
/// does not, on data where every MAP candidate collapses, both refuse with the MAP's error
/// (they start from it).
#[test]
fn nuts_and_vi_on_awkward_data() {
    let ln = priors(1.0)[0];
    let mut dup = cluster(0.0, 1.0, 15);
    dup.extend(cluster(6.0, 0.5, 15));
    let dup: Vec<f64> = dup
        .iter()
        .flat_map(|v| std::iter::repeat_n(*v, 10))
        .collect();
    let mut outlier = cluster(5.0, 0.01, 100);
    outlier.push(5.0 + 1e6);
    let cases: Vec<(&str, Model, Data, Option<f64>)> = vec![
        (
            "duplicates",
            model(2, 1, ln, Sharing::Component, 1.0, 3.0, 10.0),
            Data::from_1d(dup).unwrap(),
            None,
        ),
        (
            "outlier",
            model(2, 1, priors(0.01)[0], Sharing::Shared, 1.0, 5.0, 1e7),
            Data::from_1d(outlier).unwrap(),
            // the cluster's mean
            Some(5.0),
        ),
        (
            "k = 8",
            model(
                8,
                1,
                ScalePrior::Gamma {
                    alpha: 2.0,
                    beta: 1.0,
                },
                Sharing::Component,
                2.0,
                5.0,
                20.0,
            ),
            two_clusters(),
            None,
        ),
        (
            "all equal",
            model(1, 1, priors(1.0)[1], Sharing::Component, 1.0, 0.0, 10.0),
            Data::from_1d(vec![3.0; 20]).unwrap(),
            Some(3.0),
        ),
        (
            "n = k",
            model(3, 1, ln, Sharing::Component, 1.0, 0.0, 10.0),
            Data::from_1d(vec![0.0, 10.0, 20.0]).unwrap(),
            None,
        ),
    ];
    for (name, m, data, check) in &cases {
        let post =
            bgmm::sample(m, data, &short_nuts(1)).unwrap_or_else(|e| panic!("{name}: NUTS: {e}"));
        assert_finite_posterior(&post, &format!("{name} NUTS"));
        let (vi, res) =
            bgmm::vi(m, data, &short_vi()).unwrap_or_else(|e| panic!("{name}: VI: {e}"));
        assert_finite_posterior(&vi, &format!("{name} VI"));
        assert!(res.elbo.iter().any(|e| e.is_finite()), "{name}: VI ELBO");
        if let Some(centre) = check {
            // the component at the centre (NUTS draws are relabelled to the MAP's order),
            // whose posterior is symmetric about it: its mean is there to within the Monte
            // Carlo error (a fraction of the posterior sd)
            let at = |p: &Posterior| {
                format!(
                    "locs[{}]",
                    nearest(m, p.reference.as_ref().unwrap(), *centre)
                )
            };
            let sd = sd_of(&post, &at(&post));
            assert!(sd > 0.0 && sd < 0.05, "{name}: sd {sd}");
            for (engine, p) in [("NUTS", &post), ("VI", &vi)] {
                let name_c = at(p);
                let mean = mean_of(p, &name_c);
                assert!(
                    (mean - centre).abs() < 0.3 * sd,
                    "{name} {engine}: {name_c} mean {mean} (sd {sd})"
                );
            }
        }
        // the posterior's assignment probabilities are finite too
        let pa = bgmm::assignment_probabilities(m, data, &post, false, 0).unwrap();
        assert!(pa.probs.iter().flatten().all(|v| v.is_finite()), "{name}");
    }
    // every point equal under a half-normal prior: the MAP does not exist, and the engines
    // that start from it say so
    let hn = priors(1.0)[3];
    let m = model(2, 1, hn, Sharing::Component, 1.0, 0.0, 10.0);
    let data = Data::from_1d(vec![3.0; 20]).unwrap();
    for e in [
        bgmm::sample(&m, &data, &short_nuts(0)).unwrap_err(),
        bgmm::vi(&m, &data, &short_vi()).unwrap_err(),
    ] {
        match e {
            Error::Unbounded(msg) => assert_unbounded_message(&msg, &hn, "engines"),
            other => panic!("{other:?}"),
        }
    }
}

/// A gamma prior with shape below 1 is itself unbounded at 0: a spare component's scale can
/// sink there with no point under it. Whether the search ends on a point or not, the fit
/// says that the MAP does not exist; two clusters and two components with a shared scale
/// (which the clusters hold up) still have one.
#[test]
fn a_gamma_prior_with_shape_below_one_is_unbounded_by_itself() {
    let g = ScalePrior::Gamma {
        alpha: 0.5,
        beta: 1.0,
    };
    let data = two_clusters();
    let m = model(4, 1, g, Sharing::Component, 1.0, 5.0, 20.0);
    assert!(m
        .map_may_not_exist()
        .unwrap()
        .contains("grows like s^-0.5 at 0"));
    match fit(&m, &data, &FitOptions::default()) {
        Err(Error::Unbounded(msg)) => {
            assert!(msg.starts_with("the MAP does not exist: "), "{msg}");
            assert!(
                msg.contains("collapses on point") || msg.contains("by itself"),
                "{msg}"
            );
            assert!(msg.contains("gamma with shape > 1"), "{msg}");
        }
        Ok(f) => {
            // a proper mode: finite, and said to be a local one
            assert_finite_fit(&f, "gamma 0.5");
            assert!(f.warnings.iter().any(|w| w.contains("local mode")));
        }
        Err(e) => panic!("{e:?}"),
    }
    let m = model(2, 1, g, Sharing::Shared, 1.0, 5.0, 20.0);
    let f = fit(&m, &data, &FitOptions::default()).unwrap();
    assert_finite_fit(&f, "gamma 0.5 shared");
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    let (locs, s) = shared_map(
        &[cluster(0.0, 1.0, 100), cluster(10.0, 1.0, 100)],
        5.0,
        20.0,
        &g,
    );
    let q = by_loc(&m, &f.params);
    assert!(rel(q.scales[0], s) < 1e-6, "{q:?} vs {s}");
    for i in 0..2 {
        assert!((q.locs[i] - locs[i]).abs() < 1e-6, "{q:?} vs {locs:?}");
    }
}

/// A Dirichlet concentration below 1 (the Pyro tutorial's 0.5) makes the density unbounded as
/// a weight → 0: the fit says its mode is a local one. With concentration ≥ 1, or one
/// component, it says nothing of the kind.
#[test]
fn a_dirichlet_concentration_below_one_makes_the_mode_a_local_one() {
    let x = vec![0.0, 1.0, 10.0, 11.0, 12.0];
    let data = Data::from_1d(x).unwrap();
    let build = |k: i64, conc: f64| {
        toml::from_str::<ModelSpec>(&format!(
            "k = {k}\nd = 1\n[weights]\nconcentration = {conc}\n[locs]\nloc = 0.0\nscale = 10.0\n\
             [scale]\nsharing = \"shared\"\nprior = \"lognormal\"\nmu = 0.0\nsigma = 2.0\n"
        ))
        .unwrap()
        .build(None)
        .unwrap()
    };
    let local = |f: &Fit| {
        f.warnings
            .iter()
            .any(|w| w.starts_with("this is a local mode") && w.contains("concentration"))
    };
    let m = build(2, 0.5);
    let f = fit(&m, &data, &FitOptions::default()).unwrap();
    assert!(
        f.warnings
            .iter()
            .any(|w| w.contains("concentration 0.5 < 1")),
        "{:?}",
        f.warnings
    );
    // the claim itself: emptying a component raises the density past the mode's, without bound
    let at = |w0: f64| {
        let mut p = f.params.clone();
        let small = if p.weights[0] < p.weights[1] { 0 } else { 1 };
        p.weights[small] = w0;
        p.weights[1 - small] = 1.0 - w0;
        bgmm::log_joint(&m, &data, &p)
    };
    // once the emptied component's points are left to the other one, each factor 1e-100 off
    // the weight adds (1 − 0.5)·ln 1e100 to the log density, without end; at 1e-300 it has
    // passed the mode's
    let step = 0.5 * 1e100f64.ln();
    let (a, b, c) = (at(1e-100), at(1e-200), at(1e-300));
    assert!(
        (b - a - step).abs() < 1e-9 && (c - b - step).abs() < 1e-9,
        "{a} {b} {c}"
    );
    assert!(c > -f.loss, "{c} vs the mode's {}", -f.loss);
    for (k, conc) in [(2, 1.0), (2, 3.0), (1, 0.5)] {
        let f = fit(&build(k, conc), &data, &FitOptions::default()).unwrap();
        assert!(!local(&f), "k {k}, concentration {conc}: {:?}", f.warnings);
    }
}

/// Data in any unit fit alike: simulated 2-D data scaled by 1e-250 … 1e250 (femtometres to
/// beyond light years) under the default model of their own units have the unscaled fit's
/// weights, and its locations and scales times the factor, to 1e-6 relative. Found as a user
/// would: beyond ±1e154 the default prior's scale overflowed (an error blaming `-k`), and a
/// spread below 1e-200 underflowed to none (a silently wrong, non-converged fit).
#[test]
fn the_default_model_fits_data_from_1e_minus_250_to_1e250_alike() {
    let truth = ModelSpec {
        k: 2,
        d: Some(2),
        weights: WeightsSpec {
            concentration: OneOrMany::One(1.0),
        },
        locs: LocsSpec {
            loc: OneOrMany::One(0.0),
            scale: OneOrMany::One(4.0),
            ordered: false,
        },
        scale: ScaleSpec::from_prior(
            ScalePrior::LogNormal {
                mu: 0.0,
                sigma: 0.5,
            },
            Sharing::Component,
        ),
    }
    .build(Some(2))
    .unwrap();
    let sim = bgmm::simulate(&truth, 300, 3).unwrap();
    let scaled = |f: f64| {
        Data::from_columns(
            (0..2)
                .map(|j| sim.data.col(j).iter().map(|x| x * f).collect())
                .collect(),
        )
        .unwrap()
    };
    let fit_at = |f: f64| {
        let data = scaled(f);
        let model = ModelSpec::quick(2, Sharing::Component, &data)
            .build(Some(2))
            .unwrap();
        let fit = fit(&model, &data, &FitOptions::default())
            .unwrap_or_else(|e| panic!("data scaled by {f:e}: {e}"));
        assert!(fit.converged, "data scaled by {f:e}: {}", fit.message);
        (model, fit)
    };
    let (_, base) = fit_at(1.0);
    let order = |p: &Params| -> Vec<usize> {
        let mut o = vec![0, 1];
        o.sort_by(|&a, &b| p.locs[2 * a].total_cmp(&p.locs[2 * b]));
        o
    };
    let bo = order(&base.params);
    for f in [1e-250, 1e-150, 1e150, 1e250] {
        let (model, got) = fit_at(f);
        let go = order(&got.params);
        let close = |what: &str, a: f64, want: f64| {
            assert!(
                (a - want).abs() <= 1e-6 * want.abs(),
                "data scaled by {f:e}: {what} = {a:e}, the unscaled fit's times {f:e} is {want:e}"
            );
        };
        for (&g, &b) in go.iter().zip(&bo) {
            close("weight", got.params.weights[g], base.params.weights[b]);
            for j in 0..2 {
                close(
                    "loc",
                    got.params.locs[2 * g + j],
                    base.params.locs[2 * b + j] * f,
                );
            }
            close("scale", got.params.scales[g], base.params.scales[b] * f);
        }
        // the density in the data's units: −log p moves by ln f per data value, per location
        // and per scale
        let dims = (300 * 2 + 2 * 2 + model.n_scales()) as f64;
        let want = base.loss + dims * f.ln();
        assert!(
            (got.loss - want).abs() <= 1e-6 * want.abs().max(1.0),
            "data scaled by {f:e}: loss {} against {want}",
            got.loss
        );
    }
}
