"""A stand-in for Google Cloud Speech-to-Text v2 streaming recognition, over real gRPC.

The product runs pipecat's ``GoogleSTTService`` with the real ``google-cloud-speech``
client; in the sandbox that client talks to this server instead of Google. The server
speaks the real wire protocol (``google.cloud.speech.v2.Speech/StreamingRecognize``, a
bidirectional stream of ``StreamingRecognizeRequest`` / ``StreamingRecognizeResponse``),
validates the first request's config the way Google does, and answers with interim and
final results timed by the audio it receives, which arrives in real time from the product.

How it "recognises" speech: the simulated caller starts every utterance with a short tone
code (see ``sandbox.tonecode``): a preamble and three 16-ary MFSK symbols, 0.18 s in all,
naming one line of a scenario. The stand-in decodes the code at the onset of sound and
looks the text up in its phrasebook (``dict[int, str]``, replaceable at runtime). Sound
without a valid code, or with a code the phrasebook lacks, is not recognised: no results.

Timing, in audio time of the stream (samples received / sample rate):

- interim results (when the request asked for them) reveal the text word by word: the
  first ``first_interim_ms`` after the speech following the code starts, then one more
  word every ``interim_interval_ms`` while there is sound, never the whole text;
- the utterance ends after ``silence_ms`` of silence; the final result (full text,
  ``is_final``) goes out ``final_after_speech_ms`` after the sound really stopped, or at
  once if that moment has already passed when the end is detected (the endpointing delay);
- ``SPEECH_ACTIVITY_BEGIN`` / ``END`` events are sent only when the request enabled voice
  activity events.

Like Google, a stream is aborted after ``audio_timeout_secs`` without a request (ABORTED,
"Stream timed out after receiving no more client requests.") and after
``max_stream_secs`` (OUT_OF_RANGE). Faults for tests are in ``Knobs``.

Pointing the real client here (no TLS, no credentials on the wire)::

    import grpc
    from google.cloud import speech_v2
    from google.cloud.speech_v2.services.speech.transports import SpeechGrpcAsyncIOTransport

    channel = grpc.aio.insecure_channel(stand_in.address)
    client = speech_v2.SpeechAsyncClient(transport=SpeechGrpcAsyncIOTransport(channel=channel))

(``insecure_client(address)`` does exactly that.) ``GoogleSTTService`` insists on
service-account credentials with a project id and builds its own client from them in
``__init__``; give it ``credentials=sandbox.credentials.fake_service_account_json()``
(a freshly generated key, never used on the wire), then replace its ``_client`` with the
client above before the pipeline starts. The recognizer it then asks for is
``projects/<project_id>/locations/global/recognizers/_``.

Known client quirk (grpc-python aio, grpc/grpc#36066): a status that arrives while the
client is in the middle of a write is reported as ``INTERNAL: Internal error from Core``
instead of the server's code. Aborts triggered by audio happen right after a request has
been read, so a client sending 20 ms chunks in real time sees the real status.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import grpc
from google.cloud import speech_v2
from google.cloud.speech_v2.services.speech.transports import SpeechGrpcAsyncIOTransport
from google.cloud.speech_v2.types import cloud_speech

from sandbox.tonecode import CODE_SECS, UtteranceEnded, UtteranceStarted, UtteranceTracker

SERVICE = "google.cloud.speech.v2.Speech"
METHOD = "StreamingRecognize"

LANGUAGES = ("uk-UA", "ru-RU", "en-US")
"""Language codes the phrasebooks are written for."""

MODELS = frozenset(
    {
        "long",
        "short",
        "telephony",
        "telephony_short",
        "latest_long",
        "latest_short",
        "chirp",
        "chirp_2",
        "chirp_3",
        "medical_conversation",
        "medical_dictation",
    }
)
"""Speech-to-Text v2 model names accepted in a config."""

_RECOGNIZER = re.compile(r"^projects/[^/]+/locations/[^/]+/recognizers/[^/]+$")
_SLICE_SECS = 0.02  # audio is analysed in slices this long, whatever the request size
_LINEAR16 = cloud_speech.ExplicitDecodingConfig.AudioEncoding.LINEAR16
_SpeechEvent = cloud_speech.StreamingRecognizeResponse.SpeechEventType

Fault = Literal["status", "hang", "cut"]


@dataclass
class Knobs:
    """Behaviour of the stand-in, read live: tests may change it between and during calls.

    Parameters:
        first_interim_ms: Speech (after the code) before the first interim result.
        interim_interval_ms: Time between interim results, each one word longer.
        final_after_speech_ms: Delay of the final result after the sound really stopped.
        silence_ms: Silence that ends an utterance. Espeak pauses up to ~1.1 s between
            sentences: raise this to keep a multi-sentence line one utterance.
        speech_threshold_dbfs: Level above which audio counts as sound (read when a
            stream starts; everything else is read as it is needed).
        confidence: Confidence reported with final results.
        stability: Stability reported with interim results.
        fault: None, or what happens when utterance ``fault_on_utterance`` of a stream
            would get its final: ``"status"`` aborts the stream with ``fault_status``;
            ``"hang"`` sends nothing more on that stream (audio is still read);
            ``"cut"`` ends the response stream cleanly (status OK).
        fault_status: Status code of the ``"status"`` fault.
        fault_message: Status details of the ``"status"`` fault.
        fault_on_utterance: Which utterance of a stream (1-based) triggers the fault.
            Every stretch of sound counts, with or without a (known) code; for those
            the fault fires when their final would have been due.
        fault_times: How many more streams the fault hits (decremented as it fires);
            -1 for every stream.
        audio_timeout_secs: A stream with no request for this long is aborted (ABORTED).
        max_stream_secs: A stream open this long (wall clock) is aborted (OUT_OF_RANGE)
            at its next request.
    """

    first_interim_ms: int = 400
    interim_interval_ms: int = 300
    final_after_speech_ms: int = 250
    silence_ms: int = 500
    speech_threshold_dbfs: float = -45.0
    confidence: float = 0.92
    stability: float = 0.8
    fault: Fault | None = None
    fault_status: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    fault_message: str = "The service is currently unavailable."
    fault_on_utterance: int = 1
    fault_times: int = 1
    audio_timeout_secs: float = 10.0
    max_stream_secs: float = 300.0


@dataclass
class SentResult:
    """One response the stand-in sent.

    Parameters:
        kind: ``"interim"``, ``"final"``, ``"speech_begin"`` or ``"speech_end"``.
        transcript: The transcript sent ("" for speech events).
        stream_secs: Audio time the response was produced at.
        wall: ``time.monotonic()`` when it was handed to gRPC.
        utterance: 1-based index of the utterance it belongs to.
    """

    kind: Literal["interim", "final", "speech_begin", "speech_end"]
    transcript: str
    stream_secs: float
    wall: float
    utterance: int


@dataclass
class UtteranceRecord:
    """One utterance the stand-in heard.

    Parameters:
        code: The decoded tone code, or None.
        text: The phrasebook text for the code, or None when not recognised.
        speech_start_secs: Where the sound (the code) started, in audio time.
        decoded_at_secs: When the code was decided.
        speech_end_secs: Where the sound stopped, once known.
        ended_at_secs: When the end was detected (or the stream half-closed).
    """

    code: int | None
    text: str | None
    speech_start_secs: float
    decoded_at_secs: float
    speech_end_secs: float | None = None
    ended_at_secs: float | None = None


@dataclass
class StreamRecord:
    """Everything one ``StreamingRecognize`` call did, for tests to inspect.

    Parameters:
        recognizer: The recognizer resource name of the first request.
        language_codes: Languages of the config.
        model: Model of the config.
        sample_rate: Sample rate of the config.
        interim_results: Whether interim results were requested.
        voice_activity_events: Whether speech events were requested.
        opened_wall: ``time.monotonic()`` at the start of the call.
        closed_wall: ``time.monotonic()`` when the call ended.
        audio_secs: Audio received, in seconds.
        requests: Requests received, the config included.
        utterances: Utterances heard.
        results: Responses sent.
        fault: The fault that fired on this stream, if any.
        status: How the call ended: a ``grpc.StatusCode`` name ("OK", "ABORTED", ...,
            "CANCELLED" when the client went away); None while open.
        details: Status details for an error status.
    """

    recognizer: str = ""
    language_codes: list[str] = field(default_factory=list)
    model: str = ""
    sample_rate: int = 0
    interim_results: bool = False
    voice_activity_events: bool = False
    opened_wall: float = field(default_factory=time.monotonic)
    closed_wall: float | None = None
    audio_secs: float = 0.0
    requests: int = 0
    utterances: list[UtteranceRecord] = field(default_factory=list)
    results: list[SentResult] = field(default_factory=list)
    fault: Fault | None = None
    status: str | None = None
    details: str = ""

    @property
    def finals(self) -> list[SentResult]:
        """The final results sent."""
        return [r for r in self.results if r.kind == "final"]

    @property
    def interims(self) -> list[SentResult]:
        """The interim results sent."""
        return [r for r in self.results if r.kind == "interim"]


class _Abort(Exception):
    """Ends a stream with an error status."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


@dataclass
class _Utterance:
    index: int
    record: UtteranceRecord
    words: list[str]
    reveal_from: float  # audio time the words start (after the code)
    next_interim: float
    revealed: int = 0
    final_due: float | None = None
    done: bool = False


class _Session:
    """Turns one stream's audio into responses; no I/O."""

    def __init__(self, stand_in: SpeechStandIn, record: StreamRecord, language: str) -> None:
        self.stand_in = stand_in
        self.record = record
        self.language = language.lower()
        self.rate = record.sample_rate
        knobs = stand_in.knobs
        self.tracker = UtteranceTracker(
            self.rate,
            silence_ms=knobs.silence_ms,
            speech_threshold_dbfs=knobs.speech_threshold_dbfs,
        )
        self.slice_bytes = 2 * round(_SLICE_SECS * self.rate)
        self.utterances: list[_Utterance] = []
        self.hung = False
        self.action: Fault | None = None  # set when a fault fires
        self._out: list[tuple[cloud_speech.StreamingRecognizeResponse, SentResult]] = []

    @property
    def knobs(self) -> Knobs:
        return self.stand_in.knobs

    def feed(
        self, audio: bytes
    ) -> list[tuple[cloud_speech.StreamingRecognizeResponse, SentResult]]:
        """Take one request's audio; return the responses now due."""
        self._out = []
        for i in range(0, len(audio), self.slice_bytes):
            self.tracker.silence_ms = self.knobs.silence_ms
            for event in self.tracker.feed(audio[i : i + self.slice_bytes]):
                if isinstance(event, UtteranceStarted):
                    self._emit_due(event.decoded_at_secs)
                    self._started(event)
                else:
                    self._emit_due(event.at_secs)
                    self._ended(event)
            self._emit_due(self.tracker.now_secs)
            if self.action:
                break
        self.record.audio_secs = self.tracker.now_secs
        return self._take()

    def flush(self) -> list[tuple[cloud_speech.StreamingRecognizeResponse, SentResult]]:
        """The client half-closed: finalize whatever is in progress, now."""
        self._out = []
        now = self.tracker.now_secs
        for u in self.utterances:
            if u.done:
                continue
            if u.final_due is None:
                end = self.tracker.last_sound_secs or now
                u.record.speech_end_secs = end
                u.record.ended_at_secs = now
                self._speech_event(_SpeechEvent.SPEECH_ACTIVITY_END, end, u)
            u.final_due = now
        self._emit_due(now)
        return self._take()

    def _take(self) -> list[tuple[cloud_speech.StreamingRecognizeResponse, SentResult]]:
        out, self._out = self._out, []
        return [] if self.hung else out

    def _language_of(self, u: _Utterance) -> str:
        spoken = self.stand_in.spoken_in.get(u.record.code or -1, "").lower()
        listed = {code.lower() for code in self.record.language_codes}
        return spoken if spoken in listed else self.language

    def _started(self, event: UtteranceStarted) -> None:
        text = None if event.code is None else self.stand_in.phrasebook.get(event.code)
        record = UtteranceRecord(event.code, text, event.at_secs, event.decoded_at_secs)
        self.record.utterances.append(record)
        reveal_from = event.at_secs + CODE_SECS
        u = _Utterance(
            index=len(self.utterances) + 1,
            record=record,
            words=text.split() if text else [],
            reveal_from=reveal_from,
            next_interim=reveal_from + self.knobs.first_interim_ms / 1000,
        )
        self.utterances.append(u)
        self._speech_event(_SpeechEvent.SPEECH_ACTIVITY_BEGIN, event.at_secs, u)

    def _ended(self, event: UtteranceEnded) -> None:
        u = next((u for u in reversed(self.utterances) if u.final_due is None), None)
        if u is None:
            return
        u.record.speech_end_secs = event.speech_end_secs
        u.record.ended_at_secs = event.at_secs
        u.final_due = event.speech_end_secs + self.knobs.final_after_speech_ms / 1000
        self._speech_event(_SpeechEvent.SPEECH_ACTIVITY_END, event.speech_end_secs, u)

    def _emit_due(self, now: float) -> None:
        for u in self.utterances:
            if u.done or self.action:
                continue
            self._interims_due(u, now)
            if u.final_due is not None and u.final_due <= now + 1e-9:
                self._final(u, now)

    def _interims_due(self, u: _Utterance, now: float) -> None:
        interval = self.knobs.interim_interval_ms / 1000
        while u.next_interim <= now + 1e-9:
            due = u.next_interim
            u.next_interim += max(interval, 0.02)
            if u.final_due is not None and due > (u.record.speech_end_secs or 0):
                continue  # no news once the speech is over
            last_sound = self.tracker.last_sound_secs or 0.0
            if not self.record.interim_results or last_sound < due - interval:
                continue  # a pause: nothing new was said
            if u.revealed >= len(u.words) - 1:
                continue
            u.revealed += 1
            transcript = " ".join(u.words[: u.revealed])
            result = cloud_speech.StreamingRecognitionResult(
                alternatives=[cloud_speech.SpeechRecognitionAlternative(transcript=transcript)],
                is_final=False,
                stability=self.knobs.stability,
                result_end_offset=datetime.timedelta(seconds=due),
                language_code=self._language_of(u),
            )
            self._send(cloud_speech.StreamingRecognizeResponse(results=[result]), "interim", u, due)

    def _final(self, u: _Utterance, now: float) -> None:
        u.done = True
        knobs = self.knobs
        if knobs.fault and knobs.fault_times != 0 and u.index == knobs.fault_on_utterance:
            if knobs.fault_times > 0:
                knobs.fault_times -= 1
            self.record.fault = knobs.fault
            if knobs.fault == "hang":
                self.hung = True
            else:
                self.action = knobs.fault
            return
        if not u.words:
            return
        result = cloud_speech.StreamingRecognitionResult(
            alternatives=[
                cloud_speech.SpeechRecognitionAlternative(
                    transcript=" ".join(u.words), confidence=knobs.confidence
                )
            ],
            is_final=True,
            result_end_offset=datetime.timedelta(seconds=u.record.speech_end_secs or now),
            language_code=self._language_of(u),
        )
        response = cloud_speech.StreamingRecognizeResponse(
            results=[result],
            metadata=cloud_speech.RecognitionResponseMetadata(
                total_billed_duration=datetime.timedelta(seconds=round(now + 0.5))
            ),
        )
        self._send(response, "final", u, now)

    def _speech_event(self, kind: Any, offset: float, u: _Utterance) -> None:
        if not self.record.voice_activity_events:
            return
        response = cloud_speech.StreamingRecognizeResponse(
            speech_event_type=kind, speech_event_offset=datetime.timedelta(seconds=offset)
        )
        begin = kind == _SpeechEvent.SPEECH_ACTIVITY_BEGIN
        self._send(response, "speech_begin" if begin else "speech_end", u, self.tracker.now_secs)

    def _send(
        self,
        response: cloud_speech.StreamingRecognizeResponse,
        kind: Any,
        u: _Utterance,
        stream_secs: float,
    ) -> None:
        if self.hung or self.action:
            return
        transcript = response.results[0].alternatives[0].transcript if response.results else ""
        self._out.append((response, SentResult(kind, transcript, stream_secs, 0.0, u.index)))


def _validate(request: cloud_speech.StreamingRecognizeRequest, record: StreamRecord) -> str:
    """Check the first request like Google does; fill the record; return the language.

    Raises:
        _Abort: INVALID_ARGUMENT with Google-like details when the request is unusable.
    """

    def invalid(details: str) -> _Abort:
        return _Abort(grpc.StatusCode.INVALID_ARGUMENT, details)

    if "streaming_config" not in request:
        raise invalid(
            "Malordered Data Received. Send exactly one StreamingRecognitionConfig, "
            "followed by audio data."
        )
    if not _RECOGNIZER.match(request.recognizer):
        raise invalid(f"Invalid resource field value in the request: {request.recognizer!r}.")
    record.recognizer = request.recognizer
    streaming = request.streaming_config
    if "config" not in streaming:
        raise invalid("Missing recognition config in the StreamingRecognitionConfig.")
    config = streaming.config
    record.model = config.model
    record.language_codes = list(config.language_codes)
    record.interim_results = streaming.streaming_features.interim_results
    record.voice_activity_events = streaming.streaming_features.enable_voice_activity_events
    if "explicit_decoding_config" not in config:
        raise invalid(
            "The stand-in needs an explicit_decoding_config (LINEAR16); "
            "auto_decoding_config is not supported for raw telephone audio."
        )
    decoding = config.explicit_decoding_config
    record.sample_rate = decoding.sample_rate_hertz
    if decoding.encoding != _LINEAR16:
        name = cloud_speech.ExplicitDecodingConfig.AudioEncoding(decoding.encoding).name
        raise invalid(f"Audio encoding {name} is not supported here; send LINEAR16.")
    if not 8000 <= decoding.sample_rate_hertz <= 48000:
        raise invalid(
            f"sample_rate_hertz must be between 8000 and 48000, got {decoding.sample_rate_hertz}."
        )
    if decoding.audio_channel_count > 1:
        raise invalid("The stand-in recognises mono audio only (audio_channel_count 1).")
    if not config.model:
        raise invalid("A model must be set in the config when using the default recognizer '_'.")
    if config.model not in MODELS:
        raise invalid(f'The model "{config.model}" does not exist.')
    if not config.language_codes:
        raise invalid("At least one language code is required.")
    return config.language_codes[0]


class SpeechStandIn:
    """A grpc.aio server answering ``google.cloud.speech.v2.Speech/StreamingRecognize``.

    Attributes:
        phrasebook: Tone code -> text; replace or edit it at any time.
        spoken_in: Tone code -> the phrase's language (``ru-RU``), reported as the result's
            ``language_code`` when the config lists it (Google's multi-language recognition);
            otherwise the config's first language is reported.
        knobs: Timing and faults, read live.
        languages: Language codes accepted in a config (case-insensitive).
        streams: One ``StreamRecord`` per call, in arrival order.
        port: The bound port, once started.

    Args:
        phrasebook: Initial phrasebook.
        knobs: Initial knobs (defaults otherwise).
        languages: Accepted language codes.
    """

    def __init__(
        self,
        phrasebook: dict[int, str] | None = None,
        knobs: Knobs | None = None,
        *,
        languages: tuple[str, ...] = LANGUAGES,
    ) -> None:
        self.phrasebook: dict[int, str] = dict(phrasebook or {})
        self.spoken_in: dict[int, str] = {}  # code -> the phrase's language, if not the first
        self.knobs = knobs or Knobs()
        self.languages = languages
        self.streams: list[StreamRecord] = []
        self.port = 0
        self._host = "127.0.0.1"
        self._server: grpc.aio.Server | None = None

    @property
    def address(self) -> str:
        """``host:port`` for ``grpc.aio.insecure_channel``."""
        return f"{self._host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0: any free port, see ``port``)."""
        handler = grpc.method_handlers_generic_handler(
            SERVICE,
            {
                METHOD: grpc.stream_stream_rpc_method_handler(
                    self._streaming_recognize,
                    request_deserializer=cloud_speech.StreamingRecognizeRequest.deserialize,
                    response_serializer=cloud_speech.StreamingRecognizeResponse.serialize,
                )
            },
        )
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((handler,))
        self.port = server.add_insecure_port(f"{host}:{port}")
        self._host = host
        await server.start()
        self._server = server

    async def stop(self, grace: float | None = 0.5) -> None:
        """Stop listening; calls still open get ``grace`` seconds, then are cancelled."""
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

    async def __aenter__(self) -> SpeechStandIn:
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _streaming_recognize(
        self,
        requests: AsyncIterator[cloud_speech.StreamingRecognizeRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[cloud_speech.StreamingRecognizeResponse]:
        record = StreamRecord()
        self.streams.append(record)
        try:
            async for response in self._serve(requests, record):
                yield response
            record.status = "OK"
        except _Abort as abort:
            record.status, record.details = abort.code.name, abort.details
            await context.abort(abort.code, abort.details)
        except (asyncio.CancelledError, GeneratorExit):
            record.status = "CANCELLED"
            raise
        finally:
            record.closed_wall = time.monotonic()

    async def _serve(
        self,
        requests: AsyncIterator[cloud_speech.StreamingRecognizeRequest],
        record: StreamRecord,
    ) -> AsyncIterator[cloud_speech.StreamingRecognizeResponse]:
        iterator = aiter(requests)
        first = await self._next(iterator, record)
        if first is None:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "No StreamingRecognizeRequest received.")
        language = _validate(first, record)
        accepted = {code.lower() for code in self.languages}
        for code in record.language_codes:
            if code.lower() not in accepted:
                raise _Abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f'The language "{code}" is not supported by the stand-in '
                    f"(phrasebooks exist for {', '.join(self.languages)}).",
                )
        session = _Session(self, record, language)
        while True:
            request = await self._next(iterator, record)
            if request is None:  # the client half-closed: finish like Google does
                if session.hung:
                    await self._hang_until_limit(record)
                for response, sent in session.flush():
                    yield self._sent(response, sent, record)
                return
            if "streaming_config" in request or request.recognizer:
                raise _Abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "Malordered Data Received. Send exactly one StreamingRecognitionConfig, "
                    "followed by audio data.",
                )
            for response, sent in session.feed(request.audio):
                yield self._sent(response, sent, record)
            if session.action == "status":
                raise _Abort(self.knobs.fault_status, self.knobs.fault_message)
            if session.action == "cut":
                return

    @staticmethod
    def _sent(
        response: cloud_speech.StreamingRecognizeResponse, sent: SentResult, record: StreamRecord
    ) -> cloud_speech.StreamingRecognizeResponse:
        sent.wall = time.monotonic()
        record.results.append(sent)
        return response

    async def _next(
        self,
        iterator: AsyncIterator[cloud_speech.StreamingRecognizeRequest],
        record: StreamRecord,
    ) -> cloud_speech.StreamingRecognizeRequest | None:
        """The next request, None at half-close; enforces Google's stream time limits.

        The duration limit is checked as each request arrives, so the abort follows a
        client write instead of racing one (grpc-python reports a status that arrives
        during a write as INTERNAL, grpc/grpc#36066).
        """
        knobs = self.knobs
        try:
            async with asyncio.timeout(knobs.audio_timeout_secs):
                request = await anext(iterator)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            raise _Abort(
                grpc.StatusCode.ABORTED,
                "Stream timed out after receiving no more client requests.",
            ) from None
        record.requests += 1
        if time.monotonic() - record.opened_wall >= knobs.max_stream_secs:
            raise self._too_long()
        return request

    async def _hang_until_limit(self, record: StreamRecord) -> None:
        left = self.knobs.max_stream_secs - (time.monotonic() - record.opened_wall)
        await asyncio.sleep(max(0.0, left))
        raise self._too_long()

    def _too_long(self) -> _Abort:
        return _Abort(
            grpc.StatusCode.OUT_OF_RANGE,
            f"Exceeded maximum allowed stream duration of {self.knobs.max_stream_secs:g} seconds.",
        )


def insecure_client(address: str) -> speech_v2.SpeechAsyncClient:
    """A real ``SpeechAsyncClient`` talking plaintext gRPC to ``address`` (host:port).

    Call it from a running event loop.
    """
    channel = grpc.aio.insecure_channel(address)
    return speech_v2.SpeechAsyncClient(transport=SpeechGrpcAsyncIOTransport(channel=channel))
