import pytest

from bot.handoff.privacy import OMITTED, NameHider, introduced_names, minimise

pytestmark = pytest.mark.unit

NAMES = ["Олена Коваль"]


@pytest.mark.parametrize(
    ("text", "initials"),
    [
        ("Олена Коваль, 067 *** ** 67.", "О. К., 067 *** ** 67."),
        ("Замовлення на Олену Коваль у Львові", "Замовлення на О. К. у Львові"),
        ("клієнтка олени коваль", "клієнтка О. К."),
        ("Павербанк для Олексія", "Павербанк для Олексія"),  # another word, not her name
        ("Коваленко", "Коваленко"),  # a longer word is not her name with an ending
    ],
)
def test_the_callers_name_becomes_initials(text, initials):
    assert minimise(text, NAMES) == initials


def test_omit_and_full():
    assert minimise("Олена Коваль", NAMES, "omit") == f"{OMITTED} {OMITTED}"
    assert minimise("Олена Коваль", NAMES, "full") == "Олена Коваль"


def test_strings_inside_facts_are_cut_and_the_rest_is_kept():
    facts = {"first_words": "Я Олена", "caller_turns": 3, "products": [{"name": "Олена-чай"}]}
    out = minimise(facts, NAMES)
    assert out == {"first_words": "Я О.", "caller_turns": 3, "products": [{"name": "О.-чай"}]}


def test_no_names_known_changes_nothing():
    assert minimise("Олена Коваль", []) == "Олена Коваль"


@pytest.mark.parametrize(
    ("said", "names"),
    [
        ("Добрий день, мене звати Олена Коваль, хочу павербанк.", {"Олена Коваль"}),
        ("Мене звуть олена, і я хочу навушники", {"олена"}),
        ("Моє ім'я — Тарас.", {"Тарас"}),
        ("Здравствуйте, меня зовут Ирина Петрова", {"Ирина Петрова"}),
        ("My name is Ann Lee.", {"Ann Lee"}),
        ("my name is ann and I need a charger", {"ann"}),  # a lower-case next word is not a surname
        ("Мене цікавить павербанк", set()),
    ],
)
def test_a_name_the_caller_introduced_themselves_with_is_found(said, names):
    assert introduced_names([said]) == names


def test_an_introduced_name_is_cut_like_an_order_name():
    said = "Мене звати Олена Коваль. Олені потрібен павербанк."
    hide = NameHider(introduced_names([said]))
    assert hide(said) == "Мене звати О. К.. О. потрібен павербанк."
