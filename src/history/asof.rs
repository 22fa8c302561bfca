//! `asof`: every object's fields as they stood at one instant, from the replay's events.
//! Intervals are half-open, so an entry at the instant itself counts. Before a key's first
//! entry the value is that entry's old value, `known` only when the history can say (not an
//! add, and an old value given).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::interval::{Interval, Step};
use super::replay::Listener;
use crate::model::change::{Value, ValueType};

/// One object's field at the instant.
#[derive(Debug, Clone, PartialEq)]
pub struct AsOfRow {
    pub obj_code: String,
    pub obj_id: String,
    pub obj_name: Option<String>,
    pub field_name: String,
    pub value_type: ValueType,
    pub value: Value<'static>,
    pub label: Option<String>,
    pub known: bool,
    /// When the value was set; `None` when it was held from before the history.
    pub since: Option<DateTime<Utc>>,
    pub set_by_id: Option<String>,
    pub set_by_name: Option<String>,
    pub set_by_entry_id: Option<String>,
}

/// The rows at `at`, gathered as the replay runs (one per object and field).
pub struct AsOf {
    at: DateTime<Utc>,
    rows: HashMap<String, AsOfRow, foldhash::fast::RandomState>,
    key: String,
}

impl AsOf {
    pub fn new(at: DateTime<Utc>) -> AsOf {
        AsOf {
            at,
            rows: HashMap::default(),
            key: String::new(),
        }
    }

    /// The rows, by object code, object id and field.
    pub fn rows(self) -> Vec<AsOfRow> {
        let mut rows: Vec<(String, AsOfRow)> = self.rows.into_iter().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        rows.into_iter().map(|(_, r)| r).collect()
    }

    fn set(&mut self, row: AsOfRow) {
        super::replay::join_key(&mut self.key, [&row.obj_code, &row.obj_id, &row.field_name]);
        match self.rows.get_mut(self.key.as_str()) {
            Some(slot) => *slot = row,
            None => {
                self.rows.insert(self.key.clone(), row);
            }
        }
    }
}

impl Listener for AsOf {
    fn first(&mut self, step: &Step, known: bool) {
        // Entries come in order: a key's first entry after the instant means nothing set it
        // before, so the entry's old value is what stood.
        if step.at <= self.at {
            return;
        }
        self.set(AsOfRow {
            obj_code: step.obj_code().to_string(),
            obj_id: step.obj_id().to_string(),
            obj_name: step.obj_name().map(str::to_string),
            field_name: step.field_name().to_string(),
            value_type: step.value_type,
            value: step.old_value().into_owned(),
            label: step.old_label().map(str::to_string),
            known,
            since: None,
            set_by_id: None,
            set_by_name: None,
            set_by_entry_id: None,
        });
    }

    fn opened(&mut self, i: &Interval) {
        if i.valid_from.is_none_or(|from| from > self.at) {
            return;
        }
        self.set(AsOfRow {
            obj_code: i.obj_code().to_string(),
            obj_id: i.obj_id().to_string(),
            obj_name: i.obj_name().map(str::to_string),
            field_name: i.field_name().to_string(),
            value_type: i.value_type,
            value: i.value().into_owned(),
            label: i.label().map(str::to_string),
            known: true,
            since: i.valid_from,
            set_by_id: i.set_by_id().map(str::to_string),
            set_by_name: i.set_by_name().map(str::to_string),
            set_by_entry_id: i.set_by_entry_id().map(str::to_string),
        });
    }

    fn deleted(&mut self, step: &Step) {
        if step.at > self.at {
            return;
        }
        self.set(AsOfRow {
            obj_code: step.obj_code().to_string(),
            obj_id: step.obj_id().to_string(),
            obj_name: step.obj_name().map(str::to_string),
            field_name: step.field_name().to_string(),
            value_type: step.value_type,
            value: Value::Null,
            label: None,
            known: true,
            since: Some(step.at),
            set_by_id: step.edited_by_id().map(str::to_string),
            set_by_name: step.edited_by_name().map(str::to_string),
            set_by_entry_id: Some(step.entry_id().to_string()),
        });
    }
}
