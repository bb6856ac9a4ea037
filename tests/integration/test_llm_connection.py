"""The process's HTTP client for Claude keeps a call's connection open between its turns."""

import asyncio

import anthropic
import httpx2
import pytest

from bot.services import llm_http_client
from sandbox.anthropic_api import AnthropicStandIn, Knobs, Script

pytestmark = pytest.mark.integration

TURN_GAP_SECS = 5.5  # a caller's next turn; httpx drops connections idle for 5 s


async def connections_over_two_turns(http: httpx2.AsyncClient) -> tuple[object, object]:
    """The connection each of two requests, a turn apart, went over."""
    standin = AnthropicStandIn(Script.from_yaml("rules: []"), Knobs(first_token_ms=0))
    await standin.start()
    client = anthropic.AsyncAnthropic(api_key="k", base_url=standin.base_url, http_client=http)
    used = []
    try:
        for turn in range(2):
            if turn:
                await asyncio.sleep(TURN_GAP_SECS)  # the caller speaks meanwhile
            await client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=50,
                messages=[{"role": "user", "content": "привіт"}],
            )
            used += http._transport._pool.connections
    finally:
        await client.close()
        await standin.stop()
    return used[0], used[-1]


async def test_httpx_default_opens_a_new_connection_for_the_next_turn():
    first, second = await connections_over_two_turns(httpx2.AsyncClient())
    assert first is not second


async def test_ours_answers_the_next_turn_over_the_same_connection():
    first, second = await connections_over_two_turns(llm_http_client())
    assert first is second
