#!/usr/bin/env python3
"""How batching windows affects ONNX Runtime's forward time on a CPU (2 threads).

    python3 scripts/probe_batching.py MODEL_DIR TEXT_FILE

MODEL_DIR holds model.onnx and tokenizer.json (a BERT-class token classifier, e.g. the
anchor's mBERT-size export); TEXT_FILE gives the token ids. Prints the median time of
3 windows of 508/400/141 tokens padded into one batch vs run one by one, and of 16
windows of 512 tokens as one batch, one by one, and in batches of four. Needs
onnxruntime, numpy and tokenizers. Behind the batching limits in src/lingua/classifier.rs.
"""
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

model_dir, text_file = sys.argv[1], sys.argv[2]
so = ort.SessionOptions()
so.intra_op_num_threads = 2
so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), so, providers=["CPUExecutionProvider"])
tk = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
tk.no_padding()
tk.no_truncation()
ids = tk.encode(open(text_file, encoding="utf-8").read(), add_special_tokens=False).ids
cls, sep = tk.token_to_id("[CLS]"), tk.token_to_id("[SEP]")


def window(length, offset):
    return [cls] + ids[offset:offset + length - 2] + [sep]


def run(batch):
    width = max(len(w) for w in batch)
    a = np.zeros((len(batch), width), np.int64)
    m = np.zeros_like(a)
    for i, w in enumerate(batch):
        a[i, :len(w)] = w
        m[i, :len(w)] = 1
    s.run(None, {"input_ids": a, "attention_mask": m})


def median_time(f, n):
    f()
    xs = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        xs.append(time.perf_counter() - t0)
    return statistics.median(xs)


small = [window(508, 0), window(400, 600), window(141, 1200)]
print("508/400/141: one padded batch %.3f s, one by one %.3f s" % (
    median_time(lambda: run(small), 3), median_time(lambda: [run([w]) for w in small], 3)))
full = [window(512, i * 510) for i in range(16)]
print("16 x 512: one batch %.3f s, one by one %.3f s, batches of four %.3f s" % (
    median_time(lambda: run(full), 1), median_time(lambda: [run([w]) for w in full], 1),
    median_time(lambda: [run(full[i:i + 4]) for i in range(0, 16, 4)], 1)))
