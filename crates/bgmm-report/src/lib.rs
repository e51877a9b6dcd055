//! bgmm's pictures and report: every figure of a run directory (drawn once for both SVG and
//! PNG), the one-page HTML report, and the benchmarks (`bgmm bench`). Runs are read through
//! `bgmm-io`; nothing here parses a command line.

#![allow(clippy::needless_range_loop)]

mod bench;
mod figures;
mod plot;
mod report;
mod search_bench;
#[cfg(test)]
mod selection;

pub use bench::{
    fit_table, kernel_table, numpyro_data, run_bench, sklearn_data, Bench, IRIS_TOML, NUMPYRO_TOML,
    TUTORIAL_TOML,
};
pub use figures::{
    classify_figures, data_figures, figures, fit_figures, predictive_values, provenance,
    sample_figures, select_figures, select_provenance, write_figures, Figure, MAX_SCATTER,
    MAX_SWARM, PREDICTIVE_DRAWS,
};
pub use plot::{min_max, svg_with_metadata, Render};
pub use report::{esc, report_html};
pub use search_bench::{bench as search_bench, cases as search_cases, long as search_long, Case};
