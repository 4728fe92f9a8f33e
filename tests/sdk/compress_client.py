"""Sends one agent turn with a long tool result through PITH_BASE_URL with the official
SDK named in argv[1] (openai or anthropic); the tool result is the text in PITH_TOOL_TEXT.
Prints the answer and pith's savings headers (absent when talking to the mock directly).

Exit status: 0 ok, 1 a check failed, 3 the SDK is not installed."""

import os
import sys

which = sys.argv[1]
try:
    sdk = __import__(which)
except ImportError:
    print(f"the {which} SDK is missing: run scripts/setup", file=sys.stderr)
    sys.exit(3)

base = os.environ["PITH_BASE_URL"]
tool_text = open(os.environ["PITH_TOOL_TEXT"], encoding="utf-8").read()
question = "What does the essay say about determination?"

if which == "openai":
    client = sdk.OpenAI(base_url=base, api_key="test", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-test",
        messages=[
            {"role": "system", "content": "Answer from the tool output only."},
            {"role": "user", "content": question},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
             "function": {"name": "fetch_page", "arguments": "{\"url\": \"https://example.com/founders\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": tool_text},
            {"role": "user", "content": "Summarise it in one line."},
        ],
        tools=[{"type": "function", "function": {"name": "fetch_page", "parameters": {"type": "object"}}}],
    )
    answer = raw.parse().choices[0].message.content
else:
    client = sdk.Anthropic(base_url=base, api_key="test", max_retries=0)
    raw = client.messages.with_raw_response.create(
        model="claude-test",
        max_tokens=100,
        system="Answer from the tool output only.",
        messages=[
            {"role": "user", "content": question},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "fetch_page",
                                               "input": {"url": "https://example.com/founders"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": tool_text},
                                         {"type": "text", "text": "Summarise it in one line."}]},
        ],
    )
    answer = raw.parse().content[0].text
print("answer:", answer)
print("saved:", raw.headers.get("x-pith-tokens-saved"), raw.headers.get("x-pith-compressed"))
