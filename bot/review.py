"""How a person reads calls back from PostgreSQL: ``callproc calls list`` and ``calls show``.

Pure formatting of what :class:`~bot.storage.database.Database` returns; no I/O.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

STAGE_LABELS = {
    "voice_to_voice_ms": "voice-to-voice",
    "end_of_turn_ms": "end of turn",
    "stt_final_ms": "STT final",
    "llm_first_token_ms": "LLM first token",
    "tts_first_audio_ms": "TTS first audio",
    "send_ms": "send",
    "barge_in_stop_ms": "barge-in stop",
}


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")


def _secs(ms: int | float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f} s"


def _outcome(call: dict[str, Any]) -> str:
    outcome = call.get("outcome") or "in progress"
    reason = call.get("outcome_reason")
    return f"{outcome} ({reason})" if reason else outcome


def _median(call: dict[str, Any]) -> str:
    figures = (call.get("latency") or {}).get("voice_to_voice_ms")
    return "-" if not figures else f"{figures['median']:.0f} ms"


def format_call_list(calls: list[dict[str, Any]]) -> str:
    """A table of calls, newest first."""
    if not calls:
        return "no calls recorded yet"
    head = (
        f"{'started (UTC)':<19}  {'call':<36}  {'length':>7}  {'turns':>5}  {'tools':>5}  "
        f"{'v2v median':>10}  outcome"
    )
    lines = [head]
    for c in calls:
        lines.append(
            f"{_when(c['started_at']):<19}  {c['call_uuid']:<36}  {_secs(c['duration_ms']):>7}  "
            f"{c['turns']:>5}  {c['tool_calls']:>5}  {_median(c):>10}  {_outcome(c)}"
        )
    return "\n".join(lines)


def latency_lines(
    summary: dict[str, dict[str, Any]], labels: dict[str, str], indent: str
) -> list[str]:
    """One line per stage of a `bot.storage.records.summarise` result, in ``labels`` order."""
    return [
        f"{indent}{label:<16} {f['median']:>6.0f} / {f['p95']:>6.0f} / {f['max']:>6.0f} ms"
        f"  ({f['count']} turns)"
        for stage, label in labels.items()
        if (f := summary.get(stage))
    ]


def format_call(call: dict[str, Any]) -> str:
    """One call: when, how it ended, latency per stage, the transcript with tool calls."""
    lines = [
        f"call {call['call_uuid']}",
        f"  started {_when(call['started_at'])} UTC, length {_secs(call['duration_ms'])}, "
        f"outcome {_outcome(call)}",
        f"  language {call['language']}, pipeline {call['pipeline']}, "
        f"prompt version {call.get('prompt_version') or '-'}",
    ]
    if call.get("caller_number_hash"):
        lines.append(f"  caller number (keyed hash) {call['caller_number_hash'][:16]}…")
    latency = call.get("latency") or {}
    if latency:
        lines.append("  latency (median / p95 / max over turns):")
        lines += latency_lines(latency, STAGE_LABELS, indent="    ")
    if call.get("transcript_pruned_at"):
        lines.append(f"  transcript removed {_when(call['transcript_pruned_at'])} UTC (retention)")
    lines.append("  transcript:")
    tools_by_turn: dict[int, list[dict[str, Any]]] = {}
    for tool in call.get("tool_calls") or []:
        tools_by_turn.setdefault(tool["turn_index"], []).append(tool)
    for turn in call.get("transcript") or []:
        if turn["role"] == "bot":
            for tool in tools_by_turn.pop(turn["turn_index"], []):
                lines.append(f"    {'':>9} tool  : {format_tool(tool)}")
        at = "" if turn["at_ms"] is None else f"{turn['at_ms'] / 1000:7.1f} s"
        who = "caller" if turn["role"] == "caller" else "bot   "
        cut = " [interrupted]" if turn["interrupted"] else ""
        lines.append(f"    [{at:>9}] {who}: {turn['text']}{cut}{_turn_latency(turn)}")
    for tools in tools_by_turn.values():  # a turn whose bot line never played
        for tool in tools:
            lines.append(f"    {'':>9} tool  : {format_tool(tool)}")
    handoff = call.get("handoff")
    if handoff:
        lines.append(
            f"  handoff: reason {handoff['reason']}; caller wants: "
            f"{handoff.get('caller_wants') or '-'}; summary: {handoff.get('summary') or '-'}"
        )
    return "\n".join(lines)


def format_tool(tool: dict[str, Any]) -> str:
    """``name(arg=value, ...) -> status, N ms``."""
    args = ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in (tool.get("arguments") or {}).items()
    )
    took = "" if tool.get("duration_ms") is None else f", {tool['duration_ms']:.0f} ms"
    return f"{tool['name']}({args}) -> {tool['status']}{took}"


def _turn_latency(turn: dict[str, Any]) -> str:
    if turn["role"] != "bot" or turn.get("voice_to_voice_ms") is None:
        return ""
    parts = [f"voice-to-voice {turn['voice_to_voice_ms']:.0f} ms"]
    for key, label in (("llm_first_token_ms", "LLM"), ("tts_first_audio_ms", "TTS")):
        if turn.get(key) is not None:
            parts.append(f"{label} {turn[key]:.0f}")
    return "  [" + ", ".join(parts) + "]"
