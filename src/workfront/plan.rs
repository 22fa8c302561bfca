//! Planning the windows of a query: the range is counted and, when it holds more than
//! [`WINDOW_TARGET`] entries, split where its entries are (save a burst on one millisecond),
//! and the windows are handed out in time order, each as soon as it and every window before it
//! are final, so pages of the first windows are fetched while later ones are still being split.
//!
//! What it costs (issue 14): a range of up to [`WINDOW_TARGET`] entries costs one count and its
//! pages, nothing else: the first page goes out with the count, and the other pages as soon as
//! the count is in. A bigger range is split at its quantiles, read with one-row probes at
//! offsets (`$$FIRST = k·count/parts`, `$$LIMIT = 1`), so every part holds about the same
//! number of entries whatever the shape of the data (working hours, quiet weekends, months
//! without a change): no request is ever made for a stretch of time, only for positions among
//! the entries. Each split costs a probe and a count per part.

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, BoxStream, FuturesOrdered};
use futures::{StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::model::date::format_utc_ms;
use crate::workfront::client::Client;
use crate::workfront::object::{Convert, Keyed, ObjectType};
use crate::workfront::query::{MAX_PAGE, Search};
use crate::workfront::task::Task;
#[cfg(doc)]
use crate::workfront::window::WINDOW_TARGET;
use crate::workfront::window::Window;

/// A window of the plan, or one still to split.
enum Node {
    Ready(Window),
    Split(Window),
}

impl Node {
    /// Empty windows are dropped: no page request is ever made for them.
    fn of(w: Window) -> Option<Node> {
        match w.count {
            0 => None,
            _ if w.too_big() => Some(Node::Split(w)),
            _ => Some(Node::Ready(w)),
        }
    }
}

/// A window of the plan, with its first page when the plan asked for it already.
pub struct Planned<T> {
    pub window: Window,
    /// Page 0 of the whole range, asked for with the count (see [`first_page_of`]); on the
    /// first window only.
    pub first_page: Option<Task<Vec<T>>>,
    /// On the first window: Workfront's count for the whole range, known before any split.
    pub total: Option<u64>,
}

/// The windows of the query, in time order. Every window that must be split is split as soon
/// as it is counted, all at once, and each window is handed out as soon as it and every window
/// before it are final. The first comes with the range's first page, asked for with the count.
pub fn plan<'a, O: ObjectType, T: Keyed + Send + 'static>(
    client: &'a Client,
    filters: &'a Search<O>,
    convert: impl Convert<O, T>,
) -> impl futures::Stream<Item = Result<Planned<T>>> + 'a {
    stream::once(root(client, filters, convert))
        .map_ok(move |(total, root, page)| {
            let mut page = Some(page);
            let mut total = Some(total);
            let windows = match root {
                Some(node) => subtree(client, filters, convert, node),
                None => stream::empty().boxed(),
            };
            windows.map_ok(move |window| Planned {
                window,
                first_page: page.take(),
                total: total.take(),
            })
        })
        .try_flatten()
}

/// Page 0 of the first window, from page 0 of the whole range: the window starts where the
/// range starts, so the range's first entries are the window's, up to its end. Kept only when
/// it holds no entry before the window (one journaled since the window was counted, in a part
/// then empty): the entries from the window's end on are dropped, and a page left short by
/// that has seen the window's end, as a short page does.
pub fn first_page_of<R: Keyed>(window: &Window, page: Vec<R>) -> Option<Vec<R>> {
    let since = format_utc_ms(&window.since);
    let until = format_utc_ms(&window.until);
    let before_end = |f: &R| f.sort_key().0 < until.as_str();
    if page.iter().any(|f| f.sort_key().0 < since.as_str()) {
        return None;
    }
    Some(page.into_iter().filter(before_end).collect())
}

/// The final windows of one node, in time order.
fn subtree<'a, O: ObjectType, T: Keyed + Send + 'static>(
    client: &'a Client,
    filters: &'a Search<O>,
    convert: impl Convert<O, T>,
    node: Node,
) -> BoxStream<'a, Result<Window>> {
    match node {
        Node::Ready(w) => stream::once(async move { Ok(w) }).boxed(),
        // Every part is planned at once; a part that needs no split is ready as soon as its
        // count (and those before it) are in.
        Node::Split(w) => parts(client, filters, convert, w)
            .try_filter_map(|w| async move { Ok(Node::of(w)) })
            .map_ok(move |node| subtree(client, filters, convert, node).try_collect::<Vec<_>>())
            .try_buffered(MAX_PARTS_IN_PLANNING)
            .map_ok(|ws| stream::iter(ws.into_iter().map(Ok)))
            .try_flatten()
            .boxed(),
    }
}

/// How many parts of one window are planned at once.
const MAX_PARTS_IN_PLANNING: usize = 512;

/// The whole range as one window, counted. The first page goes out with the count, and is
/// not waited for: the plan (and the other pages) start from the count alone.
async fn root<O: ObjectType, T: Keyed + Send + 'static>(
    client: &Client,
    filters: &Search<O>,
    convert: impl Convert<O, T>,
) -> Result<(u64, Option<Node>, Task<Vec<T>>)> {
    let page = {
        let (client, object) = (client.clone(), filters.object.clone());
        let params = filters.page_params(0, MAX_PAGE);
        Task::spawn(async move { client.page(&object, &params, convert).await })
    };
    let count = client
        .count(&filters.object, &filters.count_params())
        .await?;
    // Without --since the range starts at the epoch: the same entries as "before --until"
    // (Workfront has none older), as one window whose start is a date.
    let root = Window {
        since: filters.since.unwrap_or(DateTime::UNIX_EPOCH),
        until: filters.until,
        count,
    };
    Ok((count, Node::of(root), page))
}

/// Split one window at its quantiles and count the parts, yielding each part in order as soon
/// as its count is in (see the module doc). The probes and then the counts go out all at once.
fn parts<'a, O: ObjectType, T: Keyed + Send + 'static>(
    client: &'a Client,
    filters: &'a Search<O>,
    convert: impl Convert<O, T>,
    w: Window,
) -> impl futures::Stream<Item = Result<Window>> + 'a {
    // Each request is a task of its own: it completes, and frees its slot, even while the
    // planner waits for the pages to catch up.
    let count_of = move |(since, until): (DateTime<Utc>, DateTime<Utc>)| {
        let mut part = Window {
            since,
            until,
            count: 0,
        };
        let params = part.scope(filters).count_params();
        let (client, object) = (client.clone(), filters.object.clone());
        let count = Task::spawn(async move { client.count(&object, &params).await });
        async move {
            part.count = count.await?;
            Ok::<Window, Error>(part)
        }
    };
    stream::once(async move {
        let probes: FuturesOrdered<_> = w
            .quantiles()
            .into_iter()
            .map(|offset| {
                let probe = w.scope(filters).page_params(offset as usize, 1);
                let (client, object) = (client.clone(), filters.object.clone());
                Task::spawn(async move { client.search(&object, &probe, convert).await })
            })
            .collect();
        let found: Vec<Vec<T>> = probes.try_collect().await?;
        let dates: Vec<DateTime<Utc>> = found
            .iter()
            .filter_map(|p| p.first())
            .filter_map(instant)
            .collect();
        let mut parts = cut(&w, &dates);
        let last = parts
            .pop()
            .ok_or_else(|| Error::Internal("a window split into no parts".into()))?;
        let counted: FuturesOrdered<_> = parts.into_iter().map(count_of).collect();
        Ok::<_, Error>((counted, last))
    })
    .map_ok(move |(counted, last)| {
        // The parts cover the window exactly, so the last part's count is the window's less
        // the others': one request saved per split. The parent was counted before its parts,
        // so on a live tenant the difference can fall short, never over (and a window's
        // paging reads on to its end anyway); only a part counted 0 is known to be empty, so
        // a derived 0 is counted.
        stream::try_unfold(Some((counted, last, 0u64)), move |state| async move {
            let Some((mut counted, last, sum)) = state else {
                return Ok(None);
            };
            if let Some(part) = counted.next().await {
                let part = part?;
                return Ok(Some((part, Some((counted, last, sum + part.count)))));
            }
            let part = match w.count.saturating_sub(sum) {
                0 => count_of(last).await?,
                count => Window {
                    since: last.0,
                    until: last.1,
                    count,
                },
            };
            Ok(Some((part, None)))
        })
    })
    .try_flatten()
}

/// The parts of `w` cut at the dates its quantile probes found. A date two probes share holds
/// at least a part's worth of entries on one millisecond (a bulk edit, which no cut in time
/// divides): that millisecond gets a part of its own, so the parts around it are small and
/// the burst is paged whole; every other date starts a part. At least two parts come out of a
/// window wider than a millisecond, so splitting always makes progress.
fn cut(w: &Window, dates: &[DateTime<Utc>]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let ms = Duration::milliseconds(1);
    let mut bounds: Vec<DateTime<Utc>> = Vec::with_capacity(dates.len() * 2 + 1);
    for (i, &d) in dates.iter().enumerate() {
        bounds.push(d);
        let shared = dates[i + 1..].contains(&d) || (i > 0 && dates[..i].contains(&d));
        if shared || d == w.since {
            bounds.push(d + ms);
        }
    }
    if bounds.iter().all(|b| *b <= w.since || *b >= w.until) {
        // No probe fell inside (the entries moved while probing): halve the window in time.
        bounds.push(w.since + (w.until - w.since) / 2);
    }
    bounds.retain(|b| w.since < *b && *b < w.until);
    bounds.sort();
    bounds.dedup();
    let mut parts = Vec::with_capacity(bounds.len() + 1);
    let mut from = w.since;
    for b in bounds {
        parts.push((from, b));
        from = b;
    }
    parts.push((from, w.until));
    parts
}

/// A record's instant, when its date reads as one.
fn instant(record: &impl Keyed) -> Option<DateTime<Utc>> {
    Some(record)
        .filter(|r| r.comparable())
        .and_then(|r| crate::model::date::parse_timestamp(r.sort_key().0))
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workfront::jrnle::JournalEntry;

    fn entry(id: &str, date: &str) -> JournalEntry {
        JournalEntry::from_json(&format!(r#"{{"ID":"{id}","entryDate":"{date}"}}"#))
    }

    #[test]
    fn the_ranges_first_page_serves_the_first_window_up_to_its_end() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let window = Window {
            since: t("2025-01-01T00:00:00Z"),
            until: t("2025-01-02T00:00:00Z"),
            count: 2,
        };
        let page = vec![
            entry("a", "2025-01-01T00:00:00:000+0000"),
            entry("b", "2025-01-01T23:59:59:999+0000"),
            entry("c", "2025-01-02T00:00:00:000+0000"),
        ];
        let kept = first_page_of(&window, page).unwrap();
        let ids: Vec<_> = kept.iter().map(|f| f.id().unwrap()).collect();
        assert_eq!(ids, ["a", "b"], "the window's end is exclusive");
        // An entry before the window (journaled into a part counted empty) voids the page.
        let early = vec![
            entry("z", "2024-12-31T23:59:59:999+0000"),
            entry("a", "2025-01-01T00:00:00:000+0000"),
        ];
        assert!(first_page_of(&window, early).is_none());
    }

    #[test]
    fn cuts_start_parts_at_the_probed_dates_and_give_a_shared_millisecond_its_own() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let w = Window {
            since: t("2025-01-01T00:00:00Z"),
            until: t("2025-01-05T00:00:00Z"),
            count: 300_000,
        };
        let ms = Duration::milliseconds(1);
        let (a, b) = (t("2025-01-02T00:00:00Z"), t("2025-01-03T00:00:00Z"));
        assert_eq!(cut(&w, &[a, b]), vec![(w.since, a), (a, b), (b, w.until)]);
        // Two probes on one millisecond: a burst, carved out.
        assert_eq!(
            cut(&w, &[a, a, b]),
            vec![(w.since, a), (a, a + ms), (a + ms, b), (b, w.until)]
        );
        // A burst at the window's start: carved too, so the split makes progress.
        assert_eq!(
            cut(&w, &[w.since, w.since]),
            vec![(w.since, w.since + ms), (w.since + ms, w.until)]
        );
        // Nothing inside: halved in time.
        assert_eq!(cut(&w, &[]).len(), 2);
        for dates in [vec![a, b], vec![a, a, b], vec![w.since], vec![]] {
            let parts = cut(&w, &dates);
            assert_eq!(parts[0].0, w.since);
            assert_eq!(parts.last().unwrap().1, w.until);
            assert!(parts.windows(2).all(|p| p[0].1 == p[1].0), "contiguous");
            assert!(parts.iter().all(|(x, y)| x < y), "non-empty");
        }
    }
}
