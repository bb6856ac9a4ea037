"""What is written about a call, as plain JSON-ready records (pure: no I/O).

A call produces a stream of records as it goes: ``call_started``, a ``turn`` per caller or
bot line once it is complete, a ``tool_call`` per finished tool, a ``handoff`` when it goes to
an operator, and ``call_ended`` with the outcome and a latency summary (or, when the process
serving it died, ``call_lost`` from the process that found its journal). Each record is a dict
with a ``kind``; writing one twice changes nothing (the database upserts by its key), so a
retry after an outage, or a replay of the spill file, never duplicates a row.

Caller numbers never appear in a record: :func:`caller_number_hash` stands in for them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the pipeline's types; reading calls back must not import pipecat
    from bot.prompts import PromptSet
    from observability.observers.call_record import ToolCall, Turn

Record = dict[str, Any]
LATENCY_STAGES = (
    "voice_to_voice_ms",
    "stt_final_ms",
    "end_of_turn_ms",
    "llm_first_token_ms",
    "tts_first_audio_ms",
    "send_ms",
    "barge_in_stop_ms",
)


def now_iso() -> str:
    """The current time as an ISO 8601 UTC timestamp."""
    return datetime.now(UTC).isoformat()


def caller_number_hash(number: str, key: bytes) -> str:
    """A keyed hash of a phone number's digits: equal for equal numbers, unreadable without key.

    The last nine digits are used, so ``+380 67 123 45 67`` and ``067 123 45 67`` agree.
    """
    digits = "".join(c for c in number if c.isdigit())[-9:]
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()


def prompt_version(prompts: PromptSet) -> Record:
    """The prompt set a call uses: its hash and full text."""
    text = json.dumps(
        {"system": prompts.system, "phrases": prompts.phrases}, ensure_ascii=False, indent=1
    )
    return {
        "kind": "prompt_version",
        "hash": prompts.version,
        "language": prompts.language,
        "text": text,
    }


def call_started(
    call_uuid: str,
    *,
    started_at: str,
    language: str,
    pipeline: str,
    prompt_version: str | None,
    caller_number_hash: str | None = None,
) -> Record:
    """The call's row, as soon as it is admitted."""
    return {
        "kind": "call_started",
        "call_uuid": call_uuid,
        "started_at": started_at,
        "language": language,
        "pipeline": pipeline,
        "prompt_version": prompt_version,
        "caller_number_hash": caller_number_hash,
    }


def caller_turn(call_uuid: str, turn: Turn) -> Record:
    """What the caller said in ``turn`` (once the end of their turn was decided)."""
    return {
        "kind": "turn",
        "call_uuid": call_uuid,
        "turn_index": turn.index,
        "role": "caller",
        "text": turn.user_text,
        "at_ms": _offset_ms(turn.speech_end if turn.speech_end is not None else turn.turn_end),
        "interrupted": False,
        "latency": {},
    }


def bot_turn(call_uuid: str, turn: Turn) -> Record:
    """What the bot said in ``turn`` (what was played), with the turn's stage latencies."""
    figures = turn.figures()
    return {
        "kind": "turn",
        "call_uuid": call_uuid,
        "turn_index": turn.index,
        "role": "bot",
        "text": turn.bot_text,
        "at_ms": _offset_ms(turn.wire_audio),
        "interrupted": turn.interrupted,
        "latency": {stage: figures.get(stage) for stage in LATENCY_STAGES},
    }


def tool_call(call_uuid: str, seq: int, call: ToolCall) -> Record:
    """One finished tool call (arguments already masked by the observer)."""
    return {
        "kind": "tool_call",
        "call_uuid": call_uuid,
        "seq": seq,
        "turn_index": call.turn,
        "name": call.name,
        "arguments": call.arguments,
        "status": call.status,
        "duration_ms": call.duration_ms,
        "at_ms": _offset_ms(call.started),
        "result": call.result,
    }


def handoff(
    call_uuid: str, *, reason: str, caller_wants: str | None, summary: str | None, created_at: str
) -> Record:
    """The decision to give the call to an operator, and what the operator should know."""
    return {
        "kind": "handoff",
        "call_uuid": call_uuid,
        "reason": reason,
        "caller_wants": caller_wants,
        "summary": summary,
        "created_at": created_at,
    }


def handoff_delivered(call_uuid: str, at: str) -> Record:
    """The dialplan read the handoff (the operator queue has the call and its summary)."""
    return {"kind": "handoff_delivered", "call_uuid": call_uuid, "at": at}


def handoff_acknowledged(call_uuid: str, at: str) -> Record:
    """An operator marked the handoff as seen in the console."""
    return {"kind": "handoff_acknowledged", "call_uuid": call_uuid, "at": at}


def call_ended(
    call_uuid: str,
    *,
    ended_at: str,
    duration_ms: int,
    outcome: str,
    outcome_reason: str | None,
    turns: list[Turn],
    llm_requests: int = 0,
) -> Record:
    """The call's outcome, its length, a latency summary over its turns, its model requests."""
    return {
        "kind": "call_ended",
        "call_uuid": call_uuid,
        "ended_at": ended_at,
        "duration_ms": duration_ms,
        "outcome": outcome,
        "outcome_reason": outcome_reason,
        "turns": sum(1 for t in turns if t.index > 0 and t.user_text),
        "latency": latency_summary(turns),
        "llm_requests": llm_requests,
    }


def call_lost(call_uuid: str, *, ended_at: str) -> Record:
    """A call whose process died mid-call (outcome ``worker_lost``); a no-op once it ended."""
    return {"kind": "call_lost", "call_uuid": call_uuid, "ended_at": ended_at}


def latency_summary(turns: list[Turn]) -> dict[str, dict[str, float | int]]:
    """Per stage: how many turns had it, and their median, p95 and max in ms."""
    return summarise([t.figures() for t in turns], LATENCY_STAGES)


def summarise(
    figures: list[Mapping[str, Any]], stages: Iterable[str]
) -> dict[str, dict[str, float | int]]:
    """Per stage: how many of ``figures`` (one mapping per turn) had it; median, p95, max."""
    summary: dict[str, dict[str, float | int]] = {}
    for stage in stages:
        values = sorted(v for f in figures if (v := f.get(stage)) is not None)
        if values:
            summary[stage] = {
                "count": len(values),
                "median": round(statistics.median(values), 1),
                "p95": values[min(len(values) - 1, round(0.95 * (len(values) - 1)))],
                "max": values[-1],
            }
    return summary


def _offset_ms(seconds: float | None) -> int | None:
    """Pipeline clock seconds (since the call's pipeline started) as whole milliseconds."""
    return None if seconds is None else round(seconds * 1000)
