//! The best affordable preset for an input: the neural one when its embedder is installed
//! and the input can be embedded within a time limit, the lexical one otherwise.
//!
//! The neural presets keep far more of what a question needs (BENCHMARKS.md: NQ-20 at 4x,
//! 98% against 82% answer recall) but cost an embedding of every unit they score. The
//! choice is made before any model is loaded — from whether the model files are present
//! and an estimate of the embedding time — so choosing is as cheap as a lexical run, and
//! the same input always gets the same preset (the proxy's caches rely on that).

use std::fmt;
use std::time::Duration;

use crate::DocKind;
use crate::models::ModelStore;

/// The name that asks for the automatic choice wherever a preset name is taken.
pub const AUTO: &str = "auto";

/// What an input is, as far as the choice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Prose, retrieved documents, chat: `rag-neural` or `rag`.
    Prose,
    /// Source code and repositories: `code-neural` or `code`.
    Code,
    /// Tool output and JSON: always lexical. Their scorers read what lines say (errors,
    /// failures, summaries) and keep exact identifiers; a sentence embedder adds nothing
    /// measured there.
    Lexical,
}

impl Family {
    /// The family of one document kind.
    pub fn of(kind: DocKind) -> Self {
        match kind {
            DocKind::Code(_) | DocKind::Lines(_) => Family::Code,
            DocKind::Prose | DocKind::Whole => Family::Prose,
            DocKind::Json | DocKind::Output(_) => Family::Lexical,
        }
    }

    /// The lexical preset of this family.
    pub fn lexical(self) -> &'static str {
        match self {
            Family::Prose | Family::Lexical => "rag",
            Family::Code => "code",
        }
    }

    /// The neural preset of this family, if it has one.
    pub fn neural(self) -> Option<&'static str> {
        match self {
            Family::Prose => Some("rag-neural"),
            Family::Code => Some("code-neural"),
            Family::Lexical => None,
        }
    }
}

/// When the neural preset is affordable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoPolicy {
    /// Longest the embedding of an input may take for the neural preset to run.
    pub within: Duration,
    /// Input tokens the embedder gets through per second on this machine. The default is
    /// what `cargo bench --bench neural` measures for `rag-neural` on 2 cores.
    pub tokens_per_second: f64,
}

impl Default for AutoPolicy {
    fn default() -> Self {
        Self {
            within: Duration::from_secs(2),
            tokens_per_second: 5_000.0,
        }
    }
}

impl AutoPolicy {
    /// This policy with another time limit.
    pub fn within(mut self, within: Duration) -> Self {
        self.within = within;
        self
    }

    /// How long embedding `tokens` input tokens is expected to take.
    pub fn estimate(&self, tokens: usize) -> Duration {
        let rate = if self.tokens_per_second > 0.0 {
            self.tokens_per_second
        } else {
            f64::MIN_POSITIVE
        };
        Duration::try_from_secs_f64(tokens as f64 / rate).unwrap_or(Duration::MAX)
    }
}

/// Why a preset was chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// The embedder is installed and the input embeds within the limit.
    Affordable {
        /// Expected embedding time.
        estimate: Duration,
        /// The policy's limit.
        within: Duration,
    },
    /// Relevance needs a query; without one both presets rank by the text alone and the
    /// lexical one does it without a model.
    NoQuery,
    /// The input's kind is always compressed lexically.
    LexicalKind,
    /// The embedder or the runtime is not installed (or damaged): the store's message.
    NotInstalled(String),
    /// The input would take too long to embed.
    TooLarge {
        /// Expected embedding time.
        estimate: Duration,
        /// The policy's limit.
        within: Duration,
    },
}

/// The chosen preset and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// A built-in preset's name.
    pub preset: &'static str,
    /// Why it was chosen.
    pub reason: Reason,
}

impl Choice {
    /// Whether the neural preset was chosen.
    pub fn is_neural(&self) -> bool {
        matches!(self.reason, Reason::Affordable { .. })
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: &Duration| d.as_secs_f64();
        write!(f, "{} (", self.preset)?;
        match &self.reason {
            Reason::Affordable { estimate, within } => write!(
                f,
                "embedding estimated at {:.2} s, within {:.2} s",
                secs(estimate),
                secs(within)
            )?,
            Reason::NoQuery => write!(f, "no query: relevance needs no model")?,
            Reason::LexicalKind => write!(f, "tool output and JSON are compressed lexically")?,
            Reason::NotInstalled(why) => write!(f, "embedder not available: {why}")?,
            Reason::TooLarge { estimate, within } => write!(
                f,
                "embedding estimated at {:.2} s, over {:.2} s",
                secs(estimate),
                secs(within)
            )?,
        }
        write!(f, ")")
    }
}

/// The preset for an input of `family` and `tokens` input tokens. The time estimate
/// counts what the neural preset embeds ([`crate::Preset::embedded_tokens`]): all of a
/// document for `rag-neural`, a shortlist for `code-neural`.
///
/// Only file presence is checked (no model is loaded); a model that is present but
/// fails to load is reported by the compressor's builder as for any named preset.
pub fn choose(
    family: Family,
    tokens: usize,
    has_query: bool,
    store: &ModelStore,
    policy: &AutoPolicy,
) -> Choice {
    let lexical = |reason| Choice {
        preset: family.lexical(),
        reason,
    };
    let Some(neural) = family.neural() else {
        return lexical(Reason::LexicalKind);
    };
    if !has_query {
        return lexical(Reason::NoQuery);
    }
    if let Err(e) = embedder_installed(store) {
        return lexical(Reason::NotInstalled(e));
    }
    // A cascading preset embeds only its shortlist, whatever the input's size.
    let embedded = crate::Preset::named(neural).map_or(tokens, |p| p.embedded_tokens(tokens));
    let estimate = policy.estimate(embedded);
    if estimate > policy.within {
        return lexical(Reason::TooLarge {
            estimate,
            within: policy.within,
        });
    }
    Choice {
        preset: neural,
        reason: Reason::Affordable {
            estimate,
            within: policy.within,
        },
    }
}

/// Whether the neural presets' embedder and the runtime are present, else why not.
fn embedder_installed(store: &ModelStore) -> Result<(), String> {
    // Both neural presets name the same embedder; read it from one of them so the check
    // follows the presets.
    let embedder = crate::Preset::named("rag-neural")
        .map(|p| p.score.embedder)
        .map_err(|e| e.to_string())?;
    store.locate(&embedder).map_err(|e| e.to_string())?;
    store.runtime_library().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_store() -> (tempfile::TempDir, ModelStore) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = ModelStore::at(dir.path());
        (dir, store)
    }

    #[test]
    fn families_follow_the_kind() {
        assert_eq!(Family::of(DocKind::Prose), Family::Prose);
        assert_eq!(Family::of(DocKind::Code(crate::Lang::Rust)), Family::Code);
        assert_eq!(Family::of(DocKind::Json), Family::Lexical);
        assert_eq!(Family::Lexical.neural(), None);
    }

    #[test]
    fn without_models_the_choice_is_lexical_and_says_why() {
        let (_dir, store) = empty_store();
        let c = choose(Family::Prose, 100, true, &store, &AutoPolicy::default());
        assert_eq!(c.preset, "rag");
        assert!(matches!(c.reason, Reason::NotInstalled(_)), "{c:?}");
        assert!(c.to_string().contains("pith models install"), "{c}");
        let c = choose(Family::Code, 100, false, &store, &AutoPolicy::default());
        assert_eq!((c.preset, c.reason), ("code", Reason::NoQuery));
        let c = choose(Family::Lexical, 1, true, &store, &AutoPolicy::default());
        assert_eq!((c.preset, c.reason), ("rag", Reason::LexicalKind));
    }

    #[test]
    fn the_estimate_grows_with_the_input_and_never_overflows() {
        let p = AutoPolicy::default();
        assert_eq!(p.estimate(5_000), Duration::from_secs(1));
        assert!(p.estimate(10_000) > p.estimate(5_000));
        let zero = AutoPolicy {
            tokens_per_second: 0.0,
            ..p
        };
        assert_eq!(zero.estimate(1), Duration::MAX);
    }

    #[test]
    fn a_shortlist_bounds_what_is_estimated() {
        let code = crate::Preset::named("code-neural").expect("built in");
        let rag = crate::Preset::named("rag-neural").expect("built in");
        assert_eq!(rag.embedded_tokens(1_000_000), 1_000_000);
        assert_eq!(code.embedded_tokens(100), 100);
        let bound = code.embedded_tokens(1_000_000);
        assert!(bound < 1_000_000 && bound == code.embedded_tokens(10_000_000));
        let mut capped = rag.clone();
        capped.score.shortlist_tokens = Some(3_000);
        assert_eq!(capped.embedded_tokens(1_000_000), 3_000);
    }
}
