//! Integration tests: the real binary against the Workfront simulator over HTTP.

mod auth;
mod clients;
mod count;
mod exit_codes;
mod export;
mod filters;
mod fuzz;
mod listen;
mod normalize;
mod oauth;
mod pipes;
mod profiles;
mod readable;
mod report;
mod resilience;
mod scale;
mod security;
mod signals;
mod simulate;
mod simulator;
mod summary;
mod sync;
mod tidy;
mod util;
mod ux;
mod xlsx;
