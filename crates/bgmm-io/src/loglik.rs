//! The pointwise log likelihood of a sampling run: `log-lik.npy` (chain × draw × point, f8, C
//! order; ArviZ's `log_likelihood` group) written next to the draws, and read back (or
//! computed again from the draws and the data) for PSIS-LOO and WAIC.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{anyhow, bail, Result};

use crate::records::SampleRecord;
use crate::rundir::LOG_LIK_FILE;
use crate::runs::{load_run, read_again};
use crate::stream::{npy_header_any, npy_header_of_shape};

/// The most values (chains × draws × points) `sample --out` writes to [`LOG_LIK_FILE`]
/// (200 MB); beyond it the file is left out and [`run_log_lik`] computes the values again
/// from the draws and the data.
pub const LOG_LIK_MAX_VALUES: usize = 25_000_000;

/// `log_lik[chain][draw][point]` as a `.npy` file of shape (chains, draws, points); `None`
/// when the chains do not all have the same number of draws or the points differ between
/// draws (no rectangular array).
pub fn log_lik_npy(log_lik: &[Vec<Vec<f64>>]) -> Option<Vec<u8>> {
    let draws = log_lik.first()?.len();
    let n = log_lik.first()?.first()?.len();
    if log_lik
        .iter()
        .any(|c| c.len() != draws || c.iter().any(|d| d.len() != n))
    {
        return None;
    }
    let mut out = npy_header_of_shape(&[log_lik.len(), draws, n]);
    out.reserve(log_lik.len() * draws * n * 8);
    for v in log_lik.iter().flatten().flatten() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Some(out)
}

/// Read a [`LOG_LIK_FILE`]: little-endian f8, C order, three dimensions.
pub fn read_log_lik(path: &Path) -> Result<Vec<Vec<Vec<f64>>>> {
    let s = path.display();
    let mut f = File::open(path).map_err(|e| anyhow!("cannot read '{s}': {e}"))?;
    let (offset, f4, fortran, shape) = npy_header_any(path, &mut f)?;
    if f4 || fortran || shape.len() != 3 {
        bail!("'{s}': not a pointwise log likelihood (chain × draw × point, float64, C order)");
    }
    let (c, d, n) = (shape[0], shape[1], shape[2]);
    let count = c
        .checked_mul(d)
        .and_then(|v| v.checked_mul(n))
        .ok_or_else(|| anyhow!("'{s}': implausible shape ({c}, {d}, {n})"))?;
    let len = f
        .metadata()
        .map_err(|e| anyhow!("cannot read '{s}': {e}"))?
        .len();
    if len != offset + 8 * count as u64 {
        bail!(
            "'{s}': {len} bytes where the shape ({c}, {d}, {n}) needs {}",
            offset + 8 * count as u64
        );
    }
    let mut bytes = Vec::with_capacity(8 * count);
    f.read_to_end(&mut bytes)
        .map_err(|e| anyhow!("cannot read '{s}': {e}"))?;
    let mut values = bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")));
    Ok((0..c)
        .map(|_| (0..d).map(|_| values.by_ref().take(n).collect()).collect())
        .collect())
}

/// A sampling run's record, its constrained draws `[chain][draw][value]` and its pointwise
/// log likelihood `[chain][draw][point]`: from [`LOG_LIK_FILE`] when the run has it, computed
/// again from the draws and the data otherwise.
pub fn run_log_lik(dir: &Path) -> Result<(SampleRecord, SampleDraws)> {
    let (record, run) = load_run(dir)?;
    let draws: Vec<Vec<Vec<f64>>> = run
        .chains
        .iter()
        .map(|c| c.iter().map(bgmm::Params::flat).collect())
        .collect();
    let file = dir.join(LOG_LIK_FILE);
    let log_lik = if file.is_file() {
        let ll = read_log_lik(&file)?;
        let shape_ok = ll.len() == draws.len()
            && ll
                .iter()
                .zip(&draws)
                .all(|(l, d)| l.len() == d.len() && l.iter().all(|p| p.len() == run.n));
        if !shape_ok {
            bail!(
                "'{}' does not match the run's draws ({} chains of {} draws, {} points)",
                file.display(),
                draws.len(),
                draws.first().map_or(0, Vec::len),
                run.n
            );
        }
        ll
    } else {
        let columns = &record.data.columns;
        let (data, _) = read_again(
            &record.data.source,
            (!columns.is_empty()).then_some(&columns[..]),
            record.data.drop_missing,
        )
        .map_err(|e| {
            anyhow!(
                "run '{}' has no {LOG_LIK_FILE} and its data cannot be read again: {e}",
                dir.display()
            )
        })?;
        if data.n() != run.n {
            bail!(
                "run '{}' has no {LOG_LIK_FILE}, and its data '{}' now has {} rows where the run had {}",
                dir.display(),
                record.data.source,
                data.n(),
                run.n
            );
        }
        bgmm::log_likelihood_draws(&run.model, &data, &draws)
            .map_err(|e| anyhow!("run '{}': {e}", dir.display()))?
    };
    Ok((record, SampleDraws { draws, log_lik }))
}

/// A sampling run's draws and pointwise log likelihood ([`run_log_lik`]).
pub struct SampleDraws {
    /// Constrained draws, `[chain][draw][value]` (relabelled).
    pub draws: Vec<Vec<Vec<f64>>>,
    /// `log p(x_n | θ_s)`, `[chain][draw][point]`.
    pub log_lik: Vec<Vec<Vec<f64>>>,
}

/// The stream of the assignments drawn for K₊ (apart from the sampler's).
const OCCUPIED_STREAM: u64 = 0x06b2_b0cc_u64;

/// What the draws say point by point, with the data in memory: K₊ into the record (K ≥ 2),
/// and when the run is written (`write`) the pointwise log likelihood as `.npy` bytes, or why it is left out.
pub fn pointwise_outputs(
    post: &bgmm::Posterior,
    model: &bgmm::Model,
    data: &bgmm::Data,
    seed: u64,
    write: bool,
    record: &mut SampleRecord,
) -> Result<(Option<Vec<u8>>, Option<String>)> {
    let draws: usize = post.raw_draws.iter().map(Vec::len).sum();
    if draws == 0 {
        return Ok((None, None));
    }
    if model.k >= 2 {
        let occ = bgmm::occupied_components(model, data, &post.raw_draws, seed ^ OCCUPIED_STREAM)
            .map_err(|e| anyhow!("{e}"))?;
        record.occupied = Some(occ);
    }
    if !write {
        return Ok((None, None));
    }
    let values = draws.saturating_mul(data.n());
    if values > LOG_LIK_MAX_VALUES {
        return Ok((
            None,
            Some(format!(
                "{} not written: {draws} draws × {} points = {values} values, more than {}; `bgmm loo` computes them again from the draws and the data",
                LOG_LIK_FILE,
                data.n(),
                LOG_LIK_MAX_VALUES
            )),
        ));
    }
    let ll =
        bgmm::log_likelihood_draws(model, data, &post.raw_draws).map_err(|e| anyhow!("{e}"))?;
    let bytes = log_lik_npy(&ll);
    if bytes.is_some() {
        record.log_lik = Some(LOG_LIK_FILE.into());
    }
    Ok((bytes, None))
}

/// `Non-empty components K₊ …: P(K₊ = 2) 0.93, P(K₊ = 3) 0.07` (the values that occur).
pub fn occupied_text(occ: &bgmm::OccupiedComponents) -> String {
    let shares: Vec<String> = occ
        .probs
        .iter()
        .enumerate()
        .filter(|(_, p)| **p > 0.0)
        .map(|(k, p)| format!("P(K₊ = {k}) {p:.3}"))
        .collect();
    let thinned = if occ.thin > 1 {
        format!(", every {}th draw", occ.thin)
    } else {
        String::new()
    };
    format!(
        "Non-empty components K₊ (an assignment of every point drawn at each of {} draws{thinned}): {}",
        occ.draws,
        shares.join(", ")
    )
}

/// One sampling run's PSIS-LOO and WAIC (`bgmm loo`).
pub struct RunElpd {
    /// Its name in tables.
    pub name: String,
    pub loo: bgmm::Loo,
    pub waic: bgmm::Waic,
    /// The data it was sampled on.
    pub source: String,
}

/// PSIS-LOO (the relative efficiency of the draws, as ArviZ's default) and WAIC of the run in
/// `dir`.
pub fn run_elpd(dir: &Path, name: String) -> Result<RunElpd> {
    let (record, s) = run_log_lik(dir)?;
    let in_run = |e: bgmm::Error| anyhow!("run '{}': {e}", dir.display());
    let reff = if s.draws.len() > 1 {
        bgmm::relative_efficiency(&s.draws).map_err(in_run)?
    } else {
        1.0
    };
    Ok(RunElpd {
        name,
        loo: bgmm::psis_loo(&s.log_lik, reff).map_err(in_run)?,
        waic: bgmm::waic(&s.log_lik).map_err(in_run)?,
        source: record.data.source,
    })
}

/// Runs of different numbers of points are an error; what else to warn of: runs of other
/// data, points with a large Pareto k, and (when `waic` ranks) WAIC's own warning.
pub fn elpd_warnings(runs: &[RunElpd], waic: bool) -> Result<Vec<String>> {
    let Some(first) = runs.first() else {
        return Ok(Vec::new());
    };
    if let Some(r) = runs.iter().find(|r| r.loo.n_points != first.loo.n_points) {
        bail!(
            "runs '{}' ({} points) and '{}' ({} points) are not of the same data: LOO compares models of the same points",
            first.name,
            first.loo.n_points,
            r.name,
            r.loo.n_points
        );
    }
    let mut notes = Vec::new();
    if let Some(r) = runs.iter().find(|r| r.source != first.source) {
        notes.push(format!(
            "runs '{}' and '{}' name different data ('{}', '{}'): compare models of the same points",
            first.name, r.name, first.source, r.source
        ));
    }
    for r in runs {
        let bad = r.loo.bad_points();
        if !bad.is_empty() {
            let shown: Vec<String> = bad.iter().take(8).map(|i| (i + 1).to_string()).collect();
            let s = if bad.len() == 1 { "" } else { "s" };
            notes.push(format!(
                "run '{}': {} point{s} with a Pareto k above {:.2} (point{s} {}{}): their leave-one-out estimate is unreliable; more draws can help, or K-fold cross-validation",
                r.name,
                bad.len(),
                r.loo.good_k,
                shown.join(", "),
                if bad.len() > 8 { ", …" } else { "" }
            ));
        }
        if r.waic.warning && waic {
            notes.push(format!(
                "run '{}': the posterior variance of the log likelihood exceeds 0.4 at some points: WAIC may be unreliable there; PSIS-LOO is the more robust (--ic loo)",
                r.name
            ));
        }
    }
    Ok(notes)
}

/// ArviZ's printout of `loo` and WAIC's line.
pub fn loo_text(r: &RunElpd) -> String {
    let (l, w) = (&r.loo, &r.waic);
    let k = &l.pareto_k;
    let count = |lo: f64, hi: f64| k.iter().filter(|v| **v > lo && **v <= hi).count();
    let good = count(f64::NEG_INFINITY, l.good_k);
    let bad = count(l.good_k, 1.0);
    let very_bad = k.len() - good - bad;
    format!(
        "PSIS-LOO of '{}': {} draws, {} points, relative efficiency {:.3}\n\
         {:<10}{:>10}{:>10}\n\
         {:<10}{:>10.2}{:>10.2}\n\
         {:<10}{:>10.2}{:>10}\n\
         {:<10}{:>10.2}{:>10.2}\n\
         Pareto k: {good} good (≤ {:.2}), {bad} bad ({:.2}, 1], {very_bad} very bad (> 1)\n\
         WAIC: elpd_waic {:.2} (SE {:.2}), p_waic {:.2}\n\n",
        r.name,
        l.n_draws,
        l.n_points,
        l.reff,
        "",
        "Estimate",
        "SE",
        "elpd_loo",
        l.elpd,
        l.se,
        "p_loo",
        l.p,
        "-",
        "looic",
        l.looic(),
        2.0 * l.se,
        l.good_k,
        l.good_k,
        w.elpd,
        w.se,
        w.p
    )
}

/// Write a sampling run (`sample` or `vi --out`): the relabelled and raw chains as CmdStan CSV,
/// the pointwise log likelihood when given, and `summary.json` (`summary`, the record's bytes).
pub fn write_sample_run(
    dir: &Path,
    post: &bgmm::Posterior,
    record: &SampleRecord,
    summary: &[u8],
    log_lik: Option<&[u8]>,
    title: &str,
) -> Result<()> {
    let mut run = crate::RunWriter::create(dir, crate::RunKind::Sample)?;
    let mut header = format!(
        "bgmm {}: {title}\ncommand: {}\ndraws relabelled to the MAP's labelling: {}",
        crate::VERSION,
        record.command,
        post.relabelled
    );
    if let Some((kept, asked)) = post.interrupted {
        header.push_str(&format!(
            "\nINCOMPLETE: sampling was stopped early; {kept} of {asked} draws kept"
        ));
    }
    for c in 0..post.draws.len() {
        let csv = crate::cmdstan_csv(post, c, &post.draws[c], &header);
        run.write(&format!("chain-{c}.csv"), csv.as_bytes())?;
        let raw = crate::cmdstan_csv(post, c, &post.raw_draws[c], &header);
        run.write(&format!("raw-chain-{c}.csv"), raw.as_bytes())?;
    }
    if let Some(ll) = log_lik {
        run.write(LOG_LIK_FILE, ll)?;
    }
    run.write("summary.json", summary)?;
    run.commit()
}

/// A posterior's text: the title, the summary table, the sampler's statistics, label
/// switching and K₊.
pub fn posterior_text(
    post: &bgmm::Posterior,
    model: &bgmm::Model,
    record: &SampleRecord,
    title: &str,
    wall_s: f64,
) -> String {
    let mut s = format!("{title}, {wall_s:.2} s\n");
    s.push_str(&crate::summary_table(&post.summary));
    if let Some(legend) = crate::dimension_legend(model, &record.data.columns) {
        s.push_str(&format!("{legend}\n"));
    }
    if post.chain_stats.iter().any(|c| c.mean_leapfrog > 0.0) {
        let per_chain = |f: &dyn Fn(&bgmm::ChainStats) -> String| {
            post.chain_stats
                .iter()
                .map(f)
                .collect::<Vec<_>>()
                .join(", ")
        };
        s.push_str(&format!(
            "Number of divergences: {}. Step size per chain: {}. Mean acceptance: {}. Mean tree depth: {}.\n",
            post.divergences,
            per_chain(&|c| format!("{:.3}", c.step_size)),
            per_chain(&|c| format!("{:.3}", c.mean_accept)),
            per_chain(&|c| format!("{:.2}", c.mean_tree_depth)),
        ));
    }
    if post.relabelled {
        s.push_str(&format!(
            "Label switching: {:.1} % of the draws were relabelled to the MAP's component order (raw draws in raw-chain-*.csv with --out).\n",
            100.0 * post.relabelled_share
        ));
    }
    if let Some(occ) = &record.occupied {
        s.push_str(&format!("{}\n", occupied_text(occ)));
    }
    if let Some(ev) = &post.evidence {
        s.push_str(&format!("{}\n", evidence_text(ev)));
    }
    s
}

/// One line on the evidence: the estimate, its Monte Carlo error, and the tempering steps.
pub fn evidence_text(ev: &bgmm::Evidence) -> String {
    let steps: Vec<usize> = ev.runs.iter().map(|r| r.steps.len()).collect();
    let (lo, hi) = (
        steps.iter().min().copied().unwrap_or(0),
        steps.iter().max().copied().unwrap_or(0),
    );
    let error = if ev.std_error.is_finite() {
        format!(
            " ± {:.3} (Monte Carlo standard error over {} runs)",
            ev.std_error,
            ev.runs.len()
        )
    } else {
        " (one run: no Monte Carlo error; use --chains 2 or more)".into()
    };
    let temps = if lo == hi {
        format!("{lo}")
    } else {
        format!("{lo}–{hi}")
    };
    format!(
        "Log evidence log p(x) = {:.3}{error}; {temps} temperatures per run.",
        ev.log_evidence
    )
}
