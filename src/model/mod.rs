//! The data model at the bottom of every layer: the raw journal record as Workfront sends it,
//! the normalized change record and its columns, data warnings, and the date and JSON text
//! forms both are read from. Nothing here talks to the network or writes files.

pub mod anomaly;
pub mod change;
pub mod date;
pub mod raw;
pub mod sanitize;
pub mod scan;
