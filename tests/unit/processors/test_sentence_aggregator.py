"""Sentences for the voice end as soon as they are complete: at a word's period, at an
amount's unit ("899 грн. Вам..."), at "?" and "!"."""

import re

import pytest
from pipecat.utils.text.simple_text_aggregator import SimpleTextAggregator

from processors.sentence_aggregator import PhoneSentenceAggregator

pytestmark = pytest.mark.unit


async def sentences(
    aggregator: SimpleTextAggregator, text: str, tokens: str = r"\s*\S+\s*"
) -> list[tuple[int, str]]:
    """Stream ``text`` word by word, as the LLM does; each sentence with the word that let it go.

    The words carry the space after them (as the Claude stand-in streams them), or with
    ``tokens=CLAUDE_TOKENS`` the space before them (as Claude's tokens do).
    """
    out = []
    for index, token in enumerate(re.findall(tokens, text)):
        out += [(index, a.text) async for a in aggregator.aggregate(token)]
    if (rest := await aggregator.flush()) is not None and rest.text:
        out.append((-1, rest.text))  # what the end of the answer let go
    return out


CLAUDE_TOKENS = r"\s*\S+"
PRICE = "Є навушники за 899 грн. Вам підходить?"


async def test_pipecat_holds_a_ukrainian_price_sentence_until_the_answer_ends():
    # Why ours exists: sentencex takes "грн." for an abbreviation in Ukrainian.
    assert await sentences(SimpleTextAggregator(language="uk"), PRICE) == [(-1, PRICE)]


@pytest.mark.parametrize("language", ["uk", "ru", "en"])
async def test_a_price_sentence_goes_as_soon_as_the_next_word_starts(language: str):
    assert await sentences(PhoneSentenceAggregator(language=language), PRICE) == [
        (5, "Є навушники за 899 грн."),  # with "Вам", the word after it
        (6, "Вам підходить?"),  # at once
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Разом 1 299 грн. Підтверджуєте?",
        "Доставка займе 2 год. Добре?",
        "Є 10 шт. Забрати можна сьогодні.",
        "Вага 200 г. Вам підходить?",
    ],
)
async def test_amounts_end_sentences(text: str):
    first, _ = text.split(". ", 1)
    assert (await sentences(PhoneSentenceAggregator(language="uk"), text))[0][1] == first + "."


@pytest.mark.parametrize(
    "text",
    [
        "Магазин на вул. Шевченка працює до восьмої.",  # no number before the street
        "Так, у м. Київ є самовивіз.",  # nor before the town
        "Вартість 2 тис. грн за комплект.",  # the amount goes on
    ],
)
async def test_abbreviations_inside_a_sentence_do_not_end_it(text: str):
    said = await sentences(PhoneSentenceAggregator(language="uk"), text)
    assert [sentence for _, sentence in said] == [text]


async def test_a_question_or_an_exclamation_goes_without_waiting_for_the_next_word():
    text = "Добрий день! Чим допомогти? Слухаю."
    assert await sentences(SimpleTextAggregator(language="uk"), text) == [
        (2, "Добрий день!"),  # pipecat: with "Чим", the word after it
        (4, "Чим допомогти?"),
        (-1, "Слухаю."),
    ]
    assert await sentences(PhoneSentenceAggregator(language="uk"), text) == [
        (1, "Добрий день!"),
        (3, "Чим допомогти?"),
        (4, "Слухаю."),  # with its own word (pipecat: when the answer ends)
    ]


ANSWER = "Із задоволенням допоможу з навушниками. Вам потрібні накладні. Або вкладиші."


async def test_pipecat_waits_for_the_next_word_after_every_period():
    assert (await sentences(SimpleTextAggregator(language="uk"), ANSWER))[0] == (
        5,  # "Вам"
        "Із задоволенням допоможу з навушниками.",
    )


@pytest.mark.parametrize("tokens", [r"\s*\S+\s*", CLAUDE_TOKENS])
@pytest.mark.parametrize("language", ["uk", "ru", "en"])
async def test_a_period_after_a_word_ends_the_sentence_at_once(tokens: str, language: str):
    assert await sentences(PhoneSentenceAggregator(language=language), ANSWER, tokens) == [
        (4, "Із задоволенням допоможу з навушниками."),
        (7, "Вам потрібні накладні."),
        (9, "Або вкладиші."),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Магазин на просп. Перемоги працює до восьмої.",  # an abbreviation of four letters
        "Отримувач Олена К. Коваль, так?",  # an initial
        "Пишіть на shop@example.com. Відповімо.",  # an address
        "Зараз перевірю... Так, є.",  # an ellipsis: its dots come together
        "Це все. Ще щось?",  # a short word, maybe an abbreviation
    ],
)
@pytest.mark.parametrize("tokens", [r"\s*\S+\s*", CLAUDE_TOKENS])
async def test_other_periods_are_left_to_pipecat(text: str, tokens: str):
    # The first sentence, the period's: the rest ends at "?", which ours lets go sooner.
    ours = await sentences(PhoneSentenceAggregator(language="uk"), text, tokens)
    assert ours[0] == (await sentences(SimpleTextAggregator(language="uk"), text, tokens))[0]


async def test_a_decimal_point_at_the_end_of_a_token_waits_for_the_digits():
    aggregator = PhoneSentenceAggregator(language="uk")
    for token in ("Вага ", "2.", "5 кг"):
        assert [a async for a in aggregator.aggregate(token)] == []
