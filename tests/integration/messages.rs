//! What a newcomer meets when something is off: one line saying what is wrong and how to fix
//! it, the documented exit code, nothing left behind; outputs that are devices or pipes stay
//! what they were; files holding tenant data are private.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::*;

fn entries(dir: &Path) -> usize {
    names(dir).len()
}

/// The one error line of a refused run, after checking its exit code.
fn refused(cmd: &mut Command, code: i32) -> String {
    let o = run(cmd);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].starts_with("jrnle-audit: error: "), "{err}");
    lines[0].to_string()
}

#[test]
fn a_compression_suffix_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for (name, pipe) in [
        ("out.csv.gz", "| gzip > out.csv.gz"),
        ("out.json.zst", "| zstd > out.json.zst"),
        ("OUT.NDJSON.XZ", "| xz > OUT.NDJSON.xz"),
    ] {
        let line = refused(
            bin()
                .args(["export", "--demo", "-o"])
                .arg(dir.path().join(name)),
            2,
        );
        assert!(line.contains("does not compress"), "{line}");
        assert!(line.contains(pipe), "{line}");
    }
    assert_eq!(entries(dir.path()), 0);
}

#[test]
fn output_onto_a_fifo_or_a_device_writes_in_place_and_leaves_it_what_it_was() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    // A FIFO, read by a thread while the export writes into it.
    let fifo = dir.path().join("pipe.csv");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).unwrap())
    };
    let expected = ok(bin().args(["export", "--demo", "-q"]));
    ok(bin().args(["export", "--demo", "-q", "-o"]).arg(&fifo));
    // Checked before the reader is joined: a FIFO renamed over would leave it waiting.
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(String::from_utf8(reader.join().unwrap()).unwrap(), expected);
    // A device node: a null device of our own where we may make one (root), else the
    // machine's /dev/null (which a user who is not root cannot replace, so a failure here
    // cannot harm the machine).
    let node = dir.path().join("null");
    let made = Command::new("mknod")
        .arg(&node)
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let device = if made {
        node
    } else {
        Path::new("/dev/null").to_path_buf()
    };
    for format in ["csv", "xlsx"] {
        ok(bin()
            .args(["export", "--demo", "-q", "--format", format, "-o"])
            .arg(&device));
        let meta = std::fs::metadata(&device).unwrap();
        assert!(meta.file_type().is_char_device(), "{format}: {meta:?}");
    }
    // Nothing else appeared beside them (no temporary file, no renamed copy).
    assert_eq!(entries(dir.path()), if made { 2 } else { 1 });
}

#[test]
fn output_onto_a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let line = refused(bin().args(["export", "--demo", "-o"]).arg(dir.path()), 2);
    assert!(line.contains("is a directory"), "{line}");
    assert_eq!(entries(dir.path()), 0);
}

#[test]
fn verify_says_whether_a_path_is_missing_or_not_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let line = refused(bin().arg("verify").arg(dir.path().join("nodir")), 2);
    assert!(line.contains("does not exist"), "{line}");
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let line = refused(bin().arg("verify").arg(&file), 2);
    assert!(line.contains("is not a directory"), "{line}");
}

#[test]
fn a_url_without_a_scheme_gets_a_suggestion_with_its_port() {
    let line = refused(
        bin()
            .args(["count", "--url", "localhost:8443"])
            .env("WORKFRONT_API_KEY", KEY),
        2,
    );
    assert!(
        line.contains("did you mean https://localhost:8443?"),
        "{line}"
    );
}

#[test]
fn an_impossible_date_names_the_day() {
    let line = refused(bin().args(["export", "--demo", "--since", "2025-02-30"]), 2);
    assert!(
        line.contains("February 2025 has 28 days, so there is no day 30"),
        "{line}"
    );
}

#[test]
fn a_case_slip_in_field_or_change_type_gets_the_tenants_spelling() {
    let sim = sim(&demo_records());
    for (flag, slip, right) in [("--field", "Status", "status"), ("--change-type", "e", "E")] {
        for command in ["export", "count"] {
            let o = run(against(&sim, command).args([flag, slip, "--since", "2020-01-01"]));
            assert_eq!(o.status.code(), Some(0));
            let err = stderr(&o);
            assert!(
                err.contains(&format!("did you mean {flag} {right}?")),
                "{command} {flag} {slip}: {err}"
            );
        }
    }
    // A value the tenant has in no spelling gets no suggestion.
    let o = run(against(&sim, "count").args(["--field", "Nonesuch", "--since", "2020-01-01"]));
    let err = stderr(&o);
    assert!(err.contains("no entries for --field \"Nonesuch\""), "{err}");
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn a_config_error_names_the_file_the_line_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    for (text, line_no, key, what) in [
        (
            "[profiles.acme]\nurl = \"https://acme.my.workfront.com\"\napi_version = v21\n",
            3,
            "api_version",
            "quoted",
        ),
        ("[profiles.acme]\nurl = 5\n", 2, "url", "expected a string"),
        (
            "[profiles.acme]\nurll = \"x\"\n",
            2,
            "urll",
            "unknown field",
        ),
    ] {
        std::fs::write(&config, text).unwrap();
        let line = refused(
            bin()
                .args(["count", "--profile", "acme", "--config"])
                .arg(&config),
            2,
        );
        let place = format!("{} line {line_no}, key {key}:", config.display());
        assert!(line.contains(&place), "{line}");
        assert!(line.contains(what), "{line}");
    }
}

#[test]
fn a_demo_window_that_misses_the_demo_data_says_where_the_data_is() {
    for args in [
        &["export", "--demo", "--since", "7d"][..],
        &["fields", "--demo"][..],
    ] {
        let o = run(bin().args(args));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            err.contains("holds none of the demo data"),
            "{args:?}: {err}"
        );
        assert!(err.contains("--since 2025-"), "{args:?}: {err}");
    }
    // A window over the data: no such warning, and the span is named.
    let o = run(bin().args(["export", "--demo", "--since", "2025-01-01"]));
    let err = stderr(&o);
    assert!(!err.contains("holds none"), "{err}");
    assert!(err.contains("entries from 2025-"), "{err}");
}

/// Each file directly in `dir` with its permission bits.
fn modes(dir: &Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            (e.file_name().to_string_lossy().into_owned(), mode)
        })
        .collect()
}

#[test]
fn files_holding_tenant_data_are_readable_by_their_owner_only() {
    let sim = sim(&demo_records());
    // sync and snapshot out-dirs: data files, manifests, states (the SQLite state included).
    let synced = tempfile::tempdir().unwrap();
    ok(against(&sim, "sync")
        .arg("--out-dir")
        .arg(synced.path())
        .args(["--since", "2020-01-01"]));
    let snapped = tempfile::tempdir().unwrap();
    ok(against(&sim, "snapshot")
        .arg("--out-dir")
        .arg(snapped.path())
        .args(["--obj-code", "TASK", "--fields", "status"]));
    // listen's delivery journal, created as it starts.
    let heard = tempfile::tempdir().unwrap();
    let mut listen = bin()
        .args(["listen", "--bind", "127.0.0.1:0", "--out-dir"])
        .arg(heard.path())
        .env("WORKFRONT_EVENT_TOKEN", "a-token-for-the-mode-test")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    listening_on(&mut listen);
    let journal = heard.path().join(jrnle_audit::evidence::JOURNAL_FILE);
    wait_until("the delivery journal", || journal.exists());
    let listened = modes(heard.path());
    let _ = listen.kill();
    let _ = listen.wait();
    let mut all = modes(synced.path());
    all.extend(modes(snapped.path()));
    assert!(
        all.iter().any(|(n, _)| n == "snapshot-state.sqlite"),
        "{all:?}"
    );
    assert!(
        listened.iter().any(|(n, _)| n.ends_with(".journal")),
        "{listened:?}"
    );
    all.extend(listened);
    // The lock holds no data: its mode does not matter.
    let open: Vec<_> = all
        .iter()
        .filter(|(n, mode)| !n.ends_with(".lock") && mode & 0o077 != 0)
        .collect();
    assert!(open.is_empty(), "readable by others: {open:?}");
}

#[test]
fn a_duration_without_a_unit_names_its_flag_once() {
    let dir = tempfile::tempdir().unwrap();
    let line = refused(
        bin()
            .args(["listen", "--rotate", "1", "--out-dir"])
            .arg(dir.path().join("events"))
            .env("WORKFRONT_EVENT_TOKEN", "a-token"),
        2,
    );
    assert!(
        line.contains("error: --rotate \"1\" is not a duration"),
        "{line}"
    );
}

#[test]
fn two_exports_to_one_output_leave_each_others_temporary_file_alone() {
    let records = jrnle_audit::simulator::generate::generate(5_000, 9);
    let (slow, fast) = (sim(&records), sim(&records));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("same.csv");
    // The first export is under way (its temporary file written, its answers held) ...
    slow.simulator.hold_answers();
    let first = against(&slow, "export")
        .arg("-o")
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the first export's temporary file", || {
        entries(dir.path()) == 1 && slow.simulator.answers_held() > 0
    });
    // ... when a second writes the same name from start to end.
    let second = run(against(&fast, "export").arg("-o").arg(&out));
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        !stderr(&second).contains("unfinished output"),
        "the live file was taken for an interrupted run's: {}",
        stderr(&second)
    );
    slow.simulator.release_answers();
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(entries(dir.path()), 1);
    assert_eq!(
        csv_ids(&std::fs::read_to_string(&out).unwrap()).len(),
        5_000
    );
}
