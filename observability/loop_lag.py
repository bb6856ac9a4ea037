"""How late the event loop runs what is due: the delay every call on this process feels.

A timer is set every ``interval`` seconds; the time between when it was due and when the loop
got round to it is the lag. A busy loop (too many calls, a long synchronous stretch) shows as
lag long before callers hear gaps, so admission control reads :meth:`LoopLag.recent` (a
sustained lag, not a single stall) and ``callproc_event_loop_lag_seconds`` records every
sample.

The measuring is a bare ``call_later`` callback (no task, no coroutine): ten or twenty
wake-ups a second cost nothing next to a call's fifty frames a second.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

DEFAULT_INTERVAL_SECS = 0.05
DEFAULT_WINDOW_SECS = 2.0


class LoopLag:
    """Samples the running loop's lag until stopped.

    Args:
        observe: Called with each sample in seconds (e.g. a histogram's ``observe``).
        interval: Seconds between samples.
        window: Seconds of samples :meth:`recent` looks back over.
        clock: Monotonic clock (the loop's own by default).
    """

    def __init__(
        self,
        observe: Callable[[float], None] | None = None,
        *,
        interval: float = DEFAULT_INTERVAL_SECS,
        window: float = DEFAULT_WINDOW_SECS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._observe = observe
        self._interval = interval
        self._window = window
        self._clock = clock
        self._samples: deque[tuple[float, float]] = deque()  # (when, lag)
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self) -> None:
        """Begin sampling on the running loop."""
        if self._handle is None:
            self._schedule()

    def stop(self) -> None:
        """Stop sampling."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def recent(self, quantile: float = 1.0) -> float:
        """The lag of the last ``window`` seconds at ``quantile`` (1: the largest; 0 if none).

        With ``quantile=0.75``, a quarter of the samples were later than the answer: a loop
        that keeps falling behind, not one that stalled once.
        """
        self._forget(self._clock())
        lags = sorted(lag for _, lag in self._samples)
        if not lags:
            return 0.0
        return lags[min(len(lags) - 1, int(quantile * len(lags)))]

    def record(self, now: float, lag: float) -> None:
        """Keep one sample (what the timer does; tests call it with their own clock)."""
        self._samples.append((now, lag))
        self._forget(now)
        if self._observe is not None:
            self._observe(lag)

    def _forget(self, now: float) -> None:
        horizon = now - self._window
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()

    def _schedule(self) -> None:
        self._due = self._clock() + self._interval
        self._handle = asyncio.get_running_loop().call_later(self._interval, self._tick)

    def _tick(self) -> None:
        now = self._clock()
        self.record(now, max(0.0, now - self._due))
        self._schedule()
