//! The MAP of data larger than memory. The file (CSV or .npy) is never loaded whole: a random
//! sample of it gives the starting mode (the usual search, its likelihood weighted by N/m),
//! then Adam runs on minibatches read from random places in the file, and a last streaming
//! pass computes the exact loss on all the data.

use anyhow::{anyhow, bail, Result};
use chacha20::ChaCha8Rng;
use rand::SeedableRng;

use bgmm::Transform;
use bgmm::{stochastic, FitOptions, StochasticOptions};
use bgmm::{Data, Model, Params};

use crate::data::{DataSource, DataSpec};
use crate::stream::{MinibatchDensity, Source};

/// Rows per chunk of the streaming pass.
const PASS_CHUNK: usize = 1 << 20;

/// Progress of a minibatch run: what is being done, how far, out of how much.
pub type Progress<'a> = &'a dyn Fn(&str, u64, u64);

/// `Σ_n log p(x_n | θ)` over the whole file, chunk by chunk (memory: one chunk).
pub fn streaming_loglik(
    src: &Source,
    model: &Model,
    p: &Params,
    progress: Progress<'_>,
) -> Result<f64> {
    loglik_pass(src, model, p, progress).map(|(loglik, _)| loglik)
}

/// The missing values of each column of the file, by one pass over it (the count fit.json
/// and the sample records give, for a run that otherwise reads only minibatches).
pub fn missing_per_column(src: &Source, progress: Progress<'_>) -> Result<Vec<usize>> {
    pass(src, "missing values, pass over the file", progress, |_| {})
}

/// [`streaming_loglik`] and the missing values of each column.
fn loglik_pass(
    src: &Source,
    model: &Model,
    p: &Params,
    progress: Progress<'_>,
) -> Result<(f64, Vec<usize>)> {
    let mut total = 0.0;
    let missing = pass(src, "exact loss, pass over the file", progress, |chunk| {
        total += bgmm::log_likelihood_at(model, chunk, p);
    })?;
    Ok((total, missing))
}

/// One pass over the file, chunk by chunk: `each` on every chunk; returns the missing
/// values of each column.
fn pass(
    src: &Source,
    what: &str,
    progress: Progress<'_>,
    mut each: impl FnMut(&Data),
) -> Result<Vec<usize>> {
    let mut done = 0;
    let mut missing = vec![0; src.d()];
    src.for_each_chunk(PASS_CHUNK, |chunk| {
        each(&chunk);
        for (m, c) in missing.iter_mut().zip(chunk.missing_per_column()) {
            *m += c;
        }
        done += chunk.n();
        progress(what, done as u64, src.n as u64);
        Ok(())
    })?;
    Ok(missing)
}

/// The start of a minibatch run: the file, the model, and the MAP of a random sample of the
/// file (at least 20 000 rows and 200 per component, all if fewer), its likelihood weighted
/// by N/m.
pub struct Start {
    pub src: Source,
    pub model: Model,
    /// What the model is (a model file, or the default model of `-k`), for messages.
    pub origin: String,
    pub sample_n: usize,
    pub fit: bgmm::Fit,
}

/// Open `data` for minibatches of `b` rows and find the starting mode; `model` makes the
/// model (and its description) from a first random sample of the file.
pub fn start(
    data: &DataSpec,
    b: usize,
    seed: u64,
    opts: &FitOptions,
    model: &dyn Fn(&Data) -> Result<(Model, String)>,
) -> Result<Start> {
    if b == 0 {
        bail!("minibatch `batch` must be at least 1");
    }
    let spec = &data.text;
    let path = match &data.source {
        DataSource::Builtin(_) | DataSource::Grid(_) => {
            bail!("minibatch fitting reads a data file (CSV or .npy), not '{spec}'")
        }
        DataSource::Parquet(_) => bail!(
            "minibatch fitting reads CSV or .npy files; '{spec}' is Parquet (fit it whole, or convert it)"
        ),
        DataSource::Npy(p) | DataSource::Csv(p) => p,
    };
    // without --columns, a CSV file's numeric columns (text columns left out, as for a
    // whole-file fit)
    let numeric = match (&data.columns, &data.source) {
        (None, DataSource::Csv(_)) => Some(Source::numeric_columns(path)?),
        _ => None,
    };
    let src = Source::open(path, data.columns.as_deref().or(numeric.as_deref()))?;
    let n = src.n;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m0 = 20_000usize.max(b).min(n);
    let first = src.minibatch(m0, &mut rng)?;
    let (model, origin) = model(&first)?;
    let m = m0.max(200 * model.k).min(n);
    let sample = if m > first.n() {
        src.minibatch(m, &mut rng)?
    } else {
        first
    };
    // the sample stands for all n rows
    let weighted = FitOptions {
        weight: Some(n as f64 / sample.n() as f64),
        ..opts.clone()
    };
    let fit = bgmm::fit(&model, &sample, &weighted).map_err(|e| match e {
        bgmm::Error::Data(m) => anyhow!("data '{spec}' and {origin}: {m}"),
        // kept typed, so that an application can name the option its own way
        other => anyhow::Error::new(other),
    })?;
    Ok(Start {
        src,
        model,
        origin,
        sample_n: sample.n(),
        fit,
    })
}

/// The minibatch steps after the start.
#[derive(Debug, Clone, PartialEq)]
pub struct MinibatchOptions {
    /// Rows per minibatch.
    pub batch: usize,
    /// Adam steps on minibatches.
    pub steps: usize,
    /// Initial learning rate (decays to 1 % of it).
    pub lr: f64,
    /// Seed of the minibatches' places in the file.
    pub seed: u64,
}

impl MinibatchOptions {
    /// The steps' options checked (before the start's search, which takes a while).
    pub fn check(&self) -> Result<()> {
        if self.steps == 0 {
            bail!("minibatch `steps` must be at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!(
                "minibatch `lr` must be positive and finite, got {}",
                self.lr
            );
        }
        Ok(())
    }
}

/// The end of a minibatch run.
pub struct MinibatchFit {
    pub params: Params,
    /// The minibatch losses, step by step.
    pub losses: Vec<f64>,
    /// −log p(x, θ) on all the data (the prior from a small piece, the likelihood by a
    /// streaming pass).
    pub loss: f64,
    /// `Σ_n log p(x_n | θ)` on all the data, by the streaming pass.
    pub loglik: f64,
    /// The missing values of each column, counted by the streaming pass.
    pub missing: Vec<usize>,
}

/// Adam on minibatches from `st`'s mode, the last half of the iterates averaged, then the
/// exact loss on all the rows.
pub fn fit_minibatch(
    st: &Start,
    o: &MinibatchOptions,
    progress: Progress<'_>,
) -> Result<MinibatchFit> {
    o.check()?;
    let (model, src) = (&st.model, &st.src);
    let t = Transform::new(model);
    let dens = MinibatchDensity::new(model, src, o.batch, false, o.seed ^ 0x5eed);
    let sopts = StochasticOptions {
        steps: o.steps,
        lr: o.lr,
        ..StochasticOptions::default()
    };
    let what = format!("Adam on minibatches of {}", o.batch);
    let run = stochastic(&dens, &t.pack(&st.fit.params), &sopts, &|s| {
        if s % 50 == 0 {
            progress(&what, s as u64, o.steps as u64);
        }
    });
    if let Some(e) = dens.error.lock().ok().and_then(|e| e.clone()) {
        bail!("{e}");
    }
    let (x, losses) = run.map_err(anyhow::Error::new)?;
    let params = t.params(&x);
    // the exact loss on all the data: prior from a small piece, likelihood by a streaming pass
    let piece: Data = src.rows(0, 1.min(src.n))?;
    let prior =
        bgmm::log_joint(model, &piece, &params) - bgmm::log_likelihood_at(model, &piece, &params);
    let (loglik, missing) = loglik_pass(src, model, &params, progress)?;
    let loss = -(prior + loglik);
    Ok(MinibatchFit {
        params,
        losses,
        loss,
        loglik,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--minibatch` takes missing values as they are: the Adam steps read incomplete rows
    /// (the kernel takes each one's observed values), and the last pass's exact log likelihood
    /// is the whole file's, missing values and all, with their count per column.
    #[test]
    fn minibatches_take_missing_values() {
        // two clusters in 2-D; y missing in every 7th row, x in every 11th
        let (mut text, mut cols) = (String::from("x,y\n"), vec![Vec::new(), Vec::new()]);
        for i in 0..2000usize {
            let c = if i % 2 == 0 { 0.0 } else { 5.0 };
            let x = c + ((i * 37) % 100) as f64 / 100.0 - 0.5;
            let y = c + ((i * 53) % 100) as f64 / 100.0 - 0.5;
            let x = if i % 11 == 0 { f64::NAN } else { x };
            let y = if i % 7 == 0 { f64::NAN } else { y };
            let cell = |v: f64| {
                if v.is_nan() {
                    "NA".to_string()
                } else {
                    format!("{v:?}")
                }
            };
            text += &format!("{},{}\n", cell(x), cell(y));
            cols[0].push(x);
            cols[1].push(y);
        }
        let tmp = tempfile::TempDir::new().unwrap();
        let p = tmp.path().join("m.csv");
        std::fs::write(&p, text).unwrap();
        let all = Data::with_missing(cols).unwrap();
        let complete = all.complete_rows().unwrap();
        let model = bgmm::ModelSpec::quick(2, bgmm::CovarianceFamily::Component, &complete)
            .build(Some(2))
            .unwrap();
        let opts = FitOptions {
            restarts: 4,
            candidates: 2,
            ..FitOptions::default()
        };
        let st = Start {
            src: Source::open(&p, None).unwrap(),
            fit: bgmm::fit(&model, &complete, &opts).unwrap(),
            model,
            origin: "a test".into(),
            sample_n: complete.n(),
        };
        let o = MinibatchOptions {
            batch: 300,
            steps: 40,
            lr: 0.01,
            seed: 1,
        };
        let end = fit_minibatch(&st, &o, &|_, _, _| {}).unwrap();
        // ⌈2000/11⌉ = 182 rows without x, ⌈2000/7⌉ = 286 without y
        assert_eq!(end.missing, [182, 286]);
        assert!(end.losses.iter().all(|l| l.is_finite()), "{:?}", end.losses);
        let want = bgmm::log_likelihood_at(&st.model, &all, &end.params);
        assert!(
            (end.loglik - want).abs() < 1e-9 * want.abs(),
            "{} against {want}",
            end.loglik
        );
        // the incomplete rows count: the complete ones alone have another likelihood
        let without = bgmm::log_likelihood_at(&st.model, &complete, &end.params);
        assert!(end.loglik < without - 100.0, "{} {without}", end.loglik);
    }
}
