"""The supervisor's AudioSocket listener: accept, read the call UUID, hand the socket on.

With several worker processes, one process listens on the AudioSocket port and decides
where each call goes (:mod:`bot.supervisor`). Here is only its I/O: accept a connection,
read exactly the first message (19 bytes: the UUID) within the handshake deadline - not a
byte more, so the caller's audio stays in the socket for the worker - wait until the next
bytes are there (the first audio; :mod:`~transports.audiosocket.handshake` says why and how
long), and give the socket and the call UUID to ``dispatch``. ``dispatch`` either takes the
socket (returns None) or says why not; then the call gets the AudioSocket hangup at once and
the socket is closed, which on a current Asterisk sends the caller on to the next dialplan
priority (the operators).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import Callable

from observability.logging import get_logger
from transports.audiosocket.codec import CallId, Decoder, Hangup, ProtocolError, encode
from transports.audiosocket.connection import HANGUP_LINGER_SECS, READ_CHUNK
from transports.audiosocket.handshake import Dropped, HandshakeLimits, PeerGate

log = get_logger("transports.audiosocket.front")

HANDSHAKE_BYTES = 3 + 16  # kind, length, the UUID
Dispatch = Callable[[socket.socket, uuid.UUID], str | None]  # None: taken, else why not


class AudioSocketFront:
    """Accepts AudioSocket connections and dispatches each call by its UUID.

    Args:
        dispatch: Takes the socket of a call (returns None) or says why it is refused.
        host: Address to listen on.
        port: Port to listen on (0 picks a free one; see :attr:`port`).
        limits: What a connection must do, how fast, to become a call.
        on_dropped: Told why each connection that never became a call was dropped.
    """

    def __init__(
        self,
        dispatch: Dispatch,
        *,
        host: str,
        port: int,
        limits: HandshakeLimits,
        on_dropped: Callable[[Dropped], None] | None = None,
    ) -> None:
        self._dispatch = dispatch
        self._host = host
        self._port = port
        self._limits = limits
        self._gate = PeerGate(limits.waiting_per_peer)
        self._on_dropped = on_dropped
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
        try:
            listener.bind(address)
        except OSError as exc:  # say which address, as asyncio's own servers do
            listener.close()
            message = f"cannot bind on address {address!r}: {exc.strerror}"
            raise OSError(exc.errno, message) from None
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
                conn, address = await loop.sock_accept(self._listener)
            except OSError as exc:  # e.g. out of file descriptors: go on after a breath
                log.error("accept failed", error=type(exc).__name__)
                await asyncio.sleep(0.1)
                continue
            task = loop.create_task(self._handshake(conn, str(address[0])))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)

    async def _handshake(self, conn: socket.socket, peer: str) -> None:
        conn.setblocking(False)
        try:
            if not self._gate.enter(peer):
                await self._refuse(conn, None, Dropped.PEER_LIMIT)
                return
            try:
                call_id = await self._read_call_id(conn)
                if call_id is None:
                    return
                if self._limits.first_audio_secs and not await self._first_audio(conn, call_id):
                    return
            finally:
                self._gate.leave(peer)
            refused = self._dispatch(conn, call_id)
            if refused is not None:
                await self._refuse(conn, call_id, refused)
        finally:
            conn.close()  # after a hand-over, the worker holds its own copy

    async def _refuse(self, conn: socket.socket, call_id: uuid.UUID | None, reason: str) -> None:
        """The AudioSocket hangup: the dialplan sends the caller on to the operators.

        Then the end of our stream and the peer's frames read and dropped until it closes
        (at most :data:`HANGUP_LINGER_SECS`): a close with unread bytes would reset the
        connection, and the reset could destroy the hangup before Asterisk reads it.
        """
        log.warning("call refused", call_uuid=str(call_id) if call_id else None, reason=reason)
        if isinstance(reason, Dropped):
            self._dropped(reason)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(HANGUP_LINGER_SECS):
                await loop.sock_sendall(conn, encode(Hangup()))
                conn.shutdown(socket.SHUT_WR)
                while await loop.sock_recv(conn, READ_CHUNK):
                    pass

    def _dropped(self, reason: Dropped) -> None:
        if self._on_dropped is not None:
            self._on_dropped(reason)

    async def _first_audio(self, conn: socket.socket, call_id: uuid.UUID) -> bool:
        """Wait until the next bytes are in the socket (left there); False if none came."""
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        loop.add_reader(conn.fileno(), lambda: readable.done() or readable.set_result(None))
        try:
            async with asyncio.timeout(self._limits.first_audio_secs):
                await readable
        except TimeoutError:
            timed_out = True
        else:
            timed_out = False
        finally:
            loop.remove_reader(conn.fileno())
        if timed_out:
            await self._refuse(conn, call_id, Dropped.NO_AUDIO)
            return False
        try:
            if conn.recv(1, socket.MSG_PEEK):
                return True
        except BlockingIOError:
            return True  # woken, but nothing to read after all: the worker reads on
        except OSError:
            pass
        log.info("connection closed before the first audio", call_uuid=str(call_id))
        self._dropped(Dropped.CLOSED)
        return False

    async def _read_call_id(self, conn: socket.socket) -> uuid.UUID | None:
        loop = asyncio.get_running_loop()
        data = bytearray()
        try:
            async with asyncio.timeout(self._limits.uuid_secs):
                while len(data) < HANDSHAKE_BYTES:
                    chunk = await loop.sock_recv(conn, HANDSHAKE_BYTES - len(data))
                    if not chunk:
                        log.info("connection closed before the call uuid")
                        self._dropped(Dropped.CLOSED)
                        return None
                    data += chunk
                    if len(data) >= 3 and data[0] != 0x01:
                        break  # not a UUID message: the decoder says what is wrong
            messages = Decoder(expect_call_id=True).feed(bytes(data))
        except TimeoutError:
            log.warning("no call uuid in time", timeout=self._limits.uuid_secs)
            self._dropped(Dropped.HANDSHAKE_TIMEOUT)
            return None
        except ProtocolError as exc:
            log.warning("malformed audiosocket handshake", error=str(exc))
            self._dropped(Dropped.PROTOCOL_ERROR)
            return None
        except OSError:
            self._dropped(Dropped.CLOSED)
            return None
        if not messages or not isinstance(messages[0], CallId):
            log.warning("malformed audiosocket handshake", error="no call uuid first")
            self._dropped(Dropped.PROTOCOL_ERROR)
            return None
        return messages[0].uuid
