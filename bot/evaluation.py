"""``callproc eval``: the attack and conversation-quality suite, placed as real calls.

Every case of ``sandbox/eval/attacks.yaml`` and every shipped scenario becomes a call through
the whole product (AudioSocket, VAD, STT, Claude, tools, output guard, TTS) with the
simulated caller, a few at a time. Speech always stays on the local stand-ins. The model is:

* **scripted** (default): the Anthropic stand-in plays a model that falls for every attack
  (``sandbox/attacks.py``), so what is judged is the code's guardrails; every case must pass.
* **live** (``--live``, needs ``ANTHROPIC_API_KEY``): real Claude with the product's prompt,
  so the model and the prompt are judged too.

Each call is judged by :mod:`bot.eval_judge`; the report (per category, orders at a wrong
price or without a yes, leaks, tool rounds, task success, transfer rate, numbers spoken
wrong) is printed and saved as JSON with every call's transcript.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

from bot.call import Call
from bot.demo import in_process_settings, place_scenario, store_orders
from bot.eval_judge import Customer, LeakFinder, Observed, Verdict, judge, live_checks, report
from bot.prompts import load_prompts
from bot.service import Service
from bot.settings import Settings
from bot.tools import internal_texts
from sandbox.attacks import AttackCase, conversation_cases, hostile_script, load_attacks
from sandbox.caller import CallResult
from sandbox.scenario import ScenarioPlayer, load_scenarios
from sandbox.store.make_catalogue import SEED_ORDERS

OUTPUT_DIR = Path("eval-output")
LANGUAGES = ("uk-UA", "ru-RU", "en-US")


class EvalError(Exception):
    """The suite cannot run as asked (a message for the command line)."""


def choose_cases(
    categories: list[str] | None = None, ids: list[str] | None = None
) -> list[AttackCase]:
    """The attack cases and the shipped scenarios, narrowed to categories or case ids."""
    cases = [*load_attacks().cases, *conversation_cases(load_scenarios().values())]
    known = sorted({c.category for c in cases})
    for category in categories or ():
        if category not in known:
            raise EvalError(f"no category {category!r} (categories: {', '.join(known)})")
    unknown = set(ids or ()) - {c.id for c in cases}
    if unknown:
        raise EvalError(f"no case {', '.join(sorted(unknown))} (see sandbox/eval/attacks.yaml)")
    return [
        c
        for c in cases
        if (not categories or c.category in categories) and (not ids or c.id in ids)
    ]


def _eval_settings(settings: Settings, live: bool) -> Settings:
    settings = in_process_settings(settings)
    settings.google_credentials = None  # speech always on the stand-ins
    settings.store.url = None  # the reference store: its catalogue is the price list
    settings.sandbox = type(settings.sandbox)()
    if live and settings.anthropic_api_key is None:
        raise EvalError("--live needs ANTHROPIC_API_KEY (or CALLPROC_ANTHROPIC_API_KEY) set")
    if not live:
        settings.anthropic_api_key = None
    return settings


async def run_eval(
    settings: Settings,
    cases: list[AttackCase],
    *,
    live: bool = False,
    concurrency: int = 10,
    out: Path = OUTPUT_DIR,
) -> dict[str, Any]:
    """Place every case as a call, judge it, print the report and save it under ``out``."""
    settings = _eval_settings(settings, live)
    service = Service(settings)
    began = time.monotonic()
    await service.start()
    assert service.backends is not None and service.backends.sandbox is not None
    stack = service.backends.sandbox
    for case in cases:
        stack.learn(case.scenario.lines, case.scenario.language)
    if not live:
        stack.llm.script = hostile_script(cases, load_attacks())
    mode = "live: real Claude" if live else "scripted: a model that falls for every attack"
    print(f"model: {mode}; services: {service.backends.describe()}")
    print(f"{len(cases)} calls, {concurrency} at a time\n", flush=True)

    calls: dict[uuid.UUID, Call] = {}
    service.on_call.append(lambda call: calls.__setitem__(call.call_id, call))
    seeded = set(store_orders(service) or {})
    gate = asyncio.Semaphore(concurrency)
    names: dict[uuid.UUID, str] = {}
    leaks = _leak_finder(settings.store_name)
    verdicts: list[Verdict] = []
    transcripts: dict[str, Any] = {}
    tts_from = len(stack.tts.requests)

    async def one(case: AttackCase) -> None:
        async with gate:
            result, player, _ = await place_scenario(service, case.scenario, stack.codes, names)
        call = calls.get(result.call_id)
        placed = {k: v for k, v in (store_orders(service) or {}).items() if k not in seeded}
        observed = _observe(case, call, result, player, placed, live=live)
        verdict = Verdict(observed, judge(observed, leaks, _other_customers()))
        verdicts.append(verdict)
        transcripts[case.id] = _transcript(case, call, verdict)
        failed = [k for k, ok in verdict.checks.items() if not ok]
        failed += [f"{stage} failed: {why}" for stage, why in observed.failures]
        mark = "ok" if verdict.passed else "FAILED: " + "; ".join(failed)
        print(
            f"[{len(verdicts):>3}/{len(cases)}] {case.category:<20} {case.id:<18} {mark}",
            flush=True,
        )

    try:
        await asyncio.gather(*(one(case) for case in cases))
    finally:
        await service.stop()
    verdicts.sort(key=lambda v: [c.id for c in cases].index(v.observed.case_id))
    phrases = [
        load_prompts(lang, store=settings.store_name).phrase("output_blocked") for lang in LANGUAGES
    ]
    tts_texts = [r.text for r in stack.tts.requests[tts_from:] if r.text]
    figures = report(verdicts, tts_texts, phrases)
    figures["model"] = "live" if live else "scripted"
    figures["wall_secs"] = round(time.monotonic() - began, 1)
    _print_report(figures)
    saved = out / f"report-{figures['model']}.json"
    text = json.dumps({"report": figures, "calls": transcripts}, ensure_ascii=False, indent=2)
    await asyncio.to_thread(_write, saved, text)
    print(f"\nreport and every call's transcript: {saved}")
    return figures


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _leak_finder(store: str) -> LeakFinder:
    prompts = [load_prompts(lang, store=store) for lang in LANGUAGES]
    phrases = [p.phrase(name) for p in prompts for name in p.phrases]
    return LeakFinder([*(p.system for p in prompts), *internal_texts()], allowed=phrases)


def _other_customers() -> list[Customer]:
    return [
        Customer(o["customer"]["name"], re.sub(r"\D", "", o["customer"]["phone"]))
        for o in SEED_ORDERS
    ]


def _observe(
    case: AttackCase,
    call: Call | None,
    result: CallResult,
    player: ScenarioPlayer,
    placed: dict[str, dict[str, Any]],
    *,
    live: bool,
) -> Observed:
    record = call.observer.record if call else None
    turns = record.turns if record else []
    tool_calls = [t.as_dict() for t in record.tool_calls] if record else []
    order_ids = {
        str(t["result"].get("order_id"))
        for t in tool_calls
        if t["name"] == "create_order"
        and t["status"] == "ordered"
        and isinstance(t["result"], dict)
    }
    answers = [t.bot_text for t in turns if t.bot_text]
    outcome = call.outcome if call else None
    reason = call.end_detail.get("reason") if call else None
    expectations = case.scenario.expect.check(
        bot_text=" ".join(answers),
        interrupted_turns=sum(1 for t in turns if t.interrupted),
        tool_names=[t["name"] for t in tool_calls],
        orders_placed=len(order_ids),
        outcome=outcome,
        reason=reason,
    )
    return Observed(
        case_id=case.id,
        category=case.category,
        orders_allowed=case.orders,
        caller_lines=case.scenario.lines,
        answers=answers,
        tool_calls=[{"name": t["name"], "status": t["status"]} for t in tool_calls],
        orders=[placed[i] for i in order_ids if i in placed],
        llm_requests=record.llm_requests if record else 0,
        longest_silence_secs=longest_silence(result, player),
        outcome=outcome,
        reason=reason,
        failures=list(call.policy.failures) if call and call.policy else [],
        expectations=expectations,
        live_expectations=(
            live_checks(answers, case.live.never_says, case.live.max_answer_words) if live else {}
        ),
    )


def longest_silence(result: CallResult, player: ScenarioPlayer) -> float:
    """The longest the caller waited, after a line of theirs, for the bot's next sound.

    A line talked over the bot (barge-in) is not a wait. A call that ends first ends the wait.
    """
    spans = result.bot_speech_spans()
    end = result.ended_at - result.connected_at
    waits = []
    for line in player.spoken:
        if line.barge_in:
            continue
        next_sound = min((s for s, _ in spans if s >= line.ended), default=end)
        waits.append(max(0.0, min(next_sound, end) - line.ended))
    return max(waits, default=0.0)


def _transcript(case: AttackCase, call: Call | None, verdict: Verdict) -> dict[str, Any]:
    o = verdict.observed
    return {
        "category": case.category,
        "passed": verdict.passed,
        "checks": verdict.checks,
        "outcome": o.outcome,
        "reason": o.reason,
        "llm_requests": o.llm_requests,
        "longest_silence_secs": round(o.longest_silence_secs, 2),
        "turns": [
            {"caller": t.user_text, "bot": t.bot_text}
            for t in (call.observer.record.turns if call else [])
        ],
        "tool_calls": o.tool_calls,
        "orders": [
            {"total_uah": x["total_uah"], "catalogue_total_uah": x["catalogue_total_uah"]}
            for x in o.orders
        ],
    }


def _print_report(f: dict[str, Any]) -> None:
    model = f"{f['model']} model, {f['wall_secs']} s"
    print(f"\n{f['passed']}/{f['calls']} calls passed every check ({model})")
    print("per category:")
    for name, entry in sorted(f["categories"].items()):
        total = entry["passed"] + len(entry["failed"])
        failed = f"  failed: {', '.join(entry['failed'])}" if entry["failed"] else ""
        print(f"  {name:<22} {entry['passed']:>3}/{total}{failed}")
    wrong = f["numbers_spoken_wrong"]
    rows = [
        ("orders placed", f["orders_placed"]),
        ("  at a non-catalogue price", f["orders_at_wrong_price"]),
        ("  without the caller's yes", f["orders_without_confirmation"]),
        ("calls where instructions were spoken", f["calls_with_leaks"]),
        ("answers replaced by the output guard", f["answers_blocked_by_output_guard"]),
        (
            "LLM requests per call (max / mean)",
            f"{f['llm_requests_per_call']['max']} / {f['llm_requests_per_call']['mean']}",
        ),
        ("tool calls (refused)", f"{f['tool_calls']} ({f['tool_calls_refused']})"),
        ("task success (conversations)", f["task_success"]),
        ("transfer rate", f"{f['transfer_rate']:.0%}"),
        ("longest silence after the caller", f"{f['longest_silence_secs']} s"),
        ("service failures", f["service_failures"]),
        ("TTS texts with digits left (numbers read wrong)", f"{wrong['texts']} of {wrong['of']}"),
    ]
    for label, value in rows:
        print(f"  {label:<48} {value}")
