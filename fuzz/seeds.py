#!/usr/bin/env python3
"""Writes the fuzzers' seed inputs into fuzz/seeds/<target>/ (small, committed): realistic
request bodies of the three APIs, source files of every language, prose with markers.
Each seed is one selector byte followed by the body, as the targets read them."""
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent
repo = root.parent
seeds = root / "seeds"

long = "The quick brown fox jumps over the lazy dog. " * 6
code = "def add(a, b):\n    return a + b\n\nclass K:\n    def m(self):\n        pass\n"
bodies = {
    # selector % 4: 0 chat, 1 responses, 2 messages, 3 count_tokens
    0: [
        {"model": "m", "messages": [{"role": "system", "content": long},
                                    {"role": "user", "content": "Use <pith rate=0.5>" + long + "</pith> now"},
                                    {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                        "function": {"name": "read_file", "arguments": "{\"path\":\"a.py\"}"}}]},
                                    {"role": "tool", "tool_call_id": "c1", "content": code},
                                    {"role": "user", "content": [{"type": "text", "text": long}]}],
         "stream": True},
    ],
    1: [
        {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": long}]},
                                 {"type": "function_call", "call_id": "x", "name": "search", "arguments": "{}"},
                                 {"type": "function_call_output", "call_id": "x", "output": long}],
         "instructions": long},
        {"model": "m", "input": long},
    ],
    2: [
        {"model": "c", "max_tokens": 5, "system": [{"type": "text", "text": long}],
         "messages": [{"role": "user", "content": [
             {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": long}},
             {"type": "text", "text": "<LLMLINGUA compress=False>keep</LLMLINGUA> " + long}]},
             {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "grep", "input": {"q": "x"}}]},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                           "content": [{"type": "text", "text": json.dumps({"a": [1, 2, {"b": long}]})}]},
                                          {"type": "search_result", "source": "s", "title": "t",
                                           "content": [{"type": "text", "text": long}]}]}]},
    ],
    3: [{"model": "c", "messages": [{"role": "user", "content": long}]}],
}


def write(target, name, selector, data):
    d = seeds / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(bytes([selector]) + data)


for target in ("request", "rewrite"):
    for api, items in bodies.items():
        for i, b in enumerate(items):
            for style, text in (("compact", json.dumps(b, separators=(",", ":"))),
                                ("pretty", json.dumps(b, indent=2, ensure_ascii=False))):
                write(target, f"api{api}-{i}-{style}", api + 4 * i, text.encode())

langs = ["python", "rust", "javascript", "typescript", "tsx", "go", "java"]
for i, lang in enumerate(langs):
    files = sorted((repo / "tests/fixtures/code" / lang).glob("*")) if lang != "python" else []
    text = files[0].read_bytes()[:3000] if files else code.encode()
    write("segment", lang, i, text)
write("segment", "prose", 7, ("# Title\n\n" + long + "\n\n| a | b |\n|---|---|\n\n```py\nx\n```\n").encode())
write("segment", "json", 8, json.dumps(bodies[2][0], indent=1).encode())
write("segment", "lines", 9, code.encode())

write("prune", "prose", 40, ("Paris is the capital of France? " + long).encode())
write("prune", "markers", 12, ("Keep <pith compress=false>this 42</pith> and <pith rate=0.3>" + long + "</pith>").encode())
write("prune", "json", 30, json.dumps({"name": "Ada Lovelace", "notes": long, "n": [1, 2]}).encode())
write("prune", "code", 20, code.encode())
