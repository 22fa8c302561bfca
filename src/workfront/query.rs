//! Building JRNLE query parameters: filters, the date range, sort, fields and paging.
//!
//! The traps this avoids (API notes §4): one condition per field per filter group, so the date
//! range is a single inclusive `between`; several values of a text field are repeated
//! parameters with `_Mod=in` (a comma-joined list matches nothing); paged queries sort on a
//! unique key (`entryDate` then `ID`) or rows go missing and repeat.

use chrono::{DateTime, Duration, Utc};

use crate::model::date::format_utc_ms;

/// The fields every search asks for, never `*`.
pub const SEARCH_FIELDS: [&str; 19] = [
    "ID",
    "entryDate",
    "changeType",
    "fieldName",
    "objObjCode",
    "objID",
    "referenceObjectName",
    "subObjCode",
    "subObjID",
    "topObjCode",
    "topObjID",
    "oldTextVal",
    "newTextVal",
    "oldNumberVal",
    "newNumberVal",
    "oldDateVal",
    "newDateVal",
    "editedByID",
    "editedBy:name",
];

/// The key one of [`SEARCH_FIELDS`] has in a record: a referenced object's field
/// (`editedBy:name`) comes inside the reference (`editedBy`).
pub fn record_key(field: &str) -> &str {
    field
        .split_once(':')
        .map_or(field, |(reference, _)| reference)
}

/// Workfront's largest `$$LIMIT`; one more is an error.
pub const MAX_PAGE: usize = 2000;

pub type Params = Vec<(String, String)>;

/// What the user asked for, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filters {
    pub obj_codes: Vec<String>,
    pub fields: Vec<String>,
    pub obj_ids: Vec<String>,
    pub edited_by: Vec<String>,
    pub change_types: Vec<String>,
    /// Inclusive; `None` means from the beginning.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: DateTime<Utc>,
}

impl Filters {
    /// The window as `[since, until)`, for messages.
    pub fn window(&self) -> String {
        match &self.since {
            Some(since) => format!("[{}, {})", format_utc_ms(since), format_utc_ms(&self.until)),
            None => format!("the entries before {}", format_utc_ms(&self.until)),
        }
    }
}

/// The filter parameters, shared by `/count` and `/search`.
pub fn filter_params(f: &Filters) -> Params {
    let mut p = Params::new();
    for (name, values) in [
        ("objObjCode", &f.obj_codes),
        ("fieldName", &f.fields),
        ("objID", &f.obj_ids),
        ("editedByID", &f.edited_by),
        ("changeType", &f.change_types),
    ] {
        push_condition(&mut p, name, values);
    }
    // `between` is inclusive at both ends and dates have millisecond precision, so the
    // half-open [since, until) is `between since and until - 1 ms`.
    let last = format_utc_ms(&(f.until - Duration::milliseconds(1)));
    match &f.since {
        Some(since) => {
            p.push(("entryDate".into(), format_utc_ms(since)));
            p.push(("entryDate_Mod".into(), "between".into()));
            p.push(("entryDate_Range".into(), last));
        }
        None => {
            p.push(("entryDate".into(), last));
            p.push(("entryDate_Mod".into(), "lte".into()));
        }
    }
    p
}

/// One condition: `name=v` for one value; repeated `name=v` with `name_Mod=in` for several.
fn push_condition(p: &mut Params, name: &str, values: &[String]) {
    for v in values {
        p.push((name.to_string(), v.clone()));
    }
    if values.len() > 1 {
        p.push((format!("{name}_Mod"), "in".into()));
    }
}

/// A page of a search: filters, explicit fields, a total order, and the page bounds.
pub fn search_params(f: &Filters, first: usize, limit: usize) -> Params {
    let mut p = filter_params(f);
    p.push(("fields".into(), SEARCH_FIELDS.join(",")));
    p.push(("entryDate_1_Sort".into(), "asc".into()));
    p.push(("ID_2_Sort".into(), "asc".into()));
    p.push(("$$FIRST".into(), first.to_string()));
    p.push(("$$LIMIT".into(), limit.to_string()));
    p
}

/// The newest matching entry: the same query sorted the other way, one row.
pub fn last_entry_params(f: &Filters) -> Params {
    let mut p = filter_params(f);
    p.push(("fields".into(), SEARCH_FIELDS.join(",")));
    p.push(("entryDate_1_Sort".into(), "desc".into()));
    p.push(("ID_2_Sort".into(), "desc".into()));
    p.push(("$$FIRST".into(), "0".into()));
    p.push(("$$LIMIT".into(), "1".into()));
    p
}

/// Form-encode parameters for a query string or a POST body.
pub fn encode(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::date::parse_user_time;

    fn filters() -> Filters {
        Filters {
            obj_codes: vec![],
            fields: vec![],
            obj_ids: vec![],
            edited_by: vec![],
            change_types: vec![],
            since: Some(parse_user_time("2025-01-07").unwrap()),
            until: parse_user_time("2025-01-08").unwrap(),
        }
    }

    fn get<'a>(p: &'a Params, name: &str) -> Vec<&'a str> {
        p.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn half_open_window_is_one_inclusive_between() {
        let p = filter_params(&filters());
        assert_eq!(get(&p, "entryDate"), ["2025-01-07T00:00:00.000Z"]);
        assert_eq!(get(&p, "entryDate_Mod"), ["between"]);
        assert_eq!(get(&p, "entryDate_Range"), ["2025-01-07T23:59:59.999Z"]);
    }

    #[test]
    fn open_start_is_one_lte() {
        let p = filter_params(&Filters {
            since: None,
            ..filters()
        });
        assert_eq!(get(&p, "entryDate"), ["2025-01-07T23:59:59.999Z"]);
        assert_eq!(get(&p, "entryDate_Mod"), ["lte"]);
        assert!(get(&p, "entryDate_Range").is_empty());
    }

    #[test]
    fn several_values_repeat_with_in_and_one_value_is_plain() {
        let p = filter_params(&Filters {
            obj_codes: vec!["TASK".into(), "PROJ".into()],
            fields: vec!["DE:Budget Code".into()],
            ..filters()
        });
        assert_eq!(get(&p, "objObjCode"), ["TASK", "PROJ"]);
        assert_eq!(get(&p, "objObjCode_Mod"), ["in"]);
        assert_eq!(get(&p, "fieldName"), ["DE:Budget Code"]);
        assert!(get(&p, "fieldName_Mod").is_empty());
        // Never a comma-joined list: it matches nothing on text fields.
        assert!(p.iter().all(|(_, v)| v != "TASK,PROJ"));
    }

    #[test]
    fn search_sorts_on_a_unique_key_and_names_its_fields() {
        let p = search_params(&filters(), 4000, MAX_PAGE);
        assert_eq!(get(&p, "entryDate_1_Sort"), ["asc"]);
        assert_eq!(get(&p, "ID_2_Sort"), ["asc"]);
        assert_eq!(get(&p, "$$FIRST"), ["4000"]);
        assert_eq!(get(&p, "$$LIMIT"), ["2000"]);
        let fields = get(&p, "fields")[0];
        assert!(!fields.contains('*'));
        assert!(fields.contains("editedBy:name") && fields.contains("referenceObjectName"));
    }

    #[test]
    fn encoding_escapes_what_needs_it() {
        let q = encode(&[("fieldName".into(), "DE:Budget Code".into())]);
        assert_eq!(q, "fieldName=DE%3ABudget+Code");
    }
}
