//! The Workfront API layer: the HTTP client with retries and a concurrency cap (`client`),
//! what its answers mean (`answer`), requests run as tasks (`task`), query building, and counted windows paged without loss, for any searchable object type
//! ([`object::ObjectType`]; journal entries are [`jrnle::Journal`], objects polled by
//! `lastUpdateDate` are [`polled::Polled`]). It returns raw records
//! and knows nothing of normalized records, output or sync.

pub mod answer;
pub mod client;
pub mod fetch;
pub mod jrnle;
pub mod objcodes;
pub mod object;
pub mod paging;
pub mod plan;
pub mod polled;
pub mod query;
pub mod report;
pub mod retry;
pub mod task;
pub mod transport;
pub mod window;
