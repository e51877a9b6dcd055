//! The data kernel: for a chunk of points, each point's log density under every component,
//! their logsumexp, and the gradient statistics (responsibility sums, first and second
//! moments). Everything that touches the data goes through it: the MAP, NUTS and VI (through
//! the log likelihood) and classification (through the log responsibilities). It reads a
//! [`DataView`]: the columns of a column-major view in place, the rows of a row-major one
//! gathered block by block into its scratch (exact copies, so the same bits either way).
//!
//! Points are processed in blocks of [`BLOCK`] with branch-free arithmetic, so the compiler
//! vectorises every loop over the points of a block. `exp` and `ln` are polynomial (below,
//! accurate to about 2e-16 relative) evaluated with fused multiply-adds. The same code is
//! compiled for AVX-512, AVX2 and SSE4.1 and the best one the CPU has is picked at run time
//! (`multiversion`): one binary runs on any x86-64. Every point gets the same IEEE operations
//! in the same order whichever instruction set runs them (a fused multiply-add is exactly
//! rounded everywhere: in hardware, or in libm on CPUs before FMA, slowly), and sums use
//! [`B`] interleaved accumulators added in a fixed order, so the results are bit-identical on
//! every CPU and any number of threads.

use multiversion::multiversion;

use crate::data::DataView;
use crate::observed::FullWork;

/// Interleaved accumulators of every sum over points (added in a fixed order at the end).
pub const B: usize = 8;

const LOG2E: f64 = std::f64::consts::LOG2_E;
/// ln 2 split so that `n · LN2_HI` is exact for |n| < 2^11 (Cody and Waite).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// 1.5 · 2^52: adding it rounds to an integer held in the low mantissa bits.
const ROUND: f64 = 6_755_399_441_055_744.0;
/// Below this `exp` returns exactly 0 (the true value is below 3.3e-308).
pub const EXP_MIN: f64 = -708.0;

/// `exp(x)` for x ≤ 709, branch-free: `2^n · p(r)` with `x = n ln 2 + r`, |r| ≤ ln 2 / 2, and
/// `p` the Taylor polynomial of degree 12 (truncation below 2e-16 relative). Returns 0 below
/// [`EXP_MIN`] and NaN for NaN.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let y = x.max(EXP_MIN);
    let t = y.mul_add(LOG2E, ROUND);
    let n = t - ROUND;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, y));
    // Horner, 1/12! … 1/0!
    let mut p: f64 = 1.0 / 479_001_600.0;
    p = p.mul_add(r, 1.0 / 39_916_800.0);
    p = p.mul_add(r, 1.0 / 3_628_800.0);
    p = p.mul_add(r, 1.0 / 362_880.0);
    p = p.mul_add(r, 1.0 / 40_320.0);
    p = p.mul_add(r, 1.0 / 5_040.0);
    p = p.mul_add(r, 1.0 / 720.0);
    p = p.mul_add(r, 1.0 / 120.0);
    p = p.mul_add(r, 1.0 / 24.0);
    p = p.mul_add(r, 1.0 / 6.0);
    p = p.mul_add(r, 0.5);
    p = p.mul_add(r, 1.0);
    p = p.mul_add(r, 1.0);
    // 2^n from the integer in t's low bits
    let ni = (t.to_bits() as i64).wrapping_sub(ROUND.to_bits() as i64);
    let scale = f64::from_bits((ni.wrapping_add(1023) as u64) << 52);
    let v = p * scale;
    if x >= EXP_MIN {
        v
    } else if x.is_nan() {
        x
    } else {
        0.0
    }
}

/// `ln(s)` for positive normal finite `s`, branch-free: `s = 2^e · m` with m in [√½, √2),
/// `ln m = 2 atanh((m − 1)/(m + 1))` by its series to t^21 (|t| ≤ 0.172: truncation below
/// 1e-17). Other inputs give garbage: the kernel only calls it on sums in [1, K].
#[inline(always)]
pub fn ln(s: f64) -> f64 {
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    let bits = s.to_bits();
    let m0 = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // the biased exponent as a float, without an integer conversion instruction
    let e0 =
        f64::from_bits((bits >> 52) | 0x4330_0000_0000_0000) - (4_503_599_627_370_496.0 + 1023.0);
    let big = m0 >= SQRT2;
    let m = if big { 0.5 * m0 } else { m0 };
    let e = if big { e0 + 1.0 } else { e0 };
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let mut p: f64 = 1.0 / 21.0;
    p = p.mul_add(t2, 1.0 / 19.0);
    p = p.mul_add(t2, 1.0 / 17.0);
    p = p.mul_add(t2, 1.0 / 15.0);
    p = p.mul_add(t2, 1.0 / 13.0);
    p = p.mul_add(t2, 1.0 / 11.0);
    p = p.mul_add(t2, 1.0 / 9.0);
    p = p.mul_add(t2, 1.0 / 7.0);
    p = p.mul_add(t2, 1.0 / 5.0);
    p = p.mul_add(t2, 1.0 / 3.0);
    p = p.mul_add(t2, 1.0);
    e * LN2_HI + (2.0 * t * p + e * LN2_LO)
}

/// `exp` of every value, in place (vectorised; for tests and benchmarks).
#[multiversion(targets("x86_64+avx512f+avx512dq+avx512vl", "x86_64+avx2+fma", "x86_64+sse4.1"))]
pub fn exp_slice(x: &mut [f64]) {
    for v in x.iter_mut() {
        *v = exp(*v);
    }
}

/// `ln` of every value, in place (vectorised; for tests and benchmarks).
#[multiversion(targets("x86_64+avx512f+avx512dq+avx512vl", "x86_64+avx2+fma", "x86_64+sse4.1"))]
pub fn ln_slice(x: &mut [f64]) {
    for v in x.iter_mut() {
        *v = ln(*v);
    }
}

/// The components of one evaluation, with their per-component constants.
pub struct Consts<'a> {
    /// Components.
    pub k: usize,
    /// Dimensions.
    pub d: usize,
    /// μ_kd, row-major.
    pub locs: &'a [f64],
    /// 1 / s_kd, row-major.
    pub inv_s: &'a [f64],
    /// log w_k − Σ_d log s_kd − D/2 log 2π (for a full covariance, `−Σ_d log C_kdd`).
    pub log_norm: &'a [f64],
    /// Empty for axis-aligned components; for full covariances, K·D·D values: per component
    /// its covariance's Cholesky factor `C` row-major, `C_ij` below the diagonal and `1 / C_ii`
    /// on it (above it unused). The quadratic form is then `‖C⁻¹ (x − μ)‖²` by forward
    /// substitution, and `inv_s` is not read.
    pub chol: &'a [f64],
}

/// Sums over a chunk of points: the log likelihood and the gradient statistics (the raw
/// material of [`crate::stats::SufficientStats`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Σ_n logsumexp_k.
    pub loglik: f64,
    /// Σ_n r_nk.
    pub r_sum: Vec<f64>,
    /// Σ_n r_nk (x_nd − μ_kd), row-major.
    pub t1: Vec<f64>,
    /// Σ_n r_nk (x_nd − μ_kd)², row-major.
    pub t2: Vec<f64>,
    /// With full covariances ([`Consts::chol`] not empty), K·D·D values:
    /// Σ_n r_nk (x_ni − μ_ki)(x_nj − μ_kj), component by component, row-major (symmetric; its
    /// diagonal is `t2`); else empty.
    pub t_cross: Vec<f64>,
    /// Σ_n r_nk [x_nd missing], row-major; empty while no point of the chunk had a missing
    /// value.
    pub miss: Vec<f64>,
}

/// ½ ln 2π: what a missing coordinate's factor takes out of the log normalising constant.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Points per block: the unit of the kernel's inner loops (its scratch stays in L1/L2).
pub const BLOCK: usize = 256;

/// Sum with [`B`] interleaved accumulators added in a fixed order at the end: it vectorises,
/// and gives the same bits on every instruction set.
#[inline(always)]
fn lane_sum(v: &[f64]) -> f64 {
    let mut acc = [0.0; B];
    let chunks = v.chunks_exact(B);
    let rest = chunks.remainder();
    for ch in chunks {
        for l in 0..B {
            acc[l] += ch[l];
        }
    }
    for (l, r) in rest.iter().enumerate() {
        acc[l] += r;
    }
    acc.iter().fold(0.0, |s, x| s + x)
}

/// `(Σ r (x − μ), Σ r (x − μ)²)` in one pass, with [`B`] interleaved accumulators each.
#[inline(always)]
fn moments(r: &[f64], x: &[f64], mu: f64) -> (f64, f64) {
    let mut a1 = [0.0; B];
    let mut a2 = [0.0; B];
    let (rc, xc) = (r.chunks_exact(B), x.chunks_exact(B));
    let (rr, xr) = (rc.remainder(), xc.remainder());
    for (rb, xb) in rc.zip(xc) {
        for l in 0..B {
            let diff = xb[l] - mu;
            let rd = rb[l] * diff;
            a1[l] += rd;
            a2[l] = rd.mul_add(diff, a2[l]);
        }
    }
    for (l, (ri, xi)) in rr.iter().zip(xr).enumerate() {
        let diff = xi - mu;
        let rd = ri * diff;
        a1[l] += rd;
        a2[l] = rd.mul_add(diff, a2[l]);
    }
    let sum = |v: &[f64; B]| v.iter().fold(0.0, |s, x| s + x);
    (sum(&a1), sum(&a2))
}

/// Scratch of one block, point-contiguous per component: every loop below runs over the
/// points of the block with unit stride, which is what the vectoriser needs.
struct Scratch {
    /// a_k − m per point, then (for log responsibilities) minus ln Σ.
    a: Vec<f64>,
    /// exp(a_k − m) per point, then the responsibilities.
    e: Vec<f64>,
    m: Vec<f64>,
    s: Vec<f64>,
    lse: Vec<f64>,
    w: Vec<f64>,
    q: Vec<f64>,
    /// The coordinates of a block of a row-major view, gathered column by column
    /// (`x[j · BLOCK + i]`).
    x: Vec<f64>,
    /// Full covariances: the whitened deviations `C⁻¹ (x − μ)` of one component, coordinate
    /// by coordinate (`wz[j · BLOCK + i]`).
    wz: Vec<f64>,
    /// The complete rows of a block that has incomplete ones, gathered as `x` is.
    complete: Vec<f64>,
    /// Per-component terms of one incomplete point.
    terms: Vec<f64>,
    /// Full covariances: the work of incomplete points.
    fw: FullWork,
    /// Full covariances: one component's deviations `x − μ` of a block, then the same
    /// weighted by the responsibilities (`dev[j · BLOCK + i]`, D·BLOCK each).
    dev: Vec<f64>,
}

impl Scratch {
    fn new(k: usize) -> Scratch {
        Scratch {
            a: vec![0.0; k * BLOCK],
            e: vec![0.0; k * BLOCK],
            m: vec![0.0; BLOCK],
            s: vec![0.0; BLOCK],
            lse: vec![0.0; BLOCK],
            w: vec![0.0; BLOCK],
            q: vec![0.0; BLOCK],
            x: Vec::new(),
            wz: Vec::new(),
            complete: Vec::new(),
            terms: Vec::new(),
            fw: FullWork::default(),
            dev: Vec::new(),
        }
    }

    /// Room for `k` components and `d` gathered coordinates (every value is written before it
    /// is read).
    fn fit(&mut self, k: usize, d: usize) {
        if self.a.len() < k * BLOCK {
            self.a.resize(k * BLOCK, 0.0);
            self.e.resize(k * BLOCK, 0.0);
        }
        if self.x.len() < d * BLOCK {
            self.x.resize(d * BLOCK, 0.0);
        }
    }
}

thread_local! {
    /// Each thread's scratch, kept between calls: a sampler evaluates the density thousands of
    /// times on small data, where allocating and zeroing it was 8 % of the time.
    static SCRATCH: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

/// This thread's scratch, sized for `k` components and, for a row-major view, `d` gathered
/// coordinates (taken out of the thread-local and put back by [`give_back`]; no closure, so
/// the caller's target features apply to its use).
#[inline(always)]
fn take_scratch(k: usize, view: &DataView<'_>) -> Scratch {
    let mut sc = SCRATCH
        .with(|c| c.take())
        .unwrap_or_else(|| Scratch::new(k));
    sc.fit(k, if view.is_row_major() { view.d() } else { 0 });
    sc
}

#[inline(always)]
fn give_back(sc: Scratch) {
    SCRATCH.with(|c| c.set(Some(sc)));
}

/// One block of `n ≤ BLOCK` points (`xs[j]` their coordinates): fills `a` with
/// log w_k + log N(x | k) − m (m the point's max over k), `e` with its exp, `lse` with the
/// logsumexp, `s` with ln Σ_k e and `w` with 1 / Σ_k e (0 where the density is not finite).
#[inline(always)]
fn block(xs: &[&[f64]], n: usize, c: &Consts, sc: &mut Scratch) {
    let (k, d) = (c.k, c.d);
    let m = &mut sc.m[..n];
    m.fill(f64::NEG_INFINITY);
    let full = !c.chol.is_empty();
    if full && sc.wz.len() < d * BLOCK {
        sc.wz.resize(d * BLOCK, 0.0);
    }
    for kk in 0..k {
        let q = &mut sc.q[..n];
        q.fill(0.0);
        if full {
            let ch = &c.chol[kk * d * d..(kk + 1) * d * d];
            let mu = &c.locs[kk * d..(kk + 1) * d];
            if !mahalanobis_fixed(xs, n, mu, ch, q) {
                mahalanobis_streamed(xs, n, mu, ch, q, &mut sc.wz);
            }
        } else {
            for (j, x) in xs.iter().enumerate() {
                let (mu, is) = (c.locs[kk * d + j], c.inv_s[kk * d + j]);
                for (qi, xi) in q.iter_mut().zip(&x[..n]) {
                    let z = (xi - mu) * is;
                    *qi = z.mul_add(z, *qi);
                }
            }
        }
        let ln = c.log_norm[kk];
        let a = &mut sc.a[kk * BLOCK..kk * BLOCK + n];
        for ((ai, qi), mi) in a.iter_mut().zip(q.iter()).zip(m.iter_mut()) {
            *ai = ln - 0.5 * qi;
            *mi = if *ai > *mi { *ai } else { *mi };
        }
    }
    let s = &mut sc.s[..n];
    s.fill(0.0);
    for kk in 0..k {
        let a = &mut sc.a[kk * BLOCK..kk * BLOCK + n];
        let e = &mut sc.e[kk * BLOCK..kk * BLOCK + n];
        for (((ai, ei), si), mi) in a
            .iter_mut()
            .zip(e.iter_mut())
            .zip(s.iter_mut())
            .zip(m.iter())
        {
            *ai -= mi;
            *ei = exp(*ai);
            *si += *ei;
        }
    }
    let (lse, w) = (&mut sc.lse[..n], &mut sc.w[..n]);
    for (((li, wi), si), mi) in lse
        .iter_mut()
        .zip(w.iter_mut())
        .zip(s.iter_mut())
        .zip(m.iter())
    {
        let lns = ln(*si);
        let ok = mi.is_finite();
        // m not finite (a zero scale or NaN parameters): the logsumexp is m itself, and the
        // point gives no gradient
        *li = if ok { mi + lns } else { *mi };
        *wi = if ok { 1.0 / *si } else { 0.0 };
        *si = if ok { lns } else { f64::NAN };
    }
}

/// [`mahalanobis`] for the data's dimension if it is one of those compiled (5 to 8: in 2 to 4
/// dimensions the streamed solve is as fast or faster, D = 2 by 5–10 %, and from 5 on the
/// registers win by 25–40 %); `false` (nothing done) otherwise.
#[inline(always)]
fn mahalanobis_fixed(xs: &[&[f64]], n: usize, mu: &[f64], ch: &[f64], q: &mut [f64]) -> bool {
    match xs.len() {
        5 => mahalanobis::<5>(xs, n, mu, ch, q),
        6 => mahalanobis::<6>(xs, n, mu, ch, q),
        7 => mahalanobis::<7>(xs, n, mu, ch, q),
        8 => mahalanobis::<8>(xs, n, mu, ch, q),
        _ => return false,
    }
    true
}

/// Full covariances in any dimension: `q[i] += |w_i|²` for the block's `n` points as
/// [`mahalanobis`] computes it, by forward substitution coordinate by coordinate over the
/// block's points (`wz[j · BLOCK + i]` holds `w`), `w_j = (x_j − μ_j − Σ_{l<j} C_jl w_l) / C_jj`.
#[inline(always)]
fn mahalanobis_streamed(
    xs: &[&[f64]],
    n: usize,
    mu: &[f64],
    ch: &[f64],
    q: &mut [f64],
    wz: &mut [f64],
) {
    let d = xs.len();
    for (j, x) in xs.iter().enumerate() {
        let (done, rest) = wz.split_at_mut(j * BLOCK);
        let wj = &mut rest[..n];
        for (wi, xi) in wj.iter_mut().zip(&x[..n]) {
            *wi = xi - mu[j];
        }
        for l in 0..j {
            let cjl = -ch[j * d + l];
            for (wi, wl) in wj.iter_mut().zip(&done[l * BLOCK..l * BLOCK + n]) {
                *wi = cjl.mul_add(*wl, *wi);
            }
        }
        let inv = ch[j * d + j];
        for (qi, wi) in q.iter_mut().zip(wj.iter_mut()) {
            *wi *= inv;
            *qi = wi.mul_add(*wi, *qi);
        }
    }
}

/// Full covariances in `D` = 5 to 8 dimensions: `q[i] += |w_i|²` for the block's `n` points, `w` the
/// whitened deviation `C⁻¹ (x − μ)` by forward substitution,
/// `w_j = (x_j − μ_j − Σ_{l<j} C_jl w_l) · (1 / C_jj)` (`ch` row-major with the inverse on
/// the diagonal), [`B`] points at a time with their `w` held in registers
/// ([`mahalanobis_streamed`], which streams each coordinate through memory, spends most of
/// its time loading and storing: the kernel's log likelihood and gradient for D = 8, K = 5
/// went from 55 to 85 million point·components a second). Each point's operations are those
/// of [`mahalanobis_streamed`], in its order: the same bits.
#[inline(always)]
fn mahalanobis<const D: usize>(xs: &[&[f64]], n: usize, mu: &[f64], ch: &[f64], q: &mut [f64]) {
    let (xs, mu, ch) = (&xs[..D], &mu[..D], &ch[..D * D]);
    let mut at = 0;
    while at + B <= n {
        let mut w = [[0.0; B]; D];
        let mut qq = [0.0; B];
        for j in 0..D {
            let x = &xs[j][at..at + B];
            let mut v = [0.0; B];
            for l in 0..B {
                v[l] = x[l] - mu[j];
            }
            for (m, wm) in w.iter().enumerate().take(j) {
                let cjm = -ch[j * D + m];
                for l in 0..B {
                    v[l] = cjm.mul_add(wm[l], v[l]);
                }
            }
            let inv = ch[j * D + j];
            for l in 0..B {
                v[l] *= inv;
                qq[l] = v[l].mul_add(v[l], qq[l]);
            }
            w[j] = v;
        }
        for l in 0..B {
            q[at + l] += qq[l];
        }
        at += B;
    }
    for i in at..n {
        let mut w = [0.0; D];
        let mut qi = 0.0;
        for j in 0..D {
            let mut v = xs[j][i] - mu[j];
            for m in 0..j {
                v = (-ch[j * D + m]).mul_add(w[m], v);
            }
            v *= ch[j * D + j];
            qi = v.mul_add(v, qi);
            w[j] = v;
        }
        q[i] += qi;
    }
}

/// The coordinates of the points `start .. start + n` of the view, one slice per dimension:
/// the view's rows gathered into `buf` if `ROWS`, else slices of its columns `cols`.
#[inline(always)]
fn block_columns<'b, const ROWS: bool>(
    view: &DataView<'_>,
    cols: &[&'b [f64]],
    start: usize,
    n: usize,
    buf: &'b mut [f64],
) -> Vec<&'b [f64]> {
    if ROWS {
        view.gather(start, n, buf, BLOCK);
        let buf: &'b [f64] = buf;
        buf.chunks(BLOCK).take(view.d()).map(|c| &c[..n]).collect()
    } else {
        cols.iter().map(|col| &col[start..start + n]).collect()
    }
}

/// Log likelihood and (if `grad`) gradient statistics of the points `range` of `view`.
pub fn chunk_stats(
    view: &DataView,
    range: std::ops::Range<usize>,
    c: &Consts,
    grad: bool,
) -> Stats {
    // one compiled loop for contiguous columns, another for rows to gather, each in its own
    // function: the column-major loop is compiled as it was before views existed
    match view.column_slices() {
        Some(cols) => columns_stats(view, &cols, range, c, grad),
        None => rows_stats(view, range, c, grad),
    }
}

#[multiversion(targets("x86_64+avx512f+avx512dq+avx512vl", "x86_64+avx2+fma", "x86_64+sse4.1"))]
fn columns_stats(
    view: &DataView,
    cols: &[&[f64]],
    range: std::ops::Range<usize>,
    c: &Consts,
    grad: bool,
) -> Stats {
    let mut sc = take_scratch(c.k, view);
    let st = stats_with::<false>(view, cols, range, c, grad, &mut sc);
    give_back(sc);
    st
}

#[multiversion(targets("x86_64+avx512f+avx512dq+avx512vl", "x86_64+avx2+fma", "x86_64+sse4.1"))]
fn rows_stats(view: &DataView, range: std::ops::Range<usize>, c: &Consts, grad: bool) -> Stats {
    let mut sc = take_scratch(c.k, view);
    let st = stats_with::<true>(view, &[], range, c, grad, &mut sc);
    give_back(sc);
    st
}

#[inline(always)]
fn stats_with<const ROWS: bool>(
    view: &DataView<'_>,
    cols: &[&[f64]],
    range: std::ops::Range<usize>,
    c: &Consts,
    grad: bool,
    sc: &mut Scratch,
) -> Stats {
    let (k, d) = (c.k, c.d);
    let full = grad && !c.chol.is_empty();
    let mut st = Stats {
        loglik: 0.0,
        r_sum: vec![0.0; if grad { k } else { 0 }],
        t1: vec![0.0; if grad { k * d } else { 0 }],
        t2: vec![0.0; if grad { k * d } else { 0 }],
        t_cross: vec![0.0; if full { k * d * d } else { 0 }],
        miss: Vec::new(),
    };
    let mut xbuf = std::mem::take(&mut sc.x);
    let mut cbuf = std::mem::take(&mut sc.complete);
    let mut terms = std::mem::take(&mut sc.terms);
    let mut fw = std::mem::take(&mut sc.fw);
    let mut fw_set = false;
    let mut start = range.start;
    while start < range.end {
        let n = (range.end - start).min(BLOCK);
        let xs = block_columns::<ROWS>(view, cols, start, n, &mut xbuf);
        if view.has_missing() && has_nan(&xs) {
            // the complete rows on the vectorised path, gathered; the others one by one
            let (m, incomplete) = gather_complete(&xs, n, &mut cbuf);
            if m > 0 {
                let cxs: Vec<&[f64]> = cbuf.chunks(BLOCK).take(d).map(|x| &x[..m]).collect();
                add_block(&cxs, m, c, grad, sc, &mut st);
            }
            terms.resize(k, 0.0);
            if !c.chol.is_empty() && !fw_set {
                fw.set(k, d, c.chol, c.log_norm);
                fw_set = true;
            }
            for i in incomplete {
                add_incomplete(&xs, i, c, grad, &mut terms, &mut fw, &mut st);
            }
        } else {
            add_block(&xs, n, c, grad, sc, &mut st);
        }
        start += n;
    }
    sc.x = xbuf;
    sc.complete = cbuf;
    sc.terms = terms;
    sc.fw = fw;
    st
}

/// Whether a value of the block is missing.
#[inline(always)]
fn has_nan(xs: &[&[f64]]) -> bool {
    xs.iter().any(|x| x.iter().any(|v| v.is_nan()))
}

/// The block's complete rows gathered into `buf` (`buf[j · BLOCK + i]`): their number, and
/// the indices of the incomplete rows.
fn gather_complete(xs: &[&[f64]], n: usize, buf: &mut Vec<f64>) -> (usize, Vec<usize>) {
    let d = xs.len();
    if buf.len() < d * BLOCK {
        buf.resize(d * BLOCK, 0.0);
    }
    let mut m = 0;
    let mut incomplete = Vec::new();
    for i in 0..n {
        if xs.iter().any(|x| x[i].is_nan()) {
            incomplete.push(i);
            continue;
        }
        for (j, x) in xs.iter().enumerate() {
            buf[j * BLOCK + m] = x[i];
        }
        m += 1;
    }
    (m, incomplete)
}

/// The log likelihood and gradient statistics of a block of `n` complete points, added into
/// `st`.
#[inline(always)]
fn add_block(xs: &[&[f64]], n: usize, c: &Consts, grad: bool, sc: &mut Scratch, st: &mut Stats) {
    let (k, d) = (c.k, c.d);
    block(xs, n, c, sc);
    st.loglik += lane_sum(&sc.lse[..n]);
    if grad {
        for kk in 0..k {
            let r = &mut sc.e[kk * BLOCK..kk * BLOCK + n];
            for (ri, wi) in r.iter_mut().zip(&sc.w[..n]) {
                *ri *= wi;
            }
            st.r_sum[kk] += lane_sum(r);
            if st.t_cross.is_empty() {
                for (j, x) in xs.iter().enumerate() {
                    let (m1, m2) = moments(r, x, c.locs[kk * d + j]);
                    st.t1[kk * d + j] += m1;
                    st.t2[kk * d + j] += m2;
                }
                continue;
            }
            // full covariances: the deviations and the weighted deviations once per component,
            // then each of the D(D+1)/2 moments by one multiply-add per point
            if sc.dev.len() < 2 * d * BLOCK {
                sc.dev.resize(2 * d * BLOCK, 0.0);
            }
            let (dev, rdev) = sc.dev.split_at_mut(d * BLOCK);
            for (j, x) in xs.iter().enumerate() {
                let mu = c.locs[kk * d + j];
                let (dj, rj) = (
                    &mut dev[j * BLOCK..j * BLOCK + n],
                    &mut rdev[j * BLOCK..j * BLOCK + n],
                );
                for (((dv, rv), xi), ri) in
                    dj.iter_mut().zip(rj.iter_mut()).zip(&x[..n]).zip(r.iter())
                {
                    *dv = xi - mu;
                    *rv = ri * *dv;
                }
                st.t1[kk * d + j] += lane_sum(rj);
            }
            let t = &mut st.t_cross[kk * d * d..(kk + 1) * d * d];
            for j in 0..d {
                let dj = &dev[j * BLOCK..j * BLOCK + n];
                for i in 0..=j {
                    let v = dot(&rdev[i * BLOCK..i * BLOCK + n], dj);
                    t[i * d + j] += v;
                    if i != j {
                        t[j * d + i] += v;
                    } else {
                        st.t2[kk * d + j] += v;
                    }
                }
            }
        }
    }
}

/// `Σ a_i b_i` in `B` lanes.
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; B];
    let (ac, bc) = (a.chunks_exact(B), b.chunks_exact(B));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (ab, bb) in ac.zip(bc) {
        for l in 0..B {
            acc[l] = ab[l].mul_add(bb[l], acc[l]);
        }
    }
    for (l, (ai, bi)) in ar.iter().zip(br).enumerate() {
        acc[l] = ai.mul_add(*bi, acc[l]);
    }
    acc.iter().fold(0.0, |s, x| s + x)
}

/// `log w_k + log N(x_obs | k)` of point `i` of the block, its observed coordinates only
/// (a missing coordinate's factor integrates to 1: its `−log s − ½ log 2π` is taken back out
/// of the constants), into `terms`; returns their logsumexp, or `None` when every value of
/// the point is missing.
#[inline(always)]
fn incomplete_terms(xs: &[&[f64]], i: usize, c: &Consts, terms: &mut [f64]) -> Option<f64> {
    let (k, d) = (c.k, c.d);
    if xs.iter().all(|x| x[i].is_nan()) {
        return None;
    }
    let mut m = f64::NEG_INFINITY;
    for (kk, t) in terms.iter_mut().enumerate().take(k) {
        let (mut q, mut back) = (0.0, 0.0);
        for (j, x) in xs.iter().enumerate() {
            let is = c.inv_s[kk * d + j];
            if x[i].is_nan() {
                back += HALF_LN_2PI - ln(is);
            } else {
                let z = (x[i] - c.locs[kk * d + j]) * is;
                q = z.mul_add(z, q);
            }
        }
        *t = c.log_norm[kk] + back - 0.5 * q;
        m = if *t > m { *t } else { m };
    }
    if !m.is_finite() {
        return Some(m);
    }
    let s: f64 = terms[..k].iter().map(|t| exp(t - m)).sum();
    Some(m + ln(s))
}

/// The log likelihood and gradient statistics of the incomplete point `i` of the block,
/// added into `st` (nothing for a point with every value missing).
#[inline(always)]
fn add_incomplete(
    xs: &[&[f64]],
    i: usize,
    c: &Consts,
    grad: bool,
    terms: &mut [f64],
    fw: &mut FullWork,
    st: &mut Stats,
) {
    let (k, d) = (c.k, c.d);
    if !c.chol.is_empty() {
        add_incomplete_full(xs, i, c, grad, terms, fw, st);
        return;
    }
    let Some(lse) = incomplete_terms(xs, i, c, terms) else {
        return;
    };
    st.loglik += lse;
    if !grad || !lse.is_finite() {
        return;
    }
    if st.miss.is_empty() {
        st.miss = vec![0.0; k * d];
    }
    for kk in 0..k {
        let r = exp(terms[kk] - lse);
        st.r_sum[kk] += r;
        for (j, x) in xs.iter().enumerate() {
            if x[i].is_nan() {
                st.miss[kk * d + j] += r;
            } else {
                let diff = x[i] - c.locs[kk * d + j];
                let rd = r * diff;
                st.t1[kk * d + j] += rd;
                st.t2[kk * d + j] = rd.mul_add(diff, st.t2[kk * d + j]);
            }
        }
    }
}

/// [`add_incomplete`] for full covariances: the observed coordinates' marginal, and the
/// conditional moments of the missing ones in the statistics (see [`crate::observed`]).
fn add_incomplete_full(
    xs: &[&[f64]],
    i: usize,
    c: &Consts,
    grad: bool,
    terms: &mut [f64],
    fw: &mut FullWork,
    st: &mut Stats,
) {
    let (k, d) = (c.k, c.d);
    let Some(lse) = fw.terms_of(xs, i, c.locs, terms, grad) else {
        return;
    };
    st.loglik += lse;
    if !grad || !lse.is_finite() {
        return;
    }
    for kk in 0..k {
        let r = exp(terms[kk] - lse);
        st.r_sum[kk] += r;
        let z = &fw.zhat[kk * d..(kk + 1) * d];
        let m2 = &fw.m2[kk * d * d..(kk + 1) * d * d];
        for j in 0..d {
            st.t1[kk * d + j] = r.mul_add(z[j], st.t1[kk * d + j]);
            st.t2[kk * d + j] = r.mul_add(m2[j * d + j], st.t2[kk * d + j]);
        }
        for (t, v) in st.t_cross[kk * d * d..(kk + 1) * d * d].iter_mut().zip(m2) {
            *t = r.mul_add(*v, *t);
        }
    }
}

/// Log responsibilities `log w_k + log N(x_i | k) − logsumexp` of the points `range` of
/// `view`, written point-major (`out[(i − range.start) · K + k]`), and, when `lse` is not
/// empty, each point's log density `log p(x_i | θ)` (the logsumexp over the components; over
/// its observed values for an incomplete point, 0 for a point with none) as
/// `lse[i − range.start]`.
pub fn chunk_log_resp(
    view: &DataView,
    range: std::ops::Range<usize>,
    c: &Consts,
    out: &mut [f64],
    lse: &mut [f64],
) {
    match view.column_slices() {
        Some(cols) => columns_log_resp(view, &cols, range, c, out, lse),
        None => rows_log_resp(view, range, c, out, lse),
    }
}

#[multiversion(targets("x86_64+avx512f+avx512dq+avx512vl", "x86_64+avx2+fma", "x86_64+sse4.1"))]
fn columns_log_resp(
    view: &DataView,
    cols: &[&[f64]],
    range: std::ops::Range<usize>,
    c: &Consts,
    out: &mut [f64],
    lse: &mut [f64],
) {
    let mut sc = take_scratch(c.k, view);
    resp_with::<false>(view, cols, range, c, out, lse, &mut sc);
    give_back(sc);
}

#[multiversion(targets("x86_64+avx512f+avx512dq+avx512vl", "x86_64+avx2+fma", "x86_64+sse4.1"))]
fn rows_log_resp(
    view: &DataView,
    range: std::ops::Range<usize>,
    c: &Consts,
    out: &mut [f64],
    lse: &mut [f64],
) {
    let mut sc = take_scratch(c.k, view);
    resp_with::<true>(view, &[], range, c, out, lse, &mut sc);
    give_back(sc);
}

#[inline(always)]
fn resp_with<const ROWS: bool>(
    view: &DataView<'_>,
    cols: &[&[f64]],
    range: std::ops::Range<usize>,
    c: &Consts,
    out: &mut [f64],
    lse_out: &mut [f64],
    sc: &mut Scratch,
) {
    let k = c.k;
    let mut xbuf = std::mem::take(&mut sc.x);
    let mut terms = std::mem::take(&mut sc.terms);
    terms.resize(k, 0.0);
    let mut fw = std::mem::take(&mut sc.fw);
    let mut fw_set = false;
    let mut start = range.start;
    while start < range.end {
        let n = (range.end - start).min(BLOCK);
        let xs = block_columns::<ROWS>(view, cols, start, n, &mut xbuf);
        // every point on the vectorised path (each point's lanes are its own: an incomplete
        // point's NaN stays in its row), then the incomplete ones again, one by one
        block(&xs, n, c, sc);
        for i in 0..n {
            let row = &mut out[(start - range.start + i) * k..(start - range.start + i + 1) * k];
            for (kk, o) in row.iter_mut().enumerate() {
                *o = sc.a[kk * BLOCK + i] - sc.s[i];
            }
            if !lse_out.is_empty() {
                lse_out[start - range.start + i] = sc.lse[i];
            }
        }
        if view.has_missing() && has_nan(&xs) {
            if !c.chol.is_empty() && !fw_set {
                fw.set(k, c.d, c.chol, c.log_norm);
                fw_set = true;
            }
            for i in 0..n {
                if !xs.iter().any(|x| x[i].is_nan()) {
                    continue;
                }
                let row =
                    &mut out[(start - range.start + i) * k..(start - range.start + i + 1) * k];
                let lse = if c.chol.is_empty() {
                    incomplete_terms(&xs, i, c, &mut terms)
                } else {
                    fw.terms_of(&xs, i, c.locs, &mut terms, false)
                };
                // a point with every value missing: its terms are the log weights
                let lse = lse.unwrap_or_else(|| {
                    for (kk, t) in terms.iter_mut().enumerate() {
                        *t = if c.chol.is_empty() {
                            c.log_norm[kk]
                                + (0..c.d)
                                    .map(|j| HALF_LN_2PI - ln(c.inv_s[kk * c.d + j]))
                                    .sum::<f64>()
                        } else {
                            fw.log_weights()[kk]
                        };
                    }
                    let m = terms.iter().fold(f64::NEG_INFINITY, |m, t| m.max(*t));
                    m + ln(terms.iter().map(|t| exp(t - m)).sum())
                });
                for (o, t) in row.iter_mut().zip(&terms) {
                    *o = t - lse;
                }
                if !lse_out.is_empty() {
                    lse_out[start - range.start + i] = lse;
                }
            }
        }
        start += n;
    }
    sc.fw = fw;
    sc.x = xbuf;
    sc.terms = terms;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitening_in_registers_gives_the_bits_of_the_streamed_solve() {
        use rand::{RngExt, SeedableRng};
        let mut rng = chacha20::ChaCha8Rng::seed_from_u64(7);
        for d in 1..=9 {
            for n in [1, 7, 8, 13, 200, BLOCK] {
                let cols: Vec<Vec<f64>> = (0..d)
                    .map(|_| (0..n).map(|_| rng.random_range(-5.0..5.0)).collect())
                    .collect();
                let xs: Vec<&[f64]> = cols.iter().map(|c| &c[..]).collect();
                let mu: Vec<f64> = (0..d).map(|_| rng.random_range(-1.0..1.0)).collect();
                // a lower triangle with the inverse of a positive diagonal on it
                let mut ch = vec![0.0; d * d];
                for j in 0..d {
                    for l in 0..j {
                        ch[j * d + l] = rng.random_range(-0.9..0.9);
                    }
                    ch[j * d + j] = 1.0 / rng.random_range(0.2..3.0);
                }
                let (mut q1, mut q2) = (vec![0.0; n], vec![0.0; n]);
                let mut wz = vec![0.0; d * BLOCK];
                mahalanobis_streamed(&xs, n, &mu, &ch, &mut q1, &mut wz);
                let fixed = mahalanobis_fixed(&xs, n, &mu, &ch, &mut q2);
                assert_eq!(fixed, (5..=8).contains(&d), "d = {d}");
                if fixed {
                    for i in 0..n {
                        assert_eq!(
                            q1[i].to_bits(),
                            q2[i].to_bits(),
                            "d = {d}, n = {n}, point {i}"
                        );
                    }
                }
                // and the distance itself: |L⁻¹ (x − μ)|² by a plain solve of point 0
                let mut w = vec![0.0; d];
                for j in 0..d {
                    let mut v = cols[j][0] - mu[j];
                    for l in 0..j {
                        v -= ch[j * d + l] * w[l];
                    }
                    w[j] = v * ch[j * d + j];
                }
                let want: f64 = w.iter().map(|v| v * v).sum();
                assert!(
                    (q1[0] - want).abs() <= 1e-12 * want.max(1.0),
                    "d = {d}: {} vs {want}",
                    q1[0]
                );
            }
        }
    }

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            ((a - b) / b).abs()
        }
    }

    #[test]
    fn exp_matches_std_to_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut xs: Vec<f64> = (0..200_001)
            .map(|i| -708.0 + 717.0 * i as f64 / 200_000.0)
            .collect();
        xs.extend([
            0.0,
            -0.0,
            1e-300,
            -1e-300,
            0.5 * std::f64::consts::LN_2,
            -700.5,
            709.0,
        ]);
        let mut v = xs.clone();
        exp_slice(&mut v);
        for (x, e) in xs.iter().zip(&v) {
            worst = worst.max(rel(*e, x.exp()));
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        // flushed to zero below EXP_MIN, NaN stays NaN, −∞ gives 0
        let mut v = vec![-708.5, -1e308, f64::NEG_INFINITY, f64::NAN];
        exp_slice(&mut v);
        assert_eq!(&v[..3], &[0.0, 0.0, 0.0]);
        assert!(v[3].is_nan());
    }

    #[test]
    fn ln_matches_std_to_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut xs: Vec<f64> = (0..200_001)
            .map(|i| 1.0 + 99_999.0 * (i as f64 / 200_000.0).powi(3))
            .collect();
        xs.extend([
            1.0,
            2.0,
            std::f64::consts::SQRT_2,
            1e-300,
            1e300,
            0.3,
            7.0e5,
        ]);
        let mut v = xs.clone();
        ln_slice(&mut v);
        for (x, l) in xs.iter().zip(&v) {
            // absolute near ln 1 = 0, relative elsewhere
            let err = if x.ln().abs() < 1.0 {
                (l - x.ln()).abs()
            } else {
                rel(*l, x.ln())
            };
            worst = worst.max(err);
        }
        assert!(worst < 1e-15, "worst error {worst:e}");
        assert_eq!(ln(1.0), 0.0);
    }
}

#[cfg(test)]
mod agreement {
    use crate::density::{
        log_likelihood_grad, log_likelihood_scalar, log_responsibilities, NaturalGrad,
    };
    use crate::model::{LocsSpec, OneOrMany, ScaleSpec, WeightsSpec};
    use crate::{ModelSpec, ScalePrior, Sharing};

    fn close(a: f64, b: f64, scale: f64) -> bool {
        (a - b).abs() <= 1e-12 * scale.max(1.0)
    }

    /// The kernel against the plain scalar loop on every shape the kernel treats differently:
    /// N below one lane block, not a multiple of the block, several chunks; D 1, 2, 8; K up
    /// to 16; every sharing.
    #[test]
    fn kernel_agrees_with_the_scalar_loop() {
        for (d, k, n, sharing) in [
            (1, 1, 1, Sharing::Shared),
            (1, 2, 5, Sharing::Shared),
            (1, 3, 7, Sharing::Component),
            (2, 5, 257, Sharing::Dimension),
            (8, 16, 1000, Sharing::Diagonal),
            (1, 3, 5000, Sharing::Component),
            (3, 4, 4099, Sharing::Diagonal),
        ] {
            let spec = ModelSpec {
                k: k as i64,
                d: Some(d as i64),
                weights: WeightsSpec {
                    concentration: OneOrMany::One(1.0),
                },
                locs: LocsSpec {
                    loc: OneOrMany::One(0.0),
                    scale: OneOrMany::One(3.0),
                    ordered: false,
                },
                scale: ScaleSpec::from_prior(
                    ScalePrior::LogNormal {
                        mu: 0.0,
                        sigma: 0.5,
                    },
                    sharing,
                ),
            };
            let model = spec.build(Some(d)).unwrap();
            let sim = crate::simulate::simulate(&model, n, 7).unwrap();
            let (ll, g) = log_likelihood_grad(&model, &sim.data, &sim.params);
            let mut gs = NaturalGrad {
                logw: vec![0.0; k],
                locs: vec![0.0; k * d],
                log_scales: vec![0.0; model.n_scales()],
            };
            let ls = log_likelihood_scalar(&model, &sim.data, &sim.params, Some(&mut gs));
            let scale = n as f64 * 10.0;
            assert!(close(ll, ls, ls.abs()), "D{d} K{k} N{n}: {ll} vs {ls}");
            for (a, b) in g
                .logw
                .iter()
                .chain(&g.locs)
                .chain(&g.log_scales)
                .zip(gs.logw.iter().chain(&gs.locs).chain(&gs.log_scales))
            {
                assert!(close(*a, *b, scale), "D{d} K{k} N{n}: gradient {a} vs {b}");
            }
            // log responsibilities: each row a log-probability vector, equal to the scalar terms
            let lr = log_responsibilities(&model, &sim.data, &sim.params);
            assert_eq!(lr.len(), n);
            for row in &lr {
                let total: f64 = row.iter().map(|v| v.exp()).sum();
                assert!((total - 1.0).abs() < 1e-12, "{total}");
            }
        }
    }
}

#[cfg(test)]
mod full_covariance {
    use super::*;
    use crate::{CovPrior, CovSharing, Covariance, Data, ScalePrior};

    fn family(sharing: CovSharing) -> Covariance {
        Covariance {
            sharing,
            prior: CovPrior::Lkj {
                scale: ScalePrior::LogNormal {
                    mu: 0.0,
                    sigma: 1.0,
                },
                eta: 1.0,
            },
        }
    }

    /// Points spread around the locations (a fixed quasi-random sequence).
    fn points(n: usize, d: usize) -> Data {
        let cols = (0..d)
            .map(|j| {
                (0..n)
                    .map(|i| 3.0 * ((i * 7 + j * 13) as f64 * 0.618_034).fract() - 1.5 + j as f64)
                    .collect()
            })
            .collect();
        Data::from_columns(cols).unwrap()
    }

    fn rel_close(a: f64, b: f64, scale: f64) -> bool {
        (a - b).abs() <= 1e-12 * scale.max(1.0)
    }

    /// The kernel's log likelihood, log responsibilities and statistics (Σ r, Σ r (x − μ),
    /// Σ r (x − μ)(x − μ)ᵀ) with full covariances against the scalar reference
    /// (`Covariance::log_normal` by point), on column-major and row-major views, over shapes the
    /// kernel treats differently (N below a lane block, across blocks, several chunks); and
    /// the statistics of any partition, added, equal the whole's.
    #[test]
    fn kernel_agrees_with_the_scalar_reference_and_partitions_merge() {
        for (d, k, n, sharing) in [
            (1, 1, 1, CovSharing::Full),
            (2, 2, 5, CovSharing::Full),
            (2, 3, 257, CovSharing::Tied),
            (3, 4, 1000, CovSharing::Full),
            (8, 3, 600, CovSharing::Full),
            (3, 2, 3000, CovSharing::Tied),
        ] {
            let f = family(sharing);
            let y: Vec<f64> = (0..f.n_values(k, d))
                .map(|i| 0.8 * ((i as f64 + 1.0) * 1.37).sin())
                .collect();
            let (values, _) = f.unpack(&y, d);
            let locs: Vec<f64> = (0..k * d).map(|i| (i as f64 * 0.9).cos()).collect();
            let w: Vec<f64> = (0..k).map(|c| 1.0 + c as f64).collect();
            let logw: Vec<f64> = w.iter().map(|v| (v / w.iter().sum::<f64>()).ln()).collect();
            let (mut chol, mut log_norm) = (vec![0.0; k * d * d], vec![0.0; k]);
            f.kernel_consts(d, &logw, &values, &mut chol, &mut log_norm);
            let consts = Consts {
                k,
                d,
                locs: &locs,
                inv_s: &[],
                log_norm: &log_norm,
                chol: &chol,
            };
            let data = points(n, d);
            // the reference, point by point
            let (mut ll, mut r_sum) = (0.0, vec![0.0; k]);
            let (mut t1, mut tc) = (vec![0.0; k * d], vec![0.0; k * d * d]);
            let mut lresp = vec![0.0; n * k];
            for i in 0..n {
                let x = data.row(i);
                let a: Vec<f64> = (0..k)
                    .map(|c| logw[c] + f.log_normal(&values, c, d, &x, &locs[c * d..(c + 1) * d]))
                    .collect();
                let m = a.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let lse = m + a.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                ll += lse;
                for c in 0..k {
                    lresp[i * k + c] = a[c] - lse;
                    let r = (a[c] - lse).exp();
                    r_sum[c] += r;
                    for p in 0..d {
                        let dp = x[p] - locs[c * d + p];
                        t1[c * d + p] += r * dp;
                        for q in 0..d {
                            tc[c * d * d + p * d + q] += r * dp * (x[q] - locs[c * d + q]);
                        }
                    }
                }
            }
            let scale = n as f64 * 10.0;
            let rows: Vec<f64> = (0..n).flat_map(|i| data.row(i)).collect();
            let row_view = DataView::row_major(&rows, n, d).unwrap();
            for view in [data.view(), row_view] {
                let st = chunk_stats(&view, 0..n, &consts, true);
                assert!(
                    rel_close(st.loglik, ll, ll.abs()),
                    "D{d} K{k} N{n}: {} vs {ll}",
                    st.loglik
                );
                for (a, b) in st
                    .r_sum
                    .iter()
                    .zip(&r_sum)
                    .chain(st.t1.iter().zip(&t1))
                    .chain(st.t_cross.iter().zip(&tc))
                {
                    assert!(rel_close(*a, *b, scale), "D{d} K{k} N{n}: {a} vs {b}");
                }
                for c in 0..k {
                    for p in 0..d {
                        assert_eq!(st.t2[c * d + p], st.t_cross[c * d * d + p * d + p]);
                    }
                }
                let mut out = vec![0.0; n * k];
                chunk_log_resp(&view, 0..n, &consts, &mut out, &mut []);
                for (a, b) in out.iter().zip(&lresp) {
                    assert!((a - b).abs() < 1e-12 * b.abs().max(1.0), "{a} vs {b}");
                }
                // a partition into three, added
                let (p1, p2) = (n / 3, n - n / 5);
                let parts = [0..p1, p1..p2, p2..n].map(|r| chunk_stats(&view, r, &consts, true));
                let mut sum = parts[0].clone();
                for p in &parts[1..] {
                    sum.loglik += p.loglik;
                    for (a, b) in sum.t_cross.iter_mut().zip(&p.t_cross) {
                        *a += b;
                    }
                    for (a, b) in sum.r_sum.iter_mut().zip(&p.r_sum) {
                        *a += b;
                    }
                }
                assert!(rel_close(sum.loglik, st.loglik, st.loglik.abs()));
                for (a, b) in sum
                    .t_cross
                    .iter()
                    .zip(&st.t_cross)
                    .chain(sum.r_sum.iter().zip(&st.r_sum))
                {
                    assert!(rel_close(*a, *b, scale), "partition: {a} vs {b}");
                }
            }
        }
    }
}
