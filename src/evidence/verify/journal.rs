//! A `listen` out-dir's delivery journal: each manifest's range against its SHA-256 (the raw
//! deliveries behind a data file are as they arrived), and the part after the newest range,
//! which the next `listen` commits: what is there is said (acknowledged deliveries not yet
//! committed, lines that are not records, an unfinished end), not counted as altered evidence,
//! since none of it is committed yet and `listen` commits, quarantines or cuts it.

use std::path::Path;

use crate::evidence::JOURNAL_FILE;
use crate::evidence::files::{open_no_follow, unreadable};
use crate::evidence::manifest::{Committed, sha256_hex};

use super::Report;
use super::finding::{Finding, Kind};

/// The journal after the newest committed range (see the module doc).
pub(super) fn check_uncommitted(dir: &Path, chain: &[Committed], report: &mut Report) {
    let from = match chain.last() {
        None => 0,
        Some(c) => match &c.manifest.deliveries {
            Some(d) => d.journal_to,
            None => return,
        },
    };
    let path = dir.join(JOURNAL_FILE);
    let Ok(length) = std::fs::symlink_metadata(&path).map(|m| m.len()) else {
        return;
    };
    let Ok(read) = crate::evidence::journal::scan(&path, from, &mut |_, _| {}) else {
        return;
    };
    let said =
        |detail: String| Finding::new(Some(JOURNAL_FILE.to_string()), Kind::Interrupted, detail);
    if read.count > 0 {
        report.interrupted.push(said(format!(
            "{} acknowledged and not yet committed (from byte {from}): the next listen \
             commits them",
            crate::console::plural(read.count, "delivery", "deliveries")
        )));
    }
    for d in &read.damaged {
        report.interrupted.push(said(format!(
            "the line at byte {} is not a record ({}): not committed; the next listen keeps it \
             in the quarantine",
            d.at, d.reason
        )));
    }
    if length > read.to {
        report.interrupted.push(said(format!(
            "bytes {} to {length} are an unfinished record (a write a crash or a full disk \
             cut short, never acknowledged): the next listen cuts them off into the quarantine",
            read.to
        )));
    }
}

/// A `listen` manifest's range of the delivery journal against its SHA-256: the raw
/// deliveries behind the data file are as they arrived.
pub(super) fn check_journal(dir: &Path, c: &Committed, p: &mut Vec<Finding>) {
    use std::io::{Read, Seek, SeekFrom};
    let Some(d) = &c.manifest.deliveries else {
        return;
    };
    let mut bytes = Vec::new();
    let path = dir.join(JOURNAL_FILE);
    let read = open_no_follow(&path, std::fs::OpenOptions::new().read(true)).and_then(|mut f| {
        f.seek(SeekFrom::Start(d.journal_from))?;
        f.take(d.journal_to.saturating_sub(d.journal_from))
            .read_to_end(&mut bytes)
    });
    match read {
        Err(e) => {
            let mut f = unreadable(JOURNAL_FILE, &e);
            f.detail = format!("{}, which {} covers", f.detail, c.name);
            p.push(f);
        }
        Ok(n) if n as u64 != d.journal_to.saturating_sub(d.journal_from) => p.push(Finding::new(
            Some(JOURNAL_FILE.to_string()),
            Kind::Unreadable,
            format!(
                "shorter than {} says (bytes {} to {})",
                c.name, d.journal_from, d.journal_to
            ),
        )),
        Ok(_) if sha256_hex(&bytes) != d.journal_sha256 => p.push(Finding::new(
            Some(JOURNAL_FILE.to_string()),
            Kind::Altered,
            format!(
                "bytes {} to {} do not match the SHA-256 in {}",
                d.journal_from, d.journal_to, c.name
            ),
        )),
        Ok(_) => {}
    }
}
