//! The simulator's HTTP surface: routes, credentials, error envelopes and the JSON answers.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::Shared;
use super::faults::{FaultKind, damage, early_response};
use super::generate::SplitMix64;
use super::query::{ApiError, SimQuery};
use super::report::Report;
use super::store::{self, JOURNAL, Schema};

/// Workfront's CDN refuses longer URIs (API notes §1).
pub const MAX_URI_LEN: usize = 8892;

/// The newest API version; a path without a version reaches it.
const LATEST: &str = "v22.0";
/// Versions below this answer 410 Gone: v15–v17 are out of support by late 2026.
const OLDEST_MAJOR: u32 = 18;

pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = InFlight::enter(&shared);
    let started = std::time::Instant::now();
    let delay = shared.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    shared.log_request(format!("{method} {uri}"));
    let answering = std::time::Instant::now();
    let (mut response, rows) = respond(&shared, &method, &uri, &headers, &body).await;
    // The cost model: each row a search returns costs its time (issue 14), and the time spent
    // reading and rendering the rows here is part of it, as a database's is part of
    // Workfront's: the simulator's own work on a busy machine does not add to the model.
    let row_cost = shared.config.row_cost * u32::try_from(rows).unwrap_or(u32::MAX);
    let owed = row_cost.saturating_sub(answering.elapsed());
    if !owed.is_zero() {
        tokio::time::sleep(owed).await;
    }
    if shared.config.log_requests {
        eprintln!(
            "{} ({} in flight)",
            trace_line(
                &method,
                &uri,
                &body,
                response.status(),
                rows,
                started.elapsed()
            ),
            shared.in_flight.load(Ordering::SeqCst)
        );
    }
    if shared.config.faults.resets() {
        // New connections for every request, so connection resets keep happening.
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Counts requests in flight; past the limit Workfront answers 429.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `simulate -v`'s line for one request: method, path, query (and a POST's form body) with
/// every credential parameter redacted, an event subscription request's JSON body with its
/// `authToken` masked as the API masks it, status, rows returned, time taken.
fn trace_line(
    method: &Method,
    uri: &Uri,
    body: &[u8],
    status: StatusCode,
    rows: usize,
    took: std::time::Duration,
) -> String {
    let mut params: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    // The subscription API's bodies are JSON, not forms: read as a form, a body would be one
    // parameter named by all of it, token included.
    let json = uri.path().starts_with(super::subscriptions::PATH) && !body.is_empty();
    if method == Method::POST && !uri.path().starts_with("/integrations/") && !json {
        params.extend(form_urlencoded::parse(body).into_owned());
    }
    for (k, v) in &mut params {
        if CREDENTIAL_PARAMS.iter().any(|c| k.eq_ignore_ascii_case(c)) {
            *v = "(redacted)".into();
        }
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let sep = if query.is_empty() { "" } else { "?" };
    let shown = match json {
        true => format!(" {}", token_masked(body)),
        false => String::new(),
    };
    format!(
        "{method} {}{sep}{query}{shown} {} {rows} rows {} ms",
        uri.path(),
        status.as_u16(),
        took.as_millis()
    )
}

/// A subscription request's JSON body with its `authToken` masked (`****` and the last four
/// characters of a token of 12 or more); a body that is not a JSON object is not shown.
fn token_masked(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut fields)) => {
            if let Some(token) = fields.get_mut("authToken") {
                *token = match token {
                    Value::String(t) => json!(crate::secret::masked_token(t)),
                    _ => json!("(redacted)"),
                };
            }
            Value::Object(fields).to_string()
        }
        _ => format!("({} bytes, not a JSON object)", body.len()),
    }
}

/// Parameters that carry a credential (API notes §2), never logged.
const CREDENTIAL_PARAMS: [&str; 2] = ["apiKey", "sessionID"];

async fn respond(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> (Response, usize) {
    let over_limit = shared
        .config
        .faults
        .max_concurrent
        .is_some_and(|max| shared.in_flight.load(Ordering::SeqCst) > max);
    let fault = if over_limit {
        Some(FaultKind::TooMany)
    } else {
        shared.draw_fault()
    };
    if let Some(kind) = fault {
        if let Some(response) = early_response(kind) {
            return (response, 0);
        }
        if kind == FaultKind::Timeout {
            tokio::time::sleep(shared.config.faults.stall).await;
        }
    }
    // A test's switch: the answer waits until the test lets it go.
    shared.hold.pass(|| format!("{method} {uri}")).await;
    if uri.path().starts_with("/integrations/oauth2/") {
        let c = &shared.config;
        let answer = super::oauth::answer(
            c.oauth.as_ref(),
            &shared.issued,
            c.seed,
            c.session_ttl,
            uri,
            body,
        )
        .unwrap_or_else(|e| error_response(&e));
        return (answer, 0);
    }
    if uri.path().starts_with(super::subscriptions::PATH) {
        let answer = authenticate(shared, headers, &[]).and_then(|()| {
            shared
                .subscriptions
                .answer(method, uri.path(), uri.query(), body, shared.config.seed)
        });
        let response = match answer {
            Ok((status, body, location)) => {
                let mut r = json_response(status, &body);
                if let Some(l) = location.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
                    r.headers_mut().insert(header::LOCATION, l);
                }
                r
            }
            Err(e) => error_response(&e),
        };
        return (response, 0);
    }
    let uri_len = uri.to_string().len();
    if uri_len > MAX_URI_LEN {
        let refused = html(
            StatusCode::URI_TOO_LONG,
            "<html><body><h1>414 Request-URI Too Large</h1></body></html>",
        );
        return (refused, 0);
    }
    match (answer(shared, method, uri, headers, body), fault) {
        (Ok((body, rows)), Some(kind @ (FaultKind::Truncated | FaultKind::InvalidJson))) => {
            (damage(kind, body), rows)
        }
        (Ok((body, rows)), _) => {
            let ok = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
                body,
            );
            (ok.into_response(), rows)
        }
        (Err(e), _) => (error_response(&e), 0),
    }
}

/// The answer's body, with how many records a search returned (0 for anything else).
fn answer(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Vec<u8>, usize), ApiError> {
    let (version, schema, action) = route(uri.path())?;
    let mut params = request_params(method, uri, body, &action)?;
    authenticate(shared, headers, &params)?;
    if let Some(obj) = action.strip_prefix("metadata:") {
        return super::metadata::metadata(obj)
            .map(|m| (m.to_string().into_bytes(), 0))
            .ok_or_else(|| ApiError::invalid("unknown object"));
    }
    let model = format!("V{}", version.trim_start_matches('v').replace('.', "_"));
    let report = match action.as_str() {
        "report" if schema != &JOURNAL => {
            return Err(unsupported(
                "the simulator models report requests on JRNLE only",
            ));
        }
        "report" if !shared.config.reports => {
            return Err(unsupported("report requests are not available on JRNLE"));
        }
        "report" => Some(Report::take(&mut params, |field| {
            ApiError::invalid(format!(
                "APIModel {model} does not support field {field} (JournalEntry)"
            ))
        })?),
        _ => None,
    };
    let ids = match action.strip_prefix("get:") {
        Some(id) => Some(vec![id.to_string()]),
        None if action == "bulk" => Some(take_ids(&mut params)?),
        None => None,
    };
    let query = SimQuery::parse_in(schema, &params, &model, &shared.config.zone, Utc::now())?;
    let journal;
    let objects;
    let entries: &[store::Entry] = if schema == &JOURNAL {
        journal = shared.entries.read().unwrap_or_else(|e| e.into_inner());
        &journal
    } else {
        objects = shared.objects.read().unwrap_or_else(|e| e.into_inner());
        objects.of(schema)
    };
    if let Some(ids) = ids {
        // One id answers the object itself, as python-workfront's `load` expects of
        // `JRNLE?id=<ID>`; several answer a list.
        let one = ids.len() == 1;
        return by_id(entries, &ids, &query, one, &shared.config.zone);
    }
    let candidates = candidates(entries, &query);
    match (action.as_str(), report) {
        ("count", _) => Ok((count_body(shared, &query, candidates), 0)),
        (_, Some(report)) => {
            let body = report.answer(matching(shared, &query, candidates), &shared.config.zone);
            Ok((body, 0))
        }
        _ => Ok(search_answer(shared, &query, candidates)),
    }
}

/// The `id` parameter of a bulk get (`JRNLE?id=a,b`, or `id` repeated), taken out.
fn take_ids(params: &mut Vec<(String, String)>) -> Result<Vec<String>, ApiError> {
    let mut ids = Vec::new();
    params.retain(|(k, v)| {
        let id = k == "id";
        if id {
            ids.extend(
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            );
        }
        !id
    });
    match ids.is_empty() {
        true => Err(unsupported(
            "JRNLE without an action needs id=<ID>[,<ID>...]",
        )),
        false => Ok(ids),
    }
}

/// Entries by id: one id (`JRNLE/<ID>`, `JRNLE?id=<ID>`) answers the entry (404 when there
/// is none), several (`JRNLE?id=a,b`) the entries found, in the order asked.
fn by_id(
    entries: &[store::Entry],
    ids: &[String],
    query: &SimQuery,
    one: bool,
    zone: &chrono_tz::Tz,
) -> Result<(Vec<u8>, usize), ApiError> {
    let found: Vec<&store::Entry> = ids
        .iter()
        .filter_map(|id| {
            entries
                .iter()
                .find(|e| e.id().as_deref() == Some(id.as_str()))
        })
        .collect();
    if !one {
        return Ok(search_body(found.into_iter(), &query.fields, zone));
    }
    let entry = found.first().ok_or_else(|| ApiError {
        status: 404,
        class: "com.attask.common.NotFoundException",
        message: format!("{} {} does not exist", query.schema.name, ids[0]),
    })?;
    let mut body = b"{\"data\":".to_vec();
    entry.render_json(&mut body, &query.fields, zone);
    body.push(b'}');
    Ok((body, 1))
}

/// The parameters of a GET's query, or of a POST's form body with `method=GET` (API notes §1).
fn request_params(
    method: &Method,
    uri: &Uri,
    body: &[u8],
    action: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut params: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    if method == Method::POST {
        // Long queries come as a form body with method=GET (API notes §1).
        params.extend(form_urlencoded::parse(body).into_owned());
        // Adobe's own examples write `method=get`: the value is read in any case.
        if !params
            .iter()
            .any(|(k, v)| k == "method" && v.eq_ignore_ascii_case("GET"))
        {
            return Err(unsupported(
                "POST on JRNLE without method=GET would create an object",
            ));
        }
    } else if method != Method::GET {
        return Err(unsupported(&format!(
            "{method} is not supported on JRNLE/{action}"
        )));
    }
    Ok(params)
}

/// The entries a query can match. Entries are kept in (date, ID) order, so a date range
/// narrows the scan to a slice by binary search; every entry of the slice is still checked
/// against the full query, unless the query is the date range alone.
fn candidates<'e>(entries: &'e [store::Entry], query: &SimQuery) -> &'e [store::Entry] {
    match query.date_bounds() {
        Some((lo, hi)) => {
            let start = lo.map_or(0, |lo| {
                entries.partition_point(|e| store::date_of(e).is_some_and(|d| d < lo))
            });
            let end = hi.map_or(entries.len(), |hi| {
                entries.partition_point(|e| store::date_of(e).is_some_and(|d| d <= hi))
            });
            &entries[start..end.max(start)]
        }
        None => entries,
    }
}

/// The matching entries among the candidates. A plain date range is the common query (every
/// page the exporter asks for): its slice holds exactly the matches, so entries need not be
/// checked one by one.
fn matching<'e>(
    shared: &Shared,
    query: &'e SimQuery,
    candidates: &'e [store::Entry],
) -> impl DoubleEndedIterator<Item = &'e store::Entry> {
    let exact = query.is_date_range_only();
    let zone = shared.config.zone;
    candidates
        .iter()
        .filter(move |e| exact || query.matches(e, &zone))
}

/// `{"data": {"count": N}}`.
fn count_body(shared: &Shared, query: &SimQuery, candidates: &[store::Entry]) -> Vec<u8> {
    let n = if query.is_date_range_only() {
        candidates.len()
    } else {
        matching(shared, query, candidates).count()
    };
    let count = (n as i64 + shared.config.count_offset).max(0);
    json!({"data": {"count": count}}).to_string().into_bytes()
}

/// A page of the matching entries in the query's order, and how many it holds.
fn search_answer(
    shared: &Shared,
    query: &SimQuery,
    candidates: &[store::Entry],
) -> (Vec<u8>, usize) {
    let zone = shared.config.zone;
    let matching = matching(shared, query, candidates);
    if query.is_stored_order() {
        // Sorted on (entryDate, ID), a total order: the stored order, read lazily.
        let rows = matching.skip(query.first).take(query.limit);
        return search_body(rows, &query.fields, &zone);
    }
    if query.is_reverse_stored_order() {
        // The same total order reversed (the newest entries first), read lazily too.
        let rows = matching.rev().skip(query.first).take(query.limit);
        return search_body(rows, &query.fields, &zone);
    }
    // Each request gets its own order for rows that tie on every sort key.
    let n = shared.requests.fetch_add(1, Ordering::Relaxed);
    let mut rng = SplitMix64::new(shared.config.seed ^ n.wrapping_mul(0x9E37_79B9));
    let mut rows: Vec<_> = matching.map(|e| (rng.next_u64(), e)).collect();
    query.order(&mut rows);
    let rows = rows
        .iter()
        .skip(query.first)
        .take(query.limit)
        .map(|(_, e)| *e);
    search_body(rows, &query.fields, &zone)
}

/// `{"data": [...]}` for a page of entries, and how many it holds.
fn search_body<'e>(
    rows: impl Iterator<Item = &'e store::Entry>,
    fields: &[store::Selected],
    zone: &chrono_tz::Tz,
) -> (Vec<u8>, usize) {
    let mut body = Vec::with_capacity(64 * 1024);
    body.extend_from_slice(b"{\"data\":[");
    let mut n = 0;
    for (i, e) in rows.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        e.render_json(&mut body, fields, zone);
        n = i + 1;
    }
    body.extend_from_slice(b"]}");
    (body, n)
}

/// A request's path → (version, action). The roots: `/attask/api/<version>/`, `/attask/api/`
/// and the aliases of the latest version that public clients default to:
/// `/attask/api/unsupported/` (python-workfront), `/attask/api-internal/`,
/// `/attask/api-unsupported/` and `/attask/api-asp/` (Workfront's Node client). The actions:
/// `search`, `count`, `report`, `metadata:<OBJ>` (`<OBJ>/metadata`), `get:<ID>` (`JRNLE/<ID>`)
/// and `bulk` (`JRNLE?id=a,b`), on JRNLE or on one of the [`objects`] served (all but
/// `report` and `metadata`, which are JRNLE's only).
fn route(path: &str) -> Result<(String, &'static Schema, String), ApiError> {
    let not_found = || ApiError {
        status: 404,
        class: "com.attask.common.NotFoundException",
        message: format!("no API at {path}"),
    };
    let (version, rest) = root(path).ok_or_else(not_found)?;
    check_version(&version).map_err(|e| e.unwrap_or_else(not_found))?;
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let jrnle =
        |obj: &str| obj.eq_ignore_ascii_case("JRNLE") || obj.eq_ignore_ascii_case("journalentry");
    let schema = match parts.first() {
        Some(obj) if !jrnle(obj) => super::objects::schema_of(obj),
        _ => Some(&JOURNAL),
    };
    let action = match parts.as_slice() {
        [login @ ("login" | "logout")] => return Err(login_gone(login)),
        [obj, "metadata"] if jrnle(obj) || super::metadata::metadata(obj).is_some() => {
            format!("metadata:{obj}")
        }
        [obj, ..] if schema.is_none() => {
            return Err(ApiError {
                status: 404,
                message: format!(
                    "{obj} is not an object the simulator serves: it serves JRNLE (journal \
                     entries), TASK, PROJ and OPTASK, and the metadata of PROJ, TASK, OPTASK, \
                     PORT, PRGM and USER"
                ),
                ..not_found()
            });
        }
        [_, action @ ("search" | "count" | "report")] => action.to_string(),
        [_] => "bulk".to_string(),
        [_, id] if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
            format!("get:{id}")
        }
        [obj, action] => return Err(unsupported(&format!("{obj}/{action} is not supported"))),
        _ => return Err(not_found()),
    };
    Ok((version, schema.unwrap_or(&JOURNAL), action))
}

/// The version a path asks for and the rest of the path, or `None` for no API root.
fn root(path: &str) -> Option<(String, &str)> {
    for alias in [
        "/attask/api-internal/",
        "/attask/api-unsupported/",
        "/attask/api-asp/",
    ] {
        if let Some(rest) = path.strip_prefix(alias) {
            return Some((LATEST.to_string(), rest));
        }
    }
    let rest = path.strip_prefix("/attask/api/")?;
    let (first, after) = rest.split_once('/').unwrap_or((rest, ""));
    if first == "unsupported" {
        return Some((LATEST.to_string(), after));
    }
    let looks_like_version = first.strip_prefix('v').is_some_and(|v| {
        v.split_once('.')
            .is_some_and(|(m, n)| m.parse::<u32>().is_ok() && n.parse::<u32>().is_ok())
    });
    match looks_like_version {
        true => Some((first.to_string(), after)),
        false => Some((LATEST.to_string(), rest)),
    }
}

/// Versions before v18 are gone (410); versions after the latest do not exist (`Err(None)`:
/// not found).
fn check_version(version: &str) -> Result<(), Option<ApiError>> {
    let major = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .and_then(|(m, _)| m.parse::<u32>().ok())
        .ok_or(None)?;
    if major < OLDEST_MAJOR {
        return Err(Some(ApiError {
            status: 410,
            class: "com.attask.common.GoneException",
            message: format!("API version {version} is no longer supported"),
        }));
    }
    let latest_major = LATEST[1..3].parse::<u32>().unwrap_or(22);
    match major > latest_major {
        true => Err(None),
        false => Ok(()),
    }
}

/// `/login` and `/logout`: logging in with a user name and password through the API is gone
/// for every organisation (API notes §2). What Workfront answers exactly is not documented;
/// the simulator says it plainly, as 410 Gone in Workfront's envelope.
fn login_gone(what: &str) -> ApiError {
    ApiError {
        status: 410,
        class: "com.attask.common.GoneException",
        message: format!(
            "/{what} is no longer available: Workfront no longer logs in with a user name and \
             password through the API; send an apiKey, or a sessionID from one of Workfront's \
             OAuth2 applications"
        ),
    }
}

/// One of the three credentials (API notes §2): `apiKey` (header or parameter), `sessionID`
/// (header or parameter), `Authorization: Bearer`.
fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
    // Each credential is accepted only in its own slot: an API key is not a session ID.
    let slots = [
        (Slot::ApiKey, header("apikey").or_else(|| param("apiKey"))),
        (
            Slot::Session,
            header("sessionid").or_else(|| param("sessionID")),
        ),
        (Slot::Bearer, bearer),
    ];
    let Some((slot, presented)) = slots
        .into_iter()
        .find_map(|(slot, v)| v.filter(|s| !s.is_empty()).map(|v| (slot, v)))
    else {
        return Err(not_logged_in());
    };
    let c = &shared.config;
    if c.forbidden_key
        .as_ref()
        .is_some_and(|f| f.expose() == presented)
    {
        return Err(ApiError {
            status: 403,
            class: "com.attask.common.SecurityException",
            message: "You do not have sufficient access to view JournalEntry".into(),
        });
    }
    // With no credential configured at all, any credential is accepted (a quick sandbox).
    let open = c.api_key.is_none()
        && c.session_id.is_none()
        && c.bearer_token.is_none()
        && c.oauth.is_none();
    let is =
        |s: &Option<crate::secret::Secret>| s.as_ref().is_some_and(|s| s.expose() == presented);
    let accepted = open
        || match slot {
            Slot::ApiKey => is(&c.api_key),
            Slot::Session => {
                is(&c.session_id) || shared.issued.session_valid(presented, c.session_ttl)
            }
            Slot::Bearer => is(&c.bearer_token),
        };
    match accepted {
        true => Ok(()),
        false => Err(not_logged_in()),
    }
}

/// Where a request carries its credential.
#[derive(Debug, Clone, Copy)]
enum Slot {
    ApiKey,
    Session,
    Bearer,
}

fn not_logged_in() -> ApiError {
    ApiError {
        status: 401,
        class: "com.attask.common.AuthenticationException",
        message: "You are not currently logged in".into(),
    }
}

fn unsupported(message: &str) -> ApiError {
    ApiError {
        status: 400,
        class: "com.attask.common.UnsupportedOperationException",
        message: message.to_string(),
    }
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        value.to_string(),
    )
        .into_response()
}

fn html(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    envelope(status, e.class, &e.message)
}

/// Workfront's error envelope, the one shape of every error answer (API notes §6), also the
/// injected ones: `{"error": {"class", "message", "title"}}`.
pub(super) fn envelope(status: StatusCode, class: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"class": class, "message": message, "title": message}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::objects::{OPTASK, TASK};

    #[test]
    fn routes_accept_versions_aliases_and_case() {
        assert_eq!(route("/attask/api/v21.0/JRNLE/search").unwrap().2, "search");
        assert_eq!(route("/attask/api/v21.0/jrnle/count").unwrap().2, "count");
        assert_eq!(route("/attask/api/v21.0/JRNLE/report").unwrap().2, "report");
        assert_eq!(
            route("/attask/api/v19.0/journalentry/search").unwrap().0,
            "v19.0"
        );
        assert_eq!(route("/attask/api/JRNLE/search").unwrap().0, LATEST);
        assert_eq!(
            route("/attask/api/v15.0/JRNLE/search").unwrap_err().status,
            410
        );
        assert_eq!(
            route("/attask/api/v99.0/JRNLE/search").unwrap_err().status,
            404
        );
        assert_eq!(route("/attask/api/v21.0/TASK/search").unwrap().1, &TASK);
        assert_eq!(route("/attask/api/v21.0/optask/count").unwrap().1, &OPTASK);
        assert_eq!(
            route("/attask/api/v21.0/PORT/search").unwrap_err().status,
            404
        );
        assert_eq!(
            route("/attask/api/v21.0/JRNLE/batch").unwrap_err().status,
            400
        );
        assert_eq!(route("/api/v21.0/JRNLE/search").unwrap_err().status, 404);
        assert_eq!(
            route("/attask/api/v21.0/task/metadata").unwrap().2,
            "metadata:task"
        );
        assert_eq!(
            route("/attask/api/v21.0/NOPE/metadata").unwrap_err().status,
            404
        );
    }

    #[test]
    fn a_subscriptions_token_is_masked_in_the_trace() {
        let uri: Uri = super::super::subscriptions::PATH.parse().unwrap();
        let line = |token: &str| {
            let body = json!({"objCode": "TASK", "url": "https://h/x", "authToken": token});
            let took = std::time::Duration::ZERO;
            let body = body.to_string();
            trace_line(
                &Method::POST,
                &uri,
                body.as_bytes(),
                StatusCode::CREATED,
                0,
                took,
            )
        };
        let long = line("a-long-secret-token-9f3e");
        assert!(long.contains(r#""authToken":"****9f3e""#), "{long}");
        assert!(!long.contains("secret"), "{long}");
        let short = line("tok");
        assert!(short.contains(r#""authToken":"****""#), "{short}");
        let garbled = trace_line(
            &Method::POST,
            &uri,
            b"authToken=tok-tok-tok-tok",
            StatusCode::BAD_REQUEST,
            0,
            std::time::Duration::ZERO,
        );
        assert!(!garbled.contains("tok-tok"), "{garbled}");
    }
}
