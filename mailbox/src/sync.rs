//! The synchronization primitives the mailbox is built on.
//!
//! Normally these are `std`'s atomics, `concurrent-queue`, `event-listener` and `atomic-waker`.
//! Under `--cfg mailbox_loom` they are [loom](https://docs.rs/loom) models instead, so that the
//! protocols in `permits.rs`, `room.rs` and `consumers.rs` (waiting for room, parking the
//! consumers, closing, resizing) can be model-checked: see `tests/loom_chan.rs` and
//! `tests/loom_queue.rs`. The storage model is a `VecDeque` behind a mutex loom does not see,
//! with loom atomics only for its indices, accessed Relaxed: it checks our protocols assuming
//! nothing of the storage but linearizability (`concurrent-queue` is loom-tested upstream).
//!
//! What does not go through here, and why:
//!
//! - `Arc` and `Weak` stay `std`'s: loom 0.7 has no `Weak`. No wake-up protocol rests on a
//!   reference count: closing rests on the mailbox's own count of strong handles
//!   (`Chan::senders`), whose upgrade-versus-last-drop race is modelled here
//!   (`loom_an_upgrade_racing_the_last_drop_is_all_or_nothing`).
//! - The `Mutex`es of a pool's worker list (`pool.rs`), of the metrics registry and of the
//!   operator configuration guard bookkeeping that no sender or consumer waits on.

#[cfg(not(mailbox_loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};

    pub(crate) use atomic_waker::AtomicWaker;

    /// Waits a moment for another thread (a short, bounded wait).
    pub(crate) fn spin() {
        std::thread::yield_now();
    }
    pub(crate) use concurrent_queue::ConcurrentQueue as Queue;

    /// A queue without a bound: the storage of the mailbox and of its control lane.
    pub(crate) fn unbounded<T>() -> Queue<T> {
        Queue::unbounded()
    }
    pub(crate) use event_listener::{Event, EventListener};

    use event_listener::IntoNotification;

    /// Notifies `n` more listeners than are already notified.
    pub(crate) fn notify_additional(event: &Event, n: usize) {
        event.notify(n.additional());
    }

    /// Makes sure at least `n` listeners are notified.
    pub(crate) fn notify(event: &Event, n: usize) {
        event.notify(n);
    }
}

#[cfg(mailbox_loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};

    pub(crate) fn spin() {
        loom::thread::yield_now();
    }

    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use concurrent_queue::{PopError, PushError};
    use loom::sync::atomic::Ordering::Relaxed;
    use loom::sync::{Arc, Mutex};

    /// An unbounded FIFO queue with `concurrent-queue`'s API and no synchronization beyond
    /// what a linearizable queue gives: a push reserves its index with a Relaxed RMW of
    /// `tail`, then stores the item; a pop takes an index with a Relaxed RMW of `head` and
    /// waits for the item if it is not stored yet; `close` sets a mark bit on `tail`. The
    /// items live in a `std` mutex, invisible to loom, so the model adds no happens-before
    /// edge of its own: the protocols above it must bring theirs.
    pub(crate) struct Queue<T> {
        head: AtomicUsize,
        tail: AtomicUsize,
        items: std::sync::Mutex<VecDeque<T>>,
    }

    const MARK: usize = 1 << (usize::BITS - 1);

    pub(crate) fn unbounded<T>() -> Queue<T> {
        Queue {
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            items: std::sync::Mutex::new(VecDeque::new()),
        }
    }

    impl<T> Queue<T> {
        pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
            let mut tail = self.tail.load(Relaxed);
            loop {
                if tail & MARK != 0 {
                    return Err(PushError::Closed(value));
                }
                match self.tail.compare_exchange(tail, tail + 1, Relaxed, Relaxed) {
                    Ok(_) => {
                        self.items.lock().unwrap().push_back(value);
                        return Ok(());
                    }
                    Err(actual) => tail = actual,
                }
            }
        }

        pub(crate) fn pop(&self) -> Result<T, PopError> {
            loop {
                let head = self.head.load(Relaxed);
                let tail = self.tail.load(Relaxed);
                if tail & !MARK == head {
                    return Err(if tail & MARK != 0 {
                        PopError::Closed
                    } else {
                        PopError::Empty
                    });
                }
                if self
                    .head
                    .compare_exchange(head, head + 1, Relaxed, Relaxed)
                    .is_ok()
                {
                    // The pusher may not have stored its item yet: wait for it.
                    loop {
                        if let Some(value) = self.items.lock().unwrap().pop_front() {
                            return Ok(value);
                        }
                        loom::thread::yield_now();
                    }
                }
            }
        }

        pub(crate) fn len(&self) -> usize {
            (self.tail.load(Relaxed) & !MARK).saturating_sub(self.head.load(Relaxed))
        }

        pub(crate) fn close(&self) -> bool {
            self.tail.fetch_or(MARK, Relaxed) & MARK == 0
        }
    }

    #[derive(Default)]
    struct Listeners {
        next_id: usize,
        /// (id, notified, waker), in registration order.
        slots: Vec<(usize, bool, Option<Waker>)>,
    }

    impl Listeners {
        fn notify_unnotified(&mut self, mut n: usize) {
            for (_, notified, waker) in &mut self.slots {
                if n == 0 {
                    break;
                }
                if !*notified {
                    *notified = true;
                    n -= 1;
                    if let Some(waker) = waker.take() {
                        waker.wake();
                    }
                }
            }
        }
    }

    /// `event-listener`'s `Event`: listeners in FIFO order; a notified listener dropped
    /// unused passes its notification on.
    #[derive(Default)]
    pub(crate) struct Event {
        inner: Arc<Mutex<Listeners>>,
    }

    impl Event {
        pub(crate) fn new() -> Self {
            Event::default()
        }

        pub(crate) fn listen(&self) -> EventListener {
            let mut inner = self.inner.lock().unwrap();
            let id = inner.next_id;
            inner.next_id += 1;
            inner.slots.push((id, false, None));
            EventListener {
                inner: Arc::clone(&self.inner),
                id,
            }
        }
    }

    pub(crate) struct EventListener {
        inner: Arc<Mutex<Listeners>>,
        id: usize,
    }

    impl Future for EventListener {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut inner = self.inner.lock().unwrap();
            let slot = inner
                .slots
                .iter_mut()
                .find(|slot| slot.0 == self.id)
                .expect("listening");
            if slot.1 {
                let id = self.id;
                inner.slots.retain(|slot| slot.0 != id);
                Poll::Ready(())
            } else {
                slot.2 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    impl Drop for EventListener {
        fn drop(&mut self) {
            let mut inner = self.inner.lock().unwrap();
            if let Some(index) = inner.slots.iter().position(|slot| slot.0 == self.id) {
                let (_, notified, _) = inner.slots.remove(index);
                if notified {
                    inner.notify_unnotified(1);
                }
            }
        }
    }

    pub(crate) fn notify_additional(event: &Event, n: usize) {
        event.inner.lock().unwrap().notify_unnotified(n);
    }

    pub(crate) fn notify(event: &Event, n: usize) {
        let mut inner = event.inner.lock().unwrap();
        let already = inner.slots.iter().filter(|slot| slot.1).count();
        inner.notify_unnotified(n.saturating_sub(already));
    }

    /// `atomic-waker`'s `AtomicWaker`.
    #[derive(Default)]
    pub(crate) struct AtomicWaker {
        waker: Mutex<Option<Waker>>,
    }

    impl AtomicWaker {
        pub(crate) fn new() -> Self {
            AtomicWaker::default()
        }

        pub(crate) fn register(&self, waker: &Waker) {
            *self.waker.lock().unwrap() = Some(waker.clone());
        }

        pub(crate) fn wake(&self) {
            let waker = self.waker.lock().unwrap().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

pub(crate) use imp::*;
