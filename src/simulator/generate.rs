//! Seeded sample data for `simulate --rows N --seed S [--shape ...]`: realistic journal entries
//! across a daylight-saving change, with awkward values, spread over time in one of several
//! shapes (by default with one bulk edit that journals a third of the rows at a single
//! millisecond).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::America::Denver;
use serde_json::{Value, json};

use crate::input::RawRecord;
use crate::model::date::format_workfront;
pub use crate::rng::SplitMix64;

const USERS: [&str; 6] = [
    "Ada Lovelace",
    "Grace Hopper",
    "O'Brien, Pat",
    "Zoë Ōkubo",
    "Jean \"JJ\" Dupont",
    "Integration User",
];

const STATUSES: [&str; 7] = ["NEW", "PLN", "INP", "ONH", "CUR", "CPL", "CPL:A"];

/// Text values that test quoting, the formula guard and verbatim rendering.
const AWKWARD_TEXT: [&str; 10] = [
    "Kick-off, phase 2",
    "=SUM(A1:A9)",
    "+1 approved",
    "-5 days slip",
    "@channel please review",
    "\tindented",
    "line one\nline two",
    "She said \"ship it\"",
    "  padded  ",
    "",
];

/// A source of realistic journal entries: a fixed cast of users, projects and objects, and a
/// seeded generator for the changes.
pub struct Generator {
    rng: SplitMix64,
    users: Vec<(String, &'static str)>,
    projects: Vec<String>,
    objects: Vec<(&'static str, String, String, usize)>,
}

impl Generator {
    /// A cast sized for about `rows` entries.
    pub fn new(seed: u64, rows: usize) -> Generator {
        let mut rng = SplitMix64::new(seed);
        let users = USERS.iter().map(|n| (rng.id(), *n)).collect();
        let projects: Vec<String> = (0..(rows / 200).max(2)).map(|_| rng.id()).collect();
        let objects = (0..(rows / 10).max(3))
            .map(|i| {
                let code = *rng.pick(&["TASK", "TASK", "OPTASK", "PROJ"]);
                (
                    code,
                    rng.id(),
                    format!("{code} item {i}"),
                    i % projects.len(),
                )
            })
            .collect();
        Generator {
            rng,
            users,
            projects,
            objects,
        }
    }

    /// One entry journaled at `when`: a random change, or, for a bulk edit, the same status
    /// change by `bulk_user`.
    pub fn entry(&mut self, when: DateTime<Utc>, bulk_user: Option<usize>) -> RawRecord {
        let rng = &mut self.rng;
        let (code, obj_id, name, project) = rng.pick(&self.objects).clone();
        let user = &self.users[match bulk_user {
            Some(u) => u % self.users.len(),
            None => rng.below(self.users.len() as u64) as usize,
        }];
        let mut r = json!({
            "ID": rng.id(),
            "entryDate": format_workfront(&when, &Denver),
            "changeType": "E",
            "fieldName": null,
            "objObjCode": code,
            "objID": obj_id,
            "referenceObjectName": name,
            "subObjCode": null, "subObjID": null,
            "topObjCode": if code == "PROJ" { Value::Null } else { json!("PROJ") },
            "topObjID": if code == "PROJ" { Value::Null } else { json!(self.projects[project]) },
            "oldTextVal": null, "newTextVal": null,
            "oldNumberVal": null, "newNumberVal": null,
            "oldDateVal": null, "newDateVal": null,
            "editedByID": user.0,
            "editedBy": {"ID": user.0, "name": user.1, "objCode": "USER"},
        });
        if bulk_user.is_some() {
            r["fieldName"] = json!("status");
            r["oldTextVal"] = json!("INP");
            r["newTextVal"] = json!("CPL");
        } else {
            fill_change(rng, &mut r, when);
        }
        match r {
            Value::Object(map) => map,
            _ => RawRecord::new(),
        }
    }

    /// A number in `0..n`, from the same seeded sequence.
    pub fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }
}

/// How generated entries are spread over time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shape {
    /// 16 days around the end of US daylight saving time, evenly, with a third of the rows
    /// on one millisecond in the middle: a bulk edit (the default, and the hardest case).
    #[default]
    Bulk,
    /// The same 16 days, evenly, without the bulk edit.
    Uniform,
    /// The same 16 days in a working rhythm: 08:00 to 18:00 tenant time on weekdays only,
    /// nights and weekends quiet.
    Daily,
    /// Four days a month apart (about 90 days in all), each holding a quarter of the rows:
    /// long empty stretches between bursts of activity.
    Gaps,
}

impl Shape {
    /// The names `simulate --shape` takes.
    pub const NAMES: [&'static str; 4] = ["bulk", "uniform", "daily", "gaps"];

    pub fn named(name: &str) -> Option<Shape> {
        match name {
            "bulk" => Some(Shape::Bulk),
            "uniform" => Some(Shape::Uniform),
            "daily" => Some(Shape::Daily),
            "gaps" => Some(Shape::Gaps),
            _ => None,
        }
    }

    /// The stretches of time the entries fill, in order, with their widths in milliseconds.
    fn spans(self, start: DateTime<Utc>) -> Vec<(DateTime<Utc>, i64)> {
        let day = Duration::days(1);
        match self {
            Shape::Bulk | Shape::Uniform => vec![(start, (day * 16).num_milliseconds())],
            Shape::Daily => (0..16)
                .filter_map(|d| {
                    use chrono::{Datelike, TimeZone};
                    let date = (start + day * d).with_timezone(&Denver).date_naive();
                    if date.weekday().number_from_monday() > 5 {
                        return None;
                    }
                    let at = |h| {
                        Denver
                            .from_local_datetime(&date.and_hms_opt(h, 0, 0)?)
                            .earliest()
                    };
                    let (open, close) = (at(8)?.with_timezone(&Utc), at(18)?.with_timezone(&Utc));
                    Some((open, (close - open).num_milliseconds()))
                })
                .collect(),
            Shape::Gaps => (0..4)
                .map(|k| (start + day * (30 * k), day.num_milliseconds()))
                .collect(),
        }
    }
}

/// `rows` raw JRNLE records, dated in Workfront's format in a US Mountain tenant.
pub fn generate(rows: usize, seed: u64) -> Vec<RawRecord> {
    let mut all = Vec::with_capacity(rows);
    generate_each(rows, seed, Shape::Bulk, |r| all.push(r));
    all
}

/// The records of [`generate`] in `shape`, one at a time (for data sets too big to hold).
pub fn generate_each(rows: usize, seed: u64, shape: Shape, mut each: impl FnMut(RawRecord)) {
    let mut generator = Generator::new(seed, rows);
    // Spread around the end of US daylight saving time (2025-11-02 08:00Z), so the data
    // carries both -0600 and -0700 offsets and the repeated autumn hour.
    let start: DateTime<Utc> = "2025-10-25T00:00:00Z".parse().unwrap_or_default();
    let spans = shape.spans(start);
    let total: i64 = spans.iter().map(|s| s.1).sum();
    let step = (total as u64 / rows.max(1) as u64).max(1);
    let bulk = match shape {
        Shape::Bulk if rows >= 30 => rows / 3,
        _ => 0,
    };
    let bulk_at = start + Duration::milliseconds(total / 2 + 7);
    let bulk_user = generator.below(USERS.len() as u64) as usize;
    for i in 0..rows {
        let record = if i >= rows / 3 && i < rows / 3 + bulk {
            generator.entry(bulk_at, Some(bulk_user))
        } else {
            let offset = i as u64 * step + generator.below(step);
            generator.entry(place(&spans, offset as i64), None)
        };
        each(record);
    }
}

/// The instant `offset` milliseconds into the spans laid end to end.
fn place(spans: &[(DateTime<Utc>, i64)], mut offset: i64) -> DateTime<Utc> {
    for &(from, width) in spans {
        if offset < width {
            return from + Duration::milliseconds(offset);
        }
        offset -= width;
    }
    spans
        .last()
        .map(|&(from, width)| from + Duration::milliseconds(width - 1))
        .unwrap_or_default()
}

/// One field change of a random kind.
fn fill_change(rng: &mut SplitMix64, r: &mut Value, when: DateTime<Utc>) {
    let date = |rng: &mut SplitMix64| {
        let d = when + Duration::minutes(rng.below(60 * 24 * 90) as i64 - 60 * 24 * 30);
        json!(format_workfront(&d, &Denver))
    };
    let numbers = [8.0, 7.75, 0.1, -42.0, 1234.5, 0.00000025, 1e15, 100.0];
    match rng.below(10) {
        0..=2 => {
            r["fieldName"] = json!("status");
            r["oldTextVal"] = json!(rng.pick(&STATUSES));
            r["newTextVal"] = json!(rng.pick(&STATUSES));
        }
        3 => {
            r["fieldName"] = json!("name");
            r["oldTextVal"] = json!(rng.pick(&AWKWARD_TEXT));
            r["newTextVal"] = json!(rng.pick(&AWKWARD_TEXT));
        }
        4 => {
            r["fieldName"] = json!("DE:Budget Code");
            r["oldTextVal"] = json!(format!("BC-{}", rng.below(1000)));
            r["newTextVal"] = json!(format!("BC-{}", rng.below(1000)));
        }
        5 => {
            r["fieldName"] = json!(if rng.below(2) == 0 { "work" } else { "DE:Cost" });
            r["oldNumberVal"] = json!(rng.pick(&numbers));
            r["newNumberVal"] = json!(rng.pick(&numbers));
        }
        6 => {
            r["fieldName"] = json!("plannedCompletionDate");
            r["oldDateVal"] = date(rng);
            r["newDateVal"] = date(rng);
        }
        7 => {
            // An add: the old value is null.
            r["changeType"] = json!("A");
            r["fieldName"] = json!("ownerID");
            r["newTextVal"] = json!(rng.id());
        }
        8 => {
            // A delete: the new value is null.
            r["changeType"] = json!("D");
            r["fieldName"] = json!("DE:Cost");
            r["oldNumberVal"] = json!(rng.pick(&numbers));
        }
        _ => {
            // Not a field change: an approval event, no field and no values.
            r["changeType"] = json!(rng.pick(&["AAA", "ARR", "PUB"]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        assert_eq!(generate(50, 7), generate(50, 7));
        assert_ne!(generate(50, 7), generate(50, 8));
    }

    #[test]
    fn a_third_of_the_rows_share_one_millisecond() {
        let rows = generate(300, 1);
        let bulk_date = rows[100]["entryDate"].clone();
        let same = rows.iter().filter(|r| r["entryDate"] == bulk_date).count();
        assert!(same >= 100, "{same}");
        let ids: std::collections::HashSet<_> = rows.iter().map(|r| r["ID"].clone()).collect();
        assert_eq!(ids.len(), 300);
    }

    #[test]
    fn each_shape_fills_its_stretches_of_time() {
        use chrono::{Datelike, Timelike};
        let dates = |shape| {
            let mut out = Vec::new();
            generate_each(2000, 4, shape, |r| {
                let d = r["entryDate"].as_str().unwrap().to_string();
                out.push(crate::model::date::parse_timestamp(&d).unwrap());
            });
            out
        };
        let bulk = dates(Shape::Bulk);
        assert_eq!(
            bulk,
            generate(2000, 4)
                .iter()
                .map(|r| {
                    crate::model::date::parse_timestamp(r["entryDate"].as_str().unwrap()).unwrap()
                })
                .collect::<Vec<_>>()
        );
        let uniform = dates(Shape::Uniform);
        let distinct: std::collections::HashSet<_> = uniform.iter().collect();
        assert!(distinct.len() > 1990, "no bulk edit: {}", distinct.len());
        for d in dates(Shape::Daily) {
            let local = d.with_timezone(&Denver);
            assert!(local.weekday().number_from_monday() <= 5, "{local}");
            assert!((8..18).contains(&local.hour()), "{local}");
        }
        let mut gaps = dates(Shape::Gaps);
        gaps.sort();
        let long_gaps = gaps
            .windows(2)
            .filter(|w| w[1] - w[0] > chrono::Duration::days(20));
        assert_eq!(long_gaps.count(), 3);
    }

    #[test]
    fn both_daylight_saving_offsets_appear() {
        let rows = generate(500, 3);
        let dates: Vec<&str> = rows
            .iter()
            .map(|r| r["entryDate"].as_str().unwrap())
            .collect();
        assert!(dates.iter().any(|d| d.ends_with("-0600")));
        assert!(dates.iter().any(|d| d.ends_with("-0700")));
    }
}
