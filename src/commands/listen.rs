//! `listen`: serve the delivery endpoint of Workfront's event subscriptions until SIGTERM or
//! Ctrl-C, then commit what was acknowledged and say what it did.

use std::io::Write;
use std::net::SocketAddr;

use crate::cli::ListenArgs;
use crate::console;
use crate::error::{Error, Result};
use crate::listen::commit::Target;
use crate::listen::server::{Config, Limits, serve};
use crate::listen::tls::{Tls, acceptor};
use crate::secret::Secret;

pub fn run(args: ListenArgs) -> Result<()> {
    let bind: SocketAddr = args.bind.parse().map_err(|_| {
        Error::usage(format!(
            "--bind {:?} is not an address: give IP:PORT, e.g. 127.0.0.1:8443",
            args.bind
        ))
    })?;
    // Deliveries carry their token and the changes of the tenant: never in the clear beyond
    // this machine.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(acceptor(cert, key, args.client_ca.as_deref())?),
        _ => None,
    };
    if tls.is_none() && !bind.ip().is_loopback() {
        return Err(Error::usage(format!(
            "--bind {bind}: plain HTTP is served on loopback only; give --tls-cert and \
             --tls-key, or bind 127.0.0.1 behind a reverse proxy that terminates TLS"
        )));
    }
    let token = token(&args.auth_token_env)?;
    let rotate = crate::config::parse_duration("rotate", &args.rotate)?;
    // One writer of the out-dir at a time, as for sync (the kernel releases the lock however
    // the process ends); another kind's out-dir is refused before the journal is created.
    let signer = crate::settings::signing_key(&args.evidence, None)?;
    let target = Target::open(
        args.out_dir.clone(),
        args.format,
        !args.no_formula_guard,
        signer,
    )?
    .with_tsa_urls(super::stamp::urls(&args.tsa.tsa_urls, None)?);
    // Before anything is bound or acknowledged: the out-dir, its journal included, verifies.
    target.check()?;
    let config = Config {
        target,
        token,
        rotate,
        limits: limits(&args)?,
    };
    let started = std::time::Instant::now();
    let summary = super::runtime()?.block_on(async move {
        // Caught from before the address is printed, so a SIGTERM at any moment is a stop.
        let stop = stopped()?;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|e| Error::io(format!("cannot listen on {bind}"), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the bound address", e))?;
        // Bound: from here deliveries may be acknowledged, so the out-dir stays (a run refused
        // before, its port taken say, leaves it as it found it).
        config.target.keep();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on {scheme}://{addr}")
            .and_then(|()| stdout.flush())
            .map_err(|e| Error::io("cannot write to standard output", e))?;
        let tls = tls.map(|acceptor| Tls {
            acceptor,
            subject: args.client_ca.as_ref().map(|_| args.client_subject.clone()),
        });
        serve(config, listener, tls, stop).await
    })?;
    say(&summary, started.elapsed());
    if summary.files > 0
        && let Some(head) = crate::evidence::manifest::load_chain(&args.out_dir)?.pop()
    {
        console::note(format!(
            "head: {}",
            crate::evidence::manifest::Head {
                manifest: head.name,
                sha256: head.sha256,
            }
        ));
    }
    Ok(())
}

/// The admission deadlines and bounds, from their flags.
fn limits(args: &ListenArgs) -> Result<Limits> {
    let duration = crate::config::parse_duration;
    if args.max_connections == 0 || args.min_body_rate == 0 {
        return Err(Error::usage(
            "--max-connections and --min-body-rate must be at least 1",
        ));
    }
    Ok(Limits {
        max_connections: connections_allowed(args.max_connections),
        handshake: duration("handshake-timeout", &args.handshake_timeout)?,
        headers: duration("header-timeout", &args.header_timeout)?,
        idle: duration("idle-timeout", &args.idle_timeout)?,
        min_body_rate: args.min_body_rate,
        grace: duration("grace", &args.grace)?,
        quarantine_cap: args.quarantine_cap,
    })
}

/// The connections this process can hold: its open-file limit raised as far as allowed, and
/// `--max-connections` fitted under it (64 descriptors kept for files and the listener). Past
/// the limit `accept` fails before any slot is full, and no waiting stranger would give way.
fn connections_allowed(asked: usize) -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(max) = limit.maximum {
        limit.current = Some(max);
        let _ = setrlimit(Resource::Nofile, limit);
    }
    let Some(current) = getrlimit(Resource::Nofile).current else {
        return asked;
    };
    let fits = (current as usize).saturating_sub(64).max(1);
    if asked > fits {
        console::warn(format!(
            "--max-connections {asked} is more than this process may open (its open-file limit \
             is {current}): serving at most {fits} at once; raise the limit (ulimit -n, \
             LimitNOFILE=) to serve more"
        ));
        return fits;
    }
    asked
}

/// The subscription's token, from the variable `--auth-token-env` names.
fn token(var: &str) -> Result<Secret> {
    std::env::var(var)
        .ok()
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .ok_or_else(|| {
            Error::usage(format!(
                "{var} is not set: set it to the authToken of your event subscription (or name \
                 another variable with --auth-token-env)"
            ))
        })
}

/// The summary line of a run.
fn say(summary: &crate::listen::server::Summary, took: std::time::Duration) {
    console::note(format!(
        "listened for {:.0} s: {} acknowledged, {} quarantined, {} refused for their token; \
         {} committed with {}",
        took.as_secs_f64(),
        console::plural(summary.acknowledged, "delivery", "deliveries"),
        summary.quarantined,
        summary.refused,
        console::plural(summary.files, "file", "files"),
        console::plural(summary.records, "change record", "change records"),
    ));
}

/// A future that resolves on SIGINT or SIGTERM, caught from now on.
fn stopped() -> Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let caught = |e| Error::io("cannot catch SIGTERM and SIGINT", e);
    let mut term = signal(SignalKind::terminate()).map_err(caught)?;
    let mut int = signal(SignalKind::interrupt()).map_err(caught)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
