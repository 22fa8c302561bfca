//! What `verify` finds, typed: the file it is about, its kind, and the detail in words. The
//! line people read is `<file>: <detail>`; `verify --json` lists the three apart.

use serde::Serialize;

/// One finding of `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The out-dir's file it is about (a name in the out-dir, or the state file's path);
    /// `None` for what is about the out-dir as a whole.
    pub file: Option<String>,
    pub kind: Kind,
    pub detail: String,
}

/// The kinds of findings. All but `Interrupted` mean the evidence is not intact (exit 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A file a manifest lists is not there.
    Missing,
    /// A file's bytes, or a state's rows, differ from what was recorded.
    Altered,
    /// A symbolic link where evidence should be (never followed).
    Link,
    /// A file that cannot be read or parsed.
    Unreadable,
    /// A file no manifest lists.
    Unlisted,
    /// The hash chain, or the order of series, is broken.
    Chain,
    /// A window is empty, not contiguous, or not the one the file name says.
    Window,
    /// A manifest's dates are impossible (written in the future, a window ending after it).
    Dates,
    /// The state file or the snapshot state does not record the newest commit.
    State,
    /// A manifest's signature does not check: altered, made by a key the manifest does not
    /// name, removed, or by a key the allowed signers do not accept at the manifest's time.
    Signature,
    /// A manifest with no signature, and `--require-signatures` was given.
    Unsigned,
    /// The head recorded elsewhere (`--expect-head`) is not in the chain.
    Head,
    /// A manifest's RFC 3161 timestamp does not check: another hash, another request's
    /// nonce, a signature or certificate that does not verify, a time before the manifest
    /// was written or too long after.
    Timestamp,
    /// A manifest has no timestamp (a problem only with `--require-timestamps`).
    Untimestamped,
    /// What a run killed before its commit was complete left: not altered evidence; the next
    /// run completes or removes it.
    Interrupted,
}

impl Finding {
    pub fn new(file: Option<String>, kind: Kind, detail: String) -> Finding {
        Finding { file, kind, detail }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}: {}", self.detail),
            None => f.write_str(&self.detail),
        }
    }
}

/// The findings as the lines people read (for errors and the text summary).
pub fn lines(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(Finding::to_string).collect()
}
