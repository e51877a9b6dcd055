//! `bgmm bench`: the data kernel's throughput next to the scalar baseline, the peers'
//! end-to-end jobs and the MAP search benchmark (all in `bgmm_report`).

use anyhow::Result;

use bgmm_report::{run_bench, Bench};

use crate::args::{BenchArgs, BenchWhat};

/// Run `bgmm bench`.
pub fn run(a: BenchArgs) -> Result<()> {
    let what = match a.what {
        BenchWhat::Kernel => Bench::Kernel,
        BenchWhat::Fit => Bench::Fit,
        BenchWhat::Search => Bench::Search,
        BenchWhat::All => Bench::All,
    };
    run_bench(what, a.quick, a.json, a.long.as_deref(), a.only_new)
}
