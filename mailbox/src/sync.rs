//! The synchronization primitives the mailbox is built on.
//!
//! Normally these are `std`'s atomics, `concurrent-queue`, `event-listener` and `atomic-waker`.
//! Under `--cfg mailbox_loom` they are [loom](https://docs.rs/loom) models instead, so that the
//! protocols in `chan.rs` (waiting for room, parking the driver) can be model-checked: see
//! `tests/loom_chan.rs`. The queue model is a mutex around a `VecDeque`: it checks our
//! protocols assuming a linearizable queue, not `concurrent-queue` itself (loom-tested
//! upstream).

#[cfg(not(mailbox_loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize};

    pub(crate) use atomic_waker::AtomicWaker;

    /// Waits a moment for another thread (a short, bounded wait).
    pub(crate) fn spin() {
        std::thread::yield_now();
    }
    pub(crate) use concurrent_queue::ConcurrentQueue as Queue;

    /// A queue without a bound (the control lane).
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
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize};

    pub(crate) fn spin() {
        loom::thread::yield_now();
    }

    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use concurrent_queue::{ForcePushError, PopError, PushError};
    use loom::sync::atomic::Ordering::{Relaxed, SeqCst};
    use loom::sync::{Arc, Mutex};

    /// A bounded FIFO queue with `concurrent-queue`'s API and the orderings of its bounded
    /// queue (2.5): a push publishes with a SeqCst CAS on `tail` and finds the queue full
    /// through a SeqCst fence and a Relaxed load of `head`; a pop takes with a SeqCst CAS on
    /// `head` and finds it empty through a SeqCst fence and a Relaxed load of `tail`; `close`
    /// sets a mark bit on `tail`. The items live in a `std` mutex, invisible to loom, so the
    /// model adds no synchronization of its own.
    ///
    /// Loom treats SeqCst accesses as AcqRel (it supports SeqCst fences, not the total order
    /// of SeqCst accesses), so each SeqCst CAS here is followed by a SeqCst fence: that is the
    /// ordering a C++ SeqCst CAS gives against the SeqCst accesses in `chan.rs`.
    pub(crate) struct Queue<T> {
        head: AtomicUsize,
        tail: AtomicUsize,
        capacity: usize,
        items: std::sync::Mutex<VecDeque<T>>,
    }

    const MARK: usize = 1 << (usize::BITS - 1);

    /// The control lane's queue: a model queue that never fills up.
    pub(crate) fn unbounded<T>() -> Queue<T> {
        Queue::bounded(MARK >> 1)
    }

    impl<T> Queue<T> {
        pub(crate) fn bounded(capacity: usize) -> Self {
            Queue {
                head: AtomicUsize::new(0),
                tail: AtomicUsize::new(0),
                capacity,
                items: std::sync::Mutex::new(VecDeque::new()),
            }
        }

        pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
            loop {
                let tail = self.tail.load(Relaxed);
                if tail & MARK != 0 {
                    return Err(PushError::Closed(value));
                }
                fence(SeqCst);
                if tail - self.head.load(Relaxed) == self.capacity {
                    return Err(PushError::Full(value));
                }
                if self
                    .tail
                    .compare_exchange(tail, tail + 1, SeqCst, Relaxed)
                    .is_ok()
                {
                    fence(SeqCst);
                    self.items.lock().unwrap().push_back(value);
                    return Ok(());
                }
            }
        }

        /// Pushes, evicting the oldest item while full.
        pub(crate) fn force_push(&self, mut value: T) -> Result<Option<T>, ForcePushError<T>> {
            let mut evicted = None;
            loop {
                match self.push(value) {
                    Ok(()) => return Ok(evicted),
                    Err(PushError::Closed(back)) => return Err(ForcePushError(back)),
                    Err(PushError::Full(back)) => {
                        value = back;
                        if let Ok(old) = self.pop() {
                            evicted = Some(old);
                        }
                    }
                }
            }
        }

        pub(crate) fn pop(&self) -> Result<T, PopError> {
            loop {
                let head = self.head.load(Relaxed);
                fence(SeqCst);
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
                    .compare_exchange(head, head + 1, SeqCst, Relaxed)
                    .is_ok()
                {
                    fence(SeqCst);
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
            (self.tail.load(SeqCst) & !MARK) - self.head.load(SeqCst)
        }

        pub(crate) fn capacity(&self) -> Option<usize> {
            Some(self.capacity)
        }

        pub(crate) fn close(&self) -> bool {
            let was_open = self.tail.fetch_or(MARK, SeqCst) & MARK == 0;
            fence(SeqCst);
            was_open
        }

        pub(crate) fn is_closed(&self) -> bool {
            self.tail.load(SeqCst) & MARK != 0
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
