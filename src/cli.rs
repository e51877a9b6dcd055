//! The commands: parse the command line ([`Cli`]) and run the command it names.

use anyhow::Result;

pub use crate::args::Cli;
use crate::args::Command;
use crate::commands::{
    bench, classify, demo, describe, fit, loo, plot, predict, report, sample, select, simulate, vi,
};
pub use crate::common::{Ctx, Interrupted};

/// Run the command of this process's command line (which its records hold).
pub fn run(cli: Cli) -> Result<()> {
    run_command(cli.command, &Ctx::of_process()).map_err(in_cli_words)
}

/// Any error of a command in the command line's words (an interruption passes as it is, so
/// that the binary still knows it by its type).
fn in_cli_words(e: anyhow::Error) -> anyhow::Error {
    if e.downcast_ref::<Interrupted>().is_some() {
        return e;
    }
    anyhow::anyhow!(bgmm_io::shorten(&crate::errors::rewrite(&format!("{e:#}"))))
}

/// Run a command; `ctx` holds the command line its records hold.
pub fn run_command(command: Command, ctx: &Ctx) -> Result<()> {
    match command {
        Command::Simulate(a) => simulate::run(a, ctx),
        Command::Describe(a) => describe::run(a),
        Command::Fit(a) => fit::run(a, ctx),
        Command::Select(a) => select::run(a, ctx),
        Command::Classify(a) => classify::run(a, ctx),
        Command::Sample(a) => sample::run(a, ctx),
        Command::Predict(a) => predict::run(a, ctx),
        Command::Vi(a) => vi::run(a, ctx),
        Command::Loo(a) => loo::run(a),
        Command::Plot(a) => plot::run(a),
        Command::Report(a) => report::run(a),
        Command::Demo(a) => demo::run(a, &run_command),
        Command::Bench(a) => bench::run(a),
    }
}
