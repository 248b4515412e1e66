//! "Did you mean": the closest of a few valid spellings, by edit distance.

/// The Levenshtein distance between `a` and `b`, in `char`s: how many insertions, deletions
/// and substitutions turn one into the other.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // `row[j]`: the distance between the part of `a` read so far and `b[..j]`.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// `s` without case, `_`, `-` or spaces: `DropOldest`, `drop-oldest` and `DROP_OLDEST` all
/// become `dropoldest`.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The candidate `given` most likely misspells, if one is close enough: one that differs only
/// in case or separators, else the nearest within a third of the length (at least 1 edit),
/// the earliest on a tie.
pub fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let normalized = normalize(given);
    if let Some(&exact) = candidates.iter().find(|c| normalize(c) == normalized) {
        return Some(exact);
    }
    let lowered = given.to_lowercase().replace(['-', ' '], "_");
    let limit = (lowered.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|&candidate| (edit_distance(&lowered, candidate), candidate))
        .filter(|&(distance, _)| distance <= limit)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// `` `a`, `b`, `c` ``: the valid spellings, for an error message.
pub fn one_of(candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICIES: &[&str] = &["block", "drop_newest", "drop_oldest", "reject"];
    const KEYS: &[&str] = &["capacity", "policy", "name", "batch"];

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("block", "block"), 0);
        assert_eq!(edit_distance("drop_olderst", "drop_oldest"), 1); // insertion
        assert_eq!(edit_distance("capcity", "capacity"), 1); // deletion
        assert_eq!(edit_distance("rejact", "reject"), 1); // substitution
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("drop_newest", "drop_oldest"), 3);
    }

    #[test]
    fn edit_distance_is_symmetric_and_counts_chars_not_bytes() {
        for (a, b) in [("flaw", "lawn"), ("batch", "bench"), ("name", "")] {
            assert_eq!(edit_distance(a, b), edit_distance(b, a));
        }
        assert_eq!(edit_distance("blöck", "block"), 1);
    }

    #[test]
    fn close_misspellings_are_matched() {
        assert_eq!(closest("drop_olderst", POLICIES), Some("drop_oldest"));
        assert_eq!(closest("drop_neewst", POLICIES), Some("drop_newest"));
        assert_eq!(closest("blok", POLICIES), Some("block"));
        assert_eq!(closest("rejct", POLICIES), Some("reject"));
        assert_eq!(closest("capcity", KEYS), Some("capacity"));
        assert_eq!(closest("polcy", KEYS), Some("policy"));
        assert_eq!(closest("nme", KEYS), Some("name"));
    }

    #[test]
    fn case_and_separators_do_not_count() {
        assert_eq!(closest("DropOldest", POLICIES), Some("drop_oldest"));
        assert_eq!(closest("drop-newest", POLICIES), Some("drop_newest"));
        assert_eq!(closest("DROP_OLDEST", POLICIES), Some("drop_oldest"));
        assert_eq!(closest("Block", POLICIES), Some("block"));
        assert_eq!(closest("drop oldst", POLICIES), Some("drop_oldest"));
    }

    #[test]
    fn distant_words_get_no_suggestion() {
        assert_eq!(closest("fast", POLICIES), None);
        assert_eq!(closest("", POLICIES), None);
        assert_eq!(closest("size", KEYS), None);
        assert_eq!(closest("x", KEYS), None);
    }

    #[test]
    fn the_nearest_wins_and_ties_go_to_the_earliest() {
        // `drop_oldest` is 1 edit away, `drop_newest` 4.
        assert_eq!(closest("drop_olddest", POLICIES), Some("drop_oldest"));
        assert_eq!(closest("ab", &["ax", "xb"]), Some("ax"));
    }

    #[test]
    fn one_of_lists_the_spellings_in_backticks() {
        assert_eq!(
            one_of(POLICIES),
            "`block`, `drop_newest`, `drop_oldest`, `reject`"
        );
    }
}
