//! The library's error type and the one table that maps errors to exit codes.

use std::io;
use std::path::PathBuf;

/// Exit codes, documented in the README. Other tools depend on these numbers.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const AUTH: u8 = 3;
    pub const API: u8 = 4;
    pub const INCOMPLETE: u8 = 5;
}

/// Everything that can stop a run. Messages never contain credentials: URLs are reported as
/// paths only, and credentials never reach this type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command line, configuration or input file: the user can fix it.
    #[error("{0}")]
    Usage(String),

    /// Reading or writing a local file failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// Writing the output file failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Workfront refused the credentials (401) or the rights (403).
    #[error("{path}: HTTP {status}: {message}")]
    Auth {
        path: String,
        status: u16,
        message: String,
    },

    /// Workfront answered with an error, or with something that is not a valid answer.
    #[error("{path}: {}{message}", status.map(|s| format!("HTTP {s}: ")).unwrap_or_default())]
    Api {
        path: String,
        status: Option<u16>,
        message: String,
    },

    /// The request never got an answer (connection refused, reset, timed out).
    #[error("{path}: {message}")]
    Network { path: String, message: String },

    /// What was fetched does not match what Workfront counted, even after refetching.
    #[error(
        "completeness check failed for {window}: Workfront counts {expected} entries, {got} were fetched; nothing was written"
    )]
    Incomplete {
        window: String,
        expected: u64,
        got: u64,
    },

    /// Committed evidence is not intact: a file changed, went missing or appeared.
    #[error("{dir}: {}", problems.join("; "))]
    Verify { dir: String, problems: Vec<String> },

    /// A directory given as evidence holds no series at all.
    #[error(
        "no series in {dir}: it holds no manifest; give the --out-dir of a sync, snapshot or listen (an empty directory is not intact evidence)"
    )]
    NoSeries { dir: String },

    /// The database of `load` failed: unreachable, refused the login, or answered an error.
    /// `target` is the connection string as shown (its password never).
    #[error("{target}: {message}")]
    Database { target: String, message: String },

    /// A bug or an impossible state.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error (see the README's table).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Io { .. } | Error::Write { .. } | Error::Internal(_) => exit::INTERNAL,
            Error::Auth { .. } => exit::AUTH,
            Error::Api { .. } | Error::Network { .. } | Error::Database { .. } => exit::API,
            Error::Incomplete { .. } | Error::Verify { .. } | Error::NoSeries { .. } => {
                exit::INCOMPLETE
            }
        }
    }

    /// A closed stdout (`jrnle-audit export | head`) is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Write { source, .. } | Error::Io { source, .. }
            if source.kind() == io::ErrorKind::BrokenPipe)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_maps_to_its_documented_code() {
        let io_err = || io::Error::other("x");
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::io("x", io_err()).exit_code(), 1);
        assert_eq!(Error::Internal("x".into()).exit_code(), 1);
        let auth = Error::Auth {
            path: "/p".into(),
            status: 401,
            message: "m".into(),
        };
        assert_eq!(auth.exit_code(), 3);
        let api = Error::Api {
            path: "/p".into(),
            status: Some(500),
            message: "m".into(),
        };
        assert_eq!(api.exit_code(), 4);
        let database = Error::Database {
            target: "sqlite:x.db".into(),
            message: "m".into(),
        };
        assert_eq!(database.exit_code(), 4);
        let incomplete = Error::Incomplete {
            window: "w".into(),
            expected: 2,
            got: 1,
        };
        assert_eq!(incomplete.exit_code(), 5);
    }

    #[test]
    fn broken_pipe_is_recognised_only_for_broken_pipe() {
        let pipe = Error::Write {
            path: "-".into(),
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        };
        assert!(pipe.is_broken_pipe());
        let other = Error::Write {
            path: "-".into(),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert!(!other.is_broken_pipe());
    }
}
