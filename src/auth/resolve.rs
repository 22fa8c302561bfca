//! Where a credential comes from: exactly one of the `WORKFRONT_*` variables or an API key
//! file, or what a profile names (an environment variable or a file, never the secret
//! itself). Several at once is a usage error that names them; a credential is never taken
//! from the command line, where `ps` and shell history would show it.

use std::path::{Path, PathBuf};

use crate::auth::Credential;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The environment variables that may hold a credential, and the header each becomes.
pub const CREDENTIAL_VARS: [&str; 3] = [
    "WORKFRONT_API_KEY",
    "WORKFRONT_SESSION_ID",
    "WORKFRONT_BEARER_TOKEN",
];

/// Whether a credential is given directly (environment or `--api-key-file`).
pub fn any_credential(api_key_file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> bool {
    api_key_file.is_some()
        || CREDENTIAL_VARS
            .iter()
            .any(|v| env(v).is_some_and(|s| !s.trim().is_empty()))
}

/// Exactly one credential, from the environment or `--api-key-file`.
/// With where it came from (a variable's or a flag's name, never the value).
pub fn credential(
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Credential, String)> {
    let mut found: Vec<(String, Credential)> = Vec::new();
    for var in CREDENTIAL_VARS {
        if let Some(value) = env(var).filter(|v| !v.trim().is_empty()) {
            let secret = Secret::new(value.trim());
            let credential = match var {
                "WORKFRONT_API_KEY" => Credential::ApiKey(secret),
                "WORKFRONT_SESSION_ID" => Credential::SessionId(secret),
                _ => Credential::Bearer(secret),
            };
            found.push((var.to_string(), credential));
        }
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!(
                "cannot read --api-key-file {}: {e}",
                path.display()
            ))
        })?;
        let key = text.trim();
        if key.is_empty() {
            return Err(Error::usage(format!(
                "--api-key-file {} is empty: put the API key in it",
                path.display()
            )));
        }
        found.push((
            "--api-key-file".into(),
            Credential::ApiKey(Secret::new(key)),
        ));
    }
    match found.len() {
        1 => {
            let (name, credential) = found.remove(0);
            Ok((credential, name))
        }
        0 => Err(Error::usage(
            "no credential: set one of WORKFRONT_API_KEY, WORKFRONT_SESSION_ID or \
             WORKFRONT_BEARER_TOKEN, or pass --api-key-file <PATH>",
        )),
        _ => {
            let names: Vec<String> = found.into_iter().map(|(n, _)| n).collect();
            Err(Error::usage(format!(
                "several credentials given ({}): keep exactly one",
                names.join(", ")
            )))
        }
    }
}

/// Where a profile's credential is, as its keys name it.
#[derive(Debug, Default)]
pub struct ProfileKeys<'p> {
    pub api_key_env: Option<&'p str>,
    pub session_id_env: Option<&'p str>,
    pub bearer_token_env: Option<&'p str>,
    pub api_key_file: Option<&'p Path>,
}

/// What a profile's keys come to.
#[derive(Debug, PartialEq, Eq)]
pub enum FromProfile {
    /// The profile names no credential.
    Nothing,
    /// An API key file, read as `--api-key-file` is.
    File(PathBuf),
    /// With where it came from: the variable and the profile.
    Credential(Credential, String),
}

/// The credential profile `name` names, read from the environment.
pub fn from_profile(
    name: &str,
    keys: &ProfileKeys<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<FromProfile> {
    let sources = [
        keys.api_key_env.map(|v| ("api_key_env", v)),
        keys.session_id_env.map(|v| ("session_id_env", v)),
        keys.bearer_token_env.map(|v| ("bearer_token_env", v)),
    ];
    let named: Vec<(&str, &str)> = sources.into_iter().flatten().collect();
    match (named.as_slice(), keys.api_key_file) {
        ([], None) => Ok(FromProfile::Nothing),
        ([], Some(file)) => Ok(FromProfile::File(file.to_path_buf())),
        ([(kind, var)], None) => {
            let value = env(var).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                Error::usage(format!(
                    "profile {name:?} takes its credential from ${var} ({kind}), which is not set"
                ))
            })?;
            let secret = Secret::new(value.trim());
            let credential = match *kind {
                "api_key_env" => Credential::ApiKey(secret),
                "session_id_env" => Credential::SessionId(secret),
                _ => Credential::Bearer(secret),
            };
            Ok(FromProfile::Credential(
                credential,
                format!("${var} (profile {name:?}, {kind})"),
            ))
        }
        _ => Err(Error::usage(format!(
            "profile {name:?} names several credentials: keep one of api_key_env, \
             api_key_file, session_id_env, bearer_token_env"
        ))),
    }
}
