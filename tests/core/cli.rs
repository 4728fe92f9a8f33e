//! The `pith` binary as a user runs it: exit codes, formats, .gitignore, stdin, pipes.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use pith::{Tiktoken, TokenCounter};

fn pith(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pith"))
        .env("PITH_NO_CACHE", "1")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = stdin.unwrap_or("").to_owned();
    let mut pipe = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A small repository: code, prose, an ignored file, a hidden file and a binary file.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/code");
    let write = |rel: &str, text: &[u8]| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "src/errors.go",
        &std::fs::read(fixtures.join("go/errors.go")).unwrap(),
    );
    write(
        "src/lib.rs",
        &std::fs::read(fixtures.join("rust/fnv_lib.rs")).unwrap(),
    );
    write(
        "web/ms.js",
        &std::fs::read(fixtures.join("javascript/ms.js")).unwrap(),
    );
    write("README.md", include_bytes!("../../README.md"));
    write(".gitignore", b"build/\n");
    write("build/generated.py", b"def generated():\n    return 1\n");
    write(".hidden/secret.py", b"TOKEN = 'x'\n");
    write("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0binary");
    dir
}

#[test]
fn pack_fits_the_budget_and_respects_gitignore_and_hidden_files() {
    let dir = repo();
    let root = dir.path().to_str().unwrap();
    let out = pith(
        &[
            "pack",
            root,
            "--budget",
            "1500",
            "--query",
            "wrap an error with a stack trace",
            "--stats",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(Tiktoken::default().count(&text) <= 1500);
    assert!(text.contains("errors.go"), "the relevant file is kept");
    assert!(
        text.contains("func Wrap(") || text.contains("func WithStack("),
        "{text}"
    );
    assert!(
        !text.contains("generated"),
        ".gitignore'd files are not packed"
    );
    assert!(!text.contains("TOKEN"), "hidden files are not packed");
    let err = stderr(&out);
    assert!(
        err.contains("skipped") && err.contains("logo.png") && err.contains("binary"),
        "{err}"
    );
    assert!(err.contains("total"), "--stats prints a table: {err}");
    // Dropped Go code becomes a Go comment.
    assert!(text.contains("// … "), "{text}");
}

#[test]
fn every_format_is_well_formed() {
    let dir = repo();
    let root = dir.path().to_str().unwrap();
    for format in ["markdown", "xml", "json", "plain"] {
        let out = pith(&["pack", root, "--budget", "800", "--format", format], None);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(Tiktoken::default().count(&text) <= 800, "{format}");
        match format {
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert!(v.as_array().unwrap().iter().any(|f| f["path"].is_string()));
            }
            "xml" => assert!(text.starts_with("<files>") && text.trim_end().ends_with("</files>")),
            "markdown" => assert!(text.contains("## ") && text.contains("```")),
            _ => assert!(text.contains("==> ")),
        }
    }
}

#[test]
fn include_exclude_and_stdin_paths() {
    let dir = repo();
    let root = dir.path().to_str().unwrap();
    let out = pith(
        &[
            "pack",
            root,
            "--budget",
            "100000",
            "--include",
            "*.rs",
            "--format",
            "plain",
        ],
        None,
    );
    let text = stdout(&out);
    assert!(
        text.contains("lib.rs") && !text.contains("errors.go"),
        "{text}"
    );
    let out = pith(
        &[
            "pack",
            root,
            "--budget",
            "100000",
            "--exclude",
            "src/**",
            "--format",
            "plain",
        ],
        None,
    );
    let text = stdout(&out);
    assert!(!text.contains("lib.rs") && text.contains("ms.js"));
    let list = format!(
        "{}\n{}\n",
        dir.path().join("web/ms.js").display(),
        dir.path().join("src/lib.rs").display()
    );
    let out = pith(
        &["pack", "--stdin", "--budget", "100000", "--format", "plain"],
        Some(&list),
    );
    let text = stdout(&out);
    assert!(text.contains("ms.js") && text.contains("lib.rs") && !text.contains("errors.go"));
}

#[test]
fn compress_with_budget_or_ratio_from_file_or_stdin() {
    let readme = include_str!("../../README.md");
    let out = pith(
        &[
            "compress",
            "-",
            "--budget",
            "60",
            "--query",
            "run the tests",
        ],
        Some(readme),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(Tiktoken::default().count(&stdout(&out)) <= 60);

    let before = Tiktoken::default().count(readme);
    let out = pith(&["compress", "--ratio", "4"], Some(readme));
    assert_eq!(out.status.code(), Some(0));
    assert!(Tiktoken::default().count(&stdout(&out)) <= before / 4);

    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/code/rust/fnv_lib.rs");
    let out = pith(
        &[
            "compress",
            file.to_str().unwrap(),
            "--budget",
            "300",
            "--encoding",
            "cl100k_base",
        ],
        None,
    );
    let text = stdout(&out);
    assert!(Tiktoken::new(pith::Encoding::Cl100kBase).count(&text) <= 300);
    assert!(
        text.contains("// … "),
        "Rust elision is a Rust comment: {text}"
    );
}

#[test]
fn text_that_fits_comes_back_unchanged() {
    let text = "Short text.\n\nIt fits.\n";
    let out = pith(&["compress", "--budget", "1000"], Some(text));
    assert_eq!(stdout(&out), text);
}

#[test]
fn count_matches_the_library() {
    let dir = repo();
    let out = pith(&["count", dir.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lib = std::fs::read_to_string(dir.path().join("src/lib.rs")).unwrap();
    let n = Tiktoken::default().count(&lib);
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with(&format!("{n} ")) && l.ends_with("lib.rs")),
        "{text}"
    );
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains("total (4 files, o200k_base)"),
        "{text}"
    );
}

#[test]
fn usage_errors_exit_2_runtime_errors_exit_1() {
    let cases: [(&[&str], i32, &str); 8] = [
        (&["pack", ".", "--budget", "ten"], 2, "invalid value"),
        (&["pack", "--budget", "10"], 2, "no paths"),
        (&["compress", "-"], 2, "required"),
        (&["compress", "--ratio", "0.5"], 2, "at least 1"),
        (
            &["compress", "--budget", "5", "--preset", "nope"],
            2,
            "unknown preset",
        ),
        (
            &["pack", ".", "--budget", "10", "--include", "a["],
            2,
            "invalid glob",
        ),
        (
            &["pack", "/no/such/dir", "--budget", "10"],
            1,
            "no such file",
        ),
        (
            &["compress", "/no/such/file.txt", "--budget", "10"],
            1,
            "reading /no/such/file.txt",
        ),
    ];
    for (args, code, message) in cases {
        let out = pith(args, Some(""));
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    // A budget too small for even one marker: one line, exit 1.
    let out = pith(
        &["compress", "--budget", "0"],
        Some("One sentence here. Another one there. And a third."),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("too small") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let dir = repo();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pith"))
        .env("PITH_NO_CACHE", "1")
        .args(["pack", dir.path().to_str().unwrap(), "--budget", "100000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of stdout at once, as `| head -c0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn presets_by_path_and_unknown_keys_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("mine.toml");
    std::fs::write(&good, "[select]\nmethod = \"knapsack\"\n").unwrap();
    let out = pith(
        &[
            "compress",
            "--budget",
            "20",
            "--preset",
            good.to_str().unwrap(),
        ],
        Some("Alpha beta. Gamma delta. Epsilon zeta eta theta iota kappa."),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[select]\nmethod = \"mig\"\nredundancy_weight = 2\n").unwrap();
    let out = pith(
        &[
            "compress",
            "--budget",
            "20",
            "--preset",
            bad.to_str().unwrap(),
        ],
        Some("text"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown field"), "{}", stderr(&out));
}

#[test]
fn budgets_in_a_tokenizer_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokenizer.json");
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "keep": 1}, "unk_token": "[UNK]"}
    });
    std::fs::write(&file, json.to_string()).unwrap();
    let text =
        "Alpha beta gamma delta. Keep this sentence here. Epsilon zeta eta theta iota kappa.";
    let out = pith(
        &[
            "compress",
            "--budget",
            "8",
            "--query",
            "keep",
            "--tokenizer",
            file.to_str().unwrap(),
        ],
        Some(text),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hf = pith::tokens::HfTokenizer::from_file(&file).unwrap();
    assert!(hf.count(&stdout(&out)) <= 8, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("Keep this sentence here."),
        "{}",
        stdout(&out)
    );
    let out = pith(
        &["count", "--tokenizer", "/no/such/tokenizer.json", "."],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/no/such/tokenizer.json"));
}

/// `--preset auto` (the default) without the embedder runs the lexical preset and
/// `--stats` says which ran and why; a named preset is reported as named.
#[test]
fn auto_says_which_preset_ran_and_why() {
    let empty = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_pith"))
            .env("PITH_NO_CACHE", "1")
            .args(args)
            .env("PITH_MODELS_DIR", empty.path())
            .env_remove("ORT_DYLIB_PATH")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stderr(&out)
    };
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = readme.to_str().unwrap();
    let err = run(&[
        "compress",
        readme,
        "--budget",
        "200",
        "-q",
        "run the tests",
        "--stats",
    ]);
    assert!(
        err.contains("preset auto: rag (embedder not available: ")
            && err.contains("pith models install"),
        "{err}"
    );
    let err = run(&["compress", readme, "--budget", "200", "--stats"]);
    assert!(err.contains("preset auto: rag (no query"), "{err}");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/code");
    let err = run(&[
        "pack",
        src.to_str().unwrap(),
        "--budget",
        "300",
        "-q",
        "hash",
        "--stats",
    ]);
    assert!(
        err.contains("preset auto: code (embedder not available"),
        "{err}"
    );
    let err = run(&[
        "pack",
        src.to_str().unwrap(),
        "--budget",
        "300",
        "--preset",
        "rag",
        "--stats",
    ]);
    assert!(err.contains("preset rag\n"), "{err}");
}
