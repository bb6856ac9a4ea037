"""The local stand-ins one process needs, started together on free loopback ports.

The stand-in STT learns every caller line of the shipped scenarios (by tone code); the
stand-in Claude follows the scripted store assistant in ``scenarios/assistant.yaml``.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.anthropic_api import AnthropicStandIn, Script
from sandbox.google_stt import SpeechStandIn
from sandbox.google_tts import TextToSpeechStandIn
from sandbox.scenario import ASSISTANT_SCRIPT, SCENARIOS_DIR, build_phrasebook, load_scenarios


class SandboxStack:
    """Google STT, Google TTS and Anthropic stand-ins, with their latency and fault knobs.

    Args:
        scenarios_dir: Where the scenarios whose caller lines the STT must know live.
        assistant_script: The scripted store assistant the LLM stand-in plays.
    """

    def __init__(
        self, scenarios_dir: Path = SCENARIOS_DIR, assistant_script: Path = ASSISTANT_SCRIPT
    ) -> None:
        self.scenarios = load_scenarios(scenarios_dir)
        self.codes = build_phrasebook(
            [line for scenario in self.scenarios.values() for line in scenario.lines]
        )
        self.stt = SpeechStandIn(phrasebook={code: text for text, code in self.codes.items()})
        for scenario in self.scenarios.values():
            self._spoken_in(scenario.lines, scenario.language)
        self.tts = TextToSpeechStandIn()
        self.llm = AnthropicStandIn(Script.from_file(assistant_script))

    def learn(self, lines: list[str], language: str) -> None:
        """Teach the STT stand-in more caller lines (a scenario file of the user's own)."""
        self.codes = build_phrasebook([*self.codes, *lines])
        self.stt.phrasebook = {code: text for text, code in self.codes.items()}
        self._spoken_in(lines, language)

    def _spoken_in(self, lines: list[str], language: str) -> None:
        self.stt.spoken_in.update((self.codes[line], language) for line in lines)

    async def start(self, host: str = "127.0.0.1") -> None:
        """Start all three on free ports of ``host`` (loopback unless told)."""
        await self.stt.start(host)
        await self.tts.start(host)
        await self.llm.start(host)

    async def stop(self) -> None:
        """Stop all three."""
        await self.llm.stop()
        await self.tts.stop()
        await self.stt.stop()

    @property
    def stt_address(self) -> str:
        """host:port of the Speech-to-Text stand-in."""
        return self.stt.address

    @property
    def tts_address(self) -> str:
        """host:port of the Text-to-Speech stand-in."""
        return self.tts.address

    @property
    def llm_base_url(self) -> str:
        """Base URL of the Anthropic stand-in."""
        return self.llm.base_url
