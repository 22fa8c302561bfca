//! `sqlite:PATH`: the embedded database (rusqlite, bundled): instants as ISO 8601 text in UTC,
//! booleans as 0 and 1; a manifest's transaction is `BEGIN IMMEDIATE`, so a second load of
//! the same file waits for the first.

use std::path::{Path, PathBuf};

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension};

use super::columns::{self, Kind, Val};
use super::intervals::{self, Cell};
use super::{Database, Loaded, Tables};
use crate::error::{Error, Result};
use crate::model::change::{COLUMNS as RECORD_COLUMNS, ChangeRecord};

/// An open SQLite file.
pub struct Sqlite {
    conn: Connection,
    path: PathBuf,
    /// The insert statement of the table being loaded.
    insert: String,
    /// Rows inserted in the open transaction.
    inserted: u64,
}

impl Sqlite {
    /// Open (or create) the file.
    pub fn open(path: &Path) -> Result<Sqlite> {
        // A new database file is made private (0600), as the out-dir's files are: it holds
        // the tenant's history. An existing one keeps the mode its owner gave it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            let made = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
            if let Err(e) = made
                && e.kind() != std::io::ErrorKind::AlreadyExists
            {
                return Err(Error::Database {
                    target: format!("sqlite:{}", path.display()),
                    message: format!("cannot create the database file: {e}"),
                });
            }
        }
        let conn = Connection::open(path).map_err(|e| error(path, &e))?;
        // Another load of the same file holds its write lock for one manifest at a time.
        conn.busy_timeout(std::time::Duration::from_secs(60))
            .map_err(|e| error(path, &e))?;
        Ok(Sqlite {
            conn,
            path: path.to_path_buf(),
            insert: String::new(),
            inserted: 0,
        })
    }

    fn fail(&self, e: &rusqlite::Error) -> Error {
        error(&self.path, e)
    }
}

fn error(path: &Path, e: &rusqlite::Error) -> Error {
    Error::Database {
        target: format!("sqlite:{}", path.display()),
        message: e.to_string(),
    }
}

/// A count as SQLite's integer.
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A line of the bookkeeping table.
fn loaded_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Loaded> {
    let n = |i: usize| {
        r.get::<_, i64>(i)
            .map(|v| u64::try_from(v).unwrap_or_default())
    };
    Ok(Loaded {
        position: n(0)?,
        manifest: r.get(1)?,
        sha256: r.get(2)?,
        rows: n(3)?,
    })
}

fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text | Kind::Timestamp => "TEXT",
        Kind::Bool => "BOOLEAN",
    }
}

impl ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Val::Null => ValueRef::Null,
            Val::Text(t) | Val::Timestamp(t) => ValueRef::Text(t.as_bytes()),
            Val::Bool(b) => ValueRef::Integer(i64::from(*b)),
        }))
    }
}

impl Database for Sqlite {
    fn prepare(&mut self, tables: &Tables) -> Result<()> {
        let mut create =
            columns::create_statements(&tables.changes, &tables.manifests, sql_type, "TEXT", "");
        if let Some(table) = &tables.intervals {
            create.push_str(&intervals::create_statements(
                &tables.changes,
                table,
                sql_type,
            ));
        }
        self.conn
            .execute_batch(&format!("BEGIN IMMEDIATE; {create} COMMIT;"))
            .map_err(|e| self.fail(&e))?;
        let marks: Vec<String> = (1..=columns::WIDTH).map(|i| format!("?{i}")).collect();
        self.insert = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING",
            tables.changes,
            columns::names(),
            marks.join(", ")
        );
        Ok(())
    }

    fn loaded(&mut self, tables: &Tables) -> Result<Vec<Loaded>> {
        let sql = format!(
            "SELECT position, manifest, sha256, row_count FROM {} ORDER BY position",
            tables.manifests
        );
        let mut statement = self.conn.prepare(&sql).map_err(|e| error(&self.path, &e))?;
        statement
            .query_map([], loaded_of)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| error(&self.path, &e))
    }

    fn begin(&mut self, tables: &Tables, position: u64) -> Result<Option<Loaded>> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.fail(&e))?;
        self.inserted = 0;
        let sql = format!(
            "SELECT position, manifest, sha256, row_count FROM {} WHERE position = ?1",
            tables.manifests
        );
        self.conn
            .query_row(&sql, [int(position)], loaded_of)
            .optional()
            .map_err(|e| self.fail(&e))
    }

    fn row(&mut self, values: &[Val<'_>]) -> Result<()> {
        let mut statement = self
            .conn
            .prepare_cached(&self.insert)
            .map_err(|e| error(&self.path, &e))?;
        let n = statement
            .execute(rusqlite::params_from_iter(values))
            .map_err(|e| error(&self.path, &e))?;
        self.inserted += n as u64;
        Ok(())
    }

    fn commit(&mut self, tables: &Tables, loaded: &Loaded) -> Result<u64> {
        let sql = format!(
            "INSERT INTO {} (position, manifest, sha256, row_count, inserted, loaded_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            tables.manifests
        );
        self.conn
            .execute(
                &sql,
                rusqlite::params![
                    int(loaded.position),
                    loaded.manifest,
                    loaded.sha256,
                    int(loaded.rows),
                    int(self.inserted)
                ],
            )
            .map_err(|e| self.fail(&e))?;
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| self.fail(&e))?;
        Ok(self.inserted)
    }

    fn touched(
        &mut self,
        tables: &Tables,
        manifest: Option<&str>,
    ) -> Result<Vec<ChangeRecord<'static>>> {
        let mark = manifest.map(|_| "?1");
        let sql = intervals::touched_select(&tables.changes, mark, |c| c.to_string());
        let mut statement = self.conn.prepare(&sql).map_err(|e| error(&self.path, &e))?;
        let params: Vec<&str> = manifest.into_iter().collect();
        let mut rows = statement
            .query(rusqlite::params_from_iter(params))
            .map_err(|e| error(&self.path, &e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| error(&self.path, &e))? {
            let texts = RECORD_COLUMNS
                .iter()
                .enumerate()
                .map(|(i, name)| match r.get_ref(i)? {
                    ValueRef::Null => Ok(None),
                    ValueRef::Integer(n) if *name == "custom_field" => {
                        Ok(Some((n != 0).to_string()))
                    }
                    ValueRef::Integer(n) => Ok(Some(n.to_string())),
                    ValueRef::Real(x) => Ok(Some(x.to_string())),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Ok(Some(String::from_utf8_lossy(t).into_owned()))
                    }
                })
                .collect::<rusqlite::Result<Vec<Option<String>>>>()
                .map_err(|e| error(&self.path, &e))?;
            out.push(intervals::record_of(|column| {
                let i = RECORD_COLUMNS.iter().position(|c| *c == column)?;
                texts[i].clone()
            })?);
        }
        Ok(out)
    }

    fn replace_intervals(
        &mut self,
        tables: &Tables,
        manifest: Option<&str>,
        rows: &[[Cell; intervals::WIDTH]],
    ) -> Result<()> {
        let Some(table) = &tables.intervals else {
            return Ok(());
        };
        let delete = intervals::touched_delete(&tables.changes, table, manifest.map(|_| "?1"));
        let params: Vec<&str> = manifest.into_iter().collect();
        self.conn
            .execute(&delete, rusqlite::params_from_iter(params))
            .map_err(|e| self.fail(&e))?;
        let marks: Vec<String> = (1..=intervals::WIDTH).map(|i| format!("?{i}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            intervals::names(),
            marks.join(", ")
        );
        let mut statement = self
            .conn
            .prepare_cached(&insert)
            .map_err(|e| error(&self.path, &e))?;
        for row in rows {
            let values: Vec<Val<'_>> = row.iter().map(Cell::val).collect();
            statement
                .execute(rusqlite::params_from_iter(values))
                .map_err(|e| error(&self.path, &e))?;
        }
        Ok(())
    }

    fn table_columns(&mut self, name: &str) -> Result<Option<Vec<String>>> {
        let mut st = self
            .conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .map_err(|e| self.fail(&e))?;
        let names = st
            .query_map([name], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
            .map_err(|e| self.fail(&e))?;
        Ok((!names.is_empty()).then_some(names))
    }

    fn begin_rebuild(&mut self, tables: &Tables) -> Result<bool> {
        let Some(table) = &tables.intervals else {
            return Ok(false);
        };
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.fail(&e))?;
        self.conn
            .query_row(&intervals::behind(&tables.changes, table), [], |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
            .map_err(|e| self.fail(&e))
    }

    fn commit_rebuild(&mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(|e| self.fail(&e))
    }

    fn rollback(&mut self) -> Result<()> {
        if !self.conn.is_autocommit() {
            self.conn
                .execute_batch("ROLLBACK")
                .map_err(|e| self.fail(&e))?;
        }
        Ok(())
    }
}
