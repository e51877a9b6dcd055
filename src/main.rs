//! `bgmm`: Bayesian Gaussian mixture models from the command line.
//!
//! Every failure prints one line `error: …` on stderr and exits with code 2.

#![allow(clippy::needless_range_loop)]

mod atomic;
mod bench;
mod cli;
mod demo;
mod figures;
mod minibatch;
mod output;
mod plot;
mod predict;
mod report;
mod sample;
mod stream;
mod table;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // one line, whatever the cause chain
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}
