//! Splitting a query's time range into windows small enough to page quickly, so that pages of
//! several windows can be fetched at once and no page needs a deep `$$FIRST`.

use chrono::{DateTime, Duration, Utc};

use crate::workfront::object::ObjectType;
use crate::workfront::query::Search;

/// A window holds at most this many entries, when time can split it that far: five pages.
pub const WINDOW_TARGET: u64 = 10_000;

/// Into how many parts one split cuts a window at most.
const MAX_PARTS: u64 = 256;

/// `[since, until)` with Workfront's count for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub count: u64,
}

impl Window {
    /// Whether a window must be split: too many entries and more than one millisecond wide.
    /// (A bulk edit can put any number of entries on one millisecond; such a window is paged
    /// whole, which its sort key `(entryDate, ID)` keeps exact.)
    pub fn too_big(&self) -> bool {
        self.count > WINDOW_TARGET && self.until - self.since > Duration::milliseconds(1)
    }

    /// Equal slices of time, as many as the count says are needed, each at least 1 ms.
    pub fn split(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let width = (self.until - self.since).num_milliseconds().max(1) as u64;
        // A tenth more parts than the count strictly needs, so that most uneven parts still
        // fit; a part that does not is split again. (`benches/split_model.py` counts the
        // requests, counts and pages together, on uniform and daily-rhythm data: 1.05 to 1.1
        // cost the fewest overall; 1.5, used before, up to 13 % more.)
        let parts = (self.count + self.count / 10)
            .div_ceil(WINDOW_TARGET)
            .clamp(2, MAX_PARTS)
            .min(width);
        (0..parts)
            .map(|i| {
                let at = |k: u64| self.since + Duration::milliseconds((width * k / parts) as i64);
                (
                    at(i),
                    if i + 1 == parts {
                        self.until
                    } else {
                        at(i + 1)
                    },
                )
            })
            .collect()
    }
}

impl Window {
    /// `base`, limited to this window.
    pub fn scope<O: ObjectType>(&self, base: &Search<O>) -> Search<O> {
        base.within(self.since, self.until)
    }
}

/// `[since, until)`, for messages.
impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::model::date::format_utc_ms;
        write!(
            f,
            "[{}, {})",
            format_utc_ms(&self.since),
            format_utc_ms(&self.until)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(ms: i64, count: u64) -> Window {
        let since: DateTime<Utc> = "2025-01-01T00:00:00Z".parse().unwrap();
        Window {
            since,
            until: since + Duration::milliseconds(ms),
            count,
        }
    }

    #[test]
    fn small_windows_and_single_milliseconds_are_not_split() {
        assert!(!w(1000, WINDOW_TARGET).too_big());
        assert!(w(1000, WINDOW_TARGET + 1).too_big());
        assert!(
            !w(1, 1_000_000).too_big(),
            "one millisecond cannot be split"
        );
    }

    #[test]
    fn splits_cover_the_window_exactly_without_overlap() {
        for (ms, count) in [
            (1000, 25_000),
            (3, 1_000_000),
            (86_400_000, 5_000_000),
            (7, 20_001),
        ] {
            let win = w(ms, count);
            let parts = win.split();
            assert!(parts.len() >= 2 || ms < 2, "{ms} {count}");
            assert_eq!(parts[0].0, win.since);
            assert_eq!(parts.last().unwrap().1, win.until);
            for pair in parts.windows(2) {
                assert_eq!(pair[0].1, pair[1].0, "contiguous");
            }
            assert!(parts.iter().all(|(a, b)| a < b), "non-empty");
            assert!(parts.len() as u64 <= MAX_PARTS);
        }
        assert_eq!(w(1000, 25_000).split().len(), 3);
        assert_eq!(w(1000, 10_001).split().len(), 2);
    }

    #[test]
    fn displays_as_a_half_open_range() {
        assert_eq!(
            w(1500, 3).to_string(),
            "[2025-01-01T00:00:00.000Z, 2025-01-01T00:00:01.500Z)"
        );
    }
}
