//! Who takes messages out of a mailbox, and how they sleep and wake: one driver, or the
//! workers of a pool.
//!
//! - **One driver** registers its waker, sets `parked`, issues a SeqCst fence, looks at the
//!   queues once more, then sleeps; a sender that queued a message issues a SeqCst fence and
//!   wakes it only if it then loads `parked` set.
//! - **Pool workers** take messages out concurrently (the storage is a queue for any
//!   number of consumers, and the permits need no single one). An idle worker registers on
//!   `work`, counts itself in `parked`, issues a fence, looks once more, then sleeps; a sender
//!   issues a fence and notifies one more worker when the count is not zero.
//!
//! Both are the store-buffering pattern with a fence on each side: if the sender's load misses
//! the consumer's mark, the consumer's fence comes after the sender's in their single total
//! order, so the consumer's look at the storage sees the push made before the sender's fence.
//! This needs nothing of the storage but that a push and a later pop are atomic accesses of
//! the same locations (any ordering). Model-checked in `tests/loom_chan.rs`, with a storage
//! model whose accesses are all Relaxed.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::task::{self, Waker};

use crate::sync::{
    fence, notify, notify_additional, AtomicBool, AtomicUsize, AtomicWaker, Event, EventListener,
};

/// The consumers of one mailbox.
pub(crate) enum Consumers {
    Single {
        waker: AtomicWaker,
        /// Set by the driver before it sleeps: lets senders skip the wake-up (two atomic
        /// read-modify-writes) while the driver is busy anyway.
        parked: AtomicBool,
    },
    Pool {
        work: Event,
        parked: AtomicUsize,
    },
}

impl Consumers {
    pub(crate) fn single() -> Self {
        Consumers::Single {
            waker: AtomicWaker::new(),
            parked: AtomicBool::new(false),
        }
    }

    pub(crate) fn pool() -> Self {
        Consumers::Pool {
            work: Event::new(),
            parked: AtomicUsize::new(0),
        }
    }

    #[inline]
    pub(crate) fn is_pool(&self) -> bool {
        matches!(self, Consumers::Pool { .. })
    }

    /// A message was queued: wakes a sleeping consumer, if one sleeps.
    #[inline]
    pub(crate) fn wake_one(&self) {
        // Pairs with the fence in `park` or `park_worker` (see the module docs).
        fence(Ordering::SeqCst);
        match self {
            // Relaxed: ordered by the fences; the swap makes one sender the waker.
            Consumers::Single { waker, parked } => {
                if parked.load(Ordering::Relaxed) && parked.swap(false, Ordering::Relaxed) {
                    waker.wake();
                }
            }
            // Relaxed: ordered by the fences.
            Consumers::Pool { work, parked, .. } => {
                if parked.load(Ordering::Relaxed) != 0 {
                    notify_additional(work, 1);
                }
            }
        }
    }

    /// Wakes every consumer, to look at the mailbox again: a reconfiguration, closing, a
    /// worker to retire.
    pub(crate) fn wake_all(&self) {
        match self {
            Consumers::Single { waker, .. } => waker.wake(),
            Consumers::Pool { work, .. } => notify(work, usize::MAX),
        }
    }

    /// The driver is about to sleep: after this, it must look at the queues once more before
    /// returning `Pending`.
    pub(crate) fn park(&self, task_waker: &Waker) {
        let Consumers::Single { waker, parked } = self else {
            unreachable!("pool workers park with `park_worker`")
        };
        waker.register(task_waker);
        // Relaxed, then the fence that pairs with the one in `wake_one`.
        parked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// The driver found a message after parking: senders need not wake it.
    #[inline]
    pub(crate) fn unpark(&self) {
        if let Consumers::Single { parked, .. } = self {
            // Relaxed: a stale `true` only costs a sender one spurious wake-up.
            parked.store(false, Ordering::Relaxed);
        }
    }

    /// A pool worker about to sleep: after this, it must look at the queue once more before it
    /// waits on the registration. `owner` uncounts the worker when the registration goes.
    pub(crate) fn park_worker(&self, owner: Weak<dyn HasConsumers>) -> WorkRegistration {
        let Consumers::Pool { work, parked, .. } = self else {
            unreachable!("only pool workers park this way")
        };
        let listener = work.listen();
        // SeqCst and a fence before the worker's last look: see `wake_one`.
        parked.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        WorkRegistration { listener, owner }
    }

    /// Consumers waiting for a message now: the driver, if parked, or a pool's idle workers.
    pub(crate) fn idle(&self) -> usize {
        // Relaxed: statistics.
        match self {
            Consumers::Single { parked, .. } => usize::from(parked.load(Ordering::Relaxed)),
            Consumers::Pool { parked, .. } => parked.load(Ordering::Relaxed),
        }
    }

    fn uncount_worker(&self) {
        if let Consumers::Pool { parked, .. } = self {
            // Relaxed: a stale count only costs a sender one needless notification.
            parked.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// What owns a [`Consumers`]: lets a registration reach it without knowing the actor type.
pub(crate) trait HasConsumers: Send + Sync {
    fn consumers(&self) -> &Consumers;
}

/// A pool worker registered as waiting for work; see [`Consumers::park_worker`].
pub(crate) struct WorkRegistration {
    listener: EventListener,
    owner: Weak<dyn HasConsumers>,
}

impl WorkRegistration {
    /// Polls for a notification that there may be work.
    pub(crate) fn poll_notified(&mut self, task: &mut task::Context<'_>) -> bool {
        std::pin::Pin::new(&mut self.listener).poll(task).is_ready()
    }
}

impl Drop for WorkRegistration {
    fn drop(&mut self) {
        if let Some(owner) = self.owner.upgrade() {
            owner.consumers().uncount_worker();
        }
    }
}
