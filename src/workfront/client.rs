//! The HTTP client for `<OBJ>/search`, `<OBJ>/count` and `<OBJ>/metadata`: credentials in
//! headers, long queries as POST, retries under a concurrency cap, and every kind of failed
//! answer turned into an error that names the path only.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::auth::Authenticator;
use crate::console;
use crate::error::{Error, Result};
use crate::model::sanitize::sanitize_json;
use crate::rng::SplitMix64;
use crate::workfront::object::{Convert, ObjectType};
use crate::workfront::query::{Params, encode};
use crate::workfront::retry::{
    RetryPolicy, jitter_source, parse_retry_after, refused_wait, retryable_status,
};
use crate::workfront::transport::Transport;

/// Workfront's CDN refuses URIs over 8,892 bytes (API notes §1). Past this length the same
/// parameters go in a form-encoded POST body with `method=GET`.
pub const MAX_URL_LEN: usize = 8000;

/// How the client behaves on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Per request.
    pub timeout: Duration,
    /// Requests in flight at once, at most (Workfront throttles concurrency per customer).
    pub max_concurrency: usize,
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            max_concurrency: 4,
            retry: RetryPolicy::default(),
        }
    }
}

/// A JRNLE client for one tenant and API version. Retries and the concurrency cap live here;
/// callers (paging) never see them. Clones share the connections, the cap and the tallies, so
/// a request can run as a task of its own.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `https://tenant/attask/api/<version>/`
    base: Url,
    limiter: Arc<Semaphore>,
    /// Pages queue here before they queue for `limiter`, and hold it as long as a slot, so at
    /// most as many pages as there are slots wait there: a count or probe that plans the
    /// windows, which the pages behind them wait for, goes to the first slot that frees up
    /// instead of behind every page lined up.
    pages: Arc<Semaphore>,
    retry: RetryPolicy,
    auth: Arc<dyn Authenticator>,
    /// Renewals of the credential so far: a request refused with 401 renews it only if none
    /// happened since it was sent, so requests in flight wait for one renewal (single-flight).
    renewals: Arc<tokio::sync::Mutex<u64>>,
    /// The count of `renewals`, readable without waiting.
    generation: Arc<std::sync::atomic::AtomicU64>,
    jitter: Arc<Mutex<SplitMix64>>,
    requests: Arc<std::sync::atomic::AtomicU64>,
    retries: Arc<std::sync::atomic::AtomicU64>,
    /// Whether a refused connection was already reported (once per run).
    said_refused: Arc<std::sync::atomic::AtomicBool>,
}

/// A spawned request, cancelled when dropped (an export that fails stops its requests).
pub struct Task<T>(tokio::task::JoinHandle<Result<T>>);

impl<T: Send + 'static> Task<T> {
    /// Run `request` on the runtime, on its own.
    pub fn spawn(request: impl Future<Output = Result<T>> + Send + 'static) -> Task<T> {
        Task(tokio::spawn(request))
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<T>> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|joined| {
            joined.unwrap_or_else(|e| Err(Error::Internal(format!("a request task failed: {e}"))))
        })
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Which queue a request waits in for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// Counts, probes, metadata: the requests everything else waits for.
    Plan,
    /// Pages of entries: at most as many wait for a slot as there are slots.
    Page,
}

/// One failed try: the error to report, and whether another try could succeed.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    pub retryable: bool,
    pub retry_after: Option<Duration>,
    /// The host refused the connection: retried only briefly (see
    /// [`crate::workfront::retry::REFUSED_FOR`]).
    pub refused: bool,
}

impl Failure {
    fn new(error: Error, retryable: bool) -> Self {
        Failure {
            error,
            retryable,
            retry_after: None,
            refused: false,
        }
    }
}

/// How many renewals one request may go through before a 401 is final. One is enough when
/// sessions outlive the wait for a slot; a request that waited longer than a short session
/// lives can meet an expiry again after the renewal it waited for. A credential refused right
/// after every renewal (a refresh that gives sessions Workfront does not accept) still ends
/// the run, with exit 3, after this many renewals.
const RENEWALS_PER_REQUEST: u32 = 3;

impl Client {
    /// A client for `tenant`'s API `api_version`, sending the credential `auth` gives on
    /// every request.
    pub fn new(
        tenant: &Url,
        api_version: &str,
        auth: Arc<dyn Authenticator>,
        options: ClientOptions,
    ) -> Result<Client> {
        let base = tenant
            .join(&format!("/attask/api/{api_version}/"))
            .map_err(|e| Error::usage(format!("cannot build the API URL: {e}")))?;
        crate::crypto::install();
        let http = reqwest::Client::builder()
            .user_agent(concat!("jrnle-audit/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the credential header to another host: follow none.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10).min(options.timeout))
            .timeout(options.timeout)
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            limiter: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
            pages: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
            retry: options.retry,
            auth,
            renewals: Default::default(),
            generation: Default::default(),
            jitter: Arc::new(Mutex::new(jitter_source())),
            requests: Default::default(),
            retries: Default::default(),
            said_refused: Default::default(),
        })
    }

    /// `<OBJ>/count`: the number of records the parameters match.
    pub async fn count<O: ObjectType>(&self, object: &O, params: &Params) -> Result<u64> {
        #[derive(Deserialize)]
        struct Count {
            count: Option<u64>,
        }
        #[derive(Deserialize)]
        struct Body {
            data: Option<Count>,
            count: Option<u64>,
            error: Option<Value>,
        }
        let action = format!("{}/count", object.code());
        self.call(&action, params, Lane::Plan, |text| {
            let body: Body = parse_body(text)?;
            if let Some(e) = body.error {
                return Err(error_message(&e));
            }
            // Documented as {"data": {"count": N}}; some docs show a bare {"count": N}.
            body.data
                .and_then(|d| d.count)
                .or(body.count)
                .ok_or_else(|| format!("the count answer has no count: {}", snippet(text)))
        })
        .await
    }

    /// `<OBJ>/report`: the `data` of a report request (aggregates grouped by a field).
    pub async fn report<O: ObjectType>(&self, object: &O, params: &Params) -> Result<Value> {
        self.data(&format!("{}/report", object.code()), params)
            .await
    }

    /// [`Client::search`] for a page of records, which lets requests that plan go first.
    pub async fn page<O: ObjectType, T: Send + 'static>(
        &self,
        object: &O,
        params: &Params,
        convert: impl Convert<O, T>,
    ) -> Result<Vec<T>> {
        self.search_in(object, Lane::Page, params, convert).await
    }

    /// `<OBJ>/search`: one page of the object's records, each raw record turned into the
    /// caller's form by `convert` as the answer is parsed.
    pub async fn search<O: ObjectType, T: Send + 'static>(
        &self,
        object: &O,
        params: &Params,
        convert: impl Convert<O, T>,
    ) -> Result<Vec<T>> {
        self.search_in(object, Lane::Plan, params, convert).await
    }

    async fn search_in<O: ObjectType, T: Send + 'static>(
        &self,
        object: &O,
        lane: Lane,
        params: &Params,
        convert: impl Convert<O, T>,
    ) -> Result<Vec<T>> {
        let action = format!("{}/search", object.code());
        self.call(&action, params, lane, move |text| {
            O::parse_page(text).map(|page| page.into_iter().map(|r| convert.convert(r)).collect())
        })
        .await
    }

    /// `<OBJ>/metadata`: the object's fields; for enumerated ones, `possibleValues`.
    pub async fn metadata(&self, obj_code: &str) -> Result<Value> {
        self.data(&format!("{obj_code}/metadata"), &Vec::new())
            .await
    }

    /// The `data` of an answer whose shape the caller reads itself.
    async fn data(&self, action: &str, params: &Params) -> Result<Value> {
        #[derive(Deserialize)]
        struct Body {
            data: Option<Value>,
            error: Option<Value>,
        }
        self.call(action, params, Lane::Plan, |text| {
            let body: Body = parse_body(text)?;
            if let Some(e) = body.error {
                return Err(error_message(&e));
            }
            body.data
                .ok_or_else(|| format!("the answer has no \"data\": {}", snippet(text)))
        })
        .await
    }

    /// A JSON request to an API beside the object API (the event subscription API): `path`
    /// from the tenant's root. Sent once, never retried (creating a subscription twice would
    /// make two); a refused credential is renewed once, as on every request. The answer's
    /// JSON (`null` for an empty body) and its `Location` header.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(Value, Option<String>)> {
        let url = self
            .base
            .join(path)
            .map_err(|e| Error::Internal(e.to_string()))?;
        for renewals_left in [1, 0] {
            let generation = self.generation.load(std::sync::atomic::Ordering::Acquire);
            let (name, value) = self.auth.header().await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(name, value);
            if let Some(body) = body {
                request = request.json(body);
            }
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let response = request.send().await.map_err(|e| Error::Network {
                path: path.to_string(),
                message: Transport::of(&e).describe(&e, &self.authority()),
            })?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let bytes = response.bytes().await.map_err(|e| Error::Network {
                path: path.to_string(),
                message: e.to_string(),
            })?;
            console::verbose(format!("{method} {path} -> HTTP {status}"));
            if status == 401 && renewals_left > 0 && self.renew(generation).await? {
                continue;
            }
            if bytes.iter().all(u8::is_ascii_whitespace) && (200..300).contains(&status) {
                return Ok((Value::Null, location));
            }
            return interpret(path, status, &bytes)
                .map(|v| (v, location))
                .map_err(|f| self.name_the_credential(f.error));
        }
        Err(Error::Internal(
            "a request renewed its credential twice".into(),
        ))
    }

    /// Requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Retries so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Send one logical request, retrying what can succeed on another try. `parse` checks the
    /// shape of a good answer; a malformed one is retried like a broken body.
    async fn call<T>(
        &self,
        action: &str,
        params: &Params,
        lane: Lane,
        parse: impl Fn(&str) -> Result<T, String> + Copy + Send + 'static,
    ) -> Result<T>
    where
        T: Send + 'static,
    {
        let started = Instant::now();
        let mut retry = 0;
        let mut renewals_left = RENEWALS_PER_REQUEST;
        let mut refused: Option<Instant> = None;
        loop {
            let (generation, outcome) = {
                let _queued = match lane {
                    Lane::Page => Some(
                        self.pages
                            .acquire()
                            .await
                            .map_err(|e| Error::Internal(e.to_string()))?,
                    ),
                    Lane::Plan => None,
                };
                let _permit = self
                    .limiter
                    .acquire()
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))?;
                // The credential's generation as the request goes out, not as it was queued:
                // a request that waited for a slot may carry a credential renewed meanwhile.
                let generation = self.generation.load(std::sync::atomic::Ordering::Acquire);
                (generation, self.attempt(action, params).await)
            };
            let failure = match outcome {
                Ok((path, body)) => match parse(&sanitize_json(&body)) {
                    Ok(v) => return Ok(v),
                    Err(message) => Failure::new(
                        Error::Api {
                            path,
                            status: Some(200),
                            message,
                        },
                        true,
                    ),
                },
                Err(f) => f,
            };
            // A refused credential is renewed, if it can renew; a request sent again with
            // each new credential and refused each time gives up (see RENEWALS_PER_REQUEST).
            if matches!(failure.error, Error::Auth { status: 401, .. }) && renewals_left > 0 {
                renewals_left -= 1;
                if self.renew(generation).await? {
                    continue;
                }
            }
            // How long this request's connections have been refused, if this one was.
            let refused_for = failure.refused.then(|| self.note_refused(&mut refused));
            if !failure.retryable {
                return Err(self.name_the_credential(failure.error));
            }
            retry += 1;
            self.wait_to_retry(retry, started, refused_for, failure)
                .await?;
        }
    }

    /// Wait before retry number `retry` (backoff with jitter, or `Retry-After`), or give up
    /// with the failure's error when the policy says so. After a refused connection the wait
    /// is cut to the refusal deadline (`refused_for` since the first refusal), past which
    /// nothing is tried again.
    async fn wait_to_retry(
        &self,
        retry: u32,
        started: Instant,
        refused_for: Option<Duration>,
        failure: Failure,
    ) -> Result<()> {
        self.retries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let jitter = self.jitter.lock().unwrap_or_else(|e| e.into_inner()).unit();
        let wait = self
            .retry
            .delay(retry, started.elapsed(), failure.retry_after, jitter)
            .and_then(|wait| match refused_for {
                Some(since) => refused_wait(since, wait),
                None => Some(wait),
            });
        let Some(wait) = wait else {
            return Err(gave_up(failure.error, retry));
        };
        console::verbose(format!(
            "retrying in {} ms after: {} (retry {retry}/{})",
            wait.as_millis(),
            failure.error,
            self.retry.max_retries
        ));
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// The tenant's host, with its port when the URL gives one, for messages: "refused by
    /// 127.0.0.1" says less than "refused by 127.0.0.1:8443" when the port is the mistake.
    fn authority(&self) -> String {
        let host = self.base.host_str().unwrap_or("the tenant");
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// Note a refused connection; how long since this request's first refusal. The first
    /// refusal of a run is said once on stderr (a server restarting comes back; a wrong
    /// address does not, and the user should not wait in silence).
    fn note_refused(&self, refused: &mut Option<Instant>) -> Duration {
        let since = *refused.get_or_insert_with(Instant::now);
        if !self
            .said_refused
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            console::warn(format!(
                "retrying: connection refused by {}",
                self.authority()
            ));
        }
        since.elapsed()
    }

    /// A refused credential (401) names which one it was, by kind and source, never its value.
    fn name_the_credential(&self, error: Error) -> Error {
        match error {
            Error::Auth {
                path,
                status: 401,
                message,
            } => Error::Auth {
                path,
                status: 401,
                message: format!(
                    "{message} (refused: the {}){}",
                    self.auth.describe(),
                    self.auth
                        .when_refused()
                        .map(|h| format!("; {h}"))
                        .unwrap_or_default()
                ),
            },
            other => other,
        }
    }

    /// Renew the credential after a 401 to a request sent at `generation`, unless another
    /// request renewed it since; whether the request is worth sending again.
    async fn renew(&self, generation: u64) -> Result<bool> {
        let mut renewals = self.renewals.lock().await;
        if *renewals != generation {
            return Ok(true);
        }
        let renewed = self.auth.renew().await?;
        if renewed {
            *renewals += 1;
            self.generation
                .store(*renewals, std::sync::atomic::Ordering::Release);
            console::verbose("the credential was refused (401) and has been renewed");
        }
        Ok(renewed)
    }

    /// One HTTP exchange. Returns the URL path (for messages) and the body of a 2xx answer,
    /// unparsed (the caller's `parse` checks it).
    async fn attempt(
        &self,
        action: &str,
        params: &Params,
    ) -> Result<(String, bytes::Bytes), Failure> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut url = self
            .base
            .join(action)
            .map_err(|e| Failure::new(Error::Internal(e.to_string()), false))?;
        let path = url.path().to_string();
        let query = encode(params);
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        let (name, value) = self
            .auth
            .header()
            .await
            .map_err(|e| Failure::new(e, false))?;
        let started = Instant::now();
        let (method, request) = if url.as_str().len() <= MAX_URL_LEN {
            (Method::GET, self.http.request(Method::GET, url))
        } else {
            url.set_query(None);
            let mut form = params.clone();
            form.push(("method".into(), "GET".into()));
            (
                Method::POST,
                self.http.request(Method::POST, url).form(&form),
            )
        };
        let host = self.authority();
        let network = |e: reqwest::Error| {
            let what = Transport::of(&e);
            let error = Error::Network {
                path: path.clone(),
                message: what.describe(&e, &host),
            };
            console::verbose(format!("{method} {path} -> {error}"));
            Failure {
                refused: what == Transport::Refused,
                ..Failure::new(error, what.retryable())
            }
        };
        let response = request.header(name, value).send().await.map_err(network)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let bytes = response.bytes().await.map_err(network)?;
        console::verbose(format!(
            "{method} {path}?{} -> HTTP {status}, {} bytes in {} ms",
            if method == Method::GET {
                query.as_str()
            } else {
                "(POST body)"
            },
            bytes.len(),
            started.elapsed().as_millis()
        ));
        if (200..300).contains(&status) {
            // The body is checked as it is parsed, by the caller's `parse`.
            return Ok((path, bytes));
        }
        Err(match interpret(&path, status, &bytes) {
            Err(mut f) => {
                f.retry_after = retry_after;
                f
            }
            Ok(_) => Failure::new(
                Error::Internal("a failed status read as success".into()),
                false,
            ),
        })
    }
}

/// Parse a 2xx body; a body that is not the JSON expected is a garbled answer (retried).
pub(crate) fn parse_body<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("the answer is not valid JSON ({e}): {}", snippet(text)))
}

/// The records of a search answer, `{"data": [...]}`, or the server's `"error"` message.
pub(crate) fn search_data<'a, T: Deserialize<'a>>(text: &'a str) -> Result<Vec<T>, String> {
    #[derive(Deserialize)]
    struct Body<T> {
        data: Option<Vec<T>>,
        error: Option<Value>,
    }
    let body: Body<T> = parse_body(text)?;
    if let Some(e) = body.error {
        return Err(error_message(&e));
    }
    body.data
        .ok_or_else(|| "the search answer has no \"data\" array".to_string())
}

/// The server's message from an `"error"` value.
pub(crate) fn error_message(e: &Value) -> String {
    e.get("message")
        .and_then(Value::as_str)
        .map_or_else(|| e.to_string(), str::to_string)
}

fn gave_up(error: Error, retries: u32) -> Error {
    let note = format!(
        " (gave up after {})",
        console::plural(u64::from(retries), "try", "tries")
    );
    match error {
        Error::Api {
            path,
            status,
            message,
        } => Error::Api {
            path,
            status,
            message: message + &note,
        },
        Error::Network { path, message } => Error::Network {
            path,
            message: message + &note,
        },
        other => other,
    }
}

/// Decide what an answer means. Any `"error"` key is a failure, also with HTTP 200
/// (API notes §6), and is retried then; proxies answer 502/503/504 with HTML.
pub fn interpret(path: &str, status: u16, body: &[u8]) -> Result<Value, Failure> {
    let parsed = serde_json::from_str::<Value>(&sanitize_json(body)).ok();
    let server_message = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .map(error_message);
    let ok_status = (200..300).contains(&status);
    let fail = |message: String, retryable: bool| {
        let error = if status == 401 || status == 403 {
            Error::Auth {
                path: path.to_string(),
                status,
                message,
            }
        } else {
            Error::Api {
                path: path.to_string(),
                status: Some(status),
                message,
            }
        };
        Failure::new(error, retryable)
    };
    match (server_message, parsed) {
        (Some(message), _) => Err(fail(message, ok_status || retryable_status(status))),
        (None, Some(value)) if ok_status => Ok(value),
        (None, _) if (300..400).contains(&status) => Err(fail(
            "Workfront answered with a redirect, which is not followed so the credential \
             stays with this host: use the tenant's final https:// URL"
                .into(),
            false,
        )),
        (None, Some(_)) => Err(fail(
            "an answer without an error message".into(),
            retryable_status(status),
        )),
        (None, None) if ok_status => Err(fail(
            format!(
                "the answer is not valid JSON: {}",
                snippet(&String::from_utf8_lossy(body))
            ),
            true,
        )),
        (None, None) => Err(fail(
            snippet(&String::from_utf8_lossy(body)),
            retryable_status(status),
        )),
    }
}

/// The start of a body on one line, for a message.
fn snippet(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        s.push('…');
    }
    if s.is_empty() {
        "(empty body)".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_with_http_200_is_a_failure() {
        let body = br#"{"error":{"class":"x","message":"boom"}}"#;
        let failure = interpret("/p", 200, body).unwrap_err();
        assert!(failure.retryable);
        let err = failure.error;
        assert_eq!(err.exit_code(), 4);
        assert!(err.to_string().contains("boom"), "{err}");
    }

    #[test]
    fn auth_statuses_map_to_auth_errors() {
        let body = br#"{"error":{"class":"com.attask.common.AuthenticationException","message":"You are not currently logged in"}}"#;
        for status in [401, 403] {
            let failure = interpret("/attask/api/v21.0/JRNLE/search", status, body).unwrap_err();
            assert!(!failure.retryable);
            let err = failure.error;
            assert_eq!(err.exit_code(), 3);
            assert_eq!(
                err.to_string(),
                format!(
                    "/attask/api/v21.0/JRNLE/search: HTTP {status}: You are not currently logged in"
                )
            );
        }
    }

    #[test]
    fn html_from_a_proxy_is_reported_briefly() {
        let failure = interpret("/p", 502, b"<html>\n<body>Bad Gateway</body></html>").unwrap_err();
        assert!(failure.retryable);
        assert_eq!(
            failure.error.to_string(),
            "/p: HTTP 502: <html> <body>Bad Gateway</body></html>"
        );
        let failure = interpret("/p", 200, b"{\"data\": [").unwrap_err();
        assert!(failure.retryable, "a body that ends early is retried");
        assert!(failure.error.to_string().contains("not valid JSON"));
        let failure = interpret("/p", 200, b"<html>proxy login</html>").unwrap_err();
        assert!(failure.retryable, "an HTML page with 200 is retried");
    }

    #[test]
    fn what_cannot_succeed_is_not_retried() {
        let body = br#"{"error":{"class":"x","message":"no"}}"#;
        for status in [400, 401, 403, 404, 410, 422] {
            assert!(
                !interpret("/p", status, body).unwrap_err().retryable,
                "{status}"
            );
            assert!(
                !interpret("/p", status, b"<html/>").unwrap_err().retryable,
                "{status}"
            );
        }
        for status in [429, 500, 502, 503, 504] {
            assert!(
                interpret("/p", status, body).unwrap_err().retryable,
                "{status}"
            );
            assert!(
                interpret("/p", status, b"<html/>").unwrap_err().retryable,
                "{status}"
            );
        }
        assert!(!interpret("/p", 302, b"").unwrap_err().retryable);
    }

    #[test]
    fn good_answers_pass_through() {
        let v = interpret("/p", 200, br#"{"data":{"count":3}}"#).unwrap();
        assert_eq!(v["data"]["count"], 3);
    }
}
