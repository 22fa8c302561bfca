//! `verify`'s timestamp checks: for each manifest of the chain, its `.tsr` (RFC 3161 token)
//! is over the manifest's own SHA-256, carries the nonce of its `.tsq`, was made no earlier
//! than the manifest says it was written and not later than the allowed delay after, and,
//! with TSA CA certificates, is signed by a time-stamping certificate that chains to them.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::Result;
use crate::evidence::MANIFEST_SUFFIX;
use crate::evidence::files::{read_dir, read_no_follow, unreadable};
use crate::evidence::manifest::{Committed, load_one};
use crate::evidence::timestamp::{
    Token, TsaRoots, check_imprint, read_request, read_response, tsq_name, tsr_name, verify_token,
};

use super::{CLOCK_SKEW, Finding, Kind, Report};

/// What `verify` asks of timestamps.
#[derive(Debug)]
pub struct TimestampPolicy {
    /// The TSA CA certificates (`--tsa-ca`); without them a token's signature is not checked
    /// (its imprint, nonce and time still are).
    pub roots: Option<TsaRoots>,
    /// How long after a manifest was written its token may be (`--max-timestamp-delay`);
    /// `None`: not judged (a run's own check before it appends).
    pub max_delay: Option<chrono::Duration>,
    /// A manifest without a token is a problem (`--require-timestamps`), not only listed.
    pub require: bool,
}

impl Default for TimestampPolicy {
    fn default() -> Self {
        TimestampPolicy {
            roots: None,
            max_delay: Some(chrono::Duration::hours(24)),
            require: false,
        }
    }
}

/// One TSA's tokens in the chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TsaTimes {
    /// The signer certificate's subject.
    pub tsa: String,
    pub tokens: usize,
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
}

/// What the timestamp checks saw, for the summary and the report.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TimestampSummary {
    /// Manifests whose token passed every check.
    pub timestamped: usize,
    /// Manifests without a `.tsr`, in chain order.
    pub untimestamped: Vec<String>,
    /// Whether the tokens' signatures and certificate chains were checked (`--tsa-ca`).
    pub signatures_checked: bool,
    /// Each TSA, in the order first seen.
    pub tsas: Vec<TsaTimes>,
    /// Each timestamped manifest's token time (the instant its signing key is judged at).
    #[serde(skip)]
    pub times: std::collections::BTreeMap<String, DateTime<Utc>>,
}

/// The manifests of `dir` that read, in chain order (those that do not are `verify`'s
/// findings already).
pub fn readable_chain(dir: &Path) -> Result<Vec<Committed>> {
    Ok(read_dir(dir)?
        .iter()
        .filter(|n| n.ends_with(MANIFEST_SUFFIX))
        .filter_map(|n| load_one(dir, n).ok())
        .collect())
}

/// Check every manifest's timestamp; findings go to `report.problems`, counts to
/// `report.timestamps`.
pub fn check_timestamps(
    dir: &Path,
    chain: &[Committed],
    policy: &TimestampPolicy,
    report: &mut Report,
) {
    let mut summary = TimestampSummary {
        signatures_checked: policy.roots.is_some(),
        ..TimestampSummary::default()
    };
    for c in chain {
        let tsr = tsr_name(&c.name);
        let bytes = match read_no_follow(&dir.join(&tsr)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                summary.untimestamped.push(c.name.clone());
                if policy.require {
                    report.problems.push(Finding::new(
                        Some(c.name.clone()),
                        Kind::Untimestamped,
                        format!("has no timestamp ({tsr} is missing)"),
                    ));
                }
                continue;
            }
            Err(e) => {
                report.problems.push(unreadable(&tsr, &e));
                continue;
            }
        };
        match check_one(dir, c, &bytes, policy) {
            Ok(token) => {
                summary.timestamped += 1;
                summary.times.insert(c.name.clone(), token.gen_time);
                count(&mut summary.tsas, &token);
            }
            Err(detail) => report
                .problems
                .push(Finding::new(Some(tsr), Kind::Timestamp, detail)),
        }
    }
    report.timestamps = Some(summary);
}

fn count(tsas: &mut Vec<TsaTimes>, token: &Token) {
    let at = token.gen_time;
    match tsas.iter_mut().find(|t| t.tsa == token.tsa) {
        Some(t) => {
            t.tokens += 1;
            t.earliest = t.earliest.min(at);
            t.latest = t.latest.max(at);
        }
        None => tsas.push(TsaTimes {
            tsa: token.tsa.clone(),
            tokens: 1,
            earliest: at,
            latest: at,
        }),
    }
}

/// The SHA-256 a manifest was committed with, as bytes.
fn digest_of(c: &Committed) -> Option<[u8; 32]> {
    let hex = c.sha256.as_bytes();
    let mut out = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

/// One manifest's token: its detail when it fails.
fn check_one(
    dir: &Path,
    c: &Committed,
    tsr: &[u8],
    policy: &TimestampPolicy,
) -> std::result::Result<Token, String> {
    let digest = digest_of(c).ok_or("the manifest's hash is not SHA-256 hex")?;
    let token = match &policy.roots {
        Some(roots) => verify_token(tsr, &digest, roots),
        None => read_response(tsr).and_then(|t| check_imprint(&t, &digest).map(|()| t)),
    }
    .map_err(|e| format!("the timestamp of {} does not check: {e}", c.name))?;
    check_query(dir, c, &digest, &token)?;
    check_time(c, &token, policy.max_delay)?;
    Ok(token)
}

/// The request beside it, when there is one: the token carries its nonce, and it asked for
/// this manifest's hash.
fn check_query(
    dir: &Path,
    c: &Committed,
    digest: &[u8; 32],
    token: &Token,
) -> std::result::Result<(), String> {
    let tsq = tsq_name(&c.name);
    let bytes = match read_no_follow(&dir.join(&tsq)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{tsq} does not read: {e}")),
    };
    let (nonce, imprint) = read_request(&bytes).map_err(|e| format!("{tsq}: {e}"))?;
    if imprint != digest {
        return Err(format!("{tsq} asked for another hash than {}'s", c.name));
    }
    if nonce != token.nonce {
        return Err(format!(
            "the token does not carry the nonce of {tsq} (an answer to another request)"
        ));
    }
    Ok(())
}

/// A token cannot predate what it stamps (beyond the clocks' skew), and must come within
/// `max_delay` of it: a late token proves only that the manifest existed then.
fn check_time(
    c: &Committed,
    token: &Token,
    max_delay: Option<chrono::Duration>,
) -> std::result::Result<(), String> {
    let Some(written) = crate::model::date::parse_timestamp(&c.manifest.written_at) else {
        // An unreadable written_at is a finding of its own (`check_dates`).
        return Ok(());
    };
    let written = written.with_timezone(&Utc);
    let at = crate::model::date::format_utc_ms(&token.gen_time);
    if token.gen_time + CLOCK_SKEW < written {
        return Err(format!(
            "timestamped at {at}, before {} says it was written ({}): the token is for an \
             earlier manifest with the same hash, or written_at was edited",
            c.name, c.manifest.written_at
        ));
    }
    let Some(max_delay) = max_delay else {
        return Ok(());
    };
    if written
        .checked_add_signed(max_delay)
        .is_some_and(|latest| token.gen_time > latest)
    {
        return Err(format!(
            "timestamped at {at}, more than {} after {} was written ({}): it proves only that \
             the manifest existed then",
            humanize(max_delay),
            c.name,
            c.manifest.written_at
        ));
    }
    Ok(())
}

fn humanize(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    match s {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
