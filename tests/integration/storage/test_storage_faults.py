"""Whole voice calls while PostgreSQL or Redis goes away and comes back: nothing is lost, the
call does not notice, readiness says what is degraded.

The servers are the session's real embedded PostgreSQL and Redis, stopped and started for
real (``pg_ctl stop``, the redis-server process terminated) in the middle of a call.
"""

import asyncio
import json

import aiohttp
import pytest

from bot.call import Call
from bot.handoff.desk import Handoff, HandoffDesk
from bot.service import Service
from bot.storage.sessions import ACTIVE, handoff_key, session_key
from sandbox.caller import Caller, run_call
from sandbox.scenario import ScenarioPlayer, load_scenarios
from tests.integration.databases import ScratchDatabase

pytestmark = pytest.mark.integration

FAST_RETRY = {"retry_max_secs": 0.2, "connect_timeout_secs": 0.5}


async def readiness(service: Service) -> tuple[int, dict]:
    url = f"http://127.0.0.1:{service.http_port}/health/ready"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def until(condition, timeout: float = 30.0) -> None:
    """Wait for a condition of the running call (bounded; polls every 20 ms)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - polls call state the test cannot await
            await asyncio.sleep(0.02)


async def play(service: Service, scenario_name: str, during) -> Call:
    """Place a scenario call; ``during(call)`` runs once the greeting is being heard."""
    calls: list[Call] = []
    service.on_call.append(calls.append)
    player = ScenarioPlayer(load_scenarios()[scenario_name], service.backends.sandbox.codes)

    async def drive(caller: Caller) -> None:
        assert await caller.wait_bot_speaking(timeout=15)
        meanwhile = asyncio.create_task(during(calls[0]))
        await player(caller)
        await meanwhile

    await run_call("127.0.0.1", service.server.port, drive)
    assert await service.server.wait_idle(timeout=10)
    return calls[0]


def expected_rows(call: Call) -> dict[str, int]:
    turns = call.observer.record.turns
    caller = sum(1 for t in turns[1:] if t.user_text)
    bot = sum(1 for t in turns if t.bot_text or t.wire_audio is not None)
    return {
        "calls": 1,
        "turns": caller + bot,
        "tool_calls": len(call.observer.record.tool_calls),
    }


async def test_postgres_stopped_and_restarted_mid_call_loses_no_row(
    start_service, storage_servers, database: ScratchDatabase
):
    postgres = storage_servers[0]
    # A small buffer, so that part of the call also goes through the spill file.
    service = await start_service(pipeline="voice", database={**FAST_RETRY, "write_buffer": 3})
    writer = service.storage.writer
    assert await writer.flush(10)  # the prompt versions are in
    seen = {}

    async def outage(call: Call) -> None:
        await postgres.stop(force=True)
        try:
            # Keep it down across a caller turn, its tool calls and the bot's answer.
            await until(lambda: len(call.observer.record.tool_calls) >= 2, timeout=60)
            seen["status"], seen["ready"] = await readiness(service)
            seen["spilled"] = writer.spilled
        finally:
            await postgres.start()

    try:
        call = await play(service, "availability", outage)
    finally:
        if not await postgres.running():
            await postgres.start()

    assert call.outcome == "completed"  # the caller never noticed
    assert seen["status"] == 200 and seen["ready"]["ready"] is True
    assert seen["ready"]["degraded"] == ["postgres"]
    assert "records waiting" in seen["ready"]["checks"]["postgres"]["detail"]
    assert seen["spilled"] > 0
    assert await writer.flush(30)
    expected = expected_rows(call)
    counts = {table: await database.count(table) for table in expected}
    print(f"\nrows after the outage: {counts}, spilled {writer.spilled}")
    assert counts == expected
    assert await database.count("prompt_versions") == 3
    status, body = await readiness(service)
    assert status == 200 and body["degraded"] == []


async def test_redis_stopped_mid_call_the_call_goes_on_and_the_session_catches_up(
    start_service, storage_servers, redis_url: str
):
    redis = storage_servers[1]
    service = await start_service(pipeline="voice")
    sessions = service.storage.sessions
    seen = {}

    async def outage(call: Call) -> None:
        assert await sessions.flush(5)
        seen["active"] = await sessions.active_calls()
        await redis.stop()
        try:
            await until(lambda: len(call.observer.record.turns) >= 3, timeout=60)
            seen["status"], seen["ready"] = await readiness(service)
        finally:
            await redis.start()

    call = await play(service, "transfer", outage)

    assert call.outcome == "transferred"
    assert str(call.call_id) in seen["active"]  # it was live in Redis before the outage
    assert seen["status"] == 200 and seen["ready"]["degraded"] == ["redis"]
    assert await sessions.flush(10)
    uuid = str(call.call_id)
    session = await sessions.get_session(uuid)
    assert session["state"] == "ended" and session["outcome"] == "transferred"
    assert 0 < await sessions.client.ttl(session_key(uuid)) <= service.settings.redis.ended_ttl_secs
    assert uuid not in await sessions.active_calls()
    assert await sessions.client.zscore(ACTIVE, uuid) is None
    handoff = await sessions.get_handoff(uuid)
    assert handoff["reason"] == "caller_request" and handoff["caller_wants"]
    # The handoff reached PostgreSQL too, whatever Redis was doing.
    assert await service.storage.writer.flush(10)
    stored = await service.storage.database.call_detail(call.call_id)
    assert stored["handoff"]["summary"] == handoff["summary"]


async def test_a_transfer_is_kept_in_postgres_and_redis(start_service, database: ScratchDatabase):
    service = await start_service(pipeline="voice")

    async def nothing(call: Call) -> None:
        return None

    call = await play(service, "transfer", nothing)
    uuid = str(call.call_id)
    assert await service.storage.writer.flush(10)
    assert await service.storage.sessions.flush(10)
    detail = await service.storage.database.call_detail(call.call_id)
    assert detail["outcome"] == "transferred" and detail["outcome_reason"] == "caller_request"
    assert detail["handoff"]["reason"] == "caller_request"
    assert detail["prompt_version"] == service.prompts.version
    assert detail["llm_requests"] == call.observer.record.llm_requests > 0
    in_redis = await service.storage.sessions.get_handoff(uuid)
    assert {k: in_redis[k] for k in ("reason", "caller_wants")} == {
        k: detail["handoff"][k] for k in ("reason", "caller_wants")
    }
    # Another instance, once Redis has forgotten it, finds the handoff in PostgreSQL.
    await service.storage.sessions.client.delete(handoff_key(uuid))
    elsewhere = HandoffDesk(service.settings.handoff, service.storage, None, "unused")
    found = await elsewhere.find(uuid)
    assert isinstance(found, Handoff) and found.reason == "caller_request"
    assert found.summary == detail["handoff"]["summary"]
    # The latency summary matches the turns it summarises.
    v2v = sorted(t["voice_to_voice_ms"] for t in detail["transcript"] if t["voice_to_voice_ms"])
    assert detail["latency"]["voice_to_voice_ms"]["max"] == v2v[-1]
    assert json.dumps(detail, ensure_ascii=False)  # what `calls show --json` prints
