//! The compressor's behaviour on real inputs: what is kept, how drops are marked, what
//! the report says, and that results are deterministic.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use pith::segment::ChunkKind;
use pith::{Compressor, DocKind, Document, Format, Input, Lang, Preset, Tiktoken, TokenCounter};

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/code")
            .join(rel),
    )
    .unwrap()
}

#[test]
fn dropped_code_becomes_one_comment_per_run_in_the_files_syntax() {
    let mut python = String::from("import os\n");
    for name in ["alpha", "beta", "delta", "epsilon", "zeta"] {
        python.push_str(&format!("\n\ndef {name}(values):\n    total = sum(v * 2 for v in values)\n    return total - len(values)\n"));
    }
    python.push_str("\n\ndef gamma():\n    return os.path.join('a', 'b')\n");
    let out = Compressor::default()
        .compress(
            Input::code(python, Lang::Python).query("gamma path join"),
            45,
        )
        .unwrap();
    assert!(
        out.text
            .contains("def gamma():\n    return os.path.join('a', 'b')\n"),
        "{}",
        out.text
    );
    assert!(out.text.contains("# … "), "{}", out.text);
    assert!(!out.text.contains("def beta"));
    for (rel, lang) in [
        ("go/errors.go", Lang::Go),
        ("java/Filesystem.java", Lang::Java),
        ("typescript/Subject.ts", Lang::TypeScript),
    ] {
        let out = Compressor::default()
            .compress(Input::code(fixture(rel), lang), 300)
            .unwrap();
        assert!(
            out.text.contains("// … ") && out.text.contains(" omitted (line"),
            "{rel}: {}",
            out.text
        );
        assert!(!out.text.contains("# … "));
    }
}

#[test]
fn a_kept_method_brings_its_class_header_and_footer() {
    let java = fixture("java/PendingRequests.java");
    let out = Compressor::default()
        .compress(
            Input::code(java.clone(), Lang::Java).query("resolve with a callback context"),
            250,
        )
        .unwrap();
    // A method of the nested class is kept, with both enclosing class headers and both
    // closing braces, and the dropped siblings are marked inside the class, indented.
    assert!(
        out.text
            .contains("public CallbackContext getCallbackContext() {"),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("class PendingRequests {") && out.text.contains("public class Request {"),
        "{}",
        out.text
    );
    assert!(out.text.trim_end().ends_with("}\n    }\n}"), "{}", out.text);
    assert!(out.text.contains("\n        // … "), "{}", out.text);
}

#[test]
fn relevance_decides_what_survives() {
    let docs: Vec<Document> = [
        "go/errors.go",
        "go/stack.go",
        "rust/fnv_lib.rs",
        "javascript/ms.js",
    ]
    .iter()
    .map(|rel| Document::from_path_text(*rel, fixture(rel)))
    .collect();
    let compressor = Compressor::builder()
        .boxed_layout(Format::Markdown.layout())
        .build();
    let out = compressor
        .compress(
            Input::documents(docs.clone())
                .query("parse a duration string like 2 days into milliseconds"),
            600,
        )
        .unwrap();
    assert!(out.text.contains("## javascript/ms.js"), "{}", out.text);
    assert!(out.text.contains("function parse(str)"), "{}", out.text);
    let out = compressor
        .compress(Input::documents(docs).query("FNV hasher write bytes"), 600)
        .unwrap();
    assert!(
        out.text.contains("fn write(&mut self, bytes: &[u8])"),
        "{}",
        out.text
    );
}

#[test]
fn the_report_accounts_for_every_chunk() {
    let text = fixture("typescript/Subscription.ts");
    let out = Compressor::default()
        .compress(Input::code(text.clone(), Lang::TypeScript), 400)
        .unwrap();
    let doc = &out.documents[0];
    assert_eq!(doc.kept + doc.dropped.len(), doc.chunks);
    assert_eq!(out.tokens_before, Tiktoken::default().count(&text));
    assert_eq!(out.tokens_after, Tiktoken::default().count(&out.text));
    assert!(out.ratio() > 1.0);
    for d in &doc.dropped {
        assert!(d.start < d.end && d.end <= text.len());
        assert!(d.lines.0 <= d.lines.1);
        // What was dropped is not in the output (unless the same text is kept elsewhere).
        let dropped = &text[d.start..d.end];
        if dropped.trim().len() > 40 && text.matches(dropped).count() == 1 {
            assert!(!out.text.contains(dropped), "{dropped}");
        }
    }
    assert!(
        doc.dropped
            .iter()
            .any(|d| d.kind == ChunkKind::Function && d.name.is_some())
    );
}

#[test]
fn same_input_same_output() {
    let docs: Vec<Document> = ["go/errors.go", "tsx/SafeAreaContext.tsx"]
        .iter()
        .map(|rel| Document::from_path_text(*rel, fixture(rel)))
        .collect();
    for preset in Preset::builtin_names() {
        let c = Compressor::builder()
            .preset(Preset::named(preset).unwrap())
            .boxed_layout(Format::Xml.layout())
            .build();
        let a = c
            .compress(Input::documents(docs.clone()).query("insets"), 700)
            .unwrap();
        let b = c
            .compress(Input::documents(docs.clone()).query("insets"), 700)
            .unwrap();
        assert_eq!(a.text, b.text, "{preset}");
    }
}

#[test]
fn prose_markers_keep_paragraphs_apart() {
    let text = "First paragraph about cats. Cats sleep a lot.\n\nSecond paragraph about dogs. Dogs bark.\n\nThird paragraph about cats again. Cats purr.\n";
    let out = Compressor::builder()
        .preset(Preset::named("rag").unwrap())
        .build()
        .compress(Input::text(text).query("dogs bark"), 14)
        .unwrap();
    assert!(out.text.contains("Dogs bark."), "{}", out.text);
    assert!(out.text.contains("[…]"), "{}", out.text);
    assert!(!out.text.contains("Cats purr"));
    // Paragraph breaks survive around the kept sentence.
    assert!(out.text.contains("\n\n"), "{:?}", out.text);
}

#[test]
fn query_less_compression_keeps_information_over_repetition() {
    let mut text = String::new();
    for _ in 0..20 {
        text.push_str("The build passed. ");
    }
    text.push_str("Segfault in parser at offset 4096 after upgrading libfoo to 2.3.\n");
    let out = Compressor::builder()
        .preset(Preset::named("rag").unwrap())
        .build()
        .compress(Input::text(text), 30)
        .unwrap();
    assert!(out.text.contains("Segfault in parser"), "{}", out.text);
}

#[test]
fn every_builtin_preset_parses_and_unknown_keys_are_rejected() {
    for name in Preset::builtin_names() {
        Preset::named(name).unwrap();
    }
    assert!(Preset::from_toml("x", "[select]\nmethod = \"mig\"\nlambda = 1\n").is_err());
    assert!(Preset::from_toml("x", "colour = \"red\"\n").is_err());
    assert!(Preset::from_toml("x", "[select]\nmethod = \"mig\"\nredundancy = -1\n").is_err());
    assert!(Preset::resolve("no-such-preset").is_err());
    // The cascade's options need a preset that embeds.
    let code_neural = Preset::named("code-neural").unwrap();
    assert_eq!(code_neural.score.shortlist, Some(100));
    assert!(code_neural.score.embed_first_window);
    for option in [
        "shortlist = 50",
        "shortlist_tokens = 4000",
        "embed_first_window = true",
    ] {
        let lexical =
            format!("[score]\nrelevance = \"bm25\"\nquery_less = \"self_information\"\n{option}\n");
        let err = Preset::from_toml("x", &lexical).unwrap_err().to_string();
        let key = option.split(' ').next().unwrap();
        assert!(
            err.contains(&format!("score.{key}")) && err.contains("embed"),
            "{err}"
        );
        let neural = lexical.replace("bm25", "hybrid");
        assert!(Preset::from_toml("x", &neural).is_ok(), "{neural}");
    }
    let zero =
        "[score]\nrelevance = \"hybrid\"\nquery_less = \"self_information\"\nshortlist = 0\n";
    assert!(Preset::from_toml("x", zero).is_err());
    // Paragraph units for chat.
    let chat = Preset::named("chat").unwrap();
    let out = Compressor::builder().preset(chat).build().compress(
        Input::documents(vec![Document::new(
            "A one. A two.\n\nB one. B two.\n",
            DocKind::Prose,
        )])
        .query("B"),
        8,
    );
    let out = out.unwrap();
    assert!(out.text.contains("B one. B two."), "{}", out.text);
}

// ---- The library API: stops, validation, per-document output, no panics ----------------

fn three_files() -> Input {
    Input::documents(vec![
        Document::from_path_text("a.java", fixture("java/PendingRequests.java")),
        Document::from_path_text("b.py", "def b():\n    return 2\n"),
        Document::from_path_text("c.md", "# C\n\nThe third file says little.\n"),
    ])
    .query("pending request timeout")
}

#[test]
fn each_document_reports_its_own_section_of_the_output() {
    let c = Compressor::builder()
        .boxed_layout(Format::Markdown.layout())
        .build();
    let input = three_files();
    let total = Tiktoken::default().count(&input.documents[0].text);
    let out = c.compress(input, total / 2).unwrap();
    let mut sections: Vec<_> = out.documents.iter().map(|d| d.section.clone()).collect();
    for (d, report) in out.documents.iter().enumerate() {
        let text = out.document_text(d);
        assert_eq!(text, &out.text[report.section.clone()]);
        if !text.is_empty() {
            assert!(text.contains(report.path.as_deref().unwrap()), "{text}");
            assert_eq!(Tiktoken::default().count(text), report.tokens_after);
        }
    }
    // Sections do not overlap.
    sections.sort_by_key(|s| s.start);
    assert!(
        sections.windows(2).all(|w| w[0].end <= w[1].start),
        "{sections:?}"
    );
    assert_eq!(out.document_text(99), "");
}

#[test]
fn a_stop_that_fired_ends_the_compression_with_an_error() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};
    let c = Compressor::default();
    let past = pith::compress::Stop::at(Instant::now() - Duration::from_millis(1));
    let err = c.compress_until(three_files(), 100, &past).unwrap_err();
    assert!(matches!(err, pith::CompressError::Stopped), "{err}");
    let flag = Arc::new(AtomicBool::new(true));
    let cancelled = pith::compress::Stop::after(Duration::from_secs(3600)).or_flag(flag.clone());
    assert!(c.compress_until(three_files(), 100, &cancelled).is_err());
    // Not fired: the same result as without a stop.
    flag.store(false, std::sync::atomic::Ordering::Relaxed);
    let with = c.compress_until(three_files(), 100, &cancelled).unwrap();
    let without = c.compress(three_files(), 100).unwrap();
    assert_eq!(with.text, without.text);
}

#[test]
fn a_preset_edited_out_of_range_is_refused_on_every_path() {
    let mut preset = Preset::named("rag").unwrap();
    preset.select.epsilon = 0.0;
    let err = Compressor::builder()
        .preset(preset.clone())
        .try_build()
        .unwrap_err();
    assert!(err.to_string().contains("select.epsilon"), "{err}");
    // `build` cannot fail: every compression says what is wrong instead.
    let c = Compressor::builder().preset(preset).build();
    let err = c.compress(three_files(), 100).unwrap_err();
    assert!(
        matches!(err, pith::CompressError::InvalidPreset(_)) && err.to_string().contains("epsilon"),
        "{err}"
    );
    let prepared = c.prepare(three_files());
    assert!(c.compress_prepared(&prepared, 100).is_err());
}

#[test]
fn values_that_do_not_match_the_units_are_an_error_not_a_panic() {
    let c = Compressor::default();
    let prepared = c.prepare(three_files());
    let n = prepared.unit_texts().len();
    let err = c
        .compress_with(
            &prepared,
            50,
            &vec![1.0; n + 1],
            &pith::select::MigGreedy::new(0.5),
        )
        .unwrap_err();
    assert!(
        matches!(err, pith::CompressError::Values { expected, got } if expected == n && got == n + 1),
        "{err}"
    );
}

#[test]
fn what_raised_ranks_with_the_frame_the_query_points_at() {
    // A real chained traceback (a click option callback that cannot read its file). The
    // query names the script, so its frames match it and the exceptions do not; at this
    // budget the exceptions must not be the lines given up for the frames.
    let site = "/venv/lib/python3.11/site-packages/click/core.py";
    let text = format!(
        "Traceback (most recent call last):\n  File \"/work/tb/deploy.py\", line 7, in load_targets\n    with open(value) as fh:\n         ^^^^^^^^^^^\nFileNotFoundError: [Errno 2] No such file or directory: 'targets.json'\n\nThe above exception was the direct cause of the following exception:\n\nTraceback (most recent call last):\n  File \"/work/tb/deploy.py\", line 22, in <module>\n    deploy()\n  File \"{site}\", line 1442, in __call__\n    return self.main(*args, **kwargs)\n           ^^^^^^^^^^^^^^^^^^^^^^^^^^\n  File \"{site}\", line 1362, in main\n    with self.make_context(prog_name, args, **extra) as ctx:\n         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n  File \"{site}\", line 2355, in process_value\n    value = self.callback(ctx, self, value)\n            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n  File \"/work/tb/deploy.py\", line 10, in load_targets\n    raise RuntimeError(f\"cannot read targets file {{value!r}}\") from e\nRuntimeError: cannot read targets file 'targets.json'\n"
    );
    let doc = Document::new(text.clone(), DocKind::from_content(&text, DocKind::Prose));
    let query = pith::tool_query(
        "Do a dry run of the deploy script to make sure it works.",
        "I'll do a dry run.",
        "Bash",
        r#"{"command":"python deploy.py --dry-run"}"#,
    );
    let out = Compressor::builder()
        .build()
        .compress(Input::documents(vec![doc]).query(query), 60)
        .unwrap();
    for line in [
        "RuntimeError: cannot read targets file 'targets.json'",
        "FileNotFoundError: [Errno 2] No such file or directory: 'targets.json'",
    ] {
        assert!(out.text.lines().any(|l| l == line), "{}", out.text);
    }
}

#[test]
fn a_test_runs_verdict_outranks_its_many_failures() {
    // unittest -q as it prints fifty failures of one bug (Python-Markdown's toc ids):
    // each failure's lines outrank the verdict one by one, and all of them together are
    // more than the budget holds.
    let mut text = String::from(&".".repeat(70));
    text.push('\n');
    for i in 0..50 {
        text.push_str(&format!(
            "======================================================================\n\
             FAIL: testToc{i} (tests.test_syntax.extensions.test_toc.TestTOC.testToc{i})\n\
             ----------------------------------------------------------------------\n\
             Traceback (most recent call last):\n  \
             File \"/src/tests/test_syntax/extensions/test_toc.py\", line {}, in testToc{i}\n    \
             self.assertMarkdownRenders(\n\
             AssertionError: '<h1 id=\"Header-{i}\">Header</h1>' != '<h1 id=\"header-{i}\">Header</h1>'\n\n",
            100 + 7 * i
        ));
    }
    text.push_str(
        "----------------------------------------------------------------------\n\
         Ran 1002 tests in 0.760s\n\nFAILED (failures=50, skipped=6)\n",
    );
    let doc = Document::new(text.clone(), DocKind::from_content(&text, DocKind::Prose));
    assert_eq!(
        doc.kind,
        DocKind::Output(pith::segment::OutputKind::TestRun)
    );
    let query = pith::tool_query(
        "I made the toc extension keep the case of header ids. Run the tests and tell me \
         what broke.",
        "",
        "Bash",
        r#"{"command":"python -m unittest discover -s tests -t ."}"#,
    );
    let out = Compressor::builder()
        .build()
        .compress(Input::documents(vec![doc]).query(query), 400)
        .unwrap();
    assert!(
        out.text
            .lines()
            .any(|l| l == "FAILED (failures=50, skipped=6)"),
        "{}",
        out.text
    );
}

/// A real program's output committed under `tests/fixtures/output/`.
fn output_fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/output")
            .join(name),
    )
    .unwrap()
}

/// A real program's output (`tests/fixtures/output/NAME`), its kind as told from its
/// content, and its compression with the preset `pith compress` and the proxy give tool
/// output, for the query the proxy builds from `task` and the Bash `command`.
fn compress_output(name: &str, task: &str, command: &str, budget: usize) -> (DocKind, String) {
    let text = output_fixture(name);
    let kind = DocKind::from_content(&text, DocKind::Prose);
    let args = serde_json::json!({ "command": command }).to_string();
    let query = pith::tool_query(task, "", "Bash", &args);
    let out = Compressor::builder()
        .preset(Preset::named("rag").unwrap())
        .build()
        .compress(
            Input::documents(vec![Document::new(text, kind)]).query(query),
            budget,
        )
        .unwrap();
    assert!(Tiktoken::default().count(&out.text) <= budget);
    (kind, out.text)
}

#[test]
fn a_first_builds_progress_collapses_and_its_error_keeps_its_label() {
    // `cargo check` of this repository from a clean target, with a string given to an
    // f64 constant: 270 crates' progress lines, then one error.
    let (_, out) = compress_output(
        "cargo-check-first-build.txt",
        "I made FAILURE_DECAY configurable as a string. Check that it still builds.",
        "cargo check",
        140,
    );
    // Every `Checking name vX.Y.Z` line has one shape, whatever the crate: the run is
    // counted, not spent line by line...
    assert!(out.contains(" more lines like \"Checking … v…\""), "{out}");
    // ... so the error comes whole: where, and what its label says is wrong.
    for line in [
        "error[E0308]: mismatched types",
        "  --> src/score/sections.rs:75:39",
        "   |                                       ^^^^^^ expected `f64`, found `&str`",
        "error: could not compile `pith` (lib) due to 1 previous error",
    ] {
        assert!(out.lines().any(|l| l == line), "{line}\n{out}");
    }
}

#[test]
fn an_install_log_is_tool_output_cut_into_lines() {
    // `pip install --dry-run sphinx jupyterlab`: 267 lines of `Collecting …`,
    // `Downloading …` and progress bars, no level, no time, no full stop. Read as prose it
    // made a few 2,000-byte sentences, and under 400 tokens not one of them fitted.
    let (name, task, command) = (
        "pip-install-dry-run.txt",
        "Set up the docs toolchain: install sphinx and jupyterlab.",
        "pip install sphinx jupyterlab",
    );
    let (kind, out) = compress_output(name, task, command, 200);
    assert_eq!(kind, DocKind::Output(pith::segment::OutputKind::Log));
    let used = Tiktoken::default().count(&out);
    assert!(used * 2 >= 200, "{used}\n{out}");
    assert!(out.lines().any(|l| l.starts_with("Collecting ")), "{out}");
    // With a quarter of it, the closing line says what would be installed.
    let (_, out) = compress_output(name, task, command, 8751 / 4);
    assert!(
        out.lines()
            .any(|l| l.starts_with("Would install Jinja2-3.1.6 ")),
        "{out}"
    );
}

#[test]
fn a_table_keeps_its_header_and_the_asked_row() {
    // `pip list`: 107 rows in aligned columns. Read as prose it came out as its header
    // and `[…]` at 400 tokens.
    let (kind, out) = compress_output(
        "pip-list.txt",
        "Which version of requests is installed?",
        "pip list",
        150,
    );
    assert_eq!(kind, DocKind::Output(pith::segment::OutputKind::Table));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Package                   Version", "{out}");
    assert!(lines.contains(&"requests                  2.34.2"), "{out}");
}

#[test]
fn ls_l_is_a_listing_that_keeps_the_asked_file() {
    // `ls -la` of a library folder, 300 rows; the task quotes one file.
    let (kind, out) = compress_output(
        "ls-la.txt",
        "Where does `libGLX_mesa.so.0` point?",
        "ls -la /usr/lib/x86_64-linux-gnu",
        150,
    );
    assert_eq!(kind, DocKind::Output(pith::segment::OutputKind::Listing));
    assert!(
        out.lines()
            .any(|l| l.ends_with(" libGLX_mesa.so.0 -> libGLX_mesa.so.0.0.0")),
        "{out}"
    );
}

#[test]
fn a_failed_c_build_inside_pip_keeps_its_errors_and_pips_verdict() {
    // `pip install -v .` of markupsafe 3.0.2 with a macro given two arguments: gcc fails,
    // setup.py falls back to pure Python, and pip reports success 120 lines later.
    let (kind, out) = compress_output(
        "pip-install-c-extension.txt",
        "I patched markupsafe's _speedups.c. Install it and check that the C extension \
         still builds.",
        "pip install -v .",
        4284 / 8,
    );
    // gcc's diagnostics make it a compiler's output.
    assert_eq!(kind, DocKind::Output(pith::segment::OutputKind::Compiler));
    for line in [
        "  src/markupsafe/_speedups.c:104:60: error: macro \"PyUnicode_GET_LENGTH\" passed 2 \
         arguments, but takes just 1",
        "  WARNING: The C extension could not be compiled, speedups are not enabled.",
        "Successfully installed MarkupSafe-3.0.2",
    ] {
        assert!(out.lines().any(|l| l == line), "{line}\n{out}");
    }
}

#[test]
fn a_chaining_line_comes_only_with_the_exception_it_refers_to() {
    // `urllib.request.urlopen` of a closed port: ConnectionRefusedError, then "During
    // handling of the above exception, another exception occurred:", then URLError.
    let text = output_fixture("urlopen-refused.txt");
    let kind = DocKind::from_content(&text, DocKind::Prose);
    assert_eq!(kind, DocKind::Output(pith::segment::OutputKind::Traceback));
    let compressor = Compressor::builder()
        .preset(Preset::named("rag").unwrap())
        .build();
    for query in [None, Some("Why does fetching the health endpoint fail?")] {
        for budget in 12..=200 {
            let mut input = Input::documents(vec![Document::new(text.clone(), kind)]);
            if let Some(q) = query {
                input = input.query(q);
            }
            let Ok(out) = compressor.compress(input, budget) else {
                continue; // not even the markers fit
            };
            let lines: Vec<&str> = out.text.lines().collect();
            if lines.iter().any(|l| l.starts_with("During handling")) {
                assert!(
                    lines.contains(&"ConnectionRefusedError: [Errno 111] Connection refused"),
                    "budget {budget}, query {query:?}:\n{}",
                    out.text
                );
            }
        }
    }
}
