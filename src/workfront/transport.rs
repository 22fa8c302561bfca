//! What a request that got no answer ran into (a name that does not resolve, a refused
//! connection, a timeout, a body that broke off), said without the URL's query (reqwest's own
//! text includes it) and with the host, and whether another try can help.

/// The kind of transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The host name does not resolve: it will not in a few seconds either.
    Unresolved,
    /// Nothing listens there (or a firewall says so): retried only until
    /// [`super::retry::REFUSED_FOR`] after the request's first refusal (see
    /// [`super::retry::refused_wait`]).
    Refused,
    Timeout,
    /// Another connection failure (TLS, reset while connecting, ...).
    Connect,
    /// The answer broke off.
    Body,
    /// The request could not be built: no try can mend it.
    Build,
    Other,
}

impl Transport {
    pub fn of(e: &reqwest::Error) -> Transport {
        let chain = causes(e);
        let mentions = |s: &str| chain.iter().any(|c| c.contains(s));
        if e.is_builder() {
            Transport::Build
        } else if e.is_timeout() {
            Transport::Timeout
        } else if e.is_connect() && (mentions("failed to lookup address") || mentions("dns error"))
        {
            Transport::Unresolved
        } else if e.is_connect() && mentions("Connection refused") {
            Transport::Refused
        } else if e.is_connect() {
            Transport::Connect
        } else if e.is_body() || e.is_decode() {
            Transport::Body
        } else {
            Transport::Other
        }
    }

    pub fn retryable(self) -> bool {
        !matches!(self, Transport::Unresolved | Transport::Build)
    }

    /// What happened, naming `host` where the host is the problem, with the fix.
    pub fn describe(self, e: &reqwest::Error, host: &str) -> String {
        let cause = causes(e).pop().unwrap_or_default();
        let check = "check --url or WORKFRONT_URL";
        let with_cause = |kind: &str| {
            if cause.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}: {cause}")
            }
        };
        match self {
            Transport::Unresolved => {
                format!("cannot resolve the host {host} ({cause}): {check}")
            }
            Transport::Refused => format!("connection refused by {host}: {check}"),
            Transport::Connect => format!(
                "{}; {check}",
                with_cause(&format!("could not connect to {host}"))
            ),
            Transport::Timeout => with_cause("timed out"),
            Transport::Body => with_cause("the answer broke off"),
            Transport::Build | Transport::Other => with_cause("request failed"),
        }
    }
}

/// The messages of an error's sources, outermost first.
fn causes(e: &reqwest::Error) -> Vec<String> {
    let mut out = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push(s.to_string());
        source = s.source();
    }
    out
}
