"""One worker process of ``callproc serve``: serves the calls its supervisor hands it.

Started by :mod:`bot.supervisor` as ``python -m bot.worker --link-fd N --capacity C``. It
runs a :class:`~bot.service.Service` without a listener or an HTTP app, takes each
connection the supervisor sends over the link, and reports back what the supervisor needs:
its load (for admission and readiness), handoffs and bot hangups (for the dialplan's lookup
and the console), and calls starting and ending. SIGTERM or SIGINT drains it: calls in
progress finish (up to ``CALLPROC_DRAIN_SECS``), then it exits. If the supervisor goes away,
it drains the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import uuid
from typing import TYPE_CHECKING

from bot.settings import Settings, SettingsError, load_settings
from bot.stop_signals import on_stop_signals
from bot.worker_link import LinkClosed, WorkerLink
from observability.logging import configure_logging, get_logger

if TYPE_CHECKING:  # imported once logging is set up (pipecat logs as it loads)
    from bot.call import Call
    from bot.handoff.desk import Handoff

log = get_logger("bot.worker")

STATE_EVERY_SECS = 0.1


class Worker:
    """A service fed by the supervisor's link.

    Args:
        settings: The service settings.
        link: This worker's end of the link.
        capacity: Calls this worker takes at most.
    """

    def __init__(self, settings: Settings, link: WorkerLink, capacity: int) -> None:
        from bot.service import Service

        self.service = Service(settings, worker=True, capacity=capacity)
        self.link = link
        self.taken = 0  # calls received from the supervisor
        self.held = 0  # of those, the ones not ended yet (being adopted, served or refused)
        self._calls: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Serve until told to stop or the supervisor is gone, then drain."""
        loop = asyncio.get_running_loop()
        with on_stop_signals(self._stop.set):
            await self.service.start()
            self._wire()
            self._send_state()
            tasks = [
                loop.create_task(self._take_calls()),
                loop.create_task(self._report()),
                loop.create_task(self._stop.wait()),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            log.info("worker draining", active_calls=self.service.server.active_calls)
            tasks[0].cancel()  # no new calls; the reports go on while calls finish
            await self.service.stop()
            for task in tasks:
                task.cancel()
        self.link.close()

    def request_stop(self) -> None:
        """Drain and exit, as SIGTERM does."""
        self._stop.set()

    def _wire(self) -> None:
        service = self.service
        if service.handoffs is not None:
            service.handoffs.listeners.append(self._handoff)
            service.handoffs.hangup_listeners.append(self._hung_up)
        service.on_call.append(self._call_changed)
        service.on_call_ended.append(self._call_changed)

    async def _take_calls(self) -> None:
        while True:
            try:
                message, conn = await self.link.receive()
            except LinkClosed:
                log.warning("supervisor gone")
                return
            if message.get("kind") != "call" or conn is None:
                if conn is not None:
                    conn.close()
                continue
            self.taken += 1
            self.held += 1
            task = asyncio.get_running_loop().create_task(
                self._serve(conn, uuid.UUID(message["call_uuid"]), message.get("caller"))
            )
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
            self._send_state()  # the supervisor places the next call knowing of this one

    async def _serve(self, conn: socket.socket, call_id: uuid.UUID, caller: str | None) -> None:
        try:
            await self.service.take_call(conn, call_id, caller)
        finally:
            self.held -= 1
            self._send_state()

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(STATE_EVERY_SECS)
            self._send_state()

    def _send_state(self) -> None:
        # The calls it holds, not the service's count: that one starts only once a call is
        # adopted, and a report between the two would show the supervisor a free place.
        load = self.service.load()
        self._send(
            {
                "kind": "state",
                "active": self.held,
                "lag": round(load.lag_secs, 4),
                "draining": load.draining,
                "taken": self.taken,
            }
        )

    def _handoff(self, handoff: Handoff) -> None:
        self._send({"kind": "handoff", "handoff": handoff.as_dict()})

    def _hung_up(self, call_uuid: str) -> None:
        self._send({"kind": "hung_up", "call_uuid": call_uuid})

    def _call_changed(self, _call: Call) -> None:
        self._send({"kind": "calls_changed"})
        self._send_state()

    def _send(self, message: dict) -> None:
        with contextlib.suppress(LinkClosed):  # the supervisor is gone: we are draining
            self.link.send(message)


def main(argv: list[str] | None = None) -> int:
    """Run one worker; the supervisor passes the link's descriptor and the capacity."""
    parser = argparse.ArgumentParser(prog="python -m bot.worker", description=__doc__)
    parser.add_argument("--link-fd", type=int, required=True)
    parser.add_argument("--capacity", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"callproc worker: configuration error\n{exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, json=settings.log_format == "json")

    async def run() -> None:
        link = WorkerLink(socket.socket(fileno=args.link_fd))
        await Worker(settings, link, args.capacity).run()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
