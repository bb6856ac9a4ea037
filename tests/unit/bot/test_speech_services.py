"""Constructing a call's speech services: pipecat parses the private key each time, ours never."""

import json
import sys

import grpc
import pytest
from google.cloud import speech_v2, texttospeech_v1
from google.cloud.speech_v2.services.speech.transports import SpeechGrpcAsyncIOTransport
from google.cloud.texttospeech_v1.services.text_to_speech.transports import (
    TextToSpeechGrpcAsyncIOTransport,
)
from google.oauth2 import service_account
from pipecat.services.google.stt import GoogleSTTService
from pipecat.services.google.tts import GoogleTTSService

from bot.key_file import parse_credentials
from bot.speech_services import GoogleAccess, PhoneSTTService, PhoneTTSService
from processors.sentence_aggregator import PhoneSentenceAggregator
from sandbox.credentials import fake_service_account_json

pytestmark = pytest.mark.unit


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts private-key parses (each ~50 ms of CPU)."""
    seen: list[str] = []
    original = service_account.Credentials.from_service_account_info

    def counting(info, **kwargs):
        seen.append(info["project_id"])
        return original(info, **kwargs)

    monkeypatch.setattr(service_account.Credentials, "from_service_account_info", counting)
    return seen


async def access() -> GoogleAccess:
    text = fake_service_account_json()
    channel = grpc.aio.insecure_channel("127.0.0.1:9")  # never used: nothing is sent
    return GoogleAccess(
        text,
        parse_credentials(text),
        speech_v2.SpeechAsyncClient(transport=SpeechGrpcAsyncIOTransport(channel=channel)),
        texttospeech_v1.TextToSpeechAsyncClient(
            transport=TextToSpeechGrpcAsyncIOTransport(channel=channel)
        ),
    )


async def test_pipecat_parses_the_key_for_every_call(parses):
    GoogleSTTService(credentials=fake_service_account_json())
    GoogleTTSService(credentials=fake_service_account_json())
    assert len(parses) == 2


async def test_ours_use_the_process_credentials_and_clients(parses):
    shared = await access()
    parses.clear()
    stt, tts = PhoneSTTService(access=shared), PhoneTTSService(access=shared)
    assert parses == []
    assert stt._client is shared.stt_client
    assert tts._client is shared.tts_client


async def test_ours_end_sentences_at_an_amount_in_the_voices_language():
    tts = PhoneTTSService(
        access=await access(), settings=PhoneTTSService.Settings(language="uk-UA")
    )
    assert isinstance(tts._text_aggregator, PhoneSentenceAggregator)
    assert tts._text_aggregator.language == "uk"
    spoken = []
    for token in ("за 899 ", "грн. ", "Вам"):
        spoken += [a.text async for a in tts._text_aggregator.aggregate(token)]
    assert spoken == ["за 899 грн."]
    module = sys.modules[GoogleSTTService.__module__]
    assert module.service_account is service_account  # pipecat's names are back
    assert module.speech_v2 is speech_v2


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"type": "authorized_user"}), "not a service-account key"),
        (json.dumps({"type": "service_account"}), "no project_id"),
        (
            json.dumps({"type": "service_account", "project_id": "p", "private_key": "x"}),
            "unusable service-account key",
        ),
    ],
)
def test_a_bad_key_is_named_plainly(text, says):
    with pytest.raises(ValueError, match=says):
        parse_credentials(text)
