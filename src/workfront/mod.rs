//! Talking to Workfront's JRNLE API: dates, query building, the HTTP client and paging.

pub mod client;
pub mod date;
pub mod fetch;
pub mod paging;
pub mod plan;
pub mod query;
pub mod record;
pub mod retry;
pub mod sanitize;
pub mod scan;
pub mod window;
