"""Storage records: what a call turns into, before any database sees it."""

import json

import pytest

from bot.prompts import load_prompts
from bot.storage import records
from observability.observers.call_record import ToolCall, Turn

pytestmark = pytest.mark.unit

KEY = b"k" * 32


def test_a_caller_number_is_a_keyed_hash_of_its_digits():
    a = records.caller_number_hash("+380 67 123 45 67", KEY)
    assert a == records.caller_number_hash("067-123-45-67", KEY)  # the same subscriber
    assert a != records.caller_number_hash("067 123 45 68", KEY)
    assert a != records.caller_number_hash("+380 67 123 45 67", b"other key" * 4)
    assert "123" not in a and len(a) == 64


def test_records_are_plain_json():
    turn = Turn(
        index=1,
        user_text="Чи є павербанк?",
        speech_end=2.0,
        turn_end=2.6,
        llm_first_token=3.0,
        tts_first_audio=3.2,
        wire_audio=3.25,
        bot_text="Є.",
    )
    tool = ToolCall(
        "search_products", {"query": "павербанк"}, 1, started=2.7, duration_ms=3.0, status="ok"
    )
    made = [
        records.prompt_version(load_prompts("uk-UA", store="ТехноДім")),
        records.call_started(
            "c",
            started_at=records.now_iso(),
            language="uk-UA",
            pipeline="voice",
            prompt_version="abc",
        ),
        records.caller_turn("c", turn),
        records.bot_turn("c", turn),
        records.tool_call("c", 0, tool),
        records.handoff(
            "c",
            reason="caller_request",
            caller_wants="x",
            summary=None,
            created_at=records.now_iso(),
        ),
        records.call_ended(
            "c",
            ended_at=records.now_iso(),
            duration_ms=9000,
            outcome="completed",
            outcome_reason=None,
            turns=[Turn(index=0), turn],
        ),
    ]
    for record in made:
        assert json.loads(json.dumps(record)) == record
    bot = made[3]
    assert bot["at_ms"] == 3250 and bot["latency"]["voice_to_voice_ms"] == 1250.0
    assert made[2]["at_ms"] == 2000  # the caller's line is placed where their speech ended
    assert made[-1]["turns"] == 1  # the greeting is not a caller turn


def test_latency_summary_per_stage():
    turns = [
        Turn(index=i, user_text="x", speech_end=0.0, wire_audio=v / 1000)
        for i, v in enumerate([1000, 1200, 1100, 5000], start=1)
    ]
    summary = records.latency_summary(turns)["voice_to_voice_ms"]
    assert summary == {"count": 4, "median": 1150.0, "p95": 5000.0, "max": 5000.0}
    assert "llm_first_token_ms" not in records.latency_summary(turns)  # no such stage happened
