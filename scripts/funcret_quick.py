#!/usr/bin/env python3
"""Quick function-recall check (task B of ../shared/eval/README.md) for one package.

For each item: unpack the package, delete the target's docstring lines, pack every
non-test/doc/example .py file with `pith pack --query <first docstring sentence>` at
budget = context tokens / ratio, and count the item as recalled when the whole target
function (def line through last line, docstring removed) appears verbatim in the output.

    python3 scripts/funcret_quick.py --package flask-3.1.3 --ratio 8 [--pith PATH]

`pith eval funcret` (the harness issue) replaces this script.
"""
import argparse, json, os, shutil, subprocess, sys, tarfile, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
EVAL = HERE.parent / "shared" / "eval" / "code"
SKIP_PARTS = {"tests", "test", "docs", "doc", "examples", "example"}


def context_files(root: Path):
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root)
        if SKIP_PARTS & set(rel.parts[:-1]) or rel.name.startswith("test_") or rel.name.endswith("_test.py") or rel.name == "conftest.py":
            continue
        yield rel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", default="flask-3.1.3")
    ap.add_argument("--ratio", type=float, default=8)
    ap.add_argument("--pith", default=str(Path(os.environ.get("CARGO_TARGET_DIR", HERE / "target")) / "release" / "pith"))
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    items = [json.loads(l) for l in open(EVAL / "funcret-dev.jsonl") if json.loads(l)["package"] == args.package]
    if args.limit:
        items = items[: args.limit]
    work = Path(tempfile.mkdtemp())
    with tarfile.open(EVAL / f"{args.package}.tar.gz") as t:
        t.extractall(work, filter="data")
    pristine = work / args.package
    hits, times = 0, []
    for it in items:
        case = work / "case"
        if case.exists():
            shutil.rmtree(case)
        case.mkdir()
        for rel in context_files(pristine):
            (case / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(pristine / rel, case / rel)
        target = case / it["file"]
        lines = target.read_text().splitlines(keepends=True)
        a, b = it["doc_lines"]
        func = [l for n, l in enumerate(lines, 1) if it["lineno"] <= n <= it["end_lineno"] and not a <= n <= b]
        target.write_text("".join(l for n, l in enumerate(lines, 1) if not a <= n <= b))
        count = subprocess.run([args.pith, "count", str(case)], capture_output=True, text=True, check=True)
        total = int(count.stdout.strip().splitlines()[-1].split()[0])
        budget = int(total / args.ratio)
        t0 = time.perf_counter()
        out = subprocess.run([args.pith, "pack", str(case), "--budget", str(budget), "--query", it["query"], "--format", "plain"],
                             capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - t0)
        hits += "".join(func) in out
    shutil.rmtree(work)
    n = len(items)
    print(json.dumps({"package": args.package, "ratio": args.ratio, "items": n, "function_recall": hits / n,
                      "latency_s_mean": sum(times) / n}))


if __name__ == "__main__":
    sys.exit(main())
