//! `subscriptions create|list|delete`: Workfront's event subscription API
//! (`/attask/eventsubscription/api/v1/subscriptions`, API notes §7) with the credentials and
//! profiles of every other command. Creation sends only the documented body fields, with the
//! `authToken` taken from the environment (never a flag, never printed).

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::cli::{FilterArgs, SubscriptionCreateArgs, SubscriptionsCommand};
use crate::error::{Error, Result};
use crate::output::Destination;
use crate::settings::Settings;

const PATH: &str = "/attask/eventsubscription/api/v1/subscriptions";

pub fn run(command: SubscriptionsCommand) -> Result<()> {
    let (connection, method, path, params, body) = match &command {
        SubscriptionsCommand::Create(a) => (
            &a.connection,
            Method::POST,
            PATH.to_string(),
            vec![],
            Some(create_body(a)?),
        ),
        SubscriptionsCommand::List(a) => (
            &a.connection,
            Method::GET,
            PATH.to_string(),
            vec![("limit".to_string(), "1000".to_string())],
            None,
        ),
        SubscriptionsCommand::Delete(a) => (
            &a.connection,
            Method::DELETE,
            format!("{PATH}/{}", a.id),
            vec![],
            None,
        ),
    };
    let settings = Settings::resolve(connection, &FilterArgs::default())?;
    let answer = super::runtime()?.block_on(async {
        let client = settings.client().await?;
        client
            .send_json(method, &path, &params, body.as_ref())
            .await
    })?;
    let text = match command {
        SubscriptionsCommand::Create(_) => format!(
            "created subscription {} (version {})\n",
            answer["id"].as_str().unwrap_or("?"),
            answer["version"].as_str().unwrap_or("?")
        ),
        SubscriptionsCommand::List(_) => table(&answer),
        SubscriptionsCommand::Delete(a) => format!("deleted subscription {}\n", a.id),
    };
    Destination::Stdout.write_with(|w| w.write_all(text.as_bytes()))
}

/// The creation body: exactly the documented fields (an extra one makes creation fail).
fn create_body(a: &SubscriptionCreateArgs) -> Result<Value> {
    let token = std::env::var(&a.auth_token_env)
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::usage(format!(
                "{} is not set: set it to the token Workfront is to send with each delivery \
                 (listen checks it), or name another variable with --auth-token-env",
                a.auth_token_env
            ))
        })?;
    if token.chars().count() >= 255 {
        return Err(Error::usage(format!(
            "{} is too long: Workfront takes an authToken of fewer than 255 characters",
            a.auth_token_env
        )));
    }
    if !a.delivery_url.starts_with("https://") && !a.delivery_url.starts_with("http://") {
        return Err(Error::usage(format!(
            "--url {:?} is not a URL: give the https:// address Workfront delivers to",
            a.delivery_url
        )));
    }
    let mut body = Map::new();
    body.insert("objCode".into(), json!(a.obj_code.to_ascii_uppercase()));
    body.insert("eventType".into(), json!(a.event));
    body.insert("url".into(), json!(a.delivery_url));
    body.insert("authToken".into(), json!(token));
    if let Some(id) = &a.obj_id {
        body.insert("objId".into(), json!(id));
    }
    if !a.filters.is_empty() {
        let filters: Vec<Value> = a.filters.iter().map(|f| filter(f)).collect::<Result<_>>()?;
        body.insert("filters".into(), Value::Array(filters));
    }
    Ok(Value::Object(body))
}

/// `[old:]FIELD:COMPARISON[:VALUE]` → `{fieldName, fieldValue, comparison, state}`.
fn filter(text: &str) -> Result<Value> {
    const COMPARISONS: [&str; 10] = [
        "eq",
        "ne",
        "gt",
        "gte",
        "lt",
        "lte",
        "contains",
        "notContains",
        "containsOnly",
        "changed",
    ];
    let (state, rest) = match text.strip_prefix("old:") {
        Some(rest) => ("oldState", rest),
        None => ("newState", text),
    };
    let mut parts = rest.splitn(3, ':');
    let (field, comparison, value) = (parts.next(), parts.next(), parts.next());
    let usage = |why: &str| {
        Error::usage(format!(
            "--filter {text:?}: {why}; write FIELD:COMPARISON[:VALUE], e.g. status:changed or \
             status:eq:CPL (comparisons: {})",
            COMPARISONS.join(", ")
        ))
    };
    let field = field
        .filter(|f| !f.is_empty())
        .ok_or_else(|| usage("no field"))?;
    let comparison = comparison.ok_or_else(|| usage("no comparison"))?;
    if !COMPARISONS.contains(&comparison) {
        return Err(usage(&format!(
            "{comparison} is not a comparison Workfront knows"
        )));
    }
    if comparison != "changed" && value.is_none() {
        return Err(usage("a value is needed"));
    }
    let mut f = json!({"fieldName": field, "comparison": comparison, "state": state});
    if let Some(v) = value {
        f["fieldValue"] = json!(v);
    }
    Ok(f)
}

/// The list as a table: id, object type, event, URL, token (masked by Workfront) and health.
fn table(answer: &Value) -> String {
    let rows = answer
        .get("data")
        .and_then(Value::as_array)
        .or_else(|| answer.as_array())
        .cloned()
        .unwrap_or_default();
    let mut out =
        String::from("id\tobj_code\tevent\turl\tauth_token\tsuccesses\tfailures\thealth\n");
    let text = |v: &Value, k: &str| match &v[k] {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for s in &rows {
        let health = match (text(s, "frozen_at"), text(s, "disabled_at")) {
            (f, _) if !f.is_empty() => format!("FROZEN since {f}"),
            (_, d) if !d.is_empty() => format!("DISABLED since {d}: Workfront sends nothing"),
            _ => "ok".to_string(),
        };
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            text(s, "id"),
            text(s, "objCode"),
            text(s, "eventType"),
            text(s, "url"),
            text(s, "authToken"),
            text(s, "successes"),
            text(s, "failures"),
            health
        ));
    }
    out
}
