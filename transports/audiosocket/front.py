"""The supervisor's AudioSocket listener: accept, read the call UUID, hand the socket on.

With several worker processes, one process listens on the AudioSocket port and decides
where each call goes (:mod:`bot.supervisor`). Here is only its I/O: accept a connection,
read exactly the first message (19 bytes: the UUID) within the handshake deadline - not a
byte more, so the caller's audio stays in the socket for the worker - and give the socket
and the call UUID to ``dispatch``. ``dispatch`` either takes the socket (returns None) or
says why not; then the call gets the AudioSocket hangup at once and the socket is closed,
which on a current Asterisk sends the caller on to the next dialplan priority (the
operators).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import Callable

from observability.logging import get_logger
from transports.audiosocket.codec import CallId, Decoder, Hangup, ProtocolError, encode

log = get_logger("transports.audiosocket.front")

HANDSHAKE_BYTES = 3 + 16  # kind, length, the UUID
Dispatch = Callable[[socket.socket, uuid.UUID], str | None]  # None: taken, else why not


class AudioSocketFront:
    """Accepts AudioSocket connections and dispatches each call by its UUID.

    Args:
        dispatch: Takes the socket of a call (returns None) or says why it is refused.
        host: Address to listen on.
        port: Port to listen on (0 picks a free one; see :attr:`port`).
        handshake_timeout: Seconds allowed for the call UUID to arrive.
    """

    def __init__(
        self, dispatch: Dispatch, *, host: str, port: int, handshake_timeout: float
    ) -> None:
        self._dispatch = dispatch
        self._host = host
        self._port = port
        self._timeout = handshake_timeout
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._handshakes: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port actually bound."""
        return self._listener.getsockname()[1] if self._listener else self._port

    async def start(self) -> None:
        """Bind, listen and start accepting."""
        infos = await asyncio.get_running_loop().getaddrinfo(
            self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, address = infos[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(512)
        listener.setblocking(False)
        self._listener = listener
        self._accepting = asyncio.get_running_loop().create_task(self._accept_loop())
        log.info("audiosocket listening", host=self._host, port=self.port)

    async def close(self) -> None:
        """Stop accepting; connections still in their handshake are closed."""
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        for task in list(self._handshakes):
            task.cancel()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._listener is not None
        while True:
            try:
                conn, _ = await loop.sock_accept(self._listener)
            except OSError as exc:  # e.g. out of file descriptors: go on after a breath
                log.error("accept failed", error=type(exc).__name__)
                await asyncio.sleep(0.1)
                continue
            task = loop.create_task(self._handshake(conn))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)

    async def _handshake(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        try:
            call_id = await self._read_call_id(conn)
            if call_id is None:
                return
            refused = self._dispatch(conn, call_id)
            if refused is None:
                return
            log.warning("call refused", call_uuid=str(call_id), reason=refused)
            with contextlib.suppress(OSError):
                conn.send(encode(Hangup()))
        finally:
            conn.close()  # after a hand-over, the worker holds its own copy

    async def _read_call_id(self, conn: socket.socket) -> uuid.UUID | None:
        loop = asyncio.get_running_loop()
        data = bytearray()
        try:
            async with asyncio.timeout(self._timeout):
                while len(data) < HANDSHAKE_BYTES:
                    chunk = await loop.sock_recv(conn, HANDSHAKE_BYTES - len(data))
                    if not chunk:
                        log.info("connection closed before the call uuid")
                        return None
                    data += chunk
                    if len(data) >= 3 and data[0] != 0x01:
                        break  # not a UUID message: the decoder says what is wrong
            messages = Decoder(expect_call_id=True).feed(bytes(data))
        except TimeoutError:
            log.warning("no call uuid in time", timeout=self._timeout)
            return None
        except ProtocolError as exc:
            log.warning("malformed audiosocket handshake", error=str(exc))
            return None
        except OSError:
            return None
        if not messages or not isinstance(messages[0], CallId):
            log.warning("malformed audiosocket handshake", error="no call uuid first")
            return None
        return messages[0].uuid
