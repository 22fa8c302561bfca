//! Talking to Workfront's JRNLE API: dates, query building, the HTTP client and paging.

pub mod client;
pub mod fetch;
pub mod paging;
pub mod plan;
pub mod query;
pub mod retry;
pub mod window;
