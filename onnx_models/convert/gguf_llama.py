#!/usr/bin/env python3
"""Converts a llama-architecture GGUF file into pith's causal-LM ONNX graph.

pith scores text by how surprising a small causal LM finds it, so the graph it runs
returns, for every position t of `input_ids` [batch, seq], the log-probability
log p(x_t | x_<t) as `logprobs` [batch, seq] (position 0 has no context and gets 0).
Padding goes on the right: causal attention never lets a real token see a pad, so the
graph needs no attention mask.

Writes into --out:
  model.onnx      weights dequantized to float32 (the LM head is tied to the embedding,
                  which is stored once and used transposed by Gemm)
  tokenizer.json  the GGUF's byte-level BPE vocabulary and merges, in the Hugging Face
                  `tokenizers` format, with the pre-tokenizer the GGUF names
  lm.json         what the runtime needs to know: context length, special ids

Needs only gguf, onnx and numpy: no torch. The output is deterministic for pinned
package versions, so an installer can pin its sha256.
"""

import argparse
import json
import os
import sys

import numpy as np
import gguf
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def fail(message):
    print(f"gguf_llama: {message}", file=sys.stderr)
    sys.exit(1)


class Gguf:
    """The metadata and dequantized tensors of one GGUF file."""

    def __init__(self, path):
        self.reader = gguf.GGUFReader(path)
        self.tensors = {t.name: t for t in self.reader.tensors}

    def field(self, key, default=None):
        f = self.reader.fields.get(key)
        if f is None:
            if default is None:
                fail(f"the GGUF has no {key!r}")
            return default
        return f.contents()

    def weight(self, name):
        """A tensor as float32 in numpy order (a linear layer's weight is [out, in])."""
        t = self.tensors.get(name)
        if t is None:
            fail(f"the GGUF has no tensor {name!r}")
        w = gguf.quants.dequantize(t.data, t.tensor_type)
        return np.ascontiguousarray(w, dtype=np.float32)


def unpermute(w, heads):
    """Undoes llama.cpp's Q/K row permutation (it interleaves the two rotary halves of
    each head), giving the rotate-half layout the graph's RoPE uses."""
    rows = w.shape[0]
    half = rows // heads // 2
    return w.reshape(heads, half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


class Builder:
    """Collects nodes and initializers; names are unique by a running counter."""

    def __init__(self):
        self.nodes = []
        self.inits = []
        self.n = 0

    def name(self, hint):
        self.n += 1
        return f"{hint}_{self.n}"

    def const(self, hint, array):
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, hint=None, **attrs):
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def ints(self, values):
        return self.const("i64", np.array(values, dtype=np.int64))


def rms_norm(b, x, weight, eps):
    # x / sqrt(mean(x^2) + eps) * weight: the pattern ORT fuses into one kernel.
    sq = b.op("Mul", [x, x])
    mean = b.op("ReduceMean", [sq], axes=[-1], keepdims=1)
    var = b.op("Add", [mean, b.const("eps", np.array(eps, dtype=np.float32))])
    inv = b.op("Reciprocal", [b.op("Sqrt", [var])])
    return b.op("Mul", [b.op("Mul", [x, inv]), b.const("norm", weight)])


def rotate(b, x, cos, sin, head_dim):
    # RoPE, rotate-half form: x*cos + [-x2, x1]*sin over the last axis.
    half = head_dim // 2
    x1 = b.op("Slice", [x, b.ints([0]), b.ints([half]), b.ints([-1])])
    x2 = b.op("Slice", [x, b.ints([half]), b.ints([head_dim]), b.ints([-1])])
    rot = b.op("Concat", [b.op("Neg", [x2]), x1], axis=-1)
    return b.op("Add", [b.op("Mul", [x, cos]), b.op("Mul", [rot, sin])])


def build(g):
    arch = g.field("general.architecture")
    if arch != "llama":
        fail(f"architecture {arch!r} is not supported (only llama)")
    p = f"{arch}."
    layers = int(g.field(p + "block_count"))
    dim = int(g.field(p + "embedding_length"))
    heads = int(g.field(p + "attention.head_count"))
    kv_heads = int(g.field(p + "attention.head_count_kv", heads))
    eps = float(g.field(p + "attention.layer_norm_rms_epsilon"))
    rope_base = float(g.field(p + "rope.freq_base", 10000.0))
    context = int(g.field(p + "context_length"))
    head_dim = dim // heads
    group = heads // kv_heads
    if "output.weight" in g.tensors:
        fail("a separate output.weight is not supported (the converter ties the head)")

    b = Builder()
    ids = "input_ids"
    embedding = g.weight("token_embd.weight")  # [vocab, dim]
    vocab = embedding.shape[0]
    emb = b.const("token_embd", embedding)

    # Shapes that follow the input: batch B and sequence T.
    shape = b.op("Shape", [ids])
    batch = b.op("Slice", [shape, b.ints([0]), b.ints([1])])
    seq = b.op("Slice", [shape, b.ints([1]), b.ints([2])])
    seq_scalar = b.op("Squeeze", [seq, b.ints([0])])

    # Rotary tables [T, head_dim] for positions 0..T-1.
    pos = b.op("Cast", [b.op("Range", [b.const("zero", np.array(0, dtype=np.int64)), seq_scalar,
                                        b.const("one", np.array(1, dtype=np.int64))])],
               to=TensorProto.FLOAT)
    inv_freq = 1.0 / (rope_base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    freqs = b.op("Mul", [b.op("Unsqueeze", [pos, b.ints([1])]),
                         b.const("inv_freq", inv_freq.astype(np.float32)[None, :])])
    angles = b.op("Concat", [freqs, freqs], axis=-1)
    cos = b.op("Cos", [angles])
    sin = b.op("Sin", [angles])

    # Causal mask [T, T]: 0 on and below the diagonal, a large negative number above.
    row = b.op("Unsqueeze", [pos, b.ints([1])])
    col = b.op("Unsqueeze", [pos, b.ints([0])])
    future = b.op("Greater", [col, row])
    mask = b.op("Where", [future, b.const("neg", np.array(-1e9, dtype=np.float32)),
                          b.const("zerof", np.array(0.0, dtype=np.float32))])

    x = b.op("Gather", [emb, ids], axis=0)  # [B, T, dim]
    scale = b.const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    # [B, T, heads*hd] -> [B, kv, group|1, T, hd]: query heads grouped under the KV head
    # they share, so one broadcasting MatMul does grouped-query attention.
    q_shape = b.op("Concat", [batch, seq, b.ints([kv_heads, group, head_dim])], axis=0)
    kv_shape = b.op("Concat", [batch, seq, b.ints([kv_heads, 1, head_dim])], axis=0)
    out_shape = b.op("Concat", [batch, seq, b.ints([dim])], axis=0)

    for i in range(layers):
        t = f"blk.{i}."
        h = rms_norm(b, x, g.weight(t + "attn_norm.weight"), eps)
        wq = unpermute(g.weight(t + "attn_q.weight"), heads)
        wk = unpermute(g.weight(t + "attn_k.weight"), kv_heads)
        wv = g.weight(t + "attn_v.weight")
        q = b.op("MatMul", [h, b.const(t + "wq", wq.T.copy())])
        k = b.op("MatMul", [h, b.const(t + "wk", wk.T.copy())])
        v = b.op("MatMul", [h, b.const(t + "wv", wv.T.copy())])
        perm = [0, 2, 3, 1, 4]  # [B, T, kv, g, hd] -> [B, kv, g, T, hd]
        q = b.op("Transpose", [b.op("Reshape", [q, q_shape])], perm=perm)
        k = b.op("Transpose", [b.op("Reshape", [k, kv_shape])], perm=perm)
        v = b.op("Transpose", [b.op("Reshape", [v, kv_shape])], perm=perm)
        q = rotate(b, q, cos, sin, head_dim)
        k = rotate(b, k, cos, sin, head_dim)
        scores = b.op("MatMul", [q, b.op("Transpose", [k], perm=[0, 1, 2, 4, 3])])
        scores = b.op("Add", [b.op("Mul", [scores, scale]), mask])
        attn = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])  # [B, kv, g, T, hd]
        attn = b.op("Reshape", [b.op("Transpose", [attn], perm=[0, 3, 1, 2, 4]), out_shape])
        wo = g.weight(t + "attn_output.weight")
        x = b.op("Add", [x, b.op("MatMul", [attn, b.const(t + "wo", wo.T.copy())])])

        h = rms_norm(b, x, g.weight(t + "ffn_norm.weight"), eps)
        gate = b.op("MatMul", [h, b.const(t + "wg", g.weight(t + "ffn_gate.weight").T.copy())])
        up = b.op("MatMul", [h, b.const(t + "wu", g.weight(t + "ffn_up.weight").T.copy())])
        act = b.op("Mul", [b.op("Mul", [gate, b.op("Sigmoid", [gate])]), up])  # SiLU(gate)*up
        down = b.op("MatMul", [act, b.const(t + "wd", g.weight(t + "ffn_down.weight").T.copy())])
        x = b.op("Add", [x, down])

    x = rms_norm(b, x, g.weight("output_norm.weight"), eps)
    # Tied head: logits = x @ E^T, as Gemm(transB) on [B*T, dim] so E is stored once.
    flat = b.op("Reshape", [x, b.ints([-1, dim])])
    logits = b.op("Gemm", [flat, emb], transB=1)
    logp = b.op("LogSoftmax", [logits], axis=-1)
    vocab_shape = b.op("Concat", [batch, seq, b.ints([vocab])], axis=0)
    logp = b.op("Reshape", [logp, vocab_shape])  # [B, T, V]
    # log p(x_t | x_<t) sits at position t-1 of the distribution; shift and prepend 0.
    prev = b.op("Slice", [logp, b.ints([0]), b.ints([-1]), b.ints([1])])
    nxt = b.op("Unsqueeze", [b.op("Slice", [ids, b.ints([1]), b.ints([2**62]), b.ints([1])]),
                             b.ints([2])])
    picked = b.op("Squeeze", [b.op("GatherElements", [prev, nxt], axis=2), b.ints([2])])
    first = b.op("ConstantOfShape", [b.op("Concat", [batch, b.ints([1])], axis=0)],
                 value=helper.make_tensor("z", TensorProto.FLOAT, [1], [0.0]))
    b.nodes.append(helper.make_node("Concat", [first, picked], ["logprobs"], axis=1))

    graph = helper.make_graph(
        b.nodes, "causal_lm",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("logprobs", TensorProto.FLOAT, ["batch", "seq"])],
        b.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="pith gguf_llama.py")
    model.ir_version = 8
    info = {"architecture": arch, "context_length": context, "vocab_size": vocab,
            "layers": layers, "hidden": dim, "heads": heads, "kv_heads": kv_heads,
            "input": "input_ids", "output": "logprobs"}
    return model, info


def tokenizer(g):
    kind = g.field("tokenizer.ggml.model")
    if kind != "gpt2":
        fail(f"tokenizer model {kind!r} is not supported (only byte-level BPE, 'gpt2')")
    pre = g.field("tokenizer.ggml.pre", "default")
    tokens = g.field("tokenizer.ggml.tokens")
    types = g.field("tokenizer.ggml.token_type")
    merges = g.field("tokenizer.ggml.merges")
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": True}
    if pre == "smollm":
        # llama.cpp's smollm split: every digit on its own, then GPT-2's pattern. The
        # vocabulary agrees: it has no token of two digits.
        pre_tok = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True}, byte_level]}
    elif pre in ("default", "gpt2"):
        pre_tok = byte_level
    else:
        fail(f"pre-tokenizer {pre!r} is not supported (smollm, gpt2)")
    added = [{"id": i, "content": tok, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}
             for i, (tok, ty) in enumerate(zip(tokens, types)) if ty == 3]
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": pre_tok,
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)},
                  "merges": [m.split(" ", 1) for m in merges]},
    }
    special = {
        "bos_token_id": int(g.field("tokenizer.ggml.bos_token_id", -1)),
        "eos_token_id": int(g.field("tokenizer.ggml.eos_token_id", -1)),
        "add_bos_token": bool(g.field("tokenizer.ggml.add_bos_token", False)),
    }
    return tok, special


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gguf", required=True, help="the GGUF file")
    ap.add_argument("--out", required=True, help="folder for model.onnx, tokenizer.json, lm.json")
    args = ap.parse_args()
    if not os.path.isfile(args.gguf):
        fail(f"no such file: {args.gguf}")
    os.makedirs(args.out, exist_ok=True)
    g = Gguf(args.gguf)
    model, info = build(g)
    tok, special = tokenizer(g)
    info.update(special)
    onnx.checker.check_model(model, full_check=False)
    onnx.save_model(model, os.path.join(args.out, "model.onnx"))
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(args.out, "lm.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
