//! The `jrnle-audit` binary: parse, run, print the error once, return the exit code.

use std::process::ExitCode;

use clap::Parser;
use jrnle_audit::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match jrnle_audit::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout (`| head`) is not a failure.
        Err(err) if err.is_broken_pipe() => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("jrnle-audit: error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
