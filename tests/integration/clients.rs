//! Public Workfront clients run against `simulate` unchanged, as their documentation shows:
//! Workfront's own Node client (`workfront-api` 6 from npm) and python-workfront 0.8 (PyPI),
//! each installed into a temporary directory. Every row they get must equal the simulator's
//! `--dump` of the same data. The scripts are in `tests/clients/`.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::*;

const ROWS: &str = "300";
const SEED: &str = "5";
const CLIENT_KEY: &str = "client-test-key";

/// `simulate` serving the data of [`dumped`].
fn simulate() -> (Running, String) {
    let args = ["--rows", ROWS, "--seed", SEED, "--api-key", CLIENT_KEY];
    start_simulate(&args, Stdio::null())
}

/// The simulator's data as `simulate --dump` writes it, in the order of a search sorted by
/// `entryDate` then `ID`.
fn dumped() -> Vec<serde_json::Map<String, Value>> {
    let out = ok(bin().args(["simulate", "--rows", ROWS, "--seed", SEED, "--dump"]));
    let mut rows = ndjson_rows(&out);
    let instant = |r: &serde_json::Map<String, Value>| {
        jrnle_audit::model::date::parse_timestamp(r["entryDate"].as_str().unwrap()).unwrap()
    };
    rows.sort_by(|a, b| (instant(a), a["ID"].as_str()).cmp(&(instant(b), b["ID"].as_str())));
    rows
}

/// Whether a client's value is the dumped one: numbers by value (JavaScript writes 8.0 as 8).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Check what a client printed: the count, every row against the dump (and nothing else but
/// `objCode` and fields the data leaves null), the entry got by id, the refused key.
fn check(output: &str) -> Value {
    let got: Value = serde_json::from_str(output).unwrap_or_else(|e| panic!("{e}: {output}"));
    let dump = dumped();
    assert_eq!(got["count"], dump.len());
    let rows = got["rows"].as_array().unwrap();
    assert_eq!(rows.len(), dump.len());
    for (row, expected) in rows.iter().zip(&dump) {
        let row = row.as_object().unwrap();
        for (key, value) in expected {
            assert!(same(&row[key], value), "{key}: {} vs {value}", row[key]);
        }
        for (key, value) in row {
            if !expected.contains_key(key) {
                assert!(value.is_null() || key == "objCode", "{key}: {value}");
            }
        }
    }
    assert_eq!(got["got"]["ID"], dump[0]["ID"]);
    assert_eq!(got["got"]["fieldName"], dump[0]["fieldName"]);
    assert_eq!(got["refused"]["status"], 401, "{}", got["refused"]);
    got
}

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

#[test]
fn workfronts_node_client_gets_exactly_the_dumped_data() {
    let (Some(node), Some(npm)) = (
        tool(&["node"], &["--version"]),
        tool(&["npm"], &["--version"]),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    install(
        Command::new(npm)
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(dir.path())
            .arg("workfront-api@6"),
    );
    let (_sim, url) = simulate();
    let o = Command::new(node)
        .arg(script("workfront_api_node.js"))
        .args([&url, CLIENT_KEY])
        .env("NODE_PATH", dir.path().join("node_modules"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = check(&String::from_utf8_lossy(&o.stdout));
    let fields = got["metadata_fields"].as_array().unwrap();
    assert_eq!(fields.len(), jrnle_audit::simulator::store::FIELDS.len());
}

#[test]
fn python_workfront_gets_exactly_the_dumped_data() {
    let Some(python) = tool(&["python3"], &["-c", "import venv"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    install(Command::new(python).args(["-m", "venv"]).arg(&venv));
    install(Command::new(venv.join("bin/pip")).args([
        "install",
        "-q",
        "--disable-pip-version-check",
        "python-workfront==0.8",
    ]));
    let (_sim, url) = simulate();
    let o = Command::new(venv.join("bin/python"))
        .arg(script("python_workfront.py"))
        .args([&url, CLIENT_KEY])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    check(&String::from_utf8_lossy(&o.stdout));
}
