//! What the proxy does to a request body: plan the compressible blocks (policy), compress
//! each with the core pipeline to its share of the budget, and splice the results into
//! the original bytes (rewrite). Deterministic, and memoized by content hash, so an agent
//! that resends its history gets byte-identical rewrites (and prompt-cache hits).
//!
//! Two levels of memo: an LRU in this process, and optionally a [`SharedCache`] that the
//! replicas behind one load balancer share. A block's shared key names everything its
//! result depends on — pith version, the preset's full settings, the target tokenizer,
//! the budget, kind, query and text — so replicas only ever share identical work.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;

use super::policy::{self, Api, Block, Content, PolicyOptions};
pub use super::rewriter::{CacheStatus, Control};
use super::rewriter::{Rewrite, RewriteError, Rewriter};
use super::{budget, rewrite};
use crate::auto::{self, AutoPolicy, Family};
use crate::cache::{Kind, SharedCache};
use crate::models::ModelStore;
use crate::{Compressor, DocKind, Document, Input, Preset, TokenCounter};

/// How the engine compresses when a request does not say.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// What may be compressed.
    pub policy: PolicyOptions,
    /// Each block is compressed to its tokens divided by this, unless the request sets a
    /// budget or a ratio.
    pub default_ratio: f64,
    /// Preset for prose and JSON blocks, unless the request names one preset for all.
    pub prose_preset: String,
    /// Preset for code blocks, unless the request names one.
    pub code_preset: String,
    /// A token classifier that prunes words inside the prose every preset keeps.
    pub prune_model: Option<std::path::PathBuf>,
    /// Rewrites remembered (by content hash).
    pub memo_entries: usize,
    /// Bytes of remembered rewrites at most; the least recently used go first, and one
    /// larger than a sixteenth of this is not remembered at all (it would evict the many
    /// small ones an agent loop resends).
    pub memo_bytes: usize,
    /// Compressed blocks shared with other replicas, behind the memo.
    pub shared: Option<Arc<SharedCache>>,
    /// With the preset `auto`: how long embedding one block may be expected to take for
    /// the neural preset to run on it.
    pub neural_within: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            policy: PolicyOptions::default(),
            default_ratio: 2.0,
            prose_preset: "rag".into(),
            code_preset: "code".into(),
            prune_model: None,
            memo_entries: 4096,
            memo_bytes: 64 << 20,
            shared: None,
            neural_within: Duration::from_millis(500),
        }
    }
}

/// What a rewrite did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The rewritten body.
    pub body: Vec<u8>,
    /// Tokens of the compressed blocks before.
    pub tokens_before: usize,
    /// Tokens of the compressed blocks after.
    pub tokens_after: usize,
    /// Labels of the blocks that were compressed (`messages[3].content`).
    pub blocks: Vec<String>,
    /// The presets that ran, each once, in the order first used (`auto` resolved).
    pub presets: Vec<String>,
    /// Time the rewrite took.
    pub millis: f64,
}

/// The request could not be planned or a control value is invalid.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The body is not a request the policy understands.
    #[error("cannot read the request: {0}")]
    Policy(#[from] policy::PolicyError),
    /// `x-pith-preset` names no preset.
    #[error("{0}")]
    Preset(#[from] crate::preset::PresetError),
    /// `x-pith-ratio` is below 1.
    #[error("x-pith-ratio must be at least 1 (got {0})")]
    Ratio(f64),
    /// A preset's models cannot be loaded.
    #[error("{0}")]
    Build(#[from] crate::compress::BuildError),
}

type MemoKey = (u64, usize);

/// Remembered block rewrites, bounded both in entries and in bytes.
#[derive(Debug)]
struct Memo {
    lru: LruCache<MemoKey, Option<String>>,
    bytes: usize,
    budget: usize,
}

impl Memo {
    /// What an entry is charged: its text and a fixed overhead for key and links.
    fn cost(value: &Option<String>) -> usize {
        64 + value.as_ref().map_or(0, String::len)
    }

    fn get(&mut self, key: &MemoKey) -> Option<Option<String>> {
        self.lru.get(key).cloned()
    }

    fn put(&mut self, key: MemoKey, value: Option<String>) {
        let cost = Self::cost(&value);
        if cost > self.budget / 16 {
            return;
        }
        self.bytes += cost;
        // `push` hands back the entry it displaced: the old value of this key, or the
        // least recently used one when the entry count is full.
        if let Some((_, old)) = self.lru.push(key, value) {
            self.bytes = self.bytes.saturating_sub(Self::cost(&old));
        }
        while self.bytes > self.budget {
            match self.lru.pop_lru() {
                Some((_, old)) => self.bytes = self.bytes.saturating_sub(Self::cost(&old)),
                None => self.bytes = 0,
            }
        }
    }
}

/// A built compressor and the fingerprint of everything its output depends on.
#[derive(Debug, Clone)]
struct Built {
    compressor: Compressor,
    settings: [u8; 32],
}

/// The two keys of one block's result.
struct Keys {
    local: MemoKey,
    /// Only with a shared cache.
    shared: Option<[u8; 32]>,
}

/// Blocks looked up, by where their result came from.
#[derive(Debug, Default)]
struct Lookups([AtomicU64; 3]);

/// The proxy's compressor: shareable across requests and threads.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    counter: Arc<dyn TokenCounter>,
    compressors: Mutex<HashMap<String, Built>>,
    memo: Mutex<Memo>,
    lookups: Lookups,
    /// Where the presets' models are found, discovered once.
    models: ModelStore,
}

impl Engine {
    /// An engine counting in `counter`'s tokens.
    pub fn new(config: EngineConfig, counter: Arc<dyn TokenCounter>) -> Self {
        let entries = NonZeroUsize::new(config.memo_entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        let memo = Memo {
            lru: LruCache::new(entries),
            bytes: 0,
            budget: config.memo_bytes,
        };
        Self {
            config,
            counter,
            compressors: Mutex::default(),
            memo: Mutex::new(memo),
            lookups: Lookups::default(),
            models: ModelStore::discover(),
        }
    }

    /// Blocks whose result came from the memo, the shared cache, or was computed.
    pub fn lookups(&self, status: CacheStatus) -> u64 {
        self.lookups.0[status as usize].load(Ordering::Relaxed)
    }

    /// Bytes the memo holds now (its texts plus a fixed overhead per entry).
    pub fn memo_bytes(&self) -> usize {
        self.memo.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }

    /// The rewritten body, or `None` when nothing is to change (the original bytes are
    /// then forwarded as they are).
    pub fn rewrite(
        &self,
        api: Api,
        body: &[u8],
        control: &Control,
    ) -> Result<Option<Outcome>, EngineError> {
        self.rewrite_traced(api, body, control).map(|(o, _)| o)
    }

    /// [`Engine::rewrite`], and where the blocks' results came from (the worst of them;
    /// `None` when no block was looked up).
    pub fn rewrite_traced(
        &self,
        api: Api,
        body: &[u8],
        control: &Control,
    ) -> Result<(Option<Outcome>, Option<CacheStatus>), EngineError> {
        if control.bypass {
            return Ok((None, None));
        }
        if let Some(r) = control.ratio.filter(|r| !(*r >= 1.0 && r.is_finite())) {
            return Err(EngineError::Ratio(r));
        }
        // A request may name a built-in preset or a configured one, never a file.
        if let Some(p) = &control.preset {
            let known = Preset::builtin_names().any(|n| n == p)
                || p == auto::AUTO
                || *p == self.config.prose_preset
                || *p == self.config.code_preset;
            if !known {
                return Err(crate::preset::PresetError::Unknown(p.clone()).into());
            }
        }
        let start = Instant::now();
        let plan = policy::plan(api, body, &self.config.policy)?;
        if plan.blocks.is_empty() {
            return Ok((None, None));
        }
        let tokens: Vec<usize> = plan
            .blocks
            .iter()
            .map(|b| self.counter.count(&b.text))
            .collect();
        let budgets = self.block_budgets(api, &plan.blocks, &tokens, body, control);
        let mut prefetched = self.prefetch(&plan.blocks, &budgets, &tokens, control)?;
        let mut tokens_before = 0;
        let mut tokens_after = 0;
        let mut error = None;
        let mut cache: Option<CacheStatus> = None;
        let mut presets: Vec<String> = Vec::new();
        let rewritten = rewrite::apply(body, &plan, &mut |block, text| {
            let i = plan
                .blocks
                .iter()
                .position(|b| std::ptr::eq(b, block))
                .unwrap_or(0);
            // Whole blocks get their share of the budget; marked parts the ratio.
            let (before, budget) = if text.len() == block.text.len() {
                (tokens[i], budgets[i])
            } else {
                let before = self.counter.count(text);
                (before, self.ratio_budget(before, control))
            };
            let preset = self.preset_and_kind(block, before, control).0;
            if !presets.contains(&preset) {
                presets.push(preset);
            }
            match self.compress(block, text, before, budget, control, &mut prefetched) {
                Ok((status, out)) => {
                    // The request's status is its worst block's: hit < shared-hit < miss.
                    cache = cache.max(Some(status));
                    let out = out?;
                    tokens_before += before;
                    tokens_after += self.counter.count(&out);
                    Some(out)
                }
                Err(e) => {
                    error.get_or_insert(e);
                    None
                }
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        if rewritten.body == body {
            return Ok((None, cache));
        }
        Ok((
            Some(Outcome {
                body: rewritten.body,
                tokens_before,
                tokens_after,
                blocks: rewritten
                    .changed
                    .into_iter()
                    .map(|(label, _, _)| label)
                    .collect(),
                presets,
                millis: start.elapsed().as_secs_f64() * 1e3,
            }),
            cache,
        ))
    }

    fn ratio_budget(&self, tokens: usize, control: &Control) -> usize {
        (tokens as f64 / control.ratio.unwrap_or(self.config.default_ratio)).floor() as usize
    }

    /// Each block's budget: by ratio, or — with a total budget — as [`budget::split`]
    /// says, which never changes the budget of a block already in history.
    fn block_budgets(
        &self,
        api: Api,
        blocks: &[Block],
        tokens: &[usize],
        body: &[u8],
        control: &Control,
    ) -> Vec<usize> {
        match control.budget {
            Some(total) => budget::split(api, body, blocks, tokens, total, self.counter.as_ref()),
            None => tokens
                .iter()
                .map(|&t| self.ratio_budget(t, control))
                .collect(),
        }
    }

    /// The preset and document kind of a block of `tokens` tokens: the kind follows the
    /// content, the preset too unless the request names one; `auto` is resolved here.
    fn preset_and_kind(
        &self,
        block: &Block,
        tokens: usize,
        control: &Control,
    ) -> (String, DocKind) {
        let (default_preset, kind) = match block.content {
            Content::Json => (self.config.prose_preset.as_str(), DocKind::Json),
            Content::Code(Some(lang)) => (self.config.code_preset.as_str(), DocKind::Code(lang)),
            Content::Code(None) => (self.config.code_preset.as_str(), DocKind::Lines(None)),
            Content::Prose => (self.config.prose_preset.as_str(), DocKind::Prose),
            Content::Output(kind) => (self.config.prose_preset.as_str(), DocKind::Output(kind)),
        };
        let preset = control.preset.as_deref().unwrap_or(default_preset);
        if preset != auto::AUTO {
            return (preset.to_owned(), kind);
        }
        let policy = AutoPolicy::default().within(self.config.neural_within);
        let has_query = !block.query.trim().is_empty();
        let choice = auto::choose(Family::of(kind), tokens, has_query, &self.models, &policy);
        (choice.preset.to_owned(), kind)
    }

    fn keys(
        &self,
        block: &Block,
        text: &str,
        budget: usize,
        preset: &str,
        kind: DocKind,
    ) -> Result<Keys, EngineError> {
        let kind = format!("{kind:?}");
        let local = {
            let mut h = std::hash::DefaultHasher::new();
            (preset, &kind, text, &block.query, budget).hash(&mut h);
            (h.finish(), text.len())
        };
        let shared = match &self.config.shared {
            None => None,
            Some(_) => {
                // The preset's name is not enough: its settings (and a configured prune
                // model) are in the fingerprint, the version is in the server key.
                let settings = self.compressor(preset)?.settings;
                Some(crate::cache::digest(&[
                    &settings,
                    self.counter.name().as_bytes(),
                    &(budget as u64).to_le_bytes(),
                    kind.as_bytes(),
                    block.query.as_bytes(),
                    text.as_bytes(),
                ]))
            }
        };
        Ok(Keys { local, shared })
    }

    /// Asks the shared cache, in one round trip, for every whole block the memo does not
    /// hold. The answer maps each asked digest to what was found (`None`: nothing usable).
    fn prefetch(
        &self,
        blocks: &[Block],
        budgets: &[usize],
        tokens: &[usize],
        control: &Control,
    ) -> Result<HashMap<[u8; 32], Option<Option<String>>>, EngineError> {
        let Some(shared) = &self.config.shared else {
            return Ok(HashMap::new());
        };
        let mut asked = Vec::new();
        for ((block, &budget), &tokens) in blocks.iter().zip(budgets).zip(tokens) {
            let (preset, kind) = self.preset_and_kind(block, tokens, control);
            let keys = self.keys(block, &block.text, budget, &preset, kind)?;
            let held = self.memo_get(&keys.local).is_some();
            if let Some(digest) = keys.shared.filter(|_| !held) {
                asked.push(digest);
            }
        }
        asked.sort_unstable();
        asked.dedup();
        let found = shared.get_many(Kind::Block, &asked);
        Ok(asked
            .into_iter()
            .zip(found)
            .map(|(d, payload)| (d, payload.and_then(|p| decode(&p))))
            .collect())
    }

    fn memo_get(&self, key: &MemoKey) -> Option<Option<String>> {
        self.memo.lock().unwrap_or_else(|e| e.into_inner()).get(key)
    }

    fn count(&self, status: CacheStatus) -> CacheStatus {
        self.lookups.0[status as usize].fetch_add(1, Ordering::Relaxed);
        status
    }

    /// One block's text compressed to `budget`, memoized; `None` when it stays as it is.
    fn compress(
        &self,
        block: &Block,
        text: &str,
        tokens: usize,
        budget: usize,
        control: &Control,
        prefetched: &mut HashMap<[u8; 32], Option<Option<String>>>,
    ) -> Result<(CacheStatus, Option<String>), EngineError> {
        let (preset, kind) = self.preset_and_kind(block, tokens, control);
        let keys = self.keys(block, text, budget, &preset, kind)?;
        if let Some(hit) = self.memo_get(&keys.local) {
            return Ok((self.count(CacheStatus::Hit), hit));
        }
        if let (Some(shared), Some(digest)) = (&self.config.shared, keys.shared) {
            // Asked already (as a whole block) or now (a marked part).
            let found = match prefetched.remove(&digest) {
                Some(found) => found,
                None => shared.get(Kind::Block, &digest).and_then(|p| decode(&p)),
            };
            if let Some(result) = found {
                self.memo_put(keys.local, result.clone());
                return Ok((self.count(CacheStatus::SharedHit), result));
            }
        }
        let compressor = self.compressor(&preset)?.compressor;
        let input = Input::documents(vec![Document::new(text, kind)]).query(block.query.clone());
        let result = match compressor.compress(input, budget) {
            Ok(out) if out.text.len() < text.len() && !out.kept_nothing() => Some(out.text),
            // Not smaller, nothing but markers (no unit fitted the budget), or not even
            // the markers fit: leave the block as it was.
            _ => None,
        };
        self.memo_put(keys.local, result.clone());
        if let (Some(shared), Some(digest)) = (&self.config.shared, keys.shared) {
            shared.put(Kind::Block, &digest, &encode(&result));
        }
        Ok((self.count(CacheStatus::Miss), result))
    }

    fn memo_put(&self, key: MemoKey, value: Option<String>) {
        self.memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(key, value);
    }

    fn compressor(&self, preset: &str) -> Result<Built, EngineError> {
        let mut map = self.compressors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(preset) {
            return Ok(c.clone());
        }
        let mut resolved = Preset::resolve(preset)?;
        // Selective augmentation would drop a whole tool result whose producing call
        // does not look like it (`read_file {"path": …}`): the proxy never loses a
        // block, it only compresses it.
        resolved.select.selective_threshold = None;
        if let Some(model) = &self.config.prune_model {
            resolved = resolved.with_prune_model(model.clone());
        }
        let settings = crate::cache::digest(&[serde_json::to_string(&resolved)
            .unwrap_or_default()
            .as_bytes()]);
        let compressor = Compressor::builder()
            .preset(resolved)
            .shared_counter(self.counter.clone())
            .models(self.models.clone())
            .try_build()?;
        let built = Built {
            compressor,
            settings,
        };
        map.insert(preset.to_owned(), built.clone());
        Ok(built)
    }

    /// The memo's and the shared cache's counters in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let name = "pith_cache_blocks_total";
        let _ = writeln!(
            out,
            "# HELP {name} Compressed blocks by where their result came from (hit: this replica's memo, shared_hit: the shared cache, miss: computed).\n# TYPE {name} counter"
        );
        for status in CacheStatus::ALL {
            let label = status.label().replace('-', "_");
            let _ = writeln!(out, "{name}{{result=\"{label}\"}} {}", self.lookups(status));
        }
        if let Some(shared) = &self.config.shared {
            out.push_str(&shared.render_metrics());
        }
        #[cfg(feature = "neural")]
        {
            let name = "pith_embed_forward_passes_total";
            let _ = writeln!(
                out,
                "# HELP {name} Forward passes of the sentence embedder, by model.\n# TYPE {name} counter"
            );
            for e in crate::neural::shared::loaded_embedders() {
                let _ = writeln!(
                    out,
                    "{name}{{model=\"{}\"}} {}",
                    e.name(),
                    e.stats().batches
                );
            }
        }
        out
    }
}

/// A block's result as stored: a tag byte (0: left as it was, 1: compressed) and the text.
fn encode(result: &Option<String>) -> Vec<u8> {
    match result {
        None => vec![0],
        Some(text) => {
            let mut v = Vec::with_capacity(text.len() + 1);
            v.push(1);
            v.extend_from_slice(text.as_bytes());
            v
        }
    }
}

fn decode(payload: &[u8]) -> Option<Option<String>> {
    match payload.split_first()? {
        (0, []) => Some(None),
        (1, text) => String::from_utf8(text.to_vec()).ok().map(Some),
        _ => None,
    }
}

impl Rewriter for Engine {
    fn rewrite(
        &self,
        api: Api,
        control: &Control,
        headers: &axum::http::HeaderMap,
        body: &bytes::Bytes,
    ) -> Result<Option<Rewrite>, RewriteError> {
        Rewriter::rewrite_traced(self, api, control, headers, body).map(|(r, _)| r)
    }

    fn rewrite_traced(
        &self,
        api: Api,
        control: &Control,
        _headers: &axum::http::HeaderMap,
        body: &bytes::Bytes,
    ) -> Result<(Option<Rewrite>, Option<CacheStatus>), RewriteError> {
        let (outcome, cache) =
            Engine::rewrite_traced(self, api, body, control).map_err(|e| match e {
                // What the client sent: retrying the same request cannot help.
                EngineError::Policy(_) | EngineError::Ratio(_) | EngineError::Preset(_) => {
                    RewriteError::Invalid(e.to_string())
                }
                EngineError::Build(_) => RewriteError::Failed(e.to_string()),
            })?;
        let rewrite = outcome.map(|o| Rewrite {
            body: bytes::Bytes::from(o.body),
            tokens_before: o.tokens_before,
            tokens_after: o.tokens_after,
            blocks: o.blocks,
            presets: o.presets,
        });
        Ok((rewrite, cache))
    }

    fn render_metrics(&self) -> String {
        Engine::render_metrics(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memo(entries: usize, budget: usize) -> Memo {
        Memo {
            lru: LruCache::new(NonZeroUsize::new(entries).unwrap_or(NonZeroUsize::MIN)),
            bytes: 0,
            budget,
        }
    }

    #[test]
    fn memo_stays_within_its_byte_budget_and_skips_large_entries() {
        let mut m = memo(1000, 16_000);
        for i in 0..100 {
            m.put((i, 0), Some("x".repeat(900)));
            assert!(m.bytes <= 16_000, "{} bytes after {i}", m.bytes);
        }
        // The charge is exactly what is held: recount it from the entries.
        let held: usize = m.lru.iter().map(|(_, v)| Memo::cost(v)).sum();
        assert_eq!(m.bytes, held);
        assert!(m.get(&(99, 0)).is_some() && m.get(&(0, 0)).is_none());
        // Over a sixteenth of the budget: not remembered.
        m.put((500, 0), Some("y".repeat(1000)));
        assert!(m.get(&(500, 0)).is_none());
        // Replacing a key charges only the new value.
        let before = m.bytes;
        m.put((99, 0), Some("z".repeat(800)));
        assert_eq!(m.bytes, before - 100);
        assert_eq!(m.get(&(99, 0)), Some(Some("z".repeat(800))));
    }

    #[test]
    fn memo_entry_count_bound_releases_bytes() {
        let mut m = memo(2, 1 << 20);
        for i in 0..5 {
            m.put((i, 0), None);
        }
        assert_eq!(m.lru.len(), 2);
        assert_eq!(m.bytes, 2 * Memo::cost(&None));
    }
}
