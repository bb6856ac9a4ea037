"""What a connection must do to become a call, and how many may be on their way per peer.

A connection is *waiting* from accept until its call UUID (within ``uuid_secs``) and its
first frame after it (within ``first_audio_secs``) have arrived; only then is it a call, and
only calls count against the call cap. A peer that opens connections and sends a UUID and
then nothing could otherwise hold every call slot; here it holds at most
``waiting_per_peer`` waiting connections, and a caller from elsewhere is never refused for
it. The listeners (:mod:`~transports.audiosocket.server`, :mod:`~transports.audiosocket.front`)
do the I/O; this module is the policy and its bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class HandshakeLimits:
    """How long a connection may take to become a call, and how many may wait per peer.

    Parameters:
        uuid_secs: Time allowed for the call UUID, the first message.
        first_audio_secs: Time allowed after the UUID for the next frame (0: not waited for).
        waiting_per_peer: Connections one address may have waiting at once.
    """

    uuid_secs: float
    first_audio_secs: float = 0.0
    waiting_per_peer: int = 1000


class Dropped(StrEnum):
    """Why a connection never became a call (``callproc_connections_dropped_total``)."""

    HANDSHAKE_TIMEOUT = "handshake_timeout"  # no UUID in time
    PROTOCOL_ERROR = "protocol_error"  # not AudioSocket, or no UUID first
    CLOSED = "closed_early"  # the peer closed before the call began
    NO_AUDIO = "no_audio"  # a UUID, then nothing: refused with a hangup
    PEER_LIMIT = "peer_limit"  # too many waiting from that address: refused with a hangup


class PeerGate:
    """Counts waiting connections per peer address, up to ``limit`` each.

    Args:
        limit: Waiting connections one address may have at once.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._waiting: dict[str, int] = {}

    def enter(self, peer: str) -> bool:
        """Take a waiting place for ``peer``; False if it already has ``limit``."""
        held = self._waiting.get(peer, 0)
        if held >= self._limit:
            return False
        self._waiting[peer] = held + 1
        return True

    def leave(self, peer: str) -> None:
        """Give back a place taken by :meth:`enter`."""
        held = self._waiting.get(peer, 0) - 1
        if held > 0:
            self._waiting[peer] = held
        else:
            self._waiting.pop(peer, None)
