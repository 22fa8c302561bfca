//! Out-dirs written by earlier versions (`fixtures/outdirs`, see `fixtures/README.md`) still
//! verify and report, byte for byte as they were written: the on-disk format is a contract.

use std::path::Path;

use crate::util::*;

/// A copy of a fixture out-dir in a temporary directory (a run may not touch the fixture).
fn copy_of(name: &str) -> tempfile::TempDir {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/outdirs")
        .join(name);
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

/// Every file of `dir` with its bytes, to show a command changed nothing.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    names(dir)
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

#[test]
fn out_dirs_of_earlier_versions_verify_unchanged() {
    for (name, manifests) in [("sync", 3), ("snapshot", 2), ("listen", 2)] {
        let dir = copy_of(name);
        let before = contents(dir.path());
        let o = run(bin()
            .args(["verify", "--summary-format", "json"])
            .arg(dir.path()));
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(summary["manifests"], manifests, "{name}: {summary}");
        assert_eq!(summary["intact"], true, "{name}: {summary}");
        assert_eq!(
            contents(dir.path()),
            before,
            "{name}: verify changed the out-dir"
        );
    }
}

#[test]
fn out_dirs_of_earlier_versions_report() {
    for name in ["sync", "snapshot", "listen"] {
        let dir = copy_of(name);
        let html = tempfile::tempdir().unwrap();
        let out = html.path().join("r.html");
        let o = run(bin().args(["report", "-q", "-o"]).arg(&out).arg(dir.path()));
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let page = std::fs::read_to_string(&out).unwrap();
        assert!(
            page.contains("id=\"verify-ok\""),
            "{name}: the report does not say the evidence verified"
        );
    }
}

#[test]
fn a_listen_out_dir_of_an_earlier_version_takes_new_deliveries() {
    use crate::listen::{Listen, TOKEN, delivery};
    // Its journal's lines carry no digest (written before it): they still read, and new
    // lines, with one, follow them.
    let dir = copy_of("listen");
    let listen = Listen::start(dir.path(), &["--format", "json"]);
    assert_eq!(listen.post(&delivery(77), Some(TOKEN)), 200);
    listen.stop();
    let o = run(bin().args(["verify", "--json"]).arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(summary["manifests"], 3, "{summary}");
    assert_eq!(summary["entries"], 9, "{summary}");
}
