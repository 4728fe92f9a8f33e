//! Token counters: tiktoken encodings by name, and a Hugging Face tokenizer.json.
#![allow(clippy::unwrap_used)]

use pith::tokens::HfTokenizer;
use pith::{Compressor, Encoding, Input, Tiktoken, TokenCounter};

#[test]
fn encodings_parse_by_name_and_differ() {
    assert_eq!(
        "o200k_base".parse::<Encoding>().unwrap(),
        Encoding::O200kBase
    );
    assert_eq!("cl100k".parse::<Encoding>().unwrap(), Encoding::Cl100kBase);
    assert!("p50k_base".parse::<Encoding>().is_err());
    // Special-token text is counted as text, as an API counts user content.
    let t = Tiktoken::default();
    assert!(t.count("<|endoftext|>") > 1);
    assert_eq!(t.count(""), 0);
    let text = "東京は日本の首都です。 Hello, world!";
    assert_ne!(
        Tiktoken::new(Encoding::O200kBase).count(text),
        Tiktoken::new(Encoding::Cl100kBase).count(text)
    );
}

/// A word-level tokenizer.json written here, loaded by the real `tokenizers` crate.
fn word_level() -> tempfile::NamedTempFile {
    let json = serde_json::json!({
        "version": "1.0",
        "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "the": 1, "budget": 2, "is": 3, "a": 4, "promise": 5, ".": 6}, "unk_token": "[UNK]"}
    });
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), json.to_string()).unwrap();
    f
}

#[test]
fn tokenizer_json_counts_and_budgets_in_its_own_tokens() {
    let file = word_level();
    let hf = HfTokenizer::from_file(file.path()).unwrap();
    assert_eq!(hf.count("The budget is a promise."), 6);
    assert_eq!(hf.count("unknown words count too"), 4);
    let text = "The budget is a promise. Other words are here and there. The promise is kept.";
    let compressor = Compressor::builder()
        .counter(HfTokenizer::from_file(file.path()).unwrap())
        .build();
    let out = compressor
        .compress(Input::text(text).query("promise"), 8)
        .unwrap();
    assert!(hf.count(&out.text) <= 8, "{}", out.text);
    assert_eq!(out.tokens_after, hf.count(&out.text));
}

#[test]
fn a_missing_tokenizer_file_is_a_clear_error() {
    let err = HfTokenizer::from_file(std::path::Path::new("/no/such/tokenizer.json")).unwrap_err();
    assert!(err.to_string().contains("/no/such/tokenizer.json"));
}

mod prefix {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The prefix fits and ends on a char boundary, with the shortcut and the default search.
        #[test]
        fn prefix_len_fits_on_a_char_boundary(text in "\\PC{0,300}", max in 0usize..80) {
            for counter in [Tiktoken::new(Encoding::O200kBase), Tiktoken::new(Encoding::Cl100kBase)] {
                let n = counter.prefix_len(&text, max);
                prop_assert!(text.is_char_boundary(n));
                prop_assert!(counter.count(&text[..n]) <= max);
                if n < text.len() {
                    let next = text[n..].chars().next().map_or(0, char::len_utf8);
                    // The default (binary search) and tiktoken's shortcut agree on this.
                    struct Plain(Tiktoken);
                    impl std::fmt::Debug for Plain { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("plain") } }
                    impl TokenCounter for Plain { fn count(&self, t: &str) -> usize { self.0.count(t) } fn name(&self) -> &str { "plain" } }
                    let m = Plain(counter).prefix_len(&text, max);
                    prop_assert!(counter.count(&text[..m]) <= max);
                    prop_assert!(next > 0);
                }
            }
        }
    }
}

mod pieces {
    use super::*;
    use proptest::prelude::*;

    /// Lines of the kinds tool output has: words, paths, punctuation, numbers, spaces,
    /// blank lines, `/` after a newline, non-ASCII.
    fn lines() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            "([a-z]{1,8}|/usr/lib|[0-9]{1,5}|[ \t]{1,4}|[.;:()\\[\\]=/-]{1,3}|é|🙂|::|\\r){0,12}\n{0,3}",
            0..60,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        /// One pass over the text gives each piece its tokens, and they add up to the
        /// exact count of the whole — cut across threads or not.
        #[test]
        fn pieces_sum_to_the_exact_count(text in lines(), cuts in proptest::collection::vec(any::<u16>(), 0..30)) {
            let mut ends: Vec<usize> = cuts
                .iter()
                .map(|&c| usize::from(c) % (text.len() + 1))
                .filter(|&e| text.is_char_boundary(e) && e > 0)
                .collect();
            ends.push(text.len());
            ends.sort_unstable();
            ends.dedup();
            if text.is_empty() {
                ends.clear();
            }
            for counter in [Tiktoken::new(Encoding::O200kBase), Tiktoken::new(Encoding::Cl100kBase)] {
                let (counts, exact) = counter.count_pieces(&text, &ends);
                prop_assert!(exact);
                prop_assert_eq!(counts.len(), ends.len());
                prop_assert_eq!(counts.iter().sum::<usize>(), counter.count(&text));
            }
        }
    }

    #[test]
    fn a_real_log_counts_the_same_in_one_pass() {
        // The test runner's own kind of output, long enough to be cut across threads.
        let line = |i: usize| {
            format!(
                "tests/test_{i}.py::test_case[{i}-/tmp/x] PASSED [ {}%]\n",
                i % 100
            )
        };
        let text: String = (0..5000).map(line).collect();
        let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
        let counter = Tiktoken::default();
        let (counts, exact) = counter.count_pieces(&text, &ends);
        assert!(exact);
        assert_eq!(counts.iter().sum::<usize>(), counter.count(&text));
    }
}
