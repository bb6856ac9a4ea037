"""A simulated caller: an AudioSocket client that behaves like Asterisk.

It sends the call UUID first, then one 20 ms frame every 20 ms on an absolute timeline
(queued speech, silence otherwise), presses DTMF keys, records both directions, and measures
when each of the server's frames arrived: inter-arrival jitter, gaps, and bursts ahead of real
time. Like Asterisk it never sends a hangup message; it closes the socket to hang up, and it
stops as soon as the server hangs up.

:class:`Caller` is the live session a script drives (``say``, ``press``, ``wait_bot_quiet``,
``wait_bot_speaking``, ``hang_up``); :func:`place_call` runs a timed :class:`CallScript`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import wave
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np

from transports.audiosocket.codec import Audio, CallId, Dtmf, Error, Hangup
from transports.audiosocket.connection import PEER_GONE, AudioSocketConnection

FRAME_SECS = 0.02
BOT_AUDIBLE_RMS = 0.01  # a received frame louder than this (0..1) is the bot talking
AUDIBLE_GAP_MS = 60.0  # a gap longer than this between frames played is heard as a dropout
SPEECH_PAUSE_SECS = 0.3  # quieter stretches up to this long belong to the speech around them


def played_starts(arrivals: list[float] | np.ndarray, frame_secs: float = FRAME_SECS) -> np.ndarray:
    """When each received frame starts playing on the caller's phone.

    The service sends audio up to a few frames ahead of real time, and Asterisk stamps the
    frames with continuous RTP timestamps, so the phone plays them one after another: each
    no earlier than it arrived and no earlier than the one before it ended. Gaps between
    arrivals overstate what the caller hears (when an answer ends, the lead plays out while
    the next frame is not due yet: 80 ms between arrivals with a lead of three, no gap heard).
    """
    arrived = np.asarray(arrivals, dtype=np.float64)
    # start[k] = max(arrived[k], start[k-1] + frame): with s = start - k * frame that is a
    # running maximum of arrived - k * frame.
    offsets = np.arange(arrived.size) * frame_secs
    return np.maximum.accumulate(arrived - offsets) + offsets


def speech_frames(loud: np.ndarray, max_pause_frames: int) -> np.ndarray:
    """Which frames belong to speech.

    The loud ones, and pauses of up to ``max_pause_frames`` frames between two of them (a
    span's quieter moments); silence around speech does not.
    """
    speech = np.asarray(loud, dtype=bool).copy()
    at = np.flatnonzero(speech)
    for a, b in zip(at[:-1], at[1:], strict=True):
        if 1 < b - a <= max_pause_frames + 1:
            speech[a:b] = True
    return speech


@dataclass(frozen=True, slots=True)
class CallScript:
    """A timed script: what the caller does at fixed times.

    Parameters:
        audio: 16-bit mono PCM the caller "says", starting at ``speech_at_secs``.
        rate: Sample rate of ``audio`` and of every frame sent.
        speech_at_secs: When the audio starts, in seconds after connecting.
        dtmf: ``(seconds after connecting, key)`` presses.
        duration_secs: When the caller hangs up (closes), unless the server hangs up first.
    """

    audio: bytes = b""
    rate: int = 8000
    speech_at_secs: float = 0.0
    dtmf: tuple[tuple[float, str], ...] = ()
    duration_secs: float = 5.0


@dataclass(slots=True)
class ArrivalStats:
    """Timing of the frames received from the server.

    Parameters:
        frames: Audio frames received.
        interval_ms_p50: Median gap between consecutive frames.
        interval_ms_p99: 99th percentile gap.
        max_gap_ms: Largest gap between consecutive frames' arrivals.
        played_gap_ms: Largest gap between consecutive frames of speech as the caller hears
            them (:func:`played_starts`; 20 ms when nothing is missing): a gap in silence, or
            between silence and speech, is not heard as one.
        audible_gaps: Gaps as heard longer than :data:`AUDIBLE_GAP_MS`.
        jitter_ms: RFC 3550 inter-arrival jitter estimate against the 20 ms cadence.
        max_burst_frames: The most frames that ever arrived ahead of real time, over any
            stretch of the call (0 for perfect pacing); times the frame length, the longest
            a frame waited to be played.
    """

    frames: int = 0
    interval_ms_p50: float = 0.0
    interval_ms_p99: float = 0.0
    max_gap_ms: float = 0.0
    played_gap_ms: float = 0.0
    audible_gaps: int = 0
    jitter_ms: float = 0.0
    max_burst_frames: float = 0.0

    @classmethod
    def from_arrivals(
        cls,
        arrivals: list[float],
        frame_secs: float = FRAME_SECS,
        speech: np.ndarray | None = None,
    ) -> ArrivalStats:
        """Compute the statistics from monotonic arrival times of consecutive frames.

        ``speech`` flags the frames that carry speech (:func:`speech_frames`); gaps as played
        count between two of them only. Without it every frame counts.
        """
        if len(arrivals) < 2:
            return cls(frames=len(arrivals))
        t = np.asarray(arrivals)
        gaps = np.diff(t)
        jitter = 0.0
        for d in np.abs(gaps - frame_secs):
            jitter += (d - jitter) / 16
        # Frames ahead of real time over the stretch i..j is (j - i) - (t_j - t_i) / F,
        # maximised over i < j: a running minimum of i - t_i / F.
        lead = np.arange(len(t)) - (t - t[0]) / frame_secs
        burst = float(np.max(lead - np.minimum.accumulate(lead)))
        played = np.diff(played_starts(t, frame_secs)) * 1000
        if speech is not None:
            heard = np.asarray(speech[: len(t)], dtype=bool)
            played = played[heard[:-1] & heard[1:]]
        return cls(
            frames=len(arrivals),
            interval_ms_p50=float(np.percentile(gaps, 50) * 1000),
            interval_ms_p99=float(np.percentile(gaps, 99) * 1000),
            max_gap_ms=float(gaps.max() * 1000),
            played_gap_ms=float(played.max()) if played.size else 0.0,
            audible_gaps=int((played > AUDIBLE_GAP_MS).sum()),
            jitter_ms=jitter * 1000,
            max_burst_frames=burst,
        )

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{self.frames} frames; interval p50 {self.interval_ms_p50:.1f} ms, "
            f"p99 {self.interval_ms_p99:.1f} ms, max gap {self.max_gap_ms:.1f} ms; "
            f"jitter {self.jitter_ms:.2f} ms; max burst {self.max_burst_frames:.2f} frames"
        )


@dataclass(slots=True)
class CallResult:
    """What happened on a simulated call.

    Parameters:
        call_id: The UUID the caller announced.
        ended_by: ``caller`` (script over), ``server_hangup`` (0x00 received),
            ``server_closed`` (socket closed without a hangup) or ``server_error`` (0xFF).
        rate: Sample rate of the caller's audio (and the recording).
        received: Concatenated PCM of every audio frame the server sent.
        arrivals: Monotonic arrival time of each audio frame.
        sent: Concatenated PCM of every frame the caller sent.
        sent_at: Monotonic send time of each caller frame.
        audio_rates: Sample rates seen in the server's audio frames.
        connected_at: Monotonic time the connection was made.
        ended_at: Monotonic time the call ended.
    """

    call_id: uuid.UUID
    ended_by: str = ""
    rate: int = 8000
    received: bytearray = field(default_factory=bytearray)
    arrivals: list[float] = field(default_factory=list)
    sent: bytearray = field(default_factory=bytearray)
    sent_at: list[float] = field(default_factory=list)
    audio_rates: set[int] = field(default_factory=set)
    connected_at: float = 0.0
    ended_at: float = 0.0

    @property
    def stats(self) -> ArrivalStats:
        """Arrival timing of the server's frames, gaps as played counted within speech."""
        return ArrivalStats.from_arrivals(self.arrivals, speech=self.speech())

    def speech(self) -> np.ndarray:
        """For each frame received, whether it is part of the bot's speech (pauses included)."""
        return speech_frames(self.loud_frames(), round(SPEECH_PAUSE_SECS / FRAME_SECS))

    def loud_frames(self) -> np.ndarray:
        """For each frame received, whether it is audible (louder than the bot's threshold)."""
        n = int(self.rate * FRAME_SECS)
        samples = np.frombuffer(bytes(self.received), dtype="<i2").astype(np.float64)
        frames = len(samples) // n
        rms = np.sqrt((samples[: frames * n].reshape(frames, n) ** 2).mean(axis=1)) / 32768
        return rms > BOT_AUDIBLE_RMS

    def bot_speech_spans(
        self, min_gap_secs: float = SPEECH_PAUSE_SECS
    ) -> list[tuple[float, float]]:
        """When the bot was audible, as (start, end) seconds after connecting.

        Audible frames closer than ``min_gap_secs`` belong to one span.
        """
        spans: list[tuple[float, float]] = []
        for loud, at in zip(self.loud_frames(), self.arrivals, strict=False):
            if not loud:
                continue
            t = at - self.connected_at
            if spans and t - spans[-1][1] <= min_gap_secs:
                spans[-1] = (spans[-1][0], t + FRAME_SECS)
            else:
                spans.append((t, t + FRAME_SECS))
        return spans

    def save_wav(self, path: Path) -> Path:
        """Write what the server sent to a mono 16-bit WAV file."""
        return _write_wav(path, bytes(self.received), self.rate, channels=1)

    def save_stereo_wav(self, path: Path) -> Path:
        """Write the call as heard on the line: caller left, bot right, aligned in time."""
        n = int(self.rate * FRAME_SECS)
        end = max([*self.arrivals, *self.sent_at, self.connected_at])
        frames = int((end - self.connected_at) / FRAME_SECS) + 2
        stereo = np.zeros((frames * n, 2), dtype="<i2")
        for channel, pcm, times in (
            (0, self.sent, self.sent_at),
            (1, self.received, self.arrivals),
        ):
            samples = np.frombuffer(bytes(pcm), dtype="<i2")
            for i, t in enumerate(times):
                at = int(round((t - self.connected_at) / FRAME_SECS)) * n
                stereo[at : at + n, channel] = samples[i * n : (i + 1) * n]
        return _write_wav(path, stereo.tobytes(), self.rate, channels=2)


def _write_wav(path: Path, pcm: bytes, rate: int, *, channels: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path


class Caller:
    """A live simulated call that a script drives.

    Args:
        conn: The connected AudioSocket client connection.
        result: Where everything that happens is recorded.
    """

    def __init__(self, conn: AudioSocketConnection, result: CallResult) -> None:
        self._conn = conn
        self.result = result
        self._frame_bytes = int(result.rate * FRAME_SECS) * 2
        self._speech: deque[bytes] = deque()
        self._speech_done = asyncio.Event()
        self._speech_done.set()
        self._dtmf: deque[str] = deque()
        self._bot_heard_at = 0.0  # monotonic time of the last audible bot frame
        self._bot_audio = asyncio.Event()
        self.ended = asyncio.Event()

    @property
    def rate(self) -> int:
        """Sample rate of the call."""
        return self.result.rate

    def elapsed(self) -> float:
        """Seconds since the call connected."""
        return time.monotonic() - self.result.connected_at

    async def say(self, pcm: bytes, *, wait: bool = True) -> None:
        """Speak ``pcm`` (16-bit mono at the call rate); by default return once it is sent."""
        for start in range(0, len(pcm), self._frame_bytes):
            piece = pcm[start : start + self._frame_bytes]
            self._speech.append(piece + bytes(self._frame_bytes - len(piece)))
        self._speech_done.clear()
        if wait:
            await self._until(self._speech_done.wait())

    def press(self, key: str) -> None:
        """Press a DTMF key (sent before the next audio frame)."""
        self._dtmf.append(key)

    async def pause(self, secs: float) -> None:
        """Stay silent (sending silence frames) for ``secs``."""
        await self._until(asyncio.sleep(secs))

    async def wait_bot_speaking(self, since: float | None = None, timeout: float = 30.0) -> bool:
        """Wait until the bot is heard after ``since`` (monotonic; default: now).

        Returns False on timeout or when the call ends first.
        """
        since = time.monotonic() if since is None else since
        deadline = time.monotonic() + timeout
        while self._bot_heard_at <= since:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.ended.is_set():
                return False
            self._bot_audio.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._until(self._bot_audio.wait()), remaining)
        return not self.ended.is_set()

    async def wait_bot_quiet(self, quiet_secs: float = 0.8, timeout: float = 30.0) -> bool:
        """Wait until the bot has been silent for ``quiet_secs``; False on timeout or end."""
        deadline = time.monotonic() + timeout
        while not self.ended.is_set():
            now = time.monotonic()
            silent_for = now - max(self._bot_heard_at, self.result.connected_at)
            if silent_for >= quiet_secs:
                return True
            if now >= deadline:
                return False
            await self._until(asyncio.sleep(min(quiet_secs - silent_for, deadline - now) + 0.005))
        return False

    async def _until(self, awaitable: Awaitable[object]) -> None:
        """Await ``awaitable`` unless the call ends first."""
        task = asyncio.ensure_future(awaitable)
        ended = asyncio.ensure_future(self.ended.wait())
        try:
            await asyncio.wait({task, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (task, ended):
                t.cancel()

    async def send_loop(self) -> None:
        """Send one frame every 20 ms on an absolute timeline until cancelled."""
        silence = bytes(self._frame_bytes)
        t0 = self.result.connected_at
        k = 0
        while True:
            delay = t0 + k * FRAME_SECS - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            while self._dtmf:
                await self._conn.send(Dtmf(self._dtmf.popleft()))
            if self._speech:
                pcm = self._speech.popleft()
                if not self._speech:
                    self._speech_done.set()
            else:
                pcm = silence
            await self._conn.send(Audio(rate=self.rate, pcm=pcm))
            self.result.sent += pcm
            self.result.sent_at.append(time.monotonic())
            k += 1

    async def receive_loop(self) -> str:
        """Record the server's frames until it hangs up or closes; return how it ended."""
        # Louder than BOT_AUDIBLE_RMS: a mean square over this (one dot product per frame:
        # a bench's callers run hundreds of these a second next to the service).
        audible = (BOT_AUDIBLE_RMS * 32768) ** 2
        while True:
            message = await self._conn.receive()
            if message is None:
                return "server_closed"
            if isinstance(message, Audio):
                now = time.monotonic()
                self.result.arrivals.append(now)
                self.result.audio_rates.add(message.rate)
                self.result.received += message.pcm
                samples = np.frombuffer(message.pcm, dtype="<i2").astype(np.float32)
                if samples.size and float(np.dot(samples, samples)) > audible * samples.size:
                    self._bot_heard_at = now
                    self._bot_audio.set()
            elif isinstance(message, Hangup):
                return "server_hangup"
            elif isinstance(message, Error):
                return "server_error"


CallDriver = Callable[[Caller], Awaitable[None]]


async def report_caller_number(http_url: str, call_id: uuid.UUID, number: str, token: str) -> None:
    """What the dialplan does before ``AudioSocket()``: POST the caller's number for the call.

    The Asterisk equivalent is ``CURL(http://HOST:8080/calls/${UUID}/caller?token=...,number=...)``.
    """
    url = f"{http_url}/calls/{call_id}/caller"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, params={"token": token}, data={"number": number}) as response,
    ):
        response.raise_for_status()


async def fetch_handoff(http_url: str, call_id: uuid.UUID, token: str) -> str:
    """What the dialplan does after ``AudioSocket()`` returns: read the call's decision (plain)."""
    url = f"{http_url}/calls/{call_id}/handoff"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params={"format": "plain", "token": token}) as response,
    ):
        response.raise_for_status()
        return await response.text()


async def run_call(
    host: str,
    port: int,
    driver: CallDriver,
    *,
    rate: int = 8000,
    call_id: uuid.UUID | None = None,
    max_payload: int = 65535,
) -> CallResult:
    """Connect, let ``driver`` run the call, hang up when it returns; return what happened.

    The call also ends, and ``driver`` is cancelled, as soon as the server hangs up.
    """
    call_id = call_id or uuid.uuid4()
    reader, writer = await asyncio.open_connection(host, port)
    conn = AudioSocketConnection(reader, writer, expect_call_id=False, max_payload=max_payload)
    result = CallResult(call_id=call_id, rate=rate, connected_at=time.monotonic())
    caller = Caller(conn, result)
    tasks: list[asyncio.Task] = []
    try:
        await conn.send(CallId(call_id))
        sending = asyncio.create_task(caller.send_loop())
        receiving = asyncio.create_task(caller.receive_loop())
        driving = asyncio.create_task(driver(caller))
        tasks = [sending, receiving, driving]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        caller.ended.set()
        if receiving.done():
            result.ended_by = receiving.result()
        elif driving.done():
            driving.result()  # a failing driver fails the call
            result.ended_by = "caller"
        else:
            error = sending.exception()
            if error is not None and not isinstance(error, PEER_GONE):
                raise error
            result.ended_by = "server_closed"
    finally:
        caller.ended.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        result.ended_at = time.monotonic()
        await conn.close()
    return result


async def place_call(
    host: str,
    port: int,
    script: CallScript,
    *,
    call_id: uuid.UUID | None = None,
    max_payload: int = 65535,
) -> CallResult:
    """Connect to an AudioSocket server, run a timed ``script`` and return what happened."""

    async def timed(caller: Caller) -> None:
        events: list[tuple[float, str, object]] = [(t, "dtmf", key) for t, key in script.dtmf]
        if script.audio:
            events.append((script.speech_at_secs, "say", script.audio))
        for at, kind, value in sorted(events, key=lambda e: e[0]):
            await caller.pause(max(0.0, at - caller.elapsed()))
            if kind == "dtmf":
                caller.press(str(value))
            else:
                await caller.say(bytes(value), wait=False)  # type: ignore[arg-type]
        await caller.pause(max(0.0, script.duration_secs - caller.elapsed()))

    return await run_call(
        host, port, timed, rate=script.rate, call_id=call_id, max_payload=max_payload
    )


def read_wav(path: Path, rate: int = 8000) -> bytes:
    """Read a mono or stereo 16-bit WAV as mono PCM at ``rate`` (resampled if needed)."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise ValueError(f"{path}: only 16-bit PCM WAV files are supported")
            channels, src_rate = wav.getnchannels(), wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a readable WAV file ({exc})") from None
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype("<i2")
    if src_rate != rate:
        import soxr

        samples = soxr.resample(samples, src_rate, rate).astype("<i2")
    return samples.tobytes()
