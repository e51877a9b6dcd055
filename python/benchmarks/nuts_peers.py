"""Seed 003's NUTS job side by side: bgmm, NumPyro and nutpie in one run (issue 18).

The NumPyro notebook's model (Dirichlet(1) weights, Normal(0, 10) locations, HalfCauchy(10)
scales, assignments summed out) on its 2500 points, one chain of 1000 warmup + 2000 draws,
repeated with seeds 0 .. reps-1, the engines interleaved in every repetition so that they share
the machine's state. Every engine's draws go through the same estimator: ArviZ's bulk ESS of
the weights, locations and scales with the components sorted by location in every draw, the
minimum over the nine.

Times: bgmm, the library's `sample` call (the MAP start, warmup, draws, summary; the CLI's
`wall_s`); NumPyro, the wall time of `MCMC.run` less the seconds jax spent compiling in it (it
recompiles the sampling loop on every run), after a first run that compiles the model; nutpie,
the `nutpie.sample` call after `compile_pymc_model`.

Needs numpyro, jax, pymc, nutpie and arviz (not the bgmm package: bgmm runs as its CLI):

    python -m venv venv-peers && venv-peers/bin/pip install numpyro jax pymc nutpie arviz
    cargo build --release
    venv-peers/bin/python python/benchmarks/nuts_peers.py --bgmm target/release/bgmm --reps 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data" / "numpyro_2500.csv"
MODEL = ROOT / "examples" / "models" / "numpyro.toml"
K, WARMUP, DRAWS = 3, 1000, 2000


def sorted_min_ess(w: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> float:
    """Minimum bulk ESS of one chain's (draws × K) arrays, components sorted by location."""
    order = np.argsort(mu, axis=-1)
    values = {
        name: np.take_along_axis(v, order, axis=-1)[None]
        for name, v in (("w", w), ("mu", mu), ("sigma", sigma))
    }
    ess = az.ess(az.convert_to_dataset(values), method="bulk")
    return float(min(float(ess[v].values.min()) for v in ess.data_vars))


def run_bgmm(cli: str, seed: int, extra: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [cli, "sample", str(DATA), str(MODEL), "--chains", "1", "--warmup", str(WARMUP)]
            + ["--draws", str(DRAWS), "--seed", str(seed), "--quiet", "--out", out]
            + extra,
            check=True,
            capture_output=True,
        )
        summary = json.loads(Path(out, "summary.json").read_text())
        post = az.from_cmdstan(str(Path(out, "raw-chain-0.csv")))["posterior"]
        w, mu, sigma = (np.asarray(post[v].values[0]) for v in ("weights", "locs", "scale"))
    chain = summary["chains"][0]
    return {
        "seconds": summary["wall_s"],
        "min_ess": sorted_min_ess(w, mu, sigma),
        "leapfrog": chain["mean_leapfrog"],
        "step_size": chain["step_size"],
        "divergences": summary["divergences"],
    }


class NumPyro:
    def __init__(self, x: np.ndarray) -> None:
        import jax
        import jax.numpy as jnp
        import numpyro
        import numpyro.distributions as dist
        from numpyro.infer import MCMC, NUTS

        self.jax, self.x = jax, jnp.asarray(x)
        self.compile_s = 0.0

        def listen(name: str, secs: float, **_: Any) -> None:
            if name.startswith("/jax/core/compile/"):
                self.compile_s += secs

        jax.monitoring.register_event_duration_secs_listener(listen)

        def model(x: Any) -> None:
            w = numpyro.sample("w", dist.Dirichlet(jnp.ones(K)))
            with numpyro.plate("k", K):
                loc = numpyro.sample("loc", dist.Normal(0.0, 10.0))
                scale = numpyro.sample("scale", dist.HalfCauchy(10.0))
            with numpyro.plate("data", x.shape[0]):
                mix = dist.MixtureSameFamily(dist.Categorical(probs=w), dist.Normal(loc, scale))
                numpyro.sample("x", mix, obs=x)

        self.mcmc = MCMC(
            NUTS(model),
            num_warmup=WARMUP,
            num_samples=DRAWS,
            num_chains=1,
            progress_bar=False,
            jit_model_args=True,
        )
        self.run(10_000)  # compiles the model

    def run(self, seed: int) -> dict[str, Any]:
        c0, t0 = self.compile_s, time.perf_counter()
        fields = ("diverging", "num_steps", "adapt_state.step_size")
        self.mcmc.run(self.jax.random.PRNGKey(seed), self.x, extra_fields=fields)
        self.jax.block_until_ready(self.mcmc.get_samples())
        wall = time.perf_counter() - t0
        s = {k: np.asarray(v, dtype=np.float64) for k, v in self.mcmc.get_samples().items()}
        ef = self.mcmc.get_extra_fields()
        return {
            "seconds": wall - (self.compile_s - c0),
            "seconds_with_compile": wall,
            "min_ess": sorted_min_ess(s["w"], s["loc"], s["scale"]),
            "leapfrog": float(np.mean(ef["num_steps"])),
            "step_size": float(np.asarray(ef["adapt_state.step_size"])[-1]),
            "divergences": int(np.sum(ef["diverging"])),
        }


class Nutpie:
    def __init__(self, x: np.ndarray) -> None:
        import nutpie
        import pymc as pm

        with pm.Model() as model:
            w = pm.Dirichlet("w", a=np.ones(K))
            mu = pm.Normal("mu", 0.0, 10.0, shape=K)
            sigma = pm.HalfCauchy("sigma", 10.0, shape=K)
            pm.NormalMixture("x", w=w, mu=mu, sigma=sigma, observed=x)
        self.nutpie = nutpie
        self.compiled = nutpie.compile_pymc_model(model)

    def run(self, seed: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        idata = self.nutpie.sample(
            self.compiled, draws=DRAWS, tune=WARMUP, chains=1, seed=seed, progress_bar=False
        )
        wall = time.perf_counter() - t0
        p, ss = idata.posterior, idata.sample_stats
        v = {name: np.asarray(p[name].values[0], dtype=np.float64) for name in ("w", "mu", "sigma")}
        return {
            "seconds": wall,
            "min_ess": sorted_min_ess(v["w"], v["mu"], v["sigma"]),
            "leapfrog": float(ss["n_steps"].values.mean()),
            "step_size": float(ss["step_size"].values[0, -1]),
            "divergences": int(ss["diverging"].values.sum()),
        }


def median(runs: list[dict[str, Any]], field: str) -> float:
    return float(statistics.median(r[field] for r in runs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bgmm", required=True, help="the bgmm CLI binary")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument(
        "--bgmm-settings",
        default="default;--low-rank",
        help="bgmm's settings to compare, ';'-separated ('default' for none)",
    )
    ap.add_argument("--out", help="write every run as JSON here")
    a = ap.parse_args()
    x = np.loadtxt(DATA, skiprows=1)
    settings = [s.split() if s != "default" else [] for s in a.bgmm_settings.split(";")]
    engines: dict[str, Any] = {}
    for name, make in (("NumPyro", NumPyro), ("nutpie", Nutpie)):
        t0 = time.perf_counter()
        engines[name] = make(x)
        print(f"{name}: set up and compiled in {time.perf_counter() - t0:.1f} s", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {}
    for seed in range(a.reps):
        for s in settings:
            key = "bgmm " + (" ".join(s) or "default")
            runs.setdefault(key, []).append(run_bgmm(a.bgmm, seed, s))
        for name, eng in engines.items():
            runs.setdefault(name, []).append(eng.run(seed))
        print(f"repetition {seed + 1} of {a.reps} done", flush=True)
    base = median(runs["NumPyro"], "seconds")
    base_ess_s = statistics.median(r["min_ess"] / r["seconds"] for r in runs["NumPyro"])
    print(
        f"\nmedians of {a.reps} runs, 1 chain × ({WARMUP} + {DRAWS}), load {os.getloadavg()[0]:.2f}"
    )
    print(
        "| engine | seconds | min bulk ESS (sorted) | ESS per draw | leapfrog per draw "
        "| step size | ESS/s | NumPyro's seconds / engine's | engine's ESS/s / NumPyro's |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for key, rs in runs.items():
        secs, ess = median(rs, "seconds"), median(rs, "min_ess")
        ess_s = statistics.median(r["min_ess"] / r["seconds"] for r in rs)
        print(
            f"| {key} | {secs:.3f} | {ess:.0f} | {ess / DRAWS:.2f} | {median(rs, 'leapfrog'):.2f} "
            f"| {median(rs, 'step_size'):.3f} | {ess_s:.0f} | {base / secs:.1f}× "
            f"| {ess_s / base_ess_s:.1f}× |"
        )
    if a.out:
        Path(a.out).write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
