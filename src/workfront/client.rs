//! The HTTP client for `JRNLE/search` and `JRNLE/count`: credentials in headers, long queries
//! as POST, and every kind of failed answer turned into an error that names the path only.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::workfront::query::{Params, encode};

/// Workfront's CDN refuses URIs over 8,892 bytes (API notes §1). Past this length the same
/// parameters go in a form-encoded POST body with `method=GET`.
pub const MAX_URL_LEN: usize = 8000;

/// One of the three credentials Workfront accepts (API notes §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `apiKey` header (never the query parameter: URLs end up in logs).
    ApiKey(Secret),
    /// `sessionID` header.
    SessionId(Secret),
    /// `Authorization: Bearer` with an Adobe IMS token.
    Bearer(Secret),
}

impl Credential {
    fn header(&self) -> Result<(HeaderName, HeaderValue)> {
        let (name, value) = match self {
            Credential::ApiKey(s) => ("apikey", s.expose().to_string()),
            Credential::SessionId(s) => ("sessionid", s.expose().to_string()),
            Credential::Bearer(s) => ("authorization", format!("Bearer {}", s.expose())),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Error::usage("the credential contains characters that cannot be sent in an HTTP header")
        })?;
        value.set_sensitive(true);
        Ok((HeaderName::from_static(name), value))
    }
}

/// A JRNLE client for one tenant and API version.
pub struct Client {
    http: reqwest::Client,
    /// `https://tenant/attask/api/<version>/JRNLE/`
    base: Url,
}

impl Client {
    pub fn new(
        tenant: &Url,
        api_version: &str,
        credential: &Credential,
        timeout: Duration,
    ) -> Result<Client> {
        let base = tenant
            .join(&format!("/attask/api/{api_version}/JRNLE/"))
            .map_err(|e| Error::usage(format!("cannot build the API URL: {e}")))?;
        let (name, value) = credential.header()?;
        let mut headers = HeaderMap::new();
        headers.insert(name, value);
        let http = reqwest::Client::builder()
            .user_agent(concat!("jrnle-audit/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            // A redirect could carry the credential header to another host: follow none.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client { http, base })
    }

    /// `JRNLE/count`: the number of entries the filters match.
    pub async fn count(&self, params: &Params) -> Result<u64> {
        let (path, body) = self.call("count", params).await?;
        // Documented as {"data": {"count": N}}; some docs show a bare {"count": N}.
        let data = body.get("data").unwrap_or(&body);
        data.get("count")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Api {
                path,
                status: None,
                message: format!(
                    "the count answer has no count: {}",
                    snippet(&body.to_string())
                ),
            })
    }

    /// `JRNLE/search`: one page of raw records.
    pub async fn search(&self, params: &Params) -> Result<Vec<Map<String, Value>>> {
        let (path, body) = self.call("search", params).await?;
        let bad = |what: &str| Error::Api {
            path: path.clone(),
            status: None,
            message: what.to_string(),
        };
        match body {
            Value::Object(mut o) => match o.remove("data") {
                Some(Value::Array(items)) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::Object(record) => Ok(record),
                        _ => Err(bad(
                            "the search answer holds something that is not a record",
                        )),
                    })
                    .collect(),
                _ => Err(bad("the search answer has no \"data\" array")),
            },
            _ => Err(bad("the search answer is not a JSON object")),
        }
    }

    /// Send one request; returns the URL path (for messages) and the parsed body.
    async fn call(&self, action: &str, params: &Params) -> Result<(String, Value)> {
        let mut url = self
            .base
            .join(action)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let path = url.path().to_string();
        let query = encode(params);
        url.set_query(Some(&query));
        let request = if url.as_str().len() <= MAX_URL_LEN {
            self.http.request(Method::GET, url)
        } else {
            url.set_query(None);
            let mut form = params.clone();
            form.push(("method".into(), "GET".into()));
            self.http.request(Method::POST, url).form(&form)
        };
        let network = |e: reqwest::Error| Error::Network {
            path: path.clone(),
            message: describe_transport_error(&e),
        };
        let response = request.send().await.map_err(network)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(network)?;
        interpret(&path, status, &bytes).map(|v| (path, v))
    }
}

/// Decide what an answer means. Any `"error"` key is a failure, also with HTTP 200
/// (API notes §6); proxies answer 502/503/504 with HTML.
pub fn interpret(path: &str, status: u16, body: &[u8]) -> Result<Value> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let server_message = parsed.as_ref().and_then(|v| v.get("error")).map(|e| {
        e.get("message")
            .and_then(Value::as_str)
            .map_or_else(|| e.to_string(), str::to_string)
    });
    let fail = |message: String| {
        if status == 401 || status == 403 {
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
        }
    };
    match (server_message, parsed) {
        (Some(message), _) => Err(fail(message)),
        (None, Some(value)) if (200..300).contains(&status) => Ok(value),
        (None, _) if (300..400).contains(&status) => Err(fail(
            "Workfront answered with a redirect, which is not followed so the credential \
             stays with this host: use the tenant's final https:// URL"
                .into(),
        )),
        (None, Some(_)) => Err(fail("an answer without an error message".into())),
        (None, None) if (200..300).contains(&status) => Err(fail(format!(
            "the answer is not valid JSON: {}",
            snippet(&String::from_utf8_lossy(body))
        ))),
        (None, None) => Err(fail(snippet(&String::from_utf8_lossy(body)))),
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

/// reqwest's error text includes the URL with its query; say what happened without it.
fn describe_transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_with_http_200_is_a_failure() {
        let body = br#"{"error":{"class":"x","message":"boom"}}"#;
        let err = interpret("/p", 200, body).unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert!(err.to_string().contains("boom"), "{err}");
    }

    #[test]
    fn auth_statuses_map_to_auth_errors() {
        let body = br#"{"error":{"class":"com.attask.common.AuthenticationException","message":"You are not currently logged in"}}"#;
        for status in [401, 403] {
            let err = interpret("/attask/api/v21.0/JRNLE/search", status, body).unwrap_err();
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
        let err = interpret("/p", 502, b"<html>\n<body>Bad Gateway</body></html>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/p: HTTP 502: <html> <body>Bad Gateway</body></html>"
        );
        let err = interpret("/p", 200, b"{\"data\": [").unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    #[test]
    fn good_answers_pass_through() {
        let v = interpret("/p", 200, br#"{"data":{"count":3}}"#).unwrap();
        assert_eq!(v["data"]["count"], 3);
    }

    #[test]
    fn credentials_go_in_sensitive_headers() {
        let (name, value) = Credential::Bearer(Secret::new("tok")).header().unwrap();
        assert_eq!(name, "authorization");
        assert_eq!(value.to_str().unwrap(), "Bearer tok");
        assert!(value.is_sensitive());
        let (name, _) = Credential::ApiKey(Secret::new("k")).header().unwrap();
        assert_eq!(name, "apikey");
        let (name, _) = Credential::SessionId(Secret::new("s")).header().unwrap();
        assert_eq!(name, "sessionid");
        assert!(
            Credential::ApiKey(Secret::new("bad\nvalue"))
                .header()
                .is_err()
        );
    }
}
