//! The `jrnle-audit` binary: parse, run, print the error once, return the exit code.

use std::process::ExitCode;

use clap::Parser;
use jrnle_audit::cli::Cli;
use jrnle_audit::error::exit;

/// mimalloc instead of the system allocator: the replay and the writers allocate and free
/// millions of short strings, where glibc's malloc spent a third of the time
/// (BENCHMARKS.md, "Answers").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            // clap's own message: what is wrong, the usage, where to look (several lines).
            let _ = err.print();
            return ExitCode::from(exit::USAGE);
        }
    };
    match jrnle_audit::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout (`| head`) is not a failure.
        Err(err) if err.is_broken_pipe() => ExitCode::SUCCESS,
        Err(err) => {
            jrnle_audit::console::clear_progress();
            eprintln!("jrnle-audit: error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
