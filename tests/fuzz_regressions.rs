//! Replays every input a fuzzer once failed on (`fuzz/regressions/<target>/`) through the
//! same check the fuzzer runs (`fuzz/checks.rs`), so a fixed bug stays fixed under plain
//! `cargo test`, without nightly or cargo-fuzz. `scripts/fuzz` runs the fuzzers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut n = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        eprintln!("{target}: {}", path.display());
        checks::run(target, &data);
        n += 1;
    }
    n
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
        replay("request") > 0,
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
    replay("prune");
}
