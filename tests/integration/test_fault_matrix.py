"""The fault matrix: one call per fault, and what the caller heard, how it ended, what was kept.

Each row injects one fault through the stand-ins' knobs (real STT/TTS gRPC, the real
Anthropic SDK over HTTP, the real store client), once the greeting has been heard, and
places a two-line voice call against a service of its own (PostgreSQL and Redis real).
For every row it checks that the call ended with a defined outcome (the one expected where
the policy decides it) and that its record reached PostgreSQL with that outcome, and it
prints the row: outcome, the bot's phrases, and the longest silence the caller heard while
not speaking. The table in docs/fault-matrix.md is this test's printout. Rows run four at a
time (each service has its own stand-ins, so each row's fault is its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import numpy as np
import pytest

from bot.call import Call
from bot.services import Backends
from observability.metrics import OUTCOMES
from sandbox.anthropic_api import Script
from sandbox.caller import CallResult
from sandbox.scenario import SpokenLine
from tests.integration.audio import FRAME_SECS, frame_levels
from tests.integration.faults import faulty_call

pytestmark = pytest.mark.integration

SILENT_LEVEL = 0.003  # RMS below ~-50 dBFS: nothing audible
AT_ONCE = 4
PHRASES = ("hold_on", "apology", "tool_store_unavailable", "transfer_after_failure", "transfer")
DEFINED = set(OUTCOMES) - {"other"}


@dataclass(frozen=True)
class Fault:
    """One row: the fault, how to inject it, and the outcome the policy must reach."""

    name: str
    arrange: Callable[[Backends], None]
    outcome: str | None = None  # None: any defined outcome
    reason: str | None = None  # the handoff's reason, where the policy decides it


def _knobs(stand_in: str, **values: object) -> Callable[[Backends], None]:
    """Set the knobs of one stand-in (``stt``, ``tts``, ``llm`` or ``store``)."""

    def arrange(backends: Backends) -> None:
        if stand_in == "store":
            knobs = backends.reference_store.knobs
        else:
            knobs = getattr(backends.sandbox, stand_in).knobs
        for key, value in values.items():
            setattr(knobs, key, value)

    return arrange


def _endless_tools(backends: Backends) -> None:
    """A model that answers every request with one more store search, never with words."""
    search = {"tool_use": {"name": "search_products", "input": {"query": "навушники"}}}
    backends.sandbox.llm.script = Script.model_validate({"rules": [], "default": search})


UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
FAULTS = [
    Fault("STT error, once", _knobs("stt", fault="status", fault_status=UNAVAILABLE),
          "caller_hangup"),
    Fault("STT hangs (every stream)", _knobs("stt", fault="hang", fault_times=-1), "transferred"),
    Fault("STT stream cut, once", _knobs("stt", fault="cut"), "caller_hangup"),
    Fault("LLM 429, twice", _knobs("llm", fault="status", fault_status=429, fault_times=2),
          "caller_hangup"),
    Fault("LLM 529, twice", _knobs("llm", fault="status", fault_status=529, fault_times=2),
          "caller_hangup"),
    Fault("LLM cut mid-stream, once", _knobs("llm", fault="cut"), "caller_hangup"),
    Fault("LLM hangs, once", _knobs("llm", fault="hang"), "caller_hangup"),
    Fault("LLM down (500 always)", _knobs("llm", fault="status", fault_status=500,
                                          fault_times=-1), "transferred"),
    Fault("LLM calls tools endlessly", _endless_tools, "transferred", "tool_loop"),
    Fault("TTS error, once", _knobs("tts", fault="status", fault_status=UNAVAILABLE),
          "caller_hangup"),
    Fault("TTS stream cut, once", _knobs("tts", fault="cut")),
    Fault("store down (503)", _knobs("store", fault="status", fault_times=-1)),
    Fault("store slow (5 s)", _knobs("store", delay_ms=5000)),
    Fault("store garbage", _knobs("store", fault="garbage", fault_times=-1)),
]  # fmt: skip


@dataclass
class Row:
    """What one faulty call came to."""

    fault: Fault
    call: Call
    result: CallResult
    spoken: list[SpokenLine]
    stored: dict | None
    phrases: list[str]

    def longest_silence(self) -> float:
        """The longest stretch the caller heard nothing while not speaking themselves."""
        levels = frame_levels(bytes(self.result.received), self.result.rate)
        times = np.asarray(self.result.arrivals[: len(levels)]) - self.result.connected_at
        quiet = levels[: len(times)] < SILENT_LEVEL
        for line in self.spoken:
            quiet &= ~((times >= line.started) & (times <= line.ended))
        longest = run = 0
        for silent in quiet:
            run = run + 1 if silent else 0
            longest = max(longest, run)
        return longest * FRAME_SECS

    def line(self) -> str:
        """The row as printed (and copied to docs/fault-matrix.md)."""
        reason = self.call.end_detail.get("reason")
        outcome = self.call.outcome + (f" ({reason})" if reason else "")
        kept = "yes" if self.stored and self.stored["outcome"] == self.call.outcome else "NO"
        heard = ", ".join(self.phrases) or "answers only"
        return (
            f"| {self.fault.name} | {heard} | {outcome} | {self.longest_silence():.1f} s | {kept} |"
        )


async def _row(start_service, fault: Fault) -> Row:
    faulty = await faulty_call(
        start_service,
        fault.arrange,
        after_greeting=True,
        greeting_secs=30,
        idle_secs=15,
        wait_for_end=fault.outcome == "transferred",
    )
    service, call = faulty.service, faulty.call
    await service.storage.writer.flush(timeout=5)
    stored = await service.storage.database.call_detail(call.call_id)
    said = " ".join(t.bot_text for t in call.observer.record.turns)
    phrases = [name for name in PHRASES if service.prompts.phrase(name) in said]
    return Row(fault, call, faulty.result, faulty.player.spoken, stored, phrases)


async def test_every_fault_ends_with_a_defined_outcome_and_its_record_kept(start_service):
    rows: list[Row] = []
    for first in range(0, len(FAULTS), AT_ONCE):
        batch = FAULTS[first : first + AT_ONCE]
        rows += await asyncio.gather(*(_row(start_service, f) for f in batch))

    print("\n| fault | the caller heard | outcome | longest silence | record kept |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(row.line())
    for row in rows:
        name, outcome = row.fault.name, row.call.outcome
        assert outcome in DEFINED, f"{name}: outcome {outcome}"
        if row.fault.outcome is not None:
            assert outcome == row.fault.outcome, f"{name}: {outcome}"
        if row.fault.reason is not None:
            assert row.call.end_detail.get("reason") == row.fault.reason, f"{name}: reason"
        assert row.stored is not None, f"{name}: no record in PostgreSQL"
        assert row.stored["outcome"] == outcome, f"{name}: stored {row.stored['outcome']}"
        assert row.stored["transcript"], f"{name}: no turns stored"
