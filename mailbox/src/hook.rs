//! The drop hook: every message a mailbox discards, refuses or fails to deliver.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// Why a message did not reach its handler.
///
/// [`as_str`](Self::as_str) gives its `snake_case` name, e.g. for a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Discarded on arrival by [`OverflowPolicy::DropNewest`](crate::OverflowPolicy::DropNewest).
    DropNewest,
    /// Evicted from the queue by a newer message under
    /// [`OverflowPolicy::DropOldest`](crate::OverflowPolicy::DropOldest).
    DropOldest,
    /// Refused because the mailbox was full: [`OverflowPolicy::Reject`](crate::OverflowPolicy::Reject),
    /// or a send that cannot wait (`try_send`, `do_send`) under
    /// [`OverflowPolicy::Block`](crate::OverflowPolicy::Block).
    Rejected,
    /// `send_timeout` found no room before its deadline.
    Timeout,
    /// Queued, but the actor stopped before handling it.
    Stopped,
    /// Sent after the mailbox had closed (the actor was gone).
    Closed,
    /// Queued, but shed at the head of the mailbox because it waited too long: its time in
    /// the mailbox passed the [`ttl`](crate::MailboxConfig::ttl), or stayed above the
    /// [`sojourn`](crate::MailboxConfig::sojourn) target while the mailbox was overloaded.
    Expired,
    /// Refused by the mailbox's [`rate_limit`](crate::MailboxConfig::rate_limit): no token
    /// was there and the policy does not wait (`DropNewest`, `DropOldest`, `Reject`, or a
    /// `try_send`/`do_send`).
    RateLimited,
}

impl DropReason {
    /// Every reason, in the order the metrics list them (the `reason` label of
    /// [`mailbox_dropped_total`](crate::metrics::MAILBOX_DROPPED_TOTAL) takes each value).
    pub const ALL: [DropReason; 8] = [
        DropReason::DropNewest,
        DropReason::DropOldest,
        DropReason::Rejected,
        DropReason::Timeout,
        DropReason::Stopped,
        DropReason::Closed,
        DropReason::Expired,
        DropReason::RateLimited,
    ];

    /// The reason's label value: `drop_newest`, `drop_oldest`, `rejected`, `timeout`,
    /// `stopped`, `closed`, `expired` or `rate_limited`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::DropNewest => "drop_newest",
            DropReason::DropOldest => "drop_oldest",
            DropReason::Rejected => "rejected",
            DropReason::Timeout => "timeout",
            DropReason::Stopped => "stopped",
            DropReason::Closed => "closed",
            DropReason::Expired => "expired",
            DropReason::RateLimited => "rate_limited",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message that did not reach its handler, as shown to the drop hook.
///
/// The hook borrows the message: when the message is handed back to the sender (a refused or
/// timed-out send), the sender gets it right after the hook returns; otherwise it is dropped
/// right after. Use [`downcast_ref`](Self::downcast_ref) to look at it.
pub struct Dropped<'a> {
    pub(crate) reason: DropReason,
    pub(crate) actor: &'a str,
    pub(crate) type_name: &'static str,
    pub(crate) message: &'a (dyn Any + Send),
}

impl<'a> Dropped<'a> {
    /// Why the message did not reach its handler.
    pub fn reason(&self) -> DropReason {
        self.reason
    }

    /// The mailbox's name (see [`MailboxConfig::name`](crate::MailboxConfig::name)).
    pub fn actor(&self) -> &'a str {
        self.actor
    }

    /// The message's type name, as given by [`std::any::type_name`].
    pub fn message_type(&self) -> &'static str {
        self.type_name
    }

    /// The message, if it is an `M`.
    pub fn downcast_ref<M: 'static>(&self) -> Option<&'a M> {
        self.message.downcast_ref::<M>()
    }
}

impl fmt::Debug for Dropped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dropped")
            .field("reason", &self.reason)
            .field("actor", &self.actor)
            .field("message_type", &self.type_name)
            .finish_non_exhaustive()
    }
}

/// The drop hook's type: called once per message that does not reach its handler, on the
/// thread where that was decided, never while the mailbox holds a lock.
pub(crate) type DropHook = Arc<dyn Fn(&Dropped<'_>) + Send + Sync>;
