//! The command line (a contract: other tools depend on these names). Doc comments are the
//! help text.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Args, Parser, Subcommand};

use crate::output::Format;

/// Export Adobe Workfront journal entries (JRNLE) as an exact field-change history.
#[derive(Debug, Parser)]
#[command(
    name = "jrnle-audit",
    version,
    propagate_version = true,
    // The commands grouped by job (clap lists subcommands in one flat list): TOP_COMMANDS,
    // checked against the subcommands by a unit test below.
    help_template = TOP_TEMPLATE,
    after_help = TOP_HELP
)]
pub struct Cli {
    /// More detail on stderr, for the commands that talk to Workfront (also after the
    /// subcommand, where only those commands offer it).
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print nothing but errors (no progress, warnings or summary).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Query JRNLE and write normalized changes.
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
    /// Print the number of matching journal entries (one integer, newline).
    Count(CountArgs),
    /// Turn saved raw JRNLE records into normalized output, with no API calls.
    Normalize(NormalizeArgs),
    /// Serve the built-in Workfront simulator on 127.0.0.1.
    Simulate(SimulateArgs),
    /// Deliver the entries no earlier run delivered: one data file and its manifest per run.
    // Each window ends at now minus --lag: --until is refused, so it is not offered either.
    #[command(
        after_help = SYNC_HELP,
        mut_arg("until", |a| a.hide(true)),
        mut_arg("since", |a| a.help(SYNC_SINCE_HELP))
    )]
    Sync(SyncArgs),
    /// Record changes of any field, also those the journal does not track: poll objects by
    /// lastUpdateDate and compare each with its last known state (the first run is a
    /// baseline).
    // clap does not wrap the usage line: written over two lines to fit 80 columns.
    #[command(
        after_help = SNAPSHOT_HELP,
        override_usage = "jrnle-audit snapshot [OPTIONS] --out-dir <DIR> --obj-code <CODE>\n       \
                          --fields <NAMES>"
    )]
    Snapshot(SnapshotArgs),
    /// Check an out-dir of sync, snapshot or listen: every file against its manifest, the
    /// hash chain, the windows, a snapshot's state.
    Verify(VerifyArgs),
    /// Load a verified out-dir of sync, snapshot or listen into a PostgreSQL or SQLite table,
    /// exactly once: a rerun loads only what is new.
    #[command(after_help = LOAD_HELP)]
    Load(LoadArgs),
    /// Receive Workfront event-subscription deliveries and keep their field changes as
    /// evidence, as sync does: acknowledged only once on disk, committed every --rotate.
    #[command(after_help = LISTEN_HELP)]
    Listen(ListenArgs),
    /// Create, list and delete Workfront event subscriptions, whose deliveries listen
    /// receives.
    Subscriptions {
        #[command(subcommand)]
        command: SubscriptionsCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// List the fields that have journal entries, per object type, with counts and the last
    /// change (journal entries exist only for tracked fields).
    Fields(FieldsArgs),
    /// Write a self-contained HTML audit report of a sync out-dir, of export files, or of a
    /// query run as export would.
    #[command(after_help = REPORT_HELP)]
    Report(ReportArgs),
    /// Every field's value over time: one row per object, field and interval in which the
    /// field held one value (SCD type 2), from a replay of the history; chain breaks marked.
    #[command(after_help = INTERVALS_HELP)]
    Intervals(IntervalsArgs),
    /// Every object's fields as they stood at one instant: value, since when, set by whom
    /// and by which entry.
    #[command(after_help = ASOF_HELP)]
    Asof(AsofArgs),
    /// Time in each value of one field (status by default) per object, in real and business
    /// time; or, with --cycle-start and --cycle-end, one cycle per object.
    #[command(after_help = DURATIONS_HELP)]
    Durations(DurationsArgs),
    /// Sign in once as a person (Workfront OAuth2 Web Application): later runs get their
    /// sessions from the stored refresh token.
    Login(LoginArgs),
    /// Delete the stored login of a profile (or the default one).
    Logout(LogoutArgs),
    /// Credentials: `auth status` says which one a profile would use and whether it works.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Which credential a run would use, whether it works (one cheap request), and for a
    /// stored login when it was last refreshed; never a secret.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The port on 127.0.0.1 that receives the redirect: the application's redirect URL must
    /// be http://127.0.0.1:<PORT>/callback.
    #[arg(long, value_name = "N", default_value_t = 8765)]
    pub port: u16,

    /// Print the sign-in URL and do not try to open a browser.
    #[arg(long)]
    pub no_browser: bool,

    #[command(flatten)]
    pub connection: SignInArgs,
}

/// The connection flags `login` reads: where the tenant is, and the profile that may name it
/// and the Web Application (a credential, filters or the demo have no meaning for a sign-in).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub struct SignInArgs {
    /// More detail on stderr.
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// The tenant's base URL, e.g. https://acme.my.workfront.com.
    #[arg(long, env = "WORKFRONT_URL", value_name = "URL")]
    pub url: Option<String>,

    /// Store the login for this named profile of the config file (which may also give the
    /// URL and the Web Application's client ID and secret).
    #[arg(long, env = "WORKFRONT_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// The config file [default: $XDG_CONFIG_HOME/jrnle-audit/config.toml, else
    /// ~/.config/jrnle-audit/config.toml].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Allow plain http:// to a host that is not loopback.
    #[arg(long)]
    pub allow_insecure_http: bool,

    /// Seconds before the token exchange is abandoned, e.g. 30.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The profile whose login to delete [default: the login made without --profile].
    #[arg(long, env = "WORKFRONT_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

const REPORT_HELP: &str = "Examples:
  the evidence of a sync series, verified:
    jrnle-audit report /srv/audit/status -o report.html --tz America/Denver
  files written by export:
    jrnle-audit report changes.csv -o report.html --title 'Q3 status changes'
  straight from a query (the same flags and guarantees as export):
    jrnle-audit report --since 2025-07-01 --until 2025-10-01 --field status \\
        -o q3.html
  the bundled sample data:
    jrnle-audit report --demo -o demo-report.html";

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A sync --out-dir (the best evidence: verified, with its manifests), or files written
    /// by export (CSV, JSON or JSON Lines; detected). None: run the query as export would.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// The HTML file to write, e.g. report.html.
    #[arg(short, long, value_name = "FILE", required = true)]
    pub output: PathBuf,

    /// With an out-dir: name who signed its manifests from this OpenSSH allowed-signers file
    /// (as verify --allowed-signers checks them).
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,

    /// With an out-dir: check its manifests' timestamps against these TSA CA certificates
    /// (PEM), as verify --tsa-ca does.
    #[arg(long, value_name = "FILE")]
    pub tsa_ca: Option<PathBuf>,

    /// The report's title [default: "Workfront change history"].
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,

    /// Show times, days and business hours in this IANA zone, e.g. Europe/Paris [default: a
    /// query's report: the tenant's zone, as the offsets of Workfront's dates show it; files:
    /// UTC].
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,

    /// Embed at most N changes in "All changes" (a browser holds about a million); the page
    /// says how many more there are and which files hold them. Counts, charts and prompts
    /// always cover every change.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub table_rows: u64,

    /// With a query: add the labels of codes (statuses in words) from Workfront's metadata.
    /// Files written with --labels carry them already.
    #[arg(long)]
    pub labels: bool,

    /// Business hours in --tz, e.g. 07:30-17:00; changes outside them are listed.
    #[arg(long, value_name = "HH:MM-HH:MM", default_value = "08:00-18:00")]
    pub business_hours: String,

    /// Business days, a range or a list, e.g. mon-fri or mon,tue,wed,thu.
    #[arg(long, value_name = "DAYS", default_value = "mon-fri")]
    pub business_days: String,

    /// A bulk edit is one editor with at least N changes within one minute.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub bulk_threshold: u64,

    /// Show the timelines of the N most-changed objects.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,

    /// Also show the timeline of this object (repeat the flag for more).
    #[arg(long = "object", value_name = "ID")]
    pub objects: Vec<String>,

    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
}

impl Command {
    /// How many `-v` the subcommand was given (only those that talk to Workfront take it).
    pub fn verbose(&self) -> u8 {
        match self {
            Command::Export(a) => a.connection.verbose,
            Command::Count(a) => a.connection.verbose,
            Command::Sync(a) => a.connection.verbose,
            Command::Snapshot(a) => a.connection.verbose,
            Command::Fields(a) => a.connection.verbose,
            Command::Report(a) => a.connection.verbose,
            Command::Intervals(a) => a.history.connection.verbose,
            Command::Asof(a) => a.history.connection.verbose,
            Command::Durations(a) => a.history.connection.verbose,
            Command::Login(a) => a.connection.verbose,
            Command::Auth {
                command: AuthCommand::Status(a),
            } => a.connection.verbose,
            Command::Logout(_) => 0,
            Command::Subscriptions { command } => match command {
                SubscriptionsCommand::Create(a) => a.connection.verbose,
                SubscriptionsCommand::List(a) => a.connection.verbose,
                SubscriptionsCommand::Delete(a) => a.connection.verbose,
            },
            Command::Normalize(_)
            | Command::Listen(_)
            | Command::Simulate(_)
            | Command::Verify(_)
            | Command::Load(_)
            | Command::Completions { .. }
            | Command::Man => 0,
        }
    }
}

const LISTEN_HELP: &str = "\
Examples:
  WORKFRONT_EVENT_TOKEN=... jrnle-audit listen --out-dir /srv/audit/events
  jrnle-audit verify /srv/audit/events

Plain HTTP is served on loopback only; with --tls-cert and --tls-key, HTTPS on any address.
SIGTERM or Ctrl-C stops accepting, commits what was acknowledged and exits 0.";

#[derive(Debug, Subcommand)]
pub enum SubscriptionsCommand {
    /// Create a subscription: Workfront then POSTs each matching change to --delivery-url.
    // --url is the tenant, as in every command; until issue 26 it was the delivery address
    // here and the tenant --tenant-url, kept hidden for one release.
    #[command(
        override_usage = "jrnle-audit subscriptions create [OPTIONS] --obj-code <CODE>\n       \
                          --event <EVENT> --delivery-url <URL>"
    )]
    Create(SubscriptionCreateArgs),
    /// List the subscriptions with each URL's delivery health (a disabled URL gets nothing).
    List(SubscriptionListArgs),
    /// Delete a subscription by its id.
    Delete(SubscriptionDeleteArgs),
}

#[derive(Debug, Args)]
pub struct SubscriptionCreateArgs {
    /// The object type to watch, e.g. TASK, PROJ, OPTASK.
    #[arg(long, value_name = "CODE")]
    pub obj_code: String,

    /// The change to deliver.
    #[arg(long, value_name = "EVENT", value_parser = ["CREATE", "UPDATE", "DELETE"])]
    pub event: String,

    /// Where Workfront delivers: the https:// address of `listen` (or of its proxy); plain
    /// http:// only to loopback.
    #[arg(long, value_name = "URL")]
    pub delivery_url: String,

    /// The tenant, as --url: the name this command gave it before issue 26 (deprecated).
    #[arg(long, value_name = "URL", hide = true)]
    pub tenant_url: Option<String>,

    /// Only this object, by id.
    #[arg(long, value_name = "ID")]
    pub obj_id: Option<String>,

    /// Deliver only changes that match, as FIELD:COMPARISON[:VALUE] on the new state (or
    /// old:FIELD:...), e.g. status:changed or status:eq:CPL; repeat to combine (AND).
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,

    /// The environment variable holding the authToken Workfront will send with each
    /// delivery (the one listen checks).
    #[arg(long, value_name = "VAR", default_value = "WORKFRONT_EVENT_TOKEN")]
    pub auth_token_env: String,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct SubscriptionListArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct SubscriptionDeleteArgs {
    /// The subscription's id, as `subscriptions list` shows it.
    pub id: String,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Where `listen` serves and what it writes.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Where the delivery journal, data files and manifests go (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,

    /// The address to serve on; plain HTTP only on loopback.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub bind: String,

    /// Serve HTTPS with this certificate chain (PEM); with --tls-key, any address may be bound.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Require a client certificate issued by this CA (PEM), as Workfront's delivery service
    /// presents (DigiCert Global Root CA).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,

    /// With --client-ca: the common name the client certificate's subject must have; a
    /// leading *. stands for one label (Workfront's preview and sandbox deliveries use
    /// *.preview... and *.sandbox...).
    #[arg(long, value_name = "PATTERN", requires = "client_ca",
          default_value = crate::listen::tls::WORKFRONT_SUBJECT)]
    pub client_subject: String,

    /// The environment variable holding the subscription's authToken, which deliveries carry
    /// as `Authorization: Bearer <token>`.
    #[arg(long, value_name = "VAR", default_value = "WORKFRONT_EVENT_TOKEN")]
    pub auth_token_env: String,

    /// Format of the data files, e.g. ndjson.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,

    /// Do not prefix CSV cells that start with = + - @ tab or CR with a quote.
    #[arg(long)]
    pub no_formula_guard: bool,

    /// How often the journaled deliveries are committed as a data file and its manifest
    /// (e.g. 10m, 1h); also at shutdown.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub rotate: String,

    /// Connections served at once; when all are taken, the one that has waited longest
    /// without a delivery in progress is closed for the newcomer.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,

    /// How long a TLS handshake may take.
    #[arg(long, value_name = "DURATION", default_value = "3s")]
    pub handshake_timeout: String,

    /// How long a request's headers may take to arrive.
    #[arg(long, value_name = "DURATION", default_value = "3s")]
    pub header_timeout: String,

    /// How long a connection may stay open with no delivery in progress (before its first
    /// request, between requests), then it is closed.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub idle_timeout: String,

    /// The slowest a delivery's body may arrive, in bytes a second after a first second
    /// (a 1 MB body at the default: 17 s at most).
    #[arg(long, value_name = "BYTES", default_value_t = 65536)]
    pub min_body_rate: u64,

    /// After SIGTERM or Ctrl-C: how long requests in progress may take to finish before they
    /// are closed unanswered (then what was acknowledged is committed).
    #[arg(long, value_name = "DURATION", default_value = "3s")]
    pub grace: String,

    /// Bytes of refused bodies kept whole in the quarantine per UTC day; past it a refused
    /// body is recorded by its reason, size and SHA-256 only.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub quarantine_cap: u64,

    #[command(flatten)]
    pub evidence: EvidenceArgs,

    #[command(flatten)]
    pub tsa: TsaArgs,
}

#[derive(Debug, Args)]
pub struct FieldsArgs {
    /// How the table is written: tab-separated columns for people, CSV or a JSON array.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TableFormat,

    #[command(flatten)]
    pub summary: SummaryArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// How `fields` writes its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    /// Tab-separated columns with a header row.
    Text,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// The top-level help: clap's parts around the commands grouped by job.
const TOP_TEMPLATE: &str = "\
{about-with-newline}
{usage-heading} {usage}

Commands:
  Export and inspect:
    export         Query the journal and write normalized changes
    count          Print the number of matching journal entries
    fields         List the fields that have journal entries
    normalize      Normalize saved raw journal records, offline
  Scheduled evidence:
    sync           Append the entries no earlier run delivered to an out-dir
    verify         Check an out-dir: files, manifests, hash chain, state
    load           Load a verified out-dir into PostgreSQL or SQLite, once
  Real time and snapshots:
    listen         Receive event-subscription deliveries as evidence
    subscriptions  Create, list and delete event subscriptions
    snapshot       Record changes of any field by comparing object states
  Report:
    report         Write a self-contained HTML audit report
  Answers from the history:
    intervals      Every field's value over time (SCD type 2 intervals)
    asof           Every object's fields as they stood at one instant
    durations      Time in each value of a field, with a business calendar
  Sign-in:
    login          Sign in once as a person (OAuth2 Web Application)
    logout         Delete a stored login
    auth           Say which credential a run would use, and test it
  Simulator and shell:
    simulate       Serve the built-in Workfront simulator
    completions    Print a shell completion script
    man            Print the man page
    help           Print this message or the help of a command

Options:
{options}{after-help}";

const TOP_HELP: &str = "\
Environment:
  WORKFRONT_URL               the tenant's base URL (or --url)
  WORKFRONT_API_VERSION       the API version (default v21.0)
  WORKFRONT_PROFILE           a profile of the config file (or --profile)
  One credential, exactly:
  WORKFRONT_API_KEY           an API key (or --api-key-file)
  WORKFRONT_SESSION_ID        a session ID
  WORKFRONT_BEARER_TOKEN      an Adobe IMS token
  WORKFRONT_CLIENT_ID, WORKFRONT_CLIENT_SECRET, WORKFRONT_CUSTOMER_ID,
  WORKFRONT_USER_ID, WORKFRONT_PRIVATE_KEY_FILE
                              OAuth2 machine to machine (a JWT): all five
  or a login stored by `jrnle-audit login` (WORKFRONT_CLIENT_ID and
  WORKFRONT_CLIENT_SECRET name its Web Application).
  WORKFRONT_EVENT_TOKEN       the token deliveries carry (listen, subscriptions)
  XDG_CONFIG_HOME, XDG_STATE_HOME
                              where the config file and stored logins are

Examples:
  Try it on bundled sample data:
    jrnle-audit export --demo
  Status changes of tasks over the last week, for a spreadsheet:
    jrnle-audit export --obj-code TASK --field status --since 7d -o status.xlsx
  An hourly compliance export (cron), then an integrity check:
    jrnle-audit sync --out-dir /srv/audit --since 2025-01-01
    jrnle-audit verify /srv/audit

Exit codes: 0 ok, 1 internal or I/O error, 2 usage, 3 credential or rights
refused, 4 API or network failure, 5 incomplete export or evidence not intact,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM).";

const EXPORT_HELP: &str = "\
Examples:
  jrnle-audit export --obj-code TASK --field status --since 7d -o status.csv
  jrnle-audit export --field \"DE:Budget Code\" --since 2025-01-01 \\
      --until 2025-04-01 -o q1.xlsx
  jrnle-audit export --obj-code PROJ --since 36h --format ndjson | jq .
  jrnle-audit export --demo";

const SYNC_HELP: &str = "\
Examples:
  crontab, every hour (--since places the first run; later runs go on from the
  last one; a crontab line cannot be continued):
    0 * * * * jrnle-audit sync --out-dir /srv/audit --since 2025-01-01
  check the evidence:
    jrnle-audit verify /srv/audit";

/// `sync --since`: unlike export's, it only places the start of a series.
const SYNC_SINCE_HELP: &str = "Where the series starts, needed by the first run (and by \
    --new-series): later runs go on from where the last one ended and ignore it. The forms \
    of export's --since, e.g. 2025-01-01.";

const SNAPSHOT_HELP: &str = "\
Examples:
  every hour, e.g. from cron (the first run stores the baseline and writes no
  change):
    jrnle-audit snapshot --out-dir /srv/audit/tasks --obj-code TASK \\
        --fields status,percentComplete,DE:Risk
  nightly, also finding deleted objects: the same with --detect-deletes
  check the evidence and the state:
    jrnle-audit verify /srv/audit/tasks";

/// Where Workfront is and how to reach it. The credential comes from the environment
/// (WORKFRONT_API_KEY, WORKFRONT_SESSION_ID or WORKFRONT_BEARER_TOKEN) or --api-key-file.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// More detail on stderr: -v traces each request (method, path, status, timing,
    /// retries), -vv also the window planning. Credentials are never shown.
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// The tenant's base URL, e.g. https://acme.my.workfront.com.
    #[arg(long, env = "WORKFRONT_URL", value_name = "URL")]
    pub url: Option<String>,

    /// The API version in the path, e.g. v22.0 [default: v21.0].
    #[arg(long, env = "WORKFRONT_API_VERSION", value_name = "VERSION")]
    pub api_version: Option<String>,

    /// Read the API key (sent as the apiKey header) from this file, e.g.
    /// /run/secrets/workfront-key.
    #[arg(long, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,

    /// Use the bundled sample data on a built-in simulator: no URL or credential needed.
    #[arg(long)]
    pub demo: bool,

    /// Use this named profile of the config file, e.g. acme (URL, API version, where the
    /// credential comes from, default filters). Flags and WORKFRONT_* variables override it.
    #[arg(long, env = "WORKFRONT_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// The config file [default: $XDG_CONFIG_HOME/jrnle-audit/config.toml, else
    /// ~/.config/jrnle-audit/config.toml].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Allow plain http:// to a host that is not loopback (the credential would travel in
    /// clear text).
    #[arg(long)]
    pub allow_insecure_http: bool,

    /// Seconds before one request is abandoned (and retried), e.g. 30.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Retries of a failed request (429, 5xx, broken or garbled answers, network errors)
    /// before giving up, e.g. 3; 0 turns retrying off.
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(0..=30))]
    pub max_retries: u32,

    /// Requests in flight at once, at most, e.g. 10 (Workfront allows about 10 per
    /// customer).
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=10))]
    pub max_concurrency: u64,
}

/// Which journal entries. Repeat a filter to match any of its values.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Object type that changed (objObjCode), e.g. TASK, PROJ, OPTASK.
    #[arg(long = "obj-code", value_name = "CODE")]
    pub obj_codes: Vec<String>,

    /// Tracked field (fieldName), e.g. status or "DE:Budget Code".
    #[arg(long = "field", value_name = "NAME")]
    pub fields: Vec<String>,

    /// Start of the window, inclusive: RFC 3339 (2025-01-07T00:00:00Z), Workfront's format
    /// (2025-01-07T09:30:00:000-0600), a date (2025-01-07, midnight UTC) or a time ago (30m,
    /// 36h, 7d, 2w).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// End of the window, exclusive (default: now); the same forms as --since.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Id of the changed object (objID), e.g. 5f3e9a0c00a1b2c3d4e5f60718293a4b.
    #[arg(long = "obj-id", value_name = "ID")]
    pub obj_ids: Vec<String>,

    /// Id of the user who made the change (editedByID), e.g. 4d0c1e2f3a4b5c6d7e8f90a1b2c3d4e5.
    #[arg(long = "edited-by", value_name = "USER_ID")]
    pub edited_by: Vec<String>,

    /// Change type code (changeType), e.g. E, A, D.
    #[arg(long = "change-type", value_name = "CODE")]
    pub change_types: Vec<String>,
}

/// How a run reports what it did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    /// One line for people.
    #[default]
    Text,
    /// One JSON object on one line, for schedulers and CI (replaces the line and the
    /// per-kind data warnings; shown also with -q).
    Json,
}

/// `--summary-format`, for every command that ends with a summary.
#[derive(Debug, Clone, Copy, Args)]
pub struct SummaryArgs {
    /// How the end-of-run summary is written: a line for people, or one JSON object on one
    /// line for schedulers (on stdout for verify, else on stderr).
    #[arg(
        id = "summary_format",
        long = "summary-format",
        value_enum,
        default_value = "text",
        value_name = "FORMAT"
    )]
    pub format: SummaryFormat,
}

impl SummaryArgs {
    pub fn json(&self) -> bool {
        self.format == SummaryFormat::Json
    }
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    #[command(flatten)]
    pub summary: SummaryArgs,

    /// Output format, e.g. ndjson [default: from the --output extension, else csv].
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write here instead of stdout, e.g. audit.csv; the file appears only when complete.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Do not prefix CSV cells that start with = + - @ tab or CR with a quote.
    #[arg(long)]
    pub no_formula_guard: bool,

    /// Show dates in this IANA time zone with its offset (e.g. Europe/Stockholm:
    /// 2025-01-07T10:00:00.000+01:00) instead of UTC.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,

    /// CSV for Excel: a UTF-8 byte-order mark and CRLF line ends, so accented names show
    /// right (the formula guard stays on).
    #[arg(long, conflicts_with = "no_formula_guard")]
    pub excel: bool,
}

/// Where `intervals`, `asof` and `durations` read the history: what `report` reads.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// A sync --out-dir (verified first), or files written by export (CSV, JSON or JSON Lines;
    /// detected). None: run the query as export would.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Sort the entries in memory before the replay (memory then grows with the entries).
    /// Without it, input not in entry order (entry_date, id) is refused: a sync out-dir holds
    /// late arrivals after later entries.
    #[arg(long)]
    pub sort: bool,

    /// Add value_label, the value in words (statuses): with a query, from Workfront's
    /// metadata; with files, from the labels they carry (written by export --labels; empty
    /// where they carry none).
    #[arg(long)]
    pub labels: bool,

    /// With an out-dir: name who signed its manifests from this OpenSSH allowed-signers file.
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,

    /// With an out-dir: check its manifests' timestamps against these TSA CA certificates.
    #[arg(long, value_name = "FILE")]
    pub tsa_ca: Option<PathBuf>,

    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
}

#[derive(Debug, Args)]
pub struct IntervalsArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// Write the open end of an interval as this instead of empty, e.g.
    /// 9999-12-31T23:59:59.999Z (dbt, dlt) or 2300-01-01T00:00:00.000Z (Data Connect).
    #[arg(long, value_name = "TEXT")]
    pub open_end: Option<String>,
}

#[derive(Debug, Args)]
pub struct AsofArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// The instant: RFC 3339 (2025-01-07T00:00:00Z), Workfront's format, a date (midnight
    /// UTC) or a time ago (30m, 7d).
    #[arg(long, value_name = "TIME", required = true)]
    pub at: String,
}

#[derive(Debug, Args)]
pub struct DurationsArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// Business hours in --tz, e.g. 09:00-17:00.
    #[arg(long, value_name = "HH:MM-HH:MM", default_value = "08:00-18:00")]
    pub business_hours: String,

    /// Business days, a range or a list, e.g. mon-fri or mon,tue,wed,thu.
    #[arg(long, value_name = "DAYS", default_value = "mon-fri")]
    pub business_days: String,

    /// Days that are not business days: a file of dates (2025-12-25), one a line, or an
    /// iCalendar file of all-day events.
    #[arg(long, value_name = "FILE")]
    pub holidays: Option<PathBuf>,

    /// Rows are cycles, one per object, from the first entry into one of these values
    /// (give them after the inputs: --cycle-start NEW PLN).
    #[arg(long, value_name = "VALUE", num_args = 1.., requires = "cycle_end")]
    pub cycle_start: Vec<String>,

    /// ... to the last entry into one of these values after it.
    #[arg(long, value_name = "VALUE", num_args = 1.., requires = "cycle_start")]
    pub cycle_end: Vec<String>,
}

const INTERVALS_HELP: &str = "Examples:
  every value of every tracked field over time, for a warehouse (dbt's open end):
    jrnle-audit intervals /srv/audit/status -o intervals.csv --open-end 9999-12-31T23:59:59.999Z
  from a query:
    jrnle-audit intervals --since 2025-01-01 --field status -o status.ndjson";

const ASOF_HELP: &str = "Examples:
  every task's status on the day the project was approved:
    jrnle-audit asof changes.csv --at 2025-06-30T17:00:00Z -o june30.xlsx --tz Europe/Paris";

const DURATIONS_HELP: &str = "Examples:
  time in each status, working hours 09:00-17:00 in Paris, holidays from a calendar:
    jrnle-audit durations changes.csv --tz Europe/Paris --business-hours 09:00-17:00 \\
        --holidays fr.ics -o status-time.csv
  cycle time from the first start to the last completion:
    jrnle-audit durations changes.csv --cycle-start INP --cycle-end CPL -o cycles.csv";

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// Add change_label (A -> Add, E -> Edit, ...) and old_label/new_label: status,
    /// condition and priority codes in words, from each object type's metadata.
    #[arg(long)]
    pub labels: bool,

    /// Write Parquet into a new directory -o DIR, one Hive-style directory per month or day
    /// of the entries (year=2025/month=07/part-00000.parquet, in UTC), with _manifest.json.
    #[arg(long, value_enum, value_name = "month|day")]
    pub partition_by: Option<crate::output::partitioned::Partition>,
}

#[derive(Debug, Args)]
pub struct CountArgs {
    #[command(flatten)]
    pub summary: SummaryArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
}

#[derive(Debug, Args)]
pub struct NormalizeArgs {
    /// Files of raw JRNLE records ({"data": [...]}, a JSON array, or one per line); - is stdin.
    #[arg(required = true, value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How the manifests a run commits are sealed: signed (and, see --tsa-url, timestamped).
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Evidence")]
pub struct EvidenceArgs {
    /// Sign every manifest with this OpenSSH Ed25519 private key (ssh-keygen -t ed25519),
    /// mode 600, as <manifest>.sig (namespace jrnle-audit); a passphrase is read from
    /// JRNLE_SIGNING_KEY_PASSPHRASE [profile: signing_key_file].
    #[arg(long, env = "JRNLE_SIGNING_KEY_FILE", value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Sync")]
pub struct SyncArgs {
    /// Where the data files and manifests go, e.g. /srv/audit/status (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,

    /// The state file, e.g. /var/lib/jrnle-audit/status.json
    /// [default: DIR/.jrnle-sync-state.json].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Format of the data files, e.g. ndjson.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,

    /// Do not prefix CSV cells that start with = + - @ tab or CR with a quote.
    #[arg(long)]
    pub no_formula_guard: bool,

    /// How far behind now each window ends: entries can become visible a little after the
    /// instant they carry (e.g. 500ms, 30s, 5m, 2h).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub lag: String,

    /// How far before the window each run looks again for entries that became visible later
    /// still; those are delivered once, in the next file.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub lookback: String,

    /// Start a new series at --since with other filters, format or tenant than the series in
    /// --out-dir has (e.g. after adding a --field): the new filters get their whole history.
    #[arg(long)]
    pub new_series: bool,

    /// Kept for scripts that pass it: every run now checks everything `verify` checks before
    /// it appends (every committed file, the chain, the state file, unlisted files)
    #[arg(long)]
    pub verify_all: bool,

    /// Let the first run start a series whose --field, --obj-code or --change-type values
    /// match nothing in the whole range (refused otherwise: most often a typo).
    #[arg(long)]
    pub allow_empty: bool,

    #[command(flatten)]
    pub evidence: EvidenceArgs,

    #[command(flatten)]
    pub summary: SummaryArgs,

    #[command(flatten)]
    pub tsa: TsaArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Snapshot")]
pub struct SnapshotArgs {
    /// Where the data files, manifests and the state database go, e.g. /srv/audit/tasks
    /// (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,

    /// The object type to poll: TASK, PROJ, OPTASK, or another Workfront object code.
    #[arg(long, value_name = "CODE")]
    pub obj_code: String,

    /// The fields to compare, comma-separated, e.g. status,percentComplete,"DE:Risk".
    #[arg(long, value_name = "NAMES", value_delimiter = ',', required = true)]
    pub fields: Vec<String>,

    /// The baseline keeps only objects updated since TIME (the forms of export's --since)
    /// [default: every object]. Ignored after the baseline.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// How far behind now each window ends: an update can become visible a little after the
    /// lastUpdateDate it carries (e.g. 500ms, 30s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub lag: String,

    /// How far before the window each run looks again for updates that became visible later
    /// still.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub lookback: String,

    /// Also scan every id of the type (IDs only, cheap) and record objects that vanished as
    /// deletions (D). Run it periodically, e.g. nightly.
    #[arg(long)]
    pub detect_deletes: bool,

    #[command(flatten)]
    pub tsa: TsaArgs,

    /// Format of the data files, e.g. ndjson.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,

    /// Do not prefix CSV cells that start with = + - @ tab or CR with a quote.
    #[arg(long)]
    pub no_formula_guard: bool,

    #[command(flatten)]
    pub evidence: EvidenceArgs,

    #[command(flatten)]
    pub summary: SummaryArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// RFC 3161 timestamps of the manifests a run commits.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Evidence")]
pub struct TsaArgs {
    /// A time-stamping authority (RFC 3161 over HTTP), e.g. http://timestamp.digicert.com:
    /// each manifest's SHA-256 is sent to it and its token saved as <manifest>.tsr (the
    /// request as .tsq). Repeat for fallbacks, tried in order. A TSA that fails does not
    /// stop the run; the next run stamps what is missing first [default: the profile's
    /// tsa_urls].
    #[arg(long = "tsa-url", value_name = "URL")]
    pub tsa_urls: Vec<String>,
}

const LOAD_HELP: &str = "\
Examples:
  jrnle-audit load /srv/audit/status --into sqlite:audit.db
  PGPASSWORD=... jrnle-audit load /srv/audit/status \\
      --into 'postgres://audit@db.example.com/warehouse?sslmode=verify-full'

The out-dir is verified first (exit 5 and nothing loaded if it is not intact).
Each manifest's rows and its line in NAME_manifests (--table) are committed
together: a rerun, or a run after a kill, loads only what is missing. The
password is never shown.";

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// An out-dir written by sync, snapshot or listen, e.g. /srv/audit/status.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// The database: sqlite:PATH (created if missing) or postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    /// with libpq's sslmode=disable|prefer|require|verify-ca|verify-full (default prefer) and
    /// sslrootcert=FILE; the password may come from PGPASSWORD instead.
    #[arg(long, env = "JRNLE_LOAD_INTO", value_name = "URL", hide_env_values = true,
          value_parser = parse_secret)]
    pub into: crate::secret::Secret,

    /// The table the changes go into; the manifests loaded are kept in NAME_manifests.
    #[arg(long, value_name = "NAME", default_value = crate::load::DEFAULT_TABLE)]
    pub table: String,

    /// Also keep NAME_intervals: one row per object, field and interval in which the field held
    /// one value (the columns of `intervals`), brought up to date with each manifest.
    #[arg(long)]
    pub intervals: bool,

    #[command(flatten)]
    pub summary: SummaryArgs,
}

/// A value kept as a [`crate::secret::Secret`]: never shown by `Debug`.
fn parse_secret(text: &str) -> Result<crate::secret::Secret, std::convert::Infallible> {
    Ok(crate::secret::Secret::new(text))
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An out-dir written by sync, e.g. /srv/audit/status.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    #[command(flatten)]
    pub summary: SummaryArgs,

    /// The state file to compare with, e.g. /var/lib/jrnle-audit/status.json
    /// [default: DIR/.jrnle-sync-state.json if present].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Print the result as one JSON object on stdout, every finding typed as file, kind and
    /// detail (the same as --summary-format json)
    #[arg(long)]
    pub json: bool,

    /// Check every manifest's signature against this OpenSSH allowed-signers file
    /// (principals, namespaces, valid-after/valid-before judged at the manifest's time).
    #[arg(long, value_name = "FILE", help_heading = "Signatures and head")]
    pub allowed_signers: Option<PathBuf>,

    /// A manifest with no signature is a failure (otherwise it is listed as unsigned).
    #[arg(long, help_heading = "Signatures and head")]
    pub require_signatures: bool,

    /// Print the newest manifest's SHA-256 and file name (as sha256sum does), one line to
    /// record elsewhere (a ticket, an email, a WORM store); nothing else on stdout.
    #[arg(long, help_heading = "Signatures and head", conflicts_with = "json")]
    pub print_head: bool,

    /// Fail (exit 5) unless the manifest with this SHA-256 (a head recorded earlier) is in
    /// the chain and every later manifest chains to it.
    #[arg(long, value_name = "SHA256", help_heading = "Signatures and head")]
    pub expect_head: Option<String>,
    /// Check every manifest's RFC 3161 timestamp (.tsr) against these TSA CA certificates
    /// (PEM): its signature, and a signer certificate for time stamping that chains to one
    /// of them [default: tokens are read and their hash, nonce and time checked, their
    /// signature not].
    #[arg(long, value_name = "FILE")]
    pub tsa_ca: Option<PathBuf>,

    /// How long after a manifest was written its timestamp may be, e.g. 1h.
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub max_timestamp_delay: String,

    /// A manifest without a timestamp is a problem (exit 5), not only listed.
    #[arg(long)]
    pub require_timestamps: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Port on 127.0.0.1, e.g. 8080 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Serve these raw records, e.g. saved-page.json (same shapes as normalize reads)
    /// [default: the demo data].
    #[arg(long, value_name = "FILE", conflicts_with = "rows")]
    pub data: Option<PathBuf>,

    /// Serve N generated entries instead, e.g. 100000.
    #[arg(long, value_name = "N")]
    pub rows: Option<usize>,

    /// How the --rows entries are spread over time: bulk (16 days, a third of them one bulk
    /// edit on a single millisecond), uniform (16 days, evenly), daily (weekdays 08:00 to
    /// 18:00 only) or gaps (four days a month apart).
    #[arg(long, value_name = "SHAPE", default_value = "bulk", requires = "rows",
          value_parser = PossibleValuesParser::new(crate::simulator::generate::Shape::NAMES))]
    pub shape: String,

    /// Serve N more tasks (TASK) that no journal entry names, last updated over the past
    /// year, e.g. 1000000: a tenant's size for `snapshot`.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub tasks: usize,

    /// Seed for the generated entries and for the order of tied rows, e.g. 7.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,

    /// The API key the simulator accepts, in the apiKey header or parameter only [default:
    /// with no credential configured, any non-empty credential in any slot].
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,

    /// A session ID accepted as it is, in the sessionID header or parameter only.
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,

    /// An Adobe IMS token accepted as Authorization: Bearer only.
    #[arg(long, value_name = "TOKEN")]
    pub bearer_token: Option<String>,

    /// Register an OAuth2 application with this client ID: the JWT exchange (with
    /// --jwt-public-key) and the authorization-code flow.
    #[arg(long, value_name = "ID", requires = "oauth_client_secret")]
    pub oauth_client_id: Option<String>,

    /// The OAuth2 application's client secret.
    #[arg(long, value_name = "SECRET", requires = "oauth_client_id")]
    pub oauth_client_secret: Option<String>,

    /// The machine-to-machine application's RSA public key (PEM): JWTs signed by its private
    /// key are exchanged for sessions.
    #[arg(long, value_name = "FILE", requires = "oauth_client_id")]
    pub jwt_public_key: Option<PathBuf>,

    /// The customer ID a JWT must carry as iss.
    #[arg(long, value_name = "ID", default_value = "sim-customer")]
    pub customer_id: String,

    /// The user ID a JWT must carry as sub.
    #[arg(long, value_name = "ID", default_value = "sim-user")]
    pub user_id: String,

    /// Each refresh returns a new refresh token and retires the old one.
    #[arg(long, requires = "oauth_client_id")]
    pub rotate_refresh_tokens: bool,

    /// Sessions issued by the OAuth2 flows answer 401 after this long, e.g. 30s or 10m.
    #[arg(long, value_name = "DURATION")]
    pub session_ttl: Option<String>,

    /// A credential that authenticates but lacks rights: answered with 403.
    #[arg(long, value_name = "KEY")]
    pub forbidden_key: Option<String>,

    /// Milliseconds added to each response, e.g. 50.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Up to this many milliseconds more, drawn for each response (seeded by --seed), so that
    /// answers come back out of order as they do from Workfront, e.g. 100.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_jitter_ms: u64,

    /// Microseconds added to a search answer for each row it returns, e.g. 25: a 2,000-row
    /// page then costs 50 ms more than a count (slept, not spent on the CPU).
    #[arg(long, value_name = "US", default_value_t = 0)]
    pub row_cost_us: u64,

    /// Log each request on stderr: method, path, query (credentials redacted), status, rows
    /// returned and time taken.
    #[arg(short, long)]
    pub verbose: bool,

    /// Milliseconds of the unit of event delivery retries: a failed delivery is retried
    /// ((2^attempt) - 1) units after the first failure, 11 times (Workfront's unit is 84800).
    #[arg(long, value_name = "MS", default_value_t = 84_800)]
    pub event_backoff_ms: u64,

    /// Event delivery faults: duplicate (each delivery sent again after it was
    /// acknowledged), reorder (deliveries wait up to 300 ms, so they arrive out of order).
    #[arg(long, value_name = "FAULT", value_delimiter = ',',
          value_parser = PossibleValuesParser::new(crate::simulator::deliver::EventFaults::NAMES))]
    pub event_faults: Vec<String>,

    /// The tenant's IANA time zone, used to render dates, e.g. Europe/Paris.
    #[arg(long, value_name = "ZONE", default_value = "America/Denver")]
    pub time_zone: String,

    /// Probability (0 to 1) that a request misbehaves: a fault drawn at random, seeded by
    /// --seed, from --faults.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate: f64,

    /// The faults to inject [default: all].
    #[arg(long, value_name = "KIND", value_parser = fault_names(), value_delimiter = ',')]
    pub faults: Vec<String>,

    /// Answer 429 when more than N requests are in flight, as Workfront throttles.
    #[arg(long, value_name = "N")]
    pub max_concurrent: Option<usize>,

    /// How long the `timeout` fault holds an answer back, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 65_000)]
    pub stall_ms: u64,

    /// Append this many new entries per second while serving, as on a live tenant.
    #[arg(long, value_name = "ROWS_PER_SEC")]
    pub grow_rate: Option<f64>,

    /// New entries carry an instant up to this many milliseconds before they become visible.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub grow_delay_ms: u64,

    /// Refuse `/report` requests (400), as a tenant that does not offer them on journal
    /// entries, to test a client's fallback.
    #[arg(long)]
    pub no_reports: bool,

    /// Also serve an RFC 3161 time-stamping authority at POST /tsa (for --tsa-url
    /// http://127.0.0.1:PORT/tsa), signing with a fixed test-only key; its CA certificate is
    /// served at GET /tsa/ca.pem and written to --tsa-ca-out (for verify --tsa-ca).
    #[arg(long)]
    pub tsa: bool,

    /// With --tsa: where to write the TSA's CA certificate (PEM) [default:
    /// jrnle-sim-tsa-ca.pem in the system's temporary directory]; its path is printed.
    #[arg(long, value_name = "PATH", requires = "tsa")]
    pub tsa_ca_out: Option<PathBuf>,

    /// Do not serve: write the --rows generated records to stdout as JSON Lines (raw JRNLE
    /// records, as `normalize` reads them) and exit.
    #[arg(long, requires = "rows")]
    pub dump: bool,
}

/// The faults `simulate --faults` takes, with their help. The names are the contract; the
/// simulator maps each to the fault it injects. The help holds no quotes or apostrophes:
/// clap_complete writes it into fish and zsh scripts unescaped, where one breaks the script.
pub const FAULTS: [(&str, &str); 11] = [
    (
        "429",
        "429 Too many concurrent API requests for the given customer.",
    ),
    ("500", "500 with the JSON error envelope of Workfront"),
    ("502", "502 with an HTML page from a proxy"),
    (
        "503",
        "503 with an HTML page from a proxy and Retry-After: 1",
    ),
    ("504", "504 with an HTML page from a proxy"),
    (
        "reset",
        "The connection is reset as it is accepted, before any answer",
    ),
    (
        "timeout",
        "No answer until the stall time has passed (the client times out first)",
    ),
    (
        "truncated",
        "The connection breaks in the middle of the body",
    ),
    ("invalid-json", "HTTP 200 whose JSON body ends early"),
    (
        "html",
        "HTTP 200 with an HTML page (the login or error page of a proxy)",
    ),
    ("error-200", "HTTP 200 with an error body (API notes §6)"),
];

fn fault_names() -> PossibleValuesParser {
    PossibleValuesParser::new(FAULTS.map(|(name, help)| PossibleValue::new(name).help(help)))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{s:?} is not a probability between 0 and 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_never_shows_the_connection_strings_password_in_debug() {
        let cli = Cli::try_parse_from([
            "jrnle-audit",
            "load",
            "out",
            "--into",
            "postgres://audit:hunter2-pw@db/warehouse",
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let Command::Load(args) = cli.command else {
            panic!("not load")
        };
        assert_eq!(
            args.into.expose(),
            "postgres://audit:hunter2-pw@db/warehouse"
        );
        assert_eq!(args.table, "jrnle_changes");
    }

    #[test]
    fn usage_errors_say_what_is_wrong_and_what_is_accepted() {
        let err = Cli::try_parse_from(["jrnle-audit", "export", "--format", "xml"]).unwrap_err();
        let text = err.render().to_string();
        assert!(text.contains("invalid value 'xml'"), "{text}");
        assert!(text.contains("csv, json, ndjson"), "{text}");
        let err =
            Cli::try_parse_from(["jrnle-audit", "export", "--max-concurrency", "11"]).unwrap_err();
        assert!(err.render().to_string().contains("1..=10"));
    }

    #[test]
    fn the_grouped_command_list_names_every_command_once() {
        use clap::CommandFactory;
        let listed: Vec<&str> = TOP_TEMPLATE
            .lines()
            .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let mut commands: Vec<String> = Cli::command()
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name().to_string())
            .collect();
        commands.push("help".into());
        let mut sorted = listed.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            listed.len(),
            "a command is listed twice: {listed:?}"
        );
        commands.sort();
        assert_eq!(sorted, commands);
    }
}
