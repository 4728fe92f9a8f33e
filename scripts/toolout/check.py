"""Checks over the toolout cases with a `pith` binary, as `pith compress` runs them.

    digests PITH OUT   every case (dev and held) at 4x and 8x with the eval's query, at 4x
                       without a query and at 6x in cl100k_base: one line per output with a
                       hash of stdout and of the `--stats` lines. Diff two files to show
                       that a change leaves outputs as they were, byte for byte.
    losses PITH SPLIT RATIO
                       the cases that lose gold lines: how many, and what their gold lines
                       cost (o200k, each with its newline) against the budget, so a loss
                       can be told from a budget that cannot hold the gold; and what the
                       output spent on gold lines, on markers and on other lines.
    bound SPLIT RATIO  the best any method could do on gold lines alone: each case keeps
                       its cheapest gold lines until the budget is spent (markers cost
                       nothing here, so it is an upper bound): gold_line_recall and
                       all_gold_kept.
    sizes PITH SPLIT   `pith eval toolout` at 4x and 8x by the size of the output (o200k
                       tokens: under 1,000, 1,000 to 5,000, 5,000 and more), each band
                       next to its bound and to an oracle that keeps gold lines only but
                       pays for its markers (`…` for a gap of up to 8 lines, `… 12 lines
                       omitted` for a longer one; cheapest addition first), and over all
                       sizes: where the losses are, and how many no selector could avoid.

Needs Python tiktoken for `losses` and `bound` (TIKTOKEN_CACHE_DIR=../shared/tiktoken_cache: nothing is
downloaded).
"""

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from serve_eval import eval_query

ROOT = Path(__file__).resolve().parents[2]


def cases(split):
    with gzip.open(ROOT / f"eval/toolout/{split}.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def compress(pith, case, args):
    return subprocess.run([pith, "compress", "--preset", "rag", *args, "-"],
                          input=case["output"].encode(), capture_output=True)


def digests(pith, out):
    rows = []
    for split in ("dev", "held"):
        for case in cases(split):
            q = ["--query", eval_query(case)]
            for args in (["--ratio", "4", *q], ["--ratio", "8", *q], ["--ratio", "4"],
                         ["--ratio", "6", "--encoding", "cl100k_base", *q]):
                r = compress(pith, case, ["--stats", *args])
                digest = hashlib.sha256(r.stdout + r.stderr).hexdigest()[:16]
                rows.append(f"{case['id']} {' '.join(args[:2])} query={'--query' in args} "
                            f"{args[3] if '--encoding' in args else 'o200k_base'} "
                            f"rc={r.returncode} {digest}")
    Path(out).write_text("\n".join(rows) + "\n")
    print(f"{len(rows)} outputs -> {out}")


def losses(pith, split, ratio):
    import tiktoken
    enc = tiktoken.get_encoding("o200k_base")
    for case in cases(split):
        out = compress(pith, case, ["--ratio", ratio, "--query", eval_query(case)])
        text = out.stdout.decode()
        kept = set(text.splitlines())
        whole = set(case["output"].splitlines())
        # As the eval checks: a gold string that is a line of the output must survive as
        # a line; one inside a line (compact JSON) as text.
        lost = [g for g in case["gold"] if (g not in kept if g in whole else g not in text)]
        if not lost:
            continue
        budget = len(enc.encode_ordinary(case["output"])) // int(ratio)
        gold = sum(len(enc.encode_ordinary(g + "\n")) for g in case["gold"])
        # What the output spent its tokens on: gold lines, markers, the rest.
        spent = {"gold": 0, "markers": 0, "other": 0}
        for line in text.splitlines():
            what = ("gold" if line in case["gold"] else
                    "markers" if line.strip().startswith("…") else "other")
            spent[what] += len(enc.encode_ordinary(line + "\n"))
        print(f"{case['id']:55s} lost {len(lost):2d}/{len(case['gold']):2d}  "
              f"gold {gold:5d} tokens  budget {budget:5d}  spent on gold {spent['gold']:4d}, "
              f"markers {spent['markers']:3d}, other lines {spent['other']:4d}")


def best_kept(enc, case, ratio):
    """Gold lines of `case` that fit its budget at `ratio`, cheapest first."""
    budget = len(enc.encode_ordinary(case["output"])) // int(ratio)
    used = n = 0
    for cost in sorted(len(enc.encode_ordinary(g + "\n")) for g in case["gold"]):
        if used + cost <= budget:
            used += cost
            n += 1
    return n


def bound(split, ratio):
    import tiktoken
    enc = tiktoken.get_encoding("o200k_base")
    kept = total = whole = 0
    every = cases(split)
    for case in every:
        n = best_kept(enc, case, ratio)
        kept += n
        total += len(case["gold"])
        whole += n == len(case["gold"])
    print(f"{split} {ratio}x: gold_line_recall at most {kept / total:.1%}, "
          f"all_gold_kept at most {whole / len(every):.1%}")


# Runs of at most this many dropped lines pith marks with a bare `…` (SHORT_GAP in
# src/render/marker.rs).
SHORT_GAP = 8


def oracle_kept(enc, case, ratio):
    """Gold lines of `case` a selector that knew them would keep at `ratio`, paying for
    the marker of every gap it leaves: greedily, the gold line that adds least first."""
    lines = case["output"].split("\n")
    where = {}
    for i, line in enumerate(lines):
        where.setdefault(line, i)
    if any(g not in where for g in case["gold"]):
        return best_kept(enc, case, ratio)  # compact JSON: gold inside one line
    budget = len(enc.encode_ordinary(case["output"])) // int(ratio)
    cost = {where[g]: len(enc.encode_ordinary(g + "\n")) for g in case["gold"]}

    def marker(n):
        # As pith marks tool output: a short gap with `…`, a longer one with its count.
        if n <= SHORT_GAP:
            return len(enc.encode_ordinary("…\n"))
        return len(enc.encode_ordinary(f"… {n:,} lines omitted\n"))

    def total(kept):
        at, spent = 0, 0
        for i in sorted(kept):
            spent += cost[i] + (marker(i - at) if i > at else 0)
            at = i + 1
        return spent + (marker(len(lines) - at) if at < len(lines) else 0)

    kept = set()
    while True:
        options = [(total(kept | {i}), i) for i in cost if i not in kept]
        if not options or min(options)[0] > budget:
            return len(kept)
        kept.add(min(options)[1])


BANDS = ((0, 1000, "under 1,000"), (1000, 5000, "1,000 to 5,000"), (5000, None, "5,000 and more"),
         (0, None, "all"))


def sizes(pith, split):
    import tempfile
    import tiktoken
    enc = tiktoken.get_encoding("o200k_base")
    by_id = {c["id"]: c for c in cases(split)}
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
        subprocess.run([pith, "eval", "toolout", "--data", ROOT / f"eval/toolout/{split}.jsonl.gz",
                        "--method", "pith", "--ratio", "4,8", "--cases", out.name],
                       check=True, capture_output=True)
        rows = [json.loads(line) for line in Path(out.name).read_text().splitlines()]
    print("| split | size | output tokens | cases | gold_line_recall | all_gold_kept "
          "| oracle: recall | oracle: all gold | at most: recall | at most: all gold |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size in ("4x", "8x"):
        for low, high, name in BANDS:
            band = [r for r in rows if r["size"] == size and r["tokens_before"] >= low
                    and (high is None or r["tokens_before"] < high)]
            if not band:
                continue
            gold = [len(by_id[r["id"]]["gold"]) for r in band]

            def share(kept):
                """gold_line_recall and all_gold_kept of the band's kept gold lines."""
                whole = sum(k == g for k, g in zip(kept, gold))
                return f"{sum(kept) / sum(gold):.1%} | {whole / len(band):.1%}"

            pith_kept = [r["passed"]["gold_line_recall"][0] for r in band]
            oracle = [oracle_kept(enc, by_id[r["id"]], size[:-1]) for r in band]
            best = [best_kept(enc, by_id[r["id"]], size[:-1]) for r in band]
            print(f"| {split} | {size} | {name} | {len(band)} | {share(pith_kept)} "
                  f"| {share(oracle)} | {share(best)} |")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "digests":
        digests(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "losses":
        losses(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "bound":
        bound(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "sizes":
        sizes(*sys.argv[2:])
    else:
        sys.exit(__doc__)
