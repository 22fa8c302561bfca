//! Workfront's OAuth2 flows against the simulator: sessions that expire during a run (the
//! simulator expires each after a set number of requests, so the expiries happen on any
//! machine) are renewed once per expiry and the output is byte-identical; every
//! misconfiguration fails with one line and nothing written; a sign-in completes only with its
//! own `state` and PKCE verifier; no secret leaks.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use jrnle_audit::secret::Secret;
use jrnle_audit::simulator::generate::generate;
use jrnle_audit::simulator::{OAuthApp, SimConfig, SimHandle};

use crate::util::*;

const CLIENT_ID: &str = "jrnle-test-client";
const CLIENT_SECRET: &str = "test-only-client-secret-8d1f";
const CUSTOMER: &str = "cust-5e2";
const USER: &str = "user-77a";

/// API requests a session serves before the simulator answers it 401: more than the
/// requests that can be ahead of one sent again after a renewal (the concurrency of these
/// runs, 4, and the client's page lookahead), so the new session is not used up before it.
/// A run here makes 20 to 30 requests: two expiries or more.
const PER_SESSION: u64 = 10;

fn oauth_config() -> SimConfig {
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
        // Requests overlap, so several meet each expiry at once.
        latency: Duration::from_millis(20),
        ..sim_config()
    }
}

/// A simulator whose sessions expire after [`PER_SESSION`] requests.
fn expiring_sim(records: &[jrnle_audit::input::RawRecord]) -> SimHandle {
    let sim = sim_with(records, oauth_config());
    sim.simulator.expire_sessions_after(Some(PER_SESSION));
    sim
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

/// The simulator's sessions issued and requests served with them so far.
fn usage(sim: &SimHandle) -> (u64, u64) {
    (
        sim.simulator.sessions_issued(),
        sim.simulator.session_requests(),
    )
}

/// One run's sessions since `before`: each session serves [`PER_SESSION`] requests and then
/// expires, so the run's requests met `ceil(requests / PER_SESSION) - 1` expiries, and one
/// renewal per expiry means exactly one session more than that. A second renewal for one
/// expiry, or a renewal before one, would issue a session more. The run's expiries.
fn check_renewals(sim: &SimHandle, before: (u64, u64)) -> u64 {
    let (sessions, requests) = usage(sim);
    let (sessions, requests) = (sessions - before.0, requests - before.1);
    let expiries = requests.div_ceil(PER_SESSION).saturating_sub(1);
    assert_eq!(
        sessions,
        expiries + 1,
        "{sessions} sessions for {requests} requests at {PER_SESSION} a session: not one \
         renewal per expiry"
    );
    expiries
}

#[test]
fn an_export_across_session_expiries_renews_once_per_expiry_with_identical_output() {
    let records = generate(48_000, 4);
    let sim = expiring_sim(&records);
    let args = [
        "--since",
        "2000-01-01",
        "--max-concurrency",
        "4",
        "--format",
        "ndjson",
    ];
    let before = usage(&sim);
    let o = run(with_jwt(&sim, "export", &[]).args(args));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expiries = check_renewals(&sim, before);
    assert!(
        expiries >= 2,
        "the sessions expired during the run: {expiries}"
    );
    // The same bytes as with a key that never expires.
    let by_key = ok(against(&sim, "export").args(args));
    assert_eq!(stdout(&o), by_key);
    assert_eq!(ndjson_rows(&by_key).len(), records.len());
}

#[test]
fn a_sync_across_session_expiries_delivers_every_entry_exactly_once() {
    let records = generate(40_000, 9);
    let sim = expiring_sim(&records);
    let dir = tempfile::tempdir().unwrap();
    let mut expiries = 0;
    for _ in 0..2 {
        // Each run starts with a session of its own.
        let before = usage(&sim);
        let o = run(with_jwt(&sim, "sync", &[])
            .arg("--out-dir")
            .arg(dir.path())
            .args(["--since", "2025-10-01", "--format", "ndjson", "--lag", "0s"]));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        expiries += check_renewals(&sim, before);
    }
    assert!(
        expiries >= 2,
        "the sessions expired during the runs: {expiries}"
    );
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
    let sim = sim_with(&demo_records(), oauth_config());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let not_a_key = dir.path().join("notes.txt");
    std::fs::write(&not_a_key, "not a key").unwrap();
    let other = fixture("test-only-jwt-other-private.pem");
    let ec = fixture("test-only-ec-private.pem");
    let missing = dir.path().join("absent.pem");
    let public = fixture("test-only-jwt-public.pem");
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
        // The public half of the pair, given as the private key: it reads as a key, and
        // only signing shows it cannot sign.
        (
            vec![("WORKFRONT_PRIVATE_KEY_FILE", public.to_str().unwrap())],
            2,
            "holds a public key, not the private key",
        ),
        (vec![("WORKFRONT_API_KEY", KEY)], 2, "several credentials"),
    ];
    for (vars, code, says) in cases {
        let o = run(with_jwt(&sim, "export", &vars).arg("-o").arg(&out));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "{vars:?}: {err}");
        assert!(err.contains(says), "{vars:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        // A key file's problem names the file and the variable that names it.
        if let [("WORKFRONT_PRIVATE_KEY_FILE", file)] = vars.as_slice()
            && code == 2
        {
            assert!(err.contains(file), "{err}");
            assert!(err.contains("(WORKFRONT_PRIVATE_KEY_FILE)"), "{err}");
        }
        assert!(!out.exists(), "{vars:?}: nothing written");
    }
}

#[test]
fn no_secret_of_the_jwt_flow_leaks_into_any_output() {
    let sim = sim_with(&demo_records(), oauth_config());
    // Every other request meets an expiry, so the renewal's messages are seen too; one
    // request at a time, so a renewed session is never used up before its request arrives.
    sim.simulator.expire_sessions_after(Some(2));
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
            .args(["--max-concurrency", "1"])
            .current_dir(dir.path()));
        assert_eq!(o.status.code(), Some(0), "{command}: {}", stderr(&o));
        seen.push_str(&stdout(&o));
        seen.push_str(&stderr(&o));
    }
    assert!(
        seen.contains("has been renewed"),
        "the runs renewed their sessions"
    );
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

/// What `login` did, and the page the browser was shown.
struct SignIn {
    output: std::process::Output,
    page_status: u16,
    page: String,
}

/// `login` without a browser: the test follows the printed URL itself, as a browser would,
/// opening `approve(the printed URL)` and then `back(the simulator's redirect)`; an attack
/// changes one of them.
fn login_via(
    sim: &SimHandle,
    state: &Path,
    approve: impl FnOnce(String) -> String,
    back: impl FnOnce(String) -> String,
) -> SignIn {
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
    let (page_status, page) = rt.block_on(async {
        jrnle_audit::crypto::install();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let approved = http.get(approve(url)).send().await.unwrap();
        assert_eq!(approved.status(), 302);
        let redirect = approved.headers()["location"].to_str().unwrap().to_string();
        assert!(
            redirect.starts_with("http://127.0.0.1:") && redirect.contains("code="),
            "{redirect}"
        );
        let page = http.get(back(redirect)).send().await.unwrap();
        (page.status().as_u16(), page.text().await.unwrap())
    });
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let mut output = child.wait_with_output().unwrap();
    output.stderr = format!("{line}{rest}").into_bytes();
    SignIn {
        output,
        page_status,
        page,
    }
}

/// A sign-in as a browser completes it: it must succeed and say so.
fn login(sim: &SimHandle, state: &Path) -> std::process::Output {
    let signed = login_via(sim, state, |u| u, |u| u);
    assert_eq!(signed.page_status, 200, "{}", signed.page);
    assert!(signed.page.contains("Signed in"), "{}", signed.page);
    signed.output
}

/// `url` with its query parameter `key` set to `value`, or removed (`None`).
fn with_param(url: &str, key: &str, value: Option<&str>) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != key)
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear().extend_pairs(&pairs);
        if let Some(value) = value {
            query.append_pair(key, value);
        }
    }
    url.to_string()
}

/// The PKCE challenge of a verifier the tool never had (BASE64URL(SHA-256) of
/// "test-only-pkce-verifier-0123456789-abcdefghij", computed with Python's hashlib).
const FOREIGN_CHALLENGE: &str = "04IkOaMtM9kO32Ks0WcJc5ymwcyHIAR9h6iQTJkpDPk";

#[test]
fn a_sign_in_completes_only_with_its_own_state_and_pkce_verifier() {
    let sim = sim_with(&demo_records(), oauth_config());
    type Attack = (
        &'static str,
        Box<dyn Fn(String) -> String>,
        Box<dyn Fn(String) -> String>,
        &'static str,
    );
    let same = || Box::new(|u: String| u) as Box<dyn Fn(String) -> String>;
    let attacks: Vec<Attack> = vec![
        // A redirect someone else made (their code, their state) sent to the listener.
        (
            "a foreign state",
            same(),
            Box::new(|u| with_param(&u, "state", Some("forged-state"))),
            "state is missing or is not this sign-in's",
        ),
        (
            "no state",
            same(),
            Box::new(|u| with_param(&u, "state", None)),
            "state is missing or is not this sign-in's",
        ),
        // A code issued for another challenge: the tool's verifier does not match it.
        (
            "a code for another PKCE challenge",
            Box::new(|u| with_param(&u, "code_challenge", Some(FOREIGN_CHALLENGE))),
            same(),
            "code_verifier",
        ),
        (
            "a junk code",
            same(),
            Box::new(|u| with_param(&u, "code", Some("junk"))),
            "the authorization code is invalid",
        ),
    ];
    for (what, approve, back, says) in attacks {
        let state = tempfile::tempdir().unwrap();
        let signed = login_via(&sim, state.path(), approve, back);
        let err = stderr(&signed.output);
        assert_eq!(signed.output.status.code(), Some(3), "{what}: {err}");
        assert!(err.contains(says), "{what}: {err}");
        assert!(err.contains("error:"), "{what}: {err}");
        assert!(
            !signed.page.contains("Signed in"),
            "{what}: {}",
            signed.page
        );
        assert!(signed.page.contains("failed"), "{what}: {}", signed.page);
        assert_eq!(signed.page_status, 400, "{what}");
        let stored = state.path().join("jrnle-audit").join("default.login.json");
        assert!(!stored.exists(), "{what}: no login stored");
    }
}

#[test]
fn login_once_then_every_command_works_with_rotating_refresh_tokens() {
    let mut config = oauth_config();
    if let Some(app) = config.oauth.as_mut() {
        app.rotate_refresh_tokens = true;
    }
    let records = generate(40_000, 3);
    let sim = sim_with(&records, config);
    sim.simulator.expire_sessions_after(Some(PER_SESSION));
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
    let before = usage(&sim);
    let o = run(run_with_login("export").args(["--since", "2000-01-01", "-vv"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Sessions from the stored login are renewed as they expire, too.
    let expiries = check_renewals(&sim, before);
    assert!(
        expiries >= 2,
        "the sessions expired during the run: {expiries}"
    );
    assert_eq!(csv_ids(&stdout(&o)).len(), records.len());
    let mut seen = format!("{}{}", stderr(&o), stdout(&o));
    let second = read();
    assert_ne!(first, second, "the rotated refresh token was stored");
    // A wrong client secret is not fixed by signing in again: the message says what to check.
    let o = run(run_with_login("count").env("WORKFRONT_CLIENT_SECRET", "wrong"));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("check the Web Application's client ID and secret")
            && !stderr(&o).contains("login` again"),
        "{}",
        stderr(&o)
    );
    let status = run(run_with_login("auth").arg("status"));
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let said = stdout(&status);
    assert!(
        said.contains("stored login") && said.contains("works: yes"),
        "{said}"
    );
    // The time in the tool's one format: UTC, milliseconds, Z.
    let refreshed = said
        .split("last refreshed ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(refreshed, "%Y-%m-%dT%H:%M:%S%.3fZ").is_ok()
            && refreshed.len() == "2026-01-01T00:00:00.000Z".len(),
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
    // logout deletes it; then there is no credential, and the message says how to sign in.
    let o = run(bin().arg("logout").env("XDG_STATE_HOME", state.path()));
    assert_eq!(o.status.code(), Some(0));
    assert!(!token_file.exists());
    let o = run(&mut run_with_login("count"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("no credential") && err.contains("`jrnle-audit login`"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
