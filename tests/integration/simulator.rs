//! The simulator over HTTP rejects what Workfront rejects and answers as Workfront does.

use serde_json::Value;

use jrnle_audit::simulator::generate::generate;

use crate::util::*;

fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    post_or_get(reqwest::Method::GET, url, headers, None)
}

fn post_or_get(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().request(method, url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

fn api(sim: &jrnle_audit::simulator::SimHandle, tail: &str) -> String {
    format!("{}/attask/api/v21.0/JRNLE/{tail}", sim.url)
}

fn error_message(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap();
    v["error"]["message"].as_str().unwrap().to_string()
}

const AUTH: [(&str, &str); 1] = [("apiKey", KEY)];

#[test]
fn refuses_without_the_credential_and_accepts_each_form() {
    let sim = sim(&demo_records());
    let (status, body) = get(&api(&sim, "count"), &[]);
    assert_eq!(status, 401);
    assert_eq!(error_message(&body), "You are not currently logged in");
    assert_eq!(get(&api(&sim, "count"), &[("apiKey", "nope")]).0, 401);
    assert_eq!(get(&api(&sim, "count"), &AUTH).0, 200);
    assert_eq!(get(&api(&sim, "count"), &[("sessionID", KEY)]).0, 200);
    let bearer = format!("Bearer {KEY}");
    assert_eq!(
        get(&api(&sim, "count"), &[("Authorization", &bearer)]).0,
        200
    );
    assert_eq!(
        get(&format!("{}?apiKey={KEY}", api(&sim, "count")), &[]).0,
        200
    );
}

#[test]
fn paging_limits_match_workfront() {
    let sim = sim(&generate(300, 1));
    let (status, body) = get(&api(&sim, "search?$$LIMIT=2001"), &AUTH);
    assert_eq!(status, 422);
    assert_eq!(
        error_message(&body),
        "The requested limit 2001 is greater than the maximum allowed limit of 2000"
    );
    let (status, body) = get(&api(&sim, "search"), &AUTH);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 100, "default limit");
    let (_, body) = get(&api(&sim, "count"), &AUTH);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["data"]["count"],
        300
    );
}

#[test]
fn unknown_and_unfilterable_fields_are_errors() {
    let sim = sim(&demo_records());
    for (query, needle) in [
        ("search?fields=oldValue", "does not support field oldValue"),
        ("search?objCode=TASK", "objCode"),
        ("search?topObjID=x", "topObjID"),
        ("count?subObjCode=HOUR", "subObjCode"),
        ("search?entryDate=nonsense", "invalid date"),
        ("search?fieldName=x&fieldName_Mod=like", "invalid modifier"),
    ] {
        let (status, body) = get(&api(&sim, query), &AUTH);
        assert_eq!(status, 422, "{query}");
        assert!(error_message(&body).contains(needle), "{query}: {body}");
    }
}

#[test]
fn long_uris_are_refused_and_post_with_method_get_is_the_way() {
    let sim = sim(&demo_records());
    let long = format!("search?fieldName={}", "x".repeat(9000));
    let (status, body) = get(&api(&sim, &long), &AUTH);
    assert_eq!(status, 414);
    assert!(body.contains("<html>"));
    let body = "fieldName=status&method=GET".to_string();
    let (status, text) = post_or_get(
        reqwest::Method::POST,
        &api(&sim, "count"),
        &AUTH,
        Some(body),
    );
    assert_eq!(status, 200, "{text}");
    let (status, _) = post_or_get(
        reqwest::Method::POST,
        &api(&sim, "count"),
        &AUTH,
        Some("fieldName=status".into()),
    );
    assert_eq!(status, 400);
}

#[test]
fn tied_rows_come_back_in_a_different_order_on_each_request() {
    let sim = sim(&generate(300, 6));
    let order = || {
        let (_, body) = get(
            &api(
                &sim,
                "search?entryDate_Sort=asc&$$LIMIT=2000&fields=ID,entryDate",
            ),
            &AUTH,
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["ID"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let first = order();
    assert!(
        (0..4).any(|_| order() != first),
        "ties must not have a stable order"
    );
    // With ID as the second key the order is total, hence stable.
    let stable = || {
        get(
            &api(
                &sim,
                "search?entryDate_1_Sort=asc&ID_2_Sort=asc&$$LIMIT=2000",
            ),
            &AUTH,
        )
        .1
    };
    assert_eq!(stable(), stable());
}

#[test]
fn dates_come_in_the_tenant_zone_with_daylight_saving() {
    let sim = sim(&demo_records());
    let (_, body) = get(&api(&sim, "search?fields=ID,entryDate&$$LIMIT=100"), &AUTH);
    let v: Value = serde_json::from_str(&body).unwrap();
    let dates: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["entryDate"].as_str().unwrap())
        .collect();
    assert!(dates.contains(&"2025-11-02T01:30:00:000-0600"));
    assert!(dates.contains(&"2025-11-02T01:30:00:000-0700"));
    assert!(dates.contains(&"2025-07-01T12:00:00:000-0600"));
    assert!(dates.contains(&"2025-01-07T09:15:02:117-0700"));
}
