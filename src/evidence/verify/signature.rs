//! Manifest signatures, checked offline: each `<manifest>.sig` against the manifest's exact
//! bytes and namespace, against the key the manifest names (`signed_by`), and with
//! `--allowed-signers`, against who may sign and when (the manifest's own time: its
//! timestamp's when it has one, else `written_at`, as `ssh-keygen -Y verify
//! -Overify-time=` judges it), so a rotated key never invalidates what it signed while valid.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::evidence::allowed_signers::{AllowedSigners, Refusal};
use crate::evidence::files::read_no_follow;
use crate::evidence::manifest::Committed;
use crate::evidence::signing::{self, NAMESPACE, signature_name};

use super::{Finding, Kind};

/// What the signatures of a chain say, for the summary and the report.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Signatures {
    /// Manifests with a signature that checks.
    pub signed: usize,
    /// Manifests with no signature (listed; a failure with `--require-signatures`, and
    /// always after a signed one).
    pub unsigned: Vec<String>,
    /// Manifests whose signature does not check (each a finding).
    pub failed: usize,
    /// The first signed manifest: where the signed part begins (every manifest after it
    /// must be signed).
    pub signed_from: Option<String>,
    /// Who signed: one entry per key (and principals, with `--allowed-signers`).
    pub signers: Vec<Signer>,
    /// Whether the keys were checked against an allowed-signers file.
    pub allowed_signers_checked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The principals of the allowed-signers line that accepted it.
    pub principals: Option<String>,
    pub manifests: usize,
}

/// How signatures are judged.
#[derive(Debug, Default, Clone)]
pub struct SignaturePolicy {
    pub allowed_signers: Option<AllowedSigners>,
    pub require: bool,
}

/// Check every manifest's signature; `time_of` gives the instant a manifest's key validity
/// is judged at.
pub fn check_signatures(
    dir: &Path,
    chain: &[Committed],
    policy: &SignaturePolicy,
    time_of: &dyn Fn(&Committed) -> Option<DateTime<Utc>>,
    problems: &mut Vec<Finding>,
) -> Signatures {
    let mut out = Signatures {
        allowed_signers_checked: policy.allowed_signers.is_some(),
        ..Signatures::default()
    };
    for c in chain {
        let signed_before = out.signed_from.is_some();
        match check_one(dir, c, policy, time_of) {
            Ok(Some(signer)) => {
                out.signed += 1;
                out.signed_from.get_or_insert_with(|| c.name.clone());
                match out.signers.iter_mut().find(|s| {
                    s.fingerprint == signer.fingerprint && s.principals == signer.principals
                }) {
                    Some(known) => known.manifests += 1,
                    None => out.signers.push(signer),
                }
            }
            Ok(None) => {
                out.unsigned.push(c.name.clone());
                // Once a series is signed, every run signs (a run without the key is
                // refused): an unsigned manifest after a signed one had its signature and
                // `signed_by` stripped.
                if signed_before {
                    problems.push(finding(
                        c,
                        Kind::Signature,
                        "not signed, though the manifests before it are: its signature was \
                         removed (and the manifest rewritten), or it was appended by other means"
                            .into(),
                    ));
                } else if policy.require {
                    problems.push(finding(
                        c,
                        Kind::Unsigned,
                        "no signature (<manifest>.sig), and --require-signatures was given".into(),
                    ));
                }
            }
            Err(detail) => {
                out.failed += 1;
                out.signed_from.get_or_insert_with(|| c.name.clone());
                problems.push(finding(c, Kind::Signature, detail));
            }
        }
    }
    out
}

fn finding(c: &Committed, kind: Kind, detail: String) -> Finding {
    Finding::new(Some(c.name.clone()), kind, detail)
}

/// One manifest: `Ok(None)` unsigned, `Ok(Some)` signed by whom, `Err` what is wrong.
fn check_one(
    dir: &Path,
    c: &Committed,
    policy: &SignaturePolicy,
    time_of: &dyn Fn(&Committed) -> Option<DateTime<Utc>>,
) -> Result<Option<Signer>, String> {
    let sig_name = signature_name(&c.name);
    let armored = match read_no_follow(&dir.join(&sig_name)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return match &c.manifest.signed_by {
                Some(key) => Err(format!(
                    "signed by {key}, as the manifest says, but {sig_name} is missing (removed?)"
                )),
                None => Ok(None),
            };
        }
        Err(e) => return Err(format!("{sig_name} cannot be read: {e}")),
    };
    let bytes = read_no_follow(&dir.join(&c.name))
        .map_err(|e| format!("cannot be read again to check its signature: {e}"))?;
    let sig = signing::parse(&armored).map_err(|e| format!("{sig_name}: {e}"))?;
    sig.check(&bytes).map_err(|e| format!("{sig_name}: {e}"))?;
    if let Some(named) = &c.manifest.signed_by
        && *named != sig.fingerprint
    {
        return Err(format!(
            "{sig_name} is signed by {}, but the manifest says {named} signed it (re-signed?)",
            sig.fingerprint
        ));
    }
    let principals = match &policy.allowed_signers {
        None => None,
        Some(allowed) => {
            let at =
                time_of(c).ok_or("its written_at does not read, so no key can be judged valid")?;
            match allowed.accept(sig.key(), NAMESPACE, at) {
                Ok(entry) => Some(entry.principals.clone()),
                Err(refusal) => return Err(refused(&sig.fingerprint, at, refusal)),
            }
        }
    };
    Ok(Some(Signer {
        fingerprint: sig.fingerprint,
        principals,
        manifests: 1,
    }))
}

fn refused(fingerprint: &str, at: DateTime<Utc>, refusal: Refusal) -> String {
    let at = crate::model::date::format_utc_ms(&at);
    match refusal {
        Refusal::UnknownKey => {
            format!("signed by {fingerprint}, a key the allowed-signers file does not hold")
        }
        Refusal::Namespace => format!(
            "signed by {fingerprint}, which the allowed-signers file allows for other \
             namespaces only, not {NAMESPACE:?}"
        ),
        Refusal::OutsideValidity(windows) => {
            format!("signed by {fingerprint} at {at}, outside the key's validity ({windows})")
        }
    }
}
