//! The data model at the bottom of every layer: the raw journal record as Workfront sends it,
//! the normalized change record and its columns, data warnings, the date forms, and JSON
//! text read and written. Nothing here talks to the network or writes files.

pub mod anomaly;
pub mod change;
pub mod date;
pub mod ids;
pub mod json;
pub mod number;
pub mod raw;
pub mod record_batch;
pub mod sanitize;
pub mod scan;
pub mod tenant_zone;
