//! Bad input, from the command line and through the library: binary files, broken text,
//! special files, symlink loops, unreadable paths, nonsense budgets. Whatever comes in,
//! pith must not panic, hang or exceed the budget; it exits 0 when something usable is
//! left and with a one-line error otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pith::render::Format;
use pith::{CompressError, Compressor, DocKind, Document, Input, Lang, Preset, Tiktoken};
use pith::{TokenCounter, render};

/// Longest any single run of the binary may take before it counts as a hang. Generous:
/// debug builds on a loaded 2-core machine.
const GUARD: Duration = Duration::from_secs(120);

/// What one run of the binary left behind.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("output is UTF-8")
    }
}

/// Runs `pith` with `args` and `stdin`, killed (and the test failed) after [`GUARD`].
fn run(args: &[&str], stdin: &[u8]) -> Run {
    run_command(Command::new(env!("CARGO_BIN_EXE_pith")), args, stdin)
}

fn run_command(mut command: Command, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = command
        .args(args)
        .env("PITH_NO_CACHE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pith");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // pith may exit before reading everything: a closed pipe here is fine.
    std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pith {args:?} still running after {GUARD:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code(),
        stdout: out_reader.join().unwrap(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
        "pith {args:?} panicked: {}",
        run.stderr
    );
    assert!(status.code().is_some(), "pith {args:?} died of a signal");
    run
}

fn tokens(text: &str) -> usize {
    Tiktoken::default().count(text)
}

/// A one-line error on stderr (after any `skipped` lines) and a failing exit code.
fn assert_one_line_error(run: &Run, code: i32, what: &str) {
    assert_eq!(run.code, Some(code), "{what}: {}", run.stderr);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("pith: skipped "))
        .collect();
    assert_eq!(lines.len(), 1, "{what}: one line of error: {}", run.stderr);
    assert!(lines[0].starts_with("pith: "), "{what}: {}", run.stderr);
    assert!(run.stdout.is_empty(), "{what}: nothing on stdout");
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

fn mkfifo(path: &Path) -> bool {
    Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// One readable source file among everything a repository should not contain.
fn hostile_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "random.bin", &noise(4096, 7));
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(noise(2000, 11));
    write(root, "logo.png", &png);
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    elf.extend(noise(3000, 13));
    write(root, "tool", &elf);
    // 200 KB of minified JavaScript on one line.
    let mut js = String::from("var a=0;");
    let mut i = 0;
    while js.len() < 200_000 {
        js.push_str(&format!("function f{i}(x){{return x*{i}+a}}a=f{i}(a);"));
        i += 1;
    }
    write(root, "dist/app.min.js", js.as_bytes());
    write(root, "latin1.txt", b"caf\xe9 cr\xe8me br\xfbl\xe9e\n");
    write(root, "nul.txt", b"text\0with a NUL byte\n");
    let mut late_nul = "plain text line\n".repeat(1000).into_bytes();
    late_nul.extend(b"\0tail\n");
    write(root, "late_nul.log", &late_nul);
    write(root, "empty.txt", b"");
    write(
        root,
        "huge_line.txt",
        "lorem ipsum ".repeat(40_000).as_bytes(),
    );
    write(
        root,
        "src/keep.py",
        b"def parse_config(path):\n    \"\"\"Read the configuration file.\"\"\"\n    with open(path) as f:\n        return f.read()\n\n\ndef unrelated():\n    return 42\n",
    );
    std::os::unix::fs::symlink(root.join("no/such/target"), root.join("dangling")).unwrap();
    std::os::unix::fs::symlink(root.join("loop_b"), root.join("loop_a")).unwrap();
    std::os::unix::fs::symlink(root.join("loop_a"), root.join("loop_b")).unwrap();
    std::os::unix::fs::symlink("..", root.join("src/parent")).unwrap();
    assert!(mkfifo(&root.join("pipe")), "mkfifo is needed for this test");
    dir
}

#[test]
fn pack_keeps_the_text_and_skips_the_rest_of_a_hostile_repo() {
    let dir = hostile_repo();
    let root = dir.path().to_str().unwrap();
    for budget in [60usize, 400, 5_000] {
        let b = budget.to_string();
        let out = run(
            &["pack", root, "--budget", &b, "--query", "parse config"],
            b"",
        );
        assert_eq!(out.code, Some(0), "budget {budget}: {}", out.stderr);
        let text = out.text();
        assert!(tokens(&text) <= budget, "budget {budget}: {text}");
        for skipped in ["random.bin", "logo.png", "tool", "nul.txt", "late_nul.log"] {
            assert!(
                out.stderr.lines().any(|l| l.starts_with("pith: skipped")
                    && l.contains(skipped)
                    && l.contains("binary")),
                "{skipped} is reported as binary: {}",
                out.stderr
            );
            assert!(!text.contains(skipped), "{skipped} is not packed");
        }
        assert!(
            out.stderr.contains("latin1.txt") && out.stderr.contains("UTF-8"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("pipe") && out.stderr.contains("not a regular file"),
            "the named pipe is reported, never opened: {}",
            out.stderr
        );
        if budget >= 400 {
            assert!(text.contains("def parse_config"), "budget {budget}: {text}");
        }
    }
}

#[test]
fn pack_with_nothing_usable_is_a_one_line_error() {
    let dir = hostile_repo();
    let root = dir.path();
    let only_binary = tempfile::tempdir().unwrap();
    write(only_binary.path(), "a.bin", &noise(100, 3));
    write(only_binary.path(), "b.png", b"\x89PNG\r\n\x1a\n\0");
    let empty_dir = tempfile::tempdir().unwrap();
    let p = |rel: &str| root.join(rel).to_str().unwrap().to_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![p("random.bin")], "a binary file"),
        (vec![p("pipe")], "a named pipe"),
        (vec![p("empty.txt")], "an empty file"),
        (
            vec![only_binary.path().to_str().unwrap().into()],
            "a folder of binaries",
        ),
        (
            vec![empty_dir.path().to_str().unwrap().into()],
            "an empty folder",
        ),
        (vec![p("dangling")], "a dangling symlink"),
        (vec![p("loop_a")], "a symlink loop"),
    ];
    for (paths, what) in cases {
        let mut args = vec!["pack", "--budget", "500"];
        args.extend(paths.iter().map(String::as_str));
        let out = run(&args, b"");
        assert_one_line_error(&out, 1, what);
    }
    // The error names what went wrong with the path itself.
    let out = run(&["pack", "--budget", "500", &p("loop_a")], b"");
    assert!(
        out.stderr.to_lowercase().contains("symbolic links"),
        "{}",
        out.stderr
    );
    let out = run(&["pack", "--budget", "500", &p("dangling")], b"");
    assert!(out.stderr.contains("dangling"), "{}", out.stderr);
    // Paths read from stdin get the same treatment, and a usable one among them wins.
    let list = format!("{}\n{}\n{}\n", p("pipe"), p("random.bin"), p("src/keep.py"));
    let out = run(&["pack", "--stdin", "--budget", "500"], list.as_bytes());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.text().contains("parse_config"));
}

#[test]
fn symlinks_to_a_parent_do_not_loop() {
    let dir = hostile_repo();
    // Named directly, the link to the parent is followed once; inside the walk links are
    // not followed, so the walk ends.
    let link = dir.path().join("src/parent");
    let out = run(&["pack", link.to_str().unwrap(), "--budget", "2000"], b"");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(tokens(&out.text()) <= 2000);
    assert_eq!(
        out.text().matches("def parse_config").count(),
        1,
        "{}",
        out.text()
    );
}

/// Runs as an unprivileged user (uid 65534), so permission bits really apply: we run as
/// root, which reads any file whatever its mode. `setpriv` ships with util-linux; without
/// it the test says so and checks nothing.
#[test]
fn unreadable_files_and_folders_are_skipped_not_fatal() {
    let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!("skipping: setpriv not found, cannot drop root to test permission errors");
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    // The binary and the repository must be reachable by the other user: a copy of the
    // binary in a world-readable temporary folder.
    let dir = tempfile::tempdir().unwrap();
    mode(dir.path(), 0o755).unwrap();
    let bin = dir.path().join("pith");
    std::fs::copy(env!("CARGO_BIN_EXE_pith"), &bin).unwrap();
    mode(&bin, 0o755).unwrap();
    let repo = dir.path().join("repo");
    write(&repo, "ok.py", b"def visible():\n    return 'yes'\n");
    write(&repo, "locked.txt", b"the secret plans\n");
    write(
        &repo,
        "closed/inside.py",
        b"def hidden():\n    return 'no'\n",
    );
    mode(&repo.join("locked.txt"), 0o000).unwrap();
    mode(&repo.join("closed"), 0o000).unwrap();
    let as_nobody = || {
        let mut c = Command::new(setpriv);
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin.to_str().unwrap(),
        ]);
        c
    };
    let out = run_command(
        as_nobody(),
        &["pack", repo.to_str().unwrap(), "--budget", "1000"],
        b"",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.text().contains("def visible"), "{}", out.text());
    assert!(!out.text().contains("secret") && !out.text().contains("hidden"));
    for name in ["locked.txt", "closed"] {
        assert!(
            out.stderr.lines().any(|l| l.starts_with("pith: skipped")
                && l.contains(name)
                && l.contains("ermission denied")),
            "{name}: {}",
            out.stderr
        );
    }
    // Only unreadable paths: nothing usable.
    let locked = repo.join("locked.txt");
    let out = run_command(
        as_nobody(),
        &["pack", locked.to_str().unwrap(), "--budget", "1000"],
        b"",
    );
    assert_one_line_error(&out, 1, "an unreadable file");
    let out = run_command(
        as_nobody(),
        &["compress", locked.to_str().unwrap(), "--budget", "1000"],
        b"",
    );
    assert_one_line_error(&out, 1, "compress of an unreadable file");
    assert!(out.stderr.contains("ermission denied"), "{}", out.stderr);
}

#[test]
fn invalid_arguments_are_usage_errors() {
    let readme = include_bytes!("../../README.md");
    let dir = hostile_repo();
    let root = dir.path().to_str().unwrap();
    let cases: [&[&str]; 10] = [
        &["compress", "--budget", "-5"],
        &["compress", "--budget=-5"],
        &["compress", "--budget", "ten"],
        &["compress", "--budget", "1e3"],
        &["compress", "--budget", "99999999999999999999999"],
        &["compress", "--ratio", "NaN"],
        &["compress", "--ratio", "-2"],
        &["pack", root, "--budget=-5"],
        &["pack", root, "--budget", "lots"],
        &["pack", root],
    ];
    for args in cases {
        let out = run(args, readme);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.trim().is_empty(), "{args:?}: says why");
    }
    // Paths from an empty or blank standard input: no paths at all.
    for stdin in [&b""[..], b"\n  \n"] {
        let out = run(&["pack", "--stdin", "--budget", "10"], stdin);
        assert_one_line_error(&out, 2, "empty --stdin");
    }
    // Paths from standard input that is not UTF-8.
    let out = run(&["pack", "--stdin", "--budget", "10"], b"a\xff\n");
    assert_one_line_error(&out, 1, "non-UTF-8 --stdin");
}

#[test]
fn compress_budgets_and_stdin_edge_cases() {
    let readme = include_str!("../../README.md");
    let before = tokens(readme);
    // A budget at or above the input's size gives the input back unchanged.
    for budget in [before, before + 1, usize::MAX] {
        let b = budget.to_string();
        let out = run(&["compress", "--budget", &b], readme.as_bytes());
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert_eq!(out.text(), readme, "budget {budget}");
    }
    // Budget 0: an empty answer for an empty input, else a one-line error.
    let out = run(&["compress", "--budget", "0"], b"");
    assert_eq!((out.code, out.stdout.len()), (Some(0), 0), "{}", out.stderr);
    let out = run(&["compress", "--budget", "0"], readme.as_bytes());
    assert_one_line_error(&out, 1, "budget 0");
    // A huge ratio is a budget of 0.
    let out = run(&["compress", "--ratio", "1e300"], readme.as_bytes());
    assert_one_line_error(&out, 1, "ratio 1e300");
    // Empty standard input fits any budget.
    for budget in ["1", "100"] {
        let out = run(&["compress", "--budget", budget], b"");
        assert_eq!((out.code, out.stdout.len()), (Some(0), 0), "{}", out.stderr);
    }
    // Invalid UTF-8 on stdin: refused in one line.
    let out = run(&["compress", "--budget", "50"], b"caf\xe9 \xff\xfe\n");
    assert_one_line_error(&out, 1, "invalid UTF-8 stdin");
    assert!(out.stderr.contains("UTF-8"), "{}", out.stderr);
    // NUL bytes are valid UTF-8: compressed like any text, within the budget.
    let nul = "first\0 sentence here. Second\0\0 sentence there. ".repeat(50);
    for budget in [5usize, 40, 100_000] {
        let b = budget.to_string();
        let out = run(&["compress", "--budget", &b], nul.as_bytes());
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(tokens(&out.text()) <= budget);
    }
    // A missing file, a folder, for compress and pack.
    let out = run(&["compress", "/no/such/file", "--budget", "10"], b"");
    assert_one_line_error(&out, 1, "missing file");
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &["compress", dir.path().to_str().unwrap(), "--budget", "10"],
        b"",
    );
    assert_one_line_error(&out, 1, "a folder");
    let out = run(&["pack", "/no/such/dir", "--budget", "10"], b"");
    assert_one_line_error(&out, 1, "missing path");
}

#[test]
fn pack_budgets_zero_and_larger_than_the_input() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", b"def a():\n    return 1\n");
    write(
        dir.path(),
        "notes.md",
        b"# Notes\n\nSome prose. More prose.\n",
    );
    let root = dir.path().to_str().unwrap();
    let out = run(&["pack", root, "--budget", "0"], b"");
    assert_one_line_error(&out, 1, "pack budget 0");
    let whole = run(&["pack", root, "--budget", "1000000"], b"");
    assert_eq!(whole.code, Some(0), "{}", whole.stderr);
    let max = run(&["pack", root, "--budget", &usize::MAX.to_string()], b"");
    assert_eq!(max.text(), whole.text());
    assert!(whole.text().contains("def a():\n    return 1\n"));
    assert!(whole.text().contains("Some prose. More prose."));
}

// ---- the library ----

/// Runs `f` on its own thread and fails the test if it takes longer than [`GUARD`]
/// (the thread is left behind; the test binary ends with the failure).
fn within_guard(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(GUARD) {
        Ok(()) => {}
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after {GUARD:?}: it hangs")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

/// Every kind of document a caller can build, each under every layout.
fn kinds() -> Vec<DocKind> {
    let mut kinds: Vec<DocKind> = Lang::ALL.iter().map(|&l| DocKind::Code(l)).collect();
    kinds.extend([
        DocKind::Prose,
        DocKind::Json,
        DocKind::Whole,
        DocKind::Lines(None),
        DocKind::Lines(Some("#")),
    ]);
    kinds
}

/// Compresses and checks the promise: the output fits, or the budget is reported too
/// small for the least there is to say (never for an input that fits as it is).
fn check(compressor: &Compressor, docs: Vec<Document>, budget: usize, what: &str) {
    let input = Input::documents(docs).query("find the parser");
    match compressor.compress(input, budget) {
        Ok(out) => {
            let n = compressor.counter().count(&out.text);
            assert!(n <= budget, "{what}: {n} tokens > budget {budget}");
            assert_eq!(n, out.tokens_after, "{what}");
            if out.tokens_before <= budget {
                assert_eq!(out.tokens_after, out.tokens_before, "{what}: kept whole");
            }
        }
        Err(CompressError::BudgetTooSmall { minimum, .. }) => {
            assert!(minimum > budget, "{what}: minimum {minimum} ≤ {budget}");
        }
        Err(e) => panic!("{what}: {e}"),
    }
}

#[test]
fn library_degenerate_documents_never_panic_or_overflow() {
    let texts: [(&str, String); 6] = [
        ("empty", String::new()),
        ("whitespace", " \n\n\t  \r\n \u{a0}\u{3000}\n".into()),
        ("NULs", "\0".repeat(300)),
        ("one newline", "\n".into()),
        (
            "control characters",
            "\u{1}\u{2}\u{7f}\u{1b}[0m\r".repeat(40),
        ),
        ("lone marker", "… [...] // … ".into()),
    ];
    for preset in ["code", "rag", "chat"] {
        for format in [
            None,
            Some(Format::Markdown),
            Some(Format::Xml),
            Some(Format::Json),
            Some(Format::Plain),
        ] {
            let mut builder = Compressor::builder().preset(Preset::named(preset).unwrap());
            if let Some(f) = format {
                builder = builder.boxed_layout(f.layout());
            }
            let compressor = builder.build();
            for kind in kinds() {
                for (name, text) in &texts {
                    for budget in [0, 1, 3, 1_000_000] {
                        let what = format!("{preset} {format:?} {kind:?} {name} budget {budget}");
                        let doc = Document::new(text.clone(), kind).with_path("x.txt");
                        check(&compressor, vec![doc.clone()], budget, &what);
                        // With a normal document beside it.
                        let other =
                            Document::from_path_text("src/p.py", "def parse(x):\n    return x\n");
                        check(&compressor, vec![doc, other], budget, &what);
                    }
                }
            }
        }
    }
}

#[test]
fn library_empty_input_and_budgets_at_the_edges() {
    let compressor = Compressor::builder()
        .layout(render::Markdown)
        .preset(Preset::named("code").unwrap())
        .build();
    // No documents at all.
    for budget in [0, 10] {
        let out = compressor
            .compress(Input::documents(vec![]), budget)
            .unwrap();
        assert!(tokens(&out.text) <= budget);
    }
    // An input of one sentence under budget 0: an error, not a panic.
    let bare = Compressor::default();
    assert!(matches!(
        bare.compress("Alpha beta gamma.", 0),
        Err(CompressError::BudgetTooSmall { .. })
    ));
    // Empty text fits budget 0 exactly.
    let out = bare.compress("", 0).unwrap();
    assert_eq!(out.text, "");
    // A budget larger than the input returns it unchanged.
    let text = "One. Two three. Four five six.\n";
    let out = bare.compress(text, usize::MAX).unwrap();
    assert_eq!(out.text, text);
}

#[test]
fn library_one_megabyte_lines_without_word_boundaries() {
    let lines = [
        ("letters", "a".repeat(1 << 20)),
        ("punctuation", ";,.:".repeat(1 << 18)),
        ("NULs", "\0".repeat(1 << 20)),
        ("digits", "0123456789".repeat(1 << 17)),
        // Operator soup and deep nesting: tree-sitter's error recovery and its query
        // take time far worse than linear on these.
        ("operators", "=-+*".repeat(1 << 18)),
        ("nesting", "([".repeat(1 << 19)),
    ];
    let compressor = Compressor::builder()
        .preset(Preset::named("rag").unwrap())
        .layout(render::Markdown)
        .build();
    for (name, line) in &lines {
        for kind in [
            DocKind::Prose,
            DocKind::Code(Lang::JavaScript),
            DocKind::Json,
        ] {
            let doc = Document::new(line.clone(), kind).with_path("blob");
            for budget in [0, 50, 1_000_000] {
                let what = format!("{name} {kind:?} {budget}");
                within_guard(&what, {
                    let (compressor, doc) = (compressor.clone(), doc.clone());
                    let what = what.clone();
                    move || check(&compressor, vec![doc], budget, &what)
                });
            }
        }
    }
}

// ---- pith serve under a low open-file limit ----

/// Every proxied stream holds two sockets; a soft limit of 1024 (a common default) caps
/// the proxy near 500 streams. `pith serve` raises its soft limit to the hard one.
#[test]
fn serve_raises_its_soft_open_file_limit() {
    let limits = |pid: &str| -> (String, String) {
        let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap()
            .to_owned();
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[3].to_owned(), f[4].to_owned())
    };
    let hard = limits("self").1;
    if Command::new("prlimit").arg("--version").output().is_err() || hard == "256" {
        eprintln!("skipping: prlimit not found, or the hard limit is already 256");
        return;
    }
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile=256:{hard}"))
        .args([
            "--",
            env!("CARGO_BIN_EXE_pith"),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Listening means the limit has been set (it is raised before the runtime starts).
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    let pid = child.id().to_string();
    let (soft, now_hard) = limits(&pid);
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("listening"), "{line}");
    assert_eq!(now_hard, hard);
    let expected = if hard == "unlimited" {
        "65536".to_owned()
    } else {
        hard.parse::<u64>().unwrap().min(1 << 20).to_string()
    };
    assert_eq!(soft, expected, "soft limit raised from 256");
}
