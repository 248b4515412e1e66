//! What a full mailbox does with one more message.

use std::fmt;
use std::str::FromStr;

use actix_backpressure_names::PolicyHint;

/// What a full mailbox does when one more message arrives.
///
/// The policy decides only what happens *at the bound*: while there is room, every policy
/// queues the message. Each variant names its equivalent in Akka (`OverflowStrategy`) and
/// Reactor (`BufferOverflowStrategy`), because "drop latest" means different things in
/// different libraries.
///
/// | policy | when full | Akka | Reactor |
/// |---|---|---|---|
/// | [`Block`](Self::Block) | the sender waits for room (asynchronously) | `backpressure` | (demand) |
/// | [`DropNewest`](Self::DropNewest) | the *incoming* message is discarded | `dropNew` | `DROP_LATEST` |
/// | [`DropOldest`](Self::DropOldest) | the *oldest queued* message is evicted, the incoming one is queued | `dropHead` | `DROP_OLDEST` |
/// | [`Reject`](Self::Reject) | the send fails at once and hands the message back | `fail` (per message) | `ERROR` |
///
/// # Examples
///
/// ```
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use actix_backpressure::OverflowPolicy;
///
/// let policy: OverflowPolicy = "drop_oldest".parse().unwrap();
/// assert_eq!(policy, OverflowPolicy::DropOldest);
/// assert_eq!(policy.as_str(), "drop_oldest");
/// assert!("drop_latest".parse::<OverflowPolicy>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// The sender waits until there is room. `send`, `tell` and `send_timeout` wait
    /// asynchronously (no thread is blocked); `try_send` and `do_send` cannot wait, so they
    /// refuse the message with [`TrySendError::Full`](crate::TrySendError::Full), counted as
    /// *rejected*.
    #[default]
    Block,
    /// The incoming message is discarded and the queue is left as it is
    /// ([`SendError::Dropped`](crate::SendError::Dropped) hands it back).
    DropNewest,
    /// The oldest queued message is evicted to make room for the incoming one. A request whose
    /// message is evicted resolves to [`SendError::Evicted`](crate::SendError::Evicted).
    DropOldest,
    /// The send fails at once and hands the message back
    /// ([`SendError::Full`](crate::SendError::Full)).
    Reject,
}

impl OverflowPolicy {
    /// Every policy, in declaration order.
    pub const ALL: [OverflowPolicy; 4] = [
        OverflowPolicy::Block,
        OverflowPolicy::DropNewest,
        OverflowPolicy::DropOldest,
        OverflowPolicy::Reject,
    ];

    /// The policy's name as used in configuration and labels:
    /// `block`, `drop_newest`, `drop_oldest` or `reject`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OverflowPolicy::Block => "block",
            OverflowPolicy::DropNewest => "drop_newest",
            OverflowPolicy::DropOldest => "drop_oldest",
            OverflowPolicy::Reject => "reject",
        }
    }

    pub(crate) const fn to_u8(self) -> u8 {
        match self {
            OverflowPolicy::Block => 0,
            OverflowPolicy::DropNewest => 1,
            OverflowPolicy::DropOldest => 2,
            OverflowPolicy::Reject => 3,
        }
    }

    #[inline]
    pub(crate) const fn from_u8(raw: u8) -> OverflowPolicy {
        match raw {
            1 => OverflowPolicy::DropNewest,
            2 => OverflowPolicy::DropOldest,
            3 => OverflowPolicy::Reject,
            _ => OverflowPolicy::Block,
        }
    }
}

impl fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string names no [`OverflowPolicy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPolicy {
    given: String,
}

impl UnknownPolicy {
    /// The string that named no policy.
    pub fn given(&self) -> &str {
        &self.given
    }

    /// The policy the string most likely meant, if one is likely: a misspelling, another
    /// case or separator (`DropOldest`, `drop-oldest`), or the name of the same policy in Akka
    /// or Reactor (`dropHead`, `backpressure`). "latest" gets none: it is ambiguous (see
    /// [`OverflowPolicy`]). The derive's compile errors give the same suggestion.
    pub fn suggestion(&self) -> Option<OverflowPolicy> {
        match actix_backpressure_names::policy_hint(&self.given)? {
            PolicyHint::Likely(name) => name.parse().ok(),
            PolicyHint::AmbiguousLatest => None,
        }
    }
}

impl fmt::Display for UnknownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&actix_backpressure_names::unknown_policy(&self.given))
    }
}

impl std::error::Error for UnknownPolicy {}

impl FromStr for OverflowPolicy {
    type Err = UnknownPolicy;

    /// Parses `block`, `drop_newest`, `drop_oldest` or `reject` (exactly these spellings).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OverflowPolicy::ALL
            .into_iter()
            .find(|policy| policy.as_str() == s)
            .ok_or_else(|| UnknownPolicy {
                given: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_the_byte_encoding_and_from_str() {
        for policy in OverflowPolicy::ALL {
            assert_eq!(OverflowPolicy::from_u8(policy.to_u8()), policy);
            assert_eq!(policy.as_str().parse::<OverflowPolicy>(), Ok(policy));
        }
    }

    #[test]
    fn names_are_the_ones_the_derive_accepts() {
        assert_eq!(
            OverflowPolicy::ALL.map(OverflowPolicy::as_str),
            actix_backpressure_names::POLICY_NAMES
        );
        let latest = "drop_latest".parse::<OverflowPolicy>().unwrap_err();
        assert_eq!(latest.suggestion(), None);
        assert!(latest.to_string().contains("ambiguous"), "{latest}");
        let alias = "dropHead".parse::<OverflowPolicy>().unwrap_err();
        assert_eq!(alias.suggestion(), Some(OverflowPolicy::DropOldest));
    }

    #[test]
    fn close_misspellings_get_a_suggestion() {
        let err = "drop_olderst".parse::<OverflowPolicy>().unwrap_err();
        assert_eq!(err.suggestion(), Some(OverflowPolicy::DropOldest));
        assert_eq!(
            err.to_string(),
            "unknown overflow policy `drop_olderst`; did you mean `drop_oldest`? \
             expected one of `block`, `drop_newest`, `drop_oldest`, `reject`"
        );
        assert_eq!(
            "Block".parse::<OverflowPolicy>().unwrap_err().suggestion(),
            Some(OverflowPolicy::Block)
        );
        assert_eq!(
            "fifo".parse::<OverflowPolicy>().unwrap_err().suggestion(),
            None
        );
    }

    #[test]
    fn unknown_names_are_refused_with_the_list_of_valid_ones() {
        let err = "drop-oldest".parse::<OverflowPolicy>().unwrap_err();
        assert_eq!(err.given(), "drop-oldest");
        let text = err.to_string();
        assert!(
            text.contains("`drop-oldest`") && text.contains("`drop_oldest`"),
            "{text}"
        );
    }
}
