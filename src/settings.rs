//! One resolved run: flags, environment and profile resolved once (as ripgrep's `HiArgs`)
//! into values that hand out what a command needs: [`Settings`] the client and the journal
//! source, [`OutputSettings`] the destination and the sink. Nothing past this point sees raw
//! arguments.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::auth::Credential;
use crate::cli::{ConnectionArgs, EvidenceArgs, FilterArgs, OutputArgs};
use crate::config::{self, Target};
use crate::console;
use crate::error::{Error, Result};
use crate::evidence::signing::SigningKey;
use crate::model::date::format_utc_ms;
use crate::output::{Destination, Format, Output, RecordSink, WriteOptions, open_sink};
use crate::secret::Secret;
use crate::simulator::{SimConfig, Simulator};
use crate::source::journal::JournalSource;
use crate::workfront::client::{Client, ClientOptions};
use crate::workfront::query::Filters;

/// The checked inputs of a command that queries Workfront.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    pub filters: Filters,
    pub options: ClientOptions,
}

impl Settings {
    /// Resolve the connection and filter flags, with the profile and the environment.
    pub fn resolve(connection: &ConnectionArgs, filters: &FilterArgs) -> Result<Settings> {
        let env = |var: &str| std::env::var(var).ok();
        let (mut connection, mut filters) = (connection.clone(), filters.clone());
        let from_profile = crate::profile::apply(&mut connection, &mut filters, &env)?;
        let filters = config::filters(&filters, Utc::now())?;
        let target = config::target(&connection, from_profile, &env)?;
        console::verbose(target.describe());
        Ok(Settings {
            target,
            filters,
            options: config::client_options(&connection),
        })
    }

    /// A client for the target. For the demo this starts the simulator, with the bundled
    /// data, in the current runtime, and the real HTTP path runs against it.
    pub async fn client(&self) -> Result<Client> {
        match &self.target {
            Target::Tenant(c) => {
                let auth =
                    c.credential
                        .authenticator(&c.url, &c.credential_from, self.options.timeout)?;
                Client::new(&c.url, &c.api_version, auth, self.options)
            }
            Target::Demo { api_version } => {
                let records = crate::simulator::demo_records()?;
                let key = Secret::new(format!(
                    "demo-{}-{}",
                    std::process::id(),
                    Utc::now().timestamp_nanos_opt().unwrap_or_default()
                ));
                let config = SimConfig {
                    api_key: Some(key.clone()),
                    ..SimConfig::default()
                };
                let addr = Simulator::new(config, &records)
                    .start(0)
                    .await
                    .map_err(|e| Error::io("cannot start the demo simulator", e))?;
                let (first, last) = demo_span(&records);
                console::note(format!(
                    "demo: reading the bundled sample data (fixtures/demo.json, entries from \
                     {} to {}) from a built-in Workfront simulator at http://{addr}; this is \
                     not a real tenant",
                    first.format("%Y-%m-%d"),
                    last.format("%Y-%m-%d")
                ));
                // The demo data is fixed (its outputs are compared byte for byte): a window
                // relative to today (--since 7d) misses it, which says so rather than
                // leaving an empty result to puzzle over.
                if self.filters.since.is_some_and(|s| s > last) || self.filters.until <= first {
                    console::warn(format!(
                        "the window {} holds none of the demo data, which spans {} to {}: \
                         widen it, e.g. --since {}",
                        self.filters.window(),
                        format_utc_ms(&first),
                        format_utc_ms(&last),
                        first.format("%Y-%m-%d")
                    ));
                }
                let url = reqwest::Url::parse(&format!("http://{addr}"))
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let auth = Arc::new(Credential::ApiKey(key));
                Client::new(&url, api_version, auth, self.options)
            }
        }
    }

    /// The journal entries of the filters, fetched through `client`.
    pub fn journal<'c>(
        &self,
        client: &'c Client,
        progress: indicatif::ProgressBar,
    ) -> JournalSource<'c> {
        JournalSource::new(
            client,
            self.filters.clone(),
            self.options.max_concurrency,
            progress,
        )
    }

    /// The tenant URL (`demo` for the demo) and API version, as manifests record them.
    pub fn tenant(&self) -> (String, String) {
        match &self.target {
            Target::Tenant(c) => (
                c.url.as_str().trim_end_matches('/').to_string(),
                c.api_version.clone(),
            ),
            Target::Demo { api_version } => ("demo".to_string(), api_version.clone()),
        }
    }
}

/// The checked output flags: where, in which format, how.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub destination: Destination,
    pub format: Format,
    pub options: WriteOptions,
}

impl OutputSettings {
    /// Resolve the output flags; the destination is checked before any work is done.
    pub fn resolve(out: &OutputArgs, labels: bool) -> Result<OutputSettings> {
        let destination = Destination::from_arg(out.output.as_deref());
        destination.check()?;
        let format = Format::choose(out.format, out.output.as_deref());
        if let Destination::File(path) = &destination {
            format.check_extension(path).map_err(Error::usage)?;
        }
        if destination == Destination::Stdout && !format.spec().stdout {
            return Err(Error::usage(format!(
                "{} is a binary file and cannot go to stdout: give -o FILE.{}",
                format.spec().name,
                format.spec().extension()
            )));
        }
        if out.excel && !format.spec().excel {
            return Err(Error::usage(
                "--excel writes CSV: drop --format or use a .csv file name",
            ));
        }
        let zone = out
            .tz
            .as_deref()
            .map(|z| {
                z.parse::<chrono_tz::Tz>().map_err(|_| {
                    Error::usage(format!(
                        "unknown --tz {z:?}: use an IANA time zone name such as Europe/Stockholm or America/New_York"
                    ))
                })
            })
            .transpose()?;
        let options = WriteOptions {
            formula_guard: !out.no_formula_guard,
            zone,
            excel: out.excel,
            labels,
            about: Vec::new(),
            source: false,
        };
        Ok(OutputSettings {
            destination,
            format,
            options,
        })
    }

    /// Open the destination (see [`Destination::open`]).
    pub fn open(&self) -> Result<Output> {
        self.destination.open()
    }

    /// A sink writing the format into `output`.
    pub fn sink<'a>(&self, output: &'a mut Output) -> Result<Box<dyn RecordSink + 'a>> {
        open_sink(self.format, output, &self.options).map_err(|e| self.destination.error(e))
    }
}

/// The first and last entry dates of the demo data.
fn demo_span(records: &[crate::input::RawRecord]) -> (DateTime<Utc>, DateTime<Utc>) {
    let dates = records
        .iter()
        .filter_map(|r| r.get("entryDate").and_then(|v| v.as_str()))
        .filter_map(crate::model::date::parse_timestamp)
        .map(|d| d.with_timezone(&Utc));
    let (mut first, mut last) = (DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC);
    for d in dates {
        first = first.min(d);
        last = last.max(d);
    }
    (first, last)
}

/// The key a run signs its manifests with: `--signing-key` (or `JRNLE_SIGNING_KEY_FILE`), else
/// the profile's `signing_key_file`; read once, before anything is fetched or written, its
/// passphrase from `JRNLE_SIGNING_KEY_PASSPHRASE`. A key that cannot be used is exit 2.
pub fn signing_key(
    evidence: &EvidenceArgs,
    connection: Option<&ConnectionArgs>,
) -> Result<Option<Arc<SigningKey>>> {
    let env = |var: &str| std::env::var(var).ok();
    let path = match (&evidence.signing_key, connection) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(connection)) => crate::profile::signing_key_file(connection, &env)?,
        (None, None) => None,
    };
    let Some(path) = path else {
        return Ok(None);
    };
    let passphrase = std::env::var(crate::evidence::signing::PASSPHRASE_VAR)
        .ok()
        .map(zeroize::Zeroizing::new);
    let key = SigningKey::load(&path, passphrase)?;
    console::verbose(format!("signing manifests with {}", key.fingerprint()));
    Ok(Some(Arc::new(key)))
}
