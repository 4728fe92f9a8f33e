#!/usr/bin/env python3
"""Tables of a `pith eval funcret --json OUT` run: function recall per method and size,
then per language (the repositories' rows weighted by their item counts) and per
repository at one size.

    python3 scripts/funcret/tables.py --data eval/funcret/dev.jsonl --json rows.json [--size 8x]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--size", default="8x")
    args = ap.parse_args()
    language = {}
    for line in open(args.data):
        if line.strip():
            it = json.loads(line)
            language[it["package"]] = it.get("language", "python")
    rows = json.load(open(args.json))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    overall = {(r["method"], r["size"]): r for r in rows if r["group"] == "all"}

    print("| method | n | " + " | ".join(f"function_recall {s}" for s in sizes)
          + " | achieved ratio | mean ms (p95) |")
    print("|---|---|" + "---|" * len(sizes) + "---|---|")
    for m in methods:
        rs = [overall[(m, s)] for s in sizes]
        print(f"| {m} | {rs[0]['examples']} | "
              + " | ".join(f"{100 * r['function_recall']:.1f}%" for r in rs)
              + " | " + " / ".join(f"{r['achieved_ratio']:.2f}x" for r in rs)
              + " | " + " / ".join(f"{r['latency_ms_mean']:.0f} ({r['latency_ms_p95']:.0f})"
                                   for r in rs) + " |")

    langs = sorted(set(language.values()))
    print(f"\nFunction recall by language at {args.size} (items):\n")
    print("| method | " + " | ".join(langs) + " |")
    print("|---|" + "---|" * len(langs))
    for m in methods:
        acc = defaultdict(lambda: [0.0, 0])
        for r in rows:
            if r["method"] == m and r["size"] == args.size and r["group"] != "all":
                a = acc[language[r["group"]]]
                a[0] += r["function_recall"] * r["examples"]
                a[1] += r["examples"]
        print(f"| {m} | " + " | ".join(
            f"{100 * acc[l][0] / acc[l][1]:.1f}% ({acc[l][1]})" if acc[l][1] else "–"
            for l in langs) + " |")

    groups = list(dict.fromkeys(r["group"] for r in rows if r["group"] != "all"))
    print(f"\nFunction recall by repository at {args.size}:\n")
    print("| method | " + " | ".join(groups) + " |")
    print("|---|" + "---|" * len(groups))
    for m in methods:
        by = {r["group"]: r for r in rows if r["method"] == m and r["size"] == args.size}
        print(f"| {m} | " + " | ".join(
            f"{100 * by[g]['function_recall']:.1f}%" if g in by else "–" for g in groups) + " |")


if __name__ == "__main__":
    main()
