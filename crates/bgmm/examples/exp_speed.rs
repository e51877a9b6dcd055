use std::time::Instant;
fn main() {
    let n = 1 << 20;
    let x: Vec<f64> = (0..n).map(|i| -30.0 * (i as f64) / n as f64).collect();
    for _ in 0..3 {
        let mut v = x.clone();
        let t = Instant::now();
        bgmm::kernel::exp_slice(&mut v);
        let a = t.elapsed().as_secs_f64();
        let mut w = x.clone();
        let t = Instant::now();
        for e in w.iter_mut() {
            *e = e.exp();
        }
        let b = t.elapsed().as_secs_f64();
        let mut u = x.clone();
        let t = Instant::now();
        for e in u.iter_mut() {
            *e = bgmm::kernel::exp(*e);
        }
        let c = t.elapsed().as_secs_f64();
        println!(
            "exp_slice {:.2} ns/elt, std {:.2} ns/elt, inline generic {:.2} ns/elt {}",
            a * 1e9 / n as f64,
            b * 1e9 / n as f64,
            c * 1e9 / n as f64,
            v[5] + w[5] + u[5]
        );
    }
}
