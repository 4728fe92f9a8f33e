#!/usr/bin/env python3
"""Compares causal-LM ONNX graphs side by side: file size, session load time, tokens/s
at a few batch shapes, and agreement with tests/fixtures/lm/goldens.json.

Usage: lm_bench_graphs.py NAME=model.onnx [NAME=model.onnx ...]
Needs numpy and onnxruntime. Timing is interleaved across models (round-robin, best of
ROUNDS) so that load from other processes on the machine hits every model alike.
"""

import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort

SHAPES = [(1, 512), (4, 256), (8, 128)]
ROUNDS = 5
GOLDENS = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "lm", "goldens.json")


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    t = time.perf_counter()
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s, time.perf_counter() - t


def ppl(lp):
    return float(np.exp(-np.mean(lp[1:])))


def main():
    models = dict(a.split("=", 1) for a in sys.argv[1:])
    sessions, load = {}, {}
    for name, path in models.items():
        sessions[name], load[name] = session(path)
    cases = json.load(open(GOLDENS))["cases"]

    print("| variant | MB | load s | " + " | ".join(f"tok/s {b}x{t}" for b, t in SHAPES)
          + " | max abs dlp | mean abs dlp | worst PPL rel |")
    rng = np.random.default_rng(0)
    inputs = [rng.integers(100, 40000, (b, t)).astype(np.int64) for b, t in SHAPES]
    best = {n: [float("inf")] * len(SHAPES) for n in sessions}
    for s in sessions.values():
        for x in inputs:
            s.run(None, {"input_ids": x})  # warm-up
    for _ in range(ROUNDS):
        for n, s in sessions.items():
            for i, x in enumerate(inputs):
                t = time.perf_counter()
                s.run(None, {"input_ids": x})
                best[n][i] = min(best[n][i], time.perf_counter() - t)

    ppls = {}
    for n, s in sessions.items():
        diffs, rels, ppls[n] = [], [], []
        for c in cases:
            gold = np.array(c["logprobs"])
            out = s.run(None, {"input_ids": np.array([c["ids"]], dtype=np.int64)})[0][0]
            diffs.append(np.abs(out[1:] - gold[1:]))
            ppls[n].append(ppl(out))
            rels.append(abs(ppl(out) / ppl(gold) - 1))
        d = np.concatenate(diffs)
        speeds = " | ".join(f"{b * t / best[n][i]:.0f}" for i, (b, t) in enumerate(SHAPES))
        print(f"| {n} | {os.path.getsize(models[n]) / 1e6:.0f} | {load[n]:.2f} | {speeds} | "
              f"{d.max():.1e} | {d.mean():.1e} | {max(rels) * 100:.2f}% |")

    print("\nPPL per golden text (goldens first):")
    print("| text | golden | " + " | ".join(ppls) + " |")
    for i, c in enumerate(cases):
        row = " | ".join(f"{ppls[n][i]:.3f}" for n in ppls)
        print(f"| {c['text'][:28]!r} ({len(c['ids'])} ids) | {ppl(np.array(c['logprobs'])):.3f} | {row} |")


if __name__ == "__main__":
    main()
