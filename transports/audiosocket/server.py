"""The asyncio TCP server Asterisk's ``AudioSocket()`` connects to.

Per connection it only does I/O and admission: read the call UUID (the first message) and
wait for the first audio within their deadlines (:mod:`~transports.audiosocket.handshake`:
only then is it a call), refuse the call cleanly when draining or when the injected policy
says no, otherwise hand the connection to the call handler and forget it when the handler
returns.
A worker process gets its connections from the supervisor instead, the UUID already read
(:meth:`AudioSocketServer.adopt`); the same admission applies. A refusal is an AudioSocket hangup
(``0x00``): on a current Asterisk the dialplan then continues, e.g. to the operator queue,
so the caller is never dropped because this process is busy.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable

from observability.logging import get_logger
from transports.audiosocket.codec import CallId, ProtocolError
from transports.audiosocket.connection import PEER_GONE, AudioSocketConnection
from transports.audiosocket.handshake import Dropped, HandshakeLimits, PeerGate

log = get_logger("transports.audiosocket.server")

CallHandler = Callable[[AudioSocketConnection, uuid.UUID], Awaitable[None]]
Refusal = Callable[[int], str | None]  # calls in progress -> why not one more, or None


class AudioSocketServer:
    """Accepts AudioSocket connections and runs one call handler per admitted call.

    Args:
        handler: Coroutine run for each admitted call; the connection is closed after it.
        host: Address to listen on.
        port: Port to listen on (0 picks a free one; see :attr:`port`).
        refusal: Given the calls in progress, why the next one is refused (None: take it).
        limits: What a connection must do, how fast, to become a call.
        max_payload: Largest message payload accepted from Asterisk.
    """

    def __init__(
        self,
        handler: CallHandler,
        *,
        host: str,
        port: int,
        refusal: Refusal,
        limits: HandshakeLimits,
        max_payload: int,
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._refusal = refusal
        self._limits = limits
        self._gate = PeerGate(limits.waiting_per_peer)
        self._max_payload = max_payload
        self._server: asyncio.Server | None = None
        self._calls: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._connections: set[asyncio.Task[None]] = set()
        self._draining = False
        self._adopting = False  # a worker: connections come from the supervisor
        self.refused: dict[str, int] = {}  # by reason
        self.on_refused: Callable[[str], None] | None = None
        self.on_dropped: Callable[[Dropped], None] | None = None  # never became a call

    @property
    def port(self) -> int:
        """The port actually bound (useful when configured as 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def serving(self) -> bool:
        """Whether calls are taken (listening, or adopting the supervisor's) and not draining."""
        if self._draining:
            return False
        return self._adopting or (self._server is not None and self._server.is_serving())

    @property
    def active_calls(self) -> int:
        """Calls currently being handled."""
        return len(self._calls)

    def refusal(self) -> str | None:
        """Why the next call would be refused now, or None if it would be taken."""
        if self._draining:
            return "draining"
        return self._refusal(len(self._calls))

    async def start(self) -> None:
        """Bind and start listening."""
        self._server = await asyncio.start_server(
            self._on_connection, self._host, self._port, reuse_address=True
        )
        log.info("audiosocket listening", host=self._host, port=self.port)

    def start_adopting(self) -> None:
        """Take calls from the supervisor (:meth:`adopt`) instead of listening."""
        self._adopting = True

    def stop_accepting(self) -> None:
        """Refuse every new call from now on (draining); calls in progress go on."""
        self._draining = True

    async def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every call to end; return whether they did."""
        pending = list(self._calls.values())
        if not pending:
            return True
        _, still = await asyncio.wait(pending, timeout=timeout)
        return not still

    async def close(self) -> None:
        """Stop listening and cancel whatever connection is still open."""
        self._draining = True
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=2.0)

    def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def adopt(self, sock: socket.socket, call_id: uuid.UUID) -> None:
        """Serve a connection whose call UUID was already read (by the supervisor)."""
        reader, writer = await asyncio.open_connection(sock=sock)
        conn = AudioSocketConnection(
            reader, writer, expect_call_id=False, max_payload=self._max_payload
        )
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve_call(conn, call_id, writer.get_extra_info("peername"))
        finally:
            self._connections.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        conn = AudioSocketConnection(
            reader, writer, expect_call_id=True, max_payload=self._max_payload
        )
        call_id: uuid.UUID | Dropped | None = None
        if self._gate.enter(address):
            try:
                call_id = await self._handshake(conn, peer)
            except PEER_GONE:
                call_id = Dropped.CLOSED
            finally:
                self._gate.leave(address)
        else:
            call_id = Dropped.PEER_LIMIT
        if isinstance(call_id, Dropped):
            self._dropped(call_id)
            if call_id in (Dropped.NO_AUDIO, Dropped.PEER_LIMIT):
                log.warning("call refused", peer=_peer(peer), reason=str(call_id))
                await conn.hang_up()
        if not isinstance(call_id, uuid.UUID):
            await conn.close()
            return
        await self._serve_call(conn, call_id, peer)

    def _dropped(self, reason: Dropped) -> None:
        if self.on_dropped is not None:
            self.on_dropped(reason)

    async def _serve_call(
        self, conn: AudioSocketConnection, call_id: uuid.UUID, peer: object
    ) -> None:
        try:
            refused = self.refusal()
            if refused is not None:
                self.refused[refused] = self.refused.get(refused, 0) + 1
                if self.on_refused is not None:
                    self.on_refused(refused)
                log.warning(
                    "call refused",
                    call_uuid=str(call_id),
                    reason=refused,
                    active_calls=len(self._calls),
                )
                await conn.hang_up()
                return
            if call_id in self._calls:
                log.warning("call refused", call_uuid=str(call_id), reason="duplicate_uuid")
                return
            task = asyncio.current_task()
            assert task is not None
            self._calls[call_id] = task
            try:
                await self._handler(conn, call_id)
            finally:
                del self._calls[call_id]
        except PEER_GONE:
            pass
        except Exception:
            log.exception("call handler failed", peer=_peer(peer))
        finally:
            await conn.close()

    async def _handshake(self, conn: AudioSocketConnection, peer: object) -> uuid.UUID | Dropped:
        """The call UUID, then the first audio left for the call to read; or why not."""
        try:
            first = await conn.receive(timeout=self._limits.uuid_secs)
        except TimeoutError:
            log.warning("no call uuid in time", peer=_peer(peer), timeout=self._limits.uuid_secs)
            return Dropped.HANDSHAKE_TIMEOUT
        except ProtocolError as exc:
            log.warning("malformed audiosocket handshake", peer=_peer(peer), error=str(exc))
            return Dropped.PROTOCOL_ERROR
        if not isinstance(first, CallId):  # the peer closed before saying anything
            log.info("connection closed before the call uuid", peer=_peer(peer))
            return Dropped.CLOSED
        if self._limits.first_audio_secs:
            try:
                if not await conn.wait_message(timeout=self._limits.first_audio_secs):
                    log.info("connection closed before the first audio", peer=_peer(peer))
                    return Dropped.CLOSED
            except TimeoutError:
                return Dropped.NO_AUDIO
            except ProtocolError as exc:
                log.warning("malformed audiosocket stream", peer=_peer(peer), error=str(exc))
                return Dropped.PROTOCOL_ERROR
        return first.uuid


def _peer(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
