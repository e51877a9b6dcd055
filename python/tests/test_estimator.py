"""The scikit-learn estimator: its contract, its numbers against closed forms and against
scikit-learn, missing values, input layouts and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

import bgmm

FAMILIES = ["shared", "component", "dimension", "diagonal", "full", "tied"]


@parametrize_with_checks(
    [
        bgmm.GaussianMixture(n_restarts=10),
        bgmm.GaussianMixture(2, covariance="full", n_restarts=10),
    ]
)
def test_sklearn_estimator_checks(estimator, check):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check(estimator)


def dense_log_density(X: np.ndarray, w: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log Σ_k w_k N(x | μ_k, Σ_k) of each row over its observed coordinates, written out."""
    out = np.zeros(X.shape[0])
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        if not o.any():
            continue
        terms = []
        for k in range(len(w)):
            S = cov[k][np.ix_(o, o)]
            r = x[o] - mu[k][o]
            _, logdet = np.linalg.slogdet(S)
            q = r @ np.linalg.solve(S, r)
            terms.append(np.log(w[k]) - 0.5 * (o.sum() * np.log(2 * np.pi) + logdet + q))
        m = max(terms)
        out[i] = m + np.log(sum(np.exp(t - m) for t in terms))
    return out


def full_covariances(gm: bgmm.GaussianMixture) -> np.ndarray:
    """(K, D, D) from scikit-learn's shape of the family."""
    k, d = gm.means_.shape
    c = gm.covariances_
    if gm.family_ == "full":
        return c
    if gm.family_ == "tied":
        return np.repeat(c[None], k, axis=0)
    if gm.family_ in ("diagonal", "dimension"):
        return np.stack([np.diag(v) for v in c])
    return np.stack([np.eye(d) * v for v in c])


@pytest.mark.parametrize("family", FAMILIES)
def test_density_and_shapes_against_a_dense_mixture(blobs: np.ndarray, family: str) -> None:
    gm = bgmm.GaussianMixture(3, covariance=family, n_restarts=20).fit(blobs)
    k, d = 3, 2
    shape = {
        "full": (k, d, d),
        "tied": (d, d),
        "diagonal": (k, d),
        "dimension": (k, d),
        "component": (k,),
        "shared": (k,),
    }[family]
    assert gm.covariances_.shape == shape
    assert gm.weights_.shape == (k,) and gm.means_.shape == (k, d)
    assert abs(gm.weights_.sum() - 1) < 1e-12
    if family == "dimension":
        assert np.allclose(gm.covariances_, gm.covariances_[0])
    if family == "shared":
        assert np.allclose(gm.covariances_, gm.covariances_[0])
    want = dense_log_density(blobs, gm.weights_, gm.means_, full_covariances(gm))
    got = gm.score_samples(blobs)
    assert np.max(np.abs(got - want)) < 1e-9
    assert abs(gm.loglik_ - want.sum()) < 1e-8 * abs(want.sum())
    assert abs(gm.score(blobs) - want.mean()) < 1e-9
    p = gm.predict_proba(blobs)
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert np.array_equal(gm.predict(blobs), np.argmax(p, axis=1))
    n = blobs.shape[0]
    assert abs(gm.bic(blobs) - (-2 * want.sum() + gm.n_params_ * np.log(n))) < 1e-6
    assert abs(gm.aic(blobs) - (-2 * want.sum() + 2 * gm.n_params_)) < 1e-6


def test_full_covariance_agrees_with_scikit_learn(blobs: np.ndarray) -> None:
    """The MAP of the default full model next to scikit-learn's ML fit (10 inits): the same
    clusters, weights and means, and a log likelihood within the prior's pull."""
    gm = bgmm.GaussianMixture(3, covariance="full", random_state=0).fit(blobs)
    sk = SkGaussianMixture(3, covariance_type="full", n_init=10, random_state=0).fit(blobs)
    order = [int(np.argmin(np.linalg.norm(sk.means_ - m, axis=1))) for m in gm.means_]
    assert sorted(order) == [0, 1, 2]
    assert np.max(np.abs(gm.means_ - sk.means_[order])) < 0.05
    assert np.max(np.abs(gm.weights_ - sk.weights_[order])) < 0.01
    assert np.max(np.abs(gm.covariances_ - sk.covariances_[order])) < 0.05
    sk_ll = sk.score(blobs) * len(blobs)
    assert sk_ll - 1.0 < gm.loglik_ <= sk_ll + 1e-6
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(gm.predict(blobs), sk.predict(blobs)) > 0.99


def test_missing_values_marginal_densities(blobs: np.ndarray) -> None:
    X = blobs.copy()
    rng = np.random.default_rng(3)
    X[rng.random(X.shape) < 0.1] = np.nan
    X[5] = np.nan  # a row with nothing observed
    gm = bgmm.GaussianMixture(3, covariance="full", n_restarts=20).fit(X)
    want = dense_log_density(X, gm.weights_, gm.means_, gm.covariances_)
    got = gm.score_samples(X)
    assert got[5] == 0.0
    assert np.max(np.abs(got - want)) < 1e-9
    # the empty row is classified by the weights alone
    assert np.allclose(gm.predict_proba(X)[5], gm.weights_, atol=1e-12)
    # scikit-learn refuses the same data
    with pytest.raises(ValueError):
        SkGaussianMixture(3).fit(X)


def test_layouts_and_float32_give_the_same_fit(blobs: np.ndarray) -> None:
    base = bgmm.GaussianMixture(3, covariance="tied", n_restarts=20, random_state=4)
    a = base.fit(blobs).fit_
    b = bgmm.GaussianMixture(**base.get_params()).fit(np.asfortranarray(blobs)).fit_
    c = bgmm.GaussianMixture(**base.get_params()).fit(blobs[::-1][::-1]).fit_
    assert a["loss"] == b["loss"] == c["loss"]
    assert a["params"] == b["params"]
    x32 = blobs.astype(np.float32)
    d = bgmm.GaussianMixture(**base.get_params()).fit(x32).fit_
    e = bgmm.GaussianMixture(**base.get_params()).fit(x32.astype(np.float64)).fit_
    assert d["loss"] == e["loss"] and d["params"] == e["params"]
    # scoring reads contiguous float64 arrays in place, others from a copy: the same numbers
    gm = bgmm.GaussianMixture(**base.get_params()).fit(blobs)
    want = gm.predict_proba(blobs), gm.score_samples(blobs)
    for layout in (
        np.asfortranarray(blobs),
        blobs[::-1][::-1].copy(),
        np.repeat(blobs, 2, axis=0)[::2],
    ):
        assert np.array_equal(gm.predict_proba(layout), want[0])
        assert np.array_equal(gm.score_samples(layout), want[1])
    with_nan = blobs.copy()
    with_nan[0, 0] = np.nan
    assert np.array_equal(gm.score_samples(with_nan)[1:], want[1][1:])
    assert np.array_equal(gm.score_samples(np.asfortranarray(with_nan))[1:], want[1][1:])
    # a strided view (every other row) as its copy
    f = bgmm.GaussianMixture(**base.get_params()).fit(blobs[::2]).fit_
    g = bgmm.GaussianMixture(**base.get_params()).fit(blobs[::2].copy()).fit_
    assert f["params"] == g["params"]


def test_dataframes_keep_their_column_names(blobs: np.ndarray) -> None:
    df = pd.DataFrame(blobs, columns=["length", "width"])
    gm = bgmm.GaussianMixture(2, covariance="diagonal", n_restarts=10).fit(df)
    assert list(gm.feature_names_in_) == ["length", "width"]
    with pytest.warns(UserWarning, match="feature names"):
        gm.predict(blobs)


def test_sample_draws_from_the_fitted_mixture(petal: np.ndarray) -> None:
    gm = bgmm.GaussianMixture(2, covariance="component").fit(petal)
    X, z = gm.sample(40_000, random_state=3)
    assert X.shape == (40_000, 1) and z.shape == (40_000,)
    share = np.bincount(z, minlength=2) / len(z)
    se = np.sqrt(gm.weights_ * (1 - gm.weights_) / len(z))
    assert np.all(np.abs(share - gm.weights_) < 4 * se)
    for k in range(2):
        xs = X[z == k, 0]
        sd = np.sqrt(gm.covariances_[k])
        assert abs(xs.mean() - gm.means_[k, 0]) < 4 * sd / np.sqrt(len(xs))
        assert abs(xs.std() / sd - 1) < 0.03
    again, _ = gm.sample(40_000, random_state=3)
    assert np.array_equal(X, again)


def test_sampled_assignments_follow_their_probabilities(petal: np.ndarray) -> None:
    gm = bgmm.GaussianMixture(2, covariance="component").fit(petal)
    assert np.array_equal(gm.sample_assignments(petal, temperature=0), gm.predict(petal))
    # a grid across the boundary between the clusters, as the seeds classify
    grid = np.linspace(1.0, 4.0, 61)[:, None]
    p = gm.predict_proba(grid)[:, 1]
    draws = np.stack([gm.sample_assignments(grid, random_state=s) for s in range(400)])
    freq = draws.mean(axis=0)
    se = np.sqrt(np.maximum(p * (1 - p), 1e-4) / 400)
    assert np.all(np.abs(freq - p) < 5 * se)
    assert np.any((p > 0.05) & (p < 0.95))  # some points are uncertain


def test_model_file_and_dict(tmp_path, petal: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """The seed's iris model (examples/models/iris.toml) as a file and as a dict: the loss
    the README quotes."""
    from conftest import REPO

    path = REPO / "examples" / "models" / "iris.toml"
    gm = bgmm.GaussianMixture(model=path).fit(petal)
    assert abs(gm.loss_ - 210.206322) < 5e-7
    import tomllib

    spec = tomllib.loads(path.read_text())
    gm2 = bgmm.GaussianMixture(model=spec).fit(petal)
    assert gm2.loss_ == gm.loss_
    assert gm2.model_["k"] == 2


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"covariance": "bogus"}, ValueError, "covariance: 'bogus' is not one of"),
        ({"n_restarts": 0}, ValueError, "n_restarts must be at least 1"),
        ({"lr": -1.0}, ValueError, "lr "),
        ({"init": "random"}, ValueError, "init: 'random' is not one of"),
        ({"resolution": "fine"}, ValueError, "resolution: 'fine'"),
        ({"model": {"k": 2, "weights": {"concentration": -1}}}, ValueError, "model"),
        ({"model": "/no/such/model.toml"}, ValueError, "/no/such/model.toml"),
        ({"random_state": -3}, ValueError, "random_state must be at least 0"),
    ],
)
def test_errors_are_one_line_value_errors(
    petal: np.ndarray, kwargs: dict, error: type, match: str
) -> None:
    with pytest.raises(error, match=match) as e:
        bgmm.GaussianMixture(2, **kwargs).fit(petal)
    assert "\n" not in str(e.value)


def test_input_errors(petal: np.ndarray) -> None:
    X = petal.copy()
    X[3, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        bgmm.GaussianMixture(2).fit(X)
    gm = bgmm.GaussianMixture(2).fit(petal)
    with pytest.raises(ValueError, match="features"):
        gm.predict(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="at least as many points"):
        bgmm.GaussianMixture(5).fit(petal[:3])
    # values whose spread overflows the default location prior (the CLI's message)
    huge = np.array([[1.7e308], [-1.7e308], [0.0], [5e306]])
    with pytest.raises(
        ValueError, match=r"X, column 1: values up to 1.7e308 are beyond the default model"
    ):
        bgmm.GaussianMixture(2).fit(huge)


def test_a_model_without_a_mode_raises_runtime_error() -> None:
    """Two values repeated: every K = 3 mode collapses a component onto one of them."""
    X = np.repeat([[0.0], [1.0]], 10, axis=0)
    with pytest.raises(RuntimeError) as e:
        bgmm.GaussianMixture(3, covariance="component", n_restarts=10).fit(X)
    assert "\n" not in str(e.value)
