//! `snapshot`: the change history of fields the journal does not track, from objects polled
//! by `lastUpdateDate` (API notes §8) and diffed against their last known state. The state is
//! an SQLite database in the out-dir ([`db`]), committed together with each run's data file
//! and manifest ([`run`]); the records come from [`crate::source::snapshot`].

pub mod db;
pub mod run;
