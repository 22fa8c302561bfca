//! Admission: who holds one of `listen`'s connection slots, and who loses it. A connection is
//! *busy* only while it serves a request whose token was right; otherwise (in its handshake,
//! sending headers, or idle between requests) it is *waiting*. A waiting connection is closed
//! once it has waited longer than the idle deadline, and, when every slot is taken, the one
//! that has waited longest gives its slot to the newcomer. So connections that never
//! authenticate (1,000 idle sockets, headers sent a byte at a time) cannot keep a delivery
//! out: they cost a slot for seconds at most, never the slot a delivery needs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The slots, shared by the accept loop, the connections and the sweeper.
#[derive(Debug)]
pub struct Slots {
    max: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next: u64,
    held: HashMap<u64, Held>,
}

#[derive(Debug)]
struct Held {
    /// Serving an authenticated request.
    busy: bool,
    /// When it was admitted or last finished a request: how long it has waited.
    since: Instant,
    /// Told when the connection must close.
    close: Arc<Notify>,
}

/// A connection's slot: released when dropped.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    slots: Arc<Slots>,
    /// Notified when the connection must close (it waited too long, or gave its slot up).
    pub close: Arc<Notify>,
}

impl Slots {
    pub fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            max: max.max(1),
            inner: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for a new connection. When all are taken, the connection that has waited
    /// longest is told to close and its slot goes to this one; when every one is busy with a
    /// delivery, `None`: the newcomer is closed at once.
    pub fn admit(self: &Arc<Slots>) -> Option<Slot> {
        let mut inner = self.lock();
        if inner.held.len() >= self.max {
            let victim = inner
                .held
                .iter()
                .filter(|(_, h)| !h.busy)
                .min_by_key(|(_, h)| h.since)
                .map(|(id, _)| *id)?;
            if let Some(h) = inner.held.remove(&victim) {
                h.close.notify_one();
            }
        }
        inner.next += 1;
        let id = inner.next;
        let close = Arc::new(Notify::new());
        inner.held.insert(
            id,
            Held {
                busy: false,
                since: Instant::now(),
                close: close.clone(),
            },
        );
        Some(Slot {
            id,
            slots: self.clone(),
            close,
        })
    }

    /// Close every connection that has waited longer than `deadline`.
    pub fn sweep(&self, deadline: Duration) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.held.retain(|_, h| {
            let keep = h.busy || now.duration_since(h.since) < deadline;
            if !keep {
                h.close.notify_one();
            }
            keep
        });
    }

    /// How many slots are held.
    pub fn held(&self) -> usize {
        self.lock().held.len()
    }

    /// Tell every connection to close (shutdown).
    pub fn close_all(&self) {
        for h in self.lock().held.values() {
            h.close.notify_one();
        }
    }
}

impl Slot {
    /// Mark the connection busy (an authenticated request) until the guard is dropped; then
    /// it waits again from that moment. `false` when the slot was already taken from it.
    pub fn busy(&self) -> Option<Busy<'_>> {
        let mut inner = self.slots.lock();
        let held = inner.held.get_mut(&self.id)?;
        held.busy = true;
        Some(Busy(self))
    }
}

/// See [`Slot::busy`].
pub struct Busy<'a>(&'a Slot);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut inner = self.0.slots.lock();
        if let Some(held) = inner.held.get_mut(&self.0.id) {
            held.busy = false;
            held.since = Instant::now();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().held.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_house_gives_the_longest_waiting_slot_to_a_newcomer_but_never_a_busy_one() {
        let slots = Slots::new(2);
        let a = slots.admit().unwrap();
        let b = slots.admit().unwrap();
        let busy = b.busy().unwrap();
        // Full: `a` waited longest and is not busy, so it gives way.
        let c = slots.admit().unwrap();
        assert_eq!(slots.held(), 2);
        assert!(a.busy().is_none(), "a lost its slot");
        // Now `b` is busy and `c` waiting: `c` gives way to `d`.
        let d = slots.admit().unwrap();
        assert!(c.busy().is_none());
        // Both busy: nobody gives way.
        let _d_busy = d.busy().unwrap();
        assert!(slots.admit().is_none());
        drop(busy);
        assert!(slots.admit().is_some(), "b waits again, so it gives way");
    }

    #[test]
    fn waiting_past_the_deadline_closes_but_busy_never_does() {
        let slots = Slots::new(8);
        let idle = slots.admit().unwrap();
        let working = slots.admit().unwrap();
        let _guard = working.busy().unwrap();
        slots.sweep(Duration::ZERO);
        assert!(idle.busy().is_none(), "closed");
        assert_eq!(slots.held(), 1);
    }
}
