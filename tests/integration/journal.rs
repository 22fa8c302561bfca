//! The delivery journal survives every fault (issue 26): a damaged journal stops `listen`
//! before it acknowledges anything, a line that is not a record is quarantined and never
//! blocks the rest, and a full disk answers 503 and leaves the journal as it was, so every
//! acknowledged delivery is committed exactly once when space returns.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::listen::{Listen, TOKEN, committed, delivery};
use crate::util::*;

const JOURNAL: &str = "deliveries.journal";

/// `listen` on `dir` that must refuse to start: exit 5, never a 2xx, naming `problem`.
pub(crate) fn refused_at_start(dir: &Path, problem: &str) {
    let o = run(bin()
        .args([
            "listen",
            "--bind",
            "127.0.0.1:0",
            "--format",
            "ndjson",
            "--out-dir",
        ])
        .arg(dir)
        .env("WORKFRONT_EVENT_TOKEN", TOKEN));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains(problem), "{}", stderr(&o));
    assert!(
        !stdout(&o).contains("listening on"),
        "it served: {}",
        stdout(&o)
    );
}

/// An out-dir with two committed deliveries.
fn committed_out_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(dir.path(), &["--format", "ndjson"]);
    assert_eq!(listen.post(&delivery(1), Some(TOKEN)), 200);
    assert_eq!(listen.post(&delivery(2), Some(TOKEN)), 200);
    listen.stop();
    dir
}

#[test]
fn a_truncated_deleted_or_replaced_journal_stops_listen_before_any_2xx() {
    let dir = committed_out_dir();
    let journal = dir.path().join(JOURNAL);
    let original = fs::read(&journal).unwrap();
    fs::write(&journal, b"").unwrap();
    refused_at_start(dir.path(), "shorter than");
    fs::remove_file(&journal).unwrap();
    refused_at_start(dir.path(), "deliveries.journal: cannot read");
    assert!(!journal.exists(), "a deleted journal is not created again");
    let mut replaced = original.clone();
    let at = replaced.len() / 2;
    replaced[at] ^= 1;
    fs::write(&journal, &replaced).unwrap();
    refused_at_start(dir.path(), "do not match the SHA-256");
    fs::write(&journal, &original).unwrap();
    let listen = Listen::start(dir.path(), &["--format", "ndjson"]);
    assert_eq!(listen.post(&delivery(3), Some(TOKEN)), 200);
    listen.stop();
    assert_eq!(committed(dir.path()).len(), 3);
}

#[test]
fn a_line_that_is_not_a_record_is_quarantined_and_the_rest_committed() {
    let dir = tempfile::tempdir().unwrap();
    // Acknowledged, not committed (no rotation), then killed.
    let listen = Listen::start(dir.path(), &["--format", "ndjson"]);
    assert_eq!(listen.post(&delivery(1), Some(TOKEN)), 200);
    listen.kill9();
    // A whole line that is no record, a record whose body was changed, then a good one.
    let journal = dir.path().join(JOURNAL);
    let good = fs::read_to_string(&journal).unwrap();
    let changed = good.replacen("\"body\":\"", "\"body\":\"AAAA", 1);
    let mut f = fs::OpenOptions::new().append(true).open(&journal).unwrap();
    f.write_all(b"not a record at all\n").unwrap();
    f.write_all(changed.as_bytes()).unwrap();
    drop(f);
    // verify says it is uncommitted, not altered evidence.
    let o = run(bin().arg("verify").arg(dir.path()));
    assert!(
        stderr(&o).contains("is not a record") && stderr(&o).contains("not yet committed"),
        "{}",
        stderr(&o)
    );
    let listen = Listen::start(dir.path(), &["--format", "ndjson"]);
    assert_eq!(listen.post(&delivery(2), Some(TOKEN)), 200);
    let stderr = listen.stop();
    assert!(stderr.contains("kept in the quarantine"), "{stderr}");
    let seen = committed(dir.path());
    assert_eq!(seen.len(), 2, "{seen:?}");
    let kept = fs::read_to_string(dir.path().join("quarantine.journal")).unwrap();
    assert_eq!(kept.lines().count(), 2, "{kept}");
    assert!(kept.contains("not a record") && kept.contains("does not match its SHA-256"));
    ok(bin().arg("verify").arg(dir.path()));
}

/// A tmpfs of `size` at a new directory, unmounted when dropped; `None` where mounting is
/// not allowed (not root, or no CAP_SYS_ADMIN).
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        // Not required even in CI: a machine may run the tests without the right to mount.
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)");
            return None;
        }
        Some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .output();
    }
}

#[test]
fn a_full_disk_never_strands_an_acknowledged_delivery() {
    let Some(fs_) = Tmpfs::mount("256k") else {
        return;
    };
    let dir = fs_.0.path().join("out");
    let filler = fs_.0.path().join("filler");
    let listen = Listen::start(&dir, &["--format", "ndjson"]);
    // A few deliveries first: the journal's last page is part used, so once the disk is full
    // a write can land half (the page's rest) and fail, as on a real disk.
    let mut acked = Vec::new();
    for k in 0..3 {
        assert_eq!(listen.post(&delivery(k), Some(TOKEN)), 200);
        acked.push(k);
    }
    // Fill the disk, then deliver until deliveries are refused.
    let _ = fs::write(&filler, vec![0u8; 512 * 1024]);
    let mut refused = 0;
    for k in 3..400 {
        match listen.post(&delivery(k), Some(TOKEN)) {
            200 => acked.push(k),
            503 => refused += 1,
            other => panic!("delivery {k}: {other}"),
        }
    }
    assert!(refused > 0, "the disk never filled");
    // Space returns: deliveries are acknowledged again.
    fs::remove_file(&filler).unwrap();
    for k in 400..420 {
        assert_eq!(listen.post(&delivery(k), Some(TOKEN)), 200, "delivery {k}");
        acked.push(k);
    }
    listen.stop();
    // And the restart commits nothing new, reads everything, and verifies.
    let listen = Listen::start(&dir, &["--format", "ndjson"]);
    listen.stop();
    let seen = committed(&dir);
    for k in &acked {
        assert_eq!(seen.get(&format!("task{k}")), Some(&1), "task{k}");
    }
    assert_eq!(seen.len(), acked.len());
    ok(bin().arg("verify").arg(&dir));
}

#[test]
fn a_journal_removed_or_truncated_while_listen_runs_takes_no_more_deliveries() {
    for damage in ["remove", "truncate"] {
        let dir = tempfile::tempdir().unwrap();
        let listen = Listen::start(dir.path(), &["--format", "ndjson"]);
        assert_eq!(listen.post(&delivery(1), Some(TOKEN)), 200);
        let journal = dir.path().join(JOURNAL);
        match damage {
            "remove" => fs::remove_file(&journal).unwrap(),
            _ => fs::OpenOptions::new()
                .write(true)
                .open(&journal)
                .unwrap()
                .set_len(10)
                .unwrap(),
        }
        // Never acknowledged into a file that is not the journal any more.
        assert_eq!(listen.post(&delivery(2), Some(TOKEN)), 503, "{damage}");
        assert_eq!(listen.post(&delivery(3), Some(TOKEN)), 503, "{damage}");
        let (code, stderr) = listen.terminate();
        assert_eq!(code, Some(5), "{damage}: {stderr}");
        assert!(
            stderr.contains("removed, replaced or truncated"),
            "{damage}: {stderr}"
        );
    }
}
