//! OpenAI BPE encodings, embedded in `tiktoken-rs`, so counting works offline and
//! matches Python tiktoken exactly.

use std::str::FromStr;

use tiktoken_rs::CoreBPE;

use super::TokenCounter;

/// A tiktoken encoding pith can count in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, o-series and later: the default.
    #[default]
    O200kBase,
    /// GPT-4 and GPT-3.5.
    Cl100kBase,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }
}

impl FromStr for Encoding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "o200k_base" | "o200k" => Ok(Encoding::O200kBase),
            "cl100k_base" | "cl100k" => Ok(Encoding::Cl100kBase),
            other => Err(format!(
                "unknown encoding {other:?} (use o200k_base or cl100k_base)"
            )),
        }
    }
}

/// Counts tokens with a tiktoken encoding. Cheap to copy: the BPE tables are static.
#[derive(Clone, Copy)]
pub struct Tiktoken {
    encoding: Encoding,
    bpe: &'static CoreBPE,
}

impl std::fmt::Debug for Tiktoken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiktoken")
            .field("encoding", &self.encoding)
            .finish()
    }
}

impl Tiktoken {
    pub fn new(encoding: Encoding) -> Self {
        // The tables are compiled into tiktoken-rs and load once per process.
        let bpe = match encoding {
            Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
        };
        Self { encoding, bpe }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }
}

impl Default for Tiktoken {
    fn default() -> Self {
        Self::new(Encoding::default())
    }
}

impl TokenCounter for Tiktoken {
    fn count(&self, text: &str) -> usize {
        // Ordinary encoding: text that looks like `<|endoftext|>` is counted as text, as
        // an API counts user content.
        self.bpe.encode_ordinary(text).len()
    }

    fn name(&self) -> &str {
        self.encoding.name()
    }

    fn prefix_len(&self, text: &str, max: usize) -> usize {
        // The first `max` tokens of the whole text cover a prefix whose own count is
        // almost always `max` or fewer; check, and step back a character if not.
        let tokens = self.bpe.encode_ordinary(text);
        if tokens.len() <= max {
            return text.len();
        }
        let bytes = self.bpe.decode_bytes(&tokens[..max]).map_or(0, |b| b.len());
        let mut n = super::floor_char_boundary(text, bytes);
        while n > 0 && self.count(&text[..n]) > max {
            n = super::floor_char_boundary(text, n - 1);
        }
        n
    }
}
