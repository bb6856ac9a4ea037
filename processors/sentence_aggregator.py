"""Where a sentence ends for the voice: as soon as it is complete, not a word later.

pipecat's TTS cuts the LLM's text into sentences with sentencex, which for Ukrainian takes
every short word with a period (``грн.``, ``год.``, ``тис.``, ``г.``) for an abbreviation
that never ends a sentence. In a store's answers such a word ends most sentences ("Є
навушники за 899 грн. Вам підходить?"), so the first sentence reached the voice only with
the next one, or at the end of the answer, instead of as soon as it was complete.

:class:`PhoneSentenceAggregator` also ends a sentence at a unit after a number (``899 грн.``,
``2 год.``, ``10 шт.``) once the next word starts with a capital letter; a street or a town
(``вул. Шевченка``, ``м. Київ``) has no number before it, and an amount that goes on
(``2 тис. грн``) has no capital after it.

pipecat waits for the next word after every end mark, to tell a sentence's end from an
abbreviation, a decimal or an initial: one more token from the model (15 ms in the sandbox)
before the voice starts. Ours does not wait where nothing else is possible: at ``?`` or
``!`` (no abbreviation or number ends with them in the languages we speak), and at a period
that ends the model's token after an ordinary word of four letters or more (not a known
abbreviation such as ``просп.``; an initial, a number, ``т.д.``, an address or an ellipsis
has something else before its last period). Everything else is pipecat's, which it
subclasses in this one place (pipecat 1.14 builds the aggregator inside ``TTSService`` with
no hook).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from pipecat.utils.text.base_text_aggregator import Aggregation, TextType
from pipecat.utils.text.simple_text_aggregator import SimpleTextAggregator, _LookaheadState

# A number, a unit of up to five letters and its period, then the next word's first letter.
_AMOUNT_AT_THE_END = re.compile(r"\d\s?[^\W\d_]{1,5}(\.)\s+\S$")
_UNAMBIGUOUS_ENDS = "?!"
# A word of letters (apostrophes and hyphens inside) and its period, ending the text.
_WORD_AT_THE_END = re.compile(r"(?:^|\s)([^\W\d_](?:[^\W\d_]|['’ʼ-])*[^\W\d_])\.\s*$")
_SHORTEST_WORD = 4  # shorter ones ("грн", "тис", "вул", "все") are left to pipecat
# Abbreviations of four letters or more that go on (Ukrainian, Russian, English).
_LONG_ABBREVIATIONS = frozenset(
    ("напр", "просп", "бульв", "млрд", "прим", "проф", "акад", "канд", "півд", "півн")
    + ("approx", "blvd", "prof", "dept", "corp", "univ")
)


class PhoneSentenceAggregator(SimpleTextAggregator):
    """pipecat's sentence aggregator, ending sentences as soon as they are complete."""

    async def aggregate(self, text: str) -> AsyncIterator[Aggregation]:
        """pipecat's, then a sentence that ends this token at a word's period, at once."""
        async for aggregation in super().aggregate(text):
            yield aggregation
        if (end := self._word_period_end()) is not None:
            yield self._cut(end)

    def _word_period_end(self) -> int | None:
        """Where the buffer's sentence ends if it ends with an ordinary word's period."""
        word = _WORD_AT_THE_END.search(self._text)
        if word is None or self._lookahead_state != _LookaheadState.AWAITING_CHARACTER:
            return None
        letters = word.group(1)
        if len(letters) < _SHORTEST_WORD or letters.lower() in _LONG_ABBREVIATIONS:
            return None
        return word.end(1) + 1

    async def _check_sentence_with_lookahead(
        self, char: str, *, protected_end: int = 0
    ) -> Aggregation | None:
        """Cut at ``?``/``!`` and after an amount before a capital; otherwise as pipecat does."""
        end = None
        if char in _UNAMBIGUOUS_ENDS and self._text.strip(" " + _UNAMBIGUOUS_ENDS):
            end = len(self._text)
        elif char.isupper() and (amount := _AMOUNT_AT_THE_END.search(self._text)):
            end = amount.end(1)
        if end is not None and end > protected_end:
            return self._cut(end)
        return await super()._check_sentence_with_lookahead(char, protected_end=protected_end)

    def _cut(self, end: int) -> Aggregation:
        """The text up to ``end`` as a sentence; the rest starts the next one."""
        sentence = Aggregation(text=self._text[:end].strip(" "), type=TextType.SENTENCE)
        self._text = self._text[end:]
        self._lookahead_state = _LookaheadState.IDLE
        return sentence
