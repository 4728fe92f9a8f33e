#!/usr/bin/env python3
"""Tiny LLMLingua-2 token classifiers + golden outputs of Microsoft's llmlingua on them.

pith re-implements `PromptCompressor.compress_prompt_llmlingua2` (PyPI llmlingua==0.2.2) in Rust
over ONNX Runtime. Its parity tests need real models of both families llmlingua supports, small
enough to commit, and the exact outputs the Python package produces on exactly those weights.

Run from the repository root (needs no network: tiktoken reads its cached BPE files and nothing
is fetched from a model hub):

    TIKTOKEN_CACHE_DIR=../shared/tiktoken_cache HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
        $VENV/bin/python scripts/lingua_fixtures.py [--eval-dir ../shared/eval]

$VENV holds torch, transformers 5, tokenizers, onnx, onnxruntime==1.31.1, tiktoken, accelerate and
llmlingua 0.2.2 (see ../shared/anchors/README.md for a set-up that works offline; a one-off step,
not for CI: the committed fixtures need none of it).

What it does
  1. Trains two ~3000-entry tokenizers on the needle-in-a-haystack essays (plus one accented/CJK
     line, so some non-ASCII is in the vocabulary and some is not): a cased WordPiece one
     (mBERT style) and a SentencePiece-style Unigram one (XLM-R style). The trainers are not
     deterministic, so when the fixture folder already holds a tokenizer.json its base vocabulary
     is reused (byte-identical regeneration); --retrain-tokenizers trains afresh.
  2. Builds a random-weight BertForTokenClassification and XLMRobertaForTokenClassification
     (hidden 32, 2 layers, 2 heads), with weights scaled up so keep probabilities spread over
     roughly 0.05..0.95 instead of all sitting near 0.5, and saves each to a temp folder whose
     name contains the string llmlingua keys its word rule on.
  3. Loads each with `PromptCompressor(folder, device_map="cpu", use_llmlingua2=True)`, which
     adds the 100 [NEWi] tokens and resizes the embeddings (seeded), and exports *that* model to
     ONNX (optimum-like names, dynamic batch/sequence, opset 17), checked against torch.
  4. Runs the real `compress_prompt_llmlingua2` on ~11 cases per model and records its result
     and internals (chunks, word probabilities, thresholds) by wrapping llmlingua's own private
     methods and the module's numpy.percentile: nothing of the algorithm is re-implemented here.

Output: tests/fixtures/lingua/{bert,xlmr}/{model.onnx,tokenizer.json,tokenizer_config.json,
config.json} and tests/fixtures/lingua/goldens.json. See tests/fixtures/lingua/README.md.
"""
import argparse
import copy
import glob
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if "TIKTOKEN_CACHE_DIR" not in os.environ:
    sys.exit("set TIKTOKEN_CACHE_DIR to the folder with the cached cl100k BPE file (see the docstring)")

import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SEED_WEIGHTS = {"bert": 1234, "xlmr": 5678}
HIDDEN, LAYERS, HEADS, INTERMEDIATE = 32, 2, 2, 64
VOCAB = 3000
# Init std and classifier gain: with std 0.02 (the default) every logit pair is ~equal and
# p_keep ~0.5 everywhere; these values put p_keep over ~0.05..0.95 (printed at run time).
INIT_RANGE = 0.3
CLASSIFIER_GAIN = {"bert": 2.0, "xlmr": 2.0}
FOLDER_NAME = {"bert": "pith-fixture-bert-base-multilingual-cased", "xlmr": "pith-fixture-xlm-roberta-large"}

# Seen in training, so in both vocabularies (at least as characters); Korean and emoji are not.
EXTRA_TRAINING_TEXT = "Café déjà vu, naïve façade in Zürich and São Paulo. 北京是中国的首都。東京は日本の首都です。"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- 1. tokenizers ----------------------------------------------------------------------------
def essays(eval_dir):
    return {Path(f).stem: open(f, encoding="utf-8").read() for f in sorted(glob.glob(f"{eval_dir}/niah/*.txt"))}


def train_bert_tokenizer(texts):
    """Cased WordPiece (mBERT style): BertNormalizer without lowercasing, ## continuations."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=False, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=VOCAB, continuing_subword_prefix="##",
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return tok


def train_xlmr_tokenizer(texts):
    """SentencePiece-style Unigram (XLM-R style): <s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last.

    The pre-tokenizer is the one transformers 5 builds for XLMRobertaTokenizer (WhitespaceSplit,
    then Metaspace with prepend "always"), so the pipeline survives a save/load round trip.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=VOCAB - 1, unk_token="<unk>", max_piece_length=16,
                                      special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    tok.train_from_iterator(texts, trainer)
    tok.add_special_tokens(["<mask>"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return tok


def base_tokenizer_from_fixture(path):
    """The committed tokenizer.json minus llmlingua's [NEWi] tokens: the trained base tokenizer.

    The tokenizers trainers are not deterministic (tie order among equal counts, float sums in
    Unigram's EM), so once a fixture exists it is the source of truth and regeneration reuses it.
    """
    from tokenizers import Tokenizer

    j = json.loads(Path(path).read_text(encoding="utf-8"))
    j["added_tokens"] = [t for t in j["added_tokens"] if not re.fullmatch(r"\[NEW\d+\]", t["content"])]
    return Tokenizer.from_str(json.dumps(j))


def to_transformers(kind, tok):
    """Wrap a tokenizers.Tokenizer in the transformers class llmlingua's AutoTokenizer will load."""
    from transformers import BertTokenizerFast, XLMRobertaTokenizerFast

    if kind == "bert":
        assert [tok.id_to_token(i) for i in range(5)] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        hf = BertTokenizerFast(tokenizer_object=tok, do_lower_case=False)
    else:
        assert [tok.id_to_token(i) for i in range(4)] == ["<s>", "<pad>", "</s>", "<unk>"]
        assert tok.token_to_id("<mask>") == tok.get_vocab_size() - 1
        hf = XLMRobertaTokenizerFast(tokenizer_object=tok)
    assert len(hf) == VOCAB, len(hf)
    return hf


# ---- 2. random models -------------------------------------------------------------------------
def build_model(kind, hf_tok, folder, calibration_text):
    from transformers import (BertConfig, BertForTokenClassification, XLMRobertaConfig,
                              XLMRobertaForTokenClassification)

    labels = dict(num_labels=2, id2label={0: "LABEL_0", 1: "LABEL_1"}, label2id={"LABEL_0": 0, "LABEL_1": 1})
    size = dict(vocab_size=len(hf_tok), hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                intermediate_size=INTERMEDIATE, initializer_range=INIT_RANGE, hidden_act="gelu")
    torch.manual_seed(SEED_WEIGHTS[kind])
    if kind == "bert":
        cfg = BertConfig(max_position_embeddings=512, type_vocab_size=2, pad_token_id=0, **size, **labels)
        cfg.architectures = ["BertForTokenClassification"]
        model = BertForTokenClassification(cfg)
    else:
        # XLM-R counts positions from padding_idx + 1 = 2, hence 512 + 2 position rows.
        cfg = XLMRobertaConfig(max_position_embeddings=514, type_vocab_size=1, pad_token_id=1, bos_token_id=0,
                               eos_token_id=2, **size, **labels)
        cfg.architectures = ["XLMRobertaForTokenClassification"]
        model = XLMRobertaForTokenClassification(cfg)
    model.eval()
    with torch.no_grad():
        model.classifier.weight.mul_(CLASSIFIER_GAIN[kind])
        # Centre the keep/drop logit gap on real text so p_keep straddles 0.5 instead of leaning
        # to one side (a random net's gap has a sizeable random offset).
        # (no truncation=True here: it would stick to the backend and be saved into tokenizer.json)
        toks = [hf_tok.cls_token] + hf_tok.tokenize(calibration_text)[:510] + [hf_tok.sep_token]
        ids = torch.tensor([hf_tok.convert_tokens_to_ids(toks)])
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]
        model.classifier.bias[1] -= (logits[:, 1] - logits[:, 0]).median()
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    hf_tok.save_pretrained(folder)


def load_compressor(folder):
    from llmlingua import PromptCompressor

    comp = PromptCompressor(model_name=str(folder), device_map="cpu", use_llmlingua2=True)
    comp.model.eval()
    return comp


def window(comp, text):
    """One model window exactly as llmlingua builds it: (ids padded to 512, mask).

    Like llmlingua's __compress, no model_name is passed to TokenClfDataset, so it uses mBERT's
    "[CLS]"/"[SEP]"/"[PAD]" strings for both families (for XLM-R they all map to <unk>).
    """
    from llmlingua.utils import TokenClfDataset

    item = TokenClfDataset([text], tokenizer=comp.tokenizer, max_len=comp.max_seq_len)[0]
    return item["ids"], item["mask"]


def window_ids(comp, text):
    ids, mask = window(comp, text)
    return ids[:int(mask.sum())]


def spread(comp, text):
    """p_keep over one window, and how much it varies for one token id across positions."""
    ids = window_ids(comp, text)
    with torch.no_grad():
        p = torch.softmax(comp.model(input_ids=ids[None], attention_mask=torch.ones_like(ids)[None]).logits, -1)[0, :, 1]
    p = p.numpy()
    per_id = {}
    for i, pi in zip(ids.tolist(), p):
        per_id.setdefault(i, []).append(float(pi))
    ranges = [max(v) - min(v) for v in per_id.values() if len(v) >= 3]
    q = np.percentile(p, [0, 5, 25, 50, 75, 95, 100])
    return {"n_tokens": int(len(p)), "p_keep_quantiles_0_5_25_50_75_95_100": [round(float(x), 4) for x in q],
            "same_id_p_range_mean": round(float(np.mean(ranges)), 4) if ranges else None,
            "same_id_p_range_max": round(float(np.max(ranges)), 4) if ranges else None,
            "ids_seen_3_or_more_times": len(ranges)}


# ---- 3. ONNX export ---------------------------------------------------------------------------
class Logits(torch.nn.Module):
    """The token classifier with optimum's input/output names; returns logits only."""

    def __init__(self, m, with_token_types):
        super().__init__()
        self.m = m
        self.with_token_types = with_token_types

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        kw = dict(input_ids=input_ids, attention_mask=attention_mask)
        if self.with_token_types:
            kw["token_type_ids"] = token_type_ids
        return self.m(**kw).logits


def export_onnx(comp, kind, path, probe_texts):
    import onnx
    import onnxruntime as ort

    model = comp.model
    bert = kind == "bert"
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if bert else [])
    wrapped = Logits(model, bert).eval()
    ids = window_ids(comp, probe_texts[0])[None]
    args = (ids, torch.ones_like(ids)) + ((torch.zeros_like(ids),) if bert else ())
    impl = model.config._attn_implementation
    # eager attention: plain MatMul/Softmax, which every runtime (and ORT's fuser) understands
    model.set_attn_implementation("eager")
    with torch.no_grad():
        torch.onnx.export(wrapped, args, str(path), input_names=names, output_names=["logits"],
                          dynamic_axes={k: {0: "batch", 1: "sequence"} for k in names + ["logits"]},
                          opset_version=17, dynamo=False)
    model.set_attn_implementation(impl)
    onnx.checker.check_model(str(path))

    # Check against the model exactly as llmlingua calls it (its own attention implementation,
    # a bool mask, windows right-padded to 512 in one batch) on real windows.
    rows = [window_ids(comp, t) for t in probe_texts]
    batch = torch.stack([window(comp, t)[0] for t in probe_texts])
    mask = torch.stack([window(comp, t)[1] for t in probe_texts])
    with torch.no_grad():
        ref = model(input_ids=batch, attention_mask=mask == 1).logits.numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"input_ids": batch.numpy(), "attention_mask": mask.numpy()}
    if bert:
        feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
    got = sess.run(None, feeds)[0]
    diff_padded = max(float(np.abs(ref[i, :len(r)] - got[i, :len(r)]).max()) for i, r in enumerate(rows))
    one = {k: v[:1, :len(rows[0])] for k, v in feeds.items()}
    diff_single = float(np.abs(ref[0, :len(rows[0])] - sess.run(None, one)[0][0]).max())
    io = {"inputs": [(i.name, i.type, list(i.shape)) for i in sess.get_inputs()],
          "outputs": [(o.name, o.type, list(o.shape)) for o in sess.get_outputs()]}
    assert max(diff_padded, diff_single) < 1e-4, (diff_padded, diff_single)
    return {"max_abs_diff_vs_torch_padded_batch": diff_padded, "max_abs_diff_vs_torch_single": diff_single,
            "window_lengths": [len(r) for r in rows], **io}


# ---- 4. goldens -------------------------------------------------------------------------------
class Recorder:
    """Wraps llmlingua's private steps on one PromptCompressor and the module's np.percentile.

    Everything recorded is a value llmlingua itself computed; the wrappers only copy it out.
    """

    METHODS = ["chunk_context", "get_context_prob", "compress", "merge_token_to_word", "token_prob_to_word_prob"]

    def __init__(self, comp):
        import llmlingua.prompt_compressor as pc

        self.comp = comp
        for name in self.METHODS:
            attr = f"_PromptCompressor__{name}"
            orig = getattr(comp, attr)  # bound method of the class
            setattr(comp, attr, self._wrap(name, orig))  # instance attribute shadows it
        tok = comp.tokenizer
        orig_c2s = tok.convert_tokens_to_string

        def convert_tokens_to_string(tokens):
            out = orig_c2s(tokens)
            if self.phase == "compress":
                self.cur["kept_text"] = out
            return out

        tok.convert_tokens_to_string = convert_tokens_to_string
        recorder = self

        class NumpyProxy:
            """llmlingua.prompt_compressor's `np`: numpy, with percentile calls logged."""

            def __getattr__(self, name):
                return getattr(np, name)

            @staticmethod
            def percentile(a, q, *args, **kwargs):
                out = np.percentile(a, q, *args, **kwargs)
                rec = {"q": q, "n": len(a), "dtype": str(np.asarray(a).dtype), "value": float(out)}
                if recorder.phase == "compress":
                    recorder.cur.setdefault("percentiles", []).append(rec)
                else:
                    recorder.outer_percentiles.append(rec)
                return out

        pc.np = NumpyProxy()
        self.reset()

    def reset(self):
        self.phase = None
        self.cur = None
        self.chunk_lists = []
        self.chunk_end_tokens = None
        self.compress_calls = []
        self.context_prob = None
        self.merges = []
        self.outer_percentiles = []

    def _wrap(self, name, orig):
        def chunk_context(origin_text, chunk_end_tokens):
            out = orig(origin_text, chunk_end_tokens)
            self.chunk_end_tokens = sorted(chunk_end_tokens)
            self.chunk_lists.append(out)  # the very list objects __compress later receives
            return out

        def get_context_prob(context_list, **kw):
            self.phase = "context"
            try:
                probs, words = orig(context_list, **kw)
            finally:
                self.phase = None
            self.context_prob = ([float(p) for p in probs], copy.deepcopy(words))
            return probs, words

        def compress(context_list, **kw):
            call = {"reserved": [self._context_index(c) for c in context_list],
                    "chunks": [c for chunks in context_list for c in chunks],
                    "reduce_rate": kw.get("reduce_rate"), "token_map": dict(kw.get("token_map", {})),
                    "merges": []}
            self.phase = "compress"
            try:
                out = orig(context_list, **kw)
            finally:
                self.phase = None
            call["merges"] = [m for m in self.merges if m["phase"] == "compress"]
            call["result"] = copy.deepcopy(out)
            self.compress_calls.append(call)
            return out

        def merge_token_to_word(*a, **kw):
            out = orig(*a, **kw)
            tokens = kw["tokens"] if "tokens" in kw else a[0]
            self.cur = {"phase": self.phase, "n_model_tokens": len(tokens), "raw_words": list(out[0])}
            self.merges.append(self.cur)
            return out

        def token_prob_to_word_prob(token_probs, convert_mode="mean"):
            out = orig(token_probs, convert_mode=convert_mode)
            self.cur["word_probs"] = out  # same list object drop_consecutive later zeroes in place
            return out

        return locals()[name]

    def _context_index(self, chunks):
        for i, c in enumerate(self.chunk_lists):
            if c is chunks:
                return i
        raise AssertionError("__compress got a chunk list __chunk_context did not return")


PARAM_DEFAULTS = dict(rate=0.5, target_token=-1, use_context_level_filter=False, target_context=-1,
                      context_level_rate=1.0, context_level_target_token=-1, force_tokens=[],
                      force_reserve_digit=False, drop_consecutive=False, token_to_word="mean",
                      chunk_end_tokens=[".", "\n"], force_context_ids=[])


def run_case(comp, rec, kind, name, context, params):
    params = {**copy.deepcopy(PARAM_DEFAULTS), **params}
    rec.reset()
    res = comp.compress_prompt_llmlingua2(copy.deepcopy(context), return_word_label=True, **copy.deepcopy(params))
    assert len(rec.compress_calls) == 1, "expected exactly one __compress call"
    call = rec.compress_calls[0]
    comp_ctx, comp_words, comp_labels = call["result"]
    merges = call["merges"]
    assert len(merges) == len(call["chunks"])

    # chunk records: merges and chunk strings are in the same (DataLoader, unshuffled) order
    chunks = []
    for text, m in zip(call["chunks"], merges):
        pct = m.get("percentiles", [])
        assert len(pct) == (2 if params["drop_consecutive"] else 1), pct
        # TokenClfDataset appends its sep and then cuts at 512: a 511-token chunk loses the sep
        sep_dropped = len(comp.tokenizer.tokenize(text)) + 2 > comp.max_seq_len
        ch = {"text": text, "n_model_tokens": m["n_model_tokens"], "sep_dropped": sep_dropped,
              "word_probs": [float(p) for p in m["word_probs"]],
              "q": pct[-1]["q"], "threshold": pct[-1]["value"], "threshold_dtype": pct[-1]["dtype"],
              "n_threshold_values": pct[-1]["n"]}
        if params["drop_consecutive"]:
            ch["drop_threshold"] = pct[0]["value"]
            ch["drop_q"] = pct[0]["q"]
        ch["kept_text"] = m["kept_text"]
        if kind == "xlmr":
            ch["raw_words"] = m["raw_words"]
        chunks.append(ch)
    # per-chunk words/labels: __compress returns them per context; split by each chunk's word count
    flat_words = [w for ws in comp_words for w in ws]
    flat_labels = [lab for ls in comp_labels for lab in ls]
    assert len(flat_words) == sum(len(m["raw_words"]) for m in merges) == len(flat_labels)
    pos = 0
    for ch, m in zip(chunks, merges):
        n = len(m["raw_words"])
        ch["words"] = flat_words[pos:pos + n]
        ch["labels"] = flat_labels[pos:pos + n]
        if kind == "bert":
            assert ch["words"] == m["raw_words"]
        pos += n
    assert "".join(ch["kept_text"] for ch in chunks) == "".join(comp_ctx)

    # words/labels per context, kept or not (how fn_labeled_original_prompt is assembled)
    ctx_filter = rec.context_prob is not None
    if ctx_filter:
        reserved = call["reserved"]
        words, labels, j = [], [], 0
        for i in range(len(context)):
            if i in reserved:
                words.append(comp_words[j])
                labels.append(comp_labels[j])
                j += 1
            else:
                words.append(rec.context_prob[1][i])
                labels.append([0] * len(rec.context_prob[1][i]))
    else:
        words, labels = comp_words, comp_labels
    flat = "\t\t|\t\t".join(f"{w} {lab}" for ws, ls in zip(words, labels) for w, lab in zip(ws, ls))
    assert flat == res["fn_labeled_original_prompt"], "words/labels disagree with llmlingua's own label string"

    case = {"name": name, "model": kind, "context": context, "params": params,
            "compressed_prompt": res["compressed_prompt"], "compressed_prompt_list": res["compressed_prompt_list"],
            "origin_tokens": res["origin_tokens"], "compressed_tokens": res["compressed_tokens"],
            "reduce_rate": call["reduce_rate"], "token_map": call["token_map"],
            "chunk_end_tokens": rec.chunk_end_tokens,
            "n_chunks_per_context": [len(c) for c in rec.chunk_lists],
            "words": words, "labels": labels, "chunks": chunks}
    if ctx_filter:
        assert len(rec.outer_percentiles) == 1
        case["context_probs"] = rec.context_prob[0]
        case["context_threshold"] = rec.outer_percentiles[0]["value"]
        case["context_q"] = rec.outer_percentiles[0]["q"]
        case["reserved_contexts"] = call["reserved"]
    return case


# ---- case texts -------------------------------------------------------------------------------
DIGITS_TEXT = """Invoice 2024-03-15: 3 items shipped on 12/04/2023 at 14:35, order #48213.
The total is $1,249.99 (tax 8.25%), due within 30 days, i.e. by 2024-04-14.
Batch 2 of 500 units arrives on April 9th, 2024; batch 3 (1,200 units) follows in Q3.
Call 555-0199 or visit room 221B before 5pm? Version v1.2.3 fixed 17 bugs, down from 42 in 2022.
In 1969, 600 million people watched; in 1972 the last crew returned after 12.5 days.
Temperatures ranged from -4.5 to 38.2 degrees, with 73% humidity at 06:00 and 41% at 15:00.
Population grew from 8,336,817 (2020) to about 8.8 million by 2023, a 5.6% rise.
Flight BA0117 leaves at 18:05 from gate 34; seat 12C, booking ref X7K9Q2."""

DROP_TEXT = """Wait...

Are you sure?? Really??


Yes. Yes. Yes.

The meeting is over... or is it?? Nobody knows.



We will meet again. Next week. Same time. Same place.

Questions? Comments? Anything else??

Done.. Thanks!! Bye."""

NON_ASCII_TEXT = """Café déjà vu: a naïve façade in Zürich, then São Paulo, Øresund and Łódź.
北京是中国的首都。東京は日本の首都です。서울은 한국의 수도입니다.
Emoji test 🙂🚀 — “curly quotes”, ‘single’ ones… an ellipsis, an en–dash, €100, ½ cup, x² + y³.
I do not know if it's ready, but we'll see?
Müller's Straße costs 12,50 € and the crème brûlée is très bon!"""


def cut_sentences(text, max_chars):
    """A prefix of text, at most max_chars, ending after a '.'."""
    cut = text[:max_chars]
    return cut[:cut.rfind(".") + 1]


def nq_contexts(eval_dir, index, n):
    with gzip.open(f"{eval_dir}/nq20/dev.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i == index:
                ex = json.loads(line)
                break
    docs = [ex["gold"]] + ex["distractors"][:n - 1]
    docs = docs[1:3] + docs[:1] + docs[3:]  # gold third, not first
    return [f"Document [{k + 1}] (Title: {d['title']}) {d['text']}" for k, d in enumerate(docs)], ex["question"]


def cases(eval_dir, es):
    force = ["\n", "?"]
    long_text = es["addiction"]
    no_stop = cut_sentences(es["avg"], 3800).replace(".", "").replace("\n", " ")
    ctx_a, _ = nq_contexts(eval_dir, 0, 6)
    ctx_b, _ = nq_contexts(eval_dir, 1, 7)
    return [
        ("plain_rate05", [cut_sentences(es["aord"], 1200)], dict(rate=0.5)),
        ("plain_rate033_force", [cut_sentences(es["boss"], 1500)], dict(rate=0.33, force_tokens=force)),
        ("long_windows", [long_text], dict(rate=0.33, force_tokens=force)),
        ("no_stop_hard_cut", [no_stop], dict(rate=0.5)),
        ("target_token_100", [cut_sentences(es["copy"], 2800)], dict(target_token=100, force_tokens=force)),
        ("reserve_digits", [DIGITS_TEXT], dict(rate=0.33, force_tokens=force, force_reserve_digit=True)),
        ("drop_consecutive", [DROP_TEXT], dict(rate=0.4, force_tokens=["\n", "?", "."], drop_consecutive=True)),
        # prose with doubled periods and blank lines: force tokens are a minority here, so the
        # drop threshold is below 1.0 and words between repeats do count (unlike DROP_TEXT)
        ("drop_consecutive_prose", [cut_sentences(es["gap"], 1400).replace(".  ", "..\n\n")],
         dict(rate=0.5, force_tokens=["\n", "?", "."], drop_consecutive=True)),
        ("token_to_word_first", [cut_sentences(es["desres"], 1500)],
         dict(rate=0.5, force_tokens=force, token_to_word="first")),
        ("context_filter_rate04", ctx_a, dict(rate=0.4, force_tokens=force, use_context_level_filter=True)),
        ("context_filter_target2_force5", ctx_b,
         dict(rate=0.5, force_tokens=force, use_context_level_filter=True, target_context=2, force_context_ids=[5])),
        ("non_ascii", [NON_ASCII_TEXT], dict(rate=0.5, force_tokens=force)),
    ]


# ---- main -------------------------------------------------------------------------------------
def check_tokenizer_json(comp, path, texts):
    """The saved tokenizer.json (what Rust loads) tokenizes and detokenizes like comp.tokenizer."""
    from tokenizers import Tokenizer

    tk = Tokenizer.from_file(str(path))
    j = json.loads(Path(path).read_text(encoding="utf-8"))
    assert j["truncation"] is None and j["padding"] is None, "tokenizer.json must not truncate or pad"
    for t in texts:
        a = comp.tokenizer.tokenize(t)
        b = tk.encode(t, add_special_tokens=False).tokens
        assert a == b, (t[:80], a[:20], b[:20])
        assert comp.tokenizer.convert_tokens_to_string(a) == tk.decoder.decode(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-dir", default=str(REPO.parent / "shared" / "eval"))
    ap.add_argument("--out", default=str(REPO / "tests" / "fixtures" / "lingua"))
    ap.add_argument("--retrain-tokenizers", action="store_true",
                    help="train new tokenizers even if the fixture folder already holds them")
    args = ap.parse_args()
    torch.set_num_threads(2)

    import importlib.metadata as md
    import tokenizers
    import transformers
    import onnxruntime

    out = Path(args.out)
    es = essays(args.eval_dir)
    train_texts = list(es.values()) + [EXTRA_TRAINING_TEXT]
    tmp = Path(tempfile.mkdtemp(prefix="lingua_fixtures_"))
    meta = {"generator": "scripts/lingua_fixtures.py",
            "versions": {"llmlingua": md.version("llmlingua"), "torch": torch.__version__,
                         "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                         "numpy": np.__version__, "onnxruntime": onnxruntime.__version__,
                         "tiktoken": md.version("tiktoken")},
            "seeds": {"weights": SEED_WEIGHTS, "llmlingua_init": 42},
            "size": {"hidden": HIDDEN, "layers": LAYERS, "heads": HEADS, "intermediate": INTERMEDIATE,
                     "init_range": INIT_RANGE, "classifier_gain": CLASSIFIER_GAIN},
            "return_word_label": True, "models": {}}
    all_cases = []
    try:
        for kind, trainer in (("bert", train_bert_tokenizer), ("xlmr", train_xlmr_tokenizer)):
            fixture_tok = out / kind / "tokenizer.json"
            if fixture_tok.exists() and not args.retrain_tokenizers:
                log(f"[{kind}] reusing the base tokenizer of {fixture_tok}")
                hf_tok = to_transformers(kind, base_tokenizer_from_fixture(fixture_tok))
            else:
                log(f"[{kind}] training tokenizer")
                hf_tok = to_transformers(kind, trainer(train_texts))
            folder = tmp / FOLDER_NAME[kind]
            build_model(kind, hf_tok, folder, es["worked"])
            comp = load_compressor(folder)
            log(f"[{kind}] llmlingua special tokens: {sorted(comp.special_tokens, key=str)}; vocab {len(comp.tokenizer)}")

            dest = out / kind
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            comp.tokenizer.save_pretrained(str(dest))
            cfg = comp.model.config.to_dict()
            cfg.pop("_name_or_path", None)
            with open(dest / "config.json", "w", encoding="utf-8") as f:
                json.dump(cfg, f, indent=2, sort_keys=True)
                f.write("\n")
            for junk in ("chat_template.jinja",):
                if (dest / junk).exists():
                    (dest / junk).unlink()

            case_list = cases(args.eval_dir, es)
            probe = [case_list[2][1][0], case_list[0][1][0]]  # a full 512 window and a short one
            sp = spread(comp, probe[0])
            log(f"[{kind}] p_keep spread: {sp}")
            onnx_info = export_onnx(comp, kind, dest / "model.onnx", probe)
            log(f"[{kind}] onnx: {onnx_info}")

            rec = Recorder(comp)
            texts_seen = []
            for name, context, params in case_list:
                case = run_case(comp, rec, kind, name, context, params)
                texts_seen += [c["text"] for c in case["chunks"]]
                tm = case["token_map"]
                for t in context:
                    for k, v in tm.items():
                        t = t.replace(k, v)
                    texts_seen.append(t)
                all_cases.append(case)
                log(f"[{kind}] {name}: {case['origin_tokens']} -> {case['compressed_tokens']} cl100k, "
                    f"chunks {[c['n_model_tokens'] for c in case['chunks']]}, "
                    f"thresholds {[round(c['threshold'], 4) for c in case['chunks']]} "
                    f"({sorted(set(c['threshold_dtype'] for c in case['chunks']))})")
            check_tokenizer_json(comp, dest / "tokenizer.json", texts_seen)
            # the ids TokenClfDataset (no model_name given, as llmlingua calls it) puts around each window
            window_tokens = {k: comp.tokenizer.convert_tokens_to_ids(v)
                             for k, v in (("cls", "[CLS]"), ("sep", "[SEP]"), ("pad", "[PAD]"))}
            meta["models"][kind] = {"window_special_ids": window_tokens,"folder_name": FOLDER_NAME[kind], "architecture": cfg["architectures"][0],
                                    "vocab_size": cfg["vocab_size"], "base_vocab": len(hf_tok),
                                    "special_tokens_llmlingua_skips": sorted(map(str, comp.special_tokens)),
                                    "p_keep_spread": sp, "onnx": onnx_info}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    with open(out / "goldens.json", "w", encoding="utf-8") as f:
        f.write('{"meta": ' + json.dumps(meta, ensure_ascii=False) + ',\n"cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in all_cases))
        f.write("\n]}\n")
    total = 0
    for p in sorted(out.rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            log(f"{p.relative_to(out)}: {p.stat().st_size} bytes")
    log(f"total {total / 1e6:.2f} MB, {len(all_cases)} cases")


if __name__ == "__main__":
    main()
