//! `load`: a verified out-dir (`sync`, `snapshot` or `listen`) loaded into a database table
//! exactly once, behind the [`Database`] seam (`sqlite.rs`, `postgres.rs`): each manifest's rows
//! and its line in the bookkeeping table in one transaction, so a rerun skips what is loaded
//! and a kill leaves every manifest loaded once or not at all.

pub mod columns;
pub mod intervals;
pub mod postgres;
pub mod sqlite;
pub mod steps;
pub mod target;
mod tls;

use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::evidence::files::open_no_follow;
use crate::evidence::manifest::{Committed, load_chain};
use crate::evidence::verify::{Policy, verify_with};
use crate::model::change::ChangeRecord;
use crate::output::Format;

pub use columns::Val;
pub use steps::Steps;

/// The default `--table`.
pub const DEFAULT_TABLE: &str = "jrnle_changes";

/// The tables of a load: the changes, the bookkeeping of the manifests loaded into it
/// (`<table>_manifests`) and, with `--intervals`, the SCD2 table (`<table>_intervals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub changes: String,
    pub manifests: String,
    pub intervals: Option<String>,
}

/// Words PostgreSQL reserves (its "SQL Key Words" appendix, the reserved ones) and SQLite
/// cannot take as a table name unquoted: a `--table` name is written into statements
/// unquoted, so these are refused before anything is sent.
const RESERVED: &[&str] = &[
    "abort",
    "add",
    "all",
    "alter",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "autoincrement",
    "between",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "commit",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "delete",
    "desc",
    "distinct",
    "do",
    "drop",
    "else",
    "end",
    "escape",
    "except",
    "exists",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "index",
    "initially",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "nothing",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "set",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "transaction",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

impl Tables {
    /// `name` and `<name>_manifests`. A name is a plain SQL identifier (lower-case letters,
    /// digits and `_`, not starting with a digit, at most 50 characters): it is written into
    /// statements unquoted, so nothing else is accepted.
    pub fn new(name: &str) -> Result<Tables> {
        let plain = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let first = name.bytes().next();
        if !plain || name.len() > 50 || first.is_none_or(|b| b.is_ascii_digit()) {
            return Err(Error::usage(format!(
                "--table {name:?} is not a plain table name: use lower-case letters, digits and \
                 _ (not first), at most 50 characters, e.g. {DEFAULT_TABLE}"
            )));
        }
        if RESERVED.contains(&name) || name.starts_with("pg_") || name.starts_with("sqlite_") {
            return Err(Error::usage(format!(
                "--table {name}: a word SQL reserves, or a prefix the database keeps for its own \
                 tables (pg_, sqlite_): choose another name, e.g. {DEFAULT_TABLE}"
            )));
        }
        Ok(Tables {
            changes: name.to_string(),
            manifests: format!("{name}_manifests"),
            intervals: None,
        })
    }

    /// With the intervals table, `<name>_intervals`.
    pub fn with_intervals(mut self) -> Tables {
        self.intervals = Some(format!("{}_intervals", self.changes));
        self
    }
}

/// A manifest's line in the bookkeeping table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// Its place in the out-dir's chain, from 0.
    pub position: u64,
    /// The manifest's file name.
    pub manifest: String,
    /// The SHA-256 of the manifest's bytes when it was loaded.
    pub sha256: String,
    /// The rows of its data file.
    pub rows: u64,
}

/// A database the rows go into. One manifest at a time: [`Database::begin`] starts its
/// transaction (locked against another load of the same table), [`Database::row`] adds rows,
/// [`Database::commit`] records the manifest in the bookkeeping table and commits both.
pub trait Database {
    /// Create the two tables if missing.
    fn prepare(&mut self, tables: &Tables) -> Result<()>;
    /// The bookkeeping table's lines, by position.
    fn loaded(&mut self, tables: &Tables) -> Result<Vec<Loaded>>;
    /// Start the transaction of the manifest at `position`; the line already there for it
    /// (another load got there first), if any.
    fn begin(&mut self, tables: &Tables, position: u64) -> Result<Option<Loaded>>;
    /// One row, in [`columns::COLUMNS`] order.
    fn row(&mut self, values: &[Val<'_>]) -> Result<()>;
    /// The manifest's line, then commit: how many of its rows were new to the table (an id a
    /// earlier series already delivered is kept once).
    fn commit(&mut self, tables: &Tables, loaded: &Loaded) -> Result<u64>;
    /// Abandon the transaction begun.
    fn rollback(&mut self) -> Result<()>;
    /// With `--intervals`, in the open transaction once all the manifest's rows were given:
    /// every entry of the changes table of each object and field that the rows this manifest
    /// inserted (`loaded_from` = `manifest`) touched; every entry without a manifest.
    fn touched(
        &mut self,
        tables: &Tables,
        manifest: Option<&str>,
    ) -> Result<Vec<ChangeRecord<'static>>>;
    /// Replace the intervals of those objects and fields (all without a manifest) by `rows`.
    fn replace_intervals(
        &mut self,
        tables: &Tables,
        manifest: Option<&str>,
        rows: &[[intervals::Cell; intervals::WIDTH]],
    ) -> Result<()>;
    /// The columns of the table of that name, in order; `None` when there is none.
    fn table_columns(&mut self, name: &str) -> Result<Option<Vec<String>>>;
    /// Start a transaction (locked as [`Database::begin`]) that builds the intervals table
    /// from the whole changes table; whether it must (see [`intervals::behind`]).
    fn begin_rebuild(&mut self, tables: &Tables) -> Result<bool>;
    /// Commit that transaction.
    fn commit_rebuild(&mut self) -> Result<()>;
}

/// What a load did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// Manifests in the out-dir's chain.
    pub manifests: usize,
    /// Of those, loaded by earlier runs.
    pub already_loaded: usize,
    /// Loaded by this run.
    pub loaded: usize,
    /// Rows of the data files this run loaded.
    pub rows: u64,
    /// Of those, inserted (the others' ids were in the table already).
    pub inserted: u64,
    /// Rows whose `entry_date` is not a date: loaded with a null `entry_date`.
    pub null_dates: u64,
}

/// The out-dir's chain, verified with the checks every run makes before it appends (those of
/// `verify` with no flag); again when it changed while it was checked (a run committing).
pub fn verified_chain(dir: &Path) -> Result<Vec<Committed>> {
    if crate::evidence::never_an_out_dir(dir) {
        return Err(no_series(dir));
    }
    let mut tries = 0;
    loop {
        let chain = load_chain(dir);
        let report = verify_with(dir, None, &Policy::appending())?;
        let again = load_chain(dir);
        tries += 1;
        let settled = match (&chain, &again) {
            (Ok(a), Ok(b)) => same_chain(a, b),
            _ => false,
        };
        if !settled && tries < 5 {
            continue;
        }
        if !report.problems.is_empty() {
            for problem in &report.problems {
                crate::console::finding(format!("load: {problem}"));
            }
            return Err(not_intact(
                dir,
                format!(
                    "{} found: nothing was loaded",
                    crate::console::plural(report.problems.len() as u64, "problem", "problems")
                ),
            ));
        }
        let chain = chain?;
        if chain.is_empty() {
            // Nothing verify could miss (a series whose manifests were removed is among its
            // problems above, exit 5): a directory that never held a series, a bad DIR.
            return Err(no_series(dir));
        }
        return Ok(chain);
    }
}

/// A directory that holds no series: the wrong DIR (exit 2).
fn no_series(dir: &Path) -> Error {
    Error::usage(format!(
        "{} holds no manifest, so no series to load: give the --out-dir of a sync, snapshot or \
         listen (an export --partition-by directory is read with DuckDB or pyarrow, not loaded)",
        dir.display()
    ))
}

fn same_chain(a: &[Committed], b: &[Committed]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.sha256 == y.sha256)
}

fn not_intact(dir: &Path, problem: String) -> Error {
    Error::Verify {
        dir: dir.display().to_string(),
        problems: vec![problem],
    }
}

/// Refuse a series whose data files no format reads back (a workbook), before anything is
/// loaded.
pub fn check_readable(dir: &Path, chain: &[Committed]) -> Result<()> {
    for c in chain {
        let format = Format::named(&c.manifest.query.format);
        if format.and_then(|f| f.spec().read_records).is_none() {
            return Err(Error::usage(format!(
                "{}: {} holds {} data files, which load cannot read back; nothing was loaded \
                 (a series in CSV, JSON, NDJSON or Parquet loads)",
                dir.display(),
                c.name,
                c.manifest.query.format
            )));
        }
    }
    Ok(())
}

/// Where the load resumes: the number of manifests the bookkeeping holds, once it is checked
/// to be the start of this chain, each manifest with the hash it was loaded with. Loading
/// another out-dir into the table is a usage error (exit 2); a loaded manifest changed or gone
/// is altered evidence (exit 5).
pub fn resume_at(dir: &Path, chain: &[Committed], loaded: &[Loaded]) -> Result<usize> {
    if let (Some(first), Some(ours)) = (loaded.first(), chain.first())
        && first.position == 0
        && first.manifest != ours.name
    {
        return Err(Error::usage(format!(
            "the table holds another series (its first manifest is {}, this out-dir's is {}): \
             load {} into a --table of its own; nothing was loaded",
            first.manifest,
            ours.name,
            dir.display()
        )));
    }
    for (i, line) in loaded.iter().enumerate() {
        let problem = match chain.get(i) {
            _ if line.position != i as u64 => format!(
                "the bookkeeping table has no manifest at position {i} but one at {}",
                line.position
            ),
            None => format!(
                "{} was loaded, but the out-dir no longer holds it",
                line.manifest
            ),
            Some(c) if c.name != line.manifest => format!(
                "{} was loaded at position {i}, where the out-dir now has {}",
                line.manifest, c.name
            ),
            Some(c) if c.sha256 != line.sha256 => format!(
                "{} was loaded with SHA-256 {}, but is now {}",
                line.manifest, line.sha256, c.sha256
            ),
            Some(_) => continue,
        };
        return Err(altered(dir, problem));
    }
    Ok(loaded.len())
}

fn altered(dir: &Path, problem: String) -> Error {
    not_intact(
        dir,
        format!("altered after it was loaded: {problem}; nothing more was loaded"),
    )
}

/// Load every manifest of `chain` the bookkeeping does not hold, in chain order, each in a
/// transaction of its own.
pub fn load(
    dir: &Path,
    chain: &[Committed],
    db: &mut dyn Database,
    tables: &Tables,
    steps: &mut Steps,
) -> Result<Outcome> {
    check_readable(dir, chain)?;
    check_tables(db, tables)?;
    db.prepare(tables)?;
    let loaded = db.loaded(tables)?;
    let from = resume_at(dir, chain, &loaded)?;
    intervals_first(db, tables, steps)?;
    let mut outcome = Outcome {
        manifests: chain.len(),
        already_loaded: from,
        ..Outcome::default()
    };
    for (position, c) in chain.iter().enumerate().skip(from) {
        let result = load_one(dir, c, position as u64, db, tables, steps, &mut outcome);
        if let Err(e) = result {
            // Nothing of this manifest stays: its transaction is abandoned (a connection
            // that is gone has abandoned it already).
            let _ = db.rollback();
            return Err(e);
        }
    }
    Ok(outcome)
}

/// Tables of the names `load` would use that exist with other columns (another program's, or
/// the database's own, `--table pg_class`) are refused before anything is created: loading
/// would fail later, having created the others.
fn check_tables(db: &mut dyn Database, tables: &Tables) -> Result<()> {
    let names = |cs: &[columns::Column]| cs.iter().map(|c| c.name.to_string()).collect();
    let bookkeeping = [
        "position",
        "manifest",
        "sha256",
        "row_count",
        "inserted",
        "loaded_at",
    ];
    let mut expected: Vec<(&str, Vec<String>)> = vec![
        (&tables.changes, names(&columns::columns())),
        (&tables.manifests, bookkeeping.map(String::from).to_vec()),
    ];
    if let Some(table) = &tables.intervals {
        expected.push((table, names(&intervals::columns())));
    }
    for (table, want) in expected {
        if db.table_columns(table)?.is_some_and(|have| have != want) {
            return Err(Error::usage(format!(
                "--table {}: a table {table} exists with other columns (not one load made): \
                 choose another --table; nothing was created or loaded",
                tables.changes
            )));
        }
    }
    Ok(())
}

/// Before any manifest: with `--intervals`, the intervals table built from the whole changes
/// table in one transaction when it is behind (the changes were loaded without it until now);
/// without, a table that has an intervals table is refused (exit 2), as its intervals would
/// fall behind.
fn intervals_first(db: &mut dyn Database, tables: &Tables, steps: &mut Steps) -> Result<()> {
    if tables.intervals.is_none() {
        let name = format!("{}_intervals", tables.changes);
        if db.table_columns(&name)?.is_some() {
            return Err(Error::usage(format!(
                "{name} holds the intervals of {}: load it with --intervals, or they fall \
                 behind; nothing was loaded",
                tables.changes
            )));
        }
        return Ok(());
    }
    let result = (|| {
        if !db.begin_rebuild(tables)? {
            return db.rollback();
        }
        let records = db.touched(tables, None)?;
        let rows = intervals::recompute(records)?;
        db.replace_intervals(tables, None, &rows)?;
        crate::console::verbose(format!(
            "built {} from the {} already loaded",
            crate::console::plural(rows.len() as u64, "interval", "intervals"),
            tables.changes
        ));
        steps.step("intervals built")?;
        db.commit_rebuild()
    })();
    if result.is_err() {
        let _ = db.rollback();
    }
    result
}

/// Begin the manifest's transaction; whether another run loaded it in between (then the
/// transaction is over).
fn there_already(
    dir: &Path,
    c: &Committed,
    position: u64,
    db: &mut dyn Database,
    tables: &Tables,
) -> Result<bool> {
    let Some(there) = db.begin(tables, position)? else {
        return Ok(false);
    };
    db.rollback()?;
    if there.sha256 != c.sha256 || there.manifest != c.name {
        return Err(altered(
            dir,
            format!("{} was loaded by another run as {}", c.name, there.manifest),
        ));
    }
    Ok(true)
}

/// One manifest: its data file's rows, hashed as they are read and checked against the
/// manifest before the commit, so what is loaded is what was verified.
fn load_one(
    dir: &Path,
    c: &Committed,
    position: u64,
    db: &mut dyn Database,
    tables: &Tables,
    steps: &mut Steps,
    outcome: &mut Outcome,
) -> Result<()> {
    if there_already(dir, c, position, db, tables)? {
        outcome.already_loaded += 1;
        return Ok(());
    }
    steps.step("begun")?;
    let data = &c.manifest.data_file;
    let read = Format::named(&c.manifest.query.format)
        .and_then(|f| f.read_records(c.manifest.query.formula_guard))
        .ok_or_else(|| Error::Internal(format!("{}: format not readable", c.name)))?;
    let path = dir.join(&data.name);
    let file = open_no_follow(&path, std::fs::OpenOptions::new().read(true))
        .map_err(|e| crate::evidence::files::open_error(&path, "data file", e))?;
    let mut input = Hashing::new(file);
    let (mut rows, mut failed) = (0u64, None);
    let read_result = read(&mut input, &mut |record| {
        let result = columns::values(&record, &c.name).and_then(|(values, null_date)| {
            outcome.null_dates += u64::from(null_date);
            db.row(&values)?;
            steps.step("row")
        });
        rows += 1;
        result.map_err(|e| {
            let message = e.to_string();
            failed = Some(e);
            Error::Internal(message)
        })
    });
    if let Some(e) = failed {
        return Err(e);
    }
    read_result.map_err(|e| not_intact(dir, format!("{} does not read: {e}", data.name)))?;
    let (size, sha256) = input
        .finish()
        .map_err(|e| Error::io(path.display().to_string(), e))?;
    if size != data.size || sha256 != data.sha256 || rows != c.manifest.row_count {
        return Err(not_intact(
            dir,
            format!(
                "{} changed while it was loaded; nothing of it was loaded",
                data.name
            ),
        ));
    }
    if tables.intervals.is_some() {
        let records = db.touched(tables, Some(&c.name))?;
        let rows = intervals::recompute(records)?;
        db.replace_intervals(tables, Some(&c.name), &rows)?;
    }
    steps.step("commit")?;
    let line = Loaded {
        position,
        manifest: c.name.clone(),
        sha256: c.sha256.clone(),
        rows,
    };
    let inserted = db.commit(tables, &line)?;
    crate::console::verbose(format!(
        "loaded {} ({}, {} to the table)",
        c.name,
        crate::console::plural(rows, "row", "rows"),
        crate::console::plural(inserted, "new", "new")
    ));
    outcome.inserted += inserted;
    outcome.rows += rows;
    outcome.loaded += 1;
    steps.step("committed")
}

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Read what the reader left, then the size and SHA-256 of all of it.
    fn finish(mut self) -> io::Result<(u64, String)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((self.size, crate::digest::hex(&self.hasher.finalize())))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
