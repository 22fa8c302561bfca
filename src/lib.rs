//! jrnle-audit: turns Adobe Workfront journal entries (JRNLE) into an exact, verifiable
//! history of field changes, written as CSV, JSON or JSON Lines.
//!
//! The binary is a thin shell over [`commands::run`]; everything it does is reachable here.

pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod console;
pub mod crypto;
pub mod deliver;
pub mod digest;
pub mod error;
pub mod evidence;
pub mod history;
pub mod input;
pub mod interrupt;
pub mod labels;
pub mod listen;
pub mod load;
pub mod model;
pub mod normalize;
pub mod output;
pub mod profile;
pub mod report;
pub mod rng;
pub mod secret;
pub mod settings;
pub mod simulator;
pub mod snapshot;
pub mod source;
pub mod sync;
pub mod tsa;
pub mod workfront;
