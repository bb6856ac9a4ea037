"""Small, clock-driven building blocks for calling a flaky service: a circuit breaker and a cache.

Both take the time as an argument instead of reading a clock, so they are pure and their
tests step time exactly; the caller passes ``time.monotonic()``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

V = TypeVar("V")


@dataclass
class CircuitBreaker:
    """Stops calling a service that keeps failing, and probes it again after a pause.

    ``closed``: calls go through; ``failures`` consecutive failures open it. ``open``: calls
    are refused until ``reset_secs`` have passed, then one probe is let through
    (``half_open``); its success closes the breaker, its failure opens it again. A probe
    that never reports back (a caller's barge-in cancelled it) does not jam the breaker:
    after another ``reset_secs`` the next call is the new probe.

    Parameters:
        failures: Consecutive failures that open the breaker.
        reset_secs: How long it stays open before a probe.
    """

    failures: int
    reset_secs: float
    state: Literal["closed", "open", "half_open"] = "closed"
    consecutive: int = 0
    opened_at: float = 0.0  # when it opened, or when the last probe went out

    def allow(self, now: float) -> bool:
        """Whether a call may go out now (the first call after the pause is the probe)."""
        if self.state == "closed":
            return True
        if now - self.opened_at >= self.reset_secs:
            self.state, self.opened_at = "half_open", now
            return True
        return False

    def succeeded(self) -> None:
        """A call worked: close the breaker."""
        self.state, self.consecutive = "closed", 0

    def failed(self, now: float) -> None:
        """A call failed: count it, and open the breaker at the limit or after a failed probe."""
        self.consecutive += 1
        if self.state == "half_open" or self.consecutive >= self.failures:
            self.state, self.opened_at = "open", now


class TTLCache(Generic[V]):
    """Remembers answers for ``ttl_secs``, at most ``max_items`` of them (oldest dropped first).

    Args:
        ttl_secs: Lifetime of an entry; 0 turns the cache off.
        max_items: Entries kept at most.
    """

    def __init__(self, ttl_secs: float, max_items: int = 1024) -> None:
        self.ttl_secs = ttl_secs
        self.max_items = max_items
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str, now: float) -> V | None:
        """The value stored under ``key`` if it is still fresh."""
        entry = self._items.get(key)
        if entry is None:
            return None
        stored, value = entry
        if now - stored >= self.ttl_secs:
            del self._items[key]
            return None
        return value

    def put(self, key: str, value: V, now: float) -> None:
        """Store ``value`` under ``key``."""
        if self.ttl_secs <= 0:
            return
        self._items[key] = (now, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (e.g. after an order changed the stock)."""
        self._items.clear()
