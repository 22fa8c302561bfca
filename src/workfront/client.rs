//! The HTTP client and the one path every request to Workfront takes: the credential in a
//! header, long object-API queries as POST, the concurrency cap, retries and their waits, and
//! one renewal of a refused credential for all requests in flight; for `<OBJ>/search`,
//! `count`, `report`, `metadata` and the event subscription API. What an answer means is
//! [`super::answer`]'s; a request run as a task of its own is a [`super::task::Task`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::auth::Authenticator;
use crate::console;
use crate::error::{Error, Result};
use crate::model::sanitize::sanitize_json;
use crate::rng::SplitMix64;
use crate::workfront::answer::{self, Failure, interpret};
use crate::workfront::object::{Convert, ObjectType};
use crate::workfront::query::{Params, encode};
use crate::workfront::retry::{RetryPolicy, jitter_source, parse_retry_after, refused_wait};
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

/// Which queue a request waits in for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// Counts, probes, metadata: the requests everything else waits for.
    Plan,
    /// Pages of entries: at most as many wait for a slot as there are slots.
    Page,
}

/// How a request carries its parameters.
#[derive(Debug, Clone, Copy)]
enum Form<'a> {
    /// The object API: GET with the parameters in the query; past [`MAX_URL_LEN`], a
    /// form-encoded POST with `method=GET` (API notes §1).
    Query,
    /// The event subscription API (API notes §7): its own methods (POST creates, DELETE
    /// removes), the parameters in the query and the body as JSON. Its URLs are short and
    /// `method=GET` is the object API's convention, so it is never sent as a form.
    Json(&'a Method, Option<&'a Value>),
}

/// Which failed tries are sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// Every failure another try could mend: reads, which change nothing at Workfront.
    Retryable,
    /// Only a failure that shows Workfront did not act on the request
    /// ([`Failure::unacted`]: a refused connection, 429): creating and deleting event
    /// subscriptions. A try that may have been carried out (a timeout, a 5xx, a garbled
    /// answer) is reported, not repeated: a second creation would be Workfront's 409 for the
    /// subscription the first one made (API notes §7), a second deletion a 404 for the one
    /// the first removed.
    Unacted,
}

/// One logical request, through [`Client::call`].
#[derive(Debug, Clone, Copy)]
struct Request<'a> {
    /// Relative to the API base (`JRNLE/search`), or from the tenant's root when it starts
    /// with `/` (the event subscription API).
    action: &'a str,
    params: &'a Params,
    form: Form<'a>,
    lane: Lane,
    resend: Resend,
}

impl<'a> Request<'a> {
    /// A request to the object API: read-only, so every retryable failure is retried.
    fn object(action: &'a str, params: &'a Params, lane: Lane) -> Request<'a> {
        Request {
            action,
            params,
            form: Form::Query,
            lane,
            resend: Resend::Retryable,
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
        let action = format!("{}/count", object.code());
        self.call(&Request::object(&action, params, Lane::Plan), answer::count)
            .await
    }

    /// `<OBJ>/report`: the `data` of a report request (aggregates grouped by a field).
    pub async fn report<O: ObjectType>(&self, object: &O, params: &Params) -> Result<Value> {
        let action = format!("{}/report", object.code());
        self.call(&Request::object(&action, params, Lane::Plan), answer::data)
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
        self.call(&Request::object(&action, params, lane), move |text| {
            O::parse_page(text).map(|page| page.into_iter().map(|r| convert.convert(r)).collect())
        })
        .await
    }

    /// `<OBJ>/metadata`: the object's fields; for enumerated ones, `possibleValues`.
    pub async fn metadata(&self, obj_code: &str) -> Result<Value> {
        let action = format!("{obj_code}/metadata");
        self.call(
            &Request::object(&action, &Vec::new(), Lane::Plan),
            answer::data,
        )
        .await
    }

    /// A JSON request to the event subscription API, beside the object API (API notes §7):
    /// `path` from the tenant's root, `params` in its query, `body` as JSON. It takes the path
    /// every request takes (the cap, retries, renewal of a refused credential, the reading of
    /// errors), but a request that changes something (any method but GET) is sent again only
    /// when Workfront did not act on it ([`Resend::Unacted`]). The answer's JSON, `null` for
    /// an empty body.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        body: Option<&Value>,
    ) -> Result<Value> {
        let resend = if method == Method::GET {
            Resend::Retryable
        } else {
            Resend::Unacted
        };
        let request = Request {
            action: path,
            params,
            form: Form::Json(&method, body),
            lane: Lane::Plan,
            resend,
        };
        self.call(&request, answer::json_or_null).await
    }

    /// Requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Retries so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Send one logical request, retrying what can succeed on another try (and what the
    /// request's [`Resend`] allows). `parse` checks the shape of a good answer; a malformed
    /// one is retried like a broken body.
    async fn call<T>(
        &self,
        request: &Request<'_>,
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
            let (generation, outcome) = self.in_slot(request).await?;
            let failure = match outcome {
                Ok((path, status, body)) => match parse(&sanitize_json(&body)) {
                    Ok(v) => return Ok(v),
                    Err(message) => Failure::new(
                        Error::Api {
                            path,
                            status: Some(status),
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
            let resend = match request.resend {
                Resend::Retryable => failure.retryable,
                Resend::Unacted => failure.retryable && failure.unacted(),
            };
            if !resend {
                return Err(self.name_the_credential(failure.error));
            }
            retry += 1;
            self.wait_to_retry(retry, started, refused_for, failure)
                .await?;
        }
    }

    /// One try of `request` once it holds a slot under the cap (pages queue for theirs
    /// behind at most as many pages as there are slots): the credential's generation as the
    /// try went out, and its outcome.
    async fn in_slot(
        &self,
        request: &Request<'_>,
    ) -> Result<(u64, Result<(String, u16, bytes::Bytes), Failure>)> {
        let _queued = match request.lane {
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
        // The credential's generation as the request goes out, not as it was queued: a
        // request that waited for a slot may carry a credential renewed meanwhile.
        let generation = self.generation.load(std::sync::atomic::Ordering::Acquire);
        Ok((generation, self.attempt(request).await))
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

    /// One HTTP exchange. Returns the URL path (for messages), the status and the body of a
    /// 2xx answer, unparsed (the caller's `parse` checks it).
    async fn attempt(&self, request: &Request<'_>) -> Result<(String, u16, bytes::Bytes), Failure> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (method, path, shown, builder) = self.build(request)?;
        let (name, value) = self
            .auth
            .header()
            .await
            .map_err(|e| Failure::new(e, false))?;
        let started = Instant::now();
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
        let response = builder.header(name, value).send().await.map_err(network)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let bytes = response.bytes().await.map_err(network)?;
        console::verbose(format!(
            "{method} {path}?{shown} -> HTTP {status}, {} bytes in {} ms",
            bytes.len(),
            started.elapsed().as_millis()
        ));
        if (200..300).contains(&status) {
            // The body is checked as it is parsed, by the caller's `parse`.
            return Ok((path, status, bytes));
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

    /// The HTTP request for one try of `request`, without its credential: its method, its
    /// URL path (for messages), its query as the log shows it, and the request itself.
    fn build(
        &self,
        request: &Request<'_>,
    ) -> Result<(Method, String, String, reqwest::RequestBuilder), Failure> {
        let mut url = self
            .base
            .join(request.action)
            .map_err(|e| Failure::new(Error::Internal(e.to_string()), false))?;
        let path = url.path().to_string();
        let query = encode(request.params);
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        Ok(match request.form {
            Form::Json(method, body) => {
                let builder = self.http.request(method.clone(), url);
                let builder = match body {
                    Some(body) => builder.json(body),
                    None => builder,
                };
                (method.clone(), path, query, builder)
            }
            Form::Query if url.as_str().len() <= MAX_URL_LEN => {
                let builder = self.http.request(Method::GET, url);
                (Method::GET, path, query, builder)
            }
            Form::Query => {
                url.set_query(None);
                let mut form = request.params.clone();
                form.push(("method".into(), "GET".into()));
                let builder = self.http.request(Method::POST, url).form(&form);
                (Method::POST, path, "(POST body)".into(), builder)
            }
        })
    }
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::auth::Credential;
    use crate::secret::Secret;

    const SUBSCRIPTIONS: &str = "/attask/eventsubscription/api/v1/subscriptions";

    /// A server that answers its connections with `answers` in turn, one answer each
    /// (`connection: close`, so every try is a connection of its own); the requests it got,
    /// each as its request line and its body.
    async fn scripted(answers: Vec<(u16, &'static str)>) -> (Url, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            for (status, body) in answers {
                let (mut socket, _) = listener.accept().await.unwrap();
                let request = read_request(&mut socket).await;
                log.lock().unwrap().push(request);
                let answer = format!(
                    "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        (url, seen)
    }

    /// The request line and the body of one request.
    async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
        let mut bytes = Vec::new();
        let mut chunk = [0; 4096];
        loop {
            let text = String::from_utf8_lossy(&bytes).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|n| n.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    return format!("{} {body}", head.lines().next().unwrap_or_default());
                }
            }
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the connection closed mid-request");
            bytes.extend_from_slice(&chunk[..n]);
        }
    }

    fn client(url: &Url) -> Client {
        let options = ClientOptions {
            retry: RetryPolicy {
                base_delay: Duration::from_millis(1),
                ..RetryPolicy::default()
            },
            ..ClientOptions::default()
        };
        let auth = Arc::new(Credential::ApiKey(Secret::new("test-key")));
        Client::new(url, "v21.0", auth, options).unwrap()
    }

    #[tokio::test]
    async fn the_subscription_list_is_retried_as_every_read_is() {
        let (url, seen) = scripted(vec![(503, "<html>busy</html>"), (200, r#"{"data":[]}"#)]).await;
        let client = client(&url);
        let params = vec![("limit".to_string(), "1000".to_string())];
        let answer = client
            .send_json(Method::GET, SUBSCRIPTIONS, &params, None)
            .await
            .unwrap();
        assert_eq!(answer, serde_json::json!({"data": []}));
        assert_eq!((client.requests(), client.retries()), (2, 1));
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], format!("GET {SUBSCRIPTIONS}?limit=1000 HTTP/1.1 "));
    }

    #[tokio::test]
    async fn a_creation_that_may_have_been_made_is_not_sent_again() {
        for (status, body) in [
            (502, "<html>Bad Gateway</html>"),
            (201, "<html>proxy</html>"),
        ] {
            let (url, seen) = scripted(vec![(status, body), (201, r#"{"id":"s-2"}"#)]).await;
            let client = client(&url);
            let create = serde_json::json!({"objCode": "TASK"});
            let err = client
                .send_json(Method::POST, SUBSCRIPTIONS, &vec![], Some(&create))
                .await
                .unwrap_err();
            assert_eq!(err.exit_code(), 4, "{err}");
            assert!(err.to_string().contains(&format!("HTTP {status}")), "{err}");
            assert_eq!(client.requests(), 1, "{status}: sent once");
            assert_eq!(seen.lock().unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn a_throttled_creation_is_sent_again_with_its_body() {
        let throttled =
            r#"{"error":{"message":"Too many concurrent API requests for the given customer."}}"#;
        let (url, seen) = scripted(vec![
            (429, throttled),
            (201, r#"{"id":"s-1","version":"v2"}"#),
        ])
        .await;
        let client = client(&url);
        let create = serde_json::json!({"objCode": "TASK", "eventType": "UPDATE"});
        let answer = client
            .send_json(Method::POST, SUBSCRIPTIONS, &vec![], Some(&create))
            .await
            .unwrap();
        assert_eq!(answer["id"], "s-1");
        let sent = format!("POST {SUBSCRIPTIONS} HTTP/1.1 {create}");
        assert_eq!(*seen.lock().unwrap(), vec![sent.clone(), sent]);
    }

    #[tokio::test]
    async fn a_deletion_answered_with_no_body_is_null_and_a_missing_one_an_error() {
        let missing = r#"{"error":{"message":"no subscription s-9"}}"#;
        let (url, _) = scripted(vec![(200, ""), (404, missing)]).await;
        let client = client(&url);
        let path = format!("{SUBSCRIPTIONS}/s-1");
        let gone = client.send_json(Method::DELETE, &path, &vec![], None).await;
        assert_eq!(gone.unwrap(), Value::Null);
        let path = format!("{SUBSCRIPTIONS}/s-9");
        let err = client
            .send_json(Method::DELETE, &path, &vec![], None)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{path}: HTTP 404: no subscription s-9")
        );
    }
}
