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

/// One value held by one object's field over `[valid_from, valid_to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub obj_code: String,
    pub obj_id: String,
    /// The object's name as the entry that set the value names it (for a value held from
    /// before the history, the entry that ended it).
    pub obj_name: Option<String>,
    pub field_name: String,
    pub value_type: ValueType,
    pub value: Value<'static>,
    /// The value's label (`--labels`), when the records carry one.
    pub label: Option<String>,
    /// `None`: held from before the history begins.
    pub valid_from: Option<DateTime<Utc>>,
    /// `None`: still open.
    pub valid_to: Option<DateTime<Utc>>,
    pub set_by_id: Option<String>,
    pub set_by_name: Option<String>,
    pub set_by_entry_id: Option<String>,
    pub ended_by_entry_id: Option<String>,
    pub ended_by: Option<End>,
    /// The next entry of its object and field says it changed from another value: it ended
    /// the interval (`ended_by` chain break), or, after the delete that ended it, says the
    /// field held a value again (`ended_by` delete).
    pub chain_break: bool,
}

impl Interval {
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
