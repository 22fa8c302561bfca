//! The snapshot state: the last known state of every object, in an SQLite database in the
//! out-dir (`snapshot-state.sqlite`; rusqlite with SQLite bundled), changed in one transaction
//! per run.
//!
//! The transaction is the commit point of a run: it holds the new states and, in the same
//! commit, the bytes of the run's manifest (whose data file is already in place). The manifest
//! file is written after it; a run killed between the two has its manifest written by the next
//! run from the database ("rolled forward"), and a run killed before it leaves the states as
//! they were (SQLite rolls an unfinished transaction back) and a data file without a manifest,
//! which the next run removes. So the states and the evidence always agree.
//!
//! Each manifest records the state's digest, which `verify` recomputes: the sum, modulo
//! 2^256, of the SHA-256 of every row (`ID`, `lastUpdateDate` and the stored fields' JSON). A
//! sum can be kept up to date row by row (subtract the old row, add the new one), so a run that
//! changes 10,000 of 1,000,000 objects does not read the others; and it does not depend on the
//! order of the rows. (Hand-written: 30 lines, and no crate offers this multiset hash.)

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::evidence::manifest::CommittedManifest;
use crate::source::snapshot::{ObjectStore, Stored};

/// The database's name in the out-dir.
pub const STATE_DB: &str = "snapshot-state.sqlite";

/// The digest and object count of a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub digest: [u8; 32],
    pub objects: u64,
}

impl Summary {
    pub fn digest_hex(&self) -> String {
        crate::evidence::manifest::hex(&self.digest)
    }

    fn add(&mut self, id: &str, last_update: &str, fields_json: &str) {
        self.digest = add256(self.digest, row_hash(id, last_update, fields_json));
        self.objects += 1;
    }

    fn remove(&mut self, id: &str, row: &Stored) {
        self.digest = sub256(self.digest, row_hash(id, &row.last_update, row.text()));
        self.objects = self.objects.saturating_sub(1);
    }
}

/// The open state database.
pub struct StateDb {
    conn: Connection,
    path: PathBuf,
    summary: Summary,
    in_transaction: bool,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb").field("path", &self.path).finish()
    }
}

/// A database error by its kind: a damaged or replaced state is evidence not intact (exit 5),
/// a database another process holds says so (exit 1), anything else is an I/O error (exit 1).
fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    let code = e.sqlite_error_code();
    match code {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Error::Verify {
            dir: path
                .parent()
                .map_or_else(String::new, |d| d.display().to_string()),
            problems: vec![format!(
                "{}: {e}: the snapshot state was damaged or replaced",
                path.display()
            )],
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::io(
            format!(
                "snapshot state {}: another process holds it (is a copy of it open?)",
                path.display()
            ),
            std::io::Error::other(e.to_string()),
        ),
        _ => Error::io(
            format!("snapshot state {}", path.display()),
            std::io::Error::other(e.to_string()),
        ),
    }
}

impl StateDb {
    /// Open (or create) the database of `out_dir`.
    pub fn open(out_dir: &Path) -> Result<StateDb> {
        let path = out_dir.join(STATE_DB);
        // Created private before SQLite opens it (SQLite would create it 0644 under the usual
        // umask); its journal files take the database's mode.
        use crate::evidence::files::{open_error, open_no_follow, private};
        open_no_follow(&path, private().create(true).append(true))
            .map_err(|e| open_error(&path, "cannot create", e))?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::default() | OpenFlags::SQLITE_OPEN_NOFOLLOW,
        )
        .map_err(|e| db_error(&path, e))?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA cache_size = -16384;
             CREATE TABLE IF NOT EXISTS objects (
                 id TEXT PRIMARY KEY, last_update TEXT NOT NULL, fields TEXT NOT NULL)
                 WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
             CREATE TEMP TABLE seen (id TEXT PRIMARY KEY);",
        )
        .map_err(|e| db_error(&path, e))?;
        StateDb::with(conn, path)
    }

    /// The database on `conn`, with the digest and count of its last commit.
    fn with(conn: Connection, path: PathBuf) -> Result<StateDb> {
        let mut db = StateDb {
            conn,
            path,
            summary: Summary::default(),
            in_transaction: false,
        };
        db.summary = db.stored_summary()?;
        Ok(db)
    }

    /// Open an existing database without changing it (for `verify`); `None` if there is none.
    pub fn open_read_only(out_dir: &Path) -> Result<Option<StateDb>> {
        let path = out_dir.join(STATE_DB);
        if !path.exists() {
            return Ok(None);
        }
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) {
            return Err(crate::evidence::files::open_error(
                &path,
                "cannot open",
                std::io::Error::from_raw_os_error(libc::ELOOP),
            ));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| db_error(&path, e))?;
        StateDb::with(conn, path).map(Some)
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| db_error(&self.path, e))
    }

    fn set_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map(|_| ())
            .map_err(|e| db_error(&self.path, e))
    }

    /// The digest and count as the last commit recorded them.
    fn stored_summary(&self) -> Result<Summary> {
        let mut summary = Summary::default();
        if let Some(d) = self.meta("digest")?
            && d.len() == 32
        {
            summary.digest.copy_from_slice(&d);
        }
        if let Some(n) = self.meta("objects")? {
            summary.objects = String::from_utf8_lossy(&n).parse().unwrap_or(0);
        }
        Ok(summary)
    }

    /// The state as this run has it so far (as the last commit recorded it, before a run).
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// The manifest of the last committed run, if any run committed.
    pub fn committed_manifest(&self) -> Result<Option<CommittedManifest>> {
        let (Some(name), Some(bytes)) = (self.meta("manifest_name")?, self.meta("manifest")?)
        else {
            return Ok(None);
        };
        Ok(Some(CommittedManifest {
            name: String::from_utf8_lossy(&name).into_owned(),
            bytes,
        }))
    }

    /// Start the run's transaction.
    pub fn begin(&mut self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| db_error(&self.path, e))?;
        self.in_transaction = true;
        Ok(())
    }

    /// Commit the run: the states changed so far, with the manifest that records them. This is
    /// the commit point (see the module doc).
    pub fn commit(&mut self, manifest: &CommittedManifest) -> Result<()> {
        self.set_meta("digest", &self.summary.digest)?;
        self.set_meta("objects", self.summary.objects.to_string().as_bytes())?;
        self.set_meta("manifest_name", manifest.name.as_bytes())?;
        self.set_meta("manifest", &manifest.bytes)?;
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| db_error(&self.path, e))?;
        self.in_transaction = false;
        Ok(())
    }

    /// Recompute the digest and count from every row (for `verify`).
    pub fn recompute(&self) -> Result<Summary> {
        let mut summary = Summary::default();
        let mut stmt = self
            .conn
            .prepare("SELECT id, last_update, fields FROM objects")
            .map_err(|e| db_error(&self.path, e))?;
        let mut rows = stmt.query([]).map_err(|e| db_error(&self.path, e))?;
        while let Some(row) = rows.next().map_err(|e| db_error(&self.path, e))? {
            let get = |i| row.get::<_, String>(i).unwrap_or_default();
            let (id, last_update, fields) = (get(0), get(1), get(2));
            summary.digest = add256(summary.digest, row_hash(&id, &last_update, &fields));
            summary.objects += 1;
        }
        Ok(summary)
    }
}

/// The diff reads and changes the state through this; within the run's transaction.
impl ObjectStore for StateDb {
    /// An object's stored state.
    fn get(&self, id: &str) -> Result<Option<Stored>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT last_update, fields FROM objects WHERE id = ?1")
            .map_err(|e| db_error(&self.path, e))?;
        let row: Option<(String, String)> = stmt
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(|e| db_error(&self.path, e))?;
        Ok(row.map(|(last_update, json)| Stored::from_text(last_update, json)))
    }

    /// Store an object's state, replacing `old` (what [`StateDb::get`] gave).
    fn put(&mut self, id: &str, new: &Stored, old: Option<&Stored>) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT OR REPLACE INTO objects (id, last_update, fields) VALUES (?1, ?2, ?3)",
            )
            .map_err(|e| db_error(&self.path, e))?;
        stmt.execute(params![id, new.last_update, new.text()])
            .map_err(|e| db_error(&self.path, e))?;
        if let Some(old) = old {
            self.summary.remove(id, old);
        }
        self.summary.add(id, &new.last_update, new.text());
        Ok(())
    }

    /// Forget a deleted object.
    fn remove(&mut self, id: &str, old: &Stored) -> Result<()> {
        self.conn
            .execute("DELETE FROM objects WHERE id = ?1", [id])
            .map_err(|e| db_error(&self.path, e))?;
        self.summary.remove(id, old);
        Ok(())
    }

    /// Note an id the deletion scan found (in a temporary table of this connection, so the
    /// scan of a million objects does not have to be held in memory).
    fn mark_seen(&mut self, id: &str) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO temp.seen (id) VALUES (?1)")
            .map_err(|e| db_error(&self.path, e))?;
        stmt.execute([id]).map_err(|e| db_error(&self.path, e))?;
        Ok(())
    }

    /// The stored ids the deletion scan did not find, in order.
    fn unseen(&mut self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id FROM objects WHERE id NOT IN (SELECT id FROM temp.seen) ORDER BY id",
            )
            .map_err(|e| db_error(&self.path, e))?;
        let ids = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
            .map_err(|e| db_error(&self.path, e))?;
        Ok(ids)
    }
}

impl Drop for StateDb {
    /// A run that did not commit leaves the states as they were.
    fn drop(&mut self) {
        if self.in_transaction {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

fn row_hash(id: &str, last_update: &str, fields_json: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [id, last_update, fields_json] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    h.finalize().into()
}

/// `a + b` modulo 2^256, big-endian.
fn add256(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

/// `a - b` modulo 2^256, big-endian.
fn sub256(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = a[i] as i16 - b[i] as i16 - borrow;
        out[i] = d.rem_euclid(256) as u8;
        borrow = i16::from(d < 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(last: &str, status: &str) -> Stored {
        Stored::new(
            last.into(),
            json!({"status": status}).as_object().unwrap().clone(),
        )
    }

    #[test]
    fn sums_wrap_and_subtracting_undoes_adding() {
        let a = [0xff; 32];
        let mut one = [0; 32];
        one[31] = 1;
        assert_eq!(add256(a, one), [0; 32]);
        assert_eq!(sub256([0; 32], one), a);
        let x = row_hash("a", "b", "c");
        let y = row_hash("d", "e", "f");
        assert_eq!(sub256(add256(x, y), y), x);
    }

    #[test]
    fn the_digest_kept_row_by_row_is_the_one_recomputed_and_survives_only_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = StateDb::open(dir.path()).unwrap();
        db.begin().unwrap();
        db.put("a", &stored("1", "NEW"), None).unwrap();
        db.put("b", &stored("1", "NEW"), None).unwrap();
        let old = db.get("a").unwrap().unwrap();
        db.put("a", &stored("2", "INP"), Some(&old)).unwrap();
        let b = db.get("b").unwrap().unwrap();
        db.remove("b", &b).unwrap();
        let manifest = CommittedManifest {
            name: "m1".into(),
            bytes: b"{}".to_vec(),
        };
        db.commit(&manifest).unwrap();
        assert_eq!(db.recompute().unwrap(), db.summary());
        assert_eq!(db.summary().objects, 1);
        // An uncommitted run leaves nothing behind.
        db.begin().unwrap();
        db.put("c", &stored("3", "CPL"), None).unwrap();
        drop(db);
        let db = StateDb::open_read_only(dir.path()).unwrap().unwrap();
        assert_eq!(db.get("c").unwrap(), None);
        assert_eq!(db.recompute().unwrap(), db.summary());
        assert_eq!(db.committed_manifest().unwrap(), Some(manifest));
        assert_eq!(db.get("a").unwrap(), Some(stored("2", "INP")));
    }
}
