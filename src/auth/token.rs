//! One request to a Workfront OAuth2 token endpoint (the JWT exchange, the code and refresh
//! grants): form-encoded, retried briefly when the server or the network fails, and read
//! for `access_token` (the session) and a rotated `refresh_token`. Anything else fails with
//! exit code 3 and the server's own message, never the body (it may hold tokens).

use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Tries of a token request that fails on the server's side or the network's.
const TRIES: u32 = 4;

/// What a token endpoint gave.
pub struct Tokens {
    pub session: Secret,
    pub refresh: Option<Secret>,
}

/// POST `form` to `endpoint` and read the tokens. `source` names where the credential's
/// configuration came from, for the error.
pub async fn request(
    http: &reqwest::Client,
    endpoint: &reqwest::Url,
    form: &[(&str, &str)],
    source: &str,
) -> Result<Tokens> {
    let path = endpoint.path().to_string();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let sent = http.post(endpoint.clone()).form(form).send().await;
        let retry = match sent {
            Ok(answer) => {
                let status = answer.status().as_u16();
                let body = answer.bytes().await.unwrap_or_default();
                if status < 500 && status != 429 {
                    return read(&path, status, &body, source);
                }
                format!("HTTP {status}")
            }
            Err(e) => format!("no answer ({})", e.without_url()),
        };
        if attempt >= TRIES {
            return Err(Error::Network {
                path,
                message: format!("the token endpoint failed {attempt} times; last: {retry}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
    }
}

fn read(path: &str, status: u16, body: &[u8], source: &str) -> Result<Tokens> {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let access = value.as_ref().and_then(|v| text(v, "access_token"));
    match (status, access) {
        (200..=299, Some(session)) if !session.is_empty() => Ok(Tokens {
            session: Secret::new(session),
            refresh: value
                .as_ref()
                .and_then(|v| text(v, "refresh_token"))
                .map(Secret::new),
        }),
        _ => {
            let said = value
                .as_ref()
                .and_then(server_message)
                .unwrap_or_else(|| "an answer without an access_token".to_string());
            Err(Error::Auth {
                path: path.to_string(),
                status,
                message: format!("{said} (credential from {source})"),
            })
        }
    }
}

/// The server's message in Workfront's envelope or OAuth2's `error_description`.
fn server_message(v: &Value) -> Option<String> {
    let s = |v: &Value| v.as_str().map(str::to_string);
    v.pointer("/error/message")
        .and_then(s)
        .or_else(|| v.get("error_description").and_then(s))
        .or_else(|| v.get("message").and_then(s))
        .or_else(|| v.get("error").and_then(s))
}
