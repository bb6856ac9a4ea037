"""The embedded servers are shared by the processes of one data folder: the last one out stops
them, and a server whose users were all killed is taken over."""

from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from bot.storage.embedded import EmbeddedPostgres, EmbeddedRedis

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
