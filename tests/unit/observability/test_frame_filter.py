"""Which pushes reach the call's observers: pipecat's proxy queues all, ours skips the noise."""

import pytest
from pipecat.frames.frames import (
    BotSpeakingFrame,
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    UserSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FrameProcessed, FramePushed
from pipecat.pipeline.worker_observer import WorkerObserver
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from observability.observers.frame_filter import FilteringWorkerObserver

pytestmark = pytest.mark.unit


class Counting(BaseObserver):
    def __init__(self):
        super().__init__(observe_every_push=True)


def frames() -> list:
    audio = InputAudioRawFrame(audio=bytes(320), sample_rate=8000, num_channels=1)
    bot = TTSAudioRawFrame(audio=bytes(640), sample_rate=8000, num_channels=1)
    return [
        audio,
        audio,  # the same frame one hop further down
        bot,
        bot,
        UserSpeakingFrame(),
        BotSpeakingFrame(),
        TranscriptionFrame("так", "", "2026-12-03T00:00:00Z"),
    ]


async def queued(proxy: WorkerObserver) -> list[str]:
    """Push each frame through ``proxy``; return what it queued for its observer."""
    observer = Counting()
    proxy._observers = [observer]
    proxy._proxies = {}
    queue_items: list[str] = []

    class _Queue:
        async def put(self, data):
            kind = "processed" if isinstance(data, FrameProcessed) else "pushed"
            queue_items.append(f"{kind} {type(data.frame).__name__}")

    proxy._proxies[observer] = type("P", (), {"queue": _Queue(), "observer": observer})()
    processor = FrameProcessor()
    for frame in frames():
        await proxy.on_push_frame(
            FramePushed(processor, processor, frame, FrameDirection.DOWNSTREAM, 0)
        )
    last = frames()[-1]
    await proxy.on_process_frame(FrameProcessed(processor, last, FrameDirection.DOWNSTREAM, 0))
    return queue_items


async def test_pipecats_worker_observer_queues_every_push_and_every_process_report():
    assert await queued(WorkerObserver()) == [
        "pushed InputAudioRawFrame",
        "pushed InputAudioRawFrame",
        "pushed TTSAudioRawFrame",
        "pushed TTSAudioRawFrame",
        "pushed UserSpeakingFrame",
        "pushed BotSpeakingFrame",
        "pushed TranscriptionFrame",
        "processed TranscriptionFrame",
    ]


async def test_ours_queues_bot_audio_once_and_no_caller_audio_heartbeats_or_reports():
    assert await queued(FilteringWorkerObserver()) == [
        "pushed TTSAudioRawFrame",
        "pushed TranscriptionFrame",
    ]
