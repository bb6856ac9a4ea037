"""The Anthropic SDK's first request and response, paid at start-up instead of by a caller.

The SDK imports modules and builds its pydantic validators for request parameters and stream
events the first time it meets them, and the HTTP stack imports its async backend on its
first connection: the first answer a worker process streamed took ~70 ms of CPU more than
the next, then the first connection another 20-28 ms (measured on a 2-core machine; the
event loop, and so every call in the process, waits meanwhile). :func:`warm_up_anthropic`
runs one streamed request with a tool through the same SDK path pipecat uses
(``client.beta.messages.create``) and a real HTTP connection, answered with a canned stream
by a loopback server inside this process: nothing leaves the machine, nothing is billed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
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


def _canned_body() -> str:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in _EVENTS)


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One HTTP/1.1 request read (headers and body), the canned stream written, closed."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    body = _canned_body().encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def canned_claude() -> AsyncIterator[str]:
    """A loopback server in this process answering every request with the canned stream."""
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def warm_up_anthropic(model: str) -> int:
    """Stream one canned response through the SDK and the HTTP stack; returns its events."""
    async with canned_claude() as url:
        client = anthropic.AsyncAnthropic(
            api_key="warm-up",
            base_url=url,
            http_client=httpx2.AsyncClient(trust_env=False),
            max_retries=0,
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
