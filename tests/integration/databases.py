"""Real PostgreSQL and Redis for the tests: one embedded server each per test session.

The PostgreSQL server holds a migrated template database; every test that asks for a
database gets a fresh copy of it (``CREATE DATABASE ... TEMPLATE``, a few tens of ms), so
tests never see each other's rows. Redis tests get a database index of their own, emptied.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

from bot.storage.embedded import EmbeddedPostgres, EmbeddedRedis
from bot.storage.roles import APP, OWNER, create_database_statement, database_statements
from bot.storage.schema import migrate, provision_embedded

TEMPLATE = "callproc_template"
_numbers = itertools.count(1)


@dataclass
class ScratchDatabase:
    """A fresh, migrated database on the session's server, and its two roles' URLs."""

    name: str
    server: EmbeddedPostgres

    @property
    def app_dsn(self) -> str:
        return self.server.dsn(APP, self.name)

    @property
    def owner_dsn(self) -> str:
        return self.server.dsn(OWNER, self.name)

    async def count(self, table: str) -> int:
        conn = await asyncpg.connect(self.owner_dsn)
        try:
            return await conn.fetchval(f"SELECT count(*) FROM callproc.{table}")
        finally:
            await conn.close()

    async def outcome(self, call_uuid: object) -> str | None:
        """The outcome stored for a call (None while it has none, or no row)."""
        conn = await asyncpg.connect(self.owner_dsn)
        try:
            return await conn.fetchval(
                "SELECT outcome FROM callproc.calls WHERE call_uuid = $1", call_uuid
            )
        finally:
            await conn.close()


def start_servers(root: Path) -> tuple[EmbeddedPostgres, EmbeddedRedis]:
    """Start both servers and prepare the template database (for a session fixture)."""
    postgres, redis = EmbeddedPostgres(root), EmbeddedRedis(root)

    async def start() -> None:
        await postgres.start()
        await provision_embedded(postgres, TEMPLATE)
        await migrate(postgres.dsn(OWNER, TEMPLATE))
        await redis.start()

    asyncio.run(start())
    return postgres, redis


def stop_servers(postgres: EmbeddedPostgres, redis: EmbeddedRedis) -> None:
    """Stop both servers (the end of the session)."""

    async def stop() -> None:
        await redis.stop(force=True)
        await postgres.stop(force=True)

    asyncio.run(stop())


async def new_database(server: EmbeddedPostgres, *, migrated: bool = True) -> ScratchDatabase:
    """A database of its own for one test: a copy of the template, or empty."""
    name = f"test_{next(_numbers)}"
    conn = await asyncpg.connect(server.dsn())
    try:
        if migrated:
            await conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} OWNER {OWNER}")
        else:
            await conn.execute(create_database_statement(name))
    finally:
        await conn.close()
    conn = await asyncpg.connect(server.dsn(database=name))
    try:
        for statement in database_statements(name):
            await conn.execute(statement)
    finally:
        await conn.close()
    return ScratchDatabase(name, server)


async def redis_db(server: EmbeddedRedis) -> str:
    """The URL of an emptied Redis database index for one test."""
    index = next(_numbers) % 15 + 1
    url = f"{server.url}?db={index}"
    client = aioredis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
    return url
