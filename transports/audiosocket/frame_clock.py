"""One 20 ms clock for every call's audio sender in a process.

Each call must put a frame on the wire every 20 ms, talking or not (DESIGN.md, "AudioSocket
facts"). A sender task per call sleeping to its own timeline costs the event loop a timer, a
wake-up and a task step per call per frame; with twenty calls that is a thousand wake-ups a
second. :class:`FrameClock` wakes once per frame for the whole process and lets each sender
write what is due, synchronously; a sender's own :class:`~transports.audiosocket.pacer.Pacer`
still decides how many frames that is, so a late tick is caught up within the lead and a
long stall restarts that call's timeline, as before.

A sender's ``tick(now)`` returns an awaitable only when it has something to announce (the
start or end of bot audio on the wire); the clock awaits those after every sender has
written, so one call's announcement never delays another call's frame. A sender that raises
is dropped from the clock and reported; the others go on.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol

from observability.logging import get_logger

log = get_logger("transports.audiosocket.frame_clock")

FRAME_SECS = 0.02


class Ticked(Protocol):
    """What the clock drives: called once per tick with the clock's time."""

    def tick(self, now: float) -> Awaitable[None] | None:
        """Write what is due at ``now``; return an awaitable for anything to announce."""
        ...


class FrameClock:
    """Ticks every ``frame_secs`` while at least one sender has joined.

    Args:
        frame_secs: The tick period (one AudioSocket frame).
        clock: Monotonic time source, in seconds.
    """

    def __init__(
        self, *, frame_secs: float = FRAME_SECS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._frame_secs = frame_secs
        self._clock = clock
        self._senders: dict[Ticked, None] = {}  # insertion-ordered set
        self._task: asyncio.Task | None = None

    async def join(self, sender: Ticked) -> None:
        """Tick ``sender`` once now (its first frames go at once), then on every tick."""
        announcement = sender.tick(self._clock())
        if announcement is not None:
            await announcement
        self._senders[sender] = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="audiosocket-frame-clock"
            )

    def now(self) -> float:
        """The clock's time, as the senders get it with each tick."""
        return self._clock()

    def leave(self, sender: Ticked) -> None:
        """Stop ticking ``sender``; safe to call more than once, and from its own tick."""
        self._senders.pop(sender, None)

    @property
    def senders(self) -> int:
        """How many senders are ticked."""
        return len(self._senders)

    async def _run(self) -> None:
        due = self._clock()
        while self._senders:
            now = self._clock()
            announcements = [a for sender in list(self._senders) if (a := self._tick(sender, now))]
            for announcement in announcements:
                try:
                    await announcement
                except Exception:
                    log.exception("audio sender announcement failed")
            due += self._frame_secs
            now = self._clock()
            if due <= now:  # woke a whole frame late: every sender has caught up already
                due = now + self._frame_secs
            await asyncio.sleep(due - now)

    def _tick(self, sender: Ticked, now: float) -> Awaitable[None] | None:
        try:
            return sender.tick(now)
        except Exception:
            log.exception("audio sender failed; it is off the clock")
            self.leave(sender)
            return None


_clocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FrameClock] = (
    weakref.WeakKeyDictionary()
)


def shared_clock() -> FrameClock:
    """The running event loop's frame clock (one per loop, so one per worker process)."""
    loop = asyncio.get_running_loop()
    clock = _clocks.get(loop)
    if clock is None:
        clock = _clocks[loop] = FrameClock()
    return clock
