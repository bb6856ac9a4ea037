"""Bringing a database to the schema this release needs: provisioning and alembic migrations.

``migrate`` runs ``alembic upgrade`` (in a thread: alembic's async environment runs its own
event loop) with the owner role's URL; ``current_revision`` and ``head_revision`` tell whether
a database is up to date; ``provision`` gives a server the roles, database and extension
(``callproc db setup`` on a real server, ``provision_embedded`` on the embedded one) that
``callproc db roles`` prints for a person to run.
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
    await provision(server.dsn(), server.dsn(database=database), database)


async def provision(
    admin_dsn: str,
    admin_dsn_in_database: str,
    database: str = DATABASE,
    *,
    owner_password: str | None = None,
    app_password: str | None = None,
) -> None:
    """As a superuser: the roles (with these passwords), the database and pgvector (idempotent).

    Args:
        admin_dsn: A superuser's URL, to any database of the server.
        admin_dsn_in_database: The same superuser's URL to ``database`` (it may not exist yet).
        database: The database to create.
        owner_password: Password set on the owner role (None: left as it is).
        app_password: Password set on the application role (None: left as it is).
    """
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        for statement in cluster_statements(owner_password, app_password):
            await conn.execute(statement)
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(create_database_statement(database))
    finally:
        await conn.close()
    conn = await asyncpg.connect(admin_dsn_in_database, timeout=10)
    try:
        for statement in database_statements(database):
            await conn.execute(statement)
    finally:
        await conn.close()
