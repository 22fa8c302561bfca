//! The delivery endpoint: checks the subscription's token, refuses what is not a delivery
//! (kept in quarantine, never dropped silently), journals the rest and answers 2xx once the
//! delivery is on disk; commits the journal every `rotate` and when it stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::console;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::source::events::Delivery;

use super::commit::Target;
use super::journal::{self, JOURNAL, Writer};

/// Workfront does not deliver messages over 1 MB (API notes §7); a bigger body is refused.
pub const MAX_BODY: usize = 1 << 20;

/// At most this many connections are served at once; more wait to be accepted, so a flood
/// of connections costs waiting, not memory or file descriptors.
pub const MAX_CONNECTIONS: usize = 256;

/// How `listen` runs.
pub struct Config {
    pub target: Target,
    /// The subscription's `authToken`, expected as `Authorization: Bearer <token>`.
    pub token: Secret,
    pub rotate: Duration,
}

/// What a `listen` run did, for its summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub acknowledged: u64,
    pub quarantined: u64,
    pub refused: u64,
    pub files: u64,
    pub records: u64,
}

struct Shared {
    target: Target,
    token_sha256: [u8; 32],
    writer: Writer,
    acknowledged: AtomicU64,
    quarantined: AtomicU64,
    refused: AtomicU64,
}

/// Serve on `listener` (plain TCP, or TLS: `tls.rs`) until `shutdown` completes, then
/// commit what was journaled. The caller holds the out-dir's lock (`sync::lock`).
pub async fn serve<L>(
    config: Config,
    listener: L,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Summary>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let Config {
        target,
        token,
        rotate,
    } = config;
    let journal_path = target.out_dir.join(JOURNAL);
    let writer = Writer::open(&journal_path)
        .map_err(|e| crate::evidence::files::open_error(&journal_path, "cannot open", e))?;
    let shared = Arc::new(Shared {
        target: target.clone(),
        token_sha256: Sha256::digest(token.expose().as_bytes()).into(),
        writer,
        acknowledged: AtomicU64::new(0),
        quarantined: AtomicU64::new(0),
        refused: AtomicU64::new(0),
    });
    let app = axum::Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(2 * MAX_BODY))
        .with_state(shared.clone());
    let committed = Arc::new(std::sync::Mutex::new((0u64, 0u64)));
    // What a crash left journaled and uncommitted is committed first.
    commit_now(&target, &committed).await?;
    let rotation = tokio::spawn({
        let (target, committed) = (target.clone(), committed.clone());
        async move {
            loop {
                tokio::time::sleep(rotate).await;
                if let Err(e) = commit_now(&target, &committed).await {
                    console::warn(format!("commit failed, retried at the next rotation: {e}"));
                }
            }
        }
    });
    let listener = Limited {
        inner: listener,
        permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::io("the delivery endpoint stopped", e))?;
    rotation.abort();
    // Every delivery answered 2xx is in the journal: commit it.
    commit_now(&target, &committed).await?;
    let (files, records) = *committed.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Summary {
        acknowledged: shared.acknowledged.load(Ordering::SeqCst),
        quarantined: shared.quarantined.load(Ordering::SeqCst),
        refused: shared.refused.load(Ordering::SeqCst),
        files,
        records,
    })
}

/// Commit the journal on a blocking thread, counting what was written.
async fn commit_now(target: &Target, committed: &std::sync::Mutex<(u64, u64)>) -> Result<()> {
    let target = target.clone();
    let done = tokio::task::spawn_blocking(move || target.commit(Utc::now()))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    if let Some(c) = done {
        console::verbose(format!(
            "committed {}: {} deliveries, {} records",
            c.data_file, c.deliveries, c.records
        ));
        let mut counts = committed.lock().unwrap_or_else(|e| e.into_inner());
        counts.0 += 1;
        counts.1 += c.records;
    }
    Ok(())
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uri.path() == "/healthz" && method == Method::GET {
        return (StatusCode::OK, "ok\n").into_response();
    }
    if method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "deliveries are POSTed\n").into_response();
    }
    if !shared.authorized(&headers) {
        shared.refused.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::UNAUTHORIZED, "wrong or missing token\n").into_response();
    }
    let arrived = Utc::now();
    let refusal = if body.len() > MAX_BODY {
        Some((StatusCode::PAYLOAD_TOO_LARGE, "over 1 MB".to_string()))
    } else {
        Delivery::parse(&body)
            .err()
            .map(|reason| (StatusCode::BAD_REQUEST, reason))
    };
    if let Some((status, reason)) = refusal {
        let dir = shared.target.out_dir.clone();
        let kept = tokio::task::spawn_blocking(move || {
            journal::quarantine(&dir, &body, &reason, &arrived).map(|()| reason)
        })
        .await;
        shared.quarantined.fetch_add(1, Ordering::SeqCst);
        return match kept {
            Ok(Ok(reason)) => (status, format!("not a delivery: {reason}\n")).into_response(),
            _ => (StatusCode::SERVICE_UNAVAILABLE, "cannot keep the body\n").into_response(),
        };
    }
    match shared.writer.append(&body, arrived).await {
        Ok(()) => {
            shared.acknowledged.fetch_add(1, Ordering::SeqCst);
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"received\":true}",
            )
                .into_response()
        }
        // Not durable, not acknowledged: Workfront delivers it again.
        Err(e) => {
            console::warn(format!("cannot journal a delivery: {e}"));
            (StatusCode::SERVICE_UNAVAILABLE, "not stored, try again\n").into_response()
        }
    }
}

impl Shared {
    /// `Authorization: Bearer <token>`, compared in constant time (their SHA-256 digests, every
    /// byte, so the time says nothing of how much matched).
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let differ = digest
            .iter()
            .zip(&self.token_sha256)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        !presented.is_empty() && differ == 0
    }
}

/// A listener that accepts a connection only while fewer than [`MAX_CONNECTIONS`] are open.
struct Limited<L> {
    inner: L,
    permits: Arc<tokio::sync::Semaphore>,
}

impl<L: axum::serve::Listener> axum::serve::Listener for Limited<L> {
    type Io = Permitted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed.
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return std::future::pending().await;
        };
        let (io, addr) = self.inner.accept().await;
        (
            Permitted {
                io,
                _permit: permit,
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection holding its place among the [`MAX_CONNECTIONS`] until it closes.
struct Permitted<T> {
    io: T,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Permitted<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Permitted<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
