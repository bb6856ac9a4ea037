"""Builds the pipecat pipeline and worker for one call from the settings.

Only this module decides what answers a call; the server and the transport do not know.
The voice pipeline is the one in DESIGN.md: AudioSocket in -> Silero VAD -> Google STT -> user
aggregator (turn strategies) -> Claude with the store tools -> Google TTS (prices and numbers
put into words first) -> AudioSocket out -> assistant aggregator. The caller's audio reaches
STT and VAD as bytes handed over by the transport's reader, not as frames.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import get_args

from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import Frame, TTSSpeakFrame
from pipecat.observers.base_observer import BaseObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.turns.user_mute import MuteUntilFirstBotCompleteUserMuteStrategy
from pipecat.turns.user_start import VADUserTurnStartStrategy
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from bot.prompts import PromptSet, load_prompts
from bot.services import (
    Backends,
    build_llm,
    build_stt,
    build_tts,
    call_languages,
    language_switch_frames,
)
from bot.settings import Language, Settings
from bot.tools import StoreTools, internal_texts, tools_schema
from observability.observers import frame_filter
from processors.echo import EchoProcessor
from processors.fallback_speech import FallbackSpeech
from processors.keypad_yes import KeypadYes
from processors.language_switch import LanguageSwitch
from processors.operator_request import OperatorRequest
from processors.output_guard import LeakDetector, OnBlocked, OutputGuard
from processors.phone_vad import PhoneVADAnalyzer, PhoneVADProcessor, shared_batcher
from transports.audiosocket.transport import AudioSocketParams, AudioSocketTransport

# pipecat ends a turn after 5 s without a VAD or transcript event once the caller is quiet.
# At the end of a long line that can be the wait for the final transcript (interim results
# stop once every word is out), and the turn then ends without its words. The stage
# watchdog's STT deadline already covers a final that never comes.
TURN_STOP_TIMEOUT_SECS = 15.0


@functools.cache
def leak_detector(store: str) -> LeakDetector:
    """Every language's system prompt and the tools' texts, built once per process."""
    systems = [load_prompts(language, store=store).system for language in get_args(Language)]
    return LeakDetector([*systems, *internal_texts()])


def output_guard(settings: Settings, prompts: PromptSet, on_blocked: OnBlocked) -> OutputGuard:
    """The call's guard between Claude and text-to-speech (``processors.output_guard``)."""
    detector = leak_detector(settings.store_name)
    return OutputGuard(detector, prompts.phrase("output_blocked"), on_blocked)


def transport_params(settings: Settings) -> AudioSocketParams:
    """Transport parameters for a call, from the settings."""
    audio = settings.audiosocket
    return AudioSocketParams(
        audio_in_sample_rate=audio.sample_rate,
        audio_out_sample_rate=audio.sample_rate,
        lead_frames=audio.output_lead_frames,
        read_timeout_secs=audio.read_timeout_secs,
    )


def voice_processors(
    settings: Settings,
    transport: AudioSocketTransport,
    backends: Backends,
    prompts: PromptSet,
    fallback: FallbackSpeech,
    tools: StoreTools,
    operator_request: OperatorRequest,
    guard: OutputGuard,
    on_language: Callable[[str], None],
) -> list[FrameProcessor]:
    """The store assistant: VAD, STT, Claude and TTS between the two ends of the transport.

    Turn-taking is tuned for the phone: the caller counts as speaking after
    ``vad_start_secs`` of speech (shorter noises never interrupt the bot), only VAD starts a
    turn (an interim transcript of a cough must not), and a turn ends once VAD reports
    silence, the caller has not resumed within ``user_speech_timeout_secs``, and the final
    transcript is in. The greeting cannot be interrupted: the caller is muted until the
    bot's first answer is complete. Asking for a person (or pressing 0) goes to the
    operators without the model (``OperatorRequest``, right after speech-to-text); pressing
    1 is the caller's yes (``KeypadYes``). A caller heard speaking one of the other languages
    (Russian by default) is answered in it from then on (``LanguageSwitch``). What the model
    says reaches text-to-speech only through the ``OutputGuard`` (no instructions, tool
    names or JSON read out).
    """
    turn = settings.turn
    vad = PhoneVADAnalyzer(
        sample_rate=settings.audiosocket.sample_rate,
        batcher=shared_batcher(turn.vad_batch_ms / 1000) if turn.vad_batch_ms else None,
        params=VADParams(
            confidence=turn.vad_confidence,
            start_secs=turn.vad_start_secs,
            stop_secs=turn.vad_stop_secs,
            min_volume=turn.vad_min_volume,
        ),
    )
    user, assistant = LLMContextAggregatorPair(
        LLMContext(tools=tools_schema()),
        user_params=LLMUserAggregatorParams(
            user_turn_strategies=UserTurnStrategies(
                start=[VADUserTurnStartStrategy()],
                stop=[
                    SpeechTimeoutUserTurnStopStrategy(
                        user_speech_timeout=turn.user_speech_timeout_secs
                    )
                ],
            ),
            user_mute_strategies=[MuteUntilFirstBotCompleteUserMuteStrategy()],
            user_turn_stop_timeout=TURN_STOP_TIMEOUT_SECS,
        ),
    )
    llm = build_llm(settings, backends, prompts)
    tools.register(llm)
    languages = call_languages(settings)

    def switch_to(language: str) -> list[Frame]:
        on_language(language)  # the call's fixed phrases
        return language_switch_frames(settings, language)

    switch = LanguageSwitch(settings.language, languages[1:], switch_to)
    vad_processor, stt = PhoneVADProcessor(vad), build_stt(settings, backends)
    # The caller's audio goes from the transport's reader task to these two as bytes, not as
    # frames; speech-to-text keeps it (nothing after it reads caller audio).
    transport.input().send_audio_to([stt, vad_processor])
    return [
        transport.input(),
        vad_processor,
        stt,
        *([switch] if len(languages) > 1 else []),
        operator_request,
        KeypadYes(),
        user,
        llm,
        guard,
        build_tts(settings, backends),
        fallback,
        transport.output(),
        assistant,
    ]


def greeting_frame(prompts: PromptSet) -> TTSSpeakFrame:
    """The first thing the caller hears: the store and the AI disclosure; not interruptible."""
    frame = TTSSpeakFrame(prompts.phrase("greeting"))
    frame.interruptible = False  # an init=False field: set after construction
    return frame


def build_worker(
    settings: Settings,
    transport: AudioSocketTransport,
    *,
    backends: Backends | None = None,
    prompts: PromptSet | None = None,
    fallback: FallbackSpeech | None = None,
    tools: StoreTools | None = None,
    operator_request: OperatorRequest | None = None,
    guard: OutputGuard | None = None,
    on_language: Callable[[str], None] = lambda _language: None,
    observers: list[BaseObserver] | None = None,
) -> PipelineWorker:
    """Assemble the call's pipeline and wrap it in a worker with telephony-safe options.

    RTVI (a browser-client protocol) is off; the idle timeout is off because a call's life is
    owned by the caller's socket and the failure policy, not by a frame-activity timer.
    """
    rate = settings.audiosocket.sample_rate
    if settings.pipeline == "voice":
        assert backends and prompts and fallback and tools and operator_request and guard, (
            "the voice pipeline needs its services"
        )
        processors = voice_processors(
            settings,
            transport,
            backends,
            prompts,
            fallback,
            tools,
            operator_request,
            guard,
            on_language,
        )
    else:
        echo = EchoProcessor(player=transport.output())
        transport.input().send_audio_to([echo])
        processors = [transport.input(), echo, transport.output()]
    worker = PipelineWorker(
        Pipeline(processors),
        params=PipelineParams(
            audio_in_sample_rate=rate,
            audio_out_sample_rate=rate,
            enable_metrics=True,
            send_initial_empty_metrics=False,
        ),
        observers=observers or [],
        enable_rtvi=False,
        idle_timeout_secs=None,
        cancel_on_idle_timeout=False,
        cancel_runner_on_idle_timeout=False,
        enable_turn_tracking=False,  # pipecat's turn tracking feeds only its tracing
        conversation_id=str(transport.call_id),
    )
    frame_filter.install(worker)
    if settings.pipeline == "voice" and prompts is not None:
        greeting = greeting_frame(prompts)

        @worker.event_handler("on_pipeline_started")
        async def greet(worker: PipelineWorker, _frame: object) -> None:
            await worker.queue_frame(greeting)

    return worker
