//! A reader that stops early (`| head`) is not a failure, in every format and for every
//! command that streams, also under `set -o pipefail`.

use jrnle_audit::simulator::generate::generate;

use std::process::{Command, Stdio};

use crate::util::{KEY, sim};

#[test]
fn a_pipe_closed_early_exits_0_in_every_format() {
    // More than the 8 MiB held back, so the output streams and meets the closed pipe.
    let sim = sim(&generate(40_000, 3));
    for format in ["csv", "json", "ndjson"] {
        let o = Command::new("bash")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null())
            .args([
                "-c",
                &format!(
                    "set -o pipefail; \"$BIN\" export -q --format {format} | head -c 100 > /dev/null"
                ),
            ])
            .env("BIN", env!("CARGO_BIN_EXE_jrnle-audit"))
            .env("WORKFRONT_URL", &sim.url)
            .env("WORKFRONT_API_KEY", KEY)
            .output();
        let o = o.unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            o.stderr.is_empty(),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// `verify DIR | head -1`: the reader gone before verify prints (a pipe whose reading end is
/// closed before the start), which is no failure: exit 0, nothing on stderr (it once panicked
/// in `println!`).
#[test]
fn verify_into_a_pipe_closed_before_it_prints_exits_0() {
    let sim = sim(&generate(50, 3));
    let dir = tempfile::tempdir().unwrap();
    let synced = crate::util::against(&sim, "sync")
        .arg("--out-dir")
        .arg(dir.path())
        .args(["--since", "2025-10-01", "--lag", "0s", "-q"])
        .status()
        .unwrap();
    assert!(synced.success());
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_jrnle-audit"))
        .arg("verify")
        .arg(dir.path())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
