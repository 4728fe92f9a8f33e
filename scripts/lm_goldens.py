#!/usr/bin/env python3
"""Goldens for pith's converted causal LM, from an independent implementation.

Hugging Face transformers reads the same GGUF file itself (its own dequantizer, its own
Llama code, its own tokenizer built from the GGUF) and gives, for each text below, the
token ids and log p(x_t | x_<t) for every token. tests/neural/lm.rs checks that pith's ONNX
graph, converted by onnx_models/convert/gguf_llama.py, gives the same numbers.

Needs torch, transformers and gguf (not in CI; the goldens are committed):
  python3 scripts/lm_goldens.py GGUF_FILE > tests/fixtures/lm/goldens.json

Every sequence starts with <|endoftext|> (id 0), as pith's scorer feeds it.
"""

import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

TEXTS = [
    # The check: a correct snippet and a broken one.
    "def add(a, b): return a + b",
    "def add(a, b) return + a b):",
    "fn main() {\n    let v: Vec<u32> = (1..=10).collect();\n    println!(\"{}\", v.len());\n}\n",
    "The quick brown fox jumps over the lazy dog.\n  indented line\twith tab",
    "Paris is the capital and most populous city of France, with 2,102,650 residents.",
    "Ünïcödé — “quotes”, emoji 🙂 and 日本語 text.",
    "<|im_start|>user\nWhat is 17 * 23?<|im_end|>\n",
]


def main():
    path = sys.argv[1]
    folder, name = os.path.split(os.path.abspath(path))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    out = []
    for text in TEXTS:
        ids = [0] + tok(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].double(), -1)
        lp = [0.0] + [round(logp[i - 1, ids[i]].item(), 5) for i in range(1, len(ids))]
        out.append({"text": text, "ids": ids, "logprobs": lp})
    json.dump({"model": name, "source": "transformers " + __import__("transformers").__version__,
               "cases": out}, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
