"""The running Call Processor: AudioSocket server, calls, HTTP app, graceful shutdown.

``callproc serve`` runs one :class:`Service` until SIGTERM/SIGINT; tests and the demo run
one in-process on ephemeral ports.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Callable
from typing import get_args

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.call import Call, CallRegistry
from bot.console.app import Console
from bot.dialplan_api import DialplanApi
from bot.handoff.desk import Handoff, HandoffDesk
from bot.handoff.notify import Notifier
from bot.http import CheckResult, bound_port, build_app, start_http
from bot.phrases import render_phrases
from bot.prompts import PromptSet, load_prompts
from bot.secrets_store import stored_secret
from bot.services import Backends, open_backends
from bot.settings import Language, Settings
from bot.storage import records
from bot.storage.runtime import Storage, open_storage
from observability.logging import get_logger
from observability.loop_lag import LoopLag
from observability.metrics import REASONS, bounded, build_metrics, exposition_registry
from processors.phone_vad import silero_session
from transports.audiosocket.connection import AudioSocketConnection
from transports.audiosocket.server import AudioSocketServer

log = get_logger("bot.service")

HANGUP_GRACE_SECS = 3.0  # after the drain time: bot hangups in flight, then cancel


class Service:
    """Everything one process serves.

    Args:
        settings: The service settings.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        audio = settings.audiosocket
        self.calls = CallRegistry()
        self.server = AudioSocketServer(
            self._run_call,
            host=audio.host,
            port=audio.port,
            max_calls=audio.max_calls,
            handshake_timeout=audio.handshake_timeout_secs,
            max_payload=audio.max_payload_bytes,
        )
        self._http: web.AppRunner | None = None
        self._stopped = asyncio.Event()
        self.backends: Backends | None = None
        self.prompts: PromptSet | None = None
        self.phrases: dict[str, bytes] | None = None
        self.storage: Storage | None = None
        self.handoffs: HandoffDesk | None = None
        self.dialplan: DialplanApi | None = None
        self.console: Console | None = None
        self.notifier: Notifier | None = None
        self.metrics = build_metrics()  # a registry of this service's own
        self.loop_lag = LoopLag(self.metrics.event_loop_lag_seconds.observe)
        self.on_call: list[Callable[[Call], None]] = []  # told of each call as it starts

    @property
    def api_token(self) -> str:
        """The token the dialplan presents (configured, or made once in the data folder)."""
        configured = self.settings.http.api_token
        if configured is not None:
            return configured.get_secret_value()
        return stored_secret(self.settings.data_dir, "api-token")

    @property
    def console_password(self) -> str:
        """The operator console's password (configured, or made once in the data folder)."""
        configured = self.settings.http.console_token
        if configured is not None:
            return configured.get_secret_value()
        return stored_secret(self.settings.data_dir, "console-token")

    @property
    def http_port(self) -> int:
        """The HTTP app's bound port."""
        assert self._http is not None, "service not started"
        return bound_port(self._http)

    async def start(self) -> None:
        """Load the prompts, reach the services, open the AudioSocket listener and HTTP app."""
        self.storage = await open_storage(self.settings)
        self._measure_storage()
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
                self.backends = await open_backends(self.settings)
                self.phrases = await render_phrases(self.settings, self.backends, self.prompts)
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
            self.dialplan = DialplanApi(self.api_token, self.storage, self.handoffs)
            self.console = Console(
                self.console_password,
                self.storage,
                self.handoffs,
                self.calls.ids,
                self.settings.handoff.language,
            )
            await self._listen()
        except BaseException:
            await self.stop()
            raise

    async def _listen(self) -> None:
        self.loop_lag.start()
        await self.server.start()
        app = build_app(
            {"audiosocket": self._audiosocket_ready},
            degraded={"postgres": self._postgres_ready, "redis": self._redis_ready},
        )
        self.dialplan.routes(app)
        self.console.routes(app)
        app.router.add_get("/metrics", self._metrics)
        self._http = await start_http(app, self.settings.http.host, self.settings.http.port)

    async def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then drain and stop."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await self._stopped.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
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
        drain = self.settings.drain_secs
        if not await self.server.wait_idle(drain):
            log.warning("drain time over, ending calls", active_calls=self.server.active_calls)
            await self.calls.end_all("shutdown")
            if not await self.server.wait_idle(HANGUP_GRACE_SECS):
                await self.calls.cancel_all("shutdown")
                await self.server.wait_idle(HANGUP_GRACE_SECS)
        await self.server.close()
        self.loop_lag.stop()
        if self.console is not None:
            self.console.events.close()  # open event streams end, so the HTTP app can stop
        if self._http is not None:
            await self._http.cleanup()
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
            phrases=self.phrases,
            storage=self.storage,
            metrics=self.metrics,
            caller_number_hash=self.dialplan.take_caller(call_id) if self.dialplan else None,
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
            if self.console is not None:
                self.console.call_changed()

    async def _audiosocket_ready(self) -> CheckResult:
        if not self.server.serving:
            return CheckResult(False, "draining" if self._stopped.is_set() else "not listening")
        if self.server.at_capacity:
            return CheckResult(False, f"at capacity ({self.server.active_calls} calls)")
        return CheckResult(True, f"{self.server.active_calls} active calls")

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(exposition_registry(self.metrics))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def _measure_storage(self) -> None:
        server = self.server
        self.metrics.ready.set_function(
            lambda: 1.0 if server.serving and not server.at_capacity else 0.0
        )
        assert self.storage is not None
        writer, sessions = self.storage.writer, self.storage.sessions
        self.metrics.storage_pending_records.set_function(lambda: writer.pending)
        self.metrics.storage_spilled_records.set_function(lambda: writer.spilled)
        self.metrics.postgres_up.set_function(lambda: 1.0 if writer.healthy else 0.0)
        self.metrics.redis_up.set_function(lambda: 1.0 if sessions.healthy else 0.0)

    def _count_store_request(self, operation: str, outcome: str, seconds: float) -> None:
        self.metrics.store_requests.labels(operation, outcome).inc()
        if outcome != "circuit_open":
            self.metrics.store_request_seconds.labels(operation).observe(seconds)
        if outcome not in ("ok", "not_found", "rejected"):
            self.metrics.errors.labels("store", outcome).inc()

    def _count_handoff(self, handoff: Handoff) -> None:
        reason = bounded(handoff.reason, REASONS)
        self.metrics.handoffs.labels(reason, handoff.summary_source).inc()

    async def _postgres_ready(self) -> CheckResult:
        assert self.storage is not None
        writer = self.storage.writer
        try:
            await self.storage.database.ping()
        except Exception as e:
            waiting = f"{writer.pending} records waiting, {writer.spilled} spilled"
            return CheckResult(False, f"unreachable ({type(e).__name__}); {waiting}")
        if not writer.healthy:
            return CheckResult(False, f"writes failing; {writer.pending} records waiting")
        return CheckResult(True, "ok")

    async def _redis_ready(self) -> CheckResult:
        assert self.storage is not None
        try:
            await self.storage.sessions.ping()
        except Exception as e:
            return CheckResult(False, f"unreachable ({type(e).__name__}); calls go on")
        return CheckResult(True, "ok")
