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

/// pith's own encoder against `tiktoken-rs` (which the parity test ties to Python
/// tiktoken): the same token ids for any text, both encodings.
mod oracle {
    use super::*;
    use proptest::prelude::*;
    use std::io::Read;

    fn pairs() -> [(Tiktoken, &'static tiktoken_rs::CoreBPE); 2] {
        [
            (
                Tiktoken::new(Encoding::O200kBase),
                tiktoken_rs::o200k_base_singleton(),
            ),
            (
                Tiktoken::new(Encoding::Cl100kBase),
                tiktoken_rs::cl100k_base_singleton(),
            ),
        ]
    }

    fn same_as_tiktoken_rs(text: &str) -> Result<(), TestCaseError> {
        for (counter, oracle) in pairs() {
            let want = oracle.encode_ordinary(text);
            prop_assert_eq!(
                &counter.encode_ordinary(text),
                &want,
                "{} on {:?}",
                counter.name(),
                text
            );
            prop_assert_eq!(counter.count(text), want.len());
        }
        Ok(())
    }

    /// Fragments where the pre-tokenizer's alternatives meet: cased words and
    /// contractions, digit runs, every kind of whitespace, code punctuation, marks,
    /// scripts without spaces, special-token text, and runs long enough for the
    /// large-piece merge.
    fn fragments() -> impl Strategy<Value = String> {
        let fragment = prop_oneof![
            "[a-zA-Z]{1,12}",
            "('s|'S|'t|'re|'VE|'m|'ll|'D|'x)",
            "[0-9]{1,7}",
            "[ \t\n\r\u{a0}\u{3000}\u{2028}\u{b}\u{c}\u{85}]{1,6}",
            "[-.,;:!?()\\[\\]{}<>=+*/\\\\|&^%$#@~`\"'_]{1,4}",
            "(\u{301}|\u{308}|\u{94d}|ǅ|ʰ|ᾈ|ß|İ|ﬁ)",
            "[东京日本語한국어ひらがなカタカナ]{1,6}",
            "[αβγδΑΒΓΔабвгАБВГ]{1,6}",
            "(🙂|👍🏽|🇫🇷|\u{200d}|\u{feff}|\u{0}|\u{7f})",
            "(<\\|endoftext\\|>|<\\|fim_prefix\\|>|<\\|endofprompt\\|>|<\\|im_start\\|>)",
            "[a-z]{100,180}",
            "[A-Za-z0-9+/]{100,300}",
            "[=*#-]{90,200}",
            "[ ]{90,200}",
            "[0-9]{100,150}",
            "\\PC{1,8}",
        ];
        proptest::collection::vec(fragment, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_printable_text(text in "\\PC{0,300}") {
            same_as_tiktoken_rs(&text)?;
        }

        #[test]
        fn any_text(text in any::<String>()) {
            same_as_tiktoken_rs(&text)?;
        }

        #[test]
        fn fragments_where_rules_meet(text in fragments()) {
            same_as_tiktoken_rs(&text)?;
        }
    }

    /// Every ordinary token's bytes, and encoding a token's text gives that token.
    #[test]
    fn the_tables_are_tiktoken_rs_tables() {
        for (counter, oracle) in pairs() {
            let mut rank = 0;
            while let Some(bytes) = counter.token_bytes(rank) {
                assert_eq!(oracle.decode_bytes(&[rank]).unwrap(), bytes, "{rank}");
                rank += 1;
            }
            let n = if counter.encoding() == Encoding::O200kBase {
                199_998
            } else {
                100_256
            };
            assert_eq!(rank, n);
            assert!(oracle.decode_bytes(&[rank]).is_err());
        }
    }

    fn gunzip(path: &std::path::Path) -> String {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    /// The committed tool outputs and pith's own sources: the same ids as tiktoken-rs.
    #[test]
    fn a_real_corpus_encodes_the_same() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts: Vec<(String, String)> = Vec::new();
        for split in ["dev", "held"] {
            for line in gunzip(&root.join(format!("eval/toolout/{split}.jsonl.gz"))).lines() {
                let case: serde_json::Value = serde_json::from_str(line).unwrap();
                let id = case["id"].as_str().unwrap().to_string();
                texts.push((id, case["output"].as_str().unwrap().to_string()));
            }
        }
        assert!(texts.len() > 100);
        let mut dirs = vec![
            root.join("src"),
            root.join("tests/fixtures"),
            root.join("eval"),
        ];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    texts.push((path.display().to_string(), text));
                }
            }
        }
        let mut tokens = 0;
        for (counter, oracle) in pairs() {
            for (name, text) in &texts {
                let want = oracle.encode_ordinary(text);
                assert!(
                    counter.encode_ordinary(text) == want,
                    "{} on {name}",
                    counter.name()
                );
                assert_eq!(
                    counter.count(text),
                    want.len(),
                    "{} on {name}",
                    counter.name()
                );
                tokens += want.len();
            }
        }
        assert!(tokens > 1_000_000, "{tokens} tokens");
    }
}
