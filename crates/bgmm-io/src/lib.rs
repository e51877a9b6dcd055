//! bgmm's input and output, without a command line: every data source behind one parsed spec
//! ([`DataSpec`], read by [`DataSpec::read`]), the typed records of every run (one type per
//! file, written and read by it), run directories, CmdStan CSV, model files, the out-of-core
//! minibatch fit, atomic writes and the text tables the commands print.

#![allow(clippy::needless_range_loop)]

mod atomic;
mod cmdstan;
mod data;
mod finite;
mod input;
mod loglik;
mod minibatch;
mod model_file;
mod records;
mod rundir;
mod runs;
mod stream;
mod table;
mod text;

pub use atomic::{ensure_dir, remove_temporaries, write_atomic, write_atomic_with, write_out};
pub use cmdstan::{cmdstan_csv, cmdstan_name, read_chain};
pub use data::{id_like_warnings, read_data, DataSource, DataSpec};
pub use input::{shorten, MAX_LINE_BYTES};
pub use loglik::{
    elpd_warnings, evidence_text, log_lik_npy, loo_text, occupied_text, pointwise_outputs,
    posterior_text, read_log_lik, run_elpd, run_log_lik, write_sample_run, RunElpd, SampleDraws,
    LOG_LIK_MAX_VALUES,
};
pub use minibatch::{
    fit_minibatch, missing_per_column, start as minibatch_start, streaming_loglik, MinibatchFit,
    MinibatchOptions, Progress, Start as MinibatchStart,
};
pub use model_file::{
    default_model_spec, default_model_spec_of, load_model_spec, model_spec_from_str,
};
pub use records::{
    fit_from_str, json_bytes, load_fit, load_select, ChainRecord, ClassifyRecord, ColumnSummary,
    DataInfo, FitOptionsRecord, FitRecord, Interruption, NutsRecord, PosteriorSummary,
    PredictiveRecord, RunOptions, SampleRecord, SelectRecord, SelectTableRow, SimulateRecord,
    SmcRecord, TruthRecord, ViRecord, VERSION,
};
pub use rundir::{
    read_manifest, runs_written, verify_run, Manifest, ManifestEntry, RunKind, RunWriter,
    LOG_LIK_FILE, MANIFEST,
};
pub use runs::{
    find_runs, is_sampling_run, load_classification, load_run, ClassifyRun, FitRun, Run, SampleRun,
    SampledRun, SelectRun,
};
pub use stream::{
    npy_header_bytes, npy_header_of_shape, write_npy_rows, MinibatchDensity, Source, RUN,
};
pub use table::{parse as parse_csv, Table, BUILTINS};
pub use text::{
    assignments_csv, column_names, compare_text, csv_field, csv_header, data_csv, dimension_legend,
    fit_text, free_name, params_text, select_failures, select_text, sites_text, summary_table,
};
