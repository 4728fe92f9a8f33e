//! Lays out the BPE rank tables of o200k_base and cl100k_base as binary blobs in OUT_DIR,
//! loaded with `include_bytes!` by `src/tokens/bpe/ranks.rs`: start-up parses and hashes
//! nothing. The tokens come from the tables `tiktoken-rs` embeds (a build dependency, so
//! nothing is downloaded), read back rank by rank.

use std::path::Path;

#[allow(dead_code)]
mod layout {
    include!("src/tokens/bpe/layout.rs");
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/tokens/bpe/layout.rs");
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let out = Path::new(&out);
    let encodings = [
        ("o200k_base", tiktoken_rs::o200k_base(), 199_998),
        ("cl100k_base", tiktoken_rs::cl100k_base(), 100_256),
    ];
    for (name, bpe, expected) in encodings {
        let bpe = bpe.expect("tiktoken-rs builds its tables");
        // Ranks 0..n are the ordinary tokens; the first gap comes before the special ones.
        let tokens: Vec<Vec<u8>> = (0..)
            .map_while(|rank| bpe.decode_bytes(&[rank]).ok())
            .collect();
        assert_eq!(tokens.len(), expected, "{name}: ordinary tokens");
        let blob = table(&tokens);
        std::fs::write(out.join(format!("{name}.bin")), blob).expect("OUT_DIR is writable");
    }
}

/// The blob of `tokens` (token r has rank r), as `layout.rs` describes it.
fn table(tokens: &[Vec<u8>]) -> Vec<u8> {
    use layout::SLOT;
    let n = tokens.len();
    // At most half full: probes that miss (most pair look-ups do) stay short.
    let mut bits: u32 = 1;
    while (1usize << bits) < 2 * n {
        bits += 1;
    }
    let mut slots = vec![0u8; SLOT << bits];
    let mask = (1usize << bits) - 1;
    let mut longest = 0;
    for (rank, token) in tokens.iter().enumerate() {
        assert!(!token.is_empty() && token.len() <= layout::MAX_LEN);
        let (a, b) = layout::key_words(token);
        let mut i = layout::home(layout::hash_words(a, b, token), bits);
        let mut probes = 1;
        while slots[SLOT * i] != 0 {
            let other = u32::from_le_bytes(
                slots[SLOT * i + 12..SLOT * i + 16]
                    .try_into()
                    .expect("4 bytes"),
            );
            let other = &tokens[other as usize - 1];
            assert_ne!(other, token, "token {rank} twice");
            i = (i + 1) & mask;
            probes += 1;
        }
        longest = longest.max(probes);
        slots[SLOT * i..SLOT * i + 8].copy_from_slice(&a.to_le_bytes());
        slots[SLOT * i + 8..SLOT * i + 12].copy_from_slice(&b.to_le_bytes());
        slots[SLOT * i + 12..SLOT * i + 16].copy_from_slice(&(rank as u32 + 1).to_le_bytes());
    }
    assert!(longest < 64, "the hash clusters: {longest} probes");
    let arena_len: usize = tokens.iter().map(Vec::len).sum();
    let mut blob = Vec::with_capacity(layout::HEADER + slots.len() + 4 * (n + 1) + arena_len);
    blob.extend_from_slice(layout::MAGIC);
    for v in [n, bits as usize, arena_len] {
        blob.extend_from_slice(&u32::try_from(v).expect("fits in u32").to_le_bytes());
    }
    blob.resize(layout::HEADER, 0);
    blob.extend_from_slice(&slots);
    let mut at = 0u32;
    blob.extend_from_slice(&at.to_le_bytes());
    for token in tokens {
        at += token.len() as u32;
        blob.extend_from_slice(&at.to_le_bytes());
    }
    for token in tokens {
        blob.extend_from_slice(token);
    }
    blob
}
