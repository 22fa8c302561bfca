//! Where a credential comes from: exactly one of the `WORKFRONT_*` variables or an API key
//! file, or what a profile names (an environment variable or a file, never the secret
//! itself). Several at once is a usage error that names them; a credential is never taken
//! from the command line, where `ps` and shell history would show it.

use std::path::{Path, PathBuf};

use crate::auth::jwt::JwtConfig;
use crate::auth::{Credential, CredentialSpec};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The variables of the JWT flow; any of the last three makes the environment's credential
/// the JWT flow, which then needs all five.
pub const JWT_VARS: [&str; 5] = [
    "WORKFRONT_CLIENT_ID",
    "WORKFRONT_CLIENT_SECRET",
    "WORKFRONT_CUSTOMER_ID",
    "WORKFRONT_USER_ID",
    "WORKFRONT_PRIVATE_KEY_FILE",
];

fn set(env: &dyn Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    env(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether the environment configures the JWT flow.
fn jwt_in_env(env: &dyn Fn(&str) -> Option<String>) -> bool {
    JWT_VARS[2..].iter().any(|v| set(env, v).is_some())
}

/// Where the JWT flow's pieces are, whichever names them (variables or a profile's keys).
pub struct JwtParts {
    pub client_id: Option<String>,
    /// The secret, and where it came from.
    pub client_secret: Option<(String, String)>,
    pub customer_id: Option<String>,
    pub user_id: Option<String>,
    pub private_key_file: Option<PathBuf>,
}

impl JwtParts {
    /// The checked configuration; `names` says how the user names each piece, in the order
    /// client ID, client secret, customer ID, user ID, private key file.
    pub fn resolve(self, names: [&str; 5]) -> Result<JwtConfig> {
        let missing: Vec<&str> = [
            self.client_id.is_none(),
            self.client_secret.is_none(),
            self.customer_id.is_none(),
            self.user_id.is_none(),
            self.private_key_file.is_none(),
        ]
        .iter()
        .zip(names)
        .filter(|(m, _)| **m)
        .map(|(_, n)| n)
        .collect();
        if !missing.is_empty() {
            return Err(Error::usage(format!(
                "the OAuth2 JWT credential is incomplete: set {} (see the README, \"Authentication\")",
                missing.join(", ")
            )));
        }
        let path = self.private_key_file.unwrap_or_default();
        let pem = std::fs::read_to_string(&path).map_err(|e| {
            Error::usage(format!(
                "cannot read the private key file {} ({}): {e}",
                path.display(),
                names[4]
            ))
        })?;
        let config = JwtConfig {
            client_id: self.client_id.unwrap_or_default(),
            client_secret: Secret::new(self.client_secret.map(|s| s.0).unwrap_or_default()),
            customer_id: self.customer_id.unwrap_or_default(),
            user_id: self.user_id.unwrap_or_default(),
            private_key: Secret::new(pem),
        };
        config.check(&format!(
            "the private key file {} ({})",
            path.display(),
            names[4]
        ))?;
        Ok(config)
    }
}

/// The environment variables that may hold a credential, and the header each becomes.
pub const CREDENTIAL_VARS: [&str; 3] = [
    "WORKFRONT_API_KEY",
    "WORKFRONT_SESSION_ID",
    "WORKFRONT_BEARER_TOKEN",
];

/// Whether a credential is given directly (environment or `--api-key-file`).
pub fn any_credential(api_key_file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> bool {
    api_key_file.is_some()
        || jwt_in_env(env)
        || CREDENTIAL_VARS.iter().any(|v| set(env, v).is_some())
}

/// Exactly one credential, from the environment or `--api-key-file`.
/// With where it came from (a variable's or a flag's name, never the value).
pub fn credential(
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(CredentialSpec, String)> {
    let mut found: Vec<(String, CredentialSpec)> = Vec::new();
    for var in CREDENTIAL_VARS {
        if let Some(value) = set(env, var) {
            let secret = Secret::new(value);
            let credential = match var {
                "WORKFRONT_API_KEY" => Credential::ApiKey(secret),
                "WORKFRONT_SESSION_ID" => Credential::SessionId(secret),
                _ => Credential::Bearer(secret),
            };
            found.push((var.to_string(), CredentialSpec::Given(credential)));
        }
    }
    if jwt_in_env(env) {
        let parts = JwtParts {
            client_id: set(env, JWT_VARS[0]),
            client_secret: set(env, JWT_VARS[1]).map(|s| (s, JWT_VARS[1].to_string())),
            customer_id: set(env, JWT_VARS[2]),
            user_id: set(env, JWT_VARS[3]),
            private_key_file: set(env, JWT_VARS[4]).map(PathBuf::from),
        };
        found.push((
            "WORKFRONT_CLIENT_ID, WORKFRONT_CUSTOMER_ID, ... (OAuth2 JWT)".into(),
            CredentialSpec::Jwt(parts.resolve(JWT_VARS)?),
        ));
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
            CredentialSpec::Given(Credential::ApiKey(Secret::new(key))),
        ));
    }
    match found.len() {
        1 => {
            let (name, credential) = found.remove(0);
            Ok((credential, name))
        }
        // Also what a person meets after `logout`: say how to sign in again first.
        0 => Err(Error::usage(
            "no credential: sign in with `jrnle-audit login` (an OAuth2 Web Application), or \
             set one of WORKFRONT_API_KEY, WORKFRONT_SESSION_ID or WORKFRONT_BEARER_TOKEN, the \
             OAuth2 JWT variables (WORKFRONT_CLIENT_ID, ...), or pass --api-key-file <PATH> \
             (see the README, \"Authentication\")",
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
    /// The JWT flow's keys: `client_id`, `client_secret_env` or `client_secret_file`,
    /// `customer_id`, `user_id`, `private_key_file`.
    pub client_id: Option<&'p str>,
    pub client_secret_env: Option<&'p str>,
    pub client_secret_file: Option<&'p Path>,
    pub customer_id: Option<&'p str>,
    pub user_id: Option<&'p str>,
    pub private_key_file: Option<&'p Path>,
}

impl ProfileKeys<'_> {
    fn names_jwt(&self) -> bool {
        self.customer_id.is_some() || self.user_id.is_some() || self.private_key_file.is_some()
    }

    /// The JWT flow the profile names, its secret read from its variable or file.
    fn jwt(&self, name: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<JwtConfig> {
        let secret = match (self.client_secret_env, self.client_secret_file) {
            (Some(var), None) => Some((
                set(env, var).ok_or_else(|| {
                    Error::usage(format!(
                        "profile {name:?} takes its client secret from ${var} (client_secret_env), which is not set"
                    ))
                })?,
                format!("${var}"),
            )),
            (None, Some(file)) => Some((
                std::fs::read_to_string(file)
                    .map_err(|e| {
                        Error::usage(format!(
                            "profile {name:?}: cannot read client_secret_file {}: {e}",
                            file.display()
                        ))
                    })?
                    .trim()
                    .to_string(),
                file.display().to_string(),
            )),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(Error::usage(format!(
                    "profile {name:?} names client_secret_env and client_secret_file: keep one"
                )));
            }
        };
        JwtParts {
            client_id: self.client_id.map(str::to_string),
            client_secret: secret,
            customer_id: self.customer_id.map(str::to_string),
            user_id: self.user_id.map(str::to_string),
            private_key_file: self.private_key_file.map(Path::to_path_buf),
        }
        .resolve([
            "client_id",
            "client_secret_env or client_secret_file",
            "customer_id",
            "user_id",
            "private_key_file",
        ])
        .map_err(|e| Error::usage(format!("profile {name:?}: {e}")))
    }
}

/// What a profile's keys come to.
#[derive(Debug, PartialEq, Eq)]
pub enum FromProfile {
    /// The profile names no credential.
    Nothing,
    /// An API key file, read as `--api-key-file` is.
    File(PathBuf),
    /// With where it came from: the variable and the profile.
    Credential(CredentialSpec, String),
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
    if keys.names_jwt() {
        if !named.is_empty() || keys.api_key_file.is_some() {
            return Err(several(name));
        }
        return Ok(FromProfile::Credential(
            CredentialSpec::Jwt(keys.jwt(name, env)?),
            format!("profile {name:?} (OAuth2 JWT)"),
        ));
    }
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
                CredentialSpec::Given(credential),
                format!("${var} (profile {name:?}, {kind})"),
            ))
        }
        _ => Err(several(name)),
    }
}

fn several(name: &str) -> Error {
    Error::usage(format!(
        "profile {name:?} names several credentials: keep one of api_key_env, api_key_file, \
         session_id_env, bearer_token_env, or the OAuth2 JWT keys (client_id, \
         client_secret_env, customer_id, user_id, private_key_file)"
    ))
}
