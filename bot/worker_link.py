"""The line between the supervisor and one worker: JSON messages and call sockets.

A Unix ``SOCK_SEQPACKET`` socket pair keeps each message whole, and a message can carry an
open file descriptor (``SCM_RIGHTS``): that is how an accepted AudioSocket connection moves
from the supervisor, which read its call UUID, to the worker that serves it. The kernel
copies the descriptor; the sender then closes its own copy.

Messages are small JSON objects with a ``kind``:

- supervisor → worker: ``call`` (``call_uuid``, ``caller``; with the connection's socket);
- worker → supervisor: ``state`` (``active``, ``lag``, ``draining``: what admission decides
  from, sent every 100 ms and at each call start and end), ``handoff`` (a handoff's data,
  for the console and the dialplan's lookup), ``hung_up`` (``call_uuid``: the bot ended
  the call), ``calls_changed`` (a call started or ended, for the console).
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

MAX_MESSAGE = 64 * 1024  # a handoff with its summary and facts fits many times over


class LinkClosed(ConnectionError):
    """The other side has gone (its process ended or closed the link)."""


def link_pair() -> tuple[socket.socket, socket.socket]:
    """A connected pair: the supervisor keeps the first, the worker inherits the second."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


class WorkerLink:
    """One end of the line, on the running event loop.

    Args:
        sock: This end's socket (made non-blocking here).
    """

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._readable = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable.set)
        self.closed = False

    def send(self, message: dict[str, Any], sock: socket.socket | None = None) -> None:
        """Send one message (with ``sock``'s descriptor, if given); never waits.

        Raises:
            LinkClosed: The other side is gone, or not reading (its buffer is full).
        """
        data = json.dumps(message, ensure_ascii=False).encode()
        try:
            if sock is None:
                self._sock.send(data)
            else:
                socket.send_fds(self._sock, [data], [sock.fileno()])
        except (BlockingIOError, OSError) as exc:
            raise LinkClosed(f"worker link: {type(exc).__name__}") from None

    async def receive(self) -> tuple[dict[str, Any], socket.socket | None]:
        """The next message and the socket it carried, if any.

        Raises:
            LinkClosed: The other side is gone.
        """
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self._sock, MAX_MESSAGE, 1)
            except BlockingIOError:
                self._readable.clear()
                await self._readable.wait()
                continue
            except OSError as exc:
                raise LinkClosed(f"worker link: {type(exc).__name__}") from None
            if not data:
                raise LinkClosed("worker link closed")
            conn = socket.socket(fileno=fds[0]) if fds else None
            return json.loads(data), conn

    def close(self) -> None:
        """Close this end."""
        if not self.closed:
            self.closed = True
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
