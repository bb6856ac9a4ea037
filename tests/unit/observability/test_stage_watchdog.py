"""The stage watchdog's LLM deadline around tool calls, driven by frames."""

import asyncio

import pytest
from pipecat.frames.frames import (
    FunctionCallFromLLM,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    LLMContextFrame,
    LLMTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import FramePushed
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from observability.observers.stage_watchdog import StageWatchdog

pytestmark = pytest.mark.unit

LLM_SECS = 0.05


def watchdog() -> tuple[StageWatchdog, list[tuple[str, str]]]:
    dog = StageWatchdog({"stt": 10, "llm": LLM_SECS, "tts": 10})
    failures: list[tuple[str, str]] = []

    @dog.event_handler("on_failure")
    async def on_failure(_dog, stage, reason):
        failures.append((stage, reason))

    return dog, failures


async def push(dog: StageWatchdog, frame, direction=FrameDirection.DOWNSTREAM) -> None:
    processor = FrameProcessor()
    await dog.on_push_frame(FramePushed(processor, processor, frame, direction, 0))


async def model_asked_again(dog: StageWatchdog) -> None:
    """The assistant aggregator pushes the context with the results up to the LLM."""
    await push(dog, LLMContextFrame(LLMContext()), FrameDirection.UPSTREAM)


def result(tool_id: str) -> FunctionCallResultFrame:
    return FunctionCallResultFrame(
        function_name="t", tool_call_id=tool_id, arguments={}, result={"ok": True}
    )


async def a_turn_with_two_tools(dog: StageWatchdog) -> None:
    await push(dog, UserStartedSpeakingFrame())
    await push(dog, UserStoppedSpeakingFrame())
    calls = [FunctionCallFromLLM("t", tool_id, {}, None) for tool_id in ("a", "b")]
    await push(dog, FunctionCallsStartedFrame(function_calls=calls))


async def test_no_llm_deadline_while_a_parallel_tool_still_runs():
    dog, failures = watchdog()
    await a_turn_with_two_tools(dog)
    await push(dog, result("a"))  # "b" (a slow store) is still running: the model waits
    await asyncio.sleep(LLM_SECS * 4)
    assert failures == []
    await dog.cleanup()


async def fired(failures: list) -> list:
    """The failures once the first is reported (bounded: 100 LLM deadlines at most)."""
    for _ in range(100):
        if failures:
            break
        await asyncio.sleep(LLM_SECS)
    return failures


async def test_the_llm_deadline_runs_from_the_last_result_of_the_group():
    dog, failures = watchdog()
    await a_turn_with_two_tools(dog)
    await push(dog, result("a"))
    await push(dog, result("b"))
    await model_asked_again(dog)  # now the model must answer in time
    assert await fired(failures) == [("llm", "deadline")]
    await dog.cleanup()


async def test_a_new_caller_turn_before_the_first_token_cancels_the_old_llm_deadline():
    # The turn ended on a pause mid-utterance, the caller went on talking before the model
    # answered (pipecat cancels that answer): the old deadline must not fire in the new turn.
    dog, failures = watchdog()
    await push(dog, UserStartedSpeakingFrame())
    await push(dog, UserStoppedSpeakingFrame())
    await push(dog, UserStartedSpeakingFrame())
    await asyncio.sleep(LLM_SECS * 4)
    assert failures == []
    await dog.cleanup()


async def test_the_llm_deadline_waits_for_the_model_to_be_asked():
    # A "checking..." phrase plays while the tools run; the results reach the assistant
    # aggregator behind it, and only then is the model asked: the phrase is not its delay.
    dog, failures = watchdog()
    await a_turn_with_two_tools(dog)
    await push(dog, result("a"))
    await push(dog, result("b"))
    await asyncio.sleep(LLM_SECS * 4)
    assert failures == []
    await model_asked_again(dog)
    assert await fired(failures) == [("llm", "deadline")]
    await dog.cleanup()


# --- a late first token: the hold before the deadline (issue 15, point 5) ---------------------


def watched_for_lateness(hold_secs: float) -> tuple[StageWatchdog, list[str]]:
    dog = StageWatchdog({"stt": 10, "llm": LLM_SECS * 4, "tts": 10}, llm_hold_secs=hold_secs)
    events: list[str] = []

    @dog.event_handler("on_late")
    async def on_late(_dog, stage):
        events.append(f"late {stage}")

    @dog.event_handler("on_failure")
    async def on_failure(_dog, stage, reason):
        events.append(f"{reason} {stage}")

    return dog, events


async def test_a_hung_model_is_late_first_and_misses_its_deadline_after():
    dog, events = watched_for_lateness(LLM_SECS)
    await push(dog, UserStartedSpeakingFrame())
    await push(dog, UserStoppedSpeakingFrame())
    for _ in range(100):
        if len(events) == 2:
            break
        await asyncio.sleep(LLM_SECS)
    assert events == ["late llm", "deadline llm"]
    await dog.cleanup()


async def test_a_first_token_in_time_is_not_late():
    dog, events = watched_for_lateness(LLM_SECS)
    await push(dog, UserStartedSpeakingFrame())
    await push(dog, UserStoppedSpeakingFrame())
    await push(dog, LLMTextFrame("Так"))
    await asyncio.sleep(LLM_SECS * 6)
    assert events == []
    await dog.cleanup()


@pytest.mark.parametrize("hold_secs", [0.0, LLM_SECS * 4, LLM_SECS * 8])
async def test_no_hold_when_it_is_off_or_not_before_the_deadline(hold_secs):
    dog, events = watched_for_lateness(hold_secs)
    await push(dog, UserStartedSpeakingFrame())
    await push(dog, UserStoppedSpeakingFrame())
    for _ in range(100):
        if events:
            break
        await asyncio.sleep(LLM_SECS)
    await asyncio.sleep(LLM_SECS)
    assert events == ["deadline llm"]
    await dog.cleanup()
