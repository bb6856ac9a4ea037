import pytest

from bot.confirmation import (
    KEY_YES,
    bot_words_between,
    latest_caller_words,
    mentions_amount,
    verdict,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "said",
    [
        "Так.",
        "так, підтверджую",
        "Підтверджую",
        "Так, оформлюйте.",
        "Добре, згодна",
        "Гаразд",
        "Звісно, давайте",
        "Да, подтверждаю",
        "Да.",
        "Хорошо, оформляйте",
        "Согласен",
        "Yes, please do",
        "OK, confirm",
        "yeah",
        KEY_YES,
    ],
)
def test_an_affirmation_is_a_yes(said):
    assert verdict(said) == "yes"


@pytest.mark.parametrize(
    "said",
    [
        "Ні, не підтверджую, я передумала",
        "Ні.",
        "Не треба",
        "Так... ні, не треба",
        "Нет",
        "Нет, я передумал",
        "Да нет, отмените",
        "No",
        "Yes, but not the cable",
        "I don't want it",
        "Так, але дві штуки",
        "Да, только в Киев",
        "Зачекайте",
        "Cancel",
    ],
)
def test_a_refusal_or_a_condition_is_a_no(said):
    assert verdict(said) == "no"


@pytest.mark.parametrize(
    "said",
    [
        "А скільки коштує доставка?",
        "Олена Коваль, Львів",
        "Мене звати Таня",
        "",
        "Какая гарантия?",
        "Також",
        "Токіо",
    ],
)
def test_words_that_neither_affirm_nor_negate_are_unclear(said):
    assert verdict(said) == "unclear"


CONVERSATION = [
    {"role": "user", "content": "Замовте павербанк"},  # turn 1
    {"role": "assistant", "content": "Разом 1 299 грн. Підтверджуєте?"},
    {"role": "user", "content": "Так"},  # turn 2
    {"role": "assistant", "content": [{"type": "text", "text": "Оформлюю."}]},
    {"role": "tool", "content": '{"total_uah": 4999}'},
    {"role": "user", "content": [{"type": "text", "text": "Дякую"}]},  # turn 3
]


def test_the_bot_words_between_two_caller_turns():
    assert bot_words_between(CONVERSATION, 1, 2) == ["Разом 1 299 грн. Підтверджуєте?"]
    assert bot_words_between(CONVERSATION, 2, 3) == ["Оформлюю."]
    assert bot_words_between(CONVERSATION, 1, 3) == ["Разом 1 299 грн. Підтверджуєте?", "Оформлюю."]
    assert bot_words_between(CONVERSATION, 3, 3) == []


def test_the_latest_caller_words():
    assert latest_caller_words(CONVERSATION) == "Дякую"
    assert latest_caller_words(CONVERSATION[:3]) == "Так"
    assert latest_caller_words([]) == ""


@pytest.mark.parametrize("text", ["Разом 1299 грн.", "разом 1 299 грн", "1,299 UAH", "1\u00a0299"])
def test_an_amount_in_digits_is_found_with_or_without_grouping(text):
    assert mentions_amount([text], 1299)


@pytest.mark.parametrize("text", ["Разом 12990 грн.", "Разом 299 грн", "11299", "1299.5", ""])
def test_another_amount_is_not_mistaken_for_it(text):
    assert not mentions_amount([text], 1299)


def test_a_tool_result_is_not_something_the_caller_heard():
    assert not mentions_amount(bot_words_between(CONVERSATION, 2, 3), 4999)
