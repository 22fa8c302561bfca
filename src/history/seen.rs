//! What a history holds, for a hint when a command found nothing: the fields its entries
//! change and the values one field took (a mistyped `--field Status` or `--cycle-start inp`
//! answers no rows; the hint names what is there). Holds distinct names only, a few at most.

use std::collections::BTreeSet;

use super::interval::Interval;
use super::replay::Listener;

/// The distinct fields met, and the values of `field`.
pub struct Seen {
    field: String,
    pub fields: BTreeSet<String>,
    pub values: BTreeSet<String>,
}

/// How many names a hint lists.
const SHOWN: usize = 12;

impl Seen {
    pub fn new(field: &str) -> Seen {
        Seen {
            field: field.to_string(),
            fields: BTreeSet::new(),
            values: BTreeSet::new(),
        }
    }

    /// The first names of `set`, and how many more.
    pub fn list(set: &BTreeSet<String>) -> String {
        let mut out: Vec<&str> = set.iter().take(SHOWN).map(String::as_str).collect();
        if set.len() > SHOWN {
            out.push("…");
        }
        out.join(", ")
    }
}

impl Listener for Seen {
    fn passed_over(&mut self, field: &str) {
        if !self.fields.contains(field) {
            self.fields.insert(field.to_string());
        }
    }

    fn opened(&mut self, i: &Interval) {
        if !self.fields.contains(i.field_name()) {
            self.fields.insert(i.field_name().to_string());
        }
        if i.field_name() == self.field && self.values.len() < 10_000 {
            let held = i.value();
            let value = super::durations::value_str(&held);
            if !self.values.contains(value) {
                self.values.insert(value.to_string());
            }
        }
    }
}
