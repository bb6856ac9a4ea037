"""Fixtures that run the real service in-process on free local ports."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.service import Service
from bot.settings import load_settings
from bot.storage.embedded import EmbeddedPostgres, EmbeddedRedis
from observability.logging import configure_logging
from tests.integration.databases import (
    ScratchDatabase,
    new_database,
    redis_db,
    start_servers,
    stop_servers,
)

ServiceFactory = Callable[..., Awaitable[Service]]


@pytest.fixture(scope="session")
def storage_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedPostgres, EmbeddedRedis]]:
    """One real PostgreSQL (with a migrated template database) and Redis for the session."""
    servers = start_servers(tmp_path_factory.mktemp("storage"))
    yield servers
    stop_servers(*servers)


@pytest.fixture
async def database(storage_servers) -> ScratchDatabase:
    """A fresh, migrated database for this test."""
    return await new_database(storage_servers[0])


@pytest.fixture
async def redis_url(storage_servers) -> str:
    """An emptied Redis database for this test."""
    return await redis_db(storage_servers[1])


@pytest.fixture
async def start_service(
    database: ScratchDatabase, redis_url: str, tmp_path: Path
) -> AsyncIterator[ServiceFactory]:
    """Start services with test settings (loopback, ephemeral ports, this test's database
    and Redis, a temporary data folder); stop them afterwards."""
    scratch = database
    started: list[Service] = []

    async def start(
        audiosocket: dict[str, Any] | None = None,
        database: dict[str, Any] | None = None,
        http: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> Service:
        settings = load_settings(
            None,
            audiosocket={"host": "127.0.0.1", "port": 0, **(audiosocket or {})},
            http={"host": "127.0.0.1", "port": 0, **(http or {})},
            **{
                "drain_secs": 0,
                "pipeline": "echo",
                "data_dir": tmp_path / "var",
                "database_url": scratch.app_dsn,
                "redis_url": redis_url,
                "database": {"migration_url": scratch.owner_dsn, **(database or {})},
                **overrides,
            },
        )
        service = Service(settings)
        await service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        await service.stop()


@pytest.fixture(autouse=True, scope="session")
def _production_logging() -> None:
    """Log as production does (JSON, INFO), so tests see the real log chain."""
    configure_logging("INFO", json=True)
