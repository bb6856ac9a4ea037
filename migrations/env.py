"""Alembic environment: async (asyncpg), run as the schema owner role.

The database URL comes, in this order, from ``config.attributes["dsn"]`` (how
``callproc db migrate`` and the tests call it), ``CALLPROC_DATABASE__MIGRATION_URL``, or
``DATABASE_URL``. Everything lives in the ``callproc`` schema, the version table included.
"""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.storage.roles import SCHEMA

config = context.config


def _dsn() -> str:
    dsn = config.attributes.get("dsn")
    if dsn:
        return str(dsn)
    from bot.settings import load_settings

    settings = load_settings()
    url = settings.database.migration_url or settings.database_url
    if url is None:
        raise SystemExit(
            "alembic: no database: set CALLPROC_DATABASE__MIGRATION_URL (the owner role) or "
            "DATABASE_URL, or run `callproc db migrate`, which also starts the embedded one"
        )
    return url.get_secret_value()


def _migrate(connection: Connection) -> None:
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    context.configure(
        connection=connection,
        version_table_schema=SCHEMA,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run() -> None:
    dsn = _dsn()
    engine = create_async_engine(
        "postgresql+asyncpg://",
        async_creator=lambda: asyncpg.connect(dsn, timeout=10),
        poolclass=NullPool,
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("alembic: offline (--sql) mode is not supported; run against a database")
asyncio.run(_run())
