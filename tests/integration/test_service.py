"""The HTTP app and graceful shutdown of the in-process service."""

import asyncio

import aiohttp
import pytest

from bot import __version__
from sandbox.caller import CallScript, place_call

pytestmark = pytest.mark.integration


async def _get(port: int, path: str) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as resp,
    ):
        return resp.status, await resp.json()


async def _wait_for_calls(service, n: int) -> None:
    async with asyncio.timeout(5):  # a bounded wait for a condition, not a guessed delay
        while service.server.active_calls < n:  # noqa: ASYNC110 - polls server state
            await asyncio.sleep(0.01)


async def test_health_and_readiness(start_service) -> None:
    service = await start_service()

    assert await _get(service.http_port, "/health") == (
        200,
        {"status": "ok", "version": __version__},
    )
    status, body = await _get(service.http_port, "/health/ready")
    assert status == 200
    assert body == {
        "ready": True,
        "degraded": [],
        "checks": {
            "audiosocket": {"ok": True, "detail": "0 active calls", "required": True},
            "postgres": {"ok": True, "detail": "ok", "required": False},
            "redis": {"ok": True, "detail": "ok", "required": False},
        },
    }


async def test_plain_readiness_for_the_dialplan(start_service) -> None:
    service = await start_service()
    url = f"http://127.0.0.1:{service.http_port}/health/ready?format=plain"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            assert (resp.status, await resp.text()) == (200, "ready")
        service.request_stop()
        async with session.get(url) as resp:
            assert (resp.status, await resp.text()) == (503, "not_ready audiosocket: draining")


async def test_not_ready_at_capacity(start_service) -> None:
    service = await start_service(audiosocket={"max_calls": 1})
    call = asyncio.create_task(
        place_call("127.0.0.1", service.server.port, CallScript(duration_secs=2))
    )
    await _wait_for_calls(service, 1)

    status, body = await _get(service.http_port, "/health/ready")

    assert status == 503
    assert body["checks"]["audiosocket"] == {
        "ok": False,
        "detail": "at capacity (1 calls)",
        "required": True,
    }
    await call


async def test_draining_refuses_new_calls_and_is_not_ready(start_service) -> None:
    service = await start_service()
    service.request_stop()

    status, body = await _get(service.http_port, "/health/ready")
    refused = await place_call("127.0.0.1", service.server.port, CallScript(duration_secs=2))

    assert status == 503
    assert body["checks"]["audiosocket"]["detail"] == "draining"
    assert refused.ended_by == "server_hangup"
    assert refused.stats.frames == 0


async def test_shutdown_lets_calls_finish_within_the_drain_time(start_service) -> None:
    service = await start_service(drain_secs=10)
    call = asyncio.create_task(
        place_call("127.0.0.1", service.server.port, CallScript(duration_secs=1.5))
    )
    await _wait_for_calls(service, 1)

    await service.stop()

    assert (await call).ended_by == "caller"  # not cut short by the shutdown


async def test_shutdown_past_the_drain_time_ends_calls_with_a_bot_hangup(start_service) -> None:
    service = await start_service(drain_secs=0.5)
    call = asyncio.create_task(
        place_call("127.0.0.1", service.server.port, CallScript(duration_secs=30))
    )
    await _wait_for_calls(service, 1)

    await service.stop()

    result = await call
    # A hangup (0x00) lets the dialplan continue to the operators; a dropped socket would not.
    assert result.ended_by == "server_hangup"
    assert result.ended_at - result.connected_at < 5
    assert service.server.active_calls == 0
