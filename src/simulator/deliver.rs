//! Event deliveries (API notes §7): each entry the simulator journals while growing is also an
//! event for the subscriptions that match it (object type, event type, object, and the
//! subscription's `filters` on the event's states: `event_filter.rs`), POSTed to their URL with
//! Workfront's payload (`Authorization: Bearer <authToken>`) and retried as Workfront retries:
//! an answer that is not 2xx within 5 s is a failure, retried up to 11 times,
//! `((2^attempt) − 1) × unit` after the first failure (the unit is 84.8 s in Workfront;
//! `SimConfig::event_backoff` scales it for tests), then dropped. Every attempt counts in its
//! URL's health, and a disabled URL is sent only its probes (`health.rs`). The payload carries
//! the entry's field in the new and the old state (custom fields under `parameterValues`), the
//! object's id, code and name, and `lastUpdatedByID`; dates with a dot before the
//! milliseconds, as event payloads write them. An entry with no field (an approval) makes no
//! event. Which deliveries were acknowledged is kept, for tests to compare with what the
//! receiver committed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::Shared;
use super::health::Gate;
use crate::input::RawRecord;

/// Workfront's delivery attempts: the first and 11 retries.
const ATTEMPTS: u32 = 12;

/// An answer slower than this is a failed delivery.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Delivery faults (`simulate --event-faults`): what at-least-once, unordered delivery can do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventFaults {
    /// Every delivery is sent once more after it was acknowledged (a retry whose first answer
    /// was lost, or the duplicates after a subscription's version change).
    pub duplicate: bool,
    /// Each delivery waits up to 300 ms before its first attempt, so deliveries arrive out of
    /// the order of their events.
    pub reorder: bool,
}

impl EventFaults {
    /// The names `--event-faults` takes.
    pub const NAMES: [&'static str; 2] = ["duplicate", "reorder"];

    pub fn named(names: &[String]) -> Option<EventFaults> {
        let mut f = EventFaults::default();
        for n in names {
            match n.as_str() {
                "duplicate" => f.duplicate = true,
                "reorder" => f.reorder = true,
                _ => return None,
            }
        }
        Some(f)
    }
}

/// A delivery the receiver acknowledged: the subscription and the body it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    pub subscription: String,
    pub body: Vec<u8>,
}

/// Send `raw`'s event to every subscription it matches, each delivery on a task of its own.
pub(super) fn fan_out(shared: &Arc<Shared>, raw: &RawRecord) {
    for sub in shared.subscriptions.all() {
        let Some(event) = payload(raw, &sub) else {
            continue;
        };
        if !super::event_filter::of(&sub).matches(&event["oldState"], &event["newState"]) {
            continue;
        }
        let body = event.to_string().into_bytes();
        let text = |k: &str| sub.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (url, token, id) = (text("url"), text("authToken"), text("id"));
        let shared = shared.clone();
        shared.subscriptions.pending.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            deliver(&shared, &url, &token, id, body).await;
            shared.subscriptions.pending.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn deliver(shared: &Shared, url: &str, token: &str, subscription: String, body: Vec<u8>) {
    let client = &shared.subscriptions.client;
    let unit = shared.config.event_backoff;
    let faults = shared.config.event_faults;
    if faults.reorder {
        let wait = shared
            .jitter_rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .below(300);
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    let subscriptions = &shared.subscriptions;
    let send = || async {
        let sent = client
            .post(url)
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .timeout(ANSWER_WITHIN)
            .send()
            .await;
        let ok = sent.is_ok_and(|r| r.status().is_success());
        subscriptions.record(url, ok, unit);
        ok
    };
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(unit * ((1u32 << attempt) - 1)).await;
        }
        match subscriptions.gate(url, unit) {
            Gate::Send => {}
            Gate::Withhold => continue,
            Gate::Drop => return,
        }
        if send().await {
            if faults.duplicate {
                // Sent again (counted as any attempt); whatever the answer, the first
                // acknowledgement stands.
                send().await;
            }
            subscriptions.acknowledged(Acknowledged { subscription, body });
            return;
        }
    }
}

/// The event of a journal entry for a subscription, or `None` when its object type, event
/// type or object is not the subscription's.
fn payload(raw: &RawRecord, sub: &Map<String, Value>) -> Option<Value> {
    let text = |k: &str| raw.get(k).and_then(Value::as_str);
    let field = text("fieldName")?;
    let event = match text("changeType")? {
        "A" => "CREATE",
        "E" => "UPDATE",
        "D" => "DELETE",
        _ => return None,
    };
    let wants = |k: &str, v: Option<&str>| match sub.get(k).and_then(Value::as_str) {
        Some(want) => v == Some(want),
        None => true,
    };
    if !wants("objCode", text("objObjCode"))
        || !wants("eventType", Some(event))
        || !wants("objId", text("objID"))
    {
        return None;
    }
    let instant = crate::model::date::parse_timestamp(text("entryDate")?)?;
    let (old, new) = typed_pair(raw);
    let state = |value: Value, with_editor: bool| {
        let mut s = Map::new();
        s.insert("ID".into(), json!(text("objID")));
        s.insert("objCode".into(), json!(text("objObjCode")));
        s.insert("name".into(), json!(text("referenceObjectName")));
        if with_editor {
            s.insert("lastUpdatedByID".into(), json!(text("editedByID")));
        }
        match field.strip_prefix("DE:") {
            Some(_) => {
                let mut custom = Map::new();
                if !value.is_null() {
                    custom.insert(field.into(), value);
                }
                s.insert("parameterValues".into(), Value::Object(custom));
            }
            None => {
                s.insert(field.into(), value);
            }
        }
        Value::Object(s)
    };
    let (old_state, new_state) = match event {
        "CREATE" => (json!({}), state(new, true)),
        "DELETE" => (state(old, false), json!({})),
        _ => (state(old, false), state(new, true)),
    };
    let body = json!({
        "eventType": event,
        "subscriptionId": sub.get("id"),
        "eventTime": {"epochSecond": instant.timestamp(), "nano": instant.timestamp_subsec_nanos()},
        "eventVersion": "v2",
        "subscriptionVersion": "v2",
        "newState": new_state,
        "oldState": old_state,
    });
    Some(body)
}

/// The entry's old and new value from the typed pair it fills; dates as event payloads write
/// them (a dot before the milliseconds).
fn typed_pair(raw: &RawRecord) -> (Value, Value) {
    let get = |k: &str| raw.get(k).cloned().unwrap_or(Value::Null);
    for (old, new, date) in [
        ("oldTextVal", "newTextVal", false),
        ("oldNumberVal", "newNumberVal", false),
        ("oldDateVal", "newDateVal", true),
    ] {
        let (o, n) = (get(old), get(new));
        if o.is_null() && n.is_null() {
            continue;
        }
        let dotted = |v: Value| match (date, v) {
            (true, Value::String(s)) if s.len() > 19 && s.as_bytes()[19] == b':' => {
                Value::String(format!("{}.{}", &s[..19], &s[20..]))
            }
            (_, v) => v,
        };
        return (dotted(o), dotted(n));
    }
    (Value::Null, Value::Null)
}
