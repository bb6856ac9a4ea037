"""The call record's latency stamps: bot audio counts from when the caller hears it."""

import pytest
from pipecat.frames.frames import (
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import FramePushed
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from observability.observers.call_record import CallRecordObserver
from processors.frames import WireAudioStartedFrame

pytestmark = pytest.mark.unit

NS = 1_000_000_000


async def push(observer: CallRecordObserver, frame, at_secs: float) -> None:
    processor = FrameProcessor()
    await observer.on_push_frame(
        FramePushed(processor, processor, frame, FrameDirection.DOWNSTREAM, int(at_secs * NS))
    )


@pytest.mark.parametrize("plays_in", [0.0, 0.06])
async def test_voice_to_voice_ends_when_the_first_bot_frame_plays(plays_in: float):
    observer = CallRecordObserver()
    await push(observer, VADUserStartedSpeakingFrame(), 1.0)
    await push(observer, VADUserStoppedSpeakingFrame(stop_secs=0.2), 2.2)  # speech ended at 2.0
    await push(observer, UserStoppedSpeakingFrame(), 2.8)
    await push(observer, WireAudioStartedFrame(plays_in_secs=plays_in), 3.0)
    figures = observer.record.current.figures()
    assert figures["voice_to_voice_ms"] == pytest.approx(1000 + plays_in * 1000)
