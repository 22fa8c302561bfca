//! `sync`: one incremental, crash-safe delivery into an out-dir.

use chrono::Utc;

use crate::cli::SyncArgs;
use crate::config::parse_duration;
use crate::console;
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::sync::run::{SyncPlan, prepare, run as run_window};

pub fn run(args: SyncArgs) -> Result<()> {
    if args.filters.until.is_some() {
        return Err(Error::usage(
            "sync takes no --until: each window ends at now minus --lag",
        ));
    }
    check_state_path(args.state.as_deref())?;
    let settings = Settings::resolve(&args.connection, &args.filters)?;
    let signer = crate::settings::signing_key(&args.evidence, Some(&args.connection))?;
    let tsa_urls = super::stamp::urls(&args.tsa.tsa_urls, Some(&args.connection))?;
    let (tenant_url, api_version) = settings.tenant();
    let plan = SyncPlan {
        signer,
        state_path: args
            .state
            .clone()
            .unwrap_or_else(|| SyncPlan::default_state_path(&args.out_dir)),
        out_dir: args.out_dir,
        filters: settings.filters.clone(),
        format: args.format,
        formula_guard: !args.no_formula_guard,
        lag: parse_duration("lag", &args.lag)?,
        lookback: parse_duration("lookback", &args.lookback)?,
        new_series: args.new_series,
        verify_all: args.verify_all,
        allow_empty: args.allow_empty,
        tenant_url,
        api_version,
    };
    let json = args.summary.json();
    let Some((prepared, to)) = prepare(&plan, Utc::now())? else {
        // Nothing to commit: still stamp what earlier runs could not.
        if !tsa_urls.is_empty() {
            super::runtime()?.block_on(super::stamp::catch_up(&plan.out_dir, &tsa_urls));
        }
        if json {
            console::summary_json(&serde_json::json!({"command": "sync", "committed": null}));
        }
        return Ok(());
    };
    let outcome = super::runtime()?.block_on(async {
        let client = settings.client().await?;
        let mut source = settings.journal(&client, indicatif::ProgressBar::hidden());
        run_window(&plan, prepared, to, &mut source).await
    })?;
    summarize(json, &outcome);
    // After the commit, and said after it: a TSA never holds up or fails the data.
    if !tsa_urls.is_empty() {
        super::runtime()?.block_on(super::stamp::catch_up(&plan.out_dir, &tsa_urls));
    }
    Ok(())
}

/// What the run committed: the JSON summary, or the data warnings, the committed file and
/// the new head on stderr.
fn summarize(json: bool, outcome: &crate::sync::run::Outcome) {
    if json {
        console::summary_json(&serde_json::json!({
            "command": "sync",
            "committed": {
                "data_file": outcome.data_file,
                "manifest": crate::evidence::manifest::manifest_name(&outcome.data_file),
                "sha256": outcome.sha256,
                "series": outcome.series,
                "window": {"from": outcome.window.from, "to": outcome.window.to},
                "entries": outcome.rows,
                "late_entries": outcome.late_rows,
                "head": outcome.head,
            },
            "data_warnings": super::warnings_json(&outcome.anomalies),
        }));
        return;
    }
    for line in outcome.anomalies.lines() {
        console::warn(line);
    }
    let late = match outcome.late_rows {
        0 => String::new(),
        n => format!(", {n} of them late arrivals from earlier windows"),
    };
    console::note(format!(
        "committed {} for [{}, {}): {}{late}",
        outcome.data_file,
        outcome.window.from,
        outcome.window.to,
        console::plural(outcome.rows, "entry", "entries")
    ));
    console::note(format!("head: {}", outcome.head));
}

/// A --state the run could not write would fail every run after its commit (exit 1):
/// refused before anything is touched.
fn check_state_path(state: Option<&std::path::Path>) -> Result<()> {
    let Some(state) = state else {
        return Ok(());
    };
    let dir = match state.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::usage(format!(
            "--state {}: the directory {} does not exist: create it or choose another --state",
            state.display(),
            dir.display()
        )));
    }
    if state.is_dir() {
        return Err(Error::usage(format!(
            "--state {} is a directory: give a file name, e.g. {}",
            state.display(),
            state.join("state.json").display()
        )));
    }
    Ok(())
}
