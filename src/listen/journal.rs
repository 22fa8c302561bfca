//! The delivery journal of a `listen` out-dir: every accepted delivery's raw body, appended
//! and fsynced before Workfront gets its 2xx, so nothing acknowledged is ever lost. One writer
//! thread takes the deliveries that arrived meanwhile and makes them durable with one fsync
//! (group commit: under load many deliveries share it). Each line is
//! `{"arrived": <UTC ms>, "body": <the raw body, base64>}`; a line cut short by a crash was
//! never acknowledged and is cut off when the journal is next opened.

use crate::evidence::files::{open_no_follow, private};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use base64::Engine;
use chrono::{DateTime, Utc};

use crate::model::date::format_utc_ms;

/// The journal file in an out-dir.
pub use crate::evidence::JOURNAL_FILE as JOURNAL;

/// One delivery waiting to be made durable, with whom to tell when it is.
type Pending = (Vec<u8>, tokio::sync::oneshot::Sender<io::Result<()>>);

/// The handle requests append through.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Pending>,
}

impl Writer {
    /// Open (or create) the journal, cut off a line a crash left unfinished, and start the
    /// writer thread.
    pub fn open(path: &Path) -> io::Result<Writer> {
        // Never through a link planted in the out-dir (it would write outside it).
        let mut file = open_no_follow(path, private().create(true).read(true).append(true))?;
        let complete = complete_length(path)?;
        if complete < file.metadata()?.len() {
            file.set_len(complete)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::End(0))?;
        let (queue, waiting) = mpsc::channel::<Pending>();
        std::thread::spawn(move || write_loop(file, waiting));
        Ok(Writer { queue })
    }

    /// Append one delivery's raw body; resolves once it is on disk.
    pub async fn append(&self, body: &[u8], arrived: DateTime<Utc>) -> io::Result<()> {
        let line = line(body, &arrived);
        let (done, durable) = tokio::sync::oneshot::channel();
        self.queue
            .send((line, done))
            .map_err(|_| io::Error::other("the journal writer stopped"))?;
        durable
            .await
            .map_err(|_| io::Error::other("the journal writer stopped"))?
    }
}

/// Write what is waiting, fsync once, tell everyone it covered; until every handle is gone.
fn write_loop(mut file: File, waiting: mpsc::Receiver<Pending>) {
    while let Ok(first) = waiting.recv() {
        let mut batch = vec![first];
        batch.extend(waiting.try_iter());
        let mut result = Ok(());
        for (line, _) in &batch {
            if result.is_ok() {
                result = file.write_all(line);
            }
        }
        let result = result.and_then(|()| file.sync_data());
        for (_, done) in batch {
            let _ = done.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            });
        }
    }
}

fn line(body: &[u8], arrived: &DateTime<Utc>) -> Vec<u8> {
    let body = base64::engine::general_purpose::STANDARD.encode(body);
    let mut line = serde_json::json!({"arrived": format_utc_ms(arrived), "body": body})
        .to_string()
        .into_bytes();
    line.push(b'\n');
    line
}

/// One delivery read back from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub arrived: String,
    pub body: Vec<u8>,
}

/// What [`read_from`] read: the deliveries, the offset after the last one, and the SHA-256
/// of the bytes they were read from.
pub struct Read {
    pub entries: Vec<Entry>,
    pub to: u64,
    pub sha256: String,
}

/// The deliveries of the journal from byte `from` on (whole lines only).
pub fn read_from(path: &Path, from: u64) -> io::Result<Read> {
    use sha2::Digest;
    let mut file = match open_no_follow(path, File::options().read(true)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Read {
                entries: Vec::new(),
                to: from,
                sha256: crate::evidence::manifest::sha256_hex(b""),
            });
        }
        Err(e) => return Err(e),
    };
    let mut hasher = sha2::Sha256::new();
    file.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::new(file);
    let (mut entries, mut at) = (Vec::new(), from);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        let bad = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} at byte {at}: {what}", path.display()),
            )
        };
        let v: serde_json::Value = serde_json::from_slice(&buf).map_err(|e| bad(&e.to_string()))?;
        let body = v["body"]
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .ok_or_else(|| bad("no body"))?;
        entries.push(Entry {
            arrived: v["arrived"].as_str().unwrap_or_default().to_string(),
            body,
        });
        hasher.update(&buf);
        at += n as u64;
    }
    Ok(Read {
        entries,
        to: at,
        sha256: crate::evidence::manifest::hex(&hasher.finalize()),
    })
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

/// Bodies refused at the door (not JSON, not a delivery, too big), kept as they came with the
/// reason, one JSON line each, fsynced: never silently dropped.
pub fn quarantine(
    dir: &Path,
    body: &[u8],
    reason: &str,
    arrived: &DateTime<Utc>,
) -> io::Result<()> {
    let path: PathBuf = dir.join(crate::evidence::QUARANTINE_FILE);
    let mut file = open_no_follow(&path, private().create(true).append(true))?;
    let body = base64::engine::general_purpose::STANDARD.encode(body);
    let mut line =
        serde_json::json!({"arrived": format_utc_ms(arrived), "reason": reason, "body": body})
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
        let (entries, end) = (read.entries, read.to);
        assert_eq!(entries.len(), 2);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(read.sha256, crate::evidence::manifest::sha256_hex(&bytes));
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
