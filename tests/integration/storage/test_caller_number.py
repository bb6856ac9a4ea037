"""The caller's number: reported by the dialplan over HTTP, kept only as a keyed hash."""

import uuid

import aiohttp
import asyncpg
import pytest

from bot.storage.records import caller_number_hash
from sandbox.caller import CallScript, place_call, report_caller_number
from tests.integration.databases import ScratchDatabase

pytestmark = pytest.mark.integration


async def test_the_number_reported_before_the_call_is_stored_as_a_keyed_hash(
    start_service, database: ScratchDatabase
):
    service = await start_service()
    http = f"http://127.0.0.1:{service.http_port}"
    call_id = uuid.uuid4()
    await report_caller_number(http, call_id, "+380 67 123 45 67", service.api_token)
    await place_call("127.0.0.1", service.server.port, CallScript(duration_secs=1), call_id=call_id)
    assert await service.server.wait_idle(timeout=5)
    other = uuid.uuid4()  # a call nobody reported a number for
    await place_call("127.0.0.1", service.server.port, CallScript(duration_secs=1), call_id=other)
    assert await service.server.wait_idle(timeout=5)
    assert await service.storage.writer.flush(10)

    conn = await asyncpg.connect(database.owner_dsn)
    try:
        stored = dict(await conn.fetch("SELECT call_uuid, caller_number_hash FROM callproc.calls"))
        whole_table = str(await conn.fetch("SELECT * FROM callproc.calls"))
    finally:
        await conn.close()
    assert stored[call_id] == caller_number_hash("0671234567", service.storage.caller_key)
    assert stored[other] is None
    assert "1234567" not in whole_table


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/calls/not-a-uuid/caller", {"number": "0671234567"}),
        (f"/calls/{uuid.uuid4()}/caller", {"number": "anonymous"}),
        (f"/calls/{uuid.uuid4()}/caller", {}),
    ],
)
async def test_a_bad_report_is_refused(start_service, path, body):
    service = await start_service()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{service.http_port}{path}",
            params={"token": service.api_token},
            data=body,
        ) as response,
    ):
        assert response.status == 400


async def test_without_the_token_nothing_is_taken(start_service):
    service = await start_service()
    url = f"http://127.0.0.1:{service.http_port}/calls/{uuid.uuid4()}/caller"
    async with aiohttp.ClientSession() as session:
        for params in ({}, {"token": "wrong"}):
            async with session.post(url, params=params, data={"number": "0671234567"}) as r:
                assert r.status == 401
