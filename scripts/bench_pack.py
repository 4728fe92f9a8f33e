#!/usr/bin/env python3
"""Pack a real repository (rich 15.0.0 from ../shared/eval/code) at fixed budgets with the
release binary, time it, and check the output's size with Python tiktoken (the reference,
offline from ../shared/tiktoken_cache). Prints one markdown table row per budget.

    cargo build --release && python3 scripts/bench_pack.py [--runs 5] [--pith PATH]
"""
import argparse, os, statistics, subprocess, tarfile, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SHARED = HERE.parent / "shared"
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken_cache"))
import tiktoken  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--pith", default=str(Path(os.environ.get("CARGO_TARGET_DIR", HERE / "target")) / "release" / "pith"))
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--query", default="render a table with a border style")
args = ap.parse_args()

work = Path(tempfile.mkdtemp())
with tarfile.open(SHARED / "eval" / "code" / "rich-15.0.0.tar.gz") as t:
    t.extractall(work, filter="data")
src = work / "rich-15.0.0" / "rich"
enc = tiktoken.get_encoding("o200k_base")
before = sum(len(enc.encode_ordinary(p.read_text())) for p in src.rglob("*.py"))
print(f"rich-15.0.0/rich: {before} o200k tokens of .py source (Python tiktoken)")
print("| budget | output tokens (Python tiktoken) | fits | wall time, median of runs (min–max) |")
print("|---|---|---|---|")
for budget in (32000, 8000):
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        out = subprocess.run([args.pith, "pack", str(src), "--budget", str(budget), "--query", args.query],
                             capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - t0)
    n = len(enc.encode_ordinary(out))
    print(f"| {budget} | {n} | {'yes' if n <= budget else 'NO'} | {statistics.median(times):.3f} s ({min(times):.3f}–{max(times):.3f}) |")
