//! Report requests: how many records of a search fall on each value of one field, and the
//! newest date among them, in one request instead of paging through every record
//! (`<field>_1_GroupBy=true&ID_AggFunc=count&<date>_AggFunc=max&$$ROLLUP=true`).
//!
//! Workfront documents the request and one example answer, not the answer's whole shape. So
//! an answer is used only when every group reads for certain (the grouped field's value
//! inside the group, a whole-number count, a date or null for the newest) and the groups add
//! up to the rollup; anything else, or a tenant that refuses the request, is
//! [`Grouping::Unavailable`] with the reason, and the caller counts by paging instead.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::date::parse_timestamp;
use crate::workfront::client::Client;
use crate::workfront::object::ObjectType;
use crate::workfront::query::{Params, Search};

/// The records of one value of the grouped field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The value; `None` for records where the field is null.
    pub value: Option<String>,
    pub count: u64,
    /// The newest date-field value among them.
    pub newest: Option<DateTime<Utc>>,
}

/// A report's outcome: groups read for certain, or why there are none.
#[derive(Debug)]
pub enum Grouping {
    Groups(Vec<Group>),
    Unavailable(String),
}

impl<O: ObjectType> Search<O> {
    /// The parameters of a report grouping this search's records by `field`.
    pub fn report_params(&self, field: &str) -> Params {
        let mut p = self.count_params();
        p.push((format!("{field}_1_GroupBy"), "true".into()));
        p.push(("ID_AggFunc".into(), "count".into()));
        p.push((
            format!("{}_AggFunc", self.object.date_field()),
            "max".into(),
        ));
        p.push(("$$ROLLUP".into(), "true".into()));
        p
    }
}

/// The search's records grouped by `field`. Credentials refused and connections lost are
/// errors as for any request; an answer Workfront gives as an error, or one that does not
/// read for certain, is [`Grouping::Unavailable`].
pub async fn grouped<O: ObjectType>(
    client: &Client,
    search: &Search<O>,
    field: &str,
) -> Result<Grouping> {
    match client
        .report(&search.object, &search.report_params(field))
        .await
    {
        Ok(data) => Ok(read_groups(&data, field, search.object.date_field())
            .map_or_else(Grouping::Unavailable, Grouping::Groups)),
        Err(Error::Api { message, .. }) => Ok(Grouping::Unavailable(message)),
        Err(e) => Err(e),
    }
}

/// The groups of a report's `data`, or what in it cannot be read for certain.
pub fn read_groups(
    data: &Value,
    field: &str,
    date_field: &str,
) -> std::result::Result<Vec<Group>, String> {
    let groups = data
        .as_object()
        .ok_or("the report's data is not an object")?;
    let count_key = "count_ID";
    let newest_key = format!("max_{date_field}");
    let mut out = Vec::new();
    let mut rollup = None;
    for (key, group) in groups {
        let group = group
            .as_object()
            .ok_or_else(|| format!("group {key:?} is not an object"))?;
        let count = read_count(group, count_key)
            .ok_or_else(|| format!("group {key:?} has no {count_key}"))?;
        if key == "$$ROLLUP" {
            rollup = Some(count);
            continue;
        }
        let value = match group.get(field) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) => None,
            _ => return Err(format!("group {key:?} does not carry its {field}")),
        };
        let newest = match group.get(&newest_key) {
            Some(Value::String(s)) => Some(
                parse_timestamp(s)
                    .ok_or_else(|| format!("group {key:?} has {newest_key} {s:?}, not a date"))?
                    .with_timezone(&Utc),
            ),
            Some(Value::Null) | None if count == 0 => None,
            _ => return Err(format!("group {key:?} has no {newest_key}")),
        };
        out.push(Group {
            value,
            count,
            newest,
        });
    }
    let sum: u64 = out.iter().map(|g| g.count).sum();
    match rollup {
        Some(total) if total != sum => Err(format!(
            "the groups add up to {sum}, the rollup says {total}"
        )),
        _ => Ok(out),
    }
}

fn read_count(group: &Map<String, Value>, key: &str) -> Option<u64> {
    group.get(key)?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_read_their_value_count_and_newest_date() {
        let data = json!({
            "status": {"fieldName": "status", "count_ID": 3, "max_entryDate": "2025-05-18T17:00:00:000-0600"},
            "": {"fieldName": null, "count_ID": 1, "max_entryDate": "2025-01-01T00:00:00:000-0700"},
            "$$ROLLUP": {"count_ID": 4, "max_entryDate": "2025-05-18T17:00:00:000-0600"},
        });
        let groups = read_groups(&data, "fieldName", "entryDate").unwrap();
        assert_eq!(groups.len(), 2);
        let status = groups
            .iter()
            .find(|g| g.value.as_deref() == Some("status"))
            .unwrap();
        assert_eq!(status.count, 3);
        assert_eq!(
            status.newest.unwrap().to_rfc3339(),
            "2025-05-18T23:00:00+00:00"
        );
        assert!(groups.iter().any(|g| g.value.is_none() && g.count == 1));
    }

    #[test]
    fn anything_not_read_for_certain_is_refused() {
        let cases = [
            (json!([]), "not an object"),
            (
                json!({"status": {"count_ID": 3, "max_entryDate": null}}),
                "does not carry",
            ),
            (
                json!({"status": {"fieldName": "status", "dcount_ID": 3}}),
                "no count_ID",
            ),
            (
                json!({"status": {"fieldName": "status", "count_ID": 2.5}}),
                "no count_ID",
            ),
            (
                json!({"status": {"fieldName": "status", "count_ID": 3, "max_entryDate": "soon"}}),
                "not a date",
            ),
            (
                json!({"status": {"fieldName": "status", "count_ID": 3, "max_entryDate": null}}),
                "no max_entryDate",
            ),
            (
                json!({
                    "status": {"fieldName": "status", "count_ID": 3, "max_entryDate": "2025-05-18T17:00:00:000-0600"},
                    "$$ROLLUP": {"count_ID": 5},
                }),
                "add up to 3, the rollup says 5",
            ),
        ];
        for (data, says) in cases {
            let err = read_groups(&data, "fieldName", "entryDate").unwrap_err();
            assert!(err.contains(says), "{data}: {err}");
        }
    }
}
