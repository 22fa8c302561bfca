//! RFC 3161 timestamps of manifests: `sync --tsa-url` against the simulator's TSA, the
//! catch-up after a TSA that failed, `verify --tsa-ca` catching swapped, foreign and
//! misdated tokens, and `openssl ts` agreeing both ways.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use jrnle_audit::simulator::generate::generate;
use jrnle_audit::simulator::tsa::{CA_PEM, TsaMode};
use jrnle_audit::simulator::{SimConfig, SimHandle};

use crate::util::*;

fn tsa_sim() -> SimHandle {
    sim_with(
        &generate(300, 5),
        SimConfig {
            tsa: true,
            ..sim_config()
        },
    )
}

/// `sync` with the simulator's TSA (and `extra` TSA URLs before it).
fn sync(sim: &SimHandle, dir: &Path, first_tsas: &[&str]) -> Command {
    let mut cmd = against(sim, "sync");
    cmd.arg("--out-dir").arg(dir).args([
        "--since",
        "2025-10-01",
        "--format",
        "ndjson",
        "--lag",
        "0s",
    ]);
    for url in first_tsas {
        cmd.args(["--tsa-url", url]);
    }
    cmd.arg("--tsa-url").arg(format!("{}/tsa", sim.url));
    cmd
}

fn ca_file(dir: &Path) -> PathBuf {
    let path = dir.join("tsa-ca.pem");
    fs::write(&path, CA_PEM).unwrap();
    path
}

fn manifest_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".manifest.json"))
        .collect();
    names.sort();
    names
}

/// `verify DIR --tsa-ca CA --require-timestamps EXTRA`.
fn verify(dir: &Path, ca: &Path, extra: &[&str]) -> std::process::Output {
    run(bin()
        .arg("verify")
        .arg(dir)
        .arg("--tsa-ca")
        .arg(ca)
        .arg("--require-timestamps")
        .args(extra))
}

fn assert_fails(o: &std::process::Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
}

/// Two stamped runs: the out-dir, the CA file's temp dir, the manifests and the simulator.
fn stamped_series() -> (tempfile::TempDir, tempfile::TempDir, Vec<String>, SimHandle) {
    let sim = tsa_sim();
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        ok(&mut sync(&sim, dir.path(), &[]));
    }
    let names = manifest_names(dir.path());
    assert_eq!(names.len(), 2);
    (dir, keys, names, sim)
}

#[test]
fn a_stamped_series_verifies_and_openssl_agrees() {
    let (dir, keys, names, _sim) = stamped_series();
    let ca = ca_file(keys.path());
    for name in &names {
        assert!(dir.path().join(format!("{name}.tsr")).is_file(), "{name}");
        assert!(dir.path().join(format!("{name}.tsq")).is_file(), "{name}");
    }
    let o = verify(dir.path(), &ca, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("timestamps: 2 of 2 manifests: 2 by CN=jrnle-audit simulator TSA"),
        "{out}"
    );
    assert!(out.contains("checked against --tsa-ca"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(bin().arg("verify").arg(dir.path()).arg("--json"))).unwrap();
    assert_eq!(json["timestamps"]["timestamped"], 2);
    assert_eq!(json["timestamps"]["signatures_checked"], false);
    let Some(openssl) = tool(&["openssl"], &["version"]) else {
        return;
    };
    for name in &names {
        let m = dir.path().join(name);
        for (flag, with) in [
            ("-data", m.clone()),
            ("-queryfile", m.with_file_name(format!("{name}.tsq"))),
        ] {
            let o = run(Command::new(openssl)
                .args(["ts", "-verify", flag])
                .arg(&with)
                .arg("-in")
                .arg(dir.path().join(format!("{name}.tsr")))
                .arg("-CAfile")
                .arg(&ca));
            assert!(
                o.status.success() && stdout(&o).contains("Verification: OK"),
                "openssl ts -verify {flag}: {}{}",
                stdout(&o),
                stderr(&o)
            );
        }
    }
}

#[test]
fn a_tsa_down_then_back_leaves_every_manifest_timestamped() {
    let sim = tsa_sim();
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let ca = ca_file(keys.path());
    sim.simulator.tsa_mode(TsaMode::Down);
    let o = run(&mut sync(&sim, dir.path(), &[]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first = manifest_names(dir.path()).remove(0);
    assert!(
        stderr(&o).contains(&format!("no timestamp for {first}: ")) && stderr(&o).contains("503"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join(format!("{first}.tsr")).exists());
    assert_fails(&verify(dir.path(), &ca, &[]), "has no timestamp");
    // Not required: listed, not a failure.
    let o = run(bin().arg("verify").arg(dir.path()).arg("--tsa-ca").arg(&ca));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("1 manifest untimestamped"),
        "{}",
        stdout(&o)
    );
    sim.simulator.tsa_mode(TsaMode::Granted);
    let o = run(&mut sync(&sim, dir.path(), &[]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Said after the commit: the catch-up, and how many it stamped.
    let said = stderr(&o);
    let (committed, stamped) = (
        said.find("committed ").unwrap(),
        said.find("timestamped 2 manifests (the newest, and 1 that earlier runs could not)"),
    );
    assert!(stamped.is_some_and(|at| at > committed), "{said}");
    let names = manifest_names(dir.path());
    assert_eq!(names.len(), 2);
    for name in &names {
        assert!(dir.path().join(format!("{name}.tsr")).is_file(), "{name}");
    }
    let o = verify(dir.path(), &ca, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_tsa_that_refuses_or_cannot_be_reached_falls_back_to_the_next() {
    let refusing = tsa_sim();
    refusing.simulator.tsa_mode(TsaMode::Rejection);
    let sim = tsa_sim();
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/tsa", l.local_addr().unwrap())
    };
    let first = format!("{}/tsa", refusing.url);
    let o = run(&mut sync(&sim, dir.path(), &[&closed, &first]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("no timestamp"), "{}", stderr(&o));
    let name = manifest_names(dir.path()).remove(0);
    assert!(dir.path().join(format!("{name}.tsr")).is_file());
    // The one TSA refusing: its status and failure are said.
    let alone = tempfile::tempdir().unwrap();
    let o = run(against(&sim, "sync")
        .arg("--out-dir")
        .arg(alone.path())
        .args(["--since", "2025-10-01", "--lag", "0s", "--tsa-url", &first]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Rejection") && stderr(&o).contains("SystemFailure"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_token_for_another_hash_or_too_late_an_answer_is_not_saved() {
    let sim = tsa_sim();
    let dir = tempfile::tempdir().unwrap();
    sim.simulator.tsa_mode(TsaMode::WrongImprint);
    let o = run(&mut sync(&sim, dir.path(), &[]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("for another hash"), "{}", stderr(&o));
    sim.simulator.tsa_mode(TsaMode::Slow);
    sim.simulator
        .tsa_slow_for(std::time::Duration::from_secs(2));
    let o = run(sync(&sim, dir.path(), &[]).env("JRNLE_TSA_TIMEOUT_MS", "300"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no answer within 0.3 s"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("no timestamp for 2 manifests"),
        "the catch-up names both: {}",
        stderr(&o)
    );
    assert!(
        !fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tsr"))
    );
}

#[test]
fn a_tsr_swapped_between_manifests_or_copied_fails_verify() {
    let (dir, keys, names, _sim) = stamped_series();
    let ca = ca_file(keys.path());
    let tsr = |i: usize| dir.path().join(format!("{}.tsr", names[i]));
    let (a, b) = (fs::read(tsr(0)).unwrap(), fs::read(tsr(1)).unwrap());
    fs::write(tsr(0), &b).unwrap();
    fs::write(tsr(1), &a).unwrap();
    assert_fails(
        &verify(dir.path(), &ca, &[]),
        "the token is for another hash",
    );
    // Without --tsa-ca too: the hash is checked, the signature is not.
    let o = run(bin().arg("verify").arg(dir.path()));
    assert_fails(&o, "another hash");
    // One manifest's token copied with its request over the other's.
    fs::write(tsr(0), &a).unwrap();
    fs::write(tsr(1), &a).unwrap();
    assert_fails(&verify(dir.path(), &ca, &[]), "another hash");
    // A token of the right manifest but from another request (its nonce).
    fs::write(tsr(1), &b).unwrap();
    let tsq = |i: usize| dir.path().join(format!("{}.tsq", names[i]));
    let other_query = jrnle_audit::evidence::timestamp::request(&[0; 32], 1);
    fs::write(tsq(1), other_query).unwrap();
    assert_fails(&verify(dir.path(), &ca, &[]), "asked for another hash");
}

#[test]
fn a_token_older_than_its_manifest_or_long_after_it_fails_verify() {
    let sim = tsa_sim();
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let ca = ca_file(keys.path());
    // A TSA whose clock is an hour behind: its token is refused, not saved (every later run
    // would refuse to build on it), and the run says so.
    sim.simulator.tsa_clock_offset(chrono::Duration::hours(-1));
    let o = run(&mut sync(&sim, dir.path(), &[]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("before the manifest was written (the TSA's clock is behind)"),
        "{}",
        stderr(&o)
    );
    let name = manifest_names(dir.path()).pop().unwrap();
    assert!(!dir.path().join(format!("{name}.tsr")).exists());
    // Such a token put there by hand fails verify.
    use sha2::Digest;
    let digest: [u8; 32] = sha2::Sha256::digest(fs::read(dir.path().join(&name)).unwrap()).into();
    let query = jrnle_audit::evidence::timestamp::request(&digest, 7);
    let answer =
        jrnle_audit::simulator::tsa::respond(&query, TsaMode::Granted, chrono::Duration::hours(-1));
    fs::write(dir.path().join(format!("{name}.tsq")), &query).unwrap();
    fs::write(dir.path().join(format!("{name}.tsr")), &answer).unwrap();
    assert_fails(&verify(dir.path(), &ca, &[]), "before");
    let late = tempfile::tempdir().unwrap();
    sim.simulator.tsa_clock_offset(chrono::Duration::hours(25));
    ok(&mut sync(&sim, late.path(), &[]));
    assert_fails(&verify(late.path(), &ca, &[]), "more than 24h after");
    let o = verify(late.path(), &ca, &["--max-timestamp-delay", "2d"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_token_signed_by_another_ca_fails_verify() {
    let (dir, _keys, _names, _sim) = stamped_series();
    let o = verify(dir.path(), &fixture("tsa-other-ca.pem"), &[]);
    assert_fails(&o, "not trusted for time stamping");
}

/// A CA and an ECDSA P-256 TSA certificate (extendedKeyUsage critical timeStamping) made by
/// openssl, and the `openssl ts -reply` configuration that signs with them.
fn openssl_tsa(dir: &Path, openssl: &str) {
    let run_openssl = |args: &str| {
        let o = Command::new(openssl)
            .args(args.split_whitespace())
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "openssl {args}: {}", stderr(&o));
    };
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    run_openssl(&format!(
        "req -x509 {ec} -keyout ca.key -out ca.pem -days 2 -subj /CN=test-only-tsa-ca \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
    ));
    run_openssl(&format!(
        "req {ec} -keyout tsa.key -out tsa.csr -subj /CN=test-only-openssl-tsa"
    ));
    fs::write(
        dir.join("tsa.ext"),
        "extendedKeyUsage=critical,timeStamping\n",
    )
    .unwrap();
    run_openssl(
        "x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
         -extfile tsa.ext -out tsa.pem",
    );
    fs::write(
        dir.join("ts.cnf"),
        "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = ./tsaserial\n\
         signer_cert = ./tsa.pem\nsigner_key = ./tsa.key\nsigner_digest = sha256\n\
         default_policy = 1.3.6.1.4.1.32473.1.2\ndigests = sha256\naccuracy = secs:1\n\
         ordering = no\ntsa_name = yes\ness_cert_id_alg = sha256\n",
    )
    .unwrap();
    fs::write(dir.join("tsaserial"), "01\n").unwrap();
}

#[test]
fn a_token_made_by_openssl_ts_reply_verifies() {
    let Some(openssl) = tool(&["openssl"], &["version"]) else {
        return;
    };
    let sim = tsa_sim();
    let dir = tempfile::tempdir().unwrap();
    let tsa = tempfile::tempdir().unwrap();
    openssl_tsa(tsa.path(), openssl);
    ok(against(&sim, "sync")
        .arg("--out-dir")
        .arg(dir.path())
        .args(["--since", "2025-10-01", "--lag", "0s"]));
    let name = manifest_names(dir.path()).remove(0);
    let m = dir.path().join(&name);
    let tsq = dir.path().join(format!("{name}.tsq"));
    let tsr = dir.path().join(format!("{name}.tsr"));
    let o = run(Command::new(openssl)
        .args(["ts", "-query", "-sha256", "-cert", "-data"])
        .arg(&m)
        .arg("-out")
        .arg(&tsq));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(Command::new(openssl)
        .args(["ts", "-reply", "-config", "ts.cnf", "-queryfile"])
        .arg(&tsq)
        .arg("-out")
        .arg(&tsr)
        .current_dir(tsa.path()));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = verify(dir.path(), &tsa.path().join("ca.pem"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("1 by CN=test-only-openssl-tsa"),
        "{}",
        stdout(&o)
    );
    // The simulator's CA did not issue that TSA's certificate.
    let keys = tempfile::tempdir().unwrap();
    assert_fails(
        &verify(dir.path(), &ca_file(keys.path()), &[]),
        "not trusted",
    );
}

fn assert_all_stamped_and_verified(dir: &Path, manifests: usize) {
    let names = manifest_names(dir);
    assert_eq!(names.len(), manifests);
    for name in &names {
        assert!(dir.join(format!("{name}.tsr")).is_file(), "{name}");
    }
    let keys = tempfile::tempdir().unwrap();
    let o = verify(dir, &ca_file(keys.path()), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("timestamps: {manifests} of {manifests} manifests")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn snapshot_and_listen_stamp_their_manifests_and_a_profile_names_the_tsas() {
    let sim = tsa_sim();
    let tsa = format!("{}/tsa", sim.url);
    let snap = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        ok(against(&sim, "snapshot")
            .arg("--out-dir")
            .arg(snap.path())
            .args(["--obj-code", "TASK", "--fields", "status", "--lag", "0s"])
            .args(["--tsa-url", &tsa]));
    }
    assert_all_stamped_and_verified(snap.path(), 2);

    let events = tempfile::tempdir().unwrap();
    let listen = crate::listen::Listen::start(events.path(), &["--tsa-url", &tsa]);
    for n in 0..3 {
        assert_eq!(
            listen.post(&crate::listen::delivery(n), Some(crate::listen::TOKEN)),
            200
        );
    }
    listen.stop();
    assert_all_stamped_and_verified(events.path(), 1);

    let profiled = tempfile::tempdir().unwrap();
    let config = profiled.path().join("config.toml");
    fs::write(
        &config,
        format!(
            "[profiles.p]\nurl = \"{}\"\napi_key_env = \"K\"\ntsa_urls = [\"{tsa}\"]\n",
            sim.url
        ),
    )
    .unwrap();
    let out = profiled.path().join("out");
    ok(bin()
        .args(["sync", "--profile", "p", "--config"])
        .arg(&config)
        .arg("--out-dir")
        .arg(&out)
        .args(["--since", "2025-10-01", "--lag", "0s"])
        .env("K", KEY));
    assert_all_stamped_and_verified(&out, 1);
}

/// A TSA URL may carry a basic-authentication password: messages show the URL without it.
#[test]
fn a_tsa_urls_password_is_never_shown() {
    let sim = tsa_sim();
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let with_password = format!("http://audit:hunter2-tsa@{closed}/tsa");
    let o = run(against(&sim, "sync")
        .arg("--out-dir")
        .arg(dir.path())
        .args(["--since", "2025-10-01", "--lag", "0s", "-vv"])
        .args(["--tsa-url", &with_password]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(said.contains(&format!("http://{closed}/tsa")), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
    let o = run(against(&sim, "sync")
        .arg("--out-dir")
        .arg(dir.path())
        .args(["--tsa-url", "ftp://audit:hunter2-tsa@example.com/tsa"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("hunter2"), "{}", stderr(&o));
}

/// `listen` stamps on a task of its own: a TSA that holds its answer for minutes holds up
/// neither the next rotation's commit nor the shutdown past its grace.
#[test]
fn a_slow_tsa_holds_up_neither_listens_commits_nor_its_shutdown() {
    use crate::listen::{Listen, TOKEN, delivery};
    let sim = tsa_sim();
    sim.simulator.tsa_mode(TsaMode::Slow);
    sim.simulator
        .tsa_slow_for(std::time::Duration::from_secs(600));
    let dir = tempfile::tempdir().unwrap();
    let tsa = format!("{}/tsa", sim.url);
    // The client's timeout longer than the test: only a task of its own keeps it out.
    let listen = Listen::start_with_env(
        dir.path(),
        &["--rotate", "200ms", "--grace", "1s", "--tsa-url", &tsa],
        &[("JRNLE_TSA_TIMEOUT_MS", "600000")],
    );
    for k in 0..2 {
        let before = manifest_names(dir.path()).len();
        assert_eq!(listen.post(&delivery(k), Some(TOKEN)), 200);
        wait_until("the next rotation commits", || {
            manifest_names(dir.path()).len() > before
        });
    }
    let (code, said) = listen.terminate();
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("the last commit's timestamp did not come within the grace"),
        "{said}"
    );
}
