"""The cost of calling bgmm from Python next to the same job in the CLI, measured in one run.

    python python/benchmarks/overhead.py [--cli target/release/bgmm] [--repeat 7]

Jobs: the iris fit (seed 002: petal length, examples/models/iris.toml) and seed 003's sampling
(examples/data/numpyro_2500.csv, examples/models/numpyro.toml, 1 chain, 1000 warmup + 2000 draws,
seed 42; the sampler's own MAP search first, as ``bgmm sample`` does), in Python without the
pointwise log likelihood (the CLI computes it only with ``--out``) and with it (the default). Each is timed as the
median wall time of ``--repeat`` runs: the CLI as a whole process (start, reading the CSV, the
job, writing the summary to /dev/null), Python as the method call on data already in memory (the
array conversion, the job, the results into numpy and ArviZ). The CLI's own ``--json`` timing of
the job (``wall_s`` in sampling runs) separates its process and I/O cost from the job.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import pandas as pd

import bgmm

REPO = Path(__file__).resolve().parents[2]


def median_time(f: Callable[[], object], repeat: int) -> float:
    times: List[float] = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(REPO / "target" / "release" / "bgmm"))
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    models = REPO / "examples" / "models"
    with tempfile.TemporaryDirectory() as tmp:
        from sklearn.datasets import load_iris

        petal = load_iris().data[:, 2:3].copy()
        csv = Path(tmp) / "petal.csv"
        csv.write_text("petal_length\n" + "\n".join(repr(float(v)) for v in petal[:, 0]) + "\n")
        data = pd.read_csv(REPO / "examples" / "data" / "numpyro_2500.csv").to_numpy()

        def cli(*args: str) -> str:
            return subprocess.run([a.cli, *args], check=True, capture_output=True, text=True).stdout

        rows = []
        # iris fit
        t_cli = median_time(lambda: cli("fit", str(csv), str(models / "iris.toml")), a.repeat)
        t_py = median_time(
            lambda: bgmm.GaussianMixture(model=models / "iris.toml").fit(petal), a.repeat
        )
        rows.append(("iris fit (seed 002)", t_cli, t_py))
        # seed 003 sampling
        sample_args = [
            "sample",
            str(REPO / "examples" / "data" / "numpyro_2500.csv"),
            str(models / "numpyro.toml"),
            "--chains",
            "1",
            "--warmup",
            "1000",
            "--draws",
            "2000",
            "--seed",
            "42",
            "--quiet",
            "--json",
        ]
        job_s: List[float] = []

        def run_cli() -> None:
            rec = json.loads(cli(*sample_args))
            job_s.append(float(rec.get("wall_s", float("nan"))))

        t_cli_s = median_time(run_cli, max(3, a.repeat // 2))
        est = bgmm.GaussianMixture(model=models / "numpyro.toml")
        # the same work as the CLI without --out (no pointwise log likelihood), then the default
        for ll in (False, True):
            t_py_s = median_time(
                lambda ll=ll: est.sample_posterior(
                    data, chains=1, warmup=1000, draws=2000, random_state=42, log_likelihood=ll
                ),
                max(3, a.repeat // 2),
            )
            what = "with log_likelihood (5e6 values)" if ll else "no log_likelihood"
            rows.append((f"seed 003 sampling, {what}", t_cli_s, t_py_s))
    print(f"{'job':52s} {'CLI (process)':>14s} {'Python call':>12s} {'Python / CLI':>13s}")
    for name, c, p in rows:
        print(f"{name:52s} {c * 1e3:12.1f} ms {p * 1e3:10.1f} ms {p / c:12.3f}")
    if job_s:
        print(
            f"the CLI's own time of the sampling job (wall_s): {statistics.median(job_s) * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()
