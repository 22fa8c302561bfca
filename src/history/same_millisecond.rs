//! Entries of one object and field at one millisecond, put in the order their values chain.
//!
//! Workfront stamps a bulk edit's entries with one `entryDate` (the API notes, "Bulk edits"),
//! and an entry's id says nothing of the order the changes were made in. Replayed in id order,
//! `INP → CPL` (id `a…`) before `NEW → INP` (id `b…`) would read as two chain breaks that never
//! happened. Within a millisecond the replay therefore follows the values: from the value the
//! history left, the entry whose old value it is, then the entry whose old value that one's new
//! value is, and so on; where no entry continues the chain, the lowest id comes next (a real
//! break stays a break). Entries of different fields keep their id order.

use std::collections::HashMap;

use super::interval::Step;
use super::replay::same_value;
use crate::model::change::Value;

/// Reorder `steps` (one millisecond's entries, in id order) so that each object and field's
/// entries chain; `current` gives the value the history left for a step's object and field
/// (`None`: nothing met yet). The positions a field's entries take stay where they were.
pub fn chain_order(steps: &mut Vec<Step>, current: impl Fn(&Step) -> Option<Value<'static>>) {
    if steps.len() < 2 {
        return;
    }
    // placement[to] = from: which step goes to each position.
    let mut placement: Vec<usize> = (0..steps.len()).collect();
    {
        let mut groups: HashMap<(&str, &str, &str), Vec<usize>, foldhash::fast::RandomState> =
            HashMap::default();
        for (at, s) in steps.iter().enumerate() {
            groups
                .entry((&s.obj_code, &s.obj_id, &s.field_name))
                .or_default()
                .push(at);
        }
        for positions in groups.into_values().filter(|p| p.len() > 1) {
            let order = chained(&positions, steps, current(&steps[positions[0]]));
            for (to, from) in positions.into_iter().zip(order) {
                placement[to] = from;
            }
        }
    }
    if placement.iter().enumerate().all(|(to, &from)| to == from) {
        return;
    }
    let mut taken: Vec<Option<Step>> = steps.drain(..).map(Some).collect();
    steps.extend(placement.into_iter().map(|from| {
        taken[from]
            .take()
            .expect("a permutation takes each step once")
    }));
}

/// The positions of one field's entries (ascending: id order) in the order their values chain.
fn chained(positions: &[usize], steps: &[Step], mut value: Option<Value<'static>>) -> Vec<usize> {
    let mut rest: Vec<usize> = positions.to_vec();
    let mut order = Vec::with_capacity(rest.len());
    while !rest.is_empty() {
        let follows =
            |v: &Value<'_>, s: &Step| same_value(v, &s.old_value, s.value_type, s.value_type);
        let continues = value
            .as_ref()
            .and_then(|v| rest.iter().position(|&i| follows(v, &steps[i])));
        // No entry continues the chain: a head (an entry whose old value no other entry left).
        let head = || {
            rest.iter().position(|&i| {
                !rest
                    .iter()
                    .any(|&j| j != i && follows(&left(&steps[j]), &steps[i]))
            })
        };
        let pick = rest.remove(continues.or_else(head).unwrap_or(0));
        value = Some(left(&steps[pick]));
        order.push(pick);
    }
    order
}

/// The value an entry leaves: its new value, or none after a delete.
fn left(step: &Step) -> Value<'static> {
    if step.is_delete() {
        Value::Null
    } else {
        step.new_value.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::change::ValueType;

    fn step(id: &str, field: &str, old: Option<&str>, new: Option<&str>) -> Step {
        let v = |x: Option<&str>| x.map_or(Value::Null, |t| Value::Text(t.to_string().into()));
        Step {
            obj_code: "TASK".into(),
            obj_id: "t1".into(),
            obj_name: None,
            field_name: field.into(),
            entry_id: id.into(),
            at: "2025-01-01T00:00:00Z".parse().unwrap(),
            change_type: Some("E".into()),
            value_type: ValueType::Text,
            old_value: v(old),
            new_value: v(new),
            old_label: None,
            new_label: None,
            edited_by_id: None,
            edited_by_name: None,
        }
    }

    fn ids(steps: &[Step]) -> Vec<&str> {
        steps.iter().map(|s| s.entry_id.as_str()).collect()
    }

    #[test]
    fn a_fields_entries_follow_their_values_and_other_fields_keep_their_places() {
        let mut steps = vec![
            step("a", "status", Some("INP"), Some("CPL")),
            step("b", "name", Some("x"), Some("y")),
            step("c", "status", Some("NEW"), Some("INP")),
        ];
        chain_order(&mut steps, |_| Some(Value::Text("NEW".into())));
        assert_eq!(ids(&steps), ["c", "b", "a"]);
    }

    #[test]
    fn without_a_value_left_the_head_of_the_chain_comes_first() {
        let mut steps = vec![
            step("a", "status", Some("INP"), Some("CPL")),
            step("b", "status", Some("CPL"), Some("DON")),
            step("c", "status", Some("NEW"), Some("INP")),
        ];
        chain_order(&mut steps, |_| None);
        assert_eq!(ids(&steps), ["c", "a", "b"]);
    }

    #[test]
    fn a_value_and_back_at_one_millisecond_starts_from_the_value_left() {
        let mut steps = vec![
            step("a", "status", Some("INP"), Some("NEW")),
            step("b", "status", Some("NEW"), Some("INP")),
        ];
        chain_order(&mut steps, |_| Some(Value::Text("INP".into())));
        assert_eq!(ids(&steps), ["a", "b"]);
        chain_order(&mut steps, |_| Some(Value::Text("NEW".into())));
        assert_eq!(ids(&steps), ["b", "a"]);
    }

    #[test]
    fn entries_that_do_not_chain_keep_their_id_order() {
        let mut steps = vec![
            step("a", "status", Some("X"), Some("Y")),
            step("b", "status", Some("P"), Some("Q")),
        ];
        chain_order(&mut steps, |_| Some(Value::Text("NEW".into())));
        assert_eq!(ids(&steps), ["a", "b"]);
    }
}
