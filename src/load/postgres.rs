//! `postgres://…`: a PostgreSQL server through tokio-postgres (on a runtime of its own, one
//! thread): a manifest's rows sent with `COPY … FROM STDIN` (text format) into a temporary
//! table, then inserted into the table where their id is new, with the bookkeeping line, in
//! one transaction that holds a lock on the bookkeeping table (a second load waits).

use std::pin::Pin;

use bytes::Bytes;
use futures::SinkExt;
use tokio_postgres::{Client, CopyInSink, NoTls};

use super::columns::{self, Kind, Val};
use super::intervals::{self, Cell};
use super::target::{self, TlsMode};
use super::tls::MakeRustls;
use super::{Database, Loaded, Tables};
use crate::error::{Error, Result};
use crate::model::change::{COLUMNS as RECORD_COLUMNS, ChangeRecord};

/// The temporary table a manifest's rows are copied into first (emptied at each commit).
const STAGE: &str = "jrnle_load_stage";

/// How much COPY data is sent at a time.
const CHUNK: usize = 256 * 1024;

/// A connection to the server.
pub struct Postgres {
    rt: tokio::runtime::Runtime,
    client: Client,
    /// The connection string as shown (no password).
    shown: String,
    /// The COPY of the open transaction, and the rows not sent yet.
    copy: Option<Pin<Box<CopyInSink<Bytes>>>>,
    buffer: Vec<u8>,
    /// The rows of the open transaction inserted into the table, once they are.
    inserted: Option<u64>,
}

impl Postgres {
    /// Connect, with TLS as `sslmode` asks.
    pub fn connect(target: &target::Postgres, shown: &str) -> Result<Postgres> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the async runtime", e))?;
        let fail = |e: tokio_postgres::Error| database_error(shown, &e);
        let client = match target.tls {
            TlsMode::Disable => rt.block_on(async {
                let (client, connection) = target.config.connect(NoTls).await.map_err(fail)?;
                tokio::spawn(connection);
                Ok::<_, Error>(client)
            })?,
            mode => {
                let tls = MakeRustls::new(mode, target.root_cert.as_deref())?;
                rt.block_on(async {
                    let (client, connection) = target.config.connect(tls).await.map_err(fail)?;
                    tokio::spawn(connection);
                    Ok::<_, Error>(client)
                })?
            }
        };
        Ok(Postgres {
            rt,
            client,
            shown: shown.to_string(),
            copy: None,
            buffer: Vec::with_capacity(CHUNK + 4096),
            inserted: None,
        })
    }

    fn fail(&self, e: &tokio_postgres::Error) -> Error {
        database_error(&self.shown, e)
    }

    fn execute(&self, sql: &str) -> Result<()> {
        self.rt
            .block_on(self.client.batch_execute(sql))
            .map_err(|e| self.fail(&e))
    }

    /// Send what is buffered of the COPY.
    fn flush(&mut self) -> Result<()> {
        let Some(copy) = self.copy.as_mut() else {
            return Ok(());
        };
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        let sent = self.rt.block_on(copy.as_mut().send(chunk));
        self.buffer = Vec::with_capacity(CHUNK + 4096);
        sent.map_err(|e| database_error(&self.shown, &e))
    }
}

impl Postgres {
    /// Send the rest of the COPY and end it.
    fn finish_copy(&mut self) -> Result<()> {
        self.flush()?;
        if let Some(mut copy) = self.copy.take() {
            self.rt
                .block_on(copy.as_mut().finish())
                .map_err(|e| self.fail(&e))?;
        }
        Ok(())
    }

    /// The manifest's rows, copied into the stage, inserted into the table where their id is
    /// new (once per transaction): how many.
    fn settle(&mut self, tables: &Tables) -> Result<u64> {
        if let Some(n) = self.inserted {
            return Ok(n);
        }
        self.finish_copy()?;
        let names = columns::names();
        let insert = format!(
            "INSERT INTO {} ({names}) SELECT {names} FROM {STAGE} ON CONFLICT (id) DO NOTHING",
            tables.changes
        );
        let inserted = self
            .rt
            .block_on(self.client.execute(&insert, &[]))
            .map_err(|e| self.fail(&e))?;
        self.inserted = Some(inserted);
        Ok(inserted)
    }
}

fn database_error(shown: &str, e: &tokio_postgres::Error) -> Error {
    Error::Database {
        target: shown.to_string(),
        message: with_causes(e),
    }
}

/// An error and its causes, `: `-separated (tokio-postgres's `Display` says only the kind:
/// "db error", "error performing TLS handshake").
pub(super) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "TEXT",
        Kind::Timestamp => "TIMESTAMPTZ",
        Kind::Bool => "BOOLEAN",
    }
}

/// One value in COPY's text format: `\N` for null, backslash, tab and line ends escaped.
fn encode(out: &mut Vec<u8>, value: &Val<'_>) {
    match value {
        Val::Null => out.extend_from_slice(b"\\N"),
        Val::Bool(b) => out.push(if *b { b't' } else { b'f' }),
        Val::Timestamp(t) => out.extend_from_slice(t.as_bytes()),
        Val::Text(t) => {
            for &b in t.as_bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
    }
}

fn loaded_of(row: &tokio_postgres::Row) -> Loaded {
    let n = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or_default();
    Loaded {
        position: n(0),
        manifest: row.get(1),
        sha256: row.get(2),
        rows: n(3),
    }
}

impl Database for Postgres {
    fn prepare(&mut self, tables: &Tables) -> Result<()> {
        // Creating an index takes a lock that waits for a load's open transaction, which may
        // then wait for a table this one has: a deadlock. Every load's transaction takes the
        // bookkeeping table's lock first, so this one does too, right after creating it; an
        // advisory lock keeps two first runs from creating the same tables at once.
        let lock = format!(
            "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE;",
            tables.manifests
        );
        let mut create = format!(
            "SELECT pg_advisory_xact_lock(hashtext('jrnle-audit load {}'));\n{}",
            tables.manifests.replace('\'', "''"),
            columns::create_statements(
                &tables.changes,
                &tables.manifests,
                sql_type,
                "TIMESTAMPTZ",
                &lock,
            )
        );
        if let Some(table) = &tables.intervals {
            create.push_str(&intervals::create_statements(
                &tables.changes,
                table,
                sql_type,
            ));
        }
        self.execute(&format!(
            "BEGIN; {create} COMMIT; CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} \
             (LIKE {}) ON COMMIT DELETE ROWS;",
            tables.changes
        ))
    }

    fn loaded(&mut self, tables: &Tables) -> Result<Vec<Loaded>> {
        let sql = format!(
            "SELECT position, manifest, sha256, row_count FROM {} ORDER BY position",
            tables.manifests
        );
        let rows = self
            .rt
            .block_on(self.client.query(&sql, &[]))
            .map_err(|e| self.fail(&e))?;
        Ok(rows.iter().map(loaded_of).collect())
    }

    fn begin(&mut self, tables: &Tables, position: u64) -> Result<Option<Loaded>> {
        self.execute(&format!(
            "BEGIN; LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE;",
            tables.manifests
        ))?;
        self.inserted = None;
        let sql = format!(
            "SELECT position, manifest, sha256, row_count FROM {} WHERE position = $1",
            tables.manifests
        );
        let position = i64::try_from(position).unwrap_or(i64::MAX);
        let there = self
            .rt
            .block_on(self.client.query_opt(&sql, &[&position]))
            .map_err(|e| self.fail(&e))?;
        if let Some(row) = there {
            return Ok(Some(loaded_of(&row)));
        }
        let copy = format!("COPY {STAGE} ({}) FROM STDIN", columns::names());
        let sink = self
            .rt
            .block_on(self.client.copy_in::<_, Bytes>(&copy))
            .map_err(|e| self.fail(&e))?;
        self.copy = Some(Box::pin(sink));
        self.buffer.clear();
        Ok(None)
    }

    fn row(&mut self, values: &[Val<'_>]) -> Result<()> {
        refuse_nul(values)?;
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.buffer.push(b'\t');
            }
            encode(&mut self.buffer, value);
        }
        self.buffer.push(b'\n');
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn commit(&mut self, tables: &Tables, loaded: &Loaded) -> Result<u64> {
        let inserted = self.settle(tables)?;
        let line = format!(
            "INSERT INTO {} (position, manifest, sha256, row_count, inserted, loaded_at) \
             VALUES ($1, $2, $3, $4, $5, now())",
            tables.manifests
        );
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
            &n(loaded.position),
            &loaded.manifest,
            &loaded.sha256,
            &n(loaded.rows),
            &n(inserted),
        ];
        self.rt
            .block_on(self.client.execute(&line, &params))
            .map_err(|e| self.fail(&e))?;
        self.execute("COMMIT")?;
        self.inserted = None;
        Ok(inserted)
    }

    fn touched(
        &mut self,
        tables: &Tables,
        manifest: Option<&str>,
    ) -> Result<Vec<ChangeRecord<'static>>> {
        self.settle(tables)?;
        let mark = manifest.map(|_| "$1");
        let sql = intervals::touched_select(&tables.changes, mark, |c| match c {
            "entry_date" => {
                "to_char(entry_date AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
                    .to_string()
            }
            "custom_field" => "custom_field::text".to_string(),
            _ => c.to_string(),
        });
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = match &manifest {
            Some(m) => vec![m],
            None => vec![],
        };
        let rows = self
            .rt
            .block_on(self.client.query(&sql, &params))
            .map_err(|e| self.fail(&e))?;
        rows.iter()
            .map(|r| {
                intervals::record_of(|column| {
                    let i = RECORD_COLUMNS.iter().position(|c| *c == column)?;
                    r.get::<_, Option<String>>(i)
                })
            })
            .collect()
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
        let delete = intervals::touched_delete(&tables.changes, table, manifest.map(|_| "$1"));
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = match &manifest {
            Some(m) => vec![m],
            None => vec![],
        };
        self.rt
            .block_on(self.client.execute(&delete, &params))
            .map_err(|e| self.fail(&e))?;
        let copy = format!("COPY {table} ({}) FROM STDIN", intervals::names());
        let sink = self
            .rt
            .block_on(self.client.copy_in::<_, Bytes>(&copy))
            .map_err(|e| self.fail(&e))?;
        self.copy = Some(Box::pin(sink));
        self.buffer.clear();
        for row in rows {
            let values: Vec<Val<'_>> = row.iter().map(Cell::val).collect();
            self.row(&values)?;
        }
        self.finish_copy()
    }

    fn table_columns(&mut self, name: &str) -> Result<Option<Vec<String>>> {
        let sql = "SELECT to_regclass($1) IS NOT NULL, ARRAY(SELECT attname::text FROM \
                   pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT \
                   attisdropped ORDER BY attnum)";
        let row = self
            .rt
            .block_on(self.client.query_one(sql, &[&name]))
            .map_err(|e| self.fail(&e))?;
        Ok(row.get::<_, bool>(0).then(|| row.get(1)))
    }

    fn begin_rebuild(&mut self, tables: &Tables) -> Result<bool> {
        let Some(table) = &tables.intervals else {
            return Ok(false);
        };
        self.execute(&format!(
            "BEGIN; LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE;",
            tables.manifests
        ))?;
        self.inserted = Some(0);
        let found = self
            .rt
            .block_on(
                self.client
                    .query_opt(&intervals::behind(&tables.changes, table), &[]),
            )
            .map_err(|e| self.fail(&e))?;
        Ok(found.is_some())
    }

    fn commit_rebuild(&mut self) -> Result<()> {
        self.inserted = None;
        self.execute("COMMIT")
    }

    fn rollback(&mut self) -> Result<()> {
        self.inserted = None;
        // Dropping an unfinished COPY aborts it; the transaction is then rolled back.
        self.copy = None;
        self.buffer.clear();
        self.execute("ROLLBACK")
    }
}

/// PostgreSQL's text cannot hold a NUL character (U+0000), which a Workfront value can: the
/// server would refuse the manifest's COPY with an encoding error, again at every run. Said
/// here instead, naming the manifest, the entry and the column, before anything is sent.
fn refuse_nul(values: &[Val<'_>]) -> Result<()> {
    let Some(at) = values
        .iter()
        .position(|v| matches!(v, Val::Text(t) if t.contains('\0')))
    else {
        return Ok(());
    };
    let text = |v: Option<&Val<'_>>| match v {
        Some(Val::Text(t)) => t.to_string(),
        _ => String::new(),
    };
    let column = columns::columns()[at].name;
    Err(Error::usage(format!(
        "{}: entry {} holds a NUL character in {column}, which PostgreSQL text cannot store; \
         nothing of that manifest was loaded: load the series into SQLite (--into \
         sqlite:PATH), which keeps it",
        text(values.last()),
        text(values.first())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_would_end_a_value_or_a_row() {
        let mut out = Vec::new();
        for v in [
            Val::Text("a\tb\nc\\d\re"),
            Val::Null,
            Val::Bool(true),
            Val::Text("\\N"),
        ] {
            encode(&mut out, &v);
            out.push(b'|');
        }
        assert_eq!(out, b"a\\tb\\nc\\\\d\\re|\\N|t|\\\\N|");
    }
}
