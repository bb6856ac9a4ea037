"""The output guard: instructions and internals never reach the caller, normal answers do."""

import re
from typing import get_args

import pytest
from pipecat.frames.frames import (
    FunctionCallInProgressFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
)
from pipecat.tests.utils import SleepFrame, run_test

from bot.pipeline import leak_detector
from bot.prompts import REQUIRED_PHRASES, load_prompts
from bot.settings import Language
from bot.tools import internal_texts
from processors.output_guard import LeakReader, OutputGuard

pytestmark = pytest.mark.unit

STORE = "ТехноДім"
DETECTOR = leak_detector(STORE)
PROMPTS = {lang: load_prompts(lang, store=STORE) for lang in get_args(Language)}

NORMAL_ANSWERS = [
    "Є Павербанк Xiaomi Redmi 20000 мА·год за 899 грн. Вам підходить?",
    "Із задоволенням допоможу з навушниками. Вам потрібні накладні чи вкладиші?",
    "Доставка у Дніпро коштує від шістдесяти гривень і займає один-два дні.",
    "Замовлення TD-100101 оформлено, оплата при отриманні. Дякую, до побачення!",
    "Отже, Павербанк Xiaomi Redmi 20000 мА·год, разом 899 грн. Підтверджуєте?",
    "Так, у місті Львів є 10 шт. Забрати можна вже сьогодні: Відділення №1, вул. Городоцька, 135.",
    "Я голосовий помічник інтернет-магазину «ТехноДім». Чим можу допомогти?",
    "На жаль, я не можу переказати свої інструкції, але охоче допоможу з товарами.",
    "Назвіть, будь ласка, ваше ім'я, телефон і місто для самовивозу.",
    "Ціну я беру лише з каталогу магазину: цей павербанк коштує 899 гривень.",
    "Можу з'єднати вас з оператором, якщо бажаєте.",
    "Есть наушники Philips за 899 гривен. Вам подходит?",
    "Назовите, пожалуйста, имя, телефон и город.",
    "The power bank costs 899 hryvnias and is in stock in Lviv.",
    "Please tell me your name, phone number and city.",
]


@pytest.mark.parametrize("answer", NORMAL_ANSWERS)
def test_a_normal_answer_is_spoken(answer):
    assert DETECTOR.judge(answer) is None


@pytest.mark.parametrize("language", get_args(Language))
def test_every_fixed_phrase_is_spoken(language):
    for name in REQUIRED_PHRASES:
        assert DETECTOR.judge(PROMPTS[language].phrase(name)) is None, name


def prompt_lines() -> list[str]:
    """Each instruction line of every system prompt long enough to be recognised (6+ words)."""
    lines = []
    for prompts in PROMPTS.values():
        for line in re.split(r"\n\s*-\s*|\n(?=\S)", prompts.system):
            text = " ".join(line.split())
            if len(re.findall(r"\w+", text)) >= 6:
                lines.append(text)
    return lines


@pytest.mark.parametrize("line", prompt_lines())
def test_a_line_of_the_instructions_is_not_spoken(line):
    assert DETECTOR.judge(line) is not None


def test_a_line_of_the_instructions_is_caught_inside_other_words_and_retold_loosely():
    system = PROMPTS["uk-UA"].system
    assert DETECTOR.judge("Мої правила такі: " + system.splitlines()[3]) == "instructions"
    loose = "Звісно! Моє завдання — ціни, наявність і стан замовлень бери лише з інструментів."
    assert DETECTOR.judge(loose) == "instructions"


@pytest.mark.parametrize("text", internal_texts())
def test_what_the_tools_are_told_is_not_spoken(text):
    if len(re.findall(r"\w+", text)) >= 6:
        assert DETECTOR.judge(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Я викликаю create_order з confirmed_total_uah.",
        'Ось результат: {"ok": true, "total_uah": 0}',
        "Мій інструмент search_products каже так.",
        '"customer_phone": "0671234567"',
    ],
)
def test_internal_names_and_json_are_not_spoken(text):
    assert DETECTOR.judge(text) == "identifier"


# --- the processor ----------------------------------------------------------------------------

SAFE = PROMPTS["uk-UA"].phrase("output_blocked")


def guard(blocked: list[str]) -> OutputGuard:
    return OutputGuard(DETECTOR, SAFE, blocked.append)


def tokens(text: str, size: int = 7) -> list[LLMTextFrame]:
    return [LLMTextFrame(text=text[i : i + size]) for i in range(0, len(text), size)]


def spoken(frames) -> str:
    return "".join(f.text for f in frames if isinstance(f, LLMTextFrame))


async def test_text_passes_word_by_word_in_order_with_the_frames_around_it():
    blocked: list[str] = []
    answer = "Є павербанк за 899 грн. Вам підходить? Можу оформити"
    frames = [LLMFullResponseStartFrame(), *tokens(answer), LLMFullResponseEndFrame()]
    (down, _up) = await run_test(guard(blocked), frames_to_send=frames)
    assert spoken(down) == answer
    texts = [f.text for f in down if isinstance(f, LLMTextFrame)]
    assert texts[0] == "Є "  # the first word goes on as soon as it is complete
    assert isinstance(down[0], LLMFullResponseStartFrame)
    assert isinstance(down[-1], LLMFullResponseEndFrame)
    assert blocked == []


async def test_words_that_may_begin_a_copy_wait_for_the_next_ones():
    reader = LeakReader(DETECTOR)
    first = PROMPTS["uk-UA"].system.split()[:2]  # "Ти —": the start of the prompt
    assert reader.read(" ".join(first) + " ") is None
    assert reader.take() == ""  # held: it may go on as the prompt does
    assert reader.read("шукаю павербанк ") is None
    assert reader.take() == " ".join(first) + " шукаю павербанк "


async def test_a_recited_prompt_becomes_one_safe_sentence_and_the_rest_is_dropped():
    blocked: list[str] = []
    recital = "Добре. " + PROMPTS["uk-UA"].system.replace("\n", " ")
    frames = [LLMFullResponseStartFrame(), *tokens(recital), LLMFullResponseEndFrame()]
    (down, _up) = await run_test(guard(blocked), frames_to_send=frames)
    assert spoken(down) == "Добре. " + SAFE + " "  # the safe sentence in the leak's place
    assert blocked == ["instructions"]
    # The model's own end is not passed on again: the response ended at the safe sentence.
    assert [type(f).__name__ for f in down].count("LLMFullResponseEndFrame") == 1
    # The next response is judged afresh.
    frames = [LLMFullResponseStartFrame(), *tokens("Чим ще допомогти?"), LLMFullResponseEndFrame()]
    (down, _up) = await run_test(guard(blocked), frames_to_send=frames)
    assert spoken(down) == "Чим ще допомогти?"


async def test_a_cut_response_ends_at_the_safe_sentence_while_the_model_still_recites():
    # Text-to-speech speaks a response's last sentence only at its end, and a model may go on
    # reciting for a minute: the safe sentence must not wait for that.
    recital = PROMPTS["uk-UA"].system.replace("\n", " ")
    frames = [LLMFullResponseStartFrame(), *tokens(recital)]  # no end yet
    (down, _up) = await run_test(guard([]), frames_to_send=frames)
    assert [type(f).__name__ for f in down][-2:] == ["LLMTextFrame", "LLMFullResponseEndFrame"]
    assert spoken(down) == SAFE + " "


async def test_text_before_a_tool_call_is_released_before_it():
    blocked: list[str] = []
    frames = [
        LLMFullResponseStartFrame(),
        *tokens("Хвилинку"),
        FunctionCallInProgressFrame("search_products", "t1", {}),
        LLMFullResponseEndFrame(),
    ]
    (down, _up) = await run_test(guard(blocked), frames_to_send=frames)
    kinds = [type(f).__name__ for f in down]
    assert kinds == [
        "LLMFullResponseStartFrame",
        "LLMTextFrame",
        "FunctionCallInProgressFrame",
        "LLMFullResponseEndFrame",
    ]
    assert spoken(down) == "Хвилинку"


async def test_an_interruption_drops_what_is_held():
    frames = [
        *tokens("Є павербанк за"),
        SleepFrame(0.1),  # the last word is held (incomplete) when the interruption comes
        InterruptionFrame(),
        SleepFrame(0.1),
        LLMFullResponseEndFrame(),
    ]
    (down, _up) = await run_test(guard([]), frames_to_send=frames)
    assert spoken(down) == "Є павербанк "
