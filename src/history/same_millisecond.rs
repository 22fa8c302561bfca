//! Entries of one object and field at one millisecond, put in the order their values chain.
//!
//! Workfront stamps a bulk edit's entries with one `entryDate` (the API notes, "Bulk edits"),
//! and an entry's id says nothing of the order the changes were made in. Replayed in id order,
//! `INP → CPL` (id `a…`) before `NEW → INP` (id `b…`) would read as two chain breaks that never
//! happened. Within a millisecond the replay therefore follows the values: from the value the
//! history left, the entry whose old value it is, then the entry whose old value that one's new
//! value is, and so on; where no entry continues the chain, the lowest id comes next (a real
//! break stays a break). Entries of different fields keep their id order.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasher;

use chrono::{DateTime, Utc};

use super::interval::Step;
use super::replay::identity;
use crate::error::Result;
use crate::model::change::Value;

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

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
    /// (read again a bulk edit later, the text of hundreds of thousands of entries is not);
    /// the first entry's once a second comes (most milliseconds hold one entry, which needs
    /// no order).
    hashes: Vec<u64>,
    len: usize,
}

/// An entry's object and field.
fn key(step: &Step) -> (&str, &str, &str) {
    (step.obj_code(), step.obj_id(), step.field_name())
}

impl Held {
    pub fn push(&mut self, step: Step) {
        let hash = |step: &Step| foldhash::fast::FixedState::default().hash_one(key(step));
        if self.len == 1 {
            let first = hash(self.get(0));
            self.hashes.push(first);
        }
        if self.len >= 1 {
            self.hashes.push(hash(&step));
        }
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

    /// Hand each entry to `apply` in `order` (from [`Held::chain_order`]); empty after,
    /// whatever `apply` says.
    pub fn drain(
        &mut self,
        order: Option<Vec<usize>>,
        mut apply: impl FnMut(&Step) -> Result<()>,
    ) -> Result<()> {
        let len = std::mem::take(&mut self.len);
        self.hashes.clear();
        let chunks = &mut self.chunks;
        // Taken out and dropped once applied: a bulk edit's hundreds of thousands of entries
        // free their memory as they go, for the intervals they open to take (BENCHMARKS.md,
        // "Answers").
        let mut lend = |i: usize| {
            let step = chunks[i / CHUNK][i % CHUNK]
                .take()
                .expect("an entry held is taken once");
            apply(&step)
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
    pub fn chain_order<'c>(
        &self,
        mut current: impl FnMut(&Step) -> Option<Value<'c>>,
    ) -> Option<Vec<usize>> {
        if self.len < 2 {
            return None;
        }
        // Most keys have one entry in a millisecond: only those met twice are ordered. Keys are
        // found by their hash; two keys of one hash (the text tells) take the next free one.
        // Each entry of a key met before is paired with the key's first entry, and the pairs
        // sorted: a key's entries lie together, in id order (one allocation for them all, not
        // a list per key).
        let mut first: HashMap<u64, usize, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(self.len, Default::default());
        let mut repeated: Vec<(usize, usize)> = Vec::new();
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
                        if repeated.last().is_none_or(|&(h, _)| h != head) {
                            repeated.push((head, head));
                        }
                        repeated.push((head, at));
                        break;
                    }
                    Entry::Occupied(_) => hash = hash.wrapping_add(1),
                }
            }
        }
        drop(first);
        repeated.sort_unstable();
        repeated.dedup();
        let mut placement: Vec<usize> = (0..self.len).collect();
        let mut moved = false;
        let mut positions = Vec::new();
        for group in repeated.chunk_by(|a, b| a.0 == b.0) {
            positions.clear();
            positions.extend(group.iter().map(|&(_, at)| at));
            let order = chained(&positions, |i| self.get(i), current(self.get(positions[0])));
            for (&to, from) in positions.iter().zip(order) {
                moved |= to != from;
                placement[to] = from;
            }
        }
        moved.then_some(placement)
    }
}

/// The positions of one field's entries (ascending: id order) in the order their values chain,
/// from `value` (the value the history left; `None`: nothing met yet).
///
/// Each entry is a step from its old value to the value it leaves. The lowest id that continues
/// the chain comes next, when that chains every entry; when it would strand one (`X → Y`,
/// `X → Z`, `Z → X` from `X` chain only as `X → Z → X → Y`) and one order chains them all (a
/// trail through every entry, from the value left), that order is taken, built by Hierholzer's
/// algorithm in time linear in the entries, each value's next entries tried in id order.
/// Otherwise some break is real, and the order is built greedily.
fn chained<'s>(
    positions: &[usize],
    steps: impl Fn(usize) -> &'s Step,
    value: Option<Value<'_>>,
) -> Vec<usize> {
    // What each entry starts from and leaves, as values are told apart, borrowed from the
    // entries where they are text already.
    let values: Vec<(Value<'s>, Value<'s>)> = positions
        .iter()
        .map(|&i| (steps(i).old_value(), left(steps(i))))
        .collect();
    let ends: Vec<(Cow<'_, str>, Cow<'_, str>)> = positions
        .iter()
        .zip(&values)
        .map(|(&i, (old, leaves))| {
            let t = steps(i).value_type;
            (identity(old, t), identity(leaves, t))
        })
        .collect();
    let start = value
        .as_ref()
        .map(|v| identity(v, steps(positions[0]).value_type));
    // A few entries (most often two): the lowest id that continues, when that chains them all.
    if ends.len() <= FEW {
        let order = greedy(&ends, start.as_deref());
        if chains(&ends, &order, start.as_deref()) {
            return order.into_iter().map(|k| positions[k]).collect();
        }
    }
    let order = trail(&ends, start.as_deref()).unwrap_or_else(|| greedy(&ends, start.as_deref()));
    order.into_iter().map(|k| positions[k]).collect()
}

/// Up to this many entries of one field at one millisecond are first put in order by the
/// lowest id that continues (quadratic in them, cheaper than a trail for a few).
const FEW: usize = 16;

/// Whether `order` chains every entry, from `start` (any value when `None`).
fn chains(ends: &[(Cow<'_, str>, Cow<'_, str>)], order: &[usize], start: Option<&str>) -> bool {
    let mut value = start;
    order.iter().all(|&k| {
        let follows = value.is_none_or(|v| ends[k].0 == v);
        value = Some(&ends[k].1);
        follows
    })
}

/// The entries (`ends[k]`: from, to) in an order where each starts from the value the one before
/// left, the first from `start` (any value when `None`), if there is one.
fn trail(ends: &[(Cow<'_, str>, Cow<'_, str>)], start: Option<&str>) -> Option<Vec<usize>> {
    // Each value's entries, in id order, and how many more leave it than reach it.
    let mut out: Map<&str, Vec<usize>> = Map::default();
    let mut surplus: Map<&str, i64> = Map::default();
    for (k, (from, to)) in ends.iter().enumerate() {
        out.entry(from).or_default().push(k);
        *surplus.entry(from).or_default() += 1;
        *surplus.entry(to).or_default() -= 1;
    }
    let sources: Vec<&str> = surplus
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(v, _)| *v)
        .collect();
    let begin = match (sources.as_slice(), start) {
        // Every value left as often as reached: a circuit, from the value left.
        ([], Some(s)) => s,
        ([], None) => &ends[0].0,
        ([one], Some(s)) if *one == s && surplus[one] == 1 => s,
        ([one], None) if surplus[one] == 1 => one,
        _ => return None,
    };
    let mut next: Map<&str, usize> = Map::default();
    let mut stack: Vec<(&str, Option<usize>)> = vec![(begin, None)];
    let mut order = Vec::with_capacity(ends.len());
    while let Some(&(at, by)) = stack.last() {
        let taken = next.entry(at).or_default();
        match out.get(at).and_then(|edges| edges.get(*taken)) {
            Some(&k) => {
                *taken += 1;
                stack.push((&ends[k].1, Some(k)));
            }
            None => {
                stack.pop();
                order.extend(by);
            }
        }
    }
    order.reverse();
    // Entries out of reach of the start: no one trail.
    (order.len() == ends.len()).then_some(order)
}

/// Some break is real: from the value left, the lowest id that continues the chain; where none
/// does, a head (an entry whose old value no other entry leaves), else the lowest id.
fn greedy<'e>(ends: &'e [(Cow<'_, str>, Cow<'_, str>)], mut value: Option<&'e str>) -> Vec<usize> {
    let mut rest: Vec<usize> = (0..ends.len()).collect();
    // How many of the entries not yet placed leave each value.
    let mut leaving: Map<&str, usize> = Map::default();
    for (_, to) in ends {
        *leaving.entry(to).or_default() += 1;
    }
    let mut order = Vec::with_capacity(ends.len());
    while !rest.is_empty() {
        let continues = value.and_then(|v| rest.iter().position(|&k| ends[k].0 == v));
        let head = || {
            rest.iter().position(|&k| {
                let (from, to) = &ends[k];
                let others =
                    leaving.get(from.as_ref()).copied().unwrap_or(0) - usize::from(from == to);
                others == 0
            })
        };
        let k = rest.remove(continues.or_else(head).unwrap_or(0));
        if let Some(n) = leaving.get_mut(ends[k].1.as_ref()) {
            *n -= 1;
        }
        value = Some(&ends[k].1);
        order.push(k);
    }
    order
}

/// The value an entry leaves: its new value, or none after a delete.
fn left(step: &Step) -> Value<'_> {
    if step.is_delete() {
        Value::Null
    } else {
        step.new_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::StepOf;
    use crate::model::change::ValueType;

    fn step(id: &str, field: &str, old: Option<&str>, new: Option<&str>) -> Step {
        fn v(x: Option<&str>) -> Value<'_> {
            x.map_or(Value::Null, |t| Value::Text(t.into()))
        }
        Step::new(StepOf {
            obj_code: "TASK",
            obj_id: "t1",
            obj_name: None,
            field_name: field,
            entry_id: id,
            at: "2025-01-01T00:00:00Z".parse().unwrap(),
            change_type: Some("E"),
            value_type: ValueType::Text,
            old_value: v(old),
            new_value: v(new),
            old_label: None,
            new_label: None,
            edited_by_id: None,
            edited_by_name: None,
        })
    }

    /// The ids in the order the entries are replayed, the value left being `current`.
    fn ids(steps: &[Step], current: Option<&str>) -> Vec<String> {
        let held = holding(steps);
        replayed(held, |_| current.map(|c| Value::Text(c.to_string().into())))
    }

    fn holding(steps: &[Step]) -> Held {
        let mut held = Held::default();
        steps.iter().cloned().for_each(|s| held.push(s));
        held
    }

    /// The ids in the order `held` replays them, `current` giving the value left.
    fn replayed(mut held: Held, current: impl Fn(&Step) -> Option<Value<'static>>) -> Vec<String> {
        let order = held.chain_order(current);
        let mut ids = Vec::new();
        held.drain(order, |s| {
            ids.push(s.entry_id().to_string());
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
        let mut held = holding(&[
            step("a", "status", Some("INP"), Some("CPL")),
            step("b", "name", Some("x"), Some("y")),
            step("c", "status", Some("NEW"), Some("INP")),
            step("d", "name", Some("w"), Some("x")),
        ]);
        // As if every key hashed alike.
        held.hashes.iter_mut().for_each(|h| *h = 7);
        let ids = replayed(held, |s| {
            let left = if s.field_name() == "status" {
                "NEW"
            } else {
                "w"
            };
            Some(Value::Text(left.to_string().into()))
        });
        assert_eq!(ids, ["c", "d", "a", "b"]);
    }

    #[test]
    fn an_order_that_chains_every_entry_is_found_where_the_lowest_id_would_strand_one() {
        // From X, a (X → Y) first would leave b and c after a break; b, c, a chain.
        let steps = vec![
            step("a", "status", Some("X"), Some("Y")),
            step("b", "status", Some("X"), Some("Z")),
            step("c", "status", Some("Z"), Some("X")),
        ];
        assert_eq!(ids(&steps, Some("X")), ["b", "c", "a"]);
    }

    #[test]
    fn thousands_of_one_fields_entries_at_one_millisecond_chain_when_they_can() {
        // Pairs X_k → Y_k → X_k... from X_0 through every pair, ids in no order of the chain.
        let n = 2000;
        let mut steps = Vec::new();
        for k in 0..n {
            let (x, y, x2) = (format!("X{k}"), format!("Y{k}"), format!("X{}", k + 1));
            steps.push(step(
                &format!("{:05}", (k * 7919) % n),
                "status",
                Some(&x),
                Some(&y),
            ));
            steps.push(step(
                &format!("{:05}", (k * 7919) % n + n),
                "status",
                Some(&y),
                Some(&x2),
            ));
        }
        steps.sort_by(|a, b| a.entry_id().cmp(b.entry_id()));
        let by_id: HashMap<String, Step> = steps
            .iter()
            .map(|s| (s.entry_id().to_string(), s.clone()))
            .collect();
        let order = ids(&steps, Some("X0"));
        assert_eq!(order.len(), 2 * n);
        let mut value = "X0".to_string();
        for id in &order {
            let s = &by_id[id];
            assert_eq!(s.old_value(), Value::Text(value.clone().into()), "{id}");
            value = super::super::durations::value_text(&s.new_value());
        }
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
