"""Where handoffs are made, kept and found: the dialplan asks here the moment the bot hangs up.

:meth:`HandoffDesk.prepare` turns a call record into a :class:`Handoff` (facts, the summary
within its deadline). :meth:`~HandoffDesk.publish` keeps it in this process (the dialplan
asks the instance it just talked to, milliseconds later), writes it to Redis and PostgreSQL
through the call's recorder, and tells the console and the notifiers. :meth:`~HandoffDesk.
find` answers ``GET /calls/{uuid}/handoff``: this process first, then Redis, then PostgreSQL.
A call the bot finished itself is noted as ``hangup``, so the dialplan does not queue it.
While the service drains, the desk remembers which decisions the dialplan has not asked for
yet (:meth:`~HandoffDesk.wait_looked_up`), so the HTTP app stays up until the last one is read.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from anthropic import AsyncAnthropic

from bot.handoff.facts import gather_facts, reason_text
from bot.handoff.privacy import NameHider, introduced_names, minimise
from bot.handoff.summary import summarize
from bot.settings import HandoffSettings
from bot.storage import records
from bot.storage.runtime import Storage
from observability.logging import get_logger
from observability.observers.call_record import CallRecord

log = get_logger("bot.handoff")

KEPT = 2000  # recent decisions kept in memory
LOOKUP_GRACE_SECS = 5.0  # after a drain's last call: time for the dialplan to ask


@dataclass
class Handoff:
    """A call given to the operators: why, what they should know, where it goes."""

    call_uuid: str
    reason: str
    summary: str
    caller_wants: str | None
    summary_source: str  # "model" or "draft"
    queue: str
    created_at: str
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON for the API, Redis and the console."""
        return {"decision": "transfer", **asdict(self)}

    def plain(self) -> str:
        """``key=value&...`` for Asterisk: ``CURLOPT(hashcompat)`` reads it into ``HASH()``.

        Spaces are ``%20``, not ``+``: hashcompat=yes decodes per RFC 3986. ``HASH()`` then
        splits the values like dialplan arguments, where quotes and brackets group and
        quotes vanish, so those become look-alike characters (``27"`` reads ``27″``).
        """
        return urlencode(
            {
                "decision": "transfer",
                "reason": self.reason,
                "queue": self.queue,
                "summary": for_dialplan(self.summary),
                "caller_wants": for_dialplan(self.caller_wants or ""),
                "call_uuid": self.call_uuid,
            },
            quote_via=quote,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], queue: str) -> Handoff:
        """A handoff read back from Redis or PostgreSQL."""
        return cls(
            call_uuid=str(data["call_uuid"]),
            reason=str(data.get("reason") or "other"),
            summary=str(data.get("summary") or ""),
            caller_wants=data.get("caller_wants"),
            summary_source=str(data.get("summary_source") or "stored"),
            queue=str(data.get("queue") or queue),
            created_at=str(data.get("created_at") or ""),
            facts=data.get("facts") or {},
        )


_DIALPLAN_SAFE = str.maketrans({'"': "″", "(": "（", ")": "）", "[": "［", "]": "］", "\\": "/"})


def for_dialplan(text: str) -> str:
    """``text`` as one line that Asterisk's argument parsing leaves as it is."""
    return " ".join(text.translate(_DIALPLAN_SAFE).split())


Listener = Callable[[Handoff], None]


class HandoffDesk:
    """Handoffs of this process's calls, and the way to find any call's handoff.

    Args:
        settings: Summary language, deadline, model and queue.
        storage: Redis and PostgreSQL, to find handoffs of other instances or older calls.
        anthropic: The client for the summary (None: the draft is always used).
        model: The conversation's model, used when no summary model is set.
    """

    def __init__(
        self,
        settings: HandoffSettings,
        storage: Storage | None,
        anthropic: AsyncAnthropic | None,
        model: str,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.anthropic = anthropic
        self.model = settings.summary_model or model
        self._recent: OrderedDict[str, Handoff | str] = OrderedDict()  # or "hangup"
        self.listeners: list[Listener] = []  # the console, the notifiers
        self.hangup_listeners: list[Callable[[str], None]] = []  # told of each bot hangup
        self._unread: set[str] | None = None  # while draining: decisions not looked up yet
        self._read = asyncio.Event()

    async def prepare(
        self,
        call_uuid: str,
        record: CallRecord,
        reason: str,
        caller_wants: str | None,
        names: Iterable[str] = (),
    ) -> Handoff:
        """Facts and summary for a call going to the operators (at most the deadline).

        ``names`` are the caller's names as given for an order; with the names the caller said
        were theirs, the summary model never sees them, and the handoff carries them as
        ``settings.customer_name`` says.
        """
        said = introduced_names(t.user_text for t in record.turns)
        hide = NameHider([*names, *said], self.settings.customer_name)
        facts = gather_facts(record, reason, hide(caller_wants))
        facts.first_words = hide(facts.first_words)
        facts.last_words = hide(facts.last_words)
        summary = await summarize(
            self.anthropic,
            model=self.model,
            facts=facts,
            language=self.settings.language,
            deadline_secs=self.settings.summary_deadline_secs,
        )
        return Handoff(
            call_uuid=call_uuid,
            reason=reason,
            summary=hide(summary.text),
            caller_wants=hide(summary.caller_wants or facts.caller_wants),
            summary_source=summary.source,
            queue=self.settings.queue,
            created_at=records.now_iso(),
            facts=facts.as_dict(),
        )

    def bare(
        self, call_uuid: str, reason: str, caller_wants: str | None, names: Iterable[str] = ()
    ) -> Handoff:
        """A handoff with only the reason (when gathering the facts itself failed)."""
        caller_wants = minimise(caller_wants, names, self.settings.customer_name)
        text = f"{reason_text(reason, self.settings.language)}."
        return Handoff(
            call_uuid=call_uuid,
            reason=reason,
            summary=text[0].upper() + text[1:],
            caller_wants=caller_wants,
            summary_source="draft",
            queue=self.settings.queue,
            created_at=records.now_iso(),
        )

    def publish(self, handoff: Handoff) -> None:
        """Make the handoff findable here and tell the listeners (never raises)."""
        self._keep(handoff.call_uuid, handoff)
        log.info(
            "handoff ready",
            reason=handoff.reason,
            summary_source=handoff.summary_source,
            summary_chars=len(handoff.summary),
        )
        for listener in self.listeners:
            try:
                listener(handoff)
            except Exception as e:  # a broken listener must not stop the transfer
                log.error("handoff listener failed", error=type(e).__name__)

    def hung_up(self, call_uuid: str) -> None:
        """The bot ended the call itself: the dialplan should hang up, not queue it."""
        self._keep(call_uuid, "hangup")
        for listener in self.hangup_listeners:
            listener(call_uuid)

    def drain_started(self) -> None:
        """From now on, note each decision until the dialplan has looked it up."""
        if self._unread is None:
            self._unread = set()

    def looked_up(self, call_uuid: str) -> None:
        """The dialplan has read this call's decision."""
        if self._unread is not None:
            self._unread.discard(call_uuid)
            self._read.set()

    async def wait_looked_up(self, timeout: float = LOOKUP_GRACE_SECS) -> list[str]:
        """Wait until every decision made while draining was looked up (or ``timeout``).

        Returns the calls whose decision nobody asked for (e.g. the caller hung up first).
        """
        deadline = time.monotonic() + timeout
        while self._unread and (left := deadline - time.monotonic()) > 0:
            self._read.clear()
            try:
                async with asyncio.timeout(left):
                    await self._read.wait()
            except TimeoutError:
                break
        unread = sorted(self._unread or ())
        if unread:
            log.warning("decisions the dialplan never asked for", calls=len(unread))
        return unread

    def _keep(self, call_uuid: str, value: Handoff | str) -> None:
        if self._unread is not None:
            self._unread.add(call_uuid)
        self._recent[call_uuid] = value
        self._recent.move_to_end(call_uuid)
        while len(self._recent) > KEPT:
            self._recent.popitem(last=False)

    async def find(self, call_uuid: str) -> Handoff | str | None:
        """The call's handoff, ``"hangup"``, or None if nothing is known of a decision."""
        known = self._recent.get(call_uuid)
        if known is not None or self.storage is None:
            return known
        try:
            stored = await self.storage.sessions.get_handoff(call_uuid)
        except Exception as e:  # Redis down: PostgreSQL next
            log.warning("handoff lookup in redis failed", error=type(e).__name__)
            stored = None
        if stored is None:
            try:
                detail = await self.storage.database.call_handoff(uuid.UUID(call_uuid))
            except Exception as e:
                log.warning("handoff lookup in postgres failed", error=type(e).__name__)
                detail = None
            if detail is not None and detail.get("handoff"):
                stored = {**detail["handoff"], "call_uuid": call_uuid}
            elif detail is not None and detail.get("outcome") == "completed":
                return "hangup"
        return Handoff.from_dict(stored, self.settings.queue) if stored else None
