"""Our own part of an answer's latency, where the service delays are known (the stand-ins).

Voice-to-voice minus what was not ours: the turn-taking wait (VAD stop delay plus the speech
timeout, or the STT stand-in's final, whichever is later), Claude's first token, streaming
the rest of the first sentence word by word, and the TTS stand-in's first audio; for each
store lookup before the answer (one per model response, as the scripted model does), one
more model request with its streamed arguments, and the store's answer. The stand-ins count
their first token and first audio from the moment a request arrives, so their own work is
not counted as ours. The demo and ``callproc bench`` both report it, ``callproc bench`` also
stage by stage; pure arithmetic on a turn's figures.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.settings import Settings
from bot.tools import ENDING_TOOLS


@dataclass(frozen=True, slots=True)
class InjectedDelays:
    """What the stand-ins add to every answer by design, in milliseconds."""

    turn_wait_ms: float
    llm_first_token_ms: float
    llm_token_interval_ms: float
    tts_first_audio_ms: float

    @classmethod
    def of(
        cls,
        settings: Settings,
        stt: Mapping[str, Any],
        llm: Mapping[str, Any],
        tts: Mapping[str, Any],
    ) -> InjectedDelays:
        """From the turn settings and the stand-ins' knobs (as dicts of their fields)."""
        turn_wait = max(
            (settings.turn.vad_stop_secs + settings.turn.user_speech_timeout_secs) * 1000,
            max(stt["silence_ms"], stt["final_after_speech_ms"]),
        )
        return cls(
            turn_wait_ms=turn_wait,
            llm_first_token_ms=llm["first_token_ms"],
            llm_token_interval_ms=llm["token_interval_ms"],
            tts_first_audio_ms=tts["first_audio_ms"],
        )


OVERHEAD_STAGES = ("end_of_turn", "llm", "tts", "send")


def overhead_by_stage(
    turn: Mapping[str, Any], delays: InjectedDelays, tool_calls: list[Mapping[str, Any]]
) -> dict[str, float] | None:
    """Our share of ``turn``'s voice-to-voice, stage by stage; None for a turn without an answer.

    Voice-to-voice is end of turn + LLM first token + TTS first audio + send; each stage
    less what the stand-ins injected into it: the turn-taking wait; Claude's first token,
    plus, per store lookup before the answer (one per model response, as the scripted model
    does), one more model request with its streamed arguments (the first piece comes with
    its first token) and the store's answer; the rest of the first sentence streamed word by
    word after its first and the TTS stand-in's first audio. ``turn`` has
    ``index``, ``bot`` (the text) and the stage figures in ms; each tool call has ``turn``,
    ``name``, ``arguments`` and ``duration_ms``.
    """
    if turn["voice_to_voice_ms"] is None or not turn["bot"] or turn["llm_first_token_ms"] is None:
        return None  # no answer, or one said without the model (a fixed phrase)
    llm = delays.llm_first_token_ms
    for call in tool_calls:
        # A model request follows each tool call but the call-ending ones.
        if call["turn"] == turn["index"] and call["name"] not in ENDING_TOOLS:
            # The stand-in streams an empty piece, then the arguments 8 characters at a time.
            pieces = math.ceil(len(json.dumps(call["arguments"], ensure_ascii=False)) / 8)
            llm += delays.llm_first_token_ms + pieces * delays.llm_token_interval_ms
            llm += call["duration_ms"] or 0
    first_sentence = re.split(r"(?<=[.!?])\s", turn["bot"], maxsplit=1)[0]
    rest = len(first_sentence.split()) - 1  # words streamed after the first token
    tts = rest * delays.llm_token_interval_ms + delays.tts_first_audio_ms
    stages = {
        "llm": turn["llm_first_token_ms"] - llm,
        "tts": (turn["tts_first_audio_ms"] or 0) - tts,
        "send": turn["send_ms"] or 0,
    }
    # The rest of voice-to-voice is the end of turn's (the stages add up to voice-to-voice).
    stages["end_of_turn"] = (
        turn["voice_to_voice_ms"] - delays.turn_wait_ms - llm - tts - sum(stages.values())
    )
    return {stage: round(stages[stage], 1) for stage in OVERHEAD_STAGES}


def overhead_ms(
    turn: Mapping[str, Any], delays: InjectedDelays, tool_calls: list[Mapping[str, Any]]
) -> float | None:
    """Voice-to-voice of ``turn`` minus the injected delays; None for a turn without an answer."""
    stages = overhead_by_stage(turn, delays, tool_calls)
    return None if stages is None else round(sum(stages.values()), 1)
