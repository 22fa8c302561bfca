//! The `Authenticator` seam: a credential refused with 401 is renewed once, by one request,
//! while the others in flight wait for that renewal; a credential that cannot renew keeps
//! today's behaviour (exit 3, no second try). Nothing here depends on timing: a renewal is
//! made to wait for the requests it must see refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use jrnle_audit::auth::{Authenticator, Credential};
use jrnle_audit::error::Result;
use jrnle_audit::secret::Secret;
use jrnle_audit::simulator::Simulator;
use jrnle_audit::workfront::client::{Client, ClientOptions};
use jrnle_audit::workfront::query::Filters;
use reqwest::header::{HeaderName, HeaderValue};

use crate::util::{KEY, demo_records, run, sim, stderr};

/// Starts with an expired key; renewing yields the key the simulator accepts, but only once
/// the simulator has received `wait_for` requests: so every request in flight is refused
/// with the old key before the renewal ends, on a machine of any speed.
struct Expiring {
    current: std::sync::Mutex<String>,
    renewals: AtomicUsize,
    simulator: Simulator,
    wait_for: usize,
}

impl Authenticator for Expiring {
    fn header(&self) -> BoxFuture<'_, Result<(HeaderName, HeaderValue)>> {
        let key = self.current.lock().unwrap().clone();
        futures::future::ready(Credential::ApiKey(Secret::new(key)).to_header()).boxed()
    }

    fn renew(&self) -> BoxFuture<'_, Result<bool>> {
        async move {
            self.renewals.fetch_add(1, Ordering::SeqCst);
            // Bounded, so that a client that never sends them fails below instead of hanging.
            for _ in 0..12_000 {
                if self.simulator.request_log().len() >= self.wait_for {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            *self.current.lock().unwrap() = KEY.to_string();
            Ok(true)
        }
        .boxed()
    }

    fn describe(&self) -> String {
        "expiring test key".into()
    }
}

#[test]
fn a_refused_credential_is_renewed_once_for_all_requests_in_flight() {
    let sim = sim(&demo_records());
    let auth = Arc::new(Expiring {
        current: std::sync::Mutex::new("expired-key".into()),
        renewals: AtomicUsize::new(0),
        simulator: sim.simulator.clone(),
        wait_for: 8,
    });
    let options = ClientOptions {
        max_concurrency: 8,
        ..ClientOptions::default()
    };
    let url = reqwest::Url::parse(&sim.url).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let counts = runtime.block_on(async {
        let client = Client::new(&url, "v21.0", auth.clone(), options).unwrap();
        let search = Filters::window_only(None, chrono::Utc::now()).search();
        let params = search.count_params();
        let requests = (0..8).map(|_| client.count(&search.object, &params));
        let counts = futures::future::join_all(requests).await;
        (counts, client.requests(), client.retries())
    });
    let (counts, requests, retries) = counts;
    let expected = demo_records().len() as u64;
    for count in counts {
        assert_eq!(count.unwrap(), expected);
    }
    assert_eq!(
        auth.renewals.load(Ordering::SeqCst),
        1,
        "one renewal for all"
    );
    assert_eq!(requests, 16, "each request refused once, then sent again");
    assert_eq!(retries, 0, "a renewal is not a retry");
}

#[test]
fn a_credential_that_cannot_renew_fails_at_the_first_401() {
    let sim = sim(&demo_records());
    let o = run(crate::util::bin()
        .args(["count", "--url", &sim.url])
        .env("WORKFRONT_API_KEY", "wrong-key"));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // The refusal names the credential by kind and source, never by value.
    let err = stderr(&o);
    assert!(
        err.contains("refused: the apiKey header (redacted) from WORKFRONT_API_KEY"),
        "{err}"
    );
    assert!(!err.contains("wrong-key"), "{err}");
    let log = sim.simulator.request_log();
    assert_eq!(log.len(), 1, "one request, not retried: {log:?}");
}

/// Renews every time, and every credential it gives is refused: a refresh that yields
/// sessions Workfront does not take.
struct NeverAccepted {
    renewals: AtomicUsize,
}

impl Authenticator for NeverAccepted {
    fn header(&self) -> BoxFuture<'_, Result<(HeaderName, HeaderValue)>> {
        let key = format!("refused-{}", self.renewals.load(Ordering::SeqCst));
        futures::future::ready(Credential::ApiKey(Secret::new(key)).to_header()).boxed()
    }

    fn renew(&self) -> BoxFuture<'_, Result<bool>> {
        self.renewals.fetch_add(1, Ordering::SeqCst);
        futures::future::ready(Ok(true)).boxed()
    }

    fn describe(&self) -> String {
        "never accepted test credential".into()
    }
}

#[test]
fn a_credential_refused_after_every_renewal_gives_up_after_three() {
    // A request that waited longer than a short session lives may meet an expiry again after
    // the renewal it waited for, so one renewal per request is not final; but renewals that
    // never help must end the run, not loop.
    let sim = sim(&demo_records());
    let auth = Arc::new(NeverAccepted {
        renewals: AtomicUsize::new(0),
    });
    let url = reqwest::Url::parse(&sim.url).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let count = runtime.block_on(async {
        let client = Client::new(&url, "v21.0", auth.clone(), ClientOptions::default()).unwrap();
        let search = Filters::window_only(None, chrono::Utc::now()).search();
        client.count(&search.object, &search.count_params()).await
    });
    let err = count.unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");
    assert_eq!(auth.renewals.load(Ordering::SeqCst), 3);
    assert_eq!(
        sim.simulator.request_log().len(),
        4,
        "sent with each credential once"
    );
}
