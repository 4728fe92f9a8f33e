//! How a value is stored: a header that names the format and the pith version that wrote
//! it, a checksum over key, version and payload, then the payload.
//!
//! ```text
//! "pith" 0x01 | version length (1 byte) | version | SHA-256(key ‖ 0 ‖ version ‖ 0 ‖ payload) | payload
//! ```
//!
//! The key is inside the checksum, so a value copied under another key is rejected like
//! a corrupt one; the version is checked on its own, so a replica of another pith version
//! that shares the server (a rolling upgrade) can never serve its output here.

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 5] = b"pith\x01";
const SUM: usize = 32;

/// Why a stored value was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Not in this format, cut short, or its checksum does not match.
    Corrupt,
    /// Written by another pith version.
    Foreign,
}

fn checksum(key: &str, version: &str, payload: &[u8]) -> [u8; SUM] {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update([0u8]);
    h.update(version.as_bytes());
    h.update([0u8]);
    h.update(payload);
    h.finalize().into()
}

/// `payload` as stored under `key` by pith `version`. Public so that tests (and tools)
/// can write what another version would.
pub fn seal(key: &str, version: &str, payload: &[u8]) -> Vec<u8> {
    let v = &version.as_bytes()[..version.len().min(255)];
    let mut out = Vec::with_capacity(MAGIC.len() + 1 + v.len() + SUM + payload.len());
    out.extend_from_slice(MAGIC);
    out.push(v.len() as u8);
    out.extend_from_slice(v);
    let version = std::str::from_utf8(v).unwrap_or_default();
    out.extend_from_slice(&checksum(key, version, payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of a value read under `key`, if this `version` wrote it intact.
pub fn open<'a>(key: &str, version: &str, value: &'a [u8]) -> Result<&'a [u8], Reject> {
    let rest = value
        .strip_prefix(MAGIC.as_slice())
        .ok_or(Reject::Corrupt)?;
    let (&len, rest) = rest.split_first().ok_or(Reject::Corrupt)?;
    let len = usize::from(len);
    if rest.len() < len + SUM {
        return Err(Reject::Corrupt);
    }
    let (written_by, rest) = rest.split_at(len);
    let (sum, payload) = rest.split_at(SUM);
    let written_by = std::str::from_utf8(written_by).map_err(|_| Reject::Corrupt)?;
    if checksum(key, written_by, payload) != sum {
        return Err(Reject::Corrupt);
    }
    if written_by != version {
        return Err(Reject::Foreign);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_under_its_key_and_version() {
        let v = seal("k", "1.0", b"payload");
        assert_eq!(open("k", "1.0", &v), Ok(&b"payload"[..]));
        assert_eq!(open("other", "1.0", &v), Err(Reject::Corrupt));
        assert_eq!(open("k", "2.0", &v), Err(Reject::Foreign));
        // Every single-byte change and every truncation is caught.
        for i in 0..v.len() {
            let mut bad = v.clone();
            bad[i] ^= 0x20;
            assert!(open("k", "1.0", &bad).is_err(), "byte {i}");
            assert!(open("k", "1.0", &v[..i]).is_err(), "cut at {i}");
        }
        assert_eq!(open("k", "1.0", &seal("k", "1.0", b"")), Ok(&b""[..]));
    }
}
