//! Search: PostgreSQL full-text search with ranking, made tolerant of typos.
//!
//! A query is split into words. Words the catalog knows (the `search_terms` lexicon of product
//! names, categories and options) are kept; each unknown word is replaced by the known word
//! closest to it: candidates come from PostgreSQL (`pg_trgm` similarity, or the same first letter
//! and about the same length, since trigrams cannot see that `mgu` is `mug`), and the one with
//! the smallest optimal-string-alignment distance wins (a swapped pair of letters counts once),
//! if it is close enough for the word's length. The corrected words become a prefix `tsquery`
//! (`blue:* & mug:*`: every word must match, stemmed, `mugs` finds `mug`, `note` finds
//! `notebook`), ranked by `ts_rank_cd` plus the trigram similarity of the name.

use sqlx::PgPool;

use crate::domain::words;
use crate::storage;

/// At most this many words of a query are searched.
pub const MAX_WORDS: usize = 8;

/// What a query searches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The `tsquery` of the (corrected) words; `None` when no word is left.
    pub tsquery: Option<String>,
    /// The (corrected) words, space-separated, for ranking by trigram similarity.
    pub text: String,
    /// The corrected query when a word was replaced.
    pub corrected: Option<String>,
}

/// How far a typed word may be from the word it is taken for.
fn tolerance(word: &str) -> usize {
    match word.chars().count() {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    }
}

/// Builds the search for `raw`, correcting words the catalog does not know.
pub async fn prepare(db: &PgPool, raw: &str) -> Result<Search, sqlx::Error> {
    let mut typed = words(raw);
    typed.truncate(MAX_WORDS);
    if typed.is_empty() {
        return Ok(Search {
            tsquery: None,
            text: String::new(),
            corrected: None,
        });
    }
    let known = storage::known_terms(db, &typed).await?;
    let mut corrected = Vec::with_capacity(typed.len());
    let mut changed = false;
    for word in &typed {
        if known.contains(word) {
            corrected.push(word.clone());
            continue;
        }
        let candidates = storage::term_candidates(db, word).await?;
        let best = candidates
            .iter()
            .map(|(term, score)| (strsim::osa_distance(word, term), -score, term))
            .filter(|(distance, _, _)| *distance <= tolerance(word))
            .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(b.2)));
        match best {
            Some((_, _, term)) => {
                changed = true;
                corrected.push(term.clone());
            }
            // Nothing close: search for the word as typed (a prefix may still match).
            None => corrected.push(word.clone()),
        }
    }
    let tsquery = corrected
        .iter()
        .map(|w| format!("{w}:*"))
        .collect::<Vec<_>>()
        .join(" & ");
    let text = corrected.join(" ");
    Ok(Search {
        tsquery: Some(tsquery),
        corrected: changed.then(|| text.clone()),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::tolerance;

    #[test]
    fn longer_words_tolerate_more_typos() {
        assert_eq!(tolerance("mgu"), 1);
        assert_eq!(tolerance("notebok"), 2);
        assert_eq!(tolerance("waterbottle"), 3);
        assert_eq!(strsim::osa_distance("mgu", "mug"), 1, "a swap counts once");
    }
}
