//! Workfront's machine-to-machine OAuth2 flow (API notes §2.1): sign a short-lived RS256 JWT
//! (`iss` the customer ID, `sub` the user ID, `exp` a few minutes ahead, `iat`), exchange it
//! with the client ID and secret for a session at
//! `<url>/integrations/oauth2/api/v1/jwt/exchange`, and send the answer's `access_token` as
//! the `sessionID` header. A refused session is renewed with a new JWT.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};

use crate::auth::Authenticator;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// How far ahead a JWT expires: Adobe recommends a few minutes, a new JWT for every token.
const JWT_LIFETIME_S: i64 = 300;

/// The path of the exchange under the tenant's URL.
pub const EXCHANGE_PATH: &str = "/integrations/oauth2/api/v1/jwt/exchange";

/// What the JWT flow needs; the secret and the key stay redacted in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    pub client_id: String,
    pub client_secret: Secret,
    pub customer_id: String,
    pub user_id: String,
    /// The RSA private key, PEM text.
    pub private_key: Secret,
}

impl JwtConfig {
    /// Check that the key can sign, so a bad key fails before any request, with exit 2 and
    /// `key_source` (the file and the variable or profile key that names it). Reading the PEM
    /// is not enough: jsonwebtoken reads a `PUBLIC KEY` PEM as an RSA "encoding key" too, and
    /// only signing finds out. So a throwaway JWT is signed through `jsonwebtoken::encode`,
    /// whichever cryptography provider the process installed doing the checking.
    pub fn check(&self, key_source: &str) -> Result<()> {
        self.sign().map(drop).map_err(|_| {
            let pem = self.private_key.expose();
            let what = if pem.contains("PUBLIC KEY-----") {
                "holds a public key, not the private key: give the private half of the key pair \
                 whose public key the Workfront OAuth2 application (Machine to Machine) has"
            } else {
                "is not an RSA private key in PEM (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA \
                 PRIVATE KEY-----): use the key pair of the Workfront OAuth2 application (Machine \
                 to Machine)"
            };
            Error::usage(format!("{key_source} {what}"))
        })
    }

    /// A freshly signed JWT.
    fn sign(&self) -> Result<String> {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            sub: &'a str,
            iat: i64,
            exp: i64,
        }
        let now = chrono::Utc::now().timestamp();
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(self.private_key.expose().as_bytes())
            .map_err(|e| Error::Internal(format!("the private key does not read: {e}")))?;
        let claims = Claims {
            iss: &self.customer_id,
            sub: &self.user_id,
            iat: now,
            exp: now + JWT_LIFETIME_S,
        };
        crate::crypto::install();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &key,
        )
        .map_err(|e| Error::Internal(format!("signing the JWT: {e}")))
    }
}

/// A session got by the JWT flow, renewed on request.
pub struct JwtSession {
    config: JwtConfig,
    endpoint: reqwest::Url,
    http: reqwest::Client,
    /// Where the configuration came from, for messages.
    source: String,
    session: tokio::sync::Mutex<Option<Secret>>,
}

impl JwtSession {
    pub fn new(
        base: &reqwest::Url,
        config: JwtConfig,
        source: String,
        timeout: Duration,
    ) -> Result<Self> {
        let endpoint = base
            .join(EXCHANGE_PATH)
            .map_err(|e| Error::Internal(format!("the exchange URL: {e}")))?;
        crate::crypto::install();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(JwtSession {
            config,
            endpoint,
            http,
            source,
            session: tokio::sync::Mutex::new(None),
        })
    }

    /// Exchange a new JWT for a session.
    async fn exchange(&self) -> Result<Secret> {
        let jwt = self.config.sign()?;
        let form = [
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose()),
            ("jwt_token", jwt.as_str()),
        ];
        super::token::request(&self.http, &self.endpoint, &form, &self.source)
            .await
            .map(|t| t.session)
            .map_err(|e| match e {
                // The JWT lives five minutes from this machine's clock.
                Error::Auth {
                    path,
                    status,
                    message,
                } if message.contains("expired") => Error::Auth {
                    path,
                    status,
                    message: format!("{message}; check this machine's clock (the JWT expires {JWT_LIFETIME_S} s after it)"),
                },
                other => other,
            })
    }
}

impl Authenticator for JwtSession {
    fn header(&self) -> BoxFuture<'_, Result<(HeaderName, HeaderValue)>> {
        async move {
            // One exchange for the requests that start together, not one each.
            let mut session = self.session.lock().await;
            if session.is_none() {
                *session = Some(self.exchange().await?);
            }
            super::session_header(session.as_ref())
        }
        .boxed()
    }

    fn renew(&self) -> BoxFuture<'_, Result<bool>> {
        async move {
            let fresh = self.exchange().await?;
            *self.session.lock().await = Some(fresh);
            Ok(true)
        }
        .boxed()
    }

    fn describe(&self) -> String {
        format!(
            "OAuth2 machine-to-machine (JWT) session for client {} from {}",
            self.config.client_id, self.source
        )
    }
}
