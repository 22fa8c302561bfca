//! `verify`: check an out-dir's evidence.

use crate::cli::VerifyArgs;
use crate::console;
use crate::error::{Error, Result};
use crate::evidence::timestamp::TsaRoots;
use crate::evidence::verify::Report;
use crate::evidence::verify::finding::{Finding, lines};
use crate::evidence::verify::timestamp::{
    TimestampPolicy, TimestampSummary, check_timestamps, readable_chain,
};
use crate::evidence::verify::verify;
use crate::output::Destination;

pub fn run(args: VerifyArgs) -> Result<()> {
    check_args(&args)?;
    let policy = timestamp_policy(&args)?;
    let mut found = verify(&args.dir, args.state.as_deref())?;
    let chain = readable_chain(&args.dir)?;
    check_timestamps(&args.dir, &chain, &policy, &mut found);
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
        if let Some(line) = found.timestamps.as_ref().and_then(timestamp_line) {
            println!("{}: {line}", args.dir.display());
        }
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
        "timestamps": found.timestamps,
    });
    Destination::Stdout.write_with(|w| writeln!(w, "{value}"))
}

/// What `--tsa-ca`, `--max-timestamp-delay` and `--require-timestamps` ask.
fn timestamp_policy(args: &VerifyArgs) -> Result<TimestampPolicy> {
    let roots = match &args.tsa_ca {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                Error::usage(format!("cannot read --tsa-ca {}: {e}", path.display()))
            })?;
            let roots = TsaRoots::from_pem(&pem)
                .map_err(|e| Error::usage(format!("--tsa-ca {}: {e}", path.display())))?;
            Some(roots)
        }
        None => None,
    };
    let delay = crate::config::parse_duration("max-timestamp-delay", &args.max_timestamp_delay)?;
    Ok(TimestampPolicy {
        roots,
        max_delay: chrono::Duration::from_std(delay)
            .map_err(|_| Error::usage("--max-timestamp-delay is too long"))?,
        require: args.require_timestamps,
    })
}

/// The summary's line on timestamps: how many, by whom, when, and whether their signatures
/// were checked; nothing for an out-dir with none that was not asked about them.
fn timestamp_line(t: &TimestampSummary) -> Option<String> {
    if t.timestamped == 0 && !t.signatures_checked {
        return None;
    }
    let total = (t.timestamped + t.untimestamped.len()) as u64;
    let by: Vec<String> = t
        .tsas
        .iter()
        .map(|s| {
            format!(
                "{} by {} ({} to {})",
                s.tokens,
                s.tsa,
                crate::model::date::format_utc_ms(&s.earliest),
                crate::model::date::format_utc_ms(&s.latest)
            )
        })
        .collect();
    let untimestamped = match t.untimestamped.as_slice() {
        [] => String::new(),
        [first, ..] => format!(
            "; {} untimestamped, from {first}",
            console::plural(t.untimestamped.len() as u64, "manifest", "manifests")
        ),
    };
    let checked = if t.signatures_checked {
        "signatures and certificate chains checked against --tsa-ca"
    } else {
        "hash, nonce and time checked, signatures not (give --tsa-ca)"
    };
    Some(format!(
        "timestamps: {} of {total} manifests{}{untimestamped}; {checked}",
        t.timestamped,
        if by.is_empty() {
            String::new()
        } else {
            format!(": {}", by.join(", "))
        }
    ))
}
