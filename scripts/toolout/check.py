"""Two checks over the toolout cases with a `pith` binary, as `pith compress` runs them.

    digests PITH OUT   every case (dev and held) at 4x and 8x with the eval's query, at 4x
                       without a query and at 6x in cl100k_base: one line per output with a
                       hash of stdout and of the `--stats` lines. Diff two files to show
                       that a change leaves outputs as they were, byte for byte.
    losses PITH SPLIT RATIO
                       the cases that lose gold lines: how many, and what their gold lines
                       cost (o200k, each with its newline) against the budget, so a loss
                       can be told from a budget that cannot hold the gold.
    bound SPLIT RATIO  the best any method could do on gold lines alone: each case keeps
                       its cheapest gold lines until the budget is spent (markers cost
                       nothing here, so it is an upper bound): gold_line_recall and
                       all_gold_kept.

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
        print(f"{case['id']:55s} lost {len(lost):2d}/{len(case['gold']):2d}  "
              f"gold {gold:5d} tokens  budget {budget:5d}")


def bound(split, ratio):
    import tiktoken
    enc = tiktoken.get_encoding("o200k_base")
    kept = total = whole = 0
    every = cases(split)
    for case in every:
        budget = len(enc.encode_ordinary(case["output"])) // int(ratio)
        used = n = 0
        for cost in sorted(len(enc.encode_ordinary(g + "\n")) for g in case["gold"]):
            if used + cost <= budget:
                used += cost
                n += 1
        kept += n
        total += len(case["gold"])
        whole += n == len(case["gold"])
    print(f"{split} {ratio}x: gold_line_recall at most {kept / total:.1%}, "
          f"all_gold_kept at most {whole / len(every):.1%}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "digests":
        digests(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "losses":
        losses(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "bound":
        bound(*sys.argv[2:])
    else:
        sys.exit(__doc__)
