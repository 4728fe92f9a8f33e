//! Replays every input a fuzzer once failed on (`fuzz/regressions/<target>/`) through the
//! same check the fuzzer runs (`fuzz/checks.rs`), so a fixed bug stays fixed under plain
//! `cargo test`, without nightly or cargo-fuzz. `scripts/fuzz` runs the fuzzers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::path::Path;

/// Replays the target's seeds (`fuzz/seeds/<target>/`, where every fuzzer starts) and any
/// inputs it once failed on (`fuzz/regressions/<target>/`); returns how many. A missing or
/// empty seed folder fails the test: a replay that reads nothing cannot catch anything.
fn replay(target: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let seeds = inputs(&root.join("seeds").join(target));
    assert!(
        !seeds.is_empty(),
        "fuzz/seeds/{target} is missing or empty: nothing to replay"
    );
    let regressions = root.join("regressions").join(target);
    let found = if regressions.exists() {
        let found = inputs(&regressions);
        assert!(!found.is_empty(), "{} is empty", regressions.display());
        found
    } else {
        Vec::new()
    };
    for path in seeds.iter().chain(&found) {
        let data = std::fs::read(path).unwrap();
        eprintln!("{target}: {}", path.display());
        checks::run(target, &data);
    }
    seeds.len() + found.len()
}

/// The files of `dir`, recursively, in a stable order.
fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(inputs(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn every_target_has_its_check() {
    for t in checks::TARGETS {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("fuzz/fuzz_targets/{t}.rs"))
                .exists(),
            "{t}"
        );
    }
}

#[test]
fn request_regressions() {
    assert!(
        replay("request") > 10,
        "the out-of-range number found first is kept"
    );
}

#[test]
fn rewrite_regressions() {
    replay("rewrite");
}

#[test]
fn segment_regressions() {
    replay("segment");
}

#[test]
fn prune_regressions() {
    // The check loads the installed causal LM.
    let _ = crate::prereq::models();
    replay("prune");
}
