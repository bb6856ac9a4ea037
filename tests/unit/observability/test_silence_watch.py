"""The silence watch: a quiet line is asked about, never taken for a hangup; frames drive it."""

import asyncio

import pytest
from pipecat.frames.frames import (
    FunctionCallFromLLM,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    TranscriptionFrame,
    TTSStartedFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import FramePushed
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from observability.observers.silence_watch import SilenceWatch
from processors.frames import WireAudioStartedFrame, WireAudioStoppedFrame

pytestmark = pytest.mark.unit

SECS = 0.05


def watch(tool_waits: list[float] | None = None) -> tuple[SilenceWatch, list[int]]:
    silences: list[int] = []
    w = SilenceWatch(SECS, tool_wait_secs=SECS / 2)

    @w.event_handler("on_silence")
    async def on_silence(_w, count):
        silences.append(count)

    @w.event_handler("on_tool_wait")
    async def on_tool_wait(_w):
        if tool_waits is not None:
            tool_waits.append(asyncio.get_running_loop().time())

    return w, silences


async def push(w: SilenceWatch, frame) -> None:
    processor = FrameProcessor()
    await w.on_push_frame(FramePushed(processor, processor, frame, FrameDirection.DOWNSTREAM, 0))


async def until(silences: list[int], n: int) -> None:
    async with asyncio.timeout(2):  # bounded wait for the events, not a guessed delay
        while len(silences) < n:  # noqa: ASYNC110
            await asyncio.sleep(SECS / 5)


async def test_silence_after_the_bot_spoke_is_reported_again_and_again() -> None:
    w, silences = watch()
    await push(w, WireAudioStartedFrame())
    await push(w, WireAudioStoppedFrame())
    await until(silences, 3)
    assert silences[:3] == [1, 2, 3]
    await w.cleanup()


async def test_nothing_is_reported_while_someone_speaks_or_a_tool_runs() -> None:
    w, silences = watch()
    await push(w, WireAudioStartedFrame())
    await asyncio.sleep(SECS * 4)
    await push(w, WireAudioStoppedFrame())
    await push(w, VADUserStartedSpeakingFrame())  # the caller talks for a long time
    await asyncio.sleep(SECS * 4)
    await push(w, VADUserStoppedSpeakingFrame())
    call = FunctionCallFromLLM("t", "a", {}, None)
    await push(w, FunctionCallsStartedFrame(function_calls=[call]))  # a slow store
    await asyncio.sleep(SECS * 4)
    assert silences == []
    await push(w, FunctionCallResultFrame("t", "a", {}, {"ok": True}))
    await push(w, TTSStartedFrame())  # the answer is spoken...
    await until(silences, 1)  # ...and after it, the wait runs again
    await w.cleanup()


async def test_caller_audio_alone_is_no_sign_of_life_but_speech_resets_the_count() -> None:
    w, silences = watch()
    await push(w, WireAudioStoppedFrame())
    for _ in range(3):  # a line of silence frames, as Asterisk sends for a quiet caller
        await push(w, InputAudioRawFrame(audio=bytes(320), sample_rate=8000, num_channels=1))
    await until(silences, 2)
    await push(w, TranscriptionFrame("так", "caller", "2026-12-03T00:00:00Z"))
    await until(silences, 3)
    assert silences[2] == 1  # counted afresh: the caller answered
    await w.cleanup()


async def test_no_event_after_the_call_stops_watching() -> None:
    w, silences = watch()
    await push(w, WireAudioStoppedFrame())
    w.stop_watching()
    await push(w, WireAudioStoppedFrame())
    await asyncio.sleep(SECS * 4)
    assert silences == []


async def test_waiting_on_tools_is_reported_as_a_wait_until_the_answer_not_as_a_silence() -> None:
    waits: list[float] = []
    w, silences = watch(waits)

    async def until_waits(n: int) -> None:
        async with asyncio.timeout(2):
            while len(waits) < n:  # noqa: ASYNC110
                await asyncio.sleep(SECS / 5)

    await push(w, WireAudioStoppedFrame())
    call = FunctionCallFromLLM("t", "a", {}, None)
    await push(w, FunctionCallsStartedFrame(function_calls=[call]))
    await until_waits(2)
    await push(w, WireAudioStartedFrame())  # the hold phrase plays: no wait meanwhile
    seen = len(waits)
    await asyncio.sleep(SECS * 2)
    assert len(waits) == seen
    await push(w, WireAudioStoppedFrame())
    await push(w, FunctionCallResultFrame("t", "a", {}, {"ok": True}))
    await until_waits(seen + 1)  # the model thinks again after the result: still a wait
    await push(w, LLMFullResponseStartFrame())
    await push(w, LLMFullResponseEndFrame())  # an answer in words, no more tools
    seen = len(waits)
    await until(silences, 1)  # its speech is due: the ordinary wait again
    assert len(waits) == seen
    await w.cleanup()


async def test_tool_rounds_coming_and_going_do_not_restart_the_callers_wait() -> None:
    waits: list[float] = []
    w, _silences = watch(waits)
    await push(w, WireAudioStoppedFrame())
    for n in range(20):  # a model calling one quick tool after another, for 4 waits. time
        call = FunctionCallFromLLM("t", f"a{n}", {}, None)
        await push(w, LLMFullResponseStartFrame())
        await push(w, FunctionCallsStartedFrame(function_calls=[call]))
        await push(w, LLMFullResponseEndFrame())
        await push(w, FunctionCallResultFrame("t", f"a{n}", {}, {"ok": True}))
        await asyncio.sleep(SECS / 10)
    assert waits  # the caller was told, though no single round was slow
    await w.cleanup()
