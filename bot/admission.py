"""Whether a process takes one more call: pure policy, decided from numbers handed in.

A call is taken only while the process can serve it at full quality (DESIGN.md, "Process
model and capacity"); otherwise it is refused at once with the AudioSocket hangup and the
dialplan sends the caller to the operators. Overload must never degrade calls already in
progress, so two limits apply, and either refuses:

- **capacity**: calls in progress against the most this process serves well, taken from
  ``callproc bench`` on the machine (``CALLPROC_AUDIOSOCKET__MAX_CALLS``, split over the
  workers);
- **event-loop lag**: how late the process's event loop ran in the last second, at
  :data:`LAG_QUANTILE` (a quarter of the samples were later), against
  ``CALLPROC_AUDIOSOCKET__MAX_LOOP_LAG_MS``. A loop that keeps running timers late delays
  every call's 20 ms frames; it is the sign of a process asked for more than it can do (a
  slower machine, a noisy neighbour, calls heavier than the bench's). A single stall is not:
  the calls of a burst starting together stall the loop for a moment, and the largest lag
  alone refused calls well within the capacity (8 of 20 taken when 40 arrived at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.settings import AudioSocketSettings
from transports.audiosocket.handshake import HandshakeLimits

LAG_QUANTILE = 0.75


class Refusal(StrEnum):
    """Why a call was refused (the ``reason`` label of ``callproc_calls_refused_total``)."""

    DRAINING = "draining"
    AT_CAPACITY = "at_capacity"
    OVERLOADED = "overloaded"


@dataclass(frozen=True, slots=True)
class Load:
    """What a process reports about itself.

    Parameters:
        active: Calls in progress.
        lag_secs: Its recent event-loop lag, at :data:`LAG_QUANTILE`.
        draining: Shutting down (no new calls, ever).
    """

    active: int
    lag_secs: float
    draining: bool = False


@dataclass(frozen=True, slots=True)
class Admission:
    """The limits of one process.

    Parameters:
        capacity: Calls it serves at full quality.
        max_lag_secs: Event-loop lag above which it takes no new call.
    """

    capacity: int
    max_lag_secs: float

    def refusal(self, load: Load) -> Refusal | None:
        """None if the process takes one more call, else why not."""
        if load.draining:
            return Refusal.DRAINING
        if load.active >= self.capacity:
            return Refusal.AT_CAPACITY
        if load.lag_secs > self.max_lag_secs:
            return Refusal.OVERLOADED
        return None

    def headroom(self, load: Load) -> int:
        """How many more calls it takes now (0 when it refuses)."""
        return 0 if self.refusal(load) is not None else self.capacity - load.active


def handshake_limits(audio: AudioSocketSettings) -> HandshakeLimits:
    """What a connection must do to become a call (a call only then counts against capacity)."""
    return HandshakeLimits(
        uuid_secs=audio.handshake_timeout_secs,
        first_audio_secs=audio.first_audio_secs,
        waiting_per_peer=audio.max_waiting_per_peer,
    )


def per_worker(total: int, workers: int) -> int:
    """Each worker's share of a total capacity (rounded up: the total is a floor, not a cap)."""
    return max(1, -(-total // max(1, workers)))
