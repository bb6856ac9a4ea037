"""The Text-to-Speech stand-in, driven over real gRPC by the real Google client and by pipecat."""

import asyncio
import io
import time
import wave
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest
from google.api_core import exceptions
from google.cloud import texttospeech_v1 as tts
from pipecat.frames.frames import ErrorFrame, TTSAudioRawFrame, TTSSpeakFrame
from pipecat.services.google.tts import GoogleHttpTTSService, GoogleTTSService
from pipecat.tests.utils import run_test
from pipecat.transcriptions.language import Language

from sandbox.credentials import fake_service_account_json
from sandbox.google_tts import (
    DEFAULT_SAMPLE_RATE,
    Knobs,
    TextToSpeechStandIn,
    TtsRequest,
    make_client,
)
from sandbox.speech import synthesize
from tests.integration.audio import dominant_hz, frame_levels

pytestmark = pytest.mark.integration

VOICE = "uk-UA-Chirp3-HD-Achernar"
HELLO = "Добрий день! Чим можу вам допомогти?"
PCM = tts.AudioEncoding.PCM


@pytest.fixture
async def stand_in() -> AsyncIterator[TextToSpeechStandIn]:
    server = TextToSpeechStandIn(Knobs(realtime_factor=20.0))  # default timing, faster audio
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(stand_in: TextToSpeechStandIn) -> AsyncIterator[tts.TextToSpeechAsyncClient]:
    client = make_client(stand_in.address)
    yield client
    await client.transport.close()


def config(
    name: str = VOICE,
    language: str = "",
    rate: int = 8000,
    encoding: tts.AudioEncoding = PCM,
    speaking_rate: float = 0.0,
) -> tts.StreamingSynthesizeConfig:
    return tts.StreamingSynthesizeConfig(
        voice=tts.VoiceSelectionParams(name=name, language_code=language),
        streaming_audio_config=tts.StreamingAudioConfig(
            audio_encoding=encoding, sample_rate_hertz=rate, speaking_rate=speaking_rate
        ),
    )


async def stream(
    client: tts.TextToSpeechAsyncClient,
    streaming_config: tts.StreamingSynthesizeConfig,
    *texts: str,
    timeout: float | None = None,
    chunks: list[tuple[float, bytes]] | None = None,
) -> list[tuple[float, bytes]]:
    """Stream ``texts``; return (seconds since the call began, audio) per response."""
    received = chunks if chunks is not None else []

    async def requests() -> AsyncIterator[tts.StreamingSynthesizeRequest]:
        yield tts.StreamingSynthesizeRequest(streaming_config=streaming_config)
        for text in texts:
            yield tts.StreamingSynthesizeRequest(input=tts.StreamingSynthesisInput(text=text))

    began = time.monotonic()
    responses = await client.streaming_synthesize(requests(), timeout=timeout)
    async for response in responses:
        received.append((time.monotonic() - began, response.audio_content))
    return received


def audio(chunks: list[tuple[float, bytes]]) -> bytes:
    return b"".join(piece for _, piece in chunks)


async def synthesize_speech(
    client: tts.TextToSpeechAsyncClient,
    text: str = HELLO,
    *,
    encoding: tts.AudioEncoding = tts.AudioEncoding.LINEAR16,
    rate: int = 16000,
    timeout: float | None = None,
    **voice: str,
) -> bytes:
    response = await client.synthesize_speech(
        input=tts.SynthesisInput(text=text),
        voice=tts.VoiceSelectionParams(**(voice or {"name": VOICE})),
        audio_config=tts.AudioConfig(audio_encoding=encoding, sample_rate_hertz=rate),
        timeout=timeout,
    )
    return response.audio_content


def read_wav(data: bytes) -> tuple[wave._wave_params, bytes]:
    with wave.open(io.BytesIO(data), "rb") as wav:
        return wav.getparams(), wav.readframes(wav.getnframes())


# --- StreamingSynthesize ---------------------------------------------------------------


async def test_streams_ukrainian_speech_at_8k_like_synthesize(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    chunks = await stream(client, config(rate=8000), HELLO)

    pcm = audio(chunks)
    expected = synthesize(HELLO, language="uk-UA", rate=8000)
    assert len(pcm) == pytest.approx(len(expected), rel=0.01)
    assert not pcm.startswith(b"RIFF")
    assert all(len(piece) == 1600 for _, piece in chunks[:-1])  # 100 ms at 8 kHz
    levels = frame_levels(pcm, 8000)
    assert (levels > 0.03).mean() > 0.5  # mostly talking, not silence
    assert 80 <= dominant_hz(pcm, 8000) <= 1000  # a voice, not a tone or hiss
    assert stand_in.requests == [TtsRequest("StreamingSynthesize", VOICE, "uk-UA", 8000, HELLO)]


async def test_first_audio_waits_at_least_first_audio_ms(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    for first_audio_ms in (150, 400):
        stand_in.knobs.first_audio_ms = first_audio_ms

        chunks = await stream(client, config(), "Так")

        assert chunks[0][0] >= first_audio_ms / 1000


async def test_audio_is_paced_at_the_realtime_factor(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.first_audio_ms = 0
    stand_in.knobs.realtime_factor = 8.0

    chunks = await stream(client, config(), HELLO)

    spoken_secs = len(audio(chunks)) / 2 / 8000
    assert chunks[-1][0] - chunks[0][0] >= (len(chunks) - 1) * 0.1 / 8.0 - 0.005
    assert chunks[-1][0] >= spoken_secs / 8.0 - 0.1 - 0.005


async def test_unpaced_audio_arrives_complete(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.first_audio_ms = 0
    stand_in.knobs.realtime_factor = 0

    chunks = await stream(client, config(), HELLO)

    assert len(audio(chunks)) == pytest.approx(len(synthesize(HELLO, rate=8000)), rel=0.01)


async def test_unset_sample_rate_means_24k(client: tts.TextToSpeechAsyncClient) -> None:
    at_8k = audio(await stream(client, config(rate=8000), HELLO))
    default = audio(await stream(client, config(rate=0), HELLO))

    assert DEFAULT_SAMPLE_RATE == 24000
    assert len(default) / len(at_8k) == pytest.approx(3.0, rel=0.01)


async def test_language_from_language_code_without_a_voice_name(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    pcm = audio(await stream(client, config(name="", language="ru-RU"), "Добрый день"))

    assert len(pcm) == pytest.approx(
        len(synthesize("Добрый день", language="ru-RU", rate=8000)), rel=0.01
    )
    assert stand_in.requests[-1] == TtsRequest(
        "StreamingSynthesize", "", "ru-RU", 8000, "Добрый день"
    )


async def test_several_text_inputs_in_one_stream(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    texts = ("Добрий день!", "Ваше замовлення вже в дорозі.")

    pcm = audio(await stream(client, config(), *texts))

    expected = sum(len(synthesize(text, rate=8000)) for text in texts)
    assert len(pcm) == pytest.approx(expected, rel=0.01)
    assert [r.text for r in stand_in.requests] == list(texts)


async def test_markup_pauses_are_not_spoken(client: tts.TextToSpeechAsyncClient) -> None:
    async def requests() -> AsyncIterator[tts.StreamingSynthesizeRequest]:
        yield tts.StreamingSynthesizeRequest(streaming_config=config())
        markup = "Добрий день! [pause long] Чим можу допомогти?"
        yield tts.StreamingSynthesizeRequest(input=tts.StreamingSynthesisInput(markup=markup))

    responses = await client.streaming_synthesize(requests())
    pcm = b"".join([r.audio_content async for r in responses])

    spoken = synthesize("Добрий день!   Чим можу допомогти?", rate=8000)
    assert len(pcm) == pytest.approx(len(spoken), rel=0.01)


async def test_faster_speaking_rate_gives_shorter_audio(
    client: tts.TextToSpeechAsyncClient,
) -> None:
    normal = audio(await stream(client, config(), HELLO))
    fast = audio(await stream(client, config(speaking_rate=1.5), HELLO))

    assert len(fast) < 0.8 * len(normal)


@pytest.mark.parametrize(
    ("streaming_config", "message"),
    [
        (config(encoding=tts.AudioEncoding.OGG_OPUS), "not supported by the stand-in"),
        (config(encoding=tts.AudioEncoding.MP3), "not supported by the stand-in"),
        (config(name="de-DE-Chirp3-HD-Achernar"), "unsupported language"),
        (config(name="", language="pl-PL"), "unsupported language"),
        (config(name=VOICE, language="ru-RU"), "does not speak"),
        (config(name="Kore", language=""), "language_code is required"),
        (config(rate=4000), "sample_rate_hertz"),
        (config(speaking_rate=3.0), "speaking_rate"),
    ],
)
async def test_invalid_config_is_refused(
    stand_in: TextToSpeechStandIn,
    client: tts.TextToSpeechAsyncClient,
    streaming_config: tts.StreamingSynthesizeConfig,
    message: str,
) -> None:
    stand_in.knobs.fault = "status"  # an invalid request must not use up a fault

    with pytest.raises(exceptions.InvalidArgument, match=message):
        await stream(client, streaming_config, HELLO)

    assert stand_in.knobs.fault_times == 1
    assert stand_in.requests == []


async def test_a_stream_without_config_is_refused(client: tts.TextToSpeechAsyncClient) -> None:
    async def requests() -> AsyncIterator[tts.StreamingSynthesizeRequest]:
        yield tts.StreamingSynthesizeRequest(input=tts.StreamingSynthesisInput(text=HELLO))

    with pytest.raises(exceptions.InvalidArgument, match="streaming_config"):
        responses = await client.streaming_synthesize(requests())
        async for _ in responses:
            pass


# --- SynthesizeSpeech and ListVoices ----------------------------------------------------


async def test_linear16_is_a_wav_file_at_the_requested_rate(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    data = await synthesize_speech(client, encoding=tts.AudioEncoding.LINEAR16, rate=16000)

    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt "
    assert data[36:40] == b"data"  # the 44-byte header pipecat's HTTP service skips
    params, frames = read_wav(data)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
    assert frames == data[44:]
    assert len(frames) == pytest.approx(len(synthesize(HELLO, rate=16000)), rel=0.01)
    assert stand_in.requests == [TtsRequest("SynthesizeSpeech", VOICE, "uk-UA", 16000, HELLO)]


async def test_pcm_is_bare_samples(client: tts.TextToSpeechAsyncClient) -> None:
    data = await synthesize_speech(client, encoding=tts.AudioEncoding.PCM, rate=8000)

    assert not data.startswith(b"RIFF")
    assert len(data) == pytest.approx(len(synthesize(HELLO, rate=8000)), rel=0.01)


async def test_unary_unset_rate_means_24k(client: tts.TextToSpeechAsyncClient) -> None:
    params, _ = read_wav(await synthesize_speech(client, rate=0))

    assert params.framerate == 24000


async def test_unary_answer_takes_first_audio_ms_at_least(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.first_audio_ms = 300
    began = time.monotonic()

    await synthesize_speech(client, "Так")

    assert time.monotonic() - began >= 0.3


async def test_ssml_tags_are_not_spoken(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    ssml = "<speak><voice name='uk-UA-Standard-A'>Добрий &amp; день</voice></speak>"
    response = await client.synthesize_speech(
        input=tts.SynthesisInput(ssml=ssml),
        voice=tts.VoiceSelectionParams(language_code="uk-UA", name="uk-UA-Standard-A"),
        audio_config=tts.AudioConfig(
            audio_encoding=tts.AudioEncoding.LINEAR16, sample_rate_hertz=8000
        ),
    )

    _, frames = read_wav(response.audio_content)
    assert len(frames) == pytest.approx(len(synthesize("Добрий & день", rate=8000)), rel=0.02)
    assert stand_in.requests[-1].text == ssml


@pytest.mark.parametrize(
    "encoding",
    [
        tts.AudioEncoding.MP3,
        tts.AudioEncoding.OGG_OPUS,
        tts.AudioEncoding.MULAW,
        tts.AudioEncoding.AUDIO_ENCODING_UNSPECIFIED,
    ],
)
async def test_unary_other_encodings_are_refused(
    client: tts.TextToSpeechAsyncClient, encoding: tts.AudioEncoding
) -> None:
    with pytest.raises(exceptions.InvalidArgument, match="not supported by the stand-in"):
        await synthesize_speech(client, encoding=encoding)


async def test_unary_unsupported_language_is_refused(client: tts.TextToSpeechAsyncClient) -> None:
    with pytest.raises(exceptions.InvalidArgument, match="unsupported language"):
        await synthesize_speech(client, language_code="fr-FR")


async def test_list_voices(client: tts.TextToSpeechAsyncClient) -> None:
    everything = await client.list_voices()
    ukrainian = await client.list_voices(language_code="uk-UA")

    assert {v.language_codes[0] for v in everything.voices} == {"uk-UA", "ru-RU", "en-US"}
    assert VOICE in [v.name for v in ukrainian.voices]
    assert all(v.name.startswith("uk-UA-Chirp3-HD-") for v in ukrainian.voices)
    assert all(v.natural_sample_rate_hertz == 24000 for v in ukrainian.voices)


# --- Faults -----------------------------------------------------------------------------

STATUSES = [
    (grpc.StatusCode.UNAVAILABLE, exceptions.ServiceUnavailable),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, exceptions.ResourceExhausted),
    (grpc.StatusCode.INTERNAL, exceptions.InternalServerError),
]


@pytest.mark.parametrize(("status", "error"), STATUSES)
async def test_status_fault_on_a_stream_then_recovery(
    stand_in: TextToSpeechStandIn,
    client: tts.TextToSpeechAsyncClient,
    status: grpc.StatusCode,
    error: type[Exception],
) -> None:
    stand_in.knobs.fault = "status"
    stand_in.knobs.fault_status = status
    chunks: list[tuple[float, bytes]] = []

    with pytest.raises(error, match="injected fault"):
        await stream(client, config(), HELLO, chunks=chunks)

    assert chunks == []
    assert stand_in.knobs.fault_times == 0
    assert audio(await stream(client, config(), HELLO))  # fault_times=1: the next call is fine
    assert [r.text for r in stand_in.requests] == [HELLO, HELLO]  # the failed ask is logged too


@pytest.mark.parametrize(("status", "error"), STATUSES)
async def test_status_fault_on_a_unary_call_then_recovery(
    stand_in: TextToSpeechStandIn,
    client: tts.TextToSpeechAsyncClient,
    status: grpc.StatusCode,
    error: type[Exception],
) -> None:
    stand_in.knobs.fault = "status"
    stand_in.knobs.fault_status = status

    with pytest.raises(error):
        await synthesize_speech(client)

    assert read_wav(await synthesize_speech(client))[1]


async def test_fault_times_counts_rpcs(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.fault = "status"
    stand_in.knobs.fault_times = 2

    for _ in range(2):
        with pytest.raises(exceptions.ServiceUnavailable):
            await stream(client, config(), "Так")

    assert audio(await stream(client, config(), "Так"))


async def test_fault_times_minus_one_is_forever(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.fault = "status"
    stand_in.knobs.fault_times = -1

    for _ in range(3):
        with pytest.raises(exceptions.ServiceUnavailable):
            await stream(client, config(), "Так")
    with pytest.raises(exceptions.ServiceUnavailable):
        await synthesize_speech(client)

    assert stand_in.knobs.fault_times == -1
    stand_in.knobs.fault = None
    assert audio(await stream(client, config(), "Так"))


async def test_hang_on_a_stream_ends_at_the_client_deadline(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.fault = "hang"
    chunks: list[tuple[float, bytes]] = []
    began = time.monotonic()

    with pytest.raises(exceptions.DeadlineExceeded):
        await stream(client, config(), HELLO, timeout=0.5, chunks=chunks)

    assert time.monotonic() - began >= 0.5
    assert chunks == []
    assert audio(await stream(client, config(), HELLO))


async def test_hang_on_a_stream_ends_when_the_client_cancels(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.fault = "hang"

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(stream(client, config(), HELLO), timeout=0.3)

    assert audio(await stream(client, config(), HELLO))


async def test_hang_on_a_unary_call_ends_at_the_client_deadline(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.fault = "hang"

    with pytest.raises(exceptions.DeadlineExceeded):
        await synthesize_speech(client, timeout=0.5)

    assert read_wav(await synthesize_speech(client))[1]


async def test_stopping_the_server_ends_a_hung_call(stand_in: TextToSpeechStandIn) -> None:
    client = make_client(stand_in.address)
    stand_in.knobs.fault = "hang"
    call = asyncio.create_task(stream(client, config(), HELLO))
    await asyncio.sleep(0.2)

    await asyncio.wait_for(stand_in.stop(), timeout=5)

    with pytest.raises(exceptions.GoogleAPICallError):
        await asyncio.wait_for(call, timeout=5)
    await client.transport.close()


async def test_cut_ends_the_stream_with_an_error_after_n_chunks(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.fault = "cut"
    stand_in.knobs.cut_after_chunks = 3
    chunks: list[tuple[float, bytes]] = []

    with pytest.raises(exceptions.ServiceUnavailable):
        await stream(client, config(), HELLO, chunks=chunks)

    assert len(chunks) == 3
    assert len(audio(await stream(client, config(), HELLO))) > len(audio(chunks))


async def test_cut_with_eof_silently_truncates(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.fault = "cut"
    stand_in.knobs.cut_after_chunks = 2
    stand_in.knobs.cut_mode = "eof"

    chunks = await stream(client, config(), HELLO)

    assert len(chunks) == 2


async def test_cut_counts_chunks_across_text_inputs(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    first = len(synthesize("Так", rate=8000))
    first_chunks = -(-first // 1600)
    stand_in.knobs.fault = "cut"
    stand_in.knobs.cut_after_chunks = first_chunks + 1
    stand_in.knobs.fault_status = grpc.StatusCode.INTERNAL
    chunks: list[tuple[float, bytes]] = []

    with pytest.raises(exceptions.InternalServerError):
        await stream(client, config(), "Так", HELLO, chunks=chunks)

    assert len(chunks) == first_chunks + 1


async def test_cut_on_a_unary_call_is_an_error(
    stand_in: TextToSpeechStandIn, client: tts.TextToSpeechAsyncClient
) -> None:
    stand_in.knobs.fault = "cut"

    with pytest.raises(exceptions.ServiceUnavailable):
        await synthesize_speech(client)


def test_knob_defaults() -> None:
    knobs = Knobs()

    assert (knobs.first_audio_ms, knobs.realtime_factor, knobs.chunk_ms) == (150, 4.0, 100)
    assert (knobs.fault, knobs.fault_status, knobs.fault_times) == (
        None,
        grpc.StatusCode.UNAVAILABLE,
        1,
    )
    assert (knobs.cut_after_chunks, knobs.cut_mode) == (2, "status")


async def test_default_knobs_deliver_at_four_times_real_time() -> None:
    async with TextToSpeechStandIn() as stand_in:
        client = make_client(stand_in.address)
        chunks = await stream(client, config(), HELLO)
        await client.transport.close()

    spoken_secs = len(audio(chunks)) / 2 / 8000
    assert chunks[0][0] >= 0.15
    assert chunks[-1][0] >= 0.15 + spoken_secs / 4 - 0.1 - 0.005


async def test_knobs_can_be_given_up_front() -> None:
    knobs = Knobs(first_audio_ms=0, realtime_factor=0, chunk_ms=20)
    async with TextToSpeechStandIn(knobs) as stand_in:
        client = make_client(stand_in.address)
        chunks = await stream(client, config(), "Так")
        await client.transport.close()

    assert stand_in.knobs is knobs
    assert all(len(piece) == 320 for _, piece in chunks[:-1])  # 20 ms at 8 kHz
    with pytest.raises(RuntimeError):
        _ = stand_in.port


# --- pipecat's own services against the stand-in ----------------------------------------


def pipecat_service(
    cls: type[GoogleTTSService] | type[GoogleHttpTTSService], address: str
) -> GoogleTTSService | GoogleHttpTTSService:
    service = cls(
        credentials=fake_service_account_json(),
        sample_rate=8000,
        settings=cls.Settings(voice=VOICE, language=Language.UK_UA),
    )
    service._client = make_client(address)
    return service


@pytest.mark.parametrize("cls", [GoogleTTSService, GoogleHttpTTSService])
async def test_pipecat_service_speaks_ukrainian_at_8k(
    stand_in: TextToSpeechStandIn, cls: type[GoogleTTSService] | type[GoogleHttpTTSService]
) -> None:
    service = pipecat_service(cls, stand_in.address)

    down, up = await run_test(service, frames_to_send=[TTSSpeakFrame("Добрий день")])
    await service._client.transport.close()

    frames = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert frames
    assert {(f.sample_rate, f.num_channels) for f in frames} == {(8000, 1)}
    pcm = b"".join(f.audio for f in frames)
    assert len(pcm) == pytest.approx(len(synthesize("Добрий день", rate=8000)), rel=0.01)
    assert all(len(f.audio) == 8000 for f in frames[:-1])  # pipecat re-chunks to 0.5 s
    assert np.abs(np.frombuffer(pcm, dtype="<i2")).max() > 3000
    assert not [f for f in up if isinstance(f, ErrorFrame)]
    method = "StreamingSynthesize" if cls is GoogleTTSService else "SynthesizeSpeech"
    assert stand_in.requests == [TtsRequest(method, VOICE, "uk-UA", 8000, "Добрий день")]


async def test_pipecat_streaming_service_reports_a_fault_upstream(
    stand_in: TextToSpeechStandIn,
) -> None:
    stand_in.knobs.fault = "status"
    service = pipecat_service(GoogleTTSService, stand_in.address)

    down, up = await run_test(service, frames_to_send=[TTSSpeakFrame("Добрий день")])
    await service._client.transport.close()

    assert not [f for f in down if isinstance(f, TTSAudioRawFrame)]
    errors = [f for f in up if isinstance(f, ErrorFrame)]
    assert errors and "injected fault" in errors[0].error
