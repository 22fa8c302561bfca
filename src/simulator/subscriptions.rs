//! Workfront's event subscription API (API notes §7), as strict as the notes describe it:
//! `POST /attask/eventsubscription/api/v1/subscriptions` with exactly the documented body
//! fields (an extra one fails creation), `authToken` required and under 255 characters and
//! never returned (masked `****1234`), 409 for a second subscription of the same object type,
//! object and URL, 201 with a `Location` header and `{"id", "version"}`; `GET` lists them
//! (`page`, `limit`: default 100, at most 1,000) with each URL's delivery health; `GET` and
//! `DELETE` of one by id. Deliveries are sent by `deliver.rs`.
//!
//! Not documented, and chosen here: the list's shape (`{"data": [...], "meta": {"page",
//! "limit", "total"}}`), ids as 32 hex digits, `version` "v2", and 404 for an unknown id.

use std::sync::Mutex;

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::generate::SplitMix64;
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
    /// Deliveries not yet acknowledged nor given up.
    pub(super) pending: std::sync::atomic::AtomicUsize,
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
                .map(|s| (StatusCode::OK, Value::Object(masked(&s)), None)),
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
        stored.insert("successes".into(), json!(0));
        stored.insert("failures".into(), json!(0));
        stored.insert("disabled_at".into(), Value::Null);
        stored.insert("frozen_at".into(), Value::Null);
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
            .map(|s| Value::Object(masked(s)))
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
        self.pending.load(std::sync::atomic::Ordering::SeqCst)
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

/// A subscription as the API shows it: the token masked to its last four characters.
fn masked(s: &Map<String, Value>) -> Map<String, Value> {
    let mut out = s.clone();
    if let Some(Value::String(token)) = s.get("authToken") {
        let tail: String = token
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        out.insert("authToken".into(), json!(format!("****{tail}")));
    }
    out
}

fn not_found(id: &str) -> ApiError {
    ApiError {
        status: 404,
        class: "com.attask.eventsubscription.NotFound",
        message: format!("no subscription {id}"),
    }
}
