//! Time-stamping: each manifest's SHA-256 sent to the RFC 3161 time-stamping authorities of
//! `--tsa-url` (in order, each a fallback for the one before), the first granted answer that
//! checks saved as `<manifest>.tsr` beside its request `<manifest>.tsq`. A TSA that fails
//! never stops a run: the manifest stays untimestamped, the caller warns, and the next run
//! stamps every manifest of the chain still missing one (oldest first) before its own.

use std::path::Path;
use std::time::Duration;

use sha2::Digest;
use url::Url;

use crate::evidence::files::{read_no_follow, write_atomic};
use crate::evidence::manifest::Committed;
use crate::evidence::timestamp::{self, tsq_name, tsr_name};

/// How long one request to a TSA may take, in milliseconds [default: 10 s]. Read by the
/// tests, which make a slow TSA without waiting the default out.
pub const TIMEOUT_ENV: &str = "JRNLE_TSA_TIMEOUT_MS";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn timeout() -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
}

/// Stamp every manifest of `chain` (in chain order, oldest first) that has no `.tsr` in
/// `dir`. Returns how many were stamped, and warnings: the manifests left without a
/// timestamp and why. After a manifest
/// no TSA would stamp, the rest wait for the next run (a TSA that is down would otherwise
/// cost every one of them a timeout).
pub async fn stamp_missing(dir: &Path, chain: &[Committed], urls: &[Url]) -> (usize, Vec<String>) {
    if urls.is_empty() {
        return (0, Vec::new());
    }
    let now = chrono::Utc::now();
    let missing: Vec<&Committed> = chain
        .iter()
        .filter(|c| std::fs::symlink_metadata(dir.join(tsr_name(&c.name))).is_err())
        .filter(|c| still_timely(c, now))
        .collect();
    if missing.is_empty() {
        return (0, Vec::new());
    }
    let client = match client() {
        Ok(client) => client,
        Err(e) => {
            return (
                0,
                vec![format!("no timestamps: cannot build the HTTP client: {e}")],
            );
        }
    };
    for (i, c) in missing.iter().enumerate() {
        if let Err(why) = stamp(&client, dir, c, urls).await {
            let left = &missing[i..];
            let names = match left {
                [one] => one.name.clone(),
                [first, .., last] => {
                    format!("{} manifests, {} to {}", left.len(), first.name, last.name)
                }
                [] => unreachable!("a manifest failed"),
            };
            return (
                i,
                vec![format!(
                    "no timestamp for {names}: {why}; the next run with --tsa-url tries again \
                     (for up to {} h after a manifest was written)",
                    CATCH_UP.num_hours()
                )],
            );
        }
    }
    (missing.len(), Vec::new())
}

/// How long after a manifest was written a catch-up still asks for its token: `verify`'s
/// default `--max-timestamp-delay`. A later token proves only that the manifest existed
/// then, and `verify` would call it late: the manifest is left untimestamped (listed as such)
/// rather than given a token that fails.
const CATCH_UP: chrono::Duration = chrono::Duration::hours(24);

fn still_timely(c: &Committed, now: chrono::DateTime<chrono::Utc>) -> bool {
    crate::model::date::parse_timestamp(&c.manifest.written_at)
        .is_some_and(|w| now.signed_duration_since(w) <= CATCH_UP)
}

/// What a catch-up did, in words: `None` when it stamped nothing.
pub fn stamped_note(stamped: usize) -> Option<String> {
    match stamped {
        0 => None,
        1 => Some("timestamped 1 manifest".to_string()),
        n => Some(format!(
            "timestamped {n} manifests (the newest, and {} that earlier runs could not)",
            n - 1
        )),
    }
}

fn client() -> reqwest::Result<reqwest::Client> {
    crate::crypto::install();
    let timeout = timeout();
    reqwest::Client::builder()
        .user_agent(concat!("jrnle-audit/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
}

/// Stamp one manifest: ask each TSA in turn; the first answer that checks is saved (the
/// request first, so a `.tsr` never lacks its `.tsq`).
async fn stamp(
    client: &reqwest::Client,
    dir: &Path,
    c: &Committed,
    urls: &[Url],
) -> Result<(), String> {
    let name = c.name.as_str();
    let written = crate::model::date::parse_timestamp(&c.manifest.written_at)
        .map(|t| t.with_timezone(&chrono::Utc));
    let bytes = read_no_follow(&dir.join(name)).map_err(|e| format!("cannot read it: {e}"))?;
    let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    let nonce = nonce()?;
    let query = timestamp::request(&digest, nonce);
    let mut failures = Vec::new();
    for url in urls {
        let answer = match ask(client, url, &query).await {
            Ok(answer) => answer,
            Err(e) => {
                failures.push(format!("{}: {e}", shown(url)));
                continue;
            }
        };
        if let Err(e) = check(&answer, &digest, nonce, written) {
            failures.push(format!("{}: {e}", shown(url)));
            continue;
        }
        write_atomic(&dir.join(tsq_name(name)), &query)
            .and_then(|()| write_atomic(&dir.join(tsr_name(name)), &answer))
            .map_err(|e| e.to_string())?;
        return Ok(());
    }
    Err(failures.join("; "))
}

/// A random 64-bit nonce (ring's system generator).
fn nonce() -> Result<u64, String> {
    let bytes: [u8; 8] = ring::rand::generate(&ring::rand::SystemRandom::new())
        .map_err(|_| "no random nonce: the system generator failed".to_string())?
        .expose();
    Ok(u64::from_be_bytes(bytes))
}

/// One request to one TSA (RFC 3161 §3.4): the answer's bytes, when it is a timestamp reply.
async fn ask(client: &reqwest::Client, url: &Url, query: &[u8]) -> Result<Vec<u8>, String> {
    let response = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/timestamp-query")
        .body(query.to_vec())
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let kind = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let media = kind.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/timestamp-reply") {
        return Err(format!(
            "answered {kind:?}, not application/timestamp-reply"
        ));
    }
    read_capped(response).await
}

/// The most of an answer read: a TimeStampResp with its certificate chain is a few KB, and a
/// TSA that sends more is not one (nor may it fill this process's memory).
const MAX_ANSWER: usize = 1024 * 1024;

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut answer = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if answer.len() + chunk.len() > MAX_ANSWER {
            return Err(format!(
                "answered more than {} KB: not a timestamp reply",
                MAX_ANSWER / 1024
            ));
        }
        answer.extend_from_slice(&chunk);
    }
    Ok(answer)
}

/// A TSA's URL as messages show it: without a user name or password it may carry (HTTP
/// basic authentication some TSAs ask for), which is a credential.
pub fn shown(url: &Url) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    url.to_string()
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", timeout().as_secs_f64())
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        e.to_string()
    }
}

/// What is saved must be a granted token over the hash sent, with the nonce sent, and dated
/// no earlier than the manifest was written: a token `verify` would reject (a TSA whose clock
/// is behind) would stop every later run, which checks what it builds on.
fn check(
    answer: &[u8],
    digest: &[u8; 32],
    nonce: u64,
    written: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), String> {
    let token = timestamp::read_response(answer)?;
    timestamp::check_imprint(&token, digest)?;
    if token.nonce.as_deref() != Some(timestamp::nonce_bytes(nonce).as_slice()) {
        return Err("the token does not carry the nonce sent (a replayed answer?)".to_string());
    }
    if let Some(written) = written
        && token.gen_time + crate::evidence::verify::CLOCK_SKEW < written
    {
        return Err(format!(
            "the token is dated {}, before the manifest was written (the TSA's clock is behind)",
            crate::model::date::format_utc_ms(&token.gen_time)
        ));
    }
    Ok(())
}
