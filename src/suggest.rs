//! "Did you mean …?" for misspelt names and keys.

/// The candidate closest to `word`, when it is close enough to be a likely typo.
/// A candidate that differs only in case always qualifies.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let length = word.chars().count();
    let limit = (length / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        // Edits change the length by at most one each: most keys are
        // ruled out without computing a distance.
        .filter(|c| c.chars().count().abs_diff(length) <= limit)
        .filter_map(|c| {
            let c_lower = c.to_lowercase();
            if c_lower == lower {
                return Some((0, c));
            }
            // Optimal string alignment: a swap of neighbours is one edit,
            // as with Damerau-Levenshtein, without its allocations.
            let distance = strsim::osa_distance(&lower, &c_lower);
            (distance <= limit).then_some((distance, c))
        })
        .min_by_key(|(distance, c)| (*distance, *c))
        .map(|(_, c)| c)
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
