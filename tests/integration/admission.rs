//! `listen` admits before it works (issue 26): strangers holding connections open (idle, or
//! sending headers a byte at a time) never keep a delivery out, over plain HTTP and TLS (how
//! fast deliveries go alongside them is in `benches/listen.py admission`); a
//! request without the token is answered from its headers, its body never read; SIGTERM with
//! slow clients exits within the grace.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::listen::{Listen, TOKEN, certificates, committed, delivery};
use crate::util::*;

/// Raise this process's open-file limit as far as allowed (the listener inherits it): the
/// test holds over a thousand sockets.
fn more_files() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
}

/// 1,000 idle connections and 300 that send a request's first bytes one at a time, none
/// with the token; kept going until the returned flag is set.
fn strangers(addr: &str) -> (Vec<TcpStream>, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let trickling: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let trickle = std::thread::spawn({
        let done = done.clone();
        move || {
            let head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nX-Pad: ";
            let mut at = 0;
            let mut trickling = trickling;
            while !done.load(Ordering::SeqCst) {
                let byte = [head.get(at).copied().unwrap_or(b'a')];
                // A connection the listener closed just fails: it keeps its socket anyway.
                trickling.iter_mut().for_each(|s| drop(s.write(&byte)));
                at += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    (idle, done, trickle)
}

/// POST 50 deliveries one after another; the statuses. Each is given 30 s, a bound no slow
/// machine reaches but a blocked receiver does (before issue 26 the strangers held every slot
/// for as long as they stayed: deliveries were never served). How fast they are acknowledged
/// alongside strangers is measured in `benches/listen.py admission`, not asserted here.
fn fifty_deliveries(url: &str, ca: Option<&Path>) -> Vec<Result<u16, String>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        jrnle_audit::crypto::install();
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
        if let Some(dir) = ca {
            let pem = std::fs::read(dir.join("ca.pem")).unwrap();
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
        }
        let client = builder.build().unwrap();
        let mut statuses = Vec::new();
        for k in 0..50 {
            let sent = client
                .post(format!("{url}/"))
                .header("Authorization", format!("Bearer {TOKEN}"))
                .body(delivery(1000 + k))
                .send()
                .await;
            statuses.push(
                sent.map(|r| r.status().as_u16())
                    .map_err(|e| format!("{e:?}")),
            );
        }
        statuses
    })
}

fn strangers_never_keep_a_delivery_out(extra: &[&str], ca: Option<&Path>) {
    more_files();
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(dir.path(), &[&["--format", "ndjson"], extra].concat());
    let addr = listen.1.split("://").nth(1).unwrap().to_string();
    let (idle, done, trickle) = strangers(&addr);
    let statuses = fifty_deliveries(&listen.1, ca);
    done.store(true, Ordering::SeqCst);
    trickle.join().unwrap();
    drop(idle);
    let failed: Vec<_> = statuses.iter().filter(|s| **s != Ok(200)).collect();
    assert!(failed.is_empty(), "not acknowledged: {failed:?}");
    listen.stop();
    assert_eq!(committed(dir.path()).len(), 50);
}

#[test]
fn idle_and_trickling_strangers_never_keep_a_delivery_out() {
    strangers_never_keep_a_delivery_out(&[], None);
}

#[test]
fn idle_and_trickling_strangers_never_keep_a_delivery_out_over_tls() {
    let Some(openssl) = tool(&["openssl"], &["version"]) else {
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path(), openssl);
    let c = |name: &str| certs.path().join(name).display().to_string();
    strangers_never_keep_a_delivery_out(
        &[
            "--tls-cert",
            &c("server.pem"),
            "--tls-key",
            &c("server.key"),
        ],
        Some(certs.path()),
    );
}

/// Send `head` on a new connection and read what comes back within `wait`.
fn raw(addr: &str, head: &str, wait: Duration) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    let mut answer = vec![0; 4096];
    let n = s.read(&mut answer).unwrap_or(0);
    (s, String::from_utf8_lossy(&answer[..n]).into_owned())
}

#[test]
fn a_request_without_the_token_is_answered_from_its_headers() {
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(dir.path(), &[]);
    let addr = listen.1.trim_start_matches("http://").to_string();
    // A body of 1 MB announced, none sent: the answer comes from the headers alone.
    let head = "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\
                Content-Length: 1000000\r\n\r\n";
    let (_s, answer) = raw(&addr, head, Duration::from_secs(30));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer:?}"
    );
    // With the token, the same request waits for its body, and a body too slow is cut.
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 1000\r\n\r\n{{"
    );
    let (_s, answer) = raw(&addr, &head, Duration::from_secs(30));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    let summary = listen.stop();
    assert!(summary.contains("0 deliveries acknowledged"), "{summary}");
}

#[test]
fn sigterm_with_slow_clients_exits_within_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let mut listen = Listen::start_verbose(
        dir.path(),
        &[
            "--format",
            "ndjson",
            "--grace",
            "1s",
            "--idle-timeout",
            "1h",
        ],
    );
    let addr = listen.1.trim_start_matches("http://").to_string();
    assert_eq!(listen.post(&delivery(1), Some(TOKEN)), 200);
    // Idle strangers, and a delivery whose body never finishes.
    let _idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let mut slow = TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 100000\r\n\r\n{{"
    );
    slow.write_all(head.as_bytes()).unwrap();
    // SIGTERM once the slow delivery is being read (before, it is an idle connection).
    listen.wait_for_line("a delivery of 100000 bytes is being read");
    let asked = Instant::now();
    let (code, stderr) = listen.terminate();
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "{stderr}");
    // The grace ran out and the slow request was closed: said, not timed. The bound only
    // tells a hang (before issue 26: no exit within 40 s) from an exit, with room for any
    // machine.
    assert!(stderr.contains("closed unanswered"), "{stderr}");
    assert!(
        took < Duration::from_secs(30),
        "no exit {took:?} after SIGTERM"
    );
    // What was acknowledged is committed.
    assert_eq!(committed(dir.path()).len(), 1);
}

#[test]
fn the_quarantine_keeps_bodies_whole_up_to_its_daily_cap() {
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(dir.path(), &["--quarantine-cap", "30"]);
    for _ in 0..4 {
        assert_eq!(listen.post("{not json", Some(TOKEN)), 400);
    }
    listen.stop();
    let kept = std::fs::read_to_string(dir.path().join("quarantine.journal")).unwrap();
    let lines: Vec<serde_json::Value> = kept
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "every refused body is recorded");
    // 3 × 9 bytes fit in 30; the fourth is recorded by its size and digest only.
    let whole: Vec<bool> = lines.iter().map(|l| !l["body"].is_null()).collect();
    assert_eq!(whole, [true, true, true, false]);
    let digest = jrnle_audit::digest::sha256_hex(b"{not json");
    assert!(
        lines
            .iter()
            .all(|l| l["sha256"] == digest.as_str() && l["size"] == 9)
    );
}

#[test]
fn a_listen_that_cannot_bind_leaves_no_out_dir() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("new");
    let o = run(bin()
        .args(["listen", "--bind", &addr, "--out-dir"])
        .arg(&dir)
        .env("WORKFRONT_EVENT_TOKEN", TOKEN));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot listen on"), "{}", stderr(&o));
    assert!(!dir.exists(), "the out-dir it created stayed");
}

#[test]
fn a_reason_quoting_the_body_is_cut_short_in_the_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(dir.path(), &["--quarantine-cap", "1000"]);
    let body = serde_json::json!({"eventType": "X".repeat(100_000)}).to_string();
    assert_eq!(listen.post(&body, Some(TOKEN)), 400);
    listen.stop();
    let kept = std::fs::read(dir.path().join("quarantine.journal")).unwrap();
    assert!(kept.len() < 2_000, "{} bytes kept past the cap", kept.len());
}

#[test]
fn max_connections_is_fitted_under_the_open_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_jrnle-audit");
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec '{bin}' listen --bind 127.0.0.1:0 --out-dir '{}'",
            dir.path().display()
        ))
        .env("WORKFRONT_EVENT_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let url = listening_on(&mut child);
    assert!(url.starts_with("http://"));
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("serving at most 192 at once"), "{stderr}");
}
