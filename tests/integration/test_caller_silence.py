"""A quiet line is not a hangup: the bot asks whether the caller is there, then says goodbye.

Asterisk sends no frames at all while a caller on a trunk with silence suppression (or a
channel without media) is quiet, and closes the socket itself on a hangup. Real TCP, the
voice pipeline with the stand-ins, the session's PostgreSQL and Redis.
"""

import asyncio
import time
import uuid

import aiohttp
import pytest

from bot.call import Call
from transports.audiosocket.codec import Audio, CallId, Decoder, Hangup, encode

pytestmark = pytest.mark.integration

SILENCE_SECS = 2.0


async def _caller_sends_nothing(port: int) -> tuple[str, float]:
    """The call UUID and 200 ms of audio, then not one frame (the trunk suppresses silence);
    reads everything the bot sends until it ends."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode(CallId(uuid.uuid4())) + encode(Audio(rate=8000, pcm=bytes(320))) * 10)
    started = time.monotonic()
    decoder = Decoder(expect_call_id=False)
    try:
        async with asyncio.timeout(60):
            while chunk := await reader.read(65536):
                for message in decoder.feed(chunk):
                    if isinstance(message, Hangup):
                        return "hangup", time.monotonic() - started
                    assert isinstance(message, Audio)
    finally:
        writer.close()
    return "closed", time.monotonic() - started


async def test_a_line_gone_silent_is_asked_twice_then_hung_up_as_caller_silent(start_service):
    service = await start_service(
        pipeline="voice",
        turn={"silence_prompt_secs": SILENCE_SECS, "silence_prompts": 2},
        audiosocket={"read_timeout_secs": 120},
    )
    calls: list[Call] = []
    service.on_call.append(calls.append)

    ended_by, secs = await _caller_sends_nothing(service.server.port)
    assert await service.server.wait_idle(timeout=10)

    call = calls[0]
    said = [t.bot_text for t in call.observer.record.turns]
    still_there = service.prompts.phrase("still_there")
    assert ended_by == "hangup"  # 0x00: the dialplan goes on (and finds "hangup")
    assert call.outcome == "caller_silent"
    assert sum(text.count(still_there) for text in said) == 2
    assert service.prompts.phrase("goodbye_silent") in " ".join(said)
    assert secs > 3 * SILENCE_SECS  # three silences: two questions, then the goodbye
    url = f"http://127.0.0.1:{service.http_port}/calls/{call.call_id}/handoff"
    params = {"token": service.api_token, "format": "plain"}
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as response:
        assert await response.text() == f"decision=hangup&call_uuid={call.call_id}"
    print(f"\nno-audio line: asked twice, hung up after {secs:.1f} s")
