"""The same numbers as the CLI: a fit, posterior draws, plug-in predictive data, a selection,
to the last bit where the computation is the same; and what the CLI writes read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bgmm

from conftest import write_csv


@pytest.fixture()
def data_2d(tmp_path: Path, blobs: np.ndarray):  # type: ignore[no-untyped-def]
    X = blobs.copy()
    X[[4, 40, 140], [0, 1, 0]] = np.nan  # missing values travel both ways
    return X, write_csv(tmp_path / "blobs.csv", X, ["a", "b"])


@pytest.mark.parametrize("family", ["full", "diagonal", "component"])
def test_fit_equals_the_cli_bit_for_bit(cli, tmp_path: Path, data_2d, family: str) -> None:  # type: ignore[no-untyped-def]
    X, csv = data_2d
    out = tmp_path / "fit"
    cli(
        "fit",
        str(csv),
        "-k",
        "3",
        "--covariance",
        family,
        "--seed",
        "11",
        "--restarts",
        "30",
        "--out",
        str(out),
    )
    rec = json.loads((out / "fit.json").read_text())
    gm = bgmm.GaussianMixture(3, covariance=family, random_state=11, n_restarts=30).fit(
        pd.DataFrame(X, columns=["a", "b"])
    )
    assert gm.loss_ == rec["loss"]
    assert gm.loglik_ == rec["loglik"]
    # the record's shaped parameters, read back by bgmm.read, are the estimator's exactly
    back = bgmm.read(out)
    assert isinstance(back, bgmm.GaussianMixture)
    assert back.loss_ == gm.loss_
    assert np.array_equal(back.weights_, gm.weights_)
    assert np.array_equal(back.means_, gm.means_)
    assert np.array_equal(back.covariances_, gm.covariances_)
    assert list(back.feature_names_in_) == ["a", "b"]
    # and it predicts as the fit does
    assert np.array_equal(back.predict_proba(X), gm.predict_proba(X))


def test_classification_equals_the_cli(cli, tmp_path: Path, data_2d) -> None:  # type: ignore[no-untyped-def]
    X, csv = data_2d
    cli(
        "fit",
        str(csv),
        "-k",
        "3",
        "--covariance",
        "full",
        "--out",
        str(tmp_path / "fit"),
    )
    gm = bgmm.read(tmp_path / "fit")
    cli("classify", str(tmp_path / "fit"), str(csv), "--out", str(tmp_path / "cls"))
    table = bgmm.read(tmp_path / "cls")
    assert np.array_equal(table["z"].to_numpy(), gm.predict(X))
    probs = table[[f"p{k}" for k in range(3)]].to_numpy()
    assert np.max(np.abs(probs - gm.predict_proba(X))) < 1e-12
    cli(
        "classify",
        str(tmp_path / "fit"),
        str(csv),
        "--temperature",
        "1",
        "--seed",
        "5",
        "--out",
        str(tmp_path / "cls1"),
    )
    sampled = bgmm.read(tmp_path / "cls1")
    assert np.array_equal(sampled["z"].to_numpy(), gm.sample_assignments(X, random_state=5))


def test_plug_in_predictive_equals_the_cli(cli, tmp_path: Path, petal: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    csv = write_csv(tmp_path / "petal.csv", petal, ["petal_length"])
    cli("fit", str(csv), "-k", "2", "--out", str(tmp_path / "fit"))
    text = cli("predict", str(tmp_path / "fit"), "-n", "50", "--sets", "1", "--seed", "9")
    table = pd.read_csv(pd.io.common.StringIO(text), comment="#")
    gm = bgmm.read(tmp_path / "fit")
    X, z = gm.sample(50, random_state=9)
    assert np.array_equal(table["z"].to_numpy(), z)
    assert np.max(np.abs(table["petal_length"].to_numpy() - X[:, 0])) <= 1e-12 * np.max(np.abs(X))


def test_posterior_equals_the_cli(cli, tmp_path: Path, data_2d) -> None:  # type: ignore[no-untyped-def]
    """``sample_posterior`` on a fit is ``bgmm sample --from-fit``: the same draws, sampler
    statistics and pointwise log likelihood."""
    X, csv = data_2d
    cli(
        "fit",
        str(csv),
        "-k",
        "2",
        "--covariance",
        "tied",
        "--out",
        str(tmp_path / "fit"),
    )
    cli(
        "sample",
        str(csv),
        "-k",
        "2",
        "--covariance",
        "tied",
        "--from-fit",
        str(tmp_path / "fit"),
        "--chains",
        "2",
        "--warmup",
        "150",
        "--draws",
        "100",
        "--seed",
        "4",
        "--quiet",
        "--out",
        str(tmp_path / "run"),
    )
    gm = bgmm.read(tmp_path / "fit")
    idata = gm.sample_posterior(X, chains=2, warmup=150, draws=100, random_state=4)
    run = bgmm.read(tmp_path / "run")
    for v in ("weights", "locs", "scale", "cov"):
        a, b = idata.posterior[v].values, run.posterior[v].values
        assert a.shape == b.shape
        # the chain files hold the draws as text with 17 significant digits: exact
        assert np.max(np.abs(a - b)) <= 1e-15 * max(1.0, np.max(np.abs(a))), v
    for v in ("lp", "diverging", "tree_depth", "n_steps"):
        assert np.allclose(
            idata.sample_stats[v].values, run.sample_stats[v].values, rtol=1e-12, atol=0
        ), v
    assert np.array_equal(idata.log_likelihood["x"].values, run.log_likelihood["x"].values)
    assert list(run.posterior["feature"].values) == ["a", "b"]


def test_selection_equals_the_cli(cli, tmp_path: Path, blobs: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    csv = write_csv(tmp_path / "blobs.csv", blobs, ["a", "b"])
    text = cli(
        "select",
        str(csv),
        "-k",
        "1..4",
        "--covariance",
        "component,full,tied",
        "--restarts",
        "20",
        "--json",
    )
    rec = json.loads(text)
    table, best = bgmm.select(
        blobs, k=range(1, 5), covariance=["component", "full", "tied"], n_restarts=20
    )
    assert table.shape == (4, 3)
    assert list(table.columns) == ["component", "full", "tied"]
    compared = 0
    for row in rec["table"]:
        if row.get("bic") is not None:
            assert table.loc[row["k"], row["covariance"]] == row["bic"]
            compared += 1
    assert compared >= 10
    assert (best.n_components, best.family_) == (3, "full")
    assert best.bic(blobs) == pytest.approx(table.min().min(), rel=1e-12)
    assert best.selection_.iloc[0]["k"] == 3


def test_posterior_without_a_fit_equals_the_cli(cli, tmp_path: Path, petal: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """An unfitted estimator samples as ``bgmm sample DATA -k K`` does (its own MAP search)."""
    csv = write_csv(tmp_path / "petal.csv", petal, ["petal_length"])
    cli(
        "sample",
        str(csv),
        "-k",
        "2",
        "--covariance",
        "diagonal",
        "--chains",
        "2",
        "--warmup",
        "100",
        "--draws",
        "50",
        "--seed",
        "8",
        "--quiet",
        "--out",
        str(tmp_path / "run"),
    )
    run = bgmm.read(tmp_path / "run")
    idata = bgmm.GaussianMixture(2).sample_posterior(
        petal, chains=2, warmup=100, draws=50, random_state=8
    )
    for v in ("weights", "locs", "scale"):
        a, b = idata.posterior[v].values, run.posterior[v].values
        assert np.max(np.abs(a - b)) <= 1e-15 * max(1.0, np.max(np.abs(a))), v


def test_simulate_and_describe_equal_the_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from conftest import REPO

    model = REPO / "examples" / "models" / "homework-2d-dimension.toml"
    text = cli("simulate", str(model), "-n", "100", "--seed", "59", "--with-assignments")
    table = pd.read_csv(pd.io.common.StringIO(text))
    X, z, truth = bgmm.simulate(model, 100, random_state=59)
    assert np.array_equal(table[["x0", "x1"]].to_numpy(), X)
    assert np.array_equal(table["z"].to_numpy(), z)
    assert truth["means"].shape == (3, 2) and truth["family"] == "dimension"
    assert bgmm.describe(model, 11) == cli("describe", str(model), "-n", "11")


def test_selection_by_loo_equals_the_cli(cli, tmp_path: Path, petal: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """``criterion="loo"``: every pair's posterior sampled from its MAP, ranked by −2·elpd_loo,
    the same numbers as ``bgmm select --criterion loo``."""
    csv = write_csv(tmp_path / "petal.csv", petal, ["petal_length"])
    args = ["-k", "1..3", "--covariance", "component", "--restarts", "20"]
    nuts = ["--chains", "2", "--warmup", "150", "--draws", "100"]
    rec = json.loads(cli("select", str(csv), *args, "--criterion", "loo", *nuts, "--json"))
    table, best = bgmm.select(
        petal,
        k=range(1, 4),
        covariance="component",
        criterion="loo",
        n_restarts=20,
        chains=2,
        warmup=150,
        draws=100,
    )
    assert table.columns.name == "LOO"
    compared = 0
    for row in rec["table"]:
        post = row.get("posterior") or {}
        if post.get("looic") is not None:
            assert table.loc[row["k"], "component"] == pytest.approx(post["looic"], rel=1e-12)
            assert table.loc[row["k"], "component"] == -2 * post["elpd_loo"]
            compared += 1
    assert compared == 3
    assert best.n_components == int(table["component"].idxmin())
    assert "loo" in best.selection_.columns


def test_smc_and_the_evidence_equal_the_cli(cli, tmp_path: Path, petal: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """``engine="smc"`` samples as ``bgmm sample --engine smc`` does (the same particles, the
    same evidence), and ``criterion="evidence"`` ranks as ``bgmm select --criterion evidence``
    with each pair's posterior probability."""
    csv = write_csv(tmp_path / "petal.csv", petal, ["petal_length"])
    smc = ["--chains", "2", "--draws", "200", "--seed", "4"]
    cli(
        "sample",
        str(csv),
        "-k",
        "2",
        "--covariance",
        "component",
        "--engine",
        "smc",
        *smc,
        "--quiet",
        "--out",
        str(tmp_path / "run"),
    )
    run = bgmm.read(tmp_path / "run")
    idata = bgmm.GaussianMixture(2, covariance="component").sample_posterior(
        petal, chains=2, draws=200, random_state=4, engine="smc"
    )
    assert idata.attrs["method"] == "smc"
    for v in ("weights", "locs", "scale"):
        a, b = idata.posterior[v].values, run.posterior[v].values
        assert np.max(np.abs(a - b)) <= 1e-15 * max(1.0, np.max(np.abs(a))), v
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert idata.attrs["log_evidence"] == summary["evidence"]["log_evidence"]
    assert 0 < idata.attrs["log_evidence_se"] < 1
    with pytest.raises(ValueError, match="engine: 'gibbs' is not"):
        bgmm.GaussianMixture(2).sample_posterior(petal, engine="gibbs")
    rec = json.loads(
        cli(
            "select",
            str(csv),
            "-k",
            "1,2",
            "--covariance",
            "component",
            "--restarts",
            "20",
            "--criterion",
            "evidence",
            "--chains",
            "2",
            "--draws",
            "200",
            "--json",
        )
    )
    table, best = bgmm.select(
        petal,
        k=[1, 2],
        covariance="component",
        criterion="evidence",
        n_restarts=20,
        chains=2,
        draws=200,
    )
    assert table.columns.name == "EVIDENCE"
    for row in rec["table"]:
        value = -2 * row["posterior"]["log_evidence"]
        assert table.loc[row["k"], "component"] == pytest.approx(value, rel=1e-12)
    assert best.n_components == 2
    probability = best.selection_.set_index("k")["probability"]
    assert probability.sum() == pytest.approx(1.0, abs=1e-12)
    assert probability[2] > 0.99
