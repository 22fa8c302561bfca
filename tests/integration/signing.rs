//! Signed manifests (issue 27): every manifest `sync`, `snapshot` and `listen` commit is
//! signed as `ssh-keygen -Y sign` would sign it, `verify` and `ssh-keygen -Y verify` agree on
//! every one, and what a consistent rewrite of the out-dir does is caught: by the signatures,
//! by the allowed signers, by a head recorded elsewhere.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use jrnle_audit::evidence::signing::SigningKey;
use jrnle_audit::simulator::SimHandle;
use jrnle_audit::simulator::generate::generate;
use serde_json::Value;

use crate::listen::{Listen, TOKEN, delivery};
use crate::util::*;

fn sync(sim: &SimHandle, dir: &Path, key: Option<&Path>) -> Command {
    let mut cmd = against(sim, "sync");
    cmd.arg("--out-dir").arg(dir).args([
        "--since",
        "2025-10-01",
        "--format",
        "ndjson",
        "--lag",
        "0s",
    ]);
    if let Some(key) = key {
        cmd.arg("--signing-key").arg(key);
    }
    cmd
}

/// `runs` signed sync runs into `dir`, a few milliseconds apart, each after 3 new entries.
fn signed_series(sim: &SimHandle, dir: &Path, key: &Path, runs: usize) {
    for _ in 0..runs {
        sim.simulator.journal_now(3);
        ok(&mut sync(sim, dir, Some(key)));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn manifest_names(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".manifest.json"))
        .collect()
}

/// The public half of the private key at `key`, as an allowed-signers line holds it.
fn public(key: &Path) -> String {
    let key = ssh_key::PrivateKey::read_openssh_file(key).unwrap();
    key.public_key().to_openssh().unwrap()
}

fn fingerprint(key: &Path) -> String {
    let key = ssh_key::PrivateKey::read_openssh_file(key).unwrap();
    let shown = key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
    shown.strip_prefix("SHA256:").unwrap().to_string()
}

/// An allowed-signers file in `dir` of (principal, options, private key path) lines.
fn allowed_signers(dir: &Path, lines: &[(&str, &str, &Path)]) -> PathBuf {
    let text: String = lines
        .iter()
        .map(|(who, options, key)| format!("{who} {options} {}\n", public(key)))
        .collect();
    let path = dir.join("allowed_signers");
    fs::write(&path, text).unwrap();
    path
}

fn verify(dir: &Path, extra: &[&str]) -> std::process::Output {
    run(bin().arg("verify").arg(dir).args(extra))
}

/// `written_at` of a manifest as ssh-keygen's `-Overify-time=` takes it (to the second).
fn verify_time(manifest: &Path) -> String {
    let m: Value = serde_json::from_slice(&fs::read(manifest).unwrap()).unwrap();
    let w = m["written_at"].as_str().unwrap();
    let digits: String = w[..19].chars().filter(char::is_ascii_digit).collect();
    format!("{digits}Z")
}

/// Every manifest of `dir` verifies with `ssh-keygen -Y verify` as `principal_of` its name
/// says, judged at its written_at; `false` when ssh-keygen is not installed (outside CI).
fn ssh_keygen_verifies(dir: &Path, allowed: &Path, principal_of: &dyn Fn(&str) -> String) -> bool {
    // ssh-keygen has no option that just succeeds; openssh-client's ssh -V says it is there.
    if tool(&["ssh"], &["-V"]).is_none() {
        return false;
    }
    let ssh_keygen = "ssh-keygen";
    for name in manifest_names(dir) {
        let manifest = dir.join(&name);
        let o = Command::new(ssh_keygen)
            .args(["-Y", "verify", "-f"])
            .arg(allowed)
            .args(["-I", &principal_of(&name), "-n", "jrnle-audit", "-s"])
            .arg(dir.join(format!("{name}.sig")))
            .arg(format!("-Overify-time={}", verify_time(&manifest)))
            .stdin(fs::File::open(&manifest).unwrap())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "ssh-keygen -Y verify {name}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    true
}

/// Every manifest of `dir` has a token that `openssl ts -verify` accepts, over its bytes and
/// answering its request; `false` when openssl is not installed (outside CI).
fn openssl_verifies(dir: &Path, ca: &Path) -> bool {
    let Some(openssl) = tool(&["openssl"], &["version"]) else {
        return false;
    };
    for name in manifest_names(dir) {
        let m = dir.join(&name);
        for against in [
            ["-data".to_string(), name.clone()],
            ["-queryfile".into(), format!("{name}.tsq")],
        ] {
            let o = Command::new(openssl)
                .args(["ts", "-verify", &against[0]])
                .arg(dir.join(&against[1]))
                .arg("-in")
                .arg(dir.join(format!("{name}.tsr")))
                .arg("-CAfile")
                .arg(ca)
                .output()
                .unwrap();
            assert!(
                o.status.success() && stdout(&o).contains("Verification: OK"),
                "openssl ts -verify {} {}: {}{}",
                against[0],
                m.display(),
                stdout(&o),
                stderr(&o)
            );
        }
    }
    true
}

#[test]
fn signed_and_timestamped_series_verify_here_and_with_ssh_keygen_and_openssl() {
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "audit", 11);
    let allowed = allowed_signers(
        keys.path(),
        &[("audit@example.com", "namespaces=\"jrnle-audit\"", &key)],
    );
    let ca = keys.path().join("tsa-ca.pem");
    fs::write(&ca, jrnle_audit::simulator::tsa::CA_PEM).unwrap();
    let sim = sim_with(
        &generate(300, 3),
        jrnle_audit::simulator::SimConfig {
            tsa: true,
            ..sim_config()
        },
    );
    let tsa = format!("{}/tsa", sim.url);
    let sealed: &[&str] = &["--signing-key", key.to_str().unwrap(), "--tsa-url", &tsa];
    let (synced, snapped, listened) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    for _ in 0..3 {
        sim.simulator.journal_now(3);
        ok(sync(&sim, synced.path(), None)
            .args(["--tsa-url", &tsa, "--signing-key"])
            .arg(&key));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for _ in 0..2 {
        ok(against(&sim, "snapshot")
            .arg("--out-dir")
            .arg(snapped.path())
            .args(["--obj-code", "TASK", "--fields", "status", "--lag", "0s"])
            .args(sealed));
    }
    for k in 0..2 {
        let listen = Listen::start(listened.path(), sealed);
        assert_eq!(listen.post(&delivery(k), Some(TOKEN)), 200);
        let summary = listen.stop();
        assert!(summary.contains("head: "), "{summary}");
    }
    let strict = [
        "--allowed-signers",
        allowed.to_str().unwrap(),
        "--require-signatures",
        "--tsa-ca",
        ca.to_str().unwrap(),
        "--require-timestamps",
    ];
    for (dir, manifests) in [(&synced, 3), (&snapped, 2), (&listened, 2)] {
        let o = verify(dir.path(), &strict);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let said = stdout(&o);
        assert!(
            said.contains(&format!(
                "signed by audit@example.com (SHA256:{}): {manifests} manifests",
                fingerprint(&key)
            )) && said.contains(&format!("timestamps: {manifests} of {manifests} manifests")),
            "{said}"
        );
        assert_eq!(manifest_names(dir.path()).len(), manifests);
        ssh_keygen_verifies(dir.path(), &allowed, &|_| "audit@example.com".into());
        openssl_verifies(dir.path(), &ca);
    }
    // The report names the signer and the TSA.
    let html = keys.path().join("report.html");
    ok(bin()
        .arg("report")
        .arg(synced.path())
        .arg("-o")
        .arg(&html)
        .args(&strict[..2])
        .args(&strict[3..5]));
    let page = without_marks(&fs::read_to_string(&html).unwrap());
    assert!(page.contains("3 signed; 3 timestamped."), "the banner");
    assert!(
        page.contains("3 by <strong>CN=jrnle-audit simulator TSA (test only)</strong>, from "),
        "the timestamps row"
    );
    assert!(page.contains("token signatures and certificate chains checked"));
}

/// A key's validity is judged at a manifest's token time when it has one: a key whose
/// validity ended between the manifest's written_at and its timestamp fails, as
/// `ssh-keygen -Overify-time=<token time>` would.
#[test]
fn a_key_is_judged_at_the_manifests_timestamp_when_it_has_one() {
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "audit", 21);
    let sim = sim_with(
        &generate(300, 3),
        jrnle_audit::simulator::SimConfig {
            tsa: true,
            ..sim_config()
        },
    );
    // The TSA's clock an hour ahead: each token is an hour after its manifest was written.
    sim.simulator.tsa_clock_offset(chrono::Duration::hours(1));
    let dir = tempfile::tempdir().unwrap();
    ok(sync(&sim, dir.path(), Some(&key)).args(["--tsa-url", &format!("{}/tsa", sim.url)]));
    let name = manifest_names(dir.path()).pop().unwrap();
    assert!(dir.path().join(format!("{name}.tsr")).exists());
    // Valid until half an hour after now: at written_at, not at the token's time.
    let until = signer_time(chrono::Utc::now() + chrono::Duration::minutes(30));
    let options = format!("valid-before=\"{until}\"");
    let allowed = allowed_signers(keys.path(), &[("audit@example.com", &options, &key)]);
    let allowed = allowed.to_str().unwrap();
    let o = verify(dir.path(), &["--allowed-signers", allowed]);
    assert_eq!(o.status.code(), Some(5), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("outside the key's validity"),
        "{}",
        stderr(&o)
    );
    // Without the token, written_at is the time, and the key was valid then.
    fs::remove_file(dir.path().join(format!("{name}.tsr"))).unwrap();
    let o = verify(dir.path(), &["--allowed-signers", allowed]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Rewrite the data file of manifest `index` with its first record left out, that manifest
/// and every later one (chain links) and the state file to match, as someone who can write
/// the out-dir would; with `sign`, each rewritten manifest is signed again with that key.
pub(crate) fn rewrite_from(dir: &Path, index: usize, sign: Option<&Path>) {
    use sha2::{Digest, Sha256};
    let hex = |b: &[u8]| jrnle_audit::evidence::manifest::hex(&Sha256::digest(b));
    let signer = sign.map(|key| SigningKey::load(key, None).unwrap());
    let names = manifest_names(dir);
    let mut previous: Option<String> = None;
    for (i, name) in names.iter().enumerate() {
        let path = dir.join(name);
        if i < index {
            previous = Some(hex(&fs::read(&path).unwrap()));
            continue;
        }
        let mut m: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        if i == index {
            let data = dir.join(m["data_file"]["name"].as_str().unwrap());
            let text = fs::read_to_string(&data).unwrap();
            let kept: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
            fs::write(&data, &kept).unwrap();
            m["data_file"]["size"] = kept.len().into();
            m["data_file"]["sha256"] = hex(kept.as_bytes()).into();
            m["row_count"] = (m["row_count"].as_u64().unwrap() - 1).into();
        }
        m["previous_manifest_sha256"] = previous.clone().map_or(Value::Null, Value::from);
        if let Some(signer) = &signer {
            m["signed_by"] = signer.fingerprint().into();
        }
        let mut bytes = serde_json::to_vec_pretty(&m).unwrap();
        bytes.push(b'\n');
        fs::write(&path, &bytes).unwrap();
        if let Some(signer) = &signer {
            fs::write(
                dir.join(format!("{name}.sig")),
                signer.sign(&bytes).unwrap(),
            )
            .unwrap();
        }
        previous = Some(hex(&bytes));
    }
    let state = dir.join(".jrnle-sync-state.json");
    let mut s: Value = serde_json::from_slice(&fs::read(&state).unwrap()).unwrap();
    s["last_manifest_sha256"] = previous.unwrap().into();
    fs::write(&state, serde_json::to_vec(&s).unwrap()).unwrap();
}

#[test]
fn a_consistent_rewrite_is_caught_by_the_signatures_the_allowed_signers_and_the_head() {
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "audit", 12);
    let intruder = signing_key(keys.path(), "intruder", 13);
    let allowed = allowed_signers(keys.path(), &[("audit@example.com", "", &key)]);
    let allowed = allowed.to_str().unwrap();
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    signed_series(&sim, dir.path(), &key, 3);
    let head = ok(bin().args(["verify", "--print-head"]).arg(dir.path()));
    let (sha256, name) = head.trim().split_once("  ").unwrap();
    assert_eq!(sha256.len(), 64, "{head}");
    assert_eq!(name, manifest_names(dir.path()).pop().unwrap());
    let pristine = tempfile::tempdir().unwrap();
    for n in names(dir.path()) {
        fs::copy(dir.path().join(&n), pristine.path().join(&n)).unwrap();
    }

    // A row deleted from the middle file, every hash recomputed: the hash chain holds, the
    // signatures do not, with no flag needed.
    rewrite_from(dir.path(), 1, None);
    let (code, kinds) = finding_kinds(dir.path(), &[]);
    assert_eq!(code, Some(5));
    assert_eq!(
        kinds,
        ["signature", "signature"],
        "the two rewritten manifests"
    );

    // Signed again with a key of the intruder's: consistent to whoever trusts the out-dir,
    // refused by the allowed signers.
    rewrite_from(dir.path(), 1, Some(&intruder));
    assert_eq!(finding_kinds(dir.path(), &[]), (Some(0), vec![]));
    let o = verify(dir.path(), &["--allowed-signers", allowed]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("a key the allowed-signers file does not hold"),
        "{}",
        stderr(&o)
    );

    // Signed again with the real key (an insider): only the head recorded elsewhere shows it.
    rewrite_from(dir.path(), 1, Some(&key));
    assert_eq!(
        finding_kinds(dir.path(), &["--allowed-signers", allowed]),
        (Some(0), vec![])
    );
    let (code, kinds) = finding_kinds(dir.path(), &["--expect-head", sha256]);
    assert_eq!((code, kinds), (Some(5), vec!["head".to_string()]));
    // The untouched copy holds it, given as the whole line --print-head printed.
    let o = verify(
        pristine.path(),
        &["--expect-head", head.trim(), "--allowed-signers", allowed],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "recorded head {sha256}: in the chain, 0 manifests after it"
        )),
        "{}",
        stdout(&o)
    );
    // A recorded name that is not the manifest's is refused.
    let renamed = format!("{sha256}  jrnle-other.manifest.json");
    assert_eq!(
        finding_kinds(pristine.path(), &["--expect-head", &renamed]),
        (Some(5), vec!["head".to_string()])
    );
}

#[test]
fn a_removed_signature_fails_and_unsigned_manifests_fail_only_when_required() {
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "audit", 14);
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    // One unsigned run, then two signed.
    ok(&mut sync(&sim, dir.path(), None));
    std::thread::sleep(std::time::Duration::from_millis(5));
    signed_series(&sim, dir.path(), &key, 2);
    let names = manifest_names(dir.path());
    let o = verify(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "unsigned: 1 of 3 manifests; the signed part begins at {}",
            names[1]
        )),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        finding_kinds(dir.path(), &["--require-signatures"]),
        (Some(5), vec!["unsigned".to_string()])
    );
    // The manifest names its signer, so a removed .sig shows without --require-signatures.
    fs::remove_file(dir.path().join(format!("{}.sig", names[2]))).unwrap();
    let o = verify(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is missing (removed?)"),
        "{}",
        stderr(&o)
    );
    // A run refuses to build on it.
    let o = run(&mut sync(&sim, dir.path(), Some(&key)));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(manifest_names(dir.path()), names);
}

/// `YYYYMMDDHHMMSSZ` of `t`, as allowed-signers files write times.
fn signer_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%d%H%M%SZ").to_string()
}

#[test]
fn a_rotated_key_verifies_what_it_signed_while_valid_and_fails_outside_its_validity() {
    let keys = tempfile::tempdir().unwrap();
    let (old, new) = (
        signing_key(keys.path(), "old", 15),
        signing_key(keys.path(), "new", 16),
    );
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    let started = chrono::Utc::now() - chrono::Duration::seconds(2);
    signed_series(&sim, dir.path(), &old, 1);
    // The rotation: the old key valid up to the next whole second, the new one from then.
    let rotation = chrono::Utc::now() + chrono::Duration::seconds(1);
    let rotation =
        rotation - chrono::Duration::nanoseconds(rotation.timestamp_subsec_nanos().into());
    wait_until("the rotation second has passed", || {
        chrono::Utc::now() > rotation
    });
    // The run says the key changed, as a reminder of the allowed-signers file.
    let o = run(&mut sync(&sim, dir.path(), Some(&new)));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "this manifest is signed by SHA256:{}, the one before it by SHA256:{}",
            fingerprint(&new),
            fingerprint(&old)
        )),
        "{}",
        stderr(&o)
    );
    let at = signer_time(rotation);
    let old_options = format!("valid-before=\"{at}\"");
    let new_options = format!("valid-after=\"{at}\"");
    let allowed = allowed_signers(
        keys.path(),
        &[
            ("old@example.com", &old_options, &old),
            ("new@example.com", &new_options, &new),
        ],
    );
    let o = verify(
        dir.path(),
        &["--allowed-signers", allowed.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for who in ["old@example.com", "new@example.com"] {
        assert!(
            stdout(&o).contains(&format!("signed by {who} (SHA256:")),
            "{}",
            stdout(&o)
        );
    }
    let first = manifest_names(dir.path())[0].clone();
    ssh_keygen_verifies(dir.path(), &allowed, &|name| {
        if name == first {
            "old@example.com"
        } else {
            "new@example.com"
        }
        .into()
    });
    // The old key's validity ending before it signed: its manifest fails.
    let expired = format!("valid-before=\"{}\"", signer_time(started));
    let allowed = allowed_signers(
        keys.path(),
        &[
            ("old@example.com", &expired, &old),
            ("new@example.com", &new_options, &new),
        ],
    );
    let o = verify(
        dir.path(),
        &["--allowed-signers", allowed.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("outside the key's validity"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains(&first), "{}", stderr(&o));
}

#[test]
fn what_a_kill_between_a_signature_and_its_manifest_leaves_is_interrupted_and_removed() {
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "audit", 17);
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    signed_series(&sim, dir.path(), &key, 1);
    // The next window's data file and its manifest's signature, without the manifest.
    let head = manifest_names(dir.path()).pop().unwrap();
    let m: Value = serde_json::from_slice(&fs::read(dir.path().join(&head)).unwrap()).unwrap();
    let to = m["window"]["to"].as_str().unwrap().replace([':', '-'], "");
    let next = format!("jrnle-{to}-20991231T000000.000Z.ndjson");
    fs::write(dir.path().join(&next), "").unwrap();
    fs::write(dir.path().join(format!("{next}.manifest.json.sig")), "x").unwrap();
    assert_eq!(
        finding_kinds(dir.path(), &[]),
        (
            Some(0),
            vec!["interrupted".to_string(), "interrupted".to_string()]
        )
    );
    signed_series(&sim, dir.path(), &key, 1);
    assert!(!names(dir.path()).iter().any(|n| n.starts_with(&next)));
    assert_eq!(finding_kinds(dir.path(), &[]), (Some(0), vec![]));
}

#[test]
fn a_key_others_can_read_an_encrypted_key_and_a_public_key_are_refused_before_anything() {
    use std::os::unix::fs::PermissionsExt;
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "audit", 18);
    let sim = sim(&generate(300, 3));
    let out = keys.path().join("out");
    let refused = |key: &Path, env: &[(&str, &str)], says: &str| {
        let mut cmd = sync(&sim, &out, Some(key));
        cmd.envs(env.iter().copied());
        let o = run(&mut cmd);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        assert!(!out.exists(), "the out-dir was created");
    };
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    refused(&key, &[], "can be read by others (mode 644): run chmod 600");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let public_file = keys.path().join("audit.pub");
    fs::write(&public_file, public(&key)).unwrap();
    fs::set_permissions(&public_file, fs::Permissions::from_mode(0o600)).unwrap();
    refused(&public_file, &[], "is not an OpenSSH private key");
    // An encrypted key: its passphrase from the environment, or a clear refusal.
    let encrypted = keys.path().join("encrypted");
    let pair = ssh_key::private::Ed25519Keypair::from_seed(&[19; 32]);
    ssh_key::PrivateKey::from(pair)
        .encrypt(&mut rand_core::OsRng, "correct horse")
        .unwrap()
        .write_openssh_file(&encrypted, ssh_key::LineEnding::LF)
        .unwrap();
    fs::set_permissions(&encrypted, fs::Permissions::from_mode(0o600)).unwrap();
    refused(
        &encrypted,
        &[],
        "is encrypted: set JRNLE_SIGNING_KEY_PASSPHRASE",
    );
    let wrong = [("JRNLE_SIGNING_KEY_PASSPHRASE", "battery staple")];
    refused(&encrypted, &wrong, "does not decrypt with the passphrase");
    let right = [("JRNLE_SIGNING_KEY_PASSPHRASE", "correct horse")];
    let o = run(sync(&sim, &out, Some(&encrypted)).envs(right).args(["-vv"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // No key material anywhere: not the passphrase, not a line of either private key file,
    // in the output, the out-dir's files, or verify's.
    let mut seen = format!("{}{}", stdout(&o), stderr(&o));
    let v = verify(&out, &["--json"]);
    seen.push_str(&stdout(&v));
    for name in names(&out) {
        seen.push_str(&String::from_utf8_lossy(&fs::read(out.join(name)).unwrap()));
    }
    assert!(seen.contains("signed_by"), "the out-dir was read");
    assert!(!seen.contains("correct horse"));
    for file in [&encrypted, &key] {
        for line in fs::read_to_string(file)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-----"))
        {
            assert!(
                !seen.contains(line),
                "a line of {} was shown",
                file.display()
            );
        }
    }
}

#[test]
fn the_report_names_who_signed_and_what_is_unsigned() {
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "audit", 20);
    let allowed = allowed_signers(keys.path(), &[("audit@example.com", "", &key)]);
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path(), None));
    std::thread::sleep(std::time::Duration::from_millis(5));
    signed_series(&sim, dir.path(), &key, 2);
    let html = keys.path().join("report.html");
    let signatures = |extra: &[&str]| {
        ok(bin()
            .arg("report")
            .arg(dir.path())
            .arg("-o")
            .arg(&html)
            .args(extra));
        let page = without_marks(&fs::read_to_string(&html).unwrap());
        let at = page.find("<td id=\"signatures\">").unwrap();
        page[at..at + page[at..].find("</td>").unwrap()].to_string()
    };
    let named = signatures(&["--allowed-signers", allowed.to_str().unwrap()]);
    let fp = fingerprint(&key);
    assert!(
        named.contains(&format!(
            "2 manifests signed by <strong>audit@example.com</strong>, key <span class=\"hash\">SHA256:{fp}</span>"
        )),
        "{named}"
    );
    assert!(
        named.contains("1 manifest unsigned; the signed part begins at"),
        "{named}"
    );
    let unnamed = signatures(&[]);
    assert!(
        unnamed.contains("(not checked against an allowed-signers file"),
        "{unnamed}"
    );
}

/// Once a series is signed it stays signed: a run without the key is refused, and a newest
/// manifest stripped of its signature and `signed_by` (the chain and state recomputed, which
/// needs no key) fails `verify` with no flag.
#[test]
fn a_signed_series_cannot_be_downgraded_to_unsigned() {
    use sha2::{Digest, Sha256};
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "audit", 22);
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    signed_series(&sim, dir.path(), &key, 2);
    let names = manifest_names(dir.path());
    let o = run(&mut sync(&sim, dir.path(), None));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("holds a signed series"),
        "{}",
        stderr(&o)
    );
    assert_eq!(manifest_names(dir.path()), names, "nothing was appended");
    // The newest manifest stripped.
    let newest = dir.path().join(&names[1]);
    let mut m: Value = serde_json::from_slice(&fs::read(&newest).unwrap()).unwrap();
    m.as_object_mut().unwrap().remove("signed_by");
    let mut bytes = serde_json::to_vec_pretty(&m).unwrap();
    bytes.push(b'\n');
    fs::write(&newest, &bytes).unwrap();
    fs::remove_file(dir.path().join(format!("{}.sig", names[1]))).unwrap();
    let state = dir.path().join(".jrnle-sync-state.json");
    let mut s: Value = serde_json::from_slice(&fs::read(&state).unwrap()).unwrap();
    s["last_manifest_sha256"] =
        jrnle_audit::evidence::manifest::hex(&Sha256::digest(&bytes)).into();
    fs::write(&state, serde_json::to_vec(&s).unwrap()).unwrap();
    let o = verify(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{}: not signed, though the manifests before it are",
            names[1]
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_signing_key_that_is_a_fifo_is_refused_not_waited_on() {
    let keys = tempfile::tempdir().unwrap();
    let fifo = keys.path().join("key");
    let made = Command::new("mkfifo")
        .arg("-m600")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let sim = sim(&generate(300, 3));
    let out = keys.path().join("out");
    let o = run(&mut sync(&sim, &out, Some(&fifo)));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not a regular file"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

/// A validity time without Z is local time, read as ssh-keygen reads it (standard time all
/// year, as `mktime` with no daylight saving does). In a zone now in summer time, a
/// valid-before half an hour after written_at in standard time holds (read as summer time it
/// would end half an hour before it); ssh-keygen agrees.
#[test]
fn local_validity_times_are_read_as_ssh_keygen_reads_them() {
    use chrono::Datelike;
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "audit", 23);
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    signed_series(&sim, dir.path(), &key, 1);
    let name = manifest_names(dir.path()).pop().unwrap();
    let m: Value = serde_json::from_slice(&fs::read(dir.path().join(&name)).unwrap()).unwrap();
    let written: chrono::DateTime<chrono::Utc> = m["written_at"].as_str().unwrap().parse().unwrap();
    // A zone in summer time now, and its standard offset: Sydney (UTC+10, summer +11) from
    // October to March, New York (UTC-5, summer -4) from May to September.
    let (zone, standard) = match written.month() {
        10..=12 | 1..=3 => ("Australia/Sydney", 10),
        5..=9 => ("America/New_York", -5),
        _ => return eprintln!("skipped: April is a change-over month in both zones"),
    };
    let local = (written + chrono::Duration::hours(standard) + chrono::Duration::minutes(30))
        .format("%Y%m%d%H%M%S")
        .to_string();
    let options = format!("valid-before=\"{local}\"");
    let allowed = allowed_signers(keys.path(), &[("audit@example.com", &options, &key)]);
    let o = run(bin()
        .arg("verify")
        .arg(dir.path())
        .args(["--allowed-signers", allowed.to_str().unwrap()])
        .env("TZ", zone));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    if tool(&["ssh"], &["-V"]).is_some() {
        let o = Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(&allowed)
            .args(["-I", "audit@example.com", "-n", "jrnle-audit", "-s"])
            .arg(dir.path().join(format!("{name}.sig")))
            .arg(format!(
                "-Overify-time={}",
                verify_time(&dir.path().join(&name))
            ))
            .env("TZ", zone)
            .stdin(fs::File::open(dir.path().join(&name)).unwrap())
            .output()
            .unwrap();
        assert!(o.status.success(), "ssh-keygen: {}", stderr(&o));
    }
}
