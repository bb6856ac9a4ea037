"""The event-loop lag monitor: samples kept for a window, read back at a quantile."""

import asyncio
import time

import pytest

from observability.loop_lag import LoopLag

pytestmark = pytest.mark.unit


def test_recent_is_the_largest_lag_within_the_window():
    now = [100.0]
    seen: list[float] = []
    lag = LoopLag(seen.append, window=2.0, clock=lambda: now[0])
    lag.record(100.0, 0.004)
    lag.record(100.5, 0.090)
    lag.record(101.0, 0.010)
    now[0] = 101.0
    assert lag.recent() == 0.090
    now[0] = 102.6  # the 90 ms sample is now older than the window
    assert lag.recent() == 0.010
    now[0] = 104.0
    assert lag.recent() == 0.0
    assert seen == [0.004, 0.090, 0.010]


def test_recent_at_a_quantile_ignores_a_single_stall():
    lag = LoopLag(window=2.0, clock=lambda: 101.0)
    for i in range(20):
        lag.record(100.0 + i * 0.05, 0.002)
    lag.record(101.0, 0.300)  # one stall: the largest, but not what the loop keeps doing
    assert lag.recent() == 0.300
    assert lag.recent(0.75) == 0.002
    for _ in range(8):  # the loop keeps falling behind: over a quarter of the samples late
        lag.record(101.0, 0.120)
    assert lag.recent(0.75) == 0.120


async def test_a_blocked_loop_shows_as_lag():
    lag = LoopLag(interval=0.01)
    lag.start()
    await asyncio.sleep(0.05)
    time.sleep(0.12)  # noqa: ASYNC251  # a synchronous stretch: every timer is late
    await asyncio.sleep(0.03)
    lag.stop()
    assert lag.recent() >= 0.08
