//! A delivery URL's health (API notes §7): every delivery attempt counted as a success or a
//! failure (the `successes` and `failures` the subscription list shows), and the rule that a
//! URL failing more than 70 % of its messages after 100, or 2,000 times in a row, is disabled
//! (`disabled_at`): nothing is sent to it but a probe every 10 minutes, and it is eventually
//! frozen (`frozen_at`).
//!
//! The notes say health is kept per URL, so subscriptions delivering to one URL share it.
//! Where they are silent, chosen here:
//!
//! - A message is one attempt (a first delivery, a retry, or a duplicate sent again): each
//!   counts once, as a success (a 2xx within 5 s) or a failure (anything else).
//! - "After 100 messages": the 70 % rule applies from the 100th attempt since the URL was
//!   last enabled (created, or re-enabled by a probe), and is checked at each attempt.
//! - While disabled, an attempt that comes due is withheld (not sent, not counted; the message
//!   keeps its retry schedule and is dropped after its last attempt, as any other), except
//!   that one attempt per probe interval is sent: the probe. A probe that succeeds enables the
//!   URL again (the 70 % rule and the run of failures start afresh); one that fails when the
//!   URL has been disabled for a day (144 probes' worth) freezes it. A frozen URL is sent
//!   nothing, and its deliveries are dropped.
//! - The 10-minute probe interval and the day are scaled by the simulator's retry unit
//!   (`SimConfig::event_backoff`, 84.8 s in Workfront), as the retry schedule is.
//! - `disabled_at` and `frozen_at` are UTC timestamps with milliseconds (`...Z`).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Attempts since the URL was enabled before the 70 % rule applies.
const MESSAGES: u64 = 100;
/// Failures in a row that disable a URL whatever its rate.
const IN_A_ROW: u64 = 2_000;
/// Workfront's retry unit (84.8 s) in tenths of a second, by which the probe interval and the
/// freeze are scaled.
const WORKFRONT_UNIT_TENTHS: u128 = 848;
/// Workfront probes a disabled URL every 10 minutes.
const PROBE_SECS: u128 = 600;
/// Chosen: a URL still failing its probes a day after it was disabled is frozen.
const FREEZE_SECS: u128 = 86_400;

/// What to do with an attempt that comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Send it (the URL is enabled, or this attempt is its probe).
    Send,
    /// Do not send it now: the URL is disabled and this is not a probe.
    Withhold,
    /// Do not send it ever: the URL is frozen.
    Drop,
}

/// One URL's counters and state.
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub successes: u64,
    pub failures: u64,
    /// Attempts and failures since the URL was last enabled (the 70 % rule's).
    since_enabled: (u64, u64),
    in_a_row: u64,
    disabled: Option<(Instant, DateTime<Utc>)>,
    frozen: Option<DateTime<Utc>>,
    last_probe: Option<Instant>,
}

impl Health {
    /// Whether an attempt due `now` is sent, with `unit` the retry unit.
    pub fn gate(&mut self, now: Instant, unit: Duration) -> Gate {
        if self.frozen.is_some() {
            return Gate::Drop;
        }
        let Some((since, _)) = self.disabled else {
            return Gate::Send;
        };
        let last = self.last_probe.unwrap_or(since);
        if now.saturating_duration_since(last) >= scaled(unit, PROBE_SECS) {
            self.last_probe = Some(now);
            return Gate::Send;
        }
        Gate::Withhold
    }

    /// Count an attempt's outcome at `now` (`at` on the wall clock) and apply the rule.
    pub fn record(&mut self, ok: bool, now: Instant, at: DateTime<Utc>, unit: Duration) {
        if ok {
            self.successes += 1;
            self.in_a_row = 0;
            if self.disabled.is_some() && self.frozen.is_none() {
                // The URL answers again: enabled, its rule starting afresh.
                self.disabled = None;
                self.last_probe = None;
                self.since_enabled = (0, 0);
            }
            self.since_enabled.0 += 1;
            return;
        }
        self.failures += 1;
        self.in_a_row += 1;
        self.since_enabled.0 += 1;
        self.since_enabled.1 += 1;
        match self.disabled {
            None => {
                let (messages, failed) = self.since_enabled;
                // More than 70 %: failed / messages > 7 / 10, in whole numbers.
                let rate = messages >= MESSAGES && failed * 10 > messages * 7;
                if rate || self.in_a_row >= IN_A_ROW {
                    self.disabled = Some((now, at));
                }
            }
            Some((since, _)) => {
                let long = now.saturating_duration_since(since) >= scaled(unit, FREEZE_SECS);
                if long && self.frozen.is_none() {
                    self.frozen = Some(at);
                }
            }
        }
    }

    /// When the URL was disabled, if it is.
    pub fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.disabled.map(|(_, at)| at)
    }

    /// When the URL was frozen, if it is.
    pub fn frozen_at(&self) -> Option<DateTime<Utc>> {
        self.frozen
    }
}

/// `secs` of Workfront's time in the simulator's, where Workfront's retry unit is `unit`.
fn scaled(unit: Duration, secs: u128) -> Duration {
    let nanos = unit.as_nanos() * secs * 10 / WORKFRONT_UNIT_TENTHS;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Duration = Duration::from_millis(84_800);

    struct Url {
        health: Health,
        start: Instant,
    }

    impl Url {
        fn new() -> Url {
            Url {
                health: Health::default(),
                start: Instant::now(),
            }
        }

        fn at(&self, secs: u64) -> Instant {
            self.start + Duration::from_secs(secs)
        }

        fn attempts(&mut self, ok: bool, n: u64, secs: u64) {
            for _ in 0..n {
                let now = self.at(secs);
                self.health.record(ok, now, Utc::now(), UNIT);
            }
        }
    }

    #[test]
    fn more_than_70_percent_failing_after_100_messages_disables() {
        let mut url = Url::new();
        url.attempts(false, 99, 0);
        assert!(url.health.disabled_at().is_none(), "99 messages: too few");
        url.attempts(false, 1, 0);
        assert!(url.health.disabled_at().is_some(), "the 100th");
        assert_eq!((url.health.successes, url.health.failures), (0, 100));

        let mut url = Url::new();
        url.attempts(true, 30, 0);
        url.attempts(false, 70, 0);
        assert!(
            url.health.disabled_at().is_none(),
            "70 % is not more than 70 %"
        );
        url.attempts(false, 1, 0);
        assert!(url.health.disabled_at().is_some(), "71 of 101");
    }

    #[test]
    fn two_thousand_failures_in_a_row_disable_whatever_the_rate() {
        let mut url = Url::new();
        url.attempts(true, 1_000, 0);
        url.attempts(false, 1_999, 0);
        assert!(url.health.disabled_at().is_none(), "1,999 of 2,999: 67 %");
        url.attempts(false, 1, 0);
        assert!(url.health.disabled_at().is_some(), "the 2,000th in a row");
    }

    #[test]
    fn a_disabled_url_gets_a_probe_every_10_minutes_then_is_enabled_or_frozen() {
        let mut url = Url::new();
        assert_eq!(url.health.gate(url.at(0), UNIT), Gate::Send);
        url.attempts(false, 100, 0);
        assert_eq!(url.health.gate(url.at(1), UNIT), Gate::Withhold);
        assert_eq!(url.health.gate(url.at(599), UNIT), Gate::Withhold);
        assert_eq!(url.health.gate(url.at(600), UNIT), Gate::Send, "the probe");
        assert_eq!(
            url.health.gate(url.at(601), UNIT),
            Gate::Withhold,
            "one a probe"
        );
        url.attempts(false, 1, 601);
        assert!(url.health.frozen_at().is_none());
        assert_eq!(url.health.gate(url.at(1_200), UNIT), Gate::Send);
        url.attempts(true, 1, 1_200);
        assert!(
            url.health.disabled_at().is_none(),
            "a probe that succeeds enables"
        );
        url.attempts(false, 98, 1_201);
        assert!(
            url.health.disabled_at().is_none(),
            "the rule starts afresh: 99 messages"
        );
        url.attempts(false, 1, 1_201);
        let failing_since = 1_201;
        assert!(url.health.disabled_at().is_some());
        let day = 86_400;
        assert_eq!(
            url.health.gate(url.at(failing_since + day), UNIT),
            Gate::Send
        );
        url.attempts(false, 1, failing_since + day);
        assert!(url.health.frozen_at().is_some(), "a day of failing probes");
        assert_eq!(
            url.health.gate(url.at(failing_since + 2 * day), UNIT),
            Gate::Drop
        );
        url.attempts(true, 1, failing_since + 2 * day);
        assert!(url.health.frozen_at().is_some(), "frozen for good");
    }

    #[test]
    fn the_probe_interval_scales_with_the_retry_unit() {
        let unit = Duration::from_millis(848);
        let mut health = Health::default();
        let start = Instant::now();
        for _ in 0..100 {
            health.record(false, start, Utc::now(), unit);
        }
        let probe = Duration::from_secs(6);
        assert_eq!(
            health.gate(start + probe - Duration::from_millis(1), unit),
            Gate::Withhold
        );
        assert_eq!(health.gate(start + probe, unit), Gate::Send);
    }
}
