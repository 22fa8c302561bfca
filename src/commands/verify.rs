//! `verify`: check an out-dir's evidence.

use crate::cli::VerifyArgs;
use crate::console;
use crate::error::{Error, Result};
use crate::evidence::allowed_signers::AllowedSigners;
use crate::evidence::timestamp::TsaRoots;
use crate::evidence::verify::Report;
use crate::evidence::verify::finding::{Finding, lines};
use crate::evidence::verify::signature::SignaturePolicy;
use crate::evidence::verify::timestamp::{TimestampPolicy, TimestampSummary};
use crate::evidence::verify::{Head, Policy, verify_with};
use crate::output::Destination;

pub fn run(args: VerifyArgs) -> Result<()> {
    check_args(&args)?;
    let policy = policy(&args)?;
    let found = settled(&args, &policy)?;
    if args.print_head {
        return print_head(&args, &found);
    }
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
        return print_lines(&[format!(
            "{}: no manifest yet: only what an interrupted first run left (above), which the \
             next run completes or removes",
            args.dir.display()
        )]);
    }
    if found.problems.is_empty() {
        return print_lines(&intact_lines(&args, &found));
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

/// The result on stdout, each line; a reader that stops early (`| head -1`) is no failure.
fn print_lines(lines: &[String]) -> Result<()> {
    crate::output::Destination::Stdout.write_with(|w| {
        for line in lines {
            writeln!(w, "{line}")?;
        }
        Ok(())
    })
}

/// The result of intact evidence for stdout: the "intact" line, who signed, the timestamps,
/// the head.
fn intact_lines(args: &VerifyArgs, found: &Report) -> Vec<String> {
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
    let mut lines = vec![format!(
        "{}: intact: {}, {}{span}, hash chain and data files verified{left}",
        args.dir.display(),
        console::plural(found.manifests as u64, "manifest", "manifests"),
        console::plural(found.rows, "entry", "entries")
    )];
    lines.extend(signature_lines(found));
    lines.extend(found.timestamps.as_ref().and_then(timestamp_line));
    if let (Some(later), Some(recorded)) = (found.recorded_head, &args.expect_head) {
        let recorded = recorded.split_whitespace().next().unwrap_or_default();
        lines.push(format!(
            "recorded head {recorded}: in the chain, {} after it",
            console::plural(later as u64, "manifest", "manifests")
        ));
    }
    if let Some(head) = &found.head {
        lines.push(format!("head: {head}"));
    }
    lines
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
        "signatures": found.signatures,
        "head": found.head,
        "timestamps": found.timestamps,
    });
    Destination::Stdout.write_with(|w| writeln!(w, "{value}"))
}

/// What is judged beyond the evidence's own consistency, from the flags.
fn policy(args: &VerifyArgs) -> Result<Policy> {
    let allowed_signers = args
        .allowed_signers
        .as_deref()
        .map(AllowedSigners::load)
        .transpose()?;
    let expect_head = args.expect_head.as_deref().map(recorded_head).transpose()?;
    Ok(Policy {
        signatures: SignaturePolicy {
            allowed_signers,
            require: args.require_signatures,
        },
        timestamps: timestamp_policy(args)?,
        expect_head,
    })
}

/// Verify, again when the out-dir changed while it was checked and problems were found: a
/// run committing meanwhile (renaming its `.partial` files into place, writing the manifest
/// then the state file) is not a problem of the evidence. A run holds its lock for as long
/// as it runs (`listen` for days), so `verify` does not wait for it.
fn settled(args: &VerifyArgs, policy: &Policy) -> Result<Report> {
    let mut tries = 0;
    loop {
        let before = crate::evidence::files::read_dir(&args.dir)?;
        let found = verify_with(&args.dir, args.state.as_deref(), policy)?;
        tries += 1;
        if found.problems.is_empty()
            || tries == 5
            || crate::evidence::files::read_dir(&args.dir)? == before
        {
            return Ok(found);
        }
    }
}

/// A head as recorded: the 64 hex digits, or the whole line `--print-head` printed (the
/// digits, two spaces, the manifest's name).
fn recorded_head(text: &str) -> Result<Head> {
    let mut parts = text.split_whitespace();
    let (sha256, manifest) = (parts.next().unwrap_or_default(), parts.next());
    if sha256.len() != 64
        || !sha256.bytes().all(|b| b.is_ascii_hexdigit())
        || parts.next().is_some()
    {
        return Err(Error::usage(format!(
            "--expect-head {text:?} is not a recorded head: give the 64 hex digits, or the whole \
             line, that `verify --print-head` printed"
        )));
    }
    Ok(Head {
        manifest: manifest.unwrap_or_default().to_string(),
        sha256: sha256.to_ascii_lowercase(),
    })
}

/// `--print-head`: the head on stdout, one line, when the evidence holds; otherwise the
/// problems and exit 5, and no head to record.
fn print_head(args: &VerifyArgs, found: &Report) -> Result<()> {
    for problem in &found.problems {
        console::finding(format!("verify: {problem}"));
    }
    if !found.problems.is_empty() {
        return Err(Error::Verify {
            dir: args.dir.display().to_string(),
            problems: vec![format!(
                "{}: no head printed",
                console::plural(found.problems.len() as u64, "problem", "problems")
            )],
        });
    }
    let head = found.head.as_ref().ok_or_else(|| Error::NoSeries {
        dir: args.dir.display().to_string(),
    })?;
    Destination::Stdout.write_with(|w| writeln!(w, "{head}"))
}

/// The signatures in words: who signed how many, and what is unsigned.
fn signature_lines(found: &Report) -> Vec<String> {
    let s = &found.signatures;
    let mut lines = Vec::new();
    for signer in &s.signers {
        let who = match &signer.principals {
            Some(p) => format!("{p} ({})", signer.fingerprint),
            None => format!(
                "{} (not checked against --allowed-signers)",
                signer.fingerprint
            ),
        };
        lines.push(format!(
            "signed by {who}: {}",
            console::plural(signer.manifests as u64, "manifest", "manifests")
        ));
    }
    if !s.unsigned.is_empty() {
        let from = match (&s.signed_from, s.signed) {
            (Some(first), n) if n > 0 => format!("; the signed part begins at {first}"),
            _ => String::new(),
        };
        lines.push(format!(
            "unsigned: {} of {}{from}",
            s.unsigned.len(),
            console::plural(found.manifests as u64, "manifest", "manifests")
        ));
    }
    lines
}

/// The TSA CA certificates of `--tsa-ca` (`verify`, `report`).
pub fn tsa_roots(path: &std::path::Path) -> Result<TsaRoots> {
    let pem = std::fs::read(path)
        .map_err(|e| Error::usage(format!("cannot read --tsa-ca {}: {e}", path.display())))?;
    TsaRoots::from_pem(&pem).map_err(|e| Error::usage(format!("--tsa-ca {}: {e}", path.display())))
}

/// What `--tsa-ca`, `--max-timestamp-delay` and `--require-timestamps` ask.
fn timestamp_policy(args: &VerifyArgs) -> Result<TimestampPolicy> {
    let roots = args.tsa_ca.as_deref().map(tsa_roots).transpose()?;
    let delay = crate::config::parse_duration("max-timestamp-delay", &args.max_timestamp_delay)?;
    Ok(TimestampPolicy {
        roots,
        max_delay: Some(
            chrono::Duration::from_std(delay)
                .map_err(|_| Error::usage("--max-timestamp-delay is too long"))?,
        ),
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
