"""The scikit-learn estimator: the MAP of a Bayesian Gaussian mixture, and its posterior."""

from __future__ import annotations

import json
import os
import warnings
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _bgmm

if TYPE_CHECKING:  # pragma: no cover
    import arviz

__all__ = ["GaussianMixture", "FAMILIES"]

#: The covariance families: bgmm's names (mclust's in parentheses) and scikit-learn's aliases.
FAMILIES: Mapping[str, str] = {
    "shared": "shared",  # EII: one scale for everything
    "component": "component",  # VII: one scale per component
    "spherical": "component",  # scikit-learn's name of VII
    "dimension": "dimension",  # EEI: one scale per dimension
    "diagonal": "diagonal",  # VVI: a scale per component and dimension
    "diag": "diagonal",  # scikit-learn's name of VVI
    "full": "full",  # VVV
    "tied": "tied",  # EEE
}

ModelArg = Union[None, str, "os.PathLike[str]", Mapping[str, Any]]


def _seed(random_state: Any) -> int:
    """A 64-bit seed from scikit-learn's ``random_state`` (None: 0, the CLI's default seed)."""
    if random_state is None:
        return 0
    if isinstance(random_state, (int, np.integer)):
        if int(random_state) < 0:
            raise ValueError(f"random_state must be at least 0, got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    raise ValueError(
        f"random_state must be None, an int, a numpy RandomState or Generator, got {random_state!r}"
    )


def _family(covariance: str) -> str:
    if not isinstance(covariance, str) or covariance.strip().lower() not in FAMILIES:
        raise ValueError(
            f"covariance: {covariance!r} is not one of " + ", ".join(sorted(set(FAMILIES)))
        )
    return FAMILIES[covariance.strip().lower()]


def _resolution(resolution: Any) -> Tuple[str, list]:
    if isinstance(resolution, str):
        if resolution in ("auto", "off"):
            return resolution, []
        raise ValueError(
            f"resolution: {resolution!r} is not 'auto', 'off' or a number at least 0 (one, or one per column)"
        )
    values = np.atleast_1d(np.asarray(resolution, dtype=np.float64)).tolist()
    if not values or not all(np.isfinite(v) and v >= 0 for v in values):
        raise ValueError(
            f"resolution: {resolution!r} is not 'auto', 'off' or a number at least 0 (one, or one per column)"
        )
    if all(v == 0 for v in values):
        return "off", []
    return "given", values


def _float64(X: np.ndarray) -> np.ndarray:
    """float64 without a copy when it already is (C or Fortran order alike)."""
    return np.asarray(X, dtype=np.float64)


def _model_args(model: ModelArg) -> Tuple[Optional[str], Optional[str]]:
    """(model JSON, model file path) of ``model=``."""
    if model is None:
        return None, None
    if isinstance(model, (str, os.PathLike)):
        return None, os.fspath(model)
    if isinstance(model, Mapping):
        return json.dumps(model), None
    raise ValueError(
        f"model must be None, a model file's path (TOML) or a dict of the same content, got {type(model).__name__}"
    )


class GaussianMixture(DensityMixin, BaseEstimator):
    """A Bayesian Gaussian mixture, fitted at its MAP with the assignments summed out.

    The default model (``model=None``) is bgmm's ``-k K --covariance F``: Dirichlet(1/2)
    weights, Normal locations spanning 10 standard deviations of each column, and a scale prior
    in the data's units. The MAP search is the CLI's ``bgmm fit``: ``n_restarts`` starts screened,
    the ``n_candidates`` best optimised and polished, split and merge moves, the best proper
    mode kept (never a collapsed component). Missing values (NaN) are handled exactly (missing
    at random: each point's likelihood is that of its observed coordinates).

    Parameters
    ----------
    n_components : int
        Number of components K (ignored when ``model`` is given).
    covariance : str
        Covariance family: ``"diagonal"`` (scikit-learn's ``"diag"``, mclust VVI),
        ``"full"`` (VVV), ``"tied"`` (EEE), ``"component"`` (``"spherical"``, VII),
        ``"dimension"`` (EEI) or ``"shared"`` (EII).
    model : None, path or dict
        A model file (TOML, as the CLI takes) or a dict of the same content; overrides
        ``n_components`` and ``covariance``.
    n_restarts, n_candidates, init, steps, lr, betas, polish, grad_tol, subsample, resolution
        The MAP search, as the CLI's ``fit`` flags ``--restarts``, ``--candidates``, ``--init``
        (``"auto"``, ``"pyro"``, ``"kmeans++"``), ``--steps``, ``--lr``, ``--betas``,
        ``--no-polish``, ``--grad-tol``, ``--subsample`` and ``--resolution`` (``"auto"``,
        ``"off"``, or the resolution each column was recorded to).
    random_state : None, int, RandomState or Generator
        Seed (None: 0, the CLI's default). The same seed gives the same numbers as the CLI,
        whatever the number of threads.

    Attributes
    ----------
    weights_ : ndarray (K,)
    means_ : ndarray (K, D)
    covariances_ : ndarray
        scikit-learn's shape for the family: ``full`` (K, D, D), ``tied`` (D, D), ``diagonal``
        and ``dimension`` (K, D), ``component`` and ``shared`` (K,).
    converged_ : bool
        Whether the polish ended with a vanishing gradient.
    loss_ : float
        The negative log joint density at the MAP (the CLI's ``loss``).
    loglik_ : float
        The log likelihood at the MAP, Σₙ log p(xₙ | θ̂).
    n_iter_ : int
        Polish iterations of the best candidate.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame.
    fit_ : dict
        The whole fit, as the CLI's ``fit.json`` holds it (history, strategy, warnings).
    model_ : dict
        The model fitted (the TOML's content).
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance: str = "diagonal",
        model: ModelArg = None,
        n_restarts: int = 100,
        n_candidates: int = 10,
        init: str = "auto",
        steps: int = 200,
        lr: float = 0.1,
        betas: Tuple[float, float] = (0.8, 0.99),
        polish: bool = True,
        grad_tol: float = 1e-9,
        subsample: int = 5000,
        resolution: Union[str, float, Sequence[float]] = "auto",
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.covariance = covariance
        self.model = model
        self.n_restarts = n_restarts
        self.n_candidates = n_candidates
        self.init = init
        self.steps = steps
        self.lr = lr
        self.betas = betas
        self.polish = polish
        self.grad_tol = grad_tol
        self.subsample = subsample
        self.resolution = resolution
        self.random_state = random_state

    # ---- fitting -------------------------------------------------------------------------

    def _search_args(self) -> dict:
        """The MAP search's arguments of the native module."""
        mode, values = _resolution(self.resolution)
        try:
            betas = (float(self.betas[0]), float(self.betas[1]))
        except (TypeError, IndexError, ValueError):
            raise ValueError(f"betas must be two numbers, got {self.betas!r}") from None
        return dict(
            restarts=int(self.n_restarts),
            candidates=int(self.n_candidates),
            init=str(self.init),
            steps=int(self.steps),
            lr=float(self.lr),
            betas=betas,
            polish=bool(self.polish),
            grad_tol=float(self.grad_tol),
            seed=_seed(self.random_state),
            subsample=int(self.subsample),
            resolution=mode,
            resolution_values=values,
        )

    def _check_int(self, name: str, value: Any, least: int) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if value < least:
            raise ValueError(f"{name} must be at least {least}, got {value}")
        return int(value)

    def _validate(self, X: Any, reset: bool) -> np.ndarray:
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
            ensure_min_samples=1,
        )
        return _float64(X)

    def fit(self, X: Any, y: Any = None) -> "GaussianMixture":
        """Find the MAP of the model given ``X`` (n_samples, n_features); NaN: missing."""
        self._check_int("n_components", self.n_components, 1)
        for name in ("n_restarts", "n_candidates", "steps", "subsample"):
            self._check_int(name, getattr(self, name), 0)
        X = self._validate(X, reset=True)
        if self.model is None and X.shape[0] < self.n_components:
            raise ValueError(
                f"n_components={self.n_components} needs at least as many points, got n_samples={X.shape[0]}"
            )
        model_json, model_path = _model_args(self.model)
        fit_json, spec_json, loglik = _bgmm.fit(
            X,
            int(self.n_components),
            _family(self.covariance),
            model_json,
            model_path,
            self._search_args(),
        )
        self._set_fit(json.loads(fit_json), spec_json, loglik)
        for w in self.fit_.get("warnings", []):
            warnings.warn(w, RuntimeWarning, stacklevel=2)
        return self

    def _set_fit(self, fit: dict, spec_json: str, loglik: Optional[float]) -> None:
        """The fitted attributes from a fit (the core's serde Fit, or a CLI record)."""
        self.fit_ = fit
        self.model_ = json.loads(spec_json)
        self._spec_json = spec_json
        self._params_json = json.dumps(fit["params"])
        arrays = _bgmm.params_arrays(spec_json, self._params_json)
        self.family_ = arrays["family"]
        self.n_params_ = int(arrays["n_params"])
        self.weights_ = arrays["weights"]
        self.means_ = arrays["locs"]
        self._sd = arrays["sd"]
        self._cov = arrays["cov"]
        self.covariances_ = _sklearn_covariances(self.family_, arrays["sd"], arrays["cov"])
        self.converged_ = bool(fit.get("converged", True))
        self.loss_ = float(fit["loss"])
        self.loglik_ = float("nan") if loglik is None else float(loglik)
        self.n_iter_ = int(fit.get("polish_iterations", 0))
        self.n_features_in_ = int(self.means_.shape[1])

    # ---- point estimates -----------------------------------------------------------------

    def _fitted_X(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "fit_")
        return self._validate(X, reset=False)

    def _log_resp(self, X: Any) -> np.ndarray:
        """log p(z | x, θ̂), (n_samples, K): on ``X`` in place when it is a contiguous float64
        array without NaN."""
        log_resp, _ = _bgmm.responsibilities(
            self._fitted_X(X), self._spec_json, self._params_json, False
        )
        return log_resp

    def predict(self, X: Any) -> np.ndarray:
        """MAP assignment of every point (ties to the lower index), as the CLI's
        ``classify`` (``temperature=0``)."""
        log_resp = self._log_resp(X)
        return np.argmax(log_resp, axis=1)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """``fit(X)`` then ``predict(X)``."""
        return self.fit(X).predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """p(z = k | x, θ̂) of every point: (n_samples, K)."""
        log_resp = self._log_resp(X)
        return np.exp(log_resp)

    def sample_assignments(
        self, X: Any, temperature: int = 1, random_state: Any = None
    ) -> np.ndarray:
        """Assignments drawn from p(z | x, θ̂) (Pyro's ``infer_discrete``, ``temperature=1``),
        or the MAP ones (``temperature=0``)."""
        X = self._fitted_X(X)
        if temperature not in (0, 1):
            raise ValueError(f"temperature must be 0 or 1, got {temperature!r}")
        z, _ = _bgmm.classify(
            X, self._spec_json, self._params_json, int(temperature), _seed(random_state)
        )
        return z

    def _log_density(self, X: np.ndarray) -> np.ndarray:
        """log p(x | θ̂) of every row of an already validated ``X``."""
        _, dens = _bgmm.responsibilities(X, self._spec_json, self._params_json, True)
        assert dens is not None
        return dens

    def score_samples(self, X: Any) -> np.ndarray:
        """log p(x | θ̂) of every point (of its observed values; 0 for a row with none)."""
        return self._log_density(self._fitted_X(X))

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log likelihood per point."""
        return float(np.mean(self.score_samples(X)))

    def _n_observed_rows(self, X: np.ndarray) -> int:
        return int(np.sum(~np.all(np.isnan(X), axis=1)))

    def bic(self, X: Any) -> float:
        """Bayesian information criterion, −2 log p(X | θ̂) + p log N (lower is better; N:
        the rows with an observed value), as ``bgmm select`` computes it."""
        X = self._fitted_X(X)
        ll = float(np.sum(self._log_density(X)))
        return -2.0 * ll + self.n_params_ * np.log(self._n_observed_rows(X))

    def aic(self, X: Any) -> float:
        """Akaike information criterion, −2 log p(X | θ̂) + 2p."""
        ll = float(np.sum(self._log_density(self._fitted_X(X))))
        return -2.0 * ll + 2.0 * self.n_params_

    def sample(self, n_samples: int = 1, random_state: Any = None) -> Tuple[np.ndarray, np.ndarray]:
        """``n_samples`` points from the fitted mixture: (X, z). The CLI's
        ``bgmm predict FIT -n N --sets 1 --seed S`` draws the same points."""
        check_is_fitted(self, "fit_")
        n = self._check_int("n_samples", n_samples, 1)
        seed = _seed(self.random_state if random_state is None else random_state)
        return _bgmm.draw(self._spec_json, self._params_json, n, seed)

    # ---- posteriors ----------------------------------------------------------------------

    def _names(self) -> list:
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return [str(n) for n in names]
        return [f"x{j}" for j in range(self.n_features_in_)]

    def _posterior_input(self, X: Any) -> Tuple[np.ndarray, str, Optional[str], str]:
        """(X, model JSON, start parameters' JSON, family): this fit's, or, on an unfitted
        estimator, the model it would fit with no start (the sampler's own)."""
        if hasattr(self, "fit_"):
            return self._validate(X, reset=False), self._spec_json, self._params_json, self.family_
        self._check_int("n_components", self.n_components, 1)
        X = self._validate(X, reset=True)
        model_json, model_path = _model_args(self.model)
        spec_json, family = _bgmm.model_spec(
            X, int(self.n_components), _family(self.covariance), model_json, model_path
        )
        return X, spec_json, None, family

    def sample_posterior(
        self,
        X: Any,
        chains: int = 4,
        warmup: int = 1000,
        draws: int = 1000,
        *,
        random_state: Any = None,
        target_accept: float = 0.8,
        max_depth: int = 10,
        low_rank: bool = False,
        init: str = "map",
        log_likelihood: bool = True,
        posterior_predictive: bool = False,
        progress: bool = True,
        engine: str = "nuts",
        ess_ratio: float = 0.5,
        sweeps: int = 6,
    ) -> "arviz.InferenceData":
        """The posterior by collapsed NUTS as an ``arviz.InferenceData``: ``posterior`` (dims
        chain, draw, component, feature), ``sample_stats``, ``log_likelihood`` (pointwise, for
        ``az.loo``), ``observed_data`` and, on request, ``posterior_predictive`` (one replicate
        of X per draw).

        On a fitted estimator the chains start from its MAP and are labelled by it (the CLI's
        ``bgmm sample … --from-fit FIT``); on an unfitted one, from the sampler's own short MAP
        search, or from the prior where that MAP is degenerate or with ``init="prior"`` (the
        CLI's ``bgmm sample DATA -k K``): the posterior exists where the MAP does not.

        Ctrl-C stops every chain after its current draw: after warmup, the draws so far (every
        chain cut to the same length) are kept in ``interrupted_posterior_`` and
        ``KeyboardInterrupt`` is raised, as the CLI writes them and exits 130. ``progress``
        shows a bar per chain (tqdm: widgets in a notebook, text on a terminal).

        ``engine="smc"`` samples by sequential Monte Carlo tempered from the prior instead (the
        CLI's ``bgmm sample --engine smc``), for posteriors with several modes: ``chains``
        independent runs of ``draws`` particles (``warmup``, ``max_depth``, ``low_rank`` and
        ``init`` do not apply; ``ess_ratio`` and ``sweeps`` tune it), and the evidence
        ``log p(X)`` with its Monte Carlo standard error in ``idata.attrs["log_evidence"]`` and
        ``idata.attrs["log_evidence_se"]``."""
        from ._posterior import inference_data

        X, spec_json, start_json, family = self._posterior_input(X)
        seed = _seed(self.random_state if random_state is None else random_state)
        n_chains = self._check_int("chains", chains, 1)
        n_warmup = self._check_int("warmup", warmup, 0)
        n_draws = self._check_int("draws", draws, 1)
        if engine not in ("nuts", "smc"):
            raise ValueError(f"engine: '{engine}' is not 'nuts' or 'smc'")
        bars = None
        if progress and engine == "nuts":
            from ._progress import ChainBars

            bars = ChainBars(n_chains, n_warmup, n_draws)
        try:
            out = _bgmm.sample_posterior(
                X,
                spec_json,
                start_json,
                n_chains,
                n_warmup,
                n_draws,
                seed,
                float(target_accept),
                self._check_int("max_depth", max_depth, 1),
                bool(low_rank),
                str(init),
                bool(log_likelihood),
                bool(posterior_predictive),
                bars,
                engine,
                float(ess_ratio),
                self._check_int("sweeps", sweeps, 1),
            )
        finally:
            if bars is not None:
                bars.close()
        idata = inference_data(out, family, self._names(), X, method=engine)
        if out.get("interrupted"):
            # Ctrl-C after warmup: the draws so far are kept, as the CLI keeps them
            self.interrupted_posterior_ = idata
            kept = idata.posterior.sizes["draw"]
            raise KeyboardInterrupt(
                f"sampling stopped early: {kept} of {draws} draws per chain kept, in interrupted_posterior_"
            )
        return idata

    def vi(
        self,
        X: Any,
        *,
        steps: int = 10_000,
        lr: float = 0.01,
        mc_samples: int = 4,
        draws: int = 1000,
        random_state: Any = None,
        log_likelihood: bool = True,
        posterior_predictive: bool = False,
    ) -> "arviz.InferenceData":
        """The mean-field Gaussian variational posterior (Pyro's ``AutoNormal``; the CLI's
        ``bgmm vi``, which starts from its own MAP search), as one chain of ``draws`` draws in
        an ``arviz.InferenceData`` (the ELBO trace in ``idata.attrs["elbo"]``)."""
        from ._posterior import inference_data

        X, spec_json, _, family = self._posterior_input(X)
        seed = _seed(self.random_state if random_state is None else random_state)
        out = _bgmm.vi(
            X,
            spec_json,
            self._check_int("steps", steps, 1),
            float(lr),
            self._check_int("mc_samples", mc_samples, 1),
            seed,
            self._check_int("draws", draws, 4),
            bool(log_likelihood),
            bool(posterior_predictive),
        )
        return inference_data(out, family, self._names(), X, method="vi")

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"allow_nan": True}

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _sklearn_covariances(family: str, sd: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """scikit-learn's covariance shape for a family (see ``GaussianMixture.covariances_``)."""
    if family == "full":
        return cov.copy()
    if family == "tied":
        return cov[0].copy()
    if family in ("diagonal", "dimension"):
        return sd**2
    return sd[:, 0] ** 2
