"""The transport's output over real sockets: a peer that stops reading, a tick that comes late."""

import asyncio
import contextlib
import socket
import uuid

import pytest
from pipecat.frames.frames import EndFrame, Frame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection
from pipecat.workers.runner import WorkerRunner

from processors.frames import WireAudioStartedFrame, WireAudioStoppedFrame
from transports.audiosocket.codec import Audio, Decoder
from transports.audiosocket.connection import AudioSocketConnection
from transports.audiosocket.transport import (
    AudioSocketOutputTransport,
    AudioSocketParams,
    AudioSocketTransport,
)

pytestmark = pytest.mark.integration

SMALL_BUFFER = 4096  # bytes: the kernel's buffers fill within a second of audio


async def start_pipeline(processors: list) -> tuple[PipelineWorker, asyncio.Task]:
    """Run ``processors`` as a call's pipeline at 8 kHz; returns the worker and its task."""
    worker = PipelineWorker(
        Pipeline(processors),
        params=PipelineParams(audio_in_sample_rate=8000, audio_out_sample_rate=8000),
        enable_rtvi=False,
        idle_timeout_secs=None,
    )
    runner = WorkerRunner(handle_sigint=False, handle_sigterm=False)
    await runner.add_workers(worker)
    return worker, asyncio.create_task(runner.run())


async def test_a_peer_that_stops_reading_is_dropped_after_the_write_timeout():
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER
        )
        await accepted.put((reader, writer))

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    peer = socket.socket()  # connects, then never reads a byte and never sends one
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    peer.setblocking(False)
    await asyncio.get_running_loop().sock_connect(peer, ("127.0.0.1", port))
    reader, writer = await accepted.get()

    connection = AudioSocketConnection(reader, writer, expect_call_id=False, max_payload=4096)
    params = AudioSocketParams(audio_out_write_timeout_secs=0.5, read_timeout_secs=60.0)
    transport = AudioSocketTransport(connection, uuid.uuid4(), params)
    gone: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @transport.event_handler("on_client_disconnected")
    async def on_gone(_transport: AudioSocketTransport, reason: str) -> None:
        gone.set_result(reason)

    worker, running = await start_pipeline([transport.input(), transport.output()])
    try:
        # Silence alone fills the buffers; the read timeout (60 s) is far off.
        assert await asyncio.wait_for(gone, timeout=30) == "peer_not_reading"
        await asyncio.wait_for(running, timeout=10)  # the call's worker ended with it
    finally:
        peer.close()
        server.close()
        running.cancel()


class HandClock:
    """A frame clock the test turns by hand (the transport's injection point for its clock)."""

    def __init__(self) -> None:
        self.sender: AudioSocketOutputTransport | None = None
        self.time = 0.0  # what the sender reads between ticks

    def now(self) -> float:
        return self.time

    async def join(self, sender: AudioSocketOutputTransport) -> None:
        sender.tick(self.time)  # as the real clock does: the first frame goes at once
        self.sender = sender

    def leave(self, sender: AudioSocketOutputTransport) -> None:
        self.sender = None


class MarkedOutput(AudioSocketOutputTransport):
    """The output, keeping the wire markers it pushes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.markers: list[Frame] = []
        self.heard_at: list[float] = []  # when the caller hears each marker's change

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        if isinstance(frame, (WireAudioStartedFrame, WireAudioStoppedFrame)):
            self.markers.append(frame)
            self.heard_at.append(self._frame_clock.now() + frame.plays_in_secs)
        await super().push_frame(frame, direction)


async def hand_clocked_output() -> tuple[MarkedOutput, HandClock, socket.socket]:
    """An output on one end of a socket pair, on a clock the test turns; the other end."""
    ours, peer = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    connection = AudioSocketConnection(reader, writer, expect_call_id=False, max_payload=4096)
    clock = HandClock()
    transport = AudioSocketTransport(connection, uuid.uuid4())
    return MarkedOutput(transport, AudioSocketParams(), frame_clock=clock), clock, peer


async def play_a_tone(
    lateness: list[float], quiet_ticks: int = 0, arrives_after: float = 0.0
) -> tuple[list[bytes], MarkedOutput]:
    """Play 200 ms of tone through an output whose ticks come ``lateness`` seconds late.

    ``quiet_ticks`` ticks of silence go first; the tone arrives ``arrives_after`` seconds
    after the last of them.
    Returns the frames the peer received and the output (for its pacing figures).
    """
    output, clock, peer = await hand_clocked_output()
    tone = b"\x00\x10" * 1600  # 200 ms: ten frames

    worker, running = await start_pipeline([output])
    # Polls the transport's own state (no event tells it); each turn lets the others run.
    while clock.sender is None:  # noqa: ASYNC110
        await asyncio.sleep(0)  # until the output has started
    now = 0.0
    for _ in range(quiet_ticks):
        now = clock.time = now + 0.02
        output.tick(now)
    clock.time = now + arrives_after
    await worker.queue_frame(OutputAudioRawFrame(tone, 8000, 1))
    while len(output._queue) < 2:  # noqa: ASYNC110
        await asyncio.sleep(0)  # until the writer has filled its two pending frames
    for late_by in lateness:
        now = clock.time = now + 0.02 + late_by
        if (announce := output.tick(now)) is not None:
            await announce
        for _ in range(20):
            await asyncio.sleep(0)  # the writer refills between ticks
    await worker.queue_frame(EndFrame())
    while clock.sender is not None:  # until the end of the pipeline has played out
        output.tick(now := now + 0.02)
        await asyncio.sleep(0)
    await asyncio.wait_for(running, timeout=10)
    peer.setblocking(False)
    received = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := peer.recv(65536):
            received += chunk
    peer.close()
    frames = [m.pcm for m in Decoder(expect_call_id=False, max_payload=4096).feed(received)
              if isinstance(m, Audio)]  # fmt: skip
    return frames, output


async def test_bot_audio_is_not_split_by_silence_when_a_tick_comes_late():
    frames, _ = await play_a_tone([0.0, 0.03, 0, 0, 0.03, 0, 0, 0, 0, 0, 0, 0])  # two 30 ms late
    loud = [i for i, pcm in enumerate(frames) if any(pcm)]
    assert len(loud) == 10
    assert loud == list(range(loud[0], loud[0] + 10))  # one run: no silence inside the tone


async def test_the_wire_markers_say_when_the_caller_hears_the_change():
    # The tone arrives 5 ms into the silence frame of the 10th tick (0.2 s): it goes out
    # at once and plays when that frame has played.
    frames, output = await play_a_tone([0.0] * 30, quiet_ticks=10, arrives_after=0.005)
    started, stopped = output.markers
    assert isinstance(started, WireAudioStartedFrame)
    assert isinstance(stopped, WireAudioStoppedFrame)
    # No silence ran ahead and no tick was waited for: heard 15 ms after it arrived.
    assert output.heard_at[0] == pytest.approx(0.22)
    first_loud = next(i for i, pcm in enumerate(frames) if any(pcm))
    # Silence from the start (0 s) on: the frames before the tone's first cover up to
    # this, beyond the moment the tone arrived.
    assert started.plays_in_secs == pytest.approx(first_loud * 0.02 - 0.205)
    assert stopped.plays_in_secs == pytest.approx(0.0, abs=0.011)  # the tone had played out


async def test_the_end_of_bot_audio_is_not_counted_as_a_stall():
    # Every tick a millisecond late, as an event loop's timers are: the silence after the
    # tone waits for the tone's lead to play, then starts a timeline of its own.
    frames, output = await play_a_tone([0.001] * 30)
    assert [i for i, pcm in enumerate(frames) if any(pcm)]  # the tone was sent
    assert frames[-1] == bytes(len(frames[-1]))  # and silence after it
    assert output.pacer_stats.stalls == 0


async def test_an_answer_goes_out_with_its_whole_lead_before_the_next_tick():
    output, clock, peer = await hand_clocked_output()
    worker, running = await start_pipeline([output])
    try:
        while clock.sender is None:  # noqa: ASYNC110
            await asyncio.sleep(0)  # until the output has started (one silence frame sent)
        clock.time = 0.005  # the tone arrives 5 ms into that frame, long before the next tick
        await worker.queue_frame(OutputAudioRawFrame(b"\x00\x10" * 1600, 8000, 1))
        while len(output._queue) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0)  # until the writer waits for room
        peer.setblocking(False)  # what was written is in the socket pair's buffer already
        decoder = Decoder(expect_call_id=False, max_payload=4096)
        frames = [m.pcm for m in decoder.feed(peer.recv(65536)) if isinstance(m, Audio)]
        # One silence frame, then the tone up to the lead (three frames) without a tick.
        assert [any(pcm) for pcm in frames] == [False, True, True, True]
    finally:
        await worker.cancel()
        running.cancel()
        peer.close()
