//! `bgmm`: Bayesian Gaussian mixture models from the command line.
//!
//! Every failure prints one line `error: …` on stderr and exits with code 2; a sampling run
//! stopped by Ctrl-C keeps its draws, says so on one line and exits with 130.

use std::process::ExitCode;

use bgmm_cli::cli;
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    bgmm_cli::signals::install();
    quiet_on_closed_stdout();
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => return usage_error(e),
    };
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

/// `bgmm … | head`: when the reader of stdout goes away, end quietly, as a program killed by
/// SIGPIPE does (exit code 141), instead of the panic Rust's `print!` raises (Rust ignores
/// SIGPIPE, and restoring it would need `unsafe`). Temporaries are removed first.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            bgmm_io::remove_temporaries();
            std::process::exit(141);
        }
        default(info);
    }));
}

/// An error of the argument parser as one line (its paragraphs joined: what is wrong, a tip,
/// the usage), exit code 2; `--help` and `--version` are printed as clap prints them.
fn usage_error(e: clap::Error) -> ExitCode {
    let msg = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let names: Vec<String> = cli::Cli::command()
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            format!(
                "no command given (one of: {}); 'bgmm --help' describes them",
                names.join(", ")
            )
        }
        _ => {
            let text = e.render().to_string();
            let parts: Vec<String> = text
                .split("\n\n")
                .map(|p| {
                    p.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|p| !p.is_empty() && !p.starts_with("For more information"))
                .collect();
            let msg = parts.join("; ");
            format!(
                "{}; see --help",
                msg.strip_prefix("error: ").unwrap_or(&msg)
            )
        }
    };
    eprintln!("error: {}", bgmm_io::shorten(&msg));
    ExitCode::from(2)
}
