//! Turning raw arguments and environment into a checked configuration: the connection, the
//! credential and the filters. Nothing past this point sees raw strings.

use chrono::{DateTime, Utc};
use reqwest::Url;

use crate::auth::CredentialSpec;
use crate::auth::resolve::{any_credential, credential};
use crate::cli::{ConnectionArgs, FilterArgs};
use crate::error::{Error, Result};
use crate::model::date::parse_user_time_at;
use crate::workfront::client::ClientOptions;
use crate::workfront::objcodes;
use crate::workfront::query::Filters;
use crate::workfront::retry::RetryPolicy;

/// The API version when neither a flag, the environment nor a profile names one.
pub const DEFAULT_API_VERSION: &str = "v21.0";

/// A checked connection to a real tenant.
#[derive(Debug, Clone)]
pub struct Connection {
    pub url: Url,
    pub api_version: String,
    pub credential: CredentialSpec,
    /// Where the credential came from (`WORKFRONT_API_KEY`, `--api-key-file`, a profile's
    /// variable): named in messages, never its value.
    pub credential_from: String,
}

/// The client's wire behaviour from the flags.
pub fn client_options(args: &ConnectionArgs) -> ClientOptions {
    ClientOptions {
        timeout: std::time::Duration::from_secs(args.timeout),
        max_concurrency: args.max_concurrency as usize,
        retry: RetryPolicy {
            max_retries: args.max_retries,
            ..RetryPolicy::default()
        },
    }
}

/// Which Workfront a run talks to.
#[derive(Debug, Clone)]
pub enum Target {
    /// The bundled sample data on a built-in simulator.
    Demo {
        api_version: String,
    },
    Tenant(Box<Connection>),
}

/// Check the connection arguments. `from_profile` is the credential a profile named; `env`
/// reads an environment variable (injected for tests).
pub fn target(
    args: &ConnectionArgs,
    from_profile: Option<(CredentialSpec, String)>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Target> {
    let api_version = check_version(args.api_version.as_deref().unwrap_or(DEFAULT_API_VERSION))?;
    if args.demo {
        return Ok(Target::Demo { api_version });
    }
    let raw_url = args.url.as_deref().filter(|u| !u.trim().is_empty()).ok_or_else(|| {
        Error::usage(
            "no Workfront URL: pass --url https://<domain>.my.workfront.com or set WORKFRONT_URL \
             (or try --demo)",
        )
    })?;
    let url = check_url(raw_url, args.allow_insecure_http)?;
    // A credential given directly wins; else the one a profile named.
    let direct = any_credential(args.api_key_file.as_deref(), env);
    let (credential, credential_from) = match from_profile {
        Some(c) if !direct => c,
        _ if !direct => {
            // A person's `login`, with the client secret from the environment.
            let secret = env("WORKFRONT_CLIENT_SECRET")
                .filter(|s| !s.trim().is_empty())
                .map(|s| (s.trim().to_string(), "WORKFRONT_CLIENT_SECRET".to_string()));
            match crate::auth::login::stored(args.profile.as_deref(), secret, env)? {
                Some(c) => c,
                None => credential(args.api_key_file.as_deref(), env)?,
            }
        }
        _ => credential(args.api_key_file.as_deref(), env)?,
    };
    Ok(Target::Tenant(Box::new(Connection {
        url,
        api_version,
        credential,
        credential_from,
    })))
}

impl Target {
    /// Which credential, and from where (never its value).
    pub fn credential_description(&self) -> String {
        match self {
            Target::Demo { .. } => "the demo's own key".into(),
            Target::Tenant(c) => c.credential.describe_from(&c.credential_from),
        }
    }

    /// For `-v`: where, which version, which kind of credential (never its value).
    pub fn describe(&self) -> String {
        match self {
            Target::Demo { api_version } => format!("demo simulator, API {api_version}"),
            Target::Tenant(c) => format!(
                "tenant {}, API {}, credential: {}",
                c.url.as_str().trim_end_matches('/'),
                c.api_version,
                c.credential.describe_from(&c.credential_from)
            ),
        }
    }
}

fn check_version(v: &str) -> Result<String> {
    let ok = v
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
    if ok {
        Ok(v.to_string())
    } else {
        Err(Error::usage(format!(
            "invalid --api-version {v:?}: use the form v21.0"
        )))
    }
}

/// The tenant's base URL: http(s), no credentials, no path, query or fragment; plain http only
/// to loopback unless allowed. Messages never echo the URL, which could hold a secret.
pub fn check_url(raw: &str, allow_insecure_http: bool) -> Result<Url> {
    const HINT: &str = "give the tenant's base URL, e.g. https://acme.my.workfront.com";
    // `acme.my.workfront.com` (or with a port) has no scheme: suggest https://, naming only
    // the host (the rest of a URL could hold a secret).
    if !raw.contains("://")
        && let Some(host) = Url::parse(&format!("https://{}", raw.trim()))
            .ok()
            .and_then(|u| {
                let host = u.host_str()?.to_string();
                Some(match u.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                })
            })
    {
        return Err(Error::usage(format!(
            "--url needs a scheme: did you mean https://{host}?"
        )));
    }
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::usage(format!("--url is not a valid URL ({e}): {HINT}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::usage(format!(
            "--url must start with https:// (got {}:): {HINT}",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::usage(
            "--url must not contain a user name or password: put the credential in \
             WORKFRONT_API_KEY, WORKFRONT_SESSION_ID, WORKFRONT_BEARER_TOKEN or --api-key-file",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err(Error::usage(format!(
            "--url must be only the base URL, without a path such as /attask/api or a query: {HINT}"
        )));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() == "http" && !loopback && !allow_insecure_http {
        return Err(Error::usage(format!(
            "refusing plain http:// to {}: the credential would travel in clear text; use \
             https:// or pass --allow-insecure-http",
            url.host_str().unwrap_or("?")
        )));
    }
    Ok(url)
}

/// Check the filters; `now` is the default `--until`.
pub fn filters(args: &FilterArgs, now: DateTime<Utc>) -> Result<Filters> {
    let time = |flag: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| parse_user_time_at(v, now).map_err(|e| Error::usage(format!("--{flag}: {e}"))))
            .transpose()
    };
    let since = time("since", &args.since)?;
    let until = time("until", &args.until)?.unwrap_or(now);
    if let Some(since) = since
        && since >= until
    {
        return Err(Error::usage(format!(
            "--since ({}) must be before --until ({}): the window [since, until) is empty",
            crate::model::date::format_utc_ms(&since),
            crate::model::date::format_utc_ms(&until)
        )));
    }
    // Codes and ids never hold a comma (field names can): a comma means several values in one.
    let list = |flag: &str, values: &[String], codes: bool| -> Result<Vec<String>> {
        if values.iter().any(|v| v.trim().is_empty()) {
            return Err(Error::usage(format!("--{flag} needs a non-empty value")));
        }
        if let Some(v) = values.iter().find(|v| codes && v.contains(',')) {
            let repeated: Vec<String> = v
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| format!("--{flag} {}", p.trim()))
                .collect();
            return Err(Error::usage(format!(
                "--{flag} {v:?} holds a comma, which would match nothing: repeat the flag \
                 instead ({})",
                repeated.join(" ")
            )));
        }
        Ok(values.to_vec())
    };
    let obj_codes = list("obj-code", &args.obj_codes, true)?;
    if let Some((v, known)) = obj_codes
        .iter()
        .find_map(|v| objcodes::case_variant(v).map(|k| (v, k)))
    {
        return Err(Error::usage(format!(
            "--obj-code {v:?} matches nothing: object codes are upper case; did you mean {known}?"
        )));
    }
    Ok(Filters {
        obj_codes,
        fields: list("field", &args.fields, false)?,
        obj_ids: list("obj-id", &args.obj_ids, true)?,
        edited_by: list("edited-by", &args.edited_by, true)?,
        change_types: list("change-type", &args.change_types, true)?,
        since,
        until,
    })
}

/// A duration such as `500ms`, `30s`, `5m`, `2h` or `1d`.
pub fn parse_duration(flag: &str, text: &str) -> Result<std::time::Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad_duration(flag, text))?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad_duration(flag, text)),
    };
    n.checked_mul(ms)
        .map(std::time::Duration::from_millis)
        .ok_or_else(|| bad_duration(flag, text))
}

fn bad_duration(flag: &str, text: &str) -> Error {
    Error::usage(format!(
        "--{flag} {text:?} is not a duration: use a number and a unit, e.g. 500ms, 30s, 5m, 2h"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::collections::HashMap;

    fn args(url: Option<&str>) -> ConnectionArgs {
        ConnectionArgs {
            verbose: 0,
            url: url.map(String::from),
            api_version: None,
            api_key_file: None,
            demo: false,
            profile: None,
            config: None,
            allow_insecure_http: false,
            timeout: 60,
            max_retries: 8,
            max_concurrency: 4,
        }
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn several_credentials_are_named() {
        let e = env(&[("WORKFRONT_API_KEY", "a"), ("WORKFRONT_BEARER_TOKEN", "b")]);
        let err = target(&args(Some("https://x.my.workfront.com")), None, &e).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        assert!(msg.contains("WORKFRONT_API_KEY") && msg.contains("WORKFRONT_BEARER_TOKEN"));
        assert!(!msg.contains("WORKFRONT_SESSION_ID"));
    }

    #[test]
    fn each_variable_picks_its_header() {
        use crate::auth::Credential;
        let pick = |var: &str| {
            let vars = [(var, " s3cret\n")];
            let e = env(&vars);
            match target(&args(Some("https://x.my.workfront.com")), None, &e).unwrap() {
                Target::Tenant(c) => c.credential.clone(),
                Target::Demo { .. } => panic!("not demo"),
            }
        };
        assert_eq!(
            pick("WORKFRONT_API_KEY"),
            CredentialSpec::Given(Credential::ApiKey(Secret::new("s3cret")))
        );
        assert_eq!(
            pick("WORKFRONT_SESSION_ID"),
            CredentialSpec::Given(Credential::SessionId(Secret::new("s3cret")))
        );
        assert_eq!(
            pick("WORKFRONT_BEARER_TOKEN"),
            CredentialSpec::Given(Credential::Bearer(Secret::new("s3cret")))
        );
    }

    #[test]
    fn urls_are_checked_without_echoing_them() {
        let ok = |u: &str| check_url(u, false).is_ok();
        assert!(ok("https://acme.my.workfront.com"));
        assert!(ok("https://acme.my.workfront.com/"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(ok("http://localhost:1"));
        assert!(ok("http://[::1]:1"));
        assert!(!ok("http://acme.my.workfront.com"));
        assert!(check_url("http://acme.my.workfront.com", true).is_ok());
        assert!(!ok("https://acme.my.workfront.com/attask/api/v21.0"));
        assert!(!ok("https://acme.my.workfront.com/?apiKey=x"));
        assert!(!ok("ftp://acme"));
        let err = check_url("acme.my.workfront.com", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--url needs a scheme: did you mean https://acme.my.workfront.com?"
        );
        assert!(
            check_url("acme.my.workfront.com:443", false)
                .unwrap_err()
                .to_string()
                .contains("did you mean https://acme.my.workfront.com?")
        );
        // The port stays in the suggestion.
        assert!(
            check_url("localhost:8443", false)
                .unwrap_err()
                .to_string()
                .contains("did you mean https://localhost:8443?")
        );
        let err = check_url("https://user:pa55word@acme.my.workfront.com", false).unwrap_err();
        assert!(!err.to_string().contains("pa55word"));
    }

    #[test]
    fn durations_take_their_units() {
        let d = |s| parse_duration("lag", s).map(|d| d.as_millis());
        assert_eq!(d("500ms").unwrap(), 500);
        assert_eq!(d("30s").unwrap(), 30_000);
        assert_eq!(d("5m").unwrap(), 300_000);
        assert_eq!(d("2h").unwrap(), 7_200_000);
        assert_eq!(d("0s").unwrap(), 0);
        for bad in ["", "30", "s", "1.5s", "-1s", "3 days", "30S"] {
            let err = parse_duration("lag", bad).unwrap_err();
            assert!(err.to_string().contains("--lag"), "{bad}");
        }
    }

    #[test]
    fn versions_must_look_like_v21_0() {
        assert!(check_version("v21.0").is_ok());
        assert!(check_version("v22.1").is_ok());
        for bad in ["21.0", "v21", "v21.x", "latest", "v.0"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }
}
