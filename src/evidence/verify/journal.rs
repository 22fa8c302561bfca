//! A `listen` manifest's range of the delivery journal against its SHA-256: the raw
//! deliveries behind a data file are as they arrived.

use std::path::Path;

use crate::evidence::JOURNAL_FILE;
use crate::evidence::manifest::{Committed, sha256_hex};

/// A `listen` manifest's range of the delivery journal against its SHA-256: the raw
/// deliveries behind the data file are as they arrived.
pub(super) fn check_journal(dir: &Path, c: &Committed, p: &mut Vec<String>) {
    use std::io::{Read, Seek, SeekFrom};
    let Some(d) = &c.manifest.deliveries else {
        return;
    };
    let mut bytes = Vec::new();
    let read = std::fs::File::open(dir.join(JOURNAL_FILE)).and_then(|mut f| {
        f.seek(SeekFrom::Start(d.journal_from))?;
        f.take(d.journal_to.saturating_sub(d.journal_from))
            .read_to_end(&mut bytes)
    });
    match read {
        Err(e) => p.push(format!(
            "{JOURNAL_FILE}: cannot read ({e}), which {} covers",
            c.name
        )),
        Ok(n) if n as u64 != d.journal_to.saturating_sub(d.journal_from) => p.push(format!(
            "{JOURNAL_FILE}: shorter than {} says (bytes {} to {})",
            c.name, d.journal_from, d.journal_to
        )),
        Ok(_) if sha256_hex(&bytes) != d.journal_sha256 => p.push(format!(
            "{JOURNAL_FILE}: bytes {} to {} do not match the SHA-256 in {}",
            d.journal_from, d.journal_to, c.name
        )),
        Ok(_) => {}
    }
}
