"""pipecat transport for one Asterisk AudioSocket call.

Input: caller audio becomes ``InputAudioRawFrame`` (resampled to the pipeline rate when
Asterisk sends another rate), DTMF becomes ``InputDTMFFrame``; the end of the caller's stream
(hangup, reset, malformed data, silence past the read timeout) cancels the call's worker.

Output: bot audio is cut into 20 ms frames and sent by one sender task on a real-time
timeline (:class:`~transports.audiosocket.pacer.Pacer`), with silence frames whenever the bot
has nothing to say, so Asterisk neither drops a burst nor hangs up on a quiet line; it marks
the start and end of each run of bot audio on the wire with ``WireAudioStartedFrame`` /
``WireAudioStoppedFrame`` (pushed downstream) for latency measurement. An
``InterruptionFrame`` drops every queued interruptible frame at once. When the pipeline ends
normally (``EndFrame``) the queued audio is played out, then an AudioSocket hangup is sent:
the dialplan continues with its next priority.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.audio.utils import create_stream_resampler
from pipecat.frames.frames import (
    CancelFrame,
    CancelWorkerFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from observability.logging import get_logger
from processors.frames import WireAudioStartedFrame, WireAudioStoppedFrame
from transports.audiosocket.codec import Audio, Dtmf, Error, Hangup, ProtocolError
from transports.audiosocket.connection import AudioSocketConnection
from transports.audiosocket.pacer import Pacer, PacerStats

log = get_logger("transports.audiosocket.transport")

FRAME_SECS = 0.02
PENDING_FRAMES = 2  # frames accepted from pipecat ahead of the sender (on top of the lead)


class AudioSocketParams(TransportParams):
    """Transport parameters with telephony defaults.

    Parameters:
        lead_frames: 20 ms frames bot audio may run ahead of real time (1-3).
        read_timeout_secs: Caller silence on the socket (no frames at all) that ends the call.
    """

    audio_in_enabled: bool = True
    audio_out_enabled: bool = True
    audio_out_10ms_chunks: int = 2  # exact 20 ms AudioSocket frames
    audio_out_end_silence_secs: int = 0  # Asterisk needs no padding; it only delays the hangup
    lead_frames: int = 3
    read_timeout_secs: float = 5.0


class AudioSocketInputTransport(BaseInputTransport):
    """Reads the caller's side of the socket into the pipeline."""

    def __init__(self, transport: AudioSocketTransport, params: AudioSocketParams, **kwargs):
        super().__init__(params, **kwargs)
        self._transport = transport
        self._read_timeout = params.read_timeout_secs
        self._reader: asyncio.Task | None = None
        self._resampler = create_stream_resampler()

    async def start(self, frame: StartFrame):
        """Start reading once the pipeline is ready for audio."""
        await super().start(frame)
        await self.set_transport_ready(frame)
        if self._reader is None:
            self._reader = self.create_task(self._read_loop(), name="audiosocket-reader")

    async def stop(self, frame: EndFrame):
        """Stop reading; the output side sends the hangup."""
        await self._stop_reader()
        await super().stop(frame)

    async def cancel(self, frame: CancelFrame):
        """Stop reading at once."""
        await self._stop_reader()
        await super().cancel(frame)

    async def _stop_reader(self) -> None:
        if self._reader is not None:
            await self.cancel_task(self._reader)
            self._reader = None

    async def _read_loop(self) -> None:
        connection = self._transport.connection
        reason = "caller_hangup"
        try:
            while (message := await connection.receive(timeout=self._read_timeout)) is not None:
                if isinstance(message, Audio):
                    await self._push_audio(message)
                elif isinstance(message, Dtmf):
                    await self._push_dtmf(message.digit)
                elif isinstance(message, Hangup):
                    break
                elif isinstance(message, Error):
                    log.warning("asterisk reported an error", code=message.code)
                    reason = "peer_error"
                    break
        except ProtocolError as exc:
            log.warning("malformed audiosocket stream", error=str(exc))
            reason = "protocol_error"
        except TimeoutError:
            log.warning("no audio from asterisk", timeout_secs=self._read_timeout)
            reason = "read_timeout"
        self._reader = None
        await self._transport.caller_gone(reason)
        await self.push_frame(CancelWorkerFrame(reason=reason), FrameDirection.UPSTREAM)

    async def _push_audio(self, message: Audio) -> None:
        pcm = message.pcm
        if message.rate != self.sample_rate:
            pcm = await self._resampler.resample(pcm, message.rate, self.sample_rate)
            if not pcm:
                return
        # Pushed straight from the reader task: BaseInputTransport.push_audio_frame would add
        # a queue and a task hop (with a wait_for) per 20 ms frame, for nothing we use.
        await self.push_frame(
            InputAudioRawFrame(audio=pcm, sample_rate=self.sample_rate, num_channels=1)
        )

    async def _push_dtmf(self, digit: str) -> None:
        try:
            button = KeypadEntry(digit)
        except ValueError:  # A-D exist on the wire but not on a phone keypad
            log.info("dtmf digit ignored", digit=digit)
            return
        await self.push_frame(InputDTMFFrame(button=button))


@dataclass(slots=True)
class _Queued:
    pcm: bytes
    interruptible: bool


class AudioSocketOutputTransport(BaseOutputTransport):
    """Sends bot audio to Asterisk, paced at real time, with silence when idle."""

    def __init__(
        self,
        transport: AudioSocketTransport,
        params: AudioSocketParams,
        *,
        clock: Callable[[], float] = time.monotonic,
        **kwargs,
    ):
        super().__init__(params, **kwargs)
        self._transport = transport
        self._clock = clock
        self._pacer = Pacer(frame_secs=FRAME_SECS, lead_frames=params.lead_frames)
        self._queue: deque[_Queued] = deque()
        self._room = asyncio.Event()
        self._epoch = 0  # bumped by each interruption
        self._sender: asyncio.Task | None = None
        self._finishing = False
        self._sender_failed = False  # the socket refused a write: the caller is gone
        self._frame_bytes = 0

    async def start(self, frame: StartFrame):
        """Start the steady 20 ms cadence towards Asterisk."""
        await super().start(frame)
        await self.set_transport_ready(frame)
        self._frame_bytes = int(self.sample_rate * FRAME_SECS) * 2
        if self._sender is None:
            self._sender = self.create_task(self._send_loop(), name="audiosocket-sender")

    async def stop(self, frame: EndFrame):
        """Play out what is queued, then send the AudioSocket hangup and close."""
        await super().stop(frame)
        self._finishing = True
        if self._sender is not None:
            await self._sender  # ends by itself once the queue is empty
            self._sender = None
        await self._hang_up()

    async def cancel(self, frame: CancelFrame):
        """Stop at once: drop queued audio, hang up if the socket is still open."""
        await super().cancel(frame)
        await self._stop_sender()
        self._queue.clear()
        await self._hang_up()

    async def cleanup(self):
        """Make sure the sender never outlives the pipeline."""
        await self._stop_sender()
        await super().cleanup()

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Drop queued interruptible audio as soon as an interruption arrives."""
        if isinstance(frame, InterruptionFrame):
            self._drop_interruptible()
        await super().process_frame(frame, direction)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Queue ``frame`` as 20 ms frames, waiting while the queue is full (backpressure)."""
        if self._peer_gone():
            return False
        audio = frame.audio
        step = self._frame_bytes
        epoch = self._epoch
        for start in range(0, len(audio), step):
            piece = audio[start : start + step]
            if len(piece) < step:
                piece = piece + bytes(step - len(piece))
            while len(self._queue) >= PENDING_FRAMES:
                self._room.clear()
                await self._room.wait()
                if self._peer_gone():
                    return False
            if frame.interruptible and epoch != self._epoch:
                return True  # interrupted while waiting: this audio must not play
            self._queue.append(_Queued(piece, frame.interruptible))
        return True

    def _drop_interruptible(self) -> None:
        self._epoch += 1
        kept = [q for q in self._queue if not q.interruptible]
        self._queue = deque(kept)
        self._room.set()

    async def _send_loop(self) -> None:
        connection = self._transport.connection
        silence = bytes(self._frame_bytes)
        rate = self.sample_rate
        talking = False
        try:
            while True:
                delay = self._pacer.next_due(self._clock()) - self._clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self._queue:
                    pcm = self._queue.popleft().pcm
                    self._room.set()
                elif self._finishing:
                    return
                else:
                    pcm = silence
                await connection.send(Audio(rate=rate, pcm=pcm))
                self._pacer.sent(self._clock())
                if talking != (pcm is not silence):
                    talking = not talking
                    marker = WireAudioStartedFrame() if talking else WireAudioStoppedFrame()
                    await self.push_frame(marker)
        except ConnectionError:
            self._sender_failed = True
            self._room.set()  # release a writer waiting for room: nothing will drain it now

    def _peer_gone(self) -> bool:
        return self._sender_failed or self._transport.connection.closed

    async def _stop_sender(self) -> None:
        if self._sender is not None:
            await self.cancel_task(self._sender)
            self._sender = None

    @property
    def pacer_stats(self) -> PacerStats:
        """How the output has been paced so far."""
        return self._pacer.stats

    async def _hang_up(self) -> None:
        connection = self._transport.connection
        if connection.closed:
            return
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(connection.send(Hangup()), timeout=1.0)
        await connection.close()
        stats = self._pacer.stats
        log.info(
            "audiosocket output closed",
            frames=stats.frames,
            stalls=stats.stalls,
            late_ms_max=round(stats.late_secs_max * 1000, 1),
        )


class AudioSocketTransport(BaseTransport):
    """pipecat transport for one AudioSocket call.

    Events:
        on_client_disconnected(transport, reason): the caller's side ended without the bot
            ending the call; ``reason`` is one of ``caller_hangup``, ``peer_error``,
            ``protocol_error`` or ``read_timeout``.

    Example::

        @transport.event_handler("on_client_disconnected")
        async def on_gone(transport, reason):
            ...

    Args:
        connection: The admitted connection (its call UUID already read).
        call_id: The call's UUID from Asterisk.
        params: Transport parameters.
    """

    def __init__(
        self,
        connection: AudioSocketConnection,
        call_id: uuid.UUID,
        params: AudioSocketParams | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.connection = connection
        self.call_id = call_id
        self.end_reason: str | None = None
        self._transport_params = params or AudioSocketParams()
        self._input: AudioSocketInputTransport | None = None
        self._output: AudioSocketOutputTransport | None = None
        self._register_event_handler("on_client_disconnected")

    @property
    def pacing(self) -> tuple[int, int, float] | None:
        """``(frames, stalls, latest seconds)`` of the output so far, if there is an output."""
        if self._output is None:
            return None
        stats = self._output.pacer_stats
        return stats.frames, stats.stalls, stats.late_secs_max

    def input(self) -> AudioSocketInputTransport:
        """The processor that turns the caller's stream into frames."""
        if self._input is None:
            self._input = AudioSocketInputTransport(self, self._transport_params)
        return self._input

    def output(self) -> AudioSocketOutputTransport:
        """The processor that paces bot audio onto the socket."""
        if self._output is None:
            self._output = AudioSocketOutputTransport(self, self._transport_params)
        return self._output

    async def caller_gone(self, reason: str) -> None:
        """Record why the caller's side ended and tell the event handlers."""
        self.end_reason = reason
        await self._call_event_handler("on_client_disconnected", reason)
