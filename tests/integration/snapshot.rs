//! `snapshot` against the simulator's objects: the history it writes matches the simulator's
//! own record of state changes at the granularity of runs, exactly once across `kill -9`;
//! it agrees with the journal on a tracked field; deletions, the baseline, the lookback, bad
//! fields and altered state.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use jrnle_audit::evidence::manifest::{Manifest, SnapshotRun};
use jrnle_audit::simulator::generate::generate;
use jrnle_audit::simulator::objects::ObjectChange;
use jrnle_audit::simulator::store::SimValue;
use jrnle_audit::simulator::{Growth, SimConfig, SimHandle};

use crate::util::*;

const LOOKBACK: &str = "2s";

const FIELDS: &str = "status,percentComplete,DE:Risk,plannedCompletionDate";

fn snapshot(sim: &SimHandle, dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = against(sim, "snapshot");
    cmd.arg("--out-dir")
        .arg(dir)
        .args([
            "--obj-code",
            "TASK",
            "--fields",
            FIELDS,
            "--format",
            "ndjson",
        ])
        .args(extra);
    cmd
}

/// The manifests of `dir`, in chain order, parsed as the crate's own type.
fn manifests(dir: &Path) -> Vec<Manifest> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".manifest.json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| serde_json::from_slice(&std::fs::read(dir.join(n)).unwrap()).unwrap())
        .collect()
}

/// A snapshot manifest's own section (every manifest of a snapshot out-dir has one).
fn snap(m: &Manifest) -> &SnapshotRun {
    m.snapshot
        .as_ref()
        .unwrap_or_else(|| panic!("no snapshot section: {m:?}"))
}

/// The end of a manifest's window.
fn window_end(m: &Manifest) -> DateTime<Utc> {
    m.window.to.parse().unwrap()
}

/// Every record committed, in chain order, with the number of the run that wrote it.
fn records(dir: &Path) -> Vec<(usize, Map<String, Value>)> {
    let mut out = Vec::new();
    for (run, m) in manifests(dir).iter().enumerate() {
        let text = std::fs::read_to_string(dir.join(&m.data_file.name)).unwrap();
        out.extend(ndjson_rows(&text).into_iter().map(|r| (run, r)));
    }
    out
}

fn instant(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Whether a record's value is the simulator's value.
fn same(record: &Value, sim: &SimValue) -> bool {
    match (record, sim) {
        (Value::Null, SimValue::Null) => true,
        (Value::Number(a), SimValue::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), SimValue::Date(d)) => a.parse::<DateTime<Utc>>().ok() == Some(*d),
        (Value::String(a), SimValue::Text(t)) => a == t,
        _ => false,
    }
}

/// The simulator's history of one type, by object: its changes in the order they happened.
fn history_of(changes: &[ObjectChange], code: &str) -> HashMap<String, Vec<ObjectChange>> {
    let mut out: HashMap<String, Vec<ObjectChange>> = HashMap::new();
    for c in changes.iter().filter(|c| c.obj_code == code) {
        out.entry(c.id.clone()).or_default().push(c.clone());
    }
    out
}

/// An object's value of `field` once its last update was at `at` or earlier (null if never
/// set).
fn value_at(changes: &[ObjectChange], field: &str, at: DateTime<Utc>) -> SimValue {
    changes
        .iter()
        .rev()
        .find(|c| c.field == Some(field) && c.at <= at)
        .map_or(SimValue::Null, |c| c.value.clone())
}

fn live_sim(rate: f64, max_delay_ms: u64) -> SimHandle {
    let config = SimConfig {
        latency: Duration::from_millis(5),
        growth: Some(Growth {
            rate_per_sec: rate,
            max_delay: Duration::from_millis(max_delay_ms),
        }),
        ..sim_config()
    };
    sim_with(&generate(6000, 17), config)
}

/// Runs killed with SIGKILL at random moments while the tenant keeps changing (some updates
/// visible up to 1 s after the lastUpdateDate they carry, objects created and deleted): the
/// committed records, run by run, are exactly the simulator's state changes, each once.
#[test]
fn the_history_matches_the_simulators_state_changes_exactly_once_across_kill_9() {
    let sim = live_sim(150.0, 1000);
    let dir = tempfile::tempdir().unwrap();
    // Signed: a kill between a manifest's signature and the state's commit is an interrupted
    // run.
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "key", 2);
    let key = key.to_str().unwrap();
    // A lookback of 2 s covers the 1 s by which an update can be late; the final runs use it
    // too, so an update the lookback failed to catch would stay missing.
    let args = [
        "--lag",
        "300ms",
        "--lookback",
        LOOKBACK,
        "--detect-deletes",
        "--signing-key",
        key,
    ];
    let o = run(&mut snapshot(&sim, dir.path(), &args));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--detect-deletes had nothing to compare"),
        "{}",
        stderr(&o)
    );
    // 15 changes before each run, whatever rate the growth reaches on this machine, so the
    // history has changes and deletions to compare however fast the runs go.
    let each_run = || {
        sim.simulator.journal_now(15);
        snapshot(&sim, dir.path(), &args)
    };
    kill_at_random_moments(each_run, 20261203, 240, dir.path());
    sim.simulator.stop_growth();
    // Updates dated just before the last committed window's end, made now: late on purpose,
    // so the final runs' lookback surely has something to catch.
    let committed_to = window_end(manifests(dir.path()).last().unwrap());
    sim.simulator
        .journal_at(50, committed_to - chrono::Duration::milliseconds(1));
    std::thread::sleep(Duration::from_millis(1300));
    for _ in 0..2 {
        ok(&mut snapshot(
            &sim,
            dir.path(),
            &[
                "--lag",
                "0s",
                "--lookback",
                LOOKBACK,
                "--detect-deletes",
                "--signing-key",
                key,
            ],
        ));
    }
    ok(bin().arg("verify").arg(dir.path()));
    check_history(&sim, dir.path());
}

/// The committed records against the simulator's history (see the test above).
fn check_history(sim: &SimHandle, dir: &Path) {
    let all = manifests(dir);
    assert!(snap(&all[0]).baseline);
    assert_eq!(all[0].row_count, 0, "a baseline writes no change");
    let baseline_end = window_end(&all[0]);
    let late: u64 = all.iter().map(|m| m.late_row_count).sum();
    assert!(
        late > 0,
        "the lookback caught no late update: the test proves little"
    );
    let records = records(dir);
    let ids: HashSet<&str> = records
        .iter()
        .map(|(_, r)| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), records.len(), "a record was written twice");
    let history = history_of(&sim.simulator.object_history(), "TASK");
    let mut by_field: BTreeMap<(String, String), Vec<&Map<String, Value>>> = BTreeMap::new();
    for (_, r) in &records {
        let key = (
            r["obj_id"].as_str().unwrap().to_string(),
            r["field_name"].as_str().unwrap().to_string(),
        );
        by_field.entry(key).or_default().push(r);
    }
    let mut checked = 0;
    for ((obj, field), rs) in &by_field {
        let changes = &history[obj];
        let mut previous: Option<&Value> = None;
        for r in rs {
            let when = instant(&r["entry_date"]);
            match r["change_type"].as_str().unwrap() {
                "D" => {
                    assert!(
                        changes.iter().any(|c| c.field.is_none()),
                        "{obj} was not deleted"
                    );
                    assert!(r["new_value"].is_null());
                }
                _ => {
                    let expected = value_at(changes, field, when);
                    assert!(
                        same(&r["new_value"], &expected),
                        "{obj} {field} at {when}: {r:?}, the simulator had {expected:?}"
                    );
                    checked += 1;
                }
            }
            if let Some(p) = previous {
                assert_eq!(
                    &r["old_value"], p,
                    "{obj} {field}: a change lost or repeated"
                );
            }
            previous = Some(&r["new_value"]);
        }
    }
    assert!(
        checked > 100,
        "only {checked} changes: the test proves little"
    );
    check_final_states(sim, &history, &by_field, baseline_end);
}

/// Every object the baseline held, undisturbed around its end: its final value of each field
/// is its last record's new value, or (no record) the value it had at the baseline; every
/// such object deleted since has its deletion recorded.
fn check_final_states(
    sim: &SimHandle,
    history: &HashMap<String, Vec<ObjectChange>>,
    by_field: &BTreeMap<(String, String), Vec<&Map<String, Value>>>,
    baseline_end: DateTime<Utc>,
) {
    // Updates carry instants up to 1 s before they are made: around the cut, which run saw
    // an object first is not decided by the history alone.
    let margin = chrono::Duration::milliseconds(1100);
    let finals: HashSet<String> = sim
        .simulator
        .objects_of("TASK")
        .into_iter()
        .map(|o| o["ID"].as_str().unwrap().to_string())
        .collect();
    let (mut compared, mut deletions) = (0, 0);
    for (obj, changes) in history {
        let known = changes
            .first()
            .is_some_and(|c| c.at < baseline_end - margin)
            && !changes
                .iter()
                .any(|c| c.at > baseline_end - margin && c.at < baseline_end + margin);
        if !known {
            continue;
        }
        let deleted = changes.iter().any(|c| c.field.is_none());
        assert_eq!(deleted, !finals.contains(obj), "{obj}");
        for field in FIELDS.split(',') {
            let recorded = by_field.get(&(obj.clone(), field.to_string()));
            let before = value_at(changes, field, baseline_end);
            if deleted {
                let d = recorded.and_then(|rs| rs.iter().find(|r| r["change_type"] == "D"));
                // A field with no value leaves nothing to record as deleted. The value is what
                // the runs saw last (runs see states, not each change: one made and deleted
                // between two committed runs was never seen, however the runs were timed):
                // its last record's, or the baseline's.
                let seen = recorded
                    .and_then(|rs| rs.iter().rev().find(|r| r["change_type"] != "D"))
                    .map(|r| !r["new_value"].is_null());
                let had_value = seen.unwrap_or(before != SimValue::Null);
                assert_eq!(d.is_some(), had_value, "{obj} {field}: deletion");
                deletions += usize::from(d.is_some());
                continue;
            }
            let now = value_at(changes, field, DateTime::<Utc>::MAX_UTC);
            match recorded {
                Some(rs) => assert!(
                    same(&rs.last().unwrap()["new_value"], &now),
                    "{obj} {field}"
                ),
                None => assert_eq!(now, before, "{obj} {field} changed unrecorded"),
            }
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} compared");
    assert!(
        deletions > 0,
        "no deletion was recorded: the test proves little"
    );
}

/// For `status`, tracked by the journal: at each snapshot change, the journal's last entry
/// up to the object's lastUpdateDate has the snapshot's new value, and the first entry after
/// the previous snapshot change (or the baseline) has its old value.
#[test]
fn snapshot_and_journal_agree_on_a_tracked_field_at_run_granularity() {
    // Updates visible at once, so a journal entry's instant never follows an update the
    // snapshot saw; and only the test's own changes (no growth beside them): two writers in
    // one millisecond could edit an object on either side of a snapshot's read, the second
    // entry dated before the lastUpdateDate the snapshot saw (it moves on by at least 1 ms),
    // which made this test fail once in four runs of the whole suite under load.
    let sim = live_sim(0.0, 0);
    let (snaps, journal) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sync = |lag: &str| {
        ok(against(&sim, "sync")
            .arg("--out-dir")
            .arg(journal.path())
            .args([
                "--since",
                "2025-10-01",
                "--obj-code",
                "TASK",
                "--field",
                "status",
            ])
            .args(["--format", "ndjson", "--lag", lag, "--lookback", "5s"]));
    };
    sync("200ms");
    ok(&mut snapshot(&sim, snaps.path(), &["--lag", "200ms"]));
    for _ in 0..8 {
        // Changes between runs whatever rate the growth reaches on this machine; the sleep
        // lets the 200 ms lag pass (wall-clock time, which a slow machine only lengthens).
        sim.simulator.journal_now(40);
        std::thread::sleep(Duration::from_millis(400));
        ok(&mut snapshot(&sim, snaps.path(), &["--lag", "200ms"]));
        sync("200ms");
    }
    sim.simulator.stop_growth();
    std::thread::sleep(Duration::from_millis(300));
    ok(&mut snapshot(&sim, snaps.path(), &["--lag", "0s"]));
    sync("0s");
    let baseline_end = window_end(&manifests(snaps.path())[0]);
    let mut entries: HashMap<String, Vec<(DateTime<Utc>, Value, Value)>> = HashMap::new();
    for (_, r) in records(journal.path()) {
        let e = (
            instant(&r["entry_date"]),
            r["old_value"].clone(),
            r["new_value"].clone(),
        );
        entries
            .entry(r["obj_id"].as_str().unwrap().to_string())
            .or_default()
            .push(e);
    }
    let mut previous: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut joined = 0;
    for (_, r) in records(snaps.path()) {
        if r["field_name"] != "status" {
            continue;
        }
        if r["change_type"] != "E" {
            // Created (or deleted) since the baseline: the journal's changes that follow are
            // compared from here.
            let (obj, at) = (r["obj_id"].as_str().unwrap(), instant(&r["entry_date"]));
            previous.insert(obj.to_string(), at);
            continue;
        }
        let obj = r["obj_id"].as_str().unwrap();
        let at = instant(&r["entry_date"]);
        let since = previous.insert(obj.to_string(), at).unwrap_or(baseline_end);
        let js = &entries[obj];
        let last = js.iter().filter(|e| e.0 <= at).map(|e| e.0).max().unwrap();
        assert!(
            js.iter().any(|e| e.0 == last && e.2 == r["new_value"]),
            "{obj} at {at}: the journal's last status is not the snapshot's {}",
            r["new_value"]
        );
        let first = js
            .iter()
            .filter(|e| e.0 > since)
            .map(|e| e.0)
            .min()
            .unwrap();
        assert!(
            js.iter().any(|e| e.0 == first && e.1 == r["old_value"]),
            "{obj}: the journal's first change after {since} is not from {}",
            r["old_value"]
        );
        joined += 1;
    }
    assert!(joined > 20, "only {joined} status changes joined");
}

#[test]
fn a_field_workfront_does_not_know_is_one_line_and_leaves_nothing() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    let o = run(against(&sim, "snapshot")
        .arg("--out-dir")
        .arg(dir.path())
        .args(["--obj-code", "TASK", "--fields", "status,DE:Gone"]));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("DE:Gone") && err.contains("--fields"), "{err}");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("jrnle-") || n.starts_with("snapshot-state"))
        .collect();
    assert!(
        left.is_empty(),
        "a failed baseline leaves nothing: {left:?}"
    );
    for (args, says) in [
        (
            ["--obj-code", "task", "--fields", "status"],
            "did you mean TASK",
        ),
        (
            ["--obj-code", "TASK", "--fields", "status,,name"],
            "empty name",
        ),
        (
            ["--obj-code", "TASK", "--fields", "lastUpdateDate"],
            "leave it out",
        ),
    ] {
        let o = run(against(&sim, "snapshot")
            .arg("--out-dir")
            .arg(dir.path())
            .args(args));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
    }
}

#[test]
fn the_baseline_then_other_fields_are_refused_and_altered_state_is_found() {
    let sim = sim(&generate(600, 4));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut snapshot(&sim, dir.path(), &["--lag", "0s"]));
    let m = &manifests(dir.path())[0];
    assert!(snap(m).baseline);
    let tasks = sim.simulator.objects_of("TASK").len();
    assert_eq!(snap(m).state_objects, tasks as u64);
    assert_eq!(snap(m).objects_fetched, tasks as u64);
    std::thread::sleep(Duration::from_millis(5));
    ok(&mut snapshot(&sim, dir.path(), &["--lag", "0s"]));
    assert_eq!(records(dir.path()).len(), 0, "nothing changed");
    let o = run(against(&sim, "snapshot")
        .arg("--out-dir")
        .arg(dir.path())
        .args([
            "--obj-code",
            "TASK",
            "--fields",
            "status",
            "--format",
            "ndjson",
        ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("another --out-dir"), "{}", stderr(&o));
    ok(bin().arg("verify").arg(dir.path()));
    // What a run killed in its transaction leaves: SQLite's rollback journal. An interrupted
    // run is not altered evidence (exit 0), but verify says the state was not checked until
    // the next run rolls it back.
    let journal = dir.path().join("snapshot-state.sqlite-journal");
    std::fs::write(&journal, [0u8; 512]).unwrap();
    let o = run(bin().arg("verify").arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("interrupted run")
            && stderr(&o).contains("transaction unfinished")
            && stderr(&o).contains("checked as rolled back"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("left by an interrupted run"),
        "{}",
        stdout(&o)
    );
    std::thread::sleep(Duration::from_millis(5));
    ok(&mut snapshot(&sim, dir.path(), &["--lag", "0s"]));
    ok(bin().arg("verify").arg(dir.path()));
    // Changes after the baseline, for the report's timeline.
    sim.simulator.edit_oldest("TASK", 20);
    std::thread::sleep(Duration::from_millis(5));
    ok(&mut snapshot(&sim, dir.path(), &["--lag", "0s"]));
    // The report says what a snapshot is and what it cannot show, not the journal's caveats.
    let out = tempfile::tempdir().unwrap();
    let html = out.path().join("report.html");
    ok(bin().arg("report").arg(dir.path()).arg("-o").arg(&html));
    let text = without_marks(&std::fs::read_to_string(&html).unwrap());
    assert!(text.contains("snapshot out-dir"), "{text}");
    // The history starts where the baseline ended, not at the baseline's open start (1970),
    // which made thousands of "weeks without entries".
    let chart = text
        .split("Changes per ")
        .nth(1)
        .map(|t| t.split(';').next().unwrap_or_default())
        .expect("a time chart");
    assert!(
        !chart.contains("1970"),
        "the report counts from 1970: {chart}"
    );
    assert!(text.contains("only the last is named"));
    assert!(!text.contains("Workfront journals only tracked fields"));
    let db = rusqlite::Connection::open(dir.path().join("snapshot-state.sqlite")).unwrap();
    db.execute(
        "UPDATE objects SET fields = '{}' WHERE id = (SELECT min(id) FROM objects)",
        [],
    )
    .unwrap();
    drop(db);
    let o = run(bin().arg("verify").arg(dir.path()));
    assert_eq!(o.status.code(), Some(5));
    assert!(
        stderr(&o).contains("the state was altered"),
        "{}",
        stderr(&o)
    );
}

/// The `TASK` requests in the simulator's log since `from`: `(counts, pages)`.
fn task_requests(sim: &SimHandle, from: usize) -> (usize, usize) {
    let log = sim.simulator.request_log();
    let of = |action: &str| {
        log[from..]
            .iter()
            .filter(|l| l.contains(&format!("/TASK/{action}?")))
            .count()
    };
    (of("count"), of("search"))
}

/// A run costs what the objects updated since the last one need, not a scan of the tenant:
/// the baseline of 20,000 tasks is one count and its pages; a run after 5,000 of them were
/// edited (at one millisecond, as a bulk edit) is one count and the 3 pages of those 5,000.
#[test]
fn a_run_costs_the_pages_of_the_objects_updated_not_a_full_scan() {
    let config = SimConfig {
        extra_tasks: 20_000,
        ..sim_config()
    };
    let sim = sim_with(&generate(30, 8), config);
    let tasks = sim.simulator.objects_of("TASK").len();
    assert!(tasks > 20_000);
    let dir = tempfile::tempdir().unwrap();
    let args = ["--lag", "0s", "--lookback", "0s"];
    ok(&mut snapshot(&sim, dir.path(), &args));
    // Pages overlap by one object (see workfront::paging): ceil((n - 1) / 1999) of them.
    let pages = |n: usize| (n - 1).div_ceil(1999);
    assert_eq!(task_requests(&sim, 0), (1, pages(tasks)));
    let m = &manifests(dir.path())[0];
    assert_eq!(snap(m).state_objects, tasks as u64);
    sim.simulator.edit_oldest("TASK", 5_000);
    std::thread::sleep(Duration::from_millis(5));
    let before = sim.simulator.request_log().len();
    ok(&mut snapshot(&sim, dir.path(), &args));
    assert_eq!(task_requests(&sim, before), (1, 3));
    let m = &manifests(dir.path())[1];
    assert_eq!(snap(m).objects_fetched, 5_000);
    // Each edit changed one untracked field, two of whose three are compared.
    assert_eq!(m.row_count, snap(m).objects_changed);
    assert!(m.row_count > 3_000, "{m:?}");
    ok(bin().arg("verify").arg(dir.path()));
}

/// SIGTERM in the middle of a baseline: exit 143 with one line, no data file or manifest
/// left; the next run starts the baseline again on a state the interrupted one left as it was.
#[test]
fn a_signal_leaves_nothing_committed_and_the_next_run_starts_clean() {
    let config = SimConfig {
        extra_tasks: 8_000,
        ..sim_config()
    };
    let sim = sim_with(&generate(30, 6), config);
    let dir = tempfile::tempdir().unwrap();
    // Three answers go, so the baseline is under way; the fourth waits until the signal has
    // landed, so the run cannot have finished before it.
    sim.simulator.hold_answers();
    sim.simulator.let_through(3);
    let child = snapshot(&sim, dir.path(), &["--lag", "0s", "--max-concurrency", "1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("a fourth request, held", || {
        sim.simulator.request_log().len() > 3 && sim.simulator.answers_held() > 0
    });
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    sim.simulator.release_answers();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(err.contains("interrupted by SIGTERM"), "{err}");
    let committed = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("jrnle-"))
        .count();
    assert_eq!(committed, 0, "nothing of an interrupted run stays");
    // Until the next run rolls the unfinished transaction back, verify says so rather than
    // read a database file that may hold uncommitted pages.
    let journal = dir.path().join("snapshot-state.sqlite-journal");
    let o = run(bin().arg("verify").arg(dir.path()));
    if std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0) {
        assert_eq!(o.status.code(), Some(5));
        assert!(
            stderr(&o).contains("transaction unfinished"),
            "{}",
            stderr(&o)
        );
    } else {
        assert!(!stderr(&o).contains("snapshot-state"), "{}", stderr(&o));
    }
    ok(&mut snapshot(&sim, dir.path(), &["--lag", "0s"]));
    assert!(!journal.exists() || std::fs::metadata(&journal).unwrap().len() == 0);
    let m = &manifests(dir.path())[0];
    assert!(snap(m).baseline);
    assert_eq!(snap(m).state_objects, snap(m).objects_fetched);
    ok(bin().arg("verify").arg(dir.path()));
}

/// Faults of every kind on 40 % of the requests: the baseline and a run after a bulk edit
/// record the same changes as against a fault-free tenant, with --detect-deletes' scan too.
#[test]
fn faults_are_retried_and_change_nothing_recorded() {
    use jrnle_audit::simulator::faults::FaultConfig;
    let changes = |faults: FaultConfig| {
        let config = SimConfig {
            extra_tasks: 10_000,
            seed: 9,
            faults,
            ..sim_config()
        };
        let sim = sim_with(&generate(300, 9), config);
        let dir = tempfile::tempdir().unwrap();
        let args = [
            "--lag",
            "0s",
            "--detect-deletes",
            "--timeout",
            "1",
            "--max-retries",
            "30",
        ];
        ok(&mut snapshot(&sim, dir.path(), &args));
        sim.simulator.edit_oldest("TASK", 2_500);
        std::thread::sleep(Duration::from_millis(5));
        ok(&mut snapshot(&sim, dir.path(), &args));
        ok(bin().arg("verify").arg(dir.path()));
        let mut seen: Vec<String> = records(dir.path())
            .into_iter()
            .map(|(run, r)| {
                let cell = |k: &str| r[k].to_string();
                [
                    cell("obj_id"),
                    cell("field_name"),
                    cell("change_type"),
                    cell("old_value"),
                    cell("new_value"),
                ]
                .join(" ")
                    + &format!(" run {run}")
            })
            .collect();
        seen.sort();
        (seen, sim.simulator.faults_injected())
    };
    let (clean, _) = changes(FaultConfig::default());
    assert!(clean.len() > 1_000, "{}", clean.len());
    let (faulty, injected) = changes(FaultConfig {
        rate: 0.4,
        stall: Duration::from_secs(2),
        ..FaultConfig::default()
    });
    assert!(
        injected > 3,
        "only {injected} faults: the test proves little"
    );
    assert_eq!(faulty, clean);
}

/// A baseline of windows many pages long while objects are edited all the time: an edited
/// object leaves its window, so every later offset moves down while the pages are read. The
/// baseline still completes, and holds every object that was not edited since it began.
#[test]
fn a_baseline_of_many_pages_completes_while_objects_keep_moving() {
    let config = SimConfig {
        latency: Duration::from_millis(20),
        extra_tasks: 30_000,
        growth: Some(Growth {
            rate_per_sec: 200.0,
            max_delay: Duration::from_millis(0),
        }),
        ..sim_config()
    };
    let sim = sim_with(&generate(30, 12), config);
    let dir = tempfile::tempdir().unwrap();
    let began = chrono::Utc::now();
    // Once the first page is read, the next pages' answers wait while 300 changes are made:
    // objects surely move while the pages are read, however fast the baseline would be.
    let pages = |sim: &SimHandle| task_requests(sim, 0).1;
    sim.simulator
        .hold_answers_where(|request| request.contains("/TASK/search?"));
    sim.simulator.let_through(1);
    let child = snapshot(&sim, dir.path(), &["--lag", "0s", "--max-concurrency", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the first page read and the next held", || {
        let held = sim.simulator.answers_held();
        pages(&sim) >= 2 && held > 0 && sim.simulator.in_flight() == held
    });
    sim.simulator.journal_now(300);
    sim.simulator.release_answers();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    sim.simulator.stop_growth();
    let history = history_of(&sim.simulator.object_history(), "TASK");
    let db = rusqlite::Connection::open(dir.path().join("snapshot-state.sqlite")).unwrap();
    let stored: HashSet<String> = db
        .prepare("SELECT id FROM objects")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut still = 0;
    for o in sim.simulator.objects_of("TASK") {
        let id = o["ID"].as_str().unwrap();
        let updated = o["lastUpdateDate"].as_str().unwrap();
        let updated = jrnle_audit::model::date::parse_timestamp(updated)
            .unwrap()
            .with_timezone(&Utc);
        // Not updated since the baseline began: it was in its window all along.
        if updated < began - chrono::Duration::seconds(1) {
            assert!(
                stored.contains(id),
                "{id} was not updated and is not in the baseline"
            );
            still += 1;
        }
    }
    assert!(still > 25_000, "{still}");
    let edited = history
        .values()
        .filter(|cs| cs.iter().any(|c| c.at >= began))
        .count();
    assert!(
        edited > 20,
        "only {edited} objects moved during the baseline: the test proves little"
    );
}

/// `--since` limits the baseline to the objects updated since; a baseline that finds none
/// says so.
#[test]
fn since_limits_the_baseline_and_an_empty_one_is_said() {
    let config = SimConfig {
        extra_tasks: 2_000,
        ..sim_config()
    };
    let sim = sim_with(&generate(30, 13), config);
    let updated: Vec<DateTime<Utc>> = sim
        .simulator
        .objects_of("TASK")
        .iter()
        .map(|o| {
            jrnle_audit::model::date::parse_timestamp(o["lastUpdateDate"].as_str().unwrap())
                .unwrap()
                .with_timezone(&Utc)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let days = chrono::Duration::days(60);
    let before = Utc::now();
    ok(&mut snapshot(
        &sim,
        dir.path(),
        &["--lag", "0s", "--since", "60d"],
    ));
    let after = Utc::now();
    let stored = snap(&manifests(dir.path())[0]).state_objects as usize;
    let surely = updated.iter().filter(|d| **d >= after - days).count();
    let maybe = updated.iter().filter(|d| **d >= before - days).count();
    assert!(surely > 100 && surely < updated.len() / 2, "{surely}");
    assert!(
        (surely..=maybe).contains(&stored),
        "{surely} <= {stored} <= {maybe}"
    );
    let empty = tempfile::tempdir().unwrap();
    let o = run(&mut snapshot(
        &sim,
        empty.path(),
        &["--lag", "0s", "--since", "1m"],
    ));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the baseline found no TASK objects"),
        "{}",
        stderr(&o)
    );
}

/// A run killed after its commit but before its manifest file was written: the manifest is
/// in the state database, and the next run writes it (the same bytes) before going on.
#[test]
fn the_next_run_writes_the_manifest_a_killed_run_committed() {
    let config = SimConfig {
        extra_tasks: 500,
        ..sim_config()
    };
    let sim = sim_with(&generate(30, 14), config);
    let dir = tempfile::tempdir().unwrap();
    ok(&mut snapshot(&sim, dir.path(), &["--lag", "0s"]));
    sim.simulator.edit_oldest("TASK", 50);
    std::thread::sleep(Duration::from_millis(5));
    ok(&mut snapshot(&sim, dir.path(), &["--lag", "0s"]));
    let newest = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .max()
        .unwrap();
    let bytes = std::fs::read(&newest).unwrap();
    std::fs::remove_file(&newest).unwrap();
    // Before the next run: an interrupted run, not altered evidence (its data file and its
    // commit both said so).
    let o = run(bin().arg("verify").arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("interrupted before writing its file")
            && stderr(&o).contains("interrupted before its manifest was written"),
        "{}",
        stderr(&o)
    );
    std::thread::sleep(Duration::from_millis(5));
    let o = run(&mut snapshot(&sim, dir.path(), &["--lag", "0s"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("interrupted just after its commit"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&newest).unwrap(), bytes);
    assert_eq!(manifests(dir.path()).len(), 3);
    ok(bin().arg("verify").arg(dir.path()));
}

/// A state database that is damaged or is not a database at all is evidence not intact: exit
/// 5 from snapshot and from verify (it was exit 1, as an I/O error).
#[test]
fn a_damaged_state_database_is_exit_5_everywhere() {
    let sim = sim(&generate(30, 14));
    for damage in [
        |path: &Path| {
            // Pages overwritten past the header.
            let mut bytes = std::fs::read(path).unwrap();
            let end = bytes.len().min(4096);
            for b in &mut bytes[100..end] {
                *b = 0x5a;
            }
            std::fs::write(path, bytes).unwrap();
        },
        |path: &Path| std::fs::write(path, "not a database at all").unwrap(),
    ] {
        let dir = tempfile::tempdir().unwrap();
        ok(&mut snapshot(&sim, dir.path(), &["--lag", "0s"]));
        damage(&dir.path().join("snapshot-state.sqlite"));
        let o = run(&mut snapshot(&sim, dir.path(), &["--lag", "0s"]));
        assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
        assert!(stderr(&o).contains("damaged or replaced"), "{}", stderr(&o));
        let o = run(bin().arg("verify").arg(dir.path()));
        assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    }
}
