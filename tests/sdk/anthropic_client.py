"""Drives the official Anthropic SDK against PITH_BASE_URL (the mock upstream directly,
or pith in front of it) and prints one line per case; tests/proxy/proxy_server.rs requires the
same output both ways.

Exit status: 0 all checks passed, 1 a check failed, 3 the SDK is not installed."""

import os
import sys

try:
    import anthropic
except ImportError:
    print("the anthropic SDK is missing: run scripts/setup", file=sys.stderr)
    sys.exit(3)

client = anthropic.Anthropic(base_url=os.environ["PITH_BASE_URL"], api_key="test", max_retries=0)
USER = [{"role": "user", "content": "hi"}]


def check(ok, what):
    if not ok:
        print(f"FAILED: {what}")
        sys.exit(1)


r = client.messages.create(model="claude-test", max_tokens=64, messages=USER)
check(r.content[0].text == "Hello", f"message {r}")
print("messages:", r.id, r.content[0].text, r.usage.input_tokens, r.stop_reason)

events = list(client.messages.create(model="claude-test", max_tokens=64, messages=USER, stream=True))
print("messages-raw-stream:", [e.type for e in events])
check(events[-1].type == "message_stop", f"last event {events[-1]}")

with client.messages.stream(model="claude-test", max_tokens=64, messages=USER) as s:
    parts = list(s.text_stream)
    final = s.get_final_message()
check("".join(parts) == "Hello" and final.content[0].text == "Hello", f"stream {parts} {final}")
print("messages-stream:", parts, final.stop_reason, final.usage.output_tokens)

n = client.messages.count_tokens(model="claude-test", messages=USER)
print("count-tokens:", n.input_tokens)

tools = [{"name": "get_weather", "description": "Weather of a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
messages = [{"role": "user", "content": "Weather in Paris?"}]
r = client.messages.create(model="claude-test", max_tokens=64, messages=messages, tools=tools)
use = next(b for b in r.content if b.type == "tool_use")
check(use.name == "get_weather" and r.stop_reason == "tool_use", f"tool use {r}")
messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in r.content]})
messages.append({"role": "user", "content": [
    {"type": "tool_result", "tool_use_id": use.id, "content": "sunny, 21C"}]})
r = client.messages.create(model="claude-test", max_tokens=64, messages=messages, tools=tools)
check(r.content[0].text == "tool said: sunny, 21C", f"tool answer {r}")
print("tools:", use.id, use.input, r.content[0].text)

expected = {
    400: anthropic.BadRequestError,
    401: anthropic.AuthenticationError,
    429: anthropic.RateLimitError,
    500: anthropic.InternalServerError,
    529: anthropic.OverloadedError,
}
for status, cls in expected.items():
    try:
        client.messages.create(model=f"status-{status}", max_tokens=64, messages=USER)
        check(False, f"status {status} raised nothing")
    except anthropic.APIStatusError as e:
        check(type(e) is cls, f"status {status} raised {type(e).__name__}")
        check(e.status_code == status, f"status {e.status_code}")
        print(f"error {status}:", type(e).__name__, e.body["error"]["type"],
              e.response.headers.get("retry-after"))
print("ok")
