"""The running Call Processor: AudioSocket server, calls, HTTP app, graceful shutdown.

``callproc serve`` runs one :class:`Service` until SIGTERM/SIGINT; tests and the demo run
one in-process on ephemeral ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import uuid
from collections.abc import Callable
from typing import get_args

from bot.admission import LAG_QUANTILE, Admission, Load, handshake_limits
from bot.call import Call, CallRegistry
from bot.console.app import Console
from bot.dialplan_api import DialplanApi
from bot.handoff.desk import Handoff, HandoffDesk
from bot.handoff.notify import Notifier
from bot.http import CheckResult, bound_port
from bot.http_front import HttpFront, api_token, console_password, start_front
from bot.llm_warmup import warm_up_anthropic
from bot.phrases import FixedPhrases, render_phrases
from bot.prompts import PromptSet, load_prompts
from bot.services import Backends, open_backends
from bot.settings import Language, Settings
from bot.stop_signals import on_stop_signals
from bot.storage import records
from bot.storage.runtime import Storage, open_storage
from observability.gc_pauses import freeze_start_up, measure_pauses
from observability.logging import get_logger
from observability.loop_lag import LoopLag
from observability.metrics import REASONS, bounded, build_metrics
from processors import speakable
from processors.phone_vad import silero_session
from transports.audiosocket.connection import AudioSocketConnection
from transports.audiosocket.server import AudioSocketServer

log = get_logger("bot.service")

HANGUP_GRACE_SECS = 6.0  # after the drain time: the transfer phrase plays, then cancel
GAUGE_REFRESH_SECS = 1.0


class Service:
    """Everything one process serves.

    Alone (tests, the demo, ``callproc serve --workers 1``) it listens for AudioSocket and
    serves the HTTP app itself. As one of several workers it does neither: the supervisor
    (:mod:`bot.supervisor`) accepts the calls and hands them over (:meth:`take_call`) and
    serves HTTP for all workers.

    Args:
        settings: The service settings.
        worker: Whether this process is a worker under a supervisor.
        capacity: Calls this process takes at most (default: all of ``max_calls``).
    """

    def __init__(
        self, settings: Settings, *, worker: bool = False, capacity: int | None = None
    ) -> None:
        self.settings = settings
        self.worker = worker
        audio = settings.audiosocket
        self.admission = Admission(capacity or audio.max_calls, audio.max_loop_lag_ms / 1000)
        self.calls = CallRegistry()
        self.server = AudioSocketServer(
            self._run_call,
            host=audio.host,
            port=audio.port,
            refusal=self._refusal,
            limits=handshake_limits(audio),
            max_payload=audio.max_payload_bytes,
        )
        self._http: HttpFront | None = None
        self._stopped = asyncio.Event()
        self.backends: Backends | None = None
        self.prompts: PromptSet | None = None
        self.prompt_sets: dict[str, PromptSet] = {}
        self.phrases: dict[str, dict[str, bytes]] | None = None  # by language, by name
        self.storage: Storage | None = None
        self.handoffs: HandoffDesk | None = None
        self.dialplan: DialplanApi | None = None
        self.console: Console | None = None
        self.notifier: Notifier | None = None
        self.metrics = build_metrics()  # a registry of this service's own
        self.loop_lag = LoopLag(self.metrics.event_loop_lag_seconds.observe, window=1.0)
        self._gc_callback = measure_pauses(self.metrics.gc_pause_seconds.observe)
        self.server.on_refused = lambda reason: self.metrics.calls_refused.labels(reason).inc()
        self.server.on_dropped = lambda why: self.metrics.connections_dropped.labels(why).inc()
        self.on_call: list[Callable[[Call], None]] = []  # told of each call as it starts
        self.on_call_ended: list[Callable[[Call], None]] = []
        self.caller_hashes: dict[uuid.UUID, str] = {}  # from the supervisor, by call
        self._gauges: asyncio.Task[None] | None = None

    def load(self) -> Load:
        """Calls in progress, recent event-loop lag, draining: what admission decides from."""
        lag = self.loop_lag.recent(LAG_QUANTILE)
        return Load(self.server.active_calls, lag, not self.server.serving)

    def _refusal(self, active: int) -> str | None:
        refused = self.admission.refusal(Load(active, self.loop_lag.recent(LAG_QUANTILE)))
        return None if refused is None else str(refused)

    async def take_call(self, sock: socket.socket, call_id: uuid.UUID, caller: str | None) -> None:
        """Serve a call the supervisor accepted (its UUID already read)."""
        if caller is not None:
            self.caller_hashes[call_id] = caller
        await self.server.adopt(sock, call_id)

    @property
    def api_token(self) -> str:
        """The token the dialplan presents (configured, or made once in the data folder)."""
        return api_token(self.settings)

    @property
    def console_password(self) -> str:
        """The operator console's password (configured, or made once in the data folder)."""
        return console_password(self.settings)

    @property
    def http_port(self) -> int:
        """The HTTP app's bound port."""
        assert self._http is not None, "service not started"
        return bound_port(self._http.runner)

    async def start(self) -> None:
        """Load the prompts, reach the services, open the AudioSocket listener and HTTP app."""
        self.storage = await open_storage(self.settings, prepare=not self.worker)
        log.info("storage", where=self.storage.describe())
        try:
            prompt_sets = {
                language: load_prompts(language, store=self.settings.store_name)
                for language in get_args(Language)  # every prompt set is versioned in the database
            }
            for prompts in prompt_sets.values():
                self.storage.writer.submit(records.prompt_version(prompts))
            if self.settings.pipeline == "voice":
                self.prompts = prompt_sets[self.settings.language]
                await asyncio.to_thread(silero_session)  # the VAD model, once per process
                await asyncio.to_thread(speakable.prepare)  # not in the first answer
                self.backends = await open_backends(self.settings)
                await warm_up_anthropic(self.settings.llm.model)  # not in the first answer
                self.prompt_sets = prompt_sets
                self.phrases = await render_phrases(self.settings, self.backends, prompt_sets)
                self.handoffs = HandoffDesk(
                    self.settings.handoff,
                    self.storage,
                    self.backends.anthropic,
                    self.settings.llm.model,
                )
                self.notifier = Notifier(self.settings.handoff, self.settings.http.public_url)
                self.handoffs.listeners.append(self.notifier)
                self.handoffs.listeners.append(self._count_handoff)
                self.backends.store_client.observe = self._count_store_request
            freeze_start_up()  # before the lag monitor: its one long collection is not load
            self.loop_lag.start()
            self._gauges = asyncio.get_running_loop().create_task(self._refresh_gauges())
            if self.worker:
                self.server.start_adopting()
                return
            await self.server.start()
            self._http = await start_front(
                self.settings,
                self.storage,
                self.handoffs,
                takes_calls=self._audiosocket_ready,
                metrics=self.metrics,
                before_scrape=self.refresh_gauges,
                local_calls=self.calls.ids,
            )
            self.dialplan, self.console = self._http.dialplan, self._http.console
        except BaseException:
            await self.stop()
            raise

    async def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then drain and stop."""
        with on_stop_signals(self.request_stop):
            await self._stopped.wait()
        await self.stop()

    def request_stop(self) -> None:
        """Begin a graceful shutdown (what SIGTERM does)."""
        if not self._stopped.is_set():
            log.info("shutdown requested", active_calls=self.server.active_calls)
            self.server.stop_accepting()
            self._stopped.set()

    async def stop(self) -> None:
        """Drain: refuse new calls, let calls finish, then end the rest cleanly."""
        self.server.stop_accepting()
        if self.handoffs is not None and not self.worker:
            self.handoffs.drain_started()  # this process answers the dialplan's lookups
        drain = self.settings.drain_secs
        if not await self.server.wait_idle(drain):
            log.warning("drain over, handing calls over", active_calls=self.server.active_calls)
            await self.calls.end_all_for_drain()
            if not await self.server.wait_idle(HANGUP_GRACE_SECS):
                await self.calls.cancel_all("shutdown")
                await self.server.wait_idle(HANGUP_GRACE_SECS)
        await self.server.close()
        if self.handoffs is not None and not self.worker:
            await self.handoffs.wait_looked_up()  # the HTTP app answers until then
        self.loop_lag.stop()
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._gc_callback)
        if self._gauges is not None:
            self._gauges.cancel()
        if self._http is not None:
            await self._http.close()  # open console streams end first
            self._http = None
        if self.notifier is not None:
            await self.notifier.close()
            self.notifier = None
        if self.backends is not None:
            await self.backends.close()
            self.backends = None
        if self.storage is not None:
            await self.storage.close()
            self.storage = None
        log.info("stopped")

    async def _run_call(self, connection: AudioSocketConnection, call_id: uuid.UUID) -> None:
        call = Call(
            self.settings,
            connection,
            call_id,
            backends=self.backends,
            prompts=self.prompts,
            phrases=(
                FixedPhrases(self.prompt_sets, self.phrases, self.settings.language)
                if self.phrases is not None
                else None
            ),
            storage=self.storage,
            metrics=self.metrics,
            caller_number_hash=(
                self.dialplan.take_caller(call_id)
                if self.dialplan
                else self.caller_hashes.pop(call_id, None)
            ),
            handoffs=self.handoffs,
        )
        for listener in self.on_call:
            listener(call)
        self.calls.add(call)
        if self.console is not None:
            self.console.call_changed()
        try:
            await call.run()
        finally:
            self.calls.remove(call)
            for listener in self.on_call_ended:
                listener(call)
            if self.console is not None:
                self.console.call_changed()

    async def _audiosocket_ready(self) -> CheckResult:
        if not self.server.serving:
            return CheckResult(False, "draining" if self._stopped.is_set() else "not listening")
        refused = self.server.refusal()
        if refused is not None:
            detail = refused.replace("_", " ")
            return CheckResult(False, f"{detail} ({self.server.active_calls} calls)")
        return CheckResult(True, f"{self.server.active_calls} active calls")

    async def _refresh_gauges(self) -> None:
        """Keep the readiness and storage gauges current (explicit values: multiprocess-safe)."""
        while True:
            self.refresh_gauges()
            await asyncio.sleep(GAUGE_REFRESH_SECS)

    def refresh_gauges(self) -> None:
        """Set the readiness and storage gauges from the current state."""
        if not self.worker:  # a worker's supervisor says whether the service takes calls
            ready = self.server.serving and self.server.refusal() is None
            self.metrics.ready.set(1.0 if ready else 0.0)
        self.metrics.event_loop_tasks.set(len(asyncio.all_tasks()))
        if self.storage is not None:
            writer, sessions = self.storage.writer, self.storage.sessions
            self.metrics.storage_pending_records.set(writer.pending)
            self.metrics.storage_spilled_records.set(writer.spilled)
            self.metrics.postgres_up.set(1.0 if writer.healthy else 0.0)
            self.metrics.redis_up.set(1.0 if sessions.healthy else 0.0)

    def _count_store_request(self, operation: str, outcome: str, seconds: float) -> None:
        self.metrics.store_requests.labels(operation, outcome).inc()
        if outcome != "circuit_open":
            self.metrics.store_request_seconds.labels(operation).observe(seconds)
        if outcome not in ("ok", "not_found", "rejected"):
            self.metrics.errors.labels("store", outcome).inc()

    def _count_handoff(self, handoff: Handoff) -> None:
        reason = bounded(handoff.reason, REASONS)
        self.metrics.handoffs.labels(reason, handoff.summary_source).inc()
