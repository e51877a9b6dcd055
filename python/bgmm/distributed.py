"""The MAP fit of data that outgrow one machine, on Dask or Spark.

``bgmm.distributed.fit(data, n_components, ...)`` fits a ``dask.array.Array``, a
``dask.dataframe.DataFrame`` or a ``pyspark.sql.DataFrame`` and returns the same fitted
:class:`bgmm.GaussianMixture` that ``GaussianMixture(...).fit(X)`` returns for the data in memory:
the same search on the same evenly spaced subsample (``subsample`` points, gathered to the
driver), then the L-BFGS polish on all the data, each of its passes a map over the partitions
(the Rust kernel on each block, or on each Arrow batch) and a reduction of the statistics
(K·D² numbers at most), merged in partition order. Same seed and same partitioning: the same
bits; another partitioning: the same mode, to rounding.

``select`` chooses the number of components and the family as :func:`bgmm.select` does, the
fits of every model sharing each pass over the data.

``predict``, ``predict_proba`` and ``score_samples`` map a fitted estimator over the partitions
and return a Dask array or a Spark DataFrame with the new columns.

Missing values are NaN (Dask) or null (Spark), as in the estimator.
"""

from __future__ import annotations

import json
import warnings
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import pandas as pd

from . import _bgmm
from ._estimator import GaussianMixture, _family, _model_args

if TYPE_CHECKING:  # pragma: no cover
    import dask.array as da

__all__ = ["fit", "select", "predict", "predict_proba", "score_samples"]


def fit(
    data: Any,
    n_components: int = 1,
    *,
    covariance: str = "diagonal",
    model: Any = None,
    columns: Optional[Sequence[str]] = None,
    split_every: int = 8,
    persist: bool = True,
    **search: Any,
) -> GaussianMixture:
    """The MAP of a Bayesian Gaussian mixture of data on Dask or Spark.

    Parameters
    ----------
    data : dask.array.Array, dask.dataframe.DataFrame or pyspark.sql.DataFrame
        Rows are points. A DataFrame's ``columns`` (default: every numeric column) are cast to
        float64; NaN and nulls are missing values.
    n_components, covariance, model
        As :class:`bgmm.GaussianMixture`.
    columns : sequence of str, optional
        The DataFrame columns to fit.
    split_every : int
        Fan-in of the reduction tree that merges the partitions' statistics (Dask).
    persist : bool
        Keep the data in the workers' memory for the passes of the polish (Dask ``persist``,
        Spark ``cache``); without, every pass reads the data from their source again.
    **search
        Any other :class:`bgmm.GaussianMixture` parameter (``random_state``, ``n_restarts``,
        ``subsample``, ``resolution``, ...).

    Returns
    -------
    GaussianMixture
        Fitted, as ``GaussianMixture(...).fit`` fits it; ``fit_["history"]["subsample"]``
        says how many points the search ran on.
    """
    est = GaussianMixture(n_components, covariance=covariance, model=model, **search)
    parts = partitions(data, columns=columns, split_every=split_every, persist=persist)
    return _fit(est, parts)


def select(
    data: Any,
    k: Union[int, Iterable[int]] = range(1, 10),
    covariance: Optional[Union[str, Sequence[str]]] = None,
    criterion: str = "bic",
    *,
    columns: Optional[Sequence[str]] = None,
    split_every: int = 8,
    persist: bool = True,
    **search: Any,
) -> Tuple[pd.DataFrame, GaussianMixture]:
    """:func:`bgmm.select` of data on Dask or Spark: the MAP of the default model for every
    number of components in ``k`` and family in ``covariance``, each fitted as :func:`fit` fits
    it, all at once, their passes over the data shared (each pass computes the statistics of
    every model still being polished, so the passes are those of the slowest fit, not their
    sum), then one more shared pass for the log likelihood and the ICL's classification entropy
    at each MAP. Ranked by ``criterion``: ``"bic"``, ``"icl"`` or ``"aic"`` (the posterior
    criteria need every model sampled, which is not done on a cluster).

    Returns the table (criterion by K × family, lower is better) and the best model as a fitted
    :class:`GaussianMixture`, its ``selection_`` the long table of every pair, as
    :func:`bgmm.select`; ``selection_.attrs["passes"]`` counts the passes over the data.
    ``search`` takes the estimator's search parameters (``random_state``, ``n_restarts``,
    ``subsample``, ...)."""
    if str(criterion).lower() in ("loo", "waic", "evidence"):
        raise ValueError(
            f"criterion: '{criterion}' needs every model's posterior, which is not sampled for "
            "data on Dask or Spark: use 'bic', 'icl' or 'aic'"
        )
    est = GaussianMixture(**search)
    _check_search(est)
    parts = partitions(data, columns=columns, split_every=split_every, persist=persist)
    return _select(est, parts, k, covariance, criterion)


def _select(
    est: GaussianMixture,
    parts: "_Partitions",
    k: Union[int, Iterable[int]],
    covariance: Optional[Union[str, Sequence[str]]],
    criterion: str,
) -> Tuple[pd.DataFrame, GaussianMixture]:
    from ._select import best_of, families_of

    ks = [int(k)] if isinstance(k, (int, np.integer)) else [int(v) for v in k]
    out = _bgmm.select_partitioned(
        parts, ks, families_of(covariance), str(criterion).lower(), est._search_args()
    )
    wide, best = best_of(out, est, parts.names)
    best.selection_.attrs["passes"] = json.loads(out["selection"]).get("passes")
    return wide, best


def _check_search(est: GaussianMixture) -> None:
    """The search's counts checked as the estimator checks them."""
    for name in ("n_restarts", "n_candidates", "steps", "subsample"):
        est._check_int(name, getattr(est, name), 0)


def _fit(est: GaussianMixture, parts: "_Partitions") -> GaussianMixture:
    est._check_int("n_components", est.n_components, 1)
    _check_search(est)
    model_json, model_path = _model_args(est.model)
    summary = parts.summary()
    fit_json, spec_json, loglik = _bgmm.fit_partitioned(
        parts,
        summary,
        int(est.n_components),
        _family(est.covariance),
        model_json,
        model_path,
        est._search_args(),
    )
    est._set_fit(json.loads(fit_json), spec_json, loglik)
    if parts.names is not None:
        est.feature_names_in_ = np.asarray(parts.names, dtype=object)
    for w in est.fit_.get("warnings", []):
        warnings.warn(w, RuntimeWarning, stacklevel=3)
    return est


class _Partitions:
    """What the native search asks of partitioned data (see ``bgmm.Partitioned`` in the Rust
    core): the merged summary (JSON, computed once), rows by global index, and the merged
    statistics for a batch of requests (of one fit's polish, or of every fit of a selection),
    in one pass."""

    names: Optional[List[str]] = None

    def summary(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def rows(self, idx: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def stats(self, asks: List[Tuple[str, str]]) -> List[str]:  # pragma: no cover - abstract
        """For each ask (a model and a request, as JSON), the merged statistics, all in one
        pass over the data."""
        raise NotImplementedError


def partitions(
    data: Any,
    *,
    columns: Optional[Sequence[str]] = None,
    split_every: int = 8,
    persist: bool = True,
) -> _Partitions:
    """The partitions of ``data`` (see :func:`fit`) as the search reaches them."""
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"split_every must be an integer at least 2, got {split_every!r}")
    kind = _kind(data)
    if kind == "spark":
        return _SparkPartitions(data, columns, persist)
    arr, names = _dask_array(data, columns, kind)
    return _DaskPartitions(arr, names, split_every, persist)


def _kind(data: Any) -> str:
    module = type(data).__module__
    if module.startswith("pyspark"):
        return "spark"
    if module.startswith("dask"):
        import dask.array as da

        if isinstance(data, da.Array):
            return "dask-array"
        import dask.dataframe as dd

        if isinstance(data, dd.DataFrame):
            return "dask-dataframe"
    raise TypeError(
        "data must be a dask.array.Array, a dask.dataframe.DataFrame or a pyspark.sql.DataFrame, "
        f"got {type(data).__module__}.{type(data).__name__} (for data in memory use GaussianMixture.fit)"
    )


def _numeric_columns(names: Sequence[str], is_numeric: Callable[[str], bool]) -> List[str]:
    """The numeric columns, in order."""
    cols = [c for c in names if is_numeric(c)]
    if not cols:
        raise ValueError("data have no numeric column")
    return cols


def _chosen(columns: Optional[Sequence[str]], available: Sequence[str]) -> Optional[List[str]]:
    if columns is None:
        return None
    if isinstance(columns, str):
        columns = [columns]
    missing = [c for c in columns if c not in available]
    if missing:
        raise ValueError(
            f"columns: {', '.join(map(repr, missing))} not in the data (its columns: {', '.join(map(str, available))})"
        )
    if not columns:
        raise ValueError("columns: none chosen")
    return list(columns)


def _dask_array(
    data: Any, columns: Optional[Sequence[str]], kind: str
) -> Tuple["da.Array", Optional[List[str]]]:
    """The data as a 2-D float64 dask array with one block of columns, and the DataFrame's
    column names."""
    import dask.array as da

    names: Optional[List[str]] = None
    if kind == "dask-dataframe":
        cols = _chosen(columns, [str(c) for c in data.columns])
        if cols is None:
            cols = [str(c) for c in data.select_dtypes("number").columns]
            if not cols:
                raise ValueError("data have no numeric column")
        names = cols
        arr = data[cols].astype("float64").to_dask_array(lengths=True)
    else:
        if columns is not None:
            raise ValueError(
                "columns: only for a DataFrame (a dask array's columns are all fitted)"
            )
        arr = data
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"data must be 2-D (rows: points), got {arr.ndim} dimensions")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"data must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if any(np.isnan(c) for c in arr.chunks[0]):
        arr = arr.compute_chunk_sizes()
    return da.Array.rechunk(arr, {1: -1}), names


def _tree(nodes: List[Any], merge: Callable[[List[Any]], Any], split_every: int) -> Any:
    """Merge delayed values in their order, ``split_every`` at a time, up a tree."""
    import dask

    while len(nodes) > 1:
        nodes = [
            dask.delayed(merge, pure=True)(nodes[i : i + split_every])
            for i in range(0, len(nodes), split_every)
        ]
    return nodes[0]


def _take(block: np.ndarray, local: np.ndarray) -> np.ndarray:
    return np.asarray(block, dtype=np.float64)[local]


class _DaskPartitions(_Partitions):
    def __init__(
        self, arr: "da.Array", names: Optional[List[str]], split_every: int, persist: bool
    ) -> None:
        if persist:
            arr = arr.persist()
        self.arr = arr
        self.names = names
        self.split_every = split_every
        sizes = [int(s) for s in arr.chunks[0]]
        blocks = list(arr.to_delayed().ravel())
        self.blocks = [b for b, s in zip(blocks, sizes) if s > 0]
        self.sizes = [s for s in sizes if s > 0]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        if not self.blocks:
            raise ValueError("data have no points")
        self._summary: Optional[str] = None

    def summary(self) -> str:
        import dask

        if self._summary is None:
            parts = [dask.delayed(_bgmm.partition_summary, pure=True)(b) for b in self.blocks]
            (self._summary,) = dask.compute(_tree(parts, _bgmm.merge_summaries, self.split_every))
        return self._summary

    def rows(self, idx: np.ndarray) -> np.ndarray:
        import dask

        idx = np.asarray(idx, dtype=np.int64)
        block = np.searchsorted(self.offsets, idx, side="right") - 1
        pieces = []
        for b in np.unique(block):
            local = idx[block == b] - self.offsets[b]
            pieces.append(dask.delayed(_take, pure=True)(self.blocks[b], local))
        arrays = dask.compute(*pieces)
        return np.ascontiguousarray(np.concatenate(arrays, axis=0))

    def stats(self, asks: List[Tuple[str, str]]) -> List[str]:
        import dask

        # one key: sent to a worker once, not with every block's task
        a = dask.delayed(list(asks), pure=True)
        parts = [dask.delayed(_block_stats, pure=True)(a, b) for b in self.blocks]
        (out,) = dask.compute(_tree(parts, _merge_each, self.split_every))
        return [str(t) for t in out]


def _block_stats(asks: List[Tuple[str, str]], block: np.ndarray) -> List[str]:
    """A block's statistics for every ask, in one visit of its data."""
    return [_bgmm.partition_stats(model, request, block) for model, request in asks]


def _merge_each(parts: List[List[str]]) -> List[str]:
    """Lists of statistics (one per ask) merged ask by ask, in the order given."""
    return [_bgmm.merge_stats(list(column)) for column in zip(*parts)]


# ---- Spark ---------------------------------------------------------------------------------


def _arrow_columns(batch: Any) -> List[np.ndarray]:
    """An Arrow batch's columns as float64 arrays (nulls: NaN), without a copy where the
    column has no null."""
    out = []
    for col in batch.columns:
        if col.null_count == 0:
            out.append(col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False))
        else:
            out.append(col.to_numpy(zero_copy_only=False).astype(np.float64))
    return out


def _partition_id() -> int:
    """The Spark partition a task reads."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is None:  # pragma: no cover - only inside a Spark task
        raise RuntimeError("bgmm: not inside a Spark task")
    return int(ctx.partitionId())


class _SparkPartitions(_Partitions):
    """A Spark DataFrame's partitions: each pass a ``mapInArrow`` whose tasks read their Arrow
    batches straight into the kernel and return one summary or statistics per partition
    (indexed by partition), merged on the driver in partition order."""

    def __init__(self, df: Any, columns: Optional[Sequence[str]], persist: bool) -> None:
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        names = list(df.columns)
        cols = _chosen(columns, names)
        if cols is None:
            numeric = {f.name for f in df.schema.fields if isinstance(f.dataType, T.NumericType)}
            cols = _numeric_columns(names, lambda c: c in numeric)
        self.names = [str(c) for c in cols]
        df = df.select([F.col(c).cast("double").alias(c) for c in cols])
        if persist:
            df = df.cache()
        self.df = df
        self._summary: Optional[str] = None
        self._counts: Optional[np.ndarray] = None

    def _per_partition(self, fn: Callable[[Iterator[Any]], Iterator[Any]], schema: str) -> Any:
        return self.df.mapInArrow(fn, schema).collect()

    def summary(self) -> str:
        if self._summary is None:

            def summarise(batches: Iterator[Any]) -> Iterator[Any]:
                import pyarrow as pa

                pid = _partition_id()
                parts, n = [], 0
                for batch in batches:
                    if batch.num_rows:
                        parts.append(_bgmm.partition_summary_columns(_arrow_columns(batch)))
                        n += batch.num_rows
                merged = _bgmm.merge_summaries(parts) if parts else ""
                yield pa.RecordBatch.from_pydict(
                    {"pid": [pid], "n": [n], "summary": [merged]},
                    schema=pa.schema(
                        [("pid", pa.int64()), ("n", pa.int64()), ("summary", pa.string())]
                    ),
                )

            rows = sorted(
                self._per_partition(summarise, "pid long, n long, summary string"),
                key=lambda r: r["pid"],
            )
            counts = np.zeros(max((r["pid"] for r in rows), default=-1) + 1, dtype=np.int64)
            for r in rows:
                counts[r["pid"]] = r["n"]
            self._counts = counts
            texts = [r["summary"] for r in rows if r["n"] > 0]
            if not texts:
                raise ValueError("data have no points")
            self._summary = _bgmm.merge_summaries(texts)
        return self._summary

    def rows(self, idx: np.ndarray) -> np.ndarray:
        self.summary()
        assert self._counts is not None
        offsets = np.concatenate([[0], np.cumsum(self._counts)]).astype(np.int64)
        idx = np.asarray(idx, dtype=np.int64)
        sc = self.df.sparkSession.sparkContext
        wanted = sc.broadcast((offsets, idx))
        d = len(self.names or [])

        def take(batches: Iterator[Any]) -> Iterator[Any]:
            import pyarrow as pa

            pid = _partition_id()
            offs, want = wanted.value
            lo, hi = offs[pid], offs[pid + 1]
            mine = want[(want >= lo) & (want < hi)] - lo
            start = 0  # the batch's first row, within the partition
            for batch in batches:
                n = batch.num_rows
                sel = mine[(mine >= start) & (mine < start + n)] - start
                if sel.size:
                    cols = _arrow_columns(batch)
                    out = {"i": sel + lo + start}
                    for j, c in enumerate(cols):
                        out[f"c{j}"] = c[sel]
                    yield pa.RecordBatch.from_pydict(out)
                start += n

        schema = "i long, " + ", ".join(f"c{j} double" for j in range(d))
        got = self._per_partition(take, schema)
        wanted.unpersist()
        got.sort(key=lambda r: r["i"])
        if len(got) != len(idx):
            raise RuntimeError(f"bgmm: {len(got)} of the {len(idx)} rows asked for came back")
        return np.array([[r[f"c{j}"] for j in range(d)] for r in got], dtype=np.float64).reshape(
            len(got), d
        )

    def stats(self, asks: List[Tuple[str, str]]) -> List[str]:
        sc = self.df.sparkSession.sparkContext
        sent = sc.broadcast(list(asks))

        def compute(batches: Iterator[Any]) -> Iterator[Any]:
            import pyarrow as pa

            pid = _partition_id()
            todo = sent.value
            parts: List[List[str]] = [[] for _ in todo]
            for b in batches:
                if b.num_rows:
                    cols = _arrow_columns(b)
                    for j, (spec, req) in enumerate(todo):
                        parts[j].append(_bgmm.partition_stats_columns(spec, req, cols))
            if parts and parts[0]:
                yield pa.RecordBatch.from_pydict(
                    {
                        "pid": [pid] * len(todo),
                        "ask": list(range(len(todo))),
                        "stats": [_bgmm.merge_stats(p) for p in parts],
                    },
                    schema=pa.schema(
                        [("pid", pa.int64()), ("ask", pa.int64()), ("stats", pa.string())]
                    ),
                )

        rows = self._per_partition(compute, "pid long, ask long, stats string")
        sent.unpersist()
        by_ask: List[List[Tuple[int, str]]] = [[] for _ in asks]
        for r in rows:
            by_ask[r["ask"]].append((r["pid"], r["stats"]))
        return [_bgmm.merge_stats([t for _, t in sorted(col)]) for col in by_ask]


# ---- predictions -----------------------------------------------------------------------------


def _mapped(est: GaussianMixture, data: Any, columns: Optional[Sequence[str]], what: str) -> Any:
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "fit_")
    kind = _kind(data)
    if kind == "spark":
        return _spark_mapped(est, data, columns, what)
    if columns is None and kind == "dask-dataframe" and hasattr(est, "feature_names_in_"):
        columns = [str(c) for c in est.feature_names_in_]
    import dask.array as da

    arr, _ = _dask_array(data, columns, kind)
    if arr.shape[1] != est.n_features_in_:
        raise ValueError(
            f"data have {arr.shape[1]} columns but the estimator was fitted on {est.n_features_in_}"
        )
    k = int(est.weights_.shape[0])

    def block_fn(b: np.ndarray) -> np.ndarray:
        b = np.ascontiguousarray(b, dtype=np.float64)
        if b.shape[0] == 0:
            return np.zeros((0, k)) if what == "predict_proba" else np.zeros((0,))
        if what == "predict":
            return _plain(est).predict(b)
        if what == "predict_proba":
            return _plain(est).predict_proba(b)
        return _plain(est).score_samples(b)

    if what == "predict_proba":
        return da.map_blocks(block_fn, arr, dtype=np.float64, chunks=(arr.chunks[0], (k,)))
    dtype = np.int64 if what == "predict" else np.float64
    return da.map_blocks(block_fn, arr, dtype=dtype, drop_axis=1)


def _plain(est: GaussianMixture) -> GaussianMixture:
    """The estimator without its column names (the blocks are arrays)."""
    if hasattr(est, "feature_names_in_"):
        import copy

        est = copy.copy(est)
        del est.feature_names_in_
    return est


def _spark_mapped(
    est: GaussianMixture, df: Any, columns: Optional[Sequence[str]], what: str
) -> Any:
    from pyspark.sql import types as T

    names = list(df.columns)
    cols = _chosen(columns, names)
    if cols is None:
        if hasattr(est, "feature_names_in_"):
            cols = _chosen([str(c) for c in est.feature_names_in_], names)
        else:
            numeric = {f.name for f in df.schema.fields if isinstance(f.dataType, T.NumericType)}
            cols = _numeric_columns(names, lambda c: c in numeric)
    assert cols is not None
    if len(cols) != est.n_features_in_:
        raise ValueError(
            f"data have {len(cols)} columns but the estimator was fitted on {est.n_features_in_}"
        )
    k = int(est.weights_.shape[0])
    plain = _plain(est)
    idx = [names.index(c) for c in cols]
    out_fields: List[Tuple[str, Any]]
    if what == "predict":
        out_fields = [("component", T.LongType())]
    elif what == "predict_proba":
        out_fields = [(f"p{c}", T.DoubleType()) for c in range(k)]
    else:
        out_fields = [("log_density", T.DoubleType())]
    taken = {name for name, _ in out_fields} & set(names)
    if taken:
        raise ValueError(f"the data already have a column {sorted(taken)[0]!r}")
    schema = T.StructType(list(df.schema.fields) + [T.StructField(n, t) for n, t in out_fields])

    def fn(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            if batch.num_rows == 0:
                continue
            cols_np = _arrow_columns(batch.select(idx))
            x = np.column_stack(cols_np) if cols_np else np.zeros((batch.num_rows, 0))
            arrays = list(batch.columns)
            names_out = list(batch.schema.names)
            if what == "predict":
                arrays.append(pa.array(plain.predict(x).astype(np.int64)))
            elif what == "predict_proba":
                p = plain.predict_proba(x)
                arrays.extend(pa.array(p[:, c]) for c in range(k))
            else:
                arrays.append(pa.array(plain.score_samples(x)))
            names_out.extend(n for n, _ in out_fields)
            yield pa.RecordBatch.from_arrays(arrays, names=names_out)

    return df.mapInArrow(fn, schema)


def predict(est: GaussianMixture, data: Any, *, columns: Optional[Sequence[str]] = None) -> Any:
    """The MAP assignment of every point: a Dask array (int64, one per row) or the Spark
    DataFrame with a ``component`` column."""
    return _mapped(est, data, columns, "predict")


def predict_proba(
    est: GaussianMixture, data: Any, *, columns: Optional[Sequence[str]] = None
) -> Any:
    """p(z = k | x, θ̂): a Dask array (rows × K) or the Spark DataFrame with columns
    ``p0 … p{K-1}``."""
    return _mapped(est, data, columns, "predict_proba")


def score_samples(
    est: GaussianMixture, data: Any, *, columns: Optional[Sequence[str]] = None
) -> Any:
    """log p(x | θ̂) of every point: a Dask array or the Spark DataFrame with a
    ``log_density`` column."""
    return _mapped(est, data, columns, "score_samples")
