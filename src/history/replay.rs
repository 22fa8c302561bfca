//! The replay itself: entries in entry order `(entry_date, id)`, one slot per object and field
//! (the interval open on it, or the delete that ended the last one), events to a [`Listener`].
//!
//! Rules (docs/answers.md):
//! - An entry's new value opens an interval at its `entry_date`; the next entry of the same
//!   object and field closes it there (half-open: `[valid_from, valid_to)`). Entries at one
//!   millisecond follow their values (`same_millisecond`), so the earlier one's interval is
//!   empty but kept.
//! - The first entry of an object and field that is not an add (`A`) and has an old value
//!   says the field held that value from before the history: an interval with no start.
//! - A delete (`D`) closes the open interval and opens none; the closed interval is handed
//!   out at the field's next entry (or at the end), once it is known whether that entry breaks
//!   the chain (says the field held a value after the delete).
//! - An entry whose old value differs from the open interval's value (null after a delete)
//!   is a chain break: the interval ends there with `ended_by` `chain_break`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::FutureExt;

use super::interval::{ChainBreak, End, Interval, Step, StepOf};
use super::same_millisecond;
use crate::error::{Error, Result};
use crate::model::anomaly::AnomalySet;
use crate::model::change::{ChangeRecord, Value, ValueType};
use crate::model::date::{format_utc_ms, parse_timestamp};
use crate::source::{ChangeSource, Receiver};

/// What the replay tells, in entry order (and the open intervals at the end).
pub trait Listener {
    /// The first entry of an object and field: what was there before it is its old value,
    /// `known` unless it is an add or has no old value.
    fn first(&mut self, _step: &Step, _known: bool) {}
    /// An interval began (its `valid_to` is not known yet).
    fn opened(&mut self, _interval: &Interval) {}
    /// A delete ended the field's value; none follows until the next entry.
    fn deleted(&mut self, _step: &Step) {}
    /// An entry of another field than the one replayed was passed over ([`Scope::field`]).
    fn passed_over(&mut self, _field: &str) {}
    /// An entry's old value is not the value the history left: `found` builds the break,
    /// for the listeners that keep it (half the entries of a history can break the chain, and
    /// most listeners only count them).
    fn chain_break(&mut self, _found: &dyn Fn() -> ChainBreak) {}
    /// An interval is complete: closed by an entry, or (at the end, `valid_to` empty) open.
    /// Lent, not given: the replay reuses its allocation for the interval the entry opens.
    fn interval(&mut self, _interval: &Interval) -> Result<()> {
        Ok(())
    }
}

/// No listener: what is told goes nowhere.
impl Listener for () {}

/// A listener lent.
impl<L: Listener + ?Sized> Listener for &mut L {
    fn first(&mut self, step: &Step, known: bool) {
        (**self).first(step, known);
    }
    fn opened(&mut self, interval: &Interval) {
        (**self).opened(interval);
    }
    fn deleted(&mut self, step: &Step) {
        (**self).deleted(step);
    }
    fn passed_over(&mut self, field: &str) {
        (**self).passed_over(field);
    }
    fn chain_break(&mut self, found: &dyn Fn() -> ChainBreak) {
        (**self).chain_break(found);
    }
    fn interval(&mut self, interval: &Interval) -> Result<()> {
        (**self).interval(interval)
    }
}

/// Two listeners fed by one replay.
impl<A: Listener, B: Listener> Listener for (A, B) {
    fn first(&mut self, step: &Step, known: bool) {
        self.0.first(step, known);
        self.1.first(step, known);
    }
    fn opened(&mut self, interval: &Interval) {
        self.0.opened(interval);
        self.1.opened(interval);
    }
    fn deleted(&mut self, step: &Step) {
        self.0.deleted(step);
        self.1.deleted(step);
    }
    fn passed_over(&mut self, field: &str) {
        self.0.passed_over(field);
        self.1.passed_over(field);
    }
    fn chain_break(&mut self, found: &dyn Fn() -> ChainBreak) {
        self.0.chain_break(found);
        self.1.chain_break(found);
    }
    fn interval(&mut self, interval: &Interval) -> Result<()> {
        self.0.interval(interval)?;
        self.1.interval(interval)
    }
}

/// How input out of entry order is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Refused with one line naming the two entries (exit 2).
    Check,
    /// Sorted in memory first (`--sort`): memory grows with the entries.
    Sort,
}

/// What a replay met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Records read.
    pub records: u64,
    /// Entries replayed (field changes of an object, with an id and a date).
    pub entries: u64,
    /// Records that change no field (approvals, `DW`, …) or lack an id, object or date.
    pub skipped: u64,
    /// Entries at or after the end given (`--until`), not replayed.
    pub after_end: u64,
    /// Entries of fields other than the one measured (`durations`), not replayed.
    pub other_fields: u64,
    pub chain_breaks: u64,
    /// Intervals handed out, open ones included.
    pub intervals: u64,
    /// Objects and fields met.
    pub keys: u64,
    /// Intervals still open at the end.
    pub open: u64,
}

/// Boxed, so the map's growth and the final sort move pointers, not intervals.
enum Slot {
    Open(Box<Interval>),
    /// Deleted by the entry `by`; `ended` is the interval the delete closed, not handed out
    /// yet (none when the field's first entry was the delete).
    Deleted {
        by: String,
        ended: Option<Box<Interval>>,
    },
}

/// The replay's state: one slot per object and field.
#[derive(Default)]
pub struct Replay {
    slots: Slots,
    last: Option<(DateTime<Utc>, String)>,
    /// The entries of the latest millisecond, not replayed yet: they are put in the order their
    /// values chain first ([`same_millisecond`]).
    pending: same_millisecond::Held,
    /// The entries were sorted before (`--sort`): an entry out of order can only be one twice.
    sorted: bool,
    key: String,
    pub totals: Totals,
}

impl Replay {
    pub fn new() -> Replay {
        Replay::default()
    }

    /// Replay one entry; an entry not after the previous one in `(entry_date, id)` is refused.
    /// Entries of one millisecond are held until the next millisecond (or [`Replay::finish`]).
    pub fn push(&mut self, step: Step, to: &mut dyn Listener) -> Result<()> {
        self.check_order(&step)?;
        self.totals.entries += 1;
        if self.pending.at().is_some_and(|held| held != step.at) {
            self.flush(to)?;
        }
        self.pending.push(step);
        Ok(())
    }

    /// Replay the entries held, their fields' entries in the order their values chain.
    fn flush(&mut self, to: &mut dyn Listener) -> Result<()> {
        let (slots, key) = (&self.slots, &mut self.key);
        let order = self.pending.chain_order(|step| left(slots, key, step));
        let mut held = std::mem::take(&mut self.pending);
        let replayed = held.drain(order, |step| self.apply(step, to));
        self.pending = held;
        replayed
    }

    fn apply(&mut self, step: &Step, to: &mut dyn Listener) -> Result<()> {
        key_into(&mut self.key, step);
        match self.slots.get_mut(self.key.as_str()) {
            Some(slot) => {
                let before = std::mem::replace(
                    slot,
                    Slot::Deleted {
                        by: String::new(),
                        ended: None,
                    },
                );
                let (ended, spare) = next(&mut self.totals, before, step, to)?;
                *slot = after(step, ended, spare, to);
            }
            None => {
                self.totals.keys += 1;
                first(&mut self.totals, step, to)?;
                let slot = after(step, None, None, to);
                self.slots.insert(self.key.as_str().into(), slot);
            }
        }
        Ok(())
    }

    fn check_order(&mut self, step: &Step) -> Result<()> {
        if let Some((at, id)) = &self.last
            && (step.at, step.entry_id()) <= (*at, id.as_str())
        {
            let when = format_utc_ms(&step.at);
            if (step.at, step.entry_id()) == (*at, id.as_str()) {
                return Err(Error::usage(format!(
                    "entry {} ({when}) appears twice in the input: give each file once (inputs \
                     that overlap, such as two exports of one window, hold entries twice)",
                    step.entry_id()
                )));
            }
            let sort = if self.sorted {
                ""
            } else {
                ": give --sort to sort it in memory first (a sync out-dir holds late arrivals \
                 after later entries)"
            };
            return Err(Error::usage(format!(
                "the input is not in entry order: entry {} ({when}) comes after entry {id} ({}); \
                 the history is replayed in (entry_date, id) order{sort}",
                step.entry_id(),
                format_utc_ms(at)
            )));
        }
        match &mut self.last {
            Some((at, id)) => {
                *at = step.at;
                id.clear();
                id.push_str(step.entry_id());
            }
            None => self.last = Some((step.at, step.entry_id().to_string())),
        }
        Ok(())
    }
}

/// Each object and field met, by key ([`join_key`]).
type Slots = HashMap<Box<str>, Slot, foldhash::fast::RandomState>;

/// The value the history left for a step's object and field (`None`: none met yet); `key` is
/// room to write its key in.
fn left<'s>(slots: &'s Slots, key: &mut String, step: &Step) -> Option<Value<'s>> {
    key_into(key, step);
    match slots.get(key.as_str())? {
        Slot::Open(i) => Some(i.value()),
        Slot::Deleted { .. } => Some(Value::Null),
    }
}

/// The first 16 bytes of `key` (zeros after a shorter one), as a number that orders as they
/// do: keys of different prefixes order as these, and equal ones by the whole key.
fn prefix(key: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = key.len().min(16);
    bytes[..n].copy_from_slice(&key.as_bytes()[..n]);
    u128::from_be_bytes(bytes)
}

/// The key of a step's slot: object code, object id and field.
fn key_into(key: &mut String, step: &Step) {
    join_key(key, [step.obj_code(), step.obj_id(), step.field_name()]);
}

/// A map key of three parts (each ended by U+001F, which no part holds), written into `key`:
/// the one way the replay and its listeners key an object's field or value.
pub fn join_key(key: &mut String, parts: [&str; 3]) {
    key.clear();
    for part in parts {
        key.push_str(part);
        key.push('\u{1f}');
    }
}

/// What an entry leaves in its slot: the interval its new value opens (in `spare`, the
/// allocation of the interval just handed out, when there is one: an allocation less per
/// entry), or its delete (with the interval it `ended`, handed out at the next entry).
fn after(
    step: &Step,
    ended: Option<Box<Interval>>,
    spare: Option<Box<Interval>>,
    to: &mut dyn Listener,
) -> Slot {
    if step.is_delete() {
        to.deleted(step);
        Slot::Deleted {
            by: step.entry_id().to_string(),
            ended,
        }
    } else {
        let opened = match spare {
            Some(mut reused) => {
                reused.reopen(step);
                reused
            }
            None => Box::new(Interval::opened_by(step)),
        };
        to.opened(&opened);
        Slot::Open(opened)
    }
}

/// The first entry of a key: the value before it, when the history can say.
fn first(totals: &mut Totals, step: &Step, to: &mut dyn Listener) -> Result<()> {
    let known = !step.is_add() && step.old_value() != Value::Null;
    to.first(step, known);
    if known {
        totals.intervals += 1;
        let ended_by = if step.is_delete() {
            End::Delete
        } else {
            End::Change
        };
        to.interval(&Interval::before(step, ended_by))?;
    }
    Ok(())
}

/// What [`next`] leaves: the interval a delete closed (handed out at the next entry), and the
/// allocation of an interval handed out, to reuse.
type Closed = (Option<Box<Interval>>, Option<Box<Interval>>);

/// A later entry of a key: the open interval (if any) closed, a chain break told. An interval
/// a delete closed is handed out now, marked when this entry breaks the chain after it; the one
/// this entry closes is returned instead when it is a delete.
fn next(totals: &mut Totals, slot: Slot, step: &Step, to: &mut dyn Listener) -> Result<Closed> {
    let broken = {
        let (expected, expected_type, expected_entry) = match &slot {
            Slot::Open(i) => (i.value(), i.value_type, i.set_by_entry_id()),
            Slot::Deleted { by, .. } => (Value::Null, step.value_type, Some(by.as_str())),
        };
        let broken = !same_value(&expected, &step.old_value(), expected_type, step.value_type);
        if broken {
            totals.chain_breaks += 1;
            to.chain_break(&|| ChainBreak {
                obj_code: step.obj_code().to_string(),
                obj_id: step.obj_id().to_string(),
                obj_name: step.obj_name().map(str::to_string),
                field_name: step.field_name().to_string(),
                value_type: step.value_type,
                expected: expected.clone().into_owned(),
                found: step.old_value().into_owned(),
                expected_entry_id: expected_entry.map(str::to_string),
                entry_id: step.entry_id().to_string(),
                at: step.at,
            });
        }
        broken
    };
    match slot {
        Slot::Open(mut interval) => {
            let ended_by = match (broken, step.is_delete()) {
                (true, _) => End::ChainBreak,
                (false, true) => End::Delete,
                (false, false) => End::Change,
            };
            interval.close(step.at, step.entry_id(), ended_by, broken);
            if interval.ended_by == Some(End::Delete) {
                return Ok((Some(interval), None));
            }
            totals.intervals += 1;
            to.interval(&interval)?;
            Ok((None, Some(interval)))
        }
        Slot::Deleted {
            ended: Some(mut interval),
            ..
        } => {
            interval.chain_break = broken;
            totals.intervals += 1;
            to.interval(&interval)?;
            Ok((None, Some(interval)))
        }
        Slot::Deleted { ended: None, .. } => Ok((None, None)),
    }
}

impl Replay {
    /// Hand out the intervals still open, by object code, object id and field, and the totals.
    pub fn finish(mut self, to: &mut dyn Listener) -> Result<Totals> {
        self.flush(to)?;
        // Sized once: grown by doubling, it was fresh memory for the kernel to clear twice over.
        let (mut open, mut deleted) = (Vec::with_capacity(self.slots.len()), Vec::new());
        for (key, slot) in self.slots.drain() {
            match slot {
                Slot::Open(i) => open.push((key, i)),
                Slot::Deleted { ended: Some(i), .. } => deleted.push((key, i)),
                Slot::Deleted { ended: None, .. } => {}
            }
        }
        self.totals.open = open.len() as u64;
        // The intervals the last deletes closed, then the open ones, each by key.
        for group in [deleted, open] {
            // By key; most told apart by its first 16 bytes, kept beside it, without reading
            // the key itself (a cache miss each: the sort was the replay's last 5%).
            let mut group: Vec<_> = group.into_iter().map(|(k, i)| (prefix(&k), k, i)).collect();
            group.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            self.totals.intervals += group.len() as u64;
            for (_, _, interval) in group {
                to.interval(&interval)?;
            }
        }
        Ok(self.totals)
    }
}

/// A value as [`same_value`] tells values apart, as text: a number by its decimal value, a
/// date by its instant, text exactly, none as empty text. Two values of one type are the same
/// when these are.
pub fn identity<'v>(v: &'v Value<'_>, value_type: ValueType) -> std::borrow::Cow<'v, str> {
    use std::borrow::Cow;
    match v {
        Value::Number(n) => Cow::Owned(crate::model::number::canonical(n)),
        Value::Text(t) if value_type == ValueType::Date => match parse_timestamp(t) {
            Some(d) => Cow::Owned(format_utc_ms(&d.with_timezone(&Utc))),
            None => Cow::Borrowed(t),
        },
        Value::Text(t) => Cow::Borrowed(t),
        Value::Null => Cow::Borrowed(""),
    }
}

/// Whether two values are the same: dates by instant (a file written with `--tz` shows one
/// instant with the offset of its day), numbers by decimal value (exactly: `8` and `8.00` are
/// one, two integers of 23 digits that differ in the last are two), text exactly, and empty
/// text as no value (a field emptied, `""` in one entry and null in the next, is no break).
pub fn same_value(a: &Value<'_>, b: &Value<'_>, a_type: ValueType, b_type: ValueType) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, Value::Text(t)) | (Value::Text(t), Value::Null) => t.is_empty(),
        (Value::Number(x), Value::Number(y)) => {
            x == y || crate::model::number::canonical(x) == crate::model::number::canonical(y)
        }
        (Value::Text(x), Value::Text(y))
            if a_type == ValueType::Date && b_type == ValueType::Date =>
        {
            x == y
                || matches!((parse_timestamp(x), parse_timestamp(y)), (Some(p), Some(q)) if p == q)
        }
        (Value::Text(x), Value::Text(y)) => x == y,
        _ => false,
    }
}

/// A record as the replay reads it. Returned and taken apart at once, never stored: boxing the
/// entry would cost an allocation per entry for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Read {
    Entry(Step),
    /// A record that changes no field (an approval, `DW`, …): skipped and counted.
    NoField,
    /// A record the replay cannot place (no id, object or readable date): what is missing.
    Unreadable(String),
}

/// A record as the replay reads it, `None` unless it is an entry.
pub fn step_of(record: ChangeRecord<'_>) -> Option<Step> {
    match read(record) {
        Read::Entry(step) => Some(step),
        Read::NoField | Read::Unreadable(_) => None,
    }
}

/// A record as the replay reads it: an entry, a record that changes no field, or one that
/// cannot be placed in the history.
pub fn read(record: ChangeRecord<'_>) -> Read {
    if record.field_name.is_none() {
        return Read::NoField;
    }
    let id = record.id.as_deref().unwrap_or("");
    let at = match record.entry_date.as_deref().map(parse_timestamp) {
        Some(Some(at)) => at.with_timezone(&Utc),
        Some(None) => {
            return Read::Unreadable(format!(
                "entry {id:?} has an entry_date that is not a date: {:?}",
                record.entry_date.as_deref().unwrap_or("")
            ));
        }
        None => return Read::Unreadable(format!("entry {id:?} has no entry_date")),
    };
    if id.is_empty() {
        return Read::Unreadable("a record of a field change has no id".into());
    }
    if record.obj_id.is_none() {
        return Read::Unreadable(format!("entry {id:?} names no object (obj_id)"));
    }
    let labels = record.labels.as_deref();
    Read::Entry(Step::new(StepOf {
        obj_code: record.obj_code.as_deref().unwrap_or_default(),
        obj_id: record.obj_id.as_deref().unwrap_or_default(),
        obj_name: record.obj_name.as_deref(),
        field_name: record.field_name.as_deref().unwrap_or_default(),
        entry_id: id,
        at,
        change_type: record.change_type.as_deref(),
        value_type: record.value_type,
        // Empty text stays a value (Workfront records a name cleared to `""`); CSV cannot
        // tell it from none, and reads both as none (docs/answers.md).
        old_value: record.old_value.borrowed(),
        new_value: record.new_value.borrowed(),
        old_label: labels.and_then(|l| l.old_label.as_deref()),
        new_label: labels.and_then(|l| l.new_label.as_deref()),
        edited_by_id: record.edited_by_id.as_deref(),
        edited_by_name: record.edited_by_name.as_deref(),
    }))
}

/// Which entries a replay takes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// Entries before this instant only (`--until`); all without it.
    pub until: Option<DateTime<Utc>>,
    /// This field's entries only: `durations` measures one field, and the other fields'
    /// entries cannot change its answer (a query fetches only that field; files are read
    /// whole and the others passed over before the replay, counted in
    /// [`Totals::other_fields`]).
    pub field: Option<&'a str>,
}

/// The records of a source, fed to the replay as they come (or gathered and sorted first).
struct Feed<'l> {
    replay: Replay,
    to: &'l mut dyn Listener,
    order: Order,
    scope: Scope<'l>,
    gathered: Vec<Step>,
}

impl Receiver for Feed<'_> {
    fn take(&mut self, record: ChangeRecord<'_>, _: AnomalySet) -> Result<()> {
        self.replay.totals.records += 1;
        if let (Some(only), Some(field)) = (self.scope.field, record.field_name.as_deref())
            && field != only
        {
            self.replay.totals.other_fields += 1;
            self.to.passed_over(field);
            return Ok(());
        }
        let step = match read(record) {
            Read::Entry(step) => step,
            Read::NoField => {
                self.replay.totals.skipped += 1;
                return Ok(());
            }
            Read::Unreadable(what) => {
                return Err(Error::usage(format!(
                    "{what}: the history cannot place it (records as export writes them carry \
                     an id, an object and a date)"
                )));
            }
        };
        if self.scope.until.is_some_and(|end| step.at >= end) {
            self.replay.totals.after_end += 1;
            return Ok(());
        }
        match self.order {
            Order::Check => self.replay.push(step, self.to),
            Order::Sort => {
                self.gathered.push(step);
                Ok(())
            }
        }
    }
}

/// Replay the records of `source` that `scope` takes into `to`, in entry order.
pub async fn run(
    source: &mut dyn ChangeSource,
    to: &mut dyn Listener,
    order: Order,
    scope: Scope<'_>,
) -> Result<Totals> {
    let mut replay = Replay::new();
    replay.sorted = order == Order::Sort;
    let mut feed = Feed {
        replay,
        to,
        order,
        scope,
        gathered: Vec::new(),
    };
    source.deliver(None, &mut feed).boxed_local().await?;
    let mut gathered = std::mem::take(&mut feed.gathered);
    gathered.sort_by(|a, b| (a.at, a.entry_id()).cmp(&(b.at, b.entry_id())));
    for step in gathered {
        feed.replay.push(step, feed.to)?;
    }
    feed.replay.finish(feed.to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, at: &str, kind: &str, old: Option<&str>, new: Option<&str>) -> Step {
        fn v(x: Option<&str>) -> Value<'_> {
            x.map_or(Value::Null, |t| Value::Text(t.into()))
        }
        Step::new(StepOf {
            obj_code: "TASK",
            obj_id: "t1",
            obj_name: Some("Task"),
            field_name: "status",
            entry_id: id,
            at: at.parse().unwrap(),
            change_type: Some(kind),
            value_type: ValueType::Text,
            old_value: v(old),
            new_value: v(new),
            old_label: None,
            new_label: None,
            edited_by_id: Some("u1"),
            edited_by_name: None,
        })
    }

    #[derive(Default)]
    struct Seen {
        intervals: Vec<Interval>,
        breaks: Vec<ChainBreak>,
    }

    impl Listener for Seen {
        fn chain_break(&mut self, found: &dyn Fn() -> ChainBreak) {
            self.breaks.push(found());
        }
        fn interval(&mut self, interval: &Interval) -> Result<()> {
            self.intervals.push(interval.clone());
            Ok(())
        }
    }

    fn replay(steps: Vec<Step>) -> (Seen, Totals) {
        let (mut replay, mut seen) = (Replay::new(), Seen::default());
        for s in steps {
            replay.push(s, &mut seen).unwrap();
        }
        let totals = replay.finish(&mut seen).unwrap();
        (seen, totals)
    }

    fn text(v: &Value<'_>) -> String {
        super::super::durations::value_text(v)
    }

    #[test]
    fn values_chain_into_half_open_intervals_with_one_before_the_history() {
        let (seen, totals) = replay(vec![
            step("e1", "2025-01-01T00:00:00Z", "E", Some("NEW"), Some("INP")),
            step("e2", "2025-01-02T00:00:00Z", "E", Some("INP"), Some("CPL")),
        ]);
        let got: Vec<(String, Option<String>, Option<&str>)> = seen
            .intervals
            .iter()
            .map(|i| {
                (
                    text(&i.value()),
                    i.valid_from.map(|d| d.to_rfc3339()),
                    i.ended_by.map(End::as_str),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("NEW".into(), None, Some("change")),
                (
                    "INP".into(),
                    Some("2025-01-01T00:00:00+00:00".into()),
                    Some("change")
                ),
                ("CPL".into(), Some("2025-01-02T00:00:00+00:00".into()), None),
            ]
        );
        assert_eq!((totals.intervals, totals.open, totals.keys), (3, 1, 1));
    }

    #[test]
    fn an_old_value_that_differs_is_a_chain_break() {
        let (seen, totals) = replay(vec![
            step("e1", "2025-01-01T00:00:00Z", "A", None, Some("NEW")),
            step("e2", "2025-01-02T00:00:00Z", "E", Some("PLN"), Some("INP")),
        ]);
        assert_eq!(totals.chain_breaks, 1);
        assert_eq!(seen.intervals[0].ended_by, Some(End::ChainBreak));
        let b = &seen.breaks[0];
        assert_eq!(
            (text(&b.expected), text(&b.found)),
            ("NEW".into(), "PLN".into())
        );
        assert_eq!(
            (b.expected_entry_id.as_deref(), b.entry_id.as_str()),
            (Some("e1"), "e2")
        );
    }

    #[test]
    fn a_delete_closes_and_a_later_add_reopens() {
        let (seen, totals) = replay(vec![
            step("e1", "2025-01-01T00:00:00Z", "A", None, Some("NEW")),
            step("e2", "2025-01-02T00:00:00Z", "D", Some("NEW"), None),
            step("e3", "2025-01-03T00:00:00Z", "A", None, Some("INP")),
        ]);
        assert_eq!(totals.chain_breaks, 0);
        assert_eq!(seen.intervals.len(), 2);
        assert_eq!(seen.intervals[0].ended_by, Some(End::Delete));
        assert_eq!(text(&seen.intervals[1].value()), "INP");
    }

    #[test]
    fn values_compare_by_decimal_value_instant_and_empty_as_none() {
        fn n(s: &str) -> Value<'_> {
            Value::Number(s.into())
        }
        let t = |s: &str| Value::Text(s.to_string().into());
        let (num, txt, date) = (ValueType::Number, ValueType::Text, ValueType::Date);
        assert!(same_value(&n("8"), &n("8.00"), num, num));
        let big = "12345678901234567890123";
        assert!(!same_value(
            &n(big),
            &n("12345678901234567890124"),
            num,
            num
        ));
        assert!(same_value(&Value::Null, &t(""), txt, txt));
        assert!(!same_value(&Value::Null, &t("x"), txt, txt));
        let (a, b) = (
            t("2025-03-09T01:00:00.000-05:00"),
            t("2025-03-09T06:00:00.000Z"),
        );
        assert!(same_value(&a, &b, date, date));
    }

    #[test]
    fn same_millisecond_entries_follow_their_values_not_their_ids() {
        let t = "2025-01-01T00:00:00Z";
        let (seen, totals) = replay(vec![
            step("e1", "2024-12-31T00:00:00Z", "A", None, Some("NEW")),
            step("e2", t, "E", Some("INP"), Some("CPL")),
            step("e3", t, "E", Some("NEW"), Some("INP")),
        ]);
        assert_eq!(totals.chain_breaks, 0);
        let got: Vec<(String, Option<&str>)> = seen
            .intervals
            .iter()
            .map(|i| (text(&i.value()), i.set_by_entry_id()))
            .collect();
        assert_eq!(
            got,
            [
                ("NEW".into(), Some("e1")),
                ("INP".into(), Some("e3")),
                ("CPL".into(), Some("e2"))
            ]
        );
    }

    #[test]
    fn a_value_after_a_delete_marks_the_interval_the_delete_ended() {
        let (seen, totals) = replay(vec![
            step("e1", "2025-01-01T00:00:00Z", "A", None, Some("NEW")),
            step("e2", "2025-01-02T00:00:00Z", "D", Some("NEW"), None),
            step("e3", "2025-01-03T00:00:00Z", "E", Some("INP"), Some("CPL")),
        ]);
        assert_eq!(totals.chain_breaks, 1);
        let first = &seen.intervals[0];
        assert_eq!(
            (first.ended_by, first.chain_break(), text(&first.value())),
            (Some(End::Delete), true, "NEW".into())
        );
        assert_eq!(seen.breaks[0].expected_entry_id.as_deref(), Some("e2"));
        assert!(!seen.intervals[1].chain_break());
    }

    #[test]
    fn entries_out_of_order_are_refused_and_same_millisecond_leaves_an_empty_interval() {
        let (mut replay, mut seen) = (Replay::new(), Seen::default());
        let t = "2025-01-01T00:00:00Z";
        replay
            .push(step("e1", t, "E", Some("A"), Some("B")), &mut seen)
            .unwrap();
        replay
            .push(step("e2", t, "E", Some("B"), Some("C")), &mut seen)
            .unwrap();
        let err = replay
            .push(step("e0", t, "E", Some("C"), Some("D")), &mut seen)
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::USAGE);
        assert!(err.to_string().contains("entry e0"), "{err}");
        assert!(err.to_string().contains("--sort"), "{err}");
        replay.finish(&mut seen).unwrap();
        // The interval of B is empty, [t, t), and kept.
        let b = &seen.intervals[1];
        assert_eq!(
            (b.valid_from, b.valid_to),
            (Some(t.parse().unwrap()), Some(t.parse().unwrap()))
        );
    }
}
