"""Fixed phrases rendered to audio once at start-up, for when speech synthesis itself fails.

The failure policy must be able to apologise and hand the call over even when Text-to-Speech
is the service that broke, so these phrases do not go through the call's TTS at all: they are
synthesized once per process, in every language a call may be answered in, with the
configured Google voice (unary request), or, if that is not possible, with the offline
espeak-ng voice, and played as plain audio. Each call says them through its own
:class:`FixedPhrases`, in the language the caller is being answered in.
"""

from __future__ import annotations

import asyncio
import io
import wave

from google.api_core import exceptions as google_errors
from google.cloud import texttospeech_v1

from bot.prompts import PromptSet
from bot.services import Backends, call_languages, tts_voice
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


class FixedPhrases:
    """One call's fixed phrases, text and pre-rendered audio, in the language it is in now.

    Args:
        texts: The prompt set of each language (the phrases' texts).
        audio: Each language's rendered phrases (:func:`render_phrases`).
        language: The conversation language the call starts in.
    """

    def __init__(
        self, texts: dict[str, PromptSet], audio: dict[str, dict[str, bytes]], language: str
    ) -> None:
        self._texts = texts
        self._audio = audio
        self.language = language

    def switch(self, language: str) -> None:
        """The caller is answered in ``language`` from now on (if its phrases were rendered)."""
        if language in self._audio and language in self._texts:
            self.language = language

    def text(self, name: str) -> str:
        """The text of phrase ``name``."""
        return self._texts[self.language].phrase(name)

    def said(self, name: str) -> tuple[bytes, str]:
        """Phrase ``name`` as the fallback speaker plays it: its audio and its text."""
        return self._audio[self.language][name], self.text(name)


async def render_phrases(
    settings: Settings, backends: Backends, prompt_sets: dict[str, PromptSet]
) -> dict[str, dict[str, bytes]]:
    """16-bit mono PCM at the call rate of each fallback phrase, by language and name.

    Rendered concurrently, in every language a call may be answered in.
    """
    rate = settings.audiosocket.sample_rate
    client = backends.google.tts_client

    async def render(language: str, name: str) -> bytes:
        text = prompt_sets[language].phrase(name)
        try:
            return await _with_google(client, settings, language, text, rate)
        except (google_errors.GoogleAPIError, TimeoutError, wave.Error, ValueError) as exc:
            log.warning(
                "phrase rendered offline",
                phrase=name,
                language=language,
                error_type=type(exc).__name__,
            )
            return _offline(text, language, rate)

    wanted = [(lang, name) for lang in call_languages(settings) for name in FALLBACK_PHRASES]
    audio = await asyncio.gather(*(render(lang, name) for lang, name in wanted))
    rendered: dict[str, dict[str, bytes]] = {}
    for (language, name), pcm in zip(wanted, audio, strict=True):
        rendered.setdefault(language, {})[name] = pcm
    return rendered


async def _with_google(
    client: texttospeech_v1.TextToSpeechAsyncClient,
    settings: Settings,
    language: str,
    text: str,
    rate: int,
) -> bytes:
    response = await client.synthesize_speech(
        input=texttospeech_v1.SynthesisInput(text=text),
        voice=texttospeech_v1.VoiceSelectionParams(
            language_code=language, name=tts_voice(settings, language)
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
