"""The SDK's first streamed response is parsed at start-up, from a canned one."""

import subprocess
import sys

import pytest

from bot.llm_warmup import warm_up_anthropic

pytestmark = pytest.mark.unit

# In a fresh interpreter: the warm-up, then a caller's first request to Claude (answered by
# the same canned server) through the client the service uses; what did the request import?
FIRST_REQUEST_AFTER_WARM_UP = """
import asyncio, sys
import anthropic
from bot.llm_warmup import canned_claude, warm_up_anthropic
from bot.services import llm_http_client

async def main():
    await warm_up_anthropic("claude-haiku-4-5")
    async with canned_claude() as url:
        client = anthropic.AsyncAnthropic(api_key="k", base_url=url, http_client=llm_http_client())
        before = set(sys.modules)
        stream = await client.beta.messages.create(
            model="claude-haiku-4-5", max_tokens=16, stream=True,
            messages=[{"role": "user", "content": "u"}],
        )
        events = [event async for event in stream]
        await client.close()
    print(len(events), sorted(set(sys.modules) - before))

asyncio.run(main())
"""


async def test_the_warm_up_streams_text_and_a_tool_call_through_the_sdk():
    # message_start, text block (start, delta, stop), tool block (start, delta, stop),
    # message_delta, message_stop: the SDK swallows the ping.
    assert await warm_up_anthropic("claude-haiku-4-5") == 9


def test_a_first_request_after_the_warm_up_imports_nothing():
    # A module imported on the way to a caller's first answer stalls every call of the
    # process (the HTTP stack's async backend took 20-28 ms on the first connection).
    done = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST_AFTER_WARM_UP],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "9 []"
