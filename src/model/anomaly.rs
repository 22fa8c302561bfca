//! Oddities in raw records: each kind is counted per record, warned about once per kind with
//! its count, and totalled in the end-of-run summary. The value itself is always kept.

/// Something odd in a raw record. The value is kept (as text where its type was wrong); the
/// run warns once per kind with a count and reports the total in its summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Anomaly {
    MissingField,
    BadDate,
    NotText,
    NotNumber,
    UnknownChangeType,
    ControlCharacters,
    InvalidSurrogate,
    /// Found by the xlsx sink, not by normalization: a value longer than a cell holds.
    CutForExcel,
}

const KINDS: [Anomaly; 8] = [
    Anomaly::MissingField,
    Anomaly::BadDate,
    Anomaly::NotText,
    Anomaly::NotNumber,
    Anomaly::UnknownChangeType,
    Anomaly::ControlCharacters,
    Anomaly::InvalidSurrogate,
    Anomaly::CutForExcel,
];

impl Anomaly {
    /// The kind's key in a JSON summary.
    pub fn key(self) -> &'static str {
        match self {
            Anomaly::MissingField => "missing_field",
            Anomaly::BadDate => "bad_date",
            Anomaly::NotText => "not_text",
            Anomaly::NotNumber => "not_number",
            Anomaly::UnknownChangeType => "unknown_change_type",
            Anomaly::ControlCharacters => "control_characters",
            Anomaly::InvalidSurrogate => "invalid_surrogate",
            Anomaly::CutForExcel => "cut_for_excel",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Anomaly::MissingField => "lack a JRNLE field (written as null)",
            Anomaly::BadDate => "have a date that does not parse (kept as text)",
            Anomaly::NotText => "have a non-text value in a text field (kept as text)",
            Anomaly::NotNumber => "have a non-number in a number field (kept as text)",
            Anomaly::UnknownChangeType => "have an unknown changeType (kept verbatim)",
            Anomaly::ControlCharacters => "have control characters in a value (kept verbatim)",
            Anomaly::InvalidSurrogate => {
                "have an unpaired UTF-16 surrogate escape (kept as the literal text \\uXXXX)"
            }
            Anomaly::CutForExcel => {
                "have a value longer than an Excel cell holds (32,767 characters), cut there \
                 with a marker (CSV and JSON keep it whole)"
            }
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The kinds of oddity one record has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnomalySet(u8);

impl AnomalySet {
    pub(crate) fn insert(&mut self, kind: Anomaly) {
        self.0 |= kind.bit();
    }

    pub fn contains(self, kind: Anomaly) -> bool {
        self.0 & kind.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Counts of records per anomaly kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anomalies([u64; 8]);

impl Anomalies {
    pub fn add(&mut self, set: AnomalySet) {
        if set.is_empty() {
            return;
        }
        for (i, kind) in KINDS.iter().enumerate() {
            if set.contains(*kind) {
                self.0[i] += 1;
            }
        }
    }

    /// Add `n` entries of `kind`.
    pub fn add_count(&mut self, kind: Anomaly, n: u64) {
        self.0[kind as usize] += n;
    }

    /// Add another tally.
    pub fn merge(&mut self, other: &Anomalies) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// Each kind met, by its key, with its count.
    pub fn by_kind(&self) -> Vec<(&'static str, u64)> {
        KINDS
            .iter()
            .map(|k| (k.key(), self.count(*k)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn count(&self, kind: Anomaly) -> u64 {
        self.0[kind as usize]
    }

    /// One line per kind: "3 entries have a date that does not parse (kept as text)".
    pub fn lines(&self) -> Vec<String> {
        KINDS
            .iter()
            .filter(|k| self.count(**k) > 0)
            .map(|kind| {
                let n = self.count(*kind);
                let text = kind.describe();
                if n == 1 {
                    let text = text.replacen("have", "has", 1).replacen("lack", "lacks", 1);
                    format!("1 entry {text}")
                } else {
                    format!("{n} entries {text}")
                }
            })
            .collect()
    }
}
