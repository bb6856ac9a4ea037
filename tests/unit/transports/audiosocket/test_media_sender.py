"""What pipecat's output MediaSender costs per chunk of bot audio, and what ours does instead."""

import asyncio

import pytest
from pipecat.frames.frames import (
    Frame,
    OutputAudioRawFrame,
    StartFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import run_test
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import TransportParams

from transports.audiosocket.media_sender import PhoneMediaSender

pytestmark = pytest.mark.unit

RATE = 8000
CHUNK = 320  # 20 ms at 8 kHz
PARAMS = PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE)


class RecordingOutput(BaseOutputTransport):
    """An output transport that records the writes, with pipecat's sender or ``sender``."""

    def __init__(self, sender: type[PhoneMediaSender] | None = None):
        super().__init__(
            TransportParams(
                audio_out_enabled=True, audio_out_10ms_chunks=2, audio_out_end_silence_secs=0
            )
        )
        self._sender = sender
        self.written: list[bytes] = []

    async def start(self, frame: StartFrame):
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def set_transport_ready(self, frame: StartFrame):
        if self._sender is None:
            await super().set_transport_ready(frame)
        else:
            await self._sender.start_for(self, frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        self.written.append(frame.audio)
        return True


def tts_frames(count: int, ms: int) -> list[Frame]:
    """``count`` TTS frames of ``ms`` each, every frame a different sample value."""
    return [
        TTSAudioRawFrame(bytes([i + 1, 0]) * (RATE * ms // 1000), RATE, 1) for i in range(count)
    ]


async def tasks_started(output: RecordingOutput, frames: list[Frame]) -> int:
    """Run ``frames`` through ``output``; return how many asyncio tasks were started meanwhile."""
    loop = asyncio.get_running_loop()
    started = 0
    factory = loop.get_task_factory()

    def counting(loop, coro, **kwargs):
        nonlocal started
        started += 1
        return factory(loop, coro, **kwargs) if factory else asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting)
    try:
        await run_test(output, frames_to_send=frames, pipeline_params=PARAMS)
    finally:
        loop.set_task_factory(factory)
    return started


async def per_chunk_tasks(sender: type[PhoneMediaSender] | None) -> float:
    """Tasks started per 20 ms chunk: the difference between 10 and 60 chunks of audio."""
    few = await tasks_started(RecordingOutput(sender), tts_frames(5, 40))
    many = await tasks_started(RecordingOutput(sender), tts_frames(30, 40))
    return (many - few) / 50


async def test_pipecat_starts_tasks_for_every_20_ms_chunk():
    assert await per_chunk_tasks(None) >= 2  # a wait_for to take it, one to write it


async def test_ours_starts_no_task_per_chunk():
    assert await per_chunk_tasks(PhoneMediaSender) == 0


async def test_ours_writes_each_frame_whole_in_order_and_keeps_a_partial_chunk_for_the_next():
    output = RecordingOutput(PhoneMediaSender)
    frames = tts_frames(3, 100)
    frames.insert(1, TTSAudioRawFrame(b"\x09\x00" * 100, RATE, 1))  # 12.5 ms: not a chunk
    await run_test(output, frames_to_send=[*frames, TTSStoppedFrame()], pipeline_params=PARAMS)

    assert [len(audio) for audio in output.written] == [5 * CHUNK, 5 * CHUNK, 5 * CHUNK, CHUNK]
    audio = b"".join(f.audio for f in frames)
    played = b"".join(output.written)
    assert played == audio + bytes(len(played) - len(audio))  # the tail padded to a chunk


async def bot_speaking_frames(sender: type[PhoneMediaSender] | None) -> list[str]:
    """The bot-speaking frames that reach the end of the pipeline for one answer."""
    down, _up = await run_test(
        RecordingOutput(sender),
        frames_to_send=[*tts_frames(10, 40), TTSStoppedFrame()],
        pipeline_params=PARAMS,
    )
    names = ("BotStartedSpeakingFrame", "BotSpeakingFrame", "BotStoppedSpeakingFrame")
    return [type(frame).__name__ for frame in down if type(frame).__name__ in names]


async def test_pipecat_broadcasts_a_bot_speaking_heartbeat():
    assert "BotSpeakingFrame" in await bot_speaking_frames(None)


async def test_ours_announces_start_and_stop_without_the_heartbeat():
    assert await bot_speaking_frames(PhoneMediaSender) == [
        "BotStartedSpeakingFrame",
        "BotStoppedSpeakingFrame",
    ]
