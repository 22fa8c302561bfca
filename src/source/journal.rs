//! Journal entries fetched from Workfront: the windowed, counted `JRNLE` search of the API
//! layer, each entry normalized as it is handed on, in `(entry_date, id)` order.

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::error::Result;
use crate::model::anomaly::AnomalySet;
use crate::model::change::{ChangeRecord, SourceKind};
use crate::model::date::parse_parts;
use crate::model::raw::Field;
use crate::model::raw::RawJrnle;
use crate::model::tenant_zone::OffsetsSeen;
use crate::normalize::normalize;
use crate::source::{ChangeSource, Description, Receiver, TimeRange};
use crate::workfront::client::Client;
use crate::workfront::fetch::fetch;
use crate::workfront::jrnle::{Journal, has_comparable_key};
use crate::workfront::object::{Convert, Keyed};
use crate::workfront::query::{Filters, Search};

/// The journal entries matching the user's filters.
pub struct JournalSource<'c> {
    client: &'c Client,
    filters: Filters,
    concurrency: usize,
    progress: indicatif::ProgressBar,
    offsets: OffsetsSeen,
}

impl<'c> JournalSource<'c> {
    /// `progress` shows the entries fetched of the count (hidden when not at a terminal); the
    /// caller, holding a clone, finishes it.
    pub fn new(
        client: &'c Client,
        filters: Filters,
        concurrency: usize,
        progress: indicatif::ProgressBar,
    ) -> JournalSource<'c> {
        JournalSource {
            client,
            filters,
            concurrency,
            progress,
            offsets: OffsetsSeen::default(),
        }
    }

    /// The offsets the delivered entries' dates were written with: the tenant's zone, as far
    /// as Workfront says it ([`OffsetsSeen::zone`]).
    pub fn offsets_seen(&self) -> &OffsetsSeen {
        &self.offsets
    }

    /// The filters' search, within `range` when one is given.
    fn search(&self, range: Option<&TimeRange>) -> Search<Journal> {
        let mut search = self.filters.search();
        if let Some(r) = range {
            search.since = r.since;
            search.until = r.until;
        }
        search
    }
}

impl ChangeSource for JournalSource<'_> {
    fn describe(&self) -> Description {
        let f = &self.filters;
        let mut parts = Vec::new();
        for (_, flag, values) in f.lists() {
            if !values.is_empty() {
                parts.push(format!("{flag} {}", values.join(",")));
            }
        }
        parts.push(f.window());
        Description {
            kind: SourceKind::Journal,
            query: format!("JRNLE {}", parts.join(" ")),
        }
    }

    fn expected<'a>(&'a self, range: &'a TimeRange) -> LocalBoxFuture<'a, Result<Option<u64>>> {
        async move {
            let search = self.search(Some(range));
            let n = self
                .client
                .count(&search.object, &search.count_params())
                .await?;
            Ok(Some(n))
        }
        .boxed_local()
    }

    fn deliver<'a>(
        &'a mut self,
        range: Option<TimeRange>,
        to: &'a mut dyn Receiver,
    ) -> LocalBoxFuture<'a, Result<u64>> {
        async move {
            let search = self.search(range.as_ref());
            let offsets = &mut self.offsets;
            let stats = fetch(
                self.client,
                &search,
                self.concurrency,
                &self.progress,
                NormalizeEntry,
                |window: Vec<Normalized>| {
                    for entry in window {
                        if let Some((at, offset)) = entry.offset {
                            offsets.add(at, offset);
                        }
                        to.take(entry.record, entry.anomalies)?;
                    }
                    Ok(())
                },
            )
            .await?;
            Ok(stats.entries)
        }
        .boxed_local()
    }
}

/// One entry normalized, with the key paging placed it by.
struct Normalized {
    record: ChangeRecord<'static>,
    anomalies: AnomalySet,
    comparable: bool,
    /// The instant and the offset (seconds east) its `entryDate` was written with.
    offset: Option<(chrono::DateTime<chrono::Utc>, i32)>,
}

/// Normalize an entry while its answer is parsed, in the request's own task (so the task
/// that assembles and writes the windows does not also normalize), borrowing from the answer
/// and owning only the result.
#[derive(Debug, Clone, Copy)]
struct NormalizeEntry;

impl Convert<Journal, Normalized> for NormalizeEntry {
    fn convert(self, raw: RawJrnle<'_>) -> Normalized {
        let comparable = has_comparable_key(&raw);
        let offset = match &raw.entry_date {
            Field::Text(s) => match parse_parts(s) {
                Some((naive, Some(o))) => {
                    let at = naive - chrono::Duration::seconds(o.local_minus_utc() as i64);
                    Some((at.and_utc(), o.local_minus_utc()))
                }
                _ => None,
            },
            _ => None,
        };
        let (record, anomalies) = normalize(raw);
        Normalized {
            record: record.into_owned(),
            anomalies,
            comparable,
            offset,
        }
    }
}

/// The normalized `entry_date` is the raw entry's key (UTC text, or the text as sent), so the
/// order is the one paging checked.
impl Keyed for Normalized {
    fn sort_key(&self) -> (&str, &str) {
        self.record.sort_key()
    }

    fn comparable(&self) -> bool {
        self.comparable
    }

    fn id(&self) -> Option<&str> {
        self.record.id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credential;
    use crate::secret::Secret;
    use crate::workfront::client::ClientOptions;

    #[test]
    fn it_says_what_it_queries_without_the_credential() {
        let url = reqwest::Url::parse("https://acme.my.workfront.com").unwrap();
        let auth = std::sync::Arc::new(Credential::ApiKey(Secret::new("s3cret")));
        let client = Client::new(&url, "v21.0", auth, ClientOptions::default()).unwrap();
        let until = "2025-01-08T00:00:00Z".parse().unwrap();
        let mut filters =
            Filters::window_only(Some("2025-01-07T00:00:00Z".parse().unwrap()), until);
        filters.obj_codes = vec!["TASK".into(), "OPTASK".into()];
        filters.fields = vec!["status".into()];
        let source = JournalSource::new(&client, filters, 4, indicatif::ProgressBar::hidden());
        let d = source.describe();
        assert_eq!(d.kind, SourceKind::Journal);
        assert_eq!(
            d.query,
            "JRNLE --obj-code TASK,OPTASK --field status [2025-01-07T00:00:00.000Z, 2025-01-08T00:00:00.000Z)"
        );
        assert!(!d.query.contains("s3cret"));
    }
}
