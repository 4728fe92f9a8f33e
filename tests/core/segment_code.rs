//! The code chunker on arbitrary text, on real source files (the Python sdists in
//! `../shared/eval/code` and the fixtures in `tests/fixtures/code`), and on real files
//! broken by random edits.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use pith::segment::{Chunk, ChunkKind, Chunker, CodeChunker, Lang, check_tiling};
use proptest::prelude::*;

/// Chunks `text` and checks the invariants every code chunking must hold.
fn chunk_checked(lang: Lang, text: &str, what: &str) -> Vec<Chunk> {
    let chunks = CodeChunker::new(lang).chunk(text);
    if let Err(e) = check_tiling(text, &chunks) {
        panic!("{what} ({lang:?}): {e}");
    }
    for (i, c) in chunks.iter().enumerate() {
        if let Some(p) = c.parent {
            assert!(p < i, "{what}: chunk {i} has a later parent {p}");
        }
    }
    chunks
}

/// Every Function chunk of a real (well-formed) file starts at a line start.
fn assert_functions_start_lines(text: &str, chunks: &[Chunk], what: &str) {
    for c in chunks.iter().filter(|c| c.kind == ChunkKind::Function) {
        let s = c.span.start;
        assert!(
            s == 0 || text.as_bytes()[s - 1] == b'\n',
            "{what}: function {:?} starts mid-line at {s}",
            c.name
        );
    }
}

/// The first chunk named `name` that is not a footer.
fn find<'c>(chunks: &'c [Chunk], name: &str, what: &str) -> (usize, &'c Chunk) {
    chunks
        .iter()
        .enumerate()
        .find(|(_, c)| c.name.as_deref() == Some(name) && c.kind != ChunkKind::Footer)
        .unwrap_or_else(|| panic!("{what}: no chunk named {name}"))
}

/// Expects a chunk `name` of `kind` whose text starts with `starts` (after leading
/// whitespace) and contains `contains`; `parent` is the expected header's name.
struct Expect {
    name: &'static str,
    kind: ChunkKind,
    starts: &'static str,
    contains: &'static str,
    parent: Option<&'static str>,
}

const fn ex(
    name: &'static str,
    kind: ChunkKind,
    starts: &'static str,
    contains: &'static str,
    parent: Option<&'static str>,
) -> Expect {
    Expect {
        name,
        kind,
        starts,
        contains,
        parent,
    }
}

fn check_expectations(text: &str, chunks: &[Chunk], expects: &[Expect], what: &str) {
    for e in expects {
        let (_, c) = find(chunks, e.name, what);
        let body = c.text(text);
        assert_eq!(c.kind, e.kind, "{what}: kind of {}", e.name);
        assert!(
            body.trim_start().starts_with(e.starts),
            "{what}: {} should start with {:?}:\n{body}",
            e.name,
            e.starts
        );
        assert!(
            body.contains(e.contains),
            "{what}: {} should contain {:?}",
            e.name,
            e.contains
        );
        let parent = c.parent.map(|p| {
            assert_eq!(chunks[p].kind, ChunkKind::Header);
            chunks[p].name.as_deref().unwrap_or("")
        });
        assert_eq!(parent, e.parent, "{what}: parent of {}", e.name);
    }
}

// ---------------------------------------------------------------------------------------
// Real Python: the evaluation sdists.

fn shared_code_dir() -> PathBuf {
    let dir = crate::prereq::shared("eval/code");
    assert!(
        dir.is_dir(),
        "{} is missing: the Python corpus for these tests lives in the project's shared/ \
         folder, which must sit beside the repository as ../shared",
        dir.display()
    );
    dir
}

fn sdist(name: &str) -> PathBuf {
    let path = shared_code_dir().join(name);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// One file from an sdist, read with `tar -xzOf`.
fn sdist_file(archive: &str, member: &str) -> String {
    let out = Command::new("tar")
        .arg("-xzOf")
        .arg(sdist(archive))
        .arg(member)
        .output()
        .expect("run tar");
    assert!(out.status.success(), "tar {archive} {member}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// All `.py` files of an sdist, unpacked into a temporary directory.
fn sdist_sources(archive: &str) -> Vec<(PathBuf, String)> {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(sdist(archive))
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("run tar");
    assert!(status.success(), "tar -xzf {archive}");
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path, text));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_sdist_file_tiles_and_functions_start_lines() {
    for archive in [
        "click-8.5.1.tar.gz",
        "flask-3.1.3.tar.gz",
        "requests-2.34.2.tar.gz",
        "rich-15.0.0.tar.gz",
    ] {
        let files = sdist_sources(archive);
        assert!(files.len() > 10, "{archive}: only {} files", files.len());
        let (mut functions, mut headers) = (0, 0);
        let started = Instant::now();
        for (path, text) in &files {
            let what = path.display().to_string();
            let chunks = chunk_checked(Lang::Python, text, &what);
            assert_functions_start_lines(text, &chunks, &what);
            functions += chunks
                .iter()
                .filter(|c| c.kind == ChunkKind::Function)
                .count();
            headers += chunks
                .iter()
                .filter(|c| c.kind == ChunkKind::Header)
                .count();
        }
        let elapsed = started.elapsed();
        let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
        eprintln!(
            "{archive}: {bytes} bytes, {functions} functions, {headers} classes in {elapsed:?}"
        );
        assert!(
            functions > 50 && headers > 5,
            "{archive}: {functions} / {headers}"
        );
        // Generous bound for a shared debug-build machine; it takes a fraction of this.
        assert!(elapsed.as_secs_f64() < 10.0, "{archive}: {elapsed:?}");
    }
}

#[test]
fn flask_click_requests_rich_definitions() {
    let cases: [(&str, &str, &[Expect]); 5] = [
        (
            "flask-3.1.3.tar.gz",
            "flask-3.1.3/src/flask/app.py",
            &[
                ex(
                    "Flask",
                    ChunkKind::Header,
                    "class Flask(App):",
                    "\"\"\"",
                    None,
                ),
                ex(
                    "Flask.make_response",
                    ChunkKind::Function,
                    "def make_response(self",
                    "return rv",
                    Some("Flask"),
                ),
            ],
        ),
        (
            "flask-3.1.3.tar.gz",
            "flask-3.1.3/src/flask/sansio/scaffold.py",
            &[ex(
                "Scaffold.route",
                ChunkKind::Function,
                "@setupmethod\n    def route(",
                "def decorator",
                Some("Scaffold"),
            )],
        ),
        (
            "click-8.5.1.tar.gz",
            "click-8.5.1/src/click/core.py",
            &[ex(
                "Context.scope",
                ChunkKind::Function,
                "@contextmanager\n    def scope(",
                "cleanup",
                Some("Context"),
            )],
        ),
        (
            "requests-2.34.2.tar.gz",
            "requests-2.34.2/src/requests/utils.py",
            &[ex(
                "parse_list_header",
                ChunkKind::Function,
                "# From mitsuhiko/werkzeug (used with permission).\ndef parse_list_header(",
                "return result",
                None,
            )],
        ),
        (
            "rich-15.0.0.tar.gz",
            "rich-15.0.0/rich/console.py",
            &[
                ex(
                    "Console",
                    ChunkKind::Header,
                    "class Console:",
                    "\"\"\"",
                    None,
                ),
                ex(
                    "Console.print",
                    ChunkKind::Function,
                    "def print(",
                    "",
                    Some("Console"),
                ),
            ],
        ),
    ];
    for (archive, member, expects) in cases {
        let text = sdist_file(archive, member);
        let chunks = chunk_checked(Lang::Python, &text, member);
        check_expectations(&text, &chunks, expects, member);
    }
    // requests' Session.request: a method of a class whose header holds its attributes.
    let text = sdist_file(
        "requests-2.34.2.tar.gz",
        "requests-2.34.2/src/requests/sessions.py",
    );
    let chunks = chunk_checked(Lang::Python, &text, "sessions.py");
    let (h, header) = find(&chunks, "Session", "sessions.py");
    assert_eq!(header.kind, ChunkKind::Header);
    assert!(header.text(&text).contains("__attrs__"));
    let (_, request) = find(&chunks, "Session.request", "sessions.py");
    assert_eq!(request.parent, Some(h));
    // Every member of the class points at its header, and sits inside the class's span.
    let members: Vec<_> = chunks.iter().filter(|c| c.parent == Some(h)).collect();
    assert!(members.len() > 10);
    assert!(members.iter().all(|c| c.span.start >= header.span.end));
}

// ---------------------------------------------------------------------------------------
// Real Rust, JavaScript, TypeScript, TSX, Go and Java: committed fixtures.

fn fixture(rel: &str) -> (Lang, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/code")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (Lang::from_path(&path).unwrap(), text)
}

const FIXTURES: [&str; 10] = [
    "rust/fnv_lib.rs",
    "javascript/ms.js",
    "javascript/yocto_queue.js",
    "typescript/Subject.ts",
    "typescript/Subscription.ts",
    "tsx/SafeAreaContext.tsx",
    "go/errors.go",
    "go/stack.go",
    "java/Filesystem.java",
    "java/PendingRequests.java",
];

#[test]
fn fixtures_tile_and_functions_start_lines() {
    for rel in FIXTURES {
        let (lang, text) = fixture(rel);
        let chunks = chunk_checked(lang, &text, rel);
        assert_functions_start_lines(&text, &chunks, rel);
        assert!(
            chunks
                .iter()
                .filter(|c| c.kind == ChunkKind::Function)
                .count()
                >= 3,
            "{rel}: {chunks:#?}"
        );
    }
}

#[test]
fn fixture_definitions() {
    use ChunkKind::{Footer, Function, Header, Type};
    let cases: [(&str, &[Expect]); 10] = [
        (
            "rust/fnv_lib.rs",
            &[
                ex(
                    "FnvHasher",
                    Type,
                    "/// An implementation of the Fowler–Noll–Vo",
                    "pub struct FnvHasher(u64);",
                    None,
                ),
                ex(
                    "FnvHasher.with_key",
                    Function,
                    "/// Create an FNV hasher",
                    "#[inline]\n    pub fn with_key",
                    Some("FnvHasher"),
                ),
                ex(
                    "FnvHasher.write",
                    Function,
                    "#[inline]\n    fn write(",
                    "for byte in bytes.iter()",
                    Some("FnvHasher"),
                ),
                ex(
                    "test",
                    Header,
                    "#[cfg(test)]\nmod test {",
                    "use super::*;",
                    None,
                ),
                ex("test.fnv1a", Function, "fn fnv1a(", "", Some("test")),
            ],
        ),
        (
            "javascript/ms.js",
            &[
                ex(
                    "parse",
                    Function,
                    "function parse(str)",
                    "switch (type)",
                    None,
                ),
                ex("plural", Function, "function plural(", "", None),
            ],
        ),
        (
            "javascript/yocto_queue.js",
            &[
                ex("Queue", Header, "export default class Queue {", "", None),
                ex("Queue.dequeue", Function, "dequeue() {", "", Some("Queue")),
                ex(
                    "Queue.[Symbol.iterator]",
                    Function,
                    "* [Symbol.iterator]() {",
                    "",
                    Some("Queue"),
                ),
                ex(
                    "Node.constructor",
                    Function,
                    "constructor(value) {",
                    "",
                    Some("Node"),
                ),
            ],
        ),
        (
            "typescript/Subject.ts",
            &[
                ex(
                    "Subject",
                    Header,
                    "/**",
                    "export class Subject<T> extends Observable<T>",
                    None,
                ),
                ex(
                    "Subject._throwIfClosed",
                    Function,
                    "/** @internal */\n  protected _throwIfClosed()",
                    "",
                    Some("Subject"),
                ),
                ex(
                    "Subject.observed",
                    Function,
                    "get observed()",
                    "",
                    Some("Subject"),
                ),
                ex(
                    "AnonymousSubject.next",
                    Function,
                    "next(value: T)",
                    "",
                    Some("AnonymousSubject"),
                ),
            ],
        ),
        (
            "typescript/Subscription.ts",
            &[
                ex(
                    "Subscription.unsubscribe",
                    Function,
                    "/**",
                    "unsubscribe(): void {",
                    Some("Subscription"),
                ),
                ex(
                    "isSubscription",
                    Function,
                    "export function isSubscription(",
                    "",
                    None,
                ),
            ],
        ),
        (
            "tsx/SafeAreaContext.tsx",
            &[
                ex(
                    "SafeAreaProviderProps",
                    Type,
                    "export interface SafeAreaProviderProps",
                    "",
                    None,
                ),
                ex(
                    "SafeAreaProvider",
                    Function,
                    "export function SafeAreaProvider(",
                    "<",
                    None,
                ),
                ex(
                    "WithSafeAreaInsetsProps",
                    Type,
                    "export type WithSafeAreaInsetsProps",
                    "",
                    None,
                ),
                ex(
                    "useSafeArea",
                    Function,
                    "/**",
                    "export function useSafeArea()",
                    None,
                ),
            ],
        ),
        (
            "go/errors.go",
            &[
                ex(
                    "New",
                    Function,
                    "// New returns an error with the supplied message.",
                    "func New(message string) error {",
                    None,
                ),
                ex(
                    "withStack.Format",
                    Function,
                    "func (w *withStack) Format(",
                    "",
                    None,
                ),
                ex(
                    "fundamental",
                    Type,
                    "// fundamental is an error",
                    "type fundamental struct {",
                    None,
                ),
            ],
        ),
        (
            "go/stack.go",
            &[ex(
                "Frame.MarshalText",
                Function,
                "// MarshalText formats",
                "func (f Frame) MarshalText()",
                None,
            )],
        ),
        (
            "java/Filesystem.java",
            &[
                ex(
                    "Filesystem",
                    Header,
                    "public abstract class Filesystem {",
                    "protected final Uri rootUri;",
                    None,
                ),
                ex(
                    "Filesystem.ReadFileCallback",
                    Header,
                    "public interface ReadFileCallback {",
                    "",
                    Some("Filesystem"),
                ),
                ex(
                    "Filesystem.normalizePath",
                    Function,
                    "/**",
                    "protected static String normalizePath(",
                    Some("Filesystem"),
                ),
                ex(
                    "Filesystem.LimitedInputStream.read",
                    Function,
                    "@Override\n        public int read()",
                    "",
                    Some("Filesystem.LimitedInputStream"),
                ),
            ],
        ),
        (
            "java/PendingRequests.java",
            &[
                ex(
                    "PendingRequests.Request.getAction",
                    Function,
                    "public int getAction()",
                    "",
                    Some("PendingRequests.Request"),
                ),
                ex(
                    "PendingRequests.createRequest",
                    Function,
                    "/**",
                    "public synchronized int createRequest(",
                    Some("PendingRequests"),
                ),
            ],
        ),
    ];
    for (rel, expects) in cases {
        let (lang, text) = fixture(rel);
        let chunks = chunk_checked(lang, &text, rel);
        check_expectations(&text, &chunks, expects, rel);
        // A container's footer belongs to its header and is its closing brace.
        for (i, c) in chunks.iter().enumerate().filter(|(_, c)| c.kind == Footer) {
            let p = c
                .parent
                .unwrap_or_else(|| panic!("{rel}: footer {i} has no parent"));
            assert_eq!(chunks[p].name, c.name, "{rel}: footer {i}");
            if lang != Lang::Python {
                assert!(c.text(&text).trim_end().ends_with('}'), "{rel}: footer {i}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Broken and arbitrary input.

#[test]
fn garbage_falls_back_to_line_blocks() {
    let garbage = "@@@ }}} ))) ::: <<< ]]] ;;; ((( {{{ >>>\n".repeat(60);
    for lang in Lang::ALL {
        let chunks = chunk_checked(lang, &garbage, "garbage");
        assert!(chunks.len() >= 2, "{lang:?}");
        assert!(
            chunks.iter().all(|c| c.kind == ChunkKind::Lines),
            "{lang:?}: {chunks:?}"
        );
    }
}

/// A real file per language, for the edit property.
fn real_files() -> Vec<(Lang, String)> {
    let mut files: Vec<_> = FIXTURES.iter().map(|rel| fixture(rel)).collect();
    files.push((
        Lang::Python,
        sdist_file("flask-3.1.3.tar.gz", "flask-3.1.3/src/flask/ctx.py"),
    ));
    files
}

/// Applies `(at, delete, insert)` edits, each position a fraction of the current length,
/// snapped down to a char boundary.
fn edit(text: &str, edits: &[(f64, usize, String)]) -> String {
    let mut s = text.to_owned();
    for (at, del, ins) in edits {
        let mut start = ((s.len() as f64) * at) as usize;
        while !s.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + del).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        s.replace_range(start..end, ins);
    }
    s
}

fn any_lang() -> impl Strategy<Value = Lang> {
    prop::sample::select(Lang::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_text_tiles(lang in any_lang(), text in "(?s).{0,400}") {
        chunk_checked(lang, &text, "arbitrary");
    }

    #[test]
    fn code_like_text_tiles(
        lang in any_lang(),
        text in "([a-z ]{0,8}(def|class|fn|impl|func|function|export|const|=>|\\{|\\}|\\(|\\)|:|;|\n|    |@x|///|/\\*\\*|\\*/|#\\[a\\]|\"|'|é|🦀)){0,60}",
    ) {
        chunk_checked(lang, &text, "code-like");
    }

    #[test]
    fn edited_real_files_tile(
        file in 0usize..11,
        edits in prop::collection::vec(
            (0.0f64..1.0, 0usize..200, "(?s).{0,30}|\\{|\\}|\n\n|def |\"\"\"|/\\*"),
            1..6,
        ),
    ) {
        let files = real_files_cached();
        let (lang, text) = &files[file % files.len()];
        let broken = edit(text, &edits);
        chunk_checked(*lang, &broken, "edited");
    }
}

fn real_files_cached() -> &'static [(Lang, String)] {
    static FILES: std::sync::OnceLock<Vec<(Lang, String)>> = std::sync::OnceLock::new();
    FILES.get_or_init(real_files)
}
