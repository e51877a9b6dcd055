"""Selection accuracy: bgmm select (BIC, ICL, AIC), scikit-learn's BIC and mclust's BIC on
simulated 2-D data of known K (1-6) and family (the six), separated (centres on a circle of
radius 6) and overlapping (2.5), 100 points per component (at least 200), NSEEDS data sets per
cell. Writes OUTDIR/data/*.csv and OUTDIR/results.json (resumable); needs numpy, scikit-learn,
and R with mclust and jsonlite (accuracy_mclust.R, next to this file).

usage: python accuracy.py path/to/bgmm OUTDIR [NSEEDS=2]"""
import json, os, subprocess, sys, time
import numpy as np
from sklearn.mixture import GaussianMixture

BIN = sys.argv[1]; OUTDIR = sys.argv[2]; NSEEDS = int(sys.argv[3]) if len(sys.argv) > 3 else 2
OUT = os.path.join(OUTDIR, "results.json")
os.makedirs(os.path.join(OUTDIR, "data"), exist_ok=True)
FAMS = ["shared", "component", "dimension", "diagonal", "tied", "full"]
MCL = dict(shared="EII", component="VII", dimension="EEI", diagonal="VVI", tied="EEE", full="VVV")
NICE = ["nice", "-n", "10"]

def rot(a):
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])

def covs(fam, K):
    if fam == "shared": return [np.eye(2)] * K
    if fam == "component": return [np.eye(2) * s**2 for s in np.linspace(0.6, 1.4, K)]
    if fam == "dimension": return [np.diag([1.4**2, 0.7**2])] * K
    if fam == "diagonal": return [np.diag([a**2, b**2]) for a, b in zip(np.linspace(0.6, 1.4, K), np.linspace(1.3, 0.7, K))]
    if fam == "tied":
        R = rot(0.6); return [R @ np.diag([1.5**2, 0.5**2]) @ R.T] * K
    return [rot(a) @ np.diag([1.5**2, 0.5**2]) @ rot(a).T for a in np.linspace(0, np.pi * 0.8, K)]

def simulate(rng, fam, K, sep):
    n = max(100 * K, 200)
    w = np.ones(K) / K
    ang = np.linspace(0, 2 * np.pi, K, endpoint=False)
    mu = np.stack([np.cos(ang), np.sin(ang)], 1) * sep * (K > 1) * (1 if K > 2 else 0.5)
    z = rng.choice(K, n, p=w)
    C = covs(fam, K)
    return np.array([rng.multivariate_normal(mu[k], C[k]) for k in z])

os.nice(10)  # this process (scikit-learn runs in-process) at nice 10; children are started with nice -n 10 too
results = json.load(open(OUT)) if os.path.exists(OUT) else []
done = {(r["seed"], r["sep"], r["K"], r["family"]) for r in results}
REG = [("separated", 6.0), ("overlapping", 2.5)]
for seed in range(NSEEDS):
    for K in range(1, 7):
        for fi, fam in enumerate(FAMS):
            for ri, (sep_name, sep) in enumerate(REG):
                if (seed, sep_name, K, fam) in done: continue
                rng = np.random.default_rng([20261202, seed, ri, K, fi])
                X = simulate(rng, fam, K, sep)
                path = os.path.join(OUTDIR, "data", f"{sep_name}_K{K}_{fam}_s{seed}.csv")
                np.savetxt(path, X, delimiter=",", header="x,y", comments="")
                rec = {"seed": seed, "sep": sep_name, "K": K, "family": fam, "n": len(X), "csv": path}
                # bgmm
                t = time.time()
                out = subprocess.run(NICE + [BIN, "select", path, "-k", "1..7", "--json"], capture_output=True, text=True)
                rec["bgmm_secs"] = time.time() - t
                rec["bgmm_rc"] = out.returncode; rec["bgmm_stderr"] = out.stderr[-3000:]
                try:
                    js = json.loads(out.stdout)
                    rec["bgmm_table"] = js["table"]; rec["bgmm_best"] = js.get("best")
                    choice = {}
                    for crit in ["bic", "icl", "aic"]:
                        rows = [r for r in js["table"] if r[crit] is not None]
                        b = min(rows, key=lambda r: r[crit])
                        choice[crit] = [b["k"], b["covariance"], b[crit]]
                    rec["bgmm"] = choice
                except Exception as e:
                    rec["bgmm_error"] = repr(e); rec["bgmm_stdout"] = out.stdout[-2000:]
                # scikit-learn
                t = time.time()
                sk = []
                for ct in ["spherical", "diag", "tied", "full"]:
                    for k in range(1, 8):
                        try:
                            g = GaussianMixture(k, covariance_type=ct, n_init=3, random_state=0).fit(X)
                            sk.append((g.bic(X), k, ct))
                        except Exception as e:
                            rec.setdefault("sklearn_errors", []).append([k, ct, repr(e)])
                rec["sklearn_secs"] = time.time() - t
                b = min(sk); rec["sklearn"] = [b[1], b[2], b[0]]
                rec["sklearn_table"] = [[k, ct, v] for v, k, ct in sk]
                # mclust
                mj = path[:-4] + "_mclust.json"
                t = time.time()
                out = subprocess.run(NICE + ["Rscript", os.path.join(os.path.dirname(os.path.abspath(__file__)), "accuracy_mclust.R"), path, mj], capture_output=True, text=True)
                rec["mclust_wall_secs"] = time.time() - t
                rec["mclust_rc"] = out.returncode; rec["mclust_stderr"] = out.stderr[-2000:]
                try:
                    m = json.load(open(mj))
                    rec["mclust"] = [m["G"], m["modelName"], m["bic"]]; rec["mclust_secs"] = m["secs"]
                    rec["mclust_bic_table"] = m["bic_table"]; rec["mclust_loglik"] = m["loglik"]
                except Exception as e:
                    rec["mclust_error"] = repr(e)
                results.append(rec)
                short = {k: rec.get(k) for k in ["seed", "sep", "K", "family", "bgmm", "sklearn", "mclust", "bgmm_secs", "sklearn_secs", "mclust_wall_secs"]}
                print(time.strftime("%H:%M:%S"), json.dumps(short), flush=True)
                json.dump(results, open(OUT + ".tmp", "w")); os.replace(OUT + ".tmp", OUT)
print("DONE", len(results), flush=True)
