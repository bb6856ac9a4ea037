"""The service's access to PostgreSQL (asyncpg): writes records, reads calls for review.

Connects as the application role, which may only read and write rows. Every write is an
upsert keyed by the record's identity, so applying a record twice is harmless. A batch of
records is applied in one transaction: all of it lands, or none of it and the writer
retries. Nothing here is awaited by a call's pipeline; :class:`~bot.storage.writer.
RecordWriter` calls :meth:`Database.apply` in the background.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from bot.storage.records import LATENCY_STAGES, Record
from bot.storage.roles import SCHEMA

S = SCHEMA
_STAGE_COLUMNS = ", ".join(LATENCY_STAGES)
_STAGE_PARAMS = ", ".join(f"${i}" for i in range(7, 7 + len(LATENCY_STAGES)))
_STAGE_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in LATENCY_STAGES)

_SQL = {
    "prompt_version": f"""
        INSERT INTO {S}.prompt_versions (hash, language, text) VALUES ($1, $2, $3)
        ON CONFLICT (hash) DO NOTHING""",
    "call_started": f"""
        INSERT INTO {S}.calls (call_uuid, started_at, language, pipeline, prompt_version,
                               caller_number_hash)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (call_uuid) DO NOTHING""",
    "turn": f"""
        INSERT INTO {S}.turns (call_uuid, turn_index, role, text, at_ms, interrupted,
                               {_STAGE_COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, {_STAGE_PARAMS})
        ON CONFLICT (call_uuid, turn_index, role) DO UPDATE SET
            text = EXCLUDED.text, at_ms = EXCLUDED.at_ms, interrupted = EXCLUDED.interrupted,
            {_STAGE_UPDATES}""",
    "tool_call": f"""
        INSERT INTO {S}.tool_calls (call_uuid, seq, turn_index, name, arguments, status,
                                    duration_ms, at_ms, result)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (call_uuid, seq) DO UPDATE SET
            status = EXCLUDED.status, duration_ms = EXCLUDED.duration_ms,
            result = EXCLUDED.result""",
    "handoff": f"""
        INSERT INTO {S}.handoffs (call_uuid, reason, caller_wants, summary, created_at)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (call_uuid) DO UPDATE SET
            reason = EXCLUDED.reason, caller_wants = EXCLUDED.caller_wants,
            summary = EXCLUDED.summary""",
    "handoff_delivered": f"""
        UPDATE {S}.handoffs SET delivered_at = coalesce(delivered_at, $2) WHERE call_uuid = $1""",
    "handoff_acknowledged": f"""
        UPDATE {S}.handoffs SET acknowledged_at = coalesce(acknowledged_at, $2)
        WHERE call_uuid = $1""",
    "call_ended": f"""
        UPDATE {S}.calls SET ended_at = $2, duration_ms = $3, outcome = $4,
                             outcome_reason = $5, turns = $6, latency = $7, llm_requests = $8
        WHERE call_uuid = $1""",
    # The end its dead process never wrote: only for a call that has none.
    "call_lost": f"""
        UPDATE {S}.calls c SET ended_at = $2, outcome = 'worker_lost',
            outcome_reason = 'process_died',
            duration_ms = GREATEST(0, EXTRACT(EPOCH FROM ($2 - c.started_at)) * 1000)::int,
            turns = (SELECT count(*) FROM {S}.turns t WHERE t.call_uuid = $1
                     AND t.role = 'caller' AND t.turn_index > 0)
        WHERE c.call_uuid = $1 AND c.outcome IS NULL""",
}


class RecordError(ValueError):
    """A record that cannot be turned into SQL (a wrong kind, a missing or malformed field)."""


def _statement(r: Record) -> tuple[str, tuple[Any, ...]]:
    try:
        return _SQL[r["kind"]], _args(r)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise RecordError(f"record {r.get('kind')!r}: {type(e).__name__}") from None


def _args(r: Record) -> tuple[Any, ...]:
    kind = r["kind"]
    if kind == "prompt_version":
        return (r["hash"], r["language"], r["text"])
    call = uuid.UUID(r["call_uuid"])
    if kind == "call_started":
        return (
            call,
            _time(r["started_at"]),
            r["language"],
            r["pipeline"],
            r["prompt_version"],
            r["caller_number_hash"],
        )
    if kind == "turn":
        latency = r["latency"]
        return (
            call,
            r["turn_index"],
            r["role"],
            r["text"],
            r["at_ms"],
            r["interrupted"],
            *(latency.get(stage) for stage in LATENCY_STAGES),
        )
    if kind == "tool_call":
        return (
            call,
            r["seq"],
            r["turn_index"],
            r["name"],
            json.dumps(r["arguments"], ensure_ascii=False),
            r["status"],
            r["duration_ms"],
            r["at_ms"],
            None if r.get("result") is None else json.dumps(r["result"], ensure_ascii=False),
        )
    if kind == "handoff":
        return (call, r["reason"], r["caller_wants"], r["summary"], _time(r["created_at"]))
    if kind in ("handoff_delivered", "handoff_acknowledged"):
        return (call, _time(r["at"]))
    if kind == "call_ended":
        return (
            call,
            _time(r["ended_at"]),
            r["duration_ms"],
            r["outcome"],
            r["outcome_reason"],
            r["turns"],
            json.dumps(r["latency"]),
            r.get("llm_requests"),  # absent in records journaled before revision 0004
        )
    if kind == "call_lost":
        return (call, _time(r["ended_at"]))
    raise ValueError(f"unknown record kind {kind!r}")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


class Database:
    """A connection pool to PostgreSQL, opened on first use and reopened after an outage.

    Args:
        dsn: The application role's URL.
        connect_timeout: Seconds allowed to connect.
    """

    def __init__(self, dsn: str, *, connect_timeout: float = 2.0) -> None:
        self._dsn = dsn
        self._timeout = connect_timeout
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connection_pool(self) -> asyncpg.Pool:
        async with self._opening:  # the writer and a readiness check may ask at once
            if self._pool is not None:
                return self._pool
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=4,
                timeout=self._timeout,
                command_timeout=30,
                max_inactive_connection_lifetime=60,
            )
            return self._pool

    async def close(self) -> None:
        """Close the pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def reset(self) -> None:
        """Drop the pool after an error, so the next use connects afresh."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    async def ping(self) -> None:
        """Raise unless a trivial query succeeds."""
        pool = await self._connection_pool()
        await pool.fetchval("SELECT 1", timeout=self._timeout)

    async def apply(self, records: Sequence[Record]) -> None:
        """Write ``records`` in one transaction (idempotent).

        Raises:
            RecordError: A record is malformed (nothing was written).
        """
        statements = [_statement(record) for record in records]  # before touching the database
        pool = await self._connection_pool()
        async with pool.acquire(timeout=self._timeout) as conn, conn.transaction():
            for sql, args in statements:
                await conn.execute(sql, *args)

    async def list_calls(self, limit: int = 20) -> list[dict[str, Any]]:
        """The most recent calls, newest first."""
        pool = await self._connection_pool()
        rows = await pool.fetch(
            f"""SELECT c.call_uuid, c.started_at, c.duration_ms, c.outcome, c.outcome_reason,
                       c.language, c.prompt_version, c.turns, c.latency,
                       (SELECT count(*) FROM {S}.tool_calls t
                        WHERE t.call_uuid = c.call_uuid) AS tool_calls
                FROM {S}.calls c ORDER BY c.started_at DESC LIMIT $1""",
            limit,
        )
        return [_plain(row) for row in rows]

    async def recent_handoffs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent handoffs with their calls, newest first (the operator console)."""
        pool = await self._connection_pool()
        rows = await pool.fetch(
            f"""SELECT h.call_uuid, h.reason, h.caller_wants, h.summary, h.created_at,
                       h.delivered_at, h.acknowledged_at, c.started_at, c.duration_ms,
                       c.language
                FROM {S}.handoffs h JOIN {S}.calls c USING (call_uuid)
                ORDER BY h.created_at DESC LIMIT $1""",
            limit,
        )
        return [_plain(row) for row in rows]

    async def find_call(self, text: str) -> uuid.UUID | str:
        """The call a person means by a UUID or its first characters, or why there is none."""
        try:
            return uuid.UUID(text)
        except ValueError:
            pass
        prefix = text.strip().lower()
        if not re.fullmatch(r"[0-9a-f-]{4,36}", prefix):
            return f"{text!r} is not a call id (a UUID, or at least its first 4 characters)"
        pool = await self._connection_pool()
        rows = await pool.fetch(
            f"SELECT call_uuid FROM {S}.calls WHERE call_uuid::text LIKE $1 LIMIT 2", prefix + "%"
        )
        if len(rows) != 1:
            return f"{'no call' if not rows else 'more than one call'} starts with {prefix!r}"
        return rows[0]["call_uuid"]

    async def call_detail(self, call_uuid: uuid.UUID) -> dict[str, Any] | None:
        """One call with its turns, tool calls and handoff; None if there is no such call."""
        pool = await self._connection_pool()
        async with pool.acquire() as conn:
            call = await conn.fetchrow(f"SELECT * FROM {S}.calls WHERE call_uuid = $1", call_uuid)
            if call is None:
                return None
            turns = await conn.fetch(
                f"""SELECT * FROM {S}.turns WHERE call_uuid = $1
                    ORDER BY turn_index, role = 'bot'""",
                call_uuid,
            )
            tools = await conn.fetch(
                f"SELECT * FROM {S}.tool_calls WHERE call_uuid = $1 ORDER BY seq", call_uuid
            )
            handoff = await conn.fetchrow(
                f"SELECT * FROM {S}.handoffs WHERE call_uuid = $1", call_uuid
            )
        detail = _plain(call)
        detail["transcript"] = [_plain(t) for t in turns]
        detail["tool_calls"] = [_plain(t) for t in tools]
        detail["handoff"] = _plain(handoff) if handoff is not None else None
        return detail

    async def call_handoff(self, call_uuid: uuid.UUID) -> dict[str, Any] | None:
        """A call's ``outcome`` and ``handoff`` only (what the dialplan asks); None if no call."""
        pool = await self._connection_pool()
        async with pool.acquire() as conn:
            call = await conn.fetchrow(
                f"SELECT outcome FROM {S}.calls WHERE call_uuid = $1", call_uuid
            )
            if call is None:
                return None
            handoff = await conn.fetchrow(
                f"SELECT * FROM {S}.handoffs WHERE call_uuid = $1", call_uuid
            )
        return {
            "outcome": call["outcome"],
            "handoff": _plain(handoff) if handoff is not None else None,
        }

    async def prune(self, before: datetime) -> tuple[int, int]:
        """Remove transcripts, tool calls and handoff summaries of calls started before ``before``.

        The calls themselves stay (time, outcome, latency), marked as pruned.

        Returns:
            ``(calls pruned, rows removed)``.
        """
        pool = await self._connection_pool()
        async with pool.acquire() as conn, conn.transaction():
            old = f"SELECT call_uuid FROM {S}.calls WHERE started_at < $1"
            removed = 0
            for table in ("turns", "tool_calls"):
                status = await conn.execute(
                    f"DELETE FROM {S}.{table} WHERE call_uuid IN ({old})", before
                )
                removed += int(status.split()[-1])
            status = await conn.execute(
                f"""UPDATE {S}.handoffs SET summary = NULL, caller_wants = NULL
                    WHERE call_uuid IN ({old}) AND (summary IS NOT NULL
                                                    OR caller_wants IS NOT NULL)""",
                before,
            )
            removed += int(status.split()[-1])
            status = await conn.execute(
                f"""UPDATE {S}.calls SET transcript_pruned_at = now()
                    WHERE started_at < $1 AND transcript_pruned_at IS NULL""",
                before,
            )
            return int(status.split()[-1]), removed

    async def row_counts(self) -> dict[str, int]:
        """Rows per table (for backup checks and the tests)."""
        pool = await self._connection_pool()
        counts = {}
        for table in ("prompt_versions", "calls", "turns", "tool_calls", "handoffs"):
            counts[table] = await pool.fetchval(f"SELECT count(*) FROM {S}.{table}")
        return counts


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    out = {}
    for key, value in dict(row).items():
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif key in ("latency", "arguments", "result") and isinstance(value, str):
            value = json.loads(value)
        out[key] = value
    return out
