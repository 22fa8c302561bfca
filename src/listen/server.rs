//! The delivery endpoint: admits connections before it works for them (`admit.rs`: deadlines
//! and slots), checks the subscription's token from the headers before it reads a body,
//! refuses what is not a delivery (kept in quarantine, never dropped silently), journals the
//! rest and answers 2xx once the delivery is on disk; commits the journal every `rotate` and
//! when it stops, after open requests had a bounded grace.
//!
//! The HTTP stack is hyper's HTTP/1 server driven connection by connection (not `axum::serve`):
//! each connection is a task of its own (a TLS handshake never holds the accept loop), hyper's
//! header-read timeout bounds headers, and the service sees the headers before the body, so an
//! unauthenticated request costs only its headers. Workfront delivers over HTTP/1.1.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

use crate::console;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::source::events::Delivery;

use super::admit::{Slot, Slots};
use super::commit::Target;
use super::journal::{self, JOURNAL, Writer};
use super::tls::Tls;

/// Workfront does not deliver messages over 1 MB (API notes §7); a bigger body is refused
/// without being read further.
pub const MAX_BODY: usize = 1 << 20;

/// The deadlines and bounds of admission. Workfront gives a delivery 5 s (API notes §7): every
/// default leaves a delivery that arrives at a normal pace well inside that.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections at once; when full, the one that has waited longest gives way.
    pub max_connections: usize,
    /// How long a TLS handshake may take.
    pub handshake: Duration,
    /// How long a request's headers may take to arrive.
    pub headers: Duration,
    /// How long a connection may wait without an authenticated request in progress (before
    /// its first request, between requests, or sending headers), then it is closed.
    pub idle: Duration,
    /// The slowest a body may arrive (bytes a second), after a first second of grace.
    pub min_body_rate: u64,
    /// How long open requests may take to finish after SIGTERM.
    pub grace: Duration,
    /// The bytes of refused bodies kept whole in the quarantine per UTC day; past it, a
    /// refused body is recorded by its size and SHA-256 only.
    pub quarantine_cap: u64,
}

impl Limits {
    /// How long a body of `length` bytes (the most, when not said) may take.
    fn body_deadline(&self, length: Option<u64>) -> Duration {
        let bytes = length.unwrap_or(MAX_BODY as u64).min(MAX_BODY as u64 + 1);
        Duration::from_secs(1)
            + Duration::from_secs_f64(bytes as f64 / self.min_body_rate.max(1) as f64)
    }
}

/// How `listen` runs.
pub struct Config {
    pub target: Target,
    /// The subscription's `authToken`, expected as `Authorization: Bearer <token>`.
    pub token: Secret,
    pub rotate: Duration,
    pub limits: Limits,
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
    limits: Limits,
    /// The UTC day and the bytes of bodies the quarantine kept whole on it.
    quarantined_today: std::sync::Mutex<(chrono::NaiveDate, u64)>,
    acknowledged: AtomicU64,
    quarantined: AtomicU64,
    refused: AtomicU64,
}

/// Serve on `listener` (with `tls`, HTTPS) until `shutdown` completes, then give open requests
/// the grace, and commit what was journaled. The target holds the out-dir's lock.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Summary> {
    let Config {
        target,
        token,
        rotate,
        limits,
    } = config;
    let journal_path = target.out_dir.join(JOURNAL);
    let writer = Writer::open(&journal_path)
        .map_err(|e| crate::evidence::files::open_error(&journal_path, "cannot open", e))?;
    target.follow(writer.durable());
    let shared = Arc::new(Shared {
        target: target.clone(),
        token_sha256: Sha256::digest(token.expose().as_bytes()).into(),
        writer,
        limits,
        quarantined_today: std::sync::Mutex::new((Utc::now().date_naive(), 0)),
        acknowledged: AtomicU64::new(0),
        quarantined: AtomicU64::new(0),
        refused: AtomicU64::new(0),
    });
    // The summary counts what the manifests say this run committed (a rotation's commit that
    // SIGTERM interrupts still finishes, and counts).
    let before = target.manifests()?;
    // What a crash left journaled and uncommitted is committed first.
    commit_now(&target).await?;
    let background = rotate_and_stamp(&target, rotate);
    accept_until(listener, tls, shared.clone(), shutdown).await;
    background.iter().for_each(tokio::task::JoinHandle::abort);
    // Every delivery answered 2xx is in the journal: commit it.
    commit_now(&target).await?;
    // Its timestamp within the grace; what is left is stamped by the next run.
    if tokio::time::timeout(shared.limits.grace, target.stamp())
        .await
        .is_err()
    {
        console::warn(
            "the last commit's timestamp did not come within the grace: the next run asks again",
        );
    }
    // A journal taken away under the run: what was acknowledged before may be gone with it,
    // and that is never "all is well".
    if let Some(what) = shared.writer.lost() {
        return Err(Error::Verify {
            dir: target.out_dir.display().to_string(),
            problems: vec![what.to_string()],
        });
    }
    let (files, records) = target.committed_since(before)?;
    Ok(Summary {
        acknowledged: shared.acknowledged.load(Ordering::SeqCst),
        quarantined: shared.quarantined.load(Ordering::SeqCst),
        refused: shared.refused.load(Ordering::SeqCst),
        files,
        records,
    })
}

/// Accept, each connection in a task of its own, until `shutdown`; then close what waits,
/// give busy connections the grace, and drop the rest (what they had not been answered is
/// not acknowledged: Workfront delivers it again).
async fn accept_until(
    listener: TcpListener,
    tls: Option<Tls>,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let limits = shared.limits;
    let slots = Slots::new(limits.max_connections);
    let sweeper = tokio::spawn({
        let slots = slots.clone();
        async move {
            let every = (limits.idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
            loop {
                tokio::time::sleep(every).await;
                slots.sweep(limits.idle);
            }
        }
    });
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, addr)) = accepted else {
                    // Out of file descriptors, most often: wait a moment rather than spin.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let Some(slot) = slots.admit() else {
                    continue;
                };
                let (shared, tls) = (shared.clone(), tls.clone());
                connections.spawn(connection(tcp, addr, tls, slot, shared));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    sweeper.abort();
    slots.close_all();
    let drained = tokio::time::timeout(limits.grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        console::warn(format!(
            "{} still open after the {:.0} s grace: closed unanswered (Workfront delivers again)",
            console::plural(connections.len() as u64, "request", "requests"),
            limits.grace.as_secs_f64()
        ));
        connections.shutdown().await;
    }
}

/// One connection: its handshake (TLS) within the deadline, then requests until it closes,
/// loses its slot, or the server stops (then it finishes the request in progress).
async fn connection(
    tcp: TcpStream,
    addr: SocketAddr,
    tls: Option<Tls>,
    slot: Slot,
    shared: Arc<Shared>,
) {
    let _ = tcp.set_nodelay(true);
    let slot = Arc::new(slot);
    match tls {
        None => http(tcp, slot, shared).await,
        Some(tls) => {
            let handshake = tls.handshake(tcp, addr, shared.limits.handshake);
            let stream = tokio::select! {
                stream = handshake => stream,
                () = slot.close.notified() => None,
            };
            if let Some(stream) = stream {
                http(stream, slot, shared).await;
            }
        }
    }
}

/// HTTP/1.1 on an admitted connection.
async fn http<S>(io: S, slot: Arc<Slot>, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.headers)
        // Headers beyond 16 KiB are refused (431): a delivery's are a few hundred bytes.
        .max_buf_size(16 * 1024)
        .keep_alive(true);
    let service = {
        let slot = slot.clone();
        hyper::service::service_fn(move |request| {
            let (shared, slot) = (shared.clone(), slot.clone());
            async move { Ok::<_, Infallible>(handle(&shared, &slot, request).await) }
        })
    };
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = slot.close.notified() => {
            // Waiting (never busy: a busy slot is never taken): close now. At shutdown, a
            // request in progress is finished first.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The rotation's commits, and timestamps on a task of their own woken after each commit (and
/// once now): a slow TSA holds up neither deliveries nor the next rotation.
fn rotate_and_stamp(target: &Target, rotate: Duration) -> [tokio::task::JoinHandle<()>; 2] {
    let stamp_due = Arc::new(tokio::sync::Notify::new());
    stamp_due.notify_one();
    let stamper = tokio::spawn({
        let (target, due) = (target.clone(), stamp_due.clone());
        async move {
            loop {
                due.notified().await;
                target.stamp().await;
            }
        }
    });
    let rotation = tokio::spawn({
        let target = target.clone();
        async move {
            loop {
                tokio::time::sleep(rotate).await;
                match commit_now(&target).await {
                    Ok(()) => stamp_due.notify_one(),
                    Err(e) => {
                        console::warn(format!("commit failed, retried at the next rotation: {e}"))
                    }
                }
            }
        }
    });
    [rotation, stamper]
}

/// Commit the journal on a blocking thread, counting what was written.
async fn commit_now(target: &Target) -> Result<()> {
    let committer = target.clone();
    let done = tokio::task::spawn_blocking(move || committer.commit(Utc::now()))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    if let Some(c) = done {
        console::verbose(format!(
            "committed {}: {} deliveries, {} records",
            c.data_file, c.deliveries, c.records
        ));
    }
    Ok(())
}

/// One request: the token from the headers before anything else is read; then the body,
/// within its deadline and at most 1 MB; then journaled (2xx once on disk) or quarantined.
async fn handle(shared: &Shared, slot: &Slot, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    if path == "/healthz" && method == Method::GET {
        return reply(StatusCode::OK, "ok\n");
    }
    if method != Method::POST {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "deliveries are POSTed\n");
    }
    if !shared.authorized(request.headers()) {
        shared.refused.fetch_add(1, Ordering::SeqCst);
        // The body is never read: the connection closes with the answer.
        return closing(reply(StatusCode::UNAUTHORIZED, "wrong or missing token\n"));
    }
    // From here the connection serves a delivery: it keeps its slot until it is answered.
    let Some(_busy) = slot.busy() else {
        return closing(reply(StatusCode::SERVICE_UNAVAILABLE, "try again\n"));
    };
    let arrived = Utc::now();
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let deadline = shared.limits.body_deadline(length);
    console::debug(match length {
        Some(n) => format!("a delivery of {n} bytes is being read"),
        None => "a delivery of unstated length is being read".to_string(),
    });
    let body = Limited::new(request.into_body(), MAX_BODY);
    let read = tokio::time::timeout(deadline, body.collect()).await;
    let body = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            let reason = "over 1 MB (not read further, not kept)".to_string();
            return shared
                .quarantine(Bytes::new(), reason, arrived, StatusCode::PAYLOAD_TOO_LARGE)
                .await;
        }
        Ok(Err(_)) => {
            return closing(reply(
                StatusCode::BAD_REQUEST,
                "the body did not arrive whole\n",
            ));
        }
        Err(_) => {
            return closing(reply(
                StatusCode::REQUEST_TIMEOUT,
                "the body came too slowly\n",
            ));
        }
    };
    if let Err(reason) = Delivery::parse(&body) {
        return shared
            .quarantine(body, reason, arrived, StatusCode::BAD_REQUEST)
            .await;
    }
    match shared.writer.append(&body, arrived).await {
        Ok(()) => {
            shared.acknowledged.fetch_add(1, Ordering::SeqCst);
            let mut ok = reply(StatusCode::OK, "{\"received\":true}");
            ok.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            ok
        }
        // Not durable, not acknowledged: Workfront delivers it again.
        Err(e) => {
            console::warn(format!("cannot journal a delivery: {e}"));
            reply(StatusCode::SERVICE_UNAVAILABLE, "not stored, try again\n")
        }
    }
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn shortened(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

fn reply(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

/// The answer, and the connection closed after it (what the client sent after the headers is
/// never read).
fn closing(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
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

    /// Whether a refused body of `size` bytes is kept whole: while today's kept bytes stay
    /// within the cap (counted by this process, from its start or the day's).
    fn within_cap(&self, size: u64, arrived: &chrono::DateTime<Utc>) -> bool {
        let mut today = self
            .quarantined_today
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if today.0 != arrived.date_naive() {
            *today = (arrived.date_naive(), 0);
        }
        let whole = today.1 + size <= self.limits.quarantine_cap;
        if whole {
            today.1 += size;
        }
        whole
    }

    /// Keep a body that is not a delivery in the quarantine (never dropped silently), and
    /// answer `status`; 503 when it cannot be kept.
    async fn quarantine(
        &self,
        body: Bytes,
        reason: String,
        arrived: chrono::DateTime<Utc>,
        status: StatusCode,
    ) -> Response<Full<Bytes>> {
        let dir = self.target.out_dir.clone();
        // A reason may quote the body (an unknown eventType): it is cut short, so the cap on
        // bodies is not bypassed through the reason, nor the answer made large.
        let reason = shortened(reason, 200);
        let whole = self.within_cap(body.len() as u64, &arrived);
        let kept = tokio::task::spawn_blocking(move || {
            journal::keep(&dir, &body, &reason, &arrived, whole).map(|()| reason)
        })
        .await;
        self.quarantined.fetch_add(1, Ordering::SeqCst);
        match kept {
            Ok(Ok(reason)) => {
                let mut r = Response::new(Full::new(Bytes::from(format!(
                    "not a delivery: {reason}\n"
                ))));
                *r.status_mut() = status;
                closing(r)
            }
            _ => closing(reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot keep the body\n",
            )),
        }
    }
}
