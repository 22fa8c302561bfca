//! `--format parquet` and `export --partition-by`: read back by pyarrow and DuckDB (installed
//! into a temporary virtualenv) equal to the NDJSON export of the same query, value for value
//! and type for type; a `sync` series in Parquet verifies, reads its ids back and is reported.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use jrnle_audit::simulator::generate::generate;

use crate::util::*;

/// A virtualenv with pyarrow and DuckDB, made once per test run; `None` (skipped) where
/// Python's venv is missing and tools are not required.
fn python() -> Option<&'static Path> {
    static VENV: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let python = python_venv(dir.path(), &["pyarrow", "duckdb"])?;
        Some((dir, python))
    })
    .as_ref()
    .map(|(_, p)| p.as_path())
}

/// tests/parquet/check.py on an NDJSON export and its Parquet twin: the rows it compared.
fn check(ndjson: &Path, parquet: &Path, hive: bool) -> Option<u64> {
    let python = python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parquet/check.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg(ndjson).arg(parquet);
    if hive {
        cmd.arg("--hive");
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let said: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(said["pyarrow"], said["rows"]);
    assert_eq!(said["duckdb"], said["rows"]);
    said["rows"].as_u64()
}

#[test]
fn a_parquet_export_reads_back_as_the_ndjson_export_in_pyarrow_and_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    // The demo's odd values (numbers in exponent range, dates across DST, formulas, empty
    // text), and 3,000 generated entries over more than one row group's worth of pages.
    let (demo_nd, demo_pq) = (
        dir.path().join("demo.ndjson"),
        dir.path().join("demo.parquet"),
    );
    ok(bin().args(["export", "--demo", "-o"]).arg(&demo_nd));
    ok(bin().args(["export", "--demo", "-o"]).arg(&demo_pq));
    let Some(n) = check(&demo_nd, &demo_pq, false) else {
        return;
    };
    assert_eq!(n, 30);
    let sim = sim(&generate(3_000, 31));
    let (nd, pq) = (dir.path().join("g.ndjson"), dir.path().join("g.parquet"));
    for out in [&nd, &pq] {
        ok(against(&sim, "export")
            .args(["--since", "2025-01-01", "--labels", "-o"])
            .arg(out));
    }
    assert_eq!(check(&nd, &pq, false), Some(3_000));
    // The file says what it is from its first bytes; a report reads it.
    assert_eq!(&fs::read(&pq).unwrap()[..4], b"PAR1");
    let page = dir.path().join("r.html");
    ok(bin().arg("report").arg(&pq).arg("-o").arg(&page));
    assert!(
        fs::read_to_string(&page)
            .unwrap()
            .contains("id=\"row-count\">3,000<")
    );
}

#[test]
fn partitioned_output_reads_back_with_hive_partitioning_and_lists_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&generate(2_000, 32));
    let nd = dir.path().join("all.ndjson");
    ok(against(&sim, "export")
        .args(["--since", "2025-01-01", "-o"])
        .arg(&nd));
    let parts = dir.path().join("by-day");
    ok(against(&sim, "export")
        .args(["--since", "2025-01-01", "--partition-by", "day", "-o"])
        .arg(&parts));
    // Nothing left beside it.
    let beside: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside.len(), 2, "{beside:?}");
    // The manifest names every file with its rows and hash, and nothing else is there.
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(parts.join("_manifest.json")).unwrap()).unwrap();
    // Private like every file the tool writes (mode 0600), the parts and the manifest alike.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&parts.join("_manifest.json")), 0o600);
    let files = manifest["files"].as_array().unwrap();
    assert!(files.len() > 1, "{manifest}");
    let mut rows = 0;
    let mut listed: Vec<String> = Vec::new();
    for f in files {
        let path = parts.join(f["path"].as_str().unwrap());
        let bytes = fs::read(&path).unwrap();
        assert_eq!(f["sha256"], jrnle_audit::digest::sha256_hex(&bytes));
        assert_eq!(f["bytes"], bytes.len() as u64);
        assert_eq!(mode(&path), 0o600);
        let name = f["path"].as_str().unwrap();
        assert!(
            name.starts_with("year=2") && name.contains("/month=") && name.contains("/day="),
            "{name}"
        );
        rows += f["rows"].as_u64().unwrap();
        listed.push(name.to_string());
    }
    assert_eq!(rows, 2_000);
    let mut found = Vec::new();
    walk(&parts, &parts, &mut found);
    found.sort();
    listed.sort();
    assert_eq!(found, listed, "every file listed, no other");
    if let Some(n) = check(&nd, &parts, true) {
        assert_eq!(n, 2_000);
    }
    // A second run into the same name is refused and leaves it as it was.
    let before = fs::read(parts.join("_manifest.json")).unwrap();
    let o = run(against(&sim, "export")
        .args(["--since", "2025-01-01", "--partition-by", "month", "-o"])
        .arg(&parts));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("exists"), "{}", stderr(&o));
    assert_eq!(fs::read(parts.join("_manifest.json")).unwrap(), before);
    // A name that says it is a file is refused; a directory a killed run left (its process
    // gone) is removed by the next run into the same name.
    let o = run(against(&sim, "export")
        .args(["--partition-by", "month", "-o"])
        .arg(dir.path().join("pm.csv")));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!dir.path().join("pm.csv").exists());
    let stale = dir.path().join(".again.4000000.partial");
    fs::create_dir_all(stale.join("year=2025")).unwrap();
    ok(against(&sim, "export")
        .args(["--since", "2025-01-01", "--partition-by", "month", "-o"])
        .arg(dir.path().join("again")));
    assert!(!stale.exists(), "the killed run's directory is removed");
}

#[test]
fn a_parquet_file_from_elsewhere_is_not_read_as_change_records() {
    let dir = tempfile::tempdir().unwrap();
    let Some(python) = python() else {
        return;
    };
    let other = dir.path().join("other.parquet");
    let o = Command::new(python)
        .args([
            "-c",
            "import sys, pyarrow as pa, pyarrow.parquet as pq; \
             pq.write_table(pa.table({'a': [1, 2, 3]}), sys.argv[1])",
        ])
        .arg(&other)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = dir.path().join("r.html");
    let o = run(bin().arg("report").arg(&other).arg("-o").arg(&page));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("without the change record's columns"),
        "{}",
        stderr(&o)
    );
    assert!(!page.exists());
}

/// The .parquet files under `dir`, as paths relative to `root`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if path.extension().is_some_and(|x| x == "parquet") {
            let rel = path.strip_prefix(root).unwrap();
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

/// The ids of a Parquet file, read with the parquet crate.
fn parquet_ids(path: &Path) -> Vec<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(fs::File::open(path).unwrap()).unwrap();
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            let (name, id) = row.get_column_iter().next().unwrap();
            assert_eq!(name, "id");
            id.to_string().trim_matches('"').to_string()
        })
        .collect()
}

#[test]
fn a_sync_series_in_parquet_verifies_reads_its_ids_back_and_is_reported() {
    let sim = sim(&generate(1_500, 33));
    let dir = tempfile::tempdir().unwrap();
    let sync = || {
        let mut cmd = against(&sim, "sync");
        cmd.arg("--out-dir")
            .arg(dir.path())
            .args([
                "--since",
                "2025-10-01",
                "--format",
                "parquet",
                "--lag",
                "0s",
            ])
            .args(["--lookback", "1h"]);
        cmd
    };
    ok(&mut sync());
    // Entries dated inside the committed window, journaled now: the next run's lookback
    // fetches the window again, and only the ids the Parquet files do not hold are new.
    let files = || -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
            .collect();
        v.sort();
        v
    };
    let first = files();
    assert_eq!(first.len(), 1);
    sim.simulator
        .journal_at(4, chrono::Utc::now() - chrono::Duration::minutes(10));
    ok(&mut sync());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for f in files() {
        for id in parquet_ids(&f) {
            *seen.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{twice:?}");
    // The second run fetched the first window again: its 4 late entries are new, the rest
    // were known from the Parquet file's ids.
    let late: u64 = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .map(|p| {
            let m: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap();
            m["late_row_count"].as_u64().unwrap_or(0)
        })
        .sum();
    assert_eq!(late, 4);
    let since: chrono::DateTime<chrono::Utc> = "2025-10-01T00:00:00Z".parse().unwrap();
    let expected = sim
        .simulator
        .entries_snapshot()
        .iter()
        .filter(|(_, when)| when.is_some_and(|w| w >= since))
        .count();
    assert!(expected > 4, "{expected}");
    assert_eq!(seen.len(), expected, "every entry once");
    let o = run(bin().arg("verify").arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // And it loads into a database like any series.
    let db = dir.path().with_extension("db");
    ok(bin()
        .arg("load")
        .arg(dir.path())
        .arg("--into")
        .arg(format!("sqlite:{}", db.display())));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (rows, ids): (i64, i64) = conn
        .query_row(
            "select count(*), count(distinct id) from jrnle_changes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows as usize, ids as usize), (expected, expected));
    let _ = fs::remove_file(&db);
    let page = dir.path().with_extension("html");
    ok(bin().arg("report").arg(dir.path()).arg("-o").arg(&page));
    let html = fs::read_to_string(&page).unwrap();
    let count = format!("id=\"row-count\">{}<", format_count(expected));
    assert!(html.contains(&count), "{count}");
    let _ = fs::remove_file(&page);
}

/// A report of one Parquet file shows the evidence its metadata carries (the tenant, the
/// query, the window, when it was extracted), said to come from the file and to be unsigned;
/// a CSV file of the same query records none of it.
#[test]
fn a_report_of_a_parquet_export_shows_the_evidence_in_its_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--since",
        "2025-01-01",
        "--until",
        "2026-01-01",
        "--obj-code",
        "TASK",
    ];
    let text = |input: &Path| {
        let page = dir.path().join("r.html");
        ok(bin().arg("report").arg(input).arg("-o").arg(&page));
        let html = fs::read_to_string(&page).unwrap();
        let start = html.find("id=\"evidence\"").unwrap();
        html[start..start + 8000].to_string()
    };
    let pq = dir.path().join("t.parquet");
    ok(bin()
        .args(["export", "--demo"])
        .args(flags)
        .arg("-o")
        .arg(&pq));
    let evidence = text(&pq);
    for shown in [
        "<span class=\"w\">--obj-code</span> TASK</code>",
        "2025-01-01 00:00:00.000 +00:00",
        "2026-01-01 00:00:00.000 +00:00",
        "metadata,</span> as export wrote",
        "id=\"server-count\">checked window by window",
        "the metadata is not <span class=\"w\">signed:</span>",
    ] {
        assert!(evidence.contains(shown), "{shown}: {evidence}");
    }
    let csv = dir.path().join("t.csv");
    ok(bin()
        .args(["export", "--demo"])
        .args(flags)
        .arg("-o")
        .arg(&csv));
    let evidence = text(&csv);
    assert!(!evidence.contains("--obj-code</span> TASK"), "{evidence}");
    assert!(
        evidence.contains("Query</th><td>not recorded in the input"),
        "{evidence}"
    );
}

/// A partitioned directory that cannot be made where asked (here `/proc`, which takes no new
/// directory even from root) is an I/O error, exit 1, as a file there is; a name refused is
/// a usage error, exit 2.
#[test]
fn a_partition_directory_that_cannot_be_made_is_exit_1_as_a_file_is() {
    for out in ["/proc/jrnle-audit-test", "/proc/jrnle-audit-test.csv"] {
        let mut cmd = bin();
        cmd.args(["export", "--demo", "-o", out]);
        if !out.ends_with(".csv") {
            cmd.args(["--partition-by", "month"]);
        }
        let o = run(&mut cmd);
        assert_eq!(o.status.code(), Some(1), "{out}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
    let dir = tempfile::tempdir().unwrap();
    let named = dir.path().join("x.csv");
    let o = run(bin()
        .args(["export", "--demo", "--partition-by", "month", "-o"])
        .arg(&named));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!named.exists());
}
