//! Prose chunker: invariants first (tiling, whitespace placement, sentence bounds) on
//! arbitrary and real text, then exact splits of real passages, then one example per rule.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pith::segment::prose::{ProseOptions, chunk_prose};
use pith::segment::{Chunk, ChunkKind, Chunker, ProseChunker, check_tiling};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------

/// Everything the chunker promises about any output, beyond tiling.
fn check_invariants(text: &str, chunks: &[Chunk], max: usize) -> Result<(), String> {
    check_tiling(text, chunks)?;
    for (i, c) in chunks.iter().enumerate() {
        let body = c.text(text);
        // The first chunk may also hold the document's leading whitespace.
        let content = body.trim();
        if i > 0 && body.starts_with(char::is_whitespace) {
            return Err(format!("chunk {i} {body:?} starts with whitespace"));
        }
        match c.kind {
            ChunkKind::Sentence => {
                if content.len() > max && content.chars().count() > 1 {
                    return Err(format!("sentence {i} is {} > {max} bytes", content.len()));
                }
                if content.split('\n').any(|l| l.trim().is_empty()) && !content.is_empty() {
                    return Err(format!("sentence {i} {content:?} spans a blank line"));
                }
            }
            ChunkKind::Heading if content.lines().count() > 2 => {
                return Err(format!("heading {i} {content:?} has more than two lines"));
            }
            ChunkKind::CodeFence => {
                if !content.starts_with("```") && !content.starts_with("~~~") {
                    return Err(format!("fence {i} {content:?} does not open with a fence"));
                }
            }
            ChunkKind::Table if content.lines().any(|l| !l.contains('|')) => {
                return Err(format!("table {i} {content:?} has a line without `|`"));
            }
            ChunkKind::Heading | ChunkKind::Table => {}
            other => return Err(format!("chunk {i} has non-prose kind {other:?}")),
        }
    }
    Ok(())
}

fn check(text: &str) {
    let chunks = ProseChunker.chunk(text);
    if let Err(e) = check_invariants(text, &chunks, ProseOptions::default().max_sentence_bytes) {
        panic!("{e}\ntext: {text:?}\nchunks: {:?}", texts(text));
    }
}

/// The chunk texts.
fn texts(text: &str) -> Vec<&str> {
    ProseChunker
        .chunk(text)
        .iter()
        .map(|c| c.text(text))
        .collect()
}

/// (kind, text) pairs.
fn kinds(text: &str) -> Vec<(ChunkKind, &str)> {
    ProseChunker
        .chunk(text)
        .iter()
        .map(|c| (c.kind, c.text(text)))
        .collect()
}

/// Fragments that exercise every rule, for random documents.
const FRAGMENTS: &[&str] = &[
    "# ",
    "## Title",
    "```",
    "~~~",
    "````",
    "|",
    "| a | b |",
    "|---|",
    "--|--",
    "\n",
    "\r\n",
    "\n\n",
    " ",
    "  ",
    "\t",
    ". ",
    "! ",
    "? ",
    "…",
    "...",
    "。",
    "」",
    "The",
    "word",
    "é",
    "日本",
    "- ",
    "* ",
    "1. ",
    "2) ",
    "> ",
    ">",
    "`",
    "``",
    "Mr.",
    "U.S.",
    "e.g.",
    "3.14",
    "https://x.io/a.b?c=d.",
    "bob@x.com",
    "\"",
    "(",
    ")",
    "===",
    "---",
    "* * *",
    "A.",
    "\u{a0}",
    "\u{3000}",
    "🦀",
];

fn fragment_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|v| v.concat())
}

fn shared_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared"));
    assert!(
        dir.join("eval").is_dir(),
        "test data missing: expected the shared eval data at {} (copy /work/shared beside \
         the repository as ../shared)",
        dir.display()
    );
    dir
}

fn essays() -> Vec<(String, String)> {
    let dir = shared_dir().join("eval/niah");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 10,
        "expected the NIAH essays in {}",
        dir.display()
    );
    out
}

/// Every distinct passage (gold and distractors) in the NQ dev set.
fn nq_passages() -> Vec<String> {
    let path = shared_dir().join("eval/nq20/dev.jsonl.gz");
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gzip on {}: {e}", path.display()));
    assert!(out.status.success(), "gzip failed on {}", path.display());
    let jsonl = String::from_utf8(out.stdout).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut passages = Vec::new();
    for line in jsonl.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let distractors = row["distractors"].as_array().unwrap();
        for p in std::iter::once(&row["gold"]).chain(distractors) {
            let text = p["text"].as_str().unwrap().to_owned();
            if seen.insert(text.clone()) {
                passages.push(text);
            }
        }
    }
    assert!(
        passages.len() > 1000,
        "too few NQ passages: {}",
        passages.len()
    );
    passages
}

fn nq_passage(passages: &[String], containing: &str) -> String {
    passages
        .iter()
        .find(|p| p.contains(containing))
        .unwrap_or_else(|| panic!("no NQ passage contains {containing:?}"))
        .clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tiles_arbitrary_strings(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn tiles_markdown_soup(text in fragment_soup()) {
        check(&text);
    }

    #[test]
    fn long_sentences_are_cut_to_the_limit(text in fragment_soup(), max in 1usize..40) {
        let chunks = chunk_prose(&text, &ProseOptions { max_sentence_bytes: max });
        prop_assert_eq!(check_invariants(&text, &chunks, max), Ok(()));
    }

    /// A paragraph break isolates what comes after it: chunking `a\n\nb` gives the chunks
    /// of `a\n\n` followed by those of `b`.
    #[test]
    fn blank_lines_isolate_paragraphs(
        a in "[A-Za-z .,!?'\"()\n]{0,80}[a-z]",
        b in "[A-Za-z][A-Za-z .,!?'\"()\n]{0,80}",
    ) {
        let joined = format!("{a}\n\n{b}");
        let head = format!("{a}\n\n");
        let mut expected: Vec<(ChunkKind, &str)> = kinds(&head);
        expected.extend(kinds(&b));
        prop_assert_eq!(kinds(&joined), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Real essays with random fragments spliced in at random char boundaries.
    #[test]
    fn tiles_edited_real_text(
        which in 0usize..1000,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4,
                                         prop::sample::select(FRAGMENTS)), 1..20),
    ) {
        let all = essays();
        let (_, essay) = &all[which % all.len()];
        let mut text: String = essay.chars().take(6000).collect();
        for (at, deleted, insert) in edits {
            let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            let at = if bounds.is_empty() { 0 } else { bounds[at.index(bounds.len())] };
            let del_end = text[at..].char_indices().nth(deleted).map_or(text.len(), |(i, _)| at + i);
            text.replace_range(at..del_end, insert);
        }
        check(&text);
    }
}

// ---------------------------------------------------------------------------------------
// Real text
// ---------------------------------------------------------------------------------------

#[test]
fn essays_tile_and_split_into_plausible_sentences() {
    for (name, text) in essays() {
        check(&text);
        let chunks = ProseChunker.chunk(&text);
        // Paul Graham's essays average roughly 100 bytes a sentence.
        let mean = text.len() / chunks.len();
        assert!(
            (40..=250).contains(&mean),
            "{name}: mean chunk {mean} bytes"
        );
        let terminal = chunks
            .iter()
            .filter(|c| {
                c.text(&text)
                    .trim_end()
                    .ends_with(['.', '?', '!', '"', ')'])
            })
            .count();
        assert!(
            terminal * 10 >= chunks.len() * 7,
            "{name}: only {terminal} of {} chunks end with sentence punctuation",
            chunks.len()
        );
    }
}

#[test]
fn essay_opening_splits_exactly() {
    let all = essays();
    let (_, apple) = all.iter().find(|(n, _)| n == "apple.txt").unwrap();
    let got = texts(apple);
    assert_eq!(
        &got[..8],
        [
            "\n\nWant to start a startup?  ",
            "Get funded by\nY Combinator.\n\n\n\n\n",
            "November 2009I don't think Apple realizes how badly the App Store approval process\nis broken.  ",
            "Or rather, I don't think they realize how much it matters\nthat it's broken.",
            // Scraped essays glue sentences together where paragraph breaks were lost.
            "The way Apple runs the App Store has harmed their reputation with\nprogrammers more than anything else they've ever done. \n",
            "Their reputation with programmers used to be great.\n",
            "It used to be the most common complaint you heard\nabout Apple was that their fans admired them too uncritically.\n",
            "The App Store has changed that.  ",
        ]
    );
}

#[test]
fn nq_passages_tile_and_split_exactly() {
    let passages = nq_passages();
    let mut sentences = 0;
    for p in &passages {
        check(p);
        sentences += ProseChunker.chunk(p).len();
    }
    // Wikipedia paragraphs of ~100 words: a handful of sentences each.
    let per = sentences as f64 / passages.len() as f64;
    assert!((2.0..8.0).contains(&per), "{per} sentences per passage");

    let cases: &[(&str, &[&str])] = &[
        (
            "Samuel F. B. Morse",
            &[
                "William Cooke and Charles Wheatstone introduced their working telegraph in 1839. ",
                "As early as 1840 Samuel F. B. Morse proclaimed his faith in the idea of a submarine line across the Atlantic Ocean. ",
                "By 1850 a cable was run between England and France.  ",
                "That same year Bishop John T. Mullock, head of the Roman Catholic Church in Newfoundland, proposed a telegraph line through the forest from St. John's to Cape Ray, and cables across the Gulf of St. Lawrence from Cape Ray to Nova Scotia across the Cabot Strait.",
            ],
        ),
        (
            "Cone cells, or cones",
            &[
                "Cone cells, or cones, are one of three types of photoreceptor cells in the retina of mammalian eyes (e.g. the human eye). ",
                "They are responsible for color vision and function best in relatively bright light, as opposed to rod cells, which work better in dim light. ",
                "Cone cells are densely packed in the fovea centralis, a 0.3\u{a0}mm diameter rod-free area with very thin, densely packed cones which quickly reduce in number towards the periphery of the retina.  ",
                "There are about six to seven million cones in a human eye and are most concentrated towards the macula. ",
                "The commonly cited",
            ],
        ),
        (
            "A typical URL could have the form",
            &[
                "Most web browsers display the URL of a web page above the page in an address bar. ",
                "A typical URL could have the form http://www.example.com/index.html, which indicates a protocol (http), a hostname (www.example.com), and a file name (index.html).",
            ],
        ),
        (
            "\"How Long\" is a 1974 song",
            &[
                "\"How Long\" is a 1974 song by the British group Ace from their album Five-A-Side.  ",
                "It reached No. 3 in the US and Canadian charts, and No. 20 in the UK Singles Chart.",
            ],
        ),
        (
            "Landry's, Inc. purchased",
            &[
                "Golden Nugget Atlantic City is a hotel, casino, and marina located in Atlantic City, New Jersey. ",
                "Opened in 1985 as Trump's Castle, it was renamed Trump Marina in 1997. ",
                "Landry's, Inc. purchased the casino from Trump Entertainment Resorts in February 2011, and the sale was approved in late May.  ",
                "Landry's took control of the property on May 23, 2011.",
            ],
        ),
        (
            "Jurist B. N. Rau",
            &[
                "Dr. Sachchidananda Sinha was the first chairman (temporary) of Constituent Assembly. ",
                "Later Dr. Rajendra Prasad was elected as the president and Its vice-president was Harendra Coomar Mookerjee, a Christian from Bengal and former vice-chancellor of Calcutta University.  ",
                "Also chairing the assembly's Minorities Committee, Mookerjee was appointed governor of West Bengal after India became a republic. ",
                "Jurist B. N. Rau was appointed constitutional adviser to the assembly; Rau prepared the original draft of the constitution, and was later appointed a judge in the Permanent Court of International Justice in The Hague.",
            ],
        ),
    ];
    for (key, expected) in cases {
        let p = nq_passage(&passages, key);
        assert_eq!(texts(&p), *expected, "passage containing {key:?}");
    }
}

#[test]
fn a_megabyte_is_chunked_in_well_under_a_second() {
    let essays = essays();
    let mut big = String::new();
    while big.len() < 1 << 20 {
        for (_, e) in &essays {
            big.push_str(e);
        }
    }
    // Inputs that would be quadratic for a naive scanner: unmatched backticks of many
    // lengths, endless candidate stops, one giant word, and thousands of tiny blocks.
    let backticks: String = (0..200_000).map(|i| "`".repeat(1 + i % 7) + "a.").collect();
    let stops = "a. b? c! ".repeat(120_000);
    let word = "x".repeat(1 << 20);
    let blocks = "|\n```\n~~~\n# h\n- a. B\n> q\n".repeat(40_000);
    for (name, text) in [
        ("essays", &big),
        ("backticks", &backticks),
        ("stops", &stops),
        ("word", &word),
        ("blocks", &blocks),
    ] {
        let t = Instant::now();
        let chunks = ProseChunker.chunk(text);
        let took = t.elapsed();
        assert_eq!(check_tiling(text, &chunks), Ok(()), "{name}");
        // Unoptimised test builds are several times slower than release.
        assert!(
            took < Duration::from_secs(1),
            "{name}: {} bytes took {took:?}",
            text.len()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Examples, one rule at a time
// ---------------------------------------------------------------------------------------

#[test]
fn whitespace_goes_to_the_preceding_chunk() {
    assert_eq!(texts(""), Vec::<&str>::new());
    assert_eq!(kinds(" \n\t"), [(ChunkKind::Sentence, " \n\t")]);
    assert_eq!(texts("  One. Two.  \n\n"), ["  One. ", "Two.  \n\n"]);
    assert_eq!(texts("One.\r\n\r\nTwo.\r\n"), ["One.\r\n\r\n", "Two.\r\n"]);
}

#[test]
fn terminators_and_what_follows() {
    assert_eq!(
        texts("Really? Yes! It works. 42 cats. \"Quoted.\" (Aside.) Done"),
        [
            "Really? ",
            "Yes! ",
            "It works. ",
            "42 cats. ",
            "\"Quoted.\" ",
            "(Aside.) ",
            "Done"
        ]
    );
    // The next word must plausibly start a sentence.
    assert_eq!(texts("It is 5 a.m. and dark."), ["It is 5 a.m. and dark."]);
    assert_eq!(
        texts("Wait... what? Oh… I see."),
        ["Wait... what? ", "Oh… ", "I see."]
    );
    assert_eq!(
        texts("He said \"Go.\" and left."),
        ["He said \"Go.\" and left."]
    );
}

#[test]
fn abbreviations_do_not_end_sentences() {
    assert_eq!(
        texts("Mr. and Mrs. Smith met Dr. Jones and Prof. Lee at St. Paul's. They talked."),
        [
            "Mr. and Mrs. Smith met Dr. Jones and Prof. Lee at St. Paul's. ",
            "They talked."
        ]
    );
    assert_eq!(
        texts("J. R. R. Tolkien wrote it, cf. Fig. 3 and Vol. 2, i.e. the sequel. It sold."),
        [
            "J. R. R. Tolkien wrote it, cf. Fig. 3 and Vol. 2, i.e. the sequel. ",
            "It sold."
        ]
    );
    assert_eq!(
        texts("Acme Inc. Board members met on Jan. 5 at 3 p.m. Eastern. It rained."),
        [
            "Acme Inc. Board members met on Jan. 5 at 3 p.m. Eastern. ",
            "It rained."
        ]
    );
    // Ambiguous abbreviations end a sentence when a common opener follows.
    assert_eq!(
        texts("She moved to the U.S. The rest is history."),
        ["She moved to the U.S. ", "The rest is history."]
    );
    assert_eq!(
        texts("Bring pens, paper, etc. We start at nine."),
        ["Bring pens, paper, etc. ", "We start at nine."]
    );
    assert_eq!(
        texts("Dr. Who vs. Mr. X. End."),
        ["Dr. Who vs. Mr. X. End."]
    );
}

#[test]
fn numbers_do_not_end_sentences() {
    assert_eq!(
        texts("Pi is 3.14 and 1,000.5 is big. Use v1.2.3 now. It was 1901. Then 1902."),
        [
            "Pi is 3.14 and 1,000.5 is big. ",
            "Use v1.2.3 now. ",
            "It was 1901. ",
            "Then 1902."
        ]
    );
}

#[test]
fn code_spans_urls_emails_and_paths_are_opaque() {
    assert_eq!(
        texts("Call `os.path.join(a. B)` first. Then stop."),
        ["Call `os.path.join(a. B)` first. ", "Then stop."]
    );
    assert_eq!(
        texts("See https://example.com/a.b?c=d. Then go."),
        ["See https://example.com/a.b?c=d. ", "Then go."]
    );
    assert_eq!(
        texts("Mail bob.smith@mail.example.org. Or call. Edit ~/.config/app.toml. Done."),
        [
            "Mail bob.smith@mail.example.org. ",
            "Or call. ",
            "Edit ~/.config/app.toml. ",
            "Done."
        ]
    );
    // Unmatched backticks are literal.
    assert_eq!(texts("A ` tick. Next one."), ["A ` tick. ", "Next one."]);
}

#[test]
fn headings() {
    assert_eq!(
        kinds("# Title\nText. More.\n## Sub ##\n\nBody.\n#hashtag here."),
        [
            (ChunkKind::Heading, "# Title\n"),
            (ChunkKind::Sentence, "Text. "),
            (ChunkKind::Sentence, "More.\n"),
            (ChunkKind::Heading, "## Sub ##\n\n"),
            (ChunkKind::Sentence, "Body.\n"),
            (ChunkKind::Sentence, "#hashtag here."),
        ]
    );
    assert_eq!(
        kinds("Intro line. Here\nTitle\n=====\nBody.\n\nSub\n---\n"),
        [
            (ChunkKind::Sentence, "Intro line. "),
            (ChunkKind::Sentence, "Here\n"),
            (ChunkKind::Heading, "Title\n=====\n"),
            (ChunkKind::Sentence, "Body.\n\n"),
            (ChunkKind::Heading, "Sub\n---\n"),
        ]
    );
}

#[test]
fn code_fences_are_kept_whole() {
    assert_eq!(
        kinds(
            "Before.\n```rust\nfn a() {}\n\n// x. Y.\n```\nAfter.\n~~~\n```\n~~~~\n\n  ````\nopen"
        ),
        [
            (ChunkKind::Sentence, "Before.\n"),
            (
                ChunkKind::CodeFence,
                "```rust\nfn a() {}\n\n// x. Y.\n```\n"
            ),
            (ChunkKind::Sentence, "After.\n"),
            (ChunkKind::CodeFence, "~~~\n```\n~~~~\n\n  "),
            // An unclosed fence runs to the end.
            (ChunkKind::CodeFence, "````\nopen"),
        ]
    );
}

#[test]
fn tables_are_kept_whole() {
    assert_eq!(
        kinds("Data:\n| a | b. C |\n|---|---|\n| 1 | 2 |\nAfter.\n\nx | y\n--|--\n1 | 2\n\nEnd."),
        [
            (ChunkKind::Sentence, "Data:\n"),
            (ChunkKind::Table, "| a | b. C |\n|---|---|\n| 1 | 2 |\n"),
            (ChunkKind::Sentence, "After.\n\n"),
            (ChunkKind::Table, "x | y\n--|--\n1 | 2\n\n"),
            (ChunkKind::Sentence, "End."),
        ]
    );
}

#[test]
fn list_items_and_quotes_start_chunks() {
    assert_eq!(
        texts("Steps:\n- First. Second.\n- Third\n  wraps.\n1. One\n2) Two\n  * nested"),
        [
            "Steps:\n",
            "- First. ",
            "Second.\n",
            "- Third\n  wraps.\n",
            "1. One\n",
            "2) Two\n  ",
            "* nested"
        ]
    );
    // Only "1." may interrupt a plain paragraph, so wrapped years stay in place.
    assert_eq!(
        texts("It happened in\n2009. After that\nit stopped."),
        ["It happened in\n2009. ", "After that\nit stopped."]
    );
    assert_eq!(
        texts("Intro.\n> Quoted line\n> continues. New one.\n>\n> Second para.\nReply."),
        [
            "Intro.\n",
            "> Quoted line\n> continues. ",
            "New one.\n>\n",
            "> Second para.\n",
            "Reply."
        ]
    );
    assert_eq!(texts("- a\n* * *\n- b"), ["- a\n", "* * *\n", "- b"]);
    assert_eq!(
        texts("Hi.\n\n>\n> Quote. Two."),
        ["Hi.\n\n", ">\n> Quote. ", "Two."]
    );
}

#[test]
fn cjk_sentences() {
    assert_eq!(
        texts("今日は晴れです。明日は雨？「はい。」と言った！Done. 次"),
        [
            "今日は晴れです。",
            "明日は雨？",
            "「はい。」",
            "と言った！",
            "Done. ",
            "次"
        ]
    );
}

#[test]
fn long_sentences_are_cut_at_whitespace() {
    let text = format!("{} end. Next.", "word ".repeat(1000));
    let chunks = ProseChunker.chunk(&text);
    assert_eq!(check_invariants(&text, &chunks, 2000), Ok(()));
    let got: Vec<&str> = chunks.iter().map(|c| c.text(&text)).collect();
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].len(), 2000);
    assert!(got[0].ends_with("word "));
    assert_eq!(got[3], "Next.");
    // No whitespace at all: cut at a char boundary.
    let crabs = "🦀".repeat(10);
    let small = ProseOptions {
        max_sentence_bytes: 10,
    };
    let got: Vec<usize> = chunk_prose(&crabs, &small)
        .iter()
        .map(|c| c.span.len())
        .collect();
    assert_eq!(got, [8, 8, 8, 8, 8]);
    // A char longer than the limit becomes a piece of its own.
    let one = ProseOptions {
        max_sentence_bytes: 1,
    };
    let pieces = |t: &'static str| -> Vec<&'static str> {
        chunk_prose(t, &one).iter().map(|c| c.text(t)).collect()
    };
    assert_eq!(pieces("é"), ["é"]);
    assert_eq!(pieces("…. ab"), ["…", ". ", "a", "b"]);
}
