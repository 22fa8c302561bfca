//! `subscriptions create|list|delete` against the simulator's event subscription API, which
//! is as strict as the API notes: exact body fields, a required short token never shown back,
//! 409 for a duplicate, list limits.

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
        "--url",
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
        let mut args = vec!["create", "--obj-code", "TASK", "--event", "UPDATE", "--url"];
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
    assert_eq!(post(ok.clone()).0, 201);
    assert_eq!(post(ok).0, 409);
    assert_eq!(get(&format!("{url}?limit=1001"), &[("apiKey", KEY)]).0, 422);
    assert_eq!(get(&url, &[]).0, 401, "credentials as everywhere");
}
