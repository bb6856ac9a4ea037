"""Live sessions in a real Redis: TTLs, the active set, handoffs, and an outage."""

import time

import pytest

from bot.settings import RedisSettings
from bot.storage.sessions import ACTIVE, SessionStore, connect, session_key

pytestmark = pytest.mark.integration

SETTINGS = RedisSettings(session_ttl_secs=60, ended_ttl_secs=5, handoff_ttl_secs=600)


async def store(url: str) -> SessionStore:
    sessions = SessionStore(connect(url, SETTINGS), SETTINGS)
    sessions.start()
    return sessions


async def test_a_session_lives_while_the_call_does_and_expires_after(redis_url: str):
    sessions = await store(redis_url)
    sessions.update("call-1", state="greeting", language="uk-UA", turns=0)
    assert await sessions.flush(5)
    key = session_key("call-1")
    assert 55 <= await sessions.client.ttl(key) <= 60
    assert await sessions.active_calls() == ["call-1"]
    sessions.update("call-1", state="in_call", turns=1)  # activity refreshes the TTL
    sessions.end("call-1", "completed")
    assert await sessions.flush(5)
    session = await sessions.get_session("call-1")
    assert session["state"] == "ended" and session["turns"] == "1"
    assert session["language"] == "uk-UA"
    assert 0 < await sessions.client.ttl(key) <= 5
    assert await sessions.active_calls() == []
    await sessions.close()


async def test_calls_of_an_instance_that_died_leave_the_active_set(redis_url: str):
    sessions = await store(redis_url)
    await sessions.client.zadd(ACTIVE, {"ghost": time.time() - 1})  # its TTL passed
    sessions.update("live", state="in_call")
    assert await sessions.flush(5)
    assert await sessions.active_calls() == ["live"]
    await sessions.close()


async def test_a_handoff_is_found_by_call_id(redis_url: str):
    sessions = await store(redis_url)
    sessions.put_handoff("call-2", {"reason": "caller_request", "summary": "Повернення"})
    assert await sessions.flush(5)
    assert await sessions.get_handoff("call-2") == {
        "reason": "caller_request",
        "summary": "Повернення",
    }
    assert 590 <= await sessions.client.ttl("callproc:handoff:call-2") <= 600
    assert await sessions.get_handoff("nobody") is None
    await sessions.close()


async def test_notes_wait_out_an_outage_newest_state_wins(storage_servers, redis_url: str):
    redis = storage_servers[1]
    sessions = await store(redis_url)
    await redis.stop()
    try:
        sessions.update("call-3", state="greeting")
        sessions.update("call-3", state="in_call", turns=2)
        assert not await sessions.flush(0.5)
        assert not sessions.healthy
    finally:
        await redis.start()
    assert await sessions.flush(10)
    assert sessions.healthy
    session = await sessions.get_session("call-3")
    assert session["state"] == "in_call" and session["turns"] == "2"
    await sessions.close()
