//! The delivery journal of a `listen` out-dir: every accepted delivery's raw body, appended
//! and fsynced before Workfront gets its 2xx, so nothing acknowledged is ever lost. One writer
//! thread takes the deliveries that arrived meanwhile and makes them durable with one fsync
//! (group commit: under load many deliveries share it). Each line is one record,
//! `{"arrived": <UTC ms>, "body": <the raw body, base64>, "sha256": <of the body>}`, framed by
//! its newline and checked by its digest (lines of earlier versions have no digest and read as
//! before). A write that fails (a full disk) is cut back off at once, so the journal is as it
//! was and the deliveries of that write are answered 503, never acknowledged; a line a crash
//! left unfinished is cut off when the journal is next opened, its bytes kept in the
//! quarantine; a whole line that does not read (damaged) is handed back apart, for the commit
//! to quarantine, and never blocks the records after it.

use crate::evidence::files::{open_no_follow, private};
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use base64::Engine;
use chrono::{DateTime, Utc};

use crate::model::date::format_utc_ms;

/// The journal file in an out-dir.
pub use crate::evidence::JOURNAL_FILE as JOURNAL;
pub use crate::evidence::journal::{Damaged, Entry, Read, read_from, scan, scan_to};

/// One delivery waiting to be made durable, with whom to tell when it is.
type Pending = (Vec<u8>, tokio::sync::oneshot::Sender<io::Result<()>>);

/// The handle requests append through.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Pending>,
    /// The journal's length up to its last fsynced record: what a commit may read.
    durable: Arc<AtomicU64>,
    /// Set when the journal was removed, replaced or truncated under the writer.
    lost: Arc<std::sync::OnceLock<String>>,
}

impl Writer {
    /// Open (or create) the journal, cut off a line a crash left unfinished, and start the
    /// writer thread.
    pub fn open(path: &Path) -> io::Result<Writer> {
        // Never through a link planted in the out-dir (it would write outside it).
        let mut file = open_no_follow(path, private().create(true).read(true).append(true))?;
        let complete = complete_length(path)?;
        let length = file.metadata()?.len();
        if complete < length {
            // Never acknowledged (its write did not finish): kept in the quarantine, then cut.
            let mut torn = Vec::new();
            file.seek(SeekFrom::Start(complete))?;
            io::Read::read_to_end(&mut file, &mut torn)?;
            if let Some(dir) = path.parent() {
                let reason = format!(
                    "the unfinished end of {JOURNAL} (bytes {complete} to {length}), cut off: \
                     a write a crash or a full disk interrupted, never acknowledged"
                );
                quarantine(dir, &torn, &reason, &Utc::now())?;
                crate::console::warn(format!("{reason}; kept in the quarantine"));
            }
            file.set_len(complete)?;
            file.sync_all()?;
        }
        let end = file.seek(SeekFrom::End(0))?;
        let durable = Arc::new(AtomicU64::new(end));
        let (queue, waiting) = mpsc::channel::<Pending>();
        let lost = Arc::new(std::sync::OnceLock::new());
        let journal = Journal {
            file,
            path: path.to_path_buf(),
            durable: durable.clone(),
            lost: lost.clone(),
        };
        std::thread::spawn(move || write_loop(journal, waiting));
        Ok(Writer {
            queue,
            durable,
            lost,
        })
    }

    /// Why the journal can no longer be written, when it cannot.
    pub fn lost(&self) -> Option<&str> {
        self.lost.get().map(String::as_str)
    }

    /// The journal's length up to its last fsynced record, as it grows.
    pub fn durable(&self) -> Arc<AtomicU64> {
        self.durable.clone()
    }

    /// Append one delivery's raw body; resolves once it is on disk.
    pub async fn append(&self, body: &[u8], arrived: DateTime<Utc>) -> io::Result<()> {
        let line = crate::evidence::journal::line(body, &arrived);
        let (done, durable) = tokio::sync::oneshot::channel();
        self.queue
            .send((line, done))
            .map_err(|_| io::Error::other("the journal writer stopped"))?;
        durable
            .await
            .map_err(|_| io::Error::other("the journal writer stopped"))?
    }
}

/// The journal as the writer thread holds it.
struct Journal {
    file: File,
    path: PathBuf,
    /// Its length up to the last fsynced record.
    durable: Arc<AtomicU64>,
    /// Why it can no longer be written (it was removed, replaced or truncated under `listen`):
    /// every later delivery is refused, never acknowledged into a file that is not the journal.
    lost: Arc<std::sync::OnceLock<String>>,
}

impl Journal {
    /// Whether the path still names this file, at the length this writer left it.
    fn check(&mut self) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        if self.lost.get().is_none() {
            let open = self.file.metadata()?;
            let named = std::fs::symlink_metadata(&self.path);
            let same = named.is_ok_and(|n| n.dev() == open.dev() && n.ino() == open.ino());
            let length = self.durable.load(Ordering::SeqCst);
            if !same || open.len() != length {
                let what = format!(
                    "{JOURNAL} was removed, replaced or truncated while listen ran: deliveries \
                     are refused from now on (503); stop listen and run `jrnle-audit verify`"
                );
                crate::console::warn(&what);
                let _ = self.lost.set(what);
            }
        }
        match self.lost.get() {
            Some(what) => Err(io::Error::other(what.clone())),
            None => Ok(()),
        }
    }
}

/// Write what is waiting, fsync once, tell everyone it covered; until every handle is gone. A
/// batch that fails is cut back off, so the journal holds whole records only; a journal that
/// is no longer the one opened takes nothing more.
fn write_loop(mut journal: Journal, waiting: mpsc::Receiver<Pending>) {
    while let Ok(first) = waiting.recv() {
        let mut batch = vec![first];
        batch.extend(waiting.try_iter());
        let checked = journal.check();
        let file = &mut journal.file;
        let before = file.metadata().map(|m| m.len());
        let mut result = match (&before, &checked) {
            (Ok(_), Ok(())) => Ok(()),
            (Err(e), _) | (_, Err(e)) => Err(io::Error::new(e.kind(), e.to_string())),
        };
        for (line, _) in &batch {
            if result.is_ok() {
                result = file.write_all(line);
            }
        }
        let mut result = result.and_then(|()| file.sync_data());
        if result.is_err()
            && let Ok(before) = before
        {
            // Cutting back frees what the failed write took; if even that fails, what is left
            // is an unfinished end, cut off (and quarantined) on the next open.
            if file
                .set_len(before)
                .and_then(|()| file.sync_data())
                .is_err()
            {
                result = Err(io::Error::other("the journal could not be cut back"));
            }
        }
        if result.is_ok()
            && let Ok(length) = file.metadata().map(|m| m.len())
        {
            journal.durable.store(length, Ordering::SeqCst);
        }
        for (_, done) in batch {
            let _ = done.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            });
        }
    }
}

/// The length of the journal's whole lines, found from its end (the journal only grows: it is
/// not read whole at every start).
fn complete_length(path: &Path) -> io::Result<u64> {
    let mut file = open_no_follow(path, File::options().read(true))?;
    let mut end = file.metadata()?.len();
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        io::Read::read_exact(&mut file, part)?;
        if let Some(i) = part.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// A range of the journal as the bodies of one commit, read from the file as the commit
/// needs them (see `source::events::Bodies`): handles are byte offsets.
pub struct Range {
    file: File,
    from: u64,
    to: u64,
    count: usize,
}

impl Range {
    /// Bytes `from` to `to` of the journal at `path`, holding `count` records.
    pub fn open(path: &Path, from: u64, to: u64, count: u64) -> io::Result<Range> {
        Ok(Range {
            file: open_no_follow(path, File::options().read(true))?,
            from,
            to,
            count: count as usize,
        })
    }
}

impl crate::source::events::Bodies for Range {
    fn count(&self) -> usize {
        self.count
    }

    fn each(
        &mut self,
        f: &mut dyn FnMut(u64, &[u8]) -> crate::error::Result<()>,
    ) -> crate::error::Result<()> {
        use std::io::BufRead;
        let failed = |e| crate::error::Error::io(format!("cannot read {JOURNAL}"), e);
        self.file.seek(SeekFrom::Start(self.from)).map_err(failed)?;
        let mut reader = io::BufReader::new(&mut self.file);
        let (mut at, mut line) = (self.from, Vec::new());
        while at < self.to {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(failed)?;
            if n == 0 {
                break;
            }
            // Lines that are not records were quarantined before this commit.
            if let Ok(entry) = crate::evidence::journal::record(&line) {
                f(at, &entry.body)?;
            }
            at += n as u64;
        }
        Ok(())
    }

    fn body(&mut self, handle: u64) -> crate::error::Result<Vec<u8>> {
        crate::evidence::journal::record_at(&mut self.file, handle)
            .map(|e| e.body)
            .map_err(|e| crate::error::Error::io(format!("cannot read {JOURNAL}"), e))
    }
}

/// Bodies refused at the door (not JSON, not a delivery, too big), kept as they came with the
/// reason, one JSON line each, fsynced: never silently dropped.
pub fn quarantine(
    dir: &Path,
    body: &[u8],
    reason: &str,
    arrived: &DateTime<Utc>,
) -> io::Result<()> {
    keep(dir, body, reason, arrived, true)
}

/// [`quarantine`], keeping the body itself only when `whole` (past the daily cap, its size and
/// SHA-256 say what it was). Every line carries both.
pub fn keep(
    dir: &Path,
    body: &[u8],
    reason: &str,
    arrived: &DateTime<Utc>,
    whole: bool,
) -> io::Result<()> {
    let path: PathBuf = dir.join(crate::evidence::QUARANTINE_FILE);
    let mut file = open_no_follow(&path, private().create(true).append(true))?;
    let digest = crate::digest::sha256_hex(body);
    let kept = whole.then(|| base64::engine::general_purpose::STANDARD.encode(body));
    let mut line = serde_json::json!({"arrived": format_utc_ms(arrived), "reason": reason,
        "size": body.len(), "sha256": digest, "body": kept})
    .to_string()
    .into_bytes();
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_deliveries_read_back_whole_and_a_cut_line_is_dropped_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let now = Utc::now();
        let writer = Writer::open(&path).unwrap();
        rt.block_on(async {
            writer.append(b"{\"a\":1}", now).await.unwrap();
            writer.append(b"two\nlines", now).await.unwrap();
        });
        drop(writer);
        let read = read_from(&path, 0).unwrap();
        let (entries, end) = (read.entries, read.scan.to);
        assert_eq!(entries.len(), 2);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            read.scan.sha256,
            crate::evidence::manifest::sha256_hex(&bytes)
        );
        assert_eq!(entries[1].body, b"two\nlines");
        assert_eq!(end, std::fs::metadata(&path).unwrap().len());
        // A crash mid-line: the partial line is not read, and is cut off on open.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"arrived\":\"x\",\"bo")
            .unwrap();
        assert_eq!(read_from(&path, 0).unwrap().entries.len(), 2);
        let writer = Writer::open(&path).unwrap();
        rt.block_on(writer.append(b"three", now)).unwrap();
        let entries = read_from(&path, 0).unwrap().entries;
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].body, b"three");
        let rest = read_from(&path, end).unwrap().entries;
        assert_eq!(rest.len(), 1, "reading on from an offset");
    }
}
