"""Transfers in whole voice calls: the model's tool, the key 0, and what the dialplan reads the
moment the bot hangs up (the handoff endpoint, with its token)."""

import asyncio
import json
import uuid

import aiohttp
import pytest

from bot.call import Call
from bot.service import Service
from sandbox.anthropic_api import Script
from sandbox.caller import run_call
from sandbox.scenario import Scenario, ScenarioPlayer, Step, load_scenarios

pytestmark = pytest.mark.integration

RETURN = "Добрий день, я хочу повернути замовлення."  # a line the STT stand-in knows


async def voice(start_service) -> tuple[Service, list[Call]]:
    service = await start_service(pipeline="voice")
    calls: list[Call] = []
    service.on_call.append(calls.append)
    return service, calls


async def play(service: Service, *steps: Step) -> tuple[Call, str]:
    scenario = Scenario("t", "t", "uk-UA", steps)
    player = ScenarioPlayer(scenario, service.backends.sandbox.codes)
    result = await run_call("127.0.0.1", service.server.port, player)
    return result, player


async def finished(service: Service) -> None:
    assert await service.server.wait_idle(timeout=10)


async def dialplan_get(service: Service, call_id, *, plain=False, token=None) -> tuple[int, str]:
    url = f"http://127.0.0.1:{service.http_port}/calls/{call_id}/handoff"
    params = {"token": service.api_token if token is None else token}
    if plain:
        params["format"] = "plain"
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as response:
        return response.status, await response.text()


async def test_the_model_transfers_and_the_dialplan_gets_the_summary_at_once(start_service):
    service, calls = await voice(start_service)
    service.backends.sandbox.llm.script = Script.model_validate(
        {
            "rules": [
                Script.from_file("sandbox/scenarios/assistant.yaml")
                .rules[0]
                .model_dump(),  # the summary rule
                {
                    "when": {"user_matches": "поверн"},
                    "reply": {
                        "text": "Зрозуміла, з'єдную вас з оператором.",
                        "tool_use": {
                            "name": "transfer_to_operator",
                            "input": {"reason": "returns", "caller_wants": "Повернути замовлення"},
                        },
                    },
                },
            ]
        }
    )
    result = await play(service, Step("say", RETURN))
    call = calls[0]
    # The dialplan asks as soon as AudioSocket() returns: the handoff is already there.
    status, body = await dialplan_get(service, call.call_id)
    assert result[0].ended_by == "server_hangup"
    assert status == 200
    handoff = json.loads(body)
    assert handoff["decision"] == "transfer" and handoff["reason"] == "returns"
    assert handoff["caller_wants"] == "Повернути замовлення"
    assert handoff["summary_source"] == "model"
    assert "повернення товару" in handoff["summary"] and RETURN in handoff["summary"]
    await finished(service)
    assert call.outcome == "transferred"
    assert "з'єдную вас з оператором" in call.observer.record.turns[1].bot_text


async def test_the_key_zero_goes_to_an_operator(start_service):
    service, calls = await voice(start_service)
    result, _ = await play(service, Step("pause", secs=0.5), Step("dtmf", key="0"),
                           Step("pause", secs=6))  # fmt: skip
    call = calls[0]
    assert result.ended_by == "server_hangup"
    await finished(service)
    assert call.outcome == "transferred" and call.end_detail["reason"] == "dtmf_zero"
    assert service.prompts.phrase("transfer") in " ".join(
        t.bot_text for t in call.observer.record.turns
    )
    status, plain = await dialplan_get(service, call.call_id, plain=True)
    assert status == 200 and plain.startswith("decision=transfer&reason=dtmf_zero&queue=operators")


async def test_a_call_the_bot_finished_is_hung_up_not_queued(start_service):
    service, calls = await voice(start_service)
    scenario = load_scenarios()["product_search"]
    player = ScenarioPlayer(scenario, service.backends.sandbox.codes)
    await run_call("127.0.0.1", service.server.port, player)
    status, plain = await dialplan_get(service, calls[0].call_id, plain=True)
    assert (status, plain) == (200, f"decision=hangup&call_uuid={calls[0].call_id}")


async def test_the_handoff_endpoint_wants_its_token(start_service):
    service = await start_service()
    call_id = uuid.uuid4()
    assert (await dialplan_get(service, call_id, token=""))[0] == 401
    assert (await dialplan_get(service, call_id, token="guess"))[0] == 401
    status, body = await dialplan_get(service, call_id)
    assert status == 200 and '"decision": "unknown"' in body  # -> the operators, to be safe
    url = f"http://127.0.0.1:{service.http_port}/calls/{call_id}/handoff"
    headers = {"Authorization": f"Bearer {service.api_token}"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
        assert r.status == 200


async def test_a_call_ended_by_the_drain_reaches_the_operators_with_its_summary(start_service):
    service = await start_service(pipeline="voice", drain_secs=0.5)
    calls: list[Call] = []
    service.on_call.append(calls.append)
    caller = asyncio.create_task(play(service, Step("say", RETURN), Step("pause", secs=30)))
    async with asyncio.timeout(20):  # a bounded poll until the caller's words are recorded
        while not (calls and any(t.user_text for t in calls[0].observer.record.turns)):  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    stopping = asyncio.create_task(service.stop())  # SIGTERM's drain; the call outlives it
    result, _ = await caller
    # The dialplan asks the moment AudioSocket() returns, while the service is still stopping.
    status, body = await dialplan_get(service, calls[0].call_id)
    await stopping

    assert result.ended_by == "server_hangup"
    assert status == 200
    handoff = json.loads(body)
    assert handoff["decision"] == "transfer" and handoff["reason"] == "shutdown"
    assert RETURN in handoff["summary"]
    assert calls[0].outcome == "transferred"
    assert service.prompts.phrase("transfer") in " ".join(
        t.bot_text for t in calls[0].observer.record.turns
    )


async def test_a_name_the_caller_introduced_reaches_the_dialplan_as_initials(start_service):
    """Issue 15, point 9: not only a name given for an order is cut, one said in passing too."""
    service, calls = await voice(start_service)
    line = "Мене звати Тарас Шевчук, з'єднайте мене з оператором, будь ласка."
    service.backends.sandbox.learn([line], "uk-UA")

    await play(service, Step("say", line), Step("pause", secs=3))
    await finished(service)

    assert calls[0].outcome == "transferred"
    status, body = await dialplan_get(service, calls[0].call_id)
    assert status == 200
    handoff = json.loads(body)
    everything = json.dumps(handoff, ensure_ascii=False)
    assert "Шевчук" not in everything and "Тарас" not in everything
    assert "Т. Ш." in handoff["facts"]["first_words"]
