"""Fixed phrases rendered to audio once at start-up, for when speech synthesis itself fails.

The failure policy must be able to apologise and hand the call over even when Text-to-Speech
is the service that broke, so these phrases do not go through the call's TTS at all: they are
synthesized once per process with the configured Google voice (unary request), or, if that
is not possible, with the offline espeak-ng voice, and played as plain audio.
"""

from __future__ import annotations

import asyncio
import io
import wave

from google.api_core import exceptions as google_errors
from google.cloud import texttospeech_v1

from bot.prompts import PromptSet
from bot.services import Backends, tts_voice
from bot.settings import Settings
from observability.logging import get_logger

log = get_logger("bot.phrases")

FALLBACK_PHRASES = (
    "apology",
    "transfer",
    "transfer_after_failure",
    "still_there",
    "hold_on",
    "goodbye_silent",
)
RENDER_TIMEOUT_SECS = 10.0


async def render_phrases(
    settings: Settings, backends: Backends, prompts: PromptSet
) -> dict[str, bytes]:
    """16-bit mono PCM at the call rate for each fallback phrase (rendered concurrently)."""
    rate = settings.audiosocket.sample_rate
    client = backends.google.tts_client

    async def render(name: str) -> bytes:
        text = prompts.phrase(name)
        try:
            return await _with_google(client, settings, text, rate)
        except (google_errors.GoogleAPIError, TimeoutError, wave.Error, ValueError) as exc:
            log.warning("phrase rendered offline", phrase=name, error_type=type(exc).__name__)
            return _offline(text, settings.language, rate)

    audio = await asyncio.gather(*(render(name) for name in FALLBACK_PHRASES))
    return dict(zip(FALLBACK_PHRASES, audio, strict=True))


async def _with_google(
    client: texttospeech_v1.TextToSpeechAsyncClient, settings: Settings, text: str, rate: int
) -> bytes:
    response = await client.synthesize_speech(
        input=texttospeech_v1.SynthesisInput(text=text),
        voice=texttospeech_v1.VoiceSelectionParams(
            language_code=settings.language,
            name=tts_voice(settings, settings.language),
        ),
        audio_config=texttospeech_v1.AudioConfig(
            audio_encoding=texttospeech_v1.AudioEncoding.LINEAR16, sample_rate_hertz=rate
        ),
        timeout=RENDER_TIMEOUT_SECS,
    )
    with wave.open(io.BytesIO(response.audio_content)) as wav:
        if wav.getframerate() != rate or wav.getnchannels() != 1:
            raise ValueError(f"unexpected audio: {wav.getframerate()} Hz, {wav.getnchannels()} ch")
        return wav.readframes(wav.getnframes())


def _offline(text: str, language: str, rate: int) -> bytes:
    from sandbox.speech import synthesize  # espeak-ng: always available, robotic but clear

    return synthesize(text, language=language, rate=rate)
