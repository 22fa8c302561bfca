//! Named profiles in a TOML config file: a tenant's URL, API version, where its credential
//! comes from (an environment variable or a file, never the secret itself), and default
//! filters. Precedence: flags and WORKFRONT_* variables, then the profile, then defaults.
//!
//! ```toml
//! [profiles.acme]
//! url = "https://acme.my.workfront.com"
//! api_version = "v21.0"
//! api_key_env = "ACME_WORKFRONT_KEY"   # or api_key_file, session_id_env, bearer_token_env,
//!                                      # or the OAuth2 JWT keys: client_id, client_secret_env
//!                                      # (or client_secret_file), customer_id, user_id,
//!                                      # private_key_file
//! obj_codes = ["TASK", "OPTASK"]
//! fields = ["status"]
//! since = "7d"
//! signing_key_file = "/etc/jrnle-audit/signing_ed25519"   # sync and snapshot sign manifests
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::CredentialSpec;
use crate::auth::resolve::{FromProfile, ProfileKeys, any_credential, from_profile};
use crate::cli::{ConnectionArgs, FilterArgs};
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One profile. Unknown keys are refused, so a typo does not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub url: Option<String>,
    pub api_version: Option<String>,
    pub api_key_env: Option<String>,
    pub api_key_file: Option<PathBuf>,
    pub session_id_env: Option<String>,
    pub bearer_token_env: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub customer_id: Option<String>,
    pub user_id: Option<String>,
    pub private_key_file: Option<PathBuf>,
    #[serde(default)]
    pub obj_codes: Vec<String>,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub obj_ids: Vec<String>,
    #[serde(default)]
    pub edited_by: Vec<String>,
    #[serde(default)]
    pub change_types: Vec<String>,
    pub since: Option<String>,
    /// The OpenSSH private key `sync` and `snapshot` sign manifests with (`--signing-key`).
    pub signing_key_file: Option<PathBuf>,
    /// RFC 3161 time-stamping authorities for `sync` and `snapshot`, in fallback order
    /// (`--tsa-url` overrides them).
    #[serde(default)]
    pub tsa_urls: Vec<String>,
}

/// Keys that would hold a secret: refused with a pointer to the right way.
const SECRET_KEYS: [&str; 9] = [
    "api_key",
    "apikey",
    "session_id",
    "bearer_token",
    "token",
    "password",
    "client_secret",
    "private_key",
    "refresh_token",
];

/// The config file's place: `--config`, else `$XDG_CONFIG_HOME/jrnle-audit/config.toml`,
/// else `~/.config/jrnle-audit/config.toml`.
pub fn config_path(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let base = env("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("jrnle-audit").join("config.toml"))
}

/// A config file that does not read, as one line naming the file, the line and the key
/// (toml's own message is several lines of source excerpt with a caret).
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let Some(span) = e.span() else {
        return Error::usage(format!("config file {}: {message}", path.display()));
    };
    let start = span.start.min(text.len());
    let number = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(number - 1).unwrap_or_default().trim();
    let place = match line.split_once('=') {
        Some((key, _)) if !line.starts_with('[') => format!(", key {}", key.trim()),
        _ if line.starts_with('[') => format!(", table {line}"),
        _ => String::new(),
    };
    Error::usage(format!(
        "config file {} line {number}{place}: {message}",
        path.display()
    ))
}

/// Read profile `name` from `path`.
pub fn load(path: &Path, name: &str) -> Result<Profile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::usage(format!(
            "profile {name:?}: cannot read the config file {}: {e}; create it, or name the right file with --config <PATH>",
            path.display()
        ))
    })?;
    let raw: toml::Table = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
    if let Some(toml::Value::Table(profiles)) = raw.get("profiles") {
        for (pname, p) in profiles {
            if let toml::Value::Table(p) = p
                && let Some(key) = SECRET_KEYS.iter().find(|k| p.contains_key(**k))
            {
                return Err(Error::usage(format!(
                    "{}: profile {pname:?} holds a secret ({key}): a config file must not; name \
                     an environment variable (api_key_env, session_id_env, bearer_token_env) or \
                     a file (api_key_file) instead",
                    path.display()
                )));
            }
        }
    }
    let mut file: ConfigFile = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
    let known: Vec<String> = file.profiles.keys().cloned().collect();
    file.profiles.remove(name).ok_or_else(|| {
        Error::usage(format!(
            "no profile {name:?} in {}{}",
            path.display(),
            if known.is_empty() {
                String::new()
            } else {
                format!(" (it has: {})", known.join(", "))
            }
        ))
    })
}

/// The signing key file the profile named by `--profile`/`WORKFRONT_PROFILE` gives, if any.
pub fn signing_key_file(
    connection: &ConnectionArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<PathBuf>> {
    let Some(name) = &connection.profile else {
        return Ok(None);
    };
    if connection.demo {
        return Ok(None);
    }
    match config_path(connection.config.as_deref(), env) {
        Some(path) => Ok(load(&path, name)?.signing_key_file),
        None => Ok(None),
    }
}

/// Fill what the flags leave unset from the profile named by `--profile`/`WORKFRONT_PROFILE`.
/// Returns the credential the profile names, and where it came from, when no credential is
/// given directly.
pub fn apply(
    connection: &mut ConnectionArgs,
    filters: &mut FilterArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(CredentialSpec, String)>> {
    let Some(name) = connection.profile.clone() else {
        return Ok(None);
    };
    if connection.demo {
        return Ok(None);
    }
    let path = config_path(connection.config.as_deref(), env).ok_or_else(|| {
        Error::usage("--profile needs a config file: pass --config <PATH> or set HOME")
    })?;
    let p = load(&path, &name)?;
    connection.url = connection.url.take().or(p.url);
    connection.api_version = connection.api_version.take().or(p.api_version);
    let fill = |flag: &mut Vec<String>, default: Vec<String>| {
        if flag.is_empty() {
            *flag = default;
        }
    };
    fill(&mut filters.obj_codes, p.obj_codes);
    fill(&mut filters.fields, p.fields);
    fill(&mut filters.obj_ids, p.obj_ids);
    fill(&mut filters.edited_by, p.edited_by);
    fill(&mut filters.change_types, p.change_types);
    filters.since = filters.since.take().or(p.since);
    if any_credential(connection.api_key_file.as_deref(), env) {
        return Ok(None);
    }
    let keys = ProfileKeys {
        api_key_env: p.api_key_env.as_deref(),
        session_id_env: p.session_id_env.as_deref(),
        bearer_token_env: p.bearer_token_env.as_deref(),
        api_key_file: p.api_key_file.as_deref(),
        client_id: p.client_id.as_deref(),
        client_secret_env: p.client_secret_env.as_deref(),
        client_secret_file: p.client_secret_file.as_deref(),
        customer_id: p.customer_id.as_deref(),
        user_id: p.user_id.as_deref(),
        private_key_file: p.private_key_file.as_deref(),
    };
    match from_profile(&name, &keys, env)? {
        FromProfile::Nothing => {
            // A person's `login` for this profile, its client secret named by the profile.
            let secret = match (&p.client_secret_env, &p.client_secret_file) {
                (Some(var), _) => env(var).map(|s| (s.trim().to_string(), format!("${var}"))),
                (None, Some(file)) => std::fs::read_to_string(file)
                    .ok()
                    .map(|s| (s.trim().to_string(), file.display().to_string())),
                (None, None) => env("WORKFRONT_CLIENT_SECRET")
                    .map(|s| (s.trim().to_string(), "WORKFRONT_CLIENT_SECRET".to_string())),
            };
            crate::auth::login::stored(Some(&name), secret, env)
        }
        FromProfile::File(file) => {
            connection.api_key_file = Some(file);
            Ok(None)
        }
        FromProfile::Credential(c, from) => Ok(Some((c, from))),
    }
}
