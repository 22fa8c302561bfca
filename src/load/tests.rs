//! Unit tests of where a load resumes and what it refuses.

use std::path::Path;

use super::*;
use crate::evidence::manifest::{Committed, DataFile, Manifest, SeriesQuery, Window};

fn committed(name: &str, sha256: &str) -> Committed {
    let query = SeriesQuery {
        tenant_url: "https://t".into(),
        obj_codes: vec![],
        fields: vec![],
        obj_ids: vec![],
        edited_by: vec![],
        change_types: vec![],
        format: "ndjson".into(),
        formula_guard: true,
    };
    let window = Window {
        from: "2025-01-01T00:00:00.000Z".into(),
        to: "2025-01-02T00:00:00.000Z".into(),
    };
    let data = DataFile {
        name: name.trim_end_matches(".manifest.json").into(),
        size: 0,
        sha256: String::new(),
    };
    Committed {
        name: name.into(),
        sha256: sha256.into(),
        manifest: Manifest::new("v21.0", query, 1, window, String::new(), data, None),
    }
}

fn line(position: u64, name: &str, sha256: &str) -> Loaded {
    Loaded {
        position,
        manifest: name.into(),
        sha256: sha256.into(),
        rows: 0,
    }
}

#[test]
fn a_load_resumes_after_what_the_bookkeeping_holds_and_refuses_what_changed() {
    let dir = Path::new("out");
    let chain = [
        committed("a.manifest.json", "1"),
        committed("b.manifest.json", "2"),
    ];
    assert_eq!(resume_at(dir, &chain, &[]).unwrap(), 0);
    assert_eq!(
        resume_at(dir, &chain, &[line(0, "a.manifest.json", "1")]).unwrap(),
        1
    );
    let both = [
        line(0, "a.manifest.json", "1"),
        line(1, "b.manifest.json", "2"),
    ];
    assert_eq!(resume_at(dir, &chain, &both).unwrap(), 2);
    // A loaded manifest rewritten: exit 5, naming it.
    let e = resume_at(dir, &chain, &[line(0, "a.manifest.json", "0")]).unwrap_err();
    assert_eq!(e.exit_code(), 5);
    assert!(
        e.to_string()
            .contains("a.manifest.json was loaded with SHA-256 0"),
        "{e}"
    );
    // A loaded manifest removed since.
    let e = resume_at(dir, &chain[..1], &both).unwrap_err();
    assert_eq!(e.exit_code(), 5);
    assert!(e.to_string().contains("no longer holds it"), "{e}");
    // Another out-dir's series: the wrong table, not tampering.
    let e = resume_at(dir, &chain, &[line(0, "z.manifest.json", "9")]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("a --table of its own"), "{e}");
}

#[test]
fn table_names_are_plain_identifiers() {
    assert_eq!(
        Tables::new("jrnle_changes").unwrap().manifests,
        "jrnle_changes_manifests"
    );
    for bad in ["", "1x", "a-b", "A", "x; drop table y", &"x".repeat(51)] {
        assert_eq!(Tables::new(bad).unwrap_err().exit_code(), 2, "{bad}");
    }
}

#[test]
fn a_records_values_are_typed_and_an_entry_date_that_is_no_date_is_null() {
    use crate::model::change::{ChangeRecord, SourceKind, Value, ValueType};
    use std::borrow::Cow;
    let mut r = ChangeRecord::empty(SourceKind::Event);
    r.id = Some(Cow::Borrowed("e1"));
    r.entry_date = Some(Cow::Borrowed("2025-01-07T17:15:02.117Z"));
    r.custom_field = true;
    r.value_type = ValueType::Number;
    r.old_value = Value::Number("7.75".into());
    let (values, null_date) = columns::values(&r, "m.manifest.json").unwrap();
    assert!(!null_date);
    assert_eq!(values[0], Val::Text("e1"));
    assert_eq!(values[1], Val::Timestamp("2025-01-07T17:15:02.117Z"));
    assert_eq!(values[6], Val::Bool(true));
    assert_eq!(values[8], Val::Text("number"));
    assert_eq!(values[9], Val::Text("7.75"));
    assert_eq!(values[10], Val::Null);
    assert_eq!(values[columns::WIDTH - 2], Val::Text("event"));
    assert_eq!(values[columns::WIDTH - 1], Val::Text("m.manifest.json"));
    let names = columns::columns().map(|c| c.name);
    assert_eq!(&names[..3], ["id", "entry_date", "obj_code"]);
    assert_eq!(&names[columns::WIDTH - 2..], ["source", "loaded_from"]);
    // Kept as text by normalization, loaded as null and counted.
    r.entry_date = Some(Cow::Borrowed("last Tuesday"));
    let (values, null_date) = columns::values(&r, "m").unwrap();
    assert!(null_date);
    assert_eq!(values[1], Val::Null);
    r.id = None;
    assert_eq!(columns::values(&r, "m").unwrap_err().exit_code(), 2);
}
