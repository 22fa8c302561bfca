//! When and how long to wait before trying a request again: exponential backoff with full
//! jitter, `Retry-After` honoured, bounded by a number of tries and a total time; a refused
//! connection only within a short deadline from its first refusal.

use std::time::Duration;

use crate::rng::SplitMix64;

/// HTTP statuses worth another try: throttling (429, "Too many concurrent API requests") and
/// server or proxy trouble. Everything else (400, 401, 403, 404, 410, 422, ...) cannot succeed
/// by repeating it.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// Limits on retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub max_retries: u32,
    /// The first backoff ceiling; it doubles with each retry.
    pub base_delay: Duration,
    /// No single wait is longer than this (also caps `Retry-After`).
    pub max_delay: Duration,
    /// No retry starts after this much time has passed since the first try.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 8,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before retry number `retry` (1-based), or `None` to give up.
    /// `jitter` is uniform in `[0, 1)`; `retry_after` is the server's `Retry-After`.
    pub fn delay(
        &self,
        retry: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if retry > self.max_retries || elapsed >= self.max_elapsed {
            return None;
        }
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << (retry - 1).min(20))
            .min(self.max_delay);
        // Full jitter (AWS architecture blog): spreads retries of many clients apart.
        let backoff = ceiling.mul_f64(jitter.clamp(0.0, 1.0));
        let wait = match retry_after {
            Some(server) => server.min(self.max_delay).max(backoff),
            None => backoff,
        };
        if elapsed + wait > self.max_elapsed {
            return None;
        }
        Some(wait)
    }
}

/// A refused connection is tried again only this long after the request's first refusal: a
/// server restarting answers again within seconds, one that is not there never does, so the
/// minutes the retry budget allows would only keep the user waiting.
pub const REFUSED_FOR: Duration = Duration::from_secs(5);

/// The wait before trying again a request whose connection was refused, `since_refused` after
/// its first refusal, when the backoff chose `wait`; `None` to give up. The wait is cut so that
/// the next try starts no later than [`REFUSED_FOR`] after the first refusal, and none starts
/// after it: a refused request ends within `REFUSED_FOR` plus one connection attempt. (Without
/// the cut, a wait chosen at 4.9 s could be a backoff of 12.8 s, and refusals were retried for
/// 5.7 to 23.5 s.)
pub fn refused_wait(since_refused: Duration, wait: Duration) -> Option<Duration> {
    let left = REFUSED_FOR.checked_sub(since_refused)?;
    if left.is_zero() {
        return None;
    }
    Some(wait.min(left))
}

/// `Retry-After` as seconds or an HTTP date; `now` is for the date form.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (when.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// A source of jitter: seeded from the clock and process, so clients spread apart.
pub fn jitter_source() -> SplitMix64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    SplitMix64::new(nanos ^ u64::from(std::process::id()).rotate_left(32))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn only_throttling_and_server_trouble_are_retried() {
        for s in [429, 500, 502, 503, 504] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 410, 414, 422] {
            assert!(!retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_below_the_ceiling() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Duration::ZERO, None, 0.999_999)
                .unwrap()
                .as_millis(),
            199
        );
        assert_eq!(
            p.delay(3, Duration::ZERO, None, 0.5).unwrap(),
            Duration::from_millis(400)
        );
        assert_eq!(
            p.delay(8, Duration::ZERO, None, 0.5).unwrap(),
            Duration::from_millis(12_800)
        );
        assert_eq!(
            p.delay(2, Duration::ZERO, None, 0.0).unwrap(),
            Duration::ZERO
        );
        let big = RetryPolicy {
            max_retries: 40,
            ..p
        };
        assert_eq!(
            big.delay(40, Duration::ZERO, None, 1.0).unwrap(),
            big.max_delay
        );
    }

    #[test]
    fn gives_up_after_the_tries_or_the_time() {
        let p = RetryPolicy::default();
        assert!(p.delay(8, Duration::ZERO, None, 0.5).is_some());
        assert!(p.delay(9, Duration::ZERO, None, 0.5).is_none());
        assert!(p.delay(1, p.max_elapsed, None, 0.5).is_none());
        assert!(p.delay(1, p.max_elapsed - S, Some(10 * S), 0.5).is_none());
    }

    #[test]
    fn a_refused_connection_is_tried_again_within_five_seconds_of_its_first_refusal() {
        let ms = Duration::from_millis;
        assert_eq!(refused_wait(Duration::ZERO, ms(150)), Some(ms(150)));
        // The last wait is cut to the deadline, however long the backoff has grown.
        assert_eq!(refused_wait(ms(4_900), ms(12_800)), Some(ms(100)));
        assert_eq!(refused_wait(ms(4_999), 30 * S), Some(ms(1)));
        // At or past the deadline no try starts.
        assert_eq!(refused_wait(REFUSED_FOR, ms(10)), None);
        assert_eq!(refused_wait(REFUSED_FOR + ms(1), Duration::ZERO), None);
        // The whole schedule: every refusal answered at once (a refused connect takes no
        // time), waits chosen by the policy with the largest jitter. Each try starts within
        // the deadline, and the retries stop there, not at the policy's 9 tries.
        let p = RetryPolicy::default();
        let mut since = Duration::ZERO;
        let mut tries = 1;
        for retry in 1.. {
            let Some(wait) = p.delay(retry, since, None, 0.999_999) else {
                break;
            };
            let Some(wait) = refused_wait(since, wait) else {
                break;
            };
            since += wait;
            tries += 1;
            assert!(since <= REFUSED_FOR, "try {tries} at {since:?}");
        }
        assert_eq!(since, REFUSED_FOR, "the last try is at the deadline");
        assert!(tries < 9, "stopped by the deadline: {tries} tries");
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, Duration::ZERO, Some(5 * S), 0.5), Some(5 * S));
        assert_eq!(
            p.delay(1, Duration::ZERO, Some(3600 * S), 0.5),
            Some(p.max_delay)
        );
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after(" 7 ", now), Some(7 * S));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(30 * S)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
