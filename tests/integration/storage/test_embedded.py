"""The embedded servers are shared by the processes of one data folder: the last one out stops
them, and a server whose users were all killed is taken over."""

import asyncio
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from bot.settings import load_settings
from bot.storage.embedded import EmbeddedPostgres, EmbeddedRedis
from bot.storage.runtime import Postgres, open_postgres

pytestmark = pytest.mark.integration

ANOTHER_LIVE_PROCESS = "1"  # pid 1 always exists: it stands for a `callproc serve`


async def test_postgres_stays_up_while_another_process_uses_it(tmp_path: Path):
    server = EmbeddedPostgres(tmp_path)
    await server.start()
    (server.leases.folder / ANOTHER_LIVE_PROCESS).touch()
    await server.stop()  # e.g. `callproc calls list` ends while `serve` still runs
    assert await server.running()
    conn = await asyncpg.connect(server.dsn())
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()
    (server.leases.folder / ANOTHER_LIVE_PROCESS).unlink()
    (server.leases.folder / "999999999").touch()  # a process that was killed counts for nothing
    await server.start()
    await server.stop()
    assert not await server.running()


async def test_redis_is_shared_and_a_dead_users_server_is_replaced(tmp_path: Path):
    first = EmbeddedRedis(tmp_path)
    await first.start()
    client = aioredis.from_url(first.url)
    await client.set("k", "v")
    (first.leases.folder / ANOTHER_LIVE_PROCESS).touch()
    second = EmbeddedRedis(tmp_path)
    await second.start()  # another process: uses the running server
    assert await client.get("k") == b"v"
    await second.stop()
    assert await client.get("k") == b"v"  # still up: the other process uses it
    await client.aclose()

    (first.leases.folder / ANOTHER_LIVE_PROCESS).unlink()
    for lease in first.leases.folder.iterdir():
        lease.unlink()  # everybody who used it is gone (killed)
    third = EmbeddedRedis(tmp_path)
    await third.start()  # takes over: a fresh server
    fresh = aioredis.from_url(third.url)
    assert await fresh.get("k") is None
    await fresh.aclose()
    await third.stop()
    assert not third.socket.exists()


async def test_workers_attach_at_once_to_the_server_their_supervisor_prepared(tmp_path: Path):
    # `callproc serve --workers N` on a fresh data folder: the supervisor provisions and
    # migrates, then N workers attach together. Had each provisioned again (prepare=True),
    # two of four would fail with "tuple concurrently updated" (their GRANTs collide).
    settings = load_settings(None, data_dir=tmp_path)
    supervisor = await open_postgres(settings)
    try:
        workers = await asyncio.gather(
            *(open_postgres(settings, prepare=False) for _ in range(4)), return_exceptions=True
        )
        assert all(isinstance(w, Postgres) for w in workers), workers
        conn = await asyncpg.connect(workers[0].app_dsn)
        assert await conn.fetchval("SELECT count(*) FROM callproc.calls") == 0  # app role, migrated
        await conn.close()
    finally:
        await supervisor.close()
