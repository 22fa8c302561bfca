//! The one delivery loop: the records of a [`ChangeSource`] into a [`RecordSink`], with data
//! warnings counted, asked-for fields that no record showed noted, labels added, and, for
//! `sync`, records that earlier files delivered skipped and late arrivals counted. Every write
//! error comes back as one [`Error::Write`] naming the destination.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::labels::Labeler;
use crate::model::anomaly::{Anomalies, AnomalySet};
use crate::model::change::ChangeRecord;
use crate::output::RecordSink;
use crate::source::{ChangeSource, Receiver, TimeRange};

/// What a delivery did.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Records written.
    pub written: u64,
    /// Of those, records whose instant is before the window (see [`Delivery::skipping`]).
    pub late: u64,
    pub anomalies: Anomalies,
    /// The fields of [`Delivery::watching_fields`] that no record had, sorted.
    pub unseen_fields: Vec<String>,
}

/// One delivery from a source into a sink.
pub struct Delivery<'s> {
    sink: Box<dyn RecordSink + 's>,
    /// The destination, for write errors.
    place: PathBuf,
    labeler: Option<&'s Labeler>,
    skip: Option<&'s HashSet<String>>,
    /// Records whose `entry_date` sorts before this are late arrivals.
    late_before: Option<String>,
    unseen: BTreeSet<String>,
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
            unseen: BTreeSet::new(),
            done: Delivered::default(),
        }
    }

    /// Add the `--labels` columns.
    pub fn with_labels(mut self, labeler: Option<&'s Labeler>) -> Self {
        self.labeler = labeler;
        self
    }

    /// Note which of `fields` no delivered record has.
    pub fn watching_fields(mut self, fields: &[String]) -> Self {
        self.unseen = fields.iter().cloned().collect();
        self
    }

    /// Skip the records whose id is in `delivered`; count those dated before `window_start`
    /// (fixed-width UTC text) as late arrivals.
    pub fn skipping(mut self, delivered: &'s HashSet<String>, window_start: String) -> Self {
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
        source.deliver(range, &mut self).await?;
        let place = self.place;
        self.sink.finish().map_err(|source| Error::Write {
            path: place,
            source,
        })?;
        let mut done = self.done;
        done.unseen_fields = self.unseen.into_iter().collect();
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
        if let Some(field) = record.field_name.as_deref() {
            self.unseen.remove(field);
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
