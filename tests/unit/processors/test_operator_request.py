"""Which caller utterances ask for a person (Ukrainian, Russian, English)."""

import pytest

from processors.operator_request import asks_for_person

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "said",
    [
        "З'єднайте мене, будь ласка, з оператором.",
        "З’єднайте з оператором",
        "Оператора, будь ласка.",
        "Оператор!",
        "Мені потрібен оператор",
        "Хочу поговорити з людиною.",
        "Дайте мені живу людину",
        "Можна з менеджером поговорити?",
        "Переключіть на консультанта",
        "Покличте оператора",
        "Соедините с оператором, пожалуйста.",
        "Позовите человека",
        "Переведите на оператора",
        "Хочу поговорить с живым человеком",
        "Мне нужен менеджер",
        "Оператора пожалуйста",
        "Can I talk to a human?",
        "Connect me to an operator please",
        "Operator",
        "I want to speak to a real person",
    ],
)
def test_asks_for_a_person(said):
    assert asks_for_person(said)


@pytest.mark.parametrize(
    "said",
    [
        "Мені потрібні бездротові навушники.",
        "Я вже говорив з оператором, він сказав передзвонити.",
        "Не треба оператора, я сам.",
        "Дякую, до побачення.",
        "Чи є павербанк у Львові?",
        "Оформіть самовивіз у Львові. Олена Коваль, 067 123 45 67.",
        "Я уже разговаривал с менеджером",
        "Мне не нужен оператор",
        "I already talked to an operator",
        "Скільки коштує доставка людині в інше місто?",
        "Хочу замовити павербанк",
    ],
)
def test_does_not_ask_for_a_person(said):
    assert not asks_for_person(said)


@pytest.mark.parametrize(
    "said",
    [
        "Я вже двічі просив, з'єднайте з оператором!",
        "Не хочу с роботом говорить, дайте человека",
        "Соедините с кем-нибудь живым",
        "Покличте, будь ласка, менеджера",
        "I want to speak to someone",
        "Я уже говорил, переключите на оператора",
        "Можна з кимось поговорити?",
    ],
)
def test_asks_for_a_person_in_harder_wordings(said):
    assert asks_for_person(said)


@pytest.mark.parametrize(
    "said",
    [
        "Потрібен телефон для літньої людини",
        "Мне нужен подарок для человека",
        "Хочу павербанк для оператора дрона",
        "Мені потрібен мобільний оператор Київстар",
        "Не треба оператора, я сам",
        "Мне не нужен человек, просто скажите цену",
        "Я хочу human-readable опис",
        "Дякую, оператор не потрібен",
        "Треба роутер, щоб кожна людина в домі мала Wi-Fi",
        "Я хочу замовити, мені вже оператор казав ціну",
    ],
)
def test_buying_for_someone_is_not_asking_for_them(said):
    assert not asks_for_person(said)
