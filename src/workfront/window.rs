//! Windows of a query's time range small enough that no page needs a deep `$$FIRST`: a
//! window is paged by offset from its start, so its size is the deepest offset asked for.

use chrono::{DateTime, Duration, Utc};

use crate::workfront::object::ObjectType;
use crate::workfront::query::Search;

/// A window holds at most this many entries, when time can split it that far: the deepest
/// `$$FIRST` a page asks for (issue 14). Workfront documents no cost for an offset, but the
/// database still walks past the rows it skips; 100,000 keeps that walk to 50 pages' worth of
/// the rows it already sorts, while a range of up to 100,000 entries costs one count and its
/// pages and nothing else. (Windows of 10,000 cost a count and an extra page each: 102
/// requests for 100,000 entries where 52 do. BENCHMARKS.md has the figures.)
pub const WINDOW_TARGET: u64 = 100_000;

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

    /// The offsets, in the window's `(entryDate, ID)` order, of the entries to cut it at: as
    /// many equal parts as the count needs, with a fiftieth to spare so that ties at a cut
    /// rarely push a part over the target (which would cost another split).
    pub fn quantiles(&self) -> Vec<u64> {
        let parts = (self.count + self.count / 50)
            .div_ceil(WINDOW_TARGET)
            .clamp(2, MAX_PARTS);
        (1..parts).map(|k| self.count * k / parts).collect()
    }

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
    fn quantiles_cut_into_parts_under_the_target() {
        for count in [WINDOW_TARGET + 1, 1_000_000, 2_345_678, 1_000_000_000] {
            let q = w(1000, count).quantiles();
            let parts = q.len() as u64 + 1;
            assert!(parts >= 2);
            assert!(parts <= MAX_PARTS);
            assert!(q.windows(2).all(|p| p[0] < p[1]), "increasing");
            assert!(*q.last().unwrap() < count);
            if parts < MAX_PARTS {
                assert!(
                    count.div_ceil(parts) < WINDOW_TARGET,
                    "{count}: {parts} parts"
                );
            }
        }
        assert_eq!(w(1000, 1_000_000).quantiles().len(), 10, "11 parts for 1M");
        assert_eq!(w(1000, WINDOW_TARGET + 1).quantiles().len(), 1);
    }

    #[test]
    fn displays_as_a_half_open_range() {
        assert_eq!(
            w(1500, 3).to_string(),
            "[2025-01-01T00:00:00.000Z, 2025-01-01T00:00:01.500Z)"
        );
    }
}
