//! Outcome counters of one mailbox.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::DropReason;

/// A snapshot of a mailbox's outcome counters, from [`BoundedAddr::stats`](crate::BoundedAddr::stats).
///
/// Every message offered to the mailbox ends in exactly one outcome:
///
/// ```text
/// offered  = enqueued + dropped_newest + rejected + timed_out + closed + rate_limited
/// enqueued = handled + evicted + expired + stopped + (still queued)
/// ```
///
/// The counters are read one by one, so a snapshot taken while messages flow may be off by the
/// messages in flight; once the mailbox is quiet the equations hold exactly.
/// A `send` whose future is dropped while it waits for room has not offered its message yet:
/// the message is dropped with the future and counted nowhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxStats {
    /// Messages queued.
    pub enqueued: u64,
    /// Messages whose handler was called.
    pub handled: u64,
    /// Messages discarded on arrival by `DropNewest`.
    pub dropped_newest: u64,
    /// Queued messages evicted by `DropOldest`.
    pub evicted: u64,
    /// Messages refused because the mailbox was full (`Reject`, or `try_send`/`do_send` under
    /// `Block`).
    pub rejected: u64,
    /// Messages whose `send_timeout` found no room in time.
    pub timed_out: u64,
    /// Queued messages never handled because the actor stopped.
    pub stopped: u64,
    /// Queued messages shed because they waited too long (`ttl`, `sojourn`).
    pub expired: u64,
    /// Messages refused by the mailbox's rate limit.
    pub rate_limited: u64,
    /// Messages sent after the mailbox closed.
    pub closed: u64,
    /// Time senders spent waiting for room under `Block`, added up over all senders. With
    /// [`credits`](crate::MailboxConfig::credits) or [`demand`](crate::MailboxConfig::demand),
    /// this is the time they waited for a credit.
    pub sender_blocked: Duration,
    /// Time senders spent waiting for a token of the mailbox's
    /// [`rate_limit`](crate::MailboxConfig::rate_limit), added up over all senders (not
    /// counted in `sender_blocked`: the mailbox was not full).
    pub rate_waited: Duration,
}

impl MailboxStats {
    /// Messages offered to the mailbox: queued or refused on arrival.
    pub fn offered(&self) -> u64 {
        self.enqueued
            + self.dropped_newest
            + self.rejected
            + self.timed_out
            + self.closed
            + self.rate_limited
    }

    /// Messages that reached a final outcome: handled, or lost for one of the counted reasons.
    pub fn settled(&self) -> u64 {
        self.handled
            + self.evicted
            + self.expired
            + self.stopped
            + self.dropped_newest
            + self.rejected
            + self.timed_out
            + self.closed
            + self.rate_limited
    }

    /// The count for one drop reason.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::DropNewest => self.dropped_newest,
            DropReason::DropOldest => self.evicted,
            DropReason::Rejected => self.rejected,
            DropReason::Timeout => self.timed_out,
            DropReason::Stopped => self.stopped,
            DropReason::Closed => self.closed,
            DropReason::Expired => self.expired,
            DropReason::RateLimited => self.rate_limited,
        }
    }
}

/// The live counters. Producers and the consumer write different cache lines.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    producer: CachePadded<ProducerCounters>,
    consumer: CachePadded<ConsumerCounters>,
}

#[derive(Debug, Default)]
struct ProducerCounters {
    enqueued: AtomicU64,
    blocked_nanos: AtomicU64,
    rate_waited_nanos: AtomicU64,
    dropped_newest: AtomicU64,
    evicted: AtomicU64,
    rejected: AtomicU64,
    timed_out: AtomicU64,
    closed: AtomicU64,
    rate_limited: AtomicU64,
}

#[derive(Debug, Default)]
struct ConsumerCounters {
    handled: AtomicU64,
    stopped: AtomicU64,
    expired: AtomicU64,
}

// Every counter is a statistic read on its own: `Relaxed` suffices, nothing is ordered by it.
impl Counters {
    #[inline]
    pub(crate) fn enqueued(&self) {
        self.producer.enqueued.fetch_add(1, Relaxed);
    }

    /// Counts a handled message. Only the mailbox's driver calls this, one at a time, so a
    /// load and a store do (cheaper than a read-modify-write).
    #[inline]
    pub(crate) fn handled(&self) {
        let handled = &self.consumer.handled;
        handled.store(handled.load(Relaxed) + 1, Relaxed);
    }

    /// Counts a handled message when several workers share the mailbox.
    #[inline]
    pub(crate) fn handled_shared(&self) {
        self.consumer.handled.fetch_add(1, Relaxed);
    }

    pub(crate) fn dropped(&self, reason: DropReason) {
        let counter = match reason {
            DropReason::DropNewest => &self.producer.dropped_newest,
            DropReason::DropOldest => &self.producer.evicted,
            DropReason::Rejected => &self.producer.rejected,
            DropReason::Timeout => &self.producer.timed_out,
            DropReason::Stopped => &self.consumer.stopped,
            DropReason::Closed => &self.producer.closed,
            DropReason::Expired => &self.consumer.expired,
            DropReason::RateLimited => &self.producer.rate_limited,
        };
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> MailboxStats {
        let p = &self.producer;
        let c = &self.consumer;
        MailboxStats {
            enqueued: p.enqueued.load(Relaxed),
            handled: c.handled.load(Relaxed),
            dropped_newest: p.dropped_newest.load(Relaxed),
            evicted: p.evicted.load(Relaxed),
            rejected: p.rejected.load(Relaxed),
            timed_out: p.timed_out.load(Relaxed),
            stopped: c.stopped.load(Relaxed),
            expired: c.expired.load(Relaxed),
            rate_limited: p.rate_limited.load(Relaxed),
            closed: p.closed.load(Relaxed),
            sender_blocked: Duration::from_nanos(p.blocked_nanos.load(Relaxed)),
            rate_waited: Duration::from_nanos(p.rate_waited_nanos.load(Relaxed)),
        }
    }

    pub(crate) fn add_blocked(&self, waited: Duration) {
        add_nanos(&self.producer.blocked_nanos, waited);
    }

    pub(crate) fn add_rate_waited(&self, waited: Duration) {
        add_nanos(&self.producer.rate_waited_nanos, waited);
    }
}

fn add_nanos(total: &AtomicU64, waited: Duration) {
    let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
    // Saturating: a sum over all senders could in principle exceed 584 years.
    let _ = total.fetch_update(Relaxed, Relaxed, |total| Some(total.saturating_add(nanos)));
}
