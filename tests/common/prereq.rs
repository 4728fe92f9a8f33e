//! What the tests of one binary need besides the crate, found in one place: the data in
//! `../shared` ([`shared`]), the installed models ([`models`]) and Python packages
//! ([`python3`]). The binary's `main.rs` lists in its `NEEDS` which of its tests need what.
//!
//! The first call of any of these checks every prerequisite of the binary and writes one
//! line per missing one to stderr, saying which tests need it and how to get it. Written to
//! the stderr handle itself: libtest captures `eprintln!` of a test, not this. Nothing is
//! skipped: the tests that need what is missing still fail, the line only says why, before
//! their failures scroll past. When everything is there it prints nothing.

// Not every binary uses every helper.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use pith::models::ModelStore;

/// Which tests of a binary need each prerequisite ("" or empty: none of them).
#[derive(Debug)]
pub struct Needs {
    /// Tests that read the evaluation data, `../shared/eval`.
    pub eval: &'static str,
    /// Tests that read the BPE files of `../shared/tiktoken_cache`.
    pub tiktoken_cache: &'static str,
    /// The models these tests load (`pith models install` names), and the tests.
    pub models: (&'static [&'static str], &'static str),
    /// The Python modules these tests import, and the tests.
    pub python: (&'static [&'static str], &'static str),
}

/// `rel` in the folder `../shared` beside the repository: the evaluation data (`eval/…`)
/// and the tiktoken cache (`tiktoken_cache`).
pub fn shared(rel: &str) -> PathBuf {
    announce();
    shared_root().join(rel)
}

/// The models folder pith finds by itself ([`ModelStore::discover`]): `$PITH_MODELS_DIR`,
/// else `onnx_models/cache` of the checkout, where `scripts/setup` installs them.
pub fn models() -> ModelStore {
    announce();
    ModelStore::discover()
}

/// `python3`, for a test whose script imports packages `scripts/setup` installs.
pub fn python3() -> Command {
    announce();
    Command::new("python3")
}

fn shared_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// Writes the lines of [`missing`] once per test binary.
fn announce() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let lines = missing(&crate::NEEDS);
        let mut err = std::io::stderr().lock();
        for line in lines {
            let _ = writeln!(err, "pith tests: {line}");
        }
    });
}

/// One line per missing prerequisite of `needs`.
fn missing(needs: &Needs) -> Vec<String> {
    let mut lines = Vec::new();
    let folder = |rel: &str, what: &str, who: &str| {
        let path = shared_root().join(rel);
        (!who.is_empty() && !path.is_dir()).then(|| {
            format!(
                "../shared/{rel} not found at {}: {who} will fail ({what}); put the project's \
                 shared/ folder beside the repository",
                path.display()
            )
        })
    };
    lines.extend(folder("eval", "they read the evaluation data", needs.eval));
    lines.extend(folder(
        "tiktoken_cache",
        "it holds the BPE files Python tiktoken reads",
        needs.tiktoken_cache,
    ));
    let (names, who) = needs.models;
    let store = ModelStore::discover();
    let absent: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| store.locate(name).is_err())
        .collect();
    if !absent.is_empty() {
        lines.push(format!(
            "models not installed in {} ({}): {who} will fail; run scripts/setup (or set \
             PITH_MODELS_DIR to a folder that has them)",
            store.root().display(),
            absent.join(", ")
        ));
    }
    let (modules, who) = needs.python;
    if !modules.is_empty() {
        // The modules that cannot be imported, one per line.
        let script = "import importlib.util, sys\n\
                      for m in sys.argv[1:]:\n    \
                      if importlib.util.find_spec(m) is None: print(m)";
        match Command::new("python3")
            .args(["-c", script])
            .args(modules)
            .output()
        {
            Ok(out) if out.status.success() => {
                let absent: Vec<String> = String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(str::to_owned)
                    .collect();
                if !absent.is_empty() {
                    lines.push(format!(
                        "Python packages missing ({}): {who} will fail; run scripts/setup",
                        absent.join(", ")
                    ));
                }
            }
            _ => lines.push(format!(
                "python3 not found or broken: {who} will fail; install Python 3, then run \
                 scripts/setup"
            )),
        }
    }
    lines
}
