"""Reading what the CLI wrote: fits, sampling runs and classifications."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Union

import numpy as np
import pandas as pd

from . import _bgmm
from ._estimator import GaussianMixture

__all__ = ["read"]

_STATS = {
    "lp__": "lp",
    "accept_stat__": "acceptance_rate",
    "stepsize__": "step_size",
    "treedepth__": "tree_depth",
    "n_leapfrog__": "n_steps",
    "divergent__": "diverging",
    "energy__": "energy",
}


def read(path: Union[str, "os.PathLike[str]"]) -> Any:
    """What the CLI wrote with ``--out``, as the Python API gives it:

    - a fit (``bgmm fit --out DIR``: ``DIR`` or ``DIR/fit.json``): a fitted
      :class:`GaussianMixture`, the same numbers as the record;
    - a sampling run (``bgmm sample --out DIR`` or ``bgmm vi --out DIR``): an
      ``arviz.InferenceData`` (posterior, sample_stats, and log_likelihood when the run
      wrote ``log-lik.npy``);
    - a classification (``bgmm classify --out DIR``): a ``pandas.DataFrame`` of the
      assignment ``z`` and the probability of each component (``p0``, ``p1``, …) per point.
    """
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(f"'{p}' does not exist")
    if p.is_file():
        if p.name == "summary.json":
            p = p.parent
        elif p.name == "classify.json":
            p = p.parent
        else:
            return _read_fit(p)
    for name, reader in (
        ("summary.json", _read_run),
        ("fit.json", lambda d: _read_fit(d / "fit.json")),
        ("classify.json", _read_classification),
    ):
        if (p / name).is_file():
            return reader(p)
    raise ValueError(
        f"'{p}' holds no bgmm fit (fit.json), sampling run (summary.json) or classification (classify.json)"
    )


def _read_fit(file: Path) -> GaussianMixture:
    record_json, spec_json, params_json = _bgmm.read_fit(str(file))
    rec = json.loads(record_json)
    spec = json.loads(spec_json)
    fam = _bgmm.params_arrays(spec_json, params_json)["family"]
    opts = rec.get("options", {})
    est = GaussianMixture(
        n_components=int(spec["k"]),
        covariance=fam,
        n_restarts=int(opts.get("restarts", 100)),
        n_candidates=int(opts.get("candidates", 10)),
        random_state=int(opts.get("seed", 0)),
    )
    fit = dict(rec)
    fit["params"] = json.loads(params_json)
    est._set_fit(fit, spec_json, rec.get("loglik"))
    columns = rec.get("data", {}).get("columns") or []
    if len(columns) == est.n_features_in_:
        est.feature_names_in_ = np.asarray(columns, dtype=object)
    return est


def _read_run(d: Path) -> Any:
    from ._posterior import inference_data

    out = dict(_bgmm.read_sample_run(str(d)))
    rec = json.loads(out["record"])
    chains, draws = out["weights"].shape[:2]
    method = "vi" if rec.get("options", {}).get("method") == "vi" else "nuts"
    stats: Dict[str, List[np.ndarray]] = {v: [] for v in _STATS.values()}
    for c in range(chains):
        t = pd.read_csv(d / f"chain-{c}.csv", comment="#")
        for col, name in _STATS.items():
            stats[name].append(t[col].to_numpy()[:draws] if col in t else np.full(draws, np.nan))
    for name, v in stats.items():
        out[name] = np.stack(v)
    out["diverging"] = out["diverging"].astype(bool)
    ll = d / "log-lik.npy"
    if ll.is_file():
        out["log_likelihood"] = np.load(ll)
    columns = rec.get("data", {}).get("columns") or []
    dim = out["locs"].shape[-1]
    names = columns if len(columns) == dim else [f"x{j}" for j in range(dim)]
    return inference_data(out, out["family"], names, None, method=method, record=rec)


def _read_classification(d: Path) -> pd.DataFrame:
    rec = json.loads((d / "classify.json").read_text())
    probs = np.asarray(rec["probs"], dtype=np.float64)
    df = pd.DataFrame({"z": np.asarray(rec["assignments"], dtype=np.int64)})
    for k in range(probs.shape[1] if probs.ndim == 2 else 0):
        df[f"p{k}"] = probs[:, k]
    return df
