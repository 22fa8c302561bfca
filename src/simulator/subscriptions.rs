//! Workfront's event subscription API (API notes §7), as strict as the notes describe it:
//! `POST /attask/eventsubscription/api/v1/subscriptions` with exactly the documented body
//! fields (an extra one fails creation, and so do filters that are not well formed: see
//! `event_filter.rs`), `authToken` required and under 255 characters and never returned
//! (masked `****1234`), 409 for a second subscription of the same object type, object and URL,
//! 201 with a `Location` header and `{"id", "version"}`; `GET` lists them (`page`, `limit`:
//! default 100, at most 1,000) with each URL's delivery health (`successes`, `failures`,
//! `disabled_at`, `frozen_at`, kept by `health.rs` as deliveries are attempted); `GET` and
//! `DELETE` of one by id. Deliveries are sent by `deliver.rs`.
//!
//! Not documented, and chosen here: the list's shape (`{"data": [...], "meta": {"page",
//! "limit", "total"}}`), ids as 32 hex digits, `version` "v2", 404 for an unknown id, and what
//! the mask shows of a token shorter than 12 characters: nothing (`****`, see
//! [`crate::secret::masked_token`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::generate::SplitMix64;
use super::health::{Gate, Health};
use super::query::ApiError;

/// The API's path.
pub const PATH: &str = "/attask/eventsubscription/api/v1/subscriptions";

/// The body fields a creation may carry; anything else fails it.
const FIELDS: [&str; 8] = [
    "objCode",
    "eventType",
    "url",
    "authToken",
    "objId",
    "base64Encoding",
    "filters",
    "filterConnector",
];

const EVENT_TYPES: [&str; 3] = ["CREATE", "UPDATE", "DELETE"];

/// The subscriptions a simulator holds, and the deliveries their receivers acknowledged.
#[derive(Default)]
pub struct Subscriptions {
    all: Mutex<Vec<Map<String, Value>>>,
    rng: Mutex<Option<SplitMix64>>,
    acknowledged: Mutex<Vec<super::deliver::Acknowledged>>,
    /// Each delivery URL's health: the notes keep it per URL, not per subscription.
    health: Mutex<HashMap<String, Health>>,
    /// Attempts not sent because their URL was disabled.
    withheld: AtomicUsize,
    /// Deliveries not yet acknowledged nor given up.
    pub(super) pending: AtomicUsize,
    /// One HTTP client for every delivery (its connections are reused).
    pub(super) client: reqwest::Client,
}

/// An answer: status, body, and the `Location` of a created subscription.
pub type Answer = (StatusCode, Value, Option<String>);

impl Subscriptions {
    /// Answer a request to `path` (under [`PATH`]).
    pub fn answer(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: &[u8],
        seed: u64,
    ) -> Result<Answer, ApiError> {
        let id = path.strip_prefix(PATH).unwrap_or("").trim_matches('/');
        match (method.as_str(), id.is_empty()) {
            ("POST", true) => self.create(body, seed),
            ("GET", true) => Ok(self.list(query)?),
            ("GET", false) => self
                .find(id)
                .map(|s| (StatusCode::OK, Value::Object(self.shown(&s)), None)),
            ("DELETE", false) => {
                let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
                let before = all.len();
                all.retain(|s| s["id"] != id);
                match all.len() < before {
                    true => Ok((StatusCode::OK, json!({}), None)),
                    false => Err(not_found(id)),
                }
            }
            _ => Err(ApiError {
                status: 405,
                class: "com.attask.eventsubscription.MethodNotAllowed",
                message: format!("{method} is not supported on {path}"),
            }),
        }
    }

    fn create(&self, body: &[u8], seed: u64) -> Result<Answer, ApiError> {
        let bad = |message: String| ApiError {
            status: 400,
            class: "com.attask.eventsubscription.BadRequest",
            message,
        };
        let v: Value =
            serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
        let fields = v
            .as_object()
            .ok_or_else(|| bad("the body is not a JSON object".into()))?;
        if let Some(extra) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(bad(format!("unknown field {extra}")));
        }
        let text = |k: &str| {
            fields
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        for required in ["objCode", "eventType", "url", "authToken"] {
            if text(required).is_none() {
                return Err(bad(format!("{required} is required")));
            }
        }
        let event = text("eventType").unwrap_or_default();
        if !EVENT_TYPES.contains(&event) {
            return Err(bad(format!(
                "eventType {event} is not one of CREATE, UPDATE, DELETE"
            )));
        }
        if text("authToken").unwrap_or_default().chars().count() >= 255 {
            return Err(bad("authToken must be shorter than 255 characters".into()));
        }
        super::event_filter::parse(fields.get("filters"), fields.get("filterConnector"))
            .map_err(bad)?;
        let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        let same = |s: &Map<String, Value>| {
            ["objCode", "objId", "url"]
                .iter()
                .all(|k| s.get(*k) == fields.get(*k))
        };
        if all.iter().any(same) {
            return Err(ApiError {
                status: 409,
                class: "com.attask.eventsubscription.Conflict",
                message: "a subscription for this object type, object and URL exists".into(),
            });
        }
        let id = self.next_id(seed);
        let mut stored = fields.clone();
        stored.insert("id".into(), json!(id));
        stored.insert("version".into(), json!("v2"));
        all.push(stored);
        Ok((
            StatusCode::CREATED,
            json!({"id": id, "version": "v2"}),
            Some(format!("{PATH}/{id}")),
        ))
    }

    fn list(&self, query: Option<&str>) -> Result<Answer, ApiError> {
        let params: Vec<(String, String)> = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let number = |k: &str, default: usize| -> Result<usize, ApiError> {
            params
                .iter()
                .find(|(p, _)| p == k)
                .map_or(Ok(default), |(_, v)| {
                    v.parse()
                        .map_err(|_| ApiError::invalid(format!("{k} must be a number")))
                })
        };
        let (page, limit) = (number("page", 1)?.max(1), number("limit", 100)?);
        if limit == 0 || limit > 1000 {
            return Err(ApiError::invalid("limit must be from 1 to 1000"));
        }
        let all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        let data: Vec<Value> = all
            .iter()
            .skip((page - 1) * limit)
            .take(limit)
            .map(|s| Value::Object(self.shown(s)))
            .collect();
        let meta = json!({"page": page, "limit": limit, "total": all.len()});
        Ok((StatusCode::OK, json!({"data": data, "meta": meta}), None))
    }

    fn find(&self, id: &str) -> Result<Map<String, Value>, ApiError> {
        let all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        all.iter()
            .find(|s| s["id"] == id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    /// Every subscription, as stored (with its token: for delivering, never for answers).
    pub(super) fn all(&self) -> Vec<Map<String, Value>> {
        self.all.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn acknowledged(&self, a: super::deliver::Acknowledged) {
        self.acknowledged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(a);
    }

    /// How many deliveries are not yet acknowledged nor given up.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Whether an attempt to `url` due now is sent, given its health (`unit`: the retry unit).
    pub(super) fn gate(&self, url: &str, unit: Duration) -> Gate {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let gate = health
            .entry(url.to_string())
            .or_default()
            .gate(Instant::now(), unit);
        if gate == Gate::Withhold {
            self.withheld.fetch_add(1, Ordering::SeqCst);
        }
        gate
    }

    /// Count an attempt to `url` in its health.
    pub(super) fn record(&self, url: &str, ok: bool, unit: Duration) {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        health.entry(url.to_string()).or_default().record(
            ok,
            Instant::now(),
            chrono::Utc::now(),
            unit,
        );
    }

    /// How many attempts were withheld from disabled URLs.
    pub fn withheld(&self) -> usize {
        self.withheld.load(Ordering::SeqCst)
    }

    /// A subscription as the API shows it: the token masked, its URL's health.
    fn shown(&self, s: &Map<String, Value>) -> Map<String, Value> {
        let mut out = s.clone();
        if let Some(Value::String(token)) = s.get("authToken") {
            out.insert(
                "authToken".into(),
                json!(crate::secret::masked_token(token)),
            );
        }
        let url = s.get("url").and_then(Value::as_str).unwrap_or_default();
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let h = health.get(url).cloned().unwrap_or_default();
        let when = |t: Option<chrono::DateTime<chrono::Utc>>| match t {
            Some(t) => json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            None => Value::Null,
        };
        out.insert("successes".into(), json!(h.successes));
        out.insert("failures".into(), json!(h.failures));
        out.insert("disabled_at".into(), when(h.disabled_at()));
        out.insert("frozen_at".into(), when(h.frozen_at()));
        out
    }

    /// The deliveries acknowledged so far.
    pub fn acknowledged_so_far(&self) -> Vec<super::deliver::Acknowledged> {
        self.acknowledged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn next_id(&self, seed: u64) -> String {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        rng.get_or_insert_with(|| SplitMix64::new(seed ^ 0x5B5))
            .id()
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError {
        status: 404,
        class: "com.attask.eventsubscription.NotFound",
        message: format!("no subscription {id}"),
    }
}
