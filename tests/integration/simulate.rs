//! `simulate` as a process: it prints its address and serves what it was given.

use std::process::Stdio;

use crate::util::*;

fn start(args: &[&str]) -> (Running, String) {
    start_simulate(args, Stdio::null())
}

#[test]
fn simulate_serves_generated_rows_with_the_given_key() {
    let (_sim, url) = start(&["--rows", "120", "--seed", "9", "--api-key", "k-123"]);
    let count = |key: &str| {
        run(bin()
            .arg("count")
            .env("WORKFRONT_URL", &url)
            .env("WORKFRONT_API_KEY", key))
    };
    let o = count("k-123");
    assert_eq!(stdout(&o), "120\n", "{}", stderr(&o));
    assert_eq!(count("other").status.code(), Some(3));
}

#[test]
fn simulate_serves_a_data_file() {
    let (_sim, url) = start(&["--data", fixture("demo.json").to_str().unwrap()]);
    let out = ok(bin()
        .args(["export", "--until", "2026-01-01"])
        .env("WORKFRONT_URL", &url)
        .env("WORKFRONT_BEARER_TOKEN", "anything"));
    let expected = std::fs::read_to_string(fixture("demo.expected.csv")).unwrap();
    assert_eq!(out, expected);
}

#[test]
fn simulate_v_logs_each_request_with_its_status_rows_and_time_and_no_credential() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sim.log");
    let file = std::fs::File::create(&log).unwrap();
    let (sim, url) = start_simulate(
        &["--rows", "120", "--api-key", "k-secret-123", "-v"],
        Stdio::from(file),
    );
    ok(bin()
        .args(["export", "--format", "ndjson"])
        .env("WORKFRONT_URL", &url)
        .env("WORKFRONT_API_KEY", "k-secret-123"));
    // A refused key, and a key in the URL as some clients send it: neither is logged.
    let o = run(bin()
        .arg("count")
        .env("WORKFRONT_URL", &url)
        .env("WORKFRONT_API_KEY", "wrong-key-456"));
    assert_eq!(o.status.code(), Some(3));
    let in_url = format!("{url}/attask/api/v21.0/JRNLE/count?apiKey=k-secret-123");
    assert_eq!(crate::simulator::get(&in_url, &[]).0, 200);
    drop(sim);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("/JRNLE/")).collect();
    assert!(lines.len() >= 3, "{text}");
    let count = lines
        .iter()
        .find(|l| l.starts_with("GET /attask/api/v21.0/JRNLE/count?"))
        .unwrap();
    assert!(count.contains(" 200 0 rows "), "{count}");
    let page = lines
        .iter()
        .find(|l| l.contains("/JRNLE/search?") && l.contains("%24%24LIMIT=2000"))
        .unwrap();
    assert!(page.contains(" 200 120 rows "), "{page}");
    assert!(lines.iter().any(|l| l.contains(" 401 0 rows ")), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("apiKey=%28redacted%29 200 0 rows")),
        "{text}"
    );
    assert!(lines.iter().all(|l| l.contains(" ms (")), "{text}");
    assert!(
        !text.contains("k-secret-123") && !text.contains("wrong-key-456"),
        "{text}"
    );
}
