"""Service faults injected through the stand-ins: the caller always hears something, a first
failure gets an apology, a second one in a row hands the call to an operator (the transfer
phrase, the handoff for the dialplan, then the bot's hangup)."""

import asyncio

import aiohttp
import grpc
import pytest

from bot.call import Call
from bot.service import Service
from sandbox.caller import Caller, run_call
from sandbox.scenario import Scenario, ScenarioPlayer, Step
from tests.integration.faults import DEADLINES, FIRST, SECOND, faulty_call

pytestmark = pytest.mark.integration


async def _call(
    start_service, arrange, *, after_greeting: bool = False
) -> tuple[Service, Call, str]:
    """Inject the fault (at once, or once the greeting has been heard) and place a call."""
    faulty = await faulty_call(
        start_service, lambda backends: arrange(backends.sandbox), after_greeting=after_greeting
    )
    return faulty.service, faulty.call, faulty.result.ended_by


def _bot_lines(call: Call) -> list[str]:
    return [turn.bot_text for turn in call.observer.record.turns]


def _llm_status(status: int, times: int):
    def arrange(sandbox) -> None:
        sandbox.llm.knobs.fault, sandbox.llm.knobs.fault_status = "status", status
        sandbox.llm.knobs.fault_times = times

    return arrange


async def test_an_llm_error_gets_an_apology_and_the_call_goes_on(start_service) -> None:
    # Two failed requests: the first one and the SDK's single retry.
    service, call, ended_by = await _call(start_service, _llm_status(529, 2))

    apology = service.prompts.phrase("apology")
    lines = _bot_lines(call)
    assert lines[1] == apology
    assert "грн" in lines[2]  # the second question is answered normally
    assert call.policy.failures == [("llm", "error")]
    assert ended_by == "caller" and call.outcome == "caller_hangup"


async def test_an_llm_that_never_answers_hits_its_deadline(start_service) -> None:
    def arrange(sandbox) -> None:
        sandbox.llm.knobs.fault, sandbox.llm.knobs.fault_times = "hang", 1

    service, call, _ = await _call(start_service, arrange)

    assert _bot_lines(call)[1] == service.prompts.phrase("apology")
    assert call.policy.failures == [("llm", "deadline")]
    assert "грн" in _bot_lines(call)[2]


async def test_a_tts_error_is_covered_by_the_prerendered_apology(start_service) -> None:
    def arrange(sandbox) -> None:
        sandbox.tts.knobs.fault, sandbox.tts.knobs.fault_status = (
            "status",
            grpc.StatusCode.UNAVAILABLE,
        )
        sandbox.tts.knobs.fault_times = 1

    service, call, _ = await _call(start_service, arrange, after_greeting=True)

    assert call.policy.failures == [("tts", "error")]
    # The apology comes first. (pipecat's TTS may then still speak the sentence that
    # failed, synthesised again after the interruption.)
    assert _bot_lines(call)[1].startswith(service.prompts.phrase("apology"))
    assert "грн" in _bot_lines(call)[2]


async def test_a_second_failure_in_a_row_hands_the_call_to_an_operator(start_service) -> None:
    def arrange(sandbox) -> None:
        sandbox.stt.knobs.fault, sandbox.stt.knobs.fault_times = "hang", -1  # no transcripts

    service, call, ended_by = await _call(start_service, arrange)

    assert call.policy.failures == [("stt", "deadline"), ("stt", "deadline")]
    spoken = " ".join(_bot_lines(call))
    assert service.prompts.phrase("apology") in spoken
    assert service.prompts.phrase("transfer_after_failure") in spoken
    assert ended_by == "server_hangup"  # 0x00: the dialplan takes the call on
    assert call.outcome == "transferred"
    assert call.end_detail["reason"] == "recognition_failures"
    handoff = await _dialplan_reads_handoff(service, call)
    assert handoff["decision"] == "transfer" and handoff["reason"] == "recognition_failures"


async def test_a_dead_llm_hands_the_call_over_with_the_assembled_summary(start_service) -> None:
    service, call, ended_by = await _call(start_service, _llm_status(500, -1))

    assert [stage for stage, _ in call.policy.failures] == ["llm", "llm"]
    assert _bot_lines(call)[-1].endswith(service.prompts.phrase("transfer_after_failure"))
    assert ended_by == "server_hangup" and call.outcome == "transferred"
    handoff = await _dialplan_reads_handoff(service, call)
    assert handoff["reason"] == "service_failure"
    # The model is what failed, so the summary is the one assembled from the call record.
    assert handoff["summary_source"] == "draft"
    assert "технічний збій" in handoff["summary"] and FIRST in handoff["summary"]


async def _dialplan_reads_handoff(service: Service, call: Call) -> dict:
    url = f"http://127.0.0.1:{service.http_port}/calls/{call.call_id}/handoff"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params={"token": service.api_token}) as response,
    ):
        assert response.status == 200
        return await response.json()


async def test_nothing_is_said_after_the_transfer_phrase(start_service) -> None:
    """The caller presses 0 while the model hangs: its deadline runs out during the handover,
    and the transfer phrase stays the last thing said (no apology, no second phrase)."""
    service = await start_service(pipeline="voice", deadlines=DEADLINES)
    calls: list[Call] = []
    service.on_call.append(calls.append)
    service.backends.sandbox.llm.knobs.fault, service.backends.sandbox.llm.knobs.fault_times = (
        "hang",
        -1,
    )
    scenario = Scenario("t", "t", "uk-UA", (Step("say", FIRST),))
    player = ScenarioPlayer(scenario, service.backends.sandbox.codes)

    async def ask_then_press_0(caller: Caller) -> None:
        assert await caller.wait_bot_speaking(timeout=15)
        await caller.wait_bot_quiet(0.5)
        await caller.say(player.utterance(FIRST, caller.rate))
        caller.press("0")
        await asyncio.wait_for(caller.ended.wait(), timeout=30)

    result = await run_call("127.0.0.1", service.server.port, ask_then_press_0)
    assert await service.server.wait_idle(timeout=5)
    call = calls[0]
    said = " ".join(_bot_lines(call))
    assert said.endswith(service.prompts.phrase("transfer")), said
    assert service.prompts.phrase("apology") not in said
    assert result.ended_by == "server_hangup" and call.outcome == "transferred"


async def test_a_hung_model_gets_a_hold_phrase_before_the_apology(start_service) -> None:
    """Issue 15, point 5: no long silence while the model hangs."""
    deadlines = {**DEADLINES, "llm_first_token_secs": 3.0, "llm_hold_secs": 1.0}
    service = await start_service(pipeline="voice", deadlines=deadlines)
    calls: list[Call] = []
    service.on_call.append(calls.append)
    service.backends.sandbox.llm.knobs.fault, service.backends.sandbox.llm.knobs.fault_times = (
        "hang",
        1,
    )
    scenario = Scenario("t", "t", "uk-UA", (Step("say", FIRST), Step("say", SECOND)))
    player = ScenarioPlayer(scenario, service.backends.sandbox.codes)
    await run_call("127.0.0.1", service.server.port, player)
    assert await service.server.wait_idle(timeout=5)

    call = calls[0]
    hold, apology = service.prompts.phrase("hold_on"), service.prompts.phrase("apology")
    assert _bot_lines(call)[1] == f"{hold} {apology}"
    assert call.policy.failures == [("llm", "deadline")]
    assert "грн" in _bot_lines(call)[2]  # the next turn is answered as usual
