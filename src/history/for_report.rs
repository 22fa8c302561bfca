//! What the audit report reads from the replay, in one pass over its source: the chain breaks
//! and the time in each value of one field (status), so the report's sections and the
//! commands' answers come from the same replay.

use chrono::{DateTime, Utc};

use super::breaks::ChainBreaks;
use super::interval::ChainBreak;
use super::replay::{Order, Totals, run};
use super::status_time::{StatusTime, ValueTime};
use crate::error::Result;
use crate::source::ChangeSource;

/// The report's answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ForReport {
    /// Every chain break, in entry order.
    pub chain_breaks: Vec<ChainBreak>,
    /// Per value of the field: visits, median and 90th percentile, the longest visits.
    pub status_time: Vec<ValueTime>,
    pub totals: Totals,
}

/// Replay `source` once (entries before `until`; open visits count up to it) for the chain
/// breaks and the time in each value of `field`. Input out of entry order is refused with
/// [`Order::Check`] (a usage error, exit 2) or sorted in memory with [`Order::Sort`].
pub async fn for_report(
    source: &mut dyn ChangeSource,
    field: &str,
    until: DateTime<Utc>,
    order: Order,
) -> Result<ForReport> {
    let mut both = (ChainBreaks::default(), StatusTime::new(field, until));
    let scope = super::Scope {
        until: Some(until),
        field: None,
    };
    let totals = run(source, &mut both, order, scope).await?;
    let (breaks, time) = both;
    Ok(ForReport {
        chain_breaks: breaks.found,
        status_time: time.values(),
        totals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::change::Value;
    use crate::output::Format;
    use crate::source::written::WrittenRecords;

    #[test]
    fn the_fixture_has_one_chain_break_and_its_status_times() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/answers/history.csv");
        let mut source = WrittenRecords::new(vec![(path, Format::Csv)]);
        let until = "2025-03-20T00:00:00Z".parse().unwrap();
        let got =
            futures::executor::block_on(for_report(&mut source, "status", until, Order::Check))
                .unwrap();
        let [b] = got.chain_breaks.as_slice() else {
            panic!("{:?}", got.chain_breaks)
        };
        assert_eq!((b.obj_id.as_str(), b.entry_id.as_str()), ("s04", "e0402"));
        assert_eq!(b.expected_entry_id.as_deref(), Some("e0401"));
        assert_eq!(
            (&b.expected, &b.found),
            (&Value::Text("INP".into()), &Value::Text("ONH".into()))
        );
        // INP's visits (seconds): 0, 7200, 86400 (three), 151200, 234000.
        let inp = got.status_time.iter().find(|v| v.value == "INP").unwrap();
        assert_eq!(inp.visits, 7);
        assert_eq!(
            (inp.median_millis, inp.p90_millis),
            (86_400_000, 234_000_000)
        );
        let longest: Vec<&str> = inp.longest.iter().map(|v| v.obj_id.as_str()).collect();
        assert_eq!(&longest[..2], ["s01", "s07"]);
        assert_eq!(inp.longest.len(), 5);
        assert_eq!(got.totals.chain_breaks, 1);
    }
}
