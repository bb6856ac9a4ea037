"""``callproc bench --soak MINUTES``: steady calls for a long time, watching for growth.

Keeps N scripted calls in progress against one service (a call that ends is replaced at
once) and, every minute, prints what would grow if something leaked: the service's resident
memory and open descriptors (every process of it), its asyncio tasks (the
``callproc_event_loop_tasks`` gauge), and the connections PostgreSQL and Redis see. At the
end it prints the change from the first warm minute to the last. Figures only; nothing is
asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
import psutil
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from bot.bench import Bench, PlacedCall, ServiceProcess
from bot.settings import Settings

SAMPLE_EVERY_SECS = 60.0
WARM_SAMPLE = 2  # the first sample compared against: start-up allocations are done by then


@dataclass
class SoakSample:
    """One minute's figures."""

    minute: float
    calls_ended: int
    calls_failed: int
    rss_mb: float
    open_fds: int
    asyncio_tasks: int
    postgres_connections: int
    redis_clients: int

    def line(self) -> str:
        """The sample as one progress line."""
        return (
            f"  {self.minute:5.1f} min  calls ended {self.calls_ended:5d} (failed "
            f"{self.calls_failed})  RSS {self.rss_mb:7.1f} MB  fds {self.open_fds:4d}  "
            f"tasks {self.asyncio_tasks:5d}  postgres {self.postgres_connections:3d}  "
            f"redis {self.redis_clients:3d}"
        )


async def run_soak(
    settings: Settings,
    *,
    calls: int,
    minutes: float,
    workers: int | None = None,
    json_path: Path | None = None,
    say: Callable[[str], None] = print,
) -> list[SoakSample]:
    """Keep ``calls`` voice calls going for ``minutes``; sample every minute."""
    logs = Path.cwd() / "var" / "bench"
    await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
    samples: list[SoakSample] = []
    with tempfile.TemporaryDirectory(prefix="callproc-soak-") as temporary:
        async with Bench(
            settings,
            pipeline="voice",
            workers=workers,
            max_calls=max(calls, settings.audiosocket.max_calls),
            echo_secs=0,
            scenarios=None,
            folder=Path(temporary),
            logs=logs,
            say=say,
        ) as bench:
            args = [] if workers is None else ["--workers", str(workers)]
            service = ServiceProcess(bench.service_env(), args, logs / "service-soak.log")
            say(f"soak: {calls} calls at a time for {minutes:g} min; starting the service ...")
            await service.start()
            try:
                samples = await _keep_calling(bench, service, calls, minutes, say)
            finally:
                await service.stop()
    if len(samples) > WARM_SAMPLE:
        warm, last = samples[WARM_SAMPLE - 1], samples[-1]
        say(
            f"growth from minute {warm.minute:.0f} to {last.minute:.0f}: RSS "
            f"{last.rss_mb - warm.rss_mb:+.1f} MB, fds {last.open_fds - warm.open_fds:+d}, "
            f"tasks {last.asyncio_tasks - warm.asyncio_tasks:+d}, postgres "
            f"{last.postgres_connections - warm.postgres_connections:+d}, redis "
            f"{last.redis_clients - warm.redis_clients:+d}"
        )
    if json_path is not None:
        text = json.dumps([asdict(s) for s in samples], indent=2)
        await asyncio.to_thread(_write, json_path, text)
    say(f"service log: {logs}/service-soak.log")
    return samples


async def _keep_calling(
    bench: Bench, service: ServiceProcess, calls: int, minutes: float, say: Callable[[str], None]
) -> list[SoakSample]:
    started = time.monotonic()
    deadline = started + minutes * 60
    ended: list[PlacedCall] = []
    running: dict[asyncio.Task[None], PlacedCall] = {}
    placed = 0

    def place() -> None:
        nonlocal placed
        call = PlacedCall(uuid.uuid4(), bench.scenarios[placed % len(bench.scenarios)])
        placed += 1
        running[asyncio.create_task(bench._one(call, service.audiosocket_port, b""))] = call

    postgres = await asyncpg.connect(bench._postgres.app_dsn)
    redis = aioredis.from_url(bench._redis.url)
    samples: list[SoakSample] = []
    next_sample = started + SAMPLE_EVERY_SECS
    try:
        for _ in range(calls):
            place()
        while time.monotonic() < deadline:
            done, _ = await asyncio.wait(running, timeout=1.0)
            for task in done:
                ended.append(running.pop(task))
                place()
            if time.monotonic() >= next_sample:
                next_sample += SAMPLE_EVERY_SECS
                sample = await _sample(service, postgres, redis, ended, started)
                samples.append(sample)
                say(sample.line())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    finally:
        await postgres.close()
        await redis.aclose()
    return samples


async def _sample(
    service: ServiceProcess,
    postgres: asyncpg.Connection,
    redis: aioredis.Redis,
    ended: list[PlacedCall],
    started: float,
) -> SoakSample:
    fds = 0
    for proc in service.processes():
        with contextlib.suppress(psutil.Error):  # a worker that just exited
            fds += proc.num_fds()
    tasks = 0
    for family in text_string_to_metric_families(await service.scrape()):
        if family.name == "callproc_event_loop_tasks":
            tasks = int(sum(s.value for s in family.samples))
    connections = await postgres.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    )
    clients = (await redis.info("clients"))["connected_clients"]
    failed = sum(1 for c in ended if c.error or (c.result and c.result.ended_by == "server_closed"))
    return SoakSample(
        minute=round((time.monotonic() - started) / 60, 1),
        calls_ended=len(ended),
        calls_failed=failed,
        rss_mb=round(service.rss_bytes() / 2**20, 1),
        open_fds=fds,
        asyncio_tasks=tasks,
        postgres_connections=int(connections) - 1,  # not our own
        redis_clients=int(clients) - 1,
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
