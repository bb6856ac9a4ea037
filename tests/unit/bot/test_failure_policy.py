"""The failure policy's decisions: apologise, give up, and nothing once the call is ending."""

import pytest

from bot.failure_policy import FailurePolicy
from bot.phrases import FixedPhrases
from bot.prompts import load_prompts

pytestmark = pytest.mark.unit


class Speaker:
    """Records what the policy asks to say (FallbackSpeech plays it in a real call)."""

    def __init__(self) -> None:
        self.said: list[str] = []

    async def say(self, _pcm: bytes, text: str) -> None:
        self.said.append(text)


def policy() -> tuple[FailurePolicy, Speaker, list[str]]:
    speaker, gave_up = Speaker(), []

    async def give_up(reason: str) -> None:
        gave_up.append(reason)

    phrases = FixedPhrases(
        {"uk-UA": load_prompts("uk-UA", store="ТехноДім")}, {"uk-UA": {"apology": b""}}, "uk-UA"
    )
    return FailurePolicy(speaker, phrases, give_up), speaker, gave_up


async def test_first_failure_apologises_second_gives_up():
    p, speaker, gave_up = policy()
    await p.handle_failure("llm", "deadline")
    await p.handle_failure("stt", "deadline")
    assert speaker.said == [load_prompts("uk-UA", store="ТехноДім").phrase("apology")]
    assert gave_up == ["service_failure"]


async def test_once_the_call_is_ending_a_failure_is_only_recorded():
    """Issue 15, point 8: the transfer phrase (or goodbye) is the last thing said."""
    p, speaker, gave_up = policy()
    p.close()
    await p.handle_failure("llm", "deadline")
    await p.handle_failure("llm", "deadline")
    assert speaker.said == [] and gave_up == []
    assert p.failures == [("llm", "deadline"), ("llm", "deadline")]
