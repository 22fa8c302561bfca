//! The format of a `listen` out-dir's delivery journal (`deliveries.journal`): one record a
//! line, `{"arrived": <UTC ms>, "body": <the raw body, base64>, "sha256": <of the body>}`,
//! framed by its newline and checked by its digest (lines written before the digest have
//! none, and read as before); and reading it back from a byte offset, whole lines only, with
//! the lines that are not records handed back apart. Written by `listen/journal.rs`; read by
//! its commits and by `verify`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use base64::Engine;
use chrono::{DateTime, Utc};

use crate::evidence::files::open_no_follow;
use crate::model::date::format_utc_ms;

/// The journal line of a delivery's raw body.
pub fn line(body: &[u8], arrived: &DateTime<Utc>) -> Vec<u8> {
    let digest = crate::digest::sha256_hex(body);
    let body = base64::engine::general_purpose::STANDARD.encode(body);
    let mut line =
        serde_json::json!({"arrived": format_utc_ms(arrived), "body": body, "sha256": digest})
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

/// What a pass over the journal found: how many records and their first and last arrival,
/// the whole lines that did not read as one (their offset, bytes and why), the offset after
/// the last whole line, and the SHA-256 of the bytes read (damaged lines included: the range
/// is hashed as it is).
#[derive(Debug, Default)]
pub struct Scan {
    pub count: u64,
    pub first_arrival: Option<String>,
    pub last_arrival: Option<String>,
    pub damaged: Vec<Damaged>,
    pub to: u64,
    pub sha256: String,
}

/// [`read_from`]'s answer: the records themselves, and the scan.
pub struct Read {
    pub entries: Vec<Entry>,
    pub scan: Scan,
}

/// A whole journal line that is not a record (its bytes changed on disk, or were never one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    pub at: u64,
    pub bytes: Vec<u8>,
    pub reason: String,
}

/// The deliveries of the journal from byte `from` on (whole lines only), held in memory.
pub fn read_from(path: &Path, from: u64) -> io::Result<Read> {
    let mut entries = Vec::new();
    let scan = scan(path, from, &mut |_, entry| entries.push(entry))?;
    Ok(Read { entries, scan })
}

/// Each record of the journal from byte `from` on (whole lines only) handed to `each` with
/// its offset, one at a time; what was found.
pub fn scan(path: &Path, from: u64, each: &mut dyn FnMut(u64, Entry)) -> io::Result<Scan> {
    scan_to(path, from, None, each)
}

/// [`scan`], stopping at byte `limit` when given (a commit reads only what was fsynced).
pub fn scan_to(
    path: &Path,
    from: u64,
    limit: Option<u64>,
    each: &mut dyn FnMut(u64, Entry),
) -> io::Result<Scan> {
    use sha2::Digest;
    let mut found = Scan {
        to: from,
        sha256: crate::evidence::manifest::sha256_hex(b""),
        ..Scan::default()
    };
    let mut file = match open_no_follow(path, File::options().read(true)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    let mut hasher = sha2::Sha256::new();
    file.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    loop {
        if limit.is_some_and(|l| found.to >= l) {
            break;
        }
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        match record(&buf) {
            Ok(entry) => {
                found.count += 1;
                found
                    .first_arrival
                    .get_or_insert_with(|| entry.arrived.clone());
                found.last_arrival = Some(entry.arrived.clone());
                each(found.to, entry);
            }
            Err(reason) => found.damaged.push(Damaged {
                at: found.to,
                bytes: buf.clone(),
                reason,
            }),
        }
        hasher.update(&buf);
        found.to += n as u64;
    }
    found.sha256 = crate::evidence::manifest::hex(&hasher.finalize());
    Ok(found)
}

/// The record at byte `at` of an open journal.
pub fn record_at(file: &mut File, at: u64) -> io::Result<Entry> {
    file.seek(SeekFrom::Start(at))?;
    let mut line = Vec::new();
    BufReader::new(file).read_until(b'\n', &mut line)?;
    record(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("byte {at}: {e}")))
}

/// One journal line as a delivery, checked against its digest (lines of earlier versions
/// carry none).
pub fn record(line: &[u8]) -> Result<Entry, String> {
    let v: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not a record: {e}"))?;
    let body = v["body"]
        .as_str()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .ok_or("a record without a readable body")?;
    let arrived = v["arrived"]
        .as_str()
        .ok_or("a record without its arrival")?;
    if let Some(digest) = v.get("sha256")
        && digest.as_str() != Some(crate::digest::sha256_hex(&body).as_str())
    {
        return Err("its body does not match its SHA-256".into());
    }
    Ok(Entry {
        arrived: arrived.to_string(),
        body,
    })
}
