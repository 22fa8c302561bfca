//! The one way a run adds to a series: [`Appender::open`] (lock, refuse another kind's
//! out-dir), [`Appender::load`] (the chain), [`Appender::verdict`] (what `verify` says of what
//! the run builds on: anything but intact refuses the run with exit 5 and nothing appended),
//! [`Appender::create`] (the data file, written aside), [`Appender::commit`] (data file,
//! the manifest's signature when the run signs, whatever the runner makes durable with the
//! manifest's bytes, the manifest: the commit point, the state file). `sync`, `snapshot` and `listen` are runners on it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::console;
use crate::error::{Error, Result};
use crate::output::Format;

use super::files::{AtomicFile, read_dir, write_atomic};
use super::lock::DirLock;
use super::manifest::{
    Committed, CommittedManifest, DataFile, Manifest, SeriesKind, compact, data_file_name,
    file_prefix, load_chain, manifest_name, refuse_other_kind, sha256_hex,
};
use super::signing::{SigningKey, signature_name};
use super::state::{self, State};
use super::verify::finding::{Finding, lines};
use super::verify::{self, Report};
use super::{
    JOURNAL_FILE, LOCK_FILE, MANIFEST_SUFFIX, PARTIAL_SUFFIX, QUARANTINE_FILE, STATE_DB, STATE_FILE,
};

/// A run's hold on an out-dir, from its lock to its commit.
#[derive(Debug)]
pub struct Appender {
    dir: PathBuf,
    /// The state file this series keeps (`sync` and `listen`); `None` for `snapshot`, whose
    /// state database commits with the manifest's bytes instead.
    state_file: Option<PathBuf>,
    lock: DirLock,
    chain: Vec<Committed>,
    /// The key each manifest is signed with, when the run signs.
    signer: Option<Arc<SigningKey>>,
}

/// A data file being written, aside until [`Appender::commit`].
pub struct DataFileWriter {
    pub name: String,
    pub path: PathBuf,
    pub file: AtomicFile,
}

impl Appender {
    /// Create the out-dir if missing and lock it, then refuse (exit 2, nothing left behind)
    /// an out-dir that holds another kind's series. The chain is read by [`Appender::load`].
    pub fn open(dir: &Path, kind: SeriesKind) -> Result<Appender> {
        let lock = DirLock::open_out_dir(dir)?;
        refuse_other_kind(dir, kind)?;
        refuse_foreign(dir)?;
        // Known to be an out-dir now: what interrupted runs left half-written goes.
        for name in super::files::remove_partials(dir)? {
            console::note(format!("removed {name}, left by an interrupted run"));
        }
        Ok(Appender {
            dir: dir.to_path_buf(),
            state_file: None,
            lock,
            chain: Vec::new(),
            signer: None,
        })
    }

    /// Keep a state file at `path` (the default: [`default_state_path`]).
    pub fn with_state_file(mut self, path: PathBuf) -> Appender {
        self.state_file = Some(path);
        self
    }

    /// Sign every manifest this run commits with `signer` (`<manifest>.sig`, written before
    /// the manifest counts as committed).
    pub fn with_signer(mut self, signer: Option<Arc<SigningKey>>) -> Appender {
        self.signer = signer;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Read the chain as it is now (an earlier commit of this process included).
    pub fn load(&mut self) -> Result<&[Committed]> {
        self.chain = load_chain(&self.dir)?;
        Ok(&self.chain)
    }

    pub fn chain(&self) -> &[Committed] {
        &self.chain
    }

    pub fn head(&self) -> Option<&Committed> {
        self.chain.last()
    }

    /// The out-dir stays whatever happens next (the run began to serve or committed).
    pub fn keep(&mut self) {
        self.lock.keep();
    }

    /// `verify`'s verdict on the out-dir, the one definition of intact: what it reports as
    /// problems refuses the run (exit 5, "nothing was appended"); what an interrupted run left
    /// is said and left to the runner, which completes or removes it.
    pub fn verdict(&self) -> Result<Report> {
        let report = verify::verify(&self.dir, self.state_file.as_deref())?;
        refuse(&self.dir, report.problems.clone())?;
        self.refuse_unsigned_after_signed()?;
        Ok(report)
    }

    /// A signed series stays signed: a run without a signing key is refused (exit 2, nothing
    /// appended) rather than leave a manifest `verify` must call stripped of its signature.
    fn refuse_unsigned_after_signed(&self) -> Result<()> {
        let signed_by = self.head().and_then(|h| h.manifest.signed_by.as_deref());
        match (signed_by, &self.signer) {
            (Some(key), None) => Err(Error::usage(format!(
                "{} holds a signed series (its newest manifest is signed by {key}): give \
                 --signing-key (or JRNLE_SIGNING_KEY_FILE, or the profile's signing_key_file); \
                 nothing was appended",
                self.dir.display()
            ))),
            _ => Ok(()),
        }
    }

    /// A data file of `series` whose window starts at `from` with no manifest: an
    /// interrupted commit, never delivered, so it goes.
    pub fn remove_orphans(&self, series: u32, from: &DateTime<Utc>) -> Result<()> {
        let prefix = format!("{}{}-", file_prefix(series), compact(from));
        let names = read_dir(&self.dir)?;
        for name in &names {
            let committed = names.contains(&format!("{name}{MANIFEST_SUFFIX}"));
            if name.starts_with(&prefix) && !name.ends_with(MANIFEST_SUFFIX) && !committed {
                std::fs::remove_file(self.dir.join(name))
                    .map_err(|e| Error::io(format!("cannot remove {name}"), e))?;
                console::note(format!(
                    "removed {name}, an uncommitted file of an interrupted run"
                ));
            }
        }
        Ok(())
    }

    /// The data file of the window `[from, to)`, written aside (hashed as written).
    pub fn create(
        &self,
        series: u32,
        from: &DateTime<Utc>,
        to: &DateTime<Utc>,
        format: Format,
    ) -> Result<DataFileWriter> {
        let name = data_file_name(series, from, to, format);
        let path = self.dir.join(&name);
        let file = AtomicFile::partial(&path)?;
        Ok(DataFileWriter { name, path, file })
    }

    /// Commit: the data file renamed into place, the manifest `manifest` makes of it (chained
    /// to the head), `durable` given the manifest's bytes (a snapshot commits its state with
    /// them: from there the run is committed, and a kill before the manifest file is rolled
    /// forward), the manifest file (the commit point of a run with no state database), the
    /// state file. From the data file on, the out-dir and its lock stay.
    pub fn commit(
        &mut self,
        data: DataFileWriter,
        manifest: impl FnOnce(DataFile, Option<&Committed>) -> Manifest,
        durable: impl FnOnce(&CommittedManifest) -> Result<()>,
    ) -> Result<Manifest> {
        // The head this run built on must still be the head: another writer (one whose lock
        // file was removed under this run) would fork the chain.
        let head_now = load_chain(&self.dir)?.pop().map(|c| c.sha256);
        if head_now != self.chain.last().map(|c| c.sha256.clone()) {
            data.file.abandon();
            return Err(Error::Verify {
                dir: self.dir.display().to_string(),
                problems: vec![
                    "another run appended to the series while this one ran (was its lock file \
                     removed?); nothing was appended"
                        .into(),
                ],
            });
        }
        self.lock.keep();
        let (size, sha256) = data.file.commit()?;
        let file = DataFile {
            name: data.name.clone(),
            size,
            sha256,
        };
        let mut manifest = manifest(file, self.chain.last());
        manifest.signed_by = self.signer.as_ref().map(|s| s.fingerprint().to_string());
        let committed = CommittedManifest {
            name: manifest_name(&data.name),
            bytes: manifest.to_bytes(),
        };
        // The signature before the commit point: a kill between the two leaves an
        // uncommitted window's files, which the next run removes (or, for a snapshot whose
        // state committed, completes with the manifest).
        if let Some(signer) = &self.signer {
            say_key_changed(self.chain.last(), signer.fingerprint());
            let sig = signer.sign(&committed.bytes)?;
            write_atomic(&self.dir.join(signature_name(&committed.name)), &sig)?;
        }
        durable(&committed)?;
        write_atomic(&self.dir.join(&committed.name), &committed.bytes)?;
        if let Some(path) = &self.state_file {
            state::save(
                path,
                &State {
                    state_version: 1,
                    watermark: manifest.window.to.clone(),
                    last_manifest: committed.name.clone(),
                    last_manifest_sha256: sha256_hex(&committed.bytes),
                },
            )?;
        }
        Ok(manifest)
    }
}

/// A series signed by one key and now by another: said once, as a rotation needs the
/// allowed-signers file to know it (a mistake, an old key used again, shows here first).
fn say_key_changed(head: Option<&Committed>, now: &str) {
    if let Some(before) = head.and_then(|h| h.manifest.signed_by.as_deref())
        && before != now
    {
        console::note(format!(
            "this manifest is signed by {now}, the one before it by {before}: if the key was \
             rotated, the allowed-signers file needs the new key from now on (valid-after) and \
             the old one until now (valid-before)"
        ));
    }
}

/// Say what an interrupted run left, which this run completes or removes.
pub fn say_interrupted(report: &Report) {
    for found in &report.interrupted {
        console::note(found.to_string());
    }
}

/// Refuse (exit 2, before anything is touched) a directory that holds no manifest but files
/// this tool never writes: it is not an out-dir (a mistyped path, a home directory), and
/// calling its files "added by hand" evidence would be wrong.
fn refuse_foreign(dir: &Path) -> Result<()> {
    let names = read_dir(dir)?;
    if names.iter().any(|n| n.ends_with(MANIFEST_SUFFIX)) {
        return Ok(());
    }
    let ours = |n: &str| {
        [
            LOCK_FILE,
            STATE_FILE,
            JOURNAL_FILE,
            QUARANTINE_FILE,
            STATE_DB,
        ]
        .contains(&n)
            || n == format!("{STATE_DB}-journal")
            || n.starts_with("jrnle-")
    };
    match names
        .iter()
        .find(|n| !ours(n.strip_suffix(PARTIAL_SUFFIX).unwrap_or(n)))
    {
        None => Ok(()),
        Some(other) => Err(Error::usage(format!(
            "{} is not an out-dir of jrnle-audit (it holds {other}, and no manifest): give a \
             new or empty directory, or the --out-dir of an earlier run; nothing was written",
            dir.display()
        ))),
    }
}

/// Where a series keeps its state file unless told otherwise (`sync --state`).
pub fn default_state_path(out_dir: &Path) -> PathBuf {
    out_dir.join(STATE_FILE)
}

/// The error that stops a run on evidence that does not hold (exit 5, the problems named).
pub fn refuse(dir: &Path, problems: Vec<Finding>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    let mut problems = lines(&problems);
    problems.push(format!(
        "nothing was appended; run `jrnle-audit verify {}`",
        dir.display()
    ));
    Err(Error::Verify {
        dir: dir.display().to_string(),
        problems,
    })
}
