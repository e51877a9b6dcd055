"""Shared fixtures: data sets and the ``bgmm`` command (to compare numbers with the CLI)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, List

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _cli_path() -> Path:
    given = os.environ.get("BGMM_CLI")
    candidates = [Path(given)] if given else []
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        candidates.append(Path(target) / "release" / "bgmm")
    candidates.append(REPO / "target" / "release" / "bgmm")
    found = shutil.which("bgmm")
    if found:
        candidates.append(Path(found))
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    raise FileNotFoundError(", ".join(str(c) for c in candidates))


@pytest.fixture(scope="session")
def cli() -> Callable[..., str]:
    """Run the ``bgmm`` command (``cargo build --release`` makes it; ``BGMM_CLI`` names
    another); its stdout. The test fails, rather than skips, when ``BGMM_REQUIRE_CLI=1``."""
    try:
        path = _cli_path()
    except FileNotFoundError as e:
        if os.environ.get("BGMM_REQUIRE_CLI") == "1":
            pytest.fail(f"the bgmm command is needed and was not found at: {e}")
        pytest.skip("the bgmm command is not built (cargo build --release)")

    def run(*args: str) -> str:
        p = subprocess.run([str(path), *args], capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise AssertionError(f"bgmm {' '.join(args)} failed: {p.stderr}")
        return p.stdout

    return run


@pytest.fixture(scope="session")
def petal() -> np.ndarray:
    """Fisher's iris petal lengths (scikit-learn's bundled copy), (150, 1)."""
    from sklearn.datasets import load_iris

    return load_iris().data[:, 2:3].copy()


@pytest.fixture(scope="session")
def blobs() -> np.ndarray:
    """Three correlated 2-D clusters, 300 points."""
    rng = np.random.default_rng(7)
    parts: List[np.ndarray] = []
    for centre, cov in (
        ((0.0, 0.0), [[1.0, 0.8], [0.8, 1.0]]),
        ((6.0, 1.0), [[1.0, -0.5], [-0.5, 0.6]]),
        ((2.0, 7.0), [[0.5, 0.0], [0.0, 2.0]]),
    ):
        parts.append(rng.multivariate_normal(centre, cov, size=100))
    return np.vstack(parts)


def write_csv(path: Path, X: np.ndarray, names: List[str]) -> Path:
    """X as CSV with every float written exactly (repr), NaN as an empty cell."""
    lines = [",".join(names)]
    for row in X:
        lines.append(",".join("" if np.isnan(v) else repr(float(v)) for v in row))
    path.write_text("\n".join(lines) + "\n")
    return path
