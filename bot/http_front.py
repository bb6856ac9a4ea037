"""The HTTP side of a serving process: readiness, ``/metrics``, the dialplan API, the console.

One process serves it: the service itself when it runs alone, or the supervisor for all its
workers (:mod:`bot.supervisor`). What differs between the two is only where the answers come
from (the readiness of taking a call, the metrics) and is passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.console.app import Console
from bot.dialplan_api import DialplanApi
from bot.handoff.desk import HandoffDesk
from bot.http import CheckResult, ReadinessCheck, build_app, start_http
from bot.secrets_store import stored_secret
from bot.settings import Settings
from bot.storage.runtime import Storage
from observability.metrics import Metrics, exposition_registry


def api_token(settings: Settings) -> str:
    """The token the dialplan presents (configured, or made once in the data folder)."""
    configured = settings.http.api_token
    if configured is not None:
        return configured.get_secret_value()
    return stored_secret(settings.data_dir, "api-token")


def console_password(settings: Settings) -> str:
    """The operator console's password (configured, or made once in the data folder)."""
    configured = settings.http.console_token
    if configured is not None:
        return configured.get_secret_value()
    return stored_secret(settings.data_dir, "console-token")


def storage_checks(storage: Storage) -> dict[str, ReadinessCheck]:
    """PostgreSQL and Redis as readiness checks that report trouble but never refuse calls."""

    async def postgres() -> CheckResult:
        writer = storage.writer
        try:
            await storage.database.ping()
        except Exception as e:
            waiting = f"{writer.pending} records waiting, {writer.spilled} spilled"
            return CheckResult(False, f"unreachable ({type(e).__name__}); {waiting}")
        if not writer.healthy:
            return CheckResult(False, f"writes failing; {writer.pending} records waiting")
        return CheckResult(True, "ok")

    async def redis() -> CheckResult:
        try:
            await storage.sessions.ping()
        except Exception as e:
            return CheckResult(False, f"unreachable ({type(e).__name__}); calls go on")
        return CheckResult(True, "ok")

    return {"postgres": postgres, "redis": redis}


@dataclass
class HttpFront:
    """The running HTTP app and the parts other code talks to."""

    runner: web.AppRunner
    dialplan: DialplanApi
    console: Console

    async def close(self) -> None:
        """End open console streams and stop serving."""
        self.console.events.close()
        await self.runner.cleanup()


async def start_front(
    settings: Settings,
    storage: Storage,
    handoffs: HandoffDesk | None,
    *,
    takes_calls: ReadinessCheck,
    metrics: Metrics,
    before_scrape: Callable[[], None],
    local_calls: Callable[[], list[str]],
) -> HttpFront:
    """Serve the HTTP app on the configured address.

    Args:
        settings: The service settings.
        storage: PostgreSQL and Redis.
        handoffs: Where handoffs are found (None: the echo pipeline).
        takes_calls: Whether the next call would be taken (readiness; any failure is 503).
        metrics: The process's metrics (in multiprocess mode, every process's are served).
        before_scrape: Called before each ``/metrics`` answer (gauges to bring up to date).
        local_calls: This process's calls in progress (the console, when Redis is down).
    """
    app = build_app({"audiosocket": takes_calls}, degraded=storage_checks(storage))
    dialplan = DialplanApi(api_token(settings), storage, handoffs)
    console = Console(
        console_password(settings), storage, handoffs, local_calls, settings.handoff.language
    )
    dialplan.routes(app)
    console.routes(app)

    async def scrape(_request: web.Request) -> web.Response:
        before_scrape()
        body = generate_latest(exposition_registry(metrics))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", scrape)
    runner = await start_http(app, settings.http.host, settings.http.port)
    return HttpFront(runner, dialplan, console)
