#!/usr/bin/env python3
"""Why functions are lost: re-runs `pith pack` on each item of a funcret split (variant B,
the target's doc comment removed) at one ratio and sorts every miss into a cause.

    python3 scripts/funcret/failures.py --data eval/funcret/dev.jsonl --ratio 8 \\
        --pith /work/bin-funcret/pith --out /tmp/failures.jsonl

Only for the dev split: no setting is chosen on held, so its misses are not studied.

The context is written to a scratch folder and packed with `pith pack --stdin` (markdown
layout, the `code` preset unless --preset), so budgets match `pith eval funcret` up to a
few tokens of framing. Lines count as kept only inside the target file's section of
the output, and only lines that occur once in the file (a lone `}` or `self` is
everywhere). Causes, first match wins:

- `too_long`: the function alone takes more than half the budget;
- `cut_inside`: its first line survives but some of its lines do not (a block of it was
  dropped);
- `headless`: some of its lines survive but not the first one;
- otherwise none of its lines survive (`dropped`), split by the words of the query:
  `dropped_no_overlap` (no content word of the query, lower-cased and crudely stemmed,
  occurs in the function even with identifiers split at case changes and underscores),
  `dropped_split_only` (they occur only inside identifiers), `dropped_words_present`.

Each miss also records what was kept instead: the definitions of the target file that
survived (`kept_defs`) and the 4-line window of the output sharing the most query words
(`best_window`, and whether it is a comment: another function's doc).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import in_context  # noqa: E402  (the same context rule as the loader)

# A line of a comment or docstring: ///, //, *, /**, #, or a triple quote.
COMMENT = re.compile(r"\s*(///|//|\*|/\*\*|#|[rRuUbB]?(\"\"\"|'''))")

STOP = set(
    "a an the of to in on for and or is are be by with as it its this that from at if not "
    "into when which any all each given returns return true false none null".split()
)


def stem(w: str) -> str:
    w = w.lower()
    for suf in ("ing", "ies", "es", "ed", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: -len(suf)]
    return w


def plain_words(text: str) -> set[str]:
    """Words as written: identifiers whole."""
    return {stem(w) for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)}


def split_words(text: str) -> set[str]:
    """Words with identifiers split at case changes and underscores."""
    out = set()
    for ident in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text):
        for part in re.split(r"_+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", ident):
            if part:
                out.add(stem(part))
    return out


def query_words(q: str) -> set[str]:
    return {stem(w) for w in re.findall(r"[A-Za-z]+", q) if w.lower() not in STOP and len(w) > 2}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--archives")
    ap.add_argument("--ratio", type=float, default=8.0)
    ap.add_argument("--preset", default="code")
    ap.add_argument("--pith", default="pith")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    data = Path(args.data)
    archives = Path(args.archives) if args.archives else data.parent / "archives"
    items = [json.loads(l) for l in data.open() if l.strip()]
    import tiktoken  # noqa: PLC0415

    enc = tiktoken.get_encoding("o200k_base")
    results = []
    by_repo: dict[str, list] = {}
    for it in items:
        by_repo.setdefault(it["archive"], []).append(it)
    for archive, its in by_repo.items():
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(archives / archive) as tar:
                tar.extractall(tmp, filter="data")
            root = Path(tmp) / its[0]["root"]
            rels = sorted(
                str(p.relative_to(root))
                for p in root.rglob("*")
                if p.is_file() and in_context(str(p.relative_to(root)), its[0]["language"])
            )
            texts = {}
            for r in rels:
                try:
                    texts[r] = (root / r).read_text()
                except UnicodeDecodeError:
                    pass
            rels = [r for r in rels if r in texts]
            pack = [args.pith, "pack", "--stdin", "--preset", args.preset,
                    "--max-file-size", "1000000000"]
            # The context's size, with the framing (a target's doc comment is a few tokens).
            full = subprocess.run(
                pack + ["--budget", "1000000000"],
                input="\n".join(rels), capture_output=True, text=True, cwd=root, check=True,
            ).stdout
            total = len(enc.encode(full, disallowed_special=()))
            for it in its:
                a, b = it["doc_lines"]
                lines = texts[it["file"]].split("\n")
                keep = [l for n, l in enumerate(lines, 1) if not a <= n <= b]
                (root / it["file"]).write_text("\n".join(keep))
                func_lines = [
                    lines[n - 1] for n in range(it["lineno"], it["end_lineno"] + 1)
                    if not a <= n <= b
                ]
                function = "\n".join(func_lines)
                budget = int(total / args.ratio)
                out = subprocess.run(
                    pack + ["--budget", str(budget), "--query", it["query"]],
                    input="\n".join(rels), capture_output=True, text=True, cwd=root, check=True,
                ).stdout
                (root / it["file"]).write_text(texts[it["file"]])
                kept = function in out
                section = ""
                for sec in re.split(r"^(?=## )", out, flags=re.M):
                    if sec.startswith(f"## {it['file']}\n"):
                        section = sec
                sec_lines = {l.strip() for l in section.split("\n")}
                # Only lines found once in the file tell where they came from.
                once = Counter(l.strip() for l in keep)
                body = [l for l in func_lines if len(l.strip()) > 3 and once[l.strip()] == 1]
                survived = sum(1 for l in body if l.strip() in sec_lines)
                head = func_lines[0].strip() in sec_lines
                ftoks = len(enc.encode(function, disallowed_special=()))
                q = query_words(it["query"])
                plain = q & plain_words(function)
                split = q & split_words(function)
                if kept:
                    cause = None
                elif ftoks > budget / 2:
                    cause = "too_long"
                elif head and survived > 0:
                    cause = "cut_inside"
                elif survived > 0:
                    cause = "headless"
                elif not split:
                    cause = "dropped_no_overlap"
                elif not plain:
                    cause = "dropped_split_only"
                else:
                    cause = "dropped_words_present"
                kept_defs = [
                    m.group(1)
                    for m in re.finditer(
                        r"^\s*(?:export\s+)?(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?"
                        r"(?:fn|def|function)\s+(\w+)", section, re.M)
                ]
                # What was kept instead: the 4-line window of the output that shares the most
                # query words, and whether it is a comment (another function's doc).
                best = (0, "", False)
                if not kept:
                    ol = out.split("\n")
                    for i in range(len(ol)):
                        w = ol[i : i + 4]
                        n_w = len(q & split_words("\n".join(w)))
                        if n_w > best[0]:
                            comment = any(COMMENT.match(x) for x in w)
                            best = (n_w, " / ".join(x.strip() for x in w)[:200], comment)
                files = re.findall(r"^## (\S+)", out, re.M)
                results.append({
                    "package": it["package"], "language": it["language"], "file": it["file"],
                    "qualname": it["qualname"], "query": it["query"], "kept": kept,
                    "cause": cause, "function_tokens": ftoks, "budget": budget,
                    "context_tokens": total, "lines": len(body), "lines_survived": survived,
                    "query_words": sorted(q), "in_body_plain": sorted(plain),
                    "in_body_split": sorted(split), "target_file_in_output": bool(section),
                    "head_kept": head, "kept_defs": kept_defs[:20],
                    "best_window_words": best[0], "best_window_is_comment": best[2],
                    "best_window": best[1],
                    "files_kept": files[:12],
                })
                print(f"{it['package']:28} {'ok  ' if kept else 'MISS'} {cause or '':11} "
                      f"{it['qualname'][:40]:40} {ftoks:5}/{budget}", file=sys.stderr)
    with open(args.out, "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    n = len(results)
    k = sum(r["kept"] for r in results)
    print(f"kept {k}/{n} ({100 * k / max(n, 1):.1f}%)")
    print("causes:", dict(Counter(r["cause"] for r in results if not r["kept"])))
    misses = [r for r in results if not r["kept"]]
    beaten = [r for r in misses if r["best_window_words"] > len(r["in_body_split"])]
    print(f"misses where a kept 4-line window shares more query words than the function: "
          f"{len(beaten)}/{len(misses)}, of them a comment: "
          f"{sum(r['best_window_is_comment'] for r in beaten)}; target file partly kept: "
          f"{sum(r['target_file_in_output'] for r in misses)}/{len(misses)}")
    for lang in sorted({r["language"] for r in results}):
        rs = [r for r in results if r["language"] == lang]
        print(f"  {lang}: kept {sum(r['kept'] for r in rs)}/{len(rs)}; misses by cause",
              dict(Counter(r["cause"] for r in rs if not r["kept"])))


if __name__ == "__main__":
    main()
