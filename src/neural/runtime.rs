//! The ONNX Runtime library, loaded from a file once per process.
//!
//! `ort` is built with `load-dynamic`: nothing is linked or downloaded at build time, and
//! the shared library comes from the `onnxruntime` wheel the model installer unpacks (or
//! from `ORT_DYLIB_PATH`). The first successful load wins for the whole process; later
//! callers get the same environment.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;

use super::NeuralError;

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
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
    // ort's errors are not Send; keep their messages only.
    let env = ort::init_from(library)
        .map_err(|e| fail(e.to_string()))?
        .with_name("pith")
        .build()
        .map_err(|e| fail(e.to_string()))?;
    Ok(ENVIRONMENT.get_or_init(|| env))
}
