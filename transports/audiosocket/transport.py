"""pipecat transport for one Asterisk AudioSocket call.

Input: caller audio (resampled to the pipeline rate when Asterisk sends another rate) goes to
the listeners the pipeline gave the input (``send_audio_to``) as bytes, or without listeners
becomes ``InputAudioRawFrame``; DTMF becomes ``InputDTMFFrame``; the end of the caller's stream
(hangup, reset, malformed data, a peer the kernel gave up on, nothing at all past the read
timeout) cancels the call's worker. A quiet socket is not a hangup: Asterisk sends nothing
while a caller on a silence-suppressing trunk (or a channel without media) is quiet, and
closes the socket itself when the caller hangs up; the voice pipeline asks a quiet caller
first (``SilenceWatch``). Such gaps reach the pipeline as silence: after ``GAP_FILL_SECS``
without a frame, silence frames stand in for the time that passed, so VAD hears the caller
stop on time and speech-to-text keeps receiving audio (Google ends a stream that gets none).

Output: bot audio is cut into 20 ms frames and sent on the process's 20 ms frame clock, on
each call's own real-time timeline (:class:`~transports.audiosocket.pacer.Pacer`), with
silence frames whenever the bot has nothing to say, so Asterisk neither drops a burst nor
hangs up on a quiet line. Bot audio runs up to ``lead_frames`` ahead of real time, silence
none, and bot audio goes out as it arrives (within the lead), not at the next tick: an answer
waits only for the silence frame playing at that moment. The start and end of each
run of bot audio on the wire are marked with ``WireAudioStartedFrame`` /
``WireAudioStoppedFrame`` (pushed downstream, with when the caller hears the change) for
latency measurement. An ``InterruptionFrame`` drops every queued interruptible frame at
once. When the pipeline ends normally (``EndFrame``) the queued audio is played out, then an
AudioSocket hangup is sent: the dialplan continues with its next priority. A peer that stops
taking frames for pipecat's write timeout is dropped (``peer_not_reading``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Protocol

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
    OutputTransportReadyFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from observability.logging import get_logger
from processors.frames import WireAudioStartedFrame, WireAudioStoppedFrame
from transports.audiosocket.codec import HEADER_SIZE, Audio, Dtmf, Error, Hangup, ProtocolError
from transports.audiosocket.connection import UNREACHABLE_AFTER_SECS, AudioSocketConnection
from transports.audiosocket.frame_clock import FRAME_SECS, FrameClock, shared_clock
from transports.audiosocket.media_sender import PhoneMediaSender
from transports.audiosocket.pacer import Pacer, PacerStats

log = get_logger("transports.audiosocket.transport")

PENDING_FRAMES = 2  # frames accepted from pipecat ahead of the sender (on top of the lead)
TICK_SLACK_SECS = FRAME_SECS / 2  # a frame due within half a frame of a tick goes with it
# Silence runs no frame ahead, unlike the bot audio: the phone plays what was sent in order,
# so bot audio that starts waits behind the silence already sent (60 ms at a lead of 3, 20 ms
# at 1), and at none it waits only for the frame playing now. A late tick leaves a gap in
# silence, which nobody hears.
SILENCE_LEAD_FRAMES = 0
BACKLOG_FRAMES = 25  # frames the kernel has not taken before the peer counts as stalled
GAP_FILL_SECS = 0.1  # no frame from the caller this long: silence stands in for the gap


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
    read_timeout_secs: float = 60.0


class CallerAudioListener(Protocol):
    """Takes the caller's audio as it arrives, 20 ms at a time, at the pipeline's rate."""

    async def hear_caller(self, pcm: bytes) -> None:
        """Take ``pcm`` (16-bit mono)."""


class AudioSocketInputTransport(BaseInputTransport):
    """Reads the caller's side of the socket into the pipeline.

    By default the caller's audio is pushed as ``InputAudioRawFrame``. A pipeline whose audio
    readers are known can name them with :meth:`send_audio_to` instead: the audio then goes to
    them as bytes, in order, on the reader task, and no frame per 20 ms crosses pipecat's
    frame machinery (each push costs its observers, checks and per-processor bookkeeping).
    """

    def __init__(self, transport: AudioSocketTransport, params: AudioSocketParams, **kwargs):
        super().__init__(params, **kwargs)
        self._transport = transport
        self._read_timeout = params.read_timeout_secs
        self._reader: asyncio.Task | None = None
        self._resampler = create_stream_resampler()
        self._listeners: tuple[CallerAudioListener, ...] = ()

    def send_audio_to(self, listeners: Sequence[CallerAudioListener]) -> None:
        """Hand the caller's audio to ``listeners`` (in this order) instead of pushing frames."""
        self._listeners = tuple(listeners)

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
        heard_at = filled_to = time.monotonic()  # last message; caller audio pushed up to
        try:
            while True:
                try:
                    message = await connection.receive(timeout=GAP_FILL_SECS)
                except TimeoutError:
                    now = time.monotonic()
                    if now - heard_at >= self._read_timeout:
                        raise
                    filled_to = await self._fill_gap(filled_to, now)
                    continue
                if message is None:
                    break
                heard_at = time.monotonic()
                if isinstance(message, Audio):
                    filled_to = heard_at
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
        if self._transport.write_stalled:
            reason = "peer_not_reading"  # the output dropped the connection
        elif connection.unreachable:
            log.warning("asterisk unreachable", secs=UNREACHABLE_AFTER_SECS)
            reason = "peer_unreachable"
        self._reader = None
        await self._transport.caller_gone(reason)
        await self.push_frame(CancelWorkerFrame(reason=reason), FrameDirection.UPSTREAM)

    async def _fill_gap(self, since: float, now: float) -> float:
        """Push silence for the whole frames between ``since`` and ``now``; return the new mark."""
        frames = int((now - since) / FRAME_SECS)
        silence = bytes(int(self.sample_rate * FRAME_SECS) * 2)
        for _ in range(frames):
            await self._hand_on(silence)
        return since + frames * FRAME_SECS

    async def _push_audio(self, message: Audio) -> None:
        pcm = message.pcm
        if message.rate != self.sample_rate:
            pcm = await self._resampler.resample(pcm, message.rate, self.sample_rate)
            if not pcm:
                return
        await self._hand_on(pcm)

    async def _hand_on(self, pcm: bytes) -> None:
        if self._listeners:
            for listener in self._listeners:
                await listener.hear_caller(pcm)
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
    """Sends bot audio to Asterisk, paced at real time, with silence when idle.

    Frames go out on the process's :class:`~transports.audiosocket.frame_clock.FrameClock`
    (one wake-up per 20 ms for all calls), through pipecat's output machinery as changed by
    :class:`~transports.audiosocket.media_sender.PhoneMediaSender`. Bot audio is not pushed
    on downstream once written: nothing after the transport reads it.

    Args:
        transport: The call's transport.
        params: Transport parameters.
        frame_clock: The clock to send on (default: the event loop's shared one).
    """

    def __init__(
        self,
        transport: AudioSocketTransport,
        params: AudioSocketParams,
        *,
        frame_clock: FrameClock | None = None,
        **kwargs,
    ):
        super().__init__(params, **kwargs)
        self._transport = transport
        self._frame_clock = frame_clock
        self._pacer = Pacer(frame_secs=FRAME_SECS, lead_frames=params.lead_frames)
        self._write_timeout = params.audio_out_write_timeout_secs
        self._queue: deque[_Queued] = deque()
        self._room = asyncio.Event()
        self._played_out = asyncio.Event()  # set once the sender is off the clock
        self._epoch = 0  # bumped by each interruption
        self._ticking = False
        self._finishing = False
        self._sender_failed = False  # the socket refused a write: the caller is gone
        self._stalled_since: float | None = None  # the peer stopped taking our frames
        self._talking = False
        self._frame_bytes = 0
        self._silence = b""

    async def set_transport_ready(self, frame: StartFrame):
        """pipecat's, with :class:`PhoneMediaSender` as the one (default) media sender."""
        assert not self._params.audio_out_destinations, "AudioSocket has one audio destination"
        await PhoneMediaSender.start_for(self, frame)
        await self.push_frame(OutputTransportReadyFrame(), FrameDirection.UPSTREAM)

    async def start(self, frame: StartFrame):
        """Start the steady 20 ms cadence towards Asterisk."""
        await super().start(frame)
        await self.set_transport_ready(frame)
        self._frame_bytes = int(self.sample_rate * FRAME_SECS) * 2
        self._silence = bytes(self._frame_bytes)
        if not self._ticking and not self._played_out.is_set():
            self._frame_clock = self._frame_clock or shared_clock()
            self._ticking = True
            await self._frame_clock.join(self)

    async def stop(self, frame: EndFrame):
        """Play out what is queued, then send the AudioSocket hangup and close."""
        await super().stop(frame)
        self._finishing = True
        if self._ticking:
            await self._played_out.wait()  # the sender leaves the clock once the queue is empty
        await self._hang_up()

    async def cancel(self, frame: CancelFrame):
        """Stop at once: drop queued audio, hang up if the socket is still open."""
        await super().cancel(frame)
        self._stop_ticking()
        self._queue.clear()
        await self._hang_up()

    async def cleanup(self):
        """Make sure the sender never outlives the pipeline."""
        self._stop_ticking()
        await super().cleanup()

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Drop queued interruptible audio as soon as an interruption arrives."""
        if isinstance(frame, InterruptionFrame):
            self._drop_interruptible()
        await super().process_frame(frame, direction)

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        """Pass frames on, except bot audio already written (nothing downstream reads it)."""
        if direction == FrameDirection.DOWNSTREAM and isinstance(frame, OutputAudioRawFrame):
            return
        await super().push_frame(frame, direction)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Queue ``frame`` as 20 ms frames, waiting while the queue is full (backpressure)."""
        return await self.play(frame.audio, interruptible=frame.interruptible)

    async def play(self, pcm: bytes, *, interruptible: bool = True) -> bool:
        """Queue bot audio (at the pipeline's rate) without a frame; False if it cannot play.

        What :meth:`write_audio_frame` does for pipecat's output machinery, for a processor
        that has bot audio every 20 ms (the echo pipeline) and should not pay a frame's
        journey for each. Waits while the queue is full; audio that arrives before the
        output has started, or that an interruption overtakes, is dropped.
        """
        step = self._frame_bytes
        if self._peer_gone() or not step:
            return False
        epoch = self._epoch
        for start in range(0, len(pcm), step):
            piece = pcm[start : start + step]
            if len(piece) < step:
                piece = piece + bytes(step - len(piece))
            while len(self._queue) >= PENDING_FRAMES:
                self._room.clear()
                await self._room.wait()
                if self._peer_gone():
                    return False
            if interruptible and epoch != self._epoch:
                return True  # interrupted while waiting: this audio must not play
            self._queue.append(_Queued(piece, interruptible))
            await self._send_due()
        return True

    async def _send_due(self) -> None:
        """Send the bot audio the pacer lets go now instead of at the next tick.

        On a quiet line the first frame goes at once (it plays when the silence frame playing
        now has played), and the next ones as they come, up to the lead, so an answer starts
        with its whole lead on the wire.
        """
        if self._ticking and self._frame_clock is not None:
            announcement = self.tick(self._frame_clock.now())
            if announcement is not None:
                await announcement

    def _drop_interruptible(self) -> None:
        self._epoch += 1
        kept = [q for q in self._queue if not q.interruptible]
        self._queue = deque(kept)
        self._room.set()

    def tick(self, now: float) -> Awaitable[None] | None:
        """Write the frames due at ``now`` (the frame clock calls this every 20 ms)."""
        connection = self._transport.connection
        if connection.backlog > BACKLOG_FRAMES * (self._frame_bytes + HEADER_SIZE):
            self._stalling(now)
            return None
        self._stalled_since = None
        markers: list[Frame] = []
        try:
            while True:
                if self._queue:
                    lead = None  # the pacer's: bot audio rides out late ticks
                elif self._talking:
                    lead = 0  # the bot's audio is still ahead: its writer refills before silence
                else:
                    lead = SILENCE_LEAD_FRAMES
                if self._pacer.next_due(now, lead) > now + TICK_SLACK_SECS:
                    break
                if self._queue:
                    pcm = self._queue.popleft().pcm
                    self._room.set()
                elif self._finishing:
                    self._stop_ticking()
                    break
                else:
                    if self._talking:  # the bot's audio has played out: not a stall
                        self._pacer.restart()
                    pcm = self._silence
                if self._talking != (pcm is not self._silence):
                    self._talking = not self._talking
                    marker = WireAudioStartedFrame if self._talking else WireAudioStoppedFrame
                    # The caller hears the change once the audio sent ahead of it has played.
                    markers.append(marker(plays_in_secs=max(0.0, self._pacer.ahead_secs(now))))
                connection.send_now(Audio(rate=self.sample_rate, pcm=pcm))
                self._pacer.sent(now, lead)
        except ConnectionError:
            self._sender_failed = True
            self._stop_ticking()
        return self._announce(markers) if markers else None

    async def _announce(self, markers: list[Frame]) -> None:
        for marker in markers:
            await self.push_frame(marker)

    def _stalling(self, now: float) -> None:
        """The kernel is not taking our frames: give the peer the write timeout, then drop it."""
        if self._stalled_since is None:
            self._stalled_since = now
        elif now - self._stalled_since >= self._write_timeout:
            log.warning("the caller's side stopped reading", secs=self._write_timeout)
            self._transport.write_stalled = True
            self._sender_failed = True
            self._stop_ticking()
            self._transport.connection.abort()  # the reader sees the end and ends the call

    def _stop_ticking(self) -> None:
        if self._ticking:
            self._ticking = False
            assert self._frame_clock is not None
            self._frame_clock.leave(self)
        self._played_out.set()
        self._room.set()  # release a writer waiting for room: nothing will drain it now

    def _peer_gone(self) -> bool:
        return self._sender_failed or self._transport.connection.closed

    @property
    def pacer_stats(self) -> PacerStats:
        """How the output has been paced so far."""
        return self._pacer.stats

    async def _hang_up(self) -> None:
        connection = self._transport.connection
        if connection.closed:
            return
        await connection.hang_up()
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
            ``protocol_error``, ``read_timeout``, ``peer_not_reading`` or
            ``peer_unreachable``.

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
        self.write_stalled = False  # set by the output when the peer stops reading
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
