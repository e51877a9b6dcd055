"""ArviZ's numbers for crates/bgmm/tests/loo.rs.

Builds the same pointwise log-likelihood arrays as the test (splitmix64, Box-Muller, AR(1)
chains; the generator and the recipe are written out twice, here and in the test, and must stay
the same) and prints what ArviZ's `loo`, `waic` and `compare` make of them, as Rust constants.

Run (ArviZ 0.23.4, numpy, scipy; pandas and xarray come with ArviZ):

    python3 -m venv venv && venv/bin/pip install arviz==0.23.4 numpy scipy
    venv/bin/python crates/bgmm/tests/data/loo_arviz.py
"""

import math
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import arviz as az  # noqa: E402
from arviz.stats.stats import _gpdfit  # noqa: E402

MASK = (1 << 64) - 1
CHAINS, DRAWS, POINTS = 4, 500, 40
OUTLIERS = [(7, 6.0), (19, -7.5), (31, 10.0), (38, 4.0)]


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        """In (0, 1): the top 53 bits, shifted half a step."""
        return ((self.next_u64() >> 11) + 0.5) * 2.0**-53

    def normal(self):
        u1 = self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def data():
    rng = SplitMix64(42)
    y = [rng.normal() for _ in range(POINTS)]
    for i, v in OUTLIERS:
        y[i] = v
    return y


def mean_sd(x):
    n = len(x)
    m = 0.0
    for v in x:
        m += v
    m /= n
    ss = 0.0
    for v in x:
        ss += (v - m) * (v - m)
    return m, math.sqrt(ss / (n - 1))


def ar1_chains(seed, centers, scales, rho):
    """draws[param][chain][draw]: center + scale * z, z an AR(1) series started at stationarity."""
    rng = SplitMix64(seed)
    out = [[[0.0] * DRAWS for _ in range(CHAINS)] for _ in centers]
    innov = math.sqrt(1.0 - rho * rho)
    for c in range(CHAINS):
        z = [rng.normal() for _ in centers]
        for t in range(DRAWS):
            if t > 0:
                z = [rho * zp + innov * rng.normal() for zp in z]
            for p in range(len(centers)):
                out[p][c][t] = centers[p] + scales[p] * z[p]
    return out


LOG_2PI = math.log(2.0 * math.pi)
# Student-t with 4 degrees of freedom: lgamma(5/2) - lgamma(2) - log(4 pi) / 2
T4_CONST = math.log(0.75 * math.sqrt(math.pi)) - 0.5 * math.log(4.0 * math.pi)


def normal_logpdf(y, mu, sigma):
    z = (y - mu) / sigma
    return -0.5 * LOG_2PI - math.log(sigma) - 0.5 * z * z


def t4_logpdf(y, mu, sigma):
    z = (y - mu) / sigma
    return T4_CONST - math.log(sigma) - 2.5 * math.log1p(z * z / 4.0)


def models():
    """name -> (posterior {name: (chains, draws)}, log_lik (chains, draws, points))."""
    y = data()
    n = len(y)
    m, s = mean_sd(y)
    inl = [v for v in y if abs(v) < 3.0]
    mi, si = mean_sd(inl)
    specs = {
        # mu, log sigma
        "normal": (1001, [m, math.log(s)], [s / math.sqrt(n), 1.0 / math.sqrt(2.0 * n)], 0.6),
        "student_t": (1002, [mi, math.log(si)], [si / math.sqrt(n), 1.0 / math.sqrt(2.0 * n)], 0.6),
        # mu only, sigma = 1
        "normal_fixed": (1003, [m], [1.0 / math.sqrt(n)], 0.3),
    }
    out = {}
    for name, (seed, centers, scales, rho) in specs.items():
        draws = ar1_chains(seed, centers, scales, rho)
        ll = np.empty((CHAINS, DRAWS, POINTS))
        post = {"mu": np.array(draws[0])}
        if len(draws) > 1:
            post["sigma"] = np.exp(np.array(draws[1]))
        for c in range(CHAINS):
            for t in range(DRAWS):
                mu = draws[0][c][t]
                sigma = math.exp(draws[1][c][t]) if len(draws) > 1 else 1.0
                for i in range(POINTS):
                    if name == "student_t":
                        ll[c, t, i] = t4_logpdf(y[i], mu, sigma)
                    else:
                        ll[c, t, i] = normal_logpdf(y[i], mu, sigma)
        out[name] = (post, ll)
    return out


def gpd_sample(seed, n, k, sigma):
    """Sorted draws of the generalized Pareto distribution by its inverse cdf."""
    rng = SplitMix64(seed)
    return sorted(sigma * math.expm1(-k * math.log1p(-rng.uniform())) / k for _ in range(n))


def rust(x):
    return repr(float(x))


def rust_array(xs):
    return "[" + ", ".join(rust(v) for v in xs) + "]"


def rust_bool(b):
    return str(bool(b)).lower()


def stacking_optimum(names, pointwise):
    """The exact stacking weights: the first two models share the weight, the others get none.

    Solves d/dw sum_i log(w a_i0 + (1 - w) a_i1) = 0 by Brent's method to machine precision
    and checks the KKT condition of the others, g_k = mean_i(a_ik / s_i) <= 1.
    """
    from scipy.optimize import brentq

    e = np.column_stack(pointwise)
    a = np.exp(e - e.max(axis=1, keepdims=True))
    w0 = brentq(
        lambda w: np.sum((a[:, 0] - a[:, 1]) / (w * a[:, 0] + (1 - w) * a[:, 1])),
        1e-12, 1 - 1e-12, xtol=1e-16, rtol=8.9e-16, maxiter=500,
    )
    w = np.zeros(len(names))
    w[0], w[1] = w0, 1 - w0
    g = (a / (a @ w)[:, None]).mean(axis=0)
    assert np.all(np.abs(g[:2] - 1) < 1e-12) and np.all(g[2:] < 1), g
    return w, g


def main():
    print(f"// ArviZ {az.__version__}, printed by tests/data/loo_arviz.py")
    idatas = {}
    print("const ARVIZ: [ArvizModel; 3] = [")
    for name, (post, ll) in models().items():
        idata = az.from_dict(posterior=post, log_likelihood={"y": ll})
        idatas[name] = idata
        ess = az.ess(idata.posterior, method="mean")
        reff = np.hstack([ess[v].values.flatten() for v in ess.data_vars]).mean() / (CHAINS * DRAWS)
        loo = az.loo(idata, pointwise=True)
        loo1 = az.loo(idata, pointwise=True, reff=1.0)
        waic = az.waic(idata, pointwise=True)
        k = loo.pareto_k.values
        print("    ArvizModel {")
        print(f'        name: "{name}",')
        print(f"        reff: {rust(reff)},")
        print(f"        good_k: {rust(loo.good_k)},")
        print(f"        elpd_loo: {rust(loo.elpd_loo)},")
        print(f"        se_loo: {rust(loo.se)},")
        print(f"        p_loo: {rust(loo.p_loo)},")
        print(f"        // k > good_k at points {[int(i) for i in np.nonzero(k > loo.good_k)[0]]}")
        print(f"        warning_loo: {rust_bool(loo.warning)},")
        print(f"        loo_i: {rust_array(loo.loo_i.values)},")
        print(f"        pareto_k: {rust_array(k)},")
        print(f"        elpd_loo_reff1: {rust(loo1.elpd_loo)},")
        print(f"        pareto_k_reff1: {rust_array(loo1.pareto_k.values)},")
        print(f"        elpd_waic: {rust(waic.elpd_waic)},")
        print(f"        se_waic: {rust(waic.se)},")
        print(f"        p_waic: {rust(waic.p_waic)},")
        print(f"        warning_waic: {rust_bool(waic.warning)},")
        print(f"        waic_i: {rust_array(waic.waic_i.values)},")
        print("    },")
    print("];")

    for method in ["stacking", "pseudo-BMA"]:
        for ic in ["loo", "waic"]:
            cmp = az.compare(idatas, ic=ic, method=method)
            const = f"COMPARE_{ic}_{method.replace('-', '_')}".upper()
            print(f"// az.compare(models, ic=\"{ic}\", method=\"{method}\")")
            print(f"const {const}: [ArvizRow; 3] = [")
            for name, row in cmp.iterrows():
                print(
                    f'    ArvizRow("{name}", {int(row["rank"])}, {rust(row[f"elpd_{ic}"])}, '
                    f'{rust(row[f"p_{ic}"])}, {rust(row["elpd_diff"])}, {rust(row["weight"])}, '
                    f'{rust(row["se"])}, {rust(row["dse"])}, {rust_bool(row["warning"])}),'
                )
            print("];")

    # ArviZ's SLSQP stops at its default ftol (1e-6): the optimum itself, to machine precision
    for ic in ["loo", "waic"]:
        fn = az.loo if ic == "loo" else az.waic
        names = list(az.compare(idatas, ic=ic).index)
        pointwise = [fn(idatas[n], pointwise=True)[f"{ic}_i"].values for n in names]
        w, g = stacking_optimum(names, pointwise)
        print(f"// the stacking optimum of {names}; g = {[float(v) for v in g]}")
        print(f"const STACKING_OPTIMUM_{ic.upper()}: [f64; 3] = {rust_array(w)};")

    # GPD fit: ArviZ's _gpdfit on draws of a GPD(k = 0.3, sigma = 2) (src/loo.rs's unit test)
    for seed, n in [(7, 20), (8, 1000)]:
        x = np.array(gpd_sample(seed, n, 0.3, 2.0))
        k, sigma = _gpdfit(x)
        print(f"// _gpdfit, seed {seed}, n {n}: ({rust(k)}, {rust(sigma)})")


main()
