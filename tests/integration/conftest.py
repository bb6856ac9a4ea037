"""Fixtures that run the real service in-process on free local ports."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.service import Service
from bot.settings import load_settings
from observability.logging import configure_logging

ServiceFactory = Callable[..., Awaitable[Service]]


@pytest.fixture
async def start_service() -> AsyncIterator[ServiceFactory]:
    """Start services with test settings (loopback, ephemeral ports); stop them afterwards."""
    started: list[Service] = []

    async def start(audiosocket: dict[str, Any] | None = None, **overrides: Any) -> Service:
        settings = load_settings(
            None,
            audiosocket={"host": "127.0.0.1", "port": 0, **(audiosocket or {})},
            http={"host": "127.0.0.1", "port": 0},
            **{"drain_secs": 0, "pipeline": "echo", **overrides},
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
