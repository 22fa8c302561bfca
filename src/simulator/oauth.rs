//! Workfront's OAuth2 applications, simulated (API notes §2.1): the machine-to-machine JWT
//! exchange, the authorization-code flow (authorize, code for a token, refresh, optional
//! refresh-token rotation) and the sessions they issue, which expire after the session TTL
//! and are then answered 401 "You are not currently logged in".
//!
//! Where the notes are silent the simulator chooses, and says so here: an answer to the
//! exchange is `{"access_token", "token_type": "sessionID", "expires_in"}`; refusals are
//! Workfront's error envelope with status 400 (malformed request) or 401 (refused client,
//! signature, claims, code, PKCE verifier or refresh token); the authorize endpoint approves
//! at once and sends `state` back (RFC 6749 §4.1.2; Workfront's notes do not mention
//! `state`).
//!
//! PKCE (RFC 7636) is checked as Workfront documents it for its "Single Page Application":
//! `code_challenge_method` is S256 only and a code issued for a challenge is exchanged only
//! with the verifier whose BASE64URL(SHA-256) it is. Whether a "Web Application" (one with a
//! client secret) takes PKCE too is not documented; the simulator checks it whenever a
//! challenge came with the authorization request, and a code issued without one needs no
//! verifier (a verifier sent anyway is ignored, as servers without PKCE do, RFC 7636 §5).
//!
//! For tests, sessions can also expire after a number of API requests
//! ([`super::Simulator::expire_sessions_after`]), so that a test makes expiries happen
//! instead of hoping the run outlives a TTL.

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

/// A session the simulator issued.
struct Session {
    at: Instant,
    /// API requests accepted with it so far.
    uses: u64,
}

/// An authorization code not yet exchanged.
struct Code {
    at: Instant,
    /// The PKCE `code_challenge` (S256) of the authorization request, if it had one.
    challenge: Option<String>,
}

/// Sessions, codes and refresh tokens the simulator issued.
#[derive(Default)]
pub struct Issued {
    sessions: Mutex<HashMap<String, Session>>,
    codes: Mutex<HashMap<String, Code>>,
    refresh_tokens: Mutex<HashMap<String, ()>>,
    counter: AtomicU64,
    /// Sessions issued so far (each exchange or token request that succeeded).
    pub issued: AtomicU64,
    /// A session answers 401 after this many API requests; 0: no limit (the default).
    requests_per_session: AtomicU64,
    /// API requests accepted with an issued session so far.
    session_requests: AtomicU64,
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
        let session = Session {
            at: Instant::now(),
            uses: 0,
        };
        lock(&self.sessions).insert(id.clone(), session);
        self.issued.fetch_add(1, Ordering::Relaxed);
        id
    }

    /// Whether `id` is a live session (issued here, younger than `ttl`, and under the
    /// requests a session may serve); a live one is counted as used by this request.
    pub fn session_valid(&self, id: &str, ttl: Option<Duration>) -> bool {
        let limit = self.requests_per_session.load(Ordering::SeqCst);
        let mut sessions = lock(&self.sessions);
        let Some(session) = sessions.get_mut(id) else {
            return false;
        };
        let live = ttl.is_none_or(|ttl| session.at.elapsed() < ttl)
            && (limit == 0 || session.uses < limit);
        if live {
            session.uses += 1;
            self.session_requests.fetch_add(1, Ordering::SeqCst);
        }
        live
    }
}

/// Test switches of the sessions the OAuth2 flows issue: expiry made to happen, so that a
/// test does not depend on how fast the machine runs.
impl super::Simulator {
    /// From now on every session answers 401 "You are not currently logged in" once it has
    /// served `requests` API requests (`None`: no limit, the default; the TTL still applies).
    pub fn expire_sessions_after(&self, requests: Option<u64>) {
        let limit = requests.map_or(0, |n| n.max(1));
        let issued = &self.shared.issued;
        issued.requests_per_session.store(limit, Ordering::SeqCst);
    }

    /// API requests accepted with an issued session so far (the refused ones not counted).
    pub fn session_requests(&self) -> u64 {
        self.shared.issued.session_requests.load(Ordering::SeqCst)
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
    let challenge = query.get("code_challenge").cloned();
    let method = query.get("code_challenge_method").map(String::as_str);
    match (&challenge, method) {
        (None, None) | (Some(_), Some("S256")) => {}
        (Some(_), _) => {
            return Err(ApiError::invalid(
                "code_challenge_method must be S256 (Workfront takes no other)",
            ));
        }
        (None, Some(_)) => return Err(ApiError::invalid("code_challenge is required")),
    }
    let code = issued.token("code", seed);
    let at = Instant::now();
    lock(&issued.codes).insert(code.clone(), Code { at, challenge });
    let mut back = form_urlencoded::Serializer::new(String::new());
    back.append_pair("code", &code);
    if let Some(state) = query.get("state") {
        back.append_pair("state", state);
    }
    back.append_pair("domain", "simulated")
        .append_pair("lane", "local");
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let location = format!("{redirect}{sep}{}", back.finish());
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

/// Whether `verifier` is the PKCE verifier of `challenge` (RFC 7636 §4.1, §4.6): 43 to 128
/// unreserved characters whose SHA-256, BASE64URL-encoded without padding, is the challenge.
fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    use base64::Engine;
    use sha2::Digest;
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    let digest: [u8; 32] = sha2::Sha256::digest(verifier.as_bytes()).into();
    (43..=128).contains(&verifier.len())
        && verifier.chars().all(unreserved)
        && base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == challenge
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
            // A code is good once, whatever the outcome.
            let issued_code = lock(&issued.codes).remove(code);
            let Some(issued_code) = issued_code.filter(|c| c.at.elapsed() < CODE_TTL) else {
                return Err(refused(
                    401,
                    "the authorization code is invalid or has expired",
                ));
            };
            if let Some(challenge) = &issued_code.challenge {
                let verifier = form.get("code_verifier").map(String::as_str);
                if !verifier.is_some_and(|v| verifier_matches(v, challenge)) {
                    return Err(refused(
                        401,
                        "the code_verifier is missing or does not match the code_challenge \
                         (PKCE)",
                    ));
                }
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
        crate::crypto::install();
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

    /// A verifier and its challenge, computed apart (Python's hashlib and base64).
    const VERIFIER: &str = "test-only-pkce-verifier-0123456789-abcdefghij";
    const CHALLENGE: &str = "04IkOaMtM9kO32Ks0WcJc5ymwcyHIAR9h6iQTJkpDPk";

    #[test]
    fn a_pkce_verifier_matches_only_its_own_challenge() {
        assert!(verifier_matches(VERIFIER, CHALLENGE));
        assert!(!verifier_matches(&format!("{VERIFIER}x"), CHALLENGE));
        // Too short, even when its hash matched.
        use base64::Engine;
        use sha2::Digest;
        let short = "abc";
        let digest: [u8; 32] = sha2::Sha256::digest(short.as_bytes()).into();
        let its = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        assert!(!verifier_matches(short, &its));
    }

    /// Approve with `query`, then exchange the code with `verifier`: the token answer's status.
    fn approve_then_exchange(query: &str, verifier: Option<&str>) -> u16 {
        let app = app();
        let issued = Issued::default();
        let uri: Uri = format!("/integrations/oauth2/authorize?client_id=c&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&state=s1{query}")
            .parse()
            .unwrap();
        let approved = answer(Some(&app), &issued, 1, None, &uri, b"").unwrap();
        let location = approved.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_string();
        let back: HashMap<String, String> =
            form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(back["state"], "s1", "state is sent back");
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", &back["code"])
            .append_pair("client_id", "c")
            .append_pair("client_secret", "s");
        if let Some(v) = verifier {
            form.append_pair("code_verifier", v);
        }
        let uri: Uri = "/integrations/oauth2/api/v1/token".parse().unwrap();
        match answer(Some(&app), &issued, 1, None, &uri, form.finish().as_bytes()) {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.status,
        }
    }

    #[test]
    fn a_code_issued_for_a_challenge_needs_its_verifier() {
        let pkce = format!("&code_challenge={CHALLENGE}&code_challenge_method=S256");
        assert_eq!(approve_then_exchange(&pkce, Some(VERIFIER)), 200);
        assert_eq!(approve_then_exchange(&pkce, None), 401);
        let other = "a".repeat(43);
        assert_eq!(approve_then_exchange(&pkce, Some(&other)), 401);
        // Without a challenge (a Web Application not using PKCE) no verifier is needed.
        assert_eq!(approve_then_exchange("", None), 200);
    }
}
