"""Choosing the number of components and the covariance family (``bgmm select``)."""

from __future__ import annotations

import json
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array

from . import _bgmm
from ._estimator import GaussianMixture, _family, _float64, _resolution, _seed

__all__ = ["select", "selection_tables"]

_MCLUST = {
    "shared": "EII",
    "component": "VII",
    "dimension": "EEI",
    "diagonal": "VVI",
    "full": "VVV",
    "tied": "EEE",
}


def _value(row: dict, criterion: str) -> Optional[float]:
    if criterion in ("bic", "icl", "aic"):
        v = row.get(criterion)
        return None if v is None else float(v)
    post = row.get("posterior") or {}
    est = post.get(criterion)
    return None if est is None else -2.0 * float(est["elpd"])


def selection_tables(selection: dict) -> Tuple[pd.DataFrame, pd.DataFrame]:
    """The CLI's table (the criterion by K × family, lower is better) and the long table of
    every pair (k, covariance, mclust, status, n_params, loglik, bic, icl, aic, and loo/waic
    when sampled; ranked by the criterion, failed pairs last, with their message)."""
    criterion = selection["criterion"]
    rows = []
    for r in selection["rows"]:
        post = r.get("posterior") or {}
        rows.append(
            {
                "k": int(r["k"]),
                "covariance": r["covariance"],
                "mclust": _MCLUST.get(r["covariance"], ""),
                "status": r["status"],
                "n_params": int(r["n_params"]),
                "loglik": r.get("loglik"),
                "bic": r.get("bic"),
                "icl": r.get("icl"),
                "aic": r.get("aic"),
                "loo": _value(r, "loo") if post else None,
                "waic": _value(r, "waic") if post else None,
                "criterion": _value(r, criterion),
                "message": r.get("message", ""),
            }
        )
    long = pd.DataFrame(rows)
    for c in ("loglik", "bic", "icl", "aic", "loo", "waic", "criterion"):
        long[c] = long[c].astype(float)
    if long["loo"].isna().all() and long["waic"].isna().all():
        long = long.drop(columns=["loo", "waic"])
    # ranked as the core ranks (ties by the order of the search)
    order = sorted(
        range(len(long)),
        key=lambda i: (
            np.isnan(long["criterion"].iloc[i]),
            long["criterion"].iloc[i],
            i,
        ),
    )
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
    posterior with ``chains`` × (``warmup`` + ``draws``)): the CLI's ``bgmm select``.

    Returns the table (criterion by K × family, lower is better, as the CLI prints it) and the
    best model as a fitted :class:`GaussianMixture`; its ``selection_`` attribute holds the long
    table of every pair (status, log likelihood, every criterion, why a pair failed)."""
    names = getattr(X, "columns", None)
    Xa = _float64(check_array(X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"))
    ks = [int(k)] if isinstance(k, (int, np.integer)) else [int(v) for v in k]
    if covariance is None:
        families: List[str] = []
    elif isinstance(covariance, str):
        families = [_family(covariance)]
    else:
        families = [_family(c) for c in covariance]
    criterion = str(criterion).lower()
    mode, values = _resolution(resolution)
    seed = _seed(random_state)
    sel = json.loads(
        _bgmm.select(
            Xa,
            ks,
            families,
            criterion,
            int(n_restarts),
            int(n_candidates),
            str(init),
            int(steps),
            float(lr),
            (float(betas[0]), float(betas[1])),
            bool(polish),
            float(grad_tol),
            seed,
            int(subsample),
            mode,
            values,
            int(chains),
            int(warmup),
            int(draws),
        )
    )
    wide, long = selection_tables(sel)
    best_rows = [
        r for r in sel["rows"] if _value(r, criterion) is not None and r.get("fit") is not None
    ]
    if not best_rows:
        messages = "; ".join(
            f"{r['covariance']},{r['k']}: {r.get('message') or r['status']}" for r in sel["rows"]
        )
        raise RuntimeError(f"no pair has a proper mode: {messages}")
    best = min(enumerate(best_rows), key=lambda ir: (_value(ir[1], criterion), ir[0]))[1]
    est = GaussianMixture(
        n_components=int(best["k"]),
        covariance=best["covariance"],
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
    est._set_fit(best["fit"], json.dumps(best["model"]), best.get("loglik"))
    if names is not None:
        est.feature_names_in_ = np.asarray([str(c) for c in names], dtype=object)
    est.selection_ = long
    return wide, est
