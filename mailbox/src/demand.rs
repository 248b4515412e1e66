//! Demand: the consumer says how many more messages it will take ([`Demand::request`]), as a
//! Reactive Streams subscriber calls `request(n)`; a sender needs a unit of that demand to
//! queue a message.
//!
//! The demand is the mailbox's permits (`permits.rs`): a mailbox made with
//! [`MailboxConfig::demand`](crate::MailboxConfig::demand) starts with none available, no
//! permit comes back when a message is taken out, and `request(n)` adds them. What is
//! outstanding (granted and not yet taken out by the actor: available, being queued, or
//! queued) is counted here, and a request grants only up to the capacity, so the capacity
//! still bounds the queue.

use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Weak};

use crate::sync::AtomicUsize;

/// The demand outstanding in one mailbox; see the module docs.
pub(crate) struct Outstanding {
    count: AtomicUsize,
}

impl Outstanding {
    pub(crate) fn new() -> Self {
        Outstanding {
            count: AtomicUsize::new(0),
        }
    }

    /// Raises the demand outstanding by up to `n`, to at most `limit`; returns by how much.
    /// The caller then makes that many permits available: the count goes up first, so it
    /// never falls below what is available and queued.
    pub(crate) fn raise(&self, n: usize, limit: usize) -> usize {
        // Relaxed: a count of its own, updated by RMWs only; the permits the caller adds
        // next carry the synchronization with the senders (see `permits.rs`).
        let mut granted = 0;
        let _ = self.count.fetch_update(Relaxed, Relaxed, |count| {
            granted = limit.saturating_sub(count).min(n);
            (granted > 0).then_some(count + granted)
        });
        granted
    }

    /// A message was taken out: its unit of demand is spent.
    pub(crate) fn spent(&self) {
        // Relaxed: see `raise`.
        self.count.fetch_sub(1, Relaxed);
    }

    pub(crate) fn get(&self) -> usize {
        // Relaxed: a statistic.
        self.count.load(Relaxed)
    }
}

/// What a [`Demand`] needs from its mailbox, whatever the actor's type.
pub(crate) trait Demanded: Send + Sync {
    fn request(&self, n: usize) -> usize;
    fn outstanding(&self) -> usize;
    fn is_closed(&self) -> bool;
}

/// The consumer's side of a mailbox made with
/// [`MailboxConfig::demand`](crate::MailboxConfig::demand): it grants senders room for
/// messages, `n` at a time, as a Reactive Streams subscriber calls `request(n)`.
///
/// Such a mailbox starts with no demand: every sender waits (under `Block`) or is refused
/// (as when full) until the actor [`request`](Self::request)s. A message taken out spends one
/// unit; nothing comes back by itself. The demand outstanding (granted, and not yet taken out:
/// unused, or queued) never exceeds the mailbox's capacity, so the capacity still bounds the
/// queue, and a request beyond it grants only the difference.
///
/// Get it from [`BoundedMailbox::demand`](crate::BoundedMailbox::demand) (to hand it to the
/// actor before it starts) or [`BoundedAddr::demand`](crate::BoundedAddr::demand). It does
/// not keep the actor alive; once the mailbox is gone, requests grant nothing.
///
/// # Examples
///
/// ```
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use actix::prelude::*;
/// use actix_backpressure::{BoundedMailbox, Demand, MailboxConfig};
///
/// #[derive(Message)]
/// #[rtype(result = "()")]
/// struct Job(u32);
///
/// /// Takes work two at a time, asking for the next two once both are done.
/// struct Worker {
///     demand: Demand,
///     done: u32,
/// }
///
/// impl Actor for Worker {
///     type Context = Context<Self>;
///
///     fn started(&mut self, _: &mut Context<Self>) {
///         self.demand.request(2);
///     }
/// }
///
/// impl Handler<Job> for Worker {
///     type Result = ();
///
///     fn handle(&mut self, _: Job, _: &mut Context<Self>) {
///         self.done += 1;
///         if self.done % 2 == 0 {
///             self.demand.request(2);
///         }
///     }
/// }
///
/// # actix::System::new().block_on(async {
/// let mailbox = BoundedMailbox::new(MailboxConfig::new(4).demand()).unwrap();
/// let demand = mailbox.demand().unwrap();
/// let addr = mailbox.start(Worker { demand, done: 0 });
/// for i in 0..10 {
///     // Waits whenever the worker has not asked for more.
///     addr.tell(Job(i)).await.unwrap();
/// }
/// # });
/// ```
#[derive(Clone)]
pub struct Demand {
    mailbox: Weak<dyn Demanded>,
    name: Arc<str>,
}

impl Demand {
    pub(crate) fn new(mailbox: Weak<dyn Demanded>, name: Arc<str>) -> Self {
        Demand { mailbox, name }
    }

    /// Grants senders room for `n` more messages; returns how many were granted: fewer than
    /// `n` when that would take the demand outstanding beyond the mailbox's capacity, and 0
    /// once the mailbox is closed. Senders waiting for room are woken, one per unit granted.
    pub fn request(&self, n: usize) -> usize {
        self.mailbox
            .upgrade()
            .map_or(0, |mailbox| mailbox.request(n))
    }

    /// The demand outstanding: granted and not yet taken out by the actor (unused by senders,
    /// or queued), as Reactive Streams counts it; 0 once the mailbox is closed. The
    /// `mailbox_credits_outstanding` gauge and [`PressureSample::credits`](crate::PressureSample::credits)
    /// count only the unused part, what senders may still queue.
    pub fn outstanding(&self) -> usize {
        self.mailbox
            .upgrade()
            .map_or(0, |mailbox| mailbox.outstanding())
    }

    /// Whether the mailbox refuses new messages (its actor is gone), or is gone.
    pub fn is_closed(&self) -> bool {
        self.mailbox
            .upgrade()
            .map_or(true, |mailbox| mailbox.is_closed())
    }

    /// The mailbox's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for Demand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Demand")
            .field("name", &self.name)
            .field("outstanding", &self.outstanding())
            .finish()
    }
}
