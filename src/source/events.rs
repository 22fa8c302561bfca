//! Workfront event-subscription deliveries turned into change records (issue 16, API notes
//! §7): one record per field whose value differs between the object's old and new state.
//!
//! A delivery is `{"eventType", "subscriptionId", "eventTime": {"epochSecond", "nano"},
//! "newState", "oldState", ...}`; CREATE has an empty old state, DELETE only the old one, and
//! with `base64Encoding` the states come as base64 strings of their JSON. States are not whole
//! objects: each object type has a fixed list of fields (plus every `...ID` field and the
//! populated custom fields under `parameterValues`), so a field outside the list never shows a
//! change. Deliveries come at least once, unordered, with no event id: each record's `id` is a
//! stable key built from the subscription, object, event type, event time and field, so a
//! delivery seen twice gives the same records, which the writer keeps once.
//!
//! What a record holds: `entry_date` the event time; `change_type` `A`/`E`/`D` for
//! CREATE/UPDATE/DELETE; `edited_by_id` the new state's `lastUpdatedByID` (the payload's user
//! id where it has one; a DELETE's old state names the last editor before the delete, not who
//! deleted, so it is not used); values typed as journal values are: a date (event states write
//! a dot before the milliseconds) in UTC, a number as the journal renders numbers, text as
//! text, and a multi-select value (an array) or any other JSON as its compact JSON text.
//! Custom fields are `DE:<name>` with `custom_field` true. The fields that change with every
//! update of anything (`lastUpdateDate`, `lastUpdatedByID`) and the object's identity (`ID`,
//! `objCode`) are not changes of their own.

use std::borrow::Cow;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::state::{change_values, changed};
use super::{ChangeSource, Description, Receiver, TimeRange};
use crate::error::Result;
use crate::model::anomaly::AnomalySet;
use crate::model::change::{ChangeRecord, SourceKind};
use crate::model::date::format_utc_ms;

/// Fields that are not changes of their own (see the module doc).
const NOT_CHANGES: [&str; 4] = ["ID", "objCode", "lastUpdateDate", "lastUpdatedByID"];

/// Where the bodies of a commit's deliveries are: read once in order to learn what records
/// they hold, then fetched again one by one in output order, so a commit holds the records'
/// sort keys, never every body at once.
pub trait Bodies {
    /// How many deliveries.
    fn count(&self) -> usize;
    /// Each body in turn, with a handle to fetch it again by.
    fn each(&mut self, f: &mut dyn FnMut(u64, &[u8]) -> Result<()>) -> Result<()>;
    /// The body a handle names.
    fn body(&mut self, handle: u64) -> Result<Vec<u8>>;
}

/// Bodies held in memory (handles are indexes).
impl Bodies for Vec<Vec<u8>> {
    fn count(&self) -> usize {
        self.len()
    }

    fn each(&mut self, f: &mut dyn FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
        self.iter()
            .enumerate()
            .try_for_each(|(i, b)| f(i as u64, b))
    }

    fn body(&mut self, handle: u64) -> Result<Vec<u8>> {
        Ok(self[handle as usize].clone())
    }
}

/// The change records of deliveries, each once (by id), in output order (event time, then
/// id). Memory: the sort key of each record (its date, id and where its body is), not the
/// bodies nor the records.
pub struct DeliveredEvents<B: Bodies> {
    bodies: B,
}

impl<B: Bodies> DeliveredEvents<B> {
    /// The raw bodies of deliveries, each read at the door already.
    pub fn new(bodies: B) -> DeliveredEvents<B> {
        DeliveredEvents { bodies }
    }
}

/// Where a record is: its date (fixed-width UTC text, kept inline: 40 bytes a record in all),
/// its delivery's handle and its place among that delivery's changes. Records of one date are
/// put in id order when they are written (their ids are read then, a date's group at a time).
struct Place {
    date: [u8; 24],
    handle: u64,
    index: u32,
}

fn date_key(date: Option<&str>) -> [u8; 24] {
    let mut key = [0u8; 24];
    let bytes = date.unwrap_or("").as_bytes();
    let n = bytes.len().min(24);
    key[..n].copy_from_slice(&bytes[..n]);
    key
}

/// A body that no longer reads was damaged after it was accepted.
fn reparsed(body: &[u8]) -> Result<Vec<ChangeRecord<'static>>> {
    let delivery = Delivery::parse(body).map_err(|e| {
        crate::error::Error::Internal(format!("a journaled delivery does not read: {e}"))
    })?;
    Ok(delivery.changes())
}

impl<B: Bodies> DeliveredEvents<B> {
    /// Pass 1: every record's place, each id once, sorted into output order.
    fn places(&mut self) -> Result<Vec<Place>> {
        let mut places = Vec::new();
        let mut seen = crate::model::ids::IdSet::default();
        self.bodies.each(&mut |handle, body| {
            for (index, r) in reparsed(body)?.into_iter().enumerate() {
                let id = r.id.as_deref().unwrap_or("");
                if seen.insert(id) {
                    places.push(Place {
                        date: date_key(r.entry_date.as_deref()),
                        handle,
                        index: index as u32,
                    });
                }
            }
            Ok(())
        })?;
        places.sort_unstable_by_key(|p| (p.date, p.handle, p.index));
        Ok(places)
    }

    /// The record at `place`, its delivery parsed again unless it was the last one parsed.
    fn record(
        &mut self,
        place: &Place,
        parsed: &mut Option<(u64, Vec<ChangeRecord<'static>>)>,
    ) -> Result<ChangeRecord<'static>> {
        if parsed.as_ref().is_none_or(|(h, _)| *h != place.handle) {
            let body = self.bodies.body(place.handle)?;
            *parsed = Some((place.handle, reparsed(&body)?));
        }
        let records = parsed.as_ref().map(|(_, r)| r).expect("parsed above");
        records.get(place.index as usize).cloned().ok_or_else(|| {
            crate::error::Error::Internal("a journaled delivery changed while read".into())
        })
    }
}

impl<B: Bodies> ChangeSource for DeliveredEvents<B> {
    fn describe(&self) -> Description {
        Description {
            kind: SourceKind::Event,
            query: format!("{} event subscription deliveries", self.bodies.count()),
        }
    }

    fn expected<'a>(
        &'a self,
        _: &'a TimeRange,
    ) -> LocalBoxFuture<'a, crate::error::Result<Option<u64>>> {
        super::uncounted()
    }

    fn deliver<'a>(
        &'a mut self,
        range: Option<TimeRange>,
        to: &'a mut dyn Receiver,
    ) -> LocalBoxFuture<'a, crate::error::Result<u64>> {
        async move {
            super::whole_only(range, "event deliveries")?;
            let places = self.places()?;
            // Pass 2: each record from its body, fetched again (the last one parsed is kept:
            // a delivery's records mostly follow each other), a date at a time in id order.
            let mut parsed = None;
            for group in places.chunk_by(|a, b| a.date == b.date) {
                let mut records = group
                    .iter()
                    .map(|place| self.record(place, &mut parsed))
                    .collect::<Result<Vec<_>>>()?;
                records.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
                for record in records {
                    to.take(record, AnomalySet::default())?;
                }
            }
            Ok(places.len() as u64)
        }
        .boxed_local()
    }
}

/// Where a state keeps its custom fields, keyed `DE:<name>`.
const CUSTOM: &str = "parameterValues";

/// One delivery, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub event_type: EventType,
    pub subscription_id: String,
    pub event_time: DateTime<Utc>,
    pub new_state: Map<String, Value>,
    pub old_state: Map<String, Value>,
    /// The payload's own user id, where it has one.
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Create,
    Update,
    Delete,
}

impl EventType {
    fn named(name: &str) -> Option<EventType> {
        match name {
            "CREATE" => Some(EventType::Create),
            "UPDATE" => Some(EventType::Update),
            "DELETE" => Some(EventType::Delete),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            EventType::Create => "CREATE",
            EventType::Update => "UPDATE",
            EventType::Delete => "DELETE",
        }
    }

    /// The journal's change type for the event.
    fn change_type(self) -> &'static str {
        match self {
            EventType::Create => "A",
            EventType::Update => "E",
            EventType::Delete => "D",
        }
    }
}

impl Delivery {
    /// Read a delivery's body. Anything that is not Workfront's payload shape is an error that
    /// says what is wrong (such a body is answered 4xx and kept in quarantine, not dropped).
    pub fn parse(body: &[u8]) -> Result<Delivery, String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let o = v.as_object().ok_or("not a JSON object")?;
        let text = |k: &str| o.get(k).and_then(Value::as_str);
        let event_type = text("eventType").ok_or("no eventType")?;
        let event_type = EventType::named(event_type)
            .ok_or_else(|| format!("unknown eventType {event_type:?}"))?;
        let subscription_id = text("subscriptionId")
            .ok_or("no subscriptionId")?
            .to_string();
        let time = o.get("eventTime").ok_or("no eventTime")?;
        let seconds = time["epochSecond"]
            .as_i64()
            .ok_or("no eventTime.epochSecond")?;
        let nano = time["nano"].as_u64().unwrap_or(0);
        let event_time = DateTime::from_timestamp(seconds, u32::try_from(nano).unwrap_or(0))
            .ok_or("eventTime out of range")?;
        let new_state = state(o.get("newState"), "newState")?;
        let old_state = state(o.get("oldState"), "oldState")?;
        if new_state.is_empty() && old_state.is_empty() {
            return Err("both states are empty".into());
        }
        let user_id = ["userId", "userID"]
            .iter()
            .find_map(|k| text(k))
            .map(String::from);
        Ok(Delivery {
            event_type,
            subscription_id,
            event_time,
            new_state,
            old_state,
            user_id,
        })
    }

    /// The change records of the delivery: one per field whose value differs, in field-name
    /// order (the writer orders records by `(entry_date, id)`).
    pub fn changes(&self) -> Vec<ChangeRecord<'static>> {
        let (new, old) = (flatten(&self.new_state), flatten(&self.old_state));
        let mut names: Vec<&String> = new.keys().chain(old.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter(|name| !NOT_CHANGES.contains(&name.as_str()))
            .filter_map(|name| {
                let (before, after) = (old.get(name).copied(), new.get(name).copied());
                changed(before, after).then(|| self.record(name, before, after))
            })
            .collect()
    }

    fn record(
        &self,
        field: &str,
        old: Option<&Value>,
        new: Option<&Value>,
    ) -> ChangeRecord<'static> {
        let either = |k: &str| {
            self.new_state
                .get(k)
                .or_else(|| self.old_state.get(k))
                .and_then(Value::as_str)
                .map(|s| Cow::Owned(s.to_string()))
        };
        let edited_by = self.user_id.clone().or_else(|| {
            self.new_state
                .get("lastUpdatedByID")
                .and_then(Value::as_str)
                .map(String::from)
        });
        let (old_value, new_value, value_type) = change_values(old, new);
        ChangeRecord {
            id: Some(Cow::Owned(self.key(field))),
            entry_date: Some(Cow::Owned(format_utc_ms(&self.event_time))),
            obj_code: either("objCode"),
            obj_id: either("ID"),
            obj_name: either("name"),
            field_name: Some(Cow::Owned(field.to_string())),
            custom_field: field.starts_with("DE:"),
            change_type: Some(Cow::Borrowed(self.event_type.change_type())),
            value_type,
            old_value,
            new_value,
            edited_by_id: edited_by.map(Cow::Owned),
            ..ChangeRecord::empty(SourceKind::Event)
        }
    }

    /// The record's id: the first 32 hex digits of the SHA-256 of the subscription, object,
    /// event type, event time (nanoseconds) and field, so the same event gives the same id
    /// however often it is delivered.
    fn key(&self, field: &str) -> String {
        let object = self
            .new_state
            .get("ID")
            .or_else(|| self.old_state.get("ID"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let nanos = self.event_time.timestamp_nanos_opt().unwrap_or_default();
        let text = format!(
            "{}\u{1f}{object}\u{1f}{}\u{1f}{nanos}\u{1f}{field}",
            self.subscription_id,
            self.event_type.name()
        );
        let digest = Sha256::digest(text.as_bytes());
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A state: an object, a base64 string of one (`base64Encoding`), or absent/null (empty).
fn state(v: Option<&Value>, name: &str) -> Result<Map<String, Value>, String> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|e| format!("{name} is a string but not base64: {e}"))?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(format!("{name} is base64 but not of a JSON object")),
            }
        }
        Some(_) => Err(format!("{name} is not an object")),
    }
}

/// The fields of a state with its custom fields brought up as `DE:<name>`.
fn flatten(state: &Map<String, Value>) -> std::collections::BTreeMap<String, &Value> {
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in state {
        if k == CUSTOM {
            if let Value::Object(custom) = v {
                for (name, value) in custom {
                    let name = match name.starts_with("DE:") {
                        true => name.clone(),
                        false => format!("DE:{name}"),
                    };
                    out.insert(name, value);
                }
            }
        } else {
            out.insert(k.clone(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::change::{Cell, Value as Cv, ValueType};
    use serde_json::json;

    fn delivery(v: Value) -> Delivery {
        Delivery::parse(v.to_string().as_bytes()).unwrap()
    }

    fn update(old: Value, new: Value) -> Value {
        json!({"eventType": "UPDATE", "subscriptionId": "sub-1",
               "eventTime": {"nano": 998_000_000, "epochSecond": 1_507_319_336_i64},
               "eventVersion": "v2", "subscriptionVersion": "v2",
               "oldState": old, "newState": new})
    }

    fn by_field<'a>(records: &'a [ChangeRecord<'static>], f: &str) -> &'a ChangeRecord<'static> {
        records
            .iter()
            .find(|r| r.field_name.as_deref() == Some(f))
            .unwrap_or_else(|| panic!("no change of {f}"))
    }

    #[test]
    fn an_update_gives_one_record_per_changed_field_of_every_type() {
        let old = json!({"ID": "t1", "objCode": "TASK", "name": "Design", "status": "INP",
            "percentComplete": 40, "work": 8.0, "plannedCompletionDate": "2017-10-06T13:36:28.722-0600",
            "assignedToID": "u1", "lastUpdateDate": "2017-10-01T00:00:00.000-0600",
            "lastUpdatedByID": "u0", "description": null});
        let new = json!({"ID": "t1", "objCode": "TASK", "name": "Design", "status": "CPL",
            "percentComplete": 100, "work": 8, "plannedCompletionDate": "2017-10-09T13:36:28.722-0600",
            "assignedToID": "u2", "lastUpdateDate": "2017-10-06T13:36:28.998-0600",
            "lastUpdatedByID": "u9", "description": null});
        let records = delivery(update(old, new)).changes();
        let fields: Vec<_> = records
            .iter()
            .map(|r| r.field_name.as_deref().unwrap())
            .collect();
        // Unchanged (name, work as 8.0 and 8, the null description) and bookkeeping fields
        // give nothing.
        assert_eq!(
            fields,
            [
                "assignedToID",
                "percentComplete",
                "plannedCompletionDate",
                "status"
            ]
        );
        let status = by_field(&records, "status");
        assert_eq!(status.change_type.as_deref(), Some("E"));
        assert_eq!(status.value_type, ValueType::Text);
        assert_eq!(
            (status.old_value.clone(), status.new_value.clone()),
            (Cv::Text("INP".into()), Cv::Text("CPL".into()))
        );
        assert_eq!(
            status.entry_date.as_deref(),
            Some("2017-10-06T19:48:56.998Z")
        );
        assert_eq!(status.edited_by_id.as_deref(), Some("u9"));
        assert_eq!(status.obj_code.as_deref(), Some("TASK"));
        assert_eq!(status.obj_id.as_deref(), Some("t1"));
        assert_eq!(status.obj_name.as_deref(), Some("Design"));
        assert_eq!(status.source, SourceKind::Event);
        let pc = by_field(&records, "percentComplete");
        assert_eq!(pc.value_type, ValueType::Number);
        assert_eq!(pc.new_value, Cv::Number("100".into()));
        let date = by_field(&records, "plannedCompletionDate");
        assert_eq!(date.value_type, ValueType::Date);
        assert_eq!(
            date.old_value,
            Cv::Text("2017-10-06T19:36:28.722Z".into()),
            "dot dates in UTC"
        );
        assert_eq!(date.cells()[10], Cell::Text("2017-10-09T19:36:28.722Z"));
    }

    #[test]
    fn custom_fields_added_removed_and_changed_are_de_fields_and_arrays_are_json() {
        let old = json!({"ID": "p1", "objCode": "PROJ",
            "parameterValues": {"DE:Risk": "Low", "DE:Budget": 100, "DE:Gone": "x",
                                "DE:Regions": ["EU", "US"]}});
        let new = json!({"ID": "p1", "objCode": "PROJ",
            "parameterValues": {"DE:Risk": "High", "DE:Budget": 100, "DE:New": "y",
                                "DE:Regions": ["EU", "US", "APAC"]}});
        let records = delivery(update(old, new)).changes();
        let fields: Vec<_> = records
            .iter()
            .map(|r| r.field_name.as_deref().unwrap())
            .collect();
        assert_eq!(fields, ["DE:Gone", "DE:New", "DE:Regions", "DE:Risk"]);
        assert!(records.iter().all(|r| r.custom_field));
        assert_eq!(by_field(&records, "DE:Gone").new_value, Cv::Null);
        assert_eq!(by_field(&records, "DE:New").old_value, Cv::Null);
        let regions = by_field(&records, "DE:Regions");
        assert_eq!(regions.new_value, Cv::Text(r#"["EU","US","APAC"]"#.into()));
    }

    #[test]
    fn create_and_delete_give_a_and_d_records_of_the_state_they_have() {
        let state = json!({"ID": "i1", "objCode": "OPTASK", "name": "Broken build",
                           "status": "NEW", "priority": 2, "description": null,
                           "lastUpdatedByID": "u3"});
        let create = json!({"eventType": "CREATE", "subscriptionId": "s",
            "eventTime": {"nano": 0, "epochSecond": 1_700_000_000_i64},
            "newState": state, "oldState": {}});
        let records = delivery(create).changes();
        assert_eq!(
            records.len(),
            3,
            "name, priority, status; nulls are no change"
        );
        assert!(records.iter().all(|r| r.change_type.as_deref() == Some("A")
            && r.old_value == Cv::Null
            && r.edited_by_id.as_deref() == Some("u3")));
        let delete = json!({"eventType": "DELETE", "subscriptionId": "s",
            "eventTime": {"nano": 0, "epochSecond": 1_700_000_100_i64},
            "oldState": state, "newState": {}});
        let records = delivery(delete).changes();
        assert_eq!(records.len(), 3);
        assert!(records.iter().all(|r| r.change_type.as_deref() == Some("D")
            && r.new_value == Cv::Null
            && r.obj_id.as_deref() == Some("i1")));
        assert!(
            records.iter().all(|r| r.edited_by_id.is_none()),
            "not the last editor"
        );
    }

    #[test]
    fn the_same_event_delivered_twice_gives_the_same_ids_and_another_event_other_ids() {
        let v = update(
            json!({"ID": "t1", "status": "NEW"}),
            json!({"ID": "t1", "status": "INP"}),
        );
        let once = delivery(v.clone()).changes();
        let again = delivery(v.clone()).changes();
        assert_eq!(once, again);
        let mut later = v;
        later["eventTime"]["nano"] = json!(999_000_000);
        assert_ne!(once[0].id, delivery(later).changes()[0].id);
        assert_eq!(once[0].id.as_deref().unwrap().len(), 32);
    }

    #[test]
    fn base64_states_are_read_and_bad_shapes_are_refused_with_a_reason() {
        let b64 = |v: Value| base64::engine::general_purpose::STANDARD.encode(v.to_string());
        let v = update(
            json!(b64(json!({"ID": "t1", "status": "NEW"}))),
            json!(b64(json!({"ID": "t1", "status": "INP"}))),
        );
        assert_eq!(delivery(v).changes().len(), 1);
        for (body, reason) in [
            ("not json", "not JSON"),
            ("[1]", "not a JSON object"),
            (
                r#"{"eventType":"SHARE","subscriptionId":"s","eventTime":{"epochSecond":1}}"#,
                "unknown eventType",
            ),
            (
                r#"{"eventType":"UPDATE","subscriptionId":"s"}"#,
                "no eventTime",
            ),
            (
                r#"{"eventType":"UPDATE","subscriptionId":"s","eventTime":{"epochSecond":1},
                 "newState":{},"oldState":{}}"#,
                "both states are empty",
            ),
            (
                r#"{"eventType":"UPDATE","subscriptionId":"s","eventTime":{"epochSecond":1},
                 "newState":"!!","oldState":{}}"#,
                "not base64",
            ),
        ] {
            let err = Delivery::parse(body.as_bytes()).unwrap_err();
            assert!(err.contains(reason), "{body}: {err}");
        }
    }

    /// Collects what a source hands over.
    struct Collect(Vec<ChangeRecord<'static>>);

    impl Receiver for Collect {
        fn take(&mut self, record: ChangeRecord<'_>, _: AnomalySet) -> Result<()> {
            self.0.push(record.into_owned());
            Ok(())
        }
    }

    #[test]
    fn deliveries_give_each_record_once_in_event_time_then_id_order_from_two_passes() {
        let at = |second: i64, status: &str| {
            let mut v = update(
                json!({"ID": "t1", "status": "NEW"}),
                json!({"ID": "t1", "status": status}),
            );
            v["eventTime"]["epochSecond"] = json!(second);
            v.to_string().into_bytes()
        };
        // Out of event order, one delivered twice.
        let bodies = vec![at(30, "CPL"), at(10, "INP"), at(30, "CPL"), at(20, "DON")];
        let mut source = DeliveredEvents::new(bodies);
        let mut out = Collect(Vec::new());
        let n = futures::executor::block_on(source.deliver(None, &mut out)).unwrap();
        assert_eq!(n, 3);
        let new: Vec<String> = out.0.iter().map(|r| format!("{:?}", r.new_value)).collect();
        assert_eq!(new, ["Text(\"INP\")", "Text(\"DON\")", "Text(\"CPL\")"]);
        assert!(out.0.windows(2).all(|w| w[0].sort_key() <= w[1].sort_key()));
    }
}
