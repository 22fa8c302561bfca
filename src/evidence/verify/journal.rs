//! A `listen` manifest's range of the delivery journal against its SHA-256: the raw
//! deliveries behind a data file are as they arrived.

use std::path::Path;

use crate::evidence::JOURNAL_FILE;
use crate::evidence::files::{open_no_follow, unreadable};
use crate::evidence::manifest::{Committed, sha256_hex};

use super::finding::{Finding, Kind};

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
