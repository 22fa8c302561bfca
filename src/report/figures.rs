//! What the report counts, gathered in one pass over the change records as they stream past
//! (a [`Receiver`]): totals by change type, object type, field and editor, changes per day,
//! coverage, the review prompts, the most-changed objects, and every row of the full table
//! (compactly, as the page embeds it; the first rows also as rows, for a page read without
//! script). A second pass ([`Timelines`]) collects the changes of the objects to show.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

use super::columns::AllChanges;
use super::exceptions::Exceptions;
use super::row::{Row, editor, instant};
use crate::error::Result;
use crate::model::anomaly::AnomalySet;
use crate::model::change::ChangeRecord;
use crate::source::Receiver;

/// Up to this many changes, "All changes" is also written as HTML rows (a page read without
/// script shows them); beyond, the page says where the data is.
pub const SERVER_ROWS: usize = 1_000;

/// Changes shown per object timeline.
pub const TIMELINE_ROWS: usize = 100;

/// Everything the first pass counts.
pub struct Figures {
    pub zone: Tz,
    pub rows: u64,
    pub by_change_type: HashMap<String, u64>,
    pub by_obj_code: HashMap<String, u64>,
    pub by_field: HashMap<String, u64>,
    pub by_editor: HashMap<String, u64>,
    /// Changes by top object (a task's project; a project's own changes count for it), by
    /// its code and id.
    pub by_top: HashMap<(String, String), u64>,
    /// (object type, field) → entries.
    pub coverage: BTreeMap<(String, String), u64>,
    pub per_day: BTreeMap<NaiveDate, u64>,
    /// Changes per hour in the report's zone (the hour's local start), for the time chart of
    /// a short window.
    pub per_hour: BTreeMap<chrono::NaiveDateTime, u64>,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// Records whose entry date does not read as an instant.
    pub undated: u64,
    /// object id → (type, name, changes).
    pub objects: HashMap<String, (String, String, u64)>,
    pub exceptions: Exceptions,
    /// The first [`SERVER_ROWS`] rows.
    pub all: Vec<Row>,
    /// People by id, from the editors the records name: owner and assignee changes show
    /// them by name.
    pub people: HashMap<String, String>,
    /// Every row, for the embedded data, up to [`Figures::table_limit`].
    pub table: AllChanges,
    /// The most rows embedded (`--table-rows`).
    pub table_limit: u64,
    /// The rows embedded, and the time of the last one ("All changes" ends there when the
    /// limit cut it).
    pub table_rows: u64,
    pub table_last: Option<String>,
}

impl Figures {
    pub fn new(zone: Tz, exceptions: Exceptions) -> Figures {
        Figures {
            zone,
            rows: 0,
            by_change_type: HashMap::new(),
            by_obj_code: HashMap::new(),
            by_field: HashMap::new(),
            by_editor: HashMap::new(),
            coverage: BTreeMap::new(),
            per_day: BTreeMap::new(),
            per_hour: BTreeMap::new(),
            by_top: HashMap::new(),
            people: HashMap::new(),
            first: None,
            last: None,
            undated: 0,
            objects: HashMap::new(),
            exceptions,
            all: Vec::new(),
            table: AllChanges::default(),
            table_limit: u64::MAX,
            table_rows: 0,
            table_last: None,
        }
    }

    /// The `top` most-changed objects, most first, then the ones asked for by id.
    pub fn shown_objects(&self, top: usize, asked: &[String]) -> Vec<String> {
        let mut ranked: Vec<(&String, u64)> = self
            .objects
            .iter()
            .map(|(id, (_, _, n))| (id, *n))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut shown: Vec<String> = ranked
            .into_iter()
            .take(top)
            .map(|(id, _)| id.clone())
            .collect();
        for id in asked {
            if !shown.contains(id) {
                shown.push(id.clone());
            }
        }
        shown
    }
}

fn bump(map: &mut HashMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

impl Receiver for Figures {
    fn take(&mut self, r: ChangeRecord<'_>, _: AnomalySet) -> Result<()> {
        self.rows += 1;
        let none = "(none)";
        bump(
            &mut self.by_change_type,
            r.change_type.as_deref().unwrap_or(none),
        );
        bump(&mut self.by_obj_code, r.obj_code.as_deref().unwrap_or(none));
        bump(&mut self.by_field, r.field_name.as_deref().unwrap_or(none));
        bump(&mut self.by_editor, &editor(&r));
        let top = match (r.top_obj_code.as_deref(), r.top_obj_id.as_deref()) {
            (Some(code), Some(id)) if !id.is_empty() => Some((code, id)),
            _ => match (r.obj_code.as_deref(), r.obj_id.as_deref()) {
                (Some(code @ "PROJ"), Some(id)) => Some((code, id)),
                _ => None,
            },
        };
        if let Some((code, id)) = top {
            *self
                .by_top
                .entry((code.to_string(), id.to_string()))
                .or_default() += 1;
        }
        if let (Some(id), Some(name)) = (r.edited_by_id.as_deref(), r.edited_by_name.as_deref())
            && !name.is_empty()
            && !self.people.contains_key(id)
        {
            self.people.insert(id.to_string(), name.to_string());
        }
        *self
            .coverage
            .entry((
                r.obj_code.as_deref().unwrap_or(none).to_string(),
                r.field_name.as_deref().unwrap_or(none).to_string(),
            ))
            .or_default() += 1;
        let at = instant(&r);
        match at {
            Some(t) => {
                let local = t.with_timezone(&self.zone).naive_local();
                *self.per_day.entry(local.date()).or_default() += 1;
                let hour = local
                    .date()
                    .and_hms_opt(local.hour(), 0, 0)
                    .unwrap_or(local);
                *self.per_hour.entry(hour).or_default() += 1;
                self.first = Some(self.first.map_or(t, |f| f.min(t)));
                self.last = Some(self.last.map_or(t, |l| l.max(t)));
            }
            None => self.undated += 1,
        }
        if let Some(id) = r.obj_id.as_deref() {
            match self.objects.get_mut(id) {
                Some(o) => o.2 += 1,
                None => {
                    self.objects.insert(
                        id.to_string(),
                        (
                            r.obj_code.as_deref().unwrap_or("").to_string(),
                            r.obj_name.as_deref().unwrap_or("").to_string(),
                            1,
                        ),
                    );
                }
            }
        }
        self.exceptions.add(&r, at);
        let row = Row::of(&r, &self.zone);
        if self.table_rows < self.table_limit {
            if self.all.len() < SERVER_ROWS {
                self.all.push(row.clone());
            }
            self.table_rows += 1;
            if self.table_rows == self.table_limit {
                self.table_last = Some(row.when.clone());
            }
            self.table.push(row);
        }
        Ok(())
    }
}

/// The second pass: every change of the objects shown, in order.
pub struct Timelines {
    zone: Tz,
    wanted: HashSet<String>,
    pub rows: HashMap<String, Vec<Row>>,
}

impl Timelines {
    pub fn new(zone: Tz, objects: &[String]) -> Timelines {
        Timelines {
            zone,
            wanted: objects.iter().cloned().collect(),
            rows: HashMap::new(),
        }
    }
}

impl Receiver for Timelines {
    fn take(&mut self, r: ChangeRecord<'_>, _: AnomalySet) -> Result<()> {
        if let Some(id) = r.obj_id.as_deref().filter(|id| self.wanted.contains(*id)) {
            let rows = self.rows.entry(id.to_string()).or_default();
            if rows.len() < TIMELINE_ROWS {
                rows.push(Row::of(&r, &self.zone));
            }
        }
        Ok(())
    }
}
