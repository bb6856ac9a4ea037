"""A two-line voice call with one fault injected through the stand-ins' knobs.

Shared by the failure-policy tests and the fault matrix: a service of its own (stage
deadlines of 1.5 s), the caller's two lines, the fault injected at once or once the greeting
has been heard, and the call as it ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from bot.call import Call
from bot.service import Service
from bot.services import Backends
from sandbox.caller import Caller, CallResult, run_call
from sandbox.scenario import Scenario, ScenarioPlayer, Step

DEADLINES = {"stt_final_secs": 1.5, "llm_first_token_secs": 1.5, "tts_first_audio_secs": 1.5}
FIRST = "Добрий день, мені потрібні бездротові навушники."
SECOND = "Вкладиші, приблизно до двох тисяч гривень."


@dataclass
class FaultyCall:
    """What a faulty call came to."""

    service: Service
    call: Call
    result: CallResult
    player: ScenarioPlayer


async def faulty_call(
    start_service,
    arrange: Callable[[Backends], None],
    *,
    after_greeting: bool,
    greeting_secs: float = 15,
    idle_secs: float = 5,
    wait_for_end: bool = False,
) -> FaultyCall:
    """Inject the fault (at once, or once the greeting was heard) and place the call.

    ``wait_for_end``: after its lines the caller waits for the bot to end the call (as one
    who heard "one moment" does) instead of hanging up.
    """
    service = await start_service(pipeline="voice", deadlines=DEADLINES)
    calls: list[Call] = []
    service.on_call.append(calls.append)
    scenario = Scenario("faults", "faults", "uk-UA", (Step("say", FIRST), Step("say", SECOND)))
    player = ScenarioPlayer(scenario, service.backends.sandbox.codes)

    async def drive(caller: Caller) -> None:
        if after_greeting:
            assert await caller.wait_bot_speaking(timeout=greeting_secs)
            await caller.wait_bot_quiet(0.5)
            arrange(service.backends)
        await player(caller)
        if wait_for_end:
            await asyncio.wait_for(caller.ended.wait(), timeout=60)

    if not after_greeting:
        arrange(service.backends)
    result = await run_call("127.0.0.1", service.server.port, drive)
    assert await service.server.wait_idle(timeout=idle_secs)
    return FaultyCall(service, calls[0], result, player)
