"""``callproc serve`` with several worker processes: one port, one HTTP app, every core busy.

A process's event loop uses one core, so the calls are served by worker processes
(:mod:`bot.worker`, one per core by default). This process is their supervisor:

- it listens on the AudioSocket port, reads each call's UUID (:mod:`transports.audiosocket.front`)
  and passes the connection to the worker with the most headroom (the worker link carries
  the socket itself); when no worker may take it (every one at capacity or with a lagging
  event loop, or draining), the call is refused at once with the AudioSocket hangup, so the
  dialplan sends it to the operators and no call in progress pays for it;
- it serves the HTTP app for all of them: ``/health/ready`` says whether a worker would take
  the next call, ``/metrics`` sums every worker's metrics (Prometheus multiprocess mode),
  the dialplan API finds any worker's handoffs, the console shows them live;
- it restarts a worker that dies (its own calls end with it: their sockets close and the
  dialplan sends those callers to the operators; the other workers' calls go on);
- SIGTERM or SIGINT drains: new calls are refused (readiness 503), every worker lets its
  calls finish (``CALLPROC_DRAIN_SECS``) and exits, then the supervisor stops.

Without credentials the local stand-ins (and the reference store) run once, in a process of
their own, for all the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field

from prometheus_client import multiprocess

from bot.admission import Admission, Load, Refusal, handshake_limits, per_worker
from bot.handoff.desk import Handoff, HandoffDesk
from bot.http import CheckResult, bound_port
from bot.http_front import HttpFront, start_front
from bot.settings import Settings
from bot.stand_in_process import StandIns, stand_in_env, terminate
from bot.stop_signals import on_stop_signals
from bot.storage.runtime import Storage, open_storage
from bot.worker_link import LinkClosed, WorkerLink, link_pair
from observability.gc_pauses import freeze_start_up
from observability.logging import get_logger
from observability.metrics import build_metrics
from transports.audiosocket.front import AudioSocketFront

log = get_logger("bot.supervisor")

START_TIMEOUT_SECS = 180.0  # a worker loads pipecat, models and clients before it reports
RESTART_BACKOFF_SECS = (0.5, 1.0, 2.0, 5.0, 10.0)
STEADY_SECS = 60.0  # a worker that lived this long starts its backoff afresh
STALE_STATE_SECS = 2.0  # a worker silent this long gets no calls
EXIT_GRACE_SECS = 15.0  # after the drain time, before a worker is killed


@dataclass
class WorkerProcess:
    """One worker as the supervisor sees it."""

    index: int
    capacity: int
    proc: asyncio.subprocess.Process | None = None
    link: WorkerLink | None = None
    load: Load | None = None  # None until its first report
    reported_at: float = 0.0
    sent: int = 0  # calls handed to this process
    taken: int = 0  # of those, the ones it has picked up (from its reports)
    started_at: float = 0.0
    restarts: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def current(self, now: float) -> Load | None:
        """Its load, counting calls on their way to it; None if it cannot take calls now."""
        if self.link is None or self.load is None or now - self.reported_at > STALE_STATE_SECS:
            return None
        on_the_way = max(0, self.sent - self.taken)
        return Load(self.load.active + on_the_way, self.load.lag_secs, self.load.draining)


class Supervisor:
    """Runs the workers, the AudioSocket front and the HTTP app.

    Args:
        settings: The service settings.
        workers: How many worker processes.
    """

    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        audio = settings.audiosocket
        capacity = per_worker(audio.max_calls, workers)
        self.admission = Admission(capacity, audio.max_loop_lag_ms / 1000)
        self.workers = [WorkerProcess(i, capacity) for i in range(workers)]
        self.metrics = build_metrics()
        self.front = AudioSocketFront(
            self._dispatch,
            host=audio.host,
            port=audio.port,
            limits=handshake_limits(audio),
            on_dropped=lambda reason: self.metrics.connections_dropped.labels(reason).inc(),
        )
        self.storage: Storage | None = None
        self.handoffs: HandoffDesk | None = None
        self.http: HttpFront | None = None
        self.stand_ins: StandIns | None = None
        self._env = dict(os.environ)
        self._draining = False
        self._stopped = asyncio.Event()

    @property
    def http_port(self) -> int:
        """The HTTP app's bound port."""
        assert self.http is not None
        return bound_port(self.http.runner)

    async def start(self) -> None:
        """Storage, stand-ins if needed, the workers, then the HTTP app and the listener."""
        try:
            self.storage = await open_storage(self.settings)
            await self._start_stand_ins()
            self.handoffs = HandoffDesk(self.settings.handoff, self.storage, None, "")
            log.info(
                "starting workers", workers=len(self.workers), capacity_each=self.admission.capacity
            )
            for worker in self.workers:
                await self._spawn(worker)
            await self._until_reported(START_TIMEOUT_SECS)
            self.http = await start_front(
                self.settings,
                self.storage,
                self.handoffs if self.settings.pipeline == "voice" else None,
                takes_calls=self._takes_calls,
                metrics=self.metrics,
                before_scrape=self._refresh_gauges,
                local_calls=list,
            )
            await self.front.start()
            freeze_start_up()
        except BaseException:
            await self.stop()
            raise

    async def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then drain and stop."""
        with on_stop_signals(self._stopped.set):
            await self._stopped.wait()
        await self.stop()

    async def stop(self) -> None:
        """Refuse new calls, let every worker drain and exit, then stop everything else."""
        self._draining = True
        log.info("draining", active_calls=self._active_calls())
        if self.handoffs is not None:
            self.handoffs.drain_started()
        for worker in self.workers:
            if worker.proc is not None and worker.proc.returncode is None:
                worker.proc.send_signal(signal.SIGTERM)
        deadline = self.settings.drain_secs + EXIT_GRACE_SECS
        for worker in self.workers:
            await terminate_after(worker.proc, deadline)
            for task in worker.tasks:
                task.cancel()
            if worker.link is not None:
                worker.link.close()
                worker.link = None
        await self.front.close()
        if self.handoffs is not None and self.http is not None:
            await self.handoffs.wait_looked_up()  # the HTTP app answers until then
        if self.http is not None:
            await self.http.close()
            self.http = None
        if self.stand_ins is not None:
            await self.stand_ins.stop()
            self.stand_ins = None
        if self.storage is not None:
            await self.storage.close()
            self.storage = None
        log.info("stopped")

    # Workers

    async def _start_stand_ins(self) -> None:
        settings, running = self.settings, self.settings.sandbox
        speech = settings.google_credentials is None and not (
            running.stt_address and running.tts_address
        )
        llm = settings.anthropic_api_key is None and not running.llm_url
        store = settings.store.url is None
        if settings.pipeline != "voice" or not (speech or llm or store):
            return
        self.stand_ins = StandIns()
        await self.stand_ins.start()
        self._env.update(stand_in_env(self.stand_ins.info, speech=speech, llm=llm, store=store))
        log.info("stand-ins for the workers", detail="python -m sandbox")

    async def _spawn(self, worker: WorkerProcess) -> None:
        mine, theirs = link_pair()
        try:
            worker.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.worker",
                "--link-fd", str(theirs.fileno()), "--capacity", str(worker.capacity),
                env=self._env, pass_fds=(theirs.fileno(),),
            )  # fmt: skip
        finally:
            theirs.close()
        worker.link = WorkerLink(mine)
        worker.load, worker.sent, worker.taken = None, 0, 0
        worker.started_at = time.monotonic()
        loop = asyncio.get_running_loop()
        worker.tasks = [
            loop.create_task(self._listen_to(worker)),
            loop.create_task(self._watch(worker)),
        ]
        log.info("worker started", worker=worker.index, pid=worker.proc.pid)

    async def _until_reported(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(w.load is None for w in self.workers):
            for worker in self.workers:
                if worker.proc is not None and worker.proc.returncode is not None:
                    raise RuntimeError(
                        f"worker {worker.index} exited with {worker.proc.returncode} while "
                        "starting; its log lines above say why"
                    )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not start within {timeout:.0f} s")
            await asyncio.sleep(0.1)

    async def _listen_to(self, worker: WorkerProcess) -> None:
        link = worker.link
        assert link is not None
        while True:
            try:
                message, conn = await link.receive()
            except LinkClosed:
                return
            if conn is not None:
                conn.close()  # workers send no sockets
            self._on_message(worker, message)

    def _on_message(self, worker: WorkerProcess, message: dict) -> None:
        kind = message.get("kind")
        if kind == "state":
            worker.load = Load(
                int(message["active"]), float(message["lag"]), bool(message["draining"])
            )
            worker.taken = int(message["taken"])
            worker.reported_at = time.monotonic()
        elif kind == "handoff" and self.handoffs is not None:
            data = message["handoff"]
            self.handoffs.publish(Handoff.from_dict(data, self.settings.handoff.queue))
        elif kind == "hung_up" and self.handoffs is not None:
            self.handoffs.hung_up(str(message["call_uuid"]))
        elif kind == "calls_changed" and self.http is not None:
            self.http.console.call_changed()

    async def _watch(self, worker: WorkerProcess) -> None:
        assert worker.proc is not None
        code = await worker.proc.wait()
        if worker.link is not None:
            worker.link.close()
            worker.link = None
        with contextlib.suppress(Exception):
            multiprocess.mark_process_dead(worker.proc.pid)
        if self._draining:
            return
        lived = time.monotonic() - worker.started_at
        worker.restarts = 0 if lived > STEADY_SECS else worker.restarts + 1
        backoff = RESTART_BACKOFF_SECS[min(worker.restarts, len(RESTART_BACKOFF_SECS) - 1)]
        log.error(
            "worker died, restarting it",
            worker=worker.index,
            exit_code=code,
            lived_secs=round(lived, 1),
            restart_in_secs=backoff,
        )
        await asyncio.sleep(backoff)
        if not self._draining:
            await self._spawn(worker)

    # Calls

    def _dispatch(self, sock, call_id: uuid.UUID) -> str | None:
        """Hand the call to the worker with the most headroom; or say why nobody takes it."""
        refused = self._refusal_now()
        if refused is not None:
            self.metrics.calls_refused.labels(refused).inc()
            return refused
        caller = self.http.dialplan.take_caller(call_id) if self.http is not None else None
        for worker in self._by_headroom():
            assert worker.link is not None
            try:
                worker.link.send({"kind": "call", "call_uuid": str(call_id), "caller": caller},
                                 sock)  # fmt: skip
            except LinkClosed:
                log.warning("worker link lost", worker=worker.index)
                continue
            worker.sent += 1
            return None
        self.metrics.calls_refused.labels(Refusal.AT_CAPACITY).inc()
        return str(Refusal.AT_CAPACITY)

    def _by_headroom(self) -> list[WorkerProcess]:
        now = time.monotonic()
        room = []
        for worker in self.workers:
            load = worker.current(now)
            if load is not None and self.admission.refusal(load) is None:
                room.append((self.admission.headroom(load), -worker.index, worker))
        return [w for *_, w in sorted(room, key=lambda r: r[:2], reverse=True)]

    def _refusal_now(self) -> str | None:
        """None while some worker takes the next call; else the reason nobody does."""
        if self._draining:
            return str(Refusal.DRAINING)
        now = time.monotonic()
        reasons = []
        for worker in self.workers:
            load = worker.current(now)
            refused = self.admission.refusal(load) if load is not None else "no_worker"
            if refused is None:
                return None
            reasons.append(str(refused))
        for reason in (Refusal.AT_CAPACITY, Refusal.OVERLOADED, Refusal.DRAINING):
            if reason in reasons:
                return str(reason)
        return "no_worker"

    def _active_calls(self) -> int:
        return sum(w.load.active for w in self.workers if w.load is not None)

    async def _takes_calls(self) -> CheckResult:
        refused = self._refusal_now()
        calls = f"{self._active_calls()} calls on {len(self.workers)} workers"
        if refused is not None:
            return CheckResult(False, f"{refused.replace('_', ' ')} ({calls})")
        return CheckResult(True, calls)

    def _refresh_gauges(self) -> None:
        self.metrics.ready.set(0.0 if self._refusal_now() is not None else 1.0)
        if self.storage is not None:
            writer, sessions = self.storage.writer, self.storage.sessions
            self.metrics.postgres_up.set(1.0 if writer.healthy else 0.0)
            self.metrics.redis_up.set(1.0 if sessions.healthy else 0.0)


async def terminate_after(proc: asyncio.subprocess.Process | None, timeout: float) -> None:
    """Wait up to ``timeout`` seconds for ``proc`` to exit (it was asked to), then make it."""
    if proc is None or proc.returncode is not None:
        return
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        log.warning("worker did not exit in time, stopping it", pid=proc.pid)
        await terminate(proc, 5.0)
