"""The HTTP app: liveness and readiness now; metrics and the handoff API join it later.

Readiness answers "can this process take the next call?", because the dialplan asks it
before ``AudioSocket()`` (DESIGN.md, "When the service is down, full or draining"): any
answer but 200 sends the caller straight to the operators.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot import __version__
from observability.logging import get_logger

log = get_logger("bot.http")

CHECK_TIMEOUT_SECS = 1.0


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One dependency's readiness: whether it is fine and, if not, why."""

    ok: bool
    detail: str = "ok"


ReadinessCheck = Callable[[], Awaitable[CheckResult]]


def build_app(
    checks: dict[str, ReadinessCheck], degraded: dict[str, ReadinessCheck] | None = None
) -> web.Application:
    """Create the aiohttp application with the given named readiness checks.

    Args:
        checks: What must be fine to take the next call; any failing one answers 503.
        degraded: What is reported but does not stop calls (the storage: calls go on and
            their records wait); a failing one marks the answer ``degraded``.
    """
    app = web.Application()
    optional = degraded or {}
    every = {**checks, **optional}

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "version": __version__})

    async def ready(request: web.Request) -> web.Response:
        names = list(every)
        outcomes = await asyncio.gather(*(_run_check(every[n]) for n in names))
        results = dict(zip(names, outcomes, strict=True))
        is_ready = all(results[n].ok for n in checks)
        status = 200 if is_ready else 503
        if request.query.get("format") == "plain":
            # For Asterisk's CURL(), which returns the body but not the status.
            failing = "; ".join(f"{n}: {r.detail}" for n, r in results.items() if not r.ok)
            return web.Response(text="ready" if is_ready else f"not_ready {failing}", status=status)
        body = {
            n: {"ok": r.ok, "detail": r.detail, "required": n in checks} for n, r in results.items()
        }
        degraded_now = sorted(n for n in optional if not results[n].ok)
        return web.json_response(
            {"ready": is_ready, "degraded": degraded_now, "checks": body}, status=status
        )

    app.router.add_get("/health", health)
    app.router.add_get("/health/ready", ready)
    return app


async def _run_check(check: ReadinessCheck) -> CheckResult:
    try:
        return await asyncio.wait_for(check(), CHECK_TIMEOUT_SECS)
    except TimeoutError:
        return CheckResult(False, f"no answer within {CHECK_TIMEOUT_SECS:g} s")
    except Exception as exc:  # a failing check is a "not ready", never a 500
        log.warning("readiness check failed", error_type=type(exc).__name__)
        return CheckResult(False, f"check failed: {type(exc).__name__}")


async def start_http(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` and return its runner (``runner.addresses`` has the bound port)."""
    # shutdown_timeout: open event streams of the console must not hold a stop up for a minute
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=3.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    log.info("http listening", host=host, port=bound_port(runner))
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port an app runner actually listens on."""
    return int(runner.addresses[0][1])
