"""The client side of `cargo bench --bench proxy_latency` that behaves like the official
SDKs: the openai and anthropic packages send through httpx (here `httpx2`, which they
depend on), one keep-alive connection, the request headers and the body written to the
socket separately. Times the same requests straight to the mock upstream and through
pith, interleaved, and prints the times in milliseconds as JSON:

    {"non-streaming": {"direct": [...], "pith": [...]}, "streaming": {...}}

Non-streaming: the whole response; streaming: up to the first byte of the body.

    python3 benches/sdk_client.py DIRECT_URL PITH_URL BODY_FILE ROUNDS

Exit status: 0 done, 3 httpx is not installed (run scripts/setup)."""

import json
import sys
import time

try:
    import httpx2 as httpx
except ImportError:
    try:
        import httpx
    except ImportError:
        print("httpx is missing: run scripts/setup", file=sys.stderr)
        sys.exit(3)

direct_url, pith_url, body_file, rounds = sys.argv[1:5]
rounds = int(rounds)
with open(body_file, "rb") as f:
    chat = json.load(f)
HEADERS = {"content-type": "application/json", "authorization": "Bearer test"}


def once(client, url, body, stream):
    start = time.perf_counter()
    if not stream:
        r = client.post(url, content=body, headers=HEADERS)
        r.read()
        assert r.status_code == 200 and r.content, r
        return (time.perf_counter() - start) * 1e3
    with client.stream("POST", url, content=body, headers=HEADERS) as r:
        chunks = r.iter_raw()
        first = next(chunks, b"")
        at_first = (time.perf_counter() - start) * 1e3
        assert r.status_code == 200 and first, r
        for _ in chunks:
            pass
    return at_first


out = {}
# One client (one pooled keep-alive connection) per target, as an application has.
with httpx.Client(timeout=30) as direct, httpx.Client(timeout=30) as via:
    for name, stream in (("non-streaming", False), ("streaming", True)):
        body = json.dumps(dict(chat, stream=stream)).encode()
        for _ in range(10):  # warm-up: connections, pith's memo
            once(direct, direct_url, body, stream)
            once(via, pith_url, body, stream)
        times = {"direct": [], "pith": []}
        for _ in range(rounds):
            times["direct"].append(once(direct, direct_url, body, stream))
            times["pith"].append(once(via, pith_url, body, stream))
        out[name] = times
print(json.dumps(out))
