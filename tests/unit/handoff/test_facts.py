"""The operator's facts and the assembled summary, from call records (pure)."""

from urllib.parse import parse_qsl

import pytest

from bot.handoff.desk import Handoff
from bot.handoff.facts import SUMMARY_MAX_CHARS, draft_summary, fit, gather_facts
from observability.observers.call_record import CallRecord, ToolCall, Turn

pytestmark = pytest.mark.unit

POWER_BANK = {"sku": "TD-10201", "name": "Павербанк Xiaomi Redmi 20000 мА·год", "price_uah": 899}


def a_call() -> CallRecord:
    record = CallRecord()
    record.turns += [
        Turn(index=1, user_text="Я хочу замовити павербанк Xiaomi на двадцять тисяч."),
        Turn(index=2, user_text="Оформіть у Львові. Олена Коваль, 067 123 45 67."),
        Turn(index=3, user_text="Ні, з'єднайте з оператором."),
    ]
    record.tool_calls += [
        ToolCall("search_products", {"query": "павербанк"}, 1, 1.0, 3.0, "ok",
                 {"ok": True, "products": [{**POWER_BANK, "in_stock": True}]}),
        ToolCall("check_availability", {"sku": "TD-10201"}, 2, 2.0, 3.0, "ok",
                 {"ok": True, "sku": "TD-10201", "name": POWER_BANK["name"], "city": "Львів",
                  "in_stock": True, "quantity": 10}),
        ToolCall("create_order", {}, 2, 3.0, 3.0, "confirmation_required",
                 {"ok": True, "status": "confirmation_required", "total_uah": 899,
                  "items": [{"sku": "TD-10201", "name": POWER_BANK["name"], "quantity": 1,
                             "unit_price_uah": 899}]}),
        ToolCall("search_products", {"query": "x"}, 2, 4.0, 3.0, "store_unavailable",
                 {"ok": False, "error": "store_unavailable"}),
    ]  # fmt: skip
    return record


def test_the_facts_of_a_call():
    facts = gather_facts(a_call(), "caller_request", None)
    assert [(p.sku, p.price_uah) for p in facts.products] == [("TD-10201", 899)]
    assert facts.stock == [f"{POWER_BANK['name']} — Львів: 10"]
    assert (facts.order_state, facts.order_total_uah) == ("quoted", 899)
    assert facts.first_words.startswith("Я хочу замовити павербанк")
    assert facts.last_words == "Ні, з'єднайте з оператором."
    assert facts.caller_turns == 3


def test_the_assembled_summary_reads_like_a_note_in_ukrainian():
    text = draft_summary(gather_facts(a_call(), "caller_request", "Замовити павербанк"))
    assert text.startswith("Причина: клієнт попросив оператора. Хоче: Замовити павербанк.")
    assert "Павербанк Xiaomi Redmi 20000 мА·год (TD-10201, 899 грн)" in text
    assert "Наявність: Павербанк Xiaomi Redmi 20000 мА·год — Львів: 10 шт." in text
    assert "Замовлення: 899 грн, названо суму, не підтверджено." in text
    assert len(text) <= SUMMARY_MAX_CHARS


def test_a_placed_order_and_other_languages():
    record = a_call()
    record.tool_calls.append(
        ToolCall("create_order", {}, 3, 5.0, 4.0, "ordered",
                 {"ok": True, "status": "ordered", "order_id": "TD-100101", "total_uah": 899})
    )  # fmt: skip
    facts = gather_facts(record, "dtmf_zero", None)
    assert "Замовлення: TD-100101 оформлено 899 грн." in draft_summary(facts)
    assert draft_summary(facts, "ru-RU").startswith("Причина: клиент нажал 0.")
    assert draft_summary(facts, "en-US").startswith("Reason: the caller pressed 0.")


def test_phone_numbers_in_the_callers_words_are_masked():
    facts = gather_facts(a_call(), "caller_request", None)
    text = draft_summary(facts)
    assert "067 123 45 67" not in text and "123 45 67" not in str(facts.as_dict())


def test_a_long_summary_is_cut_at_a_word():
    text = fit("слово " * 200)
    assert len(text) <= SUMMARY_MAX_CHARS and text.endswith("слово…")
    assert fit("коротко") == "коротко"


def test_quotes_and_brackets_do_not_reach_the_dialplan():
    """Asterisk's HASH() splits values like arguments: quotes and brackets would regroup them."""
    handoff = Handoff(
        call_uuid="c1", reason="other", summary='Монітор LG 27" 27MR400 (TD-1, 5 999 грн',
        caller_wants="a\nb [c]", summary_source="draft", queue="operators", created_at="t",
    )  # fmt: skip
    values = dict(parse_qsl(handoff.plain()))
    assert values["summary"] == "Монітор LG 27″ 27MR400 （TD-1, 5 999 грн"
    assert values["caller_wants"] == "a b ［c］"
    assert not set(values["summary"] + values["caller_wants"]) & set('"()[]\\\n')


def test_the_plain_form_is_what_asterisk_hash_reads():
    handoff = Handoff(
        call_uuid="c1", reason="caller_request", summary="Причина: скарга & повернення = так",
        caller_wants="Повернути", summary_source="draft", queue="operators", created_at="t",
    )  # fmt: skip
    plain = handoff.plain()
    assert "&" in plain and " " not in plain and "Причина" not in plain  # URL-encoded
    assert dict(parse_qsl(plain)) == {
        "decision": "transfer",
        "reason": "caller_request",
        "queue": "operators",
        "summary": "Причина: скарга & повернення = так",
        "caller_wants": "Повернути",
        "call_uuid": "c1",
    }
