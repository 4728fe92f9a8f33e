//! The crate's core as a library user and a command-line user meet it: token counting,
//! segmenting, scoring, selection, budgets, compression, the `pith` binary, the measuring
//! harness and the fuzzers' replays. One test binary (issue 17); each module was a test
//! file of its own.

#[path = "../common/prereq.rs"]
mod prereq;

#[allow(clippy::unwrap_used)]
mod clustered;

mod ann;
mod bad_input;
mod budget;
mod cli;
mod compress;
mod eval;
mod fuzz_regressions;
mod module_graph;
mod score;
mod segment_code;
mod segment_json;
mod segment_prose;
mod select;
mod tiktoken_parity;
mod tokens;

/// What the tests here need besides the crate (see `prereq`).
const NEEDS: prereq::Needs = prereq::Needs {
    eval: "eval, score, segment_code, segment_json and tiktoken_parity",
    tiktoken_cache: "tiktoken_parity",
    models: (
        &["onnxruntime", "smollm2"],
        "fuzz_regressions::prune_regressions",
    ),
    python: (&["tiktoken"], "tiktoken_parity"),
};
