//! Evaluating a parsed query on stored entries: each modifier's meaning (whole-day date `eq`,
//! `ne` matching nulls, `in` on ids), comparisons by field type, and the sort order.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::modifier::Modifier;
use super::query::{Condition, Operand, Target};
use super::store::{Entry, SimValue};

impl Condition {
    pub(super) fn matches(&self, entry: &Entry, zone: &Tz) -> bool {
        let editor;
        let value = match self.target {
            Target::Field(i) => entry.get(i),
            Target::EditorName => {
                editor = entry
                    .editor_name
                    .clone()
                    .map_or(SimValue::Null, SimValue::Text);
                &editor
            }
        };
        let first = self.values.first();
        let eq = |op: &Operand| equals(value, op, zone);
        let cmp = |op: Option<&Operand>| op.and_then(|op| compare(value, op));
        let text = || value.as_text();
        let op_text = || first.map(operand_text).unwrap_or_default();
        let between = || {
            matches!(cmp(first), Some(Ordering::Greater | Ordering::Equal))
                && matches!(
                    cmp(self.range.as_ref()),
                    Some(Ordering::Less | Ordering::Equal)
                )
        };
        let is_null = *value == SimValue::Null;
        let lower = |t: String| t.to_lowercase();
        let ci_text = || text().map(lower);
        let ci_op = || lower(op_text());
        let words = || {
            ci_op()
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let ci_contains = |w: &String| ci_text().is_some_and(|t| t.contains(w.as_str()));
        let ci_in = || {
            let t = ci_text();
            self.values
                .iter()
                .any(|op| t.is_some() && t == Some(lower(operand_text(op))))
        };
        let ci_between = || {
            let (Some(t), Some(lo), Some(hi)) = (ci_text(), first, self.range.as_ref()) else {
                return false;
            };
            lower(operand_text(lo)) <= t && t <= lower(operand_text(hi))
        };
        let length = |want: Ordering| {
            let n = match first {
                Some(Operand::Number(n)) => *n,
                _ => return false,
            };
            text().is_some_and(|t| (t.chars().count() as f64).partial_cmp(&n) == Some(want))
        };
        let bits = || match (value, first) {
            (SimValue::Number(v), Some(Operand::Number(o))) => Some((v.as_i64()?, *o as i64)),
            _ => None,
        };
        match self.modifier {
            Modifier::Eq => first.is_some_and(eq),
            // `ne` also matches nulls; `nee` does not (API notes §4).
            Modifier::Ne => !first.is_some_and(eq),
            Modifier::Nee => !is_null && !first.is_some_and(eq),
            Modifier::CiEq => text().is_some_and(|t| t.to_lowercase() == op_text().to_lowercase()),
            Modifier::In => self.values.iter().any(eq),
            Modifier::NotIn => !is_null && !self.values.iter().any(eq),
            Modifier::Gt => cmp(first) == Some(Ordering::Greater),
            Modifier::Gte => matches!(cmp(first), Some(Ordering::Greater | Ordering::Equal)),
            Modifier::Lt => cmp(first) == Some(Ordering::Less),
            Modifier::Lte => matches!(cmp(first), Some(Ordering::Less | Ordering::Equal)),
            Modifier::Between => between(),
            Modifier::NotBetween => !is_null && !between(),
            Modifier::Contains => text().is_some_and(|t| t.contains(&op_text())),
            Modifier::CiContains => {
                text().is_some_and(|t| t.to_lowercase().contains(&op_text().to_lowercase()))
            }
            Modifier::NotContains => !text().is_some_and(|t| t.contains(&op_text())),
            Modifier::StartsWith => text().is_some_and(|t| t.starts_with(&op_text())),
            Modifier::IsNull => is_null,
            Modifier::NotNull => !is_null,
            Modifier::ExactTime => cmp(first) == Some(Ordering::Equal),
            // The case-insensitive forms compare UPPER(field) with UPPER(value) in SQL: a null
            // field matches none of them.
            Modifier::CiNe => ci_text().is_some_and(|t| t != ci_op()),
            Modifier::CiIn => ci_in(),
            Modifier::CiNotIn => !is_null && !ci_in(),
            Modifier::CiBetween => ci_between(),
            Modifier::CiNotBetween => !is_null && !ci_between(),
            Modifier::CiNotContains => ci_text().is_some_and(|t| !t.contains(&ci_op())),
            Modifier::CiContainsAny => words().iter().any(ci_contains),
            Modifier::CiContainsAll => !is_null && words().iter().all(ci_contains),
            Modifier::CiNotContainsAny => !is_null && !words().iter().any(ci_contains),
            Modifier::CiNotContainsAll => !is_null && !words().iter().all(ci_contains),
            Modifier::Like => text().is_some_and(|t| like(&t, &op_text())),
            Modifier::CiLike => ci_text().is_some_and(|t| like(&t, &ci_op())),
            Modifier::IsBlank => text().is_none_or(|t| t.is_empty()),
            Modifier::NotBlank => text().is_some_and(|t| !t.is_empty()),
            Modifier::LengthLt => length(Ordering::Less),
            Modifier::LengthEq => length(Ordering::Equal),
            Modifier::LengthGt => length(Ordering::Greater),
            Modifier::BitwiseOr => bits().is_some_and(|(v, o)| v & o > 0),
            Modifier::BitwiseAnd => bits().is_some_and(|(v, o)| v & o == o),
            Modifier::BitwiseNand => bits().is_some_and(|(v, o)| v & o == 0),
        }
    }
}

/// An operand as text, for the case-insensitive comparisons.
fn operand_text(op: &Operand) -> String {
    match op {
        Operand::Text(s) => s.clone(),
        Operand::Number(n) => n.to_string(),
        Operand::Date(d) => d.to_rfc3339(),
    }
}

/// SQL `LIKE`: `%` matches any run of characters, `_` any one character, the rest itself.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // The classic two-pointer match with backtracking to the last `%`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < t.len() {
        if j < p.len() && (p[j] == '_' || p[j] == t[i]) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == '%' {
            star = Some((j, i));
            j += 1;
        } else if let Some((sj, si)) = star {
            j = sj + 1;
            i = si + 1;
            star = Some((sj, si + 1));
        } else {
            return false;
        }
    }
    p[j..].iter().all(|c| *c == '%')
}

/// Equality as `eq` means it: on a date, the whole day in the tenant's zone, not the instant
/// (API notes §4: never page with date equality).
fn equals(value: &SimValue, op: &Operand, zone: &Tz) -> bool {
    match (value, op) {
        (SimValue::Date(d), Operand::Date(o)) => local_day(d, zone) == local_day(o, zone),
        _ => compare(value, op) == Some(Ordering::Equal),
    }
}

fn local_day(d: &DateTime<Utc>, zone: &Tz) -> NaiveDate {
    d.with_timezone(zone).date_naive()
}

/// Compare a stored value with an operand; `None` for null (null matches no comparison).
fn compare(value: &SimValue, op: &Operand) -> Option<Ordering> {
    match (value, op) {
        (SimValue::Null, _) => None,
        (SimValue::Date(d), Operand::Date(o)) => Some(d.cmp(o)),
        (SimValue::Number(n), Operand::Number(o)) => n.as_f64()?.partial_cmp(o),
        (SimValue::Text(t), Operand::Text(o)) => Some(t.as_str().cmp(o.as_str())),
        (v, Operand::Text(o)) => Some(v.as_text()?.as_str().cmp(o.as_str())),
        _ => None,
    }
}

/// Sort order of two stored values: nulls last (Oracle's default for ascending); `ci`
/// compares text without case (`ciasc`, `cidesc`).
pub(super) fn compare_for_sort(a: &SimValue, b: &SimValue, ci: bool) -> Ordering {
    match (a, b) {
        (SimValue::Text(x), SimValue::Text(y)) if ci => x.to_lowercase().cmp(&y.to_lowercase()),
        (SimValue::Null, SimValue::Null) => Ordering::Equal,
        (SimValue::Null, _) => Ordering::Greater,
        (_, SimValue::Null) => Ordering::Less,
        (SimValue::Date(x), SimValue::Date(y)) => x.cmp(y),
        (SimValue::Number(x), SimValue::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (x, y) => x.as_text().cmp(&y.as_text()),
    }
}
