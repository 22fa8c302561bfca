//! `load`: a verified out-dir into a database table, exactly once (the work is in `crate::load`).

use crate::cli::LoadArgs;
use crate::console;
use crate::error::{Error, Result};
use crate::load::target::{DatabaseUrl, Target};
use crate::load::{Database, Outcome, Steps, Tables, postgres::Postgres, sqlite::Sqlite};
use crate::secret::Secret;

pub fn run(args: LoadArgs) -> Result<()> {
    let tables = Tables::new(&args.table)?;
    let pg_password = std::env::var("PGPASSWORD").ok().map(Secret::new);
    let into = DatabaseUrl::parse(&args.into, pg_password)?;
    if !args.dir.is_dir() {
        return Err(Error::usage(format!(
            "{} is not a directory: give the --out-dir of a sync, snapshot or listen",
            args.dir.display()
        )));
    }
    // Verified before the database is opened: nothing is created or loaded for a series
    // that is not intact.
    let chain = crate::load::verified_chain(&args.dir)?;
    crate::load::check_readable(&args.dir, &chain)?;
    let mut db: Box<dyn Database> = match &into.target {
        Target::Sqlite(path) => Box::new(Sqlite::open(path)?),
        Target::Postgres(pg) => Box::new(Postgres::connect(pg, &into.shown)?),
    };
    let started = std::time::Instant::now();
    let outcome = crate::load::load(
        &args.dir,
        &chain,
        db.as_mut(),
        &tables,
        &mut Steps::from_env(),
    )?;
    summary(&args, &into, &tables, &outcome, started.elapsed());
    Ok(())
}

/// The closing line (or JSON object) on stderr.
fn summary(
    args: &LoadArgs,
    into: &DatabaseUrl,
    tables: &Tables,
    outcome: &Outcome,
    elapsed: std::time::Duration,
) {
    if outcome.null_dates > 0 {
        console::warn(format!(
            "{} whose entry_date is not a date loaded with a null entry_date (the data files \
             keep the text)",
            console::plural(outcome.null_dates, "entry", "entries")
        ));
    }
    if args.summary.json() {
        console::summary_json(&serde_json::json!({
            "command": "load",
            "dir": args.dir.display().to_string(),
            "into": into.shown,
            "table": tables.changes,
            "manifests": outcome.manifests,
            "already_loaded": outcome.already_loaded,
            "loaded": outcome.loaded,
            "rows": outcome.rows,
            "inserted": outcome.inserted,
            "null_dates": outcome.null_dates,
            "elapsed_s": elapsed.as_secs_f64(),
        }));
        return;
    }
    let skipped = outcome.rows - outcome.inserted;
    let already = match skipped {
        0 => String::new(),
        n => format!(
            " ({} already in the table from an earlier series)",
            console::plural(n, "entry", "entries")
        ),
    };
    console::note(format!(
        "loaded {} ({}{already}) into {} table {} in {:.1} s; {} loaded before",
        console::plural(outcome.loaded as u64, "manifest", "manifests"),
        console::plural(outcome.rows, "entry", "entries"),
        into.shown,
        tables.changes,
        elapsed.as_secs_f64(),
        console::plural(
            outcome.already_loaded as u64,
            "manifest was",
            "manifests were"
        ),
    ));
}
