"""Posteriors as ArviZ InferenceData: structure, pointwise log likelihood against a dense
mixture, predictive replicates, VI, Ctrl-C, and the same numbers on any number of threads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import arviz as az
import numpy as np
import pandas as pd
import pytest

import bgmm

from test_estimator import dense_log_density


@pytest.fixture(scope="module")
def fitted_petal(petal: np.ndarray) -> bgmm.GaussianMixture:
    return bgmm.GaussianMixture(2, covariance="component").fit(
        pd.DataFrame(petal, columns=["petal_length"])
    )


def test_inference_data_groups_and_dims(
    fitted_petal: bgmm.GaussianMixture, petal: np.ndarray
) -> None:
    X = pd.DataFrame(petal, columns=["petal_length"])
    idata = fitted_petal.sample_posterior(
        X, chains=2, warmup=300, draws=200, random_state=1, posterior_predictive=True
    )
    assert set(idata.groups()) >= {
        "posterior",
        "sample_stats",
        "log_likelihood",
        "observed_data",
        "posterior_predictive",
    }
    post = idata.posterior
    assert post["weights"].dims == ("chain", "draw", "component")
    assert post["locs"].dims == ("chain", "draw", "component", "feature")
    assert post["scale"].dims == ("chain", "draw", "component")
    assert list(post["feature"].values) == ["petal_length"]
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 200
    for v in (
        "lp",
        "diverging",
        "step_size",
        "tree_depth",
        "n_steps",
        "acceptance_rate",
        "energy",
    ):
        assert idata.sample_stats[v].shape == (2, 200), v
    assert idata.log_likelihood["x"].dims == ("chain", "draw", "point")
    assert idata.posterior_predictive["x"].shape == (2, 200, 150, 1)
    assert np.array_equal(idata.observed_data["x"].values, petal)
    # relabelled to the MAP: the first component is the small one in every draw
    assert np.all(post["locs"].values[..., 0, 0] < post["locs"].values[..., 1, 0])
    # ArviZ's own tools take it
    loo = az.loo(idata)
    assert -215 < loo.elpd_loo < -195
    summary = az.summary(idata, var_names=["weights"])
    assert summary["r_hat"].max() < 1.05


@pytest.mark.parametrize("family", ["full", "tied", "dimension", "shared"])
def test_pointwise_log_likelihood_against_a_dense_mixture(blobs: np.ndarray, family: str) -> None:
    X = blobs[::3].copy()
    X[2, 1] = np.nan
    gm = bgmm.GaussianMixture(3, covariance=family, n_restarts=20).fit(X)
    idata = gm.sample_posterior(X, chains=1, warmup=100, draws=20, random_state=2)
    post = idata.posterior
    ll = idata.log_likelihood["x"].values
    for s in (0, 7, 19):
        w = post["weights"].values[0, s]
        mu = post["locs"].values[0, s]
        if family in ("full", "tied"):
            cov = post["cov"].values[0, s]
            cov = cov if family == "full" else np.repeat(cov[None], 3, axis=0)
            corr = post["corr"].values[0, s]
            assert np.allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0)
        else:
            sc = post["scale"].values[0, s]
            sd = {
                "dimension": np.repeat(sc[None], 3, axis=0),
                "shared": np.full((3, 2), sc),
            }[family]
            cov = np.stack([np.diag(v**2) for v in sd])
        want = dense_log_density(X, w, mu, cov)
        assert np.max(np.abs(ll[0, s] - want)) < 1e-9


def test_posterior_predictive_replicates_follow_each_draw(
    fitted_petal: bgmm.GaussianMixture, petal: np.ndarray
) -> None:
    idata = fitted_petal.sample_posterior(
        petal, chains=1, warmup=200, draws=50, random_state=3, posterior_predictive=True
    )
    rep = idata.posterior_predictive["x"].values[0, :, :, 0]  # (draw, point)
    w = idata.posterior["weights"].values[0]
    mu = idata.posterior["locs"].values[0, :, :, 0]
    sd = idata.posterior["scale"].values[0]
    # each replicate's mean is its draw's mixture mean within 4 standard errors
    mean = (w * mu).sum(axis=1)
    var = (w * (sd**2 + mu**2)).sum(axis=1) - mean**2
    z = (rep.mean(axis=1) - mean) / np.sqrt(var / rep.shape[1])
    assert np.max(np.abs(z)) < 4.5
    assert 0.5 < np.std(z) < 1.6


def test_vi_gives_one_chain_near_the_map(
    fitted_petal: bgmm.GaussianMixture, petal: np.ndarray
) -> None:
    idata = fitted_petal.vi(petal, steps=3000, draws=400, random_state=1)
    assert idata.posterior.sizes["chain"] == 1 and idata.posterior.sizes["draw"] == 400
    assert len(idata.attrs["elbo"]) == 3000
    means = idata.posterior["locs"].values[0, :, :, 0].mean(axis=0)
    assert np.max(np.abs(means - fitted_petal.means_[:, 0])) < 0.1
    assert idata.log_likelihood["x"].shape == (1, 400, 150)


def test_options_are_checked(fitted_petal: bgmm.GaussianMixture, petal: np.ndarray) -> None:
    with pytest.raises(ValueError, match="target_accept must be in"):
        fitted_petal.sample_posterior(petal, target_accept=1.5)
    with pytest.raises(ValueError, match="draws must be at least"):
        fitted_petal.sample_posterior(petal, draws=0)
    with pytest.raises(ValueError, match="chains"):
        fitted_petal.sample_posterior(petal, chains=0)
    with pytest.raises(ValueError, match="init: 'random' is not map or prior"):
        fitted_petal.sample_posterior(petal, init="random")


SCRIPT = textwrap.dedent(
    """
    import sys, time, json
    import numpy as np, bgmm
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (3000, 2)), rng.normal(4, 1, (3000, 2))])
    gm = bgmm.GaussianMixture(2, covariance="full", n_restarts=10).fit(X)
    print("ready", flush=True)
    t = time.time()
    try:
        gm.sample_posterior(X, chains=2, warmup=int(sys.argv[1]), draws=100000)
    except KeyboardInterrupt as e:
        kept = getattr(gm, "interrupted_posterior_", None)
        print(json.dumps({"interrupted": time.time() - t, "message": str(e),
                          "kept": None if kept is None else kept.posterior.sizes["draw"]}), flush=True)
        sys.exit(3)
    print("finished", flush=True)
    """
)


@pytest.mark.parametrize("warmup", [100_000, 20])
def test_ctrl_c_stops_a_sampling_run(tmp_path, warmup: int) -> None:  # type: ignore[no-untyped-def]
    """In warmup nothing is kept; after it, the draws so far, as the CLI keeps them."""
    import json

    script = tmp_path / "long.py"
    script.write_text(SCRIPT)
    p = subprocess.Popen(
        [sys.executable, str(script), str(warmup)], stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    t = time.time()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 3, out
    assert time.time() - t < 10
    rec = json.loads(out.strip().splitlines()[-1])
    if warmup > 1000:
        assert rec["kept"] is None
    else:
        assert rec["kept"] >= 1
        assert f"{rec['kept']} of 100000 draws per chain kept" in rec["message"]


DETERMINISM = textwrap.dedent(
    """
    import hashlib, numpy as np, bgmm
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(0, 1, (20000, 3)), rng.normal(3, 1.5, (20000, 3))])
    X[rng.random(X.shape) < 0.05] = np.nan
    gm = bgmm.GaussianMixture(2, covariance="full", n_restarts=20, random_state=5).fit(X)
    idata = gm.sample_posterior(X[:500], chains=2, warmup=100, draws=50, random_state=5)
    h = hashlib.sha256()
    for a in (gm.weights_, gm.means_, gm.covariances_, gm.predict_proba(X), gm.score_samples(X),
              idata.posterior["locs"].values, idata.log_likelihood["x"].values):
        h.update(np.ascontiguousarray(a).tobytes())
    print(h.hexdigest())
    """
)


def test_same_numbers_on_any_number_of_threads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "det.py"
    script.write_text(DETERMINISM)
    digests = []
    for threads in ("1", "2", "5"):
        env = dict(os.environ, RAYON_NUM_THREADS=threads)
        out = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, out.stderr
        digests.append(out.stdout.strip())
    assert digests[0] == digests[1] == digests[2]


def test_progress_reports_every_chain_to_its_end(
    fitted_petal: bgmm.GaussianMixture, petal: np.ndarray
) -> None:
    from bgmm import _bgmm

    calls: list = []
    out = _bgmm.sample_posterior(
        petal,
        fitted_petal._spec_json,
        fitted_petal._params_json,
        3,
        200,
        300,
        1,
        0.8,
        10,
        False,
        "map",
        False,
        False,
        lambda done, div: calls.append((list(done), list(div))),
    )
    assert calls, "the progress callable was never called"
    assert calls[-1][0] == [500, 500, 500]
    for c in range(3):
        seq = [done[c] for done, _ in calls]
        assert seq == sorted(seq)
    assert sum(calls[-1][1]) == json.loads(out["record"])["divergences"]
    # the bars, through the public API
    idata = fitted_petal.sample_posterior(petal, chains=2, warmup=100, draws=100, progress=True)
    assert idata.posterior.sizes["draw"] == 100
