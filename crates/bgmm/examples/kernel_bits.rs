//! Prints the kernel's log likelihood and gradient bits, to compare instruction sets (run it
//! natively and under valgrind, whose CPU has no AVX-512).
fn main() {
    let spec: bgmm::ModelSpec = toml::from_str("k = 5\nd = 3\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 4.0\n[scale]\nsharing = \"diagonal\"\nprior = \"lognormal\"\nmu = 0.0\nsigma = 0.5\n").unwrap();
    let model = spec.build(Some(3)).unwrap();
    let sim = bgmm::simulate(&model, 3001, 1).unwrap();
    let (ll, g) = bgmm::log_likelihood_grad(&model, &sim.data, &sim.params);
    let mut h: u64 = ll.to_bits();
    for v in g.logw.iter().chain(&g.locs).chain(&g.log_scales) {
        h = h.rotate_left(7) ^ v.to_bits();
    }
    println!("ll {ll:.17e} hash {h:016x}");
}
