//! The neural parts with real ONNX models: the models folder and its installer, the
//! sentence embedder, the LLMLingua-2 token classifier, the causal LM and the presets that
//! use them. One test binary (issue 17); each module was a test file of its own.

#[path = "../common/prereq.rs"]
mod prereq;

mod auto;
mod cascade;
mod embed;
mod lingua;
mod lm;
mod lm_compress;
mod models;
mod surprisal;

/// What the tests here need besides the crate (see `prereq`).
const NEEDS: prereq::Needs = prereq::Needs {
    eval: "embed, lingua and surprisal",
    tiktoken_cache: "",
    models: (
        &["onnxruntime", "minilm", "smollm2"],
        "auto, cascade, embed, lingua, lm, lm_compress and surprisal",
    ),
    python: (&[], ""),
};
