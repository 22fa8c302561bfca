//! `listen`: receive Workfront event-subscription deliveries and keep their changes as
//! evidence (issue 16). A delivery is acknowledged only once it is durable in the out-dir's
//! journal (`journal.rs`); its changes are committed from the journal, as data files and
//! manifests in one hash chain (`commit.rs`), every `--rotate` and at shutdown.

pub mod admit;
pub mod commit;
pub mod journal;
pub mod server;
pub mod tls;
