//! Planning the windows of a query: the range is counted and split in time until no window
//! holds more than [`WINDOW_TARGET`] entries (save a burst on one millisecond), and the
//! windows are handed out in time order, each as soon as it and every window before it are
//! final, so pages of the first windows are fetched while later ones are still being split.

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, BoxStream, FuturesOrdered};
use futures::{StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::model::date::format_utc_ms;
use crate::workfront::client::{Client, Task};
use crate::workfront::object::{Convert, Keyed, ObjectType};
use crate::workfront::query::{MAX_PAGE, Search};
#[cfg(doc)]
use crate::workfront::window::WINDOW_TARGET;
use crate::workfront::window::Window;

/// A window of the plan, or one still to split.
enum Node {
    Ready(Window),
    /// With whether it holds most of its parent's entries (see [`parts`]).
    Split(Window, bool),
}

impl Node {
    /// Empty windows are dropped: no page request is ever made for them.
    fn of(w: Window, concentrated: bool) -> Option<Node> {
        match w.count {
            0 => None,
            _ if w.too_big() => Some(Node::Split(w, concentrated)),
            _ => Some(Node::Ready(w)),
        }
    }
}

/// A window of the plan, with its first page when the plan has read it already.
#[derive(Debug)]
pub struct Planned<T> {
    pub window: Window,
    /// Page 0 of the window (see [`first_page_of`]).
    pub first_page: Option<Vec<T>>,
    /// On the first window: Workfront's count for the whole range, known before any split.
    pub total: Option<u64>,
}

/// The windows of the query, in time order. Every window that must be split is split as soon
/// as it is counted, all at once, and each window is handed out as soon as it and every window
/// before it are final. The first comes with its first page, read while the range was counted.
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
                first_page: page.take().and_then(|p| first_page_of(&window, p)),
                total: total.take(),
            })
        })
        .try_flatten()
}

/// Page 0 of the first window, from page 0 of the whole range: the window starts where the
/// range's entries start, so the range's first entries are the window's, up to its end. Kept
/// only when it holds no entry before the window (one journaled since the window was
/// counted, in a part then empty): the entries from the window's end on are dropped, and a
/// page left short by that has seen the window's end, as a short page does.
fn first_page_of<R: Keyed>(window: &Window, page: Vec<R>) -> Option<Vec<R>> {
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
        Node::Split(w, concentrated) => parts(client, filters, convert, w, concentrated)
            .try_filter_map(|(w, c)| async move { Ok(Node::of(w, c)) })
            .map_ok(move |node| subtree(client, filters, convert, node).try_collect::<Vec<_>>())
            .try_buffered(MAX_PARTS_IN_PLANNING)
            .map_ok(|ws| stream::iter(ws.into_iter().map(Ok)))
            .try_flatten()
            .boxed(),
    }
}

/// How many parts of one window are planned at once (a split makes at most 256, and more
/// with a carved millisecond).
const MAX_PARTS_IN_PLANNING: usize = 512;

/// The whole range as one window, counted, and narrowed to where its entries are when it
/// must be split: entries that fill a few days of a range of years would otherwise cost a
/// level of counts. The count, the first page (which also shows the first entry) and a probe
/// for the last entry go out at once: one round trip, and a range of up to a page is then
/// fetched already; a small range has no use for the probe.
async fn root<O: ObjectType, T: Keyed + Send + 'static>(
    client: &Client,
    filters: &Search<O>,
    convert: impl Convert<O, T>,
) -> Result<(u64, Option<Node>, Vec<T>)> {
    let (count, page, last) = futures::future::try_join3(
        client.count(&filters.object, &filters.count_params()),
        client.page(&filters.object, &filters.page_params(0, MAX_PAGE), convert),
        client.search(&filters.object, &filters.last_params(), convert),
    )
    .await?;
    let first = page.first().and_then(instant);
    // Without --since the range starts at the first entry; should its date not read (which
    // Workfront does not send), at the epoch, so that what was counted is still fetched.
    let since = match (filters.since, first) {
        (Some(since), _) | (None, Some(since)) => since,
        (None, None) if count > 0 => DateTime::UNIX_EPOCH,
        (None, None) => return Ok((count, None, page)),
    };
    let mut root = Window {
        since,
        until: filters.until,
        count,
    };
    if root.too_big() {
        if let Some(first) = first {
            root.since = root.since.max(first);
        }
        if let Some(last) = last.first().and_then(instant) {
            root.until = root.until.min(last + Duration::milliseconds(1));
        }
    }
    Ok((count, Node::of(root, false), page))
}

/// Split one window in time and count the parts, yielding each part in order as soon as its
/// count is in. Each part comes with whether it holds most of its parent's entries: such a
/// part may hold a burst (a bulk edit puts thousands of entries on one millisecond, which no
/// split in time can divide), so its next split also gives the millisecond of its middle entry
/// a part of its own, found with one probe, instead of closing in on it level by level.
fn parts<'a, O: ObjectType, T: Keyed + Send + 'static>(
    client: &'a Client,
    filters: &'a Search<O>,
    convert: impl Convert<O, T>,
    w: Window,
    concentrated: bool,
) -> impl futures::Stream<Item = Result<(Window, bool)>> + 'a {
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
        let mut parts = w.split();
        if concentrated {
            let probe = w.scope(filters).page_params((w.count / 2) as usize, 1);
            let (client, object) = (client.clone(), filters.object.clone());
            let middle =
                Task::spawn(async move { client.search(&object, &probe, convert).await }).await?;
            if let Some(m) = middle.first().and_then(instant) {
                parts = carve(&parts, m);
            }
        }
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
        .map_ok(move |part| (part, part.count * 2 > w.count))
    })
    .try_flatten()
}

/// Give the millisecond `m` a part of its own, cutting the part that holds it.
fn carve(
    parts: &[(DateTime<Utc>, DateTime<Utc>)],
    m: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let next = m + Duration::milliseconds(1);
    let mut out = Vec::with_capacity(parts.len() + 2);
    for &(a, b) in parts {
        if a <= m && m < b {
            if a < m {
                out.push((a, m));
            }
            out.push((m, next.min(b)));
            if next < b {
                out.push((next, b));
            }
        } else {
            out.push((a, b));
        }
    }
    out
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
    fn carving_gives_the_millisecond_its_own_part_and_keeps_the_cover() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let parts = vec![
            (t("2025-01-01T00:00:00Z"), t("2025-01-02T00:00:00Z")),
            (t("2025-01-02T00:00:00Z"), t("2025-01-03T00:00:00Z")),
        ];
        let m = t("2025-01-02T00:00:00Z");
        let out = carve(&parts, m);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1], (m, m + Duration::milliseconds(1)));
        let m = t("2025-01-01T12:00:00Z");
        let out = carve(&parts, m);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].0, parts[0].0);
        assert_eq!(out.last().unwrap().1, parts[1].1);
        for pair in out.windows(2) {
            assert_eq!(pair[0].1, pair[1].0);
        }
        assert_eq!(carve(&parts, t("2030-01-01T00:00:00Z")), parts);
    }
}
