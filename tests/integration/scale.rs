//! Windowed concurrent fetching: the same bytes at every concurrency, no request for an empty
//! window, shallow offsets, and about one page request per 2,000 entries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jrnle_audit::model::date::parse_timestamp;
use jrnle_audit::simulator::generate::generate;
use jrnle_audit::workfront::window::WINDOW_TARGET;

use crate::util::*;

/// The parameters of each logged request to `action`.
fn requests(log: &[String], action: &str) -> Vec<HashMap<String, String>> {
    log.iter()
        .filter(|l| l.contains(&format!("/JRNLE/{action}?")))
        .map(|l| {
            let query = l.split_once('?').unwrap().1;
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .collect()
}

fn instant(s: &str) -> DateTime<Utc> {
    parse_timestamp(s).unwrap().with_timezone(&Utc)
}

#[test]
fn exports_are_byte_identical_at_every_concurrency() {
    // 36,000 entries; a bulk edit puts 12,000 of them on one millisecond, more than a window
    // holds, so that window is paged whole.
    let records = generate(36_000, 31);
    let sim = sim(&records);
    let outputs: Vec<String> = ["1", "4", "10"]
        .iter()
        .map(|c| ok(against(&sim, "export").args(["--max-concurrency", c, "--format", "ndjson"])))
        .collect();
    assert_eq!(ndjson_rows(&outputs[0]).len(), 36_000);
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn windows_cost_about_one_page_per_2000_entries_and_never_an_empty_window() {
    let records = generate(60_000, 9);
    let sim = sim(&records);
    // A range of a year around data that fills 16 days: most of it is empty.
    ok(against(&sim, "export").args(["--since", "2025-06-01", "--until", "2026-06-01"]));
    let log = sim.simulator.request_log();
    let searches = requests(&log, "search");
    let counts = requests(&log, "count");
    let dates: Vec<DateTime<Utc>> = records
        .iter()
        .map(|r| instant(r["entryDate"].as_str().unwrap()))
        .collect();
    let mut pages = 0;
    for s in &searches {
        if s["$$LIMIT"] == "1" {
            continue; // a one-row probe while planning
        }
        pages += 1;
        let (lo, hi) = (instant(&s["entryDate"]), instant(&s["entryDate_Range"]));
        let holds = dates.iter().filter(|d| **d >= lo && **d <= hi).count();
        assert!(
            holds > 0,
            "a page was asked of an empty window [{lo}, {hi}]"
        );
        let first: usize = s["$$FIRST"].parse().unwrap();
        assert!(first < holds, "a page beyond its window's entries");
        // Offsets stay within one window: at most the window target, unless the window is a
        // single millisecond (a bulk edit), which no split can divide.
        assert!(
            first < WINDOW_TARGET as usize || hi == lo,
            "a deep offset: {first}"
        );
    }
    let minimum = 60_000usize.div_ceil(2000);
    assert!(pages >= minimum);
    assert!(
        pages <= minimum + 20,
        "{pages} page requests for 60,000 entries"
    );
    assert!(
        counts.len() < pages,
        "{} counts for {pages} pages",
        counts.len()
    );
}

#[test]
fn a_range_of_up_to_a_page_costs_one_round_trip() {
    // The count and the first page go out together; the page is the whole export, so
    // nothing else is asked. The answers wait until both are out: "together" is then not a
    // matter of the machine's speed (a client that waited for the count would hang here).
    let sim = sim(&demo_records());
    sim.simulator.hold_answers();
    let o = run_holding(
        &sim,
        against(&sim, "export").args(["--max-concurrency", "4"]),
        "the count and the first page in flight together",
        || sim.simulator.in_flight() >= 2,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(csv_ids(&stdout(&o)).len(), 30);
    let log = sim.simulator.request_log();
    assert_eq!(requests(&log, "count").len(), 1, "{log:#?}");
    let searches = requests(&log, "search");
    assert_eq!(searches.len(), 1, "{log:#?}");
    assert_eq!(searches[0]["$$LIMIT"], "2000");
    assert_eq!(sim.simulator.peak_concurrency(), 2);
}

/// Requests an export sends for `records` (pages, counts, one-row probes), checked on the way:
/// the export is whole and no request is for a stretch without entries.
fn export_requests(records: &[jrnle_audit::input::RawRecord]) -> (usize, usize, usize) {
    let sim = sim(records);
    let out = ok(against(&sim, "export")
        .args(["--since", "2025-01-01", "--until", "2026-06-01"])
        .args(["--format", "ndjson"]));
    assert_eq!(ndjson_rows(&out).len(), records.len());
    let log = sim.simulator.request_log();
    let dates: Vec<DateTime<Utc>> = records
        .iter()
        .map(|r| instant(r["entryDate"].as_str().unwrap()))
        .collect();
    let searches = requests(&log, "search");
    for s in searches.iter().chain(&requests(&log, "count")) {
        let (lo, hi) = (instant(&s["entryDate"]), instant(&s["entryDate_Range"]));
        assert!(
            dates.iter().any(|d| *d >= lo && *d <= hi),
            "a request for an empty stretch [{lo}, {hi}]"
        );
    }
    let probes = searches.iter().filter(|s| s["$$LIMIT"] == "1").count();
    (
        searches.len() - probes,
        requests(&log, "count").len(),
        probes,
    )
}

#[test]
fn an_export_costs_its_pages_and_one_count_up_to_the_window_target() {
    use jrnle_audit::simulator::generate::{Shape, generate_each};
    use jrnle_audit::workfront::paging::pages_for;
    // 60,000 entries in a daily rhythm: one window, so one count and the pages that prove
    // its end (each page overlaps the next by one entry), nothing else.
    let mut records = Vec::new();
    generate_each(60_000, 3, Shape::Daily, |r| records.push(r));
    assert_eq!(export_requests(&records), (pages_for(60_000), 1, 0));
}

#[test]
fn a_range_past_the_window_target_is_cut_at_its_quantiles_not_in_time() {
    use jrnle_audit::simulator::generate::{Shape, generate_each};
    use jrnle_audit::workfront::paging::pages_for;
    // Four busy days a month apart: a split in equal stretches of time would count empty
    // months. Cut at the entries' median instead: one probe, one count (the other part's is
    // the rest), and each half's pages.
    let n = WINDOW_TARGET as usize + 20_000;
    let mut records = Vec::new();
    generate_each(n, 6, Shape::Gaps, |r| records.push(r));
    let (pages, counts, probes) = export_requests(&records);
    assert_eq!(
        (counts, probes),
        (2, 1),
        "the range's count, one probe, one part's count"
    );
    assert_eq!(pages, 2 * pages_for(n as u64 / 2), "{pages} pages");
    let minimum = n.div_ceil(2000) + 1;
    let total = pages + counts + probes;
    assert!(
        total * 10 <= minimum * 11,
        "{total} requests where {minimum} would do"
    );
}
