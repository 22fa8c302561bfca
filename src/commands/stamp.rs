//! The runners' timestamps (`--tsa-url`, profile key `tsa_urls`): which TSAs, and the
//! catch-up after a commit of `sync` and `snapshot` (every manifest still without a `.tsr`,
//! oldest first), under the out-dir's lock.

use std::path::Path;

use url::Url;

use crate::cli::ConnectionArgs;
use crate::console;
use crate::error::{Error, Result};
use crate::evidence::lock::DirLock;
use crate::evidence::manifest::load_chain;

/// The TSAs a run stamps with: `--tsa-url` (in the order given), else the profile's
/// `tsa_urls`. Each must be an http or https URL (the token is signed: no credential travels,
/// so plain HTTP is allowed, as most TSAs serve it).
pub fn urls(flags: &[String], connection: Option<&ConnectionArgs>) -> Result<Vec<Url>> {
    let raw = match connection {
        Some(c) if flags.is_empty() && !c.demo => {
            let env = |k: &str| std::env::var(k).ok();
            match (
                &c.profile,
                crate::profile::config_path(c.config.as_deref(), &env),
            ) {
                (Some(name), Some(path)) => crate::profile::load(&path, name)?.tsa_urls,
                _ => Vec::new(),
            }
        }
        _ => flags.to_vec(),
    };
    raw.iter().map(|u| parse(u)).collect()
}

/// A TSA URL; messages never quote one whole (it may carry a password for basic
/// authentication).
fn parse(raw: &str) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| {
        Error::usage(format!(
            "a --tsa-url (or tsa_urls entry) is not a URL ({e}): give an http:// or https:// \
             URL of an RFC 3161 time-stamping authority"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::usage(format!(
            "--tsa-url {}: give an http:// or https:// URL of an RFC 3161 time-stamping \
             authority",
            crate::tsa::shown(&url)
        )));
    }
    Ok(url)
}

/// Stamp what `dir`'s chain lacks, warning of what stays unstamped; a TSA's failure is never
/// the run's. Another run holding the out-dir leaves it to that run.
pub async fn catch_up(dir: &Path, urls: &[Url]) {
    if urls.is_empty() {
        return;
    }
    let mut lock = match DirLock::acquire(dir) {
        Ok(lock) => lock,
        Err(e) => return console::warn(format!("no timestamps this run: {e}")),
    };
    lock.keep();
    match load_chain(dir) {
        Ok(chain) => {
            let (stamped, warnings) = crate::tsa::stamp_missing(dir, &chain, urls).await;
            if let Some(note) = crate::tsa::stamped_note(stamped) {
                console::note(note);
            }
            for warning in warnings {
                console::warn(warning);
            }
        }
        Err(e) => console::warn(format!("no timestamps this run: {e}")),
    }
}
