"""The scale run of bgmm.distributed (a benchmark, not a test): N points (D = 2, K = 5) in
Parquet partitions, fitted with full covariances by bgmm on a Dask LocalCluster and on a local
Spark session, next to Spark MLlib's GaussianMixture (k = 5, full covariance, one random start
per seed) on the same Spark session. Prints a JSON line per run and a Markdown table.

    python python/benchmarks/distributed_scale.py --n 1e7 --partitions 20 --dir /tmp/scale

The data: means uniform on [-10, 10]², standard deviations uniform on [0.5, 2], weights
(1 + g)/Σ(1 + g) with g uniform (the recipe of the peers' ``sklearn_scale`` generator), drawn
with numpy's PCG64 from ``--seed``, partition p from stream ``seed + 1 + p``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

K, D = 5, 2


def truth(seed: int) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = -10 + 20 * rng.random((K, D))
    sds = 0.5 + 1.5 * rng.random((K, D))
    g = rng.random(K)
    return {"means": means, "sds": sds, "weights": (1 + g) / np.sum(1 + g)}


def write(n: int, partitions: int, out: Path, seed: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    t = truth(seed)
    per = [n // partitions + (1 if p < n % partitions else 0) for p in range(partitions)]
    for p, m in enumerate(per):
        path = out / f"part-{p:05d}.parquet"
        if path.exists():
            continue
        rng = np.random.default_rng(seed + 1 + p)
        z = rng.choice(K, size=m, p=t["weights"])
        x = t["means"][z] + t["sds"][z] * rng.standard_normal((m, D))
        tmp = path.with_suffix(".tmp")
        pq.write_table(pa.table({"x": x[:, 0], "y": x[:, 1]}), tmp)
        os.replace(tmp, path)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def local_cluster() -> Any:
    """The benchmark's Dask cluster: 2 worker processes × 1 thread."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)


def run_dask(path: Path, n: int, seed: int) -> Dict[str, Any]:
    import dask.dataframe as dd
    from distributed import Client

    import bgmm.distributed as bd

    with (
        local_cluster() as cluster,
        Client(cluster) as client,
    ):
        t0 = time.perf_counter()
        df = dd.read_parquet(str(path))
        est = bd.fit(df, K, covariance="full", random_state=seed)
        wall = time.perf_counter() - t0
        rss = client.run(peak_rss_mb)
    return {
        "engine": "bgmm on Dask (LocalCluster, 2 workers × 1 thread)",
        "seed": seed,
        "wall_s": wall,
        "mean_loglik": est.loglik_ / n,
        "passes": est.n_iter_,
        "peak_worker_rss_mb": max(rss.values()),
        "weights": sorted(est.weights_.round(4).tolist()),
    }


def run_dask_select(path: Path, n: int, seed: int, ks: List[int]) -> List[Dict[str, Any]]:
    """bgmm.distributed.select over ``ks`` × (diagonal, tied, full) on Dask, its fits sharing
    the passes; then the same pairs each fitted alone by bgmm.distributed.fit, one after
    another (what a user would do without it); then bgmm.select of the data in memory."""
    import dask.dataframe as dd
    from distributed import Client

    import bgmm
    import bgmm.distributed as bd

    families = ["diagonal", "tied", "full"]
    out = []
    with (
        local_cluster() as cluster,
        Client(cluster),
    ):
        df = dd.read_parquet(str(path)).persist()
        t0 = time.perf_counter()
        wide, best = bd.select(df, ks, covariance=families, random_state=seed, persist=False)
        wall = time.perf_counter() - t0
        out.append(
            {
                "engine": "bgmm.distributed.select on Dask (passes shared)",
                "seed": seed,
                "wall_s": wall,
                "passes": best.selection_.attrs["passes"],
                "best": f"{best.covariance},{best.n_components}",
                "bic": wide.round(1).to_dict(),
            }
        )
        print(json.dumps(out[-1]), flush=True)
        parts = bd.partitions(df, persist=False)
        passes = {"n": 0}
        stats = parts.stats

        def counted(asks: List[Any]) -> List[str]:
            passes["n"] += 1
            return stats(asks)

        parts.stats = counted  # type: ignore[method-assign]
        t0 = time.perf_counter()
        for k in ks:
            for f in families:
                try:
                    bd._fit(bgmm.GaussianMixture(k, covariance=f, random_state=seed), parts)
                except (RuntimeError, ValueError):  # no proper mode: select says so too
                    pass
        out.append(
            {
                "engine": "bgmm.distributed.fit of each pair, one after another",
                "seed": seed,
                "wall_s": time.perf_counter() - t0,
                "passes": passes["n"],
            }
        )
        print(json.dumps(out[-1]), flush=True)
        X = df.compute().to_numpy(dtype=np.float64)
    t0 = time.perf_counter()
    wide_mem, best_mem = bgmm.select(X, ks, covariance=families, random_state=seed)
    out.append(
        {
            "engine": "bgmm.select of the data in memory",
            "seed": seed,
            "wall_s": time.perf_counter() - t0,
            "best": f"{best_mem.covariance},{best_mem.n_components}",
            "max_rel_diff": float(
                np.nanmax(
                    np.abs(wide.to_numpy() - wide_mem.to_numpy()) / np.abs(wide_mem.to_numpy())
                )
            ),
        }
    )
    print(json.dumps(out[-1]), flush=True)
    return out


def spark_session(memory: str) -> Any:
    import sys

    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers' Python, where bgmm is
    s = (
        SparkSession.builder.master("local[2]")
        .appName("bgmm-scale")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", memory)
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    return s


def run_spark(spark: Any, path: Path, n: int, seed: int) -> Dict[str, Any]:
    import bgmm.distributed as bd

    df = spark.read.parquet(str(path)).cache()
    df.count()
    t0 = time.perf_counter()
    est = bd.fit(df, K, covariance="full", random_state=seed, persist=False)
    wall = time.perf_counter() - t0
    df.unpersist()
    return {
        "engine": "bgmm on Spark (local[2])",
        "seed": seed,
        "wall_s": wall,
        "mean_loglik": est.loglik_ / n,
        "passes": est.n_iter_,
        "weights": sorted(est.weights_.round(4).tolist()),
    }


def run_mllib(spark: Any, path: Path, n: int, seed: int) -> Dict[str, Any]:
    from pyspark.ml.clustering import GaussianMixture
    from pyspark.ml.feature import VectorAssembler

    df = spark.read.parquet(str(path))
    feats = VectorAssembler(inputCols=["x", "y"], outputCol="features").transform(df).cache()
    feats.count()
    t0 = time.perf_counter()
    model = GaussianMixture(k=K, seed=seed, maxIter=100, tol=0.01).fit(feats)
    wall = time.perf_counter() - t0
    ll = model.summary.logLikelihood
    iters = model.summary.numIter
    feats.unpersist()
    return {
        "engine": "Spark MLlib GaussianMixture (local[2])",
        "seed": seed,
        "wall_s": wall,
        "mean_loglik": ll / n,
        "passes": iters,
        "weights": sorted(np.round(model.weights, 4).tolist()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=float, default=1e7)
    ap.add_argument("--partitions", type=int, default=20)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/bgmm-scale"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=3, help="fits per engine")
    ap.add_argument("--first-seed", type=int, default=0, help="the fits' seeds start here")
    ap.add_argument("--engines", default="dask,spark,mllib")
    ap.add_argument("--spark-memory", default="8g")
    ap.add_argument("--out", type=Path)
    ap.add_argument(
        "--select", type=int, default=0, help="run select over K = 1..SELECT on Dask instead"
    )
    a = ap.parse_args()
    n = int(a.n)
    path = a.dir / f"n{n}-p{a.partitions}-s{a.seed}"
    t0 = time.perf_counter()
    write(n, a.partitions, path, a.seed)
    print(
        f"data: {n} points in {a.partitions} Parquet files at {path} ({time.perf_counter() - t0:.0f} s)"
    )
    engines = a.engines.split(",")
    rows: List[Dict[str, Any]] = []
    machine = (
        f"{platform.node()} {os.cpu_count()} cores {platform.processor() or platform.machine()}"
    )
    if a.select:
        ks = list(range(1, a.select + 1))
        rows = run_dask_select(path, n, a.first_seed, ks)
        print(f"\nselect over K = 1–{a.select} × (diagonal, tied, full), N = {n:.0e}; {machine}\n")
        print("| engine | wall (s) | passes over the data |")
        print("|---|---|---|")
        for r in rows:
            print(f"| {r['engine']} | {r['wall_s']:.1f} | {r.get('passes', '')} |")
        if a.out:
            a.out.write_text(json.dumps({"n": n, "machine": machine, "rows": rows}))
        return
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        if "dask" in engines:
            rows.append(run_dask(path, n, seed))
            print(json.dumps(rows[-1]), flush=True)
    if "spark" in engines or "mllib" in engines:
        spark = spark_session(a.spark_memory)
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            if "spark" in engines:
                rows.append(run_spark(spark, path, n, seed))
                print(json.dumps(rows[-1]), flush=True)
            if "mllib" in engines:
                rows.append(run_mllib(spark, path, n, seed))
                print(json.dumps(rows[-1]), flush=True)
        spark.stop()
    best = max(r["mean_loglik"] for r in rows)
    print(f"\nN = {n:.0e}, D = {D}, K = {K}, {a.partitions} partitions; {machine}\n")
    print("| engine | seed | wall (s) | mean log lik | below the best | polish or EM iterations |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['engine']} | {r['seed']} | {r['wall_s']:.1f} | {r['mean_loglik']:.6f} | "
            f"{best - r['mean_loglik']:.2e} | {r['passes']} |"
        )
    if a.out:
        a.out.write_text(
            json.dumps({"n": n, "partitions": a.partitions, "machine": machine, "rows": rows})
        )


if __name__ == "__main__":
    main()
