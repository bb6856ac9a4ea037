"""The caller's key 1 is a yes: it becomes their turn, and the model answers it.

Sits between speech-to-text and the user aggregator, next to :class:`OperatorRequest` (key 0).
A press of 1 appends :data:`KEY_YES` to the conversation as the caller's words and runs the
model, so a quote can be confirmed on a noisy line where "так" is not understood; the order
desk's judge of the caller's words (``bot.confirmation.verdict``) takes exactly that marker as
a yes. Other keys pass on untouched.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame, InputDTMFFrame, KeypadEntry, LLMMessagesAppendFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

KEY_YES = "[the caller pressed 1: yes]"


class KeypadYes(FrameProcessor):
    """Turns the key 1 into the caller saying yes."""

    def __init__(self, **kwargs):
        # Direct mode: no queue and task of its own for a frame that comes once in a while.
        super().__init__(enable_direct_mode=True, **kwargs)

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Replace a press of 1 with the caller's yes; pass everything else on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, InputDTMFFrame) and frame.button == KeypadEntry.ONE:
            said = LLMMessagesAppendFrame([{"role": "user", "content": KEY_YES}], run_llm=True)
            await self.push_frame(said, direction)
            return
        await self.push_frame(frame, direction)
