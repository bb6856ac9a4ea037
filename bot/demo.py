"""``callproc demo``: whole store calls on this machine, no accounts, nothing to install.

Starts the service in-process on free local ports (with the local stand-ins for every cloud
service that has no credentials), places every shipped scenario as a simultaneous call with
the simulated caller, prints a live transcript with per-turn latency, and saves for each call
a stereo WAV (caller left, bot right) and a JSON report under ``demo-output/``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp

from bot.call import Call
from bot.overhead import InjectedDelays, overhead_ms
from bot.review import STAGE_LABELS, format_tool, latency_lines
from bot.service import Service
from bot.settings import Settings
from bot.storage.records import summarise
from observability.observers.call_record import TranscriptLine, Turn
from sandbox.caller import CallResult, fetch_handoff, report_caller_number, run_call
from sandbox.scenario import (
    Scenario,
    ScenarioError,
    ScenarioPlayer,
    build_phrasebook,
    load_scenario,
    load_scenarios,
)

OUTPUT_DIR = Path("demo-output")
IN_PROCESS_LAG_LIMIT_MS = 5000.0  # the setting's largest value: see in_process_settings
DEMO_STAGES = {  # the summary at the end: the services' stages, then our own part
    **{key: STAGE_LABELS[key] for key in (
        "voice_to_voice_ms", "end_of_turn_ms", "stt_final_ms", "llm_first_token_ms",
        "tts_first_audio_ms",
    )},
    "overhead_ms": "our overhead",
}  # fmt: skip


def _latency(turn: Turn) -> str:
    f = turn.figures()
    if f["voice_to_voice_ms"] is None:
        return ""
    parts = [f"voice-to-voice {f['voice_to_voice_ms']:.0f} ms"]
    for key, label in (
        ("end_of_turn_ms", "end of turn"),
        ("llm_first_token_ms", "LLM"),
        ("tts_first_audio_ms", "TTS"),
    ):
        if f[key] is not None:
            parts.append(f"{label} {f[key]:.0f}")
    return "  [" + ", ".join(parts) + "]"


def choose_scenarios(wanted: list[str] | None) -> list[Scenario]:
    """The shipped scenarios by name, or scenario files by path (``*.yaml``); all if none.

    Raises:
        ScenarioError: A file that cannot be used, or a name that is not shipped.
    """
    shipped = load_scenarios()
    if not wanted:
        return list(shipped.values())
    chosen = []
    for item in wanted:
        if item.endswith((".yaml", ".yml")) or "/" in item:
            chosen.append(load_scenario(Path(item)))
        elif item in shipped:
            chosen.append(shipped[item])
        else:
            raise ScenarioError(
                f"no shipped scenario {item!r} (shipped: {', '.join(shipped)}); "
                "give a path to run a scenario file of your own"
            )
    return chosen


def in_process_settings(settings: Settings) -> Settings:
    """A copy of ``settings`` for a voice service that shares its process with its callers.

    Loopback ports of the system's choosing, and no refusal for event-loop lag: the loop is
    the callers' and the stand-ins' too (their start-up work alone can hold it for a second),
    so its lag says nothing about the service's headroom. The call cap still applies.
    """
    settings = settings.model_copy(deep=True)
    settings.pipeline = "voice"
    settings.audiosocket.host = settings.http.host = "127.0.0.1"
    settings.audiosocket.port = settings.http.port = 0
    settings.audiosocket.max_loop_lag_ms = IN_PROCESS_LAG_LIMIT_MS
    return settings


async def run_demo(
    settings: Settings, wanted: list[str] | None = None, out: Path = OUTPUT_DIR
) -> dict[str, dict[str, Any]]:
    """Run the scenarios as simultaneous calls; print and save what happened.

    ``wanted``: shipped scenario names or paths of scenario files (see
    :func:`choose_scenarios`); the speech stand-in learns a file's caller lines.
    """
    chosen = choose_scenarios(wanted)
    settings = in_process_settings(settings)

    began = time.monotonic()
    service = Service(settings)
    await service.start()
    assert service.backends is not None
    stack = service.backends.sandbox
    if stack is not None:
        for scenario in chosen:
            stack.learn(scenario.lines, scenario.language)
    codes = stack.codes if stack else build_phrasebook([x for s in chosen for x in s.lines])
    services = service.backends.describe()
    assert service.storage is not None
    stored_in = service.storage.describe()
    print(f"services: {services}  (up in {time.monotonic() - began:.1f} s)")
    metrics_url = f"http://127.0.0.1:{service.http_port}/metrics"
    print(f"metrics: {metrics_url} (while the calls run; a copy is saved at the end)")
    print(f"calls: {', '.join(s.name for s in chosen)} (simultaneous)\n")

    names_by_call: dict[uuid.UUID, str] = {}
    calls: dict[str, Call] = {}

    def follow(call: Call) -> None:
        name = names_by_call.get(call.call_id, "?")
        calls[name] = call

        def show(line: TranscriptLine) -> None:
            if line.tool is not None:
                print(f"[{name:>14}]   tool: {format_tool(line.tool.as_dict())}", flush=True)
                return
            who = "caller" if line.speaker == "caller" else "bot   "
            extra = _latency(line.turn) if line.speaker == "bot" else ""
            print(f"[{name:>14}] {who}: {line.text}{extra}", flush=True)

        call.observer.add_listener(show)

    service.on_call.append(follow)
    started = time.monotonic()
    seeded = set(store_orders(service) or {})
    try:
        results = await asyncio.gather(
            *(place_scenario(service, scenario, codes, names_by_call) for scenario in chosen)
        )
        orders = {k: v for k, v in (store_orders(service) or {}).items() if k not in seeded}
        snapshot = await _scrape(metrics_url, out / "metrics.prom")
    finally:
        await service.stop()
    print(f"\nall calls done in {time.monotonic() - started:.1f} s")

    reports = {}
    overheads: list[float] = []
    delays = None
    if stack is not None:
        knobs = [dataclasses.asdict(s.knobs) for s in (stack.stt, stack.llm, stack.tts)]
        delays = InjectedDelays.of(settings, *knobs)
    for scenario, (result, player, handoff) in zip(chosen, results, strict=True):
        call = calls.get(scenario.name)
        report = _report(scenario, result, player, call, services, orders)
        report["dialplan_handoff"] = handoff
        if delays is not None:
            for turn in report["turns"]:
                turn["overhead_ms"] = overhead_ms(turn, delays, report["tool_calls"])
                if turn["overhead_ms"] is not None:
                    overheads.append(turn["overhead_ms"])
        reports[scenario.name] = report
        wav = result.save_stereo_wav(out / f"{scenario.name}.wav")
        (out / f"{scenario.name}.json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        v2v = [t["voice_to_voice_ms"] for t in report["turns"] if t["voice_to_voice_ms"]]
        median = f"{statistics.median(v2v):.0f} ms" if v2v else "n/a"
        verdict = "ok" if all(report["expectations"].values()) else "NOT MET"
        print(
            f"{scenario.name:>14}: {len(report['turns'])} turns, voice-to-voice median {median}, "
            f"outcome {report['outcome']}, expectations {verdict} -> {wav}"
        )
    if overheads:
        print(
            f"our overhead (voice-to-voice minus turn-taking waits and injected service "
            f"delays): median {statistics.median(overheads):.0f} ms, max {max(overheads):.0f} ms "
            f"over {len(overheads)} turns"
        )
    for report in reports.values():
        handoff = report["dialplan_handoff"]
        if handoff.get("decision") == "transfer":
            print(
                f"\n{report['scenario']}: the dialplan's GET /calls/{report['call_id'][:8]}…"
                "/handoff?format=plain gives (URL-encoded on the wire, read with HASH()):"
            )
            for key in ("decision", "reason", "queue", "caller_wants", "summary"):
                print(f"  {key:<12} = {handoff.get(key, '')}")
    _latency_summary(reports)
    print(f"metrics as Prometheus scraped them at the end: {snapshot}")
    print(f"\nrecorded in {stored_in}; review them with:")
    print("  .venv/bin/callproc calls list")
    for report in reports.values():
        print(f"  .venv/bin/callproc calls show {report['call_id'][:8]}   # {report['scenario']}")
    return reports


async def _scrape(url: str, path: Path) -> Path:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    await asyncio.to_thread(_write, path, text)
    return path


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _latency_summary(reports: dict[str, dict[str, Any]]) -> None:
    """p50 / p95 / max of each stage over every answered turn of the demo."""
    print("\nlatency over all answers (p50 / p95 / max):")
    turns = [t for r in reports.values() for t in r["turns"]]
    for line in latency_lines(summarise(turns, DEMO_STAGES), DEMO_STAGES, indent="  "):
        print(line)


def store_orders(service: Service) -> dict[str, dict[str, Any]] | None:
    """Orders the reference store accepted, with the catalogue total of each (None if real)."""
    store = service.backends.reference_store if service.backends else None
    if store is None:
        return None
    checked = {}
    for order_id, order in store.orders.items():
        catalogue_total = sum(
            store.catalogue.products[item["sku"]].price_uah * item["quantity"]
            for item in order["items"]
        )
        checked[order_id] = {**order, "catalogue_total_uah": catalogue_total}
    return checked


async def place_scenario(
    service: Service,
    scenario: Scenario,
    codes: dict[str, int],
    names_by_call: dict[uuid.UUID, str],
) -> tuple[CallResult, ScenarioPlayer, dict[str, str]]:
    """Play one scenario as a call; returns what the caller heard and the dialplan's handoff."""
    call_id = uuid.uuid4()
    names_by_call[call_id] = scenario.name
    player = ScenarioPlayer(scenario, codes)
    http = f"http://127.0.0.1:{service.http_port}"
    if scenario.caller_number:
        await report_caller_number(http, call_id, scenario.caller_number, service.api_token)
    result = await run_call(
        "127.0.0.1",
        service.server.port,
        player,
        rate=service.settings.audiosocket.sample_rate,
        call_id=call_id,
    )
    # As the dialplan does the moment AudioSocket() returns: what now?
    handoff = dict(parse_qsl(await fetch_handoff(http, call_id, service.api_token)))
    await service.server.wait_idle(timeout=5)
    return result, player, handoff


def _report(
    scenario: Scenario,
    result: CallResult,
    player: ScenarioPlayer,
    call: Call | None,
    services: str,
    placed_orders: dict[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    turns = [t.as_dict() for t in call.observer.record.turns] if call else []
    tool_calls = [t.as_dict() for t in call.observer.record.tool_calls] if call else []
    placed = [t["status"] for t in tool_calls if t["name"] == "create_order"].count("ordered")
    expectations = scenario.expect.check(
        bot_text=" ".join(t["bot"] for t in turns),
        interrupted_turns=sum(1 for t in turns if t["interrupted"]),
        tool_names=[t["name"] for t in tool_calls],
        orders_placed=placed,
        outcome=call.outcome if call else None,
        reason=call.end_detail.get("reason") if call else None,
    )
    if scenario.expect.orders_placed is not None and placed_orders is not None and placed:
        expectations["orders at the catalogue price"] = all(
            o["total_uah"] == o["catalogue_total_uah"] for o in placed_orders.values()
        )
    return {
        "scenario": scenario.name,
        "title": scenario.title,
        "call_id": str(result.call_id),
        "outcome": call.outcome if call else None,
        "ended_by": result.ended_by,
        "prompt_version": call.prompt_version if call else None,
        "services": services,
        "caller_lines": [
            {"text": s.text, "started_s": round(s.started, 2), "barge_in": s.barge_in}
            for s in player.spoken
        ],
        "turns": turns,
        "tool_calls": tool_calls,
        "audio_timing": result.stats.summary(),
        "expectations": expectations,
    }
