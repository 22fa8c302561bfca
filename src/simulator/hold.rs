//! A test's hand on the answers: while answers are held, each request that reaches its answer
//! waits there, in the order the requests came, until the test lets it through. A test then
//! makes "the run is still going when the signal lands" or "N requests are out at once"
//! happen on purpose instead of hoping a latency is long enough for this machine.
//!
//! Workfront has no such switch: it is reachable only through [`super::Simulator`]'s methods
//! (tests), never from `simulate`. Requests refused before their answer (429 over the
//! concurrency limit, an injected error) are not held, as they are not in Workfront: only the
//! answer is slow.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// Which requests are held, by their `METHOD URI` (as the request log has them).
pub(super) type Which = Arc<dyn Fn(&str) -> bool + Send + Sync>;

pub(super) struct Hold {
    engaged: AtomicBool,
    /// `None`: every request.
    which: Mutex<Option<Which>>,
    /// Tickets handed to the requests that met the gate while it was engaged, in arrival order.
    tickets: AtomicU64,
    /// Requests whose ticket is below this go through; `u64::MAX` once released.
    through: watch::Sender<u64>,
    /// Requests waiting at the gate now.
    waiting: AtomicUsize,
}

impl Default for Hold {
    fn default() -> Self {
        Hold {
            engaged: AtomicBool::new(false),
            which: Mutex::new(None),
            tickets: AtomicU64::new(0),
            through: watch::Sender::new(u64::MAX),
            waiting: AtomicUsize::new(0),
        }
    }
}

impl Hold {
    /// Hold every answer (`which` is `None`) or those of the requests `which` picks, from now
    /// on, until [`Hold::let_through`] or [`Hold::release`].
    pub(super) fn engage(&self, which: Option<Which>) {
        *self.which.lock().unwrap_or_else(|e| e.into_inner()) = which;
        self.through
            .send_replace(self.tickets.load(Ordering::SeqCst));
        self.engaged.store(true, Ordering::SeqCst);
    }

    /// Let the next `n` held answers go, in the order their requests came.
    pub(super) fn let_through(&self, n: u64) {
        self.through.send_modify(|t| *t = t.saturating_add(n));
    }

    /// Let every answer go, now and from now on.
    pub(super) fn release(&self) {
        self.engaged.store(false, Ordering::SeqCst);
        self.through.send_replace(u64::MAX);
    }

    /// How many answers are waiting now.
    pub(super) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Wait here while answers are held and this one's turn has not come; `request` gives its
    /// `METHOD URI`.
    pub(super) async fn pass(&self, request: impl FnOnce() -> String) {
        if !self.engaged.load(Ordering::SeqCst) {
            return;
        }
        let which = self.which.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if which.is_some_and(|held| !held(&request())) {
            return;
        }
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
        let mut through = self.through.subscribe();
        if *through.borrow() > ticket {
            return;
        }
        // Counted until it goes through, or until its connection is dropped with it.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        let _ = through.wait_for(|t| *t > ticket).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn held_answers_go_through_in_arrival_order_as_they_are_let() {
        let hold = Arc::new(Hold::default());
        hold.pass(|| "GET /".into()).await;
        hold.engage(None);
        let (sent, mut passed) = tokio::sync::mpsc::unbounded_channel();
        for i in 0..3 {
            let (held, sent) = (hold.clone(), sent.clone());
            tokio::spawn(async move {
                held.pass(|| "GET /".into()).await;
                sent.send(i).unwrap();
            });
            // Each arrives (takes its ticket) before the next is spawned.
            while hold.waiting() < i + 1 {
                tokio::task::yield_now().await;
            }
        }
        hold.let_through(1);
        assert_eq!(passed.recv().await, Some(0));
        assert_eq!(hold.waiting(), 2);
        hold.release();
        let mut rest = [passed.recv().await, passed.recv().await];
        rest.sort();
        assert_eq!(rest, [Some(1), Some(2)]);
        assert_eq!(hold.waiting(), 0);
        // Released: nothing waits.
        hold.pass(|| "GET /".into()).await;
    }
}
