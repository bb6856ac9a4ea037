"""Sentences for the voice end at an amount's unit too ("899 грн. Вам...")."""

import re

import pytest
from pipecat.utils.text.simple_text_aggregator import SimpleTextAggregator

from processors.sentence_aggregator import PhoneSentenceAggregator

pytestmark = pytest.mark.unit


async def sentences(aggregator: SimpleTextAggregator, text: str) -> list[tuple[int, str]]:
    """Stream ``text`` word by word, as the LLM does; each sentence with the word that let it go."""
    out = []
    for index, token in enumerate(re.findall(r"\s*\S+\s*", text)):
        out += [(index, a.text) async for a in aggregator.aggregate(token)]
    if (rest := await aggregator.flush()) is not None and rest.text:
        out.append((-1, rest.text))  # what the end of the answer let go
    return out


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
    assert await sentences(PhoneSentenceAggregator(language="uk"), text) == [(-1, text)]


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
        (-1, "Слухаю."),
    ]


async def test_other_sentence_ends_are_pipecats():
    text = "Із задоволенням допоможу з навушниками. Вам потрібні накладні. Або вкладиші."
    ours = await sentences(PhoneSentenceAggregator(language="uk"), text)
    assert ours == await sentences(SimpleTextAggregator(language="uk"), text)
    assert ours[0] == (5, "Із задоволенням допоможу з навушниками.")
