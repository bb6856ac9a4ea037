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

# Who the caller wants: a person, not a thing (folded: lower case, ё→е, ї→і, ’→').
_PERSON = (
    r"(?:оператор\w*|менеджер\w*|консультант\w*|спеціаліст\w*|специалист\w*|"
    r"люд(?:ин\w*|ьми)|человек\w*|(?:кимось|кем-нибудь|кем-то|з\s+)?жив(?:ою|ой|им|ым|ого|"
    r"ому|ий|ая|а)\s*(?:людин\w*|человек\w*|оператор\w*|голос\w*)?|кимось|кимсь|кем-нибудь|"
    r"кем-то|operator|human(?![\w-])|(?:real|live)\s+person|agent|representative|someone|"
    r"somebody)"
)
# Asking to be put through to, or to talk with, someone.
_ASK = (
    r"(?:з'?єдна\w*|соедин\w*|переключ\w*|перевед\w*|передай\w*|покли\w*|позов\w*|"
    r"дайте|дай|поговори\w*|говори\w*|розмовля\w*|спілкува\w*|хочу|хотів|хотіла|хотел\w*|"
    r"можна|можно|потрібен|потрібна|потрібно|треба|нужен|нужна|нужно|надо|"
    r"connect|transfer|speak|talk|put me through|get me|want|need)"
)
# "for a person" is what the caller buys (a gift for someone), not who they want to talk to;
# a mobile operator is a network.
_NOT_A_REQUEST = re.compile(
    rf"\b(?:для|для\s+\w+|for)\s+(?:\w+\s+)?{_PERSON}|(?:кожн\w*|кожен|кажд\w*|every)\s+"
    rf"{_PERSON}|мобільн\w*\s+оператор|"
    r"мобильн\w*\s+оператор|оператор\w*\s+(?:київстар|киевстар|vodafone|водафон|lifecell|"
    r"лайфсел|зв'?язку|связи|дрон\w*)"
)
# Refusing a person: a negation right before the ask or the person ("не треба оператора",
# "не хочу с роботом" is no refusal), or having already spoken to one.
_REFUSAL = re.compile(
    rf"\b(?:не|no|don'?t|do not|no need)\s+(?:\w+\s+)?(?:{_ASK}\s+(?:\w+\s+)?)?{_PERSON}|"
    rf"{_PERSON}\s+не\s+(?:потрібен|потрібна|потрібно|треба|нужен|нужна|нужно|надо)|"
    r"\b(?:вже|уже|already)\s+(?:\w+\s+)?(?:говорив|говорила|розмовляв|розмовляла|"
    r"спілкувався|спілкувалася|говорил|разговаривал|общался|talked|spoke)|"
    rf"\b(?:вже|уже|already)\s+(?:\w+\s+){{0,2}}?{_PERSON}"
)
_ASKED = re.compile(
    rf"\b{_ASK}\b[\w\s,'.-]{{0,40}}?\b{_PERSON}|\b{_PERSON}[\w\s,'.-]{{0,25}}?\b{_ASK}\b"
)
_ASK_STARTS = re.compile(rf"(?=(?P<asked>{_ASKED.pattern}))")  # each start, with its match
_JUST_PERSON = re.compile(
    rf"^\W*(?:мені|мне|me|a|an|the|з|с|with|будь ласка|пожалуйста|please|\s)*{_PERSON}"
    r"(?:\W+(?:будь ласка|пожалуйста|please))?\W*$"
)
_FOLD = str.maketrans({"ё": "е", "ї": "і", "’": "'", "ʼ": "'"})


def asks_for_person(text: str) -> bool:
    """Whether an utterance asks to speak to a human (operator, manager, a person...)."""
    said = " ".join(text.lower().translate(_FOLD).split())
    if _JUST_PERSON.match(said):
        return True
    for clause in re.split(r"[.!?;]|,\s*(?:але|но|but|а)\b", said):
        if _NOT_A_REQUEST.search(clause):
            continue
        refusals = [r.span() for r in _REFUSAL.finditer(clause)]
        for start in _ASK_STARTS.finditer(clause):  # every place a request may begin
            begin, end = start.span("asked")
            # a refusal counts only where it overlaps the request ("вже говорив з оператором")
            if not any(a < end and b > begin for a, b in refusals):
                return True
    return False


class OperatorRequest(FrameProcessor):
    """Turns "a person, please" and the key 0 into a transfer request.

    Args:
        on_request: Awaited (in a task of its own) with the reason code and, for a spoken
            request, the caller's words.
    """

    def __init__(self, *, on_request: OnRequest, **kwargs):
        # Direct mode: no queue and task of its own; caller audio passes it 50 times a second.
        super().__init__(enable_direct_mode=True, **kwargs)
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
