"""Choosing the number of components and the covariance family (``bgmm select``)."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array

from . import _bgmm
from ._estimator import GaussianMixture, _family, _float64

__all__ = ["select", "selection_tables"]


def selection_tables(out: Dict[str, Any]) -> Tuple[pd.DataFrame, pd.DataFrame]:
    """The CLI's table (the criterion by K × family, lower is better) and the long table of
    every pair (k, covariance, mclust, status, n_params, loglik, bic, icl, aic, and loo/waic
    when sampled, or log_evidence, evidence_se and the pair's posterior probability with
    ``criterion="evidence"``), in the core's ranking (failed pairs last, with their message), from what the
    native ``select`` returns."""
    selection = json.loads(out["selection"])
    criterion = selection["criterion"]
    long = pd.DataFrame(
        {
            "k": [int(r["k"]) for r in selection["rows"]],
            "covariance": [r["covariance"] for r in selection["rows"]],
            "mclust": out["mclust"],
            "status": [r["status"] for r in selection["rows"]],
            "n_params": [int(r["n_params"]) for r in selection["rows"]],
            **{
                c: np.array([r.get(c) for r in selection["rows"]], dtype=float)
                for c in ("loglik", "bic", "icl", "aic")
            },
            "loo": np.array(out["loo"], dtype=float),
            "waic": np.array(out["waic"], dtype=float),
            "log_evidence": np.array(out["log_evidence"], dtype=float),
            "evidence_se": np.array(out["evidence_se"], dtype=float),
            "probability": np.array(out["probability"], dtype=float),
            "criterion": np.array(out["criterion"], dtype=float),
            "message": [r.get("message", "") for r in selection["rows"]],
        }
    )
    if long["loo"].isna().all() and long["waic"].isna().all():
        long = long.drop(columns=["loo", "waic"])
    if long["log_evidence"].isna().all():
        long = long.drop(columns=["log_evidence", "evidence_se", "probability"])
    ranked: List[int] = list(out["ranked"])
    order = ranked + [i for i in range(len(long)) if i not in set(ranked)]
    long = long.iloc[order].reset_index(drop=True)
    families: List[str] = list(dict.fromkeys(r["covariance"] for r in selection["rows"]))
    wide = long.pivot(index="k", columns="covariance", values="criterion")
    wide = wide.reindex(columns=families).sort_index()
    wide.columns.name = criterion.upper()
    return wide, long


def select(
    X: Any,
    k: Union[int, Iterable[int]] = range(1, 10),
    covariance: Optional[Union[str, Sequence[str]]] = None,
    criterion: str = "bic",
    *,
    random_state: Any = None,
    n_restarts: int = 100,
    n_candidates: int = 10,
    init: str = "auto",
    steps: int = 200,
    lr: float = 0.1,
    betas: Tuple[float, float] = (0.8, 0.99),
    polish: bool = True,
    grad_tol: float = 1e-9,
    subsample: int = 5000,
    resolution: Any = "auto",
    chains: int = 4,
    warmup: int = 500,
    draws: int = 500,
) -> Tuple[pd.DataFrame, GaussianMixture]:
    """The MAP of the default model for every number of components in ``k`` and family in
    ``covariance`` (None: every family the data's dimension allows), in parallel, ranked by
    ``criterion`` (``"bic"``, ``"icl"``, ``"aic"``; ``"loo"``, ``"waic"`` sample each pair's
    posterior with ``chains`` × (``warmup`` + ``draws``); ``"evidence"``: −2 log p(x) by SMC,
    ``chains`` runs of ``draws`` particles, with each pair's posterior probability): the CLI's
    ``bgmm select``.

    Returns the table (criterion by K × family, lower is better, as the CLI prints it) and the
    best model as a fitted :class:`GaussianMixture`; its ``selection_`` attribute holds the long
    table of every pair (status, log likelihood, every criterion, why a pair failed)."""
    names = getattr(X, "columns", None)
    Xa = _float64(check_array(X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"))
    ks = [int(k)] if isinstance(k, (int, np.integer)) else [int(v) for v in k]
    families = families_of(covariance)
    # the search every pair runs: the estimator's, which also becomes the best model
    est = GaussianMixture(
        n_restarts=n_restarts,
        n_candidates=n_candidates,
        init=init,
        steps=steps,
        lr=lr,
        betas=betas,
        polish=polish,
        grad_tol=grad_tol,
        subsample=subsample,
        resolution=resolution,
        random_state=random_state,
    )
    out = _bgmm.select(
        Xa,
        ks,
        families,
        str(criterion).lower(),
        est._search_args(),
        int(chains),
        int(warmup),
        int(draws),
    )
    wide, best = best_of(out, est, None if names is None else [str(c) for c in names])
    return wide, best


def families_of(covariance: Optional[Union[str, Sequence[str]]]) -> List[str]:
    """The families asked for (none: every family the data's dimension allows)."""
    if covariance is None:
        return []
    if isinstance(covariance, str):
        return [_family(covariance)]
    return [_family(c) for c in covariance]


def best_of(
    out: Dict[str, Any], est: GaussianMixture, names: Optional[List[str]]
) -> Tuple[pd.DataFrame, GaussianMixture]:
    """The table and the best model, fitted (``est`` given its K, family and fit), from what
    the native ``select`` returns; ``names``: the data's columns."""
    wide, long = selection_tables(out)
    rows = json.loads(out["selection"])["rows"]
    if not out["ranked"]:
        messages = "; ".join(
            f"{r['covariance']},{r['k']}: {r.get('message') or r['status']}" for r in rows
        )
        raise RuntimeError(f"no pair has a proper mode: {messages}")
    best = rows[out["ranked"][0]]
    est.set_params(n_components=int(best["k"]), covariance=best["covariance"])
    est._set_fit(best["fit"], json.dumps(best["model"]), best.get("loglik"))
    if names is not None:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    est.selection_ = long
    return wide, est
