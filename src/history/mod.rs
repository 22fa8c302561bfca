//! The replay of a change history (issue 29): change records in, in entry order
//! `(entry_date, id)`, interval events out. `intervals`, `asof`, `durations` and the audit
//! report all read the history through this one replay ([`replay`]), each as a [`Listener`].
//!
//! What it holds: one slot per object and field met (the interval open on it, or the delete
//! that ended the last one), never the entries: memory grows with the keys, not the history.
//! Input not in entry order is refused (exit 2), or sorted in memory first when asked
//! ([`Order::Sort`]). The report reads its chain breaks and time in status through
//! [`for_report`].

pub mod asof;
pub mod breaks;
pub mod calendar;
pub mod cycles;
pub mod durations;
pub mod for_report;
pub mod holidays;
pub mod interval;
pub mod packed;
pub mod replay;
pub mod same_millisecond;
pub mod seen;
pub mod status_time;

pub use for_report::{ForReport, for_report};
pub use interval::{ChainBreak, End, Interval, Step, StepOf};
pub use replay::{Listener, Order, Replay, Scope, Totals, run};
