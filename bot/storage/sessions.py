"""Live call sessions in Redis: state per call with a TTL, the set of active calls, handoffs.

A call never waits for Redis. :meth:`SessionStore.update`, :meth:`~SessionStore.end` and
:meth:`~SessionStore.put_handoff` only note what should be written; one background task
writes the latest state of every call in a single pipeline. If Redis is down the notes are
kept (the newest state per call, so memory stays bounded by the calls in progress), calls go
on, :attr:`~SessionStore.healthy` turns false for the readiness check, and the task retries.

Keys (``callproc:`` prefix): ``session:<uuid>`` a hash that expires ``session_ttl_secs``
after the call's last activity, and ``ended_ttl_secs`` after it ended; ``active`` a sorted
set of call ids scored by when their session expires (so an instance that died does not
leave calls "active" for ever); ``handoff:<uuid>`` the handoff as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from bot.settings import RedisSettings
from observability.logging import get_logger

log = get_logger("bot.storage.sessions")

PREFIX = "callproc"
ACTIVE = f"{PREFIX}:active"
RETRY_FIRST_SECS = 0.2
RETRY_MAX_SECS = 5.0


def session_key(call_uuid: str) -> str:
    """The Redis key of a call's session hash."""
    return f"{PREFIX}:session:{call_uuid}"


def handoff_key(call_uuid: str) -> str:
    """The Redis key of a call's handoff."""
    return f"{PREFIX}:handoff:{call_uuid}"


@dataclass
class _Pending:
    fields: dict[str, str] = field(default_factory=dict)
    ended: bool = False
    handoff: str | None = None


class SessionStore:
    """Session state of the calls in progress, kept in Redis off the audio path.

    Args:
        client: A redis-py asyncio client (with its own timeouts).
        settings: TTLs.
    """

    def __init__(self, client: aioredis.Redis, settings: RedisSettings) -> None:
        self.client = client
        self.settings = settings
        self._pending: dict[str, _Pending] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.failing_since: float | None = None

    @property
    def healthy(self) -> bool:
        """Whether the last write to Redis succeeded."""
        return self.failing_since is None

    # The calls' side: note and return

    def update(self, call_uuid: str, **fields: Any) -> None:
        """Note new session fields for a live call (refreshes its TTL)."""
        entry = self._pending.setdefault(call_uuid, _Pending())
        entry.fields.update({k: str(v) for k, v in fields.items() if v is not None})
        entry.fields["last_activity"] = f"{time.time():.3f}"
        self._kick()

    def end(self, call_uuid: str, outcome: str) -> None:
        """Note that the call ended: it leaves the active set, its session expires soon."""
        self.update(call_uuid, state="ended", outcome=outcome)
        self._pending[call_uuid].ended = True

    def put_handoff(self, call_uuid: str, handoff: dict[str, Any]) -> None:
        """Note a handoff, for fast lookup by call id."""
        entry = self._pending.setdefault(call_uuid, _Pending())
        entry.handoff = json.dumps(handoff, ensure_ascii=False)
        self._kick()

    async def store_handoff_now(
        self, call_uuid: str, handoff: dict[str, Any], timeout: float = 0.3
    ) -> bool:
        """Write a handoff at once, waiting at most ``timeout``; False if it is not written."""
        try:
            await asyncio.wait_for(
                self.client.set(
                    handoff_key(call_uuid),
                    json.dumps(handoff, ensure_ascii=False),
                    ex=self.settings.handoff_ttl_secs,
                ),
                timeout,
            )
        except Exception as e:  # Redis slow or down: the caller notes it for the writer
            log.warning("handoff not in redis yet", error=type(e).__name__)
            return False
        return True

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    # Reads (for the HTTP API and the tests)

    async def get_session(self, call_uuid: str) -> dict[str, str]:
        """A call's session fields (empty if none or expired)."""
        (fields,) = await self.get_sessions([call_uuid])
        return fields

    async def get_sessions(self, call_uuids: list[str]) -> list[dict[str, str]]:
        """Several calls' session fields, in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for call_uuid in call_uuids:
            pipe.hgetall(session_key(call_uuid))
        return list(await pipe.execute())

    async def get_handoff(self, call_uuid: str) -> dict[str, Any] | None:
        """A call's handoff, if Redis still has it."""
        raw = await self.client.get(handoff_key(call_uuid))
        return json.loads(raw) if raw is not None else None

    async def active_calls(self) -> list[str]:
        """Ids of calls in progress on every instance sharing this Redis."""
        now = time.time()
        await self.client.zremrangebyscore(ACTIVE, "-inf", now)
        return list(await self.client.zrange(ACTIVE, 0, -1))

    async def ping(self) -> None:
        """Raise unless Redis answers."""
        await self.client.ping()

    # Lifecycle

    def start(self) -> None:
        """Start the background writer."""
        self._task = asyncio.create_task(self._run(), name="session-writer")

    async def flush(self, timeout: float) -> bool:
        """Wait until every note is written; False if ``timeout`` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float = 2.0) -> None:
        """Write what can be written within ``timeout``, then stop."""
        if self._task is not None:
            await self.flush(timeout)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.client.aclose()

    async def _run(self) -> None:
        delay = RETRY_FIRST_SECS
        while True:
            await self._wake.wait()
            if not self._pending:
                self._wake.clear()
                self._idle.set()
                continue
            batch, self._pending = self._pending, {}
            try:
                await self._write(batch)
            except Exception as e:  # Redis down or slow: keep the newest notes, retry
                for call_uuid, old in batch.items():
                    self._pending[call_uuid] = _merge(old, self._pending.get(call_uuid))
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                    log.warning("redis write failed, calls go on", error=type(e).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECS)
                continue
            if self.failing_since is not None:
                log.info(
                    "redis writes resumed",
                    outage_secs=round(time.monotonic() - self.failing_since, 1),
                )
                self.failing_since = None
            delay = RETRY_FIRST_SECS

    async def _write(self, batch: dict[str, _Pending]) -> None:
        s = self.settings
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        for call_uuid, entry in batch.items():
            key = session_key(call_uuid)
            if entry.fields:
                pipe.hset(key, mapping=entry.fields)
            if entry.ended:
                pipe.expire(key, s.ended_ttl_secs)
                pipe.zrem(ACTIVE, call_uuid)
            elif entry.fields:
                pipe.expire(key, s.session_ttl_secs)
                pipe.zadd(ACTIVE, {call_uuid: now + s.session_ttl_secs})
            if entry.handoff is not None:
                pipe.set(handoff_key(call_uuid), entry.handoff, ex=s.handoff_ttl_secs)
        await pipe.execute()


def _merge(old: _Pending, new: _Pending | None) -> _Pending:
    """Unwritten notes ``old`` followed by newer ones ``new``."""
    if new is None:
        return old
    return _Pending(
        fields={**old.fields, **new.fields},
        ended=old.ended or new.ended,
        handoff=new.handoff if new.handoff is not None else old.handoff,
    )


def connect(url: str, settings: RedisSettings) -> aioredis.Redis:
    """A redis-py asyncio client with the settings' timeouts (connects on first use)."""
    return aioredis.from_url(
        url,
        decode_responses=True,  # keys and values come back as str
        socket_timeout=settings.timeout_secs,
        socket_connect_timeout=settings.timeout_secs,
        health_check_interval=30,
    )
