"""Opens the storage a process needs: PostgreSQL and Redis, real or embedded, with their writers.

With ``DATABASE_URL`` / ``REDIS_URL`` set those servers are used; without, an embedded
PostgreSQL (provisioned with the same roles as a real one, and migrated) and an embedded
Redis start under the data folder. A real database must already be at this release's schema
(``callproc db migrate``); one that is unreachable at start-up is not fatal - calls go on and
their records wait in the writer until it is back.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bot.secrets_store import stored_secret
from bot.settings import Settings
from bot.storage.database import Database
from bot.storage.embedded import EmbeddedPostgres, EmbeddedRedis
from bot.storage.roles import APP, DATABASE, OWNER
from bot.storage.schema import current_revision, head_revision, migrate, provision_embedded
from bot.storage.sessions import SessionStore, connect
from bot.storage.writer import RecordWriter
from observability.logging import get_logger

log = get_logger("bot.storage")

# A database that cannot be reached *now* (down, starting up, full): calls go on anyway.
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
)


class StorageError(RuntimeError):
    """Storage that cannot be used as configured; the message says what to do."""


@dataclass
class Postgres:
    """How this process reaches PostgreSQL.

    Parameters:
        app_dsn: The application role's URL (what the service writes with).
        owner_dsn: The schema owner's URL (migrations, backup, restore).
        embedded: The embedded server, if that is what is used.
    """

    app_dsn: str
    owner_dsn: str
    embedded: EmbeddedPostgres | None = None

    @property
    def description(self) -> str:
        """Where the data is, for a start-up line (no secrets)."""
        if self.embedded is not None:
            return f"embedded ({self.embedded.pgdata})"
        return "external"

    async def close(self) -> None:
        """Stop the embedded server if this process started it."""
        if self.embedded is not None:
            await self.embedded.stop()


async def open_postgres(
    settings: Settings, *, check_schema: bool = True, prepare: bool = True
) -> Postgres:
    """Reach PostgreSQL as configured; start, provision and migrate the embedded one if unset.

    Args:
        settings: The service settings.
        check_schema: Check that a reachable external database is at this release's schema.
        prepare: Provision and migrate the embedded server. A worker process passes False:
            its supervisor did it before starting the workers, and two workers granting the
            same rights at once fail ("tuple concurrently updated").

    Raises:
        StorageError: A reachable external database is not at this release's schema.
    """
    if settings.database_url is None:
        server = EmbeddedPostgres(settings.data_dir)
        await server.start()
        owner = server.dsn(OWNER, DATABASE)
        if prepare:
            await provision_embedded(server)
            if await current_revision(owner) != head_revision():
                await migrate(owner)
        return Postgres(server.dsn(APP, DATABASE), owner, server)
    app = settings.database_url.get_secret_value()
    owner_url = settings.database.migration_url or settings.database_url
    postgres = Postgres(app, owner_url.get_secret_value())
    if check_schema:
        try:
            revision = await current_revision(app, settings.database.connect_timeout_secs)
        except UNREACHABLE as e:
            log.warning(
                "postgres unreachable at start-up, records will wait", error=type(e).__name__
            )
            return postgres
        if revision != head_revision():
            raise StorageError(
                f"the database schema is at {revision or 'nothing'}, this release needs "
                f"{head_revision()}: run `callproc db migrate`"
            )
    return postgres


@dataclass
class Storage:
    """Everything the service keeps calls in.

    Parameters:
        postgres: How PostgreSQL is reached.
        database: The application role's connection pool.
        writer: The background writer of call records.
        sessions: Live sessions in Redis.
        redis_description: Where Redis is, for the start-up line.
        caller_key: Key of the caller-number hash.
        embedded_redis: The embedded Redis, if that is what is used.
    """

    postgres: Postgres
    database: Database
    writer: RecordWriter
    sessions: SessionStore
    redis_description: str
    caller_key: bytes
    embedded_redis: EmbeddedRedis | None = None

    def describe(self) -> str:
        """One line: where PostgreSQL and Redis are."""
        return f"postgres: {self.postgres.description}; redis: {self.redis_description}"

    async def close(self, timeout: float = 5.0) -> None:
        """Write what is pending (the rest goes to a spill file), then stop everything."""
        await self.writer.close(timeout)
        await self.sessions.close(min(timeout, 2.0))
        await self.database.close()
        if self.embedded_redis is not None:
            await self.embedded_redis.stop()
        await self.postgres.close()


async def open_storage(settings: Settings, *, prepare: bool = True) -> Storage:
    """Open PostgreSQL, Redis and their background writers for a serving process.

    ``prepare=False`` (a worker) leaves provisioning and migration to the supervisor.
    """
    postgres = await open_postgres(settings, prepare=prepare)
    database = Database(postgres.app_dsn, connect_timeout=settings.database.connect_timeout_secs)
    writer = RecordWriter(
        database.apply,
        spill_dir=settings.data_dir / "spill",
        buffer=settings.database.write_buffer,
        retry_max_secs=settings.database.retry_max_secs,
        on_failure=database.reset,
    )
    embedded_redis = None
    if settings.redis_url is None:
        embedded_redis = EmbeddedRedis(settings.data_dir)
        try:
            await embedded_redis.start()
        except BaseException:
            await postgres.close()
            raise
        redis_url, where = embedded_redis.url, f"embedded ({embedded_redis.socket})"
    else:
        redis_url, where = settings.redis_url.get_secret_value(), "external"
    sessions = SessionStore(connect(redis_url, settings.redis), settings.redis)
    writer.start()
    sessions.start()
    return Storage(
        postgres=postgres,
        database=database,
        writer=writer,
        sessions=sessions,
        redis_description=where,
        caller_key=caller_number_key(settings),
        embedded_redis=embedded_redis,
    )


def caller_number_key(settings: Settings) -> bytes:
    """The caller-number hash key: from the settings, else a random one kept on disk."""
    if settings.database.caller_number_key is not None:
        return settings.database.caller_number_key.get_secret_value().encode()
    return stored_secret(settings.data_dir, "caller-number.key").encode()
