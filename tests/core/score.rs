//! Lexical scorers: code-aware terms, BM25 and self-information.
//!
//! Invariants and agreement with brute-force reference implementations come first, then
//! examples, then BM25 retrieval on real code from the shared evaluation set.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use pith::score::bm25::Bm25Index;
use pith::score::terms::{is_stopword, term_counts, terms};
use pith::score::{Bm25, Scorer, SelfInformation};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// terms

proptest! {
    #[test]
    fn terms_are_nonempty_and_lowercase(text in any::<String>()) {
        for t in terms(&text) {
            prop_assert!(!t.is_empty());
            prop_assert_eq!(t.to_lowercase(), t.clone(), "term {:?} of {:?}", t, text);
        }
    }

    #[test]
    fn terms_of_code_like_text_are_nonempty_and_lowercase(
        text in "([A-Za-z_][A-Za-z0-9_]{0,12}[ .:\\-(),]{0,3}){0,12}"
    ) {
        for t in terms(&text) {
            prop_assert!(!t.is_empty());
            prop_assert_eq!(t.to_lowercase(), t.clone());
        }
    }

    /// A multi-part identifier is always kept whole, even when a part is a stopword.
    #[test]
    fn multi_part_identifiers_are_kept_whole(
        parts in prop::collection::vec("[a-z]{1,8}", 2..5),
        sep in prop::sample::select(vec!["_", ".", "-", "::"]),
    ) {
        let ident = parts.join(sep);
        prop_assert!(terms(&ident).contains(&ident), "{:?} -> {:?}", ident, terms(&ident));
    }

    /// camelCase and snake_case spellings of one name share all their part terms.
    #[test]
    fn camel_and_snake_spellings_share_parts(parts in prop::collection::vec("[a-z]{2,8}", 2..5)) {
        let snake = parts.join("_");
        let camel: String = parts
            .iter()
            .enumerate()
            .map(|(i, p)| if i == 0 { p.clone() } else { p[..1].to_uppercase() + &p[1..] })
            .collect();
        let part_terms = |s: &str| -> HashSet<String> {
            let whole = s.to_lowercase();
            terms(s).into_iter().filter(|t| *t != whole).collect()
        };
        prop_assert_eq!(part_terms(&snake), part_terms(&camel));
    }

    #[test]
    fn term_counts_agree_with_terms(text in "[a-zA-Z_ .]{0,80}") {
        let mut expected: HashMap<String, u32> = HashMap::new();
        for t in terms(&text) {
            *expected.entry(t).or_insert(0) += 1;
        }
        prop_assert_eq!(term_counts(&text), expected);
    }
}

fn t(text: &str) -> Vec<String> {
    terms(text)
}

#[test]
fn splits_snake_camel_pascal_and_acronyms() {
    assert_eq!(t("snake_case"), ["snake_case", "snake", "case"]);
    assert_eq!(t("camelCase"), ["camelcase", "camel", "case"]);
    assert_eq!(t("PascalCase"), ["pascalcase", "pascal", "case"]);
    assert_eq!(
        t("HTTPServerError"),
        ["httpservererror", "http", "server", "error"]
    );
    assert_eq!(
        t("XMLHttpRequest"),
        ["xmlhttprequest", "xml", "http", "request"]
    );
    assert_eq!(t("IOError"), ["ioerror", "io", "error"]);
    assert_eq!(t("SCREAMING_CASE"), ["screaming_case", "scream", "case"]);
    assert_eq!(t("__init__"), ["__init__", "init"]);
    assert_eq!(t("_private"), ["_private", "privat"]);
}

#[test]
fn splits_letters_from_digits_and_keeps_numbers() {
    assert_eq!(t("utf8"), ["utf8", "utf", "8"]);
    assert_eq!(t("sha256sum"), ["sha256sum", "sha", "256", "sum"]);
    assert_eq!(t("HTTP2Server"), ["http2server", "http", "2", "server"]);
    assert_eq!(t("x_1"), ["x_1", "x", "1"]);
    assert_eq!(t("42"), ["42"]);
    assert_eq!(t("3.14"), ["3.14", "3", "14"]);
}

#[test]
fn hashes_are_one_term() {
    // Split at letter/digit changes, two hashes would share fragments like `d` and `9`.
    assert_eq!(t("commit f8fcb7c334a5f0e3"), ["commit", "f8fcb7c334a5f0e3"]);
    assert_eq!(t("01b78a0..fdd9e38"), ["01b78a0", "fdd9e38"]);
    // Short or letter-only runs are not hashes.
    assert_eq!(t("x1b2c3"), ["x1b2c3", "x", "1", "b", "2", "c", "3"]);
    assert_eq!(t("deadbeef"), ["deadbeef"]);
}

#[test]
fn splits_dotted_path_and_kebab_names() {
    assert_eq!(t("os.path.join"), ["os.path.join", "os", "path", "join"]);
    assert_eq!(
        t("self.http_server"),
        ["self.http_server", "self", "http_server", "http", "server"]
    );
    assert_eq!(t("std::io::Read"), ["std::io::read", "std", "io", "read"]);
    assert_eq!(t("well-known"), ["well-known", "well", "known"]);
    assert_eq!(t("--verbose"), ["verbos"]);
}

#[test]
fn punctuation_ends_a_compound() {
    // A full stop followed by a space is a sentence end, not a dotted name.
    assert_eq!(t("Call foo. Then bar"), ["call", "foo", "bar"]);
    assert_eq!(t("f(x, y)"), ["f", "x", "y"]);
    assert_eq!(t("a.b."), ["a.b", "b"]);
}

#[test]
fn handles_unicode_words() {
    assert_eq!(t("café naïve"), ["café", "naïve"]);
    assert_eq!(t("ÜberCool"), ["übercool", "über", "cool"]);
    assert_eq!(t("日本語"), ["日本語"]);
    assert_eq!(t("ΣΊΣΥΦΟΣ"), ["σίσυφοσ"]);
}

#[test]
fn stems_english_word_parts() {
    assert_eq!(t("responses"), t("response"));
    assert_eq!(t("returned"), t("return"));
    assert_eq!(t("running runs"), ["run", "run"]);
    assert_eq!(t("getResponses"), ["getresponses", "get", "respons"]);
}

#[test]
fn whole_identifiers_are_not_stemmed() {
    assert!(t("get_responses").contains(&"get_responses".to_owned()));
    assert!(t("os.path.exists").contains(&"os.path.exists".to_owned()));
}

#[test]
fn drops_stopwords_but_never_a_whole_identifier() {
    assert_eq!(t("The cat of the house"), ["cat", "hous"]);
    assert_eq!(t("it is what it is"), Vec::<String>::new());
    assert_eq!(t("don't"), Vec::<String>::new());
    assert_eq!(t("is_empty"), ["is_empty", "empti"]);
    assert_eq!(t("the.of"), ["the.of"]);
    assert!(is_stopword("the") && !is_stopword("server"));
}

// ---------------------------------------------------------------------------------------
// BM25

/// The formula written out directly: per query term occurrence, scan every unit.
fn reference_bm25(units: &[&str], query: &str, k1: f64, b: f64) -> Vec<f64> {
    let docs: Vec<Vec<String>> = units.iter().map(|u| terms(u)).collect();
    let n = docs.len() as f64;
    let avg = docs.iter().map(Vec::len).sum::<usize>() as f64 / n.max(1.0);
    let q = terms(query);
    docs.iter()
        .map(|d| {
            q.iter()
                .map(|qt| {
                    let df = docs.iter().filter(|d| d.contains(qt)).count() as f64;
                    let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                    let tf = d.iter().filter(|w| *w == qt).count() as f64;
                    let norm = if avg > 0.0 { d.len() as f64 / avg } else { 0.0 };
                    idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * norm))
                })
                .filter(|x| !x.is_nan())
                .sum()
        })
        .collect()
}

/// Small-vocabulary text so random units and queries actually share terms.
fn small_vocab_text(max_words: usize) -> impl Strategy<Value = String> {
    let words = vec![
        "alpha",
        "beta",
        "gamma",
        "delta",
        "get_value",
        "setValue",
        "HTTPServer",
        "os.path",
        "the",
        "of",
        "parse",
        "parsing",
        "42",
    ];
    prop::collection::vec(prop::sample::select(words), 0..max_words).prop_map(|w| w.join(" "))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #[test]
    fn bm25_scores_are_finite_and_non_negative(
        units in prop::collection::vec(any::<String>(), 0..12),
        query in any::<String>(),
        k1 in prop::num::f64::ANY,
        b in prop::num::f64::ANY,
    ) {
        let units: Vec<&str> = units.iter().map(String::as_str).collect();
        let scores = Bm25 { k1, b }.score(&units, Some(&query));
        prop_assert_eq!(scores.len(), units.len());
        for s in scores {
            prop_assert!(s.is_finite() && s >= 0.0, "score {}", s);
        }
    }

    #[test]
    fn bm25_matches_reference(
        units in prop::collection::vec(small_vocab_text(15), 1..15),
        query in small_vocab_text(6),
        k1 in 0.0f64..3.0,
        b in 0.0f64..=1.0,
    ) {
        let units: Vec<&str> = units.iter().map(String::as_str).collect();
        let got = Bm25 { k1, b }.score(&units, Some(&query));
        let want = reference_bm25(&units, &query, k1, b);
        for (g, w) in got.iter().zip(&want) {
            prop_assert!(close(*g, *w), "got {:?} want {:?}", got, want);
        }
    }

    /// The reusable index gives the same scores as the one-shot scorer.
    #[test]
    fn bm25_index_matches_scorer(
        units in prop::collection::vec(small_vocab_text(15), 0..15),
        queries in prop::collection::vec(small_vocab_text(6), 1..4),
    ) {
        let units: Vec<&str> = units.iter().map(String::as_str).collect();
        let index = Bm25Index::new(&units);
        prop_assert_eq!(index.len(), units.len());
        let bm25 = Bm25::default();
        for q in &queries {
            prop_assert_eq!(index.score(&bm25, q), bm25.score(&units, Some(q)));
        }
    }
}

#[test]
fn bm25_without_query_terms_scores_zero() {
    let units = ["alpha beta", "gamma"];
    assert_eq!(Bm25::default().score(&units, None), [0.0, 0.0]);
    assert_eq!(Bm25::default().score(&units, Some("the of is")), [0.0, 0.0]);
    assert_eq!(Bm25::default().score(&[], Some("alpha")), Vec::<f64>::new());
}

#[test]
fn bm25_prefers_units_containing_the_query_words() {
    let units = [
        "def connect(host, port): open a socket to the server",
        "def render(template): fill the template with values",
        "def close(conn): release the socket",
    ];
    let s = Bm25::default().score(&units, Some("open a server socket"));
    assert!(s[0] > s[2] && s[2] > s[1], "{s:?}");
    assert_eq!(s[1], 0.0);
}

#[test]
fn bm25_weighs_rarer_terms_more() {
    // "common" is in every unit, "rare" in one; both candidate units have equal length.
    let units = [
        "common filler",
        "rare filler",
        "common other",
        "common thing",
        "common stuff",
    ];
    let index = Bm25Index::new(&units);
    assert!(index.idf("rare") > index.idf("common"));
    let s = Bm25::default().score(&units, Some("common rare"));
    assert!(s[1] > s[0], "{s:?}");
}

#[test]
fn bm25_normalises_by_length() {
    let units = ["needle", "needle hay hay hay hay hay hay hay", "other"];
    let s = Bm25::default().score(&units, Some("needle"));
    assert!(s[0] > s[1], "{s:?}");
    let flat = Bm25 { k1: 1.2, b: 0.0 }.score(&units, Some("needle"));
    assert!(close(flat[0], flat[1]), "{flat:?}");
}

#[test]
fn bm25_matches_identifiers_by_their_parts() {
    let units = [
        "def get_http_response(url): ...",
        "def parse_config(path): ...",
    ];
    let s = Bm25::default().score(&units, Some("How is the HTTP response fetched?"));
    assert!(s[0] > 0.0 && s[1] == 0.0, "{s:?}");
    let s = Bm25::default().score(&units, Some("getHttpResponses"));
    assert!(s[0] > 0.0 && s[1] == 0.0, "{s:?}");
}

#[test]
fn bm25_scales_to_twenty_thousand_units() {
    let units: Vec<String> = (0..20_000)
        .map(|i| {
            format!(
                "def handler_{i}(request): value_{m} = compute(request.body, {i}) \
                 return render(value_{m}) # the handler number {i} for module {m}",
                m = i % 97
            )
        })
        .collect();
    let units: Vec<&str> = units.iter().map(String::as_str).collect();
    let start = Instant::now();
    let s = Bm25::default().score(&units, Some("handler_12345 request body value_26"));
    let elapsed = start.elapsed();
    let best = (0..s.len()).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap();
    assert_eq!(best, 12_345);
    // Linear work is well under a second even unoptimised; a quadratic scan is minutes.
    assert!(elapsed.as_secs_f64() < 20.0, "took {elapsed:?}");
    eprintln!("BM25 over 20,000 units: {elapsed:?}");
}

// ---------------------------------------------------------------------------------------
// Self-information

/// The definition written out: add-one smoothed unit frequencies, distinct terms.
fn reference_selfinfo(units: &[&str]) -> Vec<f64> {
    let sets: Vec<HashSet<String>> = units
        .iter()
        .map(|u| terms(u).into_iter().collect())
        .collect();
    let mut c: HashMap<&String, f64> = HashMap::new();
    for s in &sets {
        for t in s {
            *c.entry(t).or_insert(0.0) += 1.0;
        }
    }
    let total: f64 = c.values().sum::<f64>() + c.len() as f64;
    sets.iter()
        .map(|s| {
            s.iter()
                .map(|t| -((c[t] + 1.0) / total).log2())
                .sum::<f64>()
                .max(0.0)
        })
        .collect()
}

proptest! {
    #[test]
    fn selfinfo_is_finite_and_non_negative(units in prop::collection::vec(any::<String>(), 0..12)) {
        let units: Vec<&str> = units.iter().map(String::as_str).collect();
        let s = SelfInformation.score(&units, None);
        prop_assert_eq!(s.len(), units.len());
        for v in s {
            prop_assert!(v.is_finite() && v >= 0.0, "value {}", v);
        }
    }

    #[test]
    fn selfinfo_matches_reference(units in prop::collection::vec(small_vocab_text(12), 0..12)) {
        let units: Vec<&str> = units.iter().map(String::as_str).collect();
        let got = SelfInformation.score(&units, None);
        let want = reference_selfinfo(&units);
        for (g, w) in got.iter().zip(&want) {
            prop_assert!(close(*g, *w), "got {:?} want {:?}", got, want);
        }
    }
}

#[test]
fn selfinfo_values_rare_words_above_common_ones() {
    let units = [
        "server request response",
        "server request response",
        "server request response",
        "quaternion manifold eigenvalue",
        "server request response",
    ];
    let s = SelfInformation.score(&units, None);
    assert!(s[3] > s[0], "{s:?}");
    assert!(s.iter().all(|v| v.is_finite() && *v >= 0.0));
}

#[test]
fn selfinfo_ignores_repetition_and_query() {
    let units = ["alpha beta", "alpha beta alpha beta alpha beta", "gamma"];
    let s = SelfInformation.score(&units, None);
    assert_eq!(s[0], s[1]);
    assert_eq!(s, SelfInformation.score(&units, Some("gamma")));
    assert_eq!(SelfInformation.score(&["", "the"], None), [0.0, 0.0]);
}

// ---------------------------------------------------------------------------------------
// BM25 on real code: find a function from the first sentence of its docstring.

#[derive(serde::Deserialize)]
struct FuncItem {
    package: String,
    query: String,
    lineno: usize,
    doc_lines: [usize; 2],
    code: String,
}

fn load_funcret() -> Vec<FuncItem> {
    let path = crate::prereq::shared("eval/code/funcret-dev.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("evaluation data missing at {} ({e}); the shared/ folder must sit beside the repository", path.display())
    });
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("funcret line"))
        .collect()
}

/// The item's code without its docstring lines (variant B of the evaluation: the query
/// is no longer in the context verbatim).
fn code_without_docstring(item: &FuncItem) -> String {
    let first = item.doc_lines[0] - item.lineno;
    let last = item.doc_lines[1] - item.lineno;
    item.code
        .lines()
        .enumerate()
        .filter(|(i, _)| *i < first || *i > last)
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join("\n")
}

struct Retrieval {
    units: usize,
    mean_rank: f64,
    top1: f64,
    top5: f64,
}

/// Ranks every unit for every item's query; the right unit is the item's own.
/// Ties count against the right unit (its rank is 1 + units scoring at least as high).
fn retrieval(units: &[String], queries: &[&str]) -> Retrieval {
    let units_ref: Vec<&str> = units.iter().map(String::as_str).collect();
    let index = Bm25Index::new(&units_ref);
    let bm25 = Bm25::default();
    let ranks: Vec<usize> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let s = index.score(&bm25, q);
            1 + (0..s.len()).filter(|&j| j != i && s[j] >= s[i]).count()
        })
        .collect();
    let n = ranks.len() as f64;
    Retrieval {
        units: units.len(),
        mean_rank: ranks.iter().sum::<usize>() as f64 / n,
        top1: ranks.iter().filter(|&&r| r == 1).count() as f64 / n,
        top5: ranks.iter().filter(|&&r| r <= 5).count() as f64 / n,
    }
}

#[test]
fn bm25_finds_functions_from_their_docstring_summary() {
    let items = load_funcret();
    let mut packages: Vec<&str> = items.iter().map(|i| i.package.as_str()).collect();
    packages.sort_unstable();
    packages.dedup();
    assert!(
        packages.len() >= 2,
        "expected several packages, got {packages:?}"
    );

    for package in packages {
        let items: Vec<&FuncItem> = items.iter().filter(|i| i.package == package).collect();
        let queries: Vec<&str> = items.iter().map(|i| i.query.as_str()).collect();
        let with_doc: Vec<String> = items.iter().map(|i| i.code.clone()).collect();
        let without_doc: Vec<String> = items.iter().map(|i| code_without_docstring(i)).collect();

        let a = retrieval(&with_doc, &queries);
        let b = retrieval(&without_doc, &queries);
        for (variant, r) in [("A (docstring kept)", &a), ("B (docstring removed)", &b)] {
            eprintln!(
                "{package} {variant}: {} units, mean rank {:.1} (random {:.1}), top-1 {:.1}%, top-5 {:.1}%",
                r.units,
                r.mean_rank,
                (r.units as f64 + 1.0) / 2.0,
                100.0 * r.top1,
                100.0 * r.top5
            );
        }
        let random_rank = (b.units as f64 + 1.0) / 2.0;
        // With the query in the unit verbatim, retrieval is nearly perfect.
        assert!(a.top1 > 0.8, "{package}: variant A top-1 {}", a.top1);
        // Without it, only identifiers and code words link query and unit: still far
        // better than chance (random top-5 is 5/units, a few percent).
        assert!(
            b.mean_rank < random_rank / 3.0,
            "{package}: mean rank {}",
            b.mean_rank
        );
        assert!(b.top5 > 0.4, "{package}: variant B top-5 {}", b.top5);
    }
}

#[test]
fn terms_tokenize_a_large_source_tree_quickly() {
    // All functions of the evaluation set, repeated to ~1.7 MB of Python.
    let items = load_funcret();
    let corpus: String = items
        .iter()
        .map(|i| i.code.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let corpus = corpus.repeat(2);
    let start = Instant::now();
    let n = term_counts(&corpus).values().sum::<u32>();
    let elapsed = start.elapsed();
    eprintln!("{} bytes -> {n} terms in {elapsed:?}", corpus.len());
    assert!(n > 100_000);
    // Generous so an unoptimised build on a busy machine passes; release is far faster.
    assert!(elapsed.as_secs_f64() < 10.0, "took {elapsed:?}");
}
