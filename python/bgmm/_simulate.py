"""Drawing from the priors (``bgmm simulate``) and the model's sites (``bgmm describe``)."""

from __future__ import annotations

import json
from typing import Any, Dict, Tuple

import numpy as np

from . import _bgmm
from ._estimator import ModelArg, _model_args, _seed, _sklearn_covariances

__all__ = ["simulate", "describe"]


def _model(model: ModelArg) -> Tuple[Any, Any]:
    model_json, model_path = _model_args(model)
    if model_json is None and model_path is None:
        raise ValueError("model: give a model file's path (TOML) or a dict of the same content")
    return model_json, model_path


def simulate(
    model: ModelArg, n_samples: int, random_state: Any = None
) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    """θ drawn from the model's priors, then ``n_samples`` points given θ (Pyro's
    ``poutine.trace(model).get_trace(n_data=N)``; the CLI's ``bgmm simulate MODEL -n N --seed
    S``, the same points): ``(X, z, truth)`` with the true assignments ``z`` and ``truth`` the
    drawn ``weights``, ``means``, ``covariances`` (scikit-learn's shape for the family) and
    ``sd`` (each component's standard deviation in each dimension)."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise ValueError(f"n_samples must be an integer, got {n_samples!r}")
    model_json, model_path = _model(model)
    X, z, params_json, spec_json = _bgmm.simulate(
        model_json, model_path, int(n_samples), _seed(random_state)
    )
    a = _bgmm.params_arrays(spec_json, params_json)
    truth = {
        "weights": a["weights"],
        "means": a["locs"],
        "covariances": _sklearn_covariances(a["family"], a["sd"], a["cov"]),
        "sd": a["sd"],
        "family": a["family"],
        "params": json.loads(params_json),
    }
    return X, z, truth


def describe(model: ModelArg, n_samples: int) -> str:
    """Every site of the model with its distribution, batch and event shape for ``n_samples``
    points (Pyro's ``trace.format_shapes()``; the CLI's ``bgmm describe MODEL -n N``)."""
    model_json, model_path = _model(model)
    return str(_bgmm.describe(model_json, model_path, int(n_samples)))
