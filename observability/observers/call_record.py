"""Watches one call and keeps its record: who said what, and how long each turn took.

Per turn it stamps, on the pipeline clock: the caller's real end of speech (VAD stop minus
its stop delay), the final transcript, the end-of-turn decision, Claude's first token, the
first TTS audio, and when the caller hears the first bot audio frame sent on the socket
(``WireAudioStartedFrame``: when it left, plus the audio sent ahead of it, which plays
first). Voice-to-voice is the last minus the first. When the caller talks
over the bot it also measures how long the bot's audio went on after VAD heard the caller.
Bot text is recorded as it leaves the output transport, i.e. once its audio has been played
(pipecat releases a sentence's text behind its audio), so an interrupted sentence is not in
the record, just as it is not in the LLM context.
Each tool the model uses is recorded with its arguments (personal data masked, sizes capped by
:func:`observability.size_limit.limited`), the turn,
its duration and its outcome. Listeners get each finished line and tool call as it happens
(the demo's live transcript).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    FunctionCallCancelFrame,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    InterruptionFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSTextFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_output import BaseOutputTransport

from observability.scrub import scrub_value
from observability.size_limit import limited
from processors.frames import WireAudioStartedFrame, WireAudioStoppedFrame

NS = 1_000_000_000
SEEN_LIMIT = 4096
_WATCHED = (
    FunctionCallCancelFrame,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    InterruptionFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
    WireAudioStartedFrame,
    WireAudioStoppedFrame,
)


def _ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000, 1)


@dataclass
class Turn:
    """One exchange: what the caller said and what the bot answered, with timestamps (s)."""

    index: int
    user_text: str = ""
    bot_text: str = ""
    interrupted: bool = False
    speech_end: float | None = None
    stt_final: float | None = None
    turn_end: float | None = None
    llm_first_token: float | None = None
    tts_first_audio: float | None = None
    wire_audio: float | None = None
    barge_in_vad: float | None = None
    barge_in_wire_stop: float | None = None

    def figures(self) -> dict[str, float | None]:
        """Per-stage latencies in milliseconds (None where a stage did not happen)."""
        return {
            "voice_to_voice_ms": _ms(self.speech_end, self.wire_audio),
            "stt_final_ms": _ms(self.speech_end, self.stt_final),
            "end_of_turn_ms": _ms(self.speech_end, self.turn_end),
            "llm_first_token_ms": _ms(self.turn_end, self.llm_first_token),
            "tts_first_audio_ms": _ms(self.llm_first_token, self.tts_first_audio),
            "send_ms": _ms(self.tts_first_audio, self.wire_audio),
            # VAD also hears the caller over the uninterruptible greeting: only a real
            # interruption has a barge-in stop time.
            "barge_in_stop_ms": (
                _ms(self.barge_in_vad, self.barge_in_wire_stop) if self.interrupted else None
            ),
        }

    def as_dict(self) -> dict[str, Any]:
        """The turn as JSON-ready data."""
        return {
            "index": self.index,
            "caller": self.user_text,
            "bot": self.bot_text,
            "interrupted": self.interrupted,
            **self.figures(),
        }


@dataclass
class ToolCall:
    """One tool the model used: what it asked (personal data masked), how long, what came of it.

    ``status`` is ``running`` until the result arrives, then ``ok``, the result's error code
    (``store_unavailable``, ``invalid_arguments``...), its ``status`` when it has one
    (``confirmation_required``, ``ordered``...), or ``cancelled`` (barge-in or timeout).
    """

    name: str
    arguments: dict[str, Any]
    turn: int
    started: float
    duration_ms: float | None = None
    status: str = "running"
    result: Any = None  # what the tool answered (personal data masked)

    def as_dict(self) -> dict[str, Any]:
        """The tool call as JSON-ready data."""
        return {
            "name": self.name,
            "arguments": self.arguments,
            "turn": self.turn,
            "duration_ms": self.duration_ms,
            "status": self.status,
            "result": self.result,
        }


def result_status(result: Any) -> str:
    """The outcome of a tool result as one word (see :class:`ToolCall`)."""
    if not isinstance(result, dict):
        return "ok"
    if result.get("ok") is False:
        return str(result.get("error") or "error")
    return str(result.get("status") or "ok")


@dataclass
class TranscriptLine:
    """A line of the live transcript: a caller or bot sentence, or a finished tool call."""

    speaker: str  # "caller", "bot" or "tool"
    text: str
    turn: Turn
    at: float  # pipeline clock, seconds
    tool: ToolCall | None = None


Listener = Callable[[TranscriptLine], None]


@dataclass
class CallRecord:
    """Everything the observer learned about one call."""

    turns: list[Turn] = field(default_factory=lambda: [Turn(index=0)])  # turn 0: the greeting
    tool_calls: list[ToolCall] = field(default_factory=list)  # in the order the model asked
    llm_requests: int = 0  # responses asked of the model (each tool round is one more)

    @property
    def current(self) -> Turn:
        """The turn in progress."""
        return self.turns[-1]


class CallRecordObserver(BaseObserver):
    """Builds the :class:`CallRecord` of one call from the frames passing by.

    Args:
        listeners: Called with each caller and bot line as soon as it is complete.
    """

    def __init__(self, *, listeners: list[Listener] | None = None, **kwargs):
        super().__init__(observe_every_push=True, **kwargs)
        self.record = CallRecord()
        # Frame ids already counted: a frame is reported at every hop. Bounded: a frame
        # crosses the whole pipeline long before thousands of newer frames pass by.
        self._seen: set[int] = set()
        self._seen_order: deque[int] = deque()
        self._listeners = list(listeners or [])
        self._bot_speaking = False
        self._bot_said = 0  # characters of the current turn's bot text already emitted
        # What the caller is saying before the end of their turn is decided.
        self._heard = ""
        self._speech_end: float | None = None
        self._stt_final: float | None = None
        self._tools: dict[str, ToolCall] = {}  # running, by tool_call_id
        self._latest = 0.0  # pipeline clock of the newest frame seen

    def add_listener(self, listener: Listener) -> None:
        """Also call ``listener`` with each finished line."""
        self._listeners.append(listener)

    async def on_push_frame(self, data: FramePushed) -> None:
        """Stamp the current turn with what this frame means."""
        frame, now = data.frame, data.timestamp / NS
        self._latest = max(self._latest, now)
        if isinstance(frame, TTSTextFrame):
            # Bot text counts once its audio has been handed to the transport, i.e. played.
            if isinstance(data.source, BaseOutputTransport):
                turn = self.record.current
                turn.bot_text = f"{turn.bot_text} {frame.text}".strip()
            return
        if frame.id in self._seen or not isinstance(frame, _WATCHED):
            return
        self._remember(frame.id)
        if frame.broadcast_sibling_id is not None and data.direction != FrameDirection.DOWNSTREAM:
            return  # a broadcast frame travels as two instances; count the downstream one
        turn = self.record.current
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self._speech_end = now - frame.stop_secs
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            if self._bot_speaking and turn.barge_in_vad is None:
                turn.barge_in_vad = now
        elif isinstance(frame, TranscriptionFrame):
            self._heard = f"{self._heard} {frame.text}".strip()
            self._stt_final = now
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self._start_turn(now)
        elif isinstance(frame, LLMFullResponseStartFrame):
            self.record.llm_requests += 1
        elif isinstance(frame, LLMTextFrame):
            turn.llm_first_token = turn.llm_first_token or now
        elif isinstance(frame, TTSAudioRawFrame):
            turn.tts_first_audio = turn.tts_first_audio or now
        elif isinstance(frame, WireAudioStartedFrame):
            turn.wire_audio = turn.wire_audio or now + frame.plays_in_secs
        elif isinstance(frame, WireAudioStoppedFrame):
            if turn.barge_in_vad is not None and turn.barge_in_wire_stop is None:
                turn.barge_in_wire_stop = now + frame.plays_in_secs
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
            self._emit_bot_text(now)
        elif isinstance(frame, InterruptionFrame) and self._bot_speaking:
            turn.interrupted = True
        elif isinstance(frame, FunctionCallInProgressFrame):
            call = ToolCall(
                limited(frame.function_name, max_chars=64),
                scrub_value(limited(dict(frame.arguments))),
                turn.index,
                now,
            )
            self._tools[frame.tool_call_id] = call
            self.record.tool_calls.append(call)
        elif isinstance(frame, FunctionCallResultFrame | FunctionCallCancelFrame):
            call = self._tools.pop(frame.tool_call_id, None)
            if call is not None:
                call.duration_ms = _ms(call.started, now)
                cancelled = isinstance(frame, FunctionCallCancelFrame)
                call.status = "cancelled" if cancelled else result_status(frame.result)
                if not cancelled:
                    call.result = scrub_value(limited(frame.result))
                self._emit("tool", call.name, turn, now, call)

    def caller_turn_now(self, text: str) -> None:
        """Record ``text`` as a caller turn of its own, now (no model turn follows it).

        For words the model never sees (a request for a person): what the bot says next
        belongs to this turn.
        """
        self._heard = text
        self._start_turn(self._latest)

    def finish(self) -> None:
        """The call is over: emit bot text that was played but not yet reported."""
        self._emit_bot_text(self._latest)

    def _start_turn(self, now: float) -> None:
        self._emit_bot_text(now)
        turn = Turn(
            index=len(self.record.turns),
            user_text=self._heard,
            speech_end=self._speech_end,
            stt_final=self._stt_final,
            turn_end=now,
        )
        self.record.turns.append(turn)
        self._heard, self._speech_end, self._stt_final = "", None, None
        self._bot_said = 0
        self._emit("caller", turn.user_text, turn, now)

    def _remember(self, frame_id: int) -> None:
        self._seen.add(frame_id)
        self._seen_order.append(frame_id)
        if len(self._seen_order) > SEEN_LIMIT:
            self._seen.discard(self._seen_order.popleft())

    def _emit_bot_text(self, now: float) -> None:
        turn = self.record.current
        new = turn.bot_text[self._bot_said :].strip()
        if new:
            self._bot_said = len(turn.bot_text)
            self._emit("bot", new, turn, now)

    def _emit(
        self, speaker: str, text: str, turn: Turn, now: float, tool: ToolCall | None = None
    ) -> None:
        line = TranscriptLine(speaker, text, turn, now, tool)
        for listener in self._listeners:
            listener(line)
