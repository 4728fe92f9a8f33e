#!/usr/bin/env python3
"""Wall time of `pith compress` through the CLI: one NQ-20 context per preset, and start-up.

    python3 scripts/neural_speed.py [--runs 7] LABEL=PITH_BINARY[,ENV=VALUE...] ...

e.g. `before=/tmp/pith-before after=target/release/pith
after-float=target/release/pith,PITH_EMBEDDER_INT8=0`. The binaries run interleaved (one
run of each in turn), so a busy machine slows them alike; the median counts. Each cell is
wall time and CPU time (user + system, all threads): on a machine shared with other work
the wall time grows with the load, the CPU time much less.

- context: one NQ-20 dev question's 20 passages with the gold first, rendered as
  `pith eval nq20` does (`Document [k] (Title: TITLE) TEXT`), one file; the default
  question (104) makes 2.8k o200k tokens (the median context is 2.4k, the largest 3.3k); `pith compress --preset rag-neural --ratio 4 --query QUESTION FILE` (and `rag`).
- start-up: every preset on a two-line file with a query, `--budget 1000` (nothing to
  cut, but the preset's models are loaded as for any input); the `models:` line of
  `--stats` says whether the ONNX Runtime library was loaded at all.

No vector cache on disk or shared (PITH_NO_CACHE=1, PITH_EMBED_CACHE and PITH_CACHE_URL
unset): every run is cold, as a first call is. Prints markdown.
"""
import argparse
import gzip
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NQ = os.path.join(ROOT, "..", "shared", "eval", "nq20", "dev.jsonl.gz")
PRESETS = ["rag", "code", "chat", "rag-neural", "code-neural", "rag-lm", "code-lm"]


def binaries(specs):
    out = []
    for spec in specs:
        label, rest = spec.split("=", 1)
        path, *envs = rest.split(",")
        env = {k: v for k, v in (e.split("=", 1) for e in envs)}
        out.append((label, os.path.abspath(path), env))
    return out


def run(binary, env, args):
    e = {k: v for k, v in os.environ.items() if k not in ("PITH_EMBED_CACHE", "PITH_CACHE_URL")}
    e["PITH_NO_CACHE"] = "1"
    e.update(env)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run([binary] + args, env=e, capture_output=True, text=True, cwd=ROOT)
    dt = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"{binary} {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return dt, cpu, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--skip-startup", action="store_true")
    ap.add_argument("--question", type=int, default=104, help="line of nq20/dev.jsonl.gz (from 0)")
    ap.add_argument("binary", nargs="+", help="LABEL=PATH[,ENV=VALUE...]")
    a = ap.parse_args()
    bins = binaries(a.binary)

    with gzip.open(NQ, "rt") as f:
        ex = json.loads(f.readlines()[a.question])
    passages = [ex["gold"]] + ex["distractors"]
    context = "".join(f"Document [{k + 1}] (Title: {p['title']}) {p['text']}\n\n" for k, p in enumerate(passages))
    tmp = tempfile.mkdtemp(prefix="pith-speed-")
    ctx = os.path.join(tmp, "context.txt")
    with open(ctx, "w") as f:
        f.write(context)
    tiny_prose = os.path.join(tmp, "tiny.md")
    with open(tiny_prose, "w") as f:
        f.write("Start-up is measured on this line.\nAnd this one.\n")
    tiny_code = os.path.join(tmp, "tiny.py")
    with open(tiny_code, "w") as f:
        f.write("def start(up):\n    return up\n")

    cases = [
        (f"`{p}` on the NQ-20 context, --ratio 4", ["compress", "--preset", p, "--ratio", "4", "--query", ex["question"], "--stats", ctx])
        for p in ["rag", "rag-neural"]
    ]
    if not a.skip_startup:
        for p in PRESETS:
            tiny = tiny_code if p.startswith("code") else tiny_prose
            cases.append((f"start-up: `{p}`, tiny input", ["compress", "--preset", p, "--budget", "1000", "--query", "start up", "--stats", tiny]))

    print(f"NQ-20 dev question {a.question}: {ex['question']!r}; {len(context)} bytes; median of {a.runs} runs, interleaved")
    print()
    print("| command | " + " | ".join(label for label, _, _ in bins) + " |")
    print("|---|" + "---|" * len(bins))
    notes = []
    for name, args in cases:
        times = {label: [] for label, _, _ in bins}
        stats = {}
        cpus = {label: [] for label, _, _ in bins}
        for label, b, env in bins:  # warm the page cache
            run(b, env, args)
        for _ in range(a.runs):
            for label, b, env in bins:
                dt, cpu, err = run(b, env, args)
                times[label].append(dt)
                cpus[label].append(cpu)
                stats[label] = err
        cells = []
        for label, _, _ in bins:
            ms = 1000 * statistics.median(times[label])
            cpu = 1000 * statistics.median(cpus[label])
            models = [l for l in stats[label].splitlines() if l.startswith("models:")]
            ort = "runtime" in models[0] if models else None
            cells.append(f"{ms:.0f} ms, CPU {cpu:.0f} ms" + ("" if ort is None else (" (ORT)" if ort else " (no ORT)")))
            if models:
                notes.append(f"{name}, {label}: {models[0]}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if notes:
        print()
        for n in notes:
            print(f"- {n}")


if __name__ == "__main__":
    main()
