//! One module per subcommand; `run` dispatches.

mod count;
mod export;
mod fields;
mod normalize;
mod simulate;
mod sync;
mod verify;

use chrono::Utc;

use crate::cli::{Cli, Command, ConnectionArgs, FilterArgs};
use crate::config::{self, Source};
use crate::console;
use crate::error::{Error, Result};
use crate::model::anomaly::Anomalies;
use crate::output::{Destination, Format, WriteOptions};
use crate::secret::Secret;
use crate::simulator::{SimConfig, Simulator};
use crate::workfront::client::{Client, ClientOptions, Credential};
use crate::workfront::query::Filters;

pub fn run(cli: Cli) -> Result<()> {
    crate::console::set_level(cli.quiet, cli.verbose);
    match cli.command {
        Command::Export(args) => export::run(args),
        Command::Count(args) => count::run(args),
        Command::Normalize(args) => normalize::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Sync(args) => sync::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "jrnle-audit", &mut out);
            Destination::Stdout.write_with(|w| w.write_all(&out))
        }
        Command::Fields(args) => fields::run(args),
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Error::Internal(e.to_string()))?;
            Destination::Stdout.write_with(|w| w.write_all(&out))
        }
    }
}

/// The checked inputs of a command that queries Workfront.
struct Query {
    source: Source,
    filters: Filters,
    options: ClientOptions,
}

fn query(connection: &ConnectionArgs, filters: &FilterArgs) -> Result<Query> {
    let env = |var: &str| std::env::var(var).ok();
    let (mut connection, mut filters) = (connection.clone(), filters.clone());
    crate::profile::apply(&mut connection, &mut filters, &env)?;
    let connection = &connection;
    let filters = config::filters(&filters, Utc::now())?;
    let source = config::source(connection, &env)?;
    console::verbose(source.describe());
    Ok(Query {
        source,
        filters,
        options: config::client_options(connection),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))
}

/// A client for the source. For the demo this starts the simulator, with the bundled data,
/// in the current runtime, and the real HTTP path runs against it.
async fn connect(query: &Query) -> Result<Client> {
    match &query.source {
        Source::Tenant(c) => Client::new(&c.url, &c.api_version, &c.credential, query.options),
        Source::Demo { api_version } => {
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
            console::note(format!(
                "demo: reading the bundled sample data (fixtures/demo.json) from a \
                 built-in Workfront simulator at http://{addr}; this is not a real tenant"
            ));
            let url = reqwest::Url::parse(&format!("http://{addr}"))
                .map_err(|e| Error::Internal(e.to_string()))?;
            Client::new(&url, api_version, &Credential::ApiKey(key), query.options)
        }
    }
}

/// The writing options from the output flags, checked.
fn write_options(
    out: &crate::cli::OutputArgs,
    format: Format,
    labels: bool,
) -> Result<WriteOptions> {
    if out.excel && format != Format::Csv {
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
    Ok(WriteOptions {
        formula_guard: !out.no_formula_guard,
        zone,
        excel: out.excel,
        labels,
    })
}

/// What a run did, for its closing line.
struct Summary<'a> {
    written: u64,
    destination: &'a Destination,
    anomalies: &'a Anomalies,
    /// Requests made and retries among them, for runs that talk to Workfront.
    requests: Option<(u64, u64)>,
    elapsed: std::time::Duration,
}

/// Warn once per kind of bad data, with its count, then one summary line: entries written,
/// where, how long, requests and retries, warnings.
fn summarize(s: &Summary<'_>) {
    for line in s.anomalies.lines() {
        console::warn(line);
    }
    let place = s.destination.name().display().to_string();
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    if let Some((requests, retries)) = s.requests {
        parts.push(plural(requests, "request", "requests"));
        parts.push(plural(retries, "retry", "retries"));
    }
    parts.push(plural(s.anomalies.total(), "data warning", "data warnings"));
    console::note(format!(
        "wrote {} to {place} in {:.1} s ({})",
        plural(s.written, "entry", "entries"),
        s.elapsed.as_secs_f64(),
        parts.join(", ")
    ));
}
