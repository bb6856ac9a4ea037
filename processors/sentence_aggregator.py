"""Where a sentence ends for the voice: pipecat's rule, plus prices and amounts at the end.

pipecat's TTS cuts the LLM's text into sentences with sentencex, which for Ukrainian takes
every short word with a period (``грн.``, ``год.``, ``тис.``, ``г.``) for an abbreviation
that never ends a sentence. In a store's answers such a word ends most sentences ("Є
навушники за 899 грн. Вам підходить?"), so the first sentence reached the voice only with
the next one, or at the end of the answer, instead of as soon as it was complete.

:class:`PhoneSentenceAggregator` also ends a sentence at a unit after a number (``899 грн.``,
``2 год.``, ``10 шт.``) once the next word starts with a capital letter; a street or a town
(``вул. Шевченка``, ``м. Київ``) has no number before it, and an amount that goes on
(``2 тис. грн``) has no capital after it. And it ends one at ``?`` or ``!`` at once: no
abbreviation or number ends with them in the languages we speak, so waiting for the next
word (pipecat waits for it after every end mark) only delays the voice. Everything else is
pipecat's, which it subclasses in this one place (pipecat 1.14 builds the aggregator inside
``TTSService`` with no hook).
"""

from __future__ import annotations

import re

from pipecat.utils.text.base_text_aggregator import Aggregation, TextType
from pipecat.utils.text.simple_text_aggregator import SimpleTextAggregator, _LookaheadState

# A number, a unit of up to five letters and its period, then the next word's first letter.
_AMOUNT_AT_THE_END = re.compile(r"\d\s?[^\W\d_]{1,5}(\.)\s+\S$")
_UNAMBIGUOUS_ENDS = "?!"


class PhoneSentenceAggregator(SimpleTextAggregator):
    """pipecat's sentence aggregator that also ends a sentence at an amount's unit."""

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
