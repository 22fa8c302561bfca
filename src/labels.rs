//! `--labels`: readable words beside the codes. `change_label` from the documented change
//! types; `old_label`/`new_label` from each object type's `/metadata`, fetched once per run.

use std::collections::HashMap;

use serde_json::Value;

use crate::console;
use crate::model::change::{ChangeRecord, Labels, ValueType};
use crate::workfront::client::Client;

/// Words for the change types documented in the API notes (§3). The approval codes (v17+)
/// are documented by code only, so they are named as approval events; other codes are kept.
pub fn change_label(code: &str) -> Option<&'static str> {
    Some(match code {
        "A" => "Add",
        "E" => "Edit",
        "D" => "Delete",
        "DW" => "Download",
        "AAA" | "AAR" | "ARR" | "ARA" | "ADA" | "ADC" | "ADN" | "ADR" | "AAC" | "ARC" | "RDC"
        | "RDR" => "Approval event",
        "PUB" => "Publish",
        _ => return None,
    })
}

/// The object types whose metadata is read when `--obj-code` names none.
pub const DEFAULT_OBJECTS: [&str; 5] = ["PROJ", "TASK", "OPTASK", "PORT", "PRGM"];

/// Enumerated values per object type and field: code → label.
#[derive(Debug, Default)]
pub struct Labeler {
    enums: HashMap<String, HashMap<String, HashMap<String, String>>>,
}

impl Labeler {
    /// Read the enumerated fields of one object type's metadata answer.
    pub fn add_metadata(&mut self, obj_code: &str, data: &Value) {
        let Some(fields) = data.get("fields").and_then(Value::as_object) else {
            return;
        };
        let entry = self.enums.entry(obj_code.to_string()).or_default();
        for (field, spec) in fields {
            let Some(values) = spec.get("possibleValues").and_then(Value::as_array) else {
                continue;
            };
            let map: HashMap<String, String> = values
                .iter()
                .filter_map(|v| {
                    let value = match v.get("value")? {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    Some((value, v.get("label")?.as_str()?.to_string()))
                })
                .collect();
            entry.insert(field.clone(), map);
        }
    }

    /// Fetch the metadata of `objects` (at once, within the client's cap). An object type
    /// whose metadata cannot be read keeps its codes.
    pub async fn load(client: &Client, objects: &[String]) -> Labeler {
        let answers = futures::future::join_all(objects.iter().map(|o| client.metadata(o))).await;
        let mut labeler = Labeler::default();
        for (obj, answer) in objects.iter().zip(answers) {
            match answer {
                Ok(data) => labeler.add_metadata(obj, &data),
                Err(e) => console::verbose(format!("no labels for {obj}: {e}")),
            }
        }
        labeler
    }

    /// The labels of one record. A code the metadata does not list (a composite such as
    /// `CPL:A`, a custom status) is kept as it is.
    pub fn label(&self, r: &ChangeRecord<'_>) -> Labels {
        let values = r
            .obj_code
            .as_deref()
            .zip(r.field_name.as_deref())
            .and_then(|(obj, field)| self.enums.get(obj)?.get(field))
            .filter(|_| matches!(r.value_type, ValueType::Text | ValueType::Number));
        let word = |v: &crate::model::change::Value<'_>| -> Option<String> {
            let map = values?;
            let code = match v {
                crate::model::change::Value::Null => return None,
                crate::model::change::Value::Text(t) => t.as_ref(),
                crate::model::change::Value::Number(n) => &**n,
            };
            Some(map.get(code).cloned().unwrap_or_else(|| code.to_string()))
        };
        Labels {
            change_label: r
                .change_type
                .as_deref()
                .map(|c| change_label(c).map_or_else(|| c.to_string(), str::to_string)),
            old_label: word(&r.old_value),
            new_label: word(&r.new_value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::raw::from_map;
    use crate::normalize::normalize;
    use serde_json::json;

    fn labeler() -> Labeler {
        let mut l = Labeler::default();
        let meta = crate::simulator::metadata::metadata("TASK").unwrap();
        l.add_metadata("TASK", &meta["data"]);
        l
    }

    fn labels(v: Value) -> Labels {
        let raw = from_map(v.as_object().unwrap());
        labeler().label(&normalize(raw).0)
    }

    #[test]
    fn codes_become_words_and_unknown_codes_stay() {
        let l = labels(
            json!({"objObjCode": "TASK", "fieldName": "status", "changeType": "E",
                              "oldTextVal": "INP", "newTextVal": "CPL:A"}),
        );
        assert_eq!(l.change_label.as_deref(), Some("Edit"));
        assert_eq!(l.old_label.as_deref(), Some("In Progress"));
        assert_eq!(l.new_label.as_deref(), Some("CPL:A"));
        let l = labels(
            json!({"objObjCode": "TASK", "fieldName": "condition", "changeType": "A",
                              "oldTextVal": null, "newTextVal": "AR"}),
        );
        assert_eq!(
            (l.old_label, l.new_label.as_deref()),
            (None, Some("At Risk"))
        );
        let l = labels(
            json!({"objObjCode": "TASK", "fieldName": "priority", "changeType": "E",
                              "oldNumberVal": 2, "newNumberVal": 4}),
        );
        assert_eq!(l.new_label.as_deref(), Some("Urgent"));
        let l = labels(
            json!({"objObjCode": "TASK", "fieldName": "name", "changeType": "ZZZ",
                              "oldTextVal": "a", "newTextVal": "b"}),
        );
        assert_eq!(l.change_label.as_deref(), Some("ZZZ"));
        assert_eq!((l.old_label, l.new_label), (None, None));
        let l = labels(
            json!({"objObjCode": "PROJ", "fieldName": "status", "changeType": "D",
                              "oldTextVal": "CUR"}),
        );
        assert_eq!(l.change_label.as_deref(), Some("Delete"));
        assert_eq!(l.old_label, None, "no metadata loaded for PROJ");
    }
}
