//! Credentials behind one trait: the client asks an [`Authenticator`] for the credential header
//! of every request, and calls [`Authenticator::renew`] once after a 401 (the client makes
//! that single-flight). The credentials handed in from outside (API key, session ID, bearer
//! token: [`Credential`]) cannot renew; credentials that fetch and renew their own sessions
//! (Workfront's OAuth2 flows) implement the same trait. Where a credential comes from
//! (environment, files, profiles) is [`resolve`].

pub mod jwt;
pub mod login;
pub mod resolve;
pub mod token;

use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The source of the credential header of each request.
pub trait Authenticator: Send + Sync {
    /// The header to send: name and value (marked sensitive, so no log shows it).
    fn header(&self) -> BoxFuture<'_, Result<(HeaderName, HeaderValue)>>;

    /// Get a fresh credential after Workfront refused the current one (401). `Ok(true)`: renewed,
    /// the request is worth sending again; `Ok(false)`: this credential cannot renew.
    fn renew(&self) -> BoxFuture<'_, Result<bool>>;

    /// What kind of credential this is, for `-v` (never its value).
    fn describe(&self) -> String;

    /// What to do when Workfront refuses it for good, when there is more to say than the
    /// refusal.
    fn when_refused(&self) -> Option<String> {
        None
    }
}

/// Where the README explains the credentials.
const README_AUTH: &str = "see the README, \"Authentication\"";

/// One of the three credentials Workfront accepts as they are (API notes §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `apiKey` header (never the query parameter: URLs end up in logs).
    ApiKey(Secret),
    /// `sessionID` header.
    SessionId(Secret),
    /// `Authorization: Bearer` with an Adobe IMS token.
    Bearer(Secret),
}

impl Credential {
    /// The header this credential is sent as.
    pub fn to_header(&self) -> Result<(HeaderName, HeaderValue)> {
        let (name, value) = match self {
            Credential::ApiKey(s) => ("apikey", s.expose().to_string()),
            Credential::SessionId(s) => ("sessionid", s.expose().to_string()),
            Credential::Bearer(s) => ("authorization", format!("Bearer {}", s.expose())),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Error::usage("the credential contains characters that cannot be sent in an HTTP header")
        })?;
        value.set_sensitive(true);
        Ok((HeaderName::from_static(name), value))
    }
}

impl Credential {
    /// Which header, and from where, for messages (never the value).
    pub fn describe_from(&self, from: &str) -> String {
        format!("{} from {from}", self.describe())
    }
}

/// How a run authenticates, as configured: a credential handed in, or a flow that gets and
/// renews its own sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSpec {
    Given(Credential),
    Jwt(jwt::JwtConfig),
    /// A person's `login`: the refresh token in `path`.
    Login {
        app: login::WebApp,
        path: std::path::PathBuf,
    },
}

impl CredentialSpec {
    /// The authenticator of this credential for the tenant at `url`; `from` names where it
    /// was configured. A credential that cannot be sent fails here, before any request.
    pub fn authenticator(
        &self,
        url: &reqwest::Url,
        from: &str,
        timeout: std::time::Duration,
    ) -> Result<std::sync::Arc<dyn Authenticator>> {
        Ok(match self {
            CredentialSpec::Given(credential) => {
                credential.to_header()?;
                std::sync::Arc::new(FromSource {
                    credential: credential.clone(),
                    source: from.to_string(),
                })
            }
            CredentialSpec::Jwt(jwt) => std::sync::Arc::new(jwt::JwtSession::new(
                url,
                jwt.clone(),
                from.to_string(),
                timeout,
            )?),
            CredentialSpec::Login { app, path } => std::sync::Arc::new(login::RefreshSession::new(
                url,
                app.clone(),
                path.clone(),
                timeout,
            )?),
        })
    }

    /// What kind, and from where, for messages (never a value).
    pub fn describe_from(&self, from: &str) -> String {
        match self {
            CredentialSpec::Given(c) => c.describe_from(from),
            CredentialSpec::Jwt(j) => format!(
                "OAuth2 machine-to-machine (JWT) for client {} from {from}",
                j.client_id
            ),
            CredentialSpec::Login { app, path } => format!(
                "OAuth2 login for client {} stored in {} ({from})",
                app.client_id,
                path.display()
            ),
        }
    }
}

/// A session as the `sessionID` header, marked sensitive.
pub(crate) fn session_header(session: Option<&Secret>) -> Result<(HeaderName, HeaderValue)> {
    let session = session.ok_or_else(|| Error::Internal("no session yet".into()))?;
    let mut value = HeaderValue::from_str(session.expose())
        .map_err(|_| Error::Internal("the session has characters a header cannot hold".into()))?;
    value.set_sensitive(true);
    Ok((HeaderName::from_static("sessionid"), value))
}

/// A credential with where it came from, so that a refusal names the source.
#[derive(Debug)]
pub struct FromSource {
    pub credential: Credential,
    pub source: String,
}

impl Authenticator for FromSource {
    fn header(&self) -> BoxFuture<'_, Result<(HeaderName, HeaderValue)>> {
        self.credential.header()
    }

    fn renew(&self) -> BoxFuture<'_, Result<bool>> {
        self.credential.renew()
    }

    fn describe(&self) -> String {
        self.credential.describe_from(&self.source)
    }

    fn when_refused(&self) -> Option<String> {
        self.credential.when_refused()
    }
}

/// A credential handed in from outside: sent as it is, never renewed (a 401 stays a 401).
impl Authenticator for Credential {
    fn header(&self) -> BoxFuture<'_, Result<(HeaderName, HeaderValue)>> {
        futures::future::ready(self.to_header()).boxed()
    }

    fn renew(&self) -> BoxFuture<'_, Result<bool>> {
        futures::future::ready(Ok(false)).boxed()
    }

    fn describe(&self) -> String {
        let kind = match self {
            Credential::ApiKey(_) => "apiKey header",
            Credential::SessionId(_) => "sessionID header",
            Credential::Bearer(_) => "Authorization: Bearer header",
        };
        format!("{kind} (redacted)")
    }

    fn when_refused(&self) -> Option<String> {
        Some(match self {
            Credential::ApiKey(_) => format!(
                "Workfront API keys expire every month by default: make a new one, or switch \
                 to OAuth2 (a JWT application for scheduled runs, `jrnle-audit login` for a \
                 person), which renews its own sessions ({README_AUTH})"
            ),
            Credential::SessionId(_) => format!(
                "a session ID expires and cannot be renewed from outside: use OAuth2, which \
                 renews its own sessions ({README_AUTH})"
            ),
            Credential::Bearer(_) => format!("the token may have expired ({README_AUTH})"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_in_sensitive_headers() {
        let (name, value) = Credential::Bearer(Secret::new("tok")).to_header().unwrap();
        assert_eq!(name, "authorization");
        assert_eq!(value.to_str().unwrap(), "Bearer tok");
        assert!(value.is_sensitive());
        let (name, _) = Credential::ApiKey(Secret::new("k")).to_header().unwrap();
        assert_eq!(name, "apikey");
        let (name, _) = Credential::SessionId(Secret::new("s")).to_header().unwrap();
        assert_eq!(name, "sessionid");
        assert!(
            Credential::ApiKey(Secret::new("bad\nvalue"))
                .to_header()
                .is_err()
        );
    }

    #[test]
    fn debug_output_of_every_credential_hides_its_secrets() {
        let jwt = jwt::JwtConfig {
            client_id: "cid".into(),
            client_secret: Secret::new("client-s3cret"),
            customer_id: "cust".into(),
            user_id: "user".into(),
            private_key: Secret::new("-----BEGIN PRIVATE KEY-----\nMIIkeybytes"),
        };
        let login = CredentialSpec::Login {
            app: login::WebApp {
                client_id: "cid".into(),
                client_secret: Secret::new("client-s3cret"),
            },
            path: "/x".into(),
        };
        let stored = login::StoredToken {
            url: "https://x".into(),
            client_id: "cid".into(),
            refresh_token: "refresh-s3cret".into(),
            refreshed_at: "now".into(),
        };
        let shown = format!("{:?} {login:?} {stored:?}", CredentialSpec::Jwt(jwt));
        for secret in ["client-s3cret", "MIIkeybytes", "refresh-s3cret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn a_refused_api_key_says_keys_expire_and_how_to_switch() {
        let hint = Credential::ApiKey(Secret::new("k")).when_refused().unwrap();
        assert!(hint.contains("expire every month") && hint.contains("Authentication"));
    }

    #[test]
    fn a_credential_from_outside_cannot_renew_and_never_shows_its_value() {
        let c = Credential::ApiKey(Secret::new("s3cret-value"));
        assert!(!futures::executor::block_on(c.renew()).unwrap());
        assert!(!c.describe().contains("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
