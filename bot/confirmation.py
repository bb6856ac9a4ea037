"""Whether the caller really said yes to a quote: their words, and what they were told.

Pure functions over text and the LLM context's messages. An order is placed only when the
caller's latest turn *affirms* ("так", "підтверджую", "да", "yes"... or the key 1) and
*negates nothing* ("ні", "не треба", "передумала", "нет", "no"...; a "but" makes it unclear
too), and when the bot's own words since the quote carried the quoted total: a quote the
model never read out cannot be confirmed, whatever it claims.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from processors.keypad_yes import KEY_YES

Verdict = Literal["yes", "no", "unclear"]

_FOLD = str.maketrans({"ё": "е", "ї": "і", "’": "'", "ʼ": "'", "`": "'"})
_YES = re.compile(
    r"\b(?:так|підтверджую|підтверджуємо|підтверджу|згоден|згодна|згодні|добре|гаразд|звісно|"
    r"звичайно|авжеж|оформлюйте|оформляйте|оформіть|оформте|замовляйте|давайте|правильно|"
    r"вірно|саме так|ок|окей|ага|угу|"
    r"да|подтверждаю|подтверждаем|согласен|согласна|согласны|хорошо|конечно|оформите|"
    r"заказывайте|верно|именно|"
    r"yes|yeah|yep|sure|ok|okay|confirm|confirmed|correct|go ahead|please do)\b"
)
_NO = re.compile(
    r"\b(?:ні|нi|не|нема|немає|ніяк|нет|неа|ни|no|nope|not|don't|dont|never|cancel|stop|"
    r"передумав|передумала|передумали|передумал|скасуйте|скасувати|скасуй|відмініть|відміна|"
    r"відмовляюсь|відмовляюся|отмена|отмените|отменить|отказываюсь|зачекайте|почекайте|"
    r"подождите|wait|"
    # a condition or a change is not a yes either: the model has to quote again
    r"але|однак|тільки|лише|но|однако|только|but|only|except)\b"
)


def verdict(said: str) -> Verdict:
    """``yes`` if ``said`` affirms and negates nothing, ``no`` if it negates, else unclear."""
    if said.strip() == KEY_YES:
        return "yes"
    text = " ".join(said.lower().translate(_FOLD).split())
    if _NO.search(text):
        return "no"
    return "yes" if _YES.search(text) else "unclear"


def message_text(message: Any) -> str:
    """The text of an LLM context message (a string or a list of text parts)."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return " ".join(str(p.get("text", "")) for p in parts)
    return ""


def latest_caller_words(messages: list[Any]) -> str:
    """What the caller said in their latest turn (the last user message)."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message)
    return ""


def bot_words_between(messages: list[Any], after_turn: int, before_turn: int) -> list[str]:
    """The bot's texts after caller turn ``after_turn`` and before caller turn ``before_turn``."""
    turn, said = 0, []
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "user":
            turn += 1
        elif message.get("role") == "assistant" and after_turn <= turn < before_turn:
            said.append(message_text(message))
    return said


_GROUPED = re.compile(r"(?<=\d)[\s\u00a0\u202f,.'](?=\d{3}(?!\d))")


def mentions_amount(texts: Iterable[str], amount: int) -> bool:
    """Whether any text names ``amount`` in digits ("1299", "1 299", "1,299")."""
    number = re.compile(rf"(?<![\d.,]){amount}(?![\d]|[.,]\d)")
    return any(number.search(_GROUPED.sub("", text)) for text in texts)
