//! pith's token counts equal Python tiktoken's, the reference, for both encodings, on
//! real code and prose. Needs `python3` with `tiktoken` (installed by scripts/setup) and
//! the BPE files in ../shared/tiktoken_cache, so nothing is downloaded.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use pith::{Encoding, Tiktoken, TokenCounter};

const SCRIPT: &str = r#"
import sys, tiktoken
for name in ("o200k_base", "cl100k_base"):
    enc = tiktoken.get_encoding(name)
    for path in sys.argv[1:]:
        text = open(path, encoding="utf-8").read()
        print(name, len(enc.encode_ordinary(text)), path)
"#;

fn samples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "src/compress/mod.rs"]
        .iter()
        .map(|p| root.join(p))
        .collect();
    for lang in ["go", "java", "javascript", "rust", "tsx", "typescript"] {
        for e in std::fs::read_dir(root.join("tests/fixtures/code").join(lang)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    let essays = crate::prereq::shared("eval/niah");
    assert!(
        essays.is_dir(),
        "{} is missing: the evaluation data must sit beside the repository",
        essays.display()
    );
    for e in std::fs::read_dir(essays).unwrap().take(12) {
        files.push(e.unwrap().path());
    }
    files
}

#[test]
fn counts_equal_python_tiktoken() {
    let cache = crate::prereq::shared("tiktoken_cache");
    assert!(cache.is_dir(), "{} is missing", cache.display());
    let files = samples();
    let out = crate::prereq::python3()
        .arg("-c")
        .arg(SCRIPT)
        .args(&files)
        .env("TIKTOKEN_CACHE_DIR", &cache)
        .output()
        .expect("python3 must be installed");
    assert!(
        out.status.success(),
        "Python tiktoken failed (run scripts/setup to install it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut checked = 0;
    for line in stdout.lines() {
        let mut parts = line.splitn(3, ' ');
        let (enc, n, path) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let counter = Tiktoken::new(enc.parse::<Encoding>().unwrap());
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            counter.count(&text),
            n.parse::<usize>().unwrap(),
            "{enc} on {path}"
        );
        checked += 1;
    }
    assert_eq!(checked, 2 * files.len());
}
