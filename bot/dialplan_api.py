"""The HTTP endpoints the Asterisk dialplan calls around ``AudioSocket()``.

- ``POST /calls/{uuid}/caller`` (form ``number=...``), just before: the caller's number, kept
  only as a keyed hash for the call's record.
- ``GET /calls/{uuid}/handoff``, just after: what to do with the call. JSON by default;
  ``?format=plain`` gives ``decision=transfer&reason=...&queue=...&summary=...`` for
  ``CURLOPT(hashcompat)`` + ``HASH()``. ``decision`` is ``transfer`` (queue it, with the
  summary), ``hangup`` (the bot finished the call) or ``unknown`` (send it to the operators,
  to be safe). The first read marks the handoff delivered.

Both need the API token, as ``?token=`` (easy from ``CURL()``) or ``Authorization: Bearer``.
"""

from __future__ import annotations

import hmac
import time
import uuid
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.handoff.desk import Handoff, HandoffDesk
from bot.storage import records
from bot.storage.runtime import Storage
from observability.logging import get_logger

log = get_logger("bot.dialplan_api")

CALLER_TTL_SECS = 30.0  # between the dialplan's POST of the caller number and AudioSocket()
MAX_PENDING_CALLERS = 10_000


def token_ok(request: web.Request, token: str) -> bool:
    """Whether the request carries the token (query, form field or bearer header)."""
    given = request.query.get("token", "")
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        given = header[7:]
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


class DialplanApi:
    """The dialplan's endpoints, and the caller numbers waiting for their calls.

    Args:
        token: The API token.
        storage: Storage (caller-number key, delivery records).
        handoffs: Where decisions are found (None: the echo pipeline, always ``unknown``).
    """

    def __init__(self, token: str, storage: Storage, handoffs: HandoffDesk | None) -> None:
        self._token = token
        self._storage = storage
        self._handoffs = handoffs
        self._callers: dict[uuid.UUID, tuple[str, float]] = {}
        self._delivered: set[str] = set()

    def routes(self, app: web.Application) -> None:
        """Add the endpoints to ``app``."""
        app.router.add_post("/calls/{call_uuid}/caller", self._caller_number)
        app.router.add_get("/calls/{call_uuid}/handoff", self._handoff)

    def take_caller(self, call_id: uuid.UUID) -> str | None:
        """The caller-number hash reported for this call, if any (once)."""
        entry = self._callers.pop(call_id, None)
        return entry[0] if entry is not None and entry[1] > time.monotonic() else None

    async def _caller_number(self, request: web.Request) -> web.Response:
        if not token_ok(request, self._token):
            return web.Response(status=401, text="token required")
        form = await request.post()
        call_id = _call_id(request)
        digits = "".join(c for c in str(form.get("number") or "") if c.isdigit())
        if call_id is None or not 3 <= len(digits) <= 20:
            return web.Response(status=400, text="bad call id or number")
        now = time.monotonic()
        self._callers = {k: v for k, v in self._callers.items() if v[1] > now}
        if len(self._callers) < MAX_PENDING_CALLERS:
            hashed = records.caller_number_hash(digits, self._storage.caller_key)
            self._callers[call_id] = (hashed, now + CALLER_TTL_SECS)
        return web.Response(text="ok")

    async def _handoff(self, request: web.Request) -> web.Response:
        if not token_ok(request, self._token):
            return web.Response(status=401, text="token required")
        call_id = _call_id(request)
        if call_id is None:
            return web.Response(status=400, text="bad call id")
        found = None
        if self._handoffs is not None:
            found = await self._handoffs.find(str(call_id))
            self._handoffs.looked_up(str(call_id))
        plain = request.query.get("format") == "plain"
        if isinstance(found, Handoff):
            self._mark_delivered(found.call_uuid)
            if plain:
                return web.Response(text=found.plain())
            return web.json_response(found.as_dict())
        answer = {"decision": found or "unknown", "call_uuid": str(call_id)}
        if plain:
            return web.Response(text=urlencode(answer, quote_via=quote))
        return web.json_response(answer)

    def _mark_delivered(self, call_uuid: str) -> None:
        if call_uuid in self._delivered:
            return
        self._delivered.add(call_uuid)
        if len(self._delivered) > MAX_PENDING_CALLERS:
            self._delivered.clear()
        self._storage.writer.submit(records.handoff_delivered(call_uuid, records.now_iso()))
        log.info("handoff delivered to the dialplan")


def _call_id(request: web.Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.match_info["call_uuid"])
    except ValueError:
        return None
