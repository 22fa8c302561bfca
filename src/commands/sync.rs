//! `sync`: one incremental, crash-safe delivery into an out-dir.

use chrono::Utc;

use crate::cli::SyncArgs;
use crate::config::{Source, parse_duration};
use crate::console;
use crate::error::{Error, Result};
use crate::sync::run::{SyncPlan, prepare, run as run_window};

pub fn run(args: SyncArgs) -> Result<()> {
    if args.filters.until.is_some() {
        return Err(Error::usage(
            "sync takes no --until: each window ends at now minus --lag",
        ));
    }
    let query = super::query(&args.connection, &args.filters)?;
    let (tenant_url, api_version) = match &query.source {
        Source::Tenant(c) => (
            c.url.as_str().trim_end_matches('/').to_string(),
            c.api_version.clone(),
        ),
        Source::Demo { api_version } => ("demo".to_string(), api_version.clone()),
    };
    let plan = SyncPlan {
        state_path: args
            .state
            .clone()
            .unwrap_or_else(|| SyncPlan::default_state_path(&args.out_dir)),
        out_dir: args.out_dir,
        filters: query.filters.clone(),
        format: args.format,
        formula_guard: !args.no_formula_guard,
        lag: parse_duration("lag", &args.lag)?,
        lookback: parse_duration("lookback", &args.lookback)?,
        new_series: args.new_series,
        tenant_url,
        api_version,
        concurrency: query.options.max_concurrency,
    };
    let Some((prepared, to)) = prepare(&plan, Utc::now())? else {
        return Ok(());
    };
    let outcome = super::runtime()?.block_on(async {
        let client = super::connect(&query).await?;
        run_window(&plan, prepared, to, &client).await
    })?;
    for line in outcome.anomalies.lines() {
        console::warn(line);
    }
    let late = match outcome.late_rows {
        0 => String::new(),
        n => format!(", {n} of them late arrivals from earlier windows"),
    };
    console::note(format!(
        "committed {} for [{}, {}): {} entries{late}",
        outcome.data_file, outcome.window.from, outcome.window.to, outcome.rows
    ));
    Ok(())
}
