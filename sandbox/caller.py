"""A simulated caller: an AudioSocket client that behaves like Asterisk.

It sends the call UUID first, then one 20 ms frame every 20 ms on an absolute timeline
(speech from a script, silence between and after), presses DTMF keys at scripted times,
records every frame the server sends, and measures when each one arrived: inter-arrival
jitter, gaps, and bursts ahead of real time. Like Asterisk it never sends a hangup message;
it closes the socket when its script is over, and it stops as soon as the server hangs up.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from transports.audiosocket.codec import Audio, CallId, Dtmf, Error, Hangup
from transports.audiosocket.connection import PEER_GONE, AudioSocketConnection

FRAME_SECS = 0.02


@dataclass(frozen=True, slots=True)
class CallScript:
    """What the caller does.

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
        max_gap_ms: Largest gap between consecutive frames.
        jitter_ms: RFC 3550 inter-arrival jitter estimate against the 20 ms cadence.
        max_burst_frames: The most frames that ever arrived ahead of real time, over any
            stretch of the call (0 for perfect pacing).
    """

    frames: int = 0
    interval_ms_p50: float = 0.0
    interval_ms_p99: float = 0.0
    max_gap_ms: float = 0.0
    jitter_ms: float = 0.0
    max_burst_frames: float = 0.0

    @classmethod
    def from_arrivals(cls, arrivals: list[float], frame_secs: float = FRAME_SECS) -> ArrivalStats:
        """Compute the statistics from monotonic arrival times of consecutive frames."""
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
        return cls(
            frames=len(arrivals),
            interval_ms_p50=float(np.percentile(gaps, 50) * 1000),
            interval_ms_p99=float(np.percentile(gaps, 99) * 1000),
            max_gap_ms=float(gaps.max() * 1000),
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
        rate: Sample rate of the received audio.
        received: Concatenated PCM of every audio frame the server sent.
        arrivals: Monotonic arrival time of each audio frame.
        audio_rates: Sample rates seen in the server's audio frames.
        connected_at: Monotonic time the connection was made.
        ended_at: Monotonic time the call ended.
    """

    call_id: uuid.UUID
    ended_by: str = ""
    rate: int = 8000
    received: bytearray = field(default_factory=bytearray)
    arrivals: list[float] = field(default_factory=list)
    audio_rates: set[int] = field(default_factory=set)
    connected_at: float = 0.0
    ended_at: float = 0.0

    @property
    def stats(self) -> ArrivalStats:
        """Arrival timing of the server's frames."""
        return ArrivalStats.from_arrivals(self.arrivals)

    def save_wav(self, path: Path) -> Path:
        """Write what the server sent to a mono 16-bit WAV file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.rate)
            out.writeframes(bytes(self.received))
        return path


async def place_call(
    host: str,
    port: int,
    script: CallScript,
    *,
    call_id: uuid.UUID | None = None,
    max_payload: int = 65535,
) -> CallResult:
    """Connect to an AudioSocket server, run ``script`` and return what happened."""
    call_id = call_id or uuid.uuid4()
    reader, writer = await asyncio.open_connection(host, port)
    conn = AudioSocketConnection(reader, writer, expect_call_id=False, max_payload=max_payload)
    result = CallResult(call_id=call_id, rate=script.rate, connected_at=time.monotonic())
    try:
        await conn.send(CallId(call_id))
        sender = asyncio.create_task(_send(conn, script, result.connected_at))
        try:
            result.ended_by = await _receive(conn, result, sender)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
    finally:
        result.ended_at = time.monotonic()
        await conn.close()
    return result


async def _send(conn: AudioSocketConnection, script: CallScript, t0: float) -> None:
    frame_bytes = int(script.rate * FRAME_SECS) * 2
    silence = bytes(frame_bytes)
    speech_start = round(script.speech_at_secs / FRAME_SECS)
    speech_frames = -(-len(script.audio) // frame_bytes)
    total = round(script.duration_secs / FRAME_SECS)
    presses = sorted(script.dtmf)
    for k in range(total):
        delay = t0 + k * FRAME_SECS - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        now = k * FRAME_SECS
        while presses and presses[0][0] <= now:
            await conn.send(Dtmf(presses.pop(0)[1]))
        i = k - speech_start
        if 0 <= i < speech_frames:
            pcm = script.audio[i * frame_bytes : (i + 1) * frame_bytes]
            pcm = pcm + bytes(frame_bytes - len(pcm))
        else:
            pcm = silence
        await conn.send(Audio(rate=script.rate, pcm=pcm))


async def _receive(
    conn: AudioSocketConnection, result: CallResult, sender: asyncio.Task[None]
) -> str:
    receiving = asyncio.create_task(_read_until_end(conn, result))
    done, _ = await asyncio.wait({receiving, sender}, return_when=asyncio.FIRST_COMPLETED)
    if receiving in done:
        return receiving.result()
    exc = sender.exception()
    receiving.cancel()
    await asyncio.gather(receiving, return_exceptions=True)
    if exc is not None and not isinstance(exc, PEER_GONE):
        raise exc
    return "caller" if exc is None else "server_closed"


async def _read_until_end(conn: AudioSocketConnection, result: CallResult) -> str:
    while True:
        message = await conn.receive()
        if message is None:
            return "server_closed"
        if isinstance(message, Audio):
            result.arrivals.append(time.monotonic())
            result.audio_rates.add(message.rate)
            result.received += message.pcm
        elif isinstance(message, Hangup):
            return "server_hangup"
        elif isinstance(message, Error):
            return "server_error"


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
