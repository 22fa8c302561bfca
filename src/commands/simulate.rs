//! `simulate`: serve the Workfront simulator until killed.

use std::io::Write;
use std::time::Duration;

use crate::cli::SimulateArgs;
use crate::error::{Error, Result};
use crate::input::parse_raw_records;
use crate::output::Destination;
use crate::secret::Secret;
use crate::simulator::faults::{FaultConfig, FaultKind};
use crate::simulator::{Growth, OAuthApp, SimConfig, Simulator, demo_records, generate};

pub fn run(args: SimulateArgs) -> Result<()> {
    let zone: chrono_tz::Tz = args.time_zone.parse().map_err(|_| {
        Error::usage(format!(
            "unknown --time-zone {:?}: use an IANA name such as America/Denver",
            args.time_zone
        ))
    })?;
    if args.dump {
        return dump(
            args.rows.unwrap_or_default(),
            args.seed,
            shape(&args.shape)?,
        );
    }
    let records = match (&args.data, args.rows) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::usage(format!("cannot read --data {}: {e}", path.display())))?;
            parse_raw_records(&text, &path.display().to_string())?
        }
        (None, Some(rows)) => {
            let mut all = Vec::with_capacity(rows);
            generate::generate_each(rows, args.seed, shape(&args.shape)?, |r| all.push(r));
            all
        }
        (None, None) => demo_records()?,
    };
    let oauth = oauth_app(&args)?;
    let config = SimConfig {
        api_key: args.api_key.map(Secret::new),
        forbidden_key: args.forbidden_key.map(Secret::new),
        latency: Duration::from_millis(args.latency_ms),
        latency_jitter: Duration::from_millis(args.latency_jitter_ms),
        row_cost: Duration::from_micros(args.row_cost_us),
        log_requests: args.verbose,
        event_backoff: Duration::from_millis(args.event_backoff_ms),
        event_faults: crate::simulator::deliver::EventFaults::named(&args.event_faults)
            .ok_or_else(|| Error::usage("unknown --event-faults"))?,
        zone,
        seed: args.seed,
        count_offset: 0,
        reports: !args.no_reports,
        session_id: args.session_id.map(Secret::new),
        bearer_token: args.bearer_token.map(Secret::new),
        oauth,
        session_ttl: args
            .session_ttl
            .as_deref()
            .map(|t| crate::config::parse_duration("--session-ttl", t))
            .transpose()?,
        faults: FaultConfig {
            rate: args.fault_rate,
            kinds: fault_kinds(&args.faults)?,
            max_concurrent: args.max_concurrent,
            stall: Duration::from_millis(args.stall_ms),
        },
        growth: args.grow_rate.map(|rate| Growth {
            rate_per_sec: rate,
            max_delay: Duration::from_millis(args.grow_delay_ms),
        }),
        extra_tasks: args.tasks,
        tsa: args.tsa,
    };
    let tsa_ca = args
        .tsa
        .then(|| tsa_ca_out(args.tsa_ca_out.clone()))
        .transpose()?;
    serve(config, &records, args.port, tsa_ca)
}

/// Serve until Ctrl-C, saying where (and, with `--tsa`, where the TSA's CA certificate is).
fn serve(
    config: SimConfig,
    records: &[crate::input::RawRecord],
    port: u16,
    tsa_ca: Option<std::path::PathBuf>,
) -> Result<()> {
    let entries = records.len();
    super::runtime()?.block_on(async move {
        let addr = Simulator::new(config, records)
            .start(port)
            .await
            .map_err(|e| Error::io(format!("cannot listen on 127.0.0.1:{}", port), e))?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on http://{addr}")
            .and_then(|()| stdout.flush())
            .map_err(|e| Error::io("cannot write to standard output", e))?;
        eprintln!("jrnle-audit: simulator serving {entries} journal entries; stop with Ctrl-C");
        if let Some(ca) = &tsa_ca {
            eprintln!(
                "jrnle-audit: time-stamping authority at http://{addr}/tsa (test-only key); its \
                 CA certificate for verify --tsa-ca: {}",
                ca.display()
            );
        }
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| Error::io("cannot wait for Ctrl-C", e))
    })
}

/// Write the simulator TSA's CA certificate where `--tsa-ca-out` says (default: the system's
/// temporary directory), for `verify --tsa-ca`.
fn tsa_ca_out(path: Option<std::path::PathBuf>) -> Result<std::path::PathBuf> {
    let path = path.unwrap_or_else(|| std::env::temp_dir().join("jrnle-sim-tsa-ca.pem"));
    std::fs::write(&path, crate::simulator::tsa::CA_PEM)
        .map_err(|e| Error::io(format!("cannot write --tsa-ca-out {}", path.display()), e))?;
    Ok(path)
}

/// The faults named by `--faults` (clap has checked the names).
fn fault_kinds(names: &[String]) -> Result<Vec<FaultKind>> {
    names
        .iter()
        .map(|n| FaultKind::named(n).ok_or_else(|| Error::usage(format!("unknown --faults {n:?}"))))
        .collect()
}

/// The shape `--shape` names (clap has checked the name).
fn shape(name: &str) -> Result<generate::Shape> {
    generate::Shape::named(name).ok_or_else(|| Error::usage(format!("unknown --shape {name:?}")))
}

/// Generated records as JSON Lines on stdout, one at a time.
fn dump(rows: usize, seed: u64, shape: generate::Shape) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut failed = None;
    generate::generate_each(rows, seed, shape, |record| {
        if failed.is_none()
            && let Err(e) = serde_json::to_writer(&mut out, &record)
                .and_then(|()| out.write_all(b"\n").map_err(serde_json::Error::io))
        {
            failed = Some(e);
        }
    });
    match failed {
        Some(e) => Err(Destination::Stdout.error(e.into())),
        None => out
            .flush()
            .map_err(|source| Destination::Stdout.error(source)),
    }
}

/// The OAuth2 application `--oauth-client-id` registers.
fn oauth_app(args: &SimulateArgs) -> Result<Option<OAuthApp>> {
    let (Some(id), Some(secret)) = (&args.oauth_client_id, &args.oauth_client_secret) else {
        return Ok(None);
    };
    let public_key_pem = args
        .jwt_public_key
        .as_deref()
        .map(|p| {
            std::fs::read_to_string(p).map_err(|e| {
                Error::usage(format!("cannot read --jwt-public-key {}: {e}", p.display()))
            })
        })
        .transpose()?;
    Ok(Some(OAuthApp {
        client_id: id.clone(),
        client_secret: Secret::new(secret.clone()),
        public_key_pem,
        customer_id: args.customer_id.clone(),
        user_id: args.user_id.clone(),
        rotate_refresh_tokens: args.rotate_refresh_tokens,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_flag_names_one_fault_and_every_fault_has_a_flag() {
        let names: Vec<String> = crate::cli::FAULTS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        let kinds = fault_kinds(&names).unwrap();
        assert_eq!(kinds, FaultKind::ALL);
    }
}
