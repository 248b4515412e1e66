//! The overflow policies as the attribute spells them (`policy = "drop_oldest"`), mirroring
//! `actix_backpressure::OverflowPolicy`.

use proc_macro2::{Ident, Span};

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

    /// The spellings `policy = ".."` accepts: the runtime's own (`OverflowPolicy::as_str`).
    pub(crate) const NAMES: [&'static str; 4] = actix_backpressure_names::POLICY_NAMES;

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

    /// The error for a string that names no policy: the runtime's own message, hint included.
    pub(crate) fn unknown(given: &str) -> String {
        actix_backpressure_names::unknown_policy(given)
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
    fn unknown_names_get_the_runtimes_message() {
        assert_eq!(
            Policy::unknown("drop_olderst"),
            "unknown overflow policy `drop_olderst`; did you mean `drop_oldest`? \
             expected one of `block`, `drop_newest`, `drop_oldest`, `reject`"
        );
        assert!(Policy::unknown("drop_latest").contains("ambiguous"));
    }
}
