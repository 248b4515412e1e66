//! The overflow policies as the attribute spells them (`policy = "drop_oldest"`), mirroring
//! `actix_backpressure::OverflowPolicy`.

use proc_macro2::{Ident, Span};

use crate::suggest;

/// One of `OverflowPolicy`'s variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    Block,
    DropNewest,
    DropOldest,
    Reject,
}

impl Policy {
    const ALL: [Policy; 4] = [
        Policy::Block,
        Policy::DropNewest,
        Policy::DropOldest,
        Policy::Reject,
    ];

    /// The spellings `policy = ".."` accepts, as `OverflowPolicy::as_str` gives them.
    pub(crate) const NAMES: [&'static str; 4] = ["block", "drop_newest", "drop_oldest", "reject"];

    /// The attribute's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The name of the `OverflowPolicy` variant.
    pub(crate) fn variant(self, span: Span) -> Ident {
        let name = match self {
            Policy::Block => "Block",
            Policy::DropNewest => "DropNewest",
            Policy::DropOldest => "DropOldest",
            Policy::Reject => "Reject",
        };
        Ident::new(name, span)
    }

    /// The policy spelled exactly `name`.
    pub(crate) fn from_name(name: &str) -> Option<Policy> {
        Self::ALL.into_iter().find(|policy| policy.as_str() == name)
    }

    /// The error for a string that names no policy: a suggestion when one is likely, then
    /// the valid spellings.
    pub(crate) fn unknown(given: &str) -> String {
        let expected = suggest::one_of(&Self::NAMES);
        let normalized = suggest::normalize(given);
        if normalized.contains("latest") {
            // Reactor's DROP_LATEST drops the incoming element, RxJava 3's evicts the newest
            // queued one: guessing either would be wrong half the time.
            return format!(
                "unknown policy `{given}`: \"latest\" is ambiguous; use `drop_newest` to \
                 discard the incoming message or `drop_oldest` to evict the oldest queued one; \
                 expected one of {expected}"
            );
        }
        match Self::suggestion(given, &normalized) {
            Some(policy) => format!(
                "unknown policy `{given}`; did you mean `{}`? expected one of {expected}",
                policy.as_str()
            ),
            None => format!("unknown policy `{given}`; expected one of {expected}"),
        }
    }

    /// The policy `given` (already `normalized`) most likely means: a misspelling, or the
    /// name of the same policy in Akka (`OverflowStrategy`) or Reactor.
    fn suggestion(given: &str, normalized: &str) -> Option<Policy> {
        let alias = match normalized {
            "backpressure" => Some(Policy::Block),
            "dropnew" => Some(Policy::DropNewest),
            "drophead" => Some(Policy::DropOldest),
            "fail" | "error" => Some(Policy::Reject),
            _ => None,
        };
        alias.or_else(|| suggest::closest(given, &Self::NAMES).and_then(Self::from_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_variants() {
        for policy in Policy::ALL {
            assert_eq!(Policy::from_name(policy.as_str()), Some(policy));
        }
        assert_eq!(Policy::DropOldest.as_str(), "drop_oldest");
        assert_eq!(
            Policy::DropNewest.variant(Span::call_site()).to_string(),
            "DropNewest"
        );
        assert_eq!(Policy::from_name("DropOldest"), None);
    }

    #[test]
    fn misspellings_get_the_nearest_policy() {
        assert_eq!(
            Policy::unknown("drop_olderst"),
            "unknown policy `drop_olderst`; did you mean `drop_oldest`? \
             expected one of `block`, `drop_newest`, `drop_oldest`, `reject`"
        );
        assert!(Policy::unknown("DropNewest").contains("did you mean `drop_newest`?"));
        assert!(Policy::unknown("rejet").contains("did you mean `reject`?"));
    }

    #[test]
    fn other_libraries_names_get_ours() {
        assert!(Policy::unknown("dropHead").contains("did you mean `drop_oldest`?"));
        assert!(Policy::unknown("drop_new").contains("did you mean `drop_newest`?"));
        assert!(Policy::unknown("backpressure").contains("did you mean `block`?"));
        assert!(Policy::unknown("fail").contains("did you mean `reject`?"));
    }

    #[test]
    fn latest_is_ambiguous_so_nothing_is_guessed() {
        let message = Policy::unknown("drop_latest");
        assert!(message.contains("ambiguous"), "{message}");
        assert!(!message.contains("did you mean"), "{message}");
    }

    #[test]
    fn unrelated_words_only_list_the_policies() {
        assert_eq!(
            Policy::unknown("fast"),
            "unknown policy `fast`; expected one of \
             `block`, `drop_newest`, `drop_oldest`, `reject`"
        );
    }
}
