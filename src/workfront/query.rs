//! Building query parameters: the user's JRNLE filters, the date range, sort, fields and
//! paging, for any [`ObjectType`].
//!
//! The traps this avoids (API notes §4): one condition per field per filter group, so the date
//! range is a single inclusive `between`; several values of a text field are repeated
//! parameters with `_Mod=in` (a comma-joined list matches nothing); paged queries sort on a
//! unique key (`entryDate` then `ID`) or rows go missing and repeat.

use chrono::{DateTime, Duration, Utc};

use crate::model::date::format_utc_ms;
use crate::workfront::jrnle::Journal;
use crate::workfront::object::ObjectType;

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
    /// No filter but the window `[since, until)`.
    pub fn window_only(since: Option<DateTime<Utc>>, until: DateTime<Utc>) -> Filters {
        Filters {
            obj_codes: vec![],
            fields: vec![],
            obj_ids: vec![],
            edited_by: vec![],
            change_types: vec![],
            since,
            until,
        }
    }

    /// The window as `[since, until)`, for messages.
    pub fn window(&self) -> String {
        describe_window(self.since.as_ref(), &self.until)
    }

    /// The list filters whose values are checked for matching nothing (a typo): the others
    /// hold ids, which a typo makes into another id, not into nothing.
    pub const CHECKED: [&'static str; 3] = ["--field", "--obj-code", "--change-type"];

    /// Each list filter: its JRNLE field, its flag, its values.
    pub fn lists(&self) -> [(&'static str, &'static str, &[String]); 5] {
        [
            ("objObjCode", "--obj-code", &self.obj_codes),
            ("fieldName", "--field", &self.fields),
            ("objID", "--obj-id", &self.obj_ids),
            ("editedByID", "--edited-by", &self.edited_by),
            ("changeType", "--change-type", &self.change_types),
        ]
    }

    /// These filters with list filter `flag` (one of [`Filters::lists`]) narrowed to `value`.
    pub fn with_only(&self, flag: &str, value: &str) -> Filters {
        let mut f = self.clone();
        let list = match flag {
            "--obj-code" => &mut f.obj_codes,
            "--field" => &mut f.fields,
            "--obj-id" => &mut f.obj_ids,
            "--edited-by" => &mut f.edited_by,
            _ => &mut f.change_types,
        };
        *list = vec![value.to_string()];
        f
    }

    /// The JRNLE search these filters ask for.
    pub fn search(&self) -> Search<Journal> {
        Search {
            object: Journal::new(self),
            since: self.since,
            until: self.until,
        }
    }
}

/// The JRNLE conditions of the filters (all but the window).
pub(crate) fn journal_conditions(f: &Filters) -> Params {
    let mut p = Params::new();
    for (name, _, values) in f.lists() {
        push_condition(&mut p, name, values);
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

/// What the API layer fetches: an object type with its conditions, within `[since, until)`
/// of its date field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search<O> {
    pub object: O,
    /// Inclusive; `None` means from the beginning.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: DateTime<Utc>,
}

impl<O: ObjectType> Search<O> {
    /// The window as `[since, until)`, for messages.
    pub fn window(&self) -> String {
        describe_window(self.since.as_ref(), &self.until)
    }

    /// The same search within `[since, until)`.
    pub fn within(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Search<O> {
        Search {
            object: self.object.clone(),
            since: Some(since),
            until,
        }
    }

    /// The parameters of a `/count`, which every `/search` starts with: the conditions and
    /// the window.
    pub fn count_params(&self) -> Params {
        let mut p = Params::new();
        self.object.conditions(&mut p);
        let field = self.object.date_field();
        // `between` is inclusive at both ends and dates have millisecond precision, so the
        // half-open [since, until) is `between since and until - 1 ms`.
        let last = format_utc_ms(&(self.until - Duration::milliseconds(1)));
        match &self.since {
            Some(since) => {
                p.push((field.into(), format_utc_ms(since)));
                p.push((format!("{field}_Mod"), "between".into()));
                p.push((format!("{field}_Range"), last));
            }
            None => {
                p.push((field.into(), last));
                p.push((format!("{field}_Mod"), "lte".into()));
            }
        }
        p
    }

    /// The first page of the records after the key `(date, id)` (`date` in UTC with
    /// milliseconds, as [`crate::workfront::object::Keyed`] gives it): keyset paging, which no
    /// record leaving or arriving elsewhere in the window can shift. A filter group is one
    /// condition per field, so "after the key" is two groups ORed (API notes §4): the window
    /// from the next millisecond on, or the key's own millisecond (`exacttime`) with a greater
    /// `ID`; the conditions are in both.
    pub fn page_after_params(&self, date: &str, id: &str, limit: usize) -> Params {
        let field = self.object.date_field();
        let next = crate::model::date::parse_timestamp(date)
            .map(|d| d.with_timezone(&Utc) + Duration::milliseconds(1));
        let mut p = match next {
            Some(next) => self.within(next, self.until).count_params(),
            None => self.count_params(),
        };
        let mut group = Params::new();
        self.object.conditions(&mut group);
        group.push((field.into(), date.into()));
        group.push((format!("{field}_Mod"), "exacttime".into()));
        group.push(("ID".into(), id.into()));
        group.push(("ID_Mod".into(), "gt".into()));
        p.extend(group.into_iter().map(|(k, v)| (format!("OR:1:{k}"), v)));
        self.order_and_bounds(&mut p, 0, limit);
        p
    }

    /// A page of a search: conditions, window, explicit fields, a total order, page bounds.
    pub fn page_params(&self, first: usize, limit: usize) -> Params {
        let mut p = self.count_params();
        self.order_and_bounds(&mut p, first, limit);
        p
    }

    /// Explicit fields, the total order `(date, ID)` ascending, and `$$FIRST`/`$$LIMIT`.
    fn order_and_bounds(&self, p: &mut Params, first: usize, limit: usize) {
        let order = "asc";
        p.push(("fields".into(), self.object.fields()));
        p.push((format!("{}_1_Sort", self.object.date_field()), order.into()));
        p.push(("ID_2_Sort".into(), order.into()));
        p.push(("$$FIRST".into(), first.to_string()));
        p.push(("$$LIMIT".into(), limit.to_string()));
    }
}

fn describe_window(since: Option<&DateTime<Utc>>, until: &DateTime<Utc>) -> String {
    match since {
        Some(since) => format!("[{}, {})", format_utc_ms(since), format_utc_ms(until)),
        None => format!("the entries before {}", format_utc_ms(until)),
    }
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
        Filters::window_only(
            Some(parse_user_time("2025-01-07").unwrap()),
            parse_user_time("2025-01-08").unwrap(),
        )
    }

    fn get<'a>(p: &'a Params, name: &str) -> Vec<&'a str> {
        p.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn half_open_window_is_one_inclusive_between() {
        let p = filters().search().count_params();
        assert_eq!(get(&p, "entryDate"), ["2025-01-07T00:00:00.000Z"]);
        assert_eq!(get(&p, "entryDate_Mod"), ["between"]);
        assert_eq!(get(&p, "entryDate_Range"), ["2025-01-07T23:59:59.999Z"]);
    }

    #[test]
    fn open_start_is_one_lte() {
        let p = Filters {
            since: None,
            ..filters()
        }
        .search()
        .count_params();
        assert_eq!(get(&p, "entryDate"), ["2025-01-07T23:59:59.999Z"]);
        assert_eq!(get(&p, "entryDate_Mod"), ["lte"]);
        assert!(get(&p, "entryDate_Range").is_empty());
    }

    #[test]
    fn several_values_repeat_with_in_and_one_value_is_plain() {
        let p = Filters {
            obj_codes: vec!["TASK".into(), "PROJ".into()],
            fields: vec!["DE:Budget Code".into()],
            ..filters()
        }
        .search()
        .count_params();
        assert_eq!(get(&p, "objObjCode"), ["TASK", "PROJ"]);
        assert_eq!(get(&p, "objObjCode_Mod"), ["in"]);
        assert_eq!(get(&p, "fieldName"), ["DE:Budget Code"]);
        assert!(get(&p, "fieldName_Mod").is_empty());
        // Never a comma-joined list: it matches nothing on text fields.
        assert!(p.iter().all(|(_, v)| v != "TASK,PROJ"));
    }

    #[test]
    fn search_sorts_on_a_unique_key_and_names_its_fields() {
        let p = filters().search().page_params(4000, MAX_PAGE);
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

    #[test]
    fn after_a_key_is_the_next_millisecond_on_or_the_same_one_with_a_greater_id() {
        let f = Filters {
            fields: vec!["status".into()],
            ..filters()
        }
        .search();
        let p = f.page_after_params("2025-01-07T10:00:00.500Z", "abc", MAX_PAGE);
        let get = |k: &str| get(&p, k);
        assert_eq!(get("entryDate"), ["2025-01-07T10:00:00.501Z"]);
        assert_eq!(get("entryDate_Mod"), ["between"]);
        assert_eq!(get("entryDate_Range"), ["2025-01-07T23:59:59.999Z"]);
        assert_eq!(get("OR:1:entryDate"), ["2025-01-07T10:00:00.500Z"]);
        assert_eq!(get("OR:1:entryDate_Mod"), ["exacttime"]);
        assert_eq!(get("OR:1:ID"), ["abc"]);
        assert_eq!(get("OR:1:ID_Mod"), ["gt"]);
        // The user's conditions hold in both groups.
        assert_eq!(get("OR:1:fieldName"), get("fieldName"));
        assert!(!get("fieldName").is_empty());
        assert_eq!(get("$$FIRST"), ["0"]);
        assert_eq!(get("ID_2_Sort"), ["asc"]);
    }
}
