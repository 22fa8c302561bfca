//! The report's review prompts, found while the records stream past: deletes, bulk edits,
//! changes outside business hours, status regressions, repeated moves of planned dates,
//! owner and assignee changes (not the first assignment at creation). Each keeps its count,
//! the first [`SHOWN`] rows behind it, and its count per editor and per object; none of them is an accusation, and the report says so.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::row::{Row, date_value, editor, local, value_text};
use crate::model::change::{ChangeRecord, ValueType};

/// Rows shown under each prompt; the count says how many there are.
pub const SHOWN: usize = 200;

/// Status codes of a finished or closed piece of work. Workfront's custom statuses each
/// equate to one of the system statuses, so the codes stored are these or open ones (or
/// these with a qualifier, `CPL:A`); with `--labels`, a label saying so also counts.
const CLOSED_CODES: [&str; 5] = ["CPL", "CLS", "DED", "REJ", "RLV"];
const CLOSED_WORDS: [&str; 6] = [
    "complete", "closed", "resolved", "rejected", "dead", "cancel",
];

/// Fields that hand work to someone else.
pub const OWNER_FIELDS: [&str; 6] = [
    "ownerID",
    "assignedToID",
    "sponsorID",
    "managerID",
    "teamID",
    "roleID",
];

/// The planned-date fields whose moves are counted, besides `DE:` date fields.
const PLANNED_DATE: &str = "plannedCompletionDate";

/// Objects whose planned date moved at least this often are listed.
pub const MOVES_LISTED: u64 = 3;

/// Editors and objects listed under a prompt's groups; the rest are counted as "more".
pub const GROUPS_SHOWN: usize = 10;

/// A prompt's count, the first rows behind it, and the count per editor and per object.
#[derive(Debug, Default, Serialize)]
pub struct Listed {
    pub count: u64,
    pub rows: Vec<Row>,
    /// The editors and objects with the most rows, most first (set by [`Listed::group`]).
    pub groups: Groups,
    #[serde(skip)]
    editors: HashMap<String, u64>,
    /// (type, id) → (name, count)
    #[serde(skip)]
    objects: HashMap<(String, String), (String, u64)>,
}

/// A prompt's rows counted by editor and by object, the largest groups first.
#[derive(Debug, Default, Serialize)]
pub struct Groups {
    pub editors: Vec<(String, u64)>,
    pub more_editors: usize,
    pub objects: Vec<GroupedObject>,
    pub more_objects: usize,
}

/// One object's rows under a prompt.
#[derive(Debug, Serialize)]
pub struct GroupedObject {
    pub obj_code: String,
    pub obj_id: String,
    pub obj_name: String,
    pub count: u64,
}

impl Listed {
    fn add(&mut self, r: &ChangeRecord<'_>, row: impl FnOnce() -> Row) {
        self.count += 1;
        if self.rows.len() < SHOWN {
            self.rows.push(row());
        }
        *self.editors.entry(editor(r)).or_default() += 1;
        let key = (
            r.obj_code.as_deref().unwrap_or("").to_string(),
            r.obj_id.as_deref().unwrap_or("").to_string(),
        );
        let slot = self.objects.entry(key).or_default();
        if slot.0.is_empty() {
            slot.0 = r.obj_name.as_deref().unwrap_or("").to_string();
        }
        slot.1 += 1;
    }

    /// Order the groups, most rows first (then by name), keeping [`GROUPS_SHOWN`] of each.
    pub fn group(&mut self) {
        let mut editors: Vec<(String, u64)> = self.editors.drain().collect();
        editors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let more_editors = editors.len().saturating_sub(GROUPS_SHOWN);
        editors.truncate(GROUPS_SHOWN);
        let mut objects: Vec<GroupedObject> = self
            .objects
            .drain()
            .map(|((obj_code, obj_id), (obj_name, count))| GroupedObject {
                obj_code,
                obj_id,
                obj_name,
                count,
            })
            .collect();
        objects.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (&a.obj_name, &a.obj_id).cmp(&(&b.obj_name, &b.obj_id)))
        });
        let more_objects = objects.len().saturating_sub(GROUPS_SHOWN);
        objects.truncate(GROUPS_SHOWN);
        self.groups = Groups {
            editors,
            more_editors,
            objects,
            more_objects,
        };
    }
}

/// When work is expected (moved to the replay's calendar, which durations share).
pub use crate::history::calendar::BusinessTime;

/// A run of one editor's changes, at least the threshold within a minute.
#[derive(Debug, Clone, Serialize)]
pub struct BulkEdit {
    pub editor: String,
    pub from: String,
    pub to: String,
    pub entries: u64,
}

/// One object's planned date moved often.
#[derive(Debug, Clone, Serialize)]
pub struct Slip {
    pub obj_code: String,
    pub obj_id: String,
    pub obj_name: String,
    pub field: String,
    pub moves: u64,
    /// The moves' differences added up, in days (negative: pulled in overall).
    pub days: String,
    /// The moves' sizes added up, in days, whichever way each went.
    pub days_moved: String,
}

/// One object's planned-date moves so far.
#[derive(Default)]
struct Moves {
    count: u64,
    /// Days, signed, added up.
    net: f64,
    /// Days, whichever way, added up.
    either: f64,
    obj_code: String,
    obj_name: String,
}

/// Each editor's recent changes while a bulk edit is looked for.
#[derive(Default)]
struct EditorWindow {
    times: VecDeque<DateTime<Utc>>,
    open: Option<BulkEdit>,
}

/// All prompts, fed one record at a time in time order.
pub struct Exceptions {
    zone: Tz,
    business: BusinessTime,
    bulk_threshold: usize,
    pub deletes: Listed,
    pub off_hours: Listed,
    pub regressions: Listed,
    pub owner_changes: Listed,
    pub bulk_edits: Vec<BulkEdit>,
    editors: HashMap<String, EditorWindow>,
    /// (object id, field) → its moves
    moves: HashMap<(String, String), Moves>,
}

impl Exceptions {
    pub fn new(zone: Tz, business: BusinessTime, bulk_threshold: u64) -> Exceptions {
        Exceptions {
            zone,
            business,
            bulk_threshold: bulk_threshold.max(1) as usize,
            deletes: Listed::default(),
            off_hours: Listed::default(),
            regressions: Listed::default(),
            owner_changes: Listed::default(),
            bulk_edits: Vec::new(),
            editors: HashMap::new(),
            moves: HashMap::new(),
        }
    }

    pub fn add(&mut self, r: &ChangeRecord<'_>, at: Option<DateTime<Utc>>) {
        let zone = self.zone;
        let row = || Row::of(r, &zone);
        let field = r.field_name.as_deref().unwrap_or("");
        if r.change_type.as_deref() == Some("D") {
            self.deletes.add(r, row);
        }
        if let Some(t) = at {
            if !self.business.contains(&t, &zone) {
                self.off_hours.add(r, row);
            }
            self.bulk(editor(r), t);
        }
        if field == "status" && is_regression(r) {
            self.regressions.add(r, row);
        }
        // An owner given when the object is created (`A`) is routine, not a change of owner.
        // Custom-field edits are no exception by themselves (30,050 in a 120k-change series):
        // they show in the totals by field, and their dates in the moved dates.
        if OWNER_FIELDS.contains(&field) && r.change_type.as_deref() != Some("A") {
            self.owner_changes.add(r, row);
        }
        if field == PLANNED_DATE || (r.custom_field && r.value_type == ValueType::Date) {
            self.moved(r, field);
        }
    }

    /// A sliding minute per editor: at the threshold a bulk edit opens, and it grows while
    /// the editor's last minute holds at least the threshold.
    fn bulk(&mut self, who: String, t: DateTime<Utc>) {
        let threshold = self.bulk_threshold;
        let zone = self.zone;
        let w = self.editors.entry(who.clone()).or_default();
        w.times.push_back(t);
        while w
            .times
            .front()
            .is_some_and(|f| t - *f >= chrono::Duration::minutes(1))
        {
            w.times.pop_front();
        }
        if w.times.len() >= threshold {
            match &mut w.open {
                Some(open) => {
                    open.entries += 1;
                    open.to = local(&t, &zone);
                }
                None => {
                    w.open = Some(BulkEdit {
                        editor: who,
                        from: local(&w.times[0], &zone),
                        to: local(&t, &zone),
                        entries: w.times.len() as u64,
                    })
                }
            }
        } else if let Some(done) = w.open.take() {
            self.bulk_edits.push(done);
        }
    }

    fn moved(&mut self, r: &ChangeRecord<'_>, field: &str) {
        let (Some(old), Some(new)) = (date_value(&r.old_value), date_value(&r.new_value)) else {
            return;
        };
        let key = (
            r.obj_id.as_deref().unwrap_or("").to_string(),
            field.to_string(),
        );
        let slot = self.moves.entry(key).or_insert_with(|| Moves {
            obj_code: r.obj_code.as_deref().unwrap_or("").to_string(),
            obj_name: r.obj_name.as_deref().unwrap_or("").to_string(),
            ..Moves::default()
        });
        let days = (new - old).num_minutes() as f64 / (24.0 * 60.0);
        slot.count += 1;
        slot.net += days;
        slot.either += days.abs();
    }

    /// The bulk edits still open at the end, closed; each prompt's groups; the slips, most
    /// moves first.
    pub fn finish(&mut self) -> Vec<Slip> {
        for listed in [
            &mut self.deletes,
            &mut self.off_hours,
            &mut self.regressions,
            &mut self.owner_changes,
        ] {
            listed.group();
        }
        for w in self.editors.values_mut() {
            if let Some(done) = w.open.take() {
                self.bulk_edits.push(done);
            }
        }
        self.bulk_edits.sort_by(|a, b| a.from.cmp(&b.from));
        let mut slips: Vec<Slip> = self
            .moves
            .iter()
            .filter(|(_, m)| m.count >= MOVES_LISTED)
            .map(|((obj_id, field), m)| Slip {
                obj_code: m.obj_code.clone(),
                obj_id: obj_id.clone(),
                obj_name: m.obj_name.clone(),
                field: field.clone(),
                moves: m.count,
                days: format!("{:.1}", m.net),
                days_moved: format!("{:.1}", m.either),
            })
            .collect();
        slips.sort_by(|a, b| b.moves.cmp(&a.moves).then(a.obj_id.cmp(&b.obj_id)));
        slips
    }
}

/// A status leaving a closed code for an open one.
fn is_regression(r: &ChangeRecord<'_>) -> bool {
    let labels = r.labels.as_deref();
    // A composite code is its system status with a qualifier (`CPL:A`: complete, pending
    // approval; API notes §1): judged by the system status before the colon.
    let closed = |code: &str, label: Option<&str>| {
        CLOSED_CODES.contains(&code.split(':').next().unwrap_or(code))
            || label.is_some_and(|l| {
                let l = l.to_lowercase();
                CLOSED_WORDS.iter().any(|w| l.contains(w))
            })
    };
    let (old, new) = (value_text(&r.old_value), value_text(&r.new_value));
    !old.is_empty()
        && !new.is_empty()
        && closed(&old, labels.and_then(|l| l.old_label.as_deref()))
        && !closed(&new, labels.and_then(|l| l.new_label.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    #[test]
    fn a_composite_code_is_judged_by_its_system_status() {
        let status = |old: &str, new: &str| {
            let mut r = ChangeRecord::empty(crate::model::change::SourceKind::Journal);
            r.field_name = Some("status".into());
            r.value_type = ValueType::Text;
            r.old_value = crate::model::change::Value::Text(old.to_string().into());
            r.new_value = crate::model::change::Value::Text(new.to_string().into());
            is_regression(&r)
        };
        assert!(
            !status("CPL", "CPL:A"),
            "complete to complete, pending approval"
        );
        assert!(status("CPL:A", "INP"), "approval rejected: back to work");
        assert!(status("CPL", "INP"));
        assert!(!status("INP", "CPL:A"));
        assert!(!status("NEW", "INP"));
    }

    #[test]
    fn business_time_reads_ranges_and_lists() {
        let b = BusinessTime::parse("08:00-18:00", "mon-fri").unwrap();
        assert_eq!(b.days.len(), 5);
        let b = BusinessTime::parse("22:00-23:30", "sat,sun").unwrap();
        assert_eq!(b.days, [Weekday::Sat, Weekday::Sun]);
        let wrap = BusinessTime::parse("09:00-17:00", "fri-mon").unwrap();
        assert_eq!(
            wrap.days,
            [Weekday::Fri, Weekday::Sat, Weekday::Sun, Weekday::Mon]
        );
        for (h, d) in [
            ("8-18", "mon-fri"),
            ("18:00-08:00", "mon-fri"),
            ("08:00-18:00", "mon-fry"),
        ] {
            assert!(BusinessTime::parse(h, d).is_err(), "{h} {d}");
        }
    }
}
