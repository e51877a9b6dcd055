//! MCMC summaries: quantiles, highest-density intervals, effective sample sizes (bulk and
//! tail, rank-normalised) and split R-hat, after Vehtari, Gelman, Simpson, Carpenter and
//! Bürkner (2021), "Rank-normalization, folding, and localization: an improved R-hat".
//!
//! Draws of one parameter are given as `chains[c][i]`; every chain has the same length.

use serde::{Deserialize, Serialize};

/// Summary of one scalar parameter over all chains. Serde: written as serde_json writes it (a
/// value that is not finite as `null`, as the CLI's `summary.json` holds it), read back with
/// `null` as NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSummary {
    /// Posterior mean.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub mean: f64,
    /// Posterior standard deviation.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub sd: f64,
    /// Median.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub median: f64,
    /// 5 % quantile.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub q5: f64,
    /// 95 % quantile.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub q95: f64,
    /// Lower end of the 90 % highest-density interval.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub hdi_low: f64,
    /// Upper end of the 90 % highest-density interval.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub hdi_high: f64,
    /// Bulk effective sample size (rank-normalised split chains).
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub ess_bulk: f64,
    /// Tail effective sample size (min over the 5 % and 95 % quantile indicators).
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub ess_tail: f64,
    /// Rank-normalised split R-hat (max of the plain and folded versions).
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub r_hat: f64,
    /// Monte Carlo standard error of the mean.
    #[serde(deserialize_with = "crate::options::nullable::deserialize")]
    pub mcse_mean: f64,
}

/// Summarise the draws `chains[c][i]` of one parameter.
///
/// Every statistic is equivariant in the draws' scale (R-hat and ESS invariant): draws whose
/// magnitude is beyond 1e±100, where squares leave the range of f64, are summarised divided by
/// their largest magnitude and scaled back.
pub fn summarize(chains: &[Vec<f64>]) -> ParamSummary {
    let a = chains.iter().flatten().fold(
        0.0f64,
        |a, v| if v.is_finite() { a.max(v.abs()) } else { a },
    );
    if a > 0.0 && a.is_finite() && !(1e-100..=1e100).contains(&a) {
        let scaled: Vec<Vec<f64>> = chains
            .iter()
            .map(|c| c.iter().map(|v| v / a).collect())
            .collect();
        let s = summarize(&scaled);
        return ParamSummary {
            mean: s.mean * a,
            sd: s.sd * a,
            median: s.median * a,
            q5: s.q5 * a,
            q95: s.q95 * a,
            hdi_low: s.hdi_low * a,
            hdi_high: s.hdi_high * a,
            mcse_mean: s.mcse_mean * a,
            ..s
        };
    }
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

/// A chain as the sampling warnings see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainCheck {
    /// Mean acceptance probability of the kept draws.
    pub mean_accept: f64,
    /// Standard deviation of each parameter's draws in this chain, in the summary's order.
    pub sd: Vec<f64>,
}

impl ChainCheck {
    /// The check of one chain's draws `draws[i][param]`.
    pub fn of(draws: &[Vec<f64>], mean_accept: f64) -> ChainCheck {
        let width = draws.first().map_or(0, Vec::len);
        // at any scale of the draws (the same bits as the plain formula where squares fit)
        let sd = (0..width)
            .map(|p| crate::data::mean_sd(&draws.iter().map(|d| d[p]).collect::<Vec<_>>()).1)
            .collect();
        ChainCheck { mean_accept, sd }
    }
}

/// Split R-hat above this is a warning.
pub const RHAT_MAX: f64 = 1.01;
/// Fewer effective draws per chain than this (bulk or tail) is a warning.
pub const ESS_PER_CHAIN_MIN: f64 = 100.0;
/// A chain whose mean acceptance is below this share of the target looks stuck.
pub const STUCK_ACCEPT_SHARE: f64 = 0.5;
/// A chain whose draws spread less than this share of the other chains' (the median over
/// parameters of its sd over the median sd of the other chains) looks stuck.
pub const STUCK_SPREAD_SHARE: f64 = 0.2;

/// How far chain `c`'s draws spread against the other chains': the median over parameters of
/// its sd over the median of the others' sds (parameters constant in the others left out);
/// `None` with one chain or no parameter to compare.
pub fn relative_spread(chains: &[ChainCheck], c: usize) -> Option<f64> {
    let width = chains[c].sd.len();
    let mut ratios: Vec<f64> = (0..width)
        .filter_map(|p| {
            let mut others: Vec<f64> = chains
                .iter()
                .enumerate()
                .filter(|(o, _)| *o != c)
                .map(|(_, ch)| ch.sd[p])
                .collect();
            if others.is_empty() {
                return None;
            }
            others.sort_by(f64::total_cmp);
            let reference = quantile_sorted(&others, 0.5);
            (reference > 0.0).then(|| chains[c].sd[p] / reference)
        })
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    Some(quantile_sorted(&ratios, 0.5))
}

/// Chains whose medians differ by more than this many within-chain standard deviations in
/// some parameter sit in different modes.
pub const MODE_SEPARATION: f64 = 1.0;

/// The chains grouped by mode: chains `a` and `b` share a group when, in every parameter,
/// their medians are within [`MODE_SEPARATION`] robust within-chain standard deviations
/// (1.4826 × the median absolute deviation, pooled over chains) of each other, and groups are
/// the connected sets. `draws[chain][draw][param]`. Each group's chains in increasing order;
/// groups by their first chain.
pub fn mode_groups(draws: &[Vec<Vec<f64>>]) -> Vec<Vec<usize>> {
    let n = draws.len();
    let width = draws.iter().find_map(|c| c.first()).map_or(0, Vec::len);
    let median_mad = |c: &[Vec<f64>], p: usize| -> (f64, f64) {
        let mut v: Vec<f64> = c.iter().map(|d| d[p]).collect();
        v.sort_by(f64::total_cmp);
        let med = quantile_sorted(&v, 0.5);
        let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
        dev.sort_by(f64::total_cmp);
        (med, 1.4826 * quantile_sorted(&dev, 0.5))
    };
    let stats: Vec<Vec<(f64, f64)>> = draws
        .iter()
        .map(|c| {
            (0..width)
                .map(|p| {
                    if c.is_empty() {
                        (f64::NAN, f64::NAN)
                    } else {
                        median_mad(c, p)
                    }
                })
                .collect()
        })
        .collect();
    let pooled: Vec<f64> = (0..width)
        .map(|p| (stats.iter().map(|s| s[p].1.powi(2)).sum::<f64>() / n as f64).sqrt())
        .collect();
    let near = |a: usize, b: usize| {
        (0..width).all(|p| {
            let d = (stats[a][p].0 - stats[b][p].0).abs();
            let separated = pooled[p] > 0.0 && d > MODE_SEPARATION * pooled[p];
            !separated
        })
    };
    // connected components, by their first chain
    let mut group = vec![usize::MAX; n];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for start in 0..n {
        if group[start] != usize::MAX {
            continue;
        }
        let g = groups.len();
        let mut members = vec![start];
        group[start] = g;
        let mut i = 0;
        while i < members.len() {
            let a = members[i];
            for b in 0..n {
                if group[b] == usize::MAX && near(a, b) {
                    group[b] = g;
                    members.push(b);
                }
            }
            i += 1;
        }
        members.sort_unstable();
        groups.push(members);
    }
    groups
}

/// One warning when the chains sit in different modes after relabelling ([`mode_groups`]):
/// each group's chains, mean log density and share of the chains, the parameter that tells
/// them apart most, and what to do. `mean_logp[chain]` is each chain's mean log density.
pub fn modes_warning(
    names: &[String],
    draws: &[Vec<Vec<f64>>],
    mean_logp: &[f64],
) -> Option<String> {
    let groups = mode_groups(draws);
    if groups.len() < 2 {
        return None;
    }
    let n = draws.len();
    let chain_median = |c: usize, p: usize| {
        let mut v: Vec<f64> = draws[c].iter().map(|d| d[p]).collect();
        v.sort_by(f64::total_cmp);
        quantile_sorted(&v, 0.5)
    };
    let group_median = |g: &[usize], p: usize| {
        let mut m: Vec<f64> = g.iter().map(|&c| chain_median(c, p)).collect();
        m.sort_by(f64::total_cmp);
        quantile_sorted(&m, 0.5)
    };
    // the parameter whose group medians spread most, against its spread in the draws
    let width = names.len().min(draws[0].first().map_or(0, Vec::len));
    let spread = |p: usize| {
        let all: Vec<f64> = draws.iter().flat_map(|c| c.iter().map(|d| d[p])).collect();
        crate::data::mean_sd(&all).1
    };
    let (p, _) = (0..width)
        .map(|p| {
            let m: Vec<f64> = groups.iter().map(|g| group_median(g, p)).collect();
            let lo = m.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = m.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s = spread(p);
            (p, if s > 0.0 { (hi - lo) / s } else { 0.0 })
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let described: Vec<String> = groups
        .iter()
        .map(|g| {
            let lp = g.iter().map(|&c| mean_logp[c]).sum::<f64>() / g.len() as f64;
            format!(
                "{} {} ({} of {n}; mean log density {lp:.2}, {} {:.4})",
                if g.len() == 1 { "chain" } else { "chains" },
                g.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                g.len(),
                names[p],
                group_median(g, p)
            )
        })
        .collect();
    Some(format!(
        "the chains sit in {} different modes after relabelling: {}. NUTS does not move between modes, so each mode's share of the draws is that of the chains started there, not its posterior probability, and relabelling cannot join them. Sample with the SMC engine (`engine` smc), which tempers from the prior and finds every mode in its share",
        groups.len(),
        described.join("; ")
    ))
}

/// The names (with a value) of up to six parameters, then how many more.
fn named(list: &[(&str, String)]) -> String {
    const SHOWN: usize = 6;
    let mut s = list
        .iter()
        .take(SHOWN)
        .map(|(n, v)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    if list.len() > SHOWN {
        s.push_str(&format!(" and {} more", list.len() - SHOWN));
    }
    s
}

/// The warnings of a NUTS run, one line per kind of trouble, each naming what it concerns and
/// saying what to try: chains that look stuck (mean acceptance below half the target, or draws
/// that barely move next to the other chains'), split R-hat above 1.01 and ESS below 100 per
/// chain (the parameters named worst first), divergences. Parameters constant in every draw
/// (the weight of a one-component model) have nothing to diagnose.
pub fn sampling_warnings(
    summary: &[(String, ParamSummary)],
    chains: &[ChainCheck],
    target_accept: f64,
    divergences: usize,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let n_chains = chains.len();
    // stuck chains
    let spread: Vec<Option<f64>> = (0..n_chains).map(|c| relative_spread(chains, c)).collect();
    let stuck: Vec<usize> = (0..n_chains)
        .filter(|&c| {
            chains[c].mean_accept < STUCK_ACCEPT_SHARE * target_accept
                || spread[c].is_some_and(|r| r < STUCK_SPREAD_SHARE)
        })
        .collect();
    if !stuck.is_empty() {
        let one = stuck.len() == 1;
        let list = |f: &dyn Fn(usize) -> String| {
            stuck.iter().map(|&c| f(c)).collect::<Vec<_>>().join(", ")
        };
        let others: Vec<f64> = (0..n_chains)
            .filter(|c| !stuck.contains(c))
            .map(|c| chains[c].mean_accept)
            .collect();
        let others = match (
            others.iter().copied().reduce(f64::min),
            others.iter().copied().reduce(f64::max),
        ) {
            (Some(lo), Some(hi)) if others.len() > 1 => {
                format!(" (the other chains {lo:.3}–{hi:.3})")
            }
            (Some(lo), _) => format!(" (the other chain {lo:.3})"),
            _ => String::new(),
        };
        let spreads = if stuck.iter().all(|&c| spread[c].is_some()) {
            format!(
                ", and {} draws spread {} as far as the other chains'",
                if one { "its" } else { "their" },
                list(&|c| format!("{:.2}×", spread[c].unwrap_or(f64::NAN)))
            )
        } else {
            String::new()
        };
        warnings.push(format!(
            "{} {} {} stuck: mean acceptance {} against a target of {target_accept:.2}{others}{spreads}; the summary includes {} draws. Try a longer `warmup` (the step size and mass matrix adapt there), a higher `target_accept` (e.g. 0.95), or another `seed`",
            if one { "chain" } else { "chains" },
            list(&|c| c.to_string()),
            if one { "looks" } else { "look" },
            list(&|c| format!("{:.3}", chains[c].mean_accept)),
            if one { "its" } else { "their" },
        ));
    }
    let varying: Vec<&(String, ParamSummary)> =
        summary.iter().filter(|(_, s)| s.sd > 0.0).collect();
    let total = varying.len();
    // R-hat, worst first (NaN, where a chain does not move at all, counts as worst)
    let mut rhat: Vec<&(String, ParamSummary)> = varying
        .iter()
        .copied()
        .filter(|(_, s)| s.r_hat > RHAT_MAX || s.r_hat.is_nan())
        .collect();
    rhat.sort_by(|a, b| b.1.r_hat.total_cmp(&a.1.r_hat));
    if !rhat.is_empty() {
        let list: Vec<(&str, String)> = rhat
            .iter()
            .map(|(n, s)| (n.as_str(), format!("{:.3}", s.r_hat)))
            .collect();
        warnings.push(format!(
            "split R-hat above {RHAT_MAX} for {} of {total} parameters: {}: the chains disagree. Look at the trace and rank plots for a chain stuck or in another mode; run longer (`warmup`, `draws`), or, for a posterior with several modes, sample with the SMC engine (`engine` smc)",
            rhat.len(),
            named(&list)
        ));
    }
    // ESS, lowest first
    let per_chain = |s: &ParamSummary| s.ess_bulk.min(s.ess_tail) / n_chains.max(1) as f64;
    let mut ess: Vec<&(String, ParamSummary)> = varying
        .iter()
        .copied()
        .filter(|(_, s)| per_chain(s) < ESS_PER_CHAIN_MIN || per_chain(s).is_nan())
        .collect();
    ess.sort_by(|a, b| per_chain(&a.1).total_cmp(&per_chain(&b.1)));
    if !ess.is_empty() {
        let list: Vec<(&str, String)> = ess
            .iter()
            .map(|(n, s)| (n.as_str(), format!("{:.0}", per_chain(s))))
            .collect();
        warnings.push(format!(
            "effective sample size (bulk or tail) below {ESS_PER_CHAIN_MIN:.0} per chain for {} of {total} parameters: {}: more `draws` (or a longer `warmup`) give more effective draws",
            ess.len(),
            named(&list)
        ));
    }
    if divergences > 0 {
        warnings.push(format!(
            "{divergences} divergent transitions after warmup: the sampler missed part of the posterior. Try a higher `target_accept` (e.g. 0.95: smaller steps)"
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};
    use rand_distr::StandardNormal;

    #[test]
    fn chains_in_two_modes_are_grouped_and_named() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // two parameters; chains 0 and 2 around (0, 1), chains 1 and 3 around (0, 4): the
        // second parameter tells them apart
        let chain = |centre: f64, rng: &mut ChaCha8Rng| -> Vec<Vec<f64>> {
            (0..500)
                .map(|_| {
                    vec![
                        rng.sample::<f64, _>(StandardNormal),
                        centre + rng.sample::<f64, _>(StandardNormal),
                    ]
                })
                .collect()
        };
        let draws: Vec<Vec<Vec<f64>>> = [1.0, 4.0, 1.0, 4.0]
            .iter()
            .map(|&c| chain(c, &mut rng))
            .collect();
        assert_eq!(mode_groups(&draws), vec![vec![0, 2], vec![1, 3]]);
        let names = vec!["a".to_string(), "b".to_string()];
        let w = modes_warning(&names, &draws, &[-10.0, -12.0, -10.5, -12.5]).unwrap();
        assert!(w.contains("2 different modes"), "{w}");
        assert!(
            w.contains("chains 0, 2 (2 of 4; mean log density -10.25, b 0.99"),
            "{w}"
        );
        assert!(
            w.contains("chains 1, 3 (2 of 4; mean log density -12.25, b 3.9"),
            "{w}"
        );
        assert!(w.contains("`engine` smc"), "{w}");
        // the same distribution in every chain: one group, no warning; and a shift of half a
        // standard deviation is not a mode
        let same: Vec<Vec<Vec<f64>>> = [1.0, 1.0, 1.5, 1.0]
            .iter()
            .map(|&c| chain(c, &mut rng))
            .collect();
        assert_eq!(mode_groups(&same), vec![vec![0, 1, 2, 3]]);
        assert!(modes_warning(&names, &same, &[0.0; 4]).is_none());
    }

    #[test]
    fn summaries_and_chain_checks_are_equivariant_in_the_draws_scale() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let chains: Vec<Vec<f64>> = (0..4)
            .map(|c| {
                (0..200)
                    .map(|i| {
                        2.0 + c as f64 * 0.1
                            + (i as f64 * 0.3).sin()
                            + rng.sample::<f64, _>(StandardNormal)
                    })
                    .collect()
            })
            .collect();
        let unit = summarize(&chains);
        for f in [1e-250, 1e250] {
            let scaled: Vec<Vec<f64>> = chains
                .iter()
                .map(|c| c.iter().map(|v| v * f).collect())
                .collect();
            let s = summarize(&scaled);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
            assert!(
                close(s.mean / f, unit.mean),
                "{f:e}: {} {}",
                s.mean,
                unit.mean
            );
            assert!(close(s.sd / f, unit.sd), "{f:e}: {} {}", s.sd, unit.sd);
            assert!(close(s.mcse_mean / f, unit.mcse_mean));
            assert!(close(s.q95 / f, unit.q95) && close(s.hdi_low / f, unit.hdi_low));
            assert!(
                close(s.r_hat, unit.r_hat),
                "{f:e}: R-hat {} {}",
                s.r_hat,
                unit.r_hat
            );
            assert!(close(s.ess_bulk, unit.ess_bulk) && close(s.ess_tail, unit.ess_tail));
            let draws: Vec<Vec<f64>> = scaled[0].iter().map(|v| vec![*v]).collect();
            let unit_draws: Vec<Vec<f64>> = chains[0].iter().map(|v| vec![*v]).collect();
            let (a, b) = (
                ChainCheck::of(&draws, 0.8).sd[0] / f,
                ChainCheck::of(&unit_draws, 0.8).sd[0],
            );
            assert!(close(a, b), "{f:e}: chain sd {a} {b}");
        }
    }

    fn ar1(rng: &mut ChaCha8Rng, n: usize, phi: f64) -> Vec<f64> {
        let mut x = rng.sample::<f64, _>(StandardNormal) / (1.0 - phi * phi).sqrt();
        (0..n)
            .map(|_| {
                x = phi * x + rng.sample::<f64, _>(StandardNormal);
                x
            })
            .collect()
    }

    fn ps(sd: f64, r_hat: f64, ess_bulk: f64, ess_tail: f64) -> ParamSummary {
        ParamSummary {
            mean: 0.0,
            sd,
            median: 0.0,
            q5: 0.0,
            q95: 0.0,
            hdi_low: 0.0,
            hdi_high: 0.0,
            ess_bulk,
            ess_tail,
            r_hat,
            mcse_mean: 0.0,
        }
    }

    fn healthy(chains: usize, width: usize) -> Vec<ChainCheck> {
        (0..chains)
            .map(|c| ChainCheck {
                mean_accept: 0.8 + 0.01 * c as f64,
                sd: vec![1.0 + 0.1 * c as f64; width],
            })
            .collect()
    }

    /// Issue 11: a warning per parameter and kind (up to 31 lines) became one line per kind,
    /// naming the parameters worst first and saying what to try.
    #[test]
    fn warnings_are_grouped_by_kind_worst_first() {
        // 31 parameters: 9 with R-hat above 1.01, 2 with few effective draws, 1 constant
        let mut summary: Vec<(String, ParamSummary)> = (0..31)
            .map(|i| (format!("locs[{i}]"), ps(1.0, 1.001, 2000.0, 1800.0)))
            .collect();
        for (i, r) in [
            (3, 1.02),
            (5, 1.5),
            (6, 1.011),
            (7, 1.2),
            (9, 1.05),
            (11, 1.3),
            (20, 1.1),
            (21, 1.04),
            (30, f64::NAN),
        ] {
            summary[i].1.r_hat = r;
        }
        summary[12].1.ess_tail = 120.0; // 30 per chain
        summary[14].1.ess_bulk = 396.0; // 99 per chain
        summary[15].1.ess_bulk = 400.0; // 100 per chain: enough
        summary[0] = ("weights[0]".into(), ps(0.0, f64::NAN, f64::NAN, f64::NAN));
        let w = sampling_warnings(&summary, &healthy(4, 31), 0.8, 0);
        assert_eq!(
            w,
            [
                "split R-hat above 1.01 for 9 of 30 parameters: locs[30] NaN, locs[5] 1.500, \
                 locs[11] 1.300, locs[7] 1.200, locs[20] 1.100, locs[9] 1.050 and 3 more: the \
                 chains disagree. Look at the trace and rank plots for a chain stuck or in another \
                 mode; run longer (`warmup`, `draws`), or, for a posterior with several modes, \
                 sample with the SMC engine (`engine` smc)",
                "effective sample size (bulk or tail) below 100 per chain for 2 of 30 parameters: \
                 locs[12] 30, locs[14] 99: more `draws` (or a longer `warmup`) give more effective \
                 draws",
            ]
        );
        let w = sampling_warnings(&summary[..2], &healthy(4, 2), 0.8, 3);
        assert_eq!(
            w,
            [
                "3 divergent transitions after warmup: the sampler missed part of the posterior. \
              Try a higher `target_accept` (e.g. 0.95: smaller steps)"
            ]
        );
        // a healthy run: nothing
        assert!(sampling_warnings(&summary[..3], &healthy(4, 3), 0.8, 0).is_empty());
    }

    /// Issue 11: one chain with mean acceptance 0.075 went unnamed.
    #[test]
    fn a_stuck_chain_is_named() {
        let summary: Vec<(String, ParamSummary)> = (0..3)
            .map(|i| (format!("locs[{i}]"), ps(1.0, 1.0, 2000.0, 2000.0)))
            .collect();
        let tail = "Try a longer `warmup` (the step size and mass matrix adapt there), a higher \
                    `target_accept` (e.g. 0.95), or another `seed`";
        // low acceptance, and draws that barely move
        let mut chains = healthy(4, 3);
        chains[2] = ChainCheck {
            mean_accept: 0.075,
            sd: vec![0.05, 0.1, 0.02],
        };
        // the others' sds 1.0, 1.1, 1.3: median 1.1; ratios 0.045, 0.091, 0.018 → 0.045
        assert!((relative_spread(&chains, 2).unwrap() - 0.05 / 1.1).abs() < 1e-12);
        assert_eq!(
            sampling_warnings(&summary, &chains, 0.8, 0),
            [format!(
                "chain 2 looks stuck: mean acceptance 0.075 against a target of 0.80 (the other \
                 chains 0.800–0.830), and its draws spread 0.05× as far as the other chains'; \
                 the summary includes its draws. {tail}"
            )]
        );
        // acceptance fine but the draws do not move; and one with low acceptance alone
        chains[2].mean_accept = 0.79;
        chains[0].mean_accept = 0.39;
        assert_eq!(
            sampling_warnings(&summary, &chains, 0.8, 0),
            [format!(
                "chains 0, 2 look stuck: mean acceptance 0.390, 0.790 against a target of 0.80 \
                 (the other chains 0.810–0.830), and their draws spread 0.91×, 0.05× as far as \
                 the other chains'; the summary includes their draws. {tail}"
            )]
        );
        // just above both thresholds: not stuck (half the target 0.9; a fifth of the spread)
        let mut chains = healthy(2, 3);
        chains[1] = ChainCheck {
            mean_accept: 0.451,
            sd: vec![0.201, 0.3, 0.25],
        };
        assert!(sampling_warnings(&summary, &chains, 0.9, 0).is_empty());
        chains[1].mean_accept = 0.449;
        assert!(sampling_warnings(&summary, &chains, 0.9, 0)[0].starts_with(
            "chain 1 looks stuck: mean acceptance 0.449 against a target of 0.90 (the other chain \
             0.800), and its draws spread 0.25× "
        ));
        chains[1].mean_accept = 0.8;
        chains[1].sd = vec![0.199, 0.15, 0.3];
        assert!(sampling_warnings(&summary, &chains, 0.9, 0)[0].starts_with("chain 1 looks stuck"));
        // one chain: acceptance alone
        let one = [ChainCheck {
            mean_accept: 0.2,
            sd: vec![1.0; 3],
        }];
        assert_eq!(relative_spread(&one, 0), None);
        assert_eq!(
            sampling_warnings(&summary, &one, 0.8, 0),
            [format!(
                "chain 0 looks stuck: mean acceptance 0.200 against a target of 0.80; the summary \
                 includes its draws. {tail}"
            )]
        );
    }

    #[test]
    fn a_chains_check_is_its_draws_sd() {
        let draws = vec![
            vec![1.0, 5.0],
            vec![3.0, 5.0],
            vec![2.0, 5.0],
            vec![2.0, 5.0],
        ];
        let c = ChainCheck::of(&draws, 0.7);
        assert_eq!(c.mean_accept, 0.7);
        assert_eq!(c.sd, [0.5f64.sqrt(), 0.0]);
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
