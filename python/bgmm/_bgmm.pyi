"""The native module (Rust, PyO3): called by the package, not meant for users."""

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

__version__: str
LOG_LIK_MAX_VALUES: int

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]

# the MAP search's options: GaussianMixture._search_args()
_Search = Dict[str, Any]

def fit(
    x: _F,
    k: int,
    covariance: str,
    model_json: Optional[str],
    model_path: Optional[str],
    search: _Search,
) -> Tuple[str, str, float]: ...
def model_spec(
    x: _F, k: int, covariance: str, model_json: Optional[str], model_path: Optional[str]
) -> Tuple[str, str]: ...
def params_arrays(spec_json: str, params_json: str) -> Dict[str, Any]: ...
def responsibilities(
    x: _F, spec_json: str, params_json: str, density: bool
) -> Tuple[_F, Optional[_F]]: ...
def classify(
    x: _F, spec_json: str, params_json: str, temperature: int, seed: int
) -> Tuple[_I, _F]: ...
def draw(spec_json: str, params_json: str, n: int, seed: int) -> Tuple[_F, _I]: ...
def sample_posterior(
    x: _F,
    spec_json: str,
    start_json: Optional[str],
    chains: int,
    warmup: int,
    draws: int,
    seed: int,
    target_accept: float,
    max_depth: int,
    low_rank: bool,
    init: str,
    log_lik: bool,
    predictive: bool,
    progress: Optional[Callable[[List[int], List[int]], None]] = None,
    engine: str = "nuts",
    ess_ratio: float = 0.5,
    sweeps: int = 6,
) -> Dict[str, Any]: ...
def vi(
    x: _F,
    spec_json: str,
    steps: int,
    lr: float,
    mc_samples: int,
    seed: int,
    draws: int,
    log_lik: bool,
    predictive: bool,
) -> Dict[str, Any]: ...
def select(
    x: _F,
    ks: List[int],
    families: List[str],
    criterion: str,
    search: _Search,
    chains: int,
    warmup: int,
    draws: int,
) -> Dict[str, Any]: ...
def read_fit(path: str) -> Tuple[str, str, str]: ...
def read_sample_run(dir: str) -> Dict[str, Any]: ...
def simulate(
    model_json: Optional[str], model_path: Optional[str], n: int, seed: int
) -> Tuple[_F, _I, str, str]: ...
def describe(model_json: Optional[str], model_path: Optional[str], n: int) -> str: ...

# bgmm.distributed: a partition's summary and statistics, their merges, the partitioned search
def partition_summary(x: _F) -> str: ...
def partition_summary_columns(cols: List[_F]) -> str: ...
def merge_summaries(parts: List[str]) -> str: ...
def partition_stats(spec_json: str, request_json: str, x: _F) -> str: ...
def partition_stats_columns(spec_json: str, request_json: str, cols: List[_F]) -> str: ...
def merge_stats(parts: List[str]) -> str: ...
def fit_partitioned(
    parts: Any,
    summary_json: str,
    k: int,
    covariance: str,
    model_json: Optional[str],
    model_path: Optional[str],
    search: _Search,
) -> Tuple[str, str, float]: ...
def select_partitioned(
    parts: Any,
    ks: List[int],
    families: List[str],
    criterion: str,
    search: _Search,
) -> Dict[str, Any]: ...
