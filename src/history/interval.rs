//! What the replay hands out: an [`Interval`] (one value of one object's field, from the entry
//! that set it to the entry that ended it), a [`Step`] (one entry as the replay met it) and a
//! [`ChainBreak`] (an entry whose old value is not the value the history left).

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::packed::Packed;
use crate::model::change::{Value, ValueType};

/// What ended an interval: the next entry of its object and field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// An entry that changed the value from this one.
    Change,
    /// A delete (`D`): the field has no value after it.
    Delete,
    /// An entry whose old value is not this value: it changed without a journal entry.
    ChainBreak,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Change => "change",
            End::Delete => "delete",
            End::ChainBreak => "chain_break",
        }
    }
}

/// One value held by one object's field over `[valid_from, valid_to)`. Its text, the value
/// included, is kept in one allocation ([`Packed`]), read through the methods.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    texts: Packed<FIELDS>,
    pub value_type: ValueType,
    /// The value is a number (written as one), not text.
    number: bool,
    /// `None`: held from before the history begins.
    pub valid_from: Option<DateTime<Utc>>,
    /// `None`: still open.
    pub valid_to: Option<DateTime<Utc>>,
    pub ended_by: Option<End>,
    /// The next entry of its object and field says it changed from another value: it ended
    /// the interval (`ended_by` chain break), or, after the delete that ended it, says the
    /// field held a value again (`ended_by` delete).
    pub chain_break: bool,
}

/// An interval's text fields, in the order they are written.
#[derive(Clone, Copy, Debug)]
enum Part {
    ObjCode,
    ObjId,
    ObjName,
    FieldName,
    /// Absent for none.
    Value,
    Label,
    SetById,
    SetByName,
    SetByEntryId,
    /// Written last, when the interval ends.
    EndedByEntryId,
}

const FIELDS: usize = 10;

/// The length of an entry id as Workfront writes them, kept free for the one that ends it.
const ID: usize = 32;

impl Interval {
    /// The interval `step`'s new value opens.
    pub fn opened_by(step: &Step) -> Interval {
        let mut interval = Interval {
            texts: Packed::default(),
            value_type: step.value_type,
            number: false,
            valid_from: None,
            valid_to: None,
            ended_by: None,
            chain_break: false,
        };
        interval.reopen(step);
        interval
    }

    /// Become the interval `step`'s new value opens, keeping the allocation.
    pub fn reopen(&mut self, step: &Step) {
        let (value, number) = step.value(StepPart::NewValue);
        self.texts.write(
            [
                Some(step.obj_code()),
                Some(step.obj_id()),
                step.obj_name(),
                Some(step.field_name()),
                value,
                step.new_label(),
                step.edited_by_id(),
                step.edited_by_name(),
                Some(step.entry_id()),
                // Written when the interval ends.
                None,
            ],
            ID,
        );
        self.value_type = step.value_type;
        self.number = number;
        self.valid_from = Some(step.at);
        self.valid_to = None;
        self.ended_by = None;
        self.chain_break = false;
    }

    /// The value `step` says its field held from before the history, ended by `step`.
    pub fn before(step: &Step, ended_by: End) -> Interval {
        let mut texts = Packed::default();
        let (value, number) = step.value(StepPart::OldValue);
        texts.write(
            [
                Some(step.obj_code()),
                Some(step.obj_id()),
                step.obj_name(),
                Some(step.field_name()),
                value,
                step.old_label(),
                None,
                None,
                None,
                Some(step.entry_id()),
            ],
            0,
        );
        Interval {
            texts,
            value_type: step.value_type,
            number,
            valid_from: None,
            valid_to: Some(step.at),
            ended_by: Some(ended_by),
            chain_break: false,
        }
    }

    /// Become a copy of `other`, keeping this one's allocation for the text.
    pub fn copy_from(&mut self, other: &Interval) {
        self.texts.clone_from(&other.texts);
        self.value_type = other.value_type;
        self.number = other.number;
        self.valid_from = other.valid_from;
        self.valid_to = other.valid_to;
        self.ended_by = other.ended_by;
        self.chain_break = other.chain_break;
    }

    /// End it at `at` by the entry `entry_id`.
    pub fn close(&mut self, at: DateTime<Utc>, entry_id: &str, ended_by: End, broken: bool) {
        self.valid_to = Some(at);
        self.texts
            .push(Part::EndedByEntryId as usize, Some(entry_id));
        self.ended_by = Some(ended_by);
        self.chain_break = broken;
    }

    fn get(&self, part: Part) -> Option<&str> {
        self.texts.get(part as usize)
    }

    pub fn obj_code(&self) -> &str {
        self.get(Part::ObjCode).unwrap_or_default()
    }

    pub fn obj_id(&self) -> &str {
        self.get(Part::ObjId).unwrap_or_default()
    }

    /// The object's name as the entry that set the value names it (for a value held from
    /// before the history, the entry that ended it).
    pub fn obj_name(&self) -> Option<&str> {
        self.get(Part::ObjName)
    }

    pub fn field_name(&self) -> &str {
        self.get(Part::FieldName).unwrap_or_default()
    }

    /// The value held (borrowed from the interval).
    pub fn value(&self) -> Value<'_> {
        value_of(self.get(Part::Value), self.number)
    }

    /// The value's label (`--labels`), when the records carry one.
    pub fn label(&self) -> Option<&str> {
        self.get(Part::Label)
    }

    pub fn set_by_id(&self) -> Option<&str> {
        self.get(Part::SetById)
    }

    pub fn set_by_name(&self) -> Option<&str> {
        self.get(Part::SetByName)
    }

    pub fn set_by_entry_id(&self) -> Option<&str> {
        self.get(Part::SetByEntryId)
    }

    pub fn ended_by_entry_id(&self) -> Option<&str> {
        self.get(Part::EndedByEntryId)
    }

    /// Whether the chain broke after it (see the field).
    pub fn chain_break(&self) -> bool {
        self.chain_break
    }

    /// Its length in milliseconds of real time, an open one counted up to `until`; `None`
    /// without a start.
    pub fn millis(&self, until: DateTime<Utc>) -> Option<i64> {
        let from = self.valid_from?;
        let to = self.valid_to.unwrap_or(until);
        Some((to - from).num_milliseconds().max(0))
    }
}

/// A value kept as text: none when absent, else a number or text.
fn value_of(text: Option<&str>, number: bool) -> Value<'_> {
    match text {
        None => Value::Null,
        Some(t) if number => Value::Number(Cow::Borrowed(t)),
        Some(t) => Value::Text(Cow::Borrowed(t)),
    }
}

/// A value as text to keep, and whether it is a number.
fn text_of<'v>(value: &'v Value<'_>) -> (Option<&'v str>, bool) {
    match value {
        Value::Null => (None, false),
        Value::Text(t) => (Some(t), false),
        Value::Number(n) => (Some(n), true),
    }
}

/// One entry as the replay met it: the object and field it changed, when, by whom, from what
/// to what. Its text is kept in one allocation ([`Packed`]), read through the methods.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    texts: Packed<STEP_FIELDS>,
    pub at: DateTime<Utc>,
    pub value_type: ValueType,
    /// Which values are numbers: a bit for the old one, a bit for the new.
    numbers: u8,
}

/// An entry's text fields, in the order they are kept.
#[derive(Clone, Copy, Debug)]
enum StepPart {
    ObjCode,
    ObjId,
    ObjName,
    FieldName,
    EntryId,
    ChangeType,
    OldValue,
    NewValue,
    OldLabel,
    NewLabel,
    EditedById,
    EditedByName,
}

const STEP_FIELDS: usize = 12;

/// What a [`Step`] is made of, borrowed (from a change record, or a test's table).
#[derive(Debug, Clone)]
pub struct StepOf<'a> {
    pub obj_code: &'a str,
    pub obj_id: &'a str,
    pub obj_name: Option<&'a str>,
    pub field_name: &'a str,
    pub entry_id: &'a str,
    pub at: DateTime<Utc>,
    pub change_type: Option<&'a str>,
    pub value_type: ValueType,
    pub old_value: Value<'a>,
    pub new_value: Value<'a>,
    pub old_label: Option<&'a str>,
    pub new_label: Option<&'a str>,
    pub edited_by_id: Option<&'a str>,
    pub edited_by_name: Option<&'a str>,
}

impl Step {
    pub fn new(of: StepOf<'_>) -> Step {
        let (old, old_number) = text_of(&of.old_value);
        let (new, new_number) = text_of(&of.new_value);
        let mut texts = Packed::default();
        texts.write(
            [
                Some(of.obj_code),
                Some(of.obj_id),
                of.obj_name,
                Some(of.field_name),
                Some(of.entry_id),
                of.change_type,
                old,
                new,
                of.old_label,
                of.new_label,
                of.edited_by_id,
                of.edited_by_name,
            ],
            0,
        );
        Step {
            texts,
            at: of.at,
            value_type: of.value_type,
            numbers: u8::from(old_number) | u8::from(new_number) << 1,
        }
    }

    fn get(&self, part: StepPart) -> Option<&str> {
        self.texts.get(part as usize)
    }

    /// A value's text and whether it is a number.
    fn value(&self, part: StepPart) -> (Option<&str>, bool) {
        let bit = match part {
            StepPart::NewValue => 2,
            _ => 1,
        };
        (self.get(part), self.numbers & bit != 0)
    }

    pub fn obj_code(&self) -> &str {
        self.get(StepPart::ObjCode).unwrap_or_default()
    }

    pub fn obj_id(&self) -> &str {
        self.get(StepPart::ObjId).unwrap_or_default()
    }

    pub fn obj_name(&self) -> Option<&str> {
        self.get(StepPart::ObjName)
    }

    pub fn field_name(&self) -> &str {
        self.get(StepPart::FieldName).unwrap_or_default()
    }

    pub fn entry_id(&self) -> &str {
        self.get(StepPart::EntryId).unwrap_or_default()
    }

    pub fn change_type(&self) -> Option<&str> {
        self.get(StepPart::ChangeType)
    }

    pub fn old_value(&self) -> Value<'_> {
        let (text, number) = self.value(StepPart::OldValue);
        value_of(text, number)
    }

    pub fn new_value(&self) -> Value<'_> {
        let (text, number) = self.value(StepPart::NewValue);
        value_of(text, number)
    }

    pub fn old_label(&self) -> Option<&str> {
        self.get(StepPart::OldLabel)
    }

    pub fn new_label(&self) -> Option<&str> {
        self.get(StepPart::NewLabel)
    }

    pub fn edited_by_id(&self) -> Option<&str> {
        self.get(StepPart::EditedById)
    }

    pub fn edited_by_name(&self) -> Option<&str> {
        self.get(StepPart::EditedByName)
    }

    pub fn is_add(&self) -> bool {
        self.change_type() == Some("A")
    }

    pub fn is_delete(&self) -> bool {
        self.change_type() == Some("D")
    }
}

/// An entry whose old value differs from the value the history left for its object and
/// field: the value changed without a journal entry (tracking was off, the change was made in
/// a way the journal does not record, or entries are missing).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainBreak {
    pub obj_code: String,
    pub obj_id: String,
    pub obj_name: Option<String>,
    pub field_name: String,
    pub value_type: ValueType,
    /// The value the history left (null after a delete).
    pub expected: Value<'static>,
    /// The value the entry says it changed from.
    pub found: Value<'static>,
    /// The entry that left `expected` (the one that set it, or the delete).
    pub expected_entry_id: Option<String>,
    /// The entry whose old value is `found`, and when it was made.
    pub entry_id: String,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, name: Option<&str>, by: Option<&str>, new: &str) -> Step {
        Step::new(StepOf {
            obj_code: "TASK",
            obj_id: "t1",
            obj_name: name,
            field_name: "status",
            entry_id: id,
            at: "2025-01-01T00:00:00Z".parse().unwrap(),
            change_type: Some("E"),
            value_type: ValueType::Text,
            old_value: Value::Null,
            new_value: Value::Text(new.into()),
            old_label: None,
            new_label: None,
            edited_by_id: by,
            edited_by_name: None,
        })
    }

    #[test]
    fn an_intervals_parts_read_back_absent_empty_or_as_written_after_reuse() {
        let mut i = Interval::opened_by(&step("e1", Some("A long task name"), Some("u1"), "NEW"));
        i.close(
            "2025-01-02T00:00:00Z".parse().unwrap(),
            "e2",
            End::Change,
            false,
        );
        assert_eq!(
            (
                i.obj_name(),
                i.set_by_id(),
                i.set_by_entry_id(),
                i.ended_by_entry_id()
            ),
            (Some("A long task name"), Some("u1"), Some("e1"), Some("e2"))
        );
        // Reused for the next value: no name, an empty editor id, still open.
        i.reopen(&step("e2", None, Some(""), "INP"));
        assert_eq!(
            (i.obj_code(), i.obj_id(), i.field_name()),
            ("TASK", "t1", "status")
        );
        assert_eq!((i.obj_name(), i.set_by_id()), (None, Some("")));
        assert_eq!(
            (i.set_by_entry_id(), i.ended_by_entry_id()),
            (Some("e2"), None)
        );
        assert_eq!(i.value(), Value::Text("INP".into()));
        // Equal to one made afresh, whatever the reused one held before.
        let fresh = Interval::opened_by(&step("e2", None, Some(""), "INP"));
        assert_eq!(i, fresh);
        let mut copy = Interval::opened_by(&step("e9", Some("x"), None, "CPL"));
        copy.copy_from(&i);
        assert_eq!(copy, i);
    }
}
