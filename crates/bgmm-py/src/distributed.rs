//! The native half of `bgmm.distributed`: what a worker computes on its partition (a summary,
//! the statistics at a point), the merges, and the MAP search driven from Python, whose
//! passes over the data the Python side runs on Dask or Spark ([`bgmm::fit_partitioned`]).
//! Summaries, requests and statistics cross as the JSON of the core's serde types (exact:
//! `float_roundtrip`).

use std::sync::Mutex;

use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use bgmm::{
    Ask, Data, DataSummary, DataView, FitOptions, Model, Partitioned, SelectOptions, StatsRequest,
    StopSignal, SufficientStats,
};

use crate::errors::{py_err, value_err};
use crate::{
    criterion_of, data_of, detached, families_of, interruptible, json, model_for, model_of,
    on_view, selection_dict, Search,
};

fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| value_err(format!("{what}: {e}")))
}

/// The summary of one partition's points (a 2-D float64 array, NaN: missing) as JSON.
#[pyfunction]
pub(crate) fn partition_summary(py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> PyResult<String> {
    if x.as_array().nrows() == 0 {
        return Err(value_err("a partition without points has no summary"));
    }
    let s = on_view(py, &x, |view| DataSummary::of(*view))?.map_err(py_err)?;
    json(&s)
}

/// The columns of a partition (1-D float64 arrays of equal length, NaN: missing: an Arrow
/// batch's columns) as a view without a copy where they are contiguous.
fn on_columns<T: Send>(
    py: Python<'_>,
    cols: &[PyReadonlyArray1<'_, f64>],
    job: impl Fn(&DataView<'_>) -> T + Send + Sync,
) -> PyResult<T> {
    if let Ok(slices) = cols
        .iter()
        .map(|c| c.as_slice())
        .collect::<Result<Vec<&[f64]>, _>>()
    {
        let view = DataView::columns_with_missing(&slices).map_err(py_err)?;
        return detached(py, None, || job(&view));
    }
    let data =
        Data::with_missing(cols.iter().map(|c| c.as_array().to_vec()).collect()).map_err(py_err)?;
    detached(py, None, || job(&data.view()))
}

/// [`partition_summary`] of a partition given as columns (see [`on_columns`]).
#[pyfunction]
pub(crate) fn partition_summary_columns(
    py: Python<'_>,
    cols: Vec<PyReadonlyArray1<'_, f64>>,
) -> PyResult<String> {
    let s = on_columns(py, &cols, |view| DataSummary::of(*view))?.map_err(py_err)?;
    json(&s)
}

/// [`partition_stats`] of a partition given as columns (see [`on_columns`]).
#[pyfunction]
pub(crate) fn partition_stats_columns(
    py: Python<'_>,
    spec_json: &str,
    request_json: &str,
    cols: Vec<PyReadonlyArray1<'_, f64>>,
) -> PyResult<String> {
    let model = model_of(spec_json, Some(cols.len()))?;
    let request: StatsRequest = parse("request", request_json)?;
    let st = on_columns(py, &cols, |view| {
        bgmm::partition_stats(&model, &request, *view)
    })?
    .map_err(py_err)?;
    json(&st)
}

/// JSON values of one mergeable type merged in the order given.
fn merged<T: serde::de::DeserializeOwned + serde::Serialize>(
    what: &str,
    parts: &[String],
    merge: fn(&mut T, &T) -> bgmm::Result<()>,
) -> PyResult<String> {
    let mut total: Option<T> = None;
    for p in parts {
        let s: T = parse(what, p)?;
        match &mut total {
            None => total = Some(s),
            Some(t) => merge(t, &s).map_err(py_err)?,
        }
    }
    json(&total.ok_or_else(|| value_err(format!("no {what} to merge")))?)
}

/// Summaries merged in the order given.
#[pyfunction]
pub(crate) fn merge_summaries(parts: Vec<String>) -> PyResult<String> {
    merged("summaries", &parts, DataSummary::merge)
}

/// The statistics of one partition's points for a request of the polish (both JSON) under
/// the model `spec_json` describes.
#[pyfunction]
pub(crate) fn partition_stats(
    py: Python<'_>,
    spec_json: &str,
    request_json: &str,
    x: PyReadonlyArray2<'_, f64>,
) -> PyResult<String> {
    let d = x.as_array().ncols();
    let model = model_of(spec_json, Some(d))?;
    let request: StatsRequest = parse("request", request_json)?;
    if x.as_array().nrows() == 0 {
        return json(&SufficientStats::empty(&model, request.grad));
    }
    let st = on_view(py, &x, |view| {
        bgmm::partition_stats(&model, &request, *view)
    })?
    .map_err(py_err)?;
    json(&st)
}

/// Statistics merged in the order given.
#[pyfunction]
pub(crate) fn merge_stats(parts: Vec<String>) -> PyResult<String> {
    merged("statistics", &parts, SufficientStats::merge)
}

/// The model a partitioned fit fits: a model file, a description, or the default model of
/// `k` components of `covariance` adapted to the summary's columns.
pub(crate) fn summary_model(
    summary: &DataSummary,
    k: i64,
    covariance: &str,
    model_json: Option<&str>,
    model_path: Option<&str>,
) -> PyResult<Model> {
    let largest = |j: usize| {
        let c = &summary.columns[j];
        c.min.abs().max(c.max.abs())
    };
    model_for(
        summary.d(),
        "data",
        k,
        covariance,
        model_json,
        model_path,
        |k, family| {
            bgmm_io::default_model_spec_of(k, family, &summary.column_mean_sd(), largest, "data")
        },
    )
}

/// A Python object's partitions (`summary()` → JSON, `rows(idx)` → a 2-D array,
/// `stats(asks)` → one JSON per ask, each ask a pair of JSON texts: the model and the
/// request) as the core's [`Partitioned`]: each call takes the GIL; the first Python
/// exception is kept, to be raised as it was.
struct PyPartitions<'a> {
    obj: &'a Py<PyAny>,
    stop: &'a StopSignal,
    error: Mutex<Option<PyErr>>,
}

impl PyPartitions<'_> {
    fn call<T>(&self, f: impl FnOnce(Python<'_>) -> PyResult<T>) -> bgmm::Result<T> {
        if self.stop.is_raised() {
            return Err(bgmm::Error::Interrupted("interrupted".into()));
        }
        Python::attach(f).map_err(|e| {
            let message = e.to_string();
            self.error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
            bgmm::Error::Data(message)
        })
    }

    fn json_of<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> bgmm::Result<T> {
        serde_json::from_str(text).map_err(|e| bgmm::Error::Data(format!("{what}: {e}")))
    }
}

impl Partitioned for PyPartitions<'_> {
    fn summary(&self) -> bgmm::Result<DataSummary> {
        let text: String = self.call(|py| self.obj.call_method0(py, "summary")?.extract(py))?;
        Self::json_of("the partitions' summary", &text)
    }

    fn rows(&self, idx: &[usize]) -> bgmm::Result<Data> {
        let idx: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
        let data = self.call(|py| {
            let out = self.obj.call_method1(py, "rows", (idx.into_pyarray(py),))?;
            let a: PyReadonlyArray2<'_, f64> = out.extract(py)?;
            data_of(&a)
        })?;
        Ok(data)
    }

    fn stats(&self, asks: &[Ask<'_>]) -> bgmm::Result<Vec<SufficientStats>> {
        let asks: Vec<(String, String)> = asks
            .iter()
            .map(|a| Ok((text(a.model.spec())?, text(a.request)?)))
            .collect::<bgmm::Result<_>>()?;
        let texts: Vec<String> =
            self.call(|py| self.obj.call_method1(py, "stats", (asks,))?.extract(py))?;
        texts
            .iter()
            .map(|t| Self::json_of("the partitions' statistics", t))
            .collect()
    }
}

/// A serde value as JSON text, for the partitions.
fn text<T: serde::Serialize + ?Sized>(v: &T) -> bgmm::Result<String> {
    serde_json::to_string(v).map_err(|e| bgmm::Error::Data(format!("request: {e}")))
}

/// `job` on the partitions the Python object `parts` reaches, with the GIL released (Ctrl-C
/// stops it before the next pass): the first Python exception a partition raised as it was,
/// else the job's error.
fn on_partitions<T: Send>(
    py: Python<'_>,
    parts: &Py<PyAny>,
    job: impl FnOnce(&dyn Partitioned) -> bgmm::Result<T> + Send,
) -> PyResult<T> {
    let stop = StopSignal::new();
    let source = PyPartitions {
        obj: parts,
        stop: &stop,
        error: Mutex::new(None),
    };
    let (out, interrupt) = interruptible(py, Some(&stop), &mut || Ok(()), || job(&source))?;
    if let Some(e) = interrupt {
        return Err(e);
    }
    if let Some(e) = source
        .error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(e);
    }
    out.map_err(py_err)
}

/// The MAP of data in partitions ([`bgmm::fit_partitioned`]), `parts` the Python object that
/// reaches them: the fit's JSON, the model's and the log likelihood at the MAP (one more pass).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_partitioned(
    py: Python<'_>,
    parts: Py<PyAny>,
    summary_json: &str,
    k: i64,
    covariance: &str,
    model_json: Option<&str>,
    model_path: Option<&str>,
    search: Search,
) -> PyResult<(String, String, f64)> {
    let summary: DataSummary = parse("summary", summary_json)?;
    let model = summary_model(&summary, k, covariance, model_json, model_path)?;
    let opts: FitOptions = search.options()?;
    let (f, loglik) = on_partitions(py, &parts, |source| {
        let f = bgmm::fit_partitioned(&model, source, &opts)?;
        let request = StatsRequest {
            x: bgmm::Transform::new(&model).pack(&f.params),
            scaling: None,
            grad: false,
            entropy: false,
        };
        let st = source.stats(&[Ask {
            model: &model,
            request: &request,
        }])?;
        let loglik = st.first().map_or(f64::NAN, |s| s.loglik);
        Ok((f, loglik))
    })?;
    Ok((json(&f)?, json(model.spec())?, loglik))
}

/// [`bgmm::select_partitioned`] of the data `parts` reaches: the same dictionary as the
/// in-memory `select`.
#[pyfunction]
pub(crate) fn select_partitioned<'py>(
    py: Python<'py>,
    parts: Py<PyAny>,
    ks: Vec<usize>,
    families: Vec<String>,
    criterion: &str,
    search: Search,
) -> PyResult<Bound<'py, PyDict>> {
    let criterion = criterion_of(criterion)?;
    let opts = SelectOptions {
        ks,
        families: families_of(&families)?,
        criterion,
        fit: search.options()?,
        ..SelectOptions::default()
    };
    opts.validate().map_err(py_err)?;
    let sel = on_partitions(py, &parts, |source| bgmm::select_partitioned(source, &opts))?;
    selection_dict(py, &sel)
}
