//! The spellings that `actix-backpressure`'s runtime (parsing a TOML file or a string) and its
//! `#[derive(Backpressured)]` both accept, and the one "did you mean" both give: a single
//! source of truth, so that the two never disagree on a name or a suggestion.
//!
//! Not meant to be used directly: depend on `actix-backpressure`.

pub mod suggest;

/// The overflow policies' names, in the order of `OverflowPolicy`'s variants (`Block`,
/// `DropNewest`, `DropOldest`, `Reject`).
pub const POLICY_NAMES: [&str; 4] = ["block", "drop_newest", "drop_oldest", "reject"];

/// What a string that names no policy most likely meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyHint {
    /// This policy (one of [`POLICY_NAMES`]): a misspelling, another case or separator, or
    /// the name of the same policy in Akka (`OverflowStrategy`) or Reactor.
    Likely(&'static str),
    /// "latest": Reactor's `DROP_LATEST` discards the incoming element, RxJava 3's evicts the
    /// newest queued one. Guessing either would be wrong half the time.
    AmbiguousLatest,
}

/// The hint for `given`, a string that is not one of [`POLICY_NAMES`], if any is likely.
pub fn policy_hint(given: &str) -> Option<PolicyHint> {
    let normalized = suggest::normalize(given);
    if normalized.contains("latest") {
        return Some(PolicyHint::AmbiguousLatest);
    }
    let alias = match normalized.as_str() {
        "backpressure" => Some("block"),
        "dropnew" => Some("drop_newest"),
        "drophead" => Some("drop_oldest"),
        "fail" | "error" => Some("reject"),
        _ => None,
    };
    alias
        .or_else(|| suggest::closest(given, &POLICY_NAMES))
        .map(PolicyHint::Likely)
}

/// The error message for `given`, a string that names no policy: the hint, if any, then the
/// valid names.
pub fn unknown_policy(given: &str) -> String {
    let expected = suggest::one_of(&POLICY_NAMES);
    match policy_hint(given) {
        Some(PolicyHint::Likely(name)) => {
            format!("unknown overflow policy `{given}`; did you mean `{name}`? expected one of {expected}")
        }
        Some(PolicyHint::AmbiguousLatest) => format!(
            "unknown overflow policy `{given}`: \"latest\" is ambiguous; use `drop_newest` to \
             discard the incoming message or `drop_oldest` to evict the oldest queued one; \
             expected one of {expected}"
        ),
        None => format!("unknown overflow policy `{given}`; expected one of {expected}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_get_the_nearest_policy() {
        assert_eq!(
            unknown_policy("drop_olderst"),
            "unknown overflow policy `drop_olderst`; did you mean `drop_oldest`? \
             expected one of `block`, `drop_newest`, `drop_oldest`, `reject`"
        );
        assert_eq!(
            policy_hint("DropNewest"),
            Some(PolicyHint::Likely("drop_newest"))
        );
        assert_eq!(
            policy_hint("drop-oldest"),
            Some(PolicyHint::Likely("drop_oldest"))
        );
        assert_eq!(policy_hint("rejet"), Some(PolicyHint::Likely("reject")));
    }

    #[test]
    fn other_libraries_names_get_ours() {
        assert_eq!(
            policy_hint("dropHead"),
            Some(PolicyHint::Likely("drop_oldest"))
        );
        assert_eq!(
            policy_hint("drop_new"),
            Some(PolicyHint::Likely("drop_newest"))
        );
        assert_eq!(
            policy_hint("backpressure"),
            Some(PolicyHint::Likely("block"))
        );
        assert_eq!(policy_hint("fail"), Some(PolicyHint::Likely("reject")));
    }

    #[test]
    fn latest_is_ambiguous_so_nothing_is_guessed() {
        for given in ["drop_latest", "DROP_LATEST", "dropLatest"] {
            assert_eq!(policy_hint(given), Some(PolicyHint::AmbiguousLatest));
            let message = unknown_policy(given);
            assert!(message.contains("ambiguous"), "{message}");
            assert!(!message.contains("did you mean"), "{message}");
        }
    }

    #[test]
    fn unrelated_words_only_list_the_policies() {
        assert_eq!(policy_hint("fast"), None);
        assert_eq!(
            unknown_policy("fast"),
            "unknown overflow policy `fast`; expected one of \
             `block`, `drop_newest`, `drop_oldest`, `reject`"
        );
    }
}
