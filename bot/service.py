"""The running Call Processor: AudioSocket server, calls, HTTP app, graceful shutdown.

``callproc serve`` runs one :class:`Service` until SIGTERM/SIGINT; tests and the demo run
one in-process on ephemeral ports.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Callable

from aiohttp import web

from bot.call import Call, CallRegistry
from bot.http import CheckResult, bound_port, build_app, start_http
from bot.phrases import render_phrases
from bot.prompts import PromptSet, load_prompts
from bot.services import Backends, open_backends
from bot.settings import Settings
from observability.logging import get_logger
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
        self.on_call: list[Callable[[Call], None]] = []  # told of each call as it starts

    @property
    def http_port(self) -> int:
        """The HTTP app's bound port."""
        assert self._http is not None, "service not started"
        return bound_port(self._http)

    async def start(self) -> None:
        """Load the prompts, reach the services, open the AudioSocket listener and HTTP app."""
        if self.settings.pipeline == "voice":
            self.prompts = load_prompts(self.settings.language, store=self.settings.store_name)
            self.backends = await open_backends(self.settings)
            self.phrases = await render_phrases(self.settings, self.backends, self.prompts)
        await self.server.start()
        app = build_app({"audiosocket": self._audiosocket_ready})
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
        if self._http is not None:
            await self._http.cleanup()
            self._http = None
        if self.backends is not None:
            await self.backends.close()
            self.backends = None
        log.info("stopped")

    async def _run_call(self, connection: AudioSocketConnection, call_id: uuid.UUID) -> None:
        call = Call(
            self.settings,
            connection,
            call_id,
            backends=self.backends,
            prompts=self.prompts,
            phrases=self.phrases,
        )
        for listener in self.on_call:
            listener(call)
        self.calls.add(call)
        try:
            await call.run()
        finally:
            self.calls.remove(call)

    async def _audiosocket_ready(self) -> CheckResult:
        if not self.server.serving:
            return CheckResult(False, "draining" if self._stopped.is_set() else "not listening")
        if self.server.at_capacity:
            return CheckResult(False, f"at capacity ({self.server.active_calls} calls)")
        return CheckResult(True, f"{self.server.active_calls} active calls")
