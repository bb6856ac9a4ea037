"""One call's metrics and per-turn log lines, from what the call's observers report.

Fed by :class:`~observability.observers.call_record.CallRecordObserver` (finished lines and
tool calls), :class:`~observability.observers.stage_watchdog.StageWatchdog` (failures) and
the call's end. A turn is counted once it is complete: when the next caller turn starts, or
when the call ends. Each counted turn also gets one JSON log line (``turn``) with its
stage latencies; the call id comes from the call's logging context.
"""

from __future__ import annotations

from observability.logging import get_logger
from observability.metrics import (
    OUTCOMES,
    REASONS,
    TOOL_STATUSES,
    TOOLS,
    Metrics,
    bounded,
)
from observability.observers.call_record import CallRecord, TranscriptLine, Turn

log = get_logger("observability.call_metrics")

_FIGURES = {  # figure key -> stage label
    "stt_final_ms": "stt_final",
    "end_of_turn_ms": "end_of_turn",
    "llm_first_token_ms": "llm_first_token",
    "tts_first_audio_ms": "tts_first_audio",
    "voice_to_voice_ms": "voice_to_voice",
    "barge_in_stop_ms": "barge_in_stop",
}


class CallMetrics:
    """Counts one call into the process's metrics.

    Args:
        metrics: The process's metrics.
        record: The call record its observer fills in.
    """

    def __init__(self, metrics: Metrics, record: CallRecord) -> None:
        self.metrics = metrics
        self.record = record
        self._counted = 0  # turns already counted

    def started(self) -> None:
        """The call was admitted."""
        self.metrics.active_calls.inc()

    def on_line(self, line: TranscriptLine) -> None:
        """A finished transcript line (the call record observer's listener)."""
        if line.speaker == "caller":
            self._count_turns(upto=len(self.record.turns) - 1)
        elif line.speaker == "tool" and line.tool is not None:
            tool = line.tool
            name, status = bounded(tool.name, TOOLS), bounded(tool.status, TOOL_STATUSES)
            self.metrics.tool_calls.labels(name, status).inc()
            if tool.duration_ms is not None:
                self.metrics.tool_duration_seconds.labels(name).observe(tool.duration_ms / 1000)

    def output_blocked(self, reason: str) -> None:
        """The output guard kept a response from the caller (``instructions``/``identifier``)."""
        self.metrics.output_blocked.labels(reason).inc()

    def failed(self, stage: str, kind: str) -> None:
        """A stage failed (the stage watchdog's ``on_failure``)."""
        self.metrics.errors.labels(stage, kind).inc()

    def ended(
        self,
        outcome: str,
        reason: str | None,
        pacing: tuple[int, int, float] | None,
    ) -> None:
        """The call is over: its last turns, its outcome, how its audio was paced."""
        self._count_turns(upto=len(self.record.turns))
        self.metrics.active_calls.dec()
        self.metrics.calls.labels(bounded(outcome, OUTCOMES), bounded(reason, REASONS)).inc()
        self.metrics.llm_requests_per_call.observe(self.record.llm_requests)
        if pacing is not None:
            frames, stalls, late_max = pacing
            self.metrics.output_frames.inc(frames)
            self.metrics.output_stalls.inc(stalls)
            self.metrics.output_late_seconds.observe(late_max)

    def _count_turns(self, upto: int) -> None:
        while self._counted < upto:
            self._count(self.record.turns[self._counted])
            self._counted += 1

    def _count(self, turn: Turn) -> None:
        figures = turn.figures()
        latency = self.metrics.stage_latency_seconds
        for key, stage in _FIGURES.items():
            value = figures.get(key)
            if value is not None and value >= 0:
                latency.labels(stage).observe(value / 1000)
        # Voice-to-voice minus end of turn, LLM and TTS is the send stage (first TTS audio to
        # the wire): our own part, for answers the model gave to something the caller said.
        v2v, send = figures["voice_to_voice_ms"], figures["send_ms"]
        if v2v is not None and send is not None and figures["llm_first_token_ms"] is not None:
            latency.labels("overhead").observe(max(send, 0.0) / 1000)
        if turn.interrupted:
            self.metrics.barge_ins.inc()
            turns = self.record.turns
            after = turns[turn.index + 1] if turn.index + 1 < len(turns) else None
            if after is None or not after.user_text.strip():
                self.metrics.false_barge_ins.inc()  # noise: nothing the caller said followed
        if turn.index > 0 or v2v is not None:
            log.info(
                "turn",
                turn=turn.index,
                interrupted=turn.interrupted,
                **{k: v for k, v in figures.items() if v is not None},
            )
