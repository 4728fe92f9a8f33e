#!/usr/bin/env python3
"""The toolout cases through `pith serve`, sent by the official `anthropic` SDK.

Each case becomes one agent turn: the user's task, the assistant's text and `tool_use`,
then the user message carrying the `tool_result` (with `cache_control`, as agent clients
send the newest turn). The request goes through a real `pith serve` to a recording
upstream on 127.0.0.1; the tool_result text the upstream received is scored the way
`pith eval toolout` scores (src/eval/toolout.rs, src/eval/check.rs): a gold string that is
a whole line of the output must be a whole line of the forwarded text, otherwise (one-line
JSON) a substring. Next to it, the in-process harness (`pith eval toolout --method pith
--overall`) runs on the same file.

    TIKTOKEN_CACHE_DIR=/work/shared/tiktoken_cache \
        python3 scripts/toolout/serve_eval.py [--json OUT] [--split dev,held]

Env: PITH_BIN (default /tmp/pith-serve-eval), a release build of pith. Loopback only.
"""

import argparse
import gzip
import http.server
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("TIKTOKEN_CACHE_DIR", "/work/shared/tiktoken_cache")

import anthropic  # noqa: E402
import tiktoken  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RATIOS = (4, 8)
MIN_CHARS = 2000  # the proxy's default `min_chars`: shorter blocks are forwarded as sent


def rust_lines(s):
    """Rust's `str::lines`: split on \\n, drop one trailing \\r per line, no final empty line."""
    if s == "":
        return []
    parts = s.split("\n")
    if parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def gold_checks(output, gold):
    lines = set(rust_lines(output))
    return [("line" if g in lines else "text", g) for g in gold]


def passed(check, text, text_lines):
    how, g = check
    return g in text_lines if how == "line" else g in text


class Recorder(http.server.BaseHTTPRequestHandler):
    """A stand-in for the Anthropic API: stores each body under the request's x-eval-id."""

    protocol_version = "HTTP/1.1"
    # One write per response and no Nagle: otherwise delayed ACKs add ~40 ms to some
    # requests and the latency columns measure the stand-in, not pith.
    disable_nagle_algorithm = True
    bodies = {}
    lock = threading.Lock()

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n)
        with self.lock:
            self.bodies[self.headers.get("x-eval-id", "")] = body
        reply = json.dumps({
            "id": "msg_01eval",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }).encode()
        head = (f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                f"content-length: {len(reply)}\r\n\r\n").encode()
        self.wfile.write(head + reply)

    def log_message(self, *a):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_cases(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def messages(case):
    said = []
    if case["assistant"]:
        said.append({"type": "text", "text": case["assistant"]})
    said.append({"type": "tool_use", "id": "toolu_01", "name": case["tool"]["name"],
                 "input": case["tool"]["input"]})
    return [
        {"role": "user", "content": case["task"]},
        {"role": "assistant", "content": said},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01",
                                      "content": case["output"],
                                      "cache_control": {"type": "ephemeral"}}]},
    ]


def send(client, case, ratio, tag):
    headers = {"x-eval-id": tag}
    if ratio is not None:
        headers["x-pith-ratio"] = str(ratio)
    t = time.perf_counter()
    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=16, messages=messages(case),
        extra_headers=headers)
    wall = (time.perf_counter() - t) * 1e3
    msg = raw.parse()
    assert msg.content[0].text == "ok", msg
    return raw.headers, wall


def forwarded_text(body):
    block = json.loads(body)["messages"][2]["content"][0]
    content = block["content"]
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content)


def summarise(rows, ratio):
    n = len(rows)
    if n == 0:
        return None
    gold = sum(len(r["checks"]) for r in rows)
    kept = sum(r["kept"] for r in rows)
    before = sum(r["tokens_before"] for r in rows) / n
    after = sum(r["tokens_after"] for r in rows) / n
    return {
        "n": n,
        "all_gold_kept": sum(r["kept"] == len(r["checks"]) for r in rows) / n,
        "gold_line_recall": kept / gold if gold else float("nan"),
        "ratio": before / after if after else float("inf"),
        "tokens_before": before,
        "tokens_after": after,
        "over_budget": sum(r["tokens_after"] > math.floor(r["tokens_before"] / ratio)
                           for r in rows),
        "compress_ms_mean": sum(r["compress_ms"] for r in rows) / n,
        "added_ms_mean": sum(r["wall_ms"] - r["direct_ms"] for r in rows) / n,
    }


def table(split, results, min_chars):
    out = [f"### {split}: pith serve (anthropic SDK {anthropic.__version__}, min_chars "
           f"{min_chars})", "",
           "| method | size | cases | n | all_gold_kept | gold_line_recall | ratio "
           "| tokens before → after | over budget | ms mean (x-pith-compress-ms) "
           "| ms mean (wall − direct) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for ratio in RATIOS:
        for label in ("all", "compressed"):
            s = results[ratio][label]
            if s is None:
                out.append(f"| pith-serve | {ratio}x | {label} | 0 | | | | | | | |")
                continue
            out.append(
                f"| pith-serve | {ratio}x | {label} | {s['n']} | {s['all_gold_kept']:.1%} "
                f"| {s['gold_line_recall']:.1%} | {s['ratio']:.2f}x "
                f"| {s['tokens_before']:.0f} → {s['tokens_after']:.0f} | {s['over_budget']} "
                f"| {s['compress_ms_mean']:.1f} | {s['added_ms_mean']:.1f} |")
    out.append("")
    for ratio in RATIOS:
        u = results[ratio]["unchanged"]
        out.append(f"- {ratio}x: {len(u)} of {results[ratio]['all']['n']} forwarded unchanged "
                   f"({sum(1 for i in u if i['short'])} under {min_chars} chars, "
                   f"{sum(1 for i in u if not i['short'])} at or over it)"
                   + (": " + ", ".join(i["id"] for i in u if not i["short"])
                      if any(not i["short"] for i in u) else ""))
    return "\n".join(out)


def eval_query(case):
    """`pith::tool_query` as `pith eval toolout` calls it (serde_json's compact arguments)."""
    args = json.dumps(case["tool"]["input"], separators=(",", ":"), ensure_ascii=False)
    call = f"{case['tool']['name']} {args}".strip()
    parts = [case["task"].strip()[-2000:], case["assistant"].strip()[-2000:], call[:2000]]
    return "\n".join(p for p in parts if p)


def library_output(pith, case, ratio):
    """The library path for one case: `pith compress` with the eval's query and preset."""
    r = subprocess.run([pith, "compress", "--ratio", str(ratio), "--preset", "rag",
                        "--query", eval_query(case), "-"],
                       input=case["output"].encode(), capture_output=True, check=True)
    return r.stdout.decode()


def inprocess(pith, data):
    r = subprocess.run([pith, "eval", "toolout", "--data", str(data), "--method", "pith",
                        "--overall"], cwd=ROOT, capture_output=True, text=True, check=True)
    return r.stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="dev,held")
    ap.add_argument("--json", help="write the summaries and per-case rows here")
    ap.add_argument("--limit", type=int, help="only the first K cases of each split")
    ap.add_argument("--min-chars", type=int, default=MIN_CHARS,
                    help="the proxy's min_chars (a --config file): blocks shorter than this "
                         "are forwarded as sent; 0 compresses every case")
    args = ap.parse_args()
    pith = os.environ.get("PITH_BIN", "/tmp/pith-serve-eval")
    enc = tiktoken.get_encoding("o200k_base")

    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    uport = upstream.server_address[1]
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    config = Path(tempfile.mkdtemp(prefix="serve_eval_cfg_")) / "pith.toml"
    config.write_text(f"min_chars = {args.min_chars}\n")
    proc = subprocess.Popen(
        [pith, "serve", "--listen", f"127.0.0.1:{port}",
         "--anthropic-upstream", f"http://127.0.0.1:{uport}", "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    report = {}
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    sys.exit(f"pith serve exited: {proc.stderr.read()}")
                time.sleep(0.05)
        else:
            sys.exit("pith serve did not answer /healthz")
        via = anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key="test",
                                  max_retries=0, timeout=120)
        direct = anthropic.Anthropic(base_url=f"http://127.0.0.1:{uport}", api_key="test",
                                     max_retries=0, timeout=120)
        # Warm both paths (connection set-up, the proxy's first compressor).
        warm = read_cases(ROOT / "eval/toolout/dev.jsonl.gz")[0]
        send(via, warm, 4, "warm")
        send(direct, warm, None, "warm-direct")

        for split in args.split.split(","):
            data = ROOT / f"eval/toolout/{split}.jsonl.gz"
            cases = read_cases(data)[: args.limit]
            results = {}
            for ratio in RATIOS:
                rows = []
                for case in cases:
                    tag = f"{split}/{ratio}/{case['id']}"
                    headers, wall = send(via, case, ratio, tag)
                    _, direct_ms = send(direct, case, None, tag + "/direct")
                    text = forwarded_text(Recorder.bodies.pop(tag))
                    Recorder.bodies.pop(tag + "/direct", None)
                    checks = gold_checks(case["output"], case["gold"])
                    lines = set(rust_lines(text))
                    rows.append({
                        "id": case["id"],
                        "kind": case["kind"],
                        "changed": text != case["output"],
                        "short": len(case["output"]) < args.min_chars,
                        "checks": checks,
                        "kept": sum(passed(c, text, lines) for c in checks),
                        "tokens_before": len(enc.encode(case["output"], disallowed_special=())),
                        "tokens_after": len(enc.encode(text, disallowed_special=())),
                        "compress_ms": float(headers.get("x-pith-compress-ms", "nan")),
                        "wall_ms": wall,
                        "direct_ms": direct_ms,
                        "pith_error": headers.get("x-pith-error"),
                        "same_as_library": (text == library_output(pith, case, ratio)
                                            if text != case["output"] else None),
                    })
                results[ratio] = {
                    "all": summarise(rows, ratio),
                    "compressed": summarise([r for r in rows if r["changed"]], ratio),
                    "unchanged": [{"id": r["id"], "short": r["short"]}
                                  for r in rows if not r["changed"]],
                    "rows": [{k: v for k, v in r.items() if k != "checks"} | {
                        "gold": len(r["checks"])} for r in rows],
                }
            both = [c for c in cases if all(
                r["changed"] for ratio in RATIOS for r in results[ratio]["rows"]
                if r["id"] == c["id"])]
            subset = Path(tempfile.mkdtemp(prefix="serve_eval_")) / f"{split}-compressed.jsonl.gz"
            with gzip.open(subset, "wt", encoding="utf-8") as f:
                for c in both:
                    f.write(json.dumps(c, ensure_ascii=False) + "\n")
            errors = [r for ratio in RATIOS for r in results[ratio]["rows"] if r["pith_error"]]
            print(table(split, results, args.min_chars))
            for ratio in RATIOS:
                rows = [r for r in results[ratio]["rows"] if r["changed"]]
                same = sum(bool(r["same_as_library"]) for r in rows)
                print(f"- {ratio}x: forwarded text byte-identical to `pith compress --preset rag "
                      f"--query <eval query> --ratio {ratio}` in {same} of {len(rows)} "
                      f"compressed cases"
                      + "".join(f"; differs: {r['id']}" for r in rows
                                if not r["same_as_library"]))
            for r in errors:
                print(f"- x-pith-error on {r['id']}: {r['pith_error']}")
            print()
            print(f"### {split}: in-process `pith eval toolout --method pith --overall`")
            print()
            harness = inprocess(pith, data)
            print(harness)
            print()
            print(f"### {split}: in-process, only the {len(both)} cases pith serve compressed "
                  f"(at both ratios)")
            print()
            harness_subset = inprocess(pith, subset)
            print(harness_subset)
            print()
            shutil.rmtree(subset.parent)
            report[split] = {"serve": results, "inprocess": harness,
                             "inprocess_compressed": harness_subset}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        upstream.shutdown()
        upstream.server_close()
        shutil.rmtree(config.parent)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
