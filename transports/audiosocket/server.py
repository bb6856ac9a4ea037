"""The asyncio TCP server Asterisk's ``AudioSocket()`` connects to.

Per connection it only does I/O and admission: read the call UUID (the first message) within
a deadline, refuse the call cleanly when draining or full, otherwise hand the connection to
the call handler and forget it when the handler returns. A refusal is an AudioSocket hangup
(``0x00``): on a current Asterisk the dialplan then continues, e.g. to the operator queue,
so the caller is never dropped because this process is busy.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from observability.logging import get_logger
from transports.audiosocket.codec import CallId, Hangup, ProtocolError
from transports.audiosocket.connection import PEER_GONE, AudioSocketConnection

log = get_logger("transports.audiosocket.server")

CallHandler = Callable[[AudioSocketConnection, uuid.UUID], Awaitable[None]]


class AudioSocketServer:
    """Accepts AudioSocket connections and runs one call handler per admitted call.

    Args:
        handler: Coroutine run for each admitted call; the connection is closed after it.
        host: Address to listen on.
        port: Port to listen on (0 picks a free one; see :attr:`port`).
        max_calls: Calls handled at once; more are refused with a hangup.
        handshake_timeout: Seconds allowed for the call UUID to arrive.
        max_payload: Largest message payload accepted from Asterisk.
    """

    def __init__(
        self,
        handler: CallHandler,
        *,
        host: str,
        port: int,
        max_calls: int,
        handshake_timeout: float,
        max_payload: int,
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._max_calls = max_calls
        self._handshake_timeout = handshake_timeout
        self._max_payload = max_payload
        self._server: asyncio.Server | None = None
        self._calls: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._connections: set[asyncio.Task[None]] = set()
        self._draining = False
        self.refused = 0

    @property
    def port(self) -> int:
        """The port actually bound (useful when configured as 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def serving(self) -> bool:
        """Whether the listener is up and admitting calls."""
        return self._server is not None and self._server.is_serving() and not self._draining

    @property
    def active_calls(self) -> int:
        """Calls currently being handled."""
        return len(self._calls)

    @property
    def at_capacity(self) -> bool:
        """Whether the next call would be refused for lack of room."""
        return len(self._calls) >= self._max_calls

    async def start(self) -> None:
        """Bind and start listening."""
        self._server = await asyncio.start_server(
            self._on_connection, self._host, self._port, reuse_address=True
        )
        log.info("audiosocket listening", host=self._host, port=self.port)

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

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        conn = AudioSocketConnection(
            reader, writer, expect_call_id=True, max_payload=self._max_payload
        )
        try:
            call_id = await self._handshake(conn, peer)
            if call_id is None:
                return
            if self._draining or self.at_capacity:
                self.refused += 1
                log.warning(
                    "call refused",
                    call_uuid=str(call_id),
                    reason="draining" if self._draining else "at_capacity",
                    active_calls=len(self._calls),
                )
                await conn.send(Hangup())
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

    async def _handshake(self, conn: AudioSocketConnection, peer: object) -> uuid.UUID | None:
        try:
            first = await conn.receive(timeout=self._handshake_timeout)
        except TimeoutError:
            log.warning("no call uuid in time", peer=_peer(peer), timeout=self._handshake_timeout)
            return None
        except ProtocolError as exc:
            log.warning("malformed audiosocket handshake", peer=_peer(peer), error=str(exc))
            return None
        if not isinstance(first, CallId):  # the peer closed before saying anything
            log.info("connection closed before the call uuid", peer=_peer(peer))
            return None
        return first.uuid


def _peer(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
