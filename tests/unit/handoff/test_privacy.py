import pytest

from bot.handoff.privacy import OMITTED, minimise

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
