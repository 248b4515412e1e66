//! The mailbox's queue: a bounded queue whose capacity can change while it runs.
//!
//! Senders push into the *current* [`Queue`]. A capacity change builds a new queue and
//! switches to it; only the consumer (the driver) does that, between two messages, so FIFO
//! order holds:
//!
//! 1. mark the switch in progress, close the old queue and take everything out of it;
//! 2. put the newest messages that fit into the new queue; the older rest (only when
//!    shrinking below the current depth) waits in `overflow`, which the consumer empties first;
//! 3. publish the new queue, then clear the mark.
//!
//! A sender whose push finds its queue closed looks again: while a switch is in progress it
//! waits for it to end, and if the queue was replaced it pushes into the new one. The old
//! queues are kept until the mailbox is dropped, so a sender may still hold a reference to one
//! (each switch keeps one empty queue's buffer, `capacity` words).

use std::collections::VecDeque;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::{Arc, Mutex};

use concurrent_queue::{ForcePushError, PopError, PushError};

use crate::sync::{fence, spin, AtomicBool, AtomicPtr, AtomicUsize, Queue};

pub(crate) struct MailboxQueue<T> {
    /// The queue senders push into; always one of `queues`.
    current: AtomicPtr<Queue<T>>,
    /// Every queue that was ever current. Only grows, so `current` stays valid.
    queues: Mutex<Vec<Arc<Queue<T>>>>,
    /// A switch is in progress: the current queue is closed but not finished with.
    switching: AtomicBool,
    /// `close` was called: a queue switched to afterwards must be closed too.
    closing: AtomicBool,
    /// The capacity asked for by `request_capacity`, or 0.
    requested: AtomicUsize,
    /// Messages beyond a capacity that shrank below the depth, oldest first; consumer only.
    overflow: Mutex<VecDeque<T>>,
    overflow_len: AtomicUsize,
}

impl<T> MailboxQueue<T> {
    pub(crate) fn bounded(capacity: usize) -> Self {
        let first = Arc::new(Queue::bounded(capacity));
        MailboxQueue {
            current: AtomicPtr::new(Arc::as_ptr(&first).cast_mut()),
            queues: Mutex::new(vec![first]),
            switching: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            requested: AtomicUsize::new(0),
            overflow: Mutex::new(VecDeque::new()),
            overflow_len: AtomicUsize::new(0),
        }
    }

    fn current(&self) -> &Queue<T> {
        let current = self.current.load(Acquire);
        // SAFETY: `current` only ever holds pointers from `Arc::as_ptr` of queues in
        // `self.queues`, which never drops one while `self` lives, so the queue outlives this
        // borrow of `self`. Acquire pairs with the Release store that published it, after it
        // was built.
        #[allow(unsafe_code)]
        unsafe {
            &*current
        }
    }

    /// After a push into `queue` found it closed: whether a switch replaced it (push again).
    fn replaced(&self, queue: &Queue<T>) -> bool {
        // Acquire: the close we observed (a SeqCst RMW) was made after `switching` was set.
        fence(Acquire);
        loop {
            // Look at `switching` first: once it is cleared, the new queue is published.
            if !self.switching.load(Acquire) {
                return !ptr::eq(self.current(), queue);
            }
            spin();
        }
    }

    pub(crate) fn push(&self, mut value: T) -> Result<(), PushError<T>> {
        loop {
            let queue = self.current();
            match queue.push(value) {
                Err(PushError::Closed(back)) if self.replaced(queue) => value = back,
                result => return result,
            }
        }
    }

    pub(crate) fn force_push(&self, mut value: T) -> Result<Option<T>, ForcePushError<T>> {
        loop {
            let queue = self.current();
            match queue.force_push(value) {
                Err(ForcePushError(back)) if self.replaced(queue) => value = back,
                result => return result,
            }
        }
    }

    /// Takes the oldest message out. Consumer only.
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        // Relaxed: only the consumer changes `overflow_len`.
        if self.overflow_len.load(Relaxed) != 0 {
            let mut overflow = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(value) = overflow.pop_front() {
                self.overflow_len.store(overflow.len(), Relaxed);
                return Ok(value);
            }
        }
        self.current().pop()
    }

    pub(crate) fn len(&self) -> usize {
        self.current().len() + self.overflow_len.load(Relaxed)
    }

    /// The capacity in effect.
    pub(crate) fn capacity(&self) -> usize {
        self.current().capacity().unwrap_or(usize::MAX)
    }

    /// Whether the mailbox was closed for good (a switch closes queues, not the mailbox).
    pub(crate) fn is_closed(&self) -> bool {
        self.closing.load(Acquire)
    }

    /// Whether the current queue is closed: after `close`, false again if a `force_push` undid
    /// the close (see `Chan::close_and_drain`).
    pub(crate) fn current_is_closed(&self) -> bool {
        self.current().is_closed()
    }

    /// Whether messages wait in `overflow`. Consumer only.
    pub(crate) fn has_overflow(&self) -> bool {
        self.overflow_len.load(Relaxed) != 0
    }

    /// Takes every message out of `overflow`, oldest first. Consumer only.
    pub(crate) fn take_overflow(&self) -> Vec<T> {
        let mut overflow = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
        self.overflow_len.store(0, Relaxed);
        overflow.drain(..).collect()
    }

    /// Closes the mailbox for good (including against a switch in progress).
    pub(crate) fn close(&self) {
        // SeqCst, then the current queue: pairs with the SeqCst fence in `switch_to`. Either
        // this sees the new queue, or the switch sees `closing`.
        self.closing.store(true, SeqCst);
        fence(SeqCst);
        self.current().close();
    }

    /// Asks the consumer to switch to a queue of `capacity` (at least 1).
    pub(crate) fn request_capacity(&self, capacity: usize) {
        debug_assert!(capacity > 0);
        self.requested.store(capacity, Release);
    }

    /// Whether a capacity change waits to be applied.
    pub(crate) fn capacity_requested(&self) -> bool {
        // Relaxed: a cheap look first; `apply_requested_capacity` takes it with Acquire.
        self.requested.load(Relaxed) != 0
    }

    /// Switches to the requested capacity, if one was asked for. Consumer only. With `evict`,
    /// messages beyond a capacity that shrank below the depth are returned, oldest first, to
    /// be evicted; otherwise they wait in `overflow`, handled first.
    pub(crate) fn apply_requested_capacity(&self, evict: bool) -> Vec<T> {
        let capacity = self.requested.swap(0, Acquire);
        if capacity == 0 || capacity == self.capacity() {
            return Vec::new();
        }
        // Built first: nothing below can fail once the old queue is closed.
        let new = Arc::new(Queue::bounded(capacity));
        self.switching.store(true, SeqCst);
        let old = self.current();
        let mut taken = VecDeque::new();
        old.close();
        loop {
            while let Ok(value) = old.pop() {
                taken.push_back(value);
            }
            // `concurrent-queue` 2.5's `force_push` can undo a concurrent close (see
            // `Chan::close_and_drain`): close and empty again until it stays closed.
            if old.is_closed() {
                break;
            }
            old.close();
        }
        let excess = (taken.len() + self.overflow_len.load(Relaxed)).saturating_sub(capacity);
        let mut overflow = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
        // The oldest messages are in `overflow`, then in `taken`.
        let mut all: VecDeque<T> = overflow.drain(..).chain(taken).collect();
        let mut evicted = Vec::new();
        let older: Vec<T> = all.drain(..excess).collect();
        if evict {
            evicted = older;
        } else {
            overflow.extend(older);
        }
        self.overflow_len.store(overflow.len(), Relaxed);
        drop(overflow);
        for value in all {
            if new.push(value).is_err() {
                unreachable!("the newest messages fit in the new capacity");
            }
        }
        self.switch_to(new);
        evicted
    }

    fn switch_to(&self, new: Arc<Queue<T>>) {
        let ptr = Arc::as_ptr(&new).cast_mut();
        self.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(new);
        self.current.store(ptr, Release);
        // See `close`.
        fence(SeqCst);
        if self.closing.load(SeqCst) {
            self.current().close();
        }
        self.switching.store(false, Release);
    }
}
