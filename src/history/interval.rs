//! What the replay hands out: an [`Interval`] (one value of one object's field, from the entry
//! that set it to the entry that ended it), a [`Step`] (one entry as the replay met it) and a
//! [`ChainBreak`] (an entry whose old value is not the value the history left).

use chrono::{DateTime, Utc};

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

/// One value held by one object's field over `[valid_from, valid_to)`. Its text but the value
/// is kept in one allocation, read through the methods: an interval is written out long after
/// it was read, and ten strings scattered over the heap cost a cache miss each (BENCHMARKS.md,
/// "Answers").
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    texts: Texts,
    pub value_type: ValueType,
    pub value: Value<'static>,
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

/// The text of an interval, in the order of [`Part`], in one string.
#[derive(Debug, Default)]
struct Texts {
    text: String,
    /// Where each field ends in `text`.
    ends: [u32; FIELDS],
    /// Which fields are there (a bit each): an absent field and an empty one differ.
    present: u16,
}

/// An interval's text fields, in the order they are written.
#[derive(Clone, Copy, Debug)]
enum Part {
    ObjCode,
    ObjId,
    ObjName,
    FieldName,
    Label,
    SetById,
    SetByName,
    SetByEntryId,
    /// Written last, when the interval ends.
    EndedByEntryId,
}

const FIELDS: usize = 9;

const PARTS: [Part; FIELDS] = [
    Part::ObjCode,
    Part::ObjId,
    Part::ObjName,
    Part::FieldName,
    Part::Label,
    Part::SetById,
    Part::SetByName,
    Part::SetByEntryId,
    Part::EndedByEntryId,
];

/// The length of an entry id as Workfront writes them, kept free for the one that ends it.
const ID: usize = 32;

/// Equal when each part is: where an absent part would have ended is no part of the text.
impl PartialEq for Texts {
    fn eq(&self, other: &Texts) -> bool {
        PARTS.iter().all(|&p| self.get(p) == other.get(p))
    }
}

impl Clone for Texts {
    fn clone(&self) -> Texts {
        Texts {
            text: self.text.clone(),
            ends: self.ends,
            present: self.present,
        }
    }

    /// Keeps this one's allocation.
    fn clone_from(&mut self, source: &Texts) {
        self.text.clone_from(&source.text);
        self.ends = source.ends;
        self.present = source.present;
    }
}

impl Texts {
    /// Every part anew, in [`PARTS`] order, keeping the allocation (with room for the id of
    /// the entry that ends the interval).
    fn write(&mut self, parts: [Option<&str>; FIELDS]) {
        self.text.clear();
        self.text
            .reserve(parts.iter().flatten().map(|p| p.len()).sum::<usize>() + ID);
        self.present = 0;
        for (part, value) in PARTS.into_iter().zip(parts) {
            self.push(part, value);
        }
    }

    /// Write `part`, which comes after every part written since [`Texts::clear`].
    fn push(&mut self, part: Part, value: Option<&str>) {
        if let Some(v) = value {
            self.text.push_str(v);
            self.present |= 1 << part as u16;
        }
        self.ends[part as usize] = self.text.len() as u32;
    }

    fn get(&self, part: Part) -> Option<&str> {
        let at = part as usize;
        if self.present & (1 << at) == 0 {
            return None;
        }
        let start = at.checked_sub(1).map_or(0, |before| self.ends[before]) as usize;
        Some(&self.text[start..self.ends[at] as usize])
    }
}

impl Interval {
    /// The interval `step`'s new value opens.
    pub fn opened_by(step: &mut Step) -> Interval {
        let mut interval = Interval {
            texts: Texts::default(),
            value_type: step.value_type,
            value: Value::Null,
            valid_from: None,
            valid_to: None,
            ended_by: None,
            chain_break: false,
        };
        interval.reopen(step);
        interval
    }

    /// Become the interval `step`'s new value opens (taken from it), keeping the allocation.
    pub fn reopen(&mut self, step: &mut Step) {
        self.texts.write([
            Some(&step.obj_code),
            Some(&step.obj_id),
            step.obj_name.as_deref(),
            Some(&step.field_name),
            step.new_label.as_deref(),
            step.edited_by_id.as_deref(),
            step.edited_by_name.as_deref(),
            Some(&step.entry_id),
            // Written when the interval ends.
            None,
        ]);
        self.value_type = step.value_type;
        self.value = std::mem::replace(&mut step.new_value, Value::Null);
        self.valid_from = Some(step.at);
        self.valid_to = None;
        self.ended_by = None;
        self.chain_break = false;
    }

    /// The value `step` says its field held from before the history, ended by `step`.
    pub fn before(step: &Step, ended_by: End) -> Interval {
        let mut texts = Texts::default();
        texts.write([
            Some(&step.obj_code),
            Some(&step.obj_id),
            step.obj_name.as_deref(),
            Some(&step.field_name),
            step.old_label.as_deref(),
            None,
            None,
            None,
            Some(&step.entry_id),
        ]);
        Interval {
            texts,
            value_type: step.value_type,
            value: step.old_value.clone(),
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
        self.value.clone_from(&other.value);
        self.valid_from = other.valid_from;
        self.valid_to = other.valid_to;
        self.ended_by = other.ended_by;
        self.chain_break = other.chain_break;
    }

    /// End it at `at` by the entry `entry_id`.
    pub fn close(&mut self, at: DateTime<Utc>, entry_id: &str, ended_by: End, broken: bool) {
        self.valid_to = Some(at);
        self.texts.push(Part::EndedByEntryId, Some(entry_id));
        self.ended_by = Some(ended_by);
        self.chain_break = broken;
    }

    pub fn obj_code(&self) -> &str {
        self.texts.get(Part::ObjCode).unwrap_or_default()
    }

    pub fn obj_id(&self) -> &str {
        self.texts.get(Part::ObjId).unwrap_or_default()
    }

    /// The object's name as the entry that set the value names it (for a value held from
    /// before the history, the entry that ended it).
    pub fn obj_name(&self) -> Option<&str> {
        self.texts.get(Part::ObjName)
    }

    pub fn field_name(&self) -> &str {
        self.texts.get(Part::FieldName).unwrap_or_default()
    }

    /// The value's label (`--labels`), when the records carry one.
    pub fn label(&self) -> Option<&str> {
        self.texts.get(Part::Label)
    }

    pub fn set_by_id(&self) -> Option<&str> {
        self.texts.get(Part::SetById)
    }

    pub fn set_by_name(&self) -> Option<&str> {
        self.texts.get(Part::SetByName)
    }

    pub fn set_by_entry_id(&self) -> Option<&str> {
        self.texts.get(Part::SetByEntryId)
    }

    pub fn ended_by_entry_id(&self) -> Option<&str> {
        self.texts.get(Part::EndedByEntryId)
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

/// One entry as the replay met it: the object and field it changed, when, by whom, from what
/// to what.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub obj_code: String,
    pub obj_id: String,
    pub obj_name: Option<String>,
    pub field_name: String,
    pub entry_id: String,
    pub at: DateTime<Utc>,
    pub change_type: Option<String>,
    pub value_type: ValueType,
    pub old_value: Value<'static>,
    pub new_value: Value<'static>,
    pub old_label: Option<String>,
    pub new_label: Option<String>,
    pub edited_by_id: Option<String>,
    pub edited_by_name: Option<String>,
}

impl Step {
    pub fn is_add(&self) -> bool {
        self.change_type.as_deref() == Some("A")
    }

    pub fn is_delete(&self) -> bool {
        self.change_type.as_deref() == Some("D")
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
        Step {
            obj_code: "TASK".into(),
            obj_id: "t1".into(),
            obj_name: name.map(str::to_string),
            field_name: "status".into(),
            entry_id: id.into(),
            at: "2025-01-01T00:00:00Z".parse().unwrap(),
            change_type: Some("E".into()),
            value_type: ValueType::Text,
            old_value: Value::Null,
            new_value: Value::Text(new.to_string().into()),
            old_label: None,
            new_label: None,
            edited_by_id: by.map(str::to_string),
            edited_by_name: None,
        }
    }

    #[test]
    fn an_intervals_parts_read_back_absent_empty_or_as_written_after_reuse() {
        let mut i =
            Interval::opened_by(&mut step("e1", Some("A long task name"), Some("u1"), "NEW"));
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
        i.reopen(&mut step("e2", None, Some(""), "INP"));
        assert_eq!(
            (i.obj_code(), i.obj_id(), i.field_name()),
            ("TASK", "t1", "status")
        );
        assert_eq!((i.obj_name(), i.set_by_id()), (None, Some("")));
        assert_eq!(
            (i.set_by_entry_id(), i.ended_by_entry_id()),
            (Some("e2"), None)
        );
        assert_eq!(i.value, Value::Text("INP".into()));
        // Equal to one made afresh, whatever the reused one held before.
        let fresh = Interval::opened_by(&mut step("e2", None, Some(""), "INP"));
        assert_eq!(i, fresh);
        let mut copy = Interval::opened_by(&mut step("e9", Some("x"), None, "CPL"));
        copy.copy_from(&i);
        assert_eq!(copy, i);
    }
}
