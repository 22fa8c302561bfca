//! A faithful Workfront simulator (journal entries, and the tasks, projects and issues they
//! change: [`objects`]), served over HTTP on loopback for `simulate`, `--demo` and the tests. It follows `shared/workfront-api.md` and rejects what Workfront
//! rejects; where the notes are silent the choice is said in a comment.
//!
//! Where the notes are silent it follows Workfront's constants package
//! (`workfront-api-constants`): the default modifier (`between` with a `_Range`, `in` for
//! several values, `eq` otherwise), the modifiers, the sort directions (`asc`, `desc`,
//! `ciasc`, `cidesc`, in any case), `$$LIMIT` of zero or less as no limit (within the 2,000
//! cap), and the `$$TODAY`/`$$NOW` wildcards. Two of the constants' modifiers are left out and
//! answered as an unknown modifier is (422, "invalid modifier"): `soundex` and `allof`.
//! Workfront's own Node client and python-workfront run unchanged against it
//! (`tests/integration/clients.rs`).

pub mod deliver;
mod eval;
mod event_filter;
pub mod faults;
pub mod generate;
mod health;
mod hold;
mod http;
pub mod metadata;
mod modifier;
mod oauth;
pub mod objects;
pub mod query;
mod report;
pub mod store;
pub mod subscriptions;
pub mod tsa;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono_tz::Tz;

use crate::input::RawRecord;
use crate::secret::Secret;
use faults::{FaultConfig, FaultyListener};
use store::Entry;

pub use oauth::OAuthApp;

use crate::rng::SplitMix64;

/// The demo data bundled into the binary (`fixtures/demo.json`).
pub const DEMO_DATA: &str = include_str!("../../fixtures/demo.json");

/// The bundled demo records.
pub fn demo_records() -> crate::error::Result<Vec<RawRecord>> {
    crate::input::parse_raw_records(DEMO_DATA, "fixtures/demo.json")
}

/// How a simulator behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The only credential accepted, in any of the three forms; `None` accepts any non-empty
    /// credential (a convenience for trying pipelines; tests of refusal set one).
    pub api_key: Option<Secret>,
    /// A credential that authenticates but lacks rights: answered with 403.
    pub forbidden_key: Option<Secret>,
    /// Added before each answer.
    pub latency: Duration,
    /// Up to this much more, drawn for each answer: answers overtake each other.
    pub latency_jitter: Duration,
    /// Added to a search answer for each row it returns: with `latency`, the cost model of
    /// issue 14 (an answer costs a base latency plus time per row; a page of 2,000 rows is the
    /// expensive thing Workfront serves). Slept, so it costs no CPU.
    pub row_cost: Duration,
    /// Log each request on stderr (`simulate -v`).
    pub log_requests: bool,
    /// The unit of the retries of event deliveries: `((2^attempt) − 1) × unit` after the
    /// first failure (84.8 s in Workfront).
    pub event_backoff: Duration,
    /// Delivery faults, as Workfront's delivery behaves at its worst: see [`deliver::EventFaults`].
    pub event_faults: deliver::EventFaults,
    /// The tenant's time zone, in which dates are rendered (with its daylight saving time).
    pub zone: Tz,
    /// Seeds the order of tied rows, which differs on each request.
    pub seed: u64,
    /// A fault for tests: `/count` answers this much more than it should, as when entries
    /// change between the count and the search. 0 in normal use.
    pub count_offset: i64,
    /// Whether `/report` is served. `false` answers it as a tenant that refuses report
    /// requests on journal entries, so that a client's fallback can be tested.
    pub reports: bool,
    /// Injected faults and the concurrency limit.
    pub faults: FaultConfig,
    /// A session ID accepted as it is, in the `sessionID` slot only.
    pub session_id: Option<Secret>,
    /// An Adobe IMS token accepted in `Authorization: Bearer` only.
    pub bearer_token: Option<Secret>,
    /// The tenant's OAuth2 application: the JWT exchange and the code flow.
    pub oauth: Option<OAuthApp>,
    /// Sessions the OAuth2 flows issue answer 401 after this long.
    pub session_ttl: Option<Duration>,
    /// New entries appended while serving, as on a live tenant.
    pub growth: Option<Growth>,
    /// Tasks beyond those the journal entries name, with no entries of their own
    /// (`simulate --tasks`): a tenant's size.
    pub extra_tasks: usize,
    /// Serve an RFC 3161 time-stamping authority at `POST /tsa` (`simulate --tsa`, [`tsa`]).
    pub tsa: bool,
}

/// Entries appended while the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Growth {
    /// New entries per second.
    pub rate_per_sec: f64,
    /// Each new entry carries an instant up to this much before it becomes visible, as a
    /// journal entry's timestamp can precede its commit.
    pub max_delay: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: None,
            forbidden_key: None,
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            row_cost: Duration::ZERO,
            log_requests: false,
            event_backoff: Duration::from_millis(84_800),
            event_faults: deliver::EventFaults::default(),
            zone: chrono_tz::America::Denver,
            seed: 0,
            count_offset: 0,
            reports: true,
            faults: FaultConfig::default(),
            session_id: None,
            bearer_token: None,
            oauth: None,
            session_ttl: None,
            growth: None,
            extra_tasks: 0,
            tsa: false,
        }
    }
}

/// State shared by all requests.
pub(crate) struct Shared {
    config: SimConfig,
    entries: RwLock<Vec<Entry>>,
    /// The business objects, consistent with the entries (see [`objects`]). Locked after
    /// `entries` where both are.
    objects: RwLock<objects::Objects>,
    requests: AtomicU64,
    log: Mutex<Vec<String>>,
    fault_rng: Mutex<SplitMix64>,
    /// Separate from `fault_rng`, so the sequence of per-request draws depends on the seed
    /// alone, not on how connections interleave with requests.
    reset_rng: Mutex<SplitMix64>,
    jitter_rng: Mutex<SplitMix64>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    faults_injected: AtomicU64,
    growth_stopped: std::sync::atomic::AtomicBool,
    /// Where entries journaled on a test's demand come from ([`Simulator::journal_now`]).
    on_demand: Mutex<(generate::Generator, SplitMix64)>,
    /// The runtime serving, for the deliveries of entries journaled from outside it.
    runtime: std::sync::OnceLock<tokio::runtime::Handle>,
    issued: oauth::Issued,
    subscriptions: subscriptions::Subscriptions,
    hold: hold::Hold,
    tsa: tsa::Tsa,
}

impl Shared {
    /// How long to hold this answer back: the latency and a draw of the jitter.
    fn delay(&self) -> Duration {
        let jitter = self.config.latency_jitter.as_millis() as u64;
        let extra = match jitter {
            0 => 0,
            j => self
                .jitter_rng
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .below(j + 1),
        };
        self.config.latency + Duration::from_millis(extra)
    }

    fn log_request(&self, line: String) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }
}

/// Journal `n` entries, each carrying an instant up to `delay_ms` before `at` (default now);
/// unless `stop` is set, checked under the lock (then `false`).
fn journal(
    shared: &Arc<Shared>,
    n: usize,
    generator: &mut generate::Generator,
    rng: &mut SplitMix64,
    at: Option<chrono::DateTime<chrono::Utc>>,
    delay_ms: u64,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> bool {
    // Journal and objects change under both locks, so no answer sees one without the other.
    let mut entries = shared.entries.write().unwrap_or_else(|e| e.into_inner());
    if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
        return false;
    }
    let now = at.unwrap_or_else(chrono::Utc::now);
    let mut fresh = Vec::new();
    let mut objects = shared.objects.write().unwrap_or_else(|e| e.into_inner());
    for _ in 0..n {
        let back = chrono::Duration::milliseconds(generator.below(delay_ms) as i64);
        let raw = generator.entry(now - back, None);
        let raw = objects.journal_edit(raw, &shared.config.zone, rng);
        if rng.below(2) == 0 {
            objects.untracked_change(now - back, rng);
        }
        deliver::fan_out(shared, &raw);
        fresh.push(Entry::from_raw(&raw));
    }
    drop(objects);
    for entry in fresh {
        let at = entries.partition_point(|e| store::stored_order(e, &entry).is_lt());
        entries.insert(at, entry);
    }
    true
}

/// A simulator with its data, ready to serve.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

impl Simulator {
    pub fn new(config: SimConfig, records: &[RawRecord]) -> Simulator {
        // The HTTP client of its deliveries needs the TLS provider.
        crate::crypto::install();
        let config_seed = config.seed;
        let config_tsa = config.tsa;
        let mut entries: Vec<Entry> = records.iter().map(Entry::from_raw).collect();
        store::sort_entries(&mut entries);
        let mut objects = objects::Objects::from_journal(&entries, config_seed);
        if config.extra_tasks > 0 {
            objects.add_tasks(config.extra_tasks, chrono::Utc::now(), config_seed);
        }
        Simulator {
            shared: Arc::new(Shared {
                config,
                entries: RwLock::new(entries),
                objects: RwLock::new(objects),
                requests: AtomicU64::new(0),
                log: Mutex::new(Vec::new()),
                fault_rng: Mutex::new(SplitMix64::new(config_seed ^ 0xFA_17)),
                reset_rng: Mutex::new(SplitMix64::new(config_seed ^ 0x5E_5E7)),
                jitter_rng: Mutex::new(SplitMix64::new(config_seed ^ 0x1A7E)),
                in_flight: AtomicUsize::new(0),
                peak_in_flight: AtomicUsize::new(0),
                faults_injected: AtomicU64::new(0),
                growth_stopped: std::sync::atomic::AtomicBool::new(false),
                on_demand: Mutex::new((
                    generate::Generator::new(config_seed ^ 0xDE_3A4D, 1000),
                    SplitMix64::new(config_seed ^ 0xDE_3A4E),
                )),
                runtime: std::sync::OnceLock::new(),
                issued: oauth::Issued::default(),
                subscriptions: Default::default(),
                hold: Default::default(),
                tsa: tsa::Tsa::new(config_tsa),
            }),
        }
    }

    /// Every request so far as `METHOD URI` (the URI with its query): tests use this to check
    /// what the client sends, e.g. that no credential is ever in a URL.
    pub fn request_log(&self) -> Vec<String> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sessions the OAuth2 flows issued so far.
    pub fn sessions_issued(&self) -> u64 {
        self.shared.issued.issued.load(Ordering::Relaxed)
    }

    /// The most requests that were ever in flight at once.
    pub fn peak_concurrency(&self) -> usize {
        self.shared.peak_in_flight.load(Ordering::Relaxed)
    }

    /// How many faults were injected so far (drawn at random, not counting 429s for going over
    /// the concurrency limit).
    pub fn faults_injected(&self) -> u64 {
        self.shared.faults_injected.load(Ordering::Relaxed)
    }

    /// Every stored entry's id and instant, for tests that check what was delivered.
    pub fn entries_snapshot(&self) -> Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> {
        let entries = self
            .shared
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .map(|e| {
                let when = match e.get(store::ENTRY_DATE) {
                    store::SimValue::Date(d) => Some(*d),
                    _ => None,
                };
                (e.id().unwrap_or_default(), when)
            })
            .collect()
    }

    /// Every change of the objects' states so far, in the order they happened: what a
    /// snapshot of the objects should find (see [`objects`]).
    pub fn object_history(&self) -> Vec<objects::ObjectChange> {
        let objects = self
            .shared
            .objects
            .read()
            .unwrap_or_else(|e| e.into_inner());
        objects.history.clone()
    }

    /// The current state of every object of `code`, as the API would render all its fields.
    pub fn objects_of(&self, code: &str) -> Vec<serde_json::Value> {
        let Some(schema) = objects::schema_of(code) else {
            return Vec::new();
        };
        let objects = self
            .shared
            .objects
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let all: Vec<store::Selected> = (0..schema.fields.len())
            .map(store::Selected::Field)
            .collect();
        objects
            .of(schema)
            .iter()
            .map(|o| {
                let mut bytes = Vec::new();
                o.render_json(&mut bytes, &all, &self.shared.config.zone);
                serde_json::from_slice(&bytes).unwrap_or_default()
            })
            .collect()
    }

    /// Edit the `n` least recently updated objects of `code` now (an untracked field), as a
    /// bulk change of known size.
    pub fn edit_oldest(&self, code: &str, n: usize) {
        let Some(schema) = objects::schema_of(code) else {
            return;
        };
        let mut rng = SplitMix64::new(self.shared.config.seed ^ n as u64);
        let mut objects = self
            .shared
            .objects
            .write()
            .unwrap_or_else(|e| e.into_inner());
        objects.edit_oldest(schema, n, &mut rng);
    }

    /// Hold every answer from now on (a test's switch, see [`hold`]): requests arrive and
    /// wait for [`Simulator::let_through`] or [`Simulator::release_answers`].
    pub fn hold_answers(&self) {
        self.shared.hold.engage(None);
    }

    /// As [`Simulator::hold_answers`], for the requests `which` picks by their `METHOD URI`
    /// (as [`Simulator::request_log`] has them); the others are answered.
    pub fn hold_answers_where(&self, which: impl Fn(&str) -> bool + Send + Sync + 'static) {
        self.shared.hold.engage(Some(Arc::new(which)));
    }

    /// Let the next `n` held answers go, in the order their requests came.
    pub fn let_through(&self, n: u64) {
        self.shared.hold.let_through(n);
    }

    /// Let every answer go, now and from now on.
    pub fn release_answers(&self) {
        self.shared.hold.release();
    }

    /// How many answers are held now.
    pub fn answers_held(&self) -> usize {
        self.shared.hold.waiting()
    }

    /// How many requests are in flight now (held ones included).
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The event deliveries the receivers acknowledged so far.
    pub fn deliveries_acknowledged(&self) -> Vec<deliver::Acknowledged> {
        self.shared.subscriptions.acknowledged_so_far()
    }

    /// Event deliveries not yet acknowledged nor given up: being sent or waiting to be sent
    /// again.
    pub fn deliveries_pending(&self) -> usize {
        self.shared.subscriptions.pending()
    }

    /// Delivery attempts not sent because their URL was disabled (its probes aside).
    pub fn deliveries_withheld(&self) -> usize {
        self.shared.subscriptions.withheld()
    }

    /// How the time-stamping authority answers from now on (with [`SimConfig::tsa`]).
    pub fn tsa_mode(&self, mode: tsa::TsaMode) {
        *self
            .shared
            .tsa
            .mode
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// Shift the clock the TSA's tokens are dated by (a test's way to a token older than the
    /// manifest it stamps).
    pub fn tsa_clock_offset(&self, offset: chrono::Duration) {
        *self
            .shared
            .tsa
            .clock_offset
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = offset;
    }

    /// How long [`tsa::TsaMode::Slow`] holds an answer (15 s unless set).
    pub fn tsa_slow_for(&self, wait: Duration) {
        *self
            .shared
            .tsa
            .slow_for
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = wait;
    }

    /// Stop appending entries (a test's way to let the data settle). When it returns, no
    /// entry of the growth is still being appended: nothing changes after it.
    pub fn stop_growth(&self) {
        self.shared.growth_stopped.store(true, Ordering::SeqCst);
        // Growth checks the flag under this lock: a tick that took it first has finished.
        drop(self.shared.entries.write());
    }

    /// Journal `n` entries now, as growth journals them (each edits its object and is an event
    /// for the matching subscriptions): a test's switch, for changes that happen when the test
    /// says rather than at a rate in wall-clock time.
    pub fn journal_now(&self, n: usize) {
        self.journal(n, None);
    }

    /// As [`Simulator::journal_now`], the entries carrying the instant `at` (an entry's
    /// instant can precede its commit, as growth's do by up to `Growth::max_delay`).
    pub fn journal_at(&self, n: usize, at: chrono::DateTime<chrono::Utc>) {
        self.journal(n, Some(at));
    }

    fn journal(&self, n: usize, at: Option<chrono::DateTime<chrono::Utc>>) {
        let shared = &self.shared;
        let _in_runtime = shared.runtime.get().map(|r| r.enter());
        let mut on_demand = shared.on_demand.lock().unwrap_or_else(|e| e.into_inner());
        let (generator, rng) = &mut *on_demand;
        journal(shared, n, generator, rng, at, 1, None);
    }

    /// Append entries at the configured rate until the runtime ends or growth is stopped.
    async fn grow(shared: Arc<Shared>, growth: Growth) {
        let tick = Duration::from_millis(50);
        let per_tick = growth.rate_per_sec * tick.as_secs_f64();
        let mut generator = generate::Generator::new(shared.config.seed ^ 0x6E0, 1000);
        let mut rng = SplitMix64::new(shared.config.seed ^ 0xB1E6);
        let mut owed = 0.0;
        let delay_ms = growth.max_delay.as_millis().max(1) as u64;
        loop {
            tokio::time::sleep(tick).await;
            owed += per_tick;
            let n = owed as usize;
            owed -= n as f64;
            let stop = &shared.growth_stopped;
            if !journal(
                &shared,
                n,
                &mut generator,
                &mut rng,
                None,
                delay_ms,
                Some(stop),
            ) {
                return;
            }
        }
    }

    /// Serve on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let _ = self.shared.runtime.set(tokio::runtime::Handle::current());
        let app = axum::Router::new()
            .route("/tsa", axum::routing::post(tsa::handle))
            .route("/tsa/ca.pem", axum::routing::get(tsa::ca))
            .fallback(http::handle)
            .with_state(self.shared.clone());
        if let Some(growth) = self.shared.config.growth {
            tokio::spawn(Self::grow(self.shared.clone(), growth));
        }
        let listener = FaultyListener {
            inner: listener,
            shared: self.shared,
        };
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Bind `127.0.0.1:port` (0 = any) and serve in the current runtime until the runtime
    /// ends. Returns the bound address.
    pub async fn start(self, port: u16) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(self.serve(listener, std::future::pending()));
        Ok(addr)
    }

    /// Serve on a background thread with its own runtime (for tests); stops when the handle
    /// is dropped.
    pub fn spawn(self) -> std::io::Result<SimHandle> {
        self.spawn_on(0)
    }

    /// As [`Simulator::spawn`], on a given port of 127.0.0.1 (0 = any).
    pub fn spawn_on(self, port: u16) -> std::io::Result<SimHandle> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = self.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime for the simulator");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener)
                    .expect("listener for the simulator");
                let _ = server
                    .serve(listener, async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Ok(SimHandle {
            url: format!("http://{addr}"),
            simulator: self,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// A simulator running on a background thread.
pub struct SimHandle {
    /// `http://127.0.0.1:<port>`, the tenant base URL to give the client.
    pub url: String,
    pub simulator: Simulator,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        // A held answer would keep the graceful shutdown waiting for ever.
        self.simulator.release_answers();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
