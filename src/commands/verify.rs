//! `verify`: check an out-dir's evidence.

use crate::cli::VerifyArgs;
use crate::console;
use crate::error::{Error, Result};
use crate::evidence::verify::Report;
use crate::evidence::verify::finding::{Finding, lines};
use crate::evidence::verify::verify;
use crate::output::Destination;

pub fn run(args: VerifyArgs) -> Result<()> {
    check_args(&args)?;
    let found = verify(&args.dir, args.state.as_deref())?;
    let json = args.json || args.summary.json();
    // No manifest and nothing else either is no evidence; no manifest yet but what a run
    // left before its first commit (deliveries acknowledged, a baseline's data file) is an
    // interrupted first run, said as such.
    let no_series =
        found.problems.is_empty() && found.manifests == 0 && found.interrupted.is_empty();
    if json {
        print_json(&args, &found, no_series)?;
    }
    // Interrupted runs' leftovers: said on their own lines, not altered evidence (exit 0).
    for left in &found.interrupted {
        console::finding(format!("verify: interrupted run: {left}"));
    }
    if no_series {
        return Err(Error::NoSeries {
            dir: args.dir.display().to_string(),
        });
    }
    if found.problems.is_empty() && json {
        return Ok(());
    }
    if found.problems.is_empty() && found.manifests == 0 {
        // Not "intact": nothing is committed yet, only what a first run left.
        println!(
            "{}: no manifest yet: only what an interrupted first run left (above), which the \
             next run completes or removes",
            args.dir.display()
        );
        return Ok(());
    }
    if found.problems.is_empty() {
        let span = match (&found.first_from, &found.last_to, &found.series_from) {
            (Some(a), Some(b), _) if found.series <= 1 => format!(", windows [{a}, {b})"),
            (Some(a), Some(b), Some(s)) => format!(
                ", windows [{a}, {b}) in {} series, the newest covering [{s}, {b})",
                found.series
            ),
            _ => String::new(),
        };
        let left = match found.interrupted.len() {
            0 => String::new(),
            n => format!(
                " ({} left by an interrupted run, above: the next run completes or removes {})",
                console::plural(n as u64, "thing", "things"),
                if n == 1 { "it" } else { "them" }
            ),
        };
        println!(
            "{}: intact: {}, {}{span}, hash chain and data files verified{left}",
            args.dir.display(),
            console::plural(found.manifests as u64, "manifest", "manifests"),
            console::plural(found.rows, "entry", "entries")
        );
        return Ok(());
    }
    for problem in &found.problems {
        console::finding(format!("verify: {problem}"));
    }
    Err(Error::Verify {
        dir: args.dir.display().to_string(),
        problems: vec![format!(
            "{} problem{} found",
            found.problems.len(),
            if found.problems.len() == 1 { "" } else { "s" }
        )],
    })
}

/// What is asked must exist: the directory, and a state file when one is named (a mistake to
/// say, not a check to skip).
fn check_args(args: &VerifyArgs) -> Result<()> {
    if !args.dir.exists() {
        return Err(Error::usage(format!(
            "{} does not exist: give the --out-dir of a sync, snapshot or listen",
            args.dir.display()
        )));
    }
    if !args.dir.is_dir() {
        return Err(Error::usage(format!(
            "{} is not a directory: give the --out-dir of a sync, snapshot or listen",
            args.dir.display()
        )));
    }
    if let Some(state) = &args.state
        && std::fs::symlink_metadata(state).is_err()
    {
        return Err(Error::usage(format!(
            "--state {} does not exist: give the state file the sync wrote (its --state)",
            state.display()
        )));
    }
    Ok(())
}

/// The result as one JSON object on stdout.
fn print_json(args: &VerifyArgs, found: &Report, no_series: bool) -> Result<()> {
    let mut problems = lines(&found.problems);
    if no_series {
        problems.push("no series: the directory holds no manifest".into());
    }
    // Typed (file, kind, detail): every problem, then what interrupted runs left.
    let findings: Vec<&Finding> = found.problems.iter().chain(&found.interrupted).collect();
    let value = serde_json::json!({
        "command": "verify",
        "dir": args.dir.display().to_string(),
        "intact": problems.is_empty(),
        "manifests": found.manifests,
        "entries": found.rows,
        "series": found.series,
        "windows": {"from": found.first_from, "to": found.last_to},
        "newest_series_from": found.series_from,
        "problems": problems,
        "interrupted": lines(&found.interrupted),
        "findings": findings,
    });
    Destination::Stdout.write_with(|w| writeln!(w, "{value}"))
}
