//! Faults from the API: every kind is retried until the export is byte-identical to a
//! fault-free one; what cannot succeed fails at once; the concurrency cap holds.

use std::time::Duration;

use jrnle_audit::input::RawRecord;
use jrnle_audit::model::date::format_workfront;
use jrnle_audit::simulator::SimConfig;
use jrnle_audit::simulator::faults::{FaultConfig, FaultKind};
use jrnle_audit::simulator::generate::generate;

use crate::util::*;

/// Client flags for a faulty server: short timeouts (the stall fault is 2 s) and many retries.
const PATIENT: [&str; 6] = [
    "--timeout",
    "1",
    "--max-retries",
    "30",
    "--max-concurrency",
    "3",
];

fn faulty(rate: f64, kinds: Vec<FaultKind>, max_concurrent: Option<usize>) -> SimConfig {
    SimConfig {
        faults: FaultConfig {
            rate,
            kinds,
            max_concurrent,
            stall: Duration::from_secs(2),
        },
        seed: 42,
        ..sim_config()
    }
}

fn export(sim: &jrnle_audit::simulator::SimHandle, format: &str, extra: &[&str]) -> String {
    ok(against(sim, "export")
        .args(["--format", format, "--until", "2026-01-01"])
        .args(extra))
}

fn records() -> Vec<RawRecord> {
    // Three pages, including a bulk edit that spans pages.
    generate(4500, 8)
}

#[test]
fn each_fault_kind_alone_is_survived_with_identical_output() {
    let records = records();
    let clean = export(&sim(&records), "ndjson", &[]);
    for kind in FaultKind::ALL {
        let sim = sim_with(&records, faulty(0.3, vec![kind], None));
        let out = export(&sim, "ndjson", &PATIENT);
        assert!(
            sim.simulator.faults_injected() > 0,
            "{kind:?} was never injected: the test proves nothing"
        );
        assert_eq!(out, clean, "{kind:?}");
    }
}

#[test]
fn fifteen_percent_faults_and_a_cap_of_3_give_identical_exports_in_every_format() {
    // Eleven pages: with the simulator's seed, the draws for the first requests hold faults.
    let records = generate(21_000, 8);
    let clean = sim(&records);
    for format in ["csv", "json", "ndjson"] {
        let expected = export(&clean, format, &[]);
        let sim = sim_with(&records, faulty(0.15, Vec::new(), Some(3)));
        let out = export(&sim, format, &PATIENT);
        assert!(sim.simulator.faults_injected() > 0);
        assert_eq!(out, expected, "{format}");
    }
}

#[test]
fn a_client_over_the_servers_limit_is_throttled_and_retries() {
    let records = generate(9000, 3);
    let sim = sim_with(&records, faulty(0.0, Vec::new(), Some(1)));
    let expected = export(&self::sim(&records), "csv", &[]);
    // The first request's answer waits until another request has come while it was out: that
    // one was over the limit of 1, whatever the machine's speed.
    sim.simulator.hold_answers();
    let o = run_holding(
        &sim,
        against(&sim, "export").args([
            "--format",
            "csv",
            "--until",
            "2026-01-01",
            "--max-concurrency",
            "4",
            "--max-retries",
            "30",
        ]),
        "a request held and another sent meanwhile",
        || sim.simulator.answers_held() == 1 && sim.simulator.request_log().len() > 1,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), expected);
    // 1 count + 5 pages would be 6 requests; 429s made the client ask again.
    assert!(sim.simulator.request_log().len() > 6);
}

#[test]
fn requests_in_flight_never_exceed_the_cap() {
    let records = generate(12_000, 4);
    for cap in [1usize, 3] {
        let sim = sim(&records);
        let cap_flag = ["--max-concurrency".to_string(), cap.to_string()];
        ok(against(&sim, "count").args(&cap_flag));
        // The pages' answers wait until `cap` requests are out at once, so the peak reaches
        // the cap whatever the machine's speed, and a request sent past it would show in the
        // peak.
        sim.simulator
            .hold_answers_where(|request| request.contains("/search?"));
        let o = run_holding(
            &sim,
            against(&sim, "export")
                .args(["--format", "csv", "--until", "2026-01-01"])
                .args(&cap_flag),
            &format!("{cap} requests in flight"),
            || sim.simulator.in_flight() >= cap,
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let peak = sim.simulator.peak_concurrency();
        assert!(peak <= cap, "peak {peak} over cap {cap}");
        assert_eq!(peak, cap, "the answers were held until {cap} were out");
    }
}

#[test]
fn what_cannot_succeed_fails_at_once_without_retrying() {
    let sim = sim(&demo_records());
    let o = run(against(&sim, "export").args(["--api-version", "v15.0"]));
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("HTTP 410"), "{}", stderr(&o));
    let o = run(against(&sim, "export").env("WORKFRONT_API_KEY", "wrong"));
    assert_eq!(o.status.code(), Some(3));
    // The first round trip sends three requests at once (the count and two probes): each
    // was tried once.
    let log = sim.simulator.request_log();
    assert!(!log.is_empty());
    for request in &log {
        let tries = log.iter().filter(|r| *r == request).count();
        assert_eq!(tries, 1, "{request} tried {tries} times");
    }
}

#[test]
fn giving_up_names_the_path_status_and_message_with_exit_4() {
    let sim = sim_with(
        &demo_records(),
        faulty(1.0, vec![FaultKind::ServerError], None),
    );
    let o = run(against(&sim, "export").args(["--max-retries", "2"]));
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    // The count and the two probes go out together; whichever gives up first is reported.
    let line = err.lines().next().unwrap_or_default();
    let named = ["search", "count"].iter().any(|action| {
        line.contains(&format!(
            "/attask/api/v21.0/JRNLE/{action}: HTTP 500: An unexpected error occurred (gave up after 3 tries)"
        ))
    });
    assert!(named, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let log = sim.simulator.request_log();
    let tries = |request: &String| log.iter().filter(|r| *r == request).count();
    assert_eq!(
        log.iter().map(tries).max(),
        Some(3),
        "the first try and 2 retries: {log:?}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn a_server_that_comes_up_late_is_waited_for() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = bin()
        .args(["count", "--max-retries", "12"])
        .env("WORKFRONT_URL", format!("http://127.0.0.1:{port}"))
        .env("WORKFRONT_API_KEY", KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (refused_tx, refused) = std::sync::mpsc::channel();
    let lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let said = std::thread::spawn(move || {
        let mut said = String::new();
        for line in lines {
            let line = line.unwrap();
            if line.contains("connection refused") {
                let _ = refused_tx.send(());
            }
            said += &line;
            said.push('\n');
        }
        said
    });
    // Connections are refused until the simulator starts, which it does once the client has
    // said it was refused and is retrying (not after a sleep hoped to be long enough).
    refused
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the client never said its connection was refused"));
    let _sim = jrnle_audit::simulator::Simulator::new(sim_config(), &demo_records())
        .spawn_on(port)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let said = said.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{said}");
    assert_eq!(stdout(&o), "30\n");
}

#[test]
fn entries_journaled_into_a_window_while_its_pages_are_fetched_never_hide_an_older_one() {
    // A live tenant: 12,000 entries over the last 18 s, and 3,000 more a second, each
    // carrying an instant up to 15 s before it becomes visible, so new entries land among
    // those being paged. Answers take 20 to 220 ms, so pages come back out of order: a page
    // read after the one that follows it, with entries inserted before it in between, is the
    // classic way offset paging loses a row. That hazard is also made to happen on purpose:
    // the first page's answer waits until the second page has been answered and 500 entries
    // have been journaled among the first page's, so the first page, read last, ends before
    // the second begins.
    let (sim, now) = live_tenant(12_000, 18_000, 5);
    let since = now - chrono::Duration::minutes(10);
    let existing = sim.simulator.entries_snapshot();
    assert!(
        existing.len() > 8000,
        "only {} entries to page",
        existing.len()
    );
    let first_page = |request: &str| {
        request.contains("/JRNLE/search?")
            && (request.contains("%24%24FIRST=0&") || request.ends_with("%24%24FIRST=0"))
    };
    let later_page = move |request: &String| {
        request.contains("/JRNLE/search?")
            && request.contains("%24%24FIRST=")
            && !first_page(request)
    };
    sim.simulator.hold_answers_where(first_page);
    let child = against(&sim, "export")
        .args(["-v", "--format", "csv", "--max-concurrency", "4"])
        .args(["--since", &since.to_rfc3339()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the first page held and a later one answered", || {
        let held = sim.simulator.answers_held();
        let later = sim.simulator.request_log().iter().any(later_page);
        held == 1 && later && sim.simulator.in_flight() == held
    });
    let oldest = existing.iter().filter_map(|(_, when)| *when).min().unwrap();
    sim.simulator
        .journal_at(500, oldest + chrono::Duration::milliseconds(1));
    sim.simulator.release_answers();
    let o = child.wait_with_output().unwrap();
    sim.simulator.stop_growth();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let missing = missing_once_each(&existing, since, &stdout(&o));
    assert_eq!(
        missing,
        0,
        "{missing} of {} entries that existed before the export were not delivered",
        existing.len()
    );
    // The run met the hazard this test is about.
    assert!(
        stderr(&o).contains("while its pages were read; reading on in order"),
        "the first page, read last, did not end before the second: {}",
        stderr(&o)
    );
}

#[test]
fn a_range_cut_at_its_quantiles_on_a_live_tenant_loses_and_repeats_nothing() {
    // More entries than one window holds, over the last 40 s, while 3,000 more a second land
    // up to 15 s back: the range is cut at the quantiles its probes find while entries keep
    // arriving in both parts, and pages come back out of order.
    use jrnle_audit::workfront::window::WINDOW_TARGET;
    let n = WINDOW_TARGET as usize + 30_000;
    let (sim, now) = live_tenant(n, 40_000, 6);
    let since = now - chrono::Duration::minutes(10);
    let existing = sim.simulator.entries_snapshot();
    // The searches' answers wait until 300 more entries have been journaled into the range:
    // entries surely arrive during the export, whatever the growth managed meanwhile.
    sim.simulator
        .hold_answers_where(|request| request.contains("/JRNLE/search?"));
    let child = against(&sim, "export")
        .args(["--format", "csv", "--max-concurrency", "4"])
        .args(["--since", &since.to_rfc3339()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("a search held", || sim.simulator.answers_held() > 0);
    sim.simulator
        .journal_at(300, now - chrono::Duration::seconds(1));
    sim.simulator.release_answers();
    let o = child.wait_with_output().unwrap();
    sim.simulator.stop_growth();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let got = csv_ids(&stdout(&o));
    let missing = missing_once_each(&existing, since, &stdout(&o));
    assert_eq!(
        missing, 0,
        "{missing} entries that existed before the export were lost"
    );
    assert!(
        got.len() > n,
        "the entries that arrived during the export count too"
    );
    let probes = sim.simulator.request_log();
    assert!(
        probes.iter().any(|l| l.ends_with("%24%24LIMIT=1")),
        "the range was not cut at a quantile"
    );
}

/// A live tenant: `n` entries spread over the last `span_ms`, 3,000 more a second landing up
/// to 15 s back, answers taking 20 to 220 ms so pages come back out of order; with when "now"
/// was.
fn live_tenant(
    n: usize,
    span_ms: i64,
    seed: u64,
) -> (
    jrnle_audit::simulator::SimHandle,
    chrono::DateTime<chrono::Utc>,
) {
    let now = chrono::Utc::now();
    let mut records = generate(n, seed);
    for (i, r) in records.iter_mut().enumerate() {
        let back = span_ms - (i as i64 * span_ms / n as i64);
        let at = now - chrono::Duration::milliseconds(back);
        r.insert(
            "entryDate".into(),
            format_workfront(&at, &chrono_tz::UTC).into(),
        );
    }
    let config = SimConfig {
        growth: Some(jrnle_audit::simulator::Growth {
            rate_per_sec: 3000.0,
            max_delay: Duration::from_secs(15),
        }),
        latency: Duration::from_millis(20),
        latency_jitter: Duration::from_millis(200),
        seed,
        ..sim_config()
    };
    (sim_with(&records, config), now)
}

/// How many of the `existing` entries from `since` on a CSV export left out, having checked
/// that it delivered none twice.
fn missing_once_each(
    existing: &[(String, Option<chrono::DateTime<chrono::Utc>>)],
    since: chrono::DateTime<chrono::Utc>,
    csv: &str,
) -> usize {
    let got = csv_ids(csv);
    let delivered: std::collections::HashSet<&String> = got.iter().collect();
    assert_eq!(delivered.len(), got.len(), "an entry was delivered twice");
    existing
        .iter()
        .filter(|(id, when)| when.is_some_and(|w| w >= since) && !delivered.contains(id))
        .count()
}
