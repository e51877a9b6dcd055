//! A NumPy `.npy` data file through the streaming reader (`stream::Source`): the header, then
//! whole loads, chunked passes, row ranges and minibatches. Errors are fine (and must be one
//! line); a panic is a bug.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use bgmm_io::Source;
use chacha20::ChaCha8Rng;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use rand::SeedableRng;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = common::scratch_dir("npy");
        dir.join("data.npy")
    })
}

fn streaming(path: &PathBuf, columns: Option<&[String]>) -> anyhow::Result<()> {
    let src = Source::open(path, columns)?;
    let data = src.load_all()?;
    assert_eq!(data.n(), src.n);
    assert_eq!(data.d(), src.d());
    let mut seen = 0;
    src.for_each_chunk(3, |chunk| {
        seen += chunk.n();
        Ok(())
    })?;
    assert_eq!(seen, src.n);
    let _ = src.rows(src.n / 2, src.n - src.n / 2)?;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let _ = src.minibatch(5, &mut rng)?;
    let _ = src.minibatch(600, &mut rng)?;
    Ok(())
}

fuzz_target!(|bytes: &[u8]| {
    let path = scratch();
    std::fs::write(path, bytes).unwrap();
    let x1 = ["x1".to_string()];
    for columns in [None, Some(&x1[..])] {
        if let Err(e) = streaming(path, columns) {
            let m = e.to_string();
            assert!(!m.contains('\n'), "multi-line error: {m:?}");
        }
    }
});
