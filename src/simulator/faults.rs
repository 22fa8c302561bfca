//! Fault injection: the ways a real Workfront (and the proxies in front of it) misbehave,
//! injected at random with a seeded generator, for tests and for users testing pipelines.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Shared;

/// One kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 429 "Too many concurrent API requests for the given customer."
    TooMany,
    /// 500 with Workfront's JSON error envelope.
    ServerError,
    /// 502 with a proxy's HTML page.
    BadGateway,
    /// 503 with a proxy's HTML page and `Retry-After: 1`.
    Unavailable,
    /// 504 with a proxy's HTML page.
    GatewayTimeout,
    /// The connection is reset as it is accepted, before any answer.
    Reset,
    /// No answer until the stall time has passed (the client times out first).
    Timeout,
    /// The connection breaks in the middle of the body.
    Truncated,
    /// HTTP 200 whose JSON body ends early.
    InvalidJson,
    /// HTTP 200 with an HTML page (a proxy's login or error page).
    Html,
    /// HTTP 200 with an `"error"` body (API notes §6).
    ErrorBody,
}

impl FaultKind {
    /// The name `simulate --faults` gives it.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::TooMany => "429",
            FaultKind::ServerError => "500",
            FaultKind::BadGateway => "502",
            FaultKind::Unavailable => "503",
            FaultKind::GatewayTimeout => "504",
            FaultKind::Reset => "reset",
            FaultKind::Timeout => "timeout",
            FaultKind::Truncated => "truncated",
            FaultKind::InvalidJson => "invalid-json",
            FaultKind::Html => "html",
            FaultKind::ErrorBody => "error-200",
        }
    }

    /// The fault of a name.
    pub fn named(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub const ALL: [FaultKind; 11] = [
        FaultKind::TooMany,
        FaultKind::ServerError,
        FaultKind::BadGateway,
        FaultKind::Unavailable,
        FaultKind::GatewayTimeout,
        FaultKind::Reset,
        FaultKind::Timeout,
        FaultKind::Truncated,
        FaultKind::InvalidJson,
        FaultKind::Html,
        FaultKind::ErrorBody,
    ];
}

/// Which faults, how often.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Probability in `[0, 1]` that a request (or, for `Reset`, a connection) misbehaves.
    pub rate: f64,
    /// The kinds to choose from; empty means all.
    pub kinds: Vec<FaultKind>,
    /// More requests in flight than this answer 429, as Workfront throttles concurrency.
    pub max_concurrent: Option<usize>,
    /// How long a `Timeout` fault holds the answer back.
    pub stall: Duration,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            rate: 0.0,
            kinds: Vec::new(),
            max_concurrent: None,
            // Just over the client's default 60 s timeout.
            stall: Duration::from_secs(65),
        }
    }
}

impl FaultConfig {
    pub fn active(&self) -> bool {
        self.rate > 0.0
    }

    fn enabled(&self) -> &[FaultKind] {
        if self.kinds.is_empty() {
            &FaultKind::ALL
        } else {
            &self.kinds
        }
    }

    /// Whether `Reset` is among the kinds in play.
    pub fn resets(&self) -> bool {
        self.active() && self.enabled().contains(&FaultKind::Reset)
    }
}

impl Shared {
    /// Draw the fault for one request, if any. `Reset` is drawn per connection instead.
    pub(super) fn draw_fault(&self) -> Option<FaultKind> {
        let faults = &self.config.faults;
        if !faults.active() {
            return None;
        }
        let mut rng = self.fault_rng.lock().unwrap_or_else(|e| e.into_inner());
        if rng.unit() >= faults.rate {
            return None;
        }
        self.faults_injected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let kinds: Vec<FaultKind> = faults
            .enabled()
            .iter()
            .copied()
            .filter(|k| *k != FaultKind::Reset)
            .collect();
        if kinds.is_empty() {
            return None;
        }
        Some(*rng.pick(&kinds))
    }

    /// Whether to reset a connection just accepted.
    pub(super) fn draw_reset(&self) -> bool {
        let faults = &self.config.faults;
        if !faults.resets() {
            return false;
        }
        let mut rng = self.reset_rng.lock().unwrap_or_else(|e| e.into_inner());
        // Spread the rate over the kinds so each kind is as frequent as the others.
        let reset = rng.unit() < faults.rate / faults.enabled().len() as f64;
        if reset {
            self.faults_injected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        reset
    }
}

pub(super) const TOO_MANY: &str = "Too many concurrent API requests for the given customer.";

/// The answer for a fault drawn before the real answer was made. `Timeout` and the faults that
/// damage a real answer are handled by the caller.
pub(super) fn early_response(kind: FaultKind) -> Option<Response> {
    let proxy = |status: StatusCode, title: &str| {
        let page = format!(
            "<!DOCTYPE html>\n<html><head><title>{title}</title></head>\
             <body><h1>{title}</h1><hr><center>nginx</center></body></html>\n"
        );
        (status, [(header::CONTENT_TYPE, "text/html")], page).into_response()
    };
    // Every error answer has the one envelope of Workfront's errors.
    let envelope = super::http::envelope;
    Some(match kind {
        FaultKind::TooMany => envelope(
            StatusCode::TOO_MANY_REQUESTS,
            "com.attask.common.TooManyRequestsException",
            TOO_MANY,
        ),
        FaultKind::ServerError => envelope(
            StatusCode::INTERNAL_SERVER_ERROR,
            "java.lang.NullPointerException",
            "An unexpected error occurred",
        ),
        FaultKind::BadGateway => proxy(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
        FaultKind::Unavailable => {
            let mut r = proxy(StatusCode::SERVICE_UNAVAILABLE, "503 Service Unavailable");
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            r
        }
        FaultKind::GatewayTimeout => proxy(StatusCode::GATEWAY_TIMEOUT, "504 Gateway Time-out"),
        FaultKind::Html => proxy(StatusCode::OK, "Sign in"),
        FaultKind::ErrorBody => envelope(
            StatusCode::OK,
            "com.attask.common.ProcessException",
            "Internal error: the request could not be processed",
        ),
        FaultKind::Reset | FaultKind::Timeout | FaultKind::Truncated | FaultKind::InvalidJson => {
            return None;
        }
    })
}

/// Damage a real JSON answer: cut it in half, either as a complete HTTP response whose JSON
/// ends early, or as a connection that breaks in the middle of the body.
pub(super) fn damage(kind: FaultKind, body: Vec<u8>) -> Response {
    let half = Bytes::from(body[..body.len() / 2].to_vec());
    match kind {
        FaultKind::Truncated => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "simulated reset",
                )),
            ];
            let mut r = Response::new(Body::from_stream(futures::stream::iter(chunks)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json;charset=UTF-8"),
            );
            r
        }
        _ => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            half,
        )
            .into_response(),
    }
}

/// A listener that resets some connections as they are accepted (the `Reset` fault).
pub(super) struct FaultyListener {
    pub inner: tokio::net::TcpListener,
    pub shared: Arc<Shared>,
}

impl axum::serve::Listener for FaultyListener {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) if self.shared.draw_reset() => {
                    // RST instead of FIN: the client sees "connection reset by peer".
                    let _ = stream.set_zero_linger();
                    drop((stream, addr));
                }
                Ok(accepted) => return accepted,
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
