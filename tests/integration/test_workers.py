"""``callproc serve --workers 2``: real processes, real signals, real TCP.

The supervisor listens and dispatches; two worker processes serve the calls (the echo
pipeline, no speech services); the session's PostgreSQL and Redis keep the records.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from sandbox.caller import CallResult, CallScript, place_call
from tests.integration.databases import ScratchDatabase

pytestmark = pytest.mark.integration

CAPACITY = 4  # two per worker
START_SECS = 120.0


@dataclass
class Supervised:
    """A running ``callproc serve --workers 2``."""

    proc: subprocess.Popen
    audiosocket_port: int
    http_port: int

    def workers(self) -> list[psutil.Process]:
        """The worker processes (not the supervisor's other children)."""
        children = psutil.Process(self.proc.pid).children()
        return [p for p in children if "bot.worker" in " ".join(p.cmdline())]

    def calls_on(self, worker: psutil.Process) -> int:
        """Call connections a worker holds open."""
        return sum(
            1
            for c in worker.net_connections(kind="tcp")
            if c.laddr and c.laddr.port == self.audiosocket_port and c.status == "ESTABLISHED"
        )

    def state(self, workers: list[psutil.Process]) -> str:
        """What a failed wait reports: calls per worker, readiness and refusals."""
        refusals = [
            line for line in self.get("/metrics")[1].splitlines()
            if line.startswith("callproc_calls_refused_total{")
        ]  # fmt: skip
        calls = [self.calls_on(w) for w in workers]
        return f"calls {calls}, readiness {self.get('/health/ready')}, {refusals}"

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except urllib.error.URLError:
            return 0, ""  # not listening (yet, or any more)

    async def call(self, secs: float) -> CallResult:
        script = CallScript(audio=bytes(3200) * 10, speech_at_secs=0.2, duration_secs=secs)
        return await place_call("127.0.0.1", self.audiosocket_port, script)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _until(condition, timeout: float, what: str, seen=None) -> None:
    """Poll ``condition``; on timeout, say what was waited for and what ``seen()`` shows."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {seen()}" if seen else ""))
        await asyncio.sleep(0.1)  # a bounded poll for a state the test waits on


@pytest.fixture
async def supervised(
    database: ScratchDatabase, redis_url: str, tmp_path: Path
) -> AsyncIterator[Supervised]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    audio, http = _free_port(), _free_port()
    env.update(
        CALLPROC_PIPELINE="echo",
        CALLPROC_AUDIOSOCKET__HOST="127.0.0.1",
        CALLPROC_AUDIOSOCKET__PORT=str(audio),
        CALLPROC_HTTP__HOST="127.0.0.1",
        CALLPROC_HTTP__PORT=str(http),
        CALLPROC_AUDIOSOCKET__MAX_CALLS=str(CAPACITY),
        CALLPROC_DRAIN_SECS="2",
        CALLPROC_DATA_DIR=str(tmp_path / "var"),
        DATABASE_URL=database.app_dsn,
        REDIS_URL=redis_url,
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(  # noqa: ASYNC220  # started once; everything after is polled
        [sys.executable, "-m", "bot.cli", "serve", "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    served = Supervised(proc, audio, http)
    try:
        await _until(
            lambda: proc.poll() is not None or served.get("/health/ready")[0] == 200,
            START_SECS,
            "the supervisor to be ready",
        )
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


async def test_calls_share_the_workers_a_full_service_refuses_and_a_dead_worker_is_replaced(
    supervised: Supervised, database: ScratchDatabase
) -> None:
    workers = supervised.workers()
    assert len(workers) == 2

    # Four calls fill both workers, two each; the fifth is refused at once, with the hangup.
    calls = [asyncio.create_task(supervised.call(4.0)) for _ in range(CAPACITY)]
    await _until(
        lambda: [supervised.calls_on(w) for w in workers] == [2, 2],
        10,
        "two calls per worker",
        lambda: supervised.state(workers),
    )
    status, body = supervised.get("/health/ready")
    assert status == 503 and "at capacity (4 calls on 2 workers)" in body
    refused = await supervised.call(2.0)
    assert refused.ended_by == "server_hangup" and not refused.arrivals
    assert refused.ended_at - refused.connected_at < 0.5
    status, metrics = supervised.get("/metrics")
    assert 'callproc_calls_refused_total{reason="at_capacity"} 1.0' in metrics
    assert "callproc_active_calls 4.0" in metrics  # summed over the workers

    served = await asyncio.gather(*calls)
    for result in served:
        assert result.ended_by == "caller"
        assert result.stats.frames >= 0.95 * 4.0 / 0.02  # every call heard its whole echo

    # A worker killed mid-call: its call ends, the other worker's call goes on untouched,
    # and a new worker takes its place. The supervisor hears of the finished calls only
    # when each worker has written its records and reported; until then it still counts
    # them and would send both new calls to whichever worker reported first.
    await _until(
        lambda: "0 calls on 2 workers" in supervised.get("/health/ready")[1], 10, "idle workers"
    )
    first, second = (asyncio.create_task(supervised.call(4.0)) for _ in range(2))
    await _until(
        lambda: [supervised.calls_on(w) for w in workers] == [1, 1],
        10,
        "one each",
        lambda: supervised.state(workers),
    )
    workers[0].kill()
    survivor, lost = await asyncio.gather(second, first)
    assert survivor.ended_by == "caller"
    assert survivor.stats.frames >= 0.95 * 4.0 / 0.02  # its echo never stopped
    assert lost.ended_by == "server_closed"
    await _until(
        lambda: len(supervised.workers()) == 2 and workers[0] not in supervised.workers(),
        30,
        "a replacement worker",
    )
    await _until(lambda: supervised.get("/health/ready")[0] == 200, START_SECS, "readiness")
    again = await supervised.call(1.0)
    assert again.ended_by == "caller" and again.arrivals

    # Nothing the killed worker knew is lost: its replacement found the journal, and the
    # call it was serving is ended in PostgreSQL as lost, while the survivor's has its own.
    for call, outcome in ((lost, "worker_lost"), (survivor, "caller_hangup")):
        deadline = time.monotonic() + 10  # the writers write in the background
        while await database.outcome(call.call_id) != outcome:
            assert time.monotonic() < deadline, f"{call.call_id}: no {outcome} stored"
            await asyncio.sleep(0.1)


async def test_sigterm_refuses_new_calls_and_lets_the_calls_in_progress_finish(
    supervised: Supervised,
) -> None:
    talking = asyncio.create_task(supervised.call(1.5))
    await _until(lambda: sum(map(supervised.calls_on, supervised.workers())) == 1, 10, "a call")
    supervised.proc.send_signal(signal.SIGTERM)
    await _until(lambda: supervised.get("/health/ready")[0] == 503, 5, "draining")
    assert "draining" in supervised.get("/health/ready")[1]
    refused = await supervised.call(1.0)
    assert refused.ended_by == "server_hangup" and not refused.arrivals

    finished = await talking
    assert finished.ended_by == "caller"  # the caller hung up as planned: nothing cut short
    assert await asyncio.to_thread(supervised.proc.wait, 60) == 0


def test_bad_worker_count_is_named(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--workers", "-1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--workers must be 1 or more" in proc.stderr
