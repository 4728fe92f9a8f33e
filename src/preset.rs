//! Presets: named, serializable pipeline settings, kept as TOML files in `compressors/`.
//!
//! The built-in presets are compiled in, so the binary works from anywhere; a path to a
//! TOML file of the same shape selects a user's own. Unknown keys are errors, so a typo
//! never silently falls back to a default.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Built-in presets: name and TOML source.
const BUILTIN: [(&str, &str); 8] = [
    ("code", include_str!("../compressors/code.toml")),
    ("rag", include_str!("../compressors/rag.toml")),
    ("chat", include_str!("../compressors/chat.toml")),
    (
        "code-neural",
        include_str!("../compressors/code-neural.toml"),
    ),
    ("rag-neural", include_str!("../compressors/rag-neural.toml")),
    ("rag-prune", include_str!("../compressors/rag-prune.toml")),
    ("code-lm", include_str!("../compressors/code-lm.toml")),
    ("rag-lm", include_str!("../compressors/rag-lm.toml")),
];

/// A preset could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// Neither a built-in name nor a path to a TOML file.
    #[error(
        "unknown preset {0:?} (built in: code, rag, chat, code-neural, rag-neural, rag-prune, code-lm, rag-lm; or give a path to a .toml file)"
    )]
    Unknown(String),
    /// The preset file could not be read.
    #[error("cannot read preset {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The read error.
        source: std::io::Error,
    },
    /// The TOML does not parse, or a value is out of range.
    #[error("invalid preset {name}: {message}")]
    Invalid {
        /// The preset's name or path.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole pipeline configuration. Get one by name ([`Preset::named`]) or from TOML
/// ([`Preset::from_toml`]) and edit its fields; builders validate it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Preset {
    /// One line on what the preset is for.
    #[serde(default)]
    pub description: String,
    /// How units are valued.
    #[serde(default)]
    pub score: ScoreConfig,
    /// How units are chosen under the budget.
    #[serde(default)]
    pub select: SelectConfig,
    /// How documents are cut into units.
    #[serde(default)]
    pub segment: SegmentConfig,
    /// What replaces dropped text.
    #[serde(default)]
    pub render: RenderConfig,
    /// LLMLingua-2 token pruning after coarse selection. Absent: whole units only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneConfig>,
    /// Ranking by a causal LM's contrastive perplexity (LongCodeZip, LongLLMLingua).
    /// Absent: the scores above alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lm: Option<LmRankConfig>,
}

/// Ranking by how much a unit or document lowers the perplexity of the query under a
/// causal LM: PPL(q) − PPL(q | context).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmRankConfig {
    /// The installed causal LM (`pith models install smollm2`).
    #[serde(default = "default_lm")]
    pub model: String,
    /// What the LM ranks.
    pub rank: LmRank,
    /// LM tokens one query may score: the cascade's time budget. Units (documents) are
    /// shortlisted by the scores above, best first, until their tokens reach this.
    #[serde(default = "default_shortlist_tokens")]
    pub shortlist_tokens: usize,
    /// Documents: LongLLMLingua's dynamic ratio δτ. With overall keep rate τ, the
    /// document ranked r of n keeps at most τ + δτ·(1 − 2r/(n−1)) of its tokens.
    #[serde(default = "default_rank_spread")]
    pub rank_spread: f64,
    /// Documents: put them in order of rank in the output (LongLLMLingua's reorder).
    #[serde(default)]
    pub reorder: bool,
    /// Units: LongCodeZip's fine stage, pruning blocks of lines inside kept functions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine: Option<FineConfig>,
}

/// LongCodeZip's fine stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FineConfig {
    /// Share of the kept functions' tokens the fine stage keeps: coarse selection aims
    /// at budget / rate, block pruning brings it down to the budget.
    #[serde(default = "default_fine_rate")]
    pub rate: f64,
    /// A line starts a new block when its surprisal is a local peak above the
    /// function's mean by this many standard deviations.
    #[serde(default = "default_spike_sigma")]
    pub spike_sigma: f64,
}

/// What a causal LM ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LmRank {
    /// Units (functions, sentences): their values follow the LM's gain (LongCodeZip).
    Units,
    /// Whole documents: budget shares by rank (LongLLMLingua's coarse step).
    Documents,
}

/// The causal LM presets use when they name none.
pub const DEFAULT_LM: &str = "smollm2";

fn default_lm() -> String {
    DEFAULT_LM.into()
}
fn default_shortlist_tokens() -> usize {
    6000
}
fn default_rank_spread() -> f64 {
    0.3
}
fn default_fine_rate() -> f64 {
    0.6
}
fn default_spike_sigma() -> f64 {
    0.5
}

/// Word-level pruning inside the prose units that coarse selection keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneConfig {
    /// The token classifier: a folder with `model.onnx` and `tokenizer.json`. Absent here,
    /// it comes from the caller (`--model`, the builder, `PITH_PRUNE_MODEL`); with none
    /// anywhere, the installed causal LM prunes by surprisal.
    #[serde(default)]
    pub model: Option<std::path::PathBuf>,
    /// Share of the coarse selection's prose tokens the pruner keeps: coarse selection
    /// aims at budget / rate, pruning brings it down to the budget.
    #[serde(default = "default_prune_rate")]
    pub rate: f64,
    /// Sub-word → word score: `mean`, `first` or (surprisal only) `sum`; absent: the
    /// model's own (`mean` for a classifier, `sum` for surprisal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word_prob: Option<WordProb>,
    /// Patterns kept or dropped whole (absent: identifiers, numbers, URLs, paths, code, names).
    #[serde(default)]
    pub protect: Option<Vec<String>>,
    /// Words always kept.
    #[serde(default)]
    pub force_tokens: Vec<String>,
    /// Words with a digit always kept.
    #[serde(default)]
    pub force_digits: bool,
}

fn default_prune_rate() -> f64 {
    0.5
}

impl Default for PruneConfig {
    fn default() -> Self {
        Self {
            model: None,
            rate: default_prune_rate(),
            word_prob: None,
            protect: None,
            force_tokens: Vec::new(),
            force_digits: false,
        }
    }
}

/// How sub-word scores become a word's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WordProb {
    /// The mean over the word's pieces (the reference default, a classifier's).
    #[default]
    Mean,
    /// The first piece's score.
    First,
    /// The sum over the pieces: under a causal LM, the word's whole self-information
    /// −log p(word | before) (Selective Context); surprisal pruning's default. Not for a
    /// classifier, whose probabilities do not add up.
    Sum,
}

/// Which scorer gives relevance to a query, and which values units when there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreConfig {
    /// The scorer of relevance to a query.
    pub relevance: Relevance,
    /// How units are valued without a query.
    pub query_less: QueryLess,
    /// BM25 term-frequency saturation (default 1.2).
    #[serde(default = "default_k1")]
    pub bm25_k1: f64,
    /// BM25 length normalisation (default 0.75).
    #[serde(default = "default_b")]
    pub bm25_b: f64,
    /// The installed embedding model that `embedding` and `hybrid` relevance use.
    #[serde(default = "default_embedder")]
    pub embedder: String,
    /// Share of the embedding signal in `hybrid` relevance (the rest is BM25).
    #[serde(default = "default_hybrid_weight")]
    pub hybrid_weight: f64,
    /// Code: each function is worth at least this share of its neighbouring functions'
    /// values (the ones before and after it in its file). A question that one function's
    /// doc answers word for word often means its sibling (`about` / `long_about`,
    /// `include` / `exclude`), whose own code shares few of the question's words.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub neighbour_share: f64,
    /// The cascade: embed only this many units, those the lexical values rank highest;
    /// the rest keep lexical values below them. Absent: every unit is embedded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortlist: Option<usize>,
    /// The cascade: embed units, best lexical value first, only until their tokens
    /// reach this. Absent: no token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortlist_tokens: Option<usize>,
    /// Embed only the first window (the embedder's `max_length` tokens) of a long unit,
    /// not all its windows: a function's signature and docstring say what it is for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub embed_first_window: bool,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn default_embedder() -> String {
    "minilm".into()
}
fn default_hybrid_weight() -> f64 {
    0.5
}

fn default_k1() -> f64 {
    1.2
}
fn default_b() -> f64 {
    0.75
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            relevance: Relevance::Bm25,
            query_less: QueryLess::SelfInformation,
            bm25_k1: default_k1(),
            bm25_b: default_b(),
            embedder: default_embedder(),
            hybrid_weight: default_hybrid_weight(),
            neighbour_share: 0.0,
            shortlist: None,
            shortlist_tokens: None,
            embed_first_window: false,
        }
    }
}

/// How relevance to a query is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relevance {
    /// Lexical: BM25 with code-aware terms. Needs no model.
    Bm25,
    /// Cosine similarity of sentence embeddings to the query.
    Embedding,
    /// A weighted sum of both, each scaled to 0..=1.
    Hybrid,
}

impl Relevance {
    /// Whether this relevance needs the embedding model.
    pub fn needs_embedder(self) -> bool {
        !matches!(self, Relevance::Bm25)
    }
}

/// How units are valued when there is no query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryLess {
    /// Self-information of the unit's terms across the input: rare content is worth more.
    SelfInformation,
}

/// How units are chosen under the budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectConfig {
    /// The selection algorithm.
    pub method: SelectMethod,
    /// Weight of the redundancy penalty in marginal information gain (0 = none).
    #[serde(default)]
    pub redundancy: f64,
    /// Relative error bound of the knapsack approximation on large inputs.
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    /// How redundancy between units is measured.
    #[serde(default)]
    pub similarity: SimilarityKind,
    /// Embedding similarity below this counts as no redundancy at all: related sentences
    /// of one text are not repeats (scaled so the floor maps to 0 and 1 to 1).
    #[serde(default = "default_similarity_floor")]
    pub similarity_floor: f64,
    /// COMI's coarse step: documents get budget shares ∝ softmax(group MIG / this
    /// temperature) before units are chosen inside them. Absent: one global selection.
    #[serde(default)]
    pub group_temperature: Option<f64>,
    /// RECOMP's selective augmentation: when no unit's embedding similarity to the
    /// query reaches this, the output is empty (and says so). Absent: always fill.
    #[serde(default)]
    pub selective_threshold: Option<f64>,
}

fn default_similarity_floor() -> f64 {
    0.5
}

/// How redundancy between units is measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimilarityKind {
    /// Word-shingle Jaccard, estimated by MinHash. Needs no model.
    #[default]
    Minhash,
    /// Cosine of sentence embeddings.
    Embedding,
}

fn default_epsilon() -> f64 {
    0.05
}

impl Default for SelectConfig {
    fn default() -> Self {
        Self {
            method: SelectMethod::Mig,
            redundancy: 0.3,
            epsilon: default_epsilon(),
            similarity: SimilarityKind::Minhash,
            similarity_floor: default_similarity_floor(),
            group_temperature: None,
            selective_threshold: None,
        }
    }
}

/// The selection algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectMethod {
    /// Greedy marginal information gain (relevance minus redundancy).
    Mig,
    /// 0/1 knapsack on value and token cost.
    Knapsack,
}

/// How documents are cut into units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// Prose unit: sentences, or whole paragraphs.
    pub prose: ProseUnit,
    /// Most lines in one block of a file without a grammar.
    pub max_block_lines: usize,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        Self {
            prose: ProseUnit::Sentence,
            max_block_lines: 40,
        }
    }
}

/// The unit prose is cut into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProseUnit {
    /// Sentences; headings, fences and tables are units of their own.
    Sentence,
    /// Consecutive sentences up to a blank line.
    Paragraph,
}

/// What replaces dropped text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderConfig {
    /// Replaces each run of dropped prose (default `[…]`); code gets comment markers.
    pub prose_marker: String,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            prose_marker: "[…]".into(),
        }
    }
}

impl Default for Preset {
    fn default() -> Self {
        // The `code` preset is the default: it is the one every other is a variation of.
        Self::named("code").unwrap_or_else(|_| Self {
            description: String::new(),
            score: ScoreConfig::default(),
            select: SelectConfig::default(),
            segment: SegmentConfig::default(),
            render: RenderConfig::default(),
            prune: None,
            lm: None,
        })
    }
}

/// Tokens in one window of the default embedder (MiniLM's `max_length`): the most one
/// unit costs under `embed_first_window`. Model tokens run a little longer than the
/// target's, so as a bound in target tokens it errs on the expensive side.
const FIRST_WINDOW_TOKENS: usize = 256;

impl Preset {
    /// Whether this preset needs the embedding model (relevance or similarity).
    pub fn needs_embedder(&self) -> bool {
        self.score.relevance.needs_embedder()
            || self.select.similarity == SimilarityKind::Embedding
            || self.select.selective_threshold.is_some()
    }

    /// At most how many of an input's `tokens` this preset embeds: all of them, unless
    /// the cascade's shortlist bounds it (`shortlist_tokens`, or `shortlist` units of one
    /// first window each). What `auto` estimates the embedding time from.
    pub fn embedded_tokens(&self, tokens: usize) -> usize {
        let score = &self.score;
        let mut bound = tokens;
        if let Some(cap) = score.shortlist_tokens {
            bound = bound.min(cap);
        }
        if let (Some(units), true) = (score.shortlist, score.embed_first_window) {
            bound = bound.min(units.saturating_mul(FIRST_WINDOW_TOKENS));
        }
        bound
    }

    /// This preset with word pruning by the classifier in `model`, keeping its own
    /// `[prune]` settings when it has them.
    pub fn with_prune_model(mut self, model: std::path::PathBuf) -> Self {
        let mut prune = self.prune.take().unwrap_or_default();
        prune.model = Some(model);
        self.prune = Some(prune);
        self
    }

    /// Names of the built-in presets.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(n, _)| *n)
    }

    /// A built-in preset by name.
    pub fn named(name: &str) -> Result<Self, PresetError> {
        let (_, src) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| PresetError::Unknown(name.into()))?;
        Self::from_toml(name, src)
    }

    /// A built-in name, or else a path to a TOML file.
    pub fn resolve(name_or_path: &str) -> Result<Self, PresetError> {
        if BUILTIN.iter().any(|(n, _)| *n == name_or_path) {
            return Self::named(name_or_path);
        }
        let path = Path::new(name_or_path);
        if path.extension().is_some_and(|e| e == "toml") || path.exists() {
            let src = std::fs::read_to_string(path).map_err(|source| PresetError::Io {
                path: name_or_path.into(),
                source,
            })?;
            return Self::from_toml(name_or_path, &src);
        }
        Err(PresetError::Unknown(name_or_path.into()))
    }

    /// Checks every setting is in range. [`Preset::from_toml`] (and so every named or
    /// file preset) does this; [`crate::CompressorBuilder::try_build`] does it again for a
    /// preset built or edited in code.
    pub fn validate(&self) -> Result<(), PresetError> {
        let name = if self.description.is_empty() {
            "(built in code)"
        } else {
            self.description.as_str()
        };
        self.validate_as(name)
    }

    fn validate_as(&self, name: &str) -> Result<(), PresetError> {
        let invalid = |message: String| PresetError::Invalid {
            name: name.into(),
            message,
        };
        if !(0.0..=10.0).contains(&self.select.redundancy) {
            return Err(invalid("select.redundancy must be within 0..=10".into()));
        }
        if !(self.select.epsilon > 0.0 && self.select.epsilon < 1.0) {
            return Err(invalid("select.epsilon must be within (0, 1)".into()));
        }
        if !(0.0..=1.0).contains(&self.score.hybrid_weight) {
            return Err(invalid("score.hybrid_weight must be within 0..=1".into()));
        }
        if !(0.0..=1.0).contains(&self.score.neighbour_share) {
            return Err(invalid("score.neighbour_share must be within 0..=1".into()));
        }
        let score = &self.score;
        let cascade = [
            ("score.shortlist", score.shortlist.is_some()),
            ("score.shortlist_tokens", score.shortlist_tokens.is_some()),
            ("score.embed_first_window", score.embed_first_window),
        ];
        if let Some((key, _)) = cascade.iter().find(|(_, set)| *set)
            && !self.needs_embedder()
        {
            return Err(invalid(format!(
                "{key} applies only to presets that embed (score.relevance embedding or hybrid, select.similarity embedding, or select.selective_threshold)"
            )));
        }
        if score.shortlist == Some(0) || score.shortlist_tokens == Some(0) {
            return Err(invalid(
                "score.shortlist and score.shortlist_tokens must be at least 1".into(),
            ));
        }
        if !(0.0..1.0).contains(&self.select.similarity_floor) {
            return Err(invalid(
                "select.similarity_floor must be within 0..1".into(),
            ));
        }
        if self
            .select
            .group_temperature
            .is_some_and(|t| !(t > 0.0 && t.is_finite()))
        {
            return Err(invalid("select.group_temperature must be positive".into()));
        }
        if self
            .select
            .selective_threshold
            .is_some_and(|t| !(-1.0..=1.0).contains(&t))
        {
            return Err(invalid(
                "select.selective_threshold must be within -1..=1".into(),
            ));
        }
        if let Some(p) = &self.prune
            && !(p.rate > 0.0 && p.rate <= 1.0)
        {
            return Err(invalid("prune.rate must be within (0, 1]".into()));
        }
        if let Some(lm) = &self.lm {
            if lm.shortlist_tokens == 0 {
                return Err(invalid("lm.shortlist_tokens must be at least 1".into()));
            }
            if !(0.0..=1.0).contains(&lm.rank_spread) {
                return Err(invalid("lm.rank_spread must be within 0..=1".into()));
            }
            if let Some(f) = &lm.fine {
                if !(f.rate > 0.0 && f.rate <= 1.0) {
                    return Err(invalid("lm.fine.rate must be within (0, 1]".into()));
                }
                if !(f.spike_sigma.is_finite() && f.spike_sigma >= 0.0) {
                    return Err(invalid("lm.fine.spike_sigma must be 0 or more".into()));
                }
            }
        }
        if self.segment.max_block_lines == 0 {
            return Err(invalid("segment.max_block_lines must be at least 1".into()));
        }
        Ok(())
    }

    /// Parses and validates a preset.
    pub fn from_toml(name: &str, src: &str) -> Result<Self, PresetError> {
        let invalid = |message: String| PresetError::Invalid {
            name: name.into(),
            message,
        };
        let preset: Preset = toml::from_str(src).map_err(|e| invalid(e.to_string()))?;
        preset.validate_as(name)?;
        Ok(preset)
    }
}
