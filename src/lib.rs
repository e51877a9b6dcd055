//! The `bgmm` command line: argument parsing (`args`, with typed choices), one module per
//! command (`commands`) and what they share (`common`). Everything else is a library: the data
//! sources, records and run directories in `bgmm-io`, the pictures and report in
//! `bgmm-report`, the models and engines in `bgmm`.
//!
//! The binary (`src/main.rs`) only parses the arguments and prints the error; keeping the rest
//! here lets the fuzz targets (`fuzz/`) run commands.

#![allow(clippy::needless_range_loop)]

mod args;
pub mod cli;
mod commands;
mod common;
mod errors;
pub mod signals;
