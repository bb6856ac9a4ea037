"""pipecat's Google speech services, made cheap enough to run dozens of calls per process.

pipecat 1.14 builds them for one conversation per process, and on a phone server that costs:

- **Start-up**: every ``GoogleSTTService`` and ``GoogleTTSService`` parses the service-account
  private key (~50 ms of CPU each, on the event loop: every other call's audio stalls) and
  opens a gRPC channel of its own. Here both take the process's one parsed credentials and
  one client (:class:`GoogleAccess`), made once at start-up.
- **Per frame**: ``GoogleSTTService`` makes one gRPC write per 20 ms audio frame, through an
  async generator per frame, and keeps every chunk of a stream in a list for four minutes.
  :class:`PhoneSTTService` sends 300 ms per request while VAD hears no caller, 100 ms while
  the caller talks (what is held back goes at once when VAD hears them start), and each
  frame at once from the moment VAD hears the caller stop until the final transcript is in
  (so batching never delays the end of a turn); the list is kept short. The transport hands
  it the caller's audio as bytes (:meth:`PhoneSTTService.hear_caller`) on its reader task:
  no frame, queue or task per 20 ms.
- **First audio**: ``GoogleTTSService`` holds back 0.5 s of audio before the first frame;
  :class:`PhoneTTSService` starts after 40 ms.
- **TTS frames**: ``GoogleTTSService`` cuts each streamed response into frames of that size,
  and every frame crosses four queues on its way to the transport; :class:`PhoneTTSService`
  hands on each response's audio as one frame (at least 40 ms).
- **A stream Google ends early**: ``GoogleSTTService`` stops reading the call's audio for
  good when a response stream ends with status OK; :class:`PhoneSTTService` opens another.

``tests/unit/bot/test_speech_services.py`` and ``tests/integration/test_speech_services.py``
show the pipecat behaviour each of these works around.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from google.cloud import speech_v2, texttospeech_v1
from google.oauth2 import service_account
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.google.stt import GoogleSTTService
from pipecat.services.google.tts import GoogleTTSService
from pipecat.utils.types import is_given

from observability.logging import get_logger
from processors.sentence_aggregator import PhoneSentenceAggregator

STT_CHUNK_SECS = 0.1  # audio per StreamingRecognize request (Google suggests ~100 ms)
STT_QUIET_CHUNK_SECS = 0.3  # per request while VAD hears no caller: nothing waits for it
FINAL_WAIT_SECS = 3.0  # longest per-frame stretch after the caller stops, waiting for a final
KEPT_STREAM_CHUNKS = 50  # pipecat's per-stream chunk list, kept this short
TTS_FIRST_CHUNK_SECS = 0.04  # pipecat waits for 0.5 s of audio by default before playing

log = get_logger("bot.speech_services")


@dataclass(frozen=True)
class GoogleAccess:
    """The process's Google credentials and clients, shared by every call.

    Parameters:
        credentials_json: The service-account JSON (pipecat's constructors read the project
            id from it).
        credentials: The same credentials, parsed once.
        stt_client: The Speech-to-Text client every call's stream goes through.
        tts_client: The Text-to-Speech client every call's synthesis goes through.
    """

    credentials_json: str
    credentials: service_account.Credentials
    stt_client: speech_v2.SpeechAsyncClient
    tts_client: texttospeech_v1.TextToSpeechAsyncClient


class _AlreadyParsed:
    """Stands in for ``google.oauth2.service_account`` while a pipecat constructor runs."""

    def __init__(self, credentials: service_account.Credentials) -> None:
        self.Credentials = self
        self._credentials = credentials

    def from_service_account_info(self, _info: Any, **_: Any) -> service_account.Credentials:
        return self._credentials


class _SharedClient:
    """Stands in for ``speech_v2`` while pipecat's STT constructor makes its client."""

    def __init__(self, client: speech_v2.SpeechAsyncClient) -> None:
        self._client = client

    def SpeechAsyncClient(self, **_: Any) -> speech_v2.SpeechAsyncClient:  # noqa: N802
        return self._client


@contextmanager
def _constructing_with(access: GoogleAccess) -> Iterator[None]:
    """Pipecat's STT module sees the parsed credentials and the shared client, briefly.

    The constructor is synchronous and the event loop runs one thing at a time, so nothing
    else can observe the swap; the module's own names are back before this returns.
    """
    module = sys.modules[GoogleSTTService.__module__]
    saved = module.service_account, module.speech_v2
    module.service_account = _AlreadyParsed(access.credentials)
    module.speech_v2 = _SharedClient(access.stt_client)
    try:
        yield
    finally:
        module.service_account, module.speech_v2 = saved


class PhoneSTTService(GoogleSTTService):
    """Google streaming STT with the shared client, fed 100-300 ms per request.

    Args:
        access: The process's credentials and clients.
        chunk_secs: Audio gathered per request while the caller talks.
        quiet_chunk_secs: Audio gathered per request while VAD hears no caller.
        **kwargs: As for ``GoogleSTTService`` (location, settings...).
    """

    def __init__(
        self,
        *,
        access: GoogleAccess,
        chunk_secs: float = STT_CHUNK_SECS,
        quiet_chunk_secs: float = STT_QUIET_CHUNK_SECS,
        **kwargs,
    ):
        with _constructing_with(access):
            # Direct mode: the caller's audio is gathered on the task that pushed it (the
            # transport's reader) instead of crossing a queue and two tasks per 20 ms frame.
            super().__init__(credentials=access.credentials_json, enable_direct_mode=True, **kwargs)
        self._chunk_secs = chunk_secs
        self._quiet_chunk_secs = quiet_chunk_secs
        self._caller_talking = False
        self._pending = bytearray()
        self._final_due_by: float | None = None  # while set, each frame goes at once

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Send at once from the caller's end of speech until the final transcript."""
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self._caller_talking = False
            self._final_due_by = time.monotonic() + FINAL_WAIT_SECS
            self._send_pending()
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            self._caller_talking = True
            self._final_due_by = None
            self._send_pending()
        await super().process_frame(frame, direction)

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        """A final transcript ends the per-frame stretch."""
        if isinstance(frame, TranscriptionFrame):
            self._final_due_by = None
        await super().push_frame(frame, direction)

    async def process_audio_frame(self, frame: InputAudioRawFrame, direction: FrameDirection):
        """Audio that comes as frames (not through :meth:`hear_caller`) is heard the same way."""
        if self._reconnecting or self._muted or not self.is_usable or not frame.audio:
            await super().process_audio_frame(frame, direction)  # pipecat's own handling
            return
        self._gather(frame.audio)

    async def hear_caller(self, pcm: bytes) -> None:
        """The caller's audio straight from the transport, without a frame per 20 ms."""
        if self._reconnecting or self._muted or not self.is_usable or not pcm:
            frame = InputAudioRawFrame(audio=pcm, sample_rate=self.sample_rate, num_channels=1)
            await super().process_audio_frame(frame, FrameDirection.DOWNSTREAM)
            return
        self._gather(pcm)

    def _gather(self, pcm: bytes) -> None:
        """Gather the audio; send what is gathered once it is a chunk (or a final is due)."""
        now = time.monotonic()
        self._last_audio_time = now
        self._user_id = ""
        self._record_stt_audio_usage(pcm)
        self._pending += pcm
        urgent = self._final_due_by is not None and now < self._final_due_by
        if urgent or len(self._pending) >= self._chunk_bytes:
            self._send_pending()

    async def _stream_audio(self):
        """The stream loop of pipecat, reopened whenever Google ends a stream before the call ends.

        pipecat returns from this task when a response stream ends with status OK before its
        own four-minute limit, and the call is deaf from then on: nothing reads the request
        queue again. The task is cancelled when the service stops, so here it only ever
        returns to be reopened (pipecat's loop waits for audio before it opens a stream).
        """
        while True:
            await super()._stream_audio()
            log.warning("speech-to-text stream ended early, opening another")
            self._stream_start_time = int(time.time() * 1000)

    @property
    def _chunk_bytes(self) -> int:
        secs = self._chunk_secs if self._caller_talking else self._quiet_chunk_secs
        return int(self.sample_rate * secs) * 2

    def _send_pending(self) -> None:
        if not self._pending:
            return
        if self._streaming_task is not None:
            self._request_queue.put_nowait(bytes(self._pending))
        self._pending.clear()
        # pipecat appends every request of a stream here and never sends them again.
        if len(self._audio_input) > KEPT_STREAM_CHUNKS:
            del self._audio_input[:-KEPT_STREAM_CHUNKS]


class PhoneTTSService(GoogleTTSService):
    """Google streaming TTS on the shared client, starting after 40 ms of audio.

    Args:
        access: The process's credentials and clients.
        **kwargs: As for ``GoogleTTSService`` (location, settings, text_transforms...).
    """

    def __init__(self, *, access: GoogleAccess, **kwargs):
        self._shared_client = access.tts_client  # read by _create_client during __init__
        super().__init__(credentials=access.credentials_json, **kwargs)
        self.spoken_language = str(self._settings.language)  # what speakable writes for
        # Sentences also end at an amount ("899 грн. Вам..."); pipecat has no hook for it.
        self._text_aggregator = PhoneSentenceAggregator(
            aggregation_type=self._text_aggregation_mode,
            language=self._text_aggregator.language,
        )

    async def _update_settings(self, delta: Any) -> dict[str, Any]:
        """Apply a settings update; a new language also changes how numbers are spoken."""
        if is_given(delta.language) and delta.language is not None:
            self.spoken_language = str(delta.language)  # a Language is a str enum
        return await super()._update_settings(delta)

    def _create_client(
        self, credentials: str | None, credentials_path: str | None
    ) -> texttospeech_v1.TextToSpeechAsyncClient:
        return self._shared_client

    @property
    def chunk_size(self) -> int:
        """Bytes of audio gathered before a frame is pushed."""
        return int(self.sample_rate * TTS_FIRST_CHUNK_SECS) * 2

    async def _stream_tts(
        self,
        streaming_config: texttospeech_v1.StreamingSynthesizeConfig,
        text: str,
        context_id: str,
        prompt: str | None = None,
    ) -> AsyncGenerator[Frame, None]:
        """Streaming synthesis as pipecat's; a frame is all the audio in hand (a chunk or more)."""
        if prompt is not None:  # a Gemini voice's style prompt: not ours, pipecat's path
            async for frame in super()._stream_tts(streaming_config, text, context_id, prompt):
                yield frame
            return

        async def requests() -> AsyncGenerator[texttospeech_v1.StreamingSynthesizeRequest, None]:
            yield texttospeech_v1.StreamingSynthesizeRequest(streaming_config=streaming_config)
            yield texttospeech_v1.StreamingSynthesizeRequest(
                input=texttospeech_v1.StreamingSynthesisInput(text=text)
            )

        responses = await self._shared_client.streaming_synthesize(requests())
        await self.start_tts_usage_metrics(text)
        pending = b""
        first = True
        async for response in responses:
            if not response.audio_content:
                continue
            if first:
                await self.stop_ttfb_metrics()
                first = False
            pending += response.audio_content
            if len(pending) >= self.chunk_size:
                whole = len(pending) & ~1  # whole 16-bit samples
                yield TTSAudioRawFrame(pending[:whole], self.sample_rate, 1, context_id=context_id)
                pending = pending[whole:]
        if pending:
            yield TTSAudioRawFrame(pending, self.sample_rate, 1, context_id=context_id)
