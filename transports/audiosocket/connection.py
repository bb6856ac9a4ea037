"""One AudioSocket TCP connection: whole messages in, whole messages out, nothing else.

The codec does the parsing; this class only moves bytes. Each message is written in one
``write``: :meth:`send` under a lock and followed by ``drain()`` (where backpressure happens),
as the DESIGN's AudioSocket facts require; :meth:`send_now` without waiting, for the frame
clock, which watches :attr:`backlog` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque

from transports.audiosocket.codec import Decoder, Hangup, Message, encode

# The named exceptions a closing or reset peer produces; nothing else is swallowed.
PEER_GONE = (ConnectionError, asyncio.IncompleteReadError, BrokenPipeError, OSError)

READ_CHUNK = 65536
# Bytes we wrote that the peer's kernel has not acknowledged for this long: the peer's host
# is gone (a crash, a cut network), so the kernel drops the connection (TCP_USER_TIMEOUT).
# We write a frame every 20 ms, so a live peer acknowledges all the time.
UNREACHABLE_AFTER_SECS = 10.0
HANGUP_LINGER_SECS = 1.0  # after our hangup: time for Asterisk to read it and close


class AudioSocketConnection:
    """A stream reader/writer pair that speaks AudioSocket messages.

    Args:
        reader: The connection's stream reader.
        writer: The connection's stream writer.
        expect_call_id: True on the server side (the peer is Asterisk and must send the call
            UUID first), False on the caller side.
        max_payload: Largest payload accepted before the peer is declared malformed.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        expect_call_id: bool,
        max_payload: int,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._decoder = Decoder(expect_call_id=expect_call_id, max_payload=max_payload)
        self._inbox: deque[Message] = deque()
        self._write_lock = asyncio.Lock()
        self._eof = False
        self.unreachable = False  # the kernel gave up on the peer (not a hangup)
        tune_socket(writer)

    @property
    def closed(self) -> bool:
        """Whether our side has closed (or started closing) the socket."""
        return self._writer.is_closing()

    async def receive(self, timeout: float | None = None) -> Message | None:
        """Return the next message, or None once the peer has closed the stream.

        Raises:
            ProtocolError: The peer sent something that is not AudioSocket.
            TimeoutError: Nothing complete arrived within ``timeout`` seconds.
        """
        while not self._inbox:
            if self._eof:
                return None
            try:
                # asyncio.timeout, not wait_for: no task per read (this runs 50 times a
                # second per call).
                async with asyncio.timeout(timeout):
                    data = await self._reader.read(READ_CHUNK)
            except TimeoutError as exc:
                if exc.errno is None:
                    raise  # our deadline (an OSError too on Python 3.11+, not a lost peer)
                self.unreachable = True  # ETIMEDOUT from the kernel: TCP_USER_TIMEOUT
                data = b""
            except PEER_GONE:
                data = b""
            if not data:
                self._eof = True
                self._decoder.close()  # raises if the stream ended inside a message
                return None
            self._inbox.extend(self._decoder.feed(data))
        return self._inbox.popleft()

    async def wait_message(self, timeout: float | None = None) -> bool:
        """Wait until a message can be received (it stays for :meth:`receive`); False at EOF.

        Raises:
            ProtocolError: The peer sent something that is not AudioSocket.
            TimeoutError: Nothing complete arrived within ``timeout`` seconds.
        """
        message = await self.receive(timeout)
        if message is None:
            return False
        self._inbox.appendleft(message)
        return True

    async def send(self, message: Message) -> None:
        """Write one whole message and wait until the kernel has taken it.

        Raises:
            ConnectionError: The socket is closed or the peer is gone.
        """
        async with self._write_lock:
            self.send_now(message)
            await self._writer.drain()

    def send_now(self, message: Message) -> None:
        """Write one whole message without waiting (the frame clock's path).

        The write is whole because nothing else runs between its bytes; the caller watches
        :attr:`backlog` for a peer that stops reading.

        Raises:
            ConnectionError: The socket is closed or the peer is gone.
        """
        if self._writer.is_closing():
            raise ConnectionResetError("audiosocket connection is closed")
        self._writer.write(encode(message))

    @property
    def backlog(self) -> int:
        """Bytes written but not yet taken by the kernel (the peer is not keeping up)."""
        return self._writer.transport.get_write_buffer_size()

    def abort(self) -> None:
        """Drop the connection at once, without waiting for queued bytes."""
        self._writer.transport.abort()

    async def hang_up(self, linger_secs: float = HANGUP_LINGER_SECS) -> None:
        """Send the AudioSocket hangup and close without destroying it on the way.

        Closing a socket that still has unread bytes (the caller's frames keep coming) makes
        the kernel send a reset, and a reset can discard the hangup before Asterisk has read
        it: its ``AudioSocket()`` then fails and the channel is hung up instead of going on
        in the dialplan. So: the hangup, the end of our stream, then the peer's frames read
        and dropped until it closes its side (Asterisk does on the hangup), for at most
        ``linger_secs``; then the close. Never raises for a peer that is already gone.
        """
        with contextlib.suppress(*PEER_GONE, TimeoutError):
            async with asyncio.timeout(linger_secs):
                await self.send(Hangup())
                if self._writer.can_write_eof():
                    self._writer.write_eof()
                while await self._reader.read(READ_CHUNK):
                    pass
        await self.close()

    async def close(self) -> None:
        """Close the socket; safe to call more than once and after the peer has gone."""
        if not self._writer.is_closing():
            self._writer.close()
        try:
            await asyncio.wait_for(self._writer.wait_closed(), timeout=1.0)
        except (*PEER_GONE, TimeoutError):
            pass


def tune_socket(writer: asyncio.StreamWriter) -> None:
    """No Nagle (each 20 ms frame leaves at once); an unreachable peer is dropped in time."""
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if hasattr(socket, "TCP_USER_TIMEOUT"):  # Linux
            millis = int(UNREACHABLE_AFTER_SECS * 1000)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, millis)
