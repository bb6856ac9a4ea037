"""What a worker tells the supervisor about its calls (:mod:`bot.worker`), in-process.

The supervisor places calls by these reports: a report that says a worker holds fewer calls
than it does sends that worker a call beyond its capacity, which it refuses while another
worker had room. The worker runs the echo pipeline on the session's PostgreSQL and Redis;
the test holds the supervisor's end of the link and hands the worker a real TCP call.
"""

import asyncio
import socket
import uuid
from pathlib import Path

import pytest

from bot.settings import load_settings
from bot.worker import Worker
from bot.worker_link import WorkerLink, link_pair
from sandbox.caller import CallScript, place_call
from tests.integration.databases import ScratchDatabase
from transports.audiosocket.front import HANDSHAKE_BYTES

pytestmark = pytest.mark.integration


async def _next_state(link: WorkerLink) -> dict:
    while True:
        message, conn = await link.receive()
        if conn is not None:
            conn.close()
        if message.get("kind") == "state":
            return message


async def test_every_report_counts_the_calls_the_worker_holds(
    database: ScratchDatabase, redis_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        None,
        audiosocket={"host": "127.0.0.1", "port": 0},
        http={"host": "127.0.0.1", "port": 0},
        pipeline="echo",
        drain_secs=0,
        data_dir=tmp_path / "var",
        database_url=database.app_dsn,
        redis_url=redis_url,
    )
    mine, theirs = link_pair()
    supervisor = WorkerLink(mine)
    worker = Worker(settings, WorkerLink(theirs), capacity=2)
    running = asyncio.create_task(worker.run())
    async with asyncio.timeout(60):  # start-up, then the call's two seconds
        assert (await _next_state(supervisor))["taken"] == 0

        # The supervisor's part: accept the caller, read its UUID, hand the socket over.
        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        call_id = uuid.uuid4()
        caller = asyncio.create_task(
            place_call(
                "127.0.0.1",
                listener.getsockname()[1],
                CallScript(duration_secs=2.0),
                call_id=call_id,
            )
        )
        loop = asyncio.get_running_loop()
        conn, _ = await loop.sock_accept(listener)
        assert len(await loop.sock_recv(conn, HANDSHAKE_BYTES)) == HANDSHAKE_BYTES
        supervisor.send({"kind": "call", "call_uuid": str(call_id), "caller": None}, conn)
        conn.close()  # the worker holds its own copy

        reports = [await _next_state(supervisor)]
        while reports[-1]["active"] or not caller.done():
            reports.append(await _next_state(supervisor))
        assert (await caller).ended_by == "caller"

    worker.request_stop()
    await running
    listener.close()
    taken = [r for r in reports if r["taken"] == 1]
    assert taken[0] is reports[0]  # the supervisor hears of the call at once
    held = [r["active"] for r in taken]
    # Taken, then held in every report until it ends: never a report of an empty worker
    # while the call is on its way in.
    assert held[0] == 1 and held[-1] == 0
    assert held == sorted(held, reverse=True)
