"""What a call does when a service fails: apologise once, then hand the call to an operator.

DESIGN.md's failure policy: never dead air, never a crash. The first failure (an error, or a
stage past its deadline) interrupts whatever was stuck and plays the apology; the caller
can simply say it again. A second failure in a row gives the call to the operators, with
the reason ``recognition_failures`` when speech recognition was what failed each time and
``service_failure`` otherwise; the call says the transfer phrase itself. Any answer the
caller hears in between resets the count. Once the call is ending (:meth:`FailurePolicy.close`)
a failure is only recorded: the transfer phrase or the goodbye is the last thing said.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.phrases import FixedPhrases
from observability.logging import get_logger
from observability.observers.stage_watchdog import StageWatchdog
from processors.fallback_speech import FallbackSpeech

log = get_logger("bot.failure_policy")

GIVE_UP_AFTER = 2  # consecutive failures


class FailurePolicy:
    """Turns stage failures reported by a :class:`StageWatchdog` into what the caller hears.

    Args:
        speaker: Where fixed phrases are played from.
        phrases: The call's fixed phrases (``apology``).
        on_give_up: Awaited with the transfer reason on the last failure.
    """

    def __init__(
        self,
        speaker: FallbackSpeech,
        phrases: FixedPhrases,
        on_give_up: Callable[[str], Awaitable[None]],
    ) -> None:
        self._speaker = speaker
        self._phrases = phrases
        self._on_give_up = on_give_up
        self.consecutive = 0
        self.failures: list[tuple[str, str]] = []  # (stage, reason), for the call record
        self._closed = False

    def close(self) -> None:
        """The call is ending (a transfer or a goodbye is said): nothing may follow it."""
        self._closed = True

    def attach(self, watchdog: StageWatchdog) -> None:
        """Listen to ``watchdog``'s failures and answers."""

        @watchdog.event_handler("on_failure")
        async def on_failure(_watchdog: StageWatchdog, stage: str, reason: str) -> None:
            await self.handle_failure(stage, reason)

        @watchdog.event_handler("on_answered")
        async def on_answered(_watchdog: StageWatchdog) -> None:
            self.consecutive = 0

    async def handle_failure(self, stage: str, reason: str) -> None:
        """Apologise, or on a repeated failure hand the call to an operator."""
        self.failures.append((stage, reason))
        if self._closed:
            log.info("stage failed while the call ends", stage=stage, reason=reason)
            return
        self.consecutive += 1
        log.warning("stage failed", stage=stage, reason=reason, consecutive=self.consecutive)
        if self.consecutive >= GIVE_UP_AFTER:
            recent = [s for s, _ in self.failures[-self.consecutive :]]
            why = "recognition_failures" if set(recent) == {"stt"} else "service_failure"
            await self._on_give_up(why)
        else:
            await self._speaker.say(*self._phrases.said("apology"))
