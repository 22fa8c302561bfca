//! Sources of change records, behind one trait: where records come from is a
//! [`ChangeSource`], and where they go is a [`Receiver`] (the delivery loop,
//! [`crate::deliver`]). Journal entries fetched from Workfront ([`journal`]) and saved raw
//! records read offline ([`saved`]) are sources; event subscriptions and object snapshots
//! will be too.

pub mod events;
pub mod journal;
pub mod saved;
pub mod snapshot;
pub mod state;
pub mod written;

use chrono::{DateTime, Utc};
use futures::future::LocalBoxFuture;

use crate::error::Result;
use crate::model::anomaly::AnomalySet;
use crate::model::change::{ChangeRecord, SourceKind};

/// `[since, until)` of the records' instants; `since: None` means from the beginning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub since: Option<DateTime<Utc>>,
    pub until: DateTime<Utc>,
}

/// What a source is, for messages and manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// The kind of its records (the `source` column).
    pub kind: SourceKind,
    /// Where they come from and which: e.g. the filters of a journal query, or the files read.
    pub query: String,
}

/// Where a source hands its records, one at a time.
pub trait Receiver {
    /// One record, with the oddities met making it. An error stops the source.
    fn take(&mut self, record: ChangeRecord<'_>, anomalies: AnomalySet) -> Result<()>;
}

/// A source of change records.
pub trait ChangeSource {
    /// What the source is.
    fn describe(&self) -> Description;

    /// How many records `range` should hold (the completeness count), when the source can know
    /// it; `None` for a source that cannot (a push source, saved files).
    fn expected<'a>(&'a self, range: &'a TimeRange) -> LocalBoxFuture<'a, Result<Option<u64>>>;

    /// Hand every record of `range` (of everything the source holds, for `None`) to `to`, each
    /// exactly once, and return how many were handed on. A source that can check completeness
    /// does so before it returns.
    fn deliver<'a>(
        &'a mut self,
        range: Option<TimeRange>,
        to: &'a mut dyn Receiver,
    ) -> LocalBoxFuture<'a, Result<u64>>;
}

/// For sources of files (saved or written records): they carry no count to check against.
pub(crate) fn uncounted<'a>() -> LocalBoxFuture<'a, Result<Option<u64>>> {
    use futures::FutureExt;
    async { Ok(None) }.boxed_local()
}

/// For sources of files, which are read whole: a range is refused rather than ignored.
pub(crate) fn whole_only(range: Option<TimeRange>, what: &str) -> Result<()> {
    match range {
        Some(_) => Err(crate::error::Error::Internal(format!(
            "{what} are read whole, not by time range"
        ))),
        None => Ok(()),
    }
}

/// The description of a source of files: what they hold, and their names.
pub(crate) fn of_files<'n>(what: &str, names: impl Iterator<Item = &'n str>) -> Description {
    Description {
        kind: SourceKind::Journal,
        query: format!("{what}: {}", names.collect::<Vec<_>>().join(", ")),
    }
}
