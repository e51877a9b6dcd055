//! MCMC summaries: quantiles, highest-density intervals, effective sample sizes (bulk and
//! tail, rank-normalised) and split R-hat, after Vehtari, Gelman, Simpson, Carpenter and
//! Bürkner (2021), "Rank-normalization, folding, and localization: an improved R-hat".
//!
//! Draws of one parameter are given as `chains[c][i]`; every chain has the same length.

use serde::{Deserialize, Serialize};

/// Summary of one scalar parameter over all chains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSummary {
    /// Posterior mean.
    pub mean: f64,
    /// Posterior standard deviation.
    pub sd: f64,
    /// Median.
    pub median: f64,
    /// 5 % quantile.
    pub q5: f64,
    /// 95 % quantile.
    pub q95: f64,
    /// Lower end of the 90 % highest-density interval.
    pub hdi_low: f64,
    /// Upper end of the 90 % highest-density interval.
    pub hdi_high: f64,
    /// Bulk effective sample size (rank-normalised split chains).
    pub ess_bulk: f64,
    /// Tail effective sample size (min over the 5 % and 95 % quantile indicators).
    pub ess_tail: f64,
    /// Rank-normalised split R-hat (max of the plain and folded versions).
    pub r_hat: f64,
    /// Monte Carlo standard error of the mean.
    pub mcse_mean: f64,
}

/// Summarise the draws `chains[c][i]` of one parameter.
pub fn summarize(chains: &[Vec<f64>]) -> ParamSummary {
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    let n = all.len() as f64;
    let mean = all.iter().sum::<f64>() / n;
    let var = all.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0).max(1.0);
    let mut sorted = all.clone();
    sorted.sort_by(f64::total_cmp);
    let (hdi_low, hdi_high) = hdi(&sorted, 0.9);
    let ess_mean = ess(&split(chains));
    ParamSummary {
        mean,
        sd: var.sqrt(),
        median: quantile_sorted(&sorted, 0.5),
        q5: quantile_sorted(&sorted, 0.05),
        q95: quantile_sorted(&sorted, 0.95),
        hdi_low,
        hdi_high,
        ess_bulk: ess_bulk(chains),
        ess_tail: ess_tail(chains),
        r_hat: rhat(chains),
        mcse_mean: (var / ess_mean).sqrt(),
    }
}

/// Quantile of sorted values with linear interpolation (numpy's default, "type 7").
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The shortest interval holding a fraction `prob` of the sorted draws (ArviZ's `hdi`).
pub fn hdi(sorted: &[f64], prob: f64) -> (f64, f64) {
    let n = sorted.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let keep = ((prob * n as f64).floor() as usize).clamp(1, n);
    let mut best = (f64::INFINITY, 0);
    for i in 0..=n - keep {
        let w = sorted[i + keep - 1] - sorted[i];
        if w < best.0 {
            best = (w, i);
        }
    }
    (sorted[best.1], sorted[best.1 + keep - 1])
}

/// Split every chain in two halves (the middle draw of an odd chain is dropped).
pub fn split(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(2 * chains.len());
    for c in chains {
        let h = c.len() / 2;
        out.push(c[..h].to_vec());
        out.push(c[c.len() - h..].to_vec());
    }
    out
}

/// Normal quantile function `Φ⁻¹(p)`.
pub fn normal_quantile(p: f64) -> f64 {
    use special::Error;
    std::f64::consts::SQRT_2 * (2.0 * p - 1.0).inv_error()
}

/// Rank-normalise all draws together: `Φ⁻¹((r − 3/8) / (S + 1/4))` with average ranks for ties.
pub fn rank_normalize(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let s: usize = chains.iter().map(Vec::len).sum();
    let mut idx: Vec<(f64, usize, usize)> = chains
        .iter()
        .enumerate()
        .flat_map(|(c, v)| v.iter().enumerate().map(move |(i, &x)| (x, c, i)))
        .collect();
    idx.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<Vec<f64>> = chains.iter().map(|c| vec![0.0; c.len()]).collect();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && idx[j + 1].0 == idx[i].0 {
            j += 1;
        }
        // ranks are 1-based; ties share the average rank
        let r = (i + j) as f64 / 2.0 + 1.0;
        let z = normal_quantile((r - 0.375) / (s as f64 + 0.25));
        for t in &idx[i..=j] {
            out[t.1][t.2] = z;
        }
        i = j + 1;
    }
    out
}

/// Basic R-hat of (already split) chains: `sqrt(((n−1)/n W + B/n) / W)`.
pub fn rhat_basic(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len() as f64;
    let n = chains[0].len() as f64;
    if n < 2.0 || m < 2.0 {
        return f64::NAN;
    }
    let means: Vec<f64> = chains.iter().map(|c| c.iter().sum::<f64>() / n).collect();
    let grand = means.iter().sum::<f64>() / m;
    let b = n / (m - 1.0) * means.iter().map(|x| (x - grand).powi(2)).sum::<f64>();
    let w = chains
        .iter()
        .zip(&means)
        .map(|(c, mu)| c.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n - 1.0))
        .sum::<f64>()
        / m;
    if w == 0.0 {
        return if b == 0.0 { 1.0 } else { f64::INFINITY };
    }
    (((n - 1.0) / n * w + b / n) / w).sqrt()
}

/// Rank-normalised split R-hat: the larger of the bulk and the folded (tail) versions.
pub fn rhat(chains: &[Vec<f64>]) -> f64 {
    let sp = split(chains);
    let bulk = rhat_basic(&rank_normalize(&sp));
    let all: Vec<f64> = sp.iter().flatten().copied().collect();
    let mut sorted = all;
    sorted.sort_by(f64::total_cmp);
    let med = quantile_sorted(&sorted, 0.5);
    let folded: Vec<Vec<f64>> = sp
        .iter()
        .map(|c| c.iter().map(|x| (x - med).abs()).collect())
        .collect();
    let tail = rhat_basic(&rank_normalize(&folded));
    bulk.max(tail)
}

/// Autocovariance of one chain at lags `0..=max_lag` (biased, divisor n).
fn autocov(x: &[f64], max_lag: usize) -> Vec<f64> {
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
    (0..=max_lag.min(n - 1))
        .map(|t| {
            d[..n - t]
                .iter()
                .zip(&d[t..])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                / n as f64
        })
        .collect()
}

/// Effective sample size of (already split) chains, with Geyer's initial monotone sequence
/// (as Stan and ArviZ compute it).
pub fn ess(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let n = chains[0].len();
    if n < 4 {
        return f64::NAN;
    }
    // autocovariances are computed lazily in blocks, since the sum usually stops early
    let mut max_lag = 64.min(n - 1);
    let mut acov: Vec<Vec<f64>> = chains.iter().map(|c| autocov(c, max_lag)).collect();
    let chain_mean: Vec<f64> = chains
        .iter()
        .map(|c| c.iter().sum::<f64>() / n as f64)
        .collect();
    let nf = n as f64;
    let mean_var = acov.iter().map(|a| a[0]).sum::<f64>() / m as f64 * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if m > 1 {
        let gm = chain_mean.iter().sum::<f64>() / m as f64;
        var_plus += chain_mean.iter().map(|x| (x - gm).powi(2)).sum::<f64>() / (m - 1) as f64;
    }
    if var_plus.is_nan() || var_plus <= 0.0 {
        // constant draws: every draw is the same number
        return (m * n) as f64;
    }
    let mut rho = vec![0.0; n];
    let get = |t: usize, acov: &mut Vec<Vec<f64>>, max_lag: &mut usize| -> f64 {
        if t > *max_lag {
            *max_lag = (2 * *max_lag).max(t).min(n - 1);
            *acov = chains.iter().map(|c| autocov(c, *max_lag)).collect();
        }
        let mean_acov = acov.iter().map(|a| a[t]).sum::<f64>() / m as f64;
        1.0 - (mean_var - mean_acov) / var_plus
    };
    rho[0] = 1.0;
    let mut rho_even = 1.0;
    let mut rho_odd = get(1, &mut acov, &mut max_lag);
    rho[1] = rho_odd;
    let mut t = 1;
    while t < n - 3 && rho_even + rho_odd > 0.0 {
        rho_even = get(t + 1, &mut acov, &mut max_lag);
        rho_odd = get(t + 2, &mut acov, &mut max_lag);
        if rho_even + rho_odd >= 0.0 {
            rho[t + 1] = rho_even;
            rho[t + 2] = rho_odd;
        }
        t += 2;
    }
    let max_t = t - 2;
    if rho_even > 0.0 {
        rho[max_t + 1] = rho_even;
    }
    // initial monotone sequence
    let mut t = 1;
    while t + 2 <= max_t {
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t] {
            rho[t + 1] = (rho[t - 1] + rho[t]) / 2.0;
            rho[t + 2] = rho[t + 1];
        }
        t += 2;
    }
    let total = (m * n) as f64;
    // as ArviZ: lags 0..=max_t counted twice, lag max_t + 1 once
    let tau = -1.0
        + 2.0 * rho[..=max_t].iter().sum::<f64>()
        + rho[(max_t + 1).min(n)..(max_t + 2).min(n)]
            .iter()
            .sum::<f64>();
    let tau = tau.max(1.0 / total.log10());
    total / tau
}

/// Bulk ESS: ESS of the rank-normalised split chains.
pub fn ess_bulk(chains: &[Vec<f64>]) -> f64 {
    ess(&rank_normalize(&split(chains)))
}

/// Tail ESS: the smaller ESS of the indicators `x ≤ q5` and `x ≤ q95` on split chains.
pub fn ess_tail(chains: &[Vec<f64>]) -> f64 {
    let sp = split(chains);
    let mut sorted: Vec<f64> = sp.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let mut out = f64::INFINITY;
    for q in [0.05, 0.95] {
        let cut = quantile_sorted(&sorted, q);
        let ind: Vec<Vec<f64>> = sp
            .iter()
            .map(|c| {
                c.iter()
                    .map(|&x| if x <= cut { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect();
        out = out.min(ess(&ind));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};
    use rand_distr::StandardNormal;

    fn ar1(rng: &mut ChaCha8Rng, n: usize, phi: f64) -> Vec<f64> {
        let mut x = rng.sample::<f64, _>(StandardNormal) / (1.0 - phi * phi).sqrt();
        (0..n)
            .map(|_| {
                x = phi * x + rng.sample::<f64, _>(StandardNormal);
                x
            })
            .collect()
    }

    #[test]
    fn ess_of_ar1_chains_matches_the_closed_form() {
        // AR(1) with coefficient φ: ESS = S (1 − φ) / (1 + φ)
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for phi in [0.0, 0.5, 0.9] {
            let chains: Vec<Vec<f64>> = (0..4).map(|_| ar1(&mut rng, 5000, phi)).collect();
            let want = 20000.0 * (1.0 - phi) / (1.0 + phi);
            let got = ess_bulk(&chains);
            assert!(
                (got / want - 1.0).abs() < 0.15,
                "phi {phi}: ess {got} vs {want}"
            );
            let r = rhat(&chains);
            assert!(r < 1.01, "phi {phi}: rhat {r}");
        }
    }

    #[test]
    fn rhat_flags_chains_in_different_places() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut chains: Vec<Vec<f64>> = (0..4).map(|_| ar1(&mut rng, 1000, 0.3)).collect();
        for x in &mut chains[3] {
            *x += 3.0;
        }
        let r = rhat(&chains);
        assert!(r > 1.2, "{r}");
        // different spread only: caught by the folded version
        let mut chains: Vec<Vec<f64>> = (0..4).map(|_| ar1(&mut rng, 1000, 0.0)).collect();
        for x in &mut chains[0] {
            *x *= 4.0;
        }
        assert!(rhat(&chains) > 1.1);
    }

    /// 4 chains of an AR(0.7) process driven by a 32-bit LCG, each chain shifted a little, so
    /// that Python reproduces them exactly.
    fn lcg_chains() -> Vec<Vec<f64>> {
        (0..4u64)
            .map(|c| {
                let (mut s, mut x) = (12345 + c, 0.0);
                (0..500)
                    .map(|_| {
                        s = (1_664_525 * s + 1_013_904_223) % (1 << 32);
                        x = 0.7 * x + (s as f64 / 4_294_967_296.0 - 0.5) + 0.05 * c as f64;
                        x
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn matches_arviz_on_the_same_draws() {
        // arviz 0.23.4: _ess_bulk, _ess_tail, _rhat_rank, _ess_mean on these chains
        let ch = lcg_chains();
        assert!((ch[2][499] - 0.1364964206578941).abs() < 1e-12);
        let close = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-9;
        assert!(close(ess_bulk(&ch), 24.24775830624185), "{}", ess_bulk(&ch));
        assert!(close(ess_tail(&ch), 384.9126999332232), "{}", ess_tail(&ch));
        assert!(close(rhat(&ch), 1.1344788403104928), "{}", rhat(&ch));
        assert!(
            close(ess(&split(&ch)), 24.74256458642333),
            "{}",
            ess(&split(&ch))
        );
    }

    #[test]
    fn quantiles_and_hdi() {
        let v: Vec<f64> = (0..=100).map(|i| i as f64).collect();
        assert_eq!(quantile_sorted(&v, 0.05), 5.0);
        assert_eq!(quantile_sorted(&v, 0.5), 50.0);
        // a skewed sample: the HDI hugs the mode
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut e: Vec<f64> = (0..20000).map(|_| -rng.random::<f64>().ln()).collect();
        e.sort_by(f64::total_cmp);
        let (lo, hi) = hdi(&e, 0.9);
        // Exp(1): HDI of 90 % is [0, ln 10]
        assert!(lo < 0.01 && (hi - 10f64.ln()).abs() < 0.05, "{lo} {hi}");
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-9);
    }

    #[test]
    fn summary_of_iid_normal_draws() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let chains: Vec<Vec<f64>> = (0..4)
            .map(|_| {
                (0..2000)
                    .map(|_| 2.0 + 3.0 * rng.sample::<f64, _>(StandardNormal))
                    .collect()
            })
            .collect();
        let s = summarize(&chains);
        // mean ± 3 · 3/√8000 = 0.1; sd within 3 %; quantiles ±1.645·3
        assert!((s.mean - 2.0).abs() < 0.1);
        assert!((s.sd / 3.0 - 1.0).abs() < 0.03);
        assert!((s.q5 - (2.0 - 4.935)).abs() < 0.2 && (s.q95 - (2.0 + 4.935)).abs() < 0.2);
        assert!(s.ess_bulk > 6500.0 && s.ess_tail > 5000.0, "{s:?}");
        assert!((s.mcse_mean - 3.0 / 8000f64.sqrt()).abs() < 0.005);
    }
}
