"""bgmm — Bayesian Gaussian mixture models, exactly and fast.

``bgmm.GaussianMixture`` is a scikit-learn estimator (the MAP, with the assignments summed out,
at the best proper mode); its ``sample_posterior`` and ``vi`` give ``arviz.InferenceData``.
``bgmm.select`` chooses the number of components and the covariance family (BIC, ICL, AIC,
PSIS-LOO, WAIC); ``bgmm.simulate`` draws data from a model's priors and ``bgmm.describe`` lists
its sites; ``bgmm.read`` reads what the ``bgmm`` command wrote; ``bgmm.distributed`` fits data on
Dask or Spark. The numbers are the CLI's:
the same seed gives the same result, whatever the number of threads.
"""

from ._bgmm import __version__
from ._estimator import FAMILIES, GaussianMixture
from ._read import read
from ._select import select
from ._simulate import describe, simulate

__all__ = ["GaussianMixture", "select", "read", "simulate", "describe", "FAMILIES", "__version__"]
