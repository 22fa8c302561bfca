//! A person's login: Workfront's OAuth2 authorization-code flow (API notes §2.1) run once by
//! `jrnle-audit login`, which keeps the **refresh token** in a file of its own (mode 0600,
//! under `$XDG_STATE_HOME/jrnle-audit/`, never in the config file); every later run gets a
//! fresh session from it ([`RefreshSession`]). A rotated refresh token is stored atomically
//! (temporary file, fsync, rename) before the session it came with is used.
//!
//! The sign-in cannot be completed by a code obtained elsewhere: it sends a random `state`
//! that the redirect must bring back (RFC 6749 §10.12) and a PKCE S256 challenge whose
//! verifier goes with the code (RFC 7636), and the browser is told "Signed in" only once the
//! code was exchanged and the login stored. Workfront documents PKCE for its "Single Page
//! Application" only; for a "Web Application" (with a client secret) neither PKCE nor `state`
//! is in its notes, and both are sent anyway: a server without PKCE ignores the extra
//! parameters (RFC 7636 §5), and OAuth2 servers send `state` back (RFC 6749 §4.1.2).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::auth::Authenticator;
use crate::auth::token::{Tokens, request};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The token endpoint of both grants, under the tenant's URL.
pub const TOKEN_PATH: &str = "/integrations/oauth2/api/v1/token";
/// Where a person approves the application.
pub const AUTHORIZE_PATH: &str = "/integrations/oauth2/authorize";

/// A Workfront OAuth2 "Web Application".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebApp {
    pub client_id: String,
    pub client_secret: Secret,
}

/// Now, as the tool prints every time: UTC, three fraction digits, `Z` (what
/// `model::date::format_utc_ms` writes; `auth/` does not reach the model).
pub fn now_stamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What the token file holds. Its `Debug` leaves the token out.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredToken {
    pub url: String,
    pub client_id: String,
    pub refresh_token: String,
    /// When a session was last got with it (UTC, RFC 3339).
    pub refreshed_at: String,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("refresh_token", &"[redacted]")
            .field("refreshed_at", &self.refreshed_at)
            .finish()
    }
}

/// The token file of `profile` (`default` without one):
/// `$XDG_STATE_HOME/jrnle-audit/<profile>.login.json`, else under `~/.local/state`.
pub fn token_path(profile: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".local").join("state")))?;
    let name = profile.unwrap_or("default");
    Some(base.join("jrnle-audit").join(format!("{name}.login.json")))
}

/// The stored login of `profile` as a credential, when `login` left one: its client ID from
/// the token file, its client secret from `secret` (with where it came from), which is
/// required then.
pub fn stored(
    profile: Option<&str>,
    secret: Option<(String, String)>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(crate::auth::CredentialSpec, String)>> {
    let Some(path) = token_path(profile, env).filter(|p| p.exists()) else {
        return Ok(None);
    };
    let token = load(&path)?;
    let (secret, from) = secret.ok_or_else(|| {
        Error::usage(format!(
            "the login in {} needs the application's client secret to get a session: set \
             WORKFRONT_CLIENT_SECRET, or client_secret_env or client_secret_file in the profile",
            path.display()
        ))
    })?;
    let app = WebApp {
        client_id: token.client_id,
        client_secret: Secret::new(secret),
    };
    Ok(Some((
        crate::auth::CredentialSpec::Login { app, path },
        format!("`jrnle-audit login`, client secret from {from}"),
    )))
}

/// Read the token file, refusing one that others can read (a token is a password).
pub fn load(path: &Path) -> Result<StoredToken> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| Error::usage(format!("cannot read the login {}: {e}", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::usage(format!(
                "the login {} can be read by others (mode {:o}): it holds a refresh token; run \
                 chmod 600 {} (or jrnle-audit login again)",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read the login {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|_| {
        Error::usage(format!(
            "the login {} is damaged: run `jrnle-audit login` again",
            path.display()
        ))
    })
}

/// Write the token file atomically, mode 0600, creating its directory (mode 0700).
pub fn save(path: &Path, token: &StoredToken) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io =
        |what: &str, e: std::io::Error| Error::io(format!("cannot {what} {}", path.display()), e);
    std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".login.")
        .tempfile_in(dir)
        .map_err(|e| io("write", e))?;
    let bytes = serde_json::to_vec_pretty(token).map_err(|e| Error::Internal(e.to_string()))?;
    tmp.write_all(&bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io("write", e))?;
    tmp.persist(path).map_err(|e| io("write", e.error))?;
    Ok(())
}

/// What one sign-in sent and must get back: the redirect URL, a random `state` the redirect
/// must carry, and the PKCE verifier whose challenge went with the authorization request.
pub struct Pending {
    redirect: String,
    state: Secret,
    verifier: Secret,
}

impl Pending {
    /// A new sign-in answered at `redirect`, with a fresh state and verifier.
    pub fn new(redirect: String) -> Result<Self> {
        Ok(Pending {
            redirect,
            state: random_token()?,
            verifier: random_token()?,
        })
    }

    /// The PKCE S256 challenge: BASE64URL-no-pad(SHA-256(verifier)) (RFC 7636 §4.2).
    fn challenge(&self) -> String {
        use base64::Engine;
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(self.verifier.expose().as_bytes()).into();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    }

    /// The URL a person opens to approve the application.
    pub fn authorize_url(&self, base: &reqwest::Url, client_id: &str) -> Result<reqwest::Url> {
        let mut url = base
            .join(AUTHORIZE_PATH)
            .map_err(|e| Error::Internal(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &self.redirect)
            .append_pair("response_type", "code")
            .append_pair("state", self.state.expose())
            .append_pair("code_challenge", &self.challenge())
            .append_pair("code_challenge_method", "S256");
        Ok(url)
    }
}

/// 32 bytes from the operating system's CSPRNG as BASE64URL without padding: 43 unreserved
/// characters, the shortest PKCE verifier RFC 7636 §4.1 allows, and as good a `state`.
fn random_token() -> Result<Secret> {
    use base64::Engine;
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal("the system's random number generator failed".into()))?;
    Ok(Secret::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    ))
}

fn http(timeout: Duration) -> Result<reqwest::Client> {
    crate::crypto::install();
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Exchange the code of the redirect, with the PKCE verifier, for a session and a refresh
/// token.
pub async fn exchange_code(
    base: &reqwest::Url,
    app: &WebApp,
    code: &str,
    pending: &Pending,
    timeout: Duration,
) -> Result<Tokens> {
    let endpoint = base
        .join(TOKEN_PATH)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.expose()),
        ("redirect_uri", pending.redirect.as_str()),
        ("code_verifier", pending.verifier.expose()),
    ];
    request(&http(timeout)?, &endpoint, &form, "the login").await
}

/// The pages the browser is shown; fixed text, nothing from the request echoed.
const SIGNED_IN: &str = "Signed in: you can close this window.";
const FAILED: &str = "The sign-in failed: see the terminal.";

/// Wait for the browser's redirect to `listener`, check that it belongs to `pending` (its
/// `state`), hand its code to `finish` (exchange it, store the login), and only then answer
/// the browser: "Signed in" when `finish` succeeded, a failure page otherwise. A redirect
/// with a missing or different `state` fails the sign-in (exit 3): a code sent to the
/// listener by someone else must not sign this person in to their account.
/// Hand-written for one request: a web framework's router would be more code than this.
pub async fn complete<T, F, Fut>(
    listener: tokio::net::TcpListener,
    pending: &Pending,
    finish: F,
) -> Result<T>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let (mut stream, pairs) = loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| Error::io("waiting for the login's redirect", e))?;
        let pairs = read_query(&mut stream).await;
        if pairs.iter().any(|(k, _)| k == "code" || k == "error") {
            break (stream, pairs);
        }
        // A favicon or another request: not the redirect.
        answer(&mut stream, "404 Not Found", "Not the sign-in redirect.").await;
    };
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let outcome = match (get("code"), get("error")) {
        (_, Some(e)) => Err(Error::Auth {
            path: AUTHORIZE_PATH.into(),
            status: 400,
            message: format!("Workfront refused the sign-in: {e}"),
        }),
        (Some(code), None) if get("state").as_deref() == Some(pending.state.expose()) => {
            finish(code).await
        }
        _ => Err(Error::Auth {
            path: pending.redirect.clone(),
            status: 400,
            message: "the redirect's state is missing or is not this sign-in's, so its code \
                      may be someone else's: nothing was stored; run `jrnle-audit login` again \
                      and finish it in the browser it opens"
                .into(),
        }),
    };
    match &outcome {
        Ok(_) => answer(&mut stream, "200 OK", SIGNED_IN).await,
        Err(_) => answer(&mut stream, "400 Bad Request", FAILED).await,
    }
    outcome
}

/// The query of the request on `stream` (one read: the redirect is a short GET).
async fn read_query(stream: &mut tokio::net::TcpStream) -> Vec<(String, String)> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 8192];
    let n = stream.read(&mut buf).await.unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let query = target.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Answer the browser with a one-line page.
async fn answer(stream: &mut tokio::net::TcpStream, status: &str, page: &str) {
    use tokio::io::AsyncWriteExt;
    let body = format!("<!DOCTYPE html><title>jrnle-audit</title><p>{page}</p>");
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
}

/// Sessions got from a stored refresh token.
pub struct RefreshSession {
    app: WebApp,
    path: PathBuf,
    endpoint: reqwest::Url,
    http: reqwest::Client,
    session: tokio::sync::Mutex<Option<Secret>>,
}

impl RefreshSession {
    pub fn new(base: &reqwest::Url, app: WebApp, path: PathBuf, timeout: Duration) -> Result<Self> {
        Ok(RefreshSession {
            endpoint: base
                .join(TOKEN_PATH)
                .map_err(|e| Error::Internal(e.to_string()))?,
            http: http(timeout)?,
            app,
            path,
            session: tokio::sync::Mutex::new(None),
        })
    }

    /// A new session from the stored refresh token; a rotated token is stored first.
    async fn refresh(&self) -> Result<Secret> {
        let mut stored = load(&self.path)?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", stored.refresh_token.as_str()),
            ("client_id", self.app.client_id.as_str()),
            ("client_secret", self.app.client_secret.expose()),
        ];
        let source = format!("the login {}", self.path.display());
        let tokens = request(&self.http, &self.endpoint, &form, &source)
            .await
            .map_err(|e| match e {
                Error::Auth {
                    path,
                    status,
                    message,
                } => {
                    // A refused client (the app's ID or secret) is not fixed by signing in
                    // again with the same secret: say which to check.
                    let fix = if message.to_ascii_lowercase().contains("client credentials") {
                        "check the Web Application's client ID and secret (WORKFRONT_CLIENT_ID \
                         and WORKFRONT_CLIENT_SECRET, or the profile's)"
                    } else {
                        "the stored login is no longer accepted; run `jrnle-audit login` again"
                    };
                    Error::Auth {
                        path,
                        status,
                        message: format!("{message}: {fix}"),
                    }
                }
                other => other,
            })?;
        if let Some(rotated) = tokens.refresh {
            stored.refresh_token = rotated.expose().to_string();
        }
        stored.refreshed_at = now_stamp();
        save(&self.path, &stored)?;
        Ok(tokens.session)
    }
}

impl Authenticator for RefreshSession {
    fn header(&self) -> BoxFuture<'_, Result<(HeaderName, HeaderValue)>> {
        async move {
            let mut session = self.session.lock().await;
            if session.is_none() {
                *session = Some(self.refresh().await?);
            }
            super::session_header(session.as_ref())
        }
        .boxed()
    }

    fn renew(&self) -> BoxFuture<'_, Result<bool>> {
        async move {
            let fresh = self.refresh().await?;
            *self.session.lock().await = Some(fresh);
            Ok(true)
        }
        .boxed()
    }

    fn describe(&self) -> String {
        format!(
            "OAuth2 login (client {}) stored in {}",
            self.app.client_id,
            self.path.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sign_in_sends_its_own_state_and_an_s256_challenge_of_its_verifier() {
        let a = Pending::new("http://127.0.0.1:1/callback".into()).unwrap();
        let b = Pending::new("http://127.0.0.1:1/callback".into()).unwrap();
        assert_ne!(a.state.expose(), b.state.expose());
        assert_ne!(a.verifier.expose(), b.verifier.expose());
        let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
        for token in [&a.state, &a.verifier] {
            assert_eq!(token.expose().len(), 43);
            assert!(token.expose().chars().all(unreserved));
        }
        let base = reqwest::Url::parse("https://x.my.workfront.com").unwrap();
        let url = a.authorize_url(&base, "cid").unwrap();
        let pairs: std::collections::HashMap<String, String> =
            url.query_pairs().into_owned().collect();
        assert_eq!(pairs["state"], a.state.expose());
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["code_challenge"], a.challenge());
        assert_eq!(pairs["code_challenge"].len(), 43);
        assert!(!url.as_str().contains(a.verifier.expose()));
    }

    #[test]
    fn stamps_are_utc_with_milliseconds() {
        let stamp = now_stamp();
        assert_eq!(stamp.len(), 24, "{stamp}");
        assert!(stamp.ends_with('Z'), "{stamp}");
        assert!(chrono::NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%dT%H:%M:%S%.3fZ").is_ok());
    }
}
