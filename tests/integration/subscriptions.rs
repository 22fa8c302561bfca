//! `subscriptions create|list|delete` against the simulator's event subscription API, which
//! is as strict as the API notes: exact body fields, a required short token never shown back,
//! 409 for a duplicate, list limits, filters applied to what is delivered, each URL's delivery
//! health counted and a failing URL disabled; `--url` is the tenant, `--delivery-url` the
//! address; tokens shown by their last four characters at most, in `list` and in `simulate -v`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::simulator::{get, post_or_get};
use crate::util::*;

const EVENT_TOKEN: &str = "subscription-token-9d2e";
const SUBS: &str = "/attask/eventsubscription/api/v1/subscriptions";

fn subscriptions(sim: &jrnle_audit::simulator::SimHandle, args: &[&str]) -> std::process::Output {
    let mut cmd = bin();
    cmd.arg("subscriptions")
        .args(args)
        .env("WORKFRONT_URL", &sim.url)
        .env("WORKFRONT_API_KEY", KEY)
        .env("WORKFRONT_EVENT_TOKEN", EVENT_TOKEN);
    run(&mut cmd)
}

#[test]
fn create_list_and_delete_with_the_token_from_the_environment_and_never_shown() {
    let sim = sim(&demo_records());
    let create = [
        "create",
        "--obj-code",
        "task",
        "--event",
        "UPDATE",
        "--delivery-url",
        "https://hooks.example/wf",
        "--filter",
        "status:changed",
        "--filter",
        "old:status:eq:INP",
    ];
    let o = subscriptions(&sim, &create);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let id = out
        .strip_prefix("created subscription ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    // What the simulator stored: the documented fields only, the code upper-cased, filters.
    let (status, body) = get(&format!("{}{SUBS}/{id}", sim.url), &[("apiKey", KEY)]);
    assert_eq!(status, 200, "{body}");
    let stored: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stored["objCode"], "TASK");
    assert_eq!(stored["url"], "https://hooks.example/wf");
    assert_eq!(stored["authToken"], "****9d2e", "masked");
    assert_eq!(
        stored["filters"],
        json!([{"fieldName": "status", "comparison": "changed", "state": "newState"},
               {"fieldName": "status", "comparison": "eq", "state": "oldState", "fieldValue": "INP"}])
    );
    // The same object type, object and URL again: Workfront's 409, exit 4.
    let o = subscriptions(&sim, &create);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("409"), "{}", stderr(&o));
    let o = subscriptions(&sim, &["list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let list = stdout(&o);
    let rows: Vec<&str> = list.lines().collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert!(
        rows[1].starts_with(&format!(
            "{id}\tTASK\tUPDATE\thttps://hooks.example/wf\t****9d2e\t0\t0\tok"
        )),
        "{list}"
    );
    let o = subscriptions(&sim, &["delete", &id]);
    assert_eq!(
        stdout(&o),
        format!("deleted subscription {id}\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&subscriptions(&sim, &["list"])).lines().count(), 1);
    let o = subscriptions(&sim, &["delete", &id]);
    assert_eq!(o.status.code(), Some(4));
    // The token appears in no output.
    for args in [&create[..], &["list"][..]] {
        let o = subscriptions(&sim, args);
        assert!(!stdout(&o).contains(EVENT_TOKEN) && !stderr(&o).contains(EVENT_TOKEN));
    }
}

#[test]
fn bad_input_is_refused_before_any_request() {
    let sim = sim(&demo_records());
    let create = |extra: &[&'static str]| {
        let mut args = vec![
            "create",
            "--obj-code",
            "TASK",
            "--event",
            "UPDATE",
            "--delivery-url",
        ];
        args.extend(extra);
        args
    };
    for (args, needle) in [
        (
            create(&["https://x", "--filter", "status"]),
            "no comparison",
        ),
        (
            create(&["https://x", "--filter", "status:like:x"]),
            "not a comparison",
        ),
        (create(&["hooks.example"]), "is not a URL"),
        (
            create(&["https://x", "--auth-token-env", "NOPE_UNSET"]),
            "NOPE_UNSET is not set",
        ),
    ] {
        let o = subscriptions(&sim, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    assert!(
        sim.simulator.request_log().is_empty(),
        "no request was sent"
    );
}

#[test]
fn the_simulators_subscription_api_is_as_strict_as_the_notes() {
    let sim = sim(&demo_records());
    let url = format!("{}{SUBS}", sim.url);
    let post = |body: Value| {
        let headers = [("apiKey", KEY), ("Content-Type", "application/json")];
        post_or_get(
            reqwest::Method::POST,
            &url,
            &headers,
            Some(body.to_string()),
        )
    };
    let ok =
        json!({"objCode": "PROJ", "eventType": "CREATE", "url": "https://h/x", "authToken": "t"});
    let mut extra = ok.clone();
    extra["name"] = json!("extra");
    assert_eq!(post(extra).0, 400, "an extra field fails creation");
    let mut no_token = ok.clone();
    no_token.as_object_mut().unwrap().remove("authToken");
    assert_eq!(post(no_token).0, 400);
    let mut long = ok.clone();
    long["authToken"] = json!("x".repeat(255));
    assert_eq!(post(long).0, 400);
    let mut share = ok.clone();
    share["eventType"] = json!("SHARE");
    assert_eq!(post(share).0, 400, "SHARE was removed in 2023");
    // Filters are applied, so they must be well formed.
    for (filters, connector) in [
        (
            json!([{"fieldName": "status", "comparison": "like", "fieldValue": "x"}]),
            "AND",
        ),
        (json!([{"fieldName": "status", "comparison": "eq"}]), "AND"),
        (
            json!([{"fieldName": "status", "comparison": "changed", "state": "now"}]),
            "AND",
        ),
        (
            json!([{"fieldName": "status", "comparison": "changed"}]),
            "XOR",
        ),
    ] {
        let mut filtered = ok.clone();
        filtered["filters"] = filters;
        filtered["filterConnector"] = json!(connector);
        let (status, body) = post(filtered.clone());
        assert_eq!(status, 400, "{filtered}: {body}");
    }
    assert_eq!(post(ok.clone()).0, 201);
    assert_eq!(post(ok).0, 409);
    assert_eq!(get(&format!("{url}?limit=1001"), &[("apiKey", KEY)]).0, 422);
    assert_eq!(get(&url, &[]).0, 401, "credentials as everywhere");
}

/// A delivery receiver on loopback: each POST is answered with the status `answer` picks for
/// it (by its number, from 0), and every status it answered is kept in order.
struct Receiver {
    url: String,
    answered: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    fn start(answer: fn(usize) -> u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let answered = Arc::new(Mutex::new(Vec::new()));
        let log = answered.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || answer_requests(stream, answer, &log));
            }
        });
        Receiver { url, answered }
    }

    fn answered(&self, status: u16) -> usize {
        let all = self.answered.lock().unwrap();
        all.iter().filter(|s| **s == status).count()
    }

    fn requests(&self) -> usize {
        self.answered.lock().unwrap().len()
    }
}

/// HTTP/1.1 requests on one connection, each read whole (headers and `Content-Length` body).
fn answer_requests(stream: TcpStream, answer: fn(usize) -> u16, log: &Mutex<Vec<u16>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let status = {
            let mut log = log.lock().unwrap();
            let status = answer(log.len());
            log.push(status);
            status
        };
        let head = format!("HTTP/1.1 {status} Answer\r\nContent-Length: 0\r\n\r\n");
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
    }
}

/// `subscriptions create` of `code` UPDATE events delivered to `url`, with `filters`.
fn create(sim: &jrnle_audit::simulator::SimHandle, code: &str, url: &str, filters: &[&str]) {
    let mut args = vec![
        "create",
        "--obj-code",
        code,
        "--event",
        "UPDATE",
        "--delivery-url",
        url,
    ];
    for f in filters {
        args.extend(["--filter", f]);
    }
    let o = subscriptions(sim, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `subscriptions list`, parsed back: one map of column → value per subscription.
fn list(sim: &jrnle_audit::simulator::SimHandle) -> Vec<std::collections::HashMap<String, String>> {
    let o = subscriptions(sim, &["list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .map(|l| {
            let cells = l.split('\t').map(str::to_string);
            header.iter().map(|h| h.to_string()).zip(cells).collect()
        })
        .collect()
}

/// The simulator's own view of a URL's health (its list answer), for polling.
fn health(sim: &jrnle_audit::simulator::SimHandle) -> Value {
    let (status, body) = get(&format!("{}{SUBS}", sim.url), &[("apiKey", KEY)]);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["data"][0].clone()
}

#[test]
fn a_status_changed_filter_delivers_only_the_events_whose_status_changed() {
    let config = jrnle_audit::simulator::SimConfig {
        event_backoff: std::time::Duration::from_millis(5),
        ..sim_config()
    };
    let sim = sim_with(&demo_records(), config);
    let receiver = Receiver::start(|_| 200);
    create(&sim, "TASK", &receiver.url, &["status:changed"]);
    let before: HashSet<String> = sim
        .simulator
        .entries_snapshot()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    sim.simulator.journal_now(300);
    wait_until("every delivery acknowledged or given up", || {
        sim.simulator.deliveries_pending() == 0
    });
    // The simulator's own journal, read back through the API: the entries just journaled.
    let fresh: HashSet<String> = sim
        .simulator
        .entries_snapshot()
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| !before.contains(id))
        .collect();
    assert_eq!(fresh.len(), 300);
    let out = ok(against(&sim, "export").args(["--format", "ndjson"]));
    let rows: Vec<_> = ndjson_rows(&out)
        .into_iter()
        .filter(|r| fresh.contains(r["id"].as_str().unwrap()))
        .collect();
    assert_eq!(rows.len(), 300, "every entry journaled is exported");
    let task_status_updates = rows.iter().filter(|r| {
        r["obj_code"] == "TASK" && r["change_type"] == "E" && r["field_name"] == "status"
    });
    let (changed, unchanged): (Vec<_>, Vec<_>) =
        task_status_updates.partition(|r| r["old_value"] != r["new_value"]);
    assert!(
        changed.len() > 10 && !unchanged.is_empty(),
        "{} changed, {} set to the same status: the journal must hold both",
        changed.len(),
        unchanged.len()
    );
    let mut expected: Vec<(String, Value, Value)> = changed
        .iter()
        .map(|r| {
            let id = r["obj_id"].as_str().unwrap().to_string();
            (id, r["old_value"].clone(), r["new_value"].clone())
        })
        .collect();
    let acknowledged = sim.simulator.deliveries_acknowledged();
    let mut delivered: Vec<(String, Value, Value)> = acknowledged
        .iter()
        .map(|a| {
            let v: Value = serde_json::from_slice(&a.body).unwrap();
            let id = v["newState"]["ID"].as_str().unwrap().to_string();
            let old = v["oldState"].get("status").cloned().unwrap_or(Value::Null);
            let new = v["newState"].get("status").cloned().unwrap_or(Value::Null);
            (id, old, new)
        })
        .collect();
    expected.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    delivered.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(
        delivered.len(),
        changed.len(),
        "{} deliveries for {} status changes",
        delivered.len(),
        changed.len()
    );
    assert_eq!(delivered, expected);
    assert_eq!(receiver.requests(), changed.len(), "nothing else was sent");
}

#[test]
fn every_delivery_attempt_is_counted_in_the_urls_health() {
    let config = jrnle_audit::simulator::SimConfig {
        event_backoff: std::time::Duration::from_millis(5),
        ..sim_config()
    };
    let sim = sim_with(&demo_records(), config);
    // Every third attempt fails: retried, and counted as a failure.
    let receiver = Receiver::start(|n| if n % 3 == 2 { 500 } else { 200 });
    create(&sim, "TASK", &receiver.url, &[]);
    sim.simulator.journal_now(80);
    wait_until("every delivery acknowledged or given up", || {
        sim.simulator.deliveries_pending() == 0
    });
    let (ok, failed) = (receiver.answered(200), receiver.answered(500));
    assert!(ok > 10 && failed > 3, "{ok} acknowledged, {failed} failed");
    assert_eq!(sim.simulator.deliveries_acknowledged().len(), ok);
    let rows = list(&sim);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["successes"], ok.to_string(), "{rows:?}");
    assert_eq!(rows[0]["failures"], failed.to_string(), "{rows:?}");
    assert_eq!(rows[0]["health"], "ok", "a third failing is under 70 %");
}

#[test]
fn a_url_that_always_fails_is_disabled_and_gets_nothing_more() {
    // Retries a minute apart and probes (every 10 minutes in Workfront) over 7 minutes apart:
    // after the first attempts nothing is due during the test but what it journals.
    let config = jrnle_audit::simulator::SimConfig {
        event_backoff: std::time::Duration::from_secs(60),
        ..sim_config()
    };
    let sim = sim_with(&demo_records(), config);
    let receiver = Receiver::start(|_| 500);
    // Three subscriptions to one URL: its health counts the deliveries of all three.
    for code in ["TASK", "OPTASK", "PROJ"] {
        create(&sim, code, &receiver.url, &[]);
    }
    sim.simulator.journal_now(200);
    let first_wave = sim.simulator.deliveries_pending();
    assert!(first_wave > 100, "{first_wave} events: over 100 must fail");
    // Each event's first attempt is due at once: sent (and counted) until the URL is disabled,
    // withheld after. Its next is a minute away, so once every first attempt is settled
    // nothing is under way.
    let failures = || health(&sim)["failures"].as_u64().unwrap() as usize;
    wait_until("every first attempt sent and counted, or withheld", || {
        failures() + sim.simulator.deliveries_withheld() == first_wave
    });
    assert!(!health(&sim)["disabled_at"].is_null(), "{}", health(&sim));
    let attempted = receiver.requests();
    assert_eq!(failures(), attempted, "every attempt counted");
    assert!(attempted >= 100, "disabled after {attempted} failures");
    // More changes: due at once, and every one withheld from the disabled URL.
    let withheld = sim.simulator.deliveries_withheld();
    sim.simulator.journal_now(40);
    let more = sim.simulator.deliveries_pending() - first_wave;
    assert!(more > 10, "{more}");
    wait_until("the new deliveries withheld", || {
        sim.simulator.deliveries_withheld() == withheld + more
    });
    assert_eq!(
        receiver.requests(),
        attempted,
        "nothing sent to a disabled URL"
    );
    let rows = list(&sim);
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row["successes"], "0", "{rows:?}");
        assert_eq!(row["failures"], attempted.to_string(), "{rows:?}");
        assert!(row["health"].starts_with("DISABLED since "), "{rows:?}");
    }
}

#[test]
fn simulate_v_never_logs_a_subscriptions_token() {
    const LONG_TOKEN: &str = "logged-nowhere-token-83c1";
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sim.log");
    let file = std::fs::File::create(&log).unwrap();
    let (sim, url) = start_simulate(&["-v"], Stdio::from(file));
    for (token, hook) in [
        (LONG_TOKEN, "https://hooks.example/a"),
        ("tok", "https://hooks.example/b"),
    ] {
        let o = run(bin()
            .args([
                "subscriptions",
                "create",
                "--obj-code",
                "TASK",
                "--event",
                "UPDATE",
            ])
            .args(["--delivery-url", hook, "--url", &url])
            .env("WORKFRONT_API_KEY", KEY)
            .env("WORKFRONT_EVENT_TOKEN", token));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let o = run(bin()
        .args(["subscriptions", "list", "--url", &url])
        .env("WORKFRONT_API_KEY", KEY));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    drop(sim);
    let text = std::fs::read_to_string(&log).unwrap();
    let posts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("POST {SUBS}")))
        .collect();
    assert_eq!(posts.len(), 2, "{text}");
    assert!(posts[0].contains(r#""authToken":"****83c1""#), "{text}");
    assert!(posts[1].contains(r#""authToken":"****""#), "{text}");
    assert!(
        !text.contains(LONG_TOKEN) && !text.contains("token-83c1"),
        "{text}"
    );
    assert!(
        !text.contains("\"tok\"") && !text.contains("tok%22") && !text.contains("****tok"),
        "{text}"
    );
}

#[test]
fn url_is_the_tenant_and_delivery_url_the_address_in_every_subcommand() {
    let sim = sim(&demo_records());
    let tenant = |args: &[&str], token: &str| {
        let mut cmd = bin();
        cmd.arg("subscriptions")
            .args(args)
            .env("WORKFRONT_API_KEY", KEY)
            .env("WORKFRONT_EVENT_TOKEN", token);
        run(&mut cmd)
    };
    let create = ["create", "--obj-code", "TASK", "--event", "UPDATE"];
    let o = tenant(
        &[
            &create[..],
            &[
                "--url",
                &sim.url,
                "--delivery-url",
                "https://hooks.example/a",
            ],
        ]
        .concat(),
        EVENT_TOKEN,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    // --tenant-url: the tenant still, for one release, with a one-line warning.
    let o = tenant(
        &[
            &create[..],
            &[
                "--tenant-url",
                &sim.url,
                "--delivery-url",
                "https://hooks.example/b",
            ],
        ]
        .concat(),
        EVENT_TOKEN,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "jrnle-audit: warning: --tenant-url is deprecated: use --url for the tenant and \
         --delivery-url for the delivery address\n"
    );
    let o = tenant(
        &[
            &create[..],
            &["--url", &sim.url, "--tenant-url", &sim.url],
            &["--delivery-url", "https://hooks.example/z"],
        ]
        .concat(),
        EVENT_TOKEN,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("give --url only"), "{}", stderr(&o));
    let help = stdout(&run(bin().args(["subscriptions", "create", "--help"])));
    assert!(
        help.contains("--delivery-url") && !help.contains("--tenant-url"),
        "{help}"
    );
    // Deliveries carry tenant data and the token: plain http only to loopback.
    let sent = sim.simulator.request_log().len();
    for hook in [
        "http://hooks.example/c",
        "http://10.1.2.3:8080/c",
        "ftp://hooks.example/c",
    ] {
        let o = tenant(
            &[&create[..], &["--url", &sim.url, "--delivery-url", hook]].concat(),
            EVENT_TOKEN,
        );
        assert_eq!(o.status.code(), Some(2), "{hook}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        assert!(stderr(&o).contains("https://"), "{}", stderr(&o));
    }
    assert_eq!(sim.simulator.request_log().len(), sent, "nothing sent");
    for hook in [
        "http://127.0.0.1:9/c",
        "http://localhost:9/d",
        "http://[::1]:9/e",
    ] {
        let o = tenant(
            &[&create[..], &["--url", &sim.url, "--delivery-url", hook]].concat(),
            EVENT_TOKEN,
        );
        assert_eq!(o.status.code(), Some(0), "{hook}: {}", stderr(&o));
    }
    let o = tenant(&["list", "--url", &sim.url], EVENT_TOKEN);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let first = out
        .lines()
        .nth(1)
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    let o = tenant(&["delete", &first, "--url", &sim.url], EVENT_TOKEN);
    assert_eq!(
        stdout(&o),
        format!("deleted subscription {first}\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_token_is_shown_by_its_last_four_characters_only_when_it_has_twelve() {
    let sim = sim(&demo_records());
    for (token, hook) in [
        ("tok", "https://hooks.example/3"),
        ("eleven-char", "https://hooks.example/11"),
        ("twelve-chars", "https://hooks.example/12"),
    ] {
        let mut cmd = bin();
        cmd.args([
            "subscriptions",
            "create",
            "--obj-code",
            "TASK",
            "--event",
            "UPDATE",
        ])
        .args(["--delivery-url", hook])
        .env("WORKFRONT_URL", &sim.url)
        .env("WORKFRONT_API_KEY", KEY)
        .env("WORKFRONT_EVENT_TOKEN", token);
        let o = run(&mut cmd);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(!stdout(&o).contains(token) && !stderr(&o).contains(token));
    }
    let shown: Vec<(String, String)> = list(&sim)
        .into_iter()
        .map(|r| (r["url"].clone(), r["auth_token"].clone()))
        .collect();
    assert_eq!(
        shown,
        [
            ("https://hooks.example/3", "****"),
            ("https://hooks.example/11", "****"),
            ("https://hooks.example/12", "****hars"),
        ]
        .map(|(u, t)| (u.to_string(), t.to_string()))
    );
}
