//! The ONNX Runtime library, loaded from a file once per process.
//!
//! `ort` is built with `load-dynamic`: nothing is linked or downloaded at build time, and
//! the shared library comes from the `onnxruntime` wheel the model installer unpacks (or
//! from `ORT_DYLIB_PATH`). The first successful load wins for the whole process; later
//! callers get the same environment.

use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use super::NeuralError;

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
/// How long loading the library took, for `--stats`.
static LOAD_TIME: OnceLock<Duration> = OnceLock::new();
/// Serialises first loads, so two threads never load the library at once.
static LOADING: Mutex<()> = Mutex::new(());

/// The process's ONNX Runtime environment, loading `library` on first use.
pub fn environment(library: &Path) -> Result<&'static Environment, NeuralError> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let _guard = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let fail = |message: String| NeuralError::Runtime {
        path: library.to_owned(),
        message,
    };
    if !library.is_file() {
        return Err(fail("no such file".into()));
    }
    let started = Instant::now();
    // ort's errors are not Send; keep their messages only.
    let env = ort::init_from(library)
        .map_err(|e| fail(e.to_string()))?
        .with_name("pith")
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let _ = LOAD_TIME.set(started.elapsed());
    Ok(ENVIRONMENT.get_or_init(|| env))
}

/// Time the process spent loading the runtime library; `None` when it never did (a
/// lexical run must not load it).
pub fn load_time() -> Option<Duration> {
    LOAD_TIME.get().copied()
}

/// Opens `model` with the session options every pith model uses: full graph
/// optimisation and `threads` intra-op threads (0: all cores). Threads do not spin while
/// waiting for work: spinning gains microseconds per operator on an idle machine, but
/// on a busy one (the 2-core default, a proxy beside its upstream) it takes the cores the
/// other threads and the caller's own tokenizing need: a CLI run took 1.7x as long
/// (BENCHMARKS.md, "Neural path speed"). `PITH_ORT_SPINNING=1` turns it back on.
pub(crate) fn open_session(
    env: &Environment,
    model: &Path,
    threads: usize,
) -> Result<Session, String> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let spin = std::env::var("PITH_ORT_SPINNING").is_ok_and(|v| v == "1");
    // Builder errors are not Send: keep their messages.
    let session = (|| {
        Session::builder(env)?
            .with_optimization_level(GraphOptimizationLevel::Level3)?
            .with_intra_threads(threads)?
            // One graph runs its nodes in order: no inter-op pool to keep awake.
            .with_inter_threads(1)?
            .with_intra_op_spinning(spin)?
            .with_inter_op_spinning(spin)?
            .commit_from_file(model)
    })();
    session.map_err(|e| e.to_string())
}
