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
from google.api_core.client_options import ClientOptions
from google.cloud import speech_v2, texttospeech_v1
from google.cloud.speech_v2.services.speech.transports import SpeechGrpcAsyncIOTransport
from google.cloud.texttospeech_v1.services.text_to_speech.transports import (
    TextToSpeechGrpcAsyncIOTransport,
)
from pipecat.frames.frames import Frame, TTSUpdateSettingsFrame
from pipecat.services.google.stt import GoogleSTTService
from pipecat.services.google.tts import GoogleTTSService
from pipecat.transcriptions.language import Language

from bot.key_file import parse_credentials
from bot.llm import StoreLLMService
from bot.prompts import PromptSet
from bot.settings import Settings
from bot.speech_services import GoogleAccess, PhoneSTTService, PhoneTTSService
from bot.store_client import StoreClient
from observability.logging import get_logger
from processors.speakable import speakable_transform

log = get_logger("bot.services")

# One quick retry (429/5xx/529) fits the first-token deadline; more would only delay the
# failure policy's apology.
ANTHROPIC_RETRIES = 1
# Connections to Claude stay open between a call's turns (httpx closes them after 5 s idle):
# a new one costs a TCP and TLS handshake that the answer waits for (4-21 ms measured against
# the local stand-in with no TLS; round trips to the API's region on the real one).
LLM_KEEPALIVE_SECS = 60.0


@dataclass
class Backends:
    """The endpoints and shared clients every call's services use.

    Parameters:
        stt: ``google`` or ``stand-in``.
        tts: ``google`` or ``stand-in``.
        llm: ``anthropic`` or ``stand-in``.
        store: The store API's URL, or ``stand-in`` for the reference store.
        store_client: The process's store API client.
        google: The Google credentials and the STT/TTS clients every call shares.
        anthropic: Shared Anthropic client.
        sandbox: The stand-ins this process started, if any.
        stand_ins: Where each stand-in in use listens (``stt``, ``tts``, ``llm``).
    """

    stt: str
    tts: str
    llm: str
    store: str
    google: GoogleAccess
    anthropic: AsyncAnthropic
    store_client: StoreClient
    sandbox: Any = None
    stand_ins: dict[str, str] = field(default_factory=dict)
    reference_store: Any = None
    _channels: list[grpc.aio.Channel] = field(default_factory=list)

    def describe(self) -> str:
        """One line saying which services are real and which are local stand-ins."""

        def at(kind: str, key: str) -> str:
            return _at(self.stand_ins.get(key)) if kind == "stand-in" else ""

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
    running = settings.sandbox  # stand-ins already running in a process of their own
    stt_address, tts_address = running.stt_address, running.tts_address
    llm_url = running.llm_url
    sandbox = None
    if (not google_real and not (stt_address and tts_address)) or (
        anthropic_key is None and not llm_url
    ):
        from sandbox.stack import SandboxStack  # only imported when something is local

        sandbox = SandboxStack()
        await sandbox.start()
        stt_address = stt_address or sandbox.stt_address
        tts_address = tts_address or sandbox.tts_address
        llm_url = llm_url or sandbox.llm_base_url

    channels: list[grpc.aio.Channel] = []
    if google_real:
        assert settings.google_credentials is not None
        credentials_json = settings.google_credentials.read_text(encoding="utf-8")
        credentials = parse_credentials(credentials_json)  # checked with the settings
        speech = settings.speech
        stt_client = speech_v2.SpeechAsyncClient(
            credentials=credentials, client_options=_endpoint("speech", speech.stt_location)
        )
        tts_client = texttospeech_v1.TextToSpeechAsyncClient(
            credentials=credentials, client_options=_endpoint("texttospeech", speech.tts_location)
        )
    else:
        from sandbox.credentials import fake_service_account_json

        credentials_json = fake_service_account_json()
        credentials = parse_credentials(credentials_json)
        stt_channel = grpc.aio.insecure_channel(stt_address)
        tts_channel = grpc.aio.insecure_channel(tts_address)
        channels += [stt_channel, tts_channel]
        stt_client = speech_v2.SpeechAsyncClient(
            transport=SpeechGrpcAsyncIOTransport(channel=stt_channel)
        )
        tts_client = texttospeech_v1.TextToSpeechAsyncClient(
            transport=TextToSpeechGrpcAsyncIOTransport(channel=tts_channel)
        )
    google = GoogleAccess(credentials_json, credentials, stt_client, tts_client)

    anthropic = AsyncAnthropic(
        api_key=anthropic_key.get_secret_value() if anthropic_key else "sk-ant-sandbox",
        base_url=settings.llm.base_url if anthropic_key else llm_url,
        http_client=llm_http_client(),
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
        google=google,
        anthropic=anthropic,
        store_client=StoreClient(store_url, store_key, store),
        reference_store=reference_store,
        sandbox=sandbox,
        stand_ins={
            key: address
            for key, address, used in (
                ("stt", stt_address, not google_real),
                ("tts", tts_address, not google_real),
                ("llm", llm_url, anthropic_key is None),
            )
            if used and address
        },
        _channels=channels,
    )
    log.info("services", detail=backends.describe())
    return backends


def llm_http_client() -> httpx2.AsyncClient:
    """The HTTP client for Claude: one per process, keeping every call's connection warm."""
    limits = httpx2.Limits(max_keepalive_connections=None, keepalive_expiry=LLM_KEEPALIVE_SECS)
    return httpx2.AsyncClient(limits=limits)


def _endpoint(service: str, location: str) -> ClientOptions | None:
    """The regional endpoint of a Google speech service (None: the global one)."""
    if location == "global":
        return None
    return ClientOptions(api_endpoint=f"{location}-{service}.googleapis.com")


def call_languages(settings: Settings) -> list[str]:
    """The conversation language first, then the other languages a caller may speak."""
    others = [code for code in settings.other_languages if code != settings.language]
    return [settings.language, *dict.fromkeys(others)]


def tts_voice(settings: Settings, language: str) -> str:
    """The Chirp 3 HD voice of the configured persona in ``language``."""
    return f"{language}-Chirp3-HD-{settings.speech.tts_voice}"


def language_switch_frames(settings: Settings, language: str) -> list[Frame]:
    """What switches a call's text-to-speech to ``language`` (voice and spoken numbers)."""
    delta = GoogleTTSService.Settings(
        voice=tts_voice(settings, language), language=Language(language)
    )
    return [TTSUpdateSettingsFrame(delta=delta)]


def build_stt(settings: Settings, backends: Backends) -> PhoneSTTService:
    """Speech-to-Text for one call, at the call's own sample rate (8 kHz sent as is)."""
    return PhoneSTTService(
        access=backends.google,
        audio_passthrough=False,  # nothing after speech-to-text reads the caller's audio
        location=settings.speech.stt_location,
        settings=GoogleSTTService.Settings(
            model=settings.speech.stt_model,
            languages=[Language(code) for code in call_languages(settings)],
            enable_interim_results=True,
            enable_automatic_punctuation=True,
        ),
    )


def build_tts(settings: Settings, backends: Backends) -> PhoneTTSService:
    """Streaming Text-to-Speech for one call, in the conversation language (until it switches)."""
    tts = PhoneTTSService(
        access=backends.google,
        location=settings.speech.tts_location,
        settings=GoogleTTSService.Settings(
            voice=tts_voice(settings, settings.language),
            language=Language(settings.language),
            speaking_rate=settings.speech.tts_speaking_rate,
        ),
        # Prices, phone numbers, units... in words, so the voice reads them right.
        text_transforms=[
            ("*", speakable_transform(settings.language, lambda: tts.spoken_language))
        ],
    )
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
