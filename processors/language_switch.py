"""Answers a caller in the language they speak, for the rest of the call.

The first transcript in another language switches the call's voice (and the way numbers are
spoken). Sits right after speech-to-text, which recognises the conversation language and the other
languages a caller may speak (Google reports each result's ``language_code``; pipecat tags
every transcript with the first configured language, so the result is read here). Before the
first transcript in one of the other languages goes on to the model, the frames that switch
the text-to-speech voice are pushed ahead of it, so the answer to it is already spoken in that
language; the system prompt tells Claude to reply in the caller's language. The switch holds
for the rest of the call (a caller who mixes in a word of the other language does not flip
the voice back and forth).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from observability.logging import get_logger

log = get_logger("processors.language_switch")

SwitchFrames = Callable[[str], list[Frame]]


def heard_language(frame: TranscriptionFrame) -> str | None:
    """The language Google recognised a final transcript in (``ru-ru``), if it says."""
    code = getattr(getattr(frame, "result", None), "language_code", None)
    return code.lower() if isinstance(code, str) and code else None


class LanguageSwitch(FrameProcessor):
    """Switches the call to the first other language the caller is heard speaking.

    Args:
        language: The conversation language (``uk-UA``).
        others: The other languages a caller may speak (``ru-RU``).
        switch_frames: The frames that switch the rest of the pipeline to a language.
    """

    def __init__(
        self, language: str, others: Iterable[str], switch_frames: SwitchFrames, **kwargs
    ) -> None:
        super().__init__(enable_direct_mode=True, **kwargs)  # transcripts only: no audio here
        self.language = language
        self._others = {code.lower(): code for code in others if code != language}
        self._switch_frames = switch_frames

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Switch before the first transcript heard in another language; pass all on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and self.language not in self._others.values():
            spoken = self._others.get(heard_language(frame) or "")
            if spoken is not None:
                log.info("caller language switched", language=spoken)
                self.language = spoken
                for switch in self._switch_frames(spoken):
                    await self.push_frame(switch, direction)
        await self.push_frame(frame, direction)
