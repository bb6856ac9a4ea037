"""The transport's input over real sockets: a caller leg that sends nothing while quiet.

A channel without media, or a trunk with silence suppression, sends no frames while the
caller is quiet (seen on a live Asterisk: a Local channel in ``Wait()``). Without audio,
pipecat's VAD never hears the caller stop (it forces a stop late) and Google ends the
recognition stream for lack of audio, which the failure policy takes for an STT failure.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from pipecat.frames.frames import Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from processors.echo import EchoProcessor
from transports.audiosocket.codec import Audio
from transports.audiosocket.connection import AudioSocketConnection
from transports.audiosocket.transport import AudioSocketParams, AudioSocketTransport

pytestmark = pytest.mark.integration

RATE = 8000
SPOKEN_FRAMES = 10
QUIET_SECS = 1.0
ECHOED_FRAMES = 25


class HeardAudio(FrameProcessor):
    """Keeps the caller audio the pipeline receives."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[bytes] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self.frames.append(frame.audio)
        await self.push_frame(frame, direction)


class Listener:
    """Takes the caller's audio as bytes, as speech-to-text and VAD do in the voice pipeline."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    async def hear_caller(self, pcm: bytes) -> None:
        self.frames.append(pcm)


def between(
    listeners: list[Listener], heard: HeardAudio
) -> Callable[[AudioSocketTransport], list[FrameProcessor]]:
    """``input -> heard -> output``, the input handing its audio to ``listeners`` if any."""

    def build(transport: AudioSocketTransport) -> list[FrameProcessor]:
        if listeners:
            transport.input().send_audio_to(listeners)
        return [heard]

    return build


async def caller_leg(
    build: Callable[[AudioSocketTransport], list[FrameProcessor]],
    speak: Callable[[AudioSocketConnection], Awaitable],
) -> None:
    """Run ``input -> build(transport) -> output`` over a real socket while ``speak`` runs."""
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put((reader, writer))

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    peer_reader, peer_writer = await asyncio.open_connection("127.0.0.1", port)
    peer = AudioSocketConnection(peer_reader, peer_writer, expect_call_id=False, max_payload=4096)
    reader, writer = await accepted.get()

    connection = AudioSocketConnection(reader, writer, expect_call_id=False, max_payload=4096)
    params = AudioSocketParams(read_timeout_secs=60.0)
    transport = AudioSocketTransport(connection, uuid.uuid4(), params)
    worker = PipelineWorker(
        Pipeline([transport.input(), *build(transport), transport.output()]),
        params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
        enable_rtvi=False,
        idle_timeout_secs=None,
    )
    runner = WorkerRunner(handle_sigint=False, handle_sigterm=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    try:
        await speak(peer)
    finally:
        await peer.close()
        await worker.cancel()
        running.cancel()
        server.close()


SPOKEN = b"\x10\x00" * (RATE // 50)


async def speak_then_go_quiet(peer: AudioSocketConnection) -> None:
    """The caller speaks 200 ms, then the leg sends nothing."""
    for _ in range(SPOKEN_FRAMES):
        await peer.send(Audio(rate=RATE, pcm=SPOKEN))
        await asyncio.sleep(0.02)
    await asyncio.sleep(QUIET_SECS)


def assert_gap_filled(frames: list[bytes]) -> None:
    filled = frames[SPOKEN_FRAMES:]
    print(f"\n{len(filled)} frames of silence in {QUIET_SECS} s without frames")
    # ~50 frames: a filled gap trails the quiet line by at most a tenth of a second
    # (generous bounds: the machine may be busy, but the gap must be filled).
    assert len(filled) >= 0.5 * QUIET_SECS / 0.02
    assert all(frame == bytes(len(SPOKEN)) for frame in filled)
    assert frames[:SPOKEN_FRAMES] == [SPOKEN] * SPOKEN_FRAMES


async def test_a_caller_leg_that_goes_quiet_without_frames_is_heard_as_silence():
    heard = HeardAudio()
    await caller_leg(between([], heard), speak_then_go_quiet)
    assert_gap_filled(heard.frames)


async def test_named_listeners_get_the_audio_in_order_and_no_audio_frame_is_pushed():
    heard, first, second = HeardAudio(), Listener(), Listener()
    await caller_leg(between([first, second], heard), speak_then_go_quiet)
    assert_gap_filled(first.frames)
    assert second.frames == first.frames
    assert heard.frames == []


class BotAudioFrames(FrameProcessor):
    """Counts the bot audio frames that cross the pipeline."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        self.count += isinstance(frame, OutputAudioRawFrame)
        await self.push_frame(frame, direction)


@pytest.mark.parametrize("direct", [False, True])
async def test_the_echo_reaches_the_caller_and_direct_play_needs_no_frame(direct: bool):
    echoed = b"\x20\x00" * (RATE // 50)
    received: list[bytes] = []
    frames = BotAudioFrames()

    def build(transport: AudioSocketTransport) -> list[FrameProcessor]:
        echo = EchoProcessor(player=transport.output() if direct else None)
        transport.input().send_audio_to([echo])
        return [echo, frames]

    async def speak_after_the_chime(peer: AudioSocketConnection) -> None:
        async def listen() -> None:
            while (message := await peer.receive()) is not None:
                if isinstance(message, Audio):
                    received.append(message.pcm)

        listening = asyncio.create_task(listen())
        await asyncio.sleep(0.7)  # the chime (0.5 s), during which the echo is quiet
        for _ in range(ECHOED_FRAMES):
            await peer.send(Audio(rate=RATE, pcm=echoed))
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        listening.cancel()

    await caller_leg(build, speak_after_the_chime)
    assert received.count(echoed) == ECHOED_FRAMES
    # The chime is one frame; the echo (of the caller, and of the silence that stands in
    # for a quiet line) adds one per 20 ms unless it is played direct.
    if direct:
        assert frames.count == 1
    else:
        assert frames.count >= 1 + ECHOED_FRAMES
