//! The `bgmm` command line as a library: argument parsing, the loaders of every file a command
//! reads, the writers of every file it makes, the pictures and the report.
//!
//! The binary (`src/main.rs`) only parses the arguments and prints the error; keeping the rest
//! here lets the fuzz targets (`fuzz/`) and tests call the loaders directly.

#![allow(clippy::needless_range_loop)]

pub mod atomic;
pub mod bench;
pub mod cli;
pub mod demo;
mod errors;
pub mod figures;
pub mod minibatch;
pub mod output;
pub mod plot;
pub mod predict;
pub mod report;
pub mod sample;
pub mod search_bench;
pub mod stream;
pub mod table;
