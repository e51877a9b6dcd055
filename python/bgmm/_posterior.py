"""Posterior draws as ``arviz.InferenceData``."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

#: The dimensions of each family's ``scale`` (standard deviations), by family.
_SCALE_DIMS: Dict[str, List[str]] = {
    "shared": [],
    "component": ["component"],
    "dimension": ["feature"],
    "diagonal": ["component", "feature"],
    "full": ["component", "feature"],
    "tied": ["feature"],
}


def _scale(family: str, sd: np.ndarray) -> np.ndarray:
    """The family's free scales from the per-(component, feature) standard deviations
    (chain, draw, K, D)."""
    if family == "shared":
        return sd[:, :, 0, 0]
    if family == "component":
        return sd[:, :, :, 0]
    if family in ("dimension", "tied"):
        return sd[:, :, 0, :]
    return sd


def posterior_group(
    out: Dict[str, Any], family: str
) -> Tuple[Dict[str, np.ndarray], Dict[str, List[str]]]:
    """The ``posterior`` variables and their dims: ``weights``, ``locs``, ``scale`` and, for the
    covariance families, ``cov`` and ``corr``."""
    post: Dict[str, np.ndarray] = {
        "weights": out["weights"],
        "locs": out["locs"],
        "scale": _scale(family, out["sd"]),
    }
    dims: Dict[str, List[str]] = {
        "weights": ["component"],
        "locs": ["component", "feature"],
        "scale": _SCALE_DIMS[family],
    }
    if family in ("full", "tied"):
        cov = out["cov"] if family == "full" else out["cov"][:, :, 0]
        sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
        post["cov"] = cov
        post["corr"] = cov / (sd[..., :, None] * sd[..., None, :])
        lead = ["component"] if family == "full" else []
        dims["cov"] = lead + ["feature", "feature_"]
        dims["corr"] = lead + ["feature", "feature_"]
    return post, dims


def inference_data(
    out: Dict[str, Any],
    family: str,
    names: List[str],
    X: Optional[np.ndarray],
    method: str,
    record: Optional[dict] = None,
) -> Any:
    """An ``arviz.InferenceData`` of the native module's posterior arrays ``out``."""
    import arviz as az

    post, dims = posterior_group(out, family)
    k = out["weights"].shape[-1]
    coords: Dict[str, Any] = {
        "component": np.arange(k),
        "feature": list(names),
        "feature_": list(names),
    }
    stats: Dict[str, np.ndarray] = {}
    if method == "nuts":
        stats = {
            "lp": out["lp"],
            "diverging": out["diverging"],
            "step_size": out["step_size"],
            "tree_depth": out["tree_depth"].astype(np.int64),
            "n_steps": out["n_steps"].astype(np.int64),
            "acceptance_rate": out["acceptance_rate"],
            "energy": out["energy"],
        }
    elif method == "smc":
        stats = {
            "lp": out["lp"],
            "diverging": out["diverging"],
            "step_size": out["step_size"],
            "n_steps": out["n_steps"].astype(np.int64),
            "acceptance_rate": out["acceptance_rate"],
        }
    else:
        stats = {"lp": out["lp"]}
    rec = record if record is not None else json.loads(out["record"])
    attrs: Dict[str, Any] = {
        "inference_library": "bgmm",
        "method": method,
        "family": family,
        "divergences": int(rec.get("divergences", 0)),
        "relabelled_share": float(rec.get("relabelled_share", 0.0)),
        "warnings": "\n".join(rec.get("warnings", [])),
    }
    if "elbo" in out:
        attrs["elbo"] = np.asarray(out["elbo"]).tolist()
    evidence = rec.get("evidence")
    if evidence:
        attrs["log_evidence"] = float(evidence["log_evidence"])
        se = evidence.get("std_error")
        attrs["log_evidence_se"] = float("nan") if se is None else float(se)
    # "x" is a point's row (point, feature) in observed_data and posterior_predictive
    if X is not None:
        coords["point"] = np.arange(X.shape[0])
    idata = az.from_dict(
        posterior=post,
        sample_stats=stats,
        posterior_predictive=(
            {"x": out["posterior_predictive"]}
            if out.get("posterior_predictive") is not None
            else None
        ),
        observed_data={"x": X} if X is not None else None,
        coords=coords,
        dims={**dims, "x": ["point", "feature"]},
        attrs=attrs,
    )
    # and its log density, log p(x_n | θ_s), in log_likelihood (point)
    if out.get("log_likelihood") is not None:
        ll = out["log_likelihood"]
        idata.extend(
            az.from_dict(
                log_likelihood={"x": ll},
                coords={"point": np.arange(ll.shape[-1])},
                dims={"x": ["point"]},
            )
        )
    return idata
