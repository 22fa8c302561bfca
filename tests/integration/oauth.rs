//! Workfront's OAuth2 machine-to-machine flow (JWT) against the simulator: sessions that
//! expire during a run are renewed once per expiry and the output is byte-identical; every
//! misconfiguration fails with one line and nothing written; no secret leaks.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use jrnle_audit::secret::Secret;
use jrnle_audit::simulator::generate::generate;
use jrnle_audit::simulator::{OAuthApp, SimConfig, SimHandle};

use crate::util::*;

const CLIENT_ID: &str = "jrnle-test-client";
const CLIENT_SECRET: &str = "test-only-client-secret-8d1f";
const CUSTOMER: &str = "cust-5e2";
const USER: &str = "user-77a";

fn oauth_config(ttl: Option<Duration>) -> SimConfig {
    let public = std::fs::read_to_string(fixture("test-only-jwt-public.pem")).unwrap();
    SimConfig {
        oauth: Some(OAuthApp {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(CLIENT_SECRET),
            public_key_pem: Some(public),
            customer_id: CUSTOMER.into(),
            user_id: USER.into(),
            rotate_refresh_tokens: false,
        }),
        session_ttl: ttl,
        latency: Duration::from_millis(20),
        ..sim_config()
    }
}

/// `command` against `sim` with the JWT variables (and no API key).
fn with_jwt(sim: &SimHandle, command: &str, vars: &[(&str, &str)]) -> Command {
    let mut cmd = against(sim, command);
    cmd.env_remove("WORKFRONT_API_KEY")
        .env("WORKFRONT_CLIENT_ID", CLIENT_ID)
        .env("WORKFRONT_CLIENT_SECRET", CLIENT_SECRET)
        .env("WORKFRONT_CUSTOMER_ID", CUSTOMER)
        .env("WORKFRONT_USER_ID", USER)
        .env(
            "WORKFRONT_PRIVATE_KEY_FILE",
            fixture("test-only-jwt-private.pem"),
        );
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

/// Renewals happen only when a session has lived its TTL, so `sessions - 1` of them fit in
/// the run; and at least one happened when the run outlived one TTL.
fn check_renewals(sessions: u64, elapsed: Duration, ttl: Duration) {
    assert!(
        sessions >= 2,
        "the sessions expired during the run: {sessions}"
    );
    assert!(
        (sessions - 1) as u128 * ttl.as_millis() <= elapsed.as_millis(),
        "{sessions} sessions in {elapsed:?} at a TTL of {ttl:?}: more than one renewal per expiry"
    );
}

#[test]
fn an_export_across_session_expiries_renews_once_per_expiry_with_identical_output() {
    let records = generate(24_000, 4);
    let ttl = Duration::from_millis(250);
    let sim = sim_with(&records, oauth_config(Some(ttl)));
    let args = [
        "--since",
        "2000-01-01",
        "--max-concurrency",
        "10",
        "--format",
        "ndjson",
    ];
    let started = Instant::now();
    let o = run(with_jwt(&sim, "export", &[]).args(args));
    let elapsed = started.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    check_renewals(sim.simulator.sessions_issued(), elapsed, ttl);
    // The same bytes as with a key that never expires.
    let by_key = ok(against(&sim, "export").args(args));
    assert_eq!(stdout(&o), by_key);
    assert_eq!(ndjson_rows(&by_key).len(), records.len());
}

#[test]
fn a_sync_across_session_expiries_delivers_every_entry_exactly_once() {
    let records = generate(12_000, 9);
    let ttl = Duration::from_millis(200);
    let sim = sim_with(&records, oauth_config(Some(ttl)));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    for _ in 0..2 {
        let o = run(with_jwt(&sim, "sync", &[])
            .arg("--out-dir")
            .arg(dir.path())
            .args(["--since", "2025-10-01", "--format", "ndjson", "--lag", "0s"]));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    check_renewals(sim.simulator.sessions_issued(), started.elapsed(), ttl);
    assert_eq!(
        run(bin().arg("verify").arg(dir.path())).status.code(),
        Some(0)
    );
    let seen = ndjson_counts(dir.path(), "id");
    assert_eq!(seen.len(), records.len());
    assert!(seen.values().all(|n| *n == 1), "an entry delivered twice");
}

#[test]
fn each_misconfiguration_fails_with_one_line_and_writes_nothing() {
    let sim = sim_with(&demo_records(), oauth_config(None));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let not_a_key = dir.path().join("notes.txt");
    std::fs::write(&not_a_key, "not a key").unwrap();
    let other = fixture("test-only-jwt-other-private.pem");
    let ec = fixture("test-only-ec-private.pem");
    let missing = dir.path().join("absent.pem");
    type Case<'a> = (Vec<(&'a str, &'a str)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("WORKFRONT_CLIENT_SECRET", "wrong")],
            3,
            "client secret is wrong",
        ),
        (
            vec![("WORKFRONT_PRIVATE_KEY_FILE", other.to_str().unwrap())],
            3,
            "signature",
        ),
        (vec![("WORKFRONT_CUSTOMER_ID", "someone-else")], 3, "iss"),
        (vec![("WORKFRONT_USER_ID", "")], 2, "set WORKFRONT_USER_ID"),
        (
            vec![("WORKFRONT_PRIVATE_KEY_FILE", ec.to_str().unwrap())],
            2,
            "not an RSA private key",
        ),
        (
            vec![("WORKFRONT_PRIVATE_KEY_FILE", not_a_key.to_str().unwrap())],
            2,
            "not an RSA private key",
        ),
        (
            vec![("WORKFRONT_PRIVATE_KEY_FILE", missing.to_str().unwrap())],
            2,
            "cannot read the private key file",
        ),
        (vec![("WORKFRONT_API_KEY", KEY)], 2, "several credentials"),
    ];
    for (vars, code, says) in cases {
        let o = run(with_jwt(&sim, "export", &vars).arg("-o").arg(&out));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "{vars:?}: {err}");
        assert!(err.contains(says), "{vars:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!out.exists(), "{vars:?}: nothing written");
    }
}

#[test]
fn no_secret_of_the_jwt_flow_leaks_into_any_output() {
    let ttl = Duration::from_millis(100);
    let sim = sim_with(&demo_records(), oauth_config(Some(ttl)));
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("evidence");
    let mut seen = String::new();
    for (command, extra) in [
        ("export", vec!["-vv", "-o", "x.csv"]),
        (
            "sync",
            vec!["-vv", "--out-dir", "evidence", "--since", "2025-01-01"],
        ),
        ("count", vec!["-vv"]),
    ] {
        let o = run(with_jwt(&sim, command, &[])
            .args(extra)
            .current_dir(dir.path()));
        assert_eq!(o.status.code(), Some(0), "{command}: {}", stderr(&o));
        seen.push_str(&stdout(&o));
        seen.push_str(&stderr(&o));
    }
    // A refused exchange's error too.
    let o = run(with_jwt(&sim, "count", &[("WORKFRONT_CUSTOMER_ID", "x")]).arg("-vv"));
    seen.push_str(&stderr(&o));
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        seen.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    seen.push_str(&std::fs::read_to_string(dir.path().join("x.csv")).unwrap());
    let key = std::fs::read_to_string(fixture("test-only-jwt-private.pem")).unwrap();
    let key_line = key.lines().nth(1).unwrap();
    for secret in [CLIENT_SECRET, key_line, "eyJ", "sess-"] {
        assert!(!seen.contains(secret), "{secret:?} leaked");
    }
    assert!(
        sim.simulator
            .request_log()
            .iter()
            .all(|l| !l.contains(CLIENT_SECRET))
    );
    check_paths_only(&sim);
}

/// No request line carries a credential.
fn check_paths_only(sim: &SimHandle) {
    for line in sim.simulator.request_log() {
        assert!(
            !line.contains("sess-") && !line.contains("jwt_token"),
            "{line}"
        );
    }
}

/// `login` without a browser: the test follows the printed URL itself, as a browser would.
fn login(sim: &SimHandle, state: &Path) -> std::process::Output {
    use std::io::BufRead;
    let mut child = bin()
        .args(["login", "--no-browser", "--port", "0"])
        .env("WORKFRONT_URL", &sim.url)
        .env("WORKFRONT_CLIENT_ID", CLIENT_ID)
        .env("WORKFRONT_CLIENT_SECRET", CLIENT_SECRET)
        .env("XDG_STATE_HOME", state)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let url = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "login printed no URL"
        );
        if let Some(url) = line.trim().split("sign in to Workfront at: ").nth(1) {
            break url.to_string();
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        jrnle_audit::crypto::install();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let approve = http.get(&url).send().await.unwrap();
        assert_eq!(approve.status(), 302);
        let back = approve.headers()["location"].to_str().unwrap().to_string();
        assert!(
            back.starts_with("http://127.0.0.1:") && back.contains("code="),
            "{back}"
        );
        let page = http.get(&back).send().await.unwrap();
        assert_eq!(page.status(), 200);
    });
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let mut o = child.wait_with_output().unwrap();
    o.stderr = format!("{line}{rest}").into_bytes();
    o
}

#[test]
fn login_once_then_every_command_works_with_rotating_refresh_tokens() {
    let ttl = Duration::from_millis(200);
    let mut config = oauth_config(Some(ttl));
    if let Some(app) = config.oauth.as_mut() {
        app.rotate_refresh_tokens = true;
    }
    let records = generate(12_000, 3);
    let sim = sim_with(&records, config);
    let state = tempfile::tempdir().unwrap();
    let o = login(&sim, state.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let token_file = state.path().join("jrnle-audit").join("default.login.json");
    let read = || std::fs::read_to_string(&token_file).unwrap();
    let first = read();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!first.contains(CLIENT_SECRET));
    // Later runs: the URL and the client secret, no other credential.
    let run_with_login = |command: &str| {
        let mut cmd = bin();
        cmd.arg(command)
            .env("WORKFRONT_URL", &sim.url)
            .env("WORKFRONT_CLIENT_SECRET", CLIENT_SECRET)
            .env("XDG_STATE_HOME", state.path());
        cmd
    };
    let before = sim.simulator.sessions_issued();
    let started = Instant::now();
    let o = run(run_with_login("export").args(["--since", "2000-01-01", "-vv"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Sessions from the stored login are renewed as they expire, too.
    check_renewals(
        sim.simulator.sessions_issued() - before,
        started.elapsed(),
        ttl,
    );
    assert_eq!(csv_ids(&stdout(&o)).len(), records.len());
    let mut seen = format!("{}{}", stderr(&o), stdout(&o));
    let second = read();
    assert_ne!(first, second, "the rotated refresh token was stored");
    let status = run(run_with_login("auth").arg("status"));
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let said = stdout(&status);
    assert!(
        said.contains("stored login") && said.contains("works: yes"),
        "{said}"
    );
    let refresh_token = |text: &str| {
        serde_json::from_str::<serde_json::Value>(text).unwrap()["refresh_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    seen.push_str(&said);
    seen.push_str(&stderr(&status));
    for secret in [
        refresh_token(&first),
        refresh_token(&read()),
        CLIENT_SECRET.to_string(),
    ] {
        assert!(!seen.contains(&secret), "leaked");
    }
    assert!(
        !seen.contains("sess-") && !seen.contains("refresh-"),
        "a token leaked"
    );
    // A token file others can read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let o = run(&mut run_with_login("count"));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("chmod 600"), "{}", stderr(&o));
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // A refresh token the server retired (rotation made the first one stale).
    std::fs::write(&token_file, &first).unwrap();
    let o = run(&mut run_with_login("count"));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("run `jrnle-audit login` again"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(&refresh_token(&first)));
    // logout deletes it; then there is no credential.
    let o = run(bin().arg("logout").env("XDG_STATE_HOME", state.path()));
    assert_eq!(o.status.code(), Some(0));
    assert!(!token_file.exists());
    assert_eq!(run(&mut run_with_login("count")).status.code(), Some(2));
}
