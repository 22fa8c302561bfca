//! Ctrl-C and SIGTERM during a run leave nothing behind but one line; what a `kill -9` leaves
//! is removed by the next run.

use std::fs;
use std::process::{Command, Stdio};

use jrnle_audit::simulator::generate::generate;

use crate::util::*;

#[test]
fn a_signal_during_export_removes_the_temporary_file_and_exits_128_plus_the_signal() {
    let sim = sim(&generate(20_000, 4));
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("part.csv");
        // The export cannot finish before the signal: its answers wait until it has landed.
        sim.simulator.hold_answers();
        let child = against(&sim, "export")
            .arg("-o")
            .arg(&out)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_until(
            "the temporary file and a request waiting for its answer",
            || !names(dir.path()).is_empty() && sim.simulator.answers_held() > 0,
        );
        let temporary = names(dir.path());
        assert!(temporary[0].starts_with(".part.csv."), "{temporary:?}");
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let o = child.wait_with_output().unwrap();
        sim.simulator.release_answers();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "SIG{signal}: {err}");
        assert_eq!(
            names(dir.path()),
            Vec::<String>::new(),
            "SIG{signal}: nothing left"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("interrupted by SIG{signal}")),
            "{err}"
        );
    }
}

#[test]
fn the_next_run_removes_what_a_killed_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let left = dir.path().join(".out.csv.Ab12Cd.tmp");
    let other = dir.path().join(".other.csv.Ab12Cd.tmp");
    fs::write(&left, "id,entry_date\n").unwrap();
    fs::write(&other, "id,entry_date\n").unwrap();
    let o = run(bin()
        .args(["export", "--demo", "-o"])
        .arg(dir.path().join("out.csv")));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("removed .out.csv.Ab12Cd.tmp"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        names(dir.path()),
        [".other.csv.Ab12Cd.tmp", "out.csv"],
        "another output's temporary file is not this run's to remove"
    );
}
