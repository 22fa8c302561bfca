//! Every exit code of the README's table, end to end.

use jrnle_audit::secret::Secret;
use jrnle_audit::simulator::SimConfig;

use crate::util::*;

fn assert_fails(cmd: &mut std::process::Command, code: i32, needle: &str) -> String {
    let o = run(cmd);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(o.stdout.is_empty(), "no partial output: {}", stdout(&o));
    assert!(err.starts_with("jrnle-audit: error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn exit_0_on_success() {
    let o = run(bin().args(["export", "--demo"]));
    assert_eq!(o.status.code(), Some(0));
}

#[cfg(target_os = "linux")]
#[test]
fn exit_1_when_output_cannot_be_written() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = bin()
        .args(["export", "--demo"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write standard output"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn exit_2_for_usage_and_configuration_errors() {
    let sim = sim(&demo_records());
    assert_fails(bin().arg("export"), 2, "no Workfront URL");
    assert_fails(
        bin().arg("export").env("WORKFRONT_URL", &sim.url),
        2,
        "no credential",
    );
    let err = assert_fails(
        against(&sim, "export").env("WORKFRONT_SESSION_ID", "x"),
        2,
        "several credentials",
    );
    assert!(err.contains("WORKFRONT_API_KEY") && err.contains("WORKFRONT_SESSION_ID"));
    assert_fails(
        against(&sim, "export").args(["--since", "last tuesday"]),
        2,
        "--since: cannot read time",
    );
    assert_fails(
        against(&sim, "export").args(["--until", "2025-01-07T10:00:00"]),
        2,
        "no time zone",
    );
    assert_fails(
        against(&sim, "export").args(["--since", "2025-02-01", "--until", "2025-01-01"]),
        2,
        "must be before --until",
    );
    // clap's own errors keep their lines: what is wrong, then what is accepted.
    for (args, needle) in [
        (
            ["--format", "xml"],
            "invalid value 'xml' for '--format <FORMAT>'\n  [possible values: csv, json, ndjson, xlsx, parquet]",
        ),
        (["--max-concurrency", "11"], "11 is not in 1..=10"),
    ] {
        let o = run(against(&sim, "export").args(args));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{needle:?} in {}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
    assert_fails(
        against(&sim, "export").args(["-o", "/nonexistent-dir/out.csv"]),
        2,
        "output directory /nonexistent-dir does not exist",
    );
    assert_fails(
        bin()
            .arg("export")
            .env("WORKFRONT_URL", &sim.url)
            .args(["--api-key-file", "/nonexistent/key"]),
        2,
        "cannot read --api-key-file /nonexistent/key",
    );
    assert_fails(
        against(&sim, "export").env("WORKFRONT_URL", "http://acme.my.workfront.com"),
        2,
        "refusing plain http://",
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("key");
    std::fs::write(&empty, "\n").unwrap();
    assert_fails(
        bin()
            .arg("export")
            .env("WORKFRONT_URL", &sim.url)
            .arg("--api-key-file")
            .arg(&empty),
        2,
        "is empty",
    );
    // None of these reached the API.
    assert!(sim.simulator.request_log().is_empty());
}

#[test]
fn exit_3_when_workfront_refuses_the_credential_or_the_rights() {
    let config = SimConfig {
        forbidden_key: Some(Secret::new("no-rights-key")),
        ..sim_config()
    };
    let sim = sim_with(&demo_records(), config);
    let err = assert_fails(
        against(&sim, "export").env("WORKFRONT_API_KEY", "wrong-key-123"),
        3,
        "HTTP 401: You are not currently logged in",
    );
    assert!(!err.contains("wrong-key-123"));
    assert!(err.contains("/attask/api/v21.0/JRNLE/"), "{err}");
    assert_fails(
        against(&sim, "count").env("WORKFRONT_API_KEY", "no-rights-key"),
        3,
        "HTTP 403",
    );
}

#[test]
fn exit_4_when_the_api_fails_or_cannot_be_reached() {
    let sim = sim(&demo_records());
    assert_fails(
        against(&sim, "export").args(["--api-version", "v15.0"]),
        4,
        "HTTP 410: API version v15.0 is no longer supported",
    );
    // A port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Refused: retried for a few seconds (not the minutes --max-retries 30 would allow), said
    // once, then the error names the host and the fix.
    let o = run(against(&sim, "export")
        .env("WORKFRONT_URL", format!("http://127.0.0.1:{port}"))
        .args(["--max-retries", "30"]));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(o.stdout.is_empty());
    assert_eq!(
        err.matches(&format!("retrying: connection refused by 127.0.0.1:{port}"))
            .count(),
        1,
        "{err}"
    );
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("jrnle-audit: error: ")
            && last.contains(&format!(
                "connection refused by 127.0.0.1:{port}: check --url or WORKFRONT_URL"
            ))
            && last.contains("(gave up after "),
        "{last}"
    );
    // A name that does not resolve is not retried at all.
    let o = run(against(&sim, "count")
        .env("WORKFRONT_URL", "https://nonexistent.invalid")
        .arg("-v"));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(!err.contains("retrying"), "{err}");
    assert!(
        err.contains("cannot resolve the host nonexistent.invalid")
            && err.contains("check --url or WORKFRONT_URL"),
        "{err}"
    );
}

#[test]
fn exit_5_when_the_count_never_matches_and_nothing_is_written() {
    let config = SimConfig {
        count_offset: 1,
        ..sim_config()
    };
    let sim = sim_with(&demo_records(), config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let o = run(against(&sim, "export").arg("-o").arg(&out));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("Workfront counts 31 entries, 30 were fetched"),
        "{err}"
    );
    assert_eq!(err.matches("fetching again").count(), 2, "refetched: {err}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn exit_5_when_a_window_passed_on_page_by_page_does_not_match_its_count() {
    // 12,000 entries on one millisecond (a bulk edit): more than a window gathers whole
    // (GATHER_LIMIT), so it is passed on page by page and cannot be fetched again. A count
    // that stays one over what the pages hold must still fail, with nothing written.
    let mut records = jrnle_audit::simulator::generate::generate(12_000, 3);
    for r in &mut records {
        r.insert("entryDate".into(), "2025-11-02T01:30:00:007-0600".into());
    }
    let config = SimConfig {
        count_offset: 1,
        ..sim_config()
    };
    let sim = sim_with(&records, config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let o = run(against(&sim, "export")
        .args(["--since", "2025-11-01", "--until", "2025-11-03", "-o"])
        .arg(&out));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "completeness check failed for [2025-11-01T00:00:00.000Z, 2025-11-03T00:00:00.000Z): \
             Workfront counts 12001 entries, 12000 were fetched; nothing was written"
        ),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // The pages were read once: a window passed on page by page is not fetched again.
    let pages = sim
        .simulator
        .request_log()
        .iter()
        .filter(|r| r.contains("/search?") && r.contains("LIMIT=2000"))
        .count();
    assert_eq!(pages, jrnle_audit::workfront::paging::pages_for(12_001));
}
