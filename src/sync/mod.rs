//! Scheduled compliance exports: incremental `sync` with exactly-once delivery, a runner on
//! the evidence [`crate::evidence::append::Appender`]: each run fetches the window after the
//! newest manifest's, drops what earlier files delivered, and appends one data file.

pub mod run;
