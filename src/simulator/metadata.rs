//! `GET .../<OBJ>/metadata` for the simulator's business objects: the enumerated fields
//! (status, condition, priority) with their `possibleValues`, in the shape of the official
//! client's fixtures (API notes §1). The pending-approval composites such as `CPL:A` are absent
//! on purpose: a tenant's metadata need not list them.

use serde_json::{Value, json};

fn values(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(v, l)| json!({"value": v, "label": l}))
            .collect(),
    )
}

/// The metadata of JournalEntry: every field the simulator knows with its type, and the
/// `changeType` enumeration (API notes §3; an open set, these are the codes documented).
fn journal_entry() -> Value {
    use super::store::{FIELDS, Kind};
    let mut fields = serde_json::Map::new();
    for def in FIELDS {
        let field_type = match def.kind {
            Kind::Id | Kind::Text => "string",
            Kind::Number => "double",
            Kind::Date => "dateTime",
        };
        let mut field = json!({"label": def.name, "fieldType": field_type,
                               "flags": if def.filterable { vec!["FILTERABLE", "SORTABLE"] } else { vec![] }});
        if def.name == "changeType" {
            field["enumType"] = json!("JOURNAL_CHANGE_TYPE");
            field["possibleValues"] = values(&CHANGE_TYPES);
        }
        fields.insert(def.name.into(), field);
    }
    json!({"data": {
        "objCode": "JRNLE", "name": "JournalEntry", "label": "Journal Entry",
        "fields": fields,
        "references": {"editedBy": {"objCode": "USER", "label": "Edited By"}},
        "collections": {}
    }})
}

/// Journal entries' change types (API notes §3; an open set). The notes name the meaning of
/// the first four only; the approval and later codes are labelled with themselves rather than
/// with a guess.
const CHANGE_TYPES: [(&str, &str); 22] = [
    ("A", "Add"),
    ("E", "Edit"),
    ("D", "Delete"),
    ("DW", "Download"),
    ("AAA", "AAA"),
    ("AAR", "AAR"),
    ("ARR", "ARR"),
    ("ARA", "ARA"),
    ("ADA", "ADA"),
    ("ADC", "ADC"),
    ("ADN", "ADN"),
    ("ADR", "ADR"),
    ("AAC", "AAC"),
    ("ARC", "ARC"),
    ("RDC", "RDC"),
    ("RDR", "RDR"),
    ("PUB", "PUB"),
    ("AAO", "AAO"),
    ("ADM", "ADM"),
    ("AUL", "AUL"),
    ("ALM", "ALM"),
    ("PFM", "PFM"),
];

/// The metadata answer for an object code, if the simulator knows the object.
pub fn metadata(obj: &str) -> Option<Value> {
    let code = obj.to_ascii_uppercase();
    if code == "JRNLE" || code == "JOURNALENTRY" {
        return Some(journal_entry());
    }
    let (name, status): (&str, &[(&str, &str)]) = match code.as_str() {
        "PROJ" => (
            "Project",
            &[
                ("CUR", "Current"),
                ("PLN", "Planning"),
                ("CPL", "Complete"),
                ("DED", "Dead"),
                ("ONH", "On Hold"),
                ("REQ", "Requested"),
                ("APR", "Approved"),
                ("IDA", "Idea"),
                ("REJ", "Rejected"),
            ],
        ),
        "TASK" => (
            "Task",
            &[("NEW", "New"), ("INP", "In Progress"), ("CPL", "Complete")],
        ),
        "OPTASK" => (
            "Issue",
            &[
                ("NEW", "New"),
                ("INP", "In Progress"),
                ("CPL", "Closed"),
                ("AWF", "Awaiting Feedback"),
                ("RLV", "Resolved"),
            ],
        ),
        "PORT" => ("Portfolio", &[]),
        "PRGM" => ("Program", &[]),
        "USER" => ("User", &[]),
        _ => return None,
    };
    let mut fields = serde_json::Map::new();
    if !status.is_empty() {
        fields.insert(
            "status".into(),
            json!({"label": "Status", "fieldType": "string", "enumType": format!("STATUS_{code}"),
                   "possibleValues": values(status)}),
        );
        fields.insert(
            "condition".into(),
            json!({"label": "Condition", "fieldType": "string", "enumType": "CONDITION",
                   "possibleValues": values(&[("ON", "On Target"), ("AR", "At Risk"), ("IT", "In Trouble")])}),
        );
        fields.insert(
            "priority".into(),
            json!({"label": "Priority", "fieldType": "int", "enumType": "PRIORITY",
                   "possibleValues": values(&[("0", "None"), ("1", "Low"), ("2", "Normal"), ("3", "High"), ("4", "Urgent")])}),
        );
    }
    fields.insert(
        "name".into(),
        json!({"label": "Name", "fieldType": "string"}),
    );
    Some(json!({"data": {
        "objCode": code, "name": name, "label": name,
        "fields": fields, "references": {}, "collections": {}
    }}))
}
