//! The replay's intervals taken on a thread of their own while the replay runs on this one:
//! the replay copies each interval into a batch (its text is one string, and the batches come
//! back to be refilled), the other thread renders and writes them (`intervals`) or gathers
//! them (`durations`' visits). On two cores the two overlap: rendering and writing
//! `intervals`' rows was a third of the replay thread's time (BENCHMARKS.md, "Answers").

use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use super::answers::{Answer, write_table};
use crate::error::{Error, Result};
use crate::history::{Interval, Listener, Scope, Totals};
use crate::output::{RowSink, Table};

/// Intervals handed over at a time.
const BATCH: usize = 1024;

/// What the writing thread is sent.
enum Message {
    /// A batch, of which the first so many are filled.
    Rows(Vec<Interval>, usize),
    /// The replay finished: the rows are complete and the output may be committed.
    End,
}

/// Replay the answer's history (`scope`), each interval handed to `beside` on a thread of its
/// own through a [`Pump`], the other events to `here` on this one. The writing side must see
/// the replay's end ([`Pump::each`] returns `Ok` only then) before it commits anything: a
/// replay that fails leaves nothing, as when both ran on one thread. Returns the totals and
/// what `beside` returned.
pub(super) fn replay_beside<R: Send>(
    answer: &Answer,
    scope: Scope<'_>,
    here: &mut dyn Listener,
    beside: impl FnOnce(&mut Pump) -> Result<R> + Send,
) -> Result<(Totals, R)> {
    std::thread::scope(|threads| {
        let (tx, rx) = sync_channel::<Message>(4);
        let (back, emptied) = channel::<Vec<Interval>>();
        let other = threads.spawn(move || beside(&mut Pump { rx, back }));
        let mut handoff = Handoff {
            batch: Vec::new(),
            filled: 0,
            tx,
            emptied,
            stopped: false,
        };
        let replayed = answer
            .replay(&mut (&mut handoff, here), scope)
            .and_then(|totals| handoff.end().map(|()| totals));
        let stopped = handoff.stopped;
        drop(handoff);
        let done = other
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the writing thread failed".into())));
        match (replayed, done) {
            (Ok(totals), Ok(done)) => Ok((totals, done)),
            // The other side failed first (a full disk, a closed pipe): its error says why.
            (_, Err(e)) if stopped => Err(e),
            (Err(e), _) | (Ok(_), Err(e)) => Err(e),
        }
    })
}

/// The intervals as they reach the other thread.
pub(super) struct Pump {
    rx: Receiver<Message>,
    back: Sender<Vec<Interval>>,
}

impl Pump {
    /// Hand each interval to `take`, in the replay's order; `Ok` once the replay finished,
    /// an error if it stopped before its end (or `take` failed).
    pub fn each(&mut self, mut take: impl FnMut(&Interval) -> Result<()>) -> Result<()> {
        for message in self.rx.iter() {
            let (batch, filled) = match message {
                Message::Rows(batch, filled) => (batch, filled),
                Message::End => return Ok(()),
            };
            batch[..filled].iter().try_for_each(&mut take)?;
            let _ = self.back.send(batch);
        }
        Err(Error::Internal("the replay stopped before its end".into()))
    }
}

/// [`replay_beside`] for rows: each interval written by `write` into the table's output, on
/// the other thread. Returns the totals and the rows written.
pub(super) fn intervals_written_beside(
    answer: &Answer,
    table: &Table,
    mut write: impl FnMut(&mut dyn RowSink, &Interval) -> Result<()> + Send,
) -> Result<(Totals, u64)> {
    replay_beside(answer, Scope::default(), &mut (), move |pump| {
        let mut rows = 0;
        write_table(answer, table, |sink| {
            pump.each(|interval| {
                rows += 1;
                write(sink, interval)
            })
        })?;
        Ok(rows)
    })
}

/// The replay's side: intervals copied into batches, sent when full.
struct Handoff {
    batch: Vec<Interval>,
    filled: usize,
    tx: SyncSender<Message>,
    emptied: Receiver<Vec<Interval>>,
    /// The writing thread stopped taking batches.
    stopped: bool,
}

impl Handoff {
    fn send(&mut self, message: Message) -> Result<()> {
        self.tx.send(message).map_err(|_| {
            self.stopped = true;
            Error::Internal("the writing stopped".into())
        })
    }

    fn send_batch(&mut self) -> Result<()> {
        let next = self.emptied.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.batch, next);
        let filled = std::mem::take(&mut self.filled);
        self.send(Message::Rows(full, filled))
    }

    /// The last batch, and the word that the replay finished.
    fn end(&mut self) -> Result<()> {
        if self.filled > 0 {
            self.send_batch()?;
        }
        self.send(Message::End)
    }
}

impl Listener for Handoff {
    fn interval(&mut self, interval: &Interval) -> Result<()> {
        match self.batch.get_mut(self.filled) {
            Some(kept) => kept.copy_from(interval),
            None => self.batch.push(interval.clone()),
        }
        self.filled += 1;
        if self.filled == BATCH {
            self.send_batch()?;
        }
        Ok(())
    }
}
