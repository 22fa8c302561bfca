//! The simulator over HTTP rejects what Workfront rejects and answers as Workfront does.

use serde_json::Value;

use jrnle_audit::simulator::generate::generate;

use crate::util::*;

pub fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    post_or_get(reqwest::Method::GET, url, headers, None)
}

pub fn post_or_get(
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
        // A client needs the TLS provider installed (no simulator may have been made yet).
        jrnle_audit::crypto::install();
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

/// The IDs of a search answer, in its order.
fn page_ids(body: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(body).unwrap();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ID"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn refuses_without_the_credential_and_accepts_each_only_in_its_own_slot() {
    let sim = sim_with(
        &demo_records(),
        jrnle_audit::simulator::SimConfig {
            session_id: Some(jrnle_audit::secret::Secret::new("sess-42")),
            bearer_token: Some(jrnle_audit::secret::Secret::new("ims-7")),
            ..sim_config()
        },
    );
    let (status, body) = get(&api(&sim, "count"), &[]);
    assert_eq!(status, 401);
    assert_eq!(error_message(&body), "You are not currently logged in");
    assert_eq!(get(&api(&sim, "count"), &[("apiKey", "nope")]).0, 401);
    assert_eq!(get(&api(&sim, "count"), &AUTH).0, 200);
    assert_eq!(get(&api(&sim, "count"), &[("sessionID", "sess-42")]).0, 200);
    assert_eq!(
        get(&api(&sim, "count"), &[("Authorization", "Bearer ims-7")]).0,
        200
    );
    assert_eq!(
        get(&format!("{}?apiKey={KEY}", api(&sim, "count")), &[]).0,
        200
    );
    // An API key is not a session ID nor a bearer token, and the reverse.
    let bearer = format!("Bearer {KEY}");
    for wrong in [
        ("sessionID", KEY),
        ("Authorization", bearer.as_str()),
        ("apiKey", "sess-42"),
        ("apiKey", "ims-7"),
        ("Authorization", "Bearer sess-42"),
    ] {
        assert_eq!(get(&api(&sim, "count"), &[wrong]).0, 401, "{wrong:?}");
    }
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
        (
            "search?fieldName=x&fieldName_Mod=soundex",
            "invalid modifier",
        ),
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
        page_ids(&body)
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

#[test]
fn plain_date_ranges_and_newest_first_answer_as_the_full_evaluation_does() {
    // The simulator answers a plain date range from its sorted store without checking each
    // entry, and reads `entryDate desc, ID desc` backwards. Adding `ID_Mod=notnull` (true of
    // every entry) forces the full evaluation: the answers must not differ.
    let records = generate(3000, 12);
    let sim = sim(&records);
    let ids = |tail: &str| -> Vec<String> {
        let (status, body) = get(&api(&sim, tail), &AUTH);
        assert_eq!(status, 200, "{body}");
        page_ids(&body)
    };
    let count = |tail: &str| -> u64 {
        let (_, body) = get(&api(&sim, tail), &AUTH);
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]["count"].as_u64().unwrap()
    };
    // Bounds on entries' own instants (inclusive ends matter), on the bulk edit's millisecond,
    // and around the data.
    let instants: Vec<String> = records
        .iter()
        .map(|r| r["entryDate"].as_str().unwrap().to_string())
        .collect();
    let ranges = [
        (instants[10].clone(), instants[2500].clone()),
        (instants[1000].clone(), instants[1000].clone()),
        (
            "2020-01-01T00:00:00Z".to_string(),
            "2030-01-01T00:00:00Z".to_string(),
        ),
    ];
    let mut nonempty = 0;
    for (a, b) in &ranges {
        let range = format!(
            "entryDate={}&entryDate_Mod=between&entryDate_Range={}",
            urlencode(a),
            urlencode(b)
        );
        let full = format!("{range}&ID_Mod=notnull");
        assert_eq!(
            count(&format!("count?{range}")),
            count(&format!("count?{full}"))
        );
        for (first, limit) in [(0, 2000), (1999, 2000), (7, 1)] {
            for sort in ["asc", "desc"] {
                let page = format!(
                    "entryDate_1_Sort={sort}&ID_2_Sort={sort}&$$FIRST={first}&$$LIMIT={limit}&fields=ID"
                );
                let fast = ids(&format!("search?{range}&{page}"));
                assert_eq!(
                    fast,
                    ids(&format!("search?{full}&{page}")),
                    "{range} {page}"
                );
                // A third sort key changes nothing (ID is unique) but takes the general sort.
                let sorted = ids(&format!("search?{full}&{page}&fieldName_3_Sort=asc"));
                assert_eq!(fast, sorted, "{range} {page}");
                nonempty += usize::from(!fast.is_empty());
            }
        }
    }
    assert!(nonempty > 6, "the ranges must hold entries");
    // Newest first is the stored order reversed.
    let all = "entryDate=2020-01-01&entryDate_Mod=between&entryDate_Range=2030-01-01&$$LIMIT=2000&fields=ID";
    let mut newest = ids(&format!(
        "search?{all}&entryDate_1_Sort=desc&ID_2_Sort=desc"
    ));
    newest.reverse();
    let oldest = ids(&format!(
        "search?{all}&entryDate_1_Sort=asc&ID_2_Sort=asc&$$FIRST=1000"
    ));
    assert_eq!(newest, oldest);
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn the_fast_reader_takes_the_simulators_answers_as_serde_json_reads_them() {
    #[derive(serde::Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        data: Vec<jrnle_audit::model::raw::RawJrnle<'a>>,
    }
    let sim = sim(&generate(6000, 21));
    let mut fast = 0;
    for first in [0, 2000, 4000] {
        let (_, body) = get(
            &api(
                &sim,
                &format!("search?entryDate_1_Sort=asc&ID_2_Sort=asc&$$FIRST={first}&$$LIMIT=2000"),
            ),
            &AUTH,
        );
        let general: Body = serde_json::from_str(&body).unwrap();
        assert_eq!(general.data.len(), 2000);
        if let Some(records) = jrnle_audit::model::scan::page(&body) {
            assert_eq!(records, general.data);
            fast += 1;
        }
    }
    assert_eq!(fast, 3, "the simulator answers in the usual shape");
}

/// `/report` groups the matching entries by one field with the aggregates asked for, the
/// grouped value inside each group and a rollup; what it does not model it refuses.
#[test]
fn report_requests_aggregate_the_matching_entries() {
    let records = generate(3_000, 5);
    let sim = sim(&records);
    let (status, body) = get(
        &api(
            &sim,
            "report?objObjCode=TASK&fieldName_1_GroupBy=true&ID_AggFunc=count\
             &newNumberVal_AggFunc=sum&entryDate_AggFunc=max&$$ROLLUP=true",
        ),
        &AUTH,
    );
    assert_eq!(status, 200, "{body}");
    let data: Value = serde_json::from_str::<Value>(&body).unwrap()["data"].take();
    let tasks: Vec<_> = records
        .iter()
        .filter(|r| raw_str(r, "objObjCode") == Some("TASK"))
        .collect();
    let mut total = 0;
    for (key, group) in data.as_object().unwrap() {
        if key == "$$ROLLUP" {
            continue;
        }
        let field = group["fieldName"].as_str();
        let of_field: Vec<_> = tasks
            .iter()
            .filter(|r| raw_str(r, "fieldName") == field)
            .collect();
        assert_eq!(
            group["count_ID"].as_u64().unwrap(),
            of_field.len() as u64,
            "{key}"
        );
        let sum: f64 = of_field
            .iter()
            .filter_map(|r| r.get("newNumberVal").and_then(Value::as_f64))
            .sum();
        let got = group["sum_newNumberVal"].as_f64().unwrap();
        assert!(
            (got - sum).abs() <= 1e-9 * sum.abs().max(1.0),
            "{key}: {got} {sum}"
        );
        // The newest entry's date, as Workfront writes dates (colon before the milliseconds).
        let instant = |d: &str| jrnle_audit::model::date::parse_timestamp(d).unwrap();
        let newest = of_field
            .iter()
            .filter_map(|r| raw_str(r, "entryDate"))
            .map(instant)
            .max()
            .unwrap();
        let max = group["max_entryDate"].as_str().unwrap();
        assert_eq!(&max[19..20], ":", "{max}");
        assert_eq!(instant(max), newest, "{key}");
        total += of_field.len() as u64;
    }
    assert_eq!(total, tasks.len() as u64);
    assert_eq!(data["$$ROLLUP"]["count_ID"], total);

    for (tail, says) in [
        ("report?ID_AggFunc=count", "needs a field_1_GroupBy"),
        ("report?fieldName_1_GroupBy=true", "needs a field_AggFunc"),
        (
            "report?fieldName_1_GroupBy=true&ID_AggFunc=total",
            "invalid aggregate function",
        ),
        (
            "report?fieldName_1_GroupBy=true&fieldName_AggFunc=sum",
            "not a number",
        ),
        (
            "report?oldValue_1_GroupBy=true&ID_AggFunc=count",
            "does not support field oldValue",
        ),
        (
            "report?objObjCode_1_GroupBy=true&fieldName_2_GroupBy=true&ID_AggFunc=count",
            "one grouping level",
        ),
    ] {
        let (status, body) = get(&api(&sim, tail), &AUTH);
        assert_eq!(status, 422, "{tail}: {body}");
        assert!(error_message(&body).contains(says), "{tail}: {body}");
    }
}

/// The count of a query, over HTTP.
fn count_of(sim: &jrnle_audit::simulator::SimHandle, query: &str) -> u64 {
    let (status, body) = get(&api(sim, &format!("count?{query}")), &AUTH);
    assert_eq!(status, 200, "{query}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["data"]["count"].as_u64().unwrap()
}

#[test]
fn a_range_without_a_modifier_counts_the_range_not_one_day() {
    // Workfront's default modifier is `between` when a `_Range` is given; `eq` would count
    // the first day alone.
    let records = generate(3000, 12);
    let sim = sim(&records);
    let range = "entryDate=2025-10-26T00:00:00Z&entryDate_Range=2025-11-05T00:00:00Z";
    let between = count_of(&sim, &format!("{range}&entryDate_Mod=between"));
    assert_eq!(count_of(&sim, range), between);
    assert!(between > count_of(&sim, "entryDate=2025-10-26T00:00:00Z") * 3);
}

#[test]
fn post_with_method_get_in_any_case_is_a_search() {
    let sim = sim(&demo_records());
    for method in ["GET", "get", "Get"] {
        let body = format!("method={method}&apiKey={KEY}");
        let (status, text) =
            post_or_get(reqwest::Method::POST, &api(&sim, "count"), &[], Some(body));
        assert_eq!(status, 200, "{method}: {text}");
    }
    let body = format!("method=PUT&apiKey={KEY}");
    let (status, _) = post_or_get(reqwest::Method::POST, &api(&sim, "count"), &[], Some(body));
    assert_eq!(status, 400);
}

#[test]
fn every_field_of_journal_entry_is_served_and_id_and_objcode_always() {
    let sim = sim(&generate(20, 3));
    let (status, body) = get(&api(&sim, "search?fields=*"), &AUTH);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let first = v["data"][0].as_object().unwrap();
    assert_eq!(
        first.len(),
        jrnle_audit::simulator::store::FIELDS.len(),
        "{first:?}"
    );
    for name in [
        "customerID",
        "durationMinutes",
        "numLikes",
        "numReplies",
        "hourID",
        "documentID",
        "portfolioID",
        "programID",
        "templateID",
        "userID",
        "expenseID",
        "assignmentID",
        "extRefID",
        "subReferenceObjectName",
        "topReferenceObjectName",
        "auditRecordID",
        "flags",
        "aux1",
        "aux2",
        "aux3",
    ] {
        assert!(first.contains_key(name), "{name}");
    }
    // Asked for one field: ID and objCode come too.
    let (_, body) = get(&api(&sim, "search?fields=changeType"), &AUTH);
    let v: Value = serde_json::from_str(&body).unwrap();
    let keys: std::collections::BTreeSet<&str> = v["data"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["ID", "changeType", "objCode"].into());
    assert_eq!(v["data"][0]["objCode"], "JRNLE");
    let (status, body) = get(&api(&sim, "search?fields=editedBy:*"), &AUTH);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let editor = v["data"][0]["editedBy"].as_object().unwrap();
    assert!(
        editor.contains_key("name") && editor["objCode"] == "USER",
        "{editor:?}"
    );
    assert_eq!(
        get(&api(&sim, "search?fields=numLikes,hourID"), &AUTH).0,
        200
    );
}

#[test]
fn metadata_and_get_by_id_are_served_for_journal_entries() {
    let records = generate(20, 4);
    let sim = sim(&records);
    let (status, body) = get(&api(&sim, "metadata"), &AUTH);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["objCode"], "JRNLE");
    let fields = v["data"]["fields"].as_object().unwrap();
    assert_eq!(fields.len(), jrnle_audit::simulator::store::FIELDS.len());
    let change_types: Vec<&str> = fields["changeType"]["possibleValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert!(
        change_types.starts_with(&["A", "E", "D"]),
        "{change_types:?}"
    );
    let id = records[5]["ID"].as_str().unwrap();
    let (status, body) = get(&api(&sim, &format!("{id}?fields=fieldName")), &AUTH);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["ID"], id);
    assert_eq!(v["data"]["fieldName"], records[5]["fieldName"]);
    let missing = "0123456789abcdef0123456789abcdef";
    assert_eq!(get(&api(&sim, missing), &AUTH).0, 404);
    // Several by id, in the order asked.
    let other = records[9]["ID"].as_str().unwrap();
    let url = format!("{}/attask/api/v21.0/JRNLE?id={other},{id}", sim.url);
    let (status, body) = get(&url, &AUTH);
    assert_eq!(status, 200, "{body}");
    assert_eq!(page_ids(&body), [other, id]);
}

#[test]
fn the_roots_public_clients_default_to_reach_the_latest_version() {
    let sim = sim(&demo_records());
    for root in [
        "/attask/api-internal",
        "/attask/api-unsupported",
        "/attask/api/unsupported",
        "/attask/api",
    ] {
        let (status, body) = get(&format!("{}{root}/JRNLE/count", sim.url), &AUTH);
        assert_eq!(status, 200, "{root}: {body}");
    }
}

#[test]
fn login_and_logout_say_they_are_gone_and_unknown_objects_are_named() {
    let sim = sim(&demo_records());
    for path in ["/attask/api/v21.0/login", "/attask/api-internal/logout"] {
        let (status, body) = get(&format!("{}{path}?username=a&password=b", sim.url), &[]);
        assert_eq!(status, 410, "{path}: {body}");
        let message = error_message(&body);
        assert!(message.contains("no longer available"), "{message}");
        assert!(!message.contains("v21.0"), "{message}");
    }
    let (status, body) = get(&format!("{}/attask/api/v21.0/PORT/search", sim.url), &AUTH);
    assert_eq!(status, 404);
    assert!(error_message(&body).starts_with("PORT is not an object the simulator serves"));
}

#[test]
fn objects_are_searched_by_last_update_with_their_own_fields() {
    let sim = sim(&jrnle_audit::simulator::generate::generate(600, 2));
    let tasks = sim.simulator.objects_of("TASK");
    let url = |q: &str| format!("{}/attask/api/v21.0/TASK/{q}", sim.url);
    let (status, body) = get(&url("count"), &AUTH);
    assert_eq!(status, 200, "{body}");
    let count: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(count["data"]["count"], tasks.len());
    // Sorted on (lastUpdateDate, ID), paged; ID and objCode always come, asked fields only.
    let q =
        "search?fields=status,DE:Risk&lastUpdateDate_1_Sort=asc&ID_2_Sort=asc&$$FIRST=1&$$LIMIT=3";
    let (status, body) = get(&url(q), &AUTH);
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    let rows = page["data"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let keys: std::collections::BTreeSet<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["DE:Risk", "ID", "objCode", "status"].into());
    assert_eq!(rows[0]["objCode"], "TASK");
    let mut sorted = tasks.clone();
    let key = |o: &Value| {
        let d = o["lastUpdateDate"].as_str().unwrap();
        (
            jrnle_audit::model::date::parse_timestamp(d).unwrap(),
            o["ID"].to_string(),
        )
    };
    sorted.sort_by_key(key);
    assert_eq!(rows[0]["ID"], sorted[1]["ID"]);
    // A field a Task does not have is named as Workfront names it.
    let (status, body) = get(&url("search?fields=entryDateX"), &AUTH);
    assert_eq!(status, 422);
    assert!(
        error_message(&body).ends_with("does not support field entryDateX (Task)"),
        "{body}"
    );
    // A project has no projectID.
    let (status, _) = get(
        &format!("{}/attask/api/v21.0/PROJ/search?fields=projectID", sim.url),
        &AUTH,
    );
    assert_eq!(status, 422);
}

#[test]
fn every_error_answer_has_the_same_envelope_also_injected_ones() {
    use jrnle_audit::simulator::faults::{FaultConfig, FaultKind};
    let config = jrnle_audit::simulator::SimConfig {
        faults: FaultConfig {
            rate: 1.0,
            kinds: vec![FaultKind::ErrorBody],
            ..FaultConfig::default()
        },
        ..sim_config()
    };
    let faulty = sim_with(&demo_records(), config);
    let plain = sim(&demo_records());
    let envelope = |body: &str| {
        let v: Value = serde_json::from_str(body).unwrap();
        let mut keys: Vec<String> = v["error"].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let (status, injected) = get(&api(&faulty, "count"), &AUTH);
    assert_eq!(status, 200);
    let (_, refused) = get(&api(&plain, "count"), &[]);
    let (_, invalid) = get(&api(&plain, "search?$$LIMIT=2001"), &AUTH);
    assert_eq!(envelope(&injected), ["class", "message", "title"]);
    assert_eq!(envelope(&injected), envelope(&refused));
    assert_eq!(envelope(&injected), envelope(&invalid));
}

#[test]
fn workfronts_modifiers_sort_directions_wildcards_and_no_limit_over_http() {
    let records = generate(2500, 8);
    let sim = sim(&records);
    let names = |r: &jrnle_audit::input::RawRecord| r["fieldName"].as_str().map(str::to_string);
    // `like` with SQL's wildcards, and its case-insensitive form.
    let like = records
        .iter()
        .filter(|r| names(r).is_some_and(|n| n.starts_with("DE:")))
        .count() as u64;
    assert_eq!(
        count_of(&sim, "fieldName=DE%3A%25&fieldName_Mod=like"),
        like
    );
    assert_eq!(
        count_of(&sim, "fieldName=de%3A%25&fieldName_Mod=cilike"),
        like
    );
    assert_eq!(count_of(&sim, "fieldName=de%3A%25&fieldName_Mod=like"), 0);
    // A wildcard with a month: the data is from 2025, so a year back from now holds nothing
    // newer than it, and everything is before today.
    let all = records.len() as u64;
    assert_eq!(
        count_of(&sim, "entryDate=%24%24TODAY-1m&entryDate_Mod=lt"),
        all
    );
    assert_eq!(
        count_of(&sim, "entryDate=%24%24TODAYbm&entryDate_Mod=gte"),
        0
    );
    // Sort directions in any case, and ciasc.
    for dir in ["ASC", "ciasc", "Desc"] {
        let (status, body) = get(&api(&sim, &format!("search?fieldName_Sort={dir}")), &AUTH);
        assert_eq!(status, 200, "{dir}: {body}");
    }
    // $$LIMIT=0 is no limit, which the 2,000 cap per request bounds.
    let (status, body) = get(&api(&sim, "search?$$LIMIT=0&fields=ID"), &AUTH);
    assert_eq!(status, 200, "{body}");
    assert_eq!(page_ids(&body).len(), 2000);
}
