//! `MailboxProbe`: reads a mailbox's pressure without sending to it or keeping it alive.

use std::fmt;
use std::sync::{Arc, Weak};

use crate::core::Core;
use crate::room::RoomRegistration;
use crate::MailboxStats;

/// What an observer (or a sender, see `chan::Sink`) needs from a mailbox, whatever its actor
/// type.
pub(crate) trait Observed: Send + Sync {
    fn core(&self) -> &Core;
    fn len(&self) -> usize;
    fn capacity(&self) -> usize;
    fn is_closed(&self) -> bool;
    fn waiting_senders(&self) -> usize;
    fn idle_consumers(&self) -> usize;
    /// Credits a sender may use now, for a mailbox with credits or demand.
    fn credits(&self) -> Option<usize>;
    /// Registers a sender about to wait for room (see `room.rs`).
    fn wait_for_room(&self) -> RoomRegistration<'_>;
}

/// A read-only view of one mailbox's pressure, from
/// [`BoundedAddr::probe`](crate::BoundedAddr::probe).
///
/// A probe is not a sender: it does not keep the actor alive, and once the mailbox is gone
/// [`sample`](Self::sample) returns `None`. Sampling reads a few atomics and takes no lock, so
/// a watcher can sample thousands of mailboxes often.
#[derive(Clone)]
pub struct MailboxProbe {
    mailbox: Weak<dyn Observed>,
    name: Arc<str>,
}

impl MailboxProbe {
    pub(crate) fn new(mailbox: Weak<dyn Observed>, name: Arc<str>) -> Self {
        MailboxProbe { mailbox, name }
    }

    /// The mailbox's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mailbox's figures now, or `None` if the mailbox is gone (its actor stopped and
    /// every handle was dropped).
    pub fn sample(&self) -> Option<PressureSample> {
        let mailbox = self.mailbox.upgrade()?;
        let core = mailbox.core();
        Some(PressureSample {
            depth: mailbox.len(),
            capacity: mailbox.capacity(),
            waiting_senders: mailbox.waiting_senders(),
            idle_consumers: mailbox.idle_consumers(),
            paused: core.gate.is_paused(),
            closed: mailbox.is_closed(),
            credits: mailbox.credits(),
            stats: core.stats(),
        })
    }

    /// Whether both probes look at the same mailbox.
    pub fn same_mailbox(&self, other: &MailboxProbe) -> bool {
        Weak::ptr_eq(&self.mailbox, &other.mailbox)
    }
}

impl fmt::Debug for MailboxProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxProbe")
            .field("name", &self.name)
            .field("alive", &(self.mailbox.strong_count() > 0))
            .finish()
    }
}

/// One reading of a mailbox, from [`MailboxProbe::sample`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct PressureSample {
    /// Messages queued.
    pub depth: usize,
    /// The capacity in effect.
    pub capacity: usize,
    /// Senders waiting for room (under `Block`) at this instant.
    pub waiting_senders: usize,
    /// Consumers waiting for a message at this instant: 1 for an idle actor, the number of
    /// idle workers for a [`WorkerPool`](crate::WorkerPool).
    pub idle_consumers: usize,
    /// Whether the mailbox's [`PauseGate`](crate::PauseGate) is paused.
    pub paused: bool,
    /// Whether the mailbox refuses new messages (its actor stopped, or every sender is gone).
    pub closed: bool,
    /// For a mailbox with [`credits`](crate::MailboxConfig::credits) or
    /// [`demand`](crate::MailboxConfig::demand): the credits granted and not yet used by a
    /// sender (what `mailbox_credits_outstanding` exports). `None` for other mailboxes.
    pub credits: Option<usize>,
    /// The outcome counters: compare two samples to see what happened in between.
    pub stats: MailboxStats,
}

impl PressureSample {
    /// `depth / capacity`, from 0 to 1 (above 1 for a moment after the capacity shrank).
    pub fn fill(&self) -> f64 {
        // Capacities are at most 2^24: exact in an f64.
        self.depth as f64 / self.capacity.max(1) as f64
    }

    /// Messages lost because the mailbox was full, from `earlier` to this sample: dropped on
    /// arrival, evicted, rejected or timed out.
    pub fn overflowed_since(&self, earlier: &PressureSample) -> u64 {
        let lost = |s: &MailboxStats| s.dropped_newest + s.evicted + s.rejected + s.timed_out;
        lost(&self.stats).saturating_sub(lost(&earlier.stats))
    }

    /// Whether senders waited for room at some point from `earlier` to this sample, or wait
    /// now.
    pub fn blocked_since(&self, earlier: &PressureSample) -> bool {
        self.waiting_senders > 0 || self.stats.sender_blocked > earlier.stats.sender_blocked
    }
}
