"""Our share of an answer's latency: voice-to-voice less what the stand-ins injected."""

import pytest

from bot.overhead import InjectedDelays, overhead_by_stage, overhead_ms

pytestmark = pytest.mark.unit

DELAYS = InjectedDelays(
    turn_wait_ms=600, llm_first_token_ms=300, llm_token_interval_ms=15, tts_first_audio_ms=150
)


def _turn(**figures: float | None) -> dict:
    return {
        "index": 1,
        "bot": "Є навушники за 899 грн. Вам підходить?",  # first sentence: 5 words
        "voice_to_voice_ms": 1209.6,
        "end_of_turn_ms": 603.0,
        "llm_first_token_ms": 385.4,
        "tts_first_audio_ms": 206.0,
        "send_ms": 15.2,
    } | figures


def test_a_plain_answer_is_split_by_stage_and_adds_up() -> None:
    stages = overhead_by_stage(_turn(), DELAYS, [])
    # llm 385.4 - 300; tts 206 - (4 words after the first x 15 + 150); send as is; the
    # turn 603 - 600.
    assert stages == {"end_of_turn": 3.0, "llm": 85.4, "tts": -4.0, "send": 15.2}
    assert overhead_ms(_turn(), DELAYS, []) == pytest.approx(1209.6 - 600 - 300 - 60 - 150)


def test_a_store_lookup_adds_a_model_request_its_arguments_and_the_store() -> None:
    tool = {"turn": 1, "name": "search_products", "arguments": {"q": "x" * 14}, "duration_ms": 6}
    plain = overhead_by_stage(_turn(), DELAYS, [])
    looked_up = overhead_by_stage(_turn(), DELAYS, [tool])
    assert plain is not None and looked_up is not None
    # {"q": "xxxxxxxxxxxxxx"} is 21 characters: 3 pieces of 15 ms after the first token.
    assert plain["llm"] - looked_up["llm"] == pytest.approx(300 + 3 * 15 + 6)
    ending = {"turn": 1, "name": "end_call", "arguments": {}, "duration_ms": 1}
    other_turn = tool | {"turn": 2}
    assert overhead_by_stage(_turn(), DELAYS, [ending, other_turn]) == plain


def test_no_answer_or_a_fixed_phrase_has_no_overhead() -> None:
    assert overhead_by_stage(_turn(voice_to_voice_ms=None), DELAYS, []) is None
    assert overhead_by_stage(_turn(bot=""), DELAYS, []) is None
    assert overhead_ms(_turn(llm_first_token_ms=None), DELAYS, []) is None
