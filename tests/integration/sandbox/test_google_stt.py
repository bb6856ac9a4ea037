"""The Speech-to-Text v2 stand-in, driven by the real google-cloud-speech client over gRPC."""

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest
from google.api_core import exceptions
from google.cloud.speech_v2.types import cloud_speech

from sandbox.credentials import fake_service_account_json
from sandbox.google_stt import (
    SpeechStandIn,
    insecure_client,
)
from sandbox.tonecode import CODE_SECS, encode

pytestmark = pytest.mark.integration

TEXT = "Добрий день, мені потрібні навушники"
RATE = 8000
FRAME = 0.02
RECOGNIZER = "projects/sandbox-project/locations/global/recognizers/_"
Encoding = cloud_speech.ExplicitDecodingConfig.AudioEncoding


def silence(secs: float, rate: int = RATE) -> bytes:
    return bytes(2 * round(secs * rate))


def speech_like(secs: float, seed: int = 0, rate: int = RATE) -> bytes:
    """Voiced-speech stand-in: a wobbling harmonic series with syllable-rate AM."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(secs * rate)) / rate
    phase = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 3 * t)) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 15))
    x = voiced * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)) * 3000 + rng.normal(0, 100, len(t))
    return np.round(x).astype("<i2").tobytes()


def line(code: int | None, speech_secs: float, seed: int = 0, rate: int = RATE) -> bytes:
    """What the simulated caller says: a tone code, then speech."""
    tones = encode(code, rate) if code is not None else b""
    return tones + speech_like(speech_secs, seed, rate)


def config_request(
    *,
    encoding: int = Encoding.LINEAR16,
    rate: int = RATE,
    languages: tuple[str, ...] = ("uk-UA",),
    model: str = "telephony",
    interim: bool = True,
    vad: bool = False,
) -> cloud_speech.StreamingRecognizeRequest:
    """The first request, shaped like pipecat's GoogleSTTService sends it."""
    config = cloud_speech.RecognitionConfig(
        explicit_decoding_config=cloud_speech.ExplicitDecodingConfig(
            encoding=encoding, sample_rate_hertz=rate, audio_channel_count=1
        ),
        language_codes=list(languages),
        model=model,
        features=cloud_speech.RecognitionFeatures(enable_automatic_punctuation=True),
    )
    return cloud_speech.StreamingRecognizeRequest(
        recognizer=RECOGNIZER,
        streaming_config=cloud_speech.StreamingRecognitionConfig(
            config=config,
            streaming_features=cloud_speech.StreamingRecognitionFeatures(
                interim_results=interim, enable_voice_activity_events=vad
            ),
        ),
    )


async def sleep_until(deadline: float) -> None:
    """Sleep until ``time.monotonic() >= deadline`` (never wake early)."""
    while time.monotonic() < deadline:  # noqa: ASYNC110 - a deadline, not an event
        await asyncio.sleep(deadline - time.monotonic())


class Caller:
    """Request stream: the config, then 20 ms chunks, in real time or as fast as possible.

    In real time chunk k (audio k*20 ms .. (k+1)*20 ms) goes out no earlier than
    ``t0 + (k+1)*20 ms``, as if captured live; ``t0`` is the monotonic start of the audio.
    With ``hold_open`` the stream is not half-closed after the audio until ``release()``.
    """

    def __init__(
        self,
        audio: bytes,
        *,
        realtime: bool = False,
        hold_open: bool = False,
        first: cloud_speech.StreamingRecognizeRequest | None = None,
        rate: int = RATE,
    ) -> None:
        self.audio = audio
        self.rate = rate
        self.realtime = realtime
        self.first = first or config_request()
        self.t0 = 0.0
        self.done_sending = asyncio.Event()
        self._release = asyncio.Event()
        if not hold_open:
            self._release.set()

    def release(self) -> None:
        self._release.set()

    def wall(self, audio_secs: float) -> float:
        """Monotonic time at which audio time ``audio_secs`` had been captured."""
        return self.t0 + audio_secs

    async def requests(self) -> AsyncIterator[cloud_speech.StreamingRecognizeRequest]:
        yield self.first
        chunk = 2 * round(FRAME * self.rate)
        self.t0 = time.monotonic()
        for k, i in enumerate(range(0, len(self.audio), chunk)):
            if self.realtime:
                await sleep_until(self.t0 + (k + 1) * FRAME)
            yield cloud_speech.StreamingRecognizeRequest(audio=self.audio[i : i + chunk])
        self.done_sending.set()
        await self._release.wait()


async def collect(client, caller: Caller, into: list | None = None) -> list:
    """Run one stream; return (monotonic arrival, response) pairs."""
    arrivals = [] if into is None else into
    stream = await client.streaming_recognize(requests=caller.requests())
    async for response in stream:
        arrivals.append((time.monotonic(), response))
    return arrivals


def results(arrivals: list, *, final: bool) -> list:
    return [
        (at, result)
        for at, response in arrivals
        for result in response.results
        if result.is_final == final
    ]


def transcripts(arrivals: list, *, final: bool) -> list[str]:
    return [r.alternatives[0].transcript for _, r in results(arrivals, final=final)]


@pytest.fixture
async def stand_in() -> AsyncIterator[SpeechStandIn]:
    server = SpeechStandIn({7: TEXT, 8: "А скільки коштує доставка?"})
    await server.start()
    yield server
    await server.stop(grace=0)


@pytest.fixture
async def client(stand_in: SpeechStandIn):
    speech_client = insecure_client(stand_in.address)
    yield speech_client
    await speech_client.transport.close()


async def test_interim_prefixes_then_one_final_with_the_full_text_in_real_time(
    stand_in: SpeechStandIn, client
) -> None:
    stand_in.knobs.silence_ms = 200
    stand_in.knobs.final_after_speech_ms = 400
    lead, talk = 0.3, 1.5
    speech_end = lead + CODE_SECS + talk  # 1.98 s; +0.4 s lands on a 20 ms boundary
    caller = Caller(silence(lead) + line(7, talk) + silence(0.8), realtime=True)

    arrivals = await collect(client, caller)

    interims = transcripts(arrivals, final=False)
    assert len(interims) >= 2
    for text in interims:
        assert TEXT.startswith(text) and text != TEXT
    assert [len(t.split()) for t in interims] == sorted({len(t.split()) for t in interims})
    ((final_at, final),) = results(arrivals, final=True)
    assert final.alternatives[0].transcript == TEXT
    assert 0.85 <= final.alternatives[0].confidence <= 0.95
    assert final.language_code == "uk-ua"
    assert final.result_end_offset.total_seconds() == pytest.approx(speech_end, abs=0.025)
    assert all(at <= final_at for at, _ in results(arrivals, final=False))
    assert final_at - caller.wall(speech_end) >= 0.4

    (record,) = stand_in.streams
    assert (record.model, record.language_codes, record.sample_rate) == (
        "telephony",
        ["uk-UA"],
        RATE,
    )
    assert record.recognizer == RECOGNIZER and record.interim_results
    assert [(u.code, u.text) for u in record.utterances] == [(7, TEXT)]
    assert record.utterances[0].speech_end_secs == pytest.approx(speech_end, abs=0.025)
    assert record.status == "OK"
    assert [r.kind for r in record.results] == ["interim"] * len(interims) + ["final"]


@pytest.mark.parametrize(
    ("silence_ms", "final_after_speech_ms"), [(500, 250), (200, 400), (300, 300)]
)
async def test_final_goes_out_at_the_endpointing_delay_or_as_soon_as_the_end_is_known(
    stand_in: SpeechStandIn, client, silence_ms: int, final_after_speech_ms: int
) -> None:
    stand_in.knobs.silence_ms = silence_ms
    stand_in.knobs.final_after_speech_ms = final_after_speech_ms
    await collect(client, Caller(silence(0.2) + line(7, 1.0) + silence(1.0)))

    (record,) = stand_in.streams
    (final,) = record.finals
    (utterance,) = record.utterances
    assert utterance.speech_end_secs is not None and utterance.ended_at_secs is not None
    due = utterance.speech_end_secs + final_after_speech_ms / 1000
    assert final.stream_secs == pytest.approx(max(due, utterance.ended_at_secs), abs=0.021)
    assert final.stream_secs >= due - 1e-9
    assert utterance.ended_at_secs >= utterance.speech_end_secs + silence_ms / 1000 - 1e-9


async def test_unknown_code_and_speech_without_code_get_no_results(
    stand_in: SpeechStandIn, client
) -> None:
    audio = silence(0.2) + line(9, 0.8) + silence(1.0) + line(None, 0.8, seed=1) + silence(1.0)
    arrivals = await collect(client, Caller(audio))
    assert arrivals == []
    (record,) = stand_in.streams
    assert [(u.code, u.text) for u in record.utterances] == [(9, None), (None, None)]
    assert record.status == "OK"


async def test_two_lines_in_one_stream_give_two_finals_and_the_phrasebook_is_live(
    stand_in: SpeechStandIn, client
) -> None:
    audio = silence(0.2) + line(7, 0.8) + silence(1.0) + line(8, 0.8, seed=2) + silence(1.0)
    arrivals = await collect(client, Caller(audio))
    assert transcripts(arrivals, final=True) == [TEXT, "А скільки коштує доставка?"]

    stand_in.phrasebook = {7: "Інший текст"}
    arrivals = await collect(client, Caller(silence(0.2) + line(7, 0.8) + silence(1.0)))
    assert transcripts(arrivals, final=True) == ["Інший текст"]


async def test_concurrent_streams_at_8_and_16_khz_are_independent(
    stand_in: SpeechStandIn, client
) -> None:
    wide = 16000
    narrow_audio = silence(0.2) + line(7, 0.8) + silence(0.8)
    wide_audio = silence(0.3, wide) + line(8, 0.6, rate=wide) + silence(0.8, wide)
    narrow, wide_band = await asyncio.gather(
        collect(client, Caller(narrow_audio)),
        collect(client, Caller(wide_audio, first=config_request(rate=wide), rate=wide)),
    )
    assert transcripts(narrow, final=True) == [TEXT]
    assert transcripts(wide_band, final=True) == ["А скільки коштує доставка?"]
    assert sorted(r.sample_rate for r in stand_in.streams) == [RATE, wide]


async def test_speech_events_only_when_requested(stand_in: SpeechStandIn, client) -> None:
    audio = silence(0.2) + line(7, 1.2) + silence(1.0)
    arrivals = await collect(client, Caller(audio, first=config_request(vad=True)))
    Event = cloud_speech.StreamingRecognizeResponse.SpeechEventType
    kinds = [
        "final"
        if r.results and r.results[0].is_final
        else "interim"
        if r.results
        else Event(r.speech_event_type).name
        for _, r in arrivals
    ]
    assert kinds[0] == "SPEECH_ACTIVITY_BEGIN"
    assert kinds[-2:] == ["SPEECH_ACTIVITY_END", "final"]
    assert set(kinds[1:-2]) == {"interim"}
    end_event = arrivals[-2][1]
    assert end_event.speech_event_offset.total_seconds() == pytest.approx(
        0.2 + CODE_SECS + 1.2, abs=0.025
    )

    arrivals = await collect(client, Caller(audio, first=config_request(interim=False)))
    assert [bool(r.results) and r.results[0].is_final for _, r in arrivals] == [True]


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(config_request(encoding=Encoding.MP3), id="mp3"),
        pytest.param(config_request(encoding=Encoding.OGG_OPUS), id="ogg-opus"),
        pytest.param(config_request(rate=4000), id="rate-4000"),
        pytest.param(config_request(rate=96000), id="rate-96000"),
        pytest.param(config_request(languages=("de-DE",)), id="language"),
        pytest.param(config_request(model=""), id="no-model"),
        pytest.param(config_request(model="whisper"), id="unknown-model"),
        pytest.param(
            cloud_speech.StreamingRecognizeRequest(
                recognizer=RECOGNIZER,
                streaming_config=cloud_speech.StreamingRecognitionConfig(
                    config=cloud_speech.RecognitionConfig(
                        auto_decoding_config=cloud_speech.AutoDetectDecodingConfig(),
                        language_codes=["uk-UA"],
                        model="telephony",
                    )
                ),
            ),
            id="auto-decoding",
        ),
        pytest.param(
            cloud_speech.StreamingRecognizeRequest(
                recognizer=RECOGNIZER, streaming_config=cloud_speech.StreamingRecognitionConfig()
            ),
            id="no-config",
        ),
        pytest.param(cloud_speech.StreamingRecognizeRequest(audio=silence(0.02)), id="audio-first"),
        pytest.param(
            cloud_speech.StreamingRecognizeRequest(
                recognizer="recognizers/_", streaming_config=config_request().streaming_config
            ),
            id="bad-recognizer",
        ),
    ],
)
async def test_bad_configs_are_invalid_argument(
    stand_in: SpeechStandIn, client, first: cloud_speech.StreamingRecognizeRequest
) -> None:
    with pytest.raises(exceptions.InvalidArgument):
        # Only the first request, then nothing: a client write still in flight when the
        # status arrives makes grpc-python report INTERNAL instead (grpc/grpc#36066).
        await collect(client, Caller(b"", first=first, hold_open=True))
    assert stand_in.streams[-1].status == "INVALID_ARGUMENT"


async def test_languages_the_phrasebooks_are_for_are_accepted(stand_in: SpeechStandIn, client):
    for language in ("ru-RU", "en-US", "uk-ua"):
        first = config_request(languages=(language,))
        arrivals = await collect(
            client, Caller(silence(0.2) + line(7, 0.8) + silence(0.8), first=first)
        )
        assert [r.language_code for _, r in results(arrivals, final=True)] == [language.lower()]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (grpc.StatusCode.UNAVAILABLE, exceptions.ServiceUnavailable),
        (grpc.StatusCode.PERMISSION_DENIED, exceptions.PermissionDenied),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, exceptions.ResourceExhausted),
    ],
)
async def test_status_fault_raises_the_matching_api_core_error_then_clears(
    stand_in: SpeechStandIn, client, status: grpc.StatusCode, error: type[Exception]
) -> None:
    stand_in.knobs.silence_ms = 200
    stand_in.knobs.fault = "status"
    stand_in.knobs.fault_status = status
    audio = silence(0.1) + line(7, 0.5) + silence(0.5)
    arrivals: list = []
    # Real time, like pipecat: the abort must not race a client write (grpc/grpc#36066).
    with pytest.raises(error):
        await collect(client, Caller(audio, realtime=True), into=arrivals)
    assert transcripts(arrivals, final=True) == []
    assert stand_in.streams[-1].fault == "status"
    assert stand_in.streams[-1].status == status.name
    assert stand_in.knobs.fault_times == 0

    arrivals = await collect(client, Caller(audio))  # fault_times=1: the next stream is fine
    assert transcripts(arrivals, final=True) == [TEXT]


async def test_fault_on_the_second_utterance_of_every_stream(
    stand_in: SpeechStandIn, client
) -> None:
    stand_in.knobs.silence_ms = 150
    stand_in.knobs.fault = "status"
    stand_in.knobs.fault_on_utterance = 2
    stand_in.knobs.fault_times = -1
    audio = silence(0.1) + line(7, 0.3) + silence(0.3) + line(8, 0.3, seed=3) + silence(0.4)
    for _ in range(2):
        arrivals: list = []
        with pytest.raises(exceptions.ServiceUnavailable):
            await collect(client, Caller(audio, realtime=True), into=arrivals)
        assert transcripts(arrivals, final=True) == [TEXT]
    assert stand_in.knobs.fault_times == -1


async def test_cut_ends_the_response_stream_cleanly_before_the_caller_is_done(
    stand_in: SpeechStandIn, client
) -> None:
    stand_in.knobs.silence_ms = 200
    stand_in.knobs.fault = "cut"
    caller = Caller(silence(0.1) + line(7, 0.8) + silence(0.5), realtime=True, hold_open=True)
    arrivals = await asyncio.wait_for(collect(client, caller), timeout=5)  # no error raised
    assert not caller.done_sending.is_set()  # it ended while the caller was still talking
    assert transcripts(arrivals, final=True) == []
    assert transcripts(arrivals, final=False)  # interims came before the cut
    record = stand_in.streams[-1]
    assert (record.status, record.fault) == ("OK", "cut")
    caller.release()


async def test_hang_sends_nothing_more_but_keeps_reading_audio(
    stand_in: SpeechStandIn, client
) -> None:
    stand_in.knobs.fault = "hang"
    audio = silence(0.2) + line(7, 1.2) + silence(1.0)
    caller = Caller(audio, hold_open=True)
    arrivals: list = []
    task = asyncio.create_task(collect(client, caller, into=arrivals))
    await caller.done_sending.wait()
    # Without the fault the final would already be out: the audio went in faster than
    # real time. Give it 2 s of wall time to show up anyway.
    done, _ = await asyncio.wait({task}, timeout=2.0)
    assert not done
    assert transcripts(arrivals, final=True) == []
    assert transcripts(arrivals, final=False)
    record = stand_in.streams[-1]
    assert record.fault == "hang" and record.status is None
    assert record.audio_secs == pytest.approx(len(audio) / 2 / RATE, abs=0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_no_audio_for_audio_timeout_secs_aborts_like_google(
    stand_in: SpeechStandIn, client
) -> None:
    stand_in.knobs.audio_timeout_secs = 0.5
    caller = Caller(silence(0.2), hold_open=True)
    started = time.monotonic()
    with pytest.raises(exceptions.Aborted, match="Stream timed out"):
        await asyncio.wait_for(collect(client, caller), timeout=5)
    assert time.monotonic() - started >= 0.5
    assert stand_in.streams[-1].status == "ABORTED"
    caller.release()


async def test_streams_longer_than_max_stream_secs_are_out_of_range(
    stand_in: SpeechStandIn, client
) -> None:
    stand_in.knobs.max_stream_secs = 0.6
    with pytest.raises(exceptions.OutOfRange, match="maximum allowed stream duration"):
        await asyncio.wait_for(collect(client, Caller(silence(2.0), realtime=True)), timeout=5)
    assert stand_in.streams[-1].status == "OUT_OF_RANGE"


async def test_half_close_right_after_speech_flushes_the_final(
    stand_in: SpeechStandIn, client
) -> None:
    arrivals = await collect(client, Caller(silence(0.2) + line(7, 1.0)))
    assert transcripts(arrivals, final=True) == [TEXT]
    assert stand_in.streams[-1].status == "OK"


async def test_pipecat_google_stt_service_transcribes_through_the_stand_in(
    stand_in: SpeechStandIn,
) -> None:
    from pipecat.frames.frames import (
        InputAudioRawFrame,
        InterimTranscriptionFrame,
        TranscriptionFrame,
    )
    from pipecat.pipeline.worker import PipelineParams
    from pipecat.services.google.stt import GoogleSTTService
    from pipecat.tests.utils import SleepFrame, run_test
    from pipecat.transcriptions.language import Language

    stand_in.knobs.silence_ms = 300
    stt = GoogleSTTService(
        credentials=fake_service_account_json("callproc-sandbox"),
        sample_rate=RATE,
        settings=GoogleSTTService.Settings(languages=[Language.UK_UA], model="telephony"),
    )
    stt._client = insecure_client(stand_in.address)  # the one line product code must allow
    audio = silence(0.2) + line(7, 1.2) + silence(0.6)
    chunk = 2 * round(FRAME * RATE)
    frames = []
    for i in range(0, len(audio), chunk):
        frames.append(
            InputAudioRawFrame(audio=audio[i : i + chunk], sample_rate=RATE, num_channels=1)
        )
        frames.append(SleepFrame(sleep=FRAME))
    frames.append(SleepFrame(sleep=0.3))

    down, _ = await run_test(
        stt, frames_to_send=frames, pipeline_params=PipelineParams(audio_in_sample_rate=RATE)
    )

    finals = [f.text for f in down if isinstance(f, TranscriptionFrame)]
    interims = [f.text for f in down if isinstance(f, InterimTranscriptionFrame)]
    assert finals == [TEXT]
    assert interims and all(TEXT.startswith(t) and t != TEXT for t in interims)
    (record,) = stand_in.streams
    assert record.recognizer == "projects/callproc-sandbox/locations/global/recognizers/_"
    assert (record.model, record.language_codes, record.sample_rate) == (
        "telephony",
        ["uk-UA"],
        RATE,
    )
    assert record.interim_results and not record.voice_activity_events
