"""What pipecat's Google STT sends per second of audio, and what ours sends, to the stand-in.

Real gRPC to the Speech-to-Text stand-in with the real client library.
"""

import asyncio

import pytest
from pipecat.frames.frames import (
    InputAudioRawFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.services.google.stt import GoogleSTTService
from pipecat.tests.utils import SleepFrame, run_test

from bot.key_file import parse_credentials
from bot.speech_services import GoogleAccess, PhoneSTTService
from sandbox.credentials import fake_service_account_json
from sandbox.google_stt import SpeechStandIn, insecure_client

pytestmark = pytest.mark.integration

RATE = 8000
PARAMS = PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE)


def frames(count: int, level: int = 0) -> list[InputAudioRawFrame]:
    sample = level.to_bytes(2, "little", signed=True)
    return [
        InputAudioRawFrame(audio=sample * 160, sample_rate=RATE, num_channels=1)
        for _ in range(count)
    ]


def pipecats(stand_in: SpeechStandIn) -> GoogleSTTService:
    stt = GoogleSTTService(credentials=fake_service_account_json())
    stt._client = insecure_client(stand_in.address)
    return stt


def ours(stand_in: SpeechStandIn) -> PhoneSTTService:
    access = GoogleAccess(
        fake_service_account_json(),
        parse_credentials(fake_service_account_json()),
        insecure_client(stand_in.address),
        None,  # type: ignore[arg-type]  # no TTS here
    )
    return PhoneSTTService(access=access)


async def audio_requests(stt, stand_in: SpeechStandIn, sent: list) -> tuple[int, float]:
    """Run ``sent`` through ``stt``; return the audio requests and seconds the stand-in got."""
    await run_test(stt, frames_to_send=[*sent, SleepFrame(0.5)], pipeline_params=PARAMS)
    await asyncio.sleep(0.1)
    (record,) = stand_in.streams
    return record.requests - 1, record.audio_secs  # the first request is the config


async def test_pipecat_sends_one_request_per_20_ms_frame():
    async with SpeechStandIn() as stand_in:
        requests, secs = await audio_requests(pipecats(stand_in), stand_in, frames(50))
    assert requests == 50
    assert secs == pytest.approx(1.0)


async def test_ours_sends_300_ms_quiet_100_ms_talking_and_frame_by_frame_while_a_final_is_due():
    async with SpeechStandIn() as stand_in:
        sent = [
            *frames(50),  # 1 s of a quiet line: three requests, 0.1 s held back
            SleepFrame(0.1),  # (VAD frames overtake queued audio: let the audio through)
            VADUserStartedSpeakingFrame(start_secs=0.2),  # what is held back goes at once
            *frames(50),  # 1 s of a caller talking: ten requests
            SleepFrame(0.1),
            VADUserStoppedSpeakingFrame(stop_secs=0.2),
            *frames(5),  # a final is due: five requests, one per frame
            TranscriptionFrame("так", "", "2026-12-03T00:00:00Z"),  # the final is in
            SleepFrame(0.1),  # (audio overtakes a data frame in a queue: let it through)
            *frames(45),  # quiet again: three
        ]
        requests, secs = await audio_requests(ours(stand_in), stand_in, sent)
    assert requests == 3 + 1 + 10 + 5 + 3
    assert secs == pytest.approx(3.0)


async def streams_after_a_clean_end(stt, stand_in: SpeechStandIn) -> int:
    """Streams the stand-in saw when its first ends cleanly mid-call and the caller goes on."""
    stand_in.knobs.fault = "cut"  # the first utterance's final never comes: the stream ends, OK
    sent = [*frames(25, level=8000), *frames(50), SleepFrame(0.3), *frames(50, level=8000)]
    await run_test(stt, frames_to_send=[*sent, SleepFrame(0.5)], pipeline_params=PARAMS)
    assert stand_in.streams[0].status == "OK"
    return len(stand_in.streams)


async def test_pipecat_stops_listening_for_the_rest_of_the_call_when_google_ends_a_stream():
    async with SpeechStandIn() as stand_in:
        assert await streams_after_a_clean_end(pipecats(stand_in), stand_in) == 1


async def test_ours_opens_a_new_stream_when_google_ends_one():
    async with SpeechStandIn() as stand_in:
        assert await streams_after_a_clean_end(ours(stand_in), stand_in) == 2
