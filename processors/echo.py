"""A stand-in for the voice pipeline: loops caller audio back and answers DTMF with tones.

It exercises the production transport end to end without any speech service: a chime on
start, the caller's own audio echoed back, a beep per keypad digit, a three-second melody on
``1`` that ``*`` interrupts (a real ``InterruptionFrame``, so queued audio is dropped by the
transport), and ``#`` ends the call from the bot's side (AudioSocket hangup).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    EndWorkerFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import (
    FrameDirection,
    FrameProcessor,
    FrameProcessorSetup,
)

MELODY_NOTES_HZ = (523.25, 659.25, 783.99, 1046.5, 783.99, 659.25)
CHIME_NOTES_HZ = (659.25, 880.0)


def tone(freq_hz: float, secs: float, rate: int, *, level: float = 0.3) -> bytes:
    """Return a sine tone as 16-bit little-endian PCM, with 5 ms fades against clicks."""
    n = int(rate * secs)
    t = np.arange(n) / rate
    wave = np.sin(2 * np.pi * freq_hz * t) * level
    fade = min(n // 2, int(rate * 0.005))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[-fade:] *= ramp[::-1]
    return (wave * 32767).astype("<i2").tobytes()


def melody(notes: tuple[float, ...], note_secs: float, rate: int) -> bytes:
    """Concatenate tones into one PCM buffer."""
    return b"".join(tone(f, note_secs, rate) for f in notes)


class BotAudioPlayer(Protocol):
    """Takes bot audio straight to the caller (the AudioSocket output's :meth:`play`)."""

    async def play(self, pcm: bytes, *, interruptible: bool = True) -> bool:
        """Queue ``pcm`` (16-bit mono at the pipeline's rate) for the caller."""


class EchoProcessor(FrameProcessor):
    """Echoes the caller and plays tones for keypad presses.

    Echo pauses while a tone plays, so the two never pile up behind each other in the
    output queue. The caller's audio comes as ``InputAudioRawFrame`` or, from a transport
    that hands it over as bytes, through :meth:`hear_caller`; with a ``player`` the echo
    goes to it directly instead of as an ``OutputAudioRawFrame`` (then no frame crosses
    the pipeline per 20 ms and the echo pipeline costs what the transport costs). Tones
    always travel as frames.

    Args:
        player: Where the echo goes without a frame (None: pushed downstream as frames).
        clock: Monotonic clock, injectable for tests.
        **kwargs: Passed to ``FrameProcessor``.
    """

    def __init__(
        self,
        *,
        player: BotAudioPlayer | None = None,
        clock: Callable[[], float] = time.monotonic,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._player = player
        self._clock = clock
        self._rate = 8000
        self._quiet_until = 0.0  # no echo before this time: a tone is playing

    async def setup(self, setup: FrameProcessorSetup):
        """Take the call's output rate."""
        await super().setup(setup)
        self._rate = setup.audio_out_sample_rate

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Turn caller audio and DTMF into bot audio; pass everything else on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            await self._play(melody(CHIME_NOTES_HZ, 0.25, self._rate), interruptible=False)
        elif isinstance(frame, InputAudioRawFrame):
            await self.hear_caller(frame.audio)
        elif isinstance(frame, InputDTMFFrame):
            await self._on_key(frame.button)
        else:
            await self.push_frame(frame, direction)

    async def hear_caller(self, pcm: bytes) -> None:
        """Echo ``pcm`` unless a tone is playing."""
        if self._clock() < self._quiet_until:
            return
        if self._player is not None:
            await self._player.play(pcm)
        else:
            await self.push_frame(
                OutputAudioRawFrame(audio=pcm, sample_rate=self._rate, num_channels=1)
            )

    async def _on_key(self, button: KeypadEntry) -> None:
        if button == KeypadEntry.STAR:
            self._quiet_until = 0.0
            await self.broadcast_interruption()
        elif button == KeypadEntry.POUND:
            await self._play(melody(CHIME_NOTES_HZ[::-1], 0.25, self._rate), interruptible=False)
            # Downstream, so the goodbye chime queued ahead of it plays before the end.
            await self.push_frame(EndWorkerFrame(reason="caller pressed #"))
        elif button == KeypadEntry.ONE:
            await self._play(melody(MELODY_NOTES_HZ, 0.5, self._rate), interruptible=True)
        else:
            await self._play(tone(440.0 + 40 * int(button.value), 0.15, self._rate))

    async def _play(self, pcm: bytes, *, interruptible: bool = True) -> None:
        # Whole 20 ms frames only: the output transport holds a partial chunk back until
        # more audio arrives, which would split the tone with a frame of silence.
        frame_bytes = int(self._rate * 0.02) * 2
        pcm += bytes(-len(pcm) % frame_bytes)
        frame = OutputAudioRawFrame(audio=pcm, sample_rate=self._rate, num_channels=1)
        frame.interruptible = interruptible
        secs = len(pcm) / 2 / self._rate
        self._quiet_until = max(self._quiet_until, self._clock()) + secs
        await self.push_frame(frame)
