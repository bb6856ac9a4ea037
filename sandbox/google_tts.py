"""A local, wire-compatible stand-in for Google Cloud Text-to-Speech v1 over gRPC.

It serves ``google.cloud.texttospeech.v1.TextToSpeech`` on a local port, so the real
``TextToSpeechAsyncClient`` (and pipecat's ``GoogleTTSService`` / ``GoogleHttpTTSService``
built on it) talks real gRPC to it, with no network and no Google account. Speech is real and
audible: it is synthesised offline by espeak-ng (:mod:`sandbox.speech`), robotic but
intelligible, in Ukrainian, Russian or English.

What it serves:

* ``StreamingSynthesize`` (bidirectional stream). The first request must carry
  ``streaming_config``; every later one carries ``input.text`` (or ``input.markup``, whose
  ``[pause]`` tags are dropped). Each text input is answered with raw 16-bit little-endian
  mono PCM (no WAV header) in ``StreamingSynthesizeResponse.audio_content`` chunks of
  :attr:`Knobs.chunk_ms` of audio, at ``sample_rate_hertz`` (24000 when unset, like Google).
  Only the ``PCM`` encoding (or an unset one) is accepted; anything else, OGG_OPUS included,
  is ``INVALID_ARGUMENT``. Response headers are sent as soon as the config is accepted, so
  ``await client.streaming_synthesize(...)`` returns then, and errors about the text
  (faults included) surface while iterating the responses.
* ``SynthesizeSpeech`` (unary). ``LINEAR16`` answers with a WAV file (a 44-byte RIFF header,
  then PCM) like the real API; ``PCM`` answers with bare PCM. Every other encoding (MP3,
  OGG_OPUS, MULAW, ALAW, M4A, unset) is ``INVALID_ARGUMENT``: the product asks for LINEAR16
  and nothing else is worth faking. ``ssml`` input is accepted with its tags stripped.
* ``ListVoices``: a few Chirp 3 HD voices for uk-UA, ru-RU and en-US.

The language comes from ``voice.language_code``, or else from the voice name's prefix
(``"uk-UA-Chirp3-HD-Achernar"`` -> ``uk-UA``). A language espeak-ng is not set up for, a voice
name whose locale contradicts ``language_code``, a sample rate outside 8000..48000 Hz or a
``speaking_rate`` outside 0.25..2.0 is ``INVALID_ARGUMENT``. ``speaking_rate`` scales
espeak-ng's 165 words per minute; pitch, volume gain and effects profiles are ignored.

Timing and faults are set by the mutable :class:`Knobs` on the server; tests may change them
between calls. Every text the product asked for is appended to
:attr:`TextToSpeechStandIn.requests`, including those answered with a fault.

A stream the stand-in ends early (an error, a fault, a cut) is ended only once the client has
half-closed, or :data:`DRAIN_SECS` have passed: a grpc.aio client still writing when the
server ends the call reports ``INTERNAL: Internal error from Core`` instead of the server's
status (grpc/grpc#36066), which would make fault tests flaky. pipecat half-closes right after
its one text input, so it always sees the status the stand-in chose.

How product code points the real client at it::

    import grpc
    from google.cloud import texttospeech_v1
    from google.cloud.texttospeech_v1.services.text_to_speech.transports import (
        TextToSpeechGrpcAsyncIOTransport,
    )

    client = texttospeech_v1.TextToSpeechAsyncClient(
        transport=TextToSpeechGrpcAsyncIOTransport(channel=grpc.aio.insecure_channel(address))
    )

(:func:`make_client` does exactly that.) A transport given a channel ignores credentials, so
this client needs none. pipecat's services build their client in ``__init__`` from
credentials, so give them throw-away service-account credentials
(:func:`sandbox.credentials.fake_service_account_json`) and then replace the client::

    tts = GoogleTTSService(credentials=fake_service_account_json(), sample_rate=8000, ...)
    tts._client = make_client(stand_in.address)
"""

from __future__ import annotations

import asyncio
import io
import math
import re
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, NamedTuple, NoReturn
from xml.sax.saxutils import unescape

import grpc
from google.cloud import texttospeech_v1
from google.cloud.texttospeech_v1.services.text_to_speech.transports import (
    TextToSpeechGrpcAsyncIOTransport,
)

from sandbox import speech

SERVICE = "google.cloud.texttospeech.v1.TextToSpeech"
"""The fully qualified gRPC service name served."""

DEFAULT_SAMPLE_RATE = 24000
"""What Google answers with when the request leaves the sample rate unset (Chirp 3 HD)."""

DRAIN_SECS = 0.25
"""How long a failing stream keeps reading the client's requests before ending (see _drain)."""

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000

VOICE_NAMES = ("Achernar", "Aoede", "Charon", "Kore", "Orus", "Puck")
"""Chirp 3 HD voice names ListVoices offers for each language (any name is accepted)."""

LANGUAGES = ("uk-UA", "ru-RU", "en-US")
"""Languages ListVoices offers."""

_FEMALE = {"Achernar", "Aoede", "Kore"}

Fault = Literal["status", "hang", "cut"]

_Encoding = texttospeech_v1.AudioEncoding


@dataclass
class Knobs:
    """Timing and failure behaviour of the stand-in; mutate freely between calls.

    Parameters:
        first_audio_ms: Delay from receiving a text input to sending its first audio chunk
            (for SynthesizeSpeech: added to the whole answer's delay).
        realtime_factor: Audio is delivered at this many times real time: chunk ``i`` of a
            text input is sent ``i * chunk_ms / realtime_factor`` ms after the first one.
            SynthesizeSpeech answers after ``first_audio_ms`` plus the audio's duration
            divided by this. Zero, a negative value or infinity means no pacing.
        chunk_ms: Audio per streamed response, in milliseconds.
        fault: What goes wrong in the next :attr:`fault_times` synthesis RPCs
            (StreamingSynthesize or SynthesizeSpeech; ListVoices is never affected):
            ``None`` nothing; ``"status"`` the first text input is answered with
            :attr:`fault_status`; ``"hang"`` text inputs are never answered, until the client
            cancels or its deadline passes; ``"cut"`` the stream ends after
            :attr:`cut_after_chunks` audio chunks, as :attr:`cut_mode` says (a unary call
            fails with :attr:`fault_status`, as for ``"status"``).
        fault_status: The gRPC status code of ``"status"`` and ``"cut"`` faults, e.g.
            UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL.
        fault_message: The status details sent with :attr:`fault_status`.
        cut_after_chunks: Audio chunks sent, counted over the whole RPC, before a cut.
        cut_mode: ``"status"`` ends a cut stream with :attr:`fault_status`; ``"eof"`` ends it
            with OK, so the audio is silently truncated.
        fault_times: How many upcoming synthesis RPCs the fault affects; each affected RPC
            decrements it (it reads 0 once spent). ``-1`` means every RPC, forever. A request
            rejected as invalid does not use up a fault.
    """

    first_audio_ms: float = 150.0
    realtime_factor: float = 4.0
    chunk_ms: int = 100
    fault: Fault | None = None
    fault_status: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    fault_message: str = "injected fault (sandbox Text-to-Speech stand-in)"
    cut_after_chunks: int = 2
    cut_mode: Literal["status", "eof"] = "status"
    fault_times: int = 1


class TtsRequest(NamedTuple):
    """One thing the product asked the stand-in to say (or, for ListVoices, to list).

    Parameters:
        method: ``"StreamingSynthesize"``, ``"SynthesizeSpeech"`` or ``"ListVoices"``.
        voice: The requested voice name (``""`` if none).
        language: The resolved language code, e.g. ``"uk-UA"``.
        sample_rate: The sample rate answered with, in Hz (0 for ListVoices).
        text: The text, markup or SSML as sent (``""`` for ListVoices).
    """

    method: str
    voice: str
    language: str
    sample_rate: int
    text: str


@dataclass(frozen=True, slots=True)
class _Synthesis:
    """A validated voice and audio configuration."""

    voice: str
    language: str
    sample_rate: int
    words_per_minute: int


class _Invalid(Exception):
    """A request the real API would refuse with INVALID_ARGUMENT."""


class TextToSpeechStandIn:
    """A gRPC server speaking Google Cloud Text-to-Speech v1, backed by espeak-ng.

    Use as ``async with TextToSpeechStandIn() as tts:`` or call :meth:`start` and
    :meth:`stop`. Must be started inside a running event loop.

    Args:
        knobs: Timing and faults; a default :class:`Knobs` if omitted. Available, and
            mutable, as :attr:`knobs`.
    """

    def __init__(self, knobs: Knobs | None = None):
        self.knobs = knobs if knobs is not None else Knobs()
        self.requests: list[TtsRequest] = []
        self._server: grpc.aio.Server | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The TCP port being served.

        Raises:
            RuntimeError: If the server is not started.
        """
        if self._port is None:
            raise RuntimeError("the Text-to-Speech stand-in is not started")
        return self._port

    @property
    def address(self) -> str:
        """``"host:port"`` for ``grpc.aio.insecure_channel``."""
        return f"{self._host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start serving.

        Args:
            host: Interface to listen on.
            port: TCP port; 0 picks a free one (read it from :attr:`port`).

        Raises:
            RuntimeError: If already started or the port cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError("the Text-to-Speech stand-in is already started")
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((self._handlers(),))
        bound = server.add_insecure_port(f"{host}:{port}")
        if not bound:
            raise RuntimeError(f"cannot listen on {host}:{port}")
        await server.start()
        self._server, self._host, self._port = server, host, bound

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving; calls still running are cancelled after ``grace`` seconds.

        Args:
            grace: Seconds running calls may take to finish; ``None`` cancels them now.
        """
        server, self._server, self._port = self._server, None, None
        if server is not None:
            await server.stop(grace)

    async def __aenter__(self) -> TextToSpeechStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _handlers(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "StreamingSynthesize": grpc.stream_stream_rpc_method_handler(
                    self._streaming_synthesize,
                    request_deserializer=texttospeech_v1.StreamingSynthesizeRequest.deserialize,
                    response_serializer=texttospeech_v1.StreamingSynthesizeResponse.serialize,
                ),
                "SynthesizeSpeech": grpc.unary_unary_rpc_method_handler(
                    self._synthesize_speech,
                    request_deserializer=texttospeech_v1.SynthesizeSpeechRequest.deserialize,
                    response_serializer=texttospeech_v1.SynthesizeSpeechResponse.serialize,
                ),
                "ListVoices": grpc.unary_unary_rpc_method_handler(
                    self._list_voices,
                    request_deserializer=texttospeech_v1.ListVoicesRequest.deserialize,
                    response_serializer=texttospeech_v1.ListVoicesResponse.serialize,
                ),
            },
        )

    def _claim_fault(self) -> Fault | None:
        """Return the fault this RPC suffers, using one up."""
        knobs = self.knobs
        if knobs.fault is None or knobs.fault_times == 0:
            return None
        if knobs.fault_times > 0:
            knobs.fault_times -= 1
        return knobs.fault

    async def _streaming_synthesize(
        self,
        request_iterator: AsyncIterator[texttospeech_v1.StreamingSynthesizeRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[texttospeech_v1.StreamingSynthesizeResponse]:
        knobs = self.knobs

        async def abort(code: grpc.StatusCode, details: str) -> NoReturn:
            await _drain(request_iterator)
            await context.abort(code, details)
            raise AssertionError("unreachable: abort raises")

        config: _Synthesis | None = None
        fault: Fault | None = None
        chunks_sent = 0
        async for request in request_iterator:
            if config is None:
                try:
                    config = _streaming_config(request)
                except _Invalid as e:
                    await abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
                fault = self._claim_fault()
                await context.send_initial_metadata(())
                continue
            if "streaming_config" in request:
                await abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "streaming_config is only allowed in the first request",
                )
            if request.input.multi_speaker_markup.turns:
                await abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "multi_speaker_markup is not supported by the stand-in",
                )
            sent = request.input.text or request.input.markup
            received = asyncio.get_running_loop().time()
            self.requests.append(
                TtsRequest(
                    "StreamingSynthesize", config.voice, config.language, config.sample_rate, sent
                )
            )
            if fault == "hang":
                await _forever()
            if fault == "status":
                await abort(knobs.fault_status, knobs.fault_message)
            text = _strip_markup(request.input.markup) if request.input.markup else sent
            pcm = await _speak(text, config)
            async for piece in _paced(pcm, config.sample_rate, knobs, received):
                if fault == "cut" and chunks_sent >= knobs.cut_after_chunks:
                    break
                yield texttospeech_v1.StreamingSynthesizeResponse(audio_content=piece)
                chunks_sent += 1
            if fault == "cut" and chunks_sent >= knobs.cut_after_chunks:
                if knobs.cut_mode == "eof":
                    await _drain(request_iterator)
                    return
                await abort(knobs.fault_status, knobs.fault_message)
        if config is None:
            await abort(
                grpc.StatusCode.INVALID_ARGUMENT, "the first request must carry streaming_config"
            )

    async def _synthesize_speech(
        self,
        request: texttospeech_v1.SynthesizeSpeechRequest,
        context: grpc.aio.ServicerContext,
    ) -> texttospeech_v1.SynthesizeSpeechResponse:
        received = asyncio.get_running_loop().time()
        try:
            config, encoding = _unary_config(request)
            sent, text = _unary_text(request.input)
        except _Invalid as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        self.requests.append(
            TtsRequest("SynthesizeSpeech", config.voice, config.language, config.sample_rate, sent)
        )
        fault = self._claim_fault()
        if fault == "hang":
            await _forever()
        if fault in ("status", "cut"):
            await context.abort(self.knobs.fault_status, self.knobs.fault_message)
        pcm = await _speak(text, config)
        factor = self.knobs.realtime_factor
        work_secs = self.knobs.first_audio_ms / 1000
        if 0 < factor < math.inf:
            work_secs += len(pcm) / 2 / config.sample_rate / factor
        await asyncio.sleep(max(0.0, received + work_secs - asyncio.get_running_loop().time()))
        audio = _wav(pcm, config.sample_rate) if encoding == _Encoding.LINEAR16 else pcm
        return texttospeech_v1.SynthesizeSpeechResponse(audio_content=audio)

    async def _list_voices(
        self, request: texttospeech_v1.ListVoicesRequest, context: grpc.aio.ServicerContext
    ) -> texttospeech_v1.ListVoicesResponse:
        wanted = request.language_code.lower()
        self.requests.append(TtsRequest("ListVoices", "", request.language_code, 0, ""))
        voices = [
            texttospeech_v1.Voice(
                language_codes=[language],
                name=f"{language}-Chirp3-HD-{name}",
                ssml_gender=(
                    texttospeech_v1.SsmlVoiceGender.FEMALE
                    if name in _FEMALE
                    else texttospeech_v1.SsmlVoiceGender.MALE
                ),
                natural_sample_rate_hertz=DEFAULT_SAMPLE_RATE,
            )
            for language in LANGUAGES
            if not wanted or language.lower() == wanted or language.lower().startswith(wanted)
            for name in VOICE_NAMES
        ]
        return texttospeech_v1.ListVoicesResponse(voices=voices)


def make_client(address: str) -> texttospeech_v1.TextToSpeechAsyncClient:
    """Build the real async Text-to-Speech client, talking plaintext gRPC to ``address``.

    Call it inside the event loop that will use the client. Close it with
    ``await client.transport.close()``.

    Args:
        address: ``"host:port"``, e.g. :attr:`TextToSpeechStandIn.address`.

    Returns:
        A client that needs no credentials.
    """
    channel = grpc.aio.insecure_channel(address)
    return texttospeech_v1.TextToSpeechAsyncClient(
        transport=TextToSpeechGrpcAsyncIOTransport(channel=channel)
    )


def _streaming_config(request: texttospeech_v1.StreamingSynthesizeRequest) -> _Synthesis:
    if "streaming_config" not in request:
        raise _Invalid("the first request must carry streaming_config")
    if "input" in request:
        raise _Invalid("the first request must not carry input")
    config = request.streaming_config
    audio = config.streaming_audio_config
    encoding = audio.audio_encoding
    if encoding not in (_Encoding.PCM, _Encoding.AUDIO_ENCODING_UNSPECIFIED):
        raise _Invalid(f"audio_encoding {encoding.name} is not supported by the stand-in")
    return _synthesis(config.voice, audio.sample_rate_hertz, audio.speaking_rate)


def _unary_config(
    request: texttospeech_v1.SynthesizeSpeechRequest,
) -> tuple[_Synthesis, texttospeech_v1.AudioEncoding]:
    audio = request.audio_config
    encoding = audio.audio_encoding
    if encoding not in (_Encoding.LINEAR16, _Encoding.PCM):
        raise _Invalid(f"audio_encoding {encoding.name} is not supported by the stand-in")
    return _synthesis(request.voice, audio.sample_rate_hertz, audio.speaking_rate), encoding


def _synthesis(
    voice: texttospeech_v1.VoiceSelectionParams, sample_rate: int, speaking_rate: float
) -> _Synthesis:
    name = voice.name
    locale = "-".join(name.split("-")[:2]) if name.count("-") >= 2 else ""
    language = voice.language_code or locale
    if not language:
        raise _Invalid("voice.language_code is required (or a voice name like uk-UA-...)")
    if locale and language.lower() != locale.lower():
        raise _Invalid(f"voice {name!r} does not speak language_code {language!r}")
    try:
        speech.espeak_voice(language)
    except ValueError as e:
        raise _Invalid(str(e)) from None
    rate = sample_rate or DEFAULT_SAMPLE_RATE
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise _Invalid(
            f"sample_rate_hertz must be in {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}, got {rate}"
        )
    speed = speaking_rate or 1.0
    if not 0.25 <= speed <= 2.0:
        raise _Invalid(f"speaking_rate must be in 0.25..2.0, got {speed}")
    wpm = min(speech.MAX_WPM, max(speech.MIN_WPM, round(speech.DEFAULT_WPM * speed)))
    return _Synthesis(name, language, rate, wpm)


def _unary_text(synthesis_input: texttospeech_v1.SynthesisInput) -> tuple[str, str]:
    """Return (what was sent, plain text to speak)."""
    if synthesis_input.multi_speaker_markup.turns:
        raise _Invalid("multi_speaker_markup is not supported by the stand-in")
    if synthesis_input.ssml:
        return synthesis_input.ssml, unescape(re.sub(r"<[^>]*>", " ", synthesis_input.ssml))
    if synthesis_input.markup:
        return synthesis_input.markup, _strip_markup(synthesis_input.markup)
    return synthesis_input.text, synthesis_input.text


def _strip_markup(markup: str) -> str:
    return re.sub(r"\[[^\]]*\]", " ", markup)


async def _forever() -> NoReturn:
    """Wait until cancelled: the client cancels, its deadline passes or the server stops."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable: nothing sets the event")


async def _drain(requests: AsyncIterator[object], limit_secs: float = DRAIN_SECS) -> None:
    """Read what the client is still sending, until it half-closes or ``limit_secs`` pass.

    A grpc.aio client whose write is still in flight when the server ends the call reports
    ``INTERNAL: Internal error from Core`` instead of the server's status
    (https://github.com/grpc/grpc/issues/36066). Ending a stream only once the client has
    stopped writing makes the status the client sees the one the stand-in chose.
    """
    try:
        async with asyncio.timeout(limit_secs):
            async for _ in requests:
                pass
    except TimeoutError:
        pass


async def _speak(text: str, config: _Synthesis) -> bytes:
    return await asyncio.to_thread(
        speech.synthesize,
        text,
        language=config.language,
        rate=config.sample_rate,
        words_per_minute=config.words_per_minute,
    )


async def _paced(
    pcm: bytes, sample_rate: int, knobs: Knobs, received: float
) -> AsyncIterator[bytes]:
    """Yield ``pcm`` in chunks, on the schedule the knobs ask for."""
    loop = asyncio.get_running_loop()
    chunk_bytes = max(2, int(sample_rate * knobs.chunk_ms / 1000) * 2)
    chunk_secs = chunk_bytes / 2 / sample_rate
    factor = knobs.realtime_factor
    interval = chunk_secs / factor if 0 < factor < math.inf else 0.0
    first_at = received + knobs.first_audio_ms / 1000
    for index, start in enumerate(range(0, len(pcm), chunk_bytes)):
        await asyncio.sleep(max(0.0, first_at + index * interval - loop.time()))
        yield pcm[start : start + chunk_bytes]


def _wav(pcm: bytes, sample_rate: int) -> bytes:
    """Wrap PCM in a 44-byte-header WAV file, as LINEAR16 answers are."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return out.getvalue()
