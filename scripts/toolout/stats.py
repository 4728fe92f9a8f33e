#!/usr/bin/env python3
"""Print counts per kind and split and o200k token sizes of eval/toolout/*.jsonl.gz.

    TIKTOKEN_CACHE_DIR=/work/shared/tiktoken_cache python3 scripts/toolout/stats.py

Needs tiktoken==0.14.0 (o200k_base). Output is a Markdown table; with --readme
it also replaces the table in eval/toolout/README.md.
"""

import collections
import contextlib
import gzip
import io
import json
import sys
from pathlib import Path

import tiktoken

OUT = Path(__file__).resolve().parents[2] / "eval" / "toolout"


def main():
    enc = tiktoken.get_encoding("o200k_base")
    rows = collections.defaultdict(list)
    sources = collections.defaultdict(set)
    all_tok = []
    for split in ("dev", "held"):
        with gzip.open(OUT / f"{split}.jsonl.gz", "rt") as fh:
            for line in fh:
                c = json.loads(line)
                n = len(enc.encode(c["output"], disallowed_special=()))
                rows[(c["kind"], split)].append((n, len(c["gold"])))
                sources[(c["kind"], split)].add(c["source"])
                all_tok.append(n)
    kinds = sorted({k for k, _ in rows})
    print("| kind | split | cases | output tokens min / median / max | gold lines min-max | sources |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k in kinds:
        for split in ("dev", "held"):
            r = rows.get((k, split))
            if not r:
                continue
            toks = sorted(t for t, _ in r)
            golds = sorted(g for _, g in r)
            med = toks[len(toks) // 2]
            print(
                f"| {k} | {split} | {len(r)} | {toks[0]:,} / {med:,} / {toks[-1]:,} | {golds[0]}-{golds[-1]} | "
                + ", ".join(sorted(sources[(k, split)]))
                + " |"
            )
    n_dev = sum(len(v) for (k, s), v in rows.items() if s == "dev")
    n_held = sum(len(v) for (k, s), v in rows.items() if s == "held")
    all_tok.sort()
    print()
    print(f"total: {n_dev} dev, {n_held} held; output tokens {all_tok[0]:,} to {all_tok[-1]:,}, total {sum(all_tok):,}")


def readme():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main()
    rows = []
    for l in buf.getvalue().rstrip("\n").split("\n"):
        if l.startswith("| json |"):
            parts = l.split(" | ")
            # `pkg:dir/name.ext` sources, by package and folder: `pkg `dir/`: name, name`
            groups = collections.defaultdict(list)
            for f in parts[-1].rstrip(" |").split(", "):
                pkg, path = f.split(":", 1)
                folder, name = path.rsplit("/", 1)
                groups[(pkg, folder)].append(name.rsplit(".", 1)[0])
            parts[-1] = "; ".join(f"{pkg} `{folder}/`: " + ", ".join(names)
                                  for (pkg, folder), names in groups.items()) + " |"
            l = " | ".join(parts)
        rows.append(l)
    p = OUT / "README.md"
    t = p.read_text()
    a = t.index("| kind | split |")
    b = t.index("Compressed size of both files")
    p.write_text(t[:a] + "\n".join(rows) + "\n\n" + t[b:])
    print("\n".join(rows))


if __name__ == "__main__":
    readme() if "--readme" in sys.argv else main()
