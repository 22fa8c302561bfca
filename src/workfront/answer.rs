//! How a Workfront HTTP answer becomes a value or an error: [`interpret`] decides what a failed
//! status means ([`Failure`]: the error, and whether another try could succeed), and the
//! parsers here check the body of a 2xx answer (count, `data`, search records, the event
//! subscription API's JSON), any `"error"` in it a failure (API notes §6).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::model::sanitize::sanitize_json;
use crate::workfront::retry::retryable_status;

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
    pub(crate) fn new(error: Error, retryable: bool) -> Self {
        Failure {
            error,
            retryable,
            retry_after: None,
            refused: false,
        }
    }

    /// Whether the failure shows that Workfront did not act on the request, so that sending
    /// it again cannot do twice what it does: the connection was refused (nothing was sent),
    /// or Workfront throttled it (429 "Too many concurrent API requests for the given
    /// customer": refused before it was processed, API notes §6). A timeout, a 5xx or a
    /// garbled answer can come after the request was carried out.
    pub fn unacted(&self) -> bool {
        self.refused
            || matches!(
                self.error,
                Error::Api {
                    status: Some(429),
                    ..
                }
            )
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

/// Parse a 2xx body; a body that is not the JSON expected is a garbled answer (retried).
pub(crate) fn parse_body<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("the answer is not valid JSON ({e}): {}", snippet(text)))
}

/// The number of a `<OBJ>/count` answer.
pub(crate) fn count(text: &str) -> Result<u64, String> {
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
    let body: Body = parse_body(text)?;
    if let Some(e) = body.error {
        return Err(error_message(&e));
    }
    // Documented as {"data": {"count": N}}; some docs show a bare {"count": N}.
    body.data
        .and_then(|d| d.count)
        .or(body.count)
        .ok_or_else(|| format!("the count answer has no count: {}", snippet(text)))
}

/// The `data` of an answer whose shape the caller reads itself (reports, metadata).
pub(crate) fn data(text: &str) -> Result<Value, String> {
    #[derive(Deserialize)]
    struct Body {
        data: Option<Value>,
        error: Option<Value>,
    }
    let body: Body = parse_body(text)?;
    if let Some(e) = body.error {
        return Err(error_message(&e));
    }
    body.data
        .ok_or_else(|| format!("the answer has no \"data\": {}", snippet(text)))
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

/// An answer of the event subscription API (API notes §7), whose shape the caller reads: its
/// JSON, or `null` for an empty body (as a deletion may answer).
pub(crate) fn json_or_null(text: &str) -> Result<Value, String> {
    if text.bytes().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Null);
    }
    let value: Value = parse_body(text)?;
    match value.get("error") {
        Some(e) => Err(error_message(e)),
        None => Ok(value),
    }
}

/// The server's message from an `"error"` value.
pub(crate) fn error_message(e: &Value) -> String {
    e.get("message")
        .and_then(Value::as_str)
        .map_or_else(|| e.to_string(), str::to_string)
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

    #[test]
    fn only_throttling_and_refusals_show_a_request_was_not_acted_on() {
        let body = br#"{"error":{"class":"x","message":"no"}}"#;
        assert!(interpret("/p", 429, body).unwrap_err().unacted());
        for status in [500, 502, 503, 504] {
            assert!(
                !interpret("/p", status, body).unwrap_err().unacted(),
                "{status}"
            );
        }
        assert!(!interpret("/p", 200, b"<html/>").unwrap_err().unacted());
        let refused = Failure {
            refused: true,
            ..Failure::new(Error::Internal("refused".into()), true)
        };
        assert!(refused.unacted());
    }

    #[test]
    fn counts_come_in_either_documented_shape() {
        assert_eq!(count(r#"{"data":{"count":147}}"#), Ok(147));
        assert_eq!(count(r#"{"count":147}"#), Ok(147));
        assert!(count(r#"{"data":{}}"#).unwrap_err().contains("no count"));
        assert_eq!(count(r#"{"error":{"message":"boom"}}"#), Err("boom".into()));
    }

    #[test]
    fn an_event_api_answer_may_be_empty_but_not_an_error() {
        assert_eq!(json_or_null(" \n"), Ok(Value::Null));
        assert_eq!(json_or_null("{}"), Ok(serde_json::json!({})));
        assert_eq!(
            json_or_null(r#"{"id":"s-1","version":"v2"}"#).unwrap()["id"],
            "s-1"
        );
        assert_eq!(
            json_or_null(r#"{"error":{"message":"no subscription s-1"}}"#),
            Err("no subscription s-1".into())
        );
        assert!(
            json_or_null("<html/>")
                .unwrap_err()
                .contains("not valid JSON")
        );
    }
}
