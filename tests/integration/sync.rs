//! `sync` and `verify`: exactly-once delivery across runs, crashes and lost state; every kind
//! of tampering caught.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jrnle_audit::evidence::manifest::{Manifest, sha256_hex};
use jrnle_audit::simulator::generate::generate;
use jrnle_audit::simulator::{Growth, SimConfig, SimHandle};

use crate::util::*;

const SINCE: &str = "2025-10-01";

fn sync(sim: &SimHandle, dir: &Path) -> std::process::Command {
    let mut cmd = against(sim, "sync");
    cmd.arg("--out-dir")
        .arg(dir)
        .args(["--since", SINCE, "--format", "ndjson", "--lag", "0s"]);
    cmd
}

/// Every id in the committed data files, with how often it occurs.
fn committed_ids(dir: &Path) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".ndjson") {
            continue;
        }
        assert!(
            dir.join(format!("{name}.manifest.json")).exists(),
            "{name} has no manifest: an uncommitted file survived"
        );
        for row in ndjson_rows(&fs::read_to_string(&path).unwrap()) {
            *ids.entry(row["id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    ids
}

/// The manifests of `dir`, in chain order, parsed as the crate's own type.
fn manifests(dir: &Path) -> Vec<Manifest> {
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| serde_json::from_slice(&fs::read(p).unwrap()).unwrap())
        .collect()
}

fn verify(dir: &Path) -> std::process::Output {
    run(bin().arg("verify").arg(dir))
}

#[test]
fn the_first_run_needs_since_and_sync_takes_no_until() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    let o = run(against(&sim, "sync").arg("--out-dir").arg(dir.path()));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the first sync needs --since"),
        "{}",
        stderr(&o)
    );
    let o = run(sync(&sim, dir.path()).args(["--until", "2026-01-01"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no --until"));
    let o = run(against(&sim, "sync")
        .arg("--out-dir")
        .arg(dir.path())
        .args(["--since", SINCE, "--lag", "soon"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--lag \"soon\" is not a duration"));
}

#[test]
fn runs_deliver_every_entry_once_and_an_empty_window_is_still_evidence() {
    let records = generate(3000, 12);
    let sim = sim(&records);
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    ok(&mut sync(&sim, dir.path()));
    let ids = committed_ids(dir.path());
    assert_eq!(ids.len(), 3000);
    assert!(ids.values().all(|n| *n == 1));
    let m = manifests(dir.path());
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].row_count, 3000);
    assert_eq!(m[0].server_count, Some(3000));
    assert_eq!(m[1].row_count, 0, "the second window is empty");
    assert_eq!(m[1].window.from, m[0].window.to);
    assert_eq!(m[0].window.from, "2025-10-01T00:00:00.000Z");
    assert_eq!(m[0].previous_manifest_sha256, None);
    assert!(m[1].previous_manifest_sha256.is_some());
    assert_eq!(m[0].query.tenant_url, sim.url.as_str());
    let o = verify(dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("intact: 2 manifests, 3,000 entries"),
        "{}",
        stdout(&o)
    );
    // Then what is unsigned, and the head to record elsewhere.
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{}", stdout(&o));
    assert_eq!(lines[1], "unsigned: 2 of 2 manifests");
    assert!(lines[2].starts_with("head: "), "{}", lines[2]);
}

#[test]
fn filters_and_format_are_fixed_unless_a_new_series_is_asked_for() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    let o = run(sync(&sim, dir.path()).args(["--field", "status"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--field was [], now [\"status\"]"),
        "{}",
        stderr(&o)
    );
    let o = run(sync(&sim, dir.path()).args(["--format", "csv"]));
    assert_eq!(o.status.code(), Some(2));
    // The order of repeated flags does not matter.
    let d2 = tempfile::tempdir().unwrap();
    ok(sync(&sim, d2.path()).args(["--obj-code", "TASK", "--obj-code", "PROJ"]));
    ok(sync(&sim, d2.path()).args(["--obj-code", "PROJ", "--obj-code", "TASK"]));
    ok(sync(&sim, dir.path()).args(["--field", "status", "--new-series"]));
    assert_eq!(
        manifests(dir.path())[1]
            .query
            .fields
            .first()
            .map(String::as_str),
        Some("status")
    );
    assert_eq!(verify(dir.path()).status.code(), Some(0));
}

#[test]
fn a_second_run_on_the_same_out_dir_is_refused_while_one_runs() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path()).unwrap();
    let lock = fs::File::create(dir.path().join(".jrnle-sync.lock")).unwrap();
    lock.lock().unwrap();
    let o = run(&mut sync(&sim, dir.path()));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("another sync, listen or snapshot is running"),
        "{}",
        stderr(&o)
    );
    assert_eq!(manifests(dir.path()).len(), 0);
    drop(lock);
    ok(&mut sync(&sim, dir.path()));
}

#[test]
fn a_lost_state_file_is_recovered_and_a_stale_one_is_caught_up() {
    let sim = sim(&generate(500, 2));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".jrnle-sync-state.json");
    ok(&mut sync(&sim, dir.path()));
    let first_state = fs::read(&state).unwrap();
    fs::remove_file(&state).unwrap();
    let o = run(&mut sync(&sim, dir.path()));
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("no state file: continuing from the newest manifest"));
    // A state file one commit behind (a crash between the manifest and the state).
    ok(&mut sync(&sim, dir.path()));
    fs::write(&state, &first_state).unwrap_or_else(|_| unreachable!());
    let o = run(&mut sync(&sim, dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(committed_ids(dir.path()).len(), 500);
    assert_eq!(verify(dir.path()).status.code(), Some(0));
}

#[test]
fn a_state_file_naming_a_removed_manifest_stops_the_run() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    ok(&mut sync(&sim, dir.path()));
    let newest = newest_pair(dir.path());
    for f in &newest {
        fs::remove_file(f).unwrap();
    }
    let o = run(&mut sync(&sim, dir.path()));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("missing or altered"), "{}", stderr(&o));
}

#[test]
fn leftovers_of_an_interrupted_run_are_cleaned_up() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    let watermark = manifests(dir.path())[0].window.to.replace(['-', ':'], "");
    let orphan = dir
        .path()
        .join(format!("jrnle-{watermark}-29991231T000000.000Z.ndjson"));
    fs::write(&orphan, "{\"id\":\"x\"}\n").unwrap();
    fs::write(dir.path().join("half.ndjson.manifest.json.partial"), "{").unwrap();
    let o = run(&mut sync(&sim, dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!orphan.exists());
    assert!(
        !dir.path()
            .join("half.ndjson.manifest.json.partial")
            .exists()
    );
    assert_eq!(verify(dir.path()).status.code(), Some(0));
}

fn newest_pair(dir: &Path) -> [PathBuf; 2] {
    let m = manifests(dir);
    let name = m.last().unwrap().data_file.name.clone();
    [dir.join(&name), dir.join(format!("{name}.manifest.json"))]
}

/// Runs killed with SIGKILL at random moments while the tenant keeps journaling, some entries
/// visible only up to 2 s after the instant they carry: afterwards the committed files hold
/// every entry exactly once.
#[test]
fn runs_killed_at_random_moments_lose_and_duplicate_nothing() {
    let config = SimConfig {
        latency: Duration::from_millis(15),
        growth: Some(Growth {
            rate_per_sec: 150.0,
            max_delay: Duration::from_secs(2),
        }),
        ..sim_config()
    };
    let sim = sim_with(&generate(3000, 77), config);
    let dir = tempfile::tempdir().unwrap();
    // Signed: a kill between a manifest's signature and the manifest is an interrupted run.
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "key", 1);
    // 5 entries before each run, whatever rate the growth reaches on this machine.
    let run_once = || {
        sim.simulator.journal_now(5);
        let mut cmd = against(&sim, "sync");
        cmd.arg("--signing-key")
            .arg(&key)
            .arg("--out-dir")
            .arg(dir.path())
            .args(["--since", SINCE, "--format", "ndjson", "--lag", "300ms"])
            .args(["--lookback", "1m"]);
        cmd
    };
    kill_at_random_moments(run_once, 20261128, 400, dir.path());
    sim.simulator.stop_growth();
    // Entries dated just before the last committed window's end, journaled now: late on
    // purpose, so the final runs' lookback surely has something to catch.
    let committed_to: chrono::DateTime<chrono::Utc> = manifests(dir.path())
        .last()
        .unwrap()
        .window
        .to
        .parse()
        .unwrap();
    sim.simulator
        .journal_at(5, committed_to - chrono::Duration::milliseconds(1));
    // Every entry is visible 2 s after its instant; then two clean runs catch up.
    std::thread::sleep(Duration::from_millis(2300));
    for _ in 0..2 {
        ok(against(&sim, "sync")
            .arg("--signing-key")
            .arg(&key)
            .arg("--out-dir")
            .arg(dir.path())
            .args([
                "--since",
                SINCE,
                "--format",
                "ndjson",
                "--lag",
                "0s",
                "--lookback",
                "1m",
            ]));
    }
    let committed = committed_ids(dir.path());
    let twice: Vec<_> = committed.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let last_to = manifests(dir.path()).last().unwrap().window.to.clone();
    let until: chrono::DateTime<chrono::Utc> = last_to.parse().unwrap();
    let since: chrono::DateTime<chrono::Utc> = "2025-10-01T00:00:00Z".parse().unwrap();
    let expected: HashSet<String> = sim
        .simulator
        .entries_snapshot()
        .into_iter()
        .filter(|(_, when)| when.is_some_and(|w| w >= since && w < until))
        .map(|(id, _)| id)
        .collect();
    let got: HashSet<String> = committed.into_keys().collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "{} entries lost: {missing:?}",
        missing.len()
    );
    assert!(extra.is_empty(), "unexpected entries: {extra:?}");
    assert!(expected.len() > 3000, "the tenant grew during the runs");
    let late: u64 = manifests(dir.path()).iter().map(|m| m.late_row_count).sum();
    assert!(
        late > 0,
        "no entry arrived late: the lookback was not exercised: {:?}",
        manifests(dir.path())
            .iter()
            .map(|m| (m.window.from.clone(), m.row_count))
            .collect::<Vec<_>>()
    );
    let o = verify(dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// An out-dir of four committed runs, to tamper with.
fn evidence() -> (tempfile::TempDir, Vec<String>) {
    let (dir, names, _) = evidence_and_its_tenant();
    (dir, names)
}

/// Four committed runs, and the simulator they came from (to sync again).
fn evidence_and_its_tenant() -> (tempfile::TempDir, Vec<String>, SimHandle) {
    let sim = sim(&generate(800, 5));
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..4 {
        ok(&mut sync(&sim, dir.path()));
        std::thread::sleep(Duration::from_millis(3));
    }
    let names: Vec<String> = manifests(dir.path())
        .iter()
        .map(|m| m.data_file.name.clone())
        .collect();
    assert_eq!(names.len(), 4);
    assert_eq!(verify(dir.path()).status.code(), Some(0));
    (dir, names, sim)
}

fn assert_caught(dir: &Path, needle: &str) {
    let o = verify(dir);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn verify_catches_one_changed_byte() {
    let (dir, names) = evidence();
    let path = dir.path().join(&names[0]);
    let mut bytes = fs::read(&path).unwrap();
    bytes[100] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    assert_caught(dir.path(), "SHA-256 does not match its manifest");
}

#[test]
fn verify_catches_a_removed_data_file() {
    let (dir, names) = evidence();
    fs::remove_file(dir.path().join(&names[1])).unwrap();
    assert_caught(dir.path(), &format!("{}: missing", names[1]));
}

#[test]
fn verify_catches_a_removed_manifest() {
    let (dir, names) = evidence();
    fs::remove_file(dir.path().join(format!("{}.manifest.json", names[1]))).unwrap();
    assert_caught(dir.path(), "chain broken");
    assert_caught(
        dir.path(),
        &format!("{}: not part of any manifest", names[1]),
    );
}

#[test]
fn verify_catches_the_newest_files_removed() {
    let (dir, _) = evidence();
    for f in newest_pair(dir.path()) {
        fs::remove_file(f).unwrap();
    }
    assert_caught(
        dir.path(),
        "the newest committed files were removed or edited",
    );
}

#[test]
fn verify_catches_swapped_files() {
    let (dir, names) = evidence();
    let (a, b) = (dir.path().join(&names[0]), dir.path().join(&names[2]));
    let tmp = dir.path().join("swap.tmp");
    fs::rename(&a, &tmp).unwrap();
    fs::rename(&b, &a).unwrap();
    fs::rename(&tmp, &b).unwrap();
    assert_caught(dir.path(), &format!("{}: SHA-256 does not match", names[0]));
    assert_caught(dir.path(), &format!("{}: SHA-256 does not match", names[2]));
}

#[test]
fn verify_catches_a_file_added_by_hand() {
    let (dir, _) = evidence();
    fs::write(
        dir.path()
            .join("jrnle-20251231T000000.000Z-20260101T000000.000Z.ndjson"),
        "{}\n",
    )
    .unwrap();
    assert_caught(dir.path(), "not part of any manifest (added by hand?)");
}

#[test]
fn verify_catches_an_edited_manifest() {
    let (dir, names) = evidence();
    let path = dir.path().join(format!("{}.manifest.json", names[1]));
    let text = fs::read_to_string(&path).unwrap();
    let edited = text.replacen("\"row_count\": ", "\"row_count\": 1", 1);
    assert_ne!(text, edited);
    fs::write(&path, edited).unwrap();
    assert_caught(
        dir.path(),
        &format!("chain broken after {}.manifest.json", names[1]),
    );
}

#[test]
fn verify_finds_no_series_in_an_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let o = verify(dir.path());
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("no series in"), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "no \"intact\" line");
    // A directory that is not an out-dir: its files belong to no manifest.
    fs::write(dir.path().join("notes.txt"), "x").unwrap();
    assert_caught(dir.path(), "notes.txt: not part of any manifest");
    // A state file named but missing is said, not skipped.
    let o = run(bin()
        .arg("verify")
        .arg(dir.path())
        .args(["--state", "/nonexistent-dir-jrnle/state.json"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
}

#[test]
fn verify_quiet_still_prints_every_finding() {
    let (dir, names) = evidence();
    fs::remove_file(dir.path().join(&names[0])).unwrap();
    let o = run(bin().args(["verify", "-q"]).arg(dir.path()));
    assert_eq!(o.status.code(), Some(5));
    let err = stderr(&o);
    assert!(err.contains(&format!("{}: missing", names[0])), "{err}");
}

/// Change one character of a committed NDJSON file inside a value, so it still parses.
fn edit_a_value(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    let at = text.find("\"obj_code\":\"").expect("a row") + "\"obj_code\":\"".len();
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'X' { b'Y' } else { b'X' };
    fs::write(path, bytes).unwrap();
}

/// A sync on this evidence is refused with exit 5, naming `needle`, and appends nothing.
fn assert_sync_refused(sim: &SimHandle, dir: &Path, extra: &[&str], needle: &str) {
    let before = fs::read_dir(dir).unwrap().count();
    let o = run(sync(sim, dir).args(extra));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
    assert!(err.contains("nothing was appended"), "{err}");
    assert_eq!(
        fs::read_dir(dir).unwrap().count(),
        before,
        "nothing appended"
    );
}

#[test]
fn sync_refuses_to_append_to_an_edited_newest_data_file() {
    let (dir, names, sim) = evidence_and_its_tenant();
    // The newest window may hold no entry: a forged row is added to it.
    let newest = dir.path().join(&names[3]);
    let mut text = fs::read_to_string(&newest).unwrap();
    text.push_str("{\"id\":\"forged\"}\n");
    fs::write(&newest, text).unwrap();
    assert_sync_refused(&sim, dir.path(), &[], "SHA-256 does not match its manifest");
}

#[test]
fn sync_refuses_to_append_after_a_middle_manifest_was_removed() {
    let (dir, names, sim) = evidence_and_its_tenant();
    fs::remove_file(dir.path().join(format!("{}.manifest.json", names[1]))).unwrap();
    assert_sync_refused(&sim, dir.path(), &[], "chain broken");
}

#[test]
fn sync_refuses_an_edited_oldest_data_file_with_or_without_verify_all() {
    let (dir, names, sim) = evidence_and_its_tenant();
    edit_a_value(&dir.path().join(&names[0]));
    assert_sync_refused(
        &sim,
        dir.path(),
        &["--verify-all"],
        &format!("{}: SHA-256 does not match its manifest", names[0]),
    );
    // Without it too: every run checks what `verify` checks.
    assert_sync_refused(
        &sim,
        dir.path(),
        &[],
        &format!("{}: SHA-256 does not match its manifest", names[0]),
    );
    assert_caught(dir.path(), &names[0]);
}

#[test]
fn a_new_series_delivers_its_filters_history_from_since() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    // Without --since there is nowhere to start the new series.
    let o = run(against(&sim, "sync")
        .arg("--out-dir")
        .arg(dir.path())
        .args([
            "--lag",
            "0s",
            "--format",
            "ndjson",
            "--field",
            "status",
            "--new-series",
        ]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("needs --since"), "{}", stderr(&o));
    ok(sync(&sim, dir.path()).args(["--field", "status", "--new-series"]));
    let m = manifests(dir.path());
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].series, 1);
    // The file itself: the first series' manifests are written as before, without the key
    // (the typed `series` defaults to 1 when it is absent, so only the JSON can tell).
    let first: serde_json::Value = serde_json::from_slice(
        &fs::read(
            dir.path()
                .join(format!("{}.manifest.json", m[0].data_file.name)),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        first.get("series"),
        None,
        "the first series' manifests are unchanged"
    );
    assert_eq!(m[1].series, 2);
    assert_eq!(
        m[1].window.from, "2025-10-01T00:00:00.000Z",
        "starts at --since"
    );
    let name = m[1].data_file.name.as_str();
    assert!(
        name.starts_with("jrnle-s002-20251001T000000.000Z-"),
        "{name}"
    );
    // Every status entry since --since, not only those after the first series' watermark.
    let expected = ok(against(&sim, "count").args(["--field", "status", "--since", SINCE]));
    let rows = ndjson_rows(&fs::read_to_string(dir.path().join(name)).unwrap());
    assert!(!rows.is_empty());
    assert_eq!(rows.len().to_string(), expected.trim());
    assert!(rows.iter().all(|r| r["field_name"] == "status"));
    // The series continues from its own watermark; verify says what it holds.
    ok(sync(&sim, dir.path()).args(["--field", "status"]));
    let o = verify(dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("in 2 series, the newest covering [2025-10-01T00:00:00.000Z"),
        "{}",
        stdout(&o)
    );
}

/// Rewrite the newest manifest's `written_at` and keep the state file in step with it, as
/// someone who can write the out-dir could: the chain and the files stay consistent.
fn redate_newest_manifest(dir: &Path, written_at: &str) {
    let [_, manifest] = newest_pair(dir);
    let mut m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&manifest).unwrap()).unwrap();
    m["written_at"] = written_at.into();
    let bytes = serde_json::to_vec_pretty(&m).unwrap();
    fs::write(&manifest, &bytes).unwrap();
    let state = dir.join(".jrnle-sync-state.json");
    let mut s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
    s["last_manifest_sha256"] = sha256_hex(&bytes).into();
    fs::write(&state, serde_json::to_vec_pretty(&s).unwrap()).unwrap();
}

#[test]
fn a_manifest_dated_in_the_future_or_before_its_window_ends_is_caught_and_stops_sync() {
    for (written_at, needle) in [
        ("2099-01-01T00:00:00.000Z", "later than now"),
        ("2000-01-01T00:00:00.000Z", "after it was written"),
    ] {
        let (dir, _, sim) = evidence_and_its_tenant();
        redate_newest_manifest(dir.path(), written_at);
        assert_caught(dir.path(), needle);
        assert_sync_refused(&sim, dir.path(), &[], needle);
    }
}

/// What a kill between a data file's rename and its manifest leaves: verify says an
/// interrupted run left it (exit 0, not altered evidence), and the next run removes it and
/// delivers that window again.
#[test]
fn a_run_killed_before_its_manifest_is_an_interrupted_run_not_tampering() {
    let (dir, names, sim) = evidence_and_its_tenant();
    let before: usize = committed_ids(dir.path()).values().sum();
    // The newest run, as a kill just before its manifest leaves it: the data file in place,
    // no manifest, the state file still at the run before.
    let [_, manifest] = newest_pair(dir.path());
    let previous_state = {
        let m = manifests(dir.path());
        let third = dir.path().join(format!("{}.manifest.json", names[2]));
        let bytes = fs::read(&third).unwrap();
        assert_eq!(m.len(), 4);
        (format!("{}.manifest.json", names[2]), sha256_hex(&bytes))
    };
    fs::remove_file(&manifest).unwrap();
    let state = dir.path().join(".jrnle-sync-state.json");
    let mut s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
    s["last_manifest"] = previous_state.0.into();
    s["last_manifest_sha256"] = previous_state.1.into();
    s["watermark"] = manifests(dir.path())[2].window.to.clone().into();
    fs::write(&state, serde_json::to_vec_pretty(&s).unwrap()).unwrap();
    let o = verify(dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("interrupted run: {}", names[3])),
        "{}",
        stderr(&o)
    );
    // Anything else unlisted is still altered evidence.
    fs::write(
        dir.path().join("jrnle-19990101T000000.000Z-x.ndjson"),
        "{}\n",
    )
    .unwrap();
    assert_caught(dir.path(), "added by hand");
    fs::remove_file(dir.path().join("jrnle-19990101T000000.000Z-x.ndjson")).unwrap();
    // The next run removes the leftover and delivers its window again: nothing lost or twice.
    ok(&mut sync(&sim, dir.path()));
    let o = verify(dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("interrupted"), "{}", stderr(&o));
    let after = committed_ids(dir.path());
    assert!(after.values().all(|&n| n == 1), "an entry delivered twice");
    assert!(after.values().sum::<usize>() >= before);
}

/// A first run refused (no --since; a filter that matches nothing) leaves the out-dir as it
/// found it: not created when it was missing, empty (no lock file) when it was empty.
#[test]
fn a_refused_first_run_leaves_the_out_dir_as_it_found_it() {
    let sim = sim(&demo_records());
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("audit");
    let empty = tempfile::tempdir().unwrap();
    for (extra, needle) in [
        (&[][..], "the first sync needs --since"),
        (
            &["--since", SINCE, "--field", "Staus"][..],
            "matches nothing",
        ),
    ] {
        for dir in [&missing, &empty.path().to_path_buf()] {
            let o = run(against(&sim, "sync").arg("--out-dir").arg(dir).args(extra));
            assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
            assert!(stderr(&o).contains(needle), "{}", stderr(&o));
        }
        assert!(!missing.exists(), "{needle}: the out-dir was created");
        assert_eq!(
            fs::read_dir(empty.path()).unwrap().count(),
            0,
            "{needle}: something was left in the out-dir"
        );
    }
    // A run that commits keeps them.
    ok(&mut sync(&sim, &missing));
    assert!(missing.join(".jrnle-sync.lock").exists());
}

/// An out-dir holds one kind of series: snapshot, listen or sync given another kind's out-dir
/// refuse with exit 2 before creating anything (a state database, a delivery journal).
#[test]
fn another_kinds_out_dir_is_refused_before_anything_is_created() {
    let sim = sim(&demo_records());
    let synced = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, synced.path()));
    let before = names(synced.path());
    let o = run(against(&sim, "snapshot")
        .arg("--out-dir")
        .arg(synced.path())
        .args(["--obj-code", "TASK", "--fields", "status"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("holds a series that sync wrote, not snapshot"),
        "{}",
        stderr(&o)
    );
    assert_eq!(names(synced.path()), before);
    let o = run(bin()
        .args(["listen", "--out-dir"])
        .arg(synced.path())
        .env("WORKFRONT_EVENT_TOKEN", "a-token"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("holds a series that sync wrote, not listen"),
        "{}",
        stderr(&o)
    );
    assert_eq!(names(synced.path()), before);
    // And the other way round.
    let snapped = tempfile::tempdir().unwrap();
    ok(against(&sim, "snapshot")
        .arg("--out-dir")
        .arg(snapped.path())
        .args(["--obj-code", "TASK", "--fields", "status"]));
    let before = names(snapped.path());
    let o = run(&mut sync(&sim, snapped.path()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("holds a series that snapshot wrote, not sync"),
        "{}",
        stderr(&o)
    );
    assert_eq!(names(snapped.path()), before);
}

/// A --state that cannot be written is refused before anything is created (it used to commit
/// and then fail every run with exit 1).
#[test]
fn a_state_path_that_cannot_be_written_is_refused_before_anything() {
    let sim = sim(&demo_records());
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("audit");
    for (state, needle) in [
        (
            parent.path().join("nodir").join("state.json"),
            "does not exist",
        ),
        (parent.path().to_path_buf(), "is a directory"),
    ] {
        let o = run(sync(&sim, &out).arg("--state").arg(&state));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
        assert!(!out.exists(), "the out-dir was created");
    }
}

/// A state file that does not read is evidence not as written: exit 5 from sync and verify
/// alike (sync said exit 2, as for a usage mistake).
#[test]
fn a_state_file_that_does_not_read_is_exit_5_from_sync_and_verify() {
    let (dir, _, sim) = evidence_and_its_tenant();
    fs::write(dir.path().join(".jrnle-sync-state.json"), "{garbage").unwrap();
    let o = run(&mut sync(&sim, dir.path()));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not valid"), "{}", stderr(&o));
    let o = verify(dir.path());
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
}
