//! The one verdict (issue 25): every runner refuses, with exit 5 and nothing appended, what
//! `verify` rejects, and what an interrupted run left is said, not called tampering.

use std::fs;
use std::path::Path;

use jrnle_audit::simulator::SimHandle;
use jrnle_audit::simulator::generate::generate;

use crate::util::*;

fn sync(sim: &SimHandle, dir: &Path) -> std::process::Command {
    let mut cmd = against(sim, "sync");
    cmd.arg("--out-dir").arg(dir).args([
        "--since",
        "2025-10-01",
        "--format",
        "ndjson",
        "--lag",
        "0s",
    ]);
    cmd
}

fn snapshot(sim: &SimHandle, dir: &Path) -> std::process::Command {
    let mut cmd = against(sim, "snapshot");
    cmd.arg("--out-dir").arg(dir).args([
        "--obj-code",
        "TASK",
        "--fields",
        "status",
        "--format",
        "ndjson",
        "--lag",
        "0s",
    ]);
    cmd
}

fn manifest_names(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".manifest.json"))
        .collect()
}

/// `cmd` is refused with exit 5 naming `problem`, and the out-dir keeps its manifests.
fn refused(cmd: &mut std::process::Command, dir: &Path, problem: &str) {
    let before = manifest_names(dir);
    let o = run(cmd);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains(problem), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("nothing was appended"),
        "{}",
        stderr(&o)
    );
    assert_eq!(manifest_names(dir), before, "a manifest was appended");
}

/// `verify` of `dir` fails (exit 5) naming `problem`.
fn verify_fails(dir: &Path, problem: &str) {
    let o = run(bin().arg("verify").arg(dir));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains(problem), "{}", stderr(&o));
}

#[test]
fn sync_refuses_to_append_beside_a_data_file_no_manifest_lists() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    // Not the next window's name (that is what a killed run leaves): added by hand.
    let stray = "jrnle-20190101T000000.000Z-20190102T000000.000Z.ndjson";
    fs::write(dir.path().join(stray), "{\"id\":\"forged\"}\n").unwrap();
    refused(
        &mut sync(&sim, dir.path()),
        dir.path(),
        &format!("{stray}: not part of any manifest"),
    );
}

#[test]
fn sync_refuses_an_edited_old_data_file_without_verify_all() {
    // No lookback: the oldest file is not read back for its ids, so only the verdict sees it.
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(sync(&sim, dir.path()).args(["--lookback", "0s"]));
    std::thread::sleep(std::time::Duration::from_millis(5));
    ok(sync(&sim, dir.path()).args(["--lookback", "0s"]));
    let oldest = manifest_names(dir.path())[0].replace(".manifest.json", "");
    let path = dir.path().join(&oldest);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replacen("\"E\"", "\"D\"", 1)).unwrap();
    refused(
        sync(&sim, dir.path()).args(["--lookback", "0s"]),
        dir.path(),
        &format!("{oldest}: SHA-256 does not match its manifest"),
    );
}

/// Rewrite the newest data file as `bytes` and its manifest and the state file to match, as
/// someone who rewrites evidence consistently would.
fn rewrite_newest_consistently(dir: &Path, bytes: &[u8]) {
    use sha2::{Digest, Sha256};
    let hex = |b: &[u8]| jrnle_audit::evidence::manifest::hex(&Sha256::digest(b));
    let name = manifest_names(dir).pop().unwrap();
    let mut m: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join(&name)).unwrap()).unwrap();
    let data = m["data_file"]["name"].as_str().unwrap().to_string();
    fs::write(dir.join(&data), bytes).unwrap();
    m["data_file"]["size"] = bytes.len().into();
    m["data_file"]["sha256"] = hex(bytes).into();
    let text = serde_json::to_vec_pretty(&m).unwrap();
    fs::write(dir.join(&name), &text).unwrap();
    let state = dir.join(".jrnle-sync-state.json");
    let mut s: serde_json::Value = serde_json::from_slice(&fs::read(&state).unwrap()).unwrap();
    s["last_manifest_sha256"] = hex(&text).into();
    fs::write(&state, serde_json::to_vec(&s).unwrap()).unwrap();
}

#[test]
fn a_committed_data_file_that_does_not_read_back_is_exit_5() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    rewrite_newest_consistently(dir.path(), b"{not json\n");
    // The file matches its manifest; reading its ids back fails: an evidence defect (it was
    // exit 2, a usage error).
    let o = run(&mut sync(&sim, dir.path()));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot read the committed data file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_state_file_behind_the_chain_is_an_interrupted_run_not_tampering() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    let state = dir.path().join(".jrnle-sync-state.json");
    let first = fs::read(&state).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    ok(&mut sync(&sim, dir.path()));
    // What a kill between the second run's manifest and its state file leaves.
    fs::write(&state, &first).unwrap();
    let o = run(bin().arg("verify").arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("interrupted run") && stderr(&o).contains("1 commit behind"),
        "{}",
        stderr(&o)
    );
    // A state file naming a manifest that is not there is not an interruption.
    let mut s: serde_json::Value = serde_json::from_slice(&first).unwrap();
    s["last_manifest"] =
        "jrnle-20300101T000000.000Z-20300102T000000.000Z.ndjson.manifest.json".into();
    fs::write(&state, serde_json::to_vec(&s).unwrap()).unwrap();
    let o = run(bin().arg("verify").arg(dir.path()));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
}

#[test]
fn snapshot_refuses_to_build_on_a_state_verify_calls_altered() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut snapshot(&sim, dir.path()));
    let db_path = dir.path().join("snapshot-state.sqlite");
    let fresh = fs::read(&db_path).unwrap();
    for alteration in [
        "UPDATE objects SET fields = '{\"status\":\"CPL\"}' WHERE id = (SELECT min(id) FROM objects)",
        "DELETE FROM objects WHERE id = (SELECT max(id) FROM objects)",
        "INSERT INTO objects (id, last_update, fields) VALUES ('forged', '2025-01-01T00:00:00.000Z', '{}')",
        // The running digest the next run would start from.
        "UPDATE meta SET value = zeroblob(32) WHERE key = 'digest'",
        "UPDATE meta SET value = CAST('7' AS BLOB) WHERE key = 'objects'",
    ] {
        fs::write(&db_path, &fresh).unwrap();
        let db = rusqlite::Connection::open(&db_path).unwrap();
        db.execute(alteration, []).unwrap();
        drop(db);
        let v = run(bin().arg("verify").arg(dir.path()));
        assert_eq!(v.status.code(), Some(5), "{alteration}: {}", stderr(&v));
        refused(
            &mut snapshot(&sim, dir.path()),
            dir.path(),
            "the state was altered",
        );
    }
    fs::write(&db_path, &fresh).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    ok(&mut snapshot(&sim, dir.path()));
    ok(bin().arg("verify").arg(dir.path()));
}

#[test]
fn a_report_over_damaged_evidence_is_written_marks_the_file_and_exits_5() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    std::thread::sleep(std::time::Duration::from_millis(5));
    sim.simulator.journal_now(7);
    std::thread::sleep(std::time::Duration::from_millis(5));
    ok(&mut sync(&sim, dir.path()));
    let data: Vec<String> = manifest_names(dir.path())
        .iter()
        .map(|m| m.replace(".manifest.json", ""))
        .collect();
    let rows = |name: &str| ndjson_rows(&fs::read_to_string(dir.path().join(name)).unwrap()).len();
    let (first, second) = (rows(&data[0]), rows(&data[1]));
    assert!(first > 0 && second > 0, "{first} and {second} rows");
    // One byte appended: the file no longer matches its manifest (nor parses as written).
    let mut bytes = fs::read(dir.path().join(&data[0])).unwrap();
    bytes.push(b'{');
    fs::write(dir.path().join(&data[0]), &bytes).unwrap();
    let out = tempfile::tempdir().unwrap();
    let html = out.path().join("r.html");
    let o = run(bin().args(["report", "-o"]).arg(&html).arg(dir.path()));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let page = without_marks(&fs::read_to_string(&html).expect("the report is written"));
    assert!(page.contains("id=\"verify-failed\""));
    assert_eq!(page.matches("Damaged, left out of the figures").count(), 1);
    assert!(page.contains(&data[0]));
    // What can still be read is shown: the other file's rows.
    let count = page
        .split("id=\"row-count\">")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .unwrap();
    assert_eq!(count.replace(',', ""), second.to_string());
}

/// A file outside the out-dir that a link planted in it points to; it must stay as it is.
fn planted(dir: &Path, name: &str, outside: &Path) {
    fs::write(outside, "outside, not evidence\n").unwrap();
    std::os::unix::fs::symlink(outside, dir.join(name)).unwrap();
}

fn untouched(outside: &Path) {
    assert_eq!(fs::read(outside).unwrap(), b"outside, not evidence\n");
}

#[test]
fn no_link_planted_in_an_out_dir_is_followed() {
    let sim = sim(&generate(300, 3));
    let elsewhere = tempfile::tempdir().unwrap();
    // Where a run opens evidence for writing: the lock, a snapshot's state, listen's journal.
    for (name, mut cmd) in [
        (".jrnle-sync.lock", "sync"),
        ("snapshot-state.sqlite", "snapshot"),
        ("deliveries.journal", "listen"),
    ]
    .map(|(name, runner)| {
        let dir = tempfile::tempdir().unwrap().keep();
        let cmd = match runner {
            "sync" => sync(&sim, &dir),
            "snapshot" => snapshot(&sim, &dir),
            _ => {
                let mut c = bin();
                c.args(["listen", "--bind", "127.0.0.1:0", "--out-dir"])
                    .arg(&dir)
                    .env("WORKFRONT_EVENT_TOKEN", "a-token-of-the-test");
                c
            }
        };
        ((name, dir), cmd)
    }) {
        let (name, dir) = name;
        let outside = elsewhere.path().join(format!("{name}.outside"));
        planted(&dir, name, &outside);
        let o = run(&mut cmd);
        assert_eq!(o.status.code(), Some(5), "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("{name}: a symbolic link where evidence should be")),
            "{name}: {}",
            stderr(&o)
        );
        untouched(&outside);
        fs::remove_dir_all(&dir).unwrap();
    }
    // Where verify and report read: a data file replaced by a link to a copy of itself.
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    let data = manifest_names(dir.path())[0].replace(".manifest.json", "");
    let copy = elsewhere.path().join("copy.ndjson");
    fs::rename(dir.path().join(&data), &copy).unwrap();
    std::os::unix::fs::symlink(&copy, dir.path().join(&data)).unwrap();
    verify_fails(dir.path(), "a symbolic link where evidence should be");
    let html = elsewhere.path().join("r.html");
    let o = run(bin().args(["report", "-o"]).arg(&html).arg(dir.path()));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.contains("Damaged, left out of the figures"));
    assert!(
        page.contains("id=\"row-count\">0<"),
        "the linked file was read"
    );
}

#[test]
fn what_a_run_creates_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let sim = sim(&generate(300, 3));
    let parent = tempfile::tempdir().unwrap();
    for (kind, dir) in [
        ("sync", parent.path().join("s")),
        ("snapshot", parent.path().join("p")),
    ] {
        let mut cmd = if kind == "sync" {
            sync(&sim, &dir)
        } else {
            snapshot(&sim, &dir)
        };
        ok(&mut cmd);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "{kind}: the out-dir");
        for name in names(&dir) {
            assert_eq!(mode(&dir.join(&name)), 0o600, "{kind}: {name}");
        }
    }
}

#[test]
fn an_unreadable_window_end_is_exit_5_from_every_command() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    let name = manifest_names(dir.path()).pop().unwrap();
    let path = dir.path().join(&name);
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    m["window"]["to"] = "the end of the quarter".into();
    fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    // It was exit 2 (a usage error) from sync and exit 5 from verify.
    refused(&mut sync(&sim, dir.path()), dir.path(), "unreadable window");
    verify_fails(dir.path(), "unreadable window");
}

#[test]
fn a_forged_manifest_name_in_the_state_database_writes_nothing_outside() {
    let sim = sim(&generate(300, 3));
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("out");
    ok(&mut snapshot(&sim, &dir));
    let db = rusqlite::Connection::open(dir.join("snapshot-state.sqlite")).unwrap();
    db.execute(
        "UPDATE meta SET value = CAST('../pwned' AS BLOB) WHERE key = 'manifest_name'",
        [],
    )
    .unwrap();
    db.execute(
        "UPDATE meta SET value = CAST('attacker bytes' AS BLOB) WHERE key = 'manifest'",
        [],
    )
    .unwrap();
    drop(db);
    refused(&mut snapshot(&sim, &dir), &dir, "records");
    assert!(
        !parent.path().join("pwned").exists(),
        "written outside the out-dir"
    );
}

#[test]
fn a_first_run_killed_before_its_manifest_is_interrupted_and_completed() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    // What a kill between the data file's rename and its manifest leaves on a first run.
    for name in manifest_names(dir.path()) {
        fs::remove_file(dir.path().join(name)).unwrap();
    }
    fs::remove_file(dir.path().join(".jrnle-sync-state.json")).unwrap();
    let (code, kinds) = finding_kinds(dir.path(), &[]);
    assert_eq!((code, kinds), (Some(0), vec!["interrupted".to_string()]));
    // Said as what it is: nothing committed yet, not "intact".
    let o = run(bin().arg("verify").arg(dir.path()));
    assert!(
        stdout(&o).contains("no manifest yet") && !stdout(&o).contains("intact"),
        "{}",
        stdout(&o)
    );
    ok(&mut sync(&sim, dir.path()));
    ok(bin().arg("verify").arg(dir.path()));
    assert_eq!(manifest_names(dir.path()).len(), 1);
}

#[test]
fn a_refused_run_never_removes_what_was_there() {
    let sim = sim(&generate(300, 3));
    // A snapshot database whose commit record was removed: refused, and kept as found.
    let dir = tempfile::tempdir().unwrap();
    ok(&mut snapshot(&sim, dir.path()));
    let db_path = dir.path().join("snapshot-state.sqlite");
    let db = rusqlite::Connection::open(&db_path).unwrap();
    db.execute("DELETE FROM meta WHERE key = 'manifest'", [])
        .unwrap();
    drop(db);
    let before = fs::read(&db_path).unwrap();
    let o = run(&mut snapshot(&sim, dir.path()));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(
        fs::read(&db_path).unwrap(),
        before,
        "the state database was changed"
    );
    // A directory that is no out-dir: refused as a usage mistake, its files untouched.
    let home = tempfile::tempdir().unwrap();
    fs::write(home.path().join("notes.txt"), "mine").unwrap();
    fs::write(home.path().join("movie.mkv.partial"), "downloading").unwrap();
    let o = run(&mut sync(&sim, home.path()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not an out-dir"), "{}", stderr(&o));
    assert_eq!(names(home.path()), ["movie.mkv.partial", "notes.txt"]);
}

#[test]
fn a_manifest_naming_a_file_outside_or_a_fifo_is_never_read() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    let name = manifest_names(dir.path()).pop().unwrap();
    let path = dir.path().join(&name);
    let original = fs::read(&path).unwrap();
    let mut m: serde_json::Value = serde_json::from_slice(&original).unwrap();
    m["data_file"]["name"] = "/dev/zero".into();
    fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    verify_fails(dir.path(), "not a file of the out-dir");
    // A FIFO where the data file should be: refused, not waited on.
    fs::write(&path, &original).unwrap();
    let data = dir.path().join(name.replace(".manifest.json", ""));
    fs::remove_file(&data).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&data)
            .status()
            .unwrap()
            .success()
    );
    verify_fails(dir.path(), "not a regular file");
}

#[test]
fn a_journal_planted_beside_an_edited_state_does_not_stop_the_check() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut snapshot(&sim, dir.path()));
    let db_path = dir.path().join("snapshot-state.sqlite");
    let db = rusqlite::Connection::open(&db_path).unwrap();
    db.execute(
        "UPDATE objects SET fields = '{\"status\":\"CPL\"}' WHERE id = (SELECT min(id) FROM objects)",
        [],
    )
    .unwrap();
    drop(db);
    fs::write(dir.path().join("snapshot-state.sqlite-journal"), "x").unwrap();
    let before = names(dir.path());
    verify_fails(dir.path(), "the state was altered");
    assert_eq!(names(dir.path()), before, "verify changed the out-dir");
}

#[test]
fn a_state_that_does_not_read_is_a_finding_listed_with_the_rest() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    fs::write(dir.path().join(".jrnle-sync-state.json"), "{garbage").unwrap();
    fs::write(dir.path().join("extra.txt"), "added").unwrap();
    let (code, kinds) = finding_kinds(dir.path(), &[]);
    assert_eq!(code, Some(5));
    assert!(
        kinds.iter().any(|k| k == "unreadable") && kinds.iter().any(|k| k == "unlisted"),
        "{kinds:?}"
    );
}
