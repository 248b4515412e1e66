//! The mailbox's bound, as a count of permits kept apart from the storage (as tokio's bounded
//! mpsc is a semaphore over a list).
//!
//! A sender takes a permit before it queues a message; the consumer gives one back when it
//! takes a message out. The bound is how many permits exist, [`Permits::capacity`]; changing
//! it ([`Permits::resize`]) adds or removes permits, and may leave fewer than none available
//! (a shrink below the depth): then no send gets one until enough messages were taken out.
//!
//! # One word
//!
//! Everything the protocols need lives in one 64-bit word:
//!
//! | bits    | field                                                        |
//! |---------|--------------------------------------------------------------|
//! | 0       | closed: no permit is handed out any more                     |
//! | 1..32   | senders registered as waiting for a permit (`room.rs`)       |
//! | 32..64  | permits available, signed (negative after a shrink)          |
//!
//! So each protocol is a sequence of read-modify-writes of one location, and its argument is
//! that location's single modification order, with no fence and no reasoning about another
//! location:
//!
//! - **Waiting for room.** A sender registers ([`add_waiter`](Permits::add_waiter)), then
//!   tries once more to take a permit, then sleeps. The consumer gives a permit back with
//!   [`add`](Permits::add), which reads the word as it was just before. If the registration
//!   came first in the word's order, `add` sees the waiter and the consumer notifies; if
//!   `add` came first, the sender's later try sees the permit. The RMWs are AcqRel so that
//!   what the sender did before registering (its listener) happens before the notification.
//! - **Closing.** [`close`](Permits::close) sets the flag; every later try fails, and a sender
//!   that registered before is woken by the closer to see it.
//!
//! # Plugging in
//!
//! This is the one place the limits plug into, and each only changes the count; the waiting
//! and closing protocols stay as they are:
//!
//! - a plain mailbox gives a permit back as each message is taken out;
//! - with credits, the driver [`add`](Permits::add)s them back as messages are *finished*,
//!   in batches (`driver.rs`);
//! - with demand, the consumer grants them with `Demand::request` (`demand.rs`), and none
//!   comes back by itself ([`granted_later`](Permits::granted_later),
//!   [`set_limit`](Permits::set_limit));
//! - an adaptive limit [`resize`](Permits::resize)s the count (`set_capacity`);
//! - an outlet (`outlet.rs`) is the same count between an actor and the reader of its
//!   output stream, given back as the reader takes items.
//!
//! Rate tokens are the one limit kept apart (`rate.rs`): a token is a slot in time, not a
//! count, so a sender that waits for one reserves its slot instead of registering here.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, AtomicUsize};

const CLOSED: u64 = 1;
const WAITER: u64 = 1 << 1;
const WAITERS: u64 = ((1 << 31) - 1) << 1;
const PERMIT_SHIFT: u32 = 32;

/// What [`Permits::try_acquire`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No permit is available.
    Full,
    /// Closed: none ever will be.
    Closed,
}

/// A resizable count of permits; see the module docs.
pub(crate) struct Permits {
    /// On a cache line of its own: every send and every message taken out writes it.
    word: CachePadded<AtomicU64>,
    /// The permits that exist: available, plus held by a queued (or being queued) message.
    capacity: AtomicUsize,
}

fn available(word: u64) -> i64 {
    // The field is the high half, signed: an arithmetic shift keeps its sign.
    (word as i64) >> PERMIT_SHIFT
}

fn waiters(word: u64) -> u64 {
    (word & WAITERS) >> 1
}

/// `n` permits as an addend of the word (two's complement: adding it subtracts for a
/// negative `n`, and leaves the low half alone).
fn permits(n: i64) -> u64 {
    (n << PERMIT_SHIFT) as u64
}

impl Permits {
    /// `capacity` permits, all available. `capacity` must be at most `i32::MAX` (the config
    /// refuses more than `MAX_CAPACITY`, far below).
    pub(crate) fn new(capacity: usize) -> Self {
        Permits::with_available(capacity, capacity)
    }

    /// `capacity` permits of which none is available yet: they are granted later, with
    /// [`add`](Self::add) (demand, see `demand.rs`).
    pub(crate) fn granted_later(capacity: usize) -> Self {
        Permits::with_available(capacity, 0)
    }

    fn with_available(capacity: usize, available: usize) -> Self {
        debug_assert!(i32::try_from(capacity).is_ok() && available <= capacity);
        Permits {
            word: CachePadded::new(AtomicU64::new(permits(available as i64))),
            capacity: AtomicUsize::new(capacity),
        }
    }

    /// Takes one permit, if one is available and the count is not closed.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Result<(), Refused> {
        // Relaxed: only a guess for the CAS, which reads the latest value.
        let mut word = self.word.load(Relaxed);
        loop {
            if word & CLOSED != 0 {
                return Err(Refused::Closed);
            }
            if available(word) <= 0 {
                return Err(Refused::Full);
            }
            // AcqRel: see the module docs (waiting for room).
            match self.word.compare_exchange_weak(
                word,
                word.wrapping_sub(permits(1)),
                AcqRel,
                Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => word = actual,
            }
        }
    }

    /// Gives `n` permits back (or grants new ones). Returns whether a sender waiting for room
    /// should be notified: one is registered and a permit is now available.
    #[inline]
    pub(crate) fn add(&self, n: usize) -> bool {
        // AcqRel: see the module docs (waiting for room).
        let before = self.word.fetch_add(permits(n as i64), AcqRel);
        waiters(before) != 0 && available(before) + n as i64 > 0
    }

    /// Sets how many permits exist to `capacity` (at most `i32::MAX`), adding or removing the
    /// difference; returns it. Removing may leave the available count negative: the messages
    /// queued beyond the new capacity keep their permits until they are taken out.
    pub(crate) fn resize(&self, capacity: usize) -> i64 {
        debug_assert!(i32::try_from(capacity).is_ok());
        // AcqRel: concurrent resizes each add the difference from the capacity they replaced,
        // so together they add the difference from the first to the last.
        let before = self.capacity.swap(capacity, AcqRel);
        let delta = capacity as i64 - before as i64;
        // AcqRel: as in `add`.
        self.word.fetch_add(permits(delta), AcqRel);
        delta
    }

    /// Sets the capacity to `capacity` without adding or removing permits: with demand, the
    /// capacity bounds the demand outstanding, and permits exist only once granted.
    pub(crate) fn set_limit(&self, capacity: usize) {
        debug_assert!(i32::try_from(capacity).is_ok());
        // Relaxed: a setting read on its own.
        self.capacity.store(capacity, Relaxed);
    }

    /// Claims one permit held beyond the capacity (there is one while fewer than none are
    /// available, after a shrink below the depth): the caller takes a message out to evict,
    /// whose permit this was, or gives the claim back with [`forget`](Self::forget). Claims
    /// never make a permit available, so evictors racing each other and the consumer never
    /// evict below the capacity.
    pub(crate) fn claim_excess(&self) -> bool {
        // Relaxed: only a guess for the CAS.
        let mut word = self.word.load(Relaxed);
        while available(word) < 0 {
            // AcqRel: as in `add`.
            match self.word.compare_exchange_weak(
                word,
                word.wrapping_add(permits(1)),
                AcqRel,
                Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => word = actual,
            }
        }
        false
    }

    /// Takes back a claim of [`claim_excess`](Self::claim_excess) that found no message.
    pub(crate) fn forget(&self) {
        // AcqRel: as in `add`.
        self.word.fetch_sub(permits(1), AcqRel);
    }

    /// Permits available now; negative after a shrink below the depth.
    #[inline]
    pub(crate) fn available(&self) -> i64 {
        // Relaxed: a statistic, or a hint the caller checks again by taking permits.
        available(self.word.load(Relaxed))
    }

    /// How many permits exist: the bound.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        // Relaxed: a setting read on its own.
        self.capacity.load(Relaxed)
    }

    /// Registers a sender about to wait for a permit; see the module docs.
    pub(crate) fn add_waiter(&self) {
        // AcqRel: see the module docs (waiting for room).
        self.word.fetch_add(WAITER, AcqRel);
    }

    /// Uncounts a sender that registered with [`add_waiter`](Self::add_waiter).
    pub(crate) fn remove_waiter(&self) {
        // Relaxed: a stale count only costs the consumer one needless notification.
        self.word.fetch_sub(WAITER, Relaxed);
    }

    /// Senders registered as waiting now.
    pub(crate) fn waiters(&self) -> usize {
        // Relaxed: a statistic.
        waiters(self.word.load(Relaxed)) as usize
    }

    /// Refuses every later [`try_acquire`](Self::try_acquire). Idempotent.
    pub(crate) fn close(&self) {
        // AcqRel: a sender that sees the flag sees what the closer did before.
        self.word.fetch_or(CLOSED, AcqRel);
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.word.load(Acquire) & CLOSED != 0
    }
}

#[cfg(all(test, not(mailbox_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_resize_below_what_is_held_leaves_none_available_until_enough_come_back() {
        let permits = Permits::new(3);
        for _ in 0..3 {
            permits.try_acquire().unwrap();
        }
        assert_eq!(permits.try_acquire(), Err(Refused::Full));
        assert_eq!(permits.resize(1), -2);
        assert_eq!(permits.available(), -2);
        assert!(!permits.add(1));
        assert!(!permits.add(1));
        assert_eq!(permits.try_acquire(), Err(Refused::Full));
        permits.add(1);
        assert_eq!(permits.available(), 1);
        permits.try_acquire().unwrap();
        assert_eq!(permits.capacity(), 1);
    }

    #[test]
    fn a_waiter_is_reported_only_when_a_permit_is_there_for_it() {
        let permits = Permits::new(1);
        permits.try_acquire().unwrap();
        permits.add_waiter();
        assert_eq!(permits.waiters(), 1);
        assert!(permits.add(1));
        permits.remove_waiter();
        assert_eq!(permits.waiters(), 0);
        permits.try_acquire().unwrap();
        assert!(!permits.add(1), "no one waits");
    }

    #[test]
    fn the_fields_do_not_spill_into_each_other() {
        let permits = Permits::new(0);
        permits.resize(5);
        permits.resize(0);
        assert_eq!(permits.available(), 0);
        permits.add_waiter();
        permits.resize(2);
        permits.resize(0);
        permits.resize(1);
        assert_eq!(permits.waiters(), 1);
        assert!(!permits.is_closed());
        permits.close();
        assert!(permits.is_closed());
        assert_eq!(permits.available(), 1);
        assert_eq!(permits.try_acquire(), Err(Refused::Closed));
    }
}
