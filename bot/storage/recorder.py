"""Turns what the call record observer sees into storage records and session updates.

One per call. It only *submits* (to the record writer and the session store), so nothing it
does waits on PostgreSQL or Redis. A turn is written once it is complete: the caller's line
when the end of their turn is decided, the bot's when the next turn starts or the call ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.storage import records
from bot.storage.sessions import SessionStore
from bot.storage.writer import RecordWriter
from observability.observers.call_record import CallRecord, TranscriptLine, Turn


@dataclass
class CallRecorder:
    """Writes one call as it happens.

    Parameters:
        writer: The process's record writer.
        sessions: The process's session store.
        call_uuid: The call's id.
        record: The call record its observer fills in.
    """

    writer: RecordWriter
    sessions: SessionStore
    call_uuid: str
    record: CallRecord

    def started(
        self,
        *,
        language: str,
        pipeline: str,
        prompt_version: str | None,
        caller_number_hash: str | None,
    ) -> None:
        """The call was admitted."""
        started_at = records.now_iso()
        self.writer.submit(
            records.call_started(
                self.call_uuid,
                started_at=started_at,
                language=language,
                pipeline=pipeline,
                prompt_version=prompt_version,
                caller_number_hash=caller_number_hash,
            )
        )
        self.sessions.update(
            self.call_uuid,
            state="greeting",
            started_at=started_at,
            language=language,
            prompt_version=prompt_version,
            turns=0,
        )

    def on_line(self, line: TranscriptLine) -> None:
        """A transcript line is complete (the observer's listener)."""
        if line.speaker == "caller":
            turns = self.record.turns
            if len(turns) >= 2:
                self._bot_said(turns[-2])
            self.writer.submit(records.caller_turn(self.call_uuid, line.turn))
            self.sessions.update(self.call_uuid, state="in_call", turns=line.turn.index)
        elif line.speaker == "tool" and line.tool is not None:
            seq = next(i for i, c in enumerate(self.record.tool_calls) if c is line.tool)
            self.writer.submit(records.tool_call(self.call_uuid, seq, line.tool))
            self.sessions.update(self.call_uuid, last_tool=line.tool.name)

    async def handoff(self, handoff: dict[str, Any]) -> None:
        """The call goes to an operator (``Handoff.as_dict()``).

        Redis gets it at once (briefly awaited: another instance may be asked for it before
        long); if Redis is slow or down, the session writer keeps trying.
        """
        self.writer.submit(
            records.handoff(
                self.call_uuid,
                reason=handoff["reason"],
                caller_wants=handoff.get("caller_wants"),
                summary=handoff.get("summary"),
                created_at=handoff["created_at"],
            )
        )
        self.sessions.update(self.call_uuid, state="transferring")
        if not await self.sessions.store_handoff_now(self.call_uuid, handoff):
            self.sessions.put_handoff(self.call_uuid, handoff)

    def ended(self, *, outcome: str, reason: str | None, duration_ms: int) -> None:
        """The call is over."""
        self._bot_said(self.record.turns[-1])
        for seq, call in enumerate(self.record.tool_calls):
            if call.status == "running":  # the call ended under it (a hangup mid-lookup)
                call.status = "unfinished"
                self.writer.submit(records.tool_call(self.call_uuid, seq, call))
        self.writer.submit(
            records.call_ended(
                self.call_uuid,
                ended_at=records.now_iso(),
                duration_ms=duration_ms,
                outcome=outcome,
                outcome_reason=reason,
                turns=self.record.turns,
                llm_requests=self.record.llm_requests,
            )
        )
        self.sessions.end(self.call_uuid, outcome)

    def _bot_said(self, turn: Turn) -> None:
        if turn.bot_text or turn.wire_audio is not None:
            self.writer.submit(records.bot_turn(self.call_uuid, turn))
