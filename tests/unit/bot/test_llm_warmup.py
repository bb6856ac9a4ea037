"""The SDK's first streamed response is parsed at start-up, from a canned one."""

import pytest

from bot.llm_warmup import warm_up_anthropic

pytestmark = pytest.mark.unit


async def test_the_warm_up_streams_text_and_a_tool_call_through_the_sdk():
    # message_start, text block (start, delta, stop), tool block (start, delta, stop),
    # message_delta, message_stop: the SDK swallows the ping.
    assert await warm_up_anthropic("claude-haiku-4-5") == 9
