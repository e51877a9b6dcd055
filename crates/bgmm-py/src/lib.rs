//! bgmm's Python bindings: the native module `bgmm._bgmm`. The Python package (`python/bgmm`)
//! holds the Python-facing API (the scikit-learn estimator, ArviZ output, pandas tables); this
//! crate only moves arrays and results across. Arrays come in as numpy float64 (NaN: missing),
//! structured results go out as the JSON text of the core's serde types and bulk numbers as
//! numpy arrays. Every computation runs with the GIL released, on a worker thread, while the
//! calling thread watches for Ctrl-C: a sampling run stops as the CLI's does.
//!
//! The core crates know nothing of Python (polars' and nutpie's layout).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use numpy::ndarray::{Array1, Array2, Array3, ArrayD, IxDyn};
use numpy::{IntoPyArray, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use bgmm::{
    CovarianceFamily, Criterion, Data, DataView, FitOptions, InitFrom, Model, ModelSpec,
    NutsOptions, Params, Posterior, Resolution, SampleOptions, SelectOptions, StopSignal,
    Temperature, ViOptions,
};
use rayon::prelude::*;

mod distributed;
mod errors;
use errors::{py_err, value_err};

/// The data of a 2-D float64 array (rows: points; NaN: missing), copied into bgmm's
/// column layout (one copy; a Fortran-ordered array copies column by column).
fn data_of(x: &PyReadonlyArray2<'_, f64>) -> PyResult<Data> {
    let a = x.as_array();
    let cols = (0..a.ncols()).map(|j| a.column(j).to_vec()).collect();
    Data::with_missing(cols).map_err(py_err)
}

/// A model description (the JSON of a [`ModelSpec`], as the estimator keeps it).
fn spec_of(json: &str) -> PyResult<ModelSpec> {
    serde_json::from_str(json).map_err(|e| value_err(format!("model: {e}")))
}

/// The model `json` describes, for data of `d` columns (`None`: any).
fn model_of(json: &str, d: Option<usize>) -> PyResult<Model> {
    spec_of(json)?.build(d).map_err(|e| match e {
        e @ bgmm::Error::DimensionMismatch { .. } => value_err(e.to_string()),
        e => value_err(format!("model: {e}")),
    })
}

fn params_of(model: &Model, json: &str) -> PyResult<Params> {
    let p: Params =
        serde_json::from_str(json).map_err(|e| value_err(format!("parameters: {e}")))?;
    p.check(model).map_err(py_err)?;
    Ok(p)
}

fn json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| PyRuntimeError::new_err(format!("bgmm: {e}")))
}

/// The model of a fit: a model file, a model description (JSON of the TOML's content), or the
/// default model of `k` components of `covariance` (the CLI's `-k K --covariance F`).
fn resolve_model(
    data: &Data,
    k: i64,
    covariance: &str,
    model_json: Option<&str>,
    model_path: Option<&str>,
) -> PyResult<Model> {
    model_for(
        data.d(),
        "X",
        k,
        covariance,
        model_json,
        model_path,
        |k, family| bgmm_io::default_model_spec(k, family, data, "X"),
    )
}

/// The model a fit of `d` columns (`shown` in messages: "X", "data") fits: a model file, a
/// description, or `default` for `k` components of `covariance`.
pub(crate) fn model_for(
    d: usize,
    shown: &str,
    k: i64,
    covariance: &str,
    model_json: Option<&str>,
    model_path: Option<&str>,
    default: impl FnOnce(i64, bgmm::CovarianceFamily) -> anyhow::Result<bgmm::ModelSpec>,
) -> PyResult<Model> {
    if let Some(path) = model_path {
        let spec = bgmm_io::load_model_spec(std::path::Path::new(path))
            .map_err(|e| value_err(e.to_string()))?;
        return spec.build(Some(d)).map_err(|e| match e {
            e @ bgmm::Error::DimensionMismatch { .. } => {
                value_err(format!("model file '{path}' and {shown}: {e}"))
            }
            e => value_err(format!("model file '{path}': {e}")),
        });
    }
    if let Some(j) = model_json {
        return model_of(j, Some(d));
    }
    if k < 1 {
        return Err(value_err(format!(
            "n_components must be at least 1, got {k}"
        )));
    }
    let family = family_of(covariance)?;
    let spec = default(k, family).map_err(|e| value_err(e.to_string()))?;
    spec.build(Some(d))
        .map_err(|e| value_err(format!("model: {e}")))
}

/// Run `job` on a worker thread with the GIL released; the calling thread checks for signals
/// (Ctrl-C) every 20 ms. On KeyboardInterrupt `stop` is raised (a sampling run keeps what it
/// has and ends), the job is waited for, and the interrupt is raised in Python.
fn detached<T: Send>(
    py: Python<'_>,
    stop: Option<&StopSignal>,
    job: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    match interruptible(py, stop, &mut || Ok(()), job)? {
        (_, Some(e)) => Err(e),
        (out, None) => Ok(out),
    }
}

/// [`detached`], with the job's result kept when it was interrupted (what a stopped sampling
/// run kept), beside the interrupt. The calling thread sleeps on a condition variable that the
/// job's end signals (no polling delay on a short job), waking every 20 ms for signals and to
/// call `tick` (with the GIL: a progress display), once more at the end.
fn interruptible<T: Send>(
    py: Python<'_>,
    stop: Option<&StopSignal>,
    tick: &mut dyn FnMut() -> PyResult<()>,
    job: impl FnOnce() -> T + Send,
) -> PyResult<(T, Option<PyErr>)> {
    /// Marks the job done when dropped: at its end, or when it panics.
    struct Done<'a>(&'a (Mutex<bool>, Condvar));
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            let (lock, cv) = self.0;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
            cv.notify_all();
        }
    }
    let done = (Mutex::new(false), Condvar::new());
    std::thread::scope(|s| {
        let signal = &done;
        let handle = s.spawn(move || {
            let _done = Done(signal);
            job()
        });
        let mut interrupt: Option<PyErr> = None;
        loop {
            let finished = py.detach(|| {
                let (lock, cv) = &done;
                let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                let (guard, _) = cv
                    .wait_timeout_while(guard, Duration::from_millis(20), |d| !*d)
                    .unwrap_or_else(|e| e.into_inner());
                *guard
            });
            if finished {
                break;
            }
            if interrupt.is_none() {
                if let Err(e) = py.check_signals().and_then(|_| tick()) {
                    if let Some(stop) = stop {
                        stop.raise();
                    }
                    interrupt = Some(e);
                }
            }
        }
        let out = handle
            .join()
            .map_err(|_| PyRuntimeError::new_err("bgmm: a worker thread panicked"))?;
        if interrupt.is_none() {
            tick()?;
        }
        Ok((out, interrupt))
    })
}

/// The MAP search's options as the estimator passes them (a dict of the CLI's `fit` flags;
/// `resolution_values` with `resolution` "given").
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Search {
    restarts: usize,
    candidates: usize,
    init: String,
    steps: usize,
    lr: f64,
    betas: (f64, f64),
    polish: bool,
    grad_tol: f64,
    seed: u64,
    subsample: usize,
    resolution: String,
    resolution_values: Vec<f64>,
}

impl Search {
    /// The checked [`FitOptions`].
    fn options(self) -> PyResult<FitOptions> {
        let init = bgmm::Init::parse(&self.init).ok_or_else(|| {
            value_err(format!(
                "init: '{}' is not one of auto, pyro, kmeans++",
                self.init
            ))
        })?;
        let resolution = match self.resolution.as_str() {
            "auto" => Resolution::Auto,
            "off" => Resolution::Off,
            _ => Resolution::Given(self.resolution_values),
        };
        let opts = FitOptions {
            restarts: self.restarts,
            init,
            candidates: self.candidates,
            steps: self.steps,
            lr: self.lr,
            betas: self.betas,
            polish: self.polish,
            grad_tol: self.grad_tol,
            seed: self.seed,
            subsample: self.subsample,
            resolution,
            ..FitOptions::default()
        };
        opts.validate().map_err(py_err)?;
        Ok(opts)
    }
}

/// A covariance family by name (bgmm's names and aliases).
fn family_of(name: &str) -> PyResult<CovarianceFamily> {
    CovarianceFamily::parse(name).ok_or_else(|| {
        value_err(format!(
            "covariance: '{name}' is not one of {} (or scikit-learn's diag)",
            CovarianceFamily::NAMES
        ))
    })
}

/// The MAP (`bgmm fit`): the fit's JSON (a [`bgmm::Fit`]), the model's (a [`ModelSpec`]) and
/// the log likelihood at the MAP (as the CLI's record has it).
#[pyfunction]
fn fit(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    k: i64,
    covariance: &str,
    model_json: Option<&str>,
    model_path: Option<&str>,
    search: Search,
) -> PyResult<(String, String, f64)> {
    let data = data_of(&x)?;
    let model = resolve_model(&data, k, covariance, model_json, model_path)?;
    let opts = search.options()?;
    let (f, loglik) = detached(py, None, || {
        bgmm::fit(&model, &data, &opts).map(|f| {
            let loglik = bgmm::log_likelihood_at(&model, &data, &f.params);
            (f, loglik)
        })
    })?
    .map_err(py_err)?;
    Ok((json(&f)?, json(model.spec())?, loglik))
}

/// The model a fit of `x` would fit (see [`fit`]), without fitting: its JSON and its family's
/// name (for a posterior sampled without a MAP of the user's: `bgmm sample DATA -k K`).
#[pyfunction]
fn model_spec(
    x: PyReadonlyArray2<'_, f64>,
    k: i64,
    covariance: &str,
    model_json: Option<&str>,
    model_path: Option<&str>,
) -> PyResult<(String, String)> {
    let data = data_of(&x)?;
    let model = resolve_model(&data, k, covariance, model_json, model_path)?;
    Ok((
        json(model.spec())?,
        model.family.choice().name().to_string(),
    ))
}

/// One parameter set as arrays: weights (K), locations (K·D), standard deviations (K·D) and
/// covariances (K·D·D; diagonal for the axis-aligned families), appended.
struct Shaped {
    weights: Vec<f64>,
    locs: Vec<f64>,
    sd: Vec<f64>,
    cov: Vec<f64>,
}

impl Shaped {
    fn with_capacity(model: &Model, sets: usize) -> Shaped {
        let (k, d) = (model.k, model.d);
        Shaped {
            weights: Vec::with_capacity(sets * k),
            locs: Vec::with_capacity(sets * k * d),
            sd: Vec::with_capacity(sets * k * d),
            cov: Vec::with_capacity(sets * k * d * d),
        }
    }

    fn push(&mut self, model: &Model, p: &Params) {
        let (k, d) = (model.k, model.d);
        self.weights.extend_from_slice(&p.weights[..k]);
        for c in 0..k {
            for j in 0..d {
                self.locs.push(p.loc(model, c, j));
                self.sd.push(p.scale(model, c, j));
            }
            match model.family.covariance(&p.scales, c, d) {
                Some(m) => self.cov.extend(m),
                None => {
                    for i in 0..d {
                        for j in 0..d {
                            let s = p.scale(model, c, j);
                            self.cov.push(if i == j { s * s } else { 0.0 });
                        }
                    }
                }
            }
        }
    }

    /// Into numpy arrays shaped `lead` + (K), (K, D), (K, D), (K, D, D).
    fn into_dict<'py>(
        self,
        py: Python<'py>,
        model: &Model,
        lead: &[usize],
        out: &Bound<'py, PyDict>,
    ) -> PyResult<()> {
        let (k, d) = (model.k, model.d);
        let shape = |tail: &[usize]| -> Vec<usize> { lead.iter().chain(tail).copied().collect() };
        let arr = |v: Vec<f64>, tail: &[usize]| {
            ArrayD::from_shape_vec(IxDyn(&shape(tail)), v)
                .map_err(|e| PyRuntimeError::new_err(format!("bgmm: {e}")))
        };
        out.set_item("weights", arr(self.weights, &[k])?.into_pyarray(py))?;
        out.set_item("locs", arr(self.locs, &[k, d])?.into_pyarray(py))?;
        out.set_item("sd", arr(self.sd, &[k, d])?.into_pyarray(py))?;
        out.set_item("cov", arr(self.cov, &[k, d, d])?.into_pyarray(py))?;
        Ok(())
    }
}

/// A fit's parameters as arrays: `weights` (K), `locs` (K, D), `sd` (K, D), `cov` (K, D, D);
/// and the model's `family` and free parameters (`n_params`).
#[pyfunction]
fn params_arrays<'py>(
    py: Python<'py>,
    spec_json: &str,
    params_json: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let model = model_of(spec_json, None)?;
    let p = params_of(&model, params_json)?;
    let mut s = Shaped::with_capacity(&model, 1);
    s.push(&model, &p);
    let out = PyDict::new(py);
    s.into_dict(py, &model, &[], &out)?;
    out.set_item("family", model.family.choice().name())?;
    out.set_item("n_params", model.n_params())?;
    Ok(out)
}

/// The model and parameters of a fit, and the data, checked against each other.
fn fitted(
    spec_json: &str,
    params_json: &str,
    x: &PyReadonlyArray2<'_, f64>,
) -> PyResult<(Model, Params, Data)> {
    let (model, p) = fitted_params(spec_json, params_json, x.as_array().ncols())?;
    Ok((model, p, data_of(x)?))
}

/// The model and parameters of a fit, checked against data of `d` columns.
fn fitted_params(spec_json: &str, params_json: &str, d: usize) -> PyResult<(Model, Params)> {
    let model = model_of(spec_json, None)?;
    if d != model.d {
        return Err(py_err(bgmm::Error::DimensionMismatch {
            of: "fit",
            expected: model.d,
            found: d,
        }));
    }
    let p = params_of(&model, params_json)?;
    Ok((model, p))
}

/// Run `job` on a view of `x` with the GIL released: in place (no copy) when `x` is C- or
/// Fortran-contiguous and has no NaN; otherwise on one copy in bgmm's column layout, NaN
/// marking a missing value.
fn on_view<T: Send>(
    py: Python<'_>,
    x: &PyReadonlyArray2<'_, f64>,
    job: impl Fn(&DataView<'_>) -> T + Send + Sync,
) -> PyResult<T> {
    let (n, d) = x.as_array().dim();
    if let Ok(values) = x.as_slice() {
        if x.is_c_contiguous() {
            if let Ok(view) = DataView::row_major(values, n, d) {
                return detached(py, None, || job(&view));
            }
        } else if n > 0 {
            let cols: Vec<&[f64]> = values.chunks(n).collect();
            if let Ok(view) = DataView::columns(&cols) {
                return detached(py, None, || job(&view));
            }
        }
    }
    let data = data_of(x)?;
    detached(py, None, || job(&data.view()))
}

/// log p(z_n = k | x_n, θ) (N × K) and, with `density`, log p(x_n | θ) of every point (the
/// observed coordinates' density; 0 for a row with none), in one pass.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn responsibilities<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    spec_json: &str,
    params_json: &str,
    density: bool,
) -> PyResult<(
    Bound<'py, numpy::PyArray2<f64>>,
    Option<Bound<'py, numpy::PyArray1<f64>>>,
)> {
    let (n, d) = x.as_array().dim();
    let (model, p) = fitted_params(spec_json, params_json, d)?;
    let (resp, dens) = on_view(py, &x, |view| {
        bgmm::responsibilities_and_density(&model, view, &p, density)
    })?;
    let resp = Array2::from_shape_vec((n, model.k), resp)
        .map_err(|e| PyRuntimeError::new_err(format!("bgmm: {e}")))?;
    Ok((
        resp.into_pyarray(py),
        density.then(|| Array1::from(dens).into_pyarray(py)),
    ))
}

/// Assignments (`bgmm classify`): MAP (`temperature` 0) or sampled (1), and the probabilities.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn classify<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    spec_json: &str,
    params_json: &str,
    temperature: u8,
    seed: u64,
) -> PyResult<(
    Bound<'py, numpy::PyArray1<i64>>,
    Bound<'py, numpy::PyArray2<f64>>,
)> {
    let (model, p, data) = fitted(spec_json, params_json, &x)?;
    let temperature = match temperature {
        0 => Temperature::Zero,
        1 => Temperature::One,
        t => return Err(value_err(format!("temperature must be 0 or 1, got {t}"))),
    };
    let opts = bgmm::ClassifyOptions {
        temperature,
        seed,
        svi: None,
    };
    let c = detached(py, None, || bgmm::classify(&model, &p, &data, &opts))?.map_err(py_err)?;
    let z: Array1<i64> = c.assignments.iter().map(|&z| z as i64).collect();
    let probs = Array2::from_shape_vec((data.n(), model.k), c.probs.concat())
        .map_err(|e| PyRuntimeError::new_err(format!("bgmm: {e}")))?;
    Ok((z.into_pyarray(py), probs.into_pyarray(py)))
}

/// `n` points drawn from the mixture with parameters `params` (data set 0 of `bgmm predict
/// FIT -n N --seed S`): X (n, D) and the components z.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn draw<'py>(
    py: Python<'py>,
    spec_json: &str,
    params_json: &str,
    n: usize,
    seed: u64,
) -> PyResult<(
    Bound<'py, numpy::PyArray2<f64>>,
    Bound<'py, numpy::PyArray1<i64>>,
)> {
    let model = model_of(spec_json, None)?;
    let p = params_of(&model, params_json)?;
    let (z, data) = detached(py, None, || {
        let mut rng = bgmm::chain_rng(seed, 0);
        bgmm::draw_data(&model, &p, n, &mut rng)
    })?
    .map_err(py_err)?;
    Ok((
        rows_of(&data).into_pyarray(py),
        z.iter()
            .map(|&z| z as i64)
            .collect::<Array1<i64>>()
            .into_pyarray(py),
    ))
}

/// Data as an (N, D) array.
fn rows_of(data: &Data) -> Array2<f64> {
    Array2::from_shape_fn((data.n(), data.d()), |(i, j)| data.col(j)[i])
}

/// What [`posterior_arrays`] computes with the GIL released.
struct PosteriorArrays {
    chains: usize,
    draws: usize,
    params: Shaped,
    /// Per draw: lp, step size, tree depth, leapfrog steps, acceptance, energy, divergent.
    stats: [Vec<f64>; 6],
    diverging: Vec<bool>,
    log_lik: Option<Vec<f64>>,
    predictive: Option<Vec<f64>>,
    record: String,
}

/// The draws of `post` as arrays (chains cut to the shortest: an interrupted run), the
/// pointwise log likelihood (unless it would exceed [`bgmm_io::LOG_LIK_MAX_VALUES`] values)
/// and, with `predictive`, one replicate of the data per draw (draw s of chain c from stream
/// c·S + s under the seed).
fn posterior_arrays(
    model: &Model,
    data: &Data,
    mut post: Posterior,
    log_lik: bool,
    predictive: Option<u64>,
) -> bgmm::Result<PosteriorArrays> {
    let chains = post.draws.len();
    let draws = post.draws.iter().map(Vec::len).min().unwrap_or(0);
    for c in post.draws.iter_mut() {
        c.truncate(draws);
    }
    let sets: Vec<Params> = post
        .draws
        .iter()
        .flatten()
        .map(|v| Params::from_flat(model, v))
        .collect();
    let mut params = Shaped::with_capacity(model, sets.len());
    for p in &sets {
        params.push(model, p);
    }
    let mut stats: [Vec<f64>; 6] = Default::default();
    let mut diverging = Vec::with_capacity(chains * draws);
    for ch in &post.chains {
        let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(f64::NAN);
        for i in 0..draws {
            stats[0].push(at(&ch.logp, i));
            stats[1].push(at(&ch.step_size, i));
            stats[2].push(ch.tree_depth.get(i).map_or(f64::NAN, |&v| v as f64));
            stats[3].push(ch.n_leapfrog.get(i).map_or(f64::NAN, |&v| v as f64));
            stats[4].push(at(&ch.accept, i));
            stats[5].push(at(&ch.energy, i));
            diverging.push(ch.divergent.get(i).copied().unwrap_or(false));
        }
    }
    // log p(x_n | θ_s) of the parameter sets above (what `log_likelihood_draws` computes from
    // the flat draws, without converting them again)
    let log_lik = (log_lik
        && (chains * draws).saturating_mul(data.n()) <= bgmm_io::LOG_LIK_MAX_VALUES)
        .then(|| {
            sets.par_iter()
                .map(|p| bgmm::pointwise_log_likelihood(model, data, p))
                .collect::<Vec<_>>()
                .concat()
        });
    let predictive = match predictive {
        None => None,
        Some(seed) => {
            let n = data.n();
            let sets: Vec<Vec<f64>> = sets
                .par_iter()
                .enumerate()
                .map(|(s, p)| {
                    let mut rng = bgmm::chain_rng(seed, s);
                    bgmm::draw_data(model, p, n, &mut rng)
                        .map(|(_, d)| rows_of(&d).into_raw_vec_and_offset().0)
                })
                .collect::<bgmm::Result<_>>()?;
            Some(sets.concat())
        }
    };
    // the record: everything but the draws, which went into the arrays
    post.draws = Vec::new();
    post.raw_draws = Vec::new();
    for ch in post.chains.iter_mut() {
        ch.draws = Vec::new();
        ch.logp = Vec::new();
        ch.step_size = Vec::new();
        ch.n_leapfrog = Vec::new();
        ch.tree_depth = Vec::new();
        ch.divergent = Vec::new();
        ch.accept = Vec::new();
        ch.energy = Vec::new();
    }
    let record = serde_json::to_string(&post).map_err(|e| bgmm::Error::Numerical(e.to_string()))?;
    Ok(PosteriorArrays {
        chains,
        draws,
        params,
        stats,
        diverging,
        log_lik,
        predictive,
        record,
    })
}

impl PosteriorArrays {
    fn into_dict<'py>(
        self,
        py: Python<'py>,
        model: &Model,
        n: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (c, s) = (self.chains, self.draws);
        let out = PyDict::new(py);
        self.params.into_dict(py, model, &[c, s], &out)?;
        let bad = |e: numpy::ndarray::ShapeError| PyRuntimeError::new_err(format!("bgmm: {e}"));
        let names = [
            "lp",
            "step_size",
            "tree_depth",
            "n_steps",
            "acceptance_rate",
            "energy",
        ];
        for (name, v) in names.iter().zip(self.stats) {
            out.set_item(
                *name,
                Array2::from_shape_vec((c, s), v)
                    .map_err(bad)?
                    .into_pyarray(py),
            )?;
        }
        out.set_item(
            "diverging",
            Array2::from_shape_vec((c, s), self.diverging)
                .map_err(bad)?
                .into_pyarray(py),
        )?;
        if let Some(v) = self.log_lik {
            out.set_item(
                "log_likelihood",
                Array3::from_shape_vec((c, s, n), v)
                    .map_err(bad)?
                    .into_pyarray(py),
            )?;
        }
        if let Some(v) = self.predictive {
            let a = ArrayD::from_shape_vec(IxDyn(&[c, s, n, model.d]), v).map_err(bad)?;
            out.set_item("posterior_predictive", a.into_pyarray(py))?;
        }
        out.set_item("record", self.record)?;
        Ok(out)
    }
}

/// The posterior by collapsed NUTS (`bgmm sample`), started from `start_json` (a fit's
/// parameters: `--from-fit`) or the sampler's own MAP search; or, with `engine` "smc", by SMC
/// tempered from the prior (`chains` runs of `draws` particles; `bgmm sample --engine smc`).
#[pyfunction]
#[pyo3(signature = (x, spec_json, start_json, chains, warmup, draws, seed, target_accept, max_depth, low_rank, init, log_lik, predictive, progress=None, engine="nuts", ess_ratio=0.5, sweeps=6))]
#[allow(clippy::too_many_arguments)]
fn sample_posterior<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    spec_json: &str,
    start_json: Option<&str>,
    chains: usize,
    warmup: u64,
    draws: u64,
    seed: u64,
    target_accept: f64,
    max_depth: u64,
    low_rank: bool,
    init: &str,
    log_lik: bool,
    predictive: bool,
    progress: Option<Bound<'py, PyAny>>,
    engine: &str,
    ess_ratio: f64,
    sweeps: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let data = data_of(&x)?;
    let model = model_of(spec_json, Some(data.d()))?;
    let start = start_json.map(|j| params_of(&model, j)).transpose()?;
    let stop = StopSignal::new();
    let engine = match engine {
        "nuts" => bgmm::Engine::Nuts,
        "smc" => bgmm::Engine::Smc(bgmm::SmcOptions {
            runs: chains,
            particles: usize::try_from(draws).unwrap_or(usize::MAX),
            seed,
            ess_ratio,
            target_accept,
            min_sweeps: sweeps,
            max_sweeps: sweeps.max(bgmm::SmcOptions::default().max_sweeps),
            stop: Some(stop.clone()),
            ..bgmm::SmcOptions::default()
        }),
        other => return Err(value_err(format!("engine: '{other}' is not nuts or smc"))),
    };
    let init = match init {
        "map" => InitFrom::Map,
        "prior" => InitFrom::Prior,
        other => return Err(value_err(format!("init: '{other}' is not map or prior"))),
    };
    if start.is_some() && init == InitFrom::Prior {
        return Err(value_err(
            "init='prior' does not go with a fitted start: the chains start from the fit",
        ));
    }
    let opts = SampleOptions {
        engine,
        nuts: NutsOptions {
            chains,
            warmup,
            draws,
            seed,
            target_accept,
            max_depth,
            low_rank,
            stop: Some(stop.clone()),
        },
        init,
        start,
        progress: None,
    };
    opts.validate().map_err(py_err)?;
    // each chain's iterations done and divergences, for `progress(done, divergences)`
    let counts: Arc<Vec<(AtomicU64, AtomicU64)>> = Arc::new(
        (0..chains)
            .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
            .collect(),
    );
    let mut tick = || -> PyResult<()> {
        if let Some(f) = &progress {
            let done: Vec<u64> = counts.iter().map(|c| c.0.load(Ordering::Relaxed)).collect();
            let div: Vec<u64> = counts.iter().map(|c| c.1.load(Ordering::Relaxed)).collect();
            f.call1((done, div))?;
        }
        Ok(())
    };
    let mut opts = opts;
    if progress.is_some() {
        let counts = Arc::clone(&counts);
        opts.progress = Some(bgmm::Callback::new(move |p: bgmm::ChainProgress| {
            if let Some(c) = counts.get(p.chain) {
                c.0.store(p.done, Ordering::Relaxed);
                c.1.store(p.divergences as u64, Ordering::Relaxed);
            }
        }));
    }
    let (arrays, interrupt) = interruptible(py, Some(&stop), &mut tick, || {
        let post = bgmm::sample(&model, &data, &opts)?;
        posterior_arrays(&model, &data, post, log_lik, predictive.then_some(seed))
    })?;
    match (arrays, interrupt) {
        (Ok(arrays), interrupt) => {
            // stopped after warmup: the draws so far, marked (the Python side raises)
            let out = arrays.into_dict(py, &model, data.n())?;
            out.set_item("interrupted", interrupt.is_some())?;
            Ok(out)
        }
        (Err(e @ bgmm::Error::Interrupted(_)), _) => Err(py_err(e)),
        (Err(_), Some(interrupt)) => Err(interrupt),
        (Err(e), None) => Err(py_err(e)),
    }
}

/// The mean-field variational posterior (`bgmm vi`), as one chain of draws, and the ELBO
/// trace (`elbo`).
#[pyfunction]
#[pyo3(signature = (x, spec_json, steps, lr, mc_samples, seed, draws, log_lik, predictive))]
#[allow(clippy::too_many_arguments)]
fn vi<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    spec_json: &str,
    steps: usize,
    lr: f64,
    mc_samples: usize,
    seed: u64,
    draws: usize,
    log_lik: bool,
    predictive: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let data = data_of(&x)?;
    let model = model_of(spec_json, Some(data.d()))?;
    let opts = ViOptions {
        steps,
        lr,
        mc_samples,
        seed,
        draws,
        ..ViOptions::default()
    };
    opts.validate().map_err(py_err)?;
    let (arrays, elbo) = detached(py, None, || {
        let (post, guide) = bgmm::vi(&model, &data, &opts)?;
        Ok::<_, bgmm::Error>((
            posterior_arrays(&model, &data, post, log_lik, predictive.then_some(seed))?,
            guide.elbo,
        ))
    })?
    .map_err(py_err)?;
    let out = arrays.into_dict(py, &model, data.n())?;
    out.set_item("elbo", Array1::from(elbo).into_pyarray(py))?;
    Ok(out)
}

/// The model chosen (`bgmm select`): the [`bgmm::Selection`]'s JSON (`selection`), its rows'
/// order by the criterion (`ranked`), each row's `criterion`, `loo`, `waic` (None where not
/// computed) and mclust code (`mclust`).
#[pyfunction]
#[pyo3(signature = (x, ks, families, criterion, search, chains, warmup, draws))]
#[allow(clippy::too_many_arguments)]
fn select<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    ks: Vec<usize>,
    families: Vec<String>,
    criterion: &str,
    search: Search,
    chains: usize,
    warmup: u64,
    draws: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let data = data_of(&x)?;
    let families = families_of(&families)?;
    let criterion = criterion_of(criterion)?;
    let seed = search.seed;
    let fit = search.options()?;
    let opts = SelectOptions {
        ks,
        families,
        criterion,
        fit,
        posterior: NutsOptions {
            chains,
            warmup,
            draws,
            seed,
            ..NutsOptions::default()
        },
        evidence: bgmm::SmcOptions {
            runs: chains,
            particles: usize::try_from(draws).unwrap_or(usize::MAX),
            seed,
            ..bgmm::SmcOptions::default()
        },
        progress: None,
    };
    opts.validate().map_err(py_err)?;
    let sel = detached(py, None, || bgmm::select(&data, &opts))?.map_err(py_err)?;
    selection_dict(py, &sel)
}

/// Families by name.
pub(crate) fn families_of(names: &[String]) -> PyResult<Vec<bgmm::CovarianceFamily>> {
    names.iter().map(|f| family_of(f)).collect()
}

/// A criterion by name.
pub(crate) fn criterion_of(name: &str) -> PyResult<Criterion> {
    Criterion::parse(name).ok_or_else(|| {
        value_err(format!(
            "criterion: '{name}' is not one of bic, icl, aic, loo, waic, evidence"
        ))
    })
}

/// What `select` returns to Python: the core's ranking and criteria (so that Python does not
/// compute them again), each row's mclust code and the selection's JSON.
pub(crate) fn selection_dict<'py>(
    py: Python<'py>,
    sel: &bgmm::Selection,
) -> PyResult<Bound<'py, PyDict>> {
    let criterion = sel.criterion;
    let out = PyDict::new(py);
    out.set_item("ranked", sel.ranked())?;
    let value =
        |c: Criterion| -> Vec<Option<f64>> { sel.rows.iter().map(|r| r.value(c)).collect() };
    out.set_item("criterion", value(criterion))?;
    out.set_item("loo", value(Criterion::Loo))?;
    out.set_item("waic", value(Criterion::Waic))?;
    let evidence = |f: &dyn Fn(&bgmm::Evidence) -> f64| -> Vec<Option<f64>> {
        sel.rows.iter().map(|r| r.evidence().map(f)).collect()
    };
    out.set_item("log_evidence", evidence(&|e| e.log_evidence))?;
    out.set_item("evidence_se", evidence(&|e| e.std_error))?;
    let probability: Vec<Option<f64>> = sel
        .rows
        .iter()
        .map(|r| r.posterior.as_ref().and_then(|p| p.probability))
        .collect();
    out.set_item("probability", probability)?;
    let mclust: Vec<&str> = sel.rows.iter().map(|r| r.covariance.mclust()).collect();
    out.set_item("mclust", mclust)?;
    out.set_item("selection", json(&sel)?)?;
    Ok(out)
}

/// A fit written by `bgmm fit --out` (its `fit.json`): the record's, the model's and the
/// parameters' JSON.
#[pyfunction]
fn read_fit(path: &str) -> PyResult<(String, String, String)> {
    let (record, model, params) =
        bgmm_io::load_fit(std::path::Path::new(path)).map_err(|e| value_err(e.to_string()))?;
    Ok((json(&record)?, json(model.spec())?, json(&params)?))
}

/// A sampling run written by `bgmm sample --out` or `bgmm vi --out`: its summary's JSON and
/// the relabelled draws as arrays (as [`sample_posterior`] gives them; the sampler's
/// statistics are in the chain files, read by the Python side).
#[pyfunction]
fn read_sample_run<'py>(py: Python<'py>, dir: &str) -> PyResult<Bound<'py, PyDict>> {
    let (record, run) =
        bgmm_io::load_run(std::path::Path::new(dir)).map_err(|e| value_err(e.to_string()))?;
    let model = run.model;
    let chains = run.chains.len();
    let draws = run.chains.iter().map(Vec::len).min().unwrap_or(0);
    let mut params = Shaped::with_capacity(&model, chains * draws);
    for ch in &run.chains {
        for p in &ch[..draws] {
            params.push(&model, p);
        }
    }
    let out = PyDict::new(py);
    params.into_dict(py, &model, &[chains, draws], &out)?;
    out.set_item("record", json(&record)?)?;
    out.set_item("model", json(model.spec())?)?;
    out.set_item("family", model.family.choice().name())?;
    Ok(out)
}

/// A model from a model file's path or a model description's JSON (one of them).
fn model_from(model_json: Option<&str>, model_path: Option<&str>) -> PyResult<Model> {
    match (model_json, model_path) {
        (_, Some(path)) => bgmm_io::load_model_spec(std::path::Path::new(path))
            .map_err(|e| value_err(e.to_string()))?
            .build(None)
            .map_err(|e| value_err(format!("model file '{path}': {e}"))),
        (Some(j), None) => model_of(j, None),
        (None, None) => Err(value_err("model: give a model file's path or a dict")),
    }
}

/// θ drawn from the priors, then `n` points (`bgmm simulate MODEL -n N --seed S`): X (n, D),
/// the true assignments, and θ's JSON.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn simulate<'py>(
    py: Python<'py>,
    model_json: Option<&str>,
    model_path: Option<&str>,
    n: usize,
    seed: u64,
) -> PyResult<(
    Bound<'py, numpy::PyArray2<f64>>,
    Bound<'py, numpy::PyArray1<i64>>,
    String,
    String,
)> {
    let model = model_from(model_json, model_path)?;
    let sim = detached(py, None, || bgmm::simulate(&model, n, seed))?.map_err(py_err)?;
    let z: Array1<i64> = sim.assignments.iter().map(|&z| z as i64).collect();
    Ok((
        rows_of(&sim.data).into_pyarray(py),
        z.into_pyarray(py),
        json(&sim.params)?,
        json(model.spec())?,
    ))
}

/// Every site of the model with its distribution, batch and event shape for `n` points
/// (`bgmm describe MODEL -n N`, Pyro's `format_shapes`).
#[pyfunction]
fn describe(model_json: Option<&str>, model_path: Option<&str>, n: usize) -> PyResult<String> {
    let model = model_from(model_json, model_path)?;
    Ok(bgmm_io::sites_text(&model, &bgmm::sites(&model, n)))
}

/// The native module.
#[pymodule]
fn _bgmm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(params_arrays, m)?)?;
    m.add_function(wrap_pyfunction!(model_spec, m)?)?;
    m.add_function(wrap_pyfunction!(responsibilities, m)?)?;
    m.add_function(wrap_pyfunction!(classify, m)?)?;
    m.add_function(wrap_pyfunction!(draw, m)?)?;
    m.add_function(wrap_pyfunction!(sample_posterior, m)?)?;
    m.add_function(wrap_pyfunction!(vi, m)?)?;
    m.add_function(wrap_pyfunction!(select, m)?)?;
    m.add_function(wrap_pyfunction!(read_fit, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(describe, m)?)?;
    m.add_function(wrap_pyfunction!(read_sample_run, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::partition_summary, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::merge_summaries, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::partition_summary_columns, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::partition_stats_columns, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::partition_stats, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::merge_stats, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::fit_partitioned, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::select_partitioned, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("LOG_LIK_MAX_VALUES", bgmm_io::LOG_LIK_MAX_VALUES)?;
    Ok(())
}
