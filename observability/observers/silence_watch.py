"""Notices when nothing has happened on a call for a while: a quiet caller, not a dead line.

What Asterisk does decides the policy (``apps/app_audiosocket.c``): it forwards the channel's
voice frames as they come, so a channel without media, or a trunk with silence suppression,
sends *nothing* while the caller is quiet; when the caller hangs up it closes the socket
itself. So a silent socket is never taken for a hangup. Instead, when neither side has said
anything for ``after_secs`` - the bot is not speaking, the caller is not speaking, no tool is
running - ``on_silence(watch, count)`` is published (count 1, 2, ... for each silence in a
row); the call asks "are you still there?" and, after its last prompt, says goodbye. Any
sign of the caller (VAD hearing speech, a transcript, a key) resets the count.

Store tools keep the caller waiting in another way: from the model's first tool call until
its answer is spoken (through every further LLM round and tool), ``on_tool_wait(watch)`` is
published after each ``tool_wait_secs`` with nothing audible, and the call says it is
checking.

It only watches; acting is the call's job, like :class:`~.stage_watchdog.StageWatchdog`.
"""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import (
    FunctionCallCancelFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    InputDTMFFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    TranscriptionFrame,
    TTSStartedFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed

from processors.frames import WireAudioStartedFrame, WireAudioStoppedFrame


class SilenceWatch(BaseObserver):
    """Publishes ``on_silence(watch, count)`` after ``after_secs`` of silence on both sides.

    Args:
        after_secs: Seconds of silence (nobody speaking, nothing running) before each event.
        tool_wait_secs: Seconds a tool may run in silence before each ``on_tool_wait``.
    """

    def __init__(self, after_secs: float, tool_wait_secs: float, **kwargs):
        super().__init__(observe_every_push=False, **kwargs)
        self._after = after_secs
        self._tool_wait = tool_wait_secs
        self._timer: asyncio.TimerHandle | None = None
        self._tool_timer_armed = False
        self._tasks: set[asyncio.Task] = set()
        self._caller_speaking = False
        self._bot_speaking = False
        self._tools_running: set[str] = set()
        self._working = False  # tools were called; the model's answer is not spoken yet
        self._response_called_tools = False
        self._ended = False
        self.count = 0  # silences in a row since the caller last showed up
        self._register_event_handler("on_silence")
        self._register_event_handler("on_tool_wait")

    async def on_push_frame(self, data: FramePushed) -> None:
        """Pause while anyone speaks or a tool runs; restart the wait on every other event."""
        frame = data.frame
        if isinstance(frame, VADUserStartedSpeakingFrame):
            self._caller_speaking = True
            self._working = False  # the caller talks over it: whatever ran is cancelled
            self.count = 0
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._caller_speaking = False
        elif isinstance(frame, TranscriptionFrame | InputDTMFFrame):
            self.count = 0
        elif isinstance(frame, WireAudioStartedFrame):  # any bot audio, phrases too
            self._bot_speaking = True
        elif isinstance(frame, WireAudioStoppedFrame):
            self._bot_speaking = False
        elif isinstance(frame, FunctionCallsStartedFrame):
            self._tools_running.update(call.tool_call_id for call in frame.function_calls)
            self._working = self._response_called_tools = True
        elif isinstance(frame, FunctionCallResultFrame | FunctionCallCancelFrame):
            self._tools_running.discard(frame.tool_call_id)
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._response_called_tools = False
        elif isinstance(frame, LLMFullResponseEndFrame):
            if not self._response_called_tools:
                self._working = False  # an answer without tools: its speech comes next
        elif isinstance(frame, TTSStartedFrame):
            self._working = False  # the model's answer is being spoken
        else:
            return  # nothing that says the line is alive (audio frames come here a lot)
        self._rearm()

    def stop_watching(self) -> None:
        """The call is ending: no more events."""
        self._ended = True
        self._disarm()

    def _rearm(self) -> None:
        if self._ended or self._caller_speaking or self._bot_speaking:
            self._disarm()
            return
        waiting_on_tools = self._tools_running or self._working
        if waiting_on_tools and self._tool_timer_armed:
            return  # tool rounds come and go; the caller's wait runs on regardless
        self._disarm()
        loop = asyncio.get_running_loop()
        if waiting_on_tools:
            self._timer = loop.call_later(self._tool_wait, self._tool_silent)
            self._tool_timer_armed = True
        else:
            self._timer = loop.call_later(self._after, self._silent)

    def _disarm(self) -> None:
        self._tool_timer_armed = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _silent(self) -> None:
        self.count += 1
        self._publish("on_silence", self.count)
        self._timer = asyncio.get_running_loop().call_later(self._after, self._silent)

    def _tool_silent(self) -> None:
        self._publish("on_tool_wait")
        self._timer = asyncio.get_running_loop().call_later(self._tool_wait, self._tool_silent)

    def _publish(self, event: str, *args: object) -> None:
        """Run the event's handlers in a task of their own; the next wait is already armed.

        The phrase the handler plays rearms the wait through its wire audio frames; if it
        never plays (the output is stuck), the armed wait fires anyway: no silent hang.
        """
        task = asyncio.get_running_loop().create_task(self._call_event_handler(event, *args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cleanup(self):
        """Cancel the pending wait."""
        self.stop_watching()
        await super().cleanup()
