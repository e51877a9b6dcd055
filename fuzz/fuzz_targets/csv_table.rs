//! A CSV data file, through both readers the CLI has: the in-memory table parser
//! (`table::parse`, files up to 256 MB) and the streaming reader (`stream::Source`, larger
//! files: header, row count, whole loads, chunked passes, row ranges and minibatches).
//! Errors are fine (and must be one line); a panic is a bug.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use bgmm_io::Source;
use bgmm_io::parse_csv as parse;
use chacha20::ChaCha8Rng;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use rand::SeedableRng;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = common::scratch_dir("csv_table");
        dir.join("data.csv")
    })
}

fn one_line(e: anyhow::Error) {
    let m = e.to_string();
    assert!(!m.contains('\n'), "multi-line error: {m:?}");
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
    Ok(())
}

fuzz_target!(|bytes: &[u8]| {
    let x = ["x".to_string()];
    let xy = ["x".to_string(), "y".to_string()];
    for columns in [None, Some(&x[..]), Some(&xy[..])] {
        match parse("fuzz.csv", bytes, columns) {
            Ok(t) => {
                assert!(!t.columns.is_empty());
                let n = t.columns[0].len();
                assert!(n > 0 && t.columns.iter().all(|c| c.len() == n));
                // NaN is a missing value; every column has a value
                assert!(t.columns.iter().flatten().all(|v| !v.is_infinite()));
                assert!(t.columns.iter().all(|c| c.iter().any(|v| !v.is_nan())));
                assert_eq!(t.names.len(), t.columns.len());
            }
            Err(e) => one_line(e),
        }
    }

    let path = scratch();
    std::fs::write(path, bytes).unwrap();
    // the way `load_data` picks the columns of a large CSV without --columns
    match Source::numeric_columns(path) {
        Ok(cols) => {
            if let Err(e) = streaming(path, Some(&cols)) {
                one_line(e);
            }
        }
        Err(e) => one_line(e),
    }
    for columns in [None, Some(&x[..])] {
        if let Err(e) = streaming(path, columns) {
            one_line(e);
        }
    }
});
