"""Notices when a stage of a call fails: a service error, or a deadline that passes in silence.

Deadlines (from the settings) run on the event loop's clock:

- speech-to-text: a final transcript within ``stt_final_secs`` of the caller falling silent
  during their turn;
- LLM: the first token (or tool call) within ``llm_first_token_secs`` of the end of the turn,
  and again of the moment the model is asked for its next answer after the last tool result
  of a response (tools have their own timeouts, so a slow store never trips this). That
  moment is the assistant aggregator's context push, not the result: the result reaches the
  aggregator through the output transport, behind any "checking..." phrase still playing;
- text-to-speech: the first audio within ``tts_first_audio_secs`` of the first text.

A model whose first token of a turn is merely late gets ``on_late`` first (the call says it
is checking), so a hang is never a long silence before the apology.

It only watches: a failure is published to the ``on_failure`` event with the stage and a
short reason, at most once until VAD hears the caller again (a broken service often
reports the same fault several times); ``on_answered`` is published when a turn's answer
produces audio. Acting on either is the failure policy's job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from pipecat.frames.frames import (
    ErrorFrame,
    FunctionCallCancelFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection

STAGES = ("stt", "llm", "tts")


class StageWatchdog(BaseObserver):
    """Publishes ``on_failure(watchdog, stage, reason)`` and ``on_answered(watchdog)``.

    Example::

        @watchdog.event_handler("on_failure")
        async def on_failure(watchdog, stage, reason):
            ...

    Args:
        limits: Seconds each stage (``stt``, ``llm``, ``tts``) may take.
        llm_hold_secs: If the model's first token of a caller's turn is this late (and it is
            less than the LLM deadline), ``on_late(watchdog, "llm")`` is published once.
    """

    def __init__(self, limits: dict[str, float], llm_hold_secs: float = 0.0, **kwargs):
        super().__init__(observe_every_push=False, **kwargs)
        missing = set(STAGES) - set(limits)
        if missing:
            raise ValueError(f"no deadline for stage(s): {', '.join(sorted(missing))}")
        self._limits = dict(limits)
        self._hold = llm_hold_secs if 0 < llm_hold_secs < limits["llm"] else None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()
        self._in_user_turn = False
        self._answering = False  # a turn ended and its answer has not been heard yet
        self._latched = False  # a failure was reported; quiet until the caller speaks again
        self._tools_running: set[str] = set()  # tool calls of the model's last response
        self._llm_owed = False  # tool results are in; the model is not asked yet
        self._register_event_handler("on_failure")
        self._register_event_handler("on_answered")
        self._register_event_handler("on_late")

    async def on_push_frame(self, data: FramePushed) -> None:
        """Arm and disarm the stage deadlines; report service errors."""
        frame = data.frame
        if isinstance(frame, ErrorFrame):
            await self._fail(_stage_of(frame), "error")
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._in_user_turn = True
            self._latched = False
            self._answering = False
            self._llm_owed = False
            # The caller talks again: pipecat cancels the answer in progress, so its
            # deadlines no longer stand (the end of this turn arms new ones).
            self._disarm("llm")
            self._disarm("tts")
        elif isinstance(frame, VADUserStoppedSpeakingFrame) and self._in_user_turn:
            self._arm("stt")
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            self._disarm("stt")
            self._disarm("llm_hold")  # the caller goes on talking: no "one moment" over them
            self._latched = False  # the caller speaks again (maybe within the same turn)
        elif isinstance(frame, TranscriptionFrame):
            self._disarm("stt")
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self._in_user_turn = False
            self._answering = True
            self._disarm("stt")
            self._arm("llm")
            if self._hold is not None:  # the turn's first request: nothing audible yet
                loop = asyncio.get_running_loop()
                self._timers["llm_hold"] = loop.call_later(self._hold, self._late, "llm")
        elif isinstance(frame, LLMTextFrame):
            if self._disarm("llm"):
                self._arm("tts")
        elif isinstance(frame, FunctionCallsStartedFrame):
            self._disarm("llm")
            self._tools_running.update(call.tool_call_id for call in frame.function_calls)
        elif isinstance(frame, LLMFullResponseEndFrame):
            self._disarm("llm")
        elif isinstance(frame, FunctionCallResultFrame | FunctionCallCancelFrame):
            self._tools_running.discard(frame.tool_call_id)
            # pipecat asks the model again only once every result of the group is in
            last = isinstance(frame, FunctionCallResultFrame) and not self._tools_running
            if last and _asks_for_answer(frame):
                self._llm_owed = True
        elif isinstance(frame, LLMContextFrame) and data.direction == FrameDirection.UPSTREAM:
            if self._llm_owed:  # the assistant aggregator asks the model with the results
                self._llm_owed = False
                self._arm("llm")
        elif isinstance(frame, TTSSpeakFrame):
            self._arm("tts")
        elif isinstance(frame, TTSAudioRawFrame):
            self._disarm("tts")
            if self._answering:
                self._answering = False
                await self._call_event_handler("on_answered")

    def _arm(self, stage: str) -> None:
        self._disarm(stage)
        loop = asyncio.get_running_loop()
        self._timers[stage] = loop.call_later(self._limits[stage], self._missed, stage)

    def _missed(self, stage: str) -> None:
        self._spawn(self._fail(stage, "deadline"))

    def _late(self, stage: str) -> None:
        self._timers.pop(f"{stage}_hold", None)
        self._spawn(self._call_event_handler("on_late", stage))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (a timer fired) in a task of its own, kept until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _disarm(self, stage: str) -> bool:
        if stage == "llm":
            self._disarm("llm_hold")
        timer = self._timers.pop(stage, None)
        if timer is not None:
            timer.cancel()
        return timer is not None

    def _disarm_all(self) -> None:
        for stage in list(self._timers):
            self._disarm(stage)

    async def _fail(self, stage: str, reason: str) -> None:
        self._timers.pop(stage, None)
        if self._latched:
            return
        self._latched = True
        self._answering = False
        self._disarm_all()
        await self._call_event_handler("on_failure", stage, reason)

    async def cleanup(self):
        """Cancel pending deadlines."""
        self._disarm_all()
        await super().cleanup()


def _asks_for_answer(frame: FunctionCallResultFrame) -> bool:
    """Whether the model is asked for its next answer once this tool result is in."""
    wanted = frame.properties.run_llm if frame.properties is not None else None
    return (frame.run_llm if wanted is None else wanted) is not False


def _stage_of(frame: ErrorFrame) -> str:
    name = type(frame.processor).__name__.lower() if frame.processor is not None else ""
    for stage, marker in (("stt", "stt"), ("tts", "tts"), ("llm", "llm")):
        if marker in name:
            return stage
    return "pipeline"
