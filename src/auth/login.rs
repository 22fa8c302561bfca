//! A person's login: Workfront's OAuth2 authorization-code flow (API notes §2.1) run once by
//! `jrnle-audit login`, which keeps the **refresh token** in a file of its own (mode 0600,
//! under `$XDG_STATE_HOME/jrnle-audit/`, never in the config file); every later run gets a
//! fresh session from it ([`RefreshSession`]). A rotated refresh token is stored atomically
//! (temporary file, fsync, rename) before the session it came with is used.

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

/// The URL a person opens to approve the application.
pub fn authorize_url(base: &reqwest::Url, client_id: &str, redirect: &str) -> Result<reqwest::Url> {
    let mut url = base
        .join(AUTHORIZE_PATH)
        .map_err(|e| Error::Internal(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("response_type", "code");
    Ok(url)
}

fn http(timeout: Duration) -> Result<reqwest::Client> {
    crate::crypto::install();
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Exchange the code of the redirect for a session and a refresh token.
pub async fn exchange_code(
    base: &reqwest::Url,
    app: &WebApp,
    code: &str,
    redirect: &str,
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
        ("redirect_uri", redirect),
    ];
    request(&http(timeout)?, &endpoint, &form, "the login").await
}

/// Wait for the browser's redirect to `listener` and answer it; the code it carries.
/// Hand-written for one request: a web framework's router would be more code than this.
pub async fn wait_for_code(listener: tokio::net::TcpListener) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| Error::io("waiting for the login's redirect", e))?;
        let mut buf = vec![0u8; 8192];
        let n = stream.read(&mut buf).await.unwrap_or(0);
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let (status, page, result) = match (get("code"), get("error")) {
            (Some(code), _) => (
                "200 OK",
                "Signed in: you can close this window.",
                Some(Ok(code)),
            ),
            (None, Some(e)) => (
                "400 Bad Request",
                "The sign-in was refused: see the terminal.",
                Some(Err(Error::Auth {
                    path: AUTHORIZE_PATH.into(),
                    status: 400,
                    message: format!("Workfront refused the sign-in: {e}"),
                })),
            ),
            // A favicon or another request: not the redirect.
            (None, None) => ("404 Not Found", "Not the sign-in redirect.", None),
        };
        let body = format!("<!DOCTYPE html><title>jrnle-audit</title><p>{page}</p>");
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        if let Some(result) = result {
            return result;
        }
    }
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
                } => Error::Auth {
                    path,
                    status,
                    message: format!(
                        "{message}: the stored login is no longer accepted; run `jrnle-audit \
                         login` again"
                    ),
                },
                other => other,
            })?;
        if let Some(rotated) = tokens.refresh {
            stored.refresh_token = rotated.expose().to_string();
        }
        stored.refreshed_at = chrono::Utc::now().to_rfc3339();
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
