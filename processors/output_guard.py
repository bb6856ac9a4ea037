"""Keeps the bot's instructions and internals out of what the caller hears and what is stored.

A model can be talked into reading out its system prompt or its tool schemas. Between the LLM
and text-to-speech, :class:`OutputGuard` passes the model's text on word by word as it streams,
and holds back only words that may be the start of a copy: a run of words that are the
beginning of a word 4-gram of the "secret" texts (the system prompts, the tools'
descriptions). Three 4-grams in a row (six or more words in the instructions' own order), or
an internal identifier (a tool or argument name: any ``snake_case`` word; JSON), is a leak:
the held words are not spoken, the caller hears one safe sentence instead, the response ends
there for text-to-speech (the rest of it, and its own end, are dropped), and
``on_blocked(reason)`` is told (for the metric and the log; the text itself is never
logged). Since the guard works on the LLM's text frames, the transcript stores what was
said. Ordinary answers are held for at most the word being typed and the odd word that starts
a phrase of the prompt: text-to-speech starts as early as without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from pipecat.frames.frames import (
    Frame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    SystemFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

Reason = Literal["instructions", "identifier"]
OnBlocked = Callable[[Reason], None]

NGRAM = 4
COPIED_RUN = 3  # 4-grams in a row: six or more words in the instructions' own order

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_TOKEN = re.compile(r"\S+\s*")
_IDENTIFIER = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|[{}\[\]]|\"\w+\"\s*:")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("ё", "е"))


class LeakDetector:
    """What the caller must never hear: the secret texts' word 4-grams and their beginnings.

    Args:
        secrets: The system prompts, tool descriptions and other internal texts. Tool and
            argument names need not be listed: every ``snake_case`` word is internal.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        self.ngrams: set[tuple[str, ...]] = set()
        self.beginnings: set[tuple[str, ...]] = set()  # first 1..3 words of each 4-gram
        for text in secrets:
            words = _words(text)
            for i in range(len(words) - NGRAM + 1):
                gram = tuple(words[i : i + NGRAM])
                self.ngrams.add(gram)
                self.beginnings.update(gram[:k] for k in range(1, NGRAM))

    def judge(self, text: str) -> Reason | None:
        """Why ``text`` must not be spoken, or None if it may (as the guard would stream it)."""
        reader = LeakReader(self)
        return reader.read(text + " ") or reader.finish()


@dataclass
class LeakReader:
    """Reads one response as it streams: what may be spoken now, and whether it leaked."""

    detector: LeakDetector
    pending: str = ""  # text not passed on yet
    tokens: list[tuple[str, int]] = field(default_factory=list)  # held: (text, its words)
    recent: list[str] = field(default_factory=list)  # the last words, held or not
    run: int = 0  # secret 4-grams in a row, ending at the last word
    released: list[str] = field(default_factory=list)  # text that may be spoken now

    def read(self, text: str) -> Reason | None:
        """Take in more of the response; None unless it leaked."""
        self.pending += text
        complete = self.pending[: len(self.pending.rstrip()) and _last_space(self.pending)]
        self.pending = self.pending[len(complete) :]
        for token in _TOKEN.findall(complete):
            if _IDENTIFIER.search(token):
                return "identifier"
            words = _words(token)
            for word in words:
                self.recent = [*self.recent[-(NGRAM - 1) :], word]
                gram = tuple(self.recent)
                self.run = self.run + 1 if gram in self.detector.ngrams else 0
                if self.run >= COPIED_RUN:
                    return "instructions"
            self.tokens.append((token, len(words)))
        self._release(self._words_to_hold())
        return None

    def finish(self) -> Reason | None:
        """The response is over: what is still held may be spoken (a run too short to leak)."""
        if _IDENTIFIER.search(self.pending):
            return "identifier"
        self._release(0)
        self.released.append(self.pending)
        self.pending = ""
        return None

    def take(self) -> str:
        """The text that may be spoken since the last call."""
        text, self.released = "".join(self.released), []
        return text

    def _words_to_hold(self) -> int:
        """The last words that may still turn out to be part of a copy."""
        if self.run:
            return self.run + NGRAM - 1
        for k in range(min(NGRAM - 1, len(self.recent)), 0, -1):
            if tuple(self.recent[-k:]) in self.detector.beginnings:
                return k
        return 0

    def _release(self, hold_words: int) -> None:
        """Pass on the held tokens but those carrying the last ``hold_words`` words."""
        held = sum(n for _, n in self.tokens)
        while self.tokens and held - self.tokens[0][1] >= hold_words:
            text, words = self.tokens.pop(0)
            held -= words
            self.released.append(text)


def _last_space(text: str) -> int:
    """The length of ``text`` up to and including its last whitespace (0 if none)."""
    match = re.search(r"\s(?=\S*$)", text)
    return match.end() if match else 0


class OutputGuard(FrameProcessor):
    """Passes the model's text on as it streams, never a copy of its instructions.

    Args:
        detector: What counts as a leak.
        safe_sentence: Said once instead of a leaking response.
        on_blocked: Called with the reason when a response is cut.
    """

    def __init__(
        self, detector: LeakDetector, safe_sentence: str, on_blocked: OnBlocked, **kwargs
    ) -> None:
        # Direct mode: no queue hop of its own between the model and text-to-speech.
        super().__init__(enable_direct_mode=True, **kwargs)
        self._detector = detector
        self.safe_sentence = safe_sentence  # the call sets it anew when its language changes
        self._on_blocked = on_blocked
        self._reader = LeakReader(detector)
        self._blocked = False  # this response leaked: drop the rest of its text

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Pass the model's text on as far as it is safe; everything else as it comes."""
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMTextFrame) and direction is FrameDirection.DOWNSTREAM:
            if not self._blocked:
                await self._judged(self._reader.read(frame.text))
            return
        if isinstance(frame, InterruptionFrame | LLMFullResponseStartFrame):
            self._reader, self._blocked = LeakReader(self._detector), False
        elif direction is FrameDirection.DOWNSTREAM and not isinstance(frame, SystemFrame):
            # The frames that follow the text in order (system frames overtake everything).
            blocked = self._blocked
            if not blocked:
                await self._judged(self._reader.finish())
            if isinstance(frame, LLMFullResponseEndFrame):
                self._reader, self._blocked = LeakReader(self._detector), False
                if blocked:
                    return  # the response was ended for text-to-speech when it was cut
        await self.push_frame(frame, direction)

    async def _judged(self, leak: Reason | None) -> None:
        if leak is None:
            if text := self._reader.take():
                await self.push_frame(LLMTextFrame(text=text))
            return
        self._blocked = True
        self._on_blocked(leak)
        spoken = self._reader.take()  # what was safe before the copy began
        space = " " if spoken and not spoken[-1].isspace() else ""
        await self.push_frame(LLMTextFrame(text=f"{spoken}{space}{self.safe_sentence} "))
        # End the response here: text-to-speech speaks its last sentence only at the end of
        # a response, and the model may go on reciting for a minute (its end is dropped).
        await self.push_frame(LLMFullResponseEndFrame())
