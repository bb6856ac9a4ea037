"""Scripted calls: a small YAML format, the phrasebook the stand-in STT reads, and a player.

A scenario file (``sandbox/scenarios/<name>.yaml``)::

    name: product_search
    title: Пошук товару
    language: uk-UA
    steps:
      - say: Добрий день! Мені потрібні навушники.   # after the bot falls silent
      - pause: 1.5                                    # seconds of silence
      - dtmf: "0"                                     # a key press
      - barge_in: {after_secs: 1.5, say: Вибачте...}  # talk over the bot's next answer
    expect:
      bot_says: [навушник]       # substrings of what the bot said (case-insensitive)
      tool_calls: [search_products]
      interrupted_turns: 1
      outcome: caller_hangup
      orders_placed: 1           # orders the store accepted, each at the catalogue price

Each caller line is spoken as a short tone code (see :mod:`sandbox.tonecode`) followed by
the line synthesized with espeak-ng. The code identifies the line in the phrasebook, which is
how the stand-in STT "recognises" it without product code knowing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sandbox import speech, tonecode
from sandbox.caller import Caller

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
ASSISTANT_SCRIPT = SCENARIOS_DIR / "assistant.yaml"
BOT_QUIET_SECS = 0.6  # how long the bot must be silent before the caller speaks
DTMF_KEYS = frozenset("0123456789*#")
ANSWER_TIMEOUT_SECS = 15.0  # how long the caller waits for the bot to start answering


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Step:
    """One thing the caller does.

    Parameters:
        kind: ``say``, ``pause``, ``dtmf`` or ``barge_in``.
        text: The line to say (``say``, ``barge_in``).
        secs: Seconds of silence (``pause``) or of bot speech before talking over it
            (``barge_in``).
        key: The DTMF key (``dtmf``).
    """

    kind: str
    text: str = ""
    secs: float = 0.0
    key: str = ""


@dataclass(frozen=True, slots=True)
class Expect:
    """What a scenario expects of the bot; unset fields are not checked."""

    bot_says: tuple[str, ...] = ()
    tool_calls: tuple[str, ...] = ()
    interrupted_turns: int | None = None
    outcome: str | None = None
    orders_placed: int | None = None
    handoff_reason: str | None = None

    def check(
        self,
        *,
        bot_text: str,
        interrupted_turns: int,
        tool_names: list[str],
        orders_placed: int,
        outcome: str | None,
        reason: str | None,
    ) -> dict[str, bool]:
        """Each expectation (as a short sentence) and whether the call met it."""
        said = bot_text.lower()
        met = {f"bot says {phrase!r}": phrase.lower() in said for phrase in self.bot_says}
        if self.interrupted_turns is not None:
            met[f"{self.interrupted_turns} interrupted turn(s)"] = (
                interrupted_turns == self.interrupted_turns
            )
        for name in self.tool_calls:
            met[f"tool call {name}"] = name in tool_names
        if self.orders_placed is not None:
            met[f"{self.orders_placed} order(s) placed"] = orders_placed == self.orders_placed
        if self.handoff_reason is not None:
            met[f"handoff reason {self.handoff_reason}"] = reason == self.handoff_reason
        if self.outcome is not None:
            met[f"outcome {self.outcome}"] = outcome == self.outcome
        return met


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scripted call."""

    name: str
    title: str
    language: str
    steps: tuple[Step, ...]
    expect: Expect = field(default_factory=Expect)
    caller_number: str | None = None  # what the dialplan would report (CALLERID(num))

    @property
    def lines(self) -> list[str]:
        """Every line the caller says, in order."""
        return [step.text for step in self.steps if step.text]


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file."""
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise ScenarioError(f"{path}: needs a 'steps' list")
    return Scenario(
        name=str(data.get("name") or path.stem),
        title=str(data.get("title") or path.stem),
        language=str(data.get("language") or "uk-UA"),
        steps=tuple(parse_step(path, i, raw) for i, raw in enumerate(data["steps"], start=1)),
        expect=parse_expect(path, data.get("expect")),
        caller_number=str(data["caller_number"]) if data.get("caller_number") else None,
    )


def read_yaml(path: Path) -> Any:
    """A YAML file's content, or a :class:`ScenarioError` naming the file."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read ({exc})") from None


def parse_expect(path: Path, raw: Any) -> Expect:
    """A scenario's ``expect`` mapping (absent: nothing expected)."""
    expect = raw or {}
    if not isinstance(expect, dict):
        raise ScenarioError(f"{path}: 'expect' is a mapping")
    unknown = set(expect) - set(Expect.__dataclass_fields__)
    if unknown:
        raise ScenarioError(f"{path}: unknown expectations: {', '.join(sorted(unknown))}")
    return Expect(
        bot_says=tuple(expect.get("bot_says", ())),
        tool_calls=tuple(expect.get("tool_calls", ())),
        interrupted_turns=expect.get("interrupted_turns"),
        outcome=expect.get("outcome"),
        orders_placed=expect.get("orders_placed"),
        handoff_reason=expect.get("handoff_reason"),
    )


def parse_step(path: Path, number: int, raw: Any) -> Step:
    """Step ``number`` of a scenario: one of ``say``, ``pause``, ``dtmf``, ``barge_in``."""
    where = f"{path}: step {number}"
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ScenarioError(f"{where}: each step is one of say, pause, dtmf, barge_in")
    ((kind, value),) = raw.items()
    if kind == "say" and isinstance(value, str) and value.strip():
        return Step("say", text=value.strip())
    if kind == "pause" and isinstance(value, int | float) and value >= 0:
        return Step("pause", secs=float(value))
    if kind == "dtmf" and str(value) in DTMF_KEYS:
        return Step("dtmf", key=str(value))
    if kind == "barge_in" and isinstance(value, dict) and str(value.get("say", "")).strip():
        return Step(
            "barge_in", text=str(value["say"]).strip(), secs=float(value.get("after_secs", 1.0))
        )
    raise ScenarioError(f"{where}: invalid {kind!r} step: {value!r}")


def load_scenarios(directory: Path = SCENARIOS_DIR) -> dict[str, Scenario]:
    """Every scenario in ``directory`` by name (the assistant script is not a scenario)."""
    found = {}
    for path in sorted(directory.glob("*.yaml")):
        if path != ASSISTANT_SCRIPT:
            scenario = load_scenario(path)
            found[scenario.name] = scenario
    return found


def build_phrasebook(lines: list[str]) -> dict[str, int]:
    """Give every distinct line a stable tone code (a CRC, probed past collisions)."""
    codes: dict[str, int] = {}
    taken: set[int] = set()
    for line in sorted(set(lines)):
        code = zlib.crc32(line.encode()) % (tonecode.MAX_CODE + 1)
        while code in taken:
            code = (code + 1) % (tonecode.MAX_CODE + 1)
        codes[line] = code
        taken.add(code)
    return codes


@dataclass(slots=True)
class SpokenLine:
    """A caller line as it was played: text and when (seconds after connecting)."""

    text: str
    started: float
    ended: float
    barge_in: bool = False


class ScenarioPlayer:
    """Plays a scenario as the caller: waits for the bot, speaks, interrupts, presses keys.

    Args:
        scenario: What to do.
        codes: The phrasebook (line -> tone code) the stand-in STT was given.
    """

    def __init__(self, scenario: Scenario, codes: dict[str, int]) -> None:
        self.scenario = scenario
        self._codes = codes
        self.spoken: list[SpokenLine] = []

    def utterance(self, text: str, rate: int) -> bytes:
        """The audio of a caller line: its tone code, then the synthesized speech."""
        code = self._codes[text]
        return tonecode.encode(code, rate) + speech.synthesize(
            text, language=self.scenario.language, rate=rate
        )

    async def __call__(self, caller: Caller) -> None:
        """Drive ``caller`` through the scenario, then hang up once the bot is done.

        Like a person, the caller lets the bot answer: after each line it waits for the bot
        to speak and then to fall silent before its next line (a ``barge_in`` line instead
        starts ``after_secs`` into the bot's answer).
        """
        said_at = caller.result.connected_at  # the greeting is the first answer to wait for
        for step in self.scenario.steps:
            if step.kind in ("say", "barge_in"):
                await caller.wait_bot_speaking(since=said_at, timeout=ANSWER_TIMEOUT_SECS)
                if step.kind == "say":
                    await caller.wait_bot_quiet(BOT_QUIET_SECS)
                else:
                    await caller.pause(step.secs)
                said_at = await self._say(caller, step.text, barge_in=step.kind == "barge_in")
            elif step.kind == "pause":
                await caller.pause(step.secs)
            elif step.kind == "dtmf":
                caller.press(step.key)
        await caller.wait_bot_speaking(since=said_at, timeout=ANSWER_TIMEOUT_SECS)
        await caller.wait_bot_quiet(BOT_QUIET_SECS)

    async def _say(self, caller: Caller, text: str, *, barge_in: bool = False) -> float:
        """Say a line; return the monotonic time it ended."""
        audio = self.utterance(text, caller.rate)
        started = caller.elapsed()
        await caller.say(audio)
        self.spoken.append(SpokenLine(text, started, caller.elapsed(), barge_in))
        return caller.result.connected_at + caller.elapsed()
