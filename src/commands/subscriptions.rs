//! `subscriptions create|list|delete`: Workfront's event subscription API
//! (`/attask/eventsubscription/api/v1/subscriptions`, API notes §7) with the credentials and
//! profiles of every other command (`--url` is the tenant; `create`'s `--delivery-url` where
//! Workfront delivers). Creation sends only the documented body fields, with the `authToken`
//! taken from the environment (never a flag, never printed; `list` shows at most its last four
//! characters).

use std::borrow::Cow;

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::cli::{ConnectionArgs, FilterArgs, SubscriptionCreateArgs, SubscriptionsCommand};
use crate::console;
use crate::error::{Error, Result};
use crate::output::Destination;
use crate::settings::Settings;

const PATH: &str = "/attask/eventsubscription/api/v1/subscriptions";

pub fn run(command: SubscriptionsCommand) -> Result<()> {
    let (connection, method, path, params, body) = match &command {
        SubscriptionsCommand::Create(a) => (
            tenant(a)?,
            Method::POST,
            PATH.to_string(),
            vec![],
            Some(create_body(a)?),
        ),
        SubscriptionsCommand::List(a) => (
            Cow::Borrowed(&a.connection),
            Method::GET,
            PATH.to_string(),
            vec![("limit".to_string(), "1000".to_string())],
            None,
        ),
        SubscriptionsCommand::Delete(a) => (
            Cow::Borrowed(&a.connection),
            Method::DELETE,
            format!("{PATH}/{}", a.id),
            vec![],
            None,
        ),
    };
    let settings = Settings::resolve(&connection, &FilterArgs::default())?;
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

/// `create`'s tenant: `--url` (or `WORKFRONT_URL`), or the deprecated `--tenant-url`, the name
/// it had here until `--url` became the tenant in every command (issue 26), with a warning.
fn tenant(a: &SubscriptionCreateArgs) -> Result<Cow<'_, ConnectionArgs>> {
    let Some(old) = &a.tenant_url else {
        return Ok(Cow::Borrowed(&a.connection));
    };
    console::warn(
        "--tenant-url is deprecated: use --url for the tenant and --delivery-url for the \
         delivery address",
    );
    // A --url that is not WORKFRONT_URL's value was given on the command line too.
    let from_env = std::env::var("WORKFRONT_URL").ok();
    if a.connection.url.is_some() && a.connection.url != from_env {
        return Err(Error::usage(
            "--url and --tenant-url both name the tenant: give --url only",
        ));
    }
    let mut connection = a.connection.clone();
    connection.url = Some(old.clone());
    Ok(Cow::Owned(connection))
}

/// The delivery address: https://, or plain http:// to loopback only (a proxy or `listen` on
/// the same host), since each delivery carries tenant data and the token. Messages name only
/// the host: the rest of a URL could hold a secret.
fn check_delivery_url(raw: &str) -> Result<()> {
    let url = url::Url::parse(raw).map_err(|_| {
        Error::usage(format!(
            "--delivery-url {raw:?} is not a URL: give the https:// address Workfront delivers to"
        ))
    })?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        scheme => Err(Error::usage(format!(
            "--delivery-url: refusing {scheme}:// to {}: deliveries carry tenant data and the \
             token; give an https:// address (plain http:// only to loopback)",
            url.host_str().unwrap_or("?")
        ))),
    }
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
    check_delivery_url(&a.delivery_url)?;
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

/// A token as the list shows it: Workfront's mask (`****` and the last four characters) when
/// that is what the API answered, since the API masks a long token so; anything else (a short
/// token's few characters after `****`, or a token not masked at all) as
/// [`crate::secret::masked_token`] shows a token, which for a short one is `****` alone. A
/// token of 4 to 11 characters that the API masks as `****1234` cannot be told from a long
/// one here: that mask is the API's to choose.
fn shown_token(from_api: &str) -> String {
    match from_api.strip_prefix("****") {
        Some(tail) if tail.chars().count() == 4 => from_api.to_string(),
        Some(_) => "****".to_string(),
        None => crate::secret::masked_token(from_api),
    }
}

/// The list as a table: id, object type, event, URL, token (as [`shown_token`]) and health.
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
            shown_token(&text(s, "authToken")),
            text(s, "successes"),
            text(s, "failures"),
            health
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_shown_by_at_most_its_last_four_characters() {
        assert_eq!(shown_token("****9d2e"), "****9d2e");
        assert_eq!(shown_token("****tok"), "****", "a 3-character token, whole");
        assert_eq!(shown_token("****"), "****");
        assert_eq!(shown_token("unmasked-token-4f2a"), "****4f2a");
        assert_eq!(shown_token("short"), "****");
        assert_eq!(shown_token("****a-long-tail"), "****");
    }

    #[test]
    fn plain_http_delivery_only_to_loopback() {
        for ok in [
            "https://hooks.example.com/wf",
            "http://127.0.0.1:8443/",
            "http://localhost/x",
            "http://[::1]:9/",
        ] {
            assert!(check_delivery_url(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://hooks.example.com/wf?token=secret-in-query",
            "http://10.0.0.1/",
            "ftp://hooks.example.com/",
            "hooks.example.com",
        ] {
            let err = check_delivery_url(refused).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{refused}");
            assert!(!err.to_string().contains("secret-in-query"), "{err}");
        }
    }
}
