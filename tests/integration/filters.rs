//! A mistyped filter never passes as empty evidence: values that match nothing are said
//! (export, count), the first sync refuses them unless `--allow-empty`, and object codes and
//! comma-joined values are checked before any request.

use std::fs;

use crate::util::*;

#[test]
fn values_that_match_nothing_are_named_in_export_and_count() {
    let sim = sim(&demo_records());
    let o = run(against(&sim, "export").args([
        "--field",
        "status",
        "--field",
        "Status",
        "--obj-code",
        "TAKS",
        "--obj-code",
        "TASK",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("no entries for --field \"Status\""), "{err}");
    assert!(!err.contains("--field \"status\""), "{err}");
    assert!(
        err.contains("no entries for --obj-code \"TAKS\"") && err.contains("did you mean TASK?"),
        "{err}"
    );
    let o = run(against(&sim, "export").args(["--change-type", "Z"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no entries for --change-type \"Z\""),
        "{}",
        stderr(&o)
    );

    // count: several values are counted one by one; a count of 0 names every value.
    let o = run(against(&sim, "count").args(["--field", "status", "--field", "Status"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_ne!(stdout(&o).trim(), "0");
    // Only Status is named as matching nothing; status is its suggestion.
    assert!(
        stderr(&o).contains("no entries for --field \"Status\"")
            && !stderr(&o).contains("no entries for --field \"status\"")
            && stderr(&o).contains("did you mean --field status?"),
        "{}",
        stderr(&o)
    );
    let o = run(against(&sim, "count").args(["--field", "Status"]));
    assert_eq!(stdout(&o).trim(), "0");
    assert!(
        stderr(&o).contains("no entries for --field \"Status\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_first_sync_refuses_a_filter_that_matches_nothing_unless_allowed() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    let sync = |extra: &[&str]| {
        run(against(&sim, "sync")
            .arg("--out-dir")
            .arg(dir.path())
            .args(["--since", "2020-01-01", "--lag", "0s", "--field", "Status"])
            .args(extra))
    };
    let o = sync(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--field \"Status\" matches nothing"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--allow-empty"), "{}", stderr(&o));
    let files: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".jrnle-sync.lock"))
        .collect();
    assert!(files.is_empty(), "nothing written: {files:?}");
    let o = sync(&["--allow-empty"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("(--allow-empty)"), "{}", stderr(&o));
}

#[test]
fn object_codes_and_comma_joined_values_are_checked_before_any_request() {
    let sim = sim(&demo_records());
    for (command, args, needle) in [
        ("export", vec!["--obj-code", "task"], "did you mean TASK?"),
        (
            "count",
            vec!["--obj-code", "Optask"],
            "did you mean OPTASK?",
        ),
        (
            "sync",
            vec!["--obj-code", "TASK,OPTASK"],
            "repeat the flag instead (--obj-code TASK --obj-code OPTASK)",
        ),
        ("export", vec!["--change-type", "E,A"], "repeat the flag"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = against(&sim, command);
        cmd.args(&args);
        if command == "sync" {
            cmd.arg("--out-dir")
                .arg(dir.path())
                .args(["--since", "2020-01-01"]);
        }
        let o = run(&mut cmd);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{command} {args:?}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains(needle),
            "{command} {args:?}: {}",
            stderr(&o)
        );
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
    assert!(
        sim.simulator.request_log().is_empty(),
        "no request was made"
    );
}
