//! Fetching every entry of a query exactly once, fast and in constant memory: the range is
//! split into counted windows, pages of several windows are fetched concurrently (the client
//! caps requests in flight), and each window is checked against its count and handed on in
//! `(entry_date, id)` order as soon as it is complete.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::report;
use crate::workfront::client::{Client, Fetched};
use crate::workfront::paging::{self, Chain, Step};
use crate::workfront::query::{
    Filters, MAX_PAGE, Params, filter_params, last_entry_params, search_params,
};
use crate::workfront::window::{WINDOW_TARGET, Window};

/// How many times a window is fetched in full before a count mismatch is final.
pub const FETCH_ATTEMPTS: usize = 3;

/// What a fetch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    pub windows: usize,
    pub entries: u64,
    /// Workfront's count for the whole range, from the plan.
    pub expected: u64,
}

/// Fetch every entry matching `filters` and hand them to `emit`, one window at a time, in
/// `(entry_date, id)` order, each exactly once.
pub async fn fetch(
    client: &Client,
    filters: &Filters,
    concurrency: usize,
    progress: &indicatif::ProgressBar,
    mut emit: impl FnMut(Vec<Fetched>) -> Result<()>,
) -> Result<FetchStats> {
    let mut emit = |batch: Vec<Fetched>| {
        progress.inc(batch.len() as u64);
        emit(batch)
    };
    let mut stats = FetchStats::default();
    // Windows come from the planner in time order as soon as they are final, while it goes on
    // splitting later ones; every page of every window is a request, and `try_buffered` keeps
    // `concurrency` of them in flight (planning counts share the client's cap) and yields the
    // pages in order, so at most that many pages wait beside the window being assembled.
    let pages = plan(client, filters)
        .inspect_ok(|w| {
            progress.inc_length(w.count);
            report::debug(format!("window {w}: {} entries", w.count));
        })
        .enumerate()
        .map(|(i, w)| {
            w.map(|w| {
                futures::stream::iter((0..paging::pages_for(w.count)).map(move |p| Ok((i, w, p))))
            })
        })
        .try_flatten()
        .map_ok(|(i, w, p)| {
            let params = search_params(&window_filters(filters, &w), paging::offset(p), MAX_PAGE);
            async move { client.search(&params).await.map(|page| (i, w, page)) }
        })
        .try_buffered(concurrency.max(1));
    futures::pin_mut!(pages);
    let mut current: Option<Assembly> = None;
    while let Some((i, w, page)) = pages.try_next().await? {
        if current.as_ref().is_none_or(|c| c.index != i) {
            if let Some(done) = current.take() {
                stats.entries += done.finish(client, filters, &mut emit).await?;
            }
            stats.windows += 1;
            stats.expected += w.count;
            current = Some(Assembly::new(i, w));
        }
        if let Some(c) = current.as_mut() {
            c.add(page, &mut emit)?;
        }
    }
    if let Some(done) = current.take() {
        stats.entries += done.finish(client, filters, &mut emit).await?;
    }
    report::verbose(format!(
        "{} entries in {} windows",
        stats.expected, stats.windows
    ));
    Ok(stats)
}

/// The window whose pages are arriving, checked page by page (see [`paging`]). A window of up
/// to [`WINDOW_TARGET`] entries is gathered whole, so a count mismatch can be mended by fetching
/// it again before anything of it is written. A bigger one (a burst on one millisecond, which
/// no split divides) is passed on page by page to keep memory flat: its pages come sorted on
/// the unique key `(entryDate, ID)`, so an entry repeated across a page boundary is dropped by
/// keeping only keys above the last one passed on.
struct Assembly {
    index: usize,
    window: Window,
    streaming: bool,
    chain: Chain,
    /// Set when a page did not touch the one before it: the planned pages still arriving are
    /// dropped, and paging resumes in order.
    gap: bool,
    records: Vec<Fetched>,
    passed: u64,
    last_key: Option<(String, String)>,
}

impl Assembly {
    fn new(index: usize, w: Window) -> Assembly {
        Assembly {
            index,
            window: w,
            streaming: w.count > WINDOW_TARGET,
            chain: Chain::default(),
            gap: false,
            records: Vec::new(),
            passed: 0,
            last_key: None,
        }
    }

    /// A planned page, in page order.
    fn add(
        &mut self,
        page: Vec<Fetched>,
        emit: &mut impl FnMut(Vec<Fetched>) -> Result<()>,
    ) -> Result<()> {
        if self.gap {
            return Ok(());
        }
        match self.chain.take(&page) {
            Step::Past => Ok(()),
            Step::Gap => {
                report::verbose(format!(
                    "entries appeared in {} while its pages were read; reading on in order",
                    self.window
                ));
                self.gap = true;
                self.chain.resume_at();
                Ok(())
            }
            Step::More | Step::End => self.keep(page, emit),
        }
    }

    fn keep(
        &mut self,
        mut page: Vec<Fetched>,
        emit: &mut impl FnMut(Vec<Fetched>) -> Result<()>,
    ) -> Result<()> {
        if !self.streaming {
            self.records.extend(page);
            return Ok(());
        }
        page.sort_by(|a, b| a.record.sort_key().cmp(&b.record.sort_key()));
        let last = self.last_key.take();
        page.retain(|f| {
            last.as_ref()
                .is_none_or(|(d, id)| f.record.sort_key() > (d.as_str(), id.as_str()))
        });
        self.last_key = match page.last() {
            Some(f) => {
                let (d, id) = f.record.sort_key();
                Some((d.to_string(), id.to_string()))
            }
            None => last,
        };
        self.passed += page.len() as u64;
        emit(page)
    }

    /// Read on in order until a short page proves the end, check the window against its count
    /// and pass on what is still held. Returns how many entries the window passed on in all.
    async fn finish(
        mut self,
        client: &Client,
        filters: &Filters,
        emit: &mut impl FnMut(Vec<Fetched>) -> Result<()>,
    ) -> Result<u64> {
        let window = self.window;
        let wf = window_filters(filters, &window);
        let mut chain = std::mem::take(&mut self.chain);
        let unbroken = read_in_order(client, &wf, &mut chain, |page| self.keep(page, emit)).await?;
        if !self.streaming {
            let done = complete_window(client, &wf, window, self.records, unbroken).await?;
            let n = done.len() as u64;
            emit(done)?;
            return Ok(n);
        }
        if unbroken && accept(client, &wf, window.count, self.passed).await? {
            return Ok(self.passed);
        }
        // Part of this window is already written: it cannot be fetched again.
        Err(Error::Incomplete {
            window: wf.window(),
            expected: window.count,
            got: self.passed,
        })
    }
}

/// Read a window's pages in order, from the page `chain` expects next until a short page,
/// handing each on. Read in order, pages cannot leave a gap on a live tenant; one that does
/// shows an inconsistent server: `false`.
async fn read_in_order(
    client: &Client,
    filters: &Filters,
    chain: &mut Chain,
    mut take: impl FnMut(Vec<Fetched>) -> Result<()>,
) -> Result<bool> {
    while !chain.ended() {
        let params = search_params(filters, paging::offset(chain.next_page()), MAX_PAGE);
        let page = client.search(&params).await?;
        match chain.take(&page) {
            Step::Gap => return Ok(false),
            Step::Past => break,
            Step::More | Step::End => take(page)?,
        }
    }
    Ok(true)
}

fn window_filters(base: &Filters, w: &Window) -> Filters {
    Filters {
        since: Some(w.since),
        until: w.until,
        ..base.clone()
    }
}

/// A window of the plan, or one still to split.
enum Node {
    Ready(Window),
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

/// The windows of the query, in time order, each handed out as soon as it and every window
/// before it are final. The range is counted, then windows that hold too many entries are
/// split until none does, all the windows waiting for a split at once.
pub fn plan<'a>(
    client: &'a Client,
    filters: &'a Filters,
) -> impl futures::Stream<Item = Result<Window>> + 'a {
    futures::stream::try_unfold(None, move |frontier: Option<VecDeque<Node>>| async move {
        let mut frontier = match frontier {
            Some(f) => f,
            None => root(client, filters).await?.into_iter().collect(),
        };
        loop {
            match frontier.pop_front() {
                None => return Ok(None),
                Some(Node::Ready(w)) => return Ok(Some((w, Some(frontier)))),
                Some(split) => {
                    frontier.push_front(split);
                    let pending: Vec<(Window, bool)> = frontier
                        .iter()
                        .filter_map(|n| match n {
                            Node::Split(w, c) => Some((*w, *c)),
                            Node::Ready(_) => None,
                        })
                        .collect();
                    let mut parts = futures::future::try_join_all(
                        pending
                            .iter()
                            .map(|(w, c)| split_window(client, filters, *w, *c)),
                    )
                    .await?
                    .into_iter();
                    frontier = frontier
                        .into_iter()
                        .flat_map(|n| match n {
                            Node::Ready(w) => vec![Node::Ready(w)],
                            Node::Split(..) => parts
                                .next()
                                .unwrap_or_default()
                                .into_iter()
                                .filter_map(|(w, c)| Node::of(w, c))
                                .collect(),
                        })
                        .collect();
                }
            }
        }
    })
}

/// The whole range as one window, counted, and narrowed to where its entries are when it
/// must be split.
async fn root(client: &Client, filters: &Filters) -> Result<Option<Node>> {
    let Some(since) = start_of(client, filters).await? else {
        return Ok(None);
    };
    let mut root = Window {
        since,
        until: filters.until,
        count: client
            .count(&filter_params(&Filters {
                since: Some(since),
                ..filters.clone()
            }))
            .await?,
    };
    if root.too_big() {
        // Narrow the range to where the entries are (two one-row probes): entries that fill
        // a few days of a range of years would otherwise cost a level of counts.
        let scope = window_filters(filters, &root);
        let (first, last) = futures::future::try_join(
            async {
                match filters.since {
                    Some(_) => client.search(&search_params(&scope, 0, 1)).await,
                    None => Ok(Vec::new()),
                }
            },
            client.search(&last_entry_params(&scope)),
        )
        .await?;
        if let Some(first) = first.first().and_then(|f| instant(&f.record)) {
            root.since = root.since.max(first);
        }
        if let Some(last) = last.first().and_then(|f| instant(&f.record)) {
            root.until = root.until.min(last + Duration::milliseconds(1));
        }
    }
    Ok(Node::of(root, false))
}

/// Split one window in time and count the parts. Each part comes with whether it holds most
/// of its parent's entries: such a part may hold a burst (a bulk edit puts thousands of
/// entries on one millisecond, which no split in time can divide), so its next split also
/// gives the millisecond of its middle entry a part of its own, found with one probe, instead
/// of closing in on it level by level.
async fn split_window(
    client: &Client,
    filters: &Filters,
    w: Window,
    concentrated: bool,
) -> Result<Vec<(Window, bool)>> {
    let mut parts = w.split();
    if concentrated {
        let probe = search_params(&window_filters(filters, &w), (w.count / 2) as usize, 1);
        let middle = client.search(&probe).await?;
        if let Some(m) = middle.first().and_then(|f| instant(&f.record)) {
            parts = carve(&parts, m);
        }
    }
    // The parts cover the window exactly, so the last part's count is the window's less the
    // others': one request saved per split. (Should entries arrive meanwhile, the window's
    // completeness check still holds it to a fresh count.)
    let (_, counted) = parts
        .split_last()
        .ok_or_else(|| Error::Internal("a window split into no parts".into()))?;
    let mut counts = futures::future::try_join_all(counted.iter().map(|(a, b)| {
        let params: Params = filter_params(&Filters {
            since: Some(*a),
            until: *b,
            ..filters.clone()
        });
        async move { client.count(&params).await }
    }))
    .await?;
    // The parent was counted before its parts, so on a live tenant the difference can fall
    // short, never over. Only a part counted 0 is known to be empty: a derived 0 is counted.
    let derived = w.count.saturating_sub(counts.iter().sum());
    let derived = match (derived, parts.last()) {
        (0, Some((a, b))) => {
            client
                .count(&filter_params(&Filters {
                    since: Some(*a),
                    until: *b,
                    ..filters.clone()
                }))
                .await?
        }
        _ => derived,
    };
    counts.push(derived);
    Ok(parts
        .into_iter()
        .zip(counts)
        .map(|((since, until), count)| {
            let part = Window {
                since,
                until,
                count,
            };
            (part, count * 2 > w.count)
        })
        .collect())
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

fn instant(record: &crate::change::ChangeRecord<'_>) -> Option<DateTime<Utc>> {
    record
        .entry_date
        .as_deref()
        .and_then(crate::workfront::date::parse_timestamp)
        .map(|d| d.with_timezone(&Utc))
}

/// The start of the range: `--since`, or the first matching entry's instant (one request).
async fn start_of(client: &Client, filters: &Filters) -> Result<Option<DateTime<Utc>>> {
    if let Some(since) = filters.since {
        return Ok(Some(since));
    }
    let first = client.search(&search_params(filters, 0, 1)).await?;
    Ok(first.first().and_then(|f| instant(&f.record)))
}

/// Check a window's entries against its count, fetching it again where needed, and put them
/// in order. `unbroken`: the pages read touched each other up to a short page.
async fn complete_window(
    client: &Client,
    filters: &Filters,
    window: Window,
    mut records: Vec<Fetched>,
    unbroken: bool,
) -> Result<Vec<Fetched>> {
    dedupe_and_sort(&mut records);
    if unbroken && accept(client, filters, window.count, records.len() as u64).await? {
        return Ok(records);
    }
    // Slow path: fetch the window again, in order, until the counts agree.
    let mut last = (window.count, records.len() as u64);
    // The concurrent fetch was the first attempt.
    for attempt in 2..=FETCH_ATTEMPTS {
        report::warn(format!(
            "Workfront counts {} entries in {} but {} were fetched; fetching again ({attempt}/{FETCH_ATTEMPTS})",
            last.0,
            filters.window(),
            last.1
        ));
        let expected = client.count(&filter_params(filters)).await?;
        let mut records = Vec::new();
        let unbroken = read_in_order(client, filters, &mut Chain::default(), |page| {
            records.extend(page);
            Ok(())
        })
        .await?;
        dedupe_and_sort(&mut records);
        if unbroken && accept(client, filters, expected, records.len() as u64).await? {
            return Ok(records);
        }
        last = (expected, records.len() as u64);
    }
    Err(Error::Incomplete {
        window: filters.window(),
        expected: last.0,
        got: last.1,
    })
}

/// The completeness check. What was fetched must match Workfront's count. On a live tenant
/// entries keep being journaled, also into a window being fetched (an entry can become visible
/// a little after the instant it carries), so on a mismatch the count is taken again: a result
/// between the count before and the count after is every entry that existed when the fetch
/// began (journal entries are only ever added, and sorted offset paging never skips an entry
/// when others are inserted, it only repeats one, which is dropped), plus some that arrived
/// during it.
async fn accept(client: &Client, filters: &Filters, expected: u64, got: u64) -> Result<bool> {
    if got == expected {
        return Ok(true);
    }
    let after = client.count(&filter_params(filters)).await?;
    if expected <= got && got <= after {
        report::verbose(format!(
            "{} entries were journaled in {} during the fetch",
            after - expected,
            filters.window()
        ));
        return Ok(true);
    }
    Ok(false)
}

/// Keep each id once and put the window in `(entry_date, id)` order.
fn dedupe_and_sort(records: &mut Vec<Fetched>) {
    let mut seen = HashSet::with_capacity(records.len());
    records.retain(|f| match f.record.id.as_deref() {
        Some(id) => seen.insert(id.to_string()),
        None => true,
    });
    records.sort_by(|a, b| a.record.sort_key().cmp(&b.record.sort_key()));
}

#[cfg(test)]
mod tests {
    use super::*;

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
