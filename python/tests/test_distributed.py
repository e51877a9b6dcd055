"""bgmm.distributed on real engines: a Dask LocalCluster of two worker processes and a local
Spark session, each fit next to the fit of the same data in memory."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from typing import Any, Iterator

import numpy as np
import pytest

import bgmm
import bgmm.distributed as bd

FAMILIES = ["shared", "component", "dimension", "diagonal", "full", "tied"]
# a search on 600 points (200 per component) of 6000: the distributed path
SEARCH = dict(subsample=300, random_state=0)


def _need(module: str) -> Any:
    """The module, or a skip (a failure with ``BGMM_REQUIRE_ENGINES=1``, as CI sets)."""
    try:
        return __import__(module)
    except ImportError as e:
        if os.environ.get("BGMM_REQUIRE_ENGINES") == "1":
            pytest.fail(f"{module} is needed: {e}")
        pytest.skip(f"{module} is not installed")


def clusters(n: int, seed: int, missing: float = 0.0) -> np.ndarray:
    """Three correlated clusters in 2-D; a share ``missing`` of the values NaN."""
    rng = np.random.default_rng(seed)
    z = np.arange(n) % 3
    means = np.array([[0.0, 0.0], [5.0, 1.0], [2.0, 6.0]])
    X = means[z] + rng.normal(size=(n, 2)) @ np.array([[1.0, 0.7], [0.0, 0.5]])
    X[rng.random((n, 2)) < missing / 2] = np.nan
    return X


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    _need("dask")
    distributed = _need("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    _need("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("BGMM_REQUIRE_ENGINES") == "1":
            pytest.fail("Spark needs a Java runtime (java)")
        pytest.skip("no Java runtime for Spark")
    from pyspark.sql import SparkSession

    # Spark's Python workers run `python3` from the PATH unless told: use this interpreter,
    # where bgmm is installed (a user's cluster needs bgmm on its workers' Python likewise)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    s = (
        SparkSession.builder.master("local[2]")
        .appName("bgmm-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return clusters(6000, 1, missing=0.04)


@pytest.fixture(scope="module")
def local(data: np.ndarray) -> dict:
    """The fit in memory of each family (the reference)."""
    return {f: bgmm.GaussianMixture(3, covariance=f, **SEARCH).fit(data) for f in FAMILIES}


def _same_fit(dist: bgmm.GaussianMixture, ref: bgmm.GaussianMixture, X: np.ndarray) -> None:
    assert dist.fit_["history"]["subsample"] == 600
    assert abs(dist.loss_ - ref.loss_) <= 1e-9 * abs(ref.loss_), (dist.loss_, ref.loss_)
    assert abs(dist.loglik_ - ref.loglik_) <= 1e-9 * abs(ref.loglik_)
    assert dist.converged_
    # the same mode: the same partition of the points and parameters to the polish's tolerance
    assert np.array_equal(bd._plain(dist).predict(X), ref.predict(X))
    np.testing.assert_allclose(dist.means_, ref.means_, atol=1e-6)
    np.testing.assert_allclose(dist.weights_, ref.weights_, atol=1e-7)


@pytest.mark.parametrize("family", FAMILIES)
def test_dask_fit_equals_the_fit_in_memory(
    client: Any, data: np.ndarray, local: dict, family: str
) -> None:
    import dask.array as da

    for chunks in [6000, 1700]:
        est = bd.fit(da.from_array(data, chunks=(chunks, 2)), 3, covariance=family, **SEARCH)
        _same_fit(est, local[family], data)


def test_dask_same_partitioning_same_bits(client: Any, data: np.ndarray) -> None:
    import dask.array as da

    a = bd.fit(da.from_array(data, chunks=(1000, 2)), 3, covariance="full", **SEARCH)
    b = bd.fit(da.from_array(data, chunks=(1000, 2)), 3, covariance="full", **SEARCH)
    assert a.loss_ == b.loss_
    assert np.array_equal(a.means_, b.means_) and np.array_equal(a.covariances_, b.covariances_)


def test_dask_worker_lost_mid_fit(client: Any, data: np.ndarray) -> None:
    """A worker process killed during the polish: Dask recomputes its blocks from the graph
    and the fit is the same, bit for bit."""
    import dask.array as da

    arr = da.from_array(data, chunks=(1000, 2))
    ref = bd.fit(arr, 3, covariance="tied", **SEARCH)
    parts = bd.partitions(arr)
    calls = {"n": 0}
    stats = parts.stats

    def killing(asks: list) -> list:
        calls["n"] += 1
        if calls["n"] == 3:
            pids = client.run(os.getpid)
            victim = sorted(pids)[0]
            os.kill(pids[victim], signal.SIGKILL)
        return stats(asks)

    parts.stats = killing  # type: ignore[method-assign]
    est = bd._fit(bgmm.GaussianMixture(3, covariance="tied", **SEARCH), parts)
    assert calls["n"] > 3
    assert est.loss_ == ref.loss_
    assert np.array_equal(est.means_, ref.means_)
    client.wait_for_workers(2, timeout=60)


def test_dask_dataframe_columns_and_predictions(client: Any, local: dict) -> None:
    import dask.dataframe as dd
    import pandas as pd

    X = clusters(6000, 1, missing=0.04)
    frame = pd.DataFrame({"label": ["a"] * len(X), "x": X[:, 0], "y": X[:, 1], "n": 1})
    df = dd.from_pandas(frame, npartitions=5)
    est = bd.fit(df, 3, covariance="full", columns=["x", "y"], **SEARCH)
    _same_fit(est, local["full"], X)
    assert list(est.feature_names_in_) == ["x", "y"]
    ref = local["full"]
    assert np.array_equal(bd.predict(est, df).compute(), ref.predict(X))
    np.testing.assert_allclose(bd.predict_proba(est, df).compute(), ref.predict_proba(X), atol=1e-9)
    np.testing.assert_allclose(bd.score_samples(est, df).compute(), ref.score_samples(X), rtol=1e-8)
    with pytest.raises(ValueError, match="columns: 'z' not in the data"):
        bd.fit(df, 3, columns=["x", "z"])


def test_small_data_are_gathered_and_fitted_as_in_memory(client: Any) -> None:
    import dask.array as da

    X = clusters(900, 4)
    est = bd.fit(da.from_array(X, chunks=(200, 2)), 3, covariance="full", random_state=0)
    ref = bgmm.GaussianMixture(3, covariance="full", random_state=0).fit(X)
    # the default model's priors from the merged column summaries: the same to rounding
    assert abs(est.loss_ - ref.loss_) <= 1e-12 * abs(ref.loss_)
    assert est.fit_["history"].get("subsample") is None


def test_errors_name_what_is_wrong(client: Any) -> None:
    import dask.array as da

    with pytest.raises(TypeError, match="data must be a dask.array.Array"):
        bd.fit(np.zeros((10, 2)), 2)
    big = da.from_array(clusters(6000, 2), chunks=(1000, 2))
    with pytest.raises(ValueError, match="subsample must be at least 1 for partitioned data"):
        bd.fit(big, 3, subsample=0)
    with pytest.raises(ValueError, match="n_components must be at least 1"):
        bd.fit(big, 0)
    with pytest.raises(ValueError, match="split_every must be an integer at least 2"):
        bd.fit(big, 3, split_every=1)
    bad = da.from_array(np.array([[1.0, np.inf]] * 10), chunks=(5, 2))
    with pytest.raises(ValueError, match="value inf is not finite"):
        bd.fit(bad, 2)
    est = bd.fit(big, 3, **SEARCH)
    with pytest.raises(ValueError, match="data have 1 columns but the estimator was fitted on 2"):
        bd.predict(est, big[:, :1])


def _same_selection(dist: Any, ref: Any) -> None:
    """Two selections: the same table (to the polish's tolerance), the same best model."""
    (wide, best), (ref_wide, ref_best) = dist, ref
    np.testing.assert_allclose(wide.to_numpy(), ref_wide.to_numpy(), rtol=1e-8)
    a, b = best.selection_, ref_best.selection_
    assert list(a["mclust"]) == list(b["mclust"]) and list(a["k"]) == list(b["k"])
    assert list(a["status"]) == list(b["status"])
    for c in ("loglik", "bic", "icl", "aic"):
        np.testing.assert_allclose(a[c], b[c], rtol=1e-8)
    assert (best.n_components, best.covariance) == (ref_best.n_components, ref_best.covariance)
    assert abs(best.loss_ - ref_best.loss_) <= 1e-9 * abs(ref_best.loss_)


class _Counted:
    """Partitions whose passes and requests are counted."""

    def __init__(self, parts: Any) -> None:
        self.parts, self.passes, self.asked = parts, 0, 0
        self.names = parts.names

    def summary(self) -> str:
        return str(self.parts.summary())

    def rows(self, idx: np.ndarray) -> np.ndarray:
        return np.asarray(self.parts.rows(idx))

    def stats(self, asks: list) -> list:
        self.passes += 1
        self.asked += len(asks)
        return list(self.parts.stats(asks))


def test_dask_select_equals_the_selection_in_memory(client: Any, data: np.ndarray) -> None:
    """Every family × K = 1–3, ranked by ICL: the table of the data in memory, its fits
    sharing each pass over the blocks."""
    import dask.array as da

    ref = bgmm.select(data, k=[1, 2, 3], criterion="icl", **SEARCH)
    parts = _Counted(bd.partitions(da.from_array(data, chunks=(1700, 2))))
    est = bgmm.GaussianMixture(**SEARCH)
    got = bd._select(est, parts, [1, 2, 3], None, "icl")  # type: ignore[arg-type]
    _same_selection(got, ref)
    assert got[1].selection_.attrs["passes"] == parts.passes
    # 18 fits: each pass serves every fit still polishing, not one
    assert parts.asked >= 4 * parts.passes, (parts.asked, parts.passes)
    # as the user calls it, and the posterior criteria refused
    _same_selection(
        bd.select(da.from_array(data, chunks=(1700, 2)), [1, 2, 3], criterion="icl", **SEARCH),
        ref,
    )
    with pytest.raises(ValueError, match="criterion: 'loo' needs every model's posterior"):
        bd.select(da.from_array(data, chunks=(1700, 2)), [1, 2], criterion="loo")


def _spark_frame(spark: Any, X: np.ndarray, partitions: int) -> Any:
    """X as a Spark DataFrame of ``partitions`` partitions, NaN as null, beside a text column."""
    rows = [
        ("p", None if np.isnan(a) else float(a), None if np.isnan(b) else float(b)) for a, b in X
    ]
    frame = spark.createDataFrame(rows, "label string, x double, y double")
    return frame.repartition(partitions).cache()


@pytest.mark.parametrize("family", ["diagonal", "full", "tied"])
def test_spark_fit_equals_the_fit_in_memory(spark: Any, family: str) -> None:
    X = clusters(4000, 3, missing=0.04)
    frame = _spark_frame(spark, X, 3)
    # the rows in the order the partitions hold them (repartition shuffles)
    held = np.array([[r["x"], r["y"]] for r in frame.collect()], dtype=np.float64)
    ref = bgmm.GaussianMixture(3, covariance=family, **SEARCH).fit(held)
    est = bd.fit(frame, 3, covariance=family, **SEARCH)
    assert list(est.feature_names_in_) == ["x", "y"]
    _same_fit(est, ref, held)


def test_spark_predictions_are_columns(spark: Any) -> None:
    X = clusters(4000, 5)
    frame = _spark_frame(spark, X, 2)
    held = np.array([[r["x"], r["y"]] for r in frame.collect()], dtype=np.float64)
    est = bd.fit(frame, 3, covariance="full", **SEARCH)
    out = bd.predict_proba(est, bd.predict(est, frame)).collect()
    assert [f for f in out[0].asDict()] == ["label", "x", "y", "component", "p0", "p1", "p2"]
    z = np.array([r["component"] for r in out])
    p = np.array([[r["p0"], r["p1"], r["p2"]] for r in out])
    plain = bd._plain(est)
    assert np.array_equal(z, plain.predict(held))
    np.testing.assert_allclose(p, plain.predict_proba(held), rtol=1e-12)
    dens = np.array([r["log_density"] for r in bd.score_samples(est, frame).collect()])
    np.testing.assert_allclose(dens, plain.score_samples(held), rtol=1e-12)


def test_threads_do_not_change_the_fit(client: Any, data: np.ndarray) -> None:
    """Two fits at once from two driver threads: each as alone."""
    import dask.array as da

    out: dict = {}

    def one(name: str, family: str) -> None:
        out[name] = bd.fit(da.from_array(data, chunks=(2000, 2)), 3, covariance=family, **SEARCH)

    ts = [threading.Thread(target=one, args=(f, f)) for f in ("diagonal", "tied")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for f in ("diagonal", "tied"):
        alone = bd.fit(da.from_array(data, chunks=(2000, 2)), 3, covariance=f, **SEARCH)
        assert out[f].loss_ == alone.loss_


def test_spark_select_equals_the_selection_in_memory(spark: Any) -> None:
    X = clusters(4000, 6, missing=0.04)
    frame = _spark_frame(spark, X, 3)
    held = np.array([[r["x"], r["y"]] for r in frame.collect()], dtype=np.float64)
    families = ["diagonal", "tied", "full"]
    ref = bgmm.select(held, k=[1, 2, 3], covariance=families, **SEARCH)
    got = bd.select(frame, [1, 2, 3], covariance=families, **SEARCH)
    _same_selection(got, ref)
    assert list(got[1].feature_names_in_) == ["x", "y"]
