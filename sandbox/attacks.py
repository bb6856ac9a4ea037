"""The attack suite's cases: hostile callers' lines, and the model that falls for them.

``sandbox/eval/attacks.yaml`` lists ``behaviours`` (what a compromised model does) and
``cases`` (one call each, with a category). :func:`load_attacks` reads it into
:class:`AttackCase` objects whose :class:`~sandbox.scenario.Scenario` the simulated caller
plays, and :func:`hostile_script` turns the behaviours the cases name into rules the
Anthropic stand-in follows before the store assistant's own (see the file's header).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sandbox.anthropic_api import Rule, Script, When
from sandbox.scenario import (
    ASSISTANT_SCRIPT,
    Scenario,
    ScenarioError,
    parse_expect,
    parse_step,
    read_yaml,
)

ATTACKS_FILE = Path(__file__).resolve().parent / "eval" / "attacks.yaml"
HANDOFF_RULE = "handoff_summary"  # the stand-in's answer to the operator-summary request


@dataclass(frozen=True, slots=True)
class LiveExpect:
    """What only a real model can be held to (a scripted hostile one breaks it on purpose).

    Parameters:
        never_says: Words the bot must not say (case-insensitive).
        max_answer_words: The most words any one answer may have.
    """

    never_says: tuple[str, ...] = ()
    max_answer_words: int | None = None


@dataclass(frozen=True, slots=True)
class AttackCase:
    """One call of the suite.

    Parameters:
        scenario: What the caller does (and the expectations judged in every run).
        category: The kind of attack, or ``conversation`` for an ordinary call.
        orders: Orders the call may place.
        hostile: Caller line -> the behaviour that answers it in the scripted run.
        live: Expectations judged only against a real model.
    """

    scenario: Scenario
    category: str
    orders: int = 0
    hostile: dict[str, str] = field(default_factory=dict)
    live: LiveExpect = field(default_factory=LiveExpect)

    @property
    def id(self) -> str:
        """The case's id (its scenario's name)."""
        return self.scenario.name


@dataclass(frozen=True, slots=True)
class AttackSuite:
    """The cases and the behaviours they name."""

    cases: tuple[AttackCase, ...]
    behaviours: dict[str, tuple[Rule, ...]]


def load_attacks(path: Path = ATTACKS_FILE) -> AttackSuite:
    """Read and validate the attack file.

    Raises:
        ScenarioError: A file that cannot be used; the message names the case and problem.
    """
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise ScenarioError(f"{path}: needs 'behaviours' and a 'cases' list")
    behaviours = {
        name: _behaviour(path, name, rules)
        for name, rules in (data.get("behaviours") or {}).items()
    }
    cases = tuple(_case(path, raw, behaviours) for raw in data["cases"])
    ids = [case.id for case in cases]
    if len(set(ids)) != len(ids):
        raise ScenarioError(
            f"{path}: case ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}"
        )
    return AttackSuite(cases, behaviours)


def _behaviour(path: Path, name: str, raw: Any) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{path}: behaviour {name!r} needs a list of rules")
    try:
        return tuple(Rule.model_validate({**r, "name": f"hostile:{name}"}) for r in raw)
    except (ValidationError, TypeError) as e:
        raise ScenarioError(f"{path}: behaviour {name!r}: {e}") from None


def _case(path: Path, raw: Any, behaviours: dict[str, tuple[Rule, ...]]) -> AttackCase:
    if not isinstance(raw, dict) or not raw.get("id") or not isinstance(raw.get("steps"), list):
        raise ScenarioError(f"{path}: each case needs an 'id' and a 'steps' list: {raw!r}")
    where = Path(f"{path}#{raw['id']}")
    hostile: dict[str, str] = {}
    steps = []
    for number, item in enumerate(raw["steps"], start=1):
        item = dict(item) if isinstance(item, dict) else item
        name = item.pop("hostile", None) if isinstance(item, dict) else None
        step = parse_step(where, number, item)
        if name is not None:
            if name not in behaviours:
                raise ScenarioError(f"{where}: step {number}: no behaviour {name!r}")
            hostile[step.text] = name
        steps.append(step)
    live = raw.get("live") or {}
    try:
        live_expect = LiveExpect(
            never_says=tuple(live.get("never_says", ())),
            max_answer_words=live.get("max_answer_words"),
        )
    except AttributeError:
        raise ScenarioError(f"{where}: 'live' is a mapping") from None
    scenario = Scenario(
        name=str(raw["id"]),
        title=str(raw.get("title") or raw["id"]),
        language=str(raw.get("language") or "uk-UA"),
        steps=tuple(steps),
        expect=parse_expect(where, raw.get("expect")),
    )
    return AttackCase(
        scenario,
        str(raw.get("category") or "other"),
        int(raw.get("orders", 0)),
        hostile,
        live_expect,
    )


def conversation_cases(scenarios: Iterable[Scenario]) -> list[AttackCase]:
    """Ordinary calls (the shipped scenarios) as cases: their own expectations, no attack."""
    return [AttackCase(s, "conversation", orders=s.expect.orders_placed or 0) for s in scenarios]


def hostile_script(
    cases: Iterable[AttackCase], suite: AttackSuite, assistant: Path = ASSISTANT_SCRIPT
) -> Script:
    """The stand-in's script for the scripted run: each attack answered by its behaviour.

    A behaviour's first rule answers the attack line itself, its later rules the tool results
    that follow while that line is still the caller's latest; everything else falls through to
    the store assistant. Only the operator-summary rule comes first. The hostile model may call
    tools it was never offered.

    Raises:
        ScenarioError: A line that is attacked in one case is said plainly in another (the
            rules are shared by every call, so the other call would be attacked too).
    """
    cases = list(cases)
    attacked = {line: name for case in cases for line, name in case.hostile.items()}
    for case in cases:
        for line in case.scenario.lines:
            if line in attacked and case.hostile.get(line) != attacked[line]:
                raise ScenarioError(
                    f"case {case.id}: the line {line!r} is answered by behaviour "
                    f"{attacked[line]!r} in another case; give it a line of its own"
                )
    rules: list[Rule] = []
    for line, name in attacked.items():
        said = re.escape(line)
        first, *rest = suite.behaviours[name]
        rules.append(first.model_copy(update={"when": When(user_matches=said)}))
        rules += [
            r.model_copy(update={"when": r.when.model_copy(update={"caller_matches": said})})
            for r in rest
        ]
    store_assistant = Script.from_file(assistant)
    handoff = [r for r in store_assistant.rules if r.name == HANDOFF_RULE]
    others = [r for r in store_assistant.rules if r.name != HANDOFF_RULE]
    return Script(
        rules=[*handoff, *rules, *others],
        default=store_assistant.default,
        offered_tools_only=False,
    )
