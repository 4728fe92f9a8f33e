"""Drives the official OpenAI SDK against PITH_BASE_URL (the mock upstream directly, or
pith in front of it) and prints one line per case. tests/proxy/proxy_server.rs runs it both ways
and requires the same output: the SDK must not be able to tell the proxy is there.

Exit status: 0 all checks passed, 1 a check failed, 3 the SDK is not installed."""

import os
import sys

try:
    import openai
except ImportError:
    print("the openai SDK is missing: run scripts/setup", file=sys.stderr)
    sys.exit(3)

client = openai.OpenAI(base_url=os.environ["PITH_BASE_URL"], api_key="test", max_retries=0)
USER = [{"role": "user", "content": "hi"}]


def check(ok, what):
    if not ok:
        print(f"FAILED: {what}")
        sys.exit(1)


r = client.chat.completions.create(model="gpt-test", messages=USER)
check(r.choices[0].message.content == "Hello", f"chat content {r}")
print("chat:", r.id, r.choices[0].message.content, r.usage.total_tokens)

stream = client.chat.completions.create(model="gpt-test", messages=USER, stream=True)
parts = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
check("".join(parts) == "Hello", f"chat stream {parts}")
print("chat-stream:", parts)

r = client.responses.create(model="gpt-test", input="hi")
check(r.output_text == "Hello", f"responses {r}")
print("responses:", r.id, r.output_text)

events = list(client.responses.create(model="gpt-test", input="hi", stream=True))
deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
check("".join(deltas) == "Hello", f"responses stream {events}")
check(events[-1].type == "response.completed", f"last event {events[-1]}")
print("responses-stream:", [e.type for e in events], deltas)

tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}]
messages = [{"role": "user", "content": "Weather in Paris?"}]
r = client.chat.completions.create(model="gpt-test", messages=messages, tools=tools)
call = r.choices[0].message.tool_calls[0]
check(call.function.name == "get_weather", f"tool call {r}")
messages.append(r.choices[0].message.model_dump(exclude_none=True))
messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"})
r = client.chat.completions.create(model="gpt-test", messages=messages, tools=tools)
check(r.choices[0].message.content == "tool said: sunny, 21C", f"tool answer {r}")
print("tools:", call.id, call.function.arguments, r.choices[0].message.content)

expected = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    429: openai.RateLimitError,
    500: openai.InternalServerError,
    529: openai.InternalServerError,
}
for status, cls in expected.items():
    try:
        client.chat.completions.create(model=f"status-{status}", messages=USER)
        check(False, f"status {status} raised nothing")
    except openai.APIStatusError as e:
        check(type(e) is cls, f"status {status} raised {type(e).__name__}")
        check(e.status_code == status, f"status {e.status_code}")
        print(f"error {status}:", type(e).__name__, e.code, e.type,
              e.response.headers.get("retry-after"))
print("ok")
