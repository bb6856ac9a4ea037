"""The desk's drain bookkeeping: which decisions the dialplan has still to read."""

import asyncio

import pytest

from bot.handoff.desk import HandoffDesk
from bot.settings import HandoffSettings

pytestmark = pytest.mark.unit


def _desk() -> HandoffDesk:
    return HandoffDesk(HandoffSettings(), storage=None, anthropic=None, model="m")


async def test_decisions_made_while_draining_are_waited_for_until_looked_up() -> None:
    desk = _desk()
    desk.hung_up("before")  # decided before the drain: nobody waits for it
    desk.drain_started()
    desk.publish(desk.bare("a", "shutdown", None))
    desk.hung_up("b")

    waiting = asyncio.create_task(desk.wait_looked_up(timeout=5))
    desk.looked_up("a")
    await asyncio.sleep(0)
    assert not waiting.done()  # "b" is still unread
    desk.looked_up("b")

    assert await waiting == []


async def test_an_unread_decision_stops_waiting_at_the_timeout() -> None:
    desk = _desk()
    desk.drain_started()
    desk.hung_up("gone")
    assert await desk.wait_looked_up(timeout=0.01) == ["gone"]


async def test_nothing_is_waited_for_without_a_drain() -> None:
    desk = _desk()
    desk.hung_up("x")
    assert await desk.wait_looked_up(timeout=5) == []
