//! "Did you mean …?" for misspelt names and keys.

/// The candidate closest to `word`, when it is close enough to be a likely typo.
/// A candidate that differs only in case always qualifies.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut unlimited = usize::MAX;
    did_you_mean_within(word, candidates, &mut unlimited)
}

/// [`did_you_mean`] that spends at most `budget` units of work (about one per
/// pair of characters compared) and takes what it spent off `budget`; `None`
/// when the budget runs out first. Many misspellings against many long keys
/// then cost a bounded time.
pub fn did_you_mean_within<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    budget: &mut usize,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let length = word.chars().count();
    let limit = (length / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let c_length = c.chars().count();
        let cost = c_length + 1;
        // Edits change the length by at most one each: most keys are ruled
        // out without computing a distance.
        let compare = c != word && c_length.abs_diff(length) <= limit;
        let cost = if compare { cost * (length + 1) } else { cost };
        let Some(left) = budget.checked_sub(cost) else {
            *budget = 0;
            return None;
        };
        *budget = left;
        if !compare {
            continue;
        }
        let c_lower = c.to_lowercase();
        // Optimal string alignment: a swap of neighbours is one edit, as
        // with Damerau-Levenshtein, without its allocations.
        let distance = if c_lower == lower {
            0
        } else {
            strsim::osa_distance(&lower, &c_lower)
        };
        if distance <= limit && best.is_none_or(|(d, b)| (distance, c) < (d, b)) {
            best = Some((distance, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_near_names_only() {
        let names = ["name", "key", "description"];
        assert_eq!(did_you_mean("nmae", names), Some("name"));
        assert_eq!(did_you_mean("descripton", names), Some("description"));
        assert_eq!(did_you_mean("colour", names), None);
        assert_eq!(did_you_mean("SUB_X", ["sub_x", "sub_y"]), Some("sub_x"));
    }
}
