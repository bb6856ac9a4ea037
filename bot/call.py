"""One admitted call: its transport, pipeline worker and runner, from start to outcome.

A call ends one of three ways (DESIGN.md): the caller hangs up; the bot ends it
(``end_call``, or a caller silent through two "are you still there?" asks: noted as
``hangup`` for the dialplan); or it is handed to an operator (:meth:`Call.hand_over`):
asked for by the model's ``transfer_to_operator``, by the caller (a person, please /
DTMF 0), by the failure policy, or by a drain that ran out of time. A handover says its
phrase, prepares the operator's summary meanwhile, publishes the handoff, and only then lets
the bot hang up, so the dialplan finds it the moment ``AudioSocket()`` returns.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from pipecat.frames.frames import EndFrame
from pipecat.observers.base_observer import BaseObserver
from pipecat.workers.runner import WorkerRunner

from bot.failure_policy import FailurePolicy
from bot.handoff.desk import HandoffDesk
from bot.phrases import FixedPhrases
from bot.pipeline import build_worker, output_guard, transport_params
from bot.prompts import PromptSet
from bot.services import Backends
from bot.settings import Settings
from bot.storage.recorder import CallRecorder
from bot.storage.runtime import Storage
from bot.tools import StoreTools
from observability.logging import call_context, get_logger
from observability.metrics import Metrics
from observability.observers.call_metrics import CallMetrics
from observability.observers.call_record import CallRecordObserver
from observability.observers.silence_watch import SilenceWatch
from observability.observers.stage_watchdog import StageWatchdog
from processors.fallback_speech import FallbackSpeech
from processors.operator_request import OperatorRequest
from transports.audiosocket.connection import AudioSocketConnection
from transports.audiosocket.transport import AudioSocketTransport

log = get_logger("bot.call")


class Call:
    """Runs one call's pipeline until the caller or the bot ends it.

    Args:
        settings: The service settings.
        connection: The admitted AudioSocket connection.
        call_id: The call's UUID from Asterisk.
        backends: The speech and language services (the voice pipeline only).
        prompts: The conversation's prompt set (the voice pipeline only).
        phrases: The call's own fixed phrases, text and audio (the voice pipeline only).
        storage: Where the call is recorded (PostgreSQL via the writer, Redis sessions).
        caller_number_hash: The caller's number as a keyed hash, if the dialplan gave it.
        handoffs: Where handoffs are prepared and published (the voice pipeline only).
        metrics: The process's Prometheus metrics.
    """

    def __init__(
        self,
        settings: Settings,
        connection: AudioSocketConnection,
        call_id: uuid.UUID,
        *,
        backends: Backends | None = None,
        prompts: PromptSet | None = None,
        phrases: FixedPhrases | None = None,
        storage: Storage | None = None,
        caller_number_hash: str | None = None,
        handoffs: HandoffDesk | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.call_id = call_id
        self.settings = settings
        self.prompt_version = prompts.version if prompts else None
        self.caller_number_hash = caller_number_hash
        self.transport = AudioSocketTransport(
            connection, call_id, transport_params(settings), name=f"audiosocket-{call_id}"
        )
        self.observer = CallRecordObserver()
        self.recorder: CallRecorder | None = None
        if storage is not None:
            self.recorder = CallRecorder(
                storage.writer, storage.sessions, str(call_id), self.observer.record
            )
            self.observer.add_listener(self.recorder.on_line)
        self.metrics = CallMetrics(metrics, self.observer.record) if metrics else None
        if self.metrics is not None:
            self.observer.add_listener(self.metrics.on_line)
        observers: list[BaseObserver] = [self.observer]
        fallback = None
        guard = self.guard = None
        self.policy: FailurePolicy | None = None
        self.end_detail: dict[str, Any] = {}  # e.g. the transfer reason
        self.handoffs = handoffs
        self.phrases = phrases
        self.operator_request: OperatorRequest | None = None
        self.tools: StoreTools | None = None
        self.fallback: FallbackSpeech | None = None
        self.silence: SilenceWatch | None = None
        self._handover_done: asyncio.Event | None = None  # set once a handoff is published
        if settings.pipeline == "voice":
            assert prompts is not None and phrases is not None and backends is not None
            fallback = self.fallback = FallbackSpeech()
            self.operator_request = OperatorRequest(on_request=self._caller_asked)
            guard = self.guard = output_guard(settings, prompts, self._output_blocked)
            self.tools = StoreTools(
                backends.store_client,
                prompts,
                str(call_id),
                self._ended_by_tool,
                on_tool_loop=lambda: self._failed("tool_loop"),
            )
            deadlines = settings.deadlines
            watchdog = StageWatchdog(
                {
                    "stt": deadlines.stt_final_secs,
                    "llm": deadlines.llm_first_token_secs,
                    "tts": deadlines.tts_first_audio_secs,
                },
                llm_hold_secs=deadlines.llm_hold_secs,
            )

            @watchdog.event_handler("on_late")
            async def on_late(_watchdog: StageWatchdog, stage: str) -> None:
                await self._hold(f"{stage} late")

            self.policy = FailurePolicy(fallback, phrases, on_give_up=self._failed)
            self.policy.attach(watchdog)
            if self.metrics is not None:
                counted = self.metrics

                @watchdog.event_handler("on_failure")
                async def count_failure(_watchdog: StageWatchdog, stage: str, kind: str) -> None:
                    counted.failed(stage, kind)

            observers.append(watchdog)
            self.silence = SilenceWatch(
                settings.turn.silence_prompt_secs, settings.turn.tool_hold_secs
            )

            @self.silence.event_handler("on_silence")
            async def on_silence(_watch: SilenceWatch, count: int) -> None:
                await self._caller_silent(count)

            @self.silence.event_handler("on_tool_wait")
            async def on_tool_wait(_watch: SilenceWatch) -> None:
                await self._hold("tool slow")

            observers.append(self.silence)
        self.worker = build_worker(
            settings,
            self.transport,
            backends=backends,
            prompts=prompts,
            fallback=fallback,
            tools=self.tools,
            operator_request=self.operator_request,
            guard=guard,
            on_language=self._language_switched,
            observers=observers,
        )
        self.outcome: str | None = None
        self._ending: str | None = None

    async def run(self) -> str:
        """Run the call to its end and return its outcome."""
        with call_context(str(self.call_id)):
            started = time.monotonic()
            log.info("call started", prompt_version=self.prompt_version)
            if self.metrics is not None:
                self.metrics.started()
            if self.recorder is not None:
                self.recorder.started(
                    language=self.settings.language,
                    pipeline=self.settings.pipeline,
                    prompt_version=self.prompt_version,
                    caller_number_hash=self.caller_number_hash,
                )
            runner = WorkerRunner(handle_sigint=False, handle_sigterm=False)
            await runner.add_workers(self.worker)
            try:
                await runner.run()
            finally:
                self.observer.finish()
                self.outcome = self.transport.end_reason or self._ending or "bot_hangup"
                duration = time.monotonic() - started
                log.info("call ended", outcome=self.outcome, duration_secs=round(duration, 3))
                if self.metrics is not None:
                    self.metrics.ended(
                        self.outcome, self.end_detail.get("reason"), self.transport.pacing
                    )
                if self.recorder is not None:
                    self.recorder.ended(
                        outcome=self.outcome,
                        reason=self.end_detail.get("reason"),
                        duration_ms=round(duration * 1000),
                    )
        return self.outcome

    async def hand_over(
        self, reason: str, caller_wants: str | None = None, *, phrase: str | None = None
    ) -> bool:
        """Give the call to the operators: say ``phrase``, publish the handoff, end the call.

        With ``phrase`` None the caller has just been told by the model, whose tool call
        ends the call itself once this returns. Whatever fails on the way, the handoff is
        published (with the assembled summary at worst) and the call ends. Returns False if
        a handover was already on (after waiting for it to be published).
        """
        if self._handover_done is not None:
            await self._handover_done.wait()
            return False
        self._handover_done = asyncio.Event()
        self._ending = "transferred"
        self.end_detail = {"reason": reason, "caller_wants": caller_wants}
        log.info("handing over", reason=reason)
        self._stop_new_answers()
        try:
            if phrase is not None and self.fallback is not None and self.phrases is not None:
                await self.fallback.say(*self.phrases.said(phrase))
            await self._publish_handoff(reason, caller_wants)
        except Exception as e:  # never leave the caller on a line that does not end
            log.error("handover went wrong, the call still goes on to the operators",
                      error=type(e).__name__)  # fmt: skip
        finally:
            self._handover_done.set()
            if phrase is not None and self.fallback is not None:
                await self.fallback.end("transferred")  # behind the phrase: then 0x00
        return True

    async def _publish_handoff(self, reason: str, caller_wants: str | None) -> None:
        if self.handoffs is None:
            return
        call_uuid = str(self.call_id)
        names = self.tools.customer_names if self.tools is not None else ()
        try:
            handoff = await self.handoffs.prepare(
                call_uuid, self.observer.record, reason, caller_wants, names
            )
        except Exception as e:  # the facts or the summary broke: a bare handoff still goes
            log.error("handoff summary failed", error=type(e).__name__)
            handoff = self.handoffs.bare(call_uuid, reason, caller_wants, names)
        self.handoffs.publish(handoff)
        if self.recorder is not None:
            await self.recorder.handoff(handoff.as_dict())  # in Redis before the 0x00

    async def _caller_asked(self, reason: str, said: str | None) -> None:
        if said:  # the model never saw these words: they make a turn of their own
            self.observer.caller_turn_now(said)
        await self.hand_over(reason, phrase="transfer")

    def _stop_new_answers(self) -> None:
        """The call is ending: no request for a person, no apology after the last phrase."""
        if self.operator_request is not None:
            self.operator_request.close()
        if self.policy is not None:
            self.policy.close()

    def _output_blocked(self, reason: str) -> None:
        """The model's words leaked its instructions; the caller heard a safe sentence instead."""
        log.warning("bot output blocked", reason=reason)  # never the text: it is the prompt
        if self.metrics is not None:
            self.metrics.output_blocked(reason)

    async def _failed(self, reason: str) -> None:
        await self.hand_over(reason, phrase="transfer_after_failure")

    def _language_switched(self, language: str) -> None:
        """The caller is answered in ``language`` now: so are the fixed phrases."""
        assert self.phrases is not None and self.guard is not None
        self.phrases.switch(language)
        self.guard.safe_sentence = self.phrases.text("output_blocked")

    async def _caller_silent(self, count: int) -> None:
        """Nothing heard for a while: ask if the caller is there; after the last ask, hang up."""
        assert self.fallback is not None and self.phrases is not None
        if self._ending is not None or self._handover_done is not None:
            return
        if count <= self.settings.turn.silence_prompts:
            log.info("caller silent, asking", count=count)
            await self.fallback.say(*self.phrases.said("still_there"))
            return
        log.info("caller silent, ending the call", prompts=count - 1)
        self._ending = "caller_silent"
        if self.silence is not None:
            self.silence.stop_watching()
        self._stop_new_answers()
        if self.handoffs is not None:
            self.handoffs.hung_up(str(self.call_id))  # nobody to queue for an operator
        await self.fallback.say(*self.phrases.said("goodbye_silent"))
        await self.fallback.end("caller_silent")  # behind the goodbye: then 0x00

    async def _hold(self, why: str) -> None:
        """A tool or the model keeps the caller waiting: say that the bot is checking."""
        assert self.fallback is not None and self.phrases is not None
        if self._ending is not None or self._handover_done is not None:
            return
        log.info("holding", why=why)
        await self.fallback.hold(*self.phrases.said("hold_on"))

    async def _ended_by_tool(self, outcome: str, detail: dict[str, Any]) -> None:
        """A tool ends the call; its caller pushes the end once this returns."""
        if outcome == "transferred":
            await self.hand_over(detail.get("reason", "other"), detail.get("caller_wants"))
            return
        self._stop_new_answers()  # the goodbye is said: a late 0 changes nothing
        if self._handover_done is not None:  # the caller asked for a person first: that wins
            await self._handover_done.wait()
            return
        self._ending = outcome
        self.end_detail = detail
        log.info("call ending", outcome=outcome, reason=detail.get("reason"))
        if self.handoffs is not None:
            self.handoffs.hung_up(str(self.call_id))

    async def end_for_drain(self) -> None:
        """The drain time is over: the call goes to the operators with its summary.

        The handoff is published before the hangup, as in any handover, so the dialplan's
        lookup finds it. The echo pipeline has nobody to hand over to: it just hangs up. A
        call already ending (a goodbye or a handover under way) is left to finish.
        """
        if self._ending is not None:
            return
        if self.fallback is None:
            await self.end("shutdown")
        else:
            await self.hand_over("shutdown", phrase="transfer")

    async def end(self, reason: str) -> None:
        """End the call from our side: queued audio plays, then Asterisk gets a hangup."""
        self._ending = reason
        await self.worker.queue_frame(EndFrame(reason=reason))

    async def cancel(self, reason: str) -> None:
        """Stop the call at once."""
        self._ending = self._ending or reason
        await self.worker.cancel(reason=reason)


class CallRegistry:
    """The calls this process is running, for draining and readiness."""

    def __init__(self) -> None:
        self._calls: dict[uuid.UUID, Call] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def ids(self) -> list[str]:
        """The ids of the calls in progress."""
        return [str(call_id) for call_id in self._calls]

    def add(self, call: Call) -> None:
        """Track a call while it runs."""
        self._calls[call.call_id] = call

    def remove(self, call: Call) -> None:
        """Forget a finished call."""
        self._calls.pop(call.call_id, None)

    async def end_all_for_drain(self) -> None:
        """Hand every call over (the bot hangs up; the dialplan continues), all at once."""
        calls = list(self._calls.values())
        results = await asyncio.gather(*(c.end_for_drain() for c in calls), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.error("ending a call for the drain failed", error=type(result).__name__)

    async def cancel_all(self, reason: str) -> None:
        """Stop every call at once."""
        for call in list(self._calls.values()):
            await call.cancel(reason)
