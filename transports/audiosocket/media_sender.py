"""pipecat's output ``MediaSender`` without the per-chunk tasks and copies a phone call pays for.

pipecat's ``BaseOutputTransport`` moves bot audio through a ``MediaSender``: every TTS frame
is cut into 20 ms chunks, each chunk becomes a new frame on an audio queue, and the sender's
task takes it with ``asyncio.wait_for(queue.get(), 3 s)`` and writes it with
``asyncio.wait_for(write_audio_frame(...), 10 s)``. On Python 3.11 each ``wait_for`` starts a
task of its own, so one 20 ms chunk costs two task creations and five task wake-ups, and
the chunk is then pushed on downstream to the assistant aggregator, which has no use for it.
With twenty calls talking that is a good part of the process's CPU.

:class:`PhoneMediaSender` keeps everything the ``MediaSender`` does with the audio (resampling,
the speaking/stopped frames, frames kept in order with the audio, interruptions, the tail
flushed at ``TTSStoppedFrame``) and changes four things:

- a TTS frame goes on the queue as **one** frame of whole 20 ms chunks (the transport cuts it
  into wire frames itself), with what is left over kept for the next;
- the queue is read under ``asyncio.timeout`` (no task per chunk);
- the write is awaited directly: the AudioSocket transport never blocks a write for good (a
  peer that stops reading is written off by its sender; see ``transport.py``), so pipecat's
  write timeout has nothing to catch;
- no ``BotSpeakingFrame`` heartbeat: pipecat broadcasts one both ways every 200 ms while the
  bot talks, and each crosses every processor of the pipeline (a queue and a task wake-up
  apiece), for readers this service does not have (pipecat's idle timeout, which is off, and
  its wake-phrase strategy). ``BotStartedSpeakingFrame``/``BotStoppedSpeakingFrame`` go as
  before.

``tests/unit/transports/audiosocket/test_media_sender.py`` shows pipecat's sender starting
tasks per chunk and broadcasting heartbeats, and this one doing neither.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

from pipecat.frames.frames import Frame, OutputAudioRawFrame, StartFrame
from pipecat.transports.base_output import BOT_VAD_STOP_FALLBACK_SECS, BaseOutputTransport


class PhoneMediaSender(BaseOutputTransport.MediaSender):
    """A ``MediaSender`` that queues TTS audio in whole chunks and starts no task per chunk."""

    @classmethod
    async def start_for(cls, transport: BaseOutputTransport, frame: StartFrame) -> None:
        """Start one as ``transport``'s only (default) sender, where pipecat starts its own."""
        sender = cls(
            transport,
            destination=None,
            sample_rate=transport.sample_rate,
            audio_chunk_size=transport.audio_chunk_size,
            params=transport._params,
        )
        transport._media_senders[None] = sender
        await sender.start(frame)

    async def handle_audio_frame(self, frame: OutputAudioRawFrame):
        """Queue as much of the buffered audio as fills whole chunks, as one frame."""
        if not self._params.audio_out_enabled:
            return
        audio = await self._resampler.resample(frame.audio, frame.sample_rate, self._sample_rate)
        self._audio_buffer_cls = type(frame)
        self._buffer_audio(audio, uninterruptible=not frame.interruptible)
        whole = self._buffered_audio_bytes // self._audio_chunk_size * self._audio_chunk_size
        if not whole:
            return
        pcm, uninterruptible = self._take_audio(whole)
        chunk = type(frame)(pcm, sample_rate=self._sample_rate, num_channels=frame.num_channels)
        chunk.transport_destination = self._destination
        chunk.interruptible = not uninterruptible
        await self._audio_queue.put(chunk)

    def _take_audio(self, size: int) -> tuple[bytes, bool]:
        """Cut ``size`` bytes from the front of the buffer, and whether any is uninterruptible."""
        taken = bytearray()
        uninterruptible = False
        while len(taken) < size and self._audio_runs:
            audio, run_uninterruptible = self._audio_runs[0]
            uninterruptible = uninterruptible or run_uninterruptible
            needed = size - len(taken)
            if len(audio) <= needed:
                taken += audio
                self._audio_runs.popleft()
            else:
                taken += audio[:needed]
                del audio[:needed]
        return bytes(taken), uninterruptible

    async def _bot_currently_speaking(self):
        """The bot is speaking: announce its start once, without pipecat's heartbeat frames."""
        await self._bot_started_speaking()
        self._bot_speech_last_time = time.time()

    def _next_frame(self) -> AsyncGenerator[Frame, None]:
        """Frames from the audio queue; 3 s without one means the bot stopped speaking."""
        assert self._mixer is None, "the AudioSocket transport has no mixer"
        return self._frames()

    async def _frames(self) -> AsyncGenerator[Frame, None]:
        while True:
            try:
                async with asyncio.timeout(BOT_VAD_STOP_FALLBACK_SECS):
                    frame = await self._audio_queue.get()
            except TimeoutError:
                await self._bot_stopped_speaking()
                continue
            await self._filter_audio(frame)
            self._apply_volume(frame)
            yield frame
            self._audio_queue.task_done()

    async def _internal_write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Write the frame; the transport itself gives up on a peer that stops reading."""
        if not self._transport.is_usable:
            return False
        return await self._transport.write_audio_frame(frame)
