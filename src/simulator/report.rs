//! `JRNLE/report`: aggregates of the matching entries grouped by a field, as Workfront's
//! report requests give them (`fieldName_1_GroupBy=true&ID_AggFunc=count`, `$$ROLLUP=true`).
//!
//! Workfront documents the request and one example answer, `{"First Project": {"sum_hours":
//! 15}, …, "$$ROLLUP": {"sum_hours": 45}}` inside `data`, where each group also carries the
//! grouped field's value. Where it is silent the simulator chooses, and says so here: one
//! grouping level is modelled (a second `_N_GroupBy` is refused, not guessed at); a group is
//! keyed by its value as text, the null group by `""`; the aggregate keys are
//! `<func>_<field>` for `count`, `dcount`, `sum`, `avg`, `min` and `max`.

use std::collections::{BTreeMap, HashSet};

use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::eval::compare_for_sort;
use super::query::ApiError;
use super::store::{Entry, FIELDS, Kind, SimValue, field_index};
use crate::model::date::format_workfront;

/// The aggregate functions of `<field>_AggFunc`.
const FUNCS: [&str; 6] = ["count", "dcount", "sum", "avg", "min", "max"];

/// What a report request asks for, besides its filters.
#[derive(Debug)]
pub(super) struct Report {
    group: usize,
    /// (function, field index), in request order.
    aggregates: Vec<(&'static str, usize)>,
    rollup: bool,
}

impl Report {
    /// Take the report's own parameters (`_GroupBy`, `_AggFunc`, `$$ROLLUP`) out of `params`,
    /// leaving the filters. `unknown` words the error for a field JRNLE does not have.
    pub(super) fn take(
        params: &mut Vec<(String, String)>,
        unknown: impl Fn(&str) -> ApiError,
    ) -> Result<Report, ApiError> {
        let mut groups = Vec::new();
        let mut aggregates = Vec::new();
        let mut rollup = false;
        let mut rest = Vec::new();
        for (key, value) in params.drain(..) {
            if let Some(name) = key.strip_suffix("_GroupBy") {
                let field = name.rsplit_once('_').map_or(name, |(f, _)| f);
                let index = field_index(field).ok_or_else(|| unknown(field))?;
                if value == "true" {
                    groups.push(index);
                }
            } else if let Some(field) = key.strip_suffix("_AggFunc") {
                let index = field_index(field).ok_or_else(|| unknown(field))?;
                let func = FUNCS.into_iter().find(|f| *f == value).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "invalid aggregate function {value} for {field}: use one of {}",
                        FUNCS.join(", ")
                    ))
                })?;
                if matches!(func, "sum" | "avg") && FIELDS[index].kind != Kind::Number {
                    return Err(ApiError::invalid(format!(
                        "{field} is not a number: it cannot be aggregated with {func}"
                    )));
                }
                aggregates.push((func, index));
            } else if key == "$$ROLLUP" {
                rollup = value == "true";
            } else {
                rest.push((key, value));
            }
        }
        *params = rest;
        let group = match groups.as_slice() {
            [one] => *one,
            [] => return Err(ApiError::invalid("a report needs a field_1_GroupBy=true")),
            _ => {
                return Err(ApiError::invalid(
                    "the simulator models one grouping level; Workfront's answer to several \
                     is not documented",
                ));
            }
        };
        if aggregates.is_empty() {
            return Err(ApiError::invalid("a report needs a field_AggFunc"));
        }
        Ok(Report {
            group,
            aggregates,
            rollup,
        })
    }

    /// `{"data": {<group>: {<field>: value, <func>_<field>: n, …}, "$$ROLLUP": {…}}}`.
    pub(super) fn answer<'e>(&self, rows: impl Iterator<Item = &'e Entry>, zone: &Tz) -> Vec<u8> {
        let mut groups: BTreeMap<String, (SimValue, Vec<Acc>)> = BTreeMap::new();
        let mut total = self.accumulators();
        for e in rows {
            let value = e.get(self.group);
            let key = value.as_text().unwrap_or_default();
            let (_, accs) = groups
                .entry(key)
                .or_insert_with(|| (value.clone(), self.accumulators()));
            for (acc, &(_, field)) in accs.iter_mut().zip(&self.aggregates) {
                acc.add(e.get(field));
            }
            for (acc, &(_, field)) in total.iter_mut().zip(&self.aggregates) {
                acc.add(e.get(field));
            }
        }
        let mut data = Map::new();
        for (key, (value, accs)) in groups {
            let mut group = self.figures(&accs, zone);
            group.insert(FIELDS[self.group].name.into(), json_value(&value, zone));
            data.insert(key, Value::Object(group));
        }
        if self.rollup {
            data.insert("$$ROLLUP".into(), Value::Object(self.figures(&total, zone)));
        }
        json!({ "data": data }).to_string().into_bytes()
    }

    fn accumulators(&self) -> Vec<Acc> {
        self.aggregates.iter().map(|&(f, _)| Acc::new(f)).collect()
    }

    fn figures(&self, accs: &[Acc], zone: &Tz) -> Map<String, Value> {
        self.aggregates
            .iter()
            .zip(accs)
            .map(|(&(func, field), acc)| {
                (format!("{func}_{}", FIELDS[field].name), acc.value(zone))
            })
            .collect()
    }
}

/// One aggregate being computed. Nulls are skipped, as SQL's aggregates skip them.
enum Acc {
    Count(u64),
    Distinct(HashSet<String>),
    Sum { sum: f64, n: u64, avg: bool },
    Extreme { best: SimValue, max: bool },
}

impl Acc {
    fn new(func: &str) -> Acc {
        match func {
            "count" => Acc::Count(0),
            "dcount" => Acc::Distinct(HashSet::new()),
            "sum" | "avg" => Acc::Sum {
                sum: 0.0,
                n: 0,
                avg: func == "avg",
            },
            _ => Acc::Extreme {
                best: SimValue::Null,
                max: func == "max",
            },
        }
    }

    fn add(&mut self, v: &SimValue) {
        if *v == SimValue::Null {
            return;
        }
        match self {
            Acc::Count(n) => *n += 1,
            Acc::Distinct(seen) => {
                seen.insert(v.as_text().unwrap_or_default());
            }
            Acc::Sum { sum, n, .. } => {
                if let SimValue::Number(x) = v {
                    *sum += x.as_f64().unwrap_or(0.0);
                    *n += 1;
                }
            }
            Acc::Extreme { best, max } => {
                // Nulls sort last, so the first value always replaces the null start.
                let ord = compare_for_sort(v, best, false);
                if *best == SimValue::Null || (*max && ord.is_gt()) || (!*max && ord.is_lt()) {
                    *best = v.clone();
                }
            }
        }
    }

    fn value(&self, zone: &Tz) -> Value {
        match self {
            Acc::Count(n) => json!(n),
            Acc::Distinct(seen) => json!(seen.len()),
            Acc::Sum { sum, n, avg } => match (avg, n) {
                (true, 0) => Value::Null,
                (true, n) => json!(sum / *n as f64),
                (false, _) => json!(sum),
            },
            Acc::Extreme { best, .. } => json_value(best, zone),
        }
    }
}

/// A stored value as Workfront renders it: dates in the tenant's zone.
fn json_value(v: &SimValue, zone: &Tz) -> Value {
    match v {
        SimValue::Null => Value::Null,
        SimValue::Text(s) => json!(s),
        SimValue::Number(n) => Value::Number(n.clone()),
        SimValue::Date(d) => json!(format_workfront(d, zone)),
        SimValue::Raw(v) => v.clone(),
    }
}
