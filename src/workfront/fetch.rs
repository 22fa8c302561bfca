//! Fetching every entry of a query exactly once, fast and in constant memory: the range is
//! split into counted windows, pages of several windows are fetched concurrently (the client
//! caps requests in flight), and each window is checked against its count and handed on in
//! `(entry_date, id)` order as soon as it is complete.

use std::collections::HashSet;

use futures::future::Either;
use futures::{SinkExt, StreamExt, TryStreamExt};

use crate::console;
use crate::error::{Error, Result};
use crate::workfront::client::Client;
use crate::workfront::object::{Convert, Drift, Keyed, ObjectType};
use crate::workfront::paging::{self, Chain, Step};
use crate::workfront::plan::{Planned, first_page_of, plan};
use crate::workfront::query::{MAX_PAGE, Search};
use crate::workfront::task::Task;
#[cfg(doc)]
use crate::workfront::window::WINDOW_TARGET;
use crate::workfront::window::Window;

/// How many planned windows may wait for their pages (see [`plan_ahead`]).
const PLAN_AHEAD: usize = 64;

/// Pages lined up beyond the requests in flight (see [`pages`]).
const LOOKAHEAD: usize = 2;

/// How many times a window is fetched in full before a count mismatch is final.
pub const FETCH_ATTEMPTS: usize = 3;

/// A window of up to this many entries is gathered whole before it is passed on, so that a
/// count mismatch can be mended by fetching it again; a bigger one (up to [`WINDOW_TARGET`],
/// or a burst on one millisecond) is passed on page by page, to keep memory flat.
pub const GATHER_LIMIT: u64 = 10_000;

/// What a fetch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    pub windows: usize,
    pub entries: u64,
    /// Workfront's count for the whole range, from the plan.
    pub expected: u64,
}

/// Fetch every record matching `filters`, turn each page into the caller's records with
/// `convert` as it arrives, and hand them to `emit`, one window at a time, in `(date, ID)`
/// order, each exactly once.
pub async fn fetch<O: ObjectType, T: Keyed + Send + 'static>(
    client: &Client,
    filters: &Search<O>,
    concurrency: usize,
    progress: &indicatif::ProgressBar,
    convert: impl Convert<O, T>,
    mut emit: impl FnMut(Vec<T>) -> Result<()>,
) -> Result<FetchStats> {
    let emit = |batch: Vec<T>| {
        progress.inc(batch.len() as u64);
        emit(batch)
    };
    let (planner, planned) = plan_ahead(client, filters, convert);
    // The bar's total is the range's count from the first round trip, so the fraction never
    // goes backwards as windows are planned; it grows only if the windows, counted later on a
    // live tenant, come to more.
    let mut planned_sum = 0;
    let planned = planned.inspect_ok(move |p| {
        let w = &p.window;
        planned_sum += w.count;
        let total = p.total.unwrap_or(0).max(planned_sum);
        if progress.length().is_none_or(|l| l < total) {
            progress.set_length(total);
        }
        console::debug(format!("window {w}: {} entries", w.count));
    });
    let pages = pages(client, filters, planned, concurrency, convert);
    let assemble = assemble(client, filters, convert, pages, emit);
    futures::pin_mut!(planner, assemble);
    let stats = match futures::future::select(assemble, planner).await {
        // Done or failed: the planner, if still running, is dropped.
        Either::Left((result, _)) => result?,
        Either::Right(((), assemble)) => assemble.await?,
    };
    console::verbose(format!(
        "{} entries in {} windows",
        stats.expected, stats.windows
    ));
    Ok(stats)
}

/// The planner, to run beside the pages, and the windows it hands out. It runs on its own,
/// ahead of the pages: it hands each window out in time order as soon as it is final, while
/// it goes on splitting later ones. (Polled only when the pages wanted another window, it
/// would leave slots idle.) It stays at most [`PLAN_AHEAD`] windows ahead, so a huge export
/// starts writing early; its requests are tasks of their own, so none of them holds a slot
/// while it waits.
fn plan_ahead<'a, O: ObjectType, T: Keyed + Send + 'static>(
    client: &'a Client,
    filters: &'a Search<O>,
    convert: impl Convert<O, T>,
) -> (
    impl Future<Output = ()> + 'a,
    impl futures::Stream<Item = Result<Planned<T>>> + 'a,
) {
    let (mut windows, planned) = futures::channel::mpsc::channel(PLAN_AHEAD);
    let planner = async move {
        let plan = plan(client, filters, convert);
        futures::pin_mut!(plan);
        while let Some(w) = plan.next().await {
            let failed = w.is_err();
            if windows.send(w).await.is_err() || failed {
                break;
            }
        }
    };
    (planner, planned)
}

/// Every page of every window, in order, as `(window number, window, page)`. Each page is a
/// request (but the first window's first, which the plan read already). The client keeps
/// `concurrency` requests in flight (planning counts share its cap); `try_buffered` lines up a
/// few pages more and yields them in order, so a slow page holds up the output but not the
/// next requests, and at most that many pages wait beside the window being assembled.
fn pages<'a, O: ObjectType, T: Keyed + Send + 'static>(
    client: &'a Client,
    filters: &'a Search<O>,
    planned: impl futures::Stream<Item = Result<Planned<T>>> + 'a,
    concurrency: usize,
    convert: impl Convert<O, T>,
) -> impl futures::Stream<Item = Result<(usize, Window, Vec<T>)>> + 'a {
    planned
        .enumerate()
        .map(|(i, planned)| {
            planned.map(
                |Planned {
                     window, first_page, ..
                 }| {
                    let mut first_page = first_page;
                    futures::stream::iter(
                        (0..paging::pages_for(window.count))
                            .map(move |p| Ok((i, window, p, first_page.take().filter(|_| p == 0)))),
                    )
                },
            )
        })
        .try_flatten()
        .map_ok(move |(i, w, p, asked)| {
            let params = w.scope(filters).page_params(paging::offset(p), MAX_PAGE);
            let (client, object) = (client.clone(), filters.object.clone());
            // Each page is a task of its own, so its answer is read and parsed as it arrives,
            // also while this task is busy putting a window in order and writing.
            let ask =
                move || Task::spawn(async move { client.page(&object, &params, convert).await });
            let page = asked.is_none().then(|| ask.clone()());
            async move {
                // The range's first page, asked for with the count, serves the first window
                // unless an entry before the window shows it was planned on other data.
                if let Some(asked) = asked
                    && let Some(first) = first_page_of(&w, asked.await?)
                {
                    return Ok((i, w, first));
                }
                let page = match page {
                    Some(page) => page.await?,
                    None => ask().await?,
                };
                Ok((i, w, page))
            }
        })
        .try_buffered(concurrency.max(1) + LOOKAHEAD)
}

/// Gather the pages into windows, check each, and pass the entries on in order.
async fn assemble<O: ObjectType, T: Keyed + Send + 'static>(
    client: &Client,
    filters: &Search<O>,
    convert: impl Convert<O, T>,
    pages: impl futures::Stream<Item = Result<(usize, Window, Vec<T>)>>,
    mut emit: impl FnMut(Vec<T>) -> Result<()>,
) -> Result<FetchStats> {
    let mut stats = FetchStats::default();
    futures::pin_mut!(pages);
    let mut current: Option<Assembly<T>> = None;
    while let Some((i, w, page)) = pages.try_next().await? {
        if current.as_ref().is_none_or(|c| c.index != i) {
            if let Some(done) = current.take() {
                stats.entries += done.finish(client, filters, convert, &mut emit).await?;
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
        stats.entries += done.finish(client, filters, convert, &mut emit).await?;
    }
    Ok(stats)
}

/// The window whose pages are arriving, checked page by page (see [`paging`]). A window of up
/// to [`GATHER_LIMIT`] entries is gathered whole, so a count mismatch can be mended by fetching
/// it again before anything of it is written. A bigger one is passed on page by page to keep
/// memory flat (on a mismatch it fails, exit 5, and the output is not committed): its pages come sorted on
/// the unique key `(entryDate, ID)`, so an entry repeated across a page boundary is dropped by
/// keeping only keys above the last one passed on.
struct Assembly<T> {
    index: usize,
    window: Window,
    streaming: bool,
    chain: Chain,
    /// Set when a page did not touch the one before it: the planned pages still arriving are
    /// dropped, and paging resumes in order.
    gap: bool,
    records: Vec<T>,
    passed: u64,
    last_key: Option<(String, String)>,
}

impl<T: Keyed + Send + 'static> Assembly<T> {
    fn new(index: usize, w: Window) -> Assembly<T> {
        let streaming = w.count > GATHER_LIMIT;
        Assembly {
            index,
            window: w,
            streaming,
            chain: Chain::default(),
            gap: false,
            // Room for the window as counted (at most [`GATHER_LIMIT`]), not twice as much.
            records: if streaming {
                Vec::new()
            } else {
                Vec::with_capacity(w.count as usize)
            },
            passed: 0,
            last_key: None,
        }
    }

    /// A planned page, in page order.
    fn add(&mut self, page: Vec<T>, emit: &mut impl FnMut(Vec<T>) -> Result<()>) -> Result<()> {
        if self.gap {
            return Ok(());
        }
        match self.chain.take(&page) {
            Step::Past => Ok(()),
            Step::Gap => {
                console::verbose(format!(
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
        mut page: Vec<T>,
        emit: &mut impl FnMut(Vec<T>) -> Result<()>,
    ) -> Result<()> {
        if !self.streaming {
            self.records.extend(page);
            return Ok(());
        }
        page.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let last = self.last_key.take();
        page.retain(|f| {
            last.as_ref()
                .is_none_or(|(d, id)| f.sort_key() > (d.as_str(), id.as_str()))
        });
        self.last_key = match page.last() {
            Some(f) => {
                let (d, id) = f.sort_key();
                Some((d.to_string(), id.to_string()))
            }
            None => last,
        };
        self.passed += page.len() as u64;
        emit(page)
    }

    /// Read on in order until a short page proves the end, check the window against its count
    /// and pass on what is still held. Returns how many entries the window passed on in all.
    async fn finish<O: ObjectType>(
        mut self,
        client: &Client,
        filters: &Search<O>,
        convert: impl Convert<O, T>,
        emit: &mut impl FnMut(Vec<T>) -> Result<()>,
    ) -> Result<u64> {
        let window = self.window;
        let wf = window.scope(filters);
        let mut chain = std::mem::take(&mut self.chain);
        let unbroken = read_in_order(client, &wf, convert, &mut chain, |page| {
            self.keep(page, emit)
        })
        .await?;
        if !self.streaming {
            let done =
                complete_window(client, &wf, convert, window, self.records, unbroken).await?;
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
/// handing each on. Read in order, pages cannot leave a gap on a live tenant where records
/// only arrive; one that does shows an inconsistent server: `false`. Where records leave the
/// window ([`Drift::Leave`]: objects edited while it is read), every later offset moves down
/// with each one that leaves, so after the first page the pages are read after the last key
/// taken instead (keyset paging), which nothing leaving or arriving can shift.
async fn read_in_order<O: ObjectType, T: Keyed + Send + 'static>(
    client: &Client,
    filters: &Search<O>,
    convert: impl Convert<O, T>,
    chain: &mut Chain,
    mut take: impl FnMut(Vec<T>) -> Result<()>,
) -> Result<bool> {
    while !chain.ended() {
        let after = match (filters.object.drift(), chain.last_key()) {
            (Drift::Leave, Some((date, id))) => Some(filters.page_after_params(date, id, MAX_PAGE)),
            _ => None,
        };
        let keyset = after.is_some();
        let params = after
            .unwrap_or_else(|| filters.page_params(paging::offset(chain.next_page()), MAX_PAGE));
        let page = client.search(&filters.object, &params, convert).await?;
        let step = match keyset {
            true => chain.take_after(&page),
            false => chain.take(&page),
        };
        match step {
            Step::Gap => return Ok(false),
            Step::Past => break,
            Step::More | Step::End => take(page)?,
        }
    }
    Ok(true)
}

/// Check a window's entries against its count, fetching it again where needed, and put them
/// in order. `unbroken`: the pages read touched each other up to a short page.
async fn complete_window<O: ObjectType, T: Keyed + Send + 'static>(
    client: &Client,
    filters: &Search<O>,
    convert: impl Convert<O, T>,
    window: Window,
    mut records: Vec<T>,
    unbroken: bool,
) -> Result<Vec<T>> {
    dedupe_and_sort(&mut records);
    if unbroken && accept(client, filters, window.count, records.len() as u64).await? {
        return Ok(records);
    }
    // Slow path: fetch the window again, in order, until the counts agree.
    let mut last = (window.count, records.len() as u64);
    // The concurrent fetch was the first attempt.
    for attempt in 2..=FETCH_ATTEMPTS {
        console::warn(format!(
            "Workfront counts {} entries in {} but {} were fetched; fetching again ({attempt}/{FETCH_ATTEMPTS})",
            last.0,
            filters.window(),
            last.1
        ));
        let expected = client
            .count(&filters.object, &filters.count_params())
            .await?;
        let mut records = Vec::new();
        let unbroken = read_in_order(client, filters, convert, &mut Chain::default(), |page| {
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
/// records change while a window is read, as the object type's [`Drift`] says. Journal
/// entries keep being journaled, also into a window being fetched (an entry can become visible
/// a little after the instant it carries), so on a mismatch the count is taken again: a result
/// between the count before and the count after is every entry that existed when the fetch
/// began (journal entries are only ever added, and sorted offset paging never skips an entry
/// when others are inserted, it only repeats one, which is dropped), plus some that arrived
/// during it. Objects polled by `lastUpdateDate` only leave a window that ends in the past: a
/// result between the count after and the count before is every object that stayed, plus some
/// read before they left. (The pages' continuity check holds for removals too: each page is a
/// contiguous run of the window when it was read, so pages that touch cover every record that
/// was there throughout.)
async fn accept<O: ObjectType>(
    client: &Client,
    filters: &Search<O>,
    expected: u64,
    got: u64,
) -> Result<bool> {
    if got == expected {
        return Ok(true);
    }
    let after = client
        .count(&filters.object, &filters.count_params())
        .await?;
    match filters.object.drift() {
        Drift::Arrive if expected <= got && got <= after => {
            console::verbose(format!(
                "{} entries were journaled in {} during the fetch",
                after - expected,
                filters.window()
            ));
            Ok(true)
        }
        // Every record that stayed in the window was read (the pages touched up to a short
        // one); of those that left it, some were read before they left. The ones not read
        // are in the later window they moved to.
        Drift::Leave if after <= got && got <= expected => {
            console::verbose(format!(
                "{} records left {} during the fetch (updated since)",
                expected - after,
                filters.window()
            ));
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Keep each id once and put the window in `(entry_date, id)` order.
fn dedupe_and_sort<R: Keyed>(records: &mut Vec<R>) {
    let mut seen = HashSet::with_capacity(records.len());
    records.retain(|f| match f.id() {
        Some(id) => seen.insert(id.to_string()),
        None => true,
    });
    records.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}
