//! `listen` as Workfront's event deliveries meet it: nothing acknowledged is lost or repeated
//! across `kill -9` and restarts, duplicates and reordering are absorbed, what is not a
//! delivery is refused and kept, and the out-dir verifies like a sync's.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::{Value, json};

use crate::simulator::post_or_get;
use crate::util::*;

pub(crate) const TOKEN: &str = "event-test-token-71c";

/// `listen` on a free port, its address read from its first line.
pub(crate) struct Listen(Child, pub(crate) String, Option<StderrReader>);

/// A reader of `listen`'s stderr (`Listen::wait_for_line`): its thread, the lines it has
/// read since, and what was read before.
type StderrReader = (
    std::thread::JoinHandle<()>,
    std::sync::Mutex<std::sync::mpsc::Receiver<String>>,
    String,
);

impl Listen {
    pub(crate) fn start(dir: &Path, extra: &[&str]) -> Listen {
        Listen::start_on(dir, "127.0.0.1:0", extra)
    }

    pub(crate) fn start_on(dir: &Path, bind: &str, extra: &[&str]) -> Listen {
        Listen::spawn(&[], dir, bind, extra, &[])
    }

    /// With these environment variables too.
    pub(crate) fn start_with_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Listen {
        Listen::spawn(&[], dir, "127.0.0.1:0", extra, env)
    }

    /// With `-vv` (the top-level flag): its debug lines on stderr.
    pub(crate) fn start_verbose(dir: &Path, extra: &[&str]) -> Listen {
        Listen::spawn(&["-vv"], dir, "127.0.0.1:0", extra, &[])
    }

    fn spawn(top: &[&str], dir: &Path, bind: &str, extra: &[&str], env: &[(&str, &str)]) -> Listen {
        let mut child = bin()
            .envs(env.iter().copied())
            .args(top)
            .args(["listen", "--bind", bind, "--out-dir"])
            .arg(dir)
            .args(extra)
            .env("WORKFRONT_EVENT_TOKEN", TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let url = listening_on(&mut child);
        Listen(child, url, None)
    }

    pub(crate) fn post(&self, body: &str, token: Option<&str>) -> u16 {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        post_or_get(
            reqwest::Method::POST,
            &format!("{}/", self.1),
            &headers,
            Some(body.into()),
        )
        .0
    }

    /// Read stderr as it comes until a line holds `needle` (a moment the test must see
    /// before it goes on); what was read is handed back by `terminate`.
    pub(crate) fn wait_for_line(&mut self, needle: &str) {
        use std::io::BufRead;
        let stderr = self.0.stderr.take().expect("stderr is read once");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = String::new();
        loop {
            let line = rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no line with {needle:?} in a minute: {seen}"));
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(needle) {
                break;
            }
        }
        self.2 = Some((reader, std::sync::Mutex::new(rx), seen));
    }

    /// SIGTERM: it stops accepting, commits and exits; its exit status and stderr.
    pub(crate) fn terminate(mut self) -> (Option<i32>, String) {
        let pid = self.0.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        let o = std::mem::replace(
            &mut self.0,
            std::process::Command::new("true").spawn().unwrap(),
        )
        .wait_with_output()
        .unwrap();
        let mut stderr = String::from_utf8_lossy(&o.stderr).to_string();
        if let Some((reader, rx, seen)) = self.2.take() {
            reader.join().unwrap();
            stderr = seen
                + &rx
                    .into_inner()
                    .unwrap()
                    .try_iter()
                    .map(|l| l + "\n")
                    .collect::<String>();
        }
        (o.status.code(), stderr)
    }

    /// SIGTERM: stop, commit, exit 0.
    pub(crate) fn stop(self) -> String {
        let (code, stderr) = self.terminate();
        assert_eq!(code, Some(0), "{stderr}");
        stderr
    }

    pub(crate) fn kill9(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A status change of task `n`, at second `n` after an epoch.
pub(crate) fn delivery(n: u64) -> String {
    json!({"eventType": "UPDATE", "subscriptionId": "sub-7",
        "eventTime": {"epochSecond": 1_700_000_000 + n, "nano": 0},
        "eventVersion": "v2", "subscriptionVersion": "v2",
        "oldState": {"ID": format!("task{n}"), "objCode": "TASK", "status": "INP"},
        "newState": {"ID": format!("task{n}"), "objCode": "TASK", "status": "CPL",
                     "lastUpdatedByID": "u1"}})
    .to_string()
}

/// Every record of the committed data files: obj_id → how often.
pub(crate) fn committed(dir: &Path) -> HashMap<String, usize> {
    ndjson_counts(dir, "obj_id")
}

#[test]
fn nothing_acknowledged_is_lost_or_repeated_across_kill_9_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    // Signed: a kill between a manifest's signature and the manifest is an interrupted run.
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "key", 3);
    let signing: &[&str] = &["--signing-key", key.to_str().unwrap()];
    let mut acked = HashSet::new();
    let mut n = 0;
    for round in 0..4 {
        // The first run never rotates (the default is an hour), so it is killed with all it
        // acknowledged journaled and uncommitted, whatever the machine's speed.
        let rotate: &[&str] = if round == 0 {
            &[]
        } else {
            &["--rotate", "200ms"]
        };
        let listen = Listen::start(
            dir.path(),
            &[&["--format", "ndjson"], rotate, signing].concat(),
        );
        // Deliveries from several connections at once, each retried by "Workfront" until it
        // is acknowledged; some delivered twice.
        let batch: Vec<u64> = (n..n + 60).collect();
        n += 60;
        std::thread::scope(|s| {
            let results: Vec<_> = batch
                .chunks(15)
                .map(|chunk| {
                    let listen = &listen;
                    s.spawn(move || {
                        chunk
                            .iter()
                            .filter(|&&k| {
                                let first = listen.post(&delivery(k), Some(TOKEN)) == 200;
                                let again =
                                    k % 7 == 0 && listen.post(&delivery(k), Some(TOKEN)) == 200;
                                first || again
                            })
                            .copied()
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            for r in results {
                acked.extend(r.join().unwrap());
            }
        });
        // Killed at once (the first before any rotation: the next run must commit what it
        // journaled), or some time into its rotations of 200 ms, maybe while committing.
        std::thread::sleep(std::time::Duration::from_millis([0, 120, 230, 410][round]));
        listen.kill9();
        verified_after_a_kill(dir.path());
    }
    assert_eq!(acked.len(), 240, "every delivery was acknowledged");
    // The last run commits what the killed ones journaled.
    let summary = Listen::start(dir.path(), &[&["--format", "ndjson"], signing].concat()).stop();
    assert!(summary.contains("0 deliveries acknowledged"), "{summary}");
    let seen = committed(dir.path());
    for k in &acked {
        assert_eq!(seen.get(&format!("task{k}")), Some(&1), "task{k}");
    }
    assert_eq!(seen.len(), acked.len());
    let o = run(bin().arg("verify").arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn duplicates_and_reordered_deliveries_give_each_change_once_in_event_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(dir.path(), &["--format", "ndjson"]);
    for k in [5, 3, 9, 3, 5, 1] {
        assert_eq!(listen.post(&delivery(k), Some(TOKEN)), 200);
    }
    listen.stop();
    // A duplicate arriving in a later run (Workfront retries for 48 hours) is left out too.
    let listen = Listen::start(dir.path(), &["--format", "ndjson"]);
    assert_eq!(listen.post(&delivery(9), Some(TOKEN)), 200);
    assert_eq!(listen.post(&delivery(11), Some(TOKEN)), 200);
    listen.stop();
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    files.sort();
    let first = ndjson_rows(&std::fs::read_to_string(&files[0]).unwrap());
    let ids: Vec<&str> = first
        .iter()
        .map(|r| r["obj_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["task1", "task3", "task5", "task9"]);
    assert_eq!(first[0]["change_type"], "E");
    assert_eq!(first[0]["old_value"], "INP");
    assert_eq!(first[0]["new_value"], "CPL");
    assert_eq!(first[0]["entry_date"], "2023-11-14T22:13:21.000Z");
    // The contract's columns, then where the record came from.
    assert_eq!(first[0]["source"], "event");
    let keys: Vec<&String> = first[0].keys().collect();
    assert_eq!(keys.len(), jrnle_audit::model::change::COLUMNS.len() + 1);
    let second = ndjson_rows(&std::fs::read_to_string(&files[1]).unwrap());
    let ids: Vec<&str> = second
        .iter()
        .map(|r| r["obj_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["task11"]);
    assert_eq!(
        run(bin().arg("verify").arg(dir.path())).status.code(),
        Some(0)
    );
    // The report reads a listen out-dir as it reads a sync's (and writes outside it).
    let elsewhere = tempfile::tempdir().unwrap();
    let o = run(bin()
        .arg("report")
        .arg(dir.path())
        .arg("-o")
        .arg(elsewhere.path().join("r.html")));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn what_is_not_a_delivery_is_refused_kept_and_never_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(dir.path(), &[]);
    assert_eq!(listen.post(&delivery(1), None), 401);
    assert_eq!(listen.post(&delivery(1), Some("wrong-token")), 401);
    assert_eq!(listen.post("{not json", Some(TOKEN)), 400);
    assert_eq!(listen.post(r#"{"eventType":"SHARE"}"#, Some(TOKEN)), 400);
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1 << 20));
    assert_eq!(listen.post(&big, Some(TOKEN)), 413);
    let (status, body) = crate::simulator::get(&format!("{}/healthz", listen.1), &[]);
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let summary = listen.stop();
    assert!(
        summary.contains("0 deliveries acknowledged, 3 quarantined, 2 refused"),
        "{summary}"
    );
    let kept = std::fs::read_to_string(dir.path().join("quarantine.journal")).unwrap();
    let reasons: Vec<Value> = kept
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reasons.len(), 3);
    assert!(
        reasons[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("not JSON")
    );
    assert!(
        reasons[1]["reason"]
            .as_str()
            .unwrap()
            .contains("unknown eventType")
    );
    assert!(
        reasons[2]["reason"]
            .as_str()
            .unwrap()
            .starts_with("over 1 MB")
    );
    assert_eq!(
        reasons[2]["body"], "",
        "a body over 1 MB is not read, nor kept"
    );
    // The token is in no file and no output.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let text = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&text).contains(TOKEN));
    }
    assert!(!summary.contains(TOKEN));
}

#[test]
fn plain_http_beyond_loopback_and_a_missing_token_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(bin()
        .args(["listen", "--bind", "0.0.0.0:0", "--out-dir"])
        .arg(dir.path())
        .env("WORKFRONT_EVENT_TOKEN", TOKEN));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("loopback only"), "{}", stderr(&o));
    let o = run(bin().args(["listen", "--out-dir"]).arg(dir.path()));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("WORKFRONT_EVENT_TOKEN is not set"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

/// A test-only CA, a server certificate for 127.0.0.1 and a client certificate, made with
/// openssl in `dir`.
pub(crate) fn certificates(dir: &Path, openssl: &str) {
    let run_openssl = |args: &str| {
        let o = std::process::Command::new(openssl)
            .args(args.split_whitespace())
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl {args}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    run_openssl(&format!(
        "req -x509 {ec} -keyout ca.key -out ca.pem -days 2 -subj /CN=test-only-ca"
    ));
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    std::fs::write(dir.join("stranger.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    // The client carries the subject Workfront's delivery certificates carry; the stranger,
    // from the same CA, another.
    for (who, cn) in [
        ("server", "test-only-server"),
        ("client", "hooks.prod.eventsubscriptions.workfront.com"),
        ("stranger", "test-only-stranger"),
    ] {
        run_openssl(&format!(
            "req {ec} -keyout {who}.key -out {who}.csr -subj /CN={cn}"
        ));
        run_openssl(&format!(
            "x509 -req -in {who}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out {who}.pem -days 2 -extfile {who}.ext"
        ));
    }
}

/// POST a delivery over HTTPS trusting the test CA, with the client certificate or not.
fn post_tls(url: &str, dir: &Path, client_cert: Option<&str>) -> Result<u16, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        jrnle_audit::crypto::install();
        let ca =
            reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
        let mut builder = reqwest::Client::builder().add_root_certificate(ca);
        if let Some(who) = client_cert {
            let mut pem = std::fs::read(dir.join(format!("{who}.pem"))).unwrap();
            pem.extend(std::fs::read(dir.join(format!("{who}.key"))).unwrap());
            builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        let client = builder.build().unwrap();
        client
            .post(format!("{url}/"))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .body(delivery(1))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| format!("{e:?}"))
    })
}

#[test]
fn https_with_and_without_the_client_certificate_check() {
    let Some(openssl) = tool(&["openssl"], &["version"]) else {
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path(), openssl);
    let c = |name: &str| certs.path().join(name).display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(
        dir.path(),
        &[
            "--format",
            "ndjson",
            "--tls-cert",
            &c("server.pem"),
            "--tls-key",
            &c("server.key"),
        ],
    );
    assert!(listen.1.starts_with("https://"), "{}", listen.1);
    assert_eq!(post_tls(&listen.1, certs.path(), None), Ok(200));
    // Plain HTTP to the TLS port gets no answer.
    let plain = listen.1.replace("https://", "http://");
    assert!(post_or_get_result(&plain, 2).is_err());
    listen.stop();
    assert_eq!(committed(dir.path()).len(), 1);
    // With --client-ca, a client without a certificate from that CA is not served.
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(
        dir.path(),
        &[
            "--tls-cert",
            &c("server.pem"),
            "--tls-key",
            &c("server.key"),
            "--client-ca",
            &c("ca.pem"),
        ],
    );
    assert!(post_tls(&listen.1, certs.path(), None).is_err());
    assert!(
        post_tls(&listen.1, certs.path(), Some("stranger")).is_err(),
        "the CA's, but not Workfront's subject"
    );
    assert_eq!(post_tls(&listen.1, certs.path(), Some("client")), Ok(200));
    listen.stop();
    // A key that is not the certificate's is refused at start, with nothing served.
    let dir = tempfile::tempdir().unwrap();
    let o = run(bin()
        .args([
            "listen",
            "--bind",
            "0.0.0.0:0",
            "--tls-cert",
            &c("server.pem"),
        ])
        .args(["--tls-key", &c("ca.key"), "--out-dir"])
        .arg(dir.path())
        .env("WORKFRONT_EVENT_TOKEN", TOKEN));
    assert_eq!(o.status.code(), Some(2), "a key of another certificate");
    assert!(stderr(&o).contains("do not make a pair"), "{}", stderr(&o));
}

/// A plain HTTP POST that may fail to get any answer.
fn post_or_get_result(url: &str, timeout_s: u64) -> Result<u16, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        jrnle_audit::crypto::install();
        reqwest::Client::new()
            .post(format!("{url}/"))
            .body(delivery(1))
            .timeout(std::time::Duration::from_secs(timeout_s))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    })
}

#[test]
fn the_simulators_deliveries_reach_listen_exactly_once_across_kill_9() {
    use jrnle_audit::source::events::Delivery;
    let config = jrnle_audit::simulator::SimConfig {
        event_backoff: std::time::Duration::from_millis(30),
        // Every delivery sent twice, and out of the order of its events.
        event_faults: jrnle_audit::simulator::deliver::EventFaults {
            duplicate: true,
            reorder: true,
        },
        ..sim_config()
    };
    let sim = sim_with(&demo_records(), config);
    let dir = tempfile::tempdir().unwrap();
    let args = ["--format", "ndjson", "--rotate", "300ms"];
    let listen = Listen::start(dir.path(), &args);
    let bind = listen.1.trim_start_matches("http://").to_string();
    // Workfront's subscription API: every UPDATE of an issue and of a task, to listen.
    for obj in ["TASK", "OPTASK"] {
        let body = json!({"objCode": obj, "eventType": "UPDATE", "url": format!("{}/", listen.1),
                          "authToken": TOKEN});
        let (status, text) = post_or_get(
            reqwest::Method::POST,
            &format!("{}/attask/eventsubscription/api/v1/subscriptions", sim.url),
            &[("apiKey", KEY), ("Content-Type", "application/json")],
            Some(body.to_string()),
        );
        assert_eq!(status, 201, "{text}");
    }
    // Changes journaled when the test says, not at a rate in wall-clock time: killed once
    // deliveries have begun to be acknowledged (the others still on their way), then more
    // changes while it is down, refused and retried by the simulator until it is back.
    sim.simulator.journal_now(150);
    wait_until("a first delivery acknowledged", || {
        !sim.simulator.deliveries_acknowledged().is_empty()
    });
    listen.kill9();
    sim.simulator.journal_now(150);
    let listen = Listen::start_on(dir.path(), &bind, &args);
    wait_until("every delivery acknowledged or given up", || {
        sim.simulator.deliveries_pending() == 0
    });
    listen.stop();
    let acknowledged = sim.simulator.deliveries_acknowledged();
    assert!(acknowledged.len() > 20, "{} deliveries", acknowledged.len());
    let mut expected = HashSet::new();
    for a in &acknowledged {
        for record in Delivery::parse(&a.body).unwrap().changes() {
            expected.insert(record.id.unwrap().to_string());
        }
    }
    let committed = ndjson_counts(dir.path(), "id");
    for id in &expected {
        assert_eq!(
            committed.get(id),
            Some(&1),
            "{id} of an acknowledged delivery"
        );
    }
    assert!(
        committed.values().all(|n| *n == 1),
        "a change committed twice"
    );
    assert_eq!(
        run(bin().arg("verify").arg(dir.path())).status.code(),
        Some(0)
    );
}

#[test]
fn one_listen_or_sync_at_a_time_per_out_dir() {
    let dir = tempfile::tempdir().unwrap();
    let first = Listen::start(dir.path(), &[]);
    let o = run(bin()
        .args(["listen", "--bind", "127.0.0.1:0", "--out-dir"])
        .arg(dir.path())
        .env("WORKFRONT_EVENT_TOKEN", TOKEN));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another sync, listen or snapshot is running"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        first.post(&delivery(1), Some(TOKEN)),
        200,
        "the first goes on"
    );
    first.stop();
}

#[test]
fn listen_never_builds_on_altered_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(dir.path(), &["--format", "ndjson"]);
    assert_eq!(listen.post(&delivery(1), Some(TOKEN)), 200);
    listen.stop();
    let data = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .unwrap();
    let text = std::fs::read_to_string(&data)
        .unwrap()
        .replace("CPL", "NEW");
    std::fs::write(&data, text).unwrap();
    let manifests = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".manifest.json")
            })
            .count()
    };
    // Refused before it binds: nothing is acknowledged on top of altered evidence.
    crate::journal::refused_at_start(dir.path(), "nothing was appended");
    assert_eq!(
        manifests(dir.path()),
        1,
        "no manifest on top of altered evidence"
    );
}

/// What a commit killed between its data file and its manifest leaves (the next window's
/// data file, its manifest's signature) is removed by the next commit, whose window starts at
/// the same instant: left there, it would be unlisted once that commit moved the head on.
#[test]
fn a_commit_killed_before_its_manifest_is_cleaned_up_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let listen = Listen::start(dir.path(), &["--format", "ndjson"]);
    assert_eq!(listen.post(&delivery(1), Some(TOKEN)), 200);
    listen.stop();
    let head: Value = serde_json::from_str(
        &std::fs::read_to_string(
            names(dir.path())
                .iter()
                .find(|n| n.ends_with(".manifest.json"))
                .map(|n| dir.path().join(n))
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let from = head["window"]["to"]
        .as_str()
        .unwrap()
        .replace([':', '-'], "");
    let orphan = format!("jrnle-{from}-20991231T000000.000Z.ndjson");
    std::fs::write(dir.path().join(&orphan), "").unwrap();
    std::fs::write(dir.path().join(format!("{orphan}.manifest.json.sig")), "x").unwrap();
    let listen = Listen::start(dir.path(), &["--format", "ndjson"]);
    assert_eq!(listen.post(&delivery(2), Some(TOKEN)), 200);
    listen.stop();
    assert!(
        !names(dir.path()).iter().any(|n| n.starts_with(&orphan)),
        "{:?}",
        names(dir.path())
    );
    let o = run(bin().arg("verify").arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
