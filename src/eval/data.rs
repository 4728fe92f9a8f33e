//! Reading the evaluation data: JSON lines (gzipped or not) and source tarballs.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::EvalError;

/// Every line of a `.jsonl` or `.jsonl.gz` file, parsed; `limit` lines at most.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(
    path: &Path,
    limit: Option<usize>,
) -> Result<Vec<T>, EvalError> {
    let file = std::fs::File::open(path).map_err(|e| EvalError::data(path, e))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut out = Vec::new();
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        let line = line.map_err(|e| EvalError::data(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
                .map_err(|e| EvalError::data(path, format!("line {}: {e}", i + 1)))?,
        );
    }
    Ok(out)
}

/// Unpacks a `.tar.gz` into `dest`.
pub fn unpack_tar_gz(path: &Path, dest: &Path) -> Result<(), EvalError> {
    let file = std::fs::File::open(path).map_err(|e| EvalError::data(path, e))?;
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(dest)
        .map_err(|e| EvalError::data(path, e))
}

/// A deterministic pseudo-random stream (SplitMix64): the same seed gives the same data on
/// every machine, with no dependency to pin.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next value of the stream.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in 0..1.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
