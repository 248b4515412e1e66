//! The spellings that `actix-backpressure`'s runtime (parsing a TOML file or a string) and its
//! `#[derive(Backpressured)]` both accept, and the one "did you mean" both give: a single
//! source of truth, so that the two never disagree on a name or a suggestion.
//!
//! Not meant to be used directly: depend on `actix-backpressure`.

pub mod suggest;

/// The units a duration may be written in, smallest first: `"250ms"`, `"1.5s"`.
pub const DURATION_UNITS: [&str; 6] = ["ns", "us", "ms", "s", "m", "h"];

/// Why a string is not a duration ([`parse_duration`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationProblem {
    /// Not a number followed by one of [`DURATION_UNITS`], or too large for a `Duration`.
    Malformed,
    /// Zero.
    Zero,
}

/// A positive duration written as a number (decimals allowed) and a unit of
/// [`DURATION_UNITS`] (`µs` too): `"250ms"`, `"1.5s"`, `"2m"`.
///
/// # Errors
///
/// [`DurationProblem::Malformed`] for anything else, [`DurationProblem::Zero`] for zero.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, DurationProblem> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or(DurationProblem::Malformed)?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| DurationProblem::Malformed)?;
    let seconds = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(DurationProblem::Malformed),
    };
    match std::time::Duration::try_from_secs_f64(number * seconds) {
        Ok(d) if d.is_zero() => Err(DurationProblem::Zero),
        Ok(d) => Ok(d),
        Err(_) => Err(DurationProblem::Malformed),
    }
}

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
    fn durations_take_a_number_and_a_unit() {
        use std::time::Duration;
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration("0ms"), Err(DurationProblem::Zero));
        for bad in ["5", "ms", "5 parsecs", "-1s", "1e3s", ""] {
            assert_eq!(
                parse_duration(bad),
                Err(DurationProblem::Malformed),
                "{bad}"
            );
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
