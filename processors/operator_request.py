"""Hands the call to an operator when the caller asks for a person or presses 0.

Sits between speech-to-text and the user aggregator. A final transcript that asks for a
human (:func:`asks_for_person`, Ukrainian, Russian and English wordings) or the DTMF key
``0`` is not passed on to the model: the call's ``on_request`` is told the reason
(``caller_request`` / ``dtmf_zero``) and takes it from there. Once a transfer is under way
(:meth:`OperatorRequest.close`, also called when the model or the failure policy decided
it), later transcripts are dropped too, so nothing new is answered on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from pipecat.frames.frames import Frame, InputDTMFFrame, KeypadEntry, TranscriptionFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

OnRequest = Callable[[str, str | None], Awaitable[None]]  # (reason, what the caller said)

# Who the caller wants (word stems, after lower-casing and ё→е, ї/і→и, є→е folding).
_PERSON = (
    r"(оператор|менеджер|консультант|людин|человек|жив(?:ою|ой|а|ий|ым|им|ого|ому)\s+"
    r"(?:людин|человек|оператор|голос)|спеціалист|специалист|спецiалист|operator|human|"
    r"(?:real|live)\s+person|agent|representative)"
)
# Asking to be put through, or wanting to talk to, someone.
_ASK = (
    r"(з.?єднай|з.?една|соедин|переключ|перевед|передай|позов|поклич|дайте|дай|хочу|хотів|"
    r"хотіла|хотел|можна|можно|можу|треба|нужен|нужна|потрібен|потрібна|поговор|говорит|"
    r"розмов|connect|transfer|speak|talk|put me through|get me|want)"
)
_NOT = (
    r"\b(не\s+(?:треба|потрібно|потрібен|потрібна|нужно|нужен|нужна|надо|хочу)|"
    r"don'?t|do not|no need|already|вже|уже)\b"
)
_ASKED = re.compile(rf"{_ASK}[\w\s,'’.-]{{0,40}}?{_PERSON}|{_PERSON}[\w\s,'’.-]{{0,25}}?{_ASK}")
_JUST_PERSON = re.compile(
    rf"^\W*(?:мені|мне|me|a|an|the|з|с|with|будь ласка|пожалуйста|please|\s)*{_PERSON}\w*"
    r"(?:\W+(?:будь ласка|пожалуйста|please))?\W*$"
)
_NEGATED = re.compile(_NOT)
_FOLD = str.maketrans({"ё": "е", "ї": "і", "’": "'", "ʼ": "'"})


def asks_for_person(text: str) -> bool:
    """Whether an utterance asks to speak to a human (operator, manager, a person...)."""
    said = text.lower().translate(_FOLD)
    if _JUST_PERSON.match(said):
        return True
    return bool(_ASKED.search(said)) and not _NEGATED.search(said)


class OperatorRequest(FrameProcessor):
    """Turns "a person, please" and the key 0 into a transfer request.

    Args:
        on_request: Awaited (in a task of its own) with the reason code and, for a spoken
            request, the caller's words.
    """

    def __init__(self, *, on_request: OnRequest, **kwargs):
        super().__init__(**kwargs)
        self._on_request = on_request
        self._closed = False

    def close(self) -> None:
        """A transfer is under way: drop the caller's further words."""
        self._closed = True

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Watch final transcripts and key presses; pass everything else on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame):
            if self._closed:
                return
            if asks_for_person(frame.text):
                self._request("caller_request", frame.text)
                return
        elif isinstance(frame, InputDTMFFrame) and frame.button == KeypadEntry.ZERO:
            if not self._closed:
                self._request("dtmf_zero", None)
            return
        await self.push_frame(frame, direction)

    def _request(self, reason: str, said: str | None) -> None:
        self._closed = True
        self.create_task(self._on_request(reason, said), f"{self}::operator-request")
