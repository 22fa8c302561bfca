//! Test helpers: a hermetic command, a simulator per test, and parsing output back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use jrnle_audit::input::{RawRecord, parse_raw_records};
use jrnle_audit::secret::Secret;
use jrnle_audit::simulator::{DEMO_DATA, SimConfig, SimHandle, Simulator};

/// The key every test simulator accepts.
pub const KEY: &str = "test-key-4f1c9a7e0b2d";

/// The binary with an empty environment: no stray WORKFRONT_* variable can leak in.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jrnle-audit"));
    cmd.env_clear().stdin(Stdio::null());
    cmd
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn demo_records() -> Vec<RawRecord> {
    parse_raw_records(DEMO_DATA, "demo").unwrap()
}

/// A simulator accepting the test key in each slot (as an API key, a session ID and a bearer
/// token: the simulator accepts each only where it is configured).
pub fn sim_config() -> SimConfig {
    SimConfig {
        api_key: Some(Secret::new(KEY)),
        session_id: Some(Secret::new(KEY)),
        bearer_token: Some(Secret::new(KEY)),
        ..SimConfig::default()
    }
}

pub fn sim(records: &[RawRecord]) -> SimHandle {
    sim_with(records, sim_config())
}

pub fn sim_with(records: &[RawRecord], config: SimConfig) -> SimHandle {
    Simulator::new(config, records).spawn().unwrap()
}

/// `jrnle-audit <command>` pointed at `sim` with the test key.
pub fn against(sim: &SimHandle, command: &str) -> Command {
    let mut cmd = bin();
    cmd.arg(command)
        .env("WORKFRONT_URL", &sim.url)
        .env("WORKFRONT_API_KEY", KEY);
    cmd
}

/// Run and capture.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Run, insist on success, return stdout.
pub fn ok(cmd: &mut Command) -> String {
    let o = run(cmd);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    stdout(&o)
}

/// Parse CSV output back into rows keyed by column.
pub fn csv_rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Parse NDJSON output back into objects.
pub fn ndjson_rows(text: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    text.lines()
        .map(|l| match serde_json::from_str(l).unwrap() {
            serde_json::Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        })
        .collect()
}

/// The ids of CSV output, in order.
pub fn csv_ids(text: &str) -> Vec<String> {
    csv_rows(text)
        .into_iter()
        .map(|r| r["id"].clone())
        .collect()
}

/// The raw record's text field.
pub fn raw_str<'a>(r: &'a RawRecord, key: &str) -> Option<&'a str> {
    r.get(key).and_then(|v| v.as_str())
}

/// The first of `names` that runs (`name args...` exits 0), or `None`. CI installs every tool
/// a test needs and sets `JRNLE_REQUIRE_TOOLS`, so a missing tool fails there; elsewhere the
/// test says it skipped.
pub fn tool<'a>(names: &[&'a str], args: &[&str]) -> Option<&'a str> {
    let found = names.iter().copied().find(|name| {
        Command::new(name)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("JRNLE_REQUIRE_TOOLS").is_none(),
            "{} is not installed",
            names.join(" or ")
        );
        eprintln!("skipped: {} is not installed", names.join(" or "));
    }
    found
}

/// `simulate` run as a process, killed when dropped.
pub struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `simulate ARGS` and read its address from the first line it prints.
pub fn start_simulate(args: &[&str], stderr: Stdio) -> (Running, String) {
    let mut child = bin()
        .arg("simulate")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let url = listening_on(&mut child);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (Running(child), url)
}

/// The address a server process (`simulate`, `listen`) prints on its first line.
pub fn listening_on(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string()
}

/// How often each value of `column` occurs in the NDJSON files of `dir` (a sync or listen
/// out-dir): every committed record is there once, or the count says otherwise.
pub fn ndjson_counts(dir: &Path, column: &str) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ndjson") {
            for row in ndjson_rows(&std::fs::read_to_string(&path).unwrap()) {
                *seen
                    .entry(row[column].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
        }
    }
    seen
}

/// Run `cmd` again and again, each run killed with SIGKILL at a random moment (seeded by
/// `KILL_SEED`, else `seed`) or left to finish, until at least 10 of each: a run that ended on
/// its own must have succeeded. The kill moments are drawn from a range that adapts to how
/// long a run takes on this machine, so both kinds are many however loaded it is. After each
/// kill, `verify` of `out_dir` must find nothing but what an interrupted run leaves.
pub fn kill_at_random_moments(
    mut cmd: impl FnMut() -> Command,
    seed: u64,
    range: u64,
    out_dir: &Path,
) {
    let mut rng = jrnle_audit::rng::SplitMix64::new(
        std::env::var("KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(seed),
    );
    let (step_up, step_down) = (range / 6, range / 12);
    let (mut killed, mut finished, mut range) = (0, 0, range);
    for _ in 0..80 {
        let mut child = cmd()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(rng.below(range)));
        let kill = child.try_wait().unwrap().is_none();
        if kill {
            child.kill().unwrap();
            killed += 1;
            range += step_up;
        } else {
            finished += 1;
            range = range.saturating_sub(step_down).max(step_down * 2);
        }
        let status = child.wait().unwrap();
        assert!(status.success() || kill, "a run failed: {status}");
        if kill {
            verified_after_a_kill(out_dir);
        }
        if killed >= 10 && finished >= 10 {
            break;
        }
    }
    assert!(
        killed >= 10 && finished >= 10,
        "{killed} killed, {finished} finished: the test proves little"
    );
}

/// What `verify` says of an out-dir right after a `kill -9`: intact, or only what an
/// interrupted run leaves (never tampering); before the first commit, no series yet.
pub fn verified_after_a_kill(out_dir: &Path) {
    let o = run(bin().arg("verify").arg("--json").arg(out_dir));
    let found: serde_json::Value = serde_json::from_str(stdout(&o).trim())
        .unwrap_or_else(|e| panic!("verify --json: {e}: {}", stderr(&o)));
    let not_interrupted: Vec<&serde_json::Value> = found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] != "interrupted")
        .collect();
    assert!(
        not_interrupted.is_empty(),
        "verify after a kill -9 reports tampering: {not_interrupted:?}"
    );
    let no_series_yet = found["manifests"] == 0;
    assert!(
        o.status.code() == Some(0) || no_series_yet,
        "verify after a kill -9: {}",
        stderr(&o)
    );
}

/// Wait until `ready` holds, polling; fail only if it has not after a minute (a hang, not a
/// slow machine). For what a test must see happen before it goes on (a file appears, the
/// simulator holds a request), instead of a sleep hoped to be long enough.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "still waiting after 60 s for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Run `cmd` while `sim` holds the answers the caller chose to hold (`hold_answers`,
/// `hold_answers_where`) until `ready` holds, then let them all go: what must happen while the
/// run waits for its answers (so many requests out at once, one refused for going over a
/// limit) happens on purpose, whatever the machine's speed.
pub fn run_holding(
    sim: &SimHandle,
    cmd: &mut Command,
    what: &str,
    ready: impl FnMut() -> bool,
) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(what, ready);
    sim.simulator.release_answers();
    child.wait_with_output().unwrap()
}

/// The names of the entries of `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Everything `out` gives, gathered by a thread as it comes (what a pseudo-terminal draws):
/// the bytes so far, and the thread, which ends with `out`.
pub fn gather(
    mut out: impl std::io::Read + Send + 'static,
) -> (
    std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    std::thread::JoinHandle<()>,
) {
    let gathered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let thread = {
        let gathered = gathered.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                gathered.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    (gathered, thread)
}

/// An OpenSSH Ed25519 private key (unencrypted, mode 0600) at `dir/name`, made from `seed`
/// without ssh-keygen, for runs that sign their manifests; returns its path.
pub fn signing_key(dir: &Path, name: &str, seed: u8) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let pair = ssh_key::private::Ed25519Keypair::from_seed(&[seed; 32]);
    let key = ssh_key::PrivateKey::from(pair);
    let path = dir.join(name);
    key.write_openssh_file(&path, ssh_key::LineEnding::LF)
        .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A report's HTML without the marks that only steer line breaks (`<wbr>`, and the spans
/// that keep a word whole), so tests can look for the text as written.
pub fn without_marks(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html.replace("<wbr>", "");
    while let Some(at) = rest.find("<span class=\"w\">") {
        out.push_str(&rest[..at]);
        let inner = &rest[at + "<span class=\"w\">".len()..];
        let end = inner.find("</span>").unwrap_or(inner.len());
        out.push_str(&inner[..end]);
        rest = inner[(end + "</span>".len()).min(inner.len())..].to_string();
    }
    out.push_str(&rest);
    out
}

/// `verify --json DIR EXTRA...`: its exit code and the kind of each finding.
pub fn finding_kinds(dir: &Path, extra: &[&str]) -> (Option<i32>, Vec<String>) {
    let o = run(bin().args(["verify", "--json"]).arg(dir).args(extra));
    let found: serde_json::Value = serde_json::from_str(stdout(&o).trim())
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", stderr(&o)));
    let kinds = found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect();
    (o.status.code(), kinds)
}

/// Chromium, or `None` where it is not installed (CI installs it and sets
/// `JRNLE_REQUIRE_TOOLS`, so a missing browser fails there).
pub fn chromium() -> Option<&'static str> {
    tool(
        &["chromium", "chromium-browser", "google-chrome"],
        &["--version"],
    )
}

/// Headless `browser` on `page` with `flags` (a window size, `--dump-dom`, `--screenshot`,
/// `--print-to-pdf`...), in a throw-away profile.
pub fn headless(browser: &str, page: &Path, flags: &[&str]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(flags)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

/// Run an installer, failing the test with what it printed when it fails.
pub fn install(cmd: &mut Command) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A virtualenv in `dir` with `packages` installed from PyPI; its python, or `None` (skipped)
/// where Python's venv is missing and tools are not required.
pub fn python_venv(dir: &std::path::Path, packages: &[&str]) -> Option<std::path::PathBuf> {
    let python = tool(&["python3"], &["-c", "import venv, ensurepip"])?;
    let venv = dir.join("venv");
    install(Command::new(python).args(["-m", "venv"]).arg(&venv));
    install(
        Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check"])
            .args(packages),
    );
    Some(venv.join("bin/python"))
}

/// `n` with thousands separators, as the report and summaries count.
pub fn format_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
