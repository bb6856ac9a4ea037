"""The operator's summary through the real anthropic SDK and the Anthropic stand-in: the
model's answer when it comes in time and fits the schema, the assembled draft otherwise."""

import httpx2
import pytest
from anthropic import AsyncAnthropic

from bot.handoff.facts import HandoffFacts, Product, draft_summary
from bot.handoff.summary import TOOL, summarize
from sandbox.anthropic_api import AnthropicStandIn, Knobs, Script
from sandbox.scenario import ASSISTANT_SCRIPT

pytestmark = pytest.mark.integration

FACTS = HandoffFacts(
    reason="complaint",
    caller_wants="Повернути павербанк",
    first_words="У мене павербанк не заряджається.",
    products=[Product("TD-10201", "Павербанк Xiaomi Redmi 20000 мА·год", 899)],
    order_state="status:delivered",
    order_id="TD-100002",
    order_total_uah=899,
)


async def run(script: Script, knobs: Knobs, deadline: float = 2.0):
    stand_in = AnthropicStandIn(script, knobs)
    await stand_in.start()
    client = AsyncAnthropic(
        api_key="sk-ant-test", base_url=stand_in.base_url, http_client=httpx2.AsyncClient(),
        max_retries=0,
    )  # fmt: skip
    try:
        summary = await summarize(
            client, model="claude-haiku-5-5", facts=FACTS, language="uk-UA",
            deadline_secs=deadline,
        )  # fmt: skip
    finally:
        await client.close()
        await stand_in.stop()
    return summary, stand_in.requests


def fast() -> Knobs:
    return Knobs(first_token_ms=50, token_interval_ms=0)


async def test_the_model_writes_the_summary_with_its_forced_tool():
    summary, requests = await run(Script.from_file(ASSISTANT_SCRIPT), fast())
    assert summary.source == "model"
    assert summary.text == draft_summary(FACTS)  # the scripted model keeps the draft
    assert summary.caller_wants == "Повернути павербанк"
    body = requests[0].body
    assert body["tool_choice"] == {"type": "tool", "name": TOOL}
    assert body["tools"][0]["input_schema"]["properties"]["summary"]["maxLength"] == 500
    assert "TD-10201" in body["messages"][0]["content"]


@pytest.mark.parametrize(
    ("trouble", "knobs", "script"),
    [
        ("slow", Knobs(first_token_ms=3000), None),
        ("overloaded", Knobs(first_token_ms=0, fault="status", fault_status=529), None),
        ("hangs", Knobs(first_token_ms=0, fault="hang"), None),
        ("text instead of the tool", fast(), {"default": {"text": "Ось підсумок."}}),
        (
            "too long",
            fast(),
            {
                "default": {
                    "tool_use": {
                        "name": TOOL,
                        "input": {"summary": "дуже " * 200, "caller_wants": "x"},
                    }
                }
            },
        ),
        (
            "extra field",
            fast(),
            {
                "default": {
                    "tool_use": {
                        "name": TOOL,
                        "input": {
                            "summary": "Клієнт хоче повернення.",
                            "caller_wants": "x",
                            "p": 0,
                        },
                    }
                }
            },
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_anything_but_a_good_answer_in_time_gives_the_draft(trouble, knobs, script):
    chosen = Script.model_validate(script) if script else Script.from_file(ASSISTANT_SCRIPT)
    summary, _ = await run(chosen, knobs, deadline=1.0)
    assert summary.source == "draft", trouble
    assert summary.text == draft_summary(FACTS)
    assert "TD-10201, 899 грн" in summary.text and "скарга" in summary.text


async def test_no_model_at_all_gives_the_draft():
    summary = await summarize(None, model="x", facts=FACTS, language="ru-RU", deadline_secs=1)
    assert summary.source == "draft" and summary.text.startswith("Причина: жалоба.")
