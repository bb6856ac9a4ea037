"""Where each cloud service lives, and the pipecat services built on it for each call.

The only place that knows whether Google Speech-to-Text / Text-to-Speech, Anthropic and the
store's API are the real services or the local stand-ins in ``sandbox/``: with credentials
(or a store URL) in the settings a service is real; without, a wire-compatible stand-in is
started in this process and the *same* client library is pointed at it. Everything
downstream (pipeline, processors, observers) is identical either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx2
from anthropic import AsyncAnthropic
from google.cloud import speech_v2, texttospeech_v1
from google.cloud.speech_v2.services.speech.transports import SpeechGrpcAsyncIOTransport
from google.cloud.texttospeech_v1.services.text_to_speech.transports import (
    TextToSpeechGrpcAsyncIOTransport,
)
from pipecat.services.google.stt import GoogleSTTService
from pipecat.services.google.tts import GoogleTTSService
from pipecat.transcriptions.language import Language

from bot.llm import StoreLLMService
from bot.prompts import PromptSet
from bot.settings import Settings
from bot.store_client import StoreClient
from observability.logging import get_logger
from processors.speakable import speakable_transform

log = get_logger("bot.services")

TTS_FIRST_CHUNK_SECS = 0.04  # pipecat waits for 0.5 s of audio by default before playing
# One quick retry (429/5xx/529) fits the first-token deadline; more would only delay the
# failure policy's apology.
ANTHROPIC_RETRIES = 1


@dataclass
class Backends:
    """The endpoints and shared clients every call's services use.

    Parameters:
        stt: ``google`` or ``stand-in``.
        tts: ``google`` or ``stand-in``.
        llm: ``anthropic`` or ``stand-in``.
        store: The store API's URL, or ``stand-in`` for the reference store.
        store_client: The process's store API client.
        google_credentials: Service-account JSON the Google services are constructed with.
        stt_client: Shared client injected into each call's STT service (stand-in only).
        tts_client: Shared client injected into each call's TTS service (stand-in only).
        anthropic: Shared Anthropic client.
        sandbox: The running stand-ins, when any service is local.
    """

    stt: str
    tts: str
    llm: str
    store: str
    google_credentials: str
    anthropic: AsyncAnthropic
    store_client: StoreClient
    stt_client: speech_v2.SpeechAsyncClient | None = None
    tts_client: texttospeech_v1.TextToSpeechAsyncClient | None = None
    sandbox: Any = None
    reference_store: Any = None
    _channels: list[grpc.aio.Channel] = field(default_factory=list)

    def describe(self) -> str:
        """One line saying which services are real and which are local stand-ins."""
        where = self.sandbox.addresses() if self.sandbox else {}

        def at(kind: str, key: str) -> str:
            return _at(where.get(key)) if kind == "stand-in" else ""

        parts = [
            f"speech-to-text: {self.stt}{at(self.stt, 'stt')}",
            f"llm: {self.llm}{at(self.llm, 'llm')}",
            f"text-to-speech: {self.tts}{at(self.tts, 'tts')}",
            f"store: {self.store}",
        ]
        return "; ".join(parts)

    async def close(self) -> None:
        """Close shared clients and stop the stand-ins."""
        await self.anthropic.close()
        await self.store_client.close()
        if self.reference_store is not None:
            await self.reference_store.stop()
        for channel in self._channels:
            await channel.close()
        if self.sandbox is not None:
            await self.sandbox.stop()


def _at(address: str | None) -> str:
    return f" ({address})" if address else ""


async def open_backends(settings: Settings) -> Backends:
    """Decide real or stand-in per service, start the stand-ins needed, build shared clients."""
    google_real = settings.google_credentials is not None
    anthropic_key = settings.anthropic_api_key
    sandbox = None
    if not google_real or anthropic_key is None:
        from sandbox.stack import SandboxStack  # only imported when something is local

        sandbox = SandboxStack()
        await sandbox.start()

    channels: list[grpc.aio.Channel] = []
    if google_real:
        assert settings.google_credentials is not None
        credentials = settings.google_credentials.read_text(encoding="utf-8")
        stt_client = tts_client = None
    else:
        from sandbox.credentials import fake_service_account_json

        credentials = fake_service_account_json()
        stt_channel = grpc.aio.insecure_channel(sandbox.stt_address)
        tts_channel = grpc.aio.insecure_channel(sandbox.tts_address)
        channels += [stt_channel, tts_channel]
        stt_client = speech_v2.SpeechAsyncClient(
            transport=SpeechGrpcAsyncIOTransport(channel=stt_channel)
        )
        tts_client = texttospeech_v1.TextToSpeechAsyncClient(
            transport=TextToSpeechGrpcAsyncIOTransport(channel=tts_channel)
        )

    if anthropic_key is not None:
        anthropic = AsyncAnthropic(
            api_key=anthropic_key.get_secret_value(),
            base_url=settings.llm.base_url,
            http_client=httpx2.AsyncClient(),
            max_retries=ANTHROPIC_RETRIES,
        )
    else:
        anthropic = AsyncAnthropic(
            api_key="sk-ant-sandbox",
            base_url=sandbox.llm_base_url,
            http_client=httpx2.AsyncClient(),
            max_retries=ANTHROPIC_RETRIES,
        )

    store = settings.store
    reference_store = None
    if store.url is not None:
        assert store.api_key is not None  # the settings require it with a URL
        store_url, store_key = str(store.url), store.api_key.get_secret_value()
    else:
        from sandbox.store.server import ReferenceStore

        store_key = "sandbox-store-key"
        reference_store = ReferenceStore(api_key=store_key)
        await reference_store.start()
        store_url = reference_store.base_url

    backends = Backends(
        stt="google" if google_real else "stand-in",
        tts="google" if google_real else "stand-in",
        llm=("anthropic" + _at(settings.llm.base_url)) if anthropic_key is not None else "stand-in",
        store=store_url if reference_store is None else f"stand-in ({store_url})",
        google_credentials=credentials,
        anthropic=anthropic,
        store_client=StoreClient(store_url, store_key, store),
        reference_store=reference_store,
        stt_client=stt_client,
        tts_client=tts_client,
        sandbox=sandbox,
        _channels=channels,
    )
    log.info("services", detail=backends.describe())
    return backends


class PhoneTTSService(GoogleTTSService):
    """Google streaming TTS that starts playing after 40 ms of audio instead of 500 ms.

    pipecat holds back ``chunk_size`` bytes (0.5 s by default) before it yields the first
    audio frame, which adds that much to every answer's latency on a phone line.
    """

    @property
    def chunk_size(self) -> int:
        """Bytes of audio gathered before the first frame is pushed."""
        return int(self.sample_rate * TTS_FIRST_CHUNK_SECS) * 2


def build_stt(settings: Settings, backends: Backends) -> GoogleSTTService:
    """Speech-to-Text for one call, at the call's own sample rate (8 kHz sent as is)."""
    stt = GoogleSTTService(
        credentials=backends.google_credentials,
        location=settings.speech.stt_location,
        settings=GoogleSTTService.Settings(
            model=settings.speech.stt_model,
            languages=[Language(settings.language)],
            enable_interim_results=True,
            enable_automatic_punctuation=True,
        ),
    )
    if backends.stt_client is not None:
        stt._client = backends.stt_client  # no constructor hook for a client in pipecat 1.14
    return stt


def build_tts(settings: Settings, backends: Backends) -> GoogleTTSService:
    """Streaming Text-to-Speech for one call, in the conversation language."""
    tts = PhoneTTSService(
        credentials=backends.google_credentials,
        location=settings.speech.tts_location,
        settings=GoogleTTSService.Settings(
            voice=f"{settings.language}-Chirp3-HD-{settings.speech.tts_voice}",
            language=Language(settings.language),
            speaking_rate=settings.speech.tts_speaking_rate,
        ),
        # Prices, phone numbers, units... in words, so the voice reads them right.
        text_transforms=[("*", speakable_transform(settings.language))],
    )
    if backends.tts_client is not None:
        tts._client = backends.tts_client  # no constructor hook for a client in pipecat 1.14
    return tts


def build_llm(settings: Settings, backends: Backends, prompts: PromptSet) -> StoreLLMService:
    """Claude for one call, with the language's system prompt."""
    return StoreLLMService(
        api_key="unused-with-client",
        client=backends.anthropic,
        settings=StoreLLMService.Settings(
            model=settings.llm.model,
            system_instruction=prompts.system,
            max_tokens=settings.llm.max_tokens,
            enable_prompt_caching=True,
        ),
    )
