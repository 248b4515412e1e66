//! Errors of the send methods. They hand the message back whenever it was never queued.

use std::error::Error;
use std::fmt;

/// Why [`BoundedAddr::send`](crate::BoundedAddr::send) (or `tell`, `send_timeout`) failed.
///
/// Variants that carry the message mean it was never queued: you get it back, with
/// [`into_inner`](Self::into_inner). [`Evicted`](Self::Evicted) and [`Stopped`](Self::Stopped)
/// mean it was queued and will never be handled; it was passed to the drop hook and dropped.
#[non_exhaustive]
pub enum SendError<M> {
    /// The mailbox was full and its policy is [`Reject`](crate::OverflowPolicy::Reject).
    Full(M),
    /// The mailbox was full and its policy is [`DropNewest`](crate::OverflowPolicy::DropNewest):
    /// the message was discarded.
    Dropped(M),
    /// The actor was gone before the message could be queued.
    Closed(M),
    /// The message was queued, then evicted by a newer one under
    /// [`DropOldest`](crate::OverflowPolicy::DropOldest).
    Evicted,
    /// The message was queued, but the actor stopped before handling it (or while its
    /// response was still being computed).
    Stopped,
    /// No room came before the deadline of `send_timeout` (or of
    /// [`BoundedRequest::timeout`](crate::BoundedRequest::timeout)); the message was not
    /// queued.
    Timeout(M),
    /// The message was queued, but no response came before the deadline of
    /// [`BoundedRequest::timeout`](crate::BoundedRequest::timeout). The message stays queued
    /// and is still handled; its response is discarded. (actix's `MailboxError::Timeout`.)
    ResponseTimeout,
    /// The message was queued, then shed unhandled because it waited too long in the
    /// mailbox: past its [`ttl`](crate::MailboxConfig::ttl), or above the
    /// [`sojourn`](crate::MailboxConfig::sojourn) target while the mailbox was overloaded.
    Expired,
    /// The mailbox's [`rate_limit`](crate::MailboxConfig::rate_limit) had no token for it and
    /// its policy does not wait; the message was not queued.
    RateLimited(M),
}

/// Why [`BoundedAddr::try_send`](crate::BoundedAddr::try_send) failed. The message is always
/// handed back: a `try_send` either queues it or returns it.
#[non_exhaustive]
pub enum TrySendError<M> {
    /// The mailbox was full and its policy is [`Reject`](crate::OverflowPolicy::Reject) or
    /// [`Block`](crate::OverflowPolicy::Block) (`try_send` cannot wait).
    Full(M),
    /// The mailbox was full and its policy is [`DropNewest`](crate::OverflowPolicy::DropNewest).
    Dropped(M),
    /// The actor is gone.
    Closed(M),
    /// The mailbox's [`rate_limit`](crate::MailboxConfig::rate_limit) had no token for it.
    RateLimited(M),
}

impl<M> SendError<M> {
    /// The message, when it was never queued (`Full`, `Dropped`, `Closed`, `Timeout`,
    /// `RateLimited`).
    pub fn into_inner(self) -> Option<M> {
        match self {
            SendError::Full(msg)
            | SendError::Dropped(msg)
            | SendError::Closed(msg)
            | SendError::Timeout(msg)
            | SendError::RateLimited(msg) => Some(msg),
            SendError::Evicted
            | SendError::Stopped
            | SendError::ResponseTimeout
            | SendError::Expired => None,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            SendError::Full(_) => "mailbox full, message rejected",
            SendError::Dropped(_) => "mailbox full, message dropped",
            SendError::Closed(_) => "mailbox closed",
            SendError::Evicted => "message evicted from the mailbox by a newer one",
            SendError::Stopped => "actor stopped before handling the message",
            SendError::Timeout(_) => "timed out waiting for room in the mailbox",
            SendError::ResponseTimeout => {
                "timed out waiting for the response (the message is queued)"
            }
            SendError::Expired => "message shed: it waited too long in the mailbox",
            SendError::RateLimited(_) => "rate limit reached, message refused",
        }
    }

    fn variant(&self) -> &'static str {
        match self {
            SendError::Full(_) => "Full",
            SendError::Dropped(_) => "Dropped",
            SendError::Closed(_) => "Closed",
            SendError::Evicted => "Evicted",
            SendError::Stopped => "Stopped",
            SendError::Timeout(_) => "Timeout",
            SendError::ResponseTimeout => "ResponseTimeout",
            SendError::Expired => "Expired",
            SendError::RateLimited(_) => "RateLimited",
        }
    }
}

impl<M> TrySendError<M> {
    /// The message, handed back.
    pub fn into_inner(self) -> M {
        match self {
            TrySendError::Full(msg)
            | TrySendError::Dropped(msg)
            | TrySendError::Closed(msg)
            | TrySendError::RateLimited(msg) => msg,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            TrySendError::Full(_) => "mailbox full, message rejected",
            TrySendError::Dropped(_) => "mailbox full, message dropped",
            TrySendError::Closed(_) => "mailbox closed",
            TrySendError::RateLimited(_) => "rate limit reached, message refused",
        }
    }

    fn variant(&self) -> &'static str {
        match self {
            TrySendError::Full(_) => "Full",
            TrySendError::Dropped(_) => "Dropped",
            TrySendError::Closed(_) => "Closed",
            TrySendError::RateLimited(_) => "RateLimited",
        }
    }
}

impl<M> From<TrySendError<M>> for SendError<M> {
    fn from(err: TrySendError<M>) -> Self {
        match err {
            TrySendError::Full(msg) => SendError::Full(msg),
            TrySendError::Dropped(msg) => SendError::Dropped(msg),
            TrySendError::Closed(msg) => SendError::Closed(msg),
            TrySendError::RateLimited(msg) => SendError::RateLimited(msg),
        }
    }
}

// `Debug` does not require `M: Debug`, so errors of any message type can be unwrapped.
impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Evicted
            | SendError::Stopped
            | SendError::ResponseTimeout
            | SendError::Expired => f.write_str(self.variant()),
            _ => write!(f, "{}(..)", self.variant()),
        }
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl<M> Error for SendError<M> {}

impl<M> fmt::Debug for TrySendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(..)", self.variant())
    }
}

impl<M> fmt::Display for TrySendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl<M> Error for TrySendError<M> {}

#[cfg(test)]
mod tests {
    use super::*;

    struct NotDebug;

    #[test]
    fn debug_and_display_need_no_debug_message() {
        let err = SendError::Full(NotDebug);
        assert_eq!(format!("{err:?}"), "Full(..)");
        assert_eq!(err.to_string(), "mailbox full, message rejected");
        assert_eq!(format!("{:?}", SendError::<NotDebug>::Evicted), "Evicted");
        assert_eq!(
            format!("{:?}", TrySendError::Closed(NotDebug)),
            "Closed(..)"
        );
    }

    #[test]
    fn into_inner_gives_the_message_back_only_when_it_was_never_queued() {
        assert_eq!(SendError::Timeout(7).into_inner(), Some(7));
        assert_eq!(SendError::Dropped(7).into_inner(), Some(7));
        assert_eq!(SendError::<i32>::Evicted.into_inner(), None);
        assert_eq!(SendError::<i32>::Stopped.into_inner(), None);
        assert_eq!(TrySendError::Dropped(3).into_inner(), 3);
        assert_eq!(
            SendError::from(TrySendError::Closed(3)).into_inner(),
            Some(3)
        );
    }
}
