//! Small, dependency-free minimisers used for MAP estimation.
//!
//! * [`Adam`]: a first-order stochastic optimiser with exactly the update rule of
//!   `torch.optim.Adam` (as wrapped by Pyro's `pyro.optim.Adam`), without weight
//!   decay or AMSGrad.
//! * [`lbfgs`]: limited-memory BFGS with a strong-Wolfe line search
//!   (bracketing + zoom, Nocedal & Wright Alg. 3.5/3.6) that treats non-finite
//!   objective values (`+inf`, `NaN`, overflow) as "step too long" and backtracks,
//!   so that a non-finite value never reaches the returned point.
//!
//! Objectives are written for minimisation (e.g. the negative log joint density on
//! an unconstrained parameter space).

use std::collections::VecDeque;

/// A differentiable function `f(x)` to minimise.
///
/// `eval` writes the gradient of `f` at `x` into `grad` (same length as `x`) and
/// returns `f(x)`. It may return `+inf` or `NaN` (or a non-finite gradient) where
/// the function is undefined or overflows; [`lbfgs`] then backtracks. The L-BFGS
/// driver zeroes `grad` before every call, so accumulating into it is allowed.
///
/// Any closure `FnMut(&[f64], &mut [f64]) -> f64` is an `Objective`.
pub trait Objective {
    /// Evaluate `f(x)`, writing `∇f(x)` into `grad`.
    fn eval(&mut self, x: &[f64], grad: &mut [f64]) -> f64;
}

impl<F: FnMut(&[f64], &mut [f64]) -> f64> Objective for F {
    fn eval(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        self(x, grad)
    }
}

/// Adam optimiser with exactly the semantics of `torch.optim.Adam`
/// (no weight decay, no AMSGrad), as used by Pyro's `pyro.optim.Adam`.
///
/// For each call to [`Adam::step`] with gradient `g`:
///
/// ```text
/// t  += 1
/// m   = b1*m + (1-b1)*g
/// v   = b2*v + (1-b2)*g^2
/// bc1 = 1 - b1^t;   bc2 = 1 - b2^t
/// denom = sqrt(v)/sqrt(bc2) + eps
/// x  -= (lr/bc1) * m / denom
/// ```
///
/// `eps` defaults to `1e-8` (torch's default) and may be changed through the
/// public field.
#[derive(Clone, Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// Exponential decay rate of the first-moment estimate (torch `betas[0]`).
    pub beta1: f64,
    /// Exponential decay rate of the second-moment estimate (torch `betas[1]`).
    pub beta2: f64,
    /// Term added to the denominator for numerical stability (default `1e-8`).
    pub eps: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: u64,
}

impl Adam {
    /// Create an optimiser for a parameter vector of length `dim`, with zeroed
    /// moment estimates and `eps = 1e-8`.
    pub fn new(dim: usize, lr: f64, beta1: f64, beta2: f64) -> Self {
        Self {
            lr,
            beta1,
            beta2,
            eps: 1e-8,
            m: vec![0.0; dim],
            v: vec![0.0; dim],
            t: 0,
        }
    }

    /// Perform one update of `x` given `grad`, the gradient of the loss at `x`.
    ///
    /// # Panics
    ///
    /// Panics if `x.len()` or `grad.len()` differs from the `dim` given to
    /// [`Adam::new`].
    pub fn step(&mut self, x: &mut [f64], grad: &[f64]) {
        assert_eq!(x.len(), self.m.len(), "Adam::step: x has the wrong length");
        assert_eq!(
            grad.len(),
            self.m.len(),
            "Adam::step: grad has the wrong length"
        );
        self.t += 1;
        let t = self.t as f64;
        let bc1 = 1.0 - self.beta1.powf(t);
        let bc2_sqrt = (1.0 - self.beta2.powf(t)).sqrt();
        let step_size = self.lr / bc1;
        for (((xi, &gi), mi), vi) in x
            .iter_mut()
            .zip(grad)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            *mi = self.beta1 * *mi + (1.0 - self.beta1) * gi;
            *vi = self.beta2 * *vi + (1.0 - self.beta2) * gi * gi;
            let denom = vi.sqrt() / bc2_sqrt + self.eps;
            *xi -= step_size * *mi / denom;
        }
    }

    /// Number of updates performed so far (torch's `state["step"]`).
    #[cfg(test)]
    pub fn steps_taken(&self) -> u64 {
        self.t
    }
}

/// Options for [`lbfgs`].
#[derive(Clone, Debug)]
pub struct LbfgsOptions {
    /// Number of `(s, y)` correction pairs kept (default 10; 0 is treated as 1).
    pub history: usize,
    /// Maximum number of iterations, i.e. accepted line-search steps (default 1000).
    pub max_iter: usize,
    /// Convergence when the infinity norm of the gradient satisfies
    /// `max_i |g_i| <= grad_tol` (plain absolute test; default `1e-8`).
    pub grad_tol: f64,
    /// Fallback stop: when `|f_prev - f| <= f_tol * max(|f|, |f_prev|, 1)` for two
    /// consecutive iterations the run stops with `"no further decrease"`; it is
    /// reported as converged only if the gradient test passes (default `1e-14`).
    pub f_tol: f64,
    /// Maximum number of objective evaluations per line search (default 40).
    pub max_line_search: usize,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        Self {
            history: 10,
            max_iter: 1000,
            grad_tol: 1e-8,
            f_tol: 1e-14,
            max_line_search: 40,
        }
    }
}

/// Outcome of [`lbfgs`].
#[derive(Clone, Debug)]
pub struct LbfgsResult {
    /// Best point found (see [`lbfgs`]); its `f` is always finite unless the
    /// start was non-finite, in which case `x` is the start point.
    pub x: Vec<f64>,
    /// Objective value at `x`.
    pub f: f64,
    /// Gradient at `x` (read by the tests: the engines use the norm).
    #[cfg_attr(not(test), allow(dead_code))]
    pub grad: Vec<f64>,
    /// Infinity norm of `grad`.
    pub grad_norm_inf: f64,
    /// Number of iterations (accepted steps) performed.
    pub iterations: usize,
    /// Total number of objective evaluations, including the one at `x0` (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub evaluations: usize,
    /// `true` iff the gradient test `grad_norm_inf <= grad_tol` passed at `x`.
    pub converged: bool,
    /// Why the run stopped: `"gradient below tolerance"`, `"no further decrease"`,
    /// `"line search failed"`, `"max iterations"` or `"non-finite start"`.
    pub message: String,
    /// Objective value after each iteration, starting with `f(x0)`.
    pub history: Vec<f64>,
}

/// Sufficient-decrease constant of the Wolfe conditions.
const C1: f64 = 1e-4;
/// Curvature constant of the strong Wolfe conditions.
const C2: f64 = 0.9;
/// Allowance for floating-point rounding in comparisons of objective values
/// (relative to `|f|`), applied to the sufficient-decrease test.
const ROUNDOFF: f64 = 10.0 * f64::EPSILON;
/// Relative noise level of objective values (Hager & Zhang's approximate Wolfe
/// `epsilon`, made much stricter). Near the optimum the true decrease
/// `~ |g|^2 / curvature` falls below the rounding error of `f` (which, with
/// cancellation between large terms, is far above `EPSILON * |f|`); comparisons
/// of `f` values are then meaningless. A trial step whose value is within
/// `NOISE * |f(x)|` of `f(x)` is therefore judged by its directional derivative
/// alone (the approximate Wolfe conditions: for a quadratic along the line,
/// `|phi'(a)| <= c2 |phi'(0)|` implies sufficient decrease).
const NOISE: f64 = 1e-10;
/// Curvature pairs with `s'y <= CURVATURE_EPS * |s| |y|` are not stored.
const CURVATURE_EPS: f64 = 1e-10;
/// Largest step multiplier the line search will try.
const ALPHA_MAX: f64 = 1e20;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm_inf(a: &[f64]) -> f64 {
    a.iter().fold(0.0_f64, |m, x| m.max(x.abs()))
}

/// Euclidean norm, scaled to avoid overflow/underflow.
fn norm2(a: &[f64]) -> f64 {
    let scale = norm_inf(a);
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    scale * a.iter().map(|x| (x / scale).powi(2)).sum::<f64>().sqrt()
}

fn all_finite(a: &[f64]) -> bool {
    a.iter().all(|x| x.is_finite())
}

/// Evaluate `obj` at `x` into `grad` (zeroed first), counting the evaluation.
fn evaluate<O: Objective + ?Sized>(
    obj: &mut O,
    x: &[f64],
    grad: &mut [f64],
    evals: &mut usize,
) -> f64 {
    grad.fill(0.0);
    *evals += 1;
    obj.eval(x, grad)
}

/// Minimiser of the cubic interpolating `(a, fa, ga)` and `(b, fb, gb)`
/// (Nocedal & Wright eq. 3.59), if it exists.
fn cubic_min(a: f64, fa: f64, ga: f64, b: f64, fb: f64, gb: f64) -> Option<f64> {
    let d1 = ga + gb - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - ga * gb;
    if disc.is_nan() || disc < 0.0 {
        return None;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let denom = gb - ga + 2.0 * d2;
    if denom == 0.0 {
        return None;
    }
    let r = b - (b - a) * (gb + d2 - d1) / denom;
    r.is_finite().then_some(r)
}

/// Minimiser of the quadratic interpolating `f(a) = fa`, `f'(a) = ga`,
/// `f(b) = fb`, if it is convex.
fn quadratic_min(a: f64, fa: f64, ga: f64, b: f64, fb: f64) -> Option<f64> {
    let h = b - a;
    let c = (fb - fa - ga * h) / (h * h);
    if c.is_nan() || c <= 0.0 {
        return None;
    }
    let r = a - ga / (2.0 * c);
    r.is_finite().then_some(r)
}

/// A point on the line `alpha -> x + alpha d`: step, value, directional derivative.
#[derive(Clone, Copy, Debug)]
struct LinePoint {
    a: f64,
    f: f64,
    d: f64,
}

impl LinePoint {
    fn finite(&self) -> bool {
        self.f.is_finite() && self.d.is_finite()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SearchStatus {
    /// The strong Wolfe conditions hold at the returned step.
    Wolfe,
    /// Budget or precision exhausted, but a step with sufficient (Armijo)
    /// decrease and a strictly lower objective value was found and is returned.
    Decrease,
    /// No acceptable step found.
    Failed,
}

/// Scratch buffers and result of a line search.
struct LineSearch {
    /// Trial point and its gradient.
    xt: Vec<f64>,
    gt: Vec<f64>,
    /// Best acceptable point so far (the `lo` end of the bracket) and its gradient.
    xlo: Vec<f64>,
    glo: Vec<f64>,
    /// On success: the accepted point, its gradient and value.
    x_new: Vec<f64>,
    g_new: Vec<f64>,
    f_new: f64,
}

impl LineSearch {
    fn new(n: usize) -> Self {
        Self {
            xt: vec![0.0; n],
            gt: vec![0.0; n],
            xlo: vec![0.0; n],
            glo: vec![0.0; n],
            x_new: vec![0.0; n],
            g_new: vec![0.0; n],
            f_new: f64::NAN,
        }
    }

    /// Evaluate at `x + a d`, leaving the point in `xt`/`gt`.
    fn probe<O: Objective + ?Sized>(
        &mut self,
        obj: &mut O,
        x: &[f64],
        d: &[f64],
        a: f64,
        evals: &mut usize,
    ) -> LinePoint {
        for ((xt, &xi), &di) in self.xt.iter_mut().zip(x).zip(d) {
            *xt = xi + a * di;
        }
        let f = evaluate(obj, &self.xt, &mut self.gt, evals);
        let ok = f.is_finite() && all_finite(&self.gt);
        LinePoint {
            a,
            f: if ok { f } else { f64::INFINITY },
            d: if ok { dot(&self.gt, d) } else { f64::NAN },
        }
    }

    fn accept_trial(&mut self, p: LinePoint) -> SearchStatus {
        self.x_new.copy_from_slice(&self.xt);
        self.g_new.copy_from_slice(&self.gt);
        self.f_new = p.f;
        SearchStatus::Wolfe
    }

    fn store_lo(&mut self) {
        self.xlo.copy_from_slice(&self.xt);
        self.glo.copy_from_slice(&self.gt);
    }

    /// Fallback when the strong Wolfe conditions could not be met: accept the
    /// stored `lo` point if it is a genuine decrease.
    fn fallback(&mut self, lo: LinePoint, f0: f64) -> SearchStatus {
        if lo.a > 0.0 && lo.f < f0 {
            self.x_new.copy_from_slice(&self.xlo);
            self.g_new.copy_from_slice(&self.glo);
            self.f_new = lo.f;
            SearchStatus::Decrease
        } else {
            SearchStatus::Failed
        }
    }

    /// Strong-Wolfe line search along `d` from `x` (value `f0`, directional
    /// derivative `dphi0 < 0`), Nocedal & Wright Alg. 3.5 (bracketing) and 3.6
    /// (zoom) with safeguarded cubic/quadratic interpolation. Non-finite trial
    /// values are treated as "too far": they become the upper end of the bracket
    /// and the step is halved towards the last good point.
    #[allow(clippy::too_many_arguments)]
    fn search<O: Objective + ?Sized>(
        &mut self,
        obj: &mut O,
        x: &[f64],
        f0: f64,
        d: &[f64],
        dphi0: f64,
        alpha_init: f64,
        max_evals: usize,
        evals: &mut usize,
    ) -> SearchStatus {
        let tol = ROUNDOFF * f0.abs();
        let armijo = |p: &LinePoint| p.f <= f0 + C1 * p.a * dphi0 + tol;
        let curvature = |p: &LinePoint| p.d.abs() <= -C2 * dphi0;
        // Value indistinguishable from f0 up to noise: decide by the derivative.
        let noise_level = |p: &LinePoint| p.f <= f0 + NOISE * f0.abs();
        let acceptable = |p: &LinePoint| curvature(p) && (armijo(p) || noise_level(p));
        let dnorm = norm_inf(d);
        let xnorm = norm_inf(x);
        let origin = LinePoint {
            a: 0.0,
            f: f0,
            d: dphi0,
        };
        let mut used = 0usize;

        // Bracketing phase (Alg. 3.5).
        let mut prev = origin;
        let mut a = alpha_init;
        let (mut lo, mut hi) = loop {
            if used >= max_evals {
                return self.fallback(prev, f0);
            }
            let cur = self.probe(obj, x, d, a, evals);
            used += 1;
            if !cur.finite() {
                break (prev, cur);
            }
            if acceptable(&cur) {
                return self.accept_trial(cur);
            }
            let too_high = !armijo(&cur) || (prev.a > 0.0 && cur.f > prev.f + tol);
            if too_high && !(noise_level(&cur) && cur.d < 0.0) {
                break (prev, cur);
            }
            self.store_lo();
            if cur.d >= 0.0 {
                break (cur, prev);
            }
            // Still descending: extrapolate.
            let width = cur.a - prev.a;
            let lower = cur.a + 1.1 * width;
            let upper = (cur.a + 4.0 * width).min(ALPHA_MAX);
            if lower >= upper {
                return self.fallback(cur, f0);
            }
            a = match cubic_min(prev.a, prev.f, prev.d, cur.a, cur.f, cur.d) {
                Some(c) if c > cur.a => c.clamp(lower, upper),
                _ => upper,
            };
            prev = cur;
        };

        // Zoom phase (Alg. 3.6). Invariants: `lo` satisfies the sufficient
        // decrease condition with the lowest value seen (or, at noise level, is
        // descending towards `hi`), and `lo.d * (hi.a - lo.a) < 0` (or `hi` is
        // non-finite, i.e. too far).
        loop {
            if used >= max_evals {
                return self.fallback(lo, f0);
            }
            let lower = lo.a.min(hi.a);
            let upper = lo.a.max(hi.a);
            let width = upper - lower;
            if width * dnorm <= f64::EPSILON * (1.0 + xnorm) {
                // The bracket no longer separates distinct points.
                return self.fallback(lo, f0);
            }
            let trial = if hi.finite() {
                let candidate = cubic_min(lo.a, lo.f, lo.d, hi.a, hi.f, hi.d)
                    .or_else(|| quadratic_min(lo.a, lo.f, lo.d, hi.a, hi.f));
                match candidate {
                    Some(c) => c.clamp(lower + 0.1 * width, upper - 0.1 * width),
                    None => lower + 0.5 * width,
                }
            } else {
                lo.a + 0.5 * (hi.a - lo.a)
            };
            let cur = self.probe(obj, x, d, trial, evals);
            used += 1;
            if !cur.finite() {
                hi = cur;
                continue;
            }
            if acceptable(&cur) {
                return self.accept_trial(cur);
            }
            let too_high = !armijo(&cur) || cur.f > lo.f + tol;
            let towards_hi = cur.d * (hi.a - lo.a) < 0.0;
            if too_high && !(noise_level(&cur) && towards_hi) {
                hi = cur;
            } else {
                if !towards_hi {
                    hi = lo;
                }
                lo = cur;
                self.store_lo();
            }
        }
    }
}

/// One stored correction pair.
struct Pair {
    s: Vec<f64>,
    y: Vec<f64>,
    rho: f64,
}

/// Two-loop recursion: `d = -H g`, with `H0 = gamma I`, `gamma = s'y / y'y` of the
/// newest pair. `alphas` is scratch space.
fn two_loop(memory: &VecDeque<Pair>, g: &[f64], d: &mut [f64], alphas: &mut Vec<f64>) {
    d.copy_from_slice(g);
    alphas.clear();
    for p in memory.iter().rev() {
        let a = p.rho * dot(&p.s, d);
        for (di, yi) in d.iter_mut().zip(&p.y) {
            *di -= a * yi;
        }
        alphas.push(a);
    }
    if let Some(p) = memory.back() {
        let gamma = dot(&p.s, &p.y) / dot(&p.y, &p.y);
        for di in d.iter_mut() {
            *di *= gamma;
        }
    }
    for (p, &a) in memory.iter().zip(alphas.iter().rev()) {
        let b = p.rho * dot(&p.y, d);
        for (di, si) in d.iter_mut().zip(&p.s) {
            *di += (a - b) * si;
        }
    }
    for di in d.iter_mut() {
        *di = -*di;
    }
}

/// Minimise `obj` from `x0` with L-BFGS and a strong-Wolfe line search.
///
/// * Search direction from the standard two-loop recursion with initial Hessian
///   scaling `gamma = s'y / y'y`; a pair is skipped when
///   `s'y <= 1e-10 |s| |y|`. If the direction is not a descent direction (or is
///   non-finite), the memory is reset and steepest descent is used.
/// * Line search: strong Wolfe conditions with `c1 = 1e-4`, `c2 = 0.9`
///   (Nocedal & Wright Alg. 3.5/3.6: bracketing + zoom with safeguarded
///   cubic/quadratic interpolation). A trial step with a non-finite value or
///   gradient is treated as too long and the step is halved towards the last
///   good point, so non-finite values never reach the iterate. The
///   sufficient-decrease test allows for a few ulps of rounding in `f`, and a
///   trial whose value is within `1e-10 |f(x)|` of `f(x)` (indistinguishable from
///   it at rounding-noise level) is judged by the strong curvature condition alone
///   (Hager & Zhang's approximate Wolfe conditions); without this the search stalls
///   near the optimum once the true decrease is below the rounding error of `f`.
///   If the evaluation budget runs out, a step that strictly decreases `f` and
///   satisfies sufficient decrease is still accepted; if no such step exists the
///   memory is reset and steepest descent is tried once before giving up with
///   `"line search failed"`.
/// * Steepest-descent steps (first iteration, after a reset) start with step
///   multiplier `min(1, 1/|g|_2)`, so the first trial step has length at most 1;
///   quasi-Newton steps start with multiplier 1.
/// * Stops on `|g|_inf <= grad_tol` (`converged = true`), on two consecutive
///   iterations with relative change in `f` at most `f_tol`, on line-search
///   failure, or after `max_iter` iterations.
///
/// If `f(x0)` or its gradient is non-finite the function returns immediately
/// with `converged = false` and message `"non-finite start"`. Otherwise the
/// returned point is the best point seen (lowest `f`; among points within the
/// `1e-10 |f|` noise level of the lowest value, the one with the smallest
/// gradient) and its `f` is finite.
pub fn lbfgs<O: Objective + ?Sized>(obj: &mut O, x0: &[f64], opts: &LbfgsOptions) -> LbfgsResult {
    let n = x0.len();
    let mut evals = 0usize;
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut f = evaluate(obj, &x, &mut g, &mut evals);
    let mut gnorm = norm_inf(&g);
    let mut history = vec![f];

    let finish = |x: Vec<f64>,
                  f: f64,
                  grad: Vec<f64>,
                  iterations: usize,
                  evaluations: usize,
                  message: &str,
                  history: Vec<f64>| {
        let grad_norm_inf = norm_inf(&grad);
        let converged = f.is_finite() && grad_norm_inf <= opts.grad_tol;
        LbfgsResult {
            x,
            f,
            grad,
            grad_norm_inf,
            iterations,
            evaluations,
            converged,
            message: message.to_string(),
            history,
        }
    };

    if !f.is_finite() || !all_finite(&g) {
        let mut r = finish(x, f, g, 0, evals, "non-finite start", history);
        r.converged = false;
        return r;
    }
    if gnorm <= opts.grad_tol {
        return finish(x, f, g, 0, evals, "gradient below tolerance", history);
    }

    let history_len = opts.history.max(1);
    let mut memory: VecDeque<Pair> = VecDeque::with_capacity(history_len);
    let mut ls = LineSearch::new(n);
    let mut d = vec![0.0; n];
    let mut alphas = Vec::with_capacity(history_len);

    // Best point seen: lowest f, except that a point within the noise level
    // (NOISE * |f|) of the best value replaces it if its gradient is smaller.
    let mut best_x = x.clone();
    let mut best_g = g.clone();
    let mut best_f = f;
    let mut best_gnorm = gnorm;

    let mut iterations = 0usize;
    let mut small_change = 0usize;
    let mut message = "max iterations";
    let mut kept: VecDeque<Pair> = VecDeque::new();

    while iterations < opts.max_iter {
        // Search direction.
        let mut steepest = memory.is_empty();
        if !steepest {
            two_loop(&memory, &g, &mut d, &mut alphas);
        }
        let mut dphi0 = if steepest { f64::NAN } else { dot(&g, &d) };
        if !(dphi0 < 0.0 && dphi0.is_finite() && all_finite(&d)) {
            memory.clear();
            steepest = true;
            for (di, gi) in d.iter_mut().zip(&g) {
                *di = -gi;
            }
            dphi0 = -dot(&g, &g);
        }
        let alpha_init = if steepest {
            (1.0 / norm2(&g)).min(1.0)
        } else {
            1.0
        };

        let status = ls.search(
            obj,
            &x,
            f,
            &d,
            dphi0,
            alpha_init,
            opts.max_line_search.max(1),
            &mut evals,
        );
        if status == SearchStatus::Failed {
            if steepest {
                message = "line search failed";
                break;
            }
            // Retry once from steepest descent with a fresh memory (kept for the endgame).
            kept = std::mem::take(&mut memory);
            continue;
        }

        // Update the curvature memory with s = x_new - x, y = g_new - g.
        let (mut s, mut y) = if memory.len() >= history_len {
            let p = memory.pop_front().expect("memory is non-empty");
            (p.s, p.y)
        } else {
            (vec![0.0; n], vec![0.0; n])
        };
        for i in 0..n {
            s[i] = ls.x_new[i] - x[i];
            y[i] = ls.g_new[i] - g[i];
        }
        let sy = dot(&s, &y);
        if sy.is_finite() && sy > CURVATURE_EPS * norm2(&s) * norm2(&y) {
            memory.push_back(Pair {
                s,
                y,
                rho: 1.0 / sy,
            });
        }

        let f_prev = f;
        let gnorm_prev = gnorm;
        std::mem::swap(&mut x, &mut ls.x_new);
        std::mem::swap(&mut g, &mut ls.g_new);
        f = ls.f_new;
        gnorm = norm_inf(&g);
        iterations += 1;
        history.push(f);

        let tie = f <= best_f + NOISE * best_f.abs() && gnorm < best_gnorm;
        if f < best_f || tie {
            best_x.copy_from_slice(&x);
            best_g.copy_from_slice(&g);
            best_f = f;
            best_gnorm = gnorm;
        }

        if gnorm <= opts.grad_tol {
            message = "gradient below tolerance";
            break;
        }
        let scale = f.abs().max(f_prev.abs()).max(1.0);
        // f flat to rounding while the gradient still shrinks is progress (near a mode the
        // loss changes by g²/H, far below its rounding): only a flat f and a stalled gradient
        // count towards stopping
        if (f_prev - f).abs() <= opts.f_tol * scale && gnorm > 0.9 * gnorm_prev {
            small_change += 1;
            if small_change >= 2 {
                message = "no further decrease";
                break;
            }
        } else {
            small_change = 0;
        }
    }

    // where the loss's rounding stopped the line searches short of the gradient test, steps
    // judged by the gradient alone finish the job
    if best_gnorm > opts.grad_tol
        && best_f.is_finite()
        && matches!(message, "no further decrease" | "line search failed")
    {
        if memory.is_empty() {
            memory = kept;
        }
        let mut run = Endgame {
            x: best_x,
            f: best_f,
            g: best_g,
            memory,
            evals,
        };
        let max = opts.max_iter.saturating_sub(iterations).min(50);
        iterations += run.steps(obj, opts, max, &mut history);
        if norm_inf(&run.g) <= opts.grad_tol {
            message = "gradient below tolerance";
        }
        return finish(run.x, run.f, run.g, iterations, run.evals, message, history);
    }
    finish(best_x, best_f, best_g, iterations, evals, message, history)
}

/// The end of an L-BFGS run near a minimum, where the decrease of `f` (about `g²/H`) is
/// below its rounding long before the gradient is small: quasi-Newton steps from the run's
/// curvature memory, each halved until the gradient's norm falls (with `f` within its noise
/// level of the current value, so that the run stays in its basin), the memory updated as
/// the run's.
struct Endgame {
    x: Vec<f64>,
    f: f64,
    g: Vec<f64>,
    memory: VecDeque<Pair>,
    evals: usize,
}

impl Endgame {
    /// At most `max` steps, each one's objective value appended to `history`; returns how
    /// many were taken.
    fn steps<O: Objective + ?Sized>(
        &mut self,
        obj: &mut O,
        opts: &LbfgsOptions,
        max: usize,
        history: &mut Vec<f64>,
    ) -> usize {
        let n = self.x.len();
        let (mut d, mut alphas) = (vec![0.0; n], Vec::new());
        let (mut xt, mut gt) = (vec![0.0; n], vec![0.0; n]);
        let mut taken = 0;
        while taken < max && norm_inf(&self.g) > opts.grad_tol {
            if self.memory.is_empty() {
                return taken;
            }
            two_loop(&self.memory, &self.g, &mut d, &mut alphas);
            if !all_finite(&d) {
                return taken;
            }
            let g0 = norm2(&self.g);
            let mut alpha = 1.0;
            let mut accepted = None;
            let noise = NOISE * self.f.abs().max(1.0);
            for _ in 0..12 {
                for i in 0..n {
                    xt[i] = self.x[i] + alpha * d[i];
                }
                let ft = evaluate(obj, &xt, &mut gt, &mut self.evals);
                if ft.is_finite() && all_finite(&gt) && ft <= self.f + noise && norm2(&gt) < g0 {
                    accepted = Some(ft);
                    break;
                }
                alpha *= 0.5;
            }
            let Some(ft) = accepted else {
                return taken;
            };
            let s: Vec<f64> = xt.iter().zip(&self.x).map(|(a, b)| a - b).collect();
            let y: Vec<f64> = gt.iter().zip(&self.g).map(|(a, b)| a - b).collect();
            let sy = dot(&s, &y);
            if sy.is_finite() && sy > CURVATURE_EPS * norm2(&s) * norm2(&y) {
                if self.memory.len() >= opts.history.max(1) {
                    self.memory.pop_front();
                }
                self.memory.push_back(Pair {
                    s,
                    y,
                    rho: 1.0 / sy,
                });
            }
            std::mem::swap(&mut self.x, &mut xt);
            std::mem::swap(&mut self.g, &mut gt);
            self.f = ft;
            history.push(ft);
            taken += 1;
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
        assert!(
            (a - b).abs() <= tol,
            "{what}: {a} vs {b} (diff {})",
            (a - b).abs()
        );
    }

    /// Extended Rosenbrock: sum over pairs of 100 (x2 - x1^2)^2 + (1 - x1)^2.
    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let mut f = 0.0;
        for i in (0..x.len()).step_by(2) {
            let (a, b) = (x[i], x[i + 1]);
            let t = b - a * a;
            f += 100.0 * t * t + (1.0 - a) * (1.0 - a);
            g[i] = -400.0 * a * t - 2.0 * (1.0 - a);
            g[i + 1] = 200.0 * t;
        }
        f
    }

    #[test]
    fn adam_matches_torch_three_steps() {
        // f(x) = x^2, grad = 2x, x0 = 1, lr = 0.1, betas = (0.8, 0.99), eps = 1e-8.
        // Expected values computed with python3 implementing torch's recurrence:
        //   m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g
        //   denom = sqrt(v)/sqrt(1-b2**t) + eps; x -= (lr/(1-b1**t)) * m / denom
        let expected = [0.9000000005, 0.8006960102676913, 0.7026562039293045];
        let mut adam = Adam::new(1, 0.1, 0.8, 0.99);
        assert_eq!(adam.eps, 1e-8);
        let mut x = [1.0];
        for (k, &e) in expected.iter().enumerate() {
            let g = [2.0 * x[0]];
            adam.step(&mut x, &g);
            assert_close(x[0], e, 1e-14, &format!("step {}", k + 1));
            assert_eq!(adam.steps_taken(), k as u64 + 1);
        }
    }

    #[test]
    fn adam_minimises_quadratic() {
        // f = (x - 3)^2 + 10 (y + 1)^2, optimum (3, -1).
        let mut adam = Adam::new(2, 0.05, 0.9, 0.999);
        let mut x = [0.0, 0.0];
        for _ in 0..2000 {
            let g = [2.0 * (x[0] - 3.0), 20.0 * (x[1] + 1.0)];
            adam.step(&mut x, &g);
        }
        assert_eq!(adam.steps_taken(), 2000);
        assert_close(x[0], 3.0, 1e-3, "x");
        assert_close(x[1], -1.0, 1e-3, "y");
    }

    #[test]
    fn lbfgs_rosenbrock_2d() {
        let r = lbfgs(&mut rosenbrock, &[-1.2, 1.0], &LbfgsOptions::default());
        assert!(r.converged, "{r:?}");
        assert_eq!(r.message, "gradient below tolerance");
        assert!(r.iterations < 100, "iterations {}", r.iterations);
        assert!(r.grad_norm_inf <= 1e-8);
        assert_close(r.x[0], 1.0, 1e-6, "x0");
        assert_close(r.x[1], 1.0, 1e-6, "x1");
        assert_eq!(r.history.len(), r.iterations + 1);
        assert_close(r.history[0], 24.2, 1e-12, "f(x0)");
        assert!(r.f < 1e-12);
        assert!(r.evaluations > r.iterations);
    }

    #[test]
    fn lbfgs_rosenbrock_10d() {
        let x0: Vec<f64> = (0..10)
            .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
            .collect();
        let r = lbfgs(&mut rosenbrock, &x0, &LbfgsOptions::default());
        assert!(r.converged, "{r:?}");
        for (i, &xi) in r.x.iter().enumerate() {
            assert_close(xi, 1.0, 1e-6, &format!("x{i}"));
        }
    }

    /// `A = Q diag(lambda) Q'` with `Q = I - 2 u u'/u'u` (Householder), so the
    /// eigenvalues are exactly `lambda` and the condition number is 1e4.
    fn ill_conditioned_spd() -> [[f64; 5]; 5] {
        let u = [1.0, -2.0, 3.0, 1.0, 2.0];
        let uu: f64 = u.iter().map(|v| v * v).sum();
        let lambda = [1.0, 7.0, 50.0, 900.0, 1.0e4];
        let mut q = [[0.0; 5]; 5];
        for i in 0..5 {
            for j in 0..5 {
                q[i][j] = if i == j { 1.0 } else { 0.0 } - 2.0 * u[i] * u[j] / uu;
            }
        }
        let mut a = [[0.0; 5]; 5];
        for i in 0..5 {
            for j in 0..5 {
                a[i][j] = (0..5).map(|k| q[i][k] * lambda[k] * q[j][k]).sum();
            }
        }
        a
    }

    /// Solve `A x = b` by Cholesky factorisation `A = L L'`.
    fn cholesky_solve(a: &[[f64; 5]; 5], b: &[f64; 5]) -> [f64; 5] {
        let mut l = [[0.0; 5]; 5];
        for i in 0..5 {
            for j in 0..=i {
                let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
                if i == j {
                    l[i][i] = (a[i][i] - s).sqrt();
                } else {
                    l[i][j] = (a[i][j] - s) / l[j][j];
                }
            }
        }
        let mut z = [0.0; 5];
        for i in 0..5 {
            let s: f64 = (0..i).map(|k| l[i][k] * z[k]).sum();
            z[i] = (b[i] - s) / l[i][i];
        }
        let mut x = [0.0; 5];
        for i in (0..5).rev() {
            let s: f64 = (i + 1..5).map(|k| l[k][i] * x[k]).sum();
            x[i] = (z[i] - s) / l[i][i];
        }
        x
    }

    #[test]
    fn lbfgs_ill_conditioned_quadratic() {
        let a = ill_conditioned_spd();
        let b = [1.0, -2.0, 0.5, 3.0, -1.0];
        let expected = cholesky_solve(&a, &b);
        // Sanity check of the reference solution: A x = b.
        for i in 0..5 {
            let ax: f64 = (0..5).map(|j| a[i][j] * expected[j]).sum();
            assert_close(ax, b[i], 1e-10, "A x* = b");
        }
        let mut obj = |x: &[f64], g: &mut [f64]| {
            let mut f = 0.0;
            for i in 0..5 {
                let ax: f64 = (0..5).map(|j| a[i][j] * x[j]).sum();
                g[i] = ax - b[i];
                f += 0.5 * x[i] * ax - b[i] * x[i];
            }
            f
        };
        // The smallest eigenvalue is 1, so |x - x*|_2 <= |g|_2 <= sqrt(5)|g|_inf:
        // a gradient tolerance of 1e-10 guarantees the 1e-8 accuracy asserted.
        // The default f_tol fallback (1e-14 relative to max(|f|, 1), with |f*| ~ 0.07)
        // fires first (at |g|_inf ~ 2.5e-10), so it is disabled here.
        let opts = LbfgsOptions {
            grad_tol: 1e-10,
            f_tol: 0.0,
            ..LbfgsOptions::default()
        };
        let r = lbfgs(&mut obj, &[0.0; 5], &opts);
        assert!(r.converged, "{r:?}");
        for (i, (&xi, &ei)) in r.x.iter().zip(&expected).enumerate() {
            assert_close(xi, ei, 1e-8, &format!("x{i}"));
        }
    }

    /// (x - 1.9)^2 for x <= 2, `bad` (inf or NaN) beyond.
    fn walled(bad: f64) -> impl FnMut(&[f64], &mut [f64]) -> f64 {
        move |x: &[f64], g: &mut [f64]| {
            if x[0] > 2.0 {
                g[0] = bad;
                return bad;
            }
            g[0] = 2.0 * (x[0] - 1.9);
            (x[0] - 1.9).powi(2)
        }
    }

    #[test]
    fn lbfgs_backtracks_from_infinite_region() {
        // From 1.2 the gradient is -1.4 and the first trial step (length 1) lands
        // at x = 2.2, where f = +inf.
        let mut obj = walled(f64::INFINITY);
        let r = lbfgs(&mut obj, &[1.2], &LbfgsOptions::default());
        assert!(r.converged, "{r:?}");
        assert!(r.f.is_finite());
        assert!(r.history.iter().all(|v| v.is_finite()));
        assert_close(r.x[0], 1.9, 1e-8, "x");
        // The first line search must have needed more than one evaluation.
        assert!(r.evaluations > r.iterations + 1);
    }

    #[test]
    fn lbfgs_backtracks_from_infinite_region_start_at_zero() {
        // Start at 0 with the wall at 0.95 and the minimum at 0.9: the first
        // trial step (length 1) lands at x = 1, where f = +inf.
        let mut obj = |x: &[f64], g: &mut [f64]| {
            if x[0] > 0.95 {
                return f64::INFINITY;
            }
            g[0] = 2.0 * (x[0] - 0.9);
            (x[0] - 0.9).powi(2)
        };
        let r = lbfgs(&mut obj, &[0.0], &LbfgsOptions::default());
        assert!(r.converged, "{r:?}");
        assert!(r.f.is_finite());
        assert_close(r.x[0], 0.9, 1e-8, "x");
    }

    #[test]
    fn lbfgs_backtracks_from_nan_region() {
        let mut obj = walled(f64::NAN);
        let r = lbfgs(&mut obj, &[1.2], &LbfgsOptions::default());
        assert!(r.converged, "{r:?}");
        assert!(r.f.is_finite());
        assert_close(r.x[0], 1.9, 1e-8, "x");
    }

    #[test]
    fn lbfgs_survives_overflow() {
        // f = exp(x) - 1e4 x, minimum at ln(1e4). The quasi-Newton step after the
        // first iteration overshoots to x ~ 5800, where exp overflows to inf.
        let mut obj = |x: &[f64], g: &mut [f64]| {
            let e = x[0].exp();
            g[0] = e - 1e4;
            e - 1e4 * x[0]
        };
        let r = lbfgs(&mut obj, &[0.0], &LbfgsOptions::default());
        assert!(r.converged, "{r:?}");
        assert!(r.f.is_finite());
        assert_close(r.x[0], 1e4_f64.ln(), 1e-10, "x");
    }

    #[test]
    fn lbfgs_non_finite_start() {
        let mut obj = |_: &[f64], g: &mut [f64]| {
            g[0] = 1.0;
            f64::INFINITY
        };
        let r = lbfgs(&mut obj, &[0.0], &LbfgsOptions::default());
        assert!(!r.converged);
        assert_eq!(r.message, "non-finite start");
        assert_eq!(r.iterations, 0);
        assert_eq!(r.evaluations, 1);
        assert_eq!(r.x, vec![0.0]);

        // Finite value but NaN gradient is also a non-finite start.
        let mut obj = |_: &[f64], g: &mut [f64]| {
            g[0] = f64::NAN;
            1.0
        };
        let r = lbfgs(&mut obj, &[0.0], &LbfgsOptions::default());
        assert!(!r.converged);
        assert_eq!(r.message, "non-finite start");
    }

    #[test]
    fn lbfgs_max_iterations_and_best_point() {
        let opts = LbfgsOptions {
            max_iter: 3,
            ..LbfgsOptions::default()
        };
        let r = lbfgs(&mut rosenbrock, &[-1.2, 1.0], &opts);
        assert!(!r.converged);
        assert_eq!(r.message, "max iterations");
        assert_eq!(r.iterations, 3);
        assert_eq!(r.history.len(), 4);
        let min_hist = r.history.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(r.f, min_hist);
        let mut g = [0.0; 2];
        assert_eq!(rosenbrock(&r.x, &mut g), r.f);
        assert_eq!(g.to_vec(), r.grad);
    }

    #[test]
    fn lbfgs_already_optimal_start() {
        let r = lbfgs(&mut rosenbrock, &[1.0, 1.0], &LbfgsOptions::default());
        assert!(r.converged);
        assert_eq!(r.iterations, 0);
        assert_eq!(r.evaluations, 1);
        assert_eq!(r.message, "gradient below tolerance");
    }

    #[test]
    fn lbfgs_accepts_trait_object() {
        let mut f = |x: &[f64], g: &mut [f64]| {
            g[0] = 2.0 * (x[0] - 5.0);
            (x[0] - 5.0).powi(2)
        };
        let obj: &mut dyn Objective = &mut f;
        let r = lbfgs(obj, &[0.0], &LbfgsOptions::default());
        assert!(r.converged);
        assert_close(r.x[0], 5.0, 1e-9, "x");
    }
}
