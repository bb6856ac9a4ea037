"""The language switch: the first transcript in another language switches, once, before it."""

import pytest
from google.cloud.speech_v2.types import cloud_speech
from pipecat.frames.frames import TextFrame, TranscriptionFrame
from pipecat.tests.utils import run_test

from processors.language_switch import LanguageSwitch

pytestmark = pytest.mark.unit


def heard(text: str, code: str) -> TranscriptionFrame:
    result = cloud_speech.StreamingRecognitionResult(language_code=code, is_final=True)
    return TranscriptionFrame(text, "caller", "now", result=result)


def switch() -> LanguageSwitch:
    return LanguageSwitch("uk-UA", ["ru-RU"], lambda code: [TextFrame(f"switch to {code}")])


def kinds(frames) -> list[str]:
    return [f.text if isinstance(f, TextFrame) and not isinstance(f, TranscriptionFrame) else
            f"heard {f.text}" for f in frames if isinstance(f, TextFrame)]  # fmt: skip


async def test_the_first_russian_transcript_switches_before_it_goes_on_and_only_once():
    frames = [heard("Добрий день", "uk-ua"), heard("Здравствуйте", "ru-ru"), heard("Да", "ru-ru")]
    down, _ = await run_test(switch(), frames_to_send=frames)
    assert kinds(down) == [
        "heard Добрий день",
        "switch to ru-RU",
        "heard Здравствуйте",
        "heard Да",
    ]


async def test_the_switch_holds_when_the_caller_mixes_in_the_first_language():
    frames = [heard("Здравствуйте", "ru-ru"), heard("Дякую", "uk-ua"), heard("Пока", "ru-ru")]
    down, _ = await run_test(switch(), frames_to_send=frames)
    assert kinds(down) == ["switch to ru-RU", "heard Здравствуйте", "heard Дякую", "heard Пока"]


async def test_a_language_not_listed_or_not_reported_switches_nothing():
    frames = [heard("Hello", "en-us"), TranscriptionFrame("Привіт", "caller", "now")]
    down, _ = await run_test(switch(), frames_to_send=frames)
    assert kinds(down) == ["heard Hello", "heard Привіт"]
