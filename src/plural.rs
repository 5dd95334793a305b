//! Counts in words: "1 tag change", "2 tag changes", never "1 tag changes".

use std::fmt::Display;

/// `n` and the noun, singular for exactly one.
pub fn count<N>(n: N, noun: &str) -> String
where
    N: Copy + Display + PartialEq + From<u8>,
{
    if n == N::from(1) {
        format!("{n} {noun}")
    } else {
        format!("{n} {}", plural(noun))
    }
}

/// `n` and `one` or `many`, for words `count` cannot make ("1 person", "2 people").
pub fn count_as<N>(n: N, one: &str, many: &str) -> String
where
    N: Copy + Display + PartialEq + From<u8>,
{
    format!("{n} {}", if n == N::from(1) { one } else { many })
}

/// "s" for any count but one, for verbs and nouns inside a longer phrase.
pub fn s<N>(n: N) -> &'static str
where
    N: PartialEq + From<u8>,
{
    if n == N::from(1) { "" } else { "s" }
}

/// The English plural of the last word of `noun`, for the nouns this program
/// counts (regular ones, and those ending in s, x, ch, sh or a consonant + y).
fn plural(noun: &str) -> String {
    let consonant_y = noun.ends_with('y')
        && !noun
            .chars()
            .rev()
            .nth(1)
            .is_some_and(|c| "aeiou".contains(c));
    if consonant_y {
        format!("{}ies", &noun[..noun.len() - 1])
    } else if ["s", "x", "ch", "sh"].iter().any(|e| noun.ends_with(e)) {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(count(1u64, "tag change"), "1 tag change");
        assert_eq!(count(0usize, "tag change"), "0 tag changes");
        assert_eq!(count(2u64, "time"), "2 times");
        assert_eq!(count(3usize, "commission"), "3 commissions");
        assert_eq!(count(2usize, "entry"), "2 entries");
        assert_eq!(count(2usize, "key"), "2 keys");
        assert_eq!(count(2usize, "match"), "2 matches");
        assert_eq!(count_as(1u64, "was", "were"), "1 was");
        assert_eq!(s(1usize), "");
        assert_eq!(s(5u64), "s");
    }
}
