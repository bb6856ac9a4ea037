"""Rewrites numbers, prices, phone numbers, codes and units as words a TTS voice reads right.

The LLM writes the way a web page does: ``1 299 грн``, ``20000 мАг``, ``6,1″``,
``+380 67 123 45 67``, ``TD-10423``, ``15%``. A Ukrainian or Russian voice reads such text
badly (wrong gender, wrong plural, digit salad), so each sentence goes through `speakable` just
before synthesis, through the pipecat text transform that `speakable_transform` returns. The
transcript and the LLM context keep the original text; only the voice hears the words.

What is handled, and how it is read (Ukrainian; Russian mirrors it with Russian words):

* **Integers** 0..999 999 999 become words that agree with the noun after them: plural form
  one/few/many (1, 21, 101 / 2-4, 22-24 / 0, 5-20, 25...) and gender for 1 and 2
  (один/одна/одне, два/дві). A leading scale of exactly one drops "одна/один": 1000 is
  "тисяча", 1 000 000 is "мільйон" (21 000 keeps it: "двадцять одна тисяча"). Longer digit
  runs are read digit by digit. Leading zeros are read as "нуль" ("05" -> "нуль п'ять").
* **Thousands separators**: a space, NBSP or narrow NBSP between groups of three digits. A plain
  space does not join a number that directly follows a Latin word ("iPhone 15 128 ГБ" is a
  model number and a capacity) unless a price follows ("iPhone 45 999 грн"). A comma or a dot
  is a decimal separator, never a thousands one.
* **Case**: after від/до/близько/більше/менше/без/замість/після/протягом (от/до/около/более/
  менее/больше/меньше/свыше/без/вместо/после/в течение) a number and its unit are put in the
  genitive: "до 1000 грн" -> "до тисячі
  гривень", "від 500 до 900 грн" -> "від п'ятисот до дев'ятисот гривень". After за/на/через
  the accusative changes the feminine "one" and "тисяча": "за 1 грн" -> "за одну гривню",
  "за 1 499 грн" -> "за тисячу чотириста дев'яносто дев'ять гривень". After над/під/перед/між
  the instrumental, and after з/із/зі (с/со) too when it means "with": "з 16 ГБ" -> "з
  шістнадцятьма гігабайтами", "з 2 камерами" -> "з двома камерами" (but "з 2 кольорів", "з 500
  грн", "набір з 3 шт", "з 5 до 7 днів" mean "from"/"of" and stay genitive). After у/в/на the
  locative when the noun after the number is locative ("у 2 кольорах" -> "у двох кольорах",
  "на 5 складах"), after при always ("при 25 °C" -> "при двадцяти п'яти градусах"). Every
  word of a compound number is declined ("з двадцятьма одним гігабайтом"); a round thousand
  counts its unit in the genitive plural ("з двадцятьма тисячами міліампер-годин"). A second
  number joined by "і"/"та" is still read in the nominative ("з 128 ГБ і 8 ГБ" -> "... і вісім
  гігабайтів"). Everything else is nominative.
* **Money**: ``грн``/``грн.``/``₴``/``UAH`` after a number, or ``₴`` before it, read as гривня
  (feminine) in the agreeing form; two fractional digits are kopecks ("1 299,50 грн" ->
  "тисяча двісті дев'яносто дев'ять гривень п'ятдесят копійок"), one is tens of kopecks.
  A currency word the LLM spelled out ("5 гривень") is kept and only the number agrees with it.
* **Ranges** ``1000–2000 грн``, ``5-7 днів``: both numbers take the unit's gender and the unit
  agrees with the last one; the dash stays as a pause ("тисяча – дві тисячі гривень").
* **Units** (with or without a space): шт, мАг/mAh, Вт/W, кВт, Вт·год, ГБ/ТБ/МБ, Гц/кГц/МГц/ГГц,
  мм/см/м/км, кг/г, л/мл, хв, год (uk) / мин, ч (ru), сек, %, °C, and ″ or " glued to a number
  (inches). An abbreviation's dot is dropped unless it ends the sentence.
* **Decimals** ``4,5`` / ``4.5``: the formal reading, "чотири цілих п'ять десятих", up to three
  fractional digits (десятих/сотих/тисячних); the unit after a decimal takes the genitive
  singular ("шість цілих одна десята дюйма"). A zero fraction is dropped ("6,0" -> "шість").
  More digits are read "кома" and digit by digit. After a Latin word a dotted number is a
  version: "Bluetooth 5.3" -> "Bluetooth п'ять крапка три".
* **Phone numbers**: 10 digits starting with 0 or 12 starting with 380, with the usual
  separators, are regrouped the way Ukrainians dictate them (0XX XXX XX XX, +380 XX XXX XX XX,
  or +38 0XX ... when written so) and each group read as a number: "плюс триста вісімдесят,
  шістдесят сім, сто двадцять три, сорок п'ять, шістдесят сім". Also ``123-45-67``.
* **Codes** (SKUs, order ids): one to four capital letters, an optional hyphen and three or
  more digits, as one token: letters by name, digits one by one ("TD-10423" -> "те де один
  нуль чотири два три"). Anything else with letters and digits glued together ("WF-C700N",
  "S24", "5G", "7800X3D") is left exactly as written for the voice to read.
* **Times** ``9:00``, ``18:30``: Ukrainian hours as feminine ordinals in the case the
  preposition asks for, ":00" dropped ("з 9:00 до 18:00" -> "з дев'ятої до вісімнадцятої",
  "о 9:30" -> "о дев'ятій тридцять"); Russian hours as cardinals ("с девяти до восемнадцати",
  "в девять ноль ноль").
* **Signs**: a leading ``-``/``−``/``+`` is "мінус"/"плюс"; ``№`` before a number is "номер";
  ``24/7`` is "цілодобово" ("круглосуточно").

* **Abbreviations** of addresses and catalogue text are read in full: вул., просп., пров.,
  бульв., пл., буд., кв., обл., р-н, смт, тел., відд., ім. (ул., пер., д., пгт, отд., им. ...
  in Russian), "м." (г.) before a city's name as місто/місті/міста (город/городе/города) as
  the word before it asks; "міс." (мес.) after a number is months.

* **Dates** ``31.12`` and ``25.12.2024`` (a year of this century) are read "on what day":
  "тридцять першого грудня", "двадцять п'ятого грудня дві тисячі двадцять четвертого року"
  ("тридцать первого декабря ... года"); a dotted number before a unit stays a decimal.

Left as written: calendar years before рік/року/р. (год/г. in Russian), other dates,
lists like ``1,2,3``, ordinal suffixes (``1-й``, ``5-річна``) and everything
that is not a number. Output never contains a digit from a handled pattern.

English (``en-US``) keeps digits for the English voice: thousands separators are removed
("1 299" -> "1299"), a decimal comma becomes a dot, units become English words
("1 299 грн" -> "1299 hryvnias", "1 грн" -> "1 hryvnia") and phone numbers are grouped with
commas ("plus 380, 67, 123, 45, 67").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final, cast

from processors.speech_words import (
    ABBREVIATIONS,
    ACCUSATIVE_PREPOSITIONS,
    ADJECTIVE_ENDINGS,
    ALWAYS_LOCATIVE,
    CITY_ABBREVIATIONS,
    COUNTED_FROM,
    DAY_ORDINALS,
    EN_ONES,
    EN_TENS,
    EN_UNITS,
    FEMININE_GENITIVE_ENDINGS,
    FEMININE_NOUNS,
    GENITIVE_PREPOSITIONS,
    INSTRUMENTAL_ENDINGS,
    INSTRUMENTAL_PREPOSITIONS,
    LANGUAGE_UNIT_SPELLINGS,
    LETTER_NAMES,
    LOCATIVE_ENDINGS,
    LOCATIVE_PREPOSITIONS,
    MASCULINE_NOUNS,
    MONTHS,
    NEUTER_ENDINGS,
    NEUTER_NOUNS,
    NOT_NOUNS,
    NUMERALS,
    RANGE_OPENERS,
    ROUND_THE_CLOCK,
    TENS_ORDINALS,
    TIME_CASES,
    UK_ORDINAL_ENDINGS,
    UK_ORDINAL_STEMS,
    UNIT_SPELLINGS,
    UNITS,
    WITH_OR_FROM,
    YEAR_WORDS,
    Case,
    Gender,
    Numerals,
    Plural,
)

SUPPORTED_LANGUAGES: Final[tuple[str, ...]] = ("uk-UA", "ru-RU", "en-US")
"""Languages `speakable` knows; anything else is a configuration error."""

MAX_NUMBER: Final = 999_999_999
"""Largest integer read as a number; longer digit runs are read digit by digit."""

_log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Patterns
# ---------------------------------------------------------------------------------------------

_SPACES: Final = "[ \u00a0\u202f]"
_UPPER: Final = "A-ZА-ЯЁҐЄІЇ"
# Integer: groups of three joined by a space, by a no-break space, or a plain digit run. Right
# after a Latin word a plain space joins only a price ("iPhone 15 128 ГБ" is a model and a
# capacity, "iPhone 45 999 грн" a price).
_INT: Final = (
    r"(?:(?<![A-Za-z][ ])[1-9][0-9]{0,2}(?:[ \u00a0\u202f][0-9]{3})+"
    r"|[1-9][0-9]{0,2}(?:[ \u00a0\u202f][0-9]{3})+"
    r"(?=(?:[.,][0-9]+)?[ \u00a0\u202f]?(?:грн|₴|UAH|грив))"
    r"|[1-9][0-9]{0,2}(?:[\u00a0\u202f][0-9]{3})+"
    r"|[0-9]+)"
)
_NUM: Final = rf"{_INT}(?:[.,][0-9]+)?"
# A number's token must not be glued to a letter, another number, a code ("td-10423") or
# continue as a list, date or version ("1,2,3", "25.12.2024").
_NUMBER_START: Final = r"(?<![\w.,])(?<![^\W\d_]-)(?<![0-9][\-–—])"
_NUMBER_END: Final = r"(?![\w]|[.,:][0-9]|-[^\W\d_]|[\-–—][0-9])"
_PHONE_GAP: Final = r"[ \u00a0\u202f()\-]{0,2}"
_WORD: Final = r"[^\W\d_]+(?:['’ʼ\-][^\W\d_]+)*"


def _alternation(spellings: list[str]) -> str:
    return "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def _pattern(language: str) -> re.Pattern[str]:
    """The one pattern that finds every handled span, first alternative winning."""
    units = _alternation([*UNIT_SPELLINGS, *LANGUAGE_UNIT_SPELLINGS[language]])
    years = r"рр?\.|рік|року|році|роком" if language == "uk-UA" else r"гг?\.|год|года|году|годом"
    return re.compile(
        rf"""
        (?<![\w+.,()\-])(?<![0-9]{_SPACES})(?P<phone>\+?\(?(?:38{_PHONE_GAP}0|0)(?:{_PHONE_GAP}[0-9]){{9}})
            (?![\w\-–—]|[.,][0-9])
        |(?<![\w+.,\-])(?P<local>[0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}})(?![\w\-]|[.,][0-9])
        |(?<![\w.,:])(?P<date>(?P<day>0[1-9]|[12][0-9]|3[01])\.(?P<month>0[1-9]|1[0-2])
            (?:\.(?P<dyear>20[0-9]{{2}})(?:{_SPACES}?(?P<yabbr>[рг]\.))?)?)(?![\w]|[.,][0-9])
            (?!{_SPACES}?(?:{units})(?![^\W\d_]))
        |(?<![\w.,:])(?P<time>(?P<hh>[01]?[0-9]|2[0-3]):(?P<mm>[0-5][0-9]))
            (?![\w:]|[.,][0-9])
        |(?<![\w\-])(?P<code>(?P<letters>[{_UPPER}]{{1,4}})-?(?P<digits>[0-9]{{3,}}))
            (?![\w\-]|[.,][0-9])
        |{_NUMBER_START}(?P<year>[12][0-9]{{3}}(?:[–—\-][12][0-9]{{3}})?)
            (?={_SPACES}?(?:{years})(?![^\W\d_]))
        |(?<=[A-Za-z][ ])(?P<version>[0-9]+(?:\.[0-9]+)+)(?![\w]|[.,][0-9])
        |(?<![\w/])(?P<always>24/7)(?![\w/])
        |(?P<numero>№){_SPACES}?(?=[0-9])
        |(?P<quantity>
            (?:(?P<prefix>₴){_SPACES}?)?
            (?P<sign>(?<![\w)\]])[\-−+])?
            {_NUMBER_START}(?P<n1>{_NUM})
            (?:(?P<dash>{_SPACES}?[–—]{_SPACES}?|-(?=[0-9]))(?P<n2>{_NUM})
               |(?P<upto>{_SPACES}+(?:до){_SPACES}+)(?P<n3>{_NUM}))?
            (?:(?P<mark>[″"])
               |{_SPACES}?(?P<unit>{units})(?:(?<=[^\W\d_])\.(?=[ \u00a0]*[^\s{_UPPER}]))?)?
            {_NUMBER_END}
        )
        """,
        re.VERBOSE,
    )


# How far around a match the context is read: a word or two, a sentence.
_LOOKBEHIND_CHARS: Final = 40
_LOOKAHEAD_CHARS: Final = 80
_SENTENCE_CHARS: Final = 300
_PREVIOUS_WORD: Final = re.compile(rf"({_WORD})[ \u00a0]*$")
_NEXT_WORDS: Final = re.compile(rf"[ \u00a0]*({_WORD})(?:[ \u00a0]+({_WORD}))?")
_NON_DIGITS: Final = re.compile(r"[^0-9]")
_UPTO_FOLLOWS: Final = re.compile(r"[^.!?]{0,30}?(?<!\w)(?:до|по)[ \u00a0]+[0-9]")
_GROUP_SPACES: Final = re.compile(_SPACES)

# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def speakable(text: str, language: str) -> str:
    """Rewrite numbers, prices, phones, codes and units in ``text`` as words for TTS.

    Args:
        text: One sentence (or any text) as the LLM wrote it.
        language: ``uk-UA``, ``ru-RU`` or ``en-US``.

    Returns:
        The text with every handled pattern spelled out (Ukrainian, Russian) or tidied for an
        English voice; everything else is returned unchanged. Never raises on any ``text``.

    Raises:
        ValueError: ``language`` is not one of `SUPPORTED_LANGUAGES`.
    """
    _check_language(language)
    if language in CITY_ABBREVIATIONS:
        text = _abbreviations(language).sub(lambda m: _say_abbreviation(m, language), text)
    if not any("0" <= ch <= "9" for ch in text):
        return text
    return _pattern(language).sub(lambda m: _replace(m, language), text)


@cache
def _abbreviations(language: str) -> re.Pattern[str]:
    spelled = sorted(ABBREVIATIONS[language], key=len, reverse=True)
    capital = [a.capitalize() for a in spelled if len(a.rstrip(".")) > 1]  # "Д." is an initial
    words = "|".join(re.escape(a) for a in spelled + capital)
    city = {"uk-UA": "м", "ru-RU": "г"}[language]
    return re.compile(
        rf"(?<![\w\-.])(?:(?P<word>{words})(?![\w\-])"
        rf"|(?<![0-9][ \u00a0\u202f])(?P<city>{city})\.(?=[ \u00a0\u202f]*[{_UPPER}]))"
    )


def _say_abbreviation(m: re.Match[str], language: str) -> str:
    if m["city"]:
        city = CITY_ABBREVIATIONS[language]
        return city.get(_previous_word(m.string, m.start()), city[""])
    written = m["word"]
    full = ABBREVIATIONS[language][written.lower()]
    return full.capitalize() if written[0].isupper() else full


def number_words(n: int, language: str, gender: str = "m") -> str:
    """Say a whole number in words, in the nominative.

    Args:
        n: 0..999 999 999.
        language: ``uk-UA``, ``ru-RU`` or ``en-US``.
        gender: Gender of the counted noun, ``m``, ``f`` or ``n``; decides один/одна/одне and
            два/дві. Ignored in English.

    Returns:
        The number in words, e.g. ``number_words(2021, "uk-UA", "f")`` is
        "дві тисячі двадцять одна". Exactly 1000 and 1 000 000 are "тисяча" and "мільйон".

    Raises:
        ValueError: Unknown language or gender, or ``n`` out of range.
    """
    _check_language(language)
    if gender not in ("m", "f", "n"):
        raise ValueError(f"gender must be 'm', 'f' or 'n', not {gender!r}")
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"{n} is outside 0..{MAX_NUMBER}")
    if language == "en-US":
        return _english_words(n)
    return _integer_words(n, NUMERALS[language], cast(Gender, gender), "nom")


def prepare() -> None:
    """Build every language's pattern now (~30 ms each), not in a call's first answer."""
    for language in SUPPORTED_LANGUAGES:
        _pattern(language)


def speakable_transform(
    language: str, current: Callable[[], str] | None = None
) -> Callable[[str, str], Awaitable[str]]:
    """Build the pipecat TTS text transform that applies `speakable`.

    Use as ``TTSService(text_transforms=[("*", speakable_transform("uk-UA"))])``.

    Args:
        language: ``uk-UA``, ``ru-RU`` or ``en-US``.
        current: If given, asked for the language of each sentence (a call whose voice
            switches language); ``language`` is then only the first one.

    Returns:
        ``async (text, text_type) -> text``. Should rewriting ever fail, it logs and returns
        the text unchanged, because pipecat drops the whole turn's audio when a transform
        raises.

    Raises:
        ValueError: ``language`` is not supported (checked now, not on the first sentence).
    """
    _check_language(language)

    async def transform(text: str, text_type: str) -> str:
        try:
            spoken = current() if current is not None else language
            return speakable(text, spoken if spoken in SUPPORTED_LANGUAGES else language)
        except Exception:
            _log.exception("speakable failed; speaking the text as written")
            return text

    return transform


def _check_language(language: str) -> None:
    if language not in SUPPORTED_LANGUAGES:
        raise ValueError(
            f"unsupported language {language!r}; supported: {', '.join(SUPPORTED_LANGUAGES)}"
        )


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def _plural(n: int) -> Plural:
    """Slavic plural category of a whole number."""
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def _table(case: Case) -> str:
    """The numeral table of a case; the (inanimate) accusative is the nominative's."""
    return "nom" if case == "acc" else case


def _below_thousand(n: int, num: Numerals, gender: Gender, case: Case) -> list[str]:
    table = _table(case)
    hundreds, rest = divmod(n, 100)
    words = [num.hundreds[table][hundreds]] if hundreds else []
    if 10 <= rest < 20:
        return [*words, num.teens[table][rest - 10]]
    tens, unit = divmod(rest, 10)
    if tens:
        words.append(num.tens[table][tens])
    if unit == 1:
        words.append(num.one[(case, gender)])
    elif unit == 2 and gender == "f":
        words.append(num.two_feminine[case])
    elif unit:
        words.append(num.units[table][unit])
    return words


def _integer_words(n: int, num: Numerals, gender: Gender, case: Case) -> str:
    """0..999 999 999 in words; a leading "one thousand"/"one million" is just the noun."""
    if n == 0:
        return num.zero[_table(case)]
    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    words: list[str] = []
    for count, scale in ((millions, num.million), (thousands, num.thousand)):
        if count == 1 and not words:
            words.append(scale.agree("one", case))
        elif count:
            words += _below_thousand(count, num, scale.gender, case)
            words.append(scale.agree(_plural(count), case))
    if units:
        words += _below_thousand(units, num, gender, case)
    return " ".join(words)


def _digits_words(digits: str, num: Numerals) -> str:
    """Each digit on its own: "10423" -> "один нуль чотири два три"."""
    return " ".join(num.zero["nom"] if d == "0" else num.units["nom"][int(d)] for d in digits)


def _group_words(digits: str, num: Numerals, gender: Gender = "m", case: Case = "nom") -> str:
    """A digit group as dictated: leading zeros one by one, then the rest as a number."""
    stripped = digits.lstrip("0")
    zeros = [num.zero["nom"]] * (len(digits) - len(stripped))
    if not stripped:
        return " ".join(zeros) if len(digits) > 1 else num.zero[_table(case)]
    if len(stripped) > len(str(MAX_NUMBER)):
        return " ".join([*zeros, _digits_words(stripped, num)])
    return " ".join([*zeros, _integer_words(int(stripped), num, gender, case)])


def _english_words(n: int) -> str:
    if n < 20:
        return EN_ONES[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return EN_TENS[tens] + (f"-{EN_ONES[unit]}" if unit else "")
    for size, name in ((1_000_000, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return f"{_english_words(head)} {name}" + (f" {_english_words(rest)}" if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover


_TAIL_DIGITS: Final = 18


@dataclass(frozen=True)
class _Number:
    """A number as written: integer digits (separators removed) and fractional digits."""

    integer: str
    fraction: str  # "" when there is none

    @classmethod
    def parse(cls, written: str) -> _Number:
        written = _GROUP_SPACES.sub("", written)
        integer, _, fraction = written.replace(",", ".").partition(".")
        return cls(integer, fraction)

    @property
    def value(self) -> int:
        """The integer; for runs too long to be a number only its tail, which sets the plural."""
        return int(self.integer[-_TAIL_DIGITS:])

    @property
    def is_fractional(self) -> bool:
        return bool(self.fraction.strip("0"))

    @property
    def plural(self) -> Plural:
        return "fraction" if self.is_fractional else _plural(self.value)


def _say_number(number: _Number, num: Numerals, gender: Gender, case: Case) -> str:
    """A number in words; decimals read "чотири цілих п'ять десятих"."""
    if not number.is_fractional:
        return _group_words(number.integer, num, gender, case)
    fraction = number.fraction
    if len(fraction) > 3 or len(number.integer.lstrip("0")) > len(str(MAX_NUMBER)):
        whole = _group_words(number.integer, num, gender, case)
        return f"{whole} {num.comma} {_digits_words(fraction, num)}"
    whole, part = number.value, int(fraction)
    denominator = num.fraction[len(fraction)]
    return " ".join(
        [
            _integer_words(whole, num, "f", case),
            num.whole.agree(_plural(whole), case),
            _integer_words(part, num, "f", case),
            denominator.agree(_plural(part), case),
        ]
    )


def _say_money(number: _Number, num: Numerals, language: str, case: Case) -> str:
    """Hryvnias and kopecks: "1 299,50" -> "... гривень п'ятдесят копійок"."""
    hryvnia, kopeck = UNITS["uah"][language], UNITS["kop"][language]
    if len(number.fraction) > 2:
        return f"{_say_number(number, num, 'f', case)} {hryvnia.agree('fraction', case)}"
    kopecks = int(number.fraction.ljust(2, "0")) if number.fraction else 0
    parts = []
    if number.integer.strip("0") or not kopecks:
        words = _say_number(_Number(number.integer, ""), num, "f", case)
        parts.append(f"{words} {hryvnia.agree(_plural(number.value), case)}")
    if kopecks:
        words = _integer_words(kopecks, num, "f", case)
        parts.append(f"{words} {kopeck.agree(_plural(kopecks), case)}")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------------------------


def _previous_word(text: str, start: int) -> str:
    match = _PREVIOUS_WORD.search(text, max(0, start - _LOOKBEHIND_CHARS), start)
    return match.group(1).lower() if match else ""


def _guess_gender(word: str, language: str, case: Case) -> Gender:
    """Gender from a singular ending ("1 нова", "1 відділення"); masculine when unsure.

    After a genitive preposition the noun is genitive too, where -а/-я is masculine ("до 1
    дня") and the feminine ends in -и/-і ("до 1 години"); masculine and neuter agree alike.
    After an accusative one the feminine ends in -у/-ю ("за 1 годину").
    """
    if len(word) < 3 or word in NOT_NOUNS:
        return "m"
    if case == "gen":
        return "f" if word.endswith(FEMININE_GENITIVE_ENDINGS[language]) else "m"
    if case == "acc" and word.endswith(("у", "ю")):
        return "f"
    if case == "ins":
        return "f" if word.endswith(("ою", "ею", "єю", "ой", "ей", "ью")) else "m"
    if case == "loc":
        feminine = FEMININE_NOUNS[language]
        return "f" if f"{word[:-1]}а" in feminine or f"{word[:-1]}я" in feminine else "m"
    if word.endswith(NEUTER_ENDINGS[language]):
        return "n"
    if word.endswith(("а", "я")):
        return "f"
    return "m"


def _case_after(previous: str, after: str, unit: str | None, plural: Plural, language: str) -> Case:
    """The case a number takes after the word before it (and the noun after it decides)."""
    if previous in GENITIVE_PREPOSITIONS[language]:
        return "gen"
    if previous in INSTRUMENTAL_PREPOSITIONS[language]:
        return "ins"
    if previous in WITH_OR_FROM[language]:
        if unit is None:
            return "ins" if _noun_in(after, INSTRUMENTAL_ENDINGS[language], plural) else "gen"
        is_from = unit in COUNTED_FROM or _UPTO_FOLLOWS.match(after)
        return "gen" if is_from else "ins"
    if previous in LOCATIVE_PREPOSITIONS[language] and (
        previous in ALWAYS_LOCATIVE
        or (unit is None and _noun_in(after, LOCATIVE_ENDINGS[language], plural))
    ):
        return "loc"
    if previous in ACCUSATIVE_PREPOSITIONS[language]:
        return "acc"
    return "nom"


def _noun_in(after: str, endings: tuple[tuple[str, ...], tuple[str, ...]], plural: Plural) -> bool:
    """Whether the words after a number end as a noun phrase in one case does."""
    match = _NEXT_WORDS.match(after)
    if not match:
        return False
    first, second = (w.lower() for w in (match[1], match[2] or ""))
    word = second if second and first.endswith(("их", "ых")) else first  # past an adjective
    return word.endswith(endings[0] if plural == "one" else endings[1])


def _unit_form(number: _Number, case: Case) -> tuple[Plural, Case]:
    """The plural and case a unit agrees in after ``number`` in ``case``.

    A round thousand or million counts it in the genitive plural whatever the case ("з
    двадцятьма тисячами міліампер-годин").
    """
    round_scale = not number.is_fractional and number.value >= 1000 and number.value % 1000 == 0
    if case in ("ins", "loc") and round_scale:
        return "many", "nom"
    return number.plural, case


def _noun_gender(after: str, language: str, plural: Plural, case: Case) -> Gender:
    """Gender of the word noun following a number (looking past one adjective)."""
    match = _NEXT_WORDS.match(after)
    if not match:
        return "m"
    words = [w.lower().replace("’", "'").replace("ʼ", "'") for w in match.groups() if w]
    for word in words:
        if word in FEMININE_NOUNS[language]:
            return "f"
        if word in NEUTER_NOUNS[language]:
            return "n"
        if word in MASCULINE_NOUNS[language] or not word.endswith(ADJECTIVE_ENDINGS[language]):
            break
    return _guess_gender(words[0], language, case) if plural == "one" else "m"


# ---------------------------------------------------------------------------------------------
# Replacements
# ---------------------------------------------------------------------------------------------


def _replace(m: re.Match[str], language: str) -> str:
    if m["phone"] is not None:
        return _say_phone(m["phone"], language)
    if m["local"] is not None:
        return _say_groups(m["local"].split("-"), False, language)
    if m["date"] is not None:
        return _say_date(m, language)
    if m["time"] is not None:
        return _say_time(m, language)
    if m["code"] is not None:
        return _say_code(m, language)
    if m["year"] is not None or (m["version"] is not None and language == "en-US"):
        return m[0]
    if m["version"] is not None:
        num = NUMERALS[language]
        return f" {num.point} ".join(_group_words(p, num) for p in m["version"].split("."))
    if m["always"] is not None:
        return ROUND_THE_CLOCK[language]
    if m["numero"] is not None:
        word = "number" if language == "en-US" else NUMERALS[language].number_sign
        return f"{word} "
    if language == "en-US":
        return _say_quantity_english(m)
    return _say_quantity(m, language)


def _say_groups(groups: list[str], plus: bool, language: str) -> str:
    if language == "en-US":
        said = [
            " ".join(["zero"] * (len(g) - len(g.lstrip("0"))) + [g.lstrip("0")]) for g in groups
        ]
        return ("plus " if plus else "") + ", ".join(s.strip() for s in said)
    num = NUMERALS[language]
    said = ", ".join(_group_words(g, num) for g in groups)
    return f"{num.plus} {said}" if plus else said


def _say_phone(written: str, language: str) -> str:
    digits = _NON_DIGITS.sub("", written)
    if len(digits) == 10:
        groups = [digits[:3], digits[3:6], digits[6:8], digits[8:]]
    elif re.match(r"\+?\(?38[^0-9]", written):  # "+38 (067) ...": the way it was written
        groups = [digits[:2], digits[2:5], digits[5:8], digits[8:10], digits[10:]]
    else:
        groups = [digits[:3], digits[3:5], digits[5:8], digits[8:10], digits[10:]]
    return _say_groups(groups, written.startswith("+"), language)


def _say_time(m: re.Match[str], language: str) -> str:
    if language == "en-US":
        return m[0]
    num = NUMERALS[language]
    hours, minutes = int(m["hh"]), m["mm"]
    case = TIME_CASES[language].get(_previous_word(m.string, m.start()), "nom")
    if hours == 0:  # around midnight the hour is dictated as "нуль нуль"
        return f"{_digits_words('00', num)} {_group_words(minutes, num, 'f')}"
    if language == "uk-UA":
        said = _uk_hour(hours, case)
    else:
        said = _integer_words(hours, num, "m", "gen" if case == "gen" else "nom")
    if minutes == "00":
        if language == "uk-UA" or case == "gen":
            return said
        return f"{said} {_digits_words(minutes, num)}"
    minutes_case: Case = "gen" if language == "ru-RU" and case == "gen" else "nom"
    return f"{said} {_group_words(minutes, num, 'f', minutes_case)}"


def _say_date(m: re.Match[str], language: str) -> str:
    """A date as a day of a month: 31.12 -> "тридцять першого грудня" (and a year's words)."""
    if language == "en-US":
        return m[0]
    said = f"{_ordinal_genitive(int(m['day']), language)} {MONTHS[language][int(m['month'])]}"
    if m["dyear"] is None:
        return said
    first, prefix, year_word = YEAR_WORDS[language]
    rest = int(m["dyear"]) - 2000
    said += f" {prefix} {_ordinal_genitive(rest, language)}" if rest else f" {first}"
    following = m.string[m.end() : m.end() + 8].lstrip(" \u00a0")
    if not m["yabbr"] and re.match(r"(?:рік|року|год|года)(?!\w)", following):
        return said  # the year's word is already there
    return f"{said} {year_word}"


def _ordinal_genitive(n: int, language: str) -> str:
    """1..99 as a masculine ordinal in the genitive: 25 -> "двадцять п'ятого"."""
    if n < 20:
        return DAY_ORDINALS[language][n]
    tens, ones = divmod(n, 10)
    if not ones:
        return TENS_ORDINALS[language][tens]
    return f"{NUMERALS[language].tens['nom'][tens]} {DAY_ORDINALS[language][ones]}"


def _uk_hour(hour: int, case: Case) -> str:
    """A Ukrainian clock hour as a feminine ordinal: 9 -> "дев'ята", 21 -> "двадцять перша"."""
    prefix = ""
    if hour > 20:
        prefix, hour = "двадцять ", hour - 20
    hard, soft = UK_ORDINAL_ENDINGS[case]
    return prefix + UK_ORDINAL_STEMS[hour] + (soft if hour == 3 else hard)


def _say_code(m: re.Match[str], language: str) -> str:
    if language == "en-US":
        return m[0]
    names = LETTER_NAMES[language]
    letters = [names.get(letter, letter.lower()) for letter in m["letters"]]
    return " ".join([*letters, _digits_words(m["digits"], NUMERALS[language])])


def _unit_key(m: re.Match[str], language: str) -> str | None:
    if m["unit"] is not None:
        spelling = m["unit"]
        return UNIT_SPELLINGS.get(spelling) or LANGUAGE_UNIT_SPELLINGS[language][spelling]
    if m["mark"] is not None:
        return "inch"
    return "uah" if m["prefix"] else None


def _is_closing_quote(m: re.Match[str]) -> bool:
    """A '"' after a number that closes a quotation (opened in this sentence) is not an inch."""
    if m["mark"] != '"' or m.string.startswith('"', m.end()):
        return False
    return m.string.count('"', max(0, m.start() - _SENTENCE_CHARS), m.start()) % 2 == 1


def _say_quantity(m: re.Match[str], language: str) -> str:
    num = NUMERALS[language]
    previous = _previous_word(m.string, m.start())
    first = _Number.parse(m["n1"])
    second_written = m["n2"] or m["n3"]
    second = _Number.parse(second_written) if second_written else None
    last = second or first

    closing_quote = _is_closing_quote(m)
    key = None if closing_quote else _unit_key(m, language)
    noun = UNITS[key][language] if key else None
    after = m.string[m.end() : m.end() + _LOOKAHEAD_CHARS]
    if m["n3"] and previous in RANGE_OPENERS[language]:
        case: Case = "gen"
    else:
        case = _case_after(previous, after, key, last.plural, language)
    last_case: Case = "gen" if m["n3"] else case
    gender = noun.gender if noun else _noun_gender(after, language, last.plural, last_case)

    def say(number: _Number, number_case: Case) -> str:
        if key == "uah" and number.fraction:
            return _say_money(number, num, language, number_case)
        return _say_number(number, num, gender, number_case)

    said = say(first, case)
    if second is not None:
        joiner = f" {m['upto'].strip()} " if m["n3"] else " – "
        said += joiner + say(second, last_case)
    if m["sign"]:
        said = f"{num.plus if m['sign'] == '+' else num.minus} {said}"
    if noun is not None and not (key == "uah" and last.fraction):
        said += f" {noun.agree(*_unit_form(last, last_case))}"
    return said + ('"' if closing_quote else "")


def _say_quantity_english(m: re.Match[str]) -> str:
    def digits(written: str) -> str:
        number = _Number.parse(written)
        return number.integer + (f".{number.fraction}" if number.fraction else "")

    said = (m["sign"] or "") + digits(m["n1"])
    if m["n2"]:
        said += m["dash"] + digits(m["n2"])
    elif m["n3"]:
        said += m["upto"] + digits(m["n3"])
    closing_quote = _is_closing_quote(m)
    key = None if closing_quote else _unit_key(m, "en-US")
    if key is None:
        return said + ('"' if closing_quote else "")
    last = _Number.parse(m["n3"] or m["n2"] or m["n1"])
    singular, plural = EN_UNITS[key]
    one = last.value == 1 and not last.is_fractional
    return f"{said} {singular if one else plural}"
