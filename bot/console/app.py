"""The operator console: live calls, handoffs with the bot's summary, transcripts, live updates.

Served by the service's HTTP app under ``/console``. A password (``CALLPROC_HTTP__CONSOLE_TOKEN``,
or ``<data dir>/secrets/console-token``) opens a session cookie (HttpOnly, SameSite=Strict,
Secure over HTTPS; signed with the password, valid for ``SESSION_SECS``: changing the
password ends every session). Wrong passwords are answered one at a time, a second
apart. The page
(``static/index.html``) reads:

- ``GET /console/api/calls``: calls in progress (Redis sessions, else this process's calls)
  and recent handoffs (PostgreSQL, plus this process's newest ones not written yet);
- ``GET /console/api/calls/{uuid}``: one call's transcript, tool calls and handoff;
- ``GET /console/api/events``: server-sent events - ``handoff`` the moment a call is handed
  over, ``calls`` when a call starts or ends;
- ``POST /console/api/calls/{uuid}/ack``: an operator saw the handoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.handoff.desk import Handoff, HandoffDesk
from bot.handoff.facts import reason_text
from bot.storage import records
from bot.storage.runtime import Storage
from observability.logging import get_logger

log = get_logger("bot.console")

COOKIE = "callproc_console"
PAGE = Path(__file__).with_name("static") / "index.html"
SUBSCRIBER_QUEUE = 100  # events kept for a slow browser before it is dropped
KEEPALIVE_SECS = 15.0
SESSION_SECS = 12 * 3600  # a shift


class ConsoleEvents:
    """Fans events out to every open console (each has a bounded queue)."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[tuple[str, Any]]] = set()

    def publish(self, kind: str, data: Any) -> None:
        """Send an event to every console.

        A console that cannot keep up is closed; its page reconnects and reloads the lists.
        """
        for queue in list(self._subscribers):
            try:
                queue.put_nowait((kind, data))
            except asyncio.QueueFull:
                self._subscribers.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(("closing", {}))

    def subscribe(self) -> asyncio.Queue[tuple[str, Any]]:
        """A new console's queue."""
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        """A console went away."""
        self._subscribers.discard(queue)

    def close(self) -> None:
        """The service stops: every open event stream ends (the page reconnects later)."""
        self.publish("closing", {})


class Console:
    """The console's routes and data.

    Args:
        password: The console password.
        storage: Redis sessions and PostgreSQL.
        handoffs: This process's handoff desk (None: the echo pipeline).
        local_calls: The ids of this process's calls in progress (when Redis is down).
        language: The language reasons are shown in.
    """

    def __init__(
        self,
        password: str,
        storage: Storage,
        handoffs: HandoffDesk | None,
        local_calls: Callable[[], list[str]],
        language: str,
    ) -> None:
        self._password = password
        self._guessing = asyncio.Lock()  # wrong passwords are answered one at a time
        self._storage = storage
        self._handoffs = handoffs
        self._local_calls = local_calls
        self._language = language
        self._fresh: dict[str, dict[str, Any]] = {}  # handoffs published here, newest last
        self.events = ConsoleEvents()
        if handoffs is not None:
            handoffs.listeners.append(self._on_handoff)

    def routes(self, app: web.Application) -> None:
        """Add the console to ``app``."""
        app.router.add_get("/console", self._page)
        app.router.add_post("/console/login", self._login)
        app.router.add_post("/console/logout", self._logout)
        app.router.add_get("/console/api/calls", self._calls)
        app.router.add_get("/console/api/active", self._active_calls)
        app.router.add_get("/console/api/calls/{call_uuid}", self._call)
        app.router.add_post("/console/api/calls/{call_uuid}/ack", self._ack)
        app.router.add_get("/console/api/events", self._events)

    def call_changed(self) -> None:
        """A call started or ended: consoles refresh their list of live calls."""
        self.events.publish("calls", {})

    # Authentication

    def _session(self, issued: int) -> str:
        mac = hmac.new(self._password.encode(), f"console:{issued}".encode(), hashlib.sha256)
        return f"{issued}.{mac.hexdigest()}"

    def _signed_in(self, request: web.Request) -> bool:
        issued, _, _ = request.cookies.get(COOKIE, "").partition(".")
        if not issued.isdigit() or time.time() - int(issued) > SESSION_SECS:
            return False
        given = request.cookies.get(COOKIE, "")
        return hmac.compare_digest(given.encode(), self._session(int(issued)).encode())

    async def _page(self, request: web.Request) -> web.StreamResponse:
        if not self._signed_in(request):
            return web.Response(text=_LOGIN, content_type="text/html")
        return web.FileResponse(PAGE, headers={"Cache-Control": "no-store"})

    async def _login(self, request: web.Request) -> web.Response:
        form = await request.post()
        given = str(form.get("password") or "")
        if not hmac.compare_digest(given.encode(), self._password.encode()):
            log.warning("console login refused")
            async with self._guessing:  # parallel guesses wait their turn
                await asyncio.sleep(1.0)
            return web.Response(text=_LOGIN.replace("<!--error-->", _WRONG), status=401,
                                content_type="text/html")  # fmt: skip
        response = _see_console()
        https = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
        response.set_cookie(
            COOKIE, self._session(int(time.time())), httponly=True, samesite="Strict",
            secure=https, path="/console", max_age=SESSION_SECS,
        )  # fmt: skip
        return response

    async def _logout(self, request: web.Request) -> web.Response:
        response = _see_console()
        response.del_cookie(COOKIE, path="/console")
        return response

    def _guard(self, request: web.Request) -> None:
        if not self._signed_in(request):
            raise web.HTTPUnauthorized(text="sign in at /console")

    # Data

    async def _calls(self, request: web.Request) -> web.Response:
        self._guard(request)
        return web.json_response(
            {"active": await self._active(), "handoffs": await self._handoff_list()}
        )

    async def _active_calls(self, request: web.Request) -> web.Response:
        """Only the live calls: what the page reloads when a call starts or ends."""
        self._guard(request)
        return web.json_response({"active": await self._active()})

    async def _active(self) -> list[dict[str, Any]]:
        sessions = self._storage.sessions
        try:
            ids = await sessions.active_calls()
            states = await sessions.get_sessions(ids)
            found = [{"call_uuid": i, **state} for i, state in zip(ids, states, strict=True)]
        except Exception as e:  # Redis down: this process's own calls
            log.warning("console: redis unavailable", error=type(e).__name__)
            found = [{"call_uuid": i, "state": "in_call"} for i in self._local_calls()]
        return sorted(found, key=lambda c: c.get("started_at", ""), reverse=True)

    async def _handoff_list(self) -> list[dict[str, Any]]:
        try:
            stored = await self._storage.database.recent_handoffs(50)
        except Exception as e:  # PostgreSQL down: at least this process's newest ones
            log.warning("console: postgres unavailable", error=type(e).__name__)
            stored = []
        known = {h["call_uuid"] for h in stored}
        fresh = [h for h in self._fresh.values() if h["call_uuid"] not in known]
        listed = [*reversed(fresh), *stored]
        for h in listed:
            h["reason_text"] = reason_text(h.get("reason") or "", self._language)
        return listed

    async def _call(self, request: web.Request) -> web.Response:
        self._guard(request)
        try:
            call_id = uuid.UUID(request.match_info["call_uuid"])
        except ValueError:
            raise web.HTTPBadRequest(text="bad call id") from None
        detail = await self._storage.database.call_detail(call_id)
        if detail is None:
            raise web.HTTPNotFound(text="no such call (yet)")
        return web.json_response(detail)

    async def _ack(self, request: web.Request) -> web.Response:
        self._guard(request)
        call_uuid = request.match_info["call_uuid"]
        try:
            uuid.UUID(call_uuid)
        except ValueError:
            raise web.HTTPBadRequest(text="bad call id") from None
        at = records.now_iso()
        self._storage.writer.submit(records.handoff_acknowledged(call_uuid, at))
        if call_uuid in self._fresh:
            self._fresh[call_uuid]["acknowledged_at"] = at
        self.events.publish("ack", {"call_uuid": call_uuid, "acknowledged_at": at})
        return web.json_response({"ok": True, "acknowledged_at": at})

    def _on_handoff(self, handoff: Handoff) -> None:
        data = {**handoff.as_dict(), "reason_text": reason_text(handoff.reason, self._language)}
        self._fresh[handoff.call_uuid] = data
        while len(self._fresh) > 50:
            self._fresh.pop(next(iter(self._fresh)))
        self.events.publish("handoff", data)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        self._guard(request)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue = self.events.subscribe()
        try:
            await response.write(b"event: hello\ndata: {}\n\n")
            while True:
                try:
                    kind, data = await asyncio.wait_for(queue.get(), KEEPALIVE_SECS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                payload = json.dumps(data, ensure_ascii=False)
                await response.write(f"event: {kind}\ndata: {payload}\n\n".encode())
                if kind == "closing":
                    break
        except ConnectionResetError:
            pass
        finally:
            self.events.unsubscribe(queue)
            with contextlib.suppress(Exception):
                await response.write_eof()
        return response


_WRONG = '<p class="error">Wrong password.</p>'
_LOGIN = """<!doctype html>
<html lang="uk"><head><meta charset="utf-8"><title>Call Processor — console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;display:grid;place-items:center;height:90vh}
form{display:grid;gap:.6em;min-width:18em}.error{color:#b00}</style></head>
<body><form method="post" action="/console/login"><h1>Operator console</h1><!--error-->
<label>Password <input type="password" name="password" autofocus required></label>
<button type="submit">Sign in</button></form></body></html>
"""


def _see_console() -> web.Response:
    """A 303 back to the console page (returned, so cookies can be set on it)."""
    return web.Response(status=303, headers={"Location": "/console"})
