"""Real-time pacing of outgoing AudioSocket frames, as pure arithmetic on a clock value.

Asterisk has no jitter buffer on the AudioSocket path and forwards whatever it gets straight
to RTP (DESIGN.md, "AudioSocket facts"): frames sent in a burst are dropped or reach the
caller's phone as a burst, and frames sent too late leave gaps. The sender therefore keeps a
timeline: frame ``k`` may go out at ``origin + (k - lead) * frame_secs``, so at most ``lead``
frames are ever ahead of real time. A sender that wakes up so late that the whole lead is
spent has stalled; the pacer then starts a new timeline instead of bursting the backlog.

The pacer never reads a clock and never sleeps: callers pass ``now`` in, which keeps its
tests synchronous and exact.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_LEAD_FRAMES = 1
MAX_LEAD_FRAMES = 3


@dataclass(slots=True)
class PacerStats:
    """What the pacer has seen since it started.

    Parameters:
        frames: Frames sent.
        stalls: Times a frame sent at the full lead (bot audio) was so late that the
            timeline was restarted: the receiver ran dry, a dropout. A frame sent with a
            smaller lead (silence) restarts it too, uncounted: silence that comes a few
            milliseconds late is not heard.
        late_secs_max: The largest lateness seen (seconds past a frame's due time).
    """

    frames: int = 0
    stalls: int = 0
    late_secs_max: float = 0.0


class Pacer:
    """Decides when the next fixed-length frame may be sent.

    Args:
        frame_secs: Playback length of one frame (0.02 for AudioSocket).
        lead_frames: How many frames may be sent ahead of real time (1-3).
    """

    def __init__(self, *, frame_secs: float = 0.02, lead_frames: int = 2) -> None:
        if frame_secs <= 0:
            raise ValueError(f"frame_secs must be positive, got {frame_secs}")
        if not MIN_LEAD_FRAMES <= lead_frames <= MAX_LEAD_FRAMES:
            raise ValueError(
                f"lead_frames must be {MIN_LEAD_FRAMES}-{MAX_LEAD_FRAMES}, got {lead_frames}"
            )
        self._frame_secs = frame_secs
        self._lead = lead_frames
        self._origin: float | None = None
        self._index = 0  # frames sent on the current timeline
        self.stats = PacerStats()

    @property
    def frame_secs(self) -> float:
        """Playback length of one frame in seconds."""
        return self._frame_secs

    def next_due(self, now: float, lead_frames: int | None = None) -> float:
        """Return the time at which the next frame may be sent (``<= now`` means at once).

        ``lead_frames`` (0 up to the pacer's lead) lets this frame run less far ahead than
        the pacer's lead: for silence, so that bot audio that follows waits behind less.
        """
        if self._origin is None:
            return now
        lead = self._lead if lead_frames is None else lead_frames
        return self._origin + (self._index - lead) * self._frame_secs

    def ahead_secs(self, now: float) -> float:
        """How far the frames sent so far run ahead of real time at ``now`` (0 before any)."""
        if self._origin is None:
            return 0.0
        return self._origin + self._index * self._frame_secs - now

    def restart(self) -> None:
        """Start a new timeline with the next frame, without counting a stall.

        For a sender that let its lead play out on purpose (the bot's audio ended, and it
        waited for that audio to play before sending silence): the receiver has played
        everything sent, and the next frame starts afresh. Nothing was late.
        """
        self._origin = None
        self._index = 0

    def sent(self, now: float, lead_frames: int | None = None) -> None:
        """Record that one frame was sent at ``now`` (due with ``lead_frames``, as asked)."""
        if self._origin is None:
            self._origin = now
        else:
            lead = self._lead if lead_frames is None else lead_frames
            late = now - self.next_due(now, lead)
            if late > self.stats.late_secs_max:
                self.stats.late_secs_max = late
            # Lateness beyond the lead means the receiver already ran dry: catching up
            # would only burst frames at it, so this frame starts a fresh timeline.
            if late > lead * self._frame_secs:
                if lead == self._lead:
                    self.stats.stalls += 1
                self._origin = now
                self._index = 0
        self._index += 1
        self.stats.frames += 1
