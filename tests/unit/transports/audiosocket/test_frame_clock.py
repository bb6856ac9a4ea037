"""The process's 20 ms frame clock: one wake-up for every sender, a failing sender dropped."""

import asyncio

import pytest

from transports.audiosocket.frame_clock import FrameClock, shared_clock

pytestmark = pytest.mark.unit


class Sender:
    """Records the times it was ticked at; stops the test once it has ``wanted`` ticks."""

    def __init__(self, log: list[tuple[str, float]], name: str, wanted: int = 3) -> None:
        self.log = log
        self.name = name
        self.ticks: list[float] = []
        self.wanted = wanted
        self.done = asyncio.Event()

    def tick(self, now: float):
        self.ticks.append(now)
        self.log.append((self.name, now))
        if len(self.ticks) >= self.wanted:
            self.done.set()
        return None


async def test_every_sender_is_ticked_at_the_same_instant_first_at_once():
    log: list[tuple[str, float]] = []
    clock = FrameClock()
    first, second = Sender(log, "a"), Sender(log, "b")
    await clock.join(first)
    assert first.ticks  # joining ticks it at once: its first frames go without waiting
    await clock.join(second)
    await asyncio.wait_for(second.done.wait(), 2)

    shared = [now for now in second.ticks[1:]]
    assert all(now in first.ticks for now in shared)  # one wake-up drove both


async def test_a_sender_that_raises_is_dropped_and_the_others_go_on():
    log: list[tuple[str, float]] = []
    clock = FrameClock()

    class Broken(Sender):
        def tick(self, now: float):
            if self.ticks:
                raise RuntimeError("bug in one call's sender")
            return super().tick(now)

    broken, healthy = Broken(log, "broken"), Sender(log, "healthy", wanted=4)
    await clock.join(broken)
    await clock.join(healthy)
    await asyncio.wait_for(healthy.done.wait(), 2)

    assert clock.senders == 1
    assert len(broken.ticks) == 1


async def test_announcements_wait_until_every_sender_has_written():
    log: list[tuple[str, float]] = []
    clock = FrameClock()
    announced = asyncio.Event()

    class Announcing(Sender):
        def tick(self, now: float):
            super().tick(now)
            if len(self.ticks) == 2:
                return self._announce()
            return None

        async def _announce(self):
            log.append(("announced", 0.0))
            announced.set()

    await clock.join(Announcing(log, "first"))
    await clock.join(Sender(log, "second"))
    await asyncio.wait_for(announced.wait(), 2)

    names = [name for name, _ in log]
    at = names.index("announced")
    assert names[at - 2 : at] == ["first", "second"]  # both wrote that tick before it


async def test_the_clock_stops_when_the_last_sender_leaves_and_restarts_on_the_next():
    clock = FrameClock()
    sender = Sender([], "only")
    await clock.join(sender)
    task = clock._task
    clock.leave(sender)
    await asyncio.wait_for(task, 1)  # ends by itself: no task left behind

    again = Sender([], "again")
    await clock.join(again)
    await asyncio.wait_for(again.done.wait(), 2)
    clock.leave(again)


async def test_one_clock_per_event_loop():
    assert shared_clock() is shared_clock()
