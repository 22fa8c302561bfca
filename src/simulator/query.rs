//! The simulator's reading of search parameters, as strict as Workfront: filters with
//! `_Mod`/`_Range`, `OR:n:` groups, one condition per field per group, whole-day date `eq`,
//! multi-key sort, `$$FIRST`/`$$LIMIT` and `fields`. What Workfront rejects is rejected here.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::eval::compare_for_sort;
use super::modifier::Modifier;
use super::store::{EDITED_BY_FIELDS, Entry, JOURNAL, Kind, Schema, Selected};
use crate::model::date::{parse_date, parse_parts};

/// An error answer: status, exception class and message, as in Workfront's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub class: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError {
            status: 422,
            class: "com.attask.common.InvalidParameterException",
            message: message.into(),
        }
    }
}

/// Workfront's default and largest `$$LIMIT` (API notes §4).
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 2000;

#[derive(Debug, Clone)]
pub(super) enum Target {
    Field(usize),
    EditorName,
}

#[derive(Debug, Clone)]
pub(super) enum Operand {
    Text(String),
    Number(f64),
    Date(DateTime<Utc>),
}

#[derive(Debug, Clone)]
pub(super) struct Condition {
    pub(super) target: Target,
    pub(super) modifier: Modifier,
    pub(super) values: Vec<Operand>,
    pub(super) range: Option<Operand>,
}

/// Lower and upper bounds (both inclusive) on entryDate; `None` is unbounded.
pub type DateBounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A parsed search or count request.
#[derive(Debug)]
pub struct SimQuery {
    /// The object type searched.
    pub schema: &'static Schema,
    plain: Vec<Condition>,
    groups: Vec<Vec<Condition>>,
    /// The sort keys, in key order.
    pub sort: Vec<SortKey>,
    pub first: usize,
    pub limit: usize,
    pub fields: Vec<Selected>,
}

/// One sort key: `field_N_Sort=asc|desc|ciasc|cidesc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub field: usize,
    pub desc: bool,
    /// `ciasc`/`cidesc`: text compared without case.
    pub ci: bool,
}

impl SortKey {
    const fn asc(field: usize) -> SortKey {
        SortKey {
            field,
            desc: false,
            ci: false,
        }
    }

    const fn desc(field: usize) -> SortKey {
        SortKey {
            field,
            desc: true,
            ci: false,
        }
    }
}

/// The raw parts of one condition while parameters are collected.
#[derive(Default)]
struct RawCondition {
    values: Vec<String>,
    modifier: Option<String>,
    range: Option<String>,
}

/// A request's parameters as they are read, before the conditions are built.
struct Collected {
    schema: &'static Schema,
    groups: BTreeMap<Option<u32>, BTreeMap<String, RawCondition>>,
    /// (rank, position, key)
    sorts: Vec<(u32, usize, SortKey)>,
    first: usize,
    limit: usize,
    fields: Option<String>,
}

type Unsupported<'u> = &'u dyn Fn(&str) -> ApiError;

impl Collected {
    /// One parameter, at `position` among them.
    fn add(
        &mut self,
        position: usize,
        key: &str,
        value: &str,
        unsupported: Unsupported<'_>,
    ) -> Result<(), ApiError> {
        match key {
            "fields" => self.fields = Some(value.to_string()),
            "$$FIRST" => self.first = parse_count(key, value)?,
            "$$LIMIT" => self.limit = parse_limit(value)?,
            k if RESERVED.contains(&k) || k.starts_with("$$") => {}
            k => {
                let (group, name) = split_group(k)?;
                match name.strip_suffix("_Sort") {
                    Some(sort_name) => self.add_sort(position, sort_name, value, unsupported)?,
                    None => self.add_condition_part(group, name, value),
                }
            }
        }
        Ok(())
    }

    /// `field_N_Sort=asc|desc|ciasc|cidesc`, in any case (Workfront's constants show `ASC`).
    fn add_sort(
        &mut self,
        position: usize,
        sort_name: &str,
        value: &str,
        unsupported: Unsupported<'_>,
    ) -> Result<(), ApiError> {
        let (field, rank) = split_rank(sort_name);
        let index = self.schema.index(field).ok_or_else(|| unsupported(field))?;
        let (desc, ci) = match value.to_ascii_lowercase().as_str() {
            "asc" => (false, false),
            "desc" => (true, false),
            "ciasc" => (false, true),
            "cidesc" => (true, true),
            _ => {
                return Err(ApiError::invalid(format!(
                    "invalid sort direction {value} for {field}: use asc, desc, ciasc or cidesc"
                )));
            }
        };
        let key = SortKey {
            field: index,
            desc,
            ci,
        };
        self.sorts.push((rank, position, key));
        Ok(())
    }

    /// A value, `_Mod` or `_Range` of a condition in `group`.
    fn add_condition_part(&mut self, group: Option<u32>, name: &str, value: &str) {
        let (field, part) = if let Some(f) = name.strip_suffix("_Mod") {
            (f, Part::Modifier)
        } else if let Some(f) = name.strip_suffix("_Range") {
            (f, Part::Range)
        } else {
            (name, Part::Value)
        };
        let raw = self
            .groups
            .entry(group)
            .or_default()
            .entry(field.to_string())
            .or_default();
        match part {
            // A repeated parameter is another value of the same condition, not a second
            // condition (API notes §4); a repeated `_Mod` or `_Range` keeps the first, as a
            // request can state only one.
            Part::Value => raw.values.push(value.to_string()),
            Part::Modifier => {
                raw.modifier.get_or_insert_with(|| value.to_string());
            }
            Part::Range => {
                raw.range.get_or_insert_with(|| value.to_string());
            }
        }
    }

    /// The query: conditions built and checked, sorts in key order.
    fn build(
        mut self,
        zone: &Tz,
        now: DateTime<Utc>,
        unsupported: Unsupported<'_>,
    ) -> Result<SimQuery, ApiError> {
        let mut plain = Vec::new();
        let mut or_groups = Vec::new();
        for (group, conditions) in self.groups {
            let mut built = Vec::new();
            for (name, raw) in conditions {
                built.push(build_condition(
                    self.schema,
                    &name,
                    raw,
                    zone,
                    now,
                    unsupported,
                )?);
            }
            match group {
                None => plain = built,
                Some(_) => or_groups.push(built),
            }
        }
        self.sorts
            .sort_by_key(|&(rank, position, _)| (rank, position));
        Ok(SimQuery {
            schema: self.schema,
            plain,
            groups: or_groups,
            sort: self.sorts.into_iter().map(|(_, _, key)| key).collect(),
            first: self.first,
            limit: self.limit,
            fields: parse_fields(self.schema, self.fields.as_deref(), unsupported)?,
        })
    }
}

/// Parameters that are not filters.
const RESERVED: [&str; 5] = ["fields", "method", "apiKey", "sessionID", "$$FIRST"];

impl SimQuery {
    /// Read the parameters of a request on journal entries. `model` names the API version in
    /// messages (`V21_0`), `zone` is the tenant's zone, `now` the server clock.
    pub fn parse(
        params: &[(String, String)],
        model: &str,
        zone: &Tz,
        now: DateTime<Utc>,
    ) -> Result<SimQuery, ApiError> {
        SimQuery::parse_in(&JOURNAL, params, model, zone, now)
    }

    /// Read the parameters of a request on `schema`'s object type.
    pub fn parse_in(
        schema: &'static Schema,
        params: &[(String, String)],
        model: &str,
        zone: &Tz,
        now: DateTime<Utc>,
    ) -> Result<SimQuery, ApiError> {
        let unsupported = |name: &str| {
            ApiError::invalid(format!(
                "APIModel {model} does not support field {name} ({})",
                schema.name
            ))
        };
        let mut collected = Collected {
            schema,
            groups: BTreeMap::new(),
            sorts: Vec::new(),
            first: 0,
            limit: DEFAULT_LIMIT,
            fields: None,
        };
        for (position, (key, value)) in params.iter().enumerate() {
            collected.add(position, key, value, &unsupported)?;
        }
        collected.build(zone, now, &unsupported)
    }

    /// Bounds on entryDate that every match satisfies, when the query says so plainly: a
    /// plain (not `OR:`) condition on entryDate with a range modifier. `None` means no bound
    /// is known and every entry must be checked.
    pub fn date_bounds(&self) -> Option<DateBounds> {
        if !self.groups.is_empty() {
            return None;
        }
        let c = self
            .plain
            .iter()
            .find(|c| matches!(c.target, Target::Field(i) if i == self.schema.date))?;
        let date = |o: Option<&Operand>| match o {
            Some(Operand::Date(d)) => Some(*d),
            _ => None,
        };
        let first = date(c.values.first());
        match c.modifier {
            Modifier::Between => Some((first, date(c.range.as_ref()))),
            Modifier::Gt | Modifier::Gte => Some((first, None)),
            Modifier::Lt | Modifier::Lte => Some((None, first)),
            Modifier::ExactTime => Some((first, first)),
            _ => None,
        }
    }

    /// Whether the entries within [`SimQuery::date_bounds`] are exactly the matches: the query
    /// is one plain condition on entryDate, inclusive at both ends, so no entry needs checking.
    pub fn is_date_range_only(&self) -> bool {
        self.plain.len() == 1
            && matches!(
                self.plain[0].modifier,
                Modifier::Between | Modifier::ExactTime
            )
            && matches!(self.date_bounds(), Some((Some(_), Some(_))))
    }

    /// Whether the sort is the schema's date then `ID`, both ascending: the stored order.
    pub fn is_stored_order(&self) -> bool {
        self.sort == [SortKey::asc(self.schema.date), SortKey::asc(self.schema.id)]
    }

    /// Whether the sort is `entryDate` then `ID`, both descending: the stored order reversed.
    pub fn is_reverse_stored_order(&self) -> bool {
        self.sort
            == [
                SortKey::desc(self.schema.date),
                SortKey::desc(self.schema.id),
            ]
    }

    /// Whether an entry matches: the plain conditions ANDed, each `OR:n:` group ANDed, and the
    /// groups ORed with the plain filters (API notes §4).
    pub fn matches(&self, entry: &Entry, zone: &Tz) -> bool {
        let all = |conds: &[Condition]| conds.iter().all(|c| c.matches(entry, zone));
        if self.groups.is_empty() {
            return all(&self.plain);
        }
        (!self.plain.is_empty() && all(&self.plain)) || self.groups.iter().any(|g| all(g))
    }

    /// Order the matching entries: by the sort keys, then ties in the order of `tiebreak`
    /// (random per request: Workfront gives no stable order to rows that tie, API notes §4).
    pub fn order(&self, rows: &mut [(u64, &Entry)]) {
        rows.sort_by(|(ta, a), (tb, b)| {
            for key in &self.sort {
                let ord = compare_for_sort(a.get(key.field), b.get(key.field), key.ci);
                let ord = if key.desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            ta.cmp(tb)
        });
    }
}

enum Part {
    Value,
    Modifier,
    Range,
}

/// `OR:2:name` → (Some(2), name). Group names are case-sensitive.
fn split_group(key: &str) -> Result<(Option<u32>, &str), ApiError> {
    let Some(rest) = key.strip_prefix("OR:") else {
        return Ok((None, key));
    };
    let (n, name) = rest
        .split_once(':')
        .ok_or_else(|| ApiError::invalid(format!("invalid filter group in {key}")))?;
    let n = n
        .parse::<u32>()
        .map_err(|_| ApiError::invalid(format!("invalid filter group number in {key}")))?;
    Ok((Some(n), name))
}

/// `entryDate_1` → ("entryDate", 1); an unnumbered key ranks after numbered ones.
fn split_rank(name: &str) -> (&str, u32) {
    if let Some((field, rank)) = name.rsplit_once('_')
        && let Ok(r) = rank.parse::<u32>()
    {
        return (field, r);
    }
    (name, u32::MAX)
}

/// `$$LIMIT`: over 2,000 is refused with Workfront's message (API notes §4); zero, a negative
/// number or one that does not parse means "no limit" in Workfront's constants, which the
/// 2,000 cap per request then bounds.
fn parse_limit(value: &str) -> Result<usize, ApiError> {
    match value.trim().parse::<i64>() {
        Ok(n) if n > MAX_LIMIT as i64 => Err(ApiError::invalid(format!(
            "The requested limit {n} is greater than the maximum allowed limit of {MAX_LIMIT}"
        ))),
        Ok(n) if n > 0 => Ok(n as usize),
        _ => Ok(MAX_LIMIT),
    }
}

fn parse_count(key: &str, value: &str) -> Result<usize, ApiError> {
    value
        .parse::<usize>()
        .map_err(|_| ApiError::invalid(format!("invalid value {value:?} for {key}")))
}

fn parse_fields(
    schema: &Schema,
    spec: Option<&str>,
    unsupported: &dyn Fn(&str) -> ApiError,
) -> Result<Vec<Selected>, ApiError> {
    let Some(spec) = spec.filter(|s| !s.trim().is_empty()) else {
        return Ok(schema
            .default_fields
            .iter()
            .filter_map(|n| schema.index(n).map(Selected::Field))
            .collect());
    };
    let editor = schema.editor.is_some();
    let mut out = Vec::new();
    for name in spec.split(',').map(str::trim) {
        if name == "*" {
            out.extend((0..schema.fields.len()).map(Selected::Field));
        } else if editor && name == "editedBy:*" {
            out.extend(EDITED_BY_FIELDS.iter().map(|f| Selected::EditedBy(f)));
        } else if let Some(sub) = name.strip_prefix("editedBy:").filter(|_| editor) {
            let sub = EDITED_BY_FIELDS
                .iter()
                .find(|f| **f == sub)
                .ok_or_else(|| unsupported(name))?;
            out.push(Selected::EditedBy(sub));
        } else {
            out.push(Selected::Field(
                schema.index(name).ok_or_else(|| unsupported(name))?,
            ));
        }
    }
    Ok(out)
}

fn build_condition(
    schema: &Schema,
    name: &str,
    raw: RawCondition,
    zone: &Tz,
    now: DateTime<Utc>,
    unsupported: &dyn Fn(&str) -> ApiError,
) -> Result<Condition, ApiError> {
    let (target, kind) = if name == "editedBy:name" && schema.editor.is_some() {
        (Target::EditorName, Kind::Text)
    } else {
        let index = schema.index(name).ok_or_else(|| unsupported(name))?;
        let def = &schema.fields[index];
        if !def.filterable {
            return Err(ApiError::invalid(format!(
                "filtering on {name} is not supported ({})",
                schema.name
            )));
        }
        (Target::Field(index), def.kind)
    };
    let modifier = match raw.modifier {
        Some(m) => m
            .parse::<Modifier>()
            .map_err(|_| ApiError::invalid(format!("invalid modifier {m} for {name}")))?,
        // The default is `between` when a `_Range` is given, `in` for several values, `eq`
        // otherwise (Workfront's constants package, `Operators`).
        None if raw.range.is_some() => Modifier::Between,
        None if raw.values.len() > 1 => Modifier::In,
        None => Modifier::Eq,
    };
    if !modifier.takes_no_value() && raw.values.is_empty() {
        return Err(ApiError::invalid(format!(
            "the {modifier} filter on {name} has no value"
        )));
    }
    let mut values = Vec::new();
    for v in &raw.values {
        // For `in` on an id field a comma-joined list is several ids; on any other field it
        // stays one value, which matches nothing (API notes §4).
        if kind == Kind::Id && modifier.is_list() {
            values.extend(v.split(',').map(|s| Operand::Text(s.trim().to_string())));
        } else if modifier.is_length() {
            // The value of a length filter is a number of characters, whatever the field.
            let n = v
                .trim()
                .parse::<f64>()
                .map_err(|_| ApiError::invalid(format!("invalid length {v:?} for {name}")))?;
            values.push(Operand::Number(n));
        } else {
            values.push(operand(kind, name, v, zone, now)?);
        }
    }
    let range = match (modifier.is_ranged(), raw.range) {
        (true, Some(r)) => Some(operand(kind, name, &r, zone, now)?),
        (true, None) => {
            return Err(ApiError::invalid(format!(
                "the {modifier} filter on {name} needs {name}_Range"
            )));
        }
        _ => None,
    };
    Ok(Condition {
        target,
        modifier,
        values,
        range,
    })
}

fn operand(
    kind: Kind,
    name: &str,
    value: &str,
    zone: &Tz,
    now: DateTime<Utc>,
) -> Result<Operand, ApiError> {
    match kind {
        Kind::Id | Kind::Text => Ok(Operand::Text(value.to_string())),
        Kind::Number => value
            .trim()
            .parse::<f64>()
            .map(Operand::Number)
            .map_err(|_| ApiError::invalid(format!("invalid number {value:?} for {name}"))),
        Kind::Date => filter_date(value, zone, now)
            .map(Operand::Date)
            .ok_or_else(|| ApiError::invalid(format!("invalid date {value:?} for {name}"))),
    }
}

/// A date in a filter: with `Z` or an offset, a plain date or a time without a zone (read in
/// the tenant's zone), or a wildcard (API notes §4; Workfront's constants, `WildCards`):
/// `$$NOW` and `$$TODAY`, shifted by `+N`/`-N` hours (`h`), days (`d`), weeks (`w`), months
/// (`m`) or years (`y`), and `$$TODAY` with `b` or `e` for the beginning or end of the day,
/// or with a unit of the week (`bw`, `ew`: weeks run Sunday to Saturday), month (`bm`, `em`)
/// or year (`by`, `ey`); an end is midnight after the period. `$$TODAYe+1w` is the end of
/// next week.
pub fn filter_date(value: &str, zone: &Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = |naive: chrono::NaiveDateTime| {
        zone.from_local_datetime(&naive)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
    };
    if let Some(rest) = value.strip_prefix("$$NOW") {
        let shift = Shift::read(rest)?;
        let naive = shift.apply(now.with_timezone(zone).naive_local())?;
        return local(naive);
    }
    if let Some(rest) = value.strip_prefix("$$TODAY") {
        let (edge, rest) = Edge::read(rest)?;
        let shift = Shift::read(rest)?;
        let today = now
            .with_timezone(zone)
            .date_naive()
            .and_time(NaiveTime::MIN);
        let shifted = shift.apply(today)?;
        return local(
            edge.apply(shifted.date(), shift.unit)?
                .and_time(shifted.time()),
        );
    }
    if let Some(day) = parse_date(value) {
        return local(day.and_time(NaiveTime::MIN));
    }
    match parse_parts(value)? {
        (naive, Some(offset)) => offset
            .from_local_datetime(&naive)
            .single()
            .map(|d| d.with_timezone(&Utc)),
        (naive, None) => local(naive),
    }
}

/// `b`/`e` and a unit after `$$TODAY`: which edge of which period. Without a unit of its
/// own, the edge is of the shift's unit (`$$TODAYe+1w`: the end of next week), or of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    None,
    Begin(Option<char>),
    End(Option<char>),
}

impl Edge {
    fn read(rest: &str) -> Option<(Edge, &str)> {
        let edge = match rest.chars().next() {
            Some('b') => Edge::Begin,
            Some('e') => Edge::End,
            _ => return Some((Edge::None, rest)),
        };
        let after = &rest[1..];
        match after.chars().next() {
            Some(u @ ('d' | 'w' | 'm' | 'y')) => Some((edge(Some(u)), &after[1..])),
            _ => Some((edge(None), after)),
        }
    }

    fn apply(self, day: chrono::NaiveDate, shift_unit: char) -> Option<chrono::NaiveDate> {
        use chrono::{Datelike, Months, NaiveDate};
        let begin = |unit| match unit {
            'w' => day.checked_sub_days(chrono::Days::new(u64::from(
                day.weekday().num_days_from_sunday(),
            ))),
            'm' => NaiveDate::from_ymd_opt(day.year(), day.month(), 1),
            'y' => NaiveDate::from_ymd_opt(day.year(), 1, 1),
            _ => Some(day),
        };
        let of = |unit: Option<char>| unit.unwrap_or(shift_unit);
        match self {
            Edge::None => Some(day),
            Edge::Begin(unit) => begin(of(unit)),
            Edge::End(unit) => {
                let unit = of(unit);
                let start = begin(unit)?;
                match unit {
                    'w' => start.checked_add_days(chrono::Days::new(7)),
                    'm' => start.checked_add_months(Months::new(1)),
                    'y' => start.checked_add_months(Months::new(12)),
                    _ => start.checked_add_days(chrono::Days::new(1)),
                }
            }
        }
    }
}

/// `+7d`, `-1m`, `+2w`, `-3h`, `+1y` or nothing: months and years by the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shift {
    n: i64,
    unit: char,
}

impl Shift {
    fn read(rest: &str) -> Option<Shift> {
        if rest.is_empty() {
            return Some(Shift { n: 0, unit: 'd' });
        }
        let (sign, body) = match rest.as_bytes()[0] {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return None,
        };
        let unit = body.chars().last()?;
        let n: i64 = body[..body.len() - unit.len_utf8()].parse().ok()?;
        matches!(unit, 'h' | 'd' | 'w' | 'm' | 'y').then_some(Shift { n: n * sign, unit })
    }

    fn apply(self, at: chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
        use chrono::Months;
        let months = |m: i64| {
            let k = Months::new(u32::try_from(m.unsigned_abs()).ok()?);
            if m >= 0 {
                at.checked_add_months(k)
            } else {
                at.checked_sub_months(k)
            }
        };
        match self.unit {
            'h' => at.checked_add_signed(Duration::hours(self.n)),
            'd' => at.checked_add_signed(Duration::days(self.n)),
            'w' => at.checked_add_signed(Duration::weeks(self.n)),
            'm' => months(self.n),
            'y' => months(self.n.checked_mul(12)?),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Denver;
    use serde_json::json;

    fn params(s: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(s.as_bytes()).into_owned().collect()
    }

    fn parse(s: &str) -> Result<SimQuery, ApiError> {
        SimQuery::parse(&params(s), "V21_0", &Denver, Utc::now())
    }

    fn entry(v: serde_json::Value) -> Entry {
        Entry::from_raw(v.as_object().unwrap())
    }

    fn matches(q: &str, e: &Entry) -> bool {
        parse(q).unwrap().matches(e, &Denver)
    }

    #[test]
    fn limit_over_2000_is_refused_with_workfronts_message() {
        let err = parse("$$LIMIT=2001").unwrap_err();
        assert_eq!(err.status, 422);
        assert_eq!(
            err.message,
            "The requested limit 2001 is greater than the maximum allowed limit of 2000"
        );
        assert_eq!(parse("").unwrap().limit, 100);
        assert_eq!(parse("$$LIMIT=2000").unwrap().limit, 2000);
        assert!(parse("$$FIRST=-1").is_err());
    }

    #[test]
    fn unknown_and_unfilterable_fields_are_refused() {
        let err = parse("objCode=TASK").unwrap_err();
        assert!(err.message.contains("objCode"), "{}", err.message);
        let err = parse("oldValue=x").unwrap_err();
        assert_eq!(
            err.message,
            "APIModel V21_0 does not support field oldValue (JournalEntry)"
        );
        assert!(parse("topObjID=x").is_err());
        assert!(parse("subObjCode=HOUR").is_err());
        assert!(parse("fields=ID,oldValue").is_err());
        assert!(parse("fields=editedBy:emailAddr").is_err());
        assert!(parse("fieldName_Mod=soundex&fieldName=x").is_err());
        assert!(parse("fieldName_Mod=EQ&fieldName=x").is_err());
        assert!(parse("entryDate=yesterday").is_err());
        assert!(parse("entryDate=2025-01-01&entryDate_Mod=between").is_err());
        assert!(
            parse("FieldName=status").is_err(),
            "names are case-sensitive"
        );
    }

    #[test]
    fn date_eq_matches_the_whole_tenant_day() {
        // 2025-01-07T20:00-0700 is 2025-01-08T03:00Z, still the 7th in the tenant's zone.
        let e = entry(json!({"entryDate": "2025-01-07T20:00:00:000-0700"}));
        assert!(matches("entryDate=2025-01-07T09:00:00Z", &e));
        assert!(matches("entryDate=2025-01-07", &e));
        assert!(!matches("entryDate=2025-01-08", &e));
        assert!(matches(
            "entryDate=2025-01-08T03:00:00.000Z&entryDate_Mod=exacttime",
            &e
        ));
        assert!(!matches(
            "entryDate=2025-01-08T03:00:00.001Z&entryDate_Mod=exacttime",
            &e
        ));
    }

    #[test]
    fn between_is_inclusive_at_both_ends() {
        let e = entry(json!({"entryDate": "2025-01-08T00:00:00.000Z"}));
        let q =
            |a: &str, b: &str| format!("entryDate={a}&entryDate_Mod=between&entryDate_Range={b}");
        assert!(matches(
            &q("2025-01-08T00:00:00.000Z", "2025-01-09T00:00:00Z"),
            &e
        ));
        assert!(matches(
            &q("2025-01-07T00:00:00Z", "2025-01-08T00:00:00.000Z"),
            &e
        ));
        assert!(!matches(
            &q("2025-01-07T00:00:00Z", "2025-01-07T23:59:59.999Z"),
            &e
        ));
    }

    #[test]
    fn a_second_value_is_not_a_second_condition() {
        // entryDate >= A and entryDate < B written as two conditions is a trap: the second
        // parameter is another value of the same (first-modifier) condition.
        let e = entry(json!({"entryDate": "2025-06-01T00:00:00Z"}));
        let q = "entryDate=2025-01-01T00:00:00Z&entryDate_Mod=gte&entryDate=2025-02-01T00:00:00Z&entryDate_Mod=lt";
        assert!(matches(q, &e), "only the first value and modifier apply");
    }

    #[test]
    fn repeated_values_mean_in_and_comma_lists_only_split_ids() {
        let e = entry(json!({"objObjCode": "TASK", "objID": "t2"}));
        assert!(matches("objObjCode=PROJ&objObjCode=TASK", &e));
        assert!(matches(
            "objObjCode=PROJ&objObjCode=TASK&objObjCode_Mod=in",
            &e
        ));
        assert!(!matches("objObjCode=PROJ,TASK&objObjCode_Mod=in", &e));
        assert!(matches("objID=t1,t2&objID_Mod=in", &e));
        assert!(!matches("objObjCode=PROJ&objObjCode_Mod=in", &e));
    }

    #[test]
    fn ne_matches_nulls_and_nee_does_not() {
        let e = entry(json!({"fieldName": null}));
        assert!(matches("fieldName=status&fieldName_Mod=ne", &e));
        assert!(!matches("fieldName=status&fieldName_Mod=nee", &e));
        assert!(matches("fieldName_Mod=isnull", &e));
        assert!(!matches("fieldName_Mod=notnull", &e));
    }

    #[test]
    fn or_groups_are_ored_with_the_plain_filters() {
        let task = entry(json!({"objObjCode": "TASK", "fieldName": "status"}));
        let proj = entry(json!({"objObjCode": "PROJ", "fieldName": "name"}));
        let q = "objObjCode=TASK&OR:1:objObjCode=PROJ&OR:1:fieldName=name";
        assert!(matches(q, &task));
        assert!(matches(q, &proj));
        assert!(!matches(
            "objObjCode=TASK&OR:1:objObjCode=PROJ&OR:1:fieldName=x",
            &proj
        ));
        assert!(matches("OR:1:objObjCode=PROJ&OR:2:objObjCode=TASK", &task));
        assert!(!matches("OR:1:objObjCode=PROJ&OR:2:objObjCode=USER", &task));
    }

    #[test]
    fn text_modifiers_and_numbers() {
        let e = entry(json!({"referenceObjectName": "Design Review", "newNumberVal": 7.75}));
        assert!(matches(
            "referenceObjectName=sign&referenceObjectName_Mod=contains",
            &e
        ));
        assert!(matches(
            "referenceObjectName=DESIGN&referenceObjectName_Mod=cicontains",
            &e
        ));
        assert!(matches(
            "referenceObjectName=design review&referenceObjectName_Mod=cieq",
            &e
        ));
        assert!(matches(
            "referenceObjectName=Des&referenceObjectName_Mod=startswith",
            &e
        ));
        assert!(matches("newNumberVal=7&newNumberVal_Mod=gt", &e));
        assert!(!matches("newNumberVal=7.75&newNumberVal_Mod=lt", &e));
        assert!(parse("newNumberVal=abc").is_err());
    }

    #[test]
    fn sort_keys_follow_their_numbers_and_ties_follow_the_tiebreak() {
        let q = parse("ID_2_Sort=asc&entryDate_1_Sort=desc").unwrap();
        assert_eq!(q.sort, vec![SortKey::desc(1), SortKey::asc(0)]);
        let a = entry(json!({"ID": "a", "entryDate": "2025-01-01T00:00:00Z"}));
        let b = entry(json!({"ID": "b", "entryDate": "2025-01-01T00:00:00Z"}));
        let q = parse("entryDate_Sort=asc").unwrap();
        let mut rows = vec![(2, &a), (1, &b)];
        q.order(&mut rows);
        assert_eq!(rows[0].1.id().as_deref(), Some("b"));
        let q = parse("entryDate_1_Sort=asc&ID_2_Sort=asc").unwrap();
        let mut rows = vec![(2, &b), (1, &a)];
        q.order(&mut rows);
        assert_eq!(rows[0].1.id().as_deref(), Some("a"));
        assert!(parse("entryDate_Sort=up").is_err());
        assert!(parse("nope_Sort=asc").is_err());
    }

    #[test]
    fn wildcards_and_zone_less_times_use_the_tenant_zone() {
        let now = DateTime::parse_from_rfc3339("2025-07-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = |s| filter_date(s, &Denver, now).map(|d| d.to_rfc3339());
        assert_eq!(d("$$NOW").as_deref(), Some("2025-07-10T12:00:00+00:00"));
        assert_eq!(
            d("$$TODAY-7d").as_deref(),
            Some("2025-07-03T06:00:00+00:00")
        );
        assert_eq!(
            d("2025-07-10").as_deref(),
            Some("2025-07-10T06:00:00+00:00")
        );
        assert_eq!(
            d("2025-01-10T08:00:00").as_deref(),
            Some("2025-01-10T15:00:00+00:00")
        );
        assert_eq!(d("$$NOW+1x"), None);
    }

    #[test]
    fn a_range_without_a_modifier_is_between() {
        // Workfront's default modifier is `between` when a `_Range` is given.
        let e = entry(json!({"entryDate": "2025-03-10T12:00:00.000Z"}));
        let q = "entryDate=2025-03-01T00:00:00Z&entryDate_Range=2025-03-31T00:00:00Z";
        assert!(matches(q, &e));
        let q = "entryDate=2025-03-11T00:00:00Z&entryDate_Range=2025-03-31T00:00:00Z";
        assert!(!matches(q, &e), "outside the range");
    }

    #[test]
    fn case_insensitive_and_pattern_modifiers_follow_workfronts_sql() {
        let e = entry(json!({"fieldName": "DE:Budget Code", "flags": 6, "newTextVal": ""}));
        let yes = |q: &str| assert!(matches(q, &e), "{q}");
        let no = |q: &str| assert!(!matches(q, &e), "{q}");
        yes("fieldName=de%3Abudget+code&fieldName_Mod=cieq");
        no("fieldName=de%3Abudget+code&fieldName_Mod=cine");
        yes("fieldName=status&fieldName_Mod=cine");
        yes("fieldName=STATUS&fieldName=de%3Abudget+CODE&fieldName_Mod=ciin");
        no("fieldName=status&fieldName=x&fieldName_Mod=ciin");
        yes("fieldName=status&fieldName_Mod=cinotin");
        yes("fieldName=DE%3A%25Code&fieldName_Mod=like");
        no("fieldName=de%3A%25code&fieldName_Mod=like");
        yes("fieldName=de%3A_udget%25&fieldName_Mod=cilike");
        yes("fieldName=budget+nothing&fieldName_Mod=cicontainsany");
        no("fieldName=budget+nothing&fieldName_Mod=cicontainsall");
        yes("fieldName=budget+code&fieldName_Mod=cicontainsall");
        yes("fieldName=nothing+else&fieldName_Mod=cinotcontainsany");
        no("fieldName=CODE&fieldName_Mod=cinotcontains");
        yes("fieldName=de&fieldName_Range=dz&fieldName_Mod=cibetween");
        yes("fieldName=a&fieldName_Range=c&fieldName_Mod=cinotbetween");
        yes("newTextVal_Mod=isblank");
        no("newTextVal_Mod=notblank");
        yes("fieldName_Mod=notblank");
        yes("oldTextVal_Mod=isblank");
        yes("fieldName=14&fieldName_Mod=length_eq");
        yes("fieldName=15&fieldName_Mod=length_lt");
        no("fieldName=14&fieldName_Mod=length_gt");
        yes("flags=2&flags_Mod=bitwiseor");
        yes("flags=6&flags_Mod=bitwiseand");
        no("flags=7&flags_Mod=bitwiseand");
        yes("flags=1&flags_Mod=bitwisenand");
        // The two left out are answered as any unknown modifier is.
        for m in ["soundex", "allof", "EQ"] {
            let err = parse(&format!("fieldName=x&fieldName_Mod={m}")).unwrap_err();
            assert_eq!(err.status, 422, "{m}");
            assert!(err.message.contains("invalid modifier"), "{m}");
        }
    }

    #[test]
    fn sort_directions_are_case_insensitive_and_ci_sorts_ignore_case() {
        for dir in ["ASC", "Desc", "ciasc", "CIDESC"] {
            assert!(parse(&format!("fieldName_Sort={dir}")).is_ok(), "{dir}");
        }
        assert_eq!(parse("fieldName_Sort=up").unwrap_err().status, 422);
        let a = entry(json!({"ID": "1", "fieldName": "b"}));
        let b = entry(json!({"ID": "2", "fieldName": "B"}));
        let c = entry(json!({"ID": "3", "fieldName": "a"}));
        let order = |q: &str| {
            let q = parse(q).unwrap();
            let mut rows = vec![(0u64, &a), (1, &b), (2, &c)];
            q.order(&mut rows);
            rows.iter()
                .map(|(_, e)| e.id().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(order("fieldName_Sort=asc"), ["2", "3", "1"], "B < a < b");
        assert_eq!(
            order("fieldName_1_Sort=ciasc&ID_2_Sort=asc"),
            ["3", "1", "2"]
        );
    }

    #[test]
    fn a_limit_of_zero_or_less_is_no_limit_within_the_cap() {
        assert_eq!(parse("$$LIMIT=0").unwrap().limit, MAX_LIMIT);
        assert_eq!(parse("$$LIMIT=-5").unwrap().limit, MAX_LIMIT);
        assert_eq!(parse("$$LIMIT=abc").unwrap().limit, MAX_LIMIT);
        assert_eq!(parse("$$LIMIT=7").unwrap().limit, 7);
        assert_eq!(parse("$$LIMIT=2001").unwrap_err().status, 422);
    }

    #[test]
    fn date_wildcards_read_calendar_units_and_edges() {
        // Wednesday 2025-03-12 15:30 in Denver (-0600).
        let now: DateTime<Utc> = "2025-03-12T21:30:00Z".parse().unwrap();
        let at = |v: &str| {
            filter_date(v, &Denver, now)
                .unwrap_or_else(|| panic!("{v}"))
                .with_timezone(&Denver)
                .naive_local()
                .to_string()
        };
        assert_eq!(at("$$TODAY"), "2025-03-12 00:00:00");
        assert_eq!(at("$$TODAY-1m"), "2025-02-12 00:00:00");
        assert_eq!(at("$$TODAY+1y"), "2026-03-12 00:00:00");
        assert_eq!(at("$$TODAYb"), "2025-03-12 00:00:00");
        assert_eq!(at("$$TODAYe"), "2025-03-13 00:00:00");
        assert_eq!(
            at("$$TODAYbw"),
            "2025-03-09 00:00:00",
            "weeks start on Sunday"
        );
        assert_eq!(at("$$TODAYew"), "2025-03-16 00:00:00");
        assert_eq!(
            at("$$TODAYe+1w"),
            "2025-03-23 00:00:00",
            "the end of next week"
        );
        assert_eq!(at("$$TODAYbm"), "2025-03-01 00:00:00");
        assert_eq!(at("$$TODAYem"), "2025-04-01 00:00:00");
        assert_eq!(at("$$TODAYby"), "2025-01-01 00:00:00");
        assert_eq!(at("$$NOW-2h"), "2025-03-12 13:30:00");
        assert_eq!(at("$$NOW-1m"), "2025-02-12 15:30:00");
        assert!(filter_date("$$TODAY+1q", &Denver, now).is_none());
        assert!(filter_date("$$TODAYx", &Denver, now).is_none());
    }
}
