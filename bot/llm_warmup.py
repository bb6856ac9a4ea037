"""The Anthropic SDK's first request and response, paid at start-up instead of by a caller.

The SDK imports modules and builds its pydantic validators for request parameters and stream
events the first time it meets them: the first answer a worker process streamed took ~70 ms
of CPU more than the next (measured on a 2-core machine; the event loop, and so every call
in the process, waits meanwhile). :func:`warm_up_anthropic` runs one streamed request with
a tool through the same SDK path pipecat uses (``client.beta.messages.create``), answered
by a canned response inside this process: nothing leaves it, and nothing is billed.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2

# One streamed response with text and a tool call: every event kind the product reads.
_EVENTS: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_warmup",
            "type": "message",
            "role": "assistant",
            "model": "warm-up",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Так."}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "toolu_warmup", "name": "t", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"q": "x"}'},
    },
    {"type": "content_block_stop", "index": 1},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 2},
    },
    {"type": "message_stop"},
]


def _canned(request: httpx2.Request) -> httpx2.Response:
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in _EVENTS)
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, text=body)


async def warm_up_anthropic(model: str) -> int:
    """Stream one canned response through the SDK; returns the events it parsed."""
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(_canned))
    client = anthropic.AsyncAnthropic(
        api_key="warm-up", base_url="http://warm-up.invalid", http_client=http, max_retries=0
    )
    tool = {"name": "t", "description": "d", "input_schema": {"type": "object"}}
    try:
        stream = await client.beta.messages.create(
            model=model,
            max_tokens=16,
            stream=True,
            system=[{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": [{"type": "text", "text": "u"}]}],
            tools=[tool],
            betas=["interleaved-thinking-2025-05-14"],
        )
        return len([event async for event in stream])
    finally:
        await client.close()
