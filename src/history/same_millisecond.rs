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
use std::collections::hash_map::Entry;
use std::hash::BuildHasher;

use chrono::{DateTime, Utc};

use super::interval::Step;
use super::replay::same_value;
use crate::error::Result;
use crate::model::change::Value;

/// Entries held in chunks of this many: a bulk edit's hundreds of thousands of entries at one
/// millisecond grow the chunks without moving the entries held (a `Vec` doubling copied each
/// again into fresh memory: a seventh of `intervals`' time; BENCHMARKS.md, "Answers").
const CHUNK: usize = 1024;

/// One millisecond's entries, in the order they came (id order), until they are replayed.
/// The chunks are kept for the next millisecond.
#[derive(Default)]
pub struct Held {
    /// `None` once taken.
    chunks: Vec<Vec<Option<Step>>>,
    /// Each entry's object and field hashed as it came, while its text was in the cache
    /// (read again a bulk edit later, the text of hundreds of thousands of entries is not).
    hashes: Vec<u64>,
    len: usize,
}

/// An entry's object and field.
fn key(step: &Step) -> (&str, &str, &str) {
    (&step.obj_code, &step.obj_id, &step.field_name)
}

impl Held {
    pub fn push(&mut self, step: Step) {
        self.hashes
            .push(foldhash::fast::FixedState::default().hash_one(key(&step)));
        let chunk = self.len / CHUNK;
        if chunk == self.chunks.len() {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks[chunk].push(Some(step));
        self.len += 1;
    }

    /// The millisecond held, if any.
    pub fn at(&self) -> Option<DateTime<Utc>> {
        self.chunks.first()?.first()?.as_ref().map(|s| s.at)
    }

    fn get(&self, i: usize) -> &Step {
        self.chunks[i / CHUNK][i % CHUNK]
            .as_ref()
            .expect("an entry held is taken once")
    }

    /// Lend each entry to `apply` in `order` (from [`Held::chain_order`]), which may take
    /// its parts; empty after, whatever `apply` says.
    pub fn drain(
        &mut self,
        order: Option<Vec<usize>>,
        mut apply: impl FnMut(&mut Step) -> Result<()>,
    ) -> Result<()> {
        let len = std::mem::take(&mut self.len);
        self.hashes.clear();
        let chunks = &mut self.chunks;
        // Lent where it lies, not moved out: a step is a few hundred bytes, and each move
        // copied them (BENCHMARKS.md, "Answers").
        let mut lend = |i: usize| {
            apply(
                chunks[i / CHUNK][i % CHUNK]
                    .as_mut()
                    .expect("an entry held is there until the chunks are cleared"),
            )
        };
        let applied = match order {
            None => (0..len).try_for_each(&mut lend),
            Some(order) => order.into_iter().try_for_each(&mut lend),
        };
        self.chunks.iter_mut().for_each(Vec::clear);
        applied
    }

    /// Which entry goes to each position so that each object and field's entries chain
    /// (`None`: each stays where it is); `current` gives the value the history left for a
    /// step's object and field (`None`: nothing met yet). The positions a field's entries take
    /// stay where they were.
    pub fn chain_order(
        &self,
        current: impl Fn(&Step) -> Option<Value<'static>>,
    ) -> Option<Vec<usize>> {
        if self.len < 2 {
            return None;
        }
        // Most keys have one entry in a millisecond: only those met twice get a list. Keys are
        // found by their hash; two keys of one hash (the text tells) take the next free one.
        let mut first: HashMap<u64, usize, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(self.len, Default::default());
        let mut repeated: HashMap<usize, Vec<usize>, foldhash::fast::RandomState> =
            HashMap::default();
        for at in 0..self.len {
            let mut hash = self.hashes[at];
            loop {
                match first.entry(hash) {
                    Entry::Vacant(free) => {
                        free.insert(at);
                        break;
                    }
                    Entry::Occupied(met) if key(self.get(*met.get())) == key(self.get(at)) => {
                        let head = *met.get();
                        repeated.entry(head).or_insert_with(|| vec![head]).push(at);
                        break;
                    }
                    Entry::Occupied(_) => hash = hash.wrapping_add(1),
                }
            }
        }
        let mut placement: Vec<usize> = (0..self.len).collect();
        let mut moved = false;
        for positions in repeated.into_values() {
            let order = chained(&positions, |i| self.get(i), current(self.get(positions[0])));
            for (to, from) in positions.into_iter().zip(order) {
                moved |= to != from;
                placement[to] = from;
            }
        }
        moved.then_some(placement)
    }
}

/// The positions of one field's entries (ascending: id order) in the order their values chain.
fn chained<'s>(
    positions: &[usize],
    steps: impl Fn(usize) -> &'s Step,
    mut value: Option<Value<'static>>,
) -> Vec<usize> {
    let mut rest: Vec<usize> = positions.to_vec();
    let mut order = Vec::with_capacity(rest.len());
    while !rest.is_empty() {
        let follows =
            |v: &Value<'_>, s: &Step| same_value(v, &s.old_value, s.value_type, s.value_type);
        let continues = value
            .as_ref()
            .and_then(|v| rest.iter().position(|&i| follows(v, steps(i))));
        // No entry continues the chain: a head (an entry whose old value no other entry left).
        let head = || {
            rest.iter().position(|&i| {
                !rest
                    .iter()
                    .any(|&j| j != i && follows(&left(steps(j)), steps(i)))
            })
        };
        let pick = rest.remove(continues.or_else(head).unwrap_or(0));
        value = Some(left(steps(pick)));
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

    /// The ids in the order the entries are replayed, the value left being `current`.
    fn ids(steps: &[Step], current: Option<&str>) -> Vec<String> {
        let mut held = Held::default();
        steps.iter().cloned().for_each(|s| held.push(s));
        let order = held.chain_order(|_| current.map(|c| Value::Text(c.to_string().into())));
        let mut ids = Vec::new();
        held.drain(order, |s| {
            ids.push(s.entry_id.clone());
            Ok(())
        })
        .unwrap();
        ids
    }

    #[test]
    fn a_fields_entries_follow_their_values_and_other_fields_keep_their_places() {
        let steps = vec![
            step("a", "status", Some("INP"), Some("CPL")),
            step("b", "name", Some("x"), Some("y")),
            step("c", "status", Some("NEW"), Some("INP")),
        ];
        assert_eq!(ids(&steps, Some("NEW")), ["c", "b", "a"]);
    }

    #[test]
    fn without_a_value_left_the_head_of_the_chain_comes_first() {
        let steps = vec![
            step("a", "status", Some("INP"), Some("CPL")),
            step("b", "status", Some("CPL"), Some("DON")),
            step("c", "status", Some("NEW"), Some("INP")),
        ];
        assert_eq!(ids(&steps, None), ["c", "a", "b"]);
    }

    #[test]
    fn a_value_and_back_at_one_millisecond_starts_from_the_value_left() {
        let steps = vec![
            step("a", "status", Some("INP"), Some("NEW")),
            step("b", "status", Some("NEW"), Some("INP")),
        ];
        assert_eq!(ids(&steps, Some("INP")), ["a", "b"]);
        assert_eq!(ids(&steps, Some("NEW")), ["b", "a"]);
    }

    #[test]
    fn two_fields_of_one_hash_are_told_apart_by_their_text() {
        let mut held = Held::default();
        for s in [
            step("a", "status", Some("INP"), Some("CPL")),
            step("b", "name", Some("x"), Some("y")),
            step("c", "status", Some("NEW"), Some("INP")),
            step("d", "name", Some("w"), Some("x")),
        ] {
            held.push(s);
        }
        // As if every key hashed alike.
        held.hashes.iter_mut().for_each(|h| *h = 7);
        let order = held.chain_order(|s| {
            let left = if s.field_name == "status" { "NEW" } else { "w" };
            Some(Value::Text(left.to_string().into()))
        });
        let mut ids = Vec::new();
        held.drain(order, |s| {
            ids.push(s.entry_id.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(ids, ["c", "d", "a", "b"]);
    }

    #[test]
    fn entries_that_do_not_chain_keep_their_id_order() {
        let steps = vec![
            step("a", "status", Some("X"), Some("Y")),
            step("b", "status", Some("P"), Some("Q")),
        ];
        assert_eq!(ids(&steps, Some("NEW")), ["a", "b"]);
    }
}
