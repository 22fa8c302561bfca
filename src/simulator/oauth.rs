//! Workfront's OAuth2 applications, simulated (API notes §2.1): the machine-to-machine JWT
//! exchange, the authorization-code flow (authorize, code for a token, refresh, optional
//! refresh-token rotation) and the sessions they issue, which expire after the session TTL
//! and are then answered 401 "You are not currently logged in".
//!
//! Where the notes are silent the simulator chooses, and says so here: an answer to the
//! exchange is `{"access_token", "token_type": "sessionID", "expires_in"}`; refusals are
//! Workfront's error envelope with status 400 (malformed request) or 401 (refused client,
//! signature, claims, code or refresh token); the authorize endpoint approves at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::query::ApiError;
use crate::secret::Secret;

/// A registered OAuth2 application of the simulated tenant.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: Secret,
    /// The machine-to-machine app's public key (PEM); `None`: no JWT exchange.
    pub public_key_pem: Option<String>,
    /// The `iss` a JWT must carry.
    pub customer_id: String,
    /// The `sub` a JWT must carry.
    pub user_id: String,
    /// Each refresh answers a new refresh token and retires the old one.
    pub rotate_refresh_tokens: bool,
}

/// How long an authorization code is good for (API notes §2.1).
const CODE_TTL: Duration = Duration::from_secs(120);

/// Sessions, codes and refresh tokens the simulator issued.
#[derive(Default)]
pub struct Issued {
    /// session id → when it was issued.
    sessions: Mutex<HashMap<String, Instant>>,
    codes: Mutex<HashMap<String, Instant>>,
    refresh_tokens: Mutex<HashMap<String, ()>>,
    counter: AtomicU64,
    /// Sessions issued so far (each exchange or token request that succeeded).
    pub issued: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Issued {
    fn token(&self, kind: &str, seed: u64) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut rng = crate::rng::SplitMix64::new(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        format!("{kind}-{:016x}{:016x}", rng.next_u64(), rng.next_u64())
    }

    fn new_session(&self, seed: u64) -> String {
        let id = self.token("sess", seed);
        lock(&self.sessions).insert(id.clone(), Instant::now());
        self.issued.fetch_add(1, Ordering::Relaxed);
        id
    }

    /// Whether `id` is a live session: issued here and younger than `ttl`.
    pub fn session_valid(&self, id: &str, ttl: Option<Duration>) -> bool {
        lock(&self.sessions)
            .get(id)
            .is_some_and(|at| ttl.is_none_or(|ttl| at.elapsed() < ttl))
    }
}

fn refused(status: u16, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        class: "com.attask.common.AuthenticationException",
        message: message.into(),
    }
}

/// The answer to a request under `/integrations/oauth2/`.
pub(super) fn answer(
    app: Option<&OAuthApp>,
    issued: &Issued,
    seed: u64,
    ttl: Option<Duration>,
    uri: &Uri,
    body: &[u8],
) -> Result<Response, ApiError> {
    let app = app.ok_or_else(|| refused(404, "no OAuth2 application is registered"))?;
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    match uri.path().trim_end_matches('/') {
        "/integrations/oauth2/authorize" => authorize(app, issued, seed, &query),
        "/integrations/oauth2/api/v1/jwt/exchange" => {
            client(app, &form)?;
            check_jwt(app, form.get("jwt_token").map(String::as_str))?;
            Ok(session_answer(issued.new_session(seed), None, ttl))
        }
        "/integrations/oauth2/api/v1/token" => {
            client(app, &form)?;
            token(app, issued, seed, ttl, &form)
        }
        other => Err(refused(404, format!("no OAuth2 endpoint at {other}"))),
    }
}

/// The client ID and secret of the form.
fn client(app: &OAuthApp, form: &HashMap<String, String>) -> Result<(), ApiError> {
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret))
            if *id == app.client_id && secret == app.client_secret.expose() =>
        {
            Ok(())
        }
        (Some(id), Some(_)) if *id == app.client_id => Err(refused(
            401,
            "Invalid client credentials: the client secret is wrong",
        )),
        (Some(_), Some(_)) => Err(refused(
            401,
            "Invalid client credentials: unknown client_id",
        )),
        _ => Err(ApiError::invalid(
            "client_id and client_secret are required",
        )),
    }
}

/// An RS256 JWT signed by the app's key, with the customer as `iss`, the user as `sub`, and an
/// `exp` in the future.
fn check_jwt(app: &OAuthApp, jwt: Option<&str>) -> Result<(), ApiError> {
    #[derive(serde::Deserialize)]
    struct Claims {
        iss: String,
        sub: String,
    }
    let jwt = jwt.ok_or_else(|| ApiError::invalid("jwt_token is required"))?;
    let pem = app
        .public_key_pem
        .as_deref()
        .ok_or_else(|| refused(401, "this application does not take JWTs"))?;
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|e| refused(500, format!("the registered public key does not read: {e}")))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    crate::crypto::install();
    let data = jsonwebtoken::decode::<Claims>(jwt, &key, &validation).map_err(|e| {
        let why = match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the JWT has expired (exp)",
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                "the JWT's signature does not match the application's public key"
            }
            _ => "the JWT is not valid",
        };
        refused(401, format!("JWT refused: {why}"))
    })?;
    if data.claims.iss != app.customer_id {
        return Err(refused(401, "JWT refused: iss is not this customer's ID"));
    }
    if data.claims.sub != app.user_id {
        return Err(refused(
            401,
            "JWT refused: sub is not the user who registered the key",
        ));
    }
    Ok(())
}

/// Approves at once: redirects to `redirect_uri` with a code (good for two minutes).
fn authorize(
    app: &OAuthApp,
    issued: &Issued,
    seed: u64,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    if query.get("client_id") != Some(&app.client_id) {
        return Err(refused(401, "unknown client_id"));
    }
    if query.get("response_type").map(String::as_str) != Some("code") {
        return Err(ApiError::invalid("response_type must be code"));
    }
    let redirect = query
        .get("redirect_uri")
        .ok_or_else(|| ApiError::invalid("redirect_uri is required"))?;
    let code = issued.token("code", seed);
    lock(&issued.codes).insert(code.clone(), Instant::now());
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let location = format!("{redirect}{sep}code={code}&domain=simulated&lane=local");
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

/// `grant_type=authorization_code` or `refresh_token`.
fn token(
    app: &OAuthApp,
    issued: &Issued,
    seed: u64,
    ttl: Option<Duration>,
    form: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let refresh = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = form
                .get("code")
                .ok_or_else(|| ApiError::invalid("code is required"))?;
            let at = lock(&issued.codes).remove(code);
            if at.is_none_or(|at| at.elapsed() >= CODE_TTL) {
                return Err(refused(
                    401,
                    "the authorization code is invalid or has expired",
                ));
            }
            let token = issued.token("refresh", seed);
            lock(&issued.refresh_tokens).insert(token.clone(), ());
            token
        }
        Some("refresh_token") => {
            let old = form
                .get("refresh_token")
                .ok_or_else(|| ApiError::invalid("refresh_token is required"))?;
            let mut tokens = lock(&issued.refresh_tokens);
            if !tokens.contains_key(old) {
                return Err(refused(
                    401,
                    "the refresh token is invalid, expired or revoked",
                ));
            }
            if app.rotate_refresh_tokens {
                tokens.remove(old);
                let token = issued.token("refresh", seed);
                tokens.insert(token.clone(), ());
                token
            } else {
                old.clone()
            }
        }
        _ => {
            return Err(ApiError::invalid(
                "grant_type must be authorization_code or refresh_token",
            ));
        }
    };
    Ok(session_answer(issued.new_session(seed), Some(refresh), ttl))
}

fn session_answer(session: String, refresh: Option<String>, ttl: Option<Duration>) -> Response {
    let mut body = json!({
        "token_type": "sessionID",
        "access_token": session,
        "expires_in": ttl.map_or(0, |t| t.as_secs()),
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
        body["wid"] = json!("simulated");
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> OAuthApp {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        OAuthApp {
            client_id: "c".into(),
            client_secret: Secret::new("s"),
            public_key_pem: std::fs::read_to_string(dir.join("test-only-jwt-public.pem")).ok(),
            customer_id: "cust".into(),
            user_id: "user".into(),
            rotate_refresh_tokens: false,
        }
    }

    fn signed(iss: &str, sub: &str, exp_from_now: i64) -> String {
        signed_by("test-only-jwt-private.pem", iss, sub, exp_from_now)
    }

    fn signed_by(key: &str, iss: &str, sub: &str, exp_from_now: i64) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let pem = std::fs::read(dir.join(key)).unwrap();
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap();
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"iss": iss, "sub": sub, "iat": now, "exp": now + exp_from_now});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &key,
        )
        .unwrap()
    }

    #[test]
    fn jwts_are_checked_for_expiry_issuer_subject_and_signature() {
        let app = app();
        assert!(check_jwt(&app, Some(&signed("cust", "user", 300))).is_ok());
        let refused = |jwt: &str| check_jwt(&app, Some(jwt)).unwrap_err().message;
        // A client whose clock is behind signs a JWT that is already expired.
        assert!(refused(&signed("cust", "user", -30)).contains("expired"));
        assert!(refused(&signed("other", "user", 300)).contains("iss"));
        assert!(refused(&signed("cust", "other", 300)).contains("sub"));
        let other = signed_by("test-only-jwt-other-private.pem", "cust", "user", 300);
        assert!(refused(&other).contains("signature"));
        assert_eq!(check_jwt(&app, None).unwrap_err().status, 422);
    }
}
