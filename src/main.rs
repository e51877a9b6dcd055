//! `bgmm`: Bayesian Gaussian mixture models from the command line.
//!
//! Every failure prints one line `error: …` on stderr and exits with code 2; a sampling run
//! stopped by Ctrl-C keeps its draws, says so on one line and exits with 130.

use std::process::ExitCode;

use bgmm_cli::cli;
use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // one line, whatever the cause chain
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {msg}");
            if e.downcast_ref::<cli::Interrupted>().is_some() {
                ExitCode::from(130)
            } else {
                ExitCode::from(2)
            }
        }
    }
}
