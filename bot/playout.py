"""What a caller hears of the frames the service sent: gaps on the playout timeline.

The service sends each call's audio up to a few frames ahead of real time (its lead,
``transports/audiosocket/pacer.py``), and Asterisk stamps those frames with continuous RTP
timestamps, so the phone plays them one after another. Gaps between *arrivals* therefore
overstate what the caller hears: when an answer ends, the lead plays out while the next
frame is not due yet, and the arrivals show a gap of lead + one frame (80 ms with a lead of
3) that nobody hears. :func:`playout` plays the arrivals in order instead, each frame no
earlier than it arrived and no earlier than the previous one ended, and reports the gaps
between frame starts (20 ms when nothing is missing) next to the arrival gaps, and how far
ahead the audio ever ran, so that a sender that bursts cannot look smooth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FRAME_SECS = 0.02


@dataclass(frozen=True, slots=True)
class Playout:
    """One call's received frames, played in order.

    Parameters:
        starts: When each frame starts playing (seconds, the arrivals' clock).
        worst_gap_ms: The longest time between two frames' starts (20 ms = no gap).
        arrival_gap_ms: The longest time between two arrivals.
        most_ahead_ms: The longest a frame waited for the audio before it to play.
    """

    starts: np.ndarray
    worst_gap_ms: float
    arrival_gap_ms: float
    most_ahead_ms: float

    def gaps_over(self, limit_ms: float) -> int:
        """How many times a frame started more than ``limit_ms`` after the one before."""
        return int((np.diff(self.starts) * 1000 > limit_ms).sum())


def playout(arrivals: Sequence[float] | np.ndarray, frame_secs: float = FRAME_SECS) -> Playout:
    """Play ``arrivals`` (seconds, in order) as frames of ``frame_secs`` each."""
    arrived = np.asarray(arrivals, dtype=np.float64)
    if arrived.size < 2:
        return Playout(arrived, 0.0, 0.0, 0.0)
    # start[k] = max(arrived[k], start[k-1] + frame): with s = start - k * frame that is a
    # running maximum of arrived - k * frame.
    offsets = np.arange(arrived.size) * frame_secs
    starts = np.maximum.accumulate(arrived - offsets) + offsets
    return Playout(
        starts=starts,
        worst_gap_ms=float(np.diff(starts).max() * 1000),
        arrival_gap_ms=float(np.diff(arrived).max() * 1000),
        most_ahead_ms=float((starts - arrived).max() * 1000),
    )
