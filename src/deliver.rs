//! The one delivery loop: the records of a [`ChangeSource`] into a [`RecordSink`], with data
//! warnings counted, asked-for fields that no record showed noted, labels added, and, for
//! `sync`, records that earlier files delivered skipped and late arrivals counted. Every write
//! error comes back as one [`Error::Write`] naming the destination.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::console;
use crate::error::{Error, Result};
use crate::labels::Labeler;
use crate::model::anomaly::{Anomalies, AnomalySet};
use crate::model::change::ChangeRecord;
use crate::model::ids::IdSet;
use crate::output::{Fact, RecordSink};
use crate::source::{ChangeSource, Receiver, TimeRange};
use crate::workfront::query::Filters;

/// The evidence a workbook's "About" sheet shows (xlsx), for the journal query `filters`
/// against `tenant`. `server_count` is what Workfront counted for the range, when asked.
/// Counts and instants are typed ([`Fact`]), so they print and sort as numbers and dates.
pub fn about(
    tenant: &str,
    api_version: &str,
    filters: &Filters,
    server_count: Option<u64>,
) -> Vec<(String, Fact)> {
    let query: Vec<String> = filters
        .lists()
        .iter()
        .filter(|(_, _, values)| !values.is_empty())
        .map(|(_, flag, values)| format!("{flag} {}", values.join(", ")))
        .collect();
    let mut lines: Vec<(String, Fact)> = vec![
        ("Source".into(), "Workfront journal entries (JRNLE)".into()),
        ("Tenant".into(), tenant.into()),
        ("API version".into(), api_version.into()),
        (
            "Query".into(),
            match query.is_empty() {
                true => "all journal entries (no filter)".into(),
                false => query.join("; ").into(),
            },
        ),
        ("Window".into(), filters.window().into()),
    ];
    if let Some(since) = filters.since {
        lines.push(("Window start".into(), Fact::Instant(since)));
    }
    lines.push(("Window end".into(), Fact::Instant(filters.until)));
    lines.push(("Extracted".into(), Fact::Instant(chrono::Utc::now())));
    lines.push((
        "Workfront's count".into(),
        match server_count {
            Some(n) => Fact::Count(n),
            None => "checked window by window: every window's /count matched the rows \
                     fetched, or the run would have failed"
                .into(),
        },
    ));
    lines
}

/// What a delivery did.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Records written.
    pub written: u64,
    /// Of those, records whose instant is before the window (see [`Delivery::skipping`]).
    pub late: u64,
    pub anomalies: Anomalies,
    /// The filter values of [`Delivery::watching`] that no record had: `(flag, value)`, in
    /// flag order, values sorted.
    pub unseen: Vec<(&'static str, String)>,
}

/// A column a filter selects on.
#[derive(Debug, Clone, Copy)]
enum Column {
    Field,
    ObjCode,
    ChangeType,
}

impl Column {
    /// The column a JRNLE filter field selects on.
    fn of_field(field: &str) -> Option<Column> {
        match field {
            "fieldName" => Some(Column::Field),
            "objObjCode" => Some(Column::ObjCode),
            "changeType" => Some(Column::ChangeType),
            _ => None,
        }
    }

    fn of<'r>(self, r: &'r ChangeRecord<'_>) -> Option<&'r str> {
        match self {
            Column::Field => r.field_name.as_deref(),
            Column::ObjCode => r.obj_code.as_deref(),
            Column::ChangeType => r.change_type.as_deref(),
        }
    }
}

/// One delivery from a source into a sink.
pub struct Delivery<'s> {
    sink: Box<dyn RecordSink + 's>,
    /// The destination, for write errors.
    place: PathBuf,
    labeler: Option<&'s Labeler>,
    skip: Option<&'s IdSet>,
    /// Records whose `entry_date` sorts before this are late arrivals.
    late_before: Option<String>,
    /// Per watched flag: which column it filters, and the values no record has shown yet.
    unseen: Vec<(&'static str, Column, BTreeSet<String>)>,
    done: Delivered,
}

impl<'s> Delivery<'s> {
    /// Into `sink`, which writes to `place` (named in write errors).
    pub fn new(sink: Box<dyn RecordSink + 's>, place: PathBuf) -> Delivery<'s> {
        Delivery {
            sink,
            place,
            labeler: None,
            skip: None,
            late_before: None,
            unseen: Vec::new(),
            done: Delivered::default(),
        }
    }

    /// Add the `--labels` columns.
    pub fn with_labels(mut self, labeler: Option<&'s Labeler>) -> Self {
        self.labeler = labeler;
        self
    }

    /// Note which values of the filters' `--field`, `--obj-code` and `--change-type` no
    /// delivered record has (a value that matches nothing is most often a typo).
    pub fn watching(mut self, filters: &Filters) -> Self {
        self.unseen = filters
            .lists()
            .into_iter()
            .filter(|(_, flag, values)| Filters::CHECKED.contains(flag) && !values.is_empty())
            .filter_map(|(field, flag, values)| {
                let column = Column::of_field(field)?;
                Some((flag, column, values.iter().cloned().collect()))
            })
            .collect();
        self
    }

    /// Skip the records whose id is in `delivered`; count those dated before `window_start`
    /// (fixed-width UTC text) as late arrivals.
    pub fn skipping(mut self, delivered: &'s IdSet, window_start: String) -> Self {
        self.skip = Some(delivered);
        self.late_before = Some(window_start);
        self
    }

    /// Deliver `range` of `source` (all of it for `None`) and finish the sink.
    pub async fn run(
        mut self,
        source: &mut dyn ChangeSource,
        range: Option<TimeRange>,
    ) -> Result<Delivered> {
        let from = source.describe();
        console::debug(format!(
            "delivering {} records: {}",
            from.kind.as_str(),
            from.query
        ));
        source.deliver(range, &mut self).await?;
        self.done.anomalies.merge(&self.sink.anomalies());
        let place = self.place;
        self.sink.finish().map_err(|source| Error::Write {
            path: place,
            source,
        })?;
        let mut done = self.done;
        done.unseen = self
            .unseen
            .into_iter()
            .flat_map(|(flag, _, values)| values.into_iter().map(move |v| (flag, v)))
            .collect();
        Ok(done)
    }
}

impl Receiver for Delivery<'_> {
    fn take(&mut self, mut record: ChangeRecord<'_>, anomalies: AnomalySet) -> Result<()> {
        if let Some(skip) = self.skip
            && record.id.as_deref().is_some_and(|id| skip.contains(id))
        {
            return Ok(());
        }
        if let Some(start) = &self.late_before
            && record.entry_date.as_deref() < Some(start.as_str())
        {
            self.done.late += 1;
        }
        self.done.anomalies.add(anomalies);
        for (_, column, values) in &mut self.unseen {
            if let Some(value) = column.of(&record) {
                values.remove(value);
            }
        }
        if let Some(labeler) = self.labeler {
            record.labels = Some(Box::new(labeler.label(&record)));
        }
        self.sink.write(&record).map_err(|source| Error::Write {
            path: self.place.clone(),
            source,
        })?;
        self.done.written += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::raw::from_map;
    use crate::normalize::normalize;
    use crate::output::{Format, WriteOptions, open_sink};
    use crate::source::Description;
    use futures::FutureExt;
    use futures::future::LocalBoxFuture;

    /// Three entries: `a` before the window, `b` and `c` in it.
    struct Three;

    impl ChangeSource for Three {
        fn describe(&self) -> Description {
            Description {
                kind: crate::model::change::SourceKind::Journal,
                query: "three".into(),
            }
        }

        fn expected<'a>(&'a self, _: &'a TimeRange) -> LocalBoxFuture<'a, Result<Option<u64>>> {
            async { Ok(Some(3)) }.boxed_local()
        }

        fn deliver<'a>(
            &'a mut self,
            _: Option<TimeRange>,
            to: &'a mut dyn Receiver,
        ) -> LocalBoxFuture<'a, Result<u64>> {
            async move {
                for (id, date, field) in [
                    ("a", "2025-01-06T23:00:00:000+0000", "status"),
                    ("b", "2025-01-07T01:00:00:000+0000", "status"),
                    ("c", "2025-01-07T02:00:00:000+0000", "not a date"),
                ] {
                    let raw = serde_json::json!({"ID": id, "entryDate": date, "fieldName": field});
                    let (record, found) = normalize(from_map(raw.as_object().unwrap()));
                    to.take(record, found)?;
                }
                Ok(3)
            }
            .boxed_local()
        }
    }

    fn ndjson_ids(bytes: &[u8]) -> Vec<String> {
        std::str::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
            .collect()
    }

    #[test]
    fn skips_what_was_delivered_counts_late_arrivals_and_notes_unseen_fields() {
        let mut out = Vec::new();
        let sink = open_sink(Format::Ndjson, &mut out, &WriteOptions::default()).unwrap();
        let delivered: IdSet = ["b"].into_iter().collect();
        let done = futures::executor::block_on(
            Delivery::new(sink, "out".into())
                .skipping(&delivered, "2025-01-07T00:00:00.000Z".into())
                .watching(&Filters {
                    fields: vec!["status".into(), "Status".into()],
                    change_types: vec!["E".into()],
                    ..Filters::window_only(None, chrono::Utc::now())
                })
                .run(&mut Three, None),
        )
        .unwrap();
        assert_eq!(ndjson_ids(&out), ["\"a\"", "\"c\""]);
        assert_eq!((done.written, done.late), (2, 1));
        assert_eq!(
            done.unseen,
            [
                ("--field", "Status".to_string()),
                ("--change-type", "E".to_string())
            ]
        );
        assert_eq!(
            done.anomalies.total(),
            2,
            "the written records lack fields; the skipped one is not counted"
        );
    }

    /// A writer that fails at once.
    struct Full;

    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_is_one_error_naming_the_destination() {
        let mut out = Full;
        let sink = open_sink(Format::Ndjson, &mut out, &WriteOptions::default()).unwrap();
        let err = futures::executor::block_on(
            Delivery::new(sink, "/srv/audit/x.ndjson".into()).run(&mut Three, None),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            err.to_string(),
            "cannot write /srv/audit/x.ndjson: disk full"
        );
    }
}
