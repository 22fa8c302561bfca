//! `snapshot`: the change history of fields the journal does not track, from objects polled
//! by `lastUpdateDate` (API notes §8) and diffed against their last known state. The state is
//! the out-dir's SQLite database ([`crate::evidence::state_db`]), committed together with each
//! run's data file and manifest ([`run`]); the records come from [`crate::source::snapshot`],
//! which reaches the state through its `ObjectStore` trait.

pub mod run;
