"""Keeps the bot's instructions and internals out of what the caller hears and what is stored.

A model can be talked into reading out its system prompt or its tool schemas. Between the LLM
and text-to-speech, :class:`OutputGuard` holds each response's text until a sentence is
complete and judges it with :class:`LeakDetector`: a sentence that copies a run of the
instructions (three or more word 4-grams of the "secret" texts, at least half of its own) or
names an internal identifier (a tool or argument name: any ``snake_case`` word; JSON) is not
spoken. In its place the caller hears one safe sentence, the rest of that response is dropped,
and ``on_blocked(reason)`` is told (for the metric and the log; the text itself is never
logged). Since the guard works on the LLM's text frames, the transcript stores what was said.

Holding a sentence costs no latency: pipecat's TTS waits for a whole sentence anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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
MIN_COPIED_NGRAMS = 3  # six or more words in the instructions' own order
MIN_COPIED_SHARE = 0.5

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_IDENTIFIER = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|[{}\[\]]|\"\w+\"\s*:")
_SENTENCE_END = re.compile(r"[.!?…]+[\"»”')]*(?=\s)|\n")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("ё", "е"))


def _ngrams(words: list[str]) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)]


class LeakDetector:
    """Judges one sentence against the texts the caller must never hear.

    Args:
        secrets: The system prompts, tool descriptions and other internal texts. Tool and
            argument names need not be listed: every ``snake_case`` word is internal.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        self._ngrams: set[tuple[str, ...]] = set()
        for text in secrets:
            self._ngrams.update(_ngrams(_words(text)))

    def judge(self, sentence: str) -> Reason | None:
        """Why ``sentence`` must not be spoken, or None if it may."""
        if _IDENTIFIER.search(sentence):
            return "identifier"
        grams = _ngrams(_words(sentence))
        copied = sum(1 for g in grams if g in self._ngrams)
        if copied >= MIN_COPIED_NGRAMS and copied >= MIN_COPIED_SHARE * len(grams):
            return "instructions"
        return None


class OutputGuard(FrameProcessor):
    """Speaks the model's text sentence by sentence, none that leaks the instructions.

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
        self._safe = safe_sentence
        self._on_blocked = on_blocked
        self._held = ""
        self._blocked = False  # this response leaked: drop the rest of its text

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Hold the model's text until sentences are whole; judge and pass them on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMTextFrame) and direction is FrameDirection.DOWNSTREAM:
            if not self._blocked:
                self._held += frame.text
                await self._release(whole_only=True)
            return
        if isinstance(frame, InterruptionFrame):
            self._held, self._blocked = "", False
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._blocked = False
        elif direction is FrameDirection.DOWNSTREAM and not isinstance(frame, SystemFrame):
            # The frames that follow the text in order (system frames overtake everything).
            await self._release(whole_only=False)
            if isinstance(frame, LLMFullResponseEndFrame):
                self._blocked = False
        await self.push_frame(frame, direction)

    async def _release(self, *, whole_only: bool) -> None:
        """Pass on the held sentences (only the complete ones if ``whole_only``)."""
        cuts = [m.end() for m in _SENTENCE_END.finditer(self._held)]
        if not whole_only:
            cuts.append(len(self._held))
        start = 0
        for end in cuts:
            sentence = self._held[start:end]
            start = end
            if not sentence.strip():
                continue
            reason = self._detector.judge(sentence)
            if reason is not None:
                self._blocked, self._held = True, ""
                self._on_blocked(reason)
                space = sentence[: len(sentence) - len(sentence.lstrip())]
                await self.push_frame(LLMTextFrame(text=space + self._safe + " "))
                return
            await self.push_frame(LLMTextFrame(text=sentence))
        self._held = self._held[start:]
