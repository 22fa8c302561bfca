//! One module per subcommand; `run` dispatches.

mod answers;
mod asof;
mod beside;
mod count;
mod durations;
mod export;
mod fields;
mod inputs;
mod intervals;
mod listen;
mod load;
mod login;
mod normalize;
mod report;
mod simulate;
mod snapshot;
mod stamp;
mod subscriptions;
mod sync;
mod unmatched;
mod verify;

use crate::cli::{Cli, Command};
use crate::console;
use crate::error::{Error, Result};
use crate::model::anomaly::Anomalies;
use crate::output::Destination;

pub fn run(cli: Cli) -> Result<()> {
    console::set_level(cli.quiet, cli.verbose + cli.command.verbose());
    match cli.command {
        Command::Export(args) => {
            crate::interrupt::watch();
            export::run(args)
        }
        Command::Count(args) => count::run(args),
        Command::Normalize(args) => {
            crate::interrupt::watch();
            normalize::run(args)
        }
        Command::Simulate(args) => simulate::run(args),
        Command::Sync(args) => {
            crate::interrupt::watch();
            sync::run(args)
        }
        Command::Snapshot(args) => {
            crate::interrupt::watch();
            snapshot::run(args)
        }
        Command::Verify(args) => verify::run(args),
        Command::Load(args) => {
            // The manifest being loaded is abandoned with the connection (its transaction is
            // rolled back); those before it stay loaded.
            crate::interrupt::watch_saying(
                "the manifest being loaded was not loaded (those before it were); run load \
                 again to go on",
            );
            load::run(args)
        }
        Command::Listen(args) => listen::run(args),
        Command::Subscriptions { command } => subscriptions::run(command),
        Command::Completions { shell } => {
            let out = completion_script(shell);
            Destination::Stdout.write_with(|w| w.write_all(&out))
        }
        Command::Fields(args) => fields::run(args),
        Command::Login(args) => login::login(args),
        Command::Logout(args) => login::logout(args),
        Command::Auth {
            command: crate::cli::AuthCommand::Status(args),
        } => login::status(args),
        Command::Report(args) => {
            crate::interrupt::watch();
            report::run(args)
        }
        Command::Intervals(args) => {
            crate::interrupt::watch();
            intervals::run(args)
        }
        Command::Asof(args) => {
            crate::interrupt::watch();
            asof::run(args)
        }
        Command::Durations(args) => {
            crate::interrupt::watch();
            durations::run(args)
        }
        Command::Man => {
            let out = man_page().map_err(|e| Error::Internal(e.to_string()))?;
            Destination::Stdout.write_with(|w| w.write_all(&out))
        }
    }
}

/// One man page with every subcommand's synopsis and options: clap_mangen's page points to a
/// page per subcommand (`jrnle-audit-export(1)`) that nothing installs, so each subcommand gets
/// a section of this page instead, and the list points there.
fn man_page() -> std::io::Result<Vec<u8>> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    let mut page =
        String::from_utf8_lossy(&out).replace("jrnle\\-audit\\-help(1)", "jrnle\\-audit help");
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = sub.get_name();
        page = page.replace(
            &format!("jrnle\\-audit\\-{}(1)", name.replace('-', "\\-")),
            &format!("jrnle\\-audit {} (see {} below)", name, name.to_uppercase()),
        );
        let mut section = Vec::new();
        let man = clap_mangen::Man::new(sub.clone());
        man.render_synopsis_section(&mut section)?;
        man.render_description_section(&mut section)?;
        man.render_options_section(&mut section)?;
        // The subcommand's sections (synopsis, description, option headings) become
        // subsections of its own.
        let section: String = String::from_utf8_lossy(&section)
            .lines()
            .map(|l| match l.strip_prefix(".SH ") {
                Some(title) => format!(".SS {}\n", title_case(title)),
                None => format!("{l}\n"),
            })
            .collect();
        page.push_str(&format!(".SH {}\n{section}", name.to_uppercase()));
    }
    Ok(page.into_bytes())
}

/// `OPTIONS` → `Options`.
fn title_case(title: &str) -> String {
    let lower = title.trim_matches('"').to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// The completion script for `shell`. clap_complete's bash script names the subcommands'
/// states inconsistently when the binary's name holds a hyphen (`jrnle__audit__subcmd__export`
/// is set, `jrnle__subcmd__audit__subcmd__export` is matched), so nothing after the subcommand
/// completes; the names are made to agree.
fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "jrnle-audit", &mut out);
    if shell == clap_complete::Shell::Bash {
        let text = String::from_utf8_lossy(&out).replace("jrnle__subcmd__audit", "jrnle__audit");
        return text.into_bytes();
    }
    out
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))
}

/// What a run did, for its closing line.
struct Summary<'a> {
    written: u64,
    destination: &'a Destination,
    anomalies: &'a Anomalies,
    /// Requests made and retries among them, for runs that talk to Workfront.
    requests: Option<(u64, u64)>,
    elapsed: std::time::Duration,
    format: crate::cli::SummaryFormat,
    command: &'static str,
}

/// The data warnings as JSON: the total and each kind met.
fn warnings_json(anomalies: &Anomalies) -> serde_json::Value {
    let mut by_kind = serde_json::Map::new();
    for (kind, n) in anomalies.by_kind() {
        by_kind.insert(kind.into(), n.into());
    }
    serde_json::json!({"total": anomalies.total(), "by_kind": by_kind})
}

/// Warn once per kind of bad data, with its count, then one summary line: entries written,
/// where, how long, requests and retries, warnings. Or all of it as one JSON object.
fn summarize(s: &Summary<'_>) {
    console::clear_progress();
    if s.format == crate::cli::SummaryFormat::Json {
        let mut v = serde_json::json!({
            "command": s.command,
            "entries": s.written,
            "destination": s.destination.name().display().to_string(),
            "elapsed_s": (s.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "data_warnings": warnings_json(s.anomalies),
        });
        if let Some((requests, retries)) = s.requests {
            v["requests"] = requests.into();
            v["retries"] = retries.into();
        }
        console::summary_json(&v);
        return;
    }
    for line in s.anomalies.lines() {
        console::warn(line);
    }
    let place = s.destination.name().display().to_string();
    let plural = console::plural;
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
