//! OpenAI BPE encodings, compiled into the binary (see `bpe/`), so counting works offline,
//! starts at once and matches Python tiktoken exactly.

use std::str::FromStr;

use super::TokenCounter;
use super::bpe::{self, Bpe, Rank};

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
    /// The encoding's tiktoken name (`o200k_base`, `cl100k_base`).
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
    bpe: &'static Bpe,
}

impl std::fmt::Debug for Tiktoken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiktoken")
            .field("encoding", &self.encoding)
            .finish()
    }
}

impl Tiktoken {
    /// A counter in `encoding`; its tables are built in, so this cannot fail.
    pub fn new(encoding: Encoding) -> Self {
        // The tables are laid out at build time and read in place; the pre-tokenizer
        // compiles once per process, on first use.
        let bpe: &'static Bpe = match encoding {
            Encoding::O200kBase => &bpe::O200K_BASE,
            Encoding::Cl100kBase => &bpe::CL100K_BASE,
        };
        Self { encoding, bpe }
    }

    /// The encoding it counts in.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The token ids of `text`, as tiktoken's `encode_ordinary`: text that looks like a
    /// special token (`<|endoftext|>`) is encoded as text.
    pub fn encode_ordinary(&self, text: &str) -> Vec<Rank> {
        self.bpe.encode_ordinary(text)
    }

    /// The bytes of an ordinary token, `None` for an id outside the encoding.
    pub fn token_bytes(&self, rank: Rank) -> Option<&'static [u8]> {
        self.bpe.token(rank)
    }
}

impl Default for Tiktoken {
    fn default() -> Self {
        Self::new(Encoding::default())
    }
}

impl Tiktoken {
    /// Encodes `part` (which starts at byte `offset` of the whole) once and gives each
    /// token to the piece its first byte lies in: `(index into ends, tokens)` pairs.
    fn attribute(&self, part: &str, offset: usize, ends: &[usize]) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut at = offset;
        let mut piece = 0;
        self.bpe.for_each_token(part, |_, len| {
            while piece + 1 < ends.len() && ends[piece] <= at {
                piece += 1;
            }
            match out.last_mut() {
                Some((p, n)) if *p == piece => *n += 1,
                _ => out.push((piece, 1)),
            }
            at += len;
        });
        out
    }
}

/// Up to `parts` ranges `(start, end, first piece)` of `text` that tile it, cut only at
/// piece ends that follow a newline and precede a character that is not whitespace, so
/// that no token of the whole text crosses a cut and per-range counts add up exactly.
fn split_points(text: &str, ends: &[usize], parts: usize) -> Vec<(usize, usize, usize)> {
    let b = text.as_bytes();
    let target = text.len() / parts.max(1) + 1;
    let mut out = Vec::new();
    let (mut start, mut first) = (0, 0);
    for (i, &end) in ends.iter().enumerate() {
        if super::line_cut(b, end) && end - start >= target && out.len() + 1 < parts {
            out.push((start, end, first));
            start = end;
            first = i + 1;
        }
    }
    out.push((start, text.len(), first));
    out
}

impl TokenCounter for Tiktoken {
    fn count(&self, text: &str) -> usize {
        // Ordinary encoding: text that looks like `<|endoftext|>` is counted as text, as
        // an API counts user content.
        self.bpe.count(text)
    }

    fn name(&self) -> &str {
        self.encoding.name()
    }

    fn count_pieces(&self, text: &str, ends: &[usize]) -> (Vec<usize>, bool) {
        if ends.is_empty() {
            return (Vec::new(), text.is_empty());
        }
        // Cut the text where no token can cross — after a newline, before a character
        // that is neither whitespace nor `/` (no pattern of the pre-tokenizer goes on
        // past such a newline) — and encode the parts on the machine's cores.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parts = split_points(text, ends, threads);
        let mut counts = vec![0; ends.len()];
        let per_part = crate::parallel::map(&parts, |&(a, b, first)| {
            self.attribute(&text[a..b], a, &ends[first..])
        });
        for (&(_, _, first), part) in parts.iter().zip(per_part) {
            for (i, n) in part {
                counts[first + i] += n;
            }
        }
        (counts, true)
    }

    fn additive_at_line_cuts(&self) -> bool {
        true
    }

    fn prefix_len(&self, text: &str, max: usize) -> usize {
        // The first `max` tokens of the whole text cover a prefix whose own count is
        // almost always `max` or fewer; check, and step back a character if not.
        let (mut tokens, mut bytes) = (0, 0);
        self.bpe.for_each_token(text, |_, len| {
            if tokens < max {
                bytes += len;
            }
            tokens += 1;
        });
        if tokens <= max {
            return text.len();
        }
        let mut n = super::floor_char_boundary(text, bytes);
        while n > 0 && self.count(&text[..n]) > max {
            n = super::floor_char_boundary(text, n - 1);
        }
        n
    }
}
