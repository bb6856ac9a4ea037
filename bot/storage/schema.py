"""Bringing a database to the schema this release needs: provisioning and alembic migrations.

``migrate`` runs ``alembic upgrade`` (in a thread: alembic's async environment runs its own
event loop) with the owner role's URL; ``current_revision`` and ``head_revision`` tell whether
a database is up to date; ``provision_embedded`` gives a fresh embedded server the roles,
database and extension that ``callproc db roles`` gives a real one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.storage.embedded import EmbeddedPostgres
from bot.storage.roles import (
    DATABASE,
    SCHEMA,
    cluster_statements,
    create_database_statement,
    database_statements,
)

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(dsn: str | None = None) -> Config:
    """The project's alembic configuration, pointed at ``dsn`` if given."""
    config = Config(str(ROOT / "alembic.ini"))
    if dsn is not None:
        config.attributes["dsn"] = dsn
    return config


def head_revision() -> str:
    """The newest migration in ``migrations/``."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def migrate(dsn: str, revision: str = "head") -> None:
    """Upgrade the database at ``dsn`` (the owner role) to ``revision``."""
    await asyncio.to_thread(command.upgrade, alembic_config(dsn), revision)


async def current_revision(dsn: str, timeout: float = 5.0) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    conn = await asyncpg.connect(dsn, timeout=timeout)
    try:
        exists = await conn.fetchval("SELECT to_regclass($1)", f"{SCHEMA}.alembic_version")
        if exists is None:
            return None
        return await conn.fetchval(f"SELECT version_num FROM {SCHEMA}.alembic_version")
    finally:
        await conn.close()


async def provision_embedded(server: EmbeddedPostgres, database: str = DATABASE) -> None:
    """Create the roles, the database and pgvector on an embedded server (idempotent)."""
    conn = await asyncpg.connect(server.dsn(), timeout=10)
    try:
        for statement in cluster_statements(None, None):
            await conn.execute(statement)
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(create_database_statement(database))
    finally:
        await conn.close()
    conn = await asyncpg.connect(server.dsn(database=database), timeout=10)
    try:
        for statement in database_statements(database):
            await conn.execute(statement)
    finally:
        await conn.close()
