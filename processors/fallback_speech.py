"""Speaks pre-rendered phrases straight to the output, bypassing LLM and TTS.

Sits between the TTS service and the output transport. The failure policy calls
:meth:`FallbackSpeech.say` when a service has failed: it first interrupts whatever the bot
was doing (cancelling the stuck LLM or TTS work and dropping queued audio), then sends the
phrase's audio, which cannot be interrupted, followed by its text so the transcript and the
LLM context show what the caller heard. :meth:`FallbackSpeech.hold` plays a phrase without
interrupting anything (a store tool is still running): the transcript shows it, the LLM
context does not, as it would otherwise come between the tool's call and its result.
:meth:`FallbackSpeech.end` ends the call behind it.
"""

from __future__ import annotations

from pipecat.frames.frames import EndWorkerFrame, Frame, OutputAudioRawFrame, TTSTextFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor, FrameProcessorSetup
from pipecat.utils.text.base_text_aggregator import TextType


class FallbackSpeech(FrameProcessor):
    """Plays fixed phrases when the normal speech path cannot be trusted."""

    def __init__(self, **kwargs):
        # Direct mode: no queue and task of its own for the bot audio that passes by.
        super().__init__(enable_direct_mode=True, **kwargs)
        self._rate = 8000

    async def setup(self, setup: FrameProcessorSetup):
        """Take the call's output rate."""
        await super().setup(setup)
        self._rate = setup.audio_out_sample_rate

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Pass every frame on unchanged."""
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)

    async def say(self, pcm: bytes, text: str) -> None:
        """Interrupt the bot and play ``pcm`` (saying ``text``)."""
        await self.broadcast_interruption()
        await self._play(pcm, text, to_context=True)

    async def hold(self, pcm: bytes, text: str) -> None:
        """Play ``pcm`` (saying ``text``) behind whatever is queued, interrupting nothing."""
        await self._play(pcm, text, to_context=False)

    async def _play(self, pcm: bytes, text: str, *, to_context: bool) -> None:
        frame_bytes = int(self._rate * 0.02) * 2  # whole 20 ms frames: no tail held back
        pcm += bytes(-len(pcm) % frame_bytes)
        audio = OutputAudioRawFrame(audio=pcm, sample_rate=self._rate, num_channels=1)
        audio.interruptible = False
        await self.push_frame(audio)
        spoken = TTSTextFrame(text, text_type=TextType.SENTENCE)
        spoken.interruptible = False
        spoken.append_to_context = to_context
        await self.push_frame(spoken)

    async def end(self, reason: str) -> None:
        """End the call once everything queued before has been played (then 0x00)."""
        await self.push_frame(EndWorkerFrame(reason=reason))
