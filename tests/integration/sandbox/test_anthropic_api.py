"""The Anthropic stand-in over real TCP, driven by the real anthropic SDK and pipecat."""

import asyncio
import time
from collections.abc import AsyncIterator

import anthropic
import httpx2
import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import LLMContextFrame, LLMTextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.anthropic.llm import AnthropicLLMService
from pipecat.tests.utils import SleepFrame, run_test

from sandbox.anthropic_api import AnthropicStandIn, Knobs, Script

pytestmark = pytest.mark.integration

MODEL = "claude-sonnet-4-6"
GREETING = "Добрий день! Я допоможу вам вибрати товар у нашому магазині."
SCRIPT = Script.from_yaml(
    f"""
rules:
  - name: hello
    when: {{user_matches: "(?i)привіт"}}
    reply: {{text: "{GREETING}"}}
  - name: headphones
    when: {{user_matches: "(?i)навушник|headphone"}}
    reply:
      text: "Зараз пошукаю навушники."
      tool_use: {{name: search_products, input: {{query: "бездротові навушники", limit: 3}}}}
  - name: found
    when: {{tool_result_for: search_products}}
    reply: {{text: "Знайшла: {{result[0][name]}} за {{result[0][price]}} гривень."}}
  - name: compare
    when: {{user_matches: "(?i)порівняй"}}
    reply:
      tool_uses:
        - {{name: search_products, input: {{query: "JBL"}}}}
        - {{name: search_products, input: {{query: "Sony"}}}}
"""
)
TOOLS = [
    {
        "name": "search_products",
        "description": "Search the store catalogue.",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query"],
        },
    }
]


@pytest.fixture
async def standin() -> AsyncIterator[AnthropicStandIn]:
    server = AnthropicStandIn(SCRIPT, Knobs(first_token_ms=0, token_interval_ms=1))
    await server.start()
    yield server
    await server.stop()


def make_client(standin: AnthropicStandIn, **kwargs) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        api_key="sk-ant-test",
        base_url=standin.base_url,
        http_client=httpx2.AsyncClient(),
        max_retries=0,
        **{"timeout": 10.0, **kwargs},
    )


@pytest.fixture
async def client(standin: AnthropicStandIn) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with make_client(standin) as c:
        yield c


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


async def beta_stream(client: anthropic.AsyncAnthropic, messages: list[dict]) -> list:
    """Call the API exactly the way pipecat's AnthropicLLMService does."""
    stream = await client.beta.messages.create(
        model=MODEL,
        max_tokens=4096,
        stream=True,
        messages=messages,
        system="Ти помічниця інтернет-магазину.",
        tools=TOOLS,
        thinking={"type": "disabled"},
        betas=["interleaved-thinking-2025-05-14"],
    )
    return [event async for event in stream]


async def test_streaming_text_like_pipecat_sends_it(client, standin):
    events = await beta_stream(client, user("Привіт"))
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    assert types.count("content_block_start") == types.count("content_block_stop") == 1
    deltas = [e.delta.text for e in events if e.type == "content_block_delta"]
    assert len(deltas) > 3
    assert "".join(deltas) == GREETING
    start, delta = events[0], events[-2]
    assert start.message.id.startswith("msg_") and start.message.model == MODEL
    assert start.message.role == "assistant" and start.message.content == []
    assert start.message.usage.input_tokens > 0
    assert delta.delta.stop_reason == "end_turn" and delta.usage.output_tokens > 0
    logged = standin.requests[-1]
    assert logged.rule == "hello" and logged.outcome == "ok"
    assert logged.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert logged.headers["query"] == "beta=true"
    assert logged.body["messages"] == user("Привіт")


async def test_stream_helper_gives_text_final_message_and_request_id(client):
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=user("привіт")) as s:
        text = "".join([piece async for piece in s.text_stream])
        final = await s.get_final_message()
        assert s.request_id is not None and s.request_id.startswith("req_")
    assert text == GREETING
    assert final.stop_reason == "end_turn"
    assert final.content[0].text == GREETING
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0


async def test_tool_use_streams_as_input_json_deltas(client):
    events = await beta_stream(client, user("Є навушники?"))
    pieces = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert len([p for p in pieces if p]) >= 3
    assert events[-2].delta.stop_reason == "tool_use"
    async with client.messages.stream(
        model=MODEL, max_tokens=100, messages=user("Є навушники?"), tools=TOOLS
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "tool_use"
    text, call = final.content
    assert text.type == "text" and text.text == "Зараз пошукаю навушники."
    assert call.type == "tool_use" and call.id.startswith("toolu_")
    assert call.name == "search_products"
    assert call.input == {"query": "бездротові навушники", "limit": 3}


async def test_tool_result_round_trip_gets_the_templated_answer(client, standin):
    messages = user("Шукаю навушники")
    async with client.messages.stream(
        model=MODEL, max_tokens=100, messages=messages, tools=TOOLS
    ) as stream:
        first = await stream.get_final_message()
    call = first.content[-1]
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": call.id,
                    "content": '[{"name": "JBL Tune 510BT", "price": 1299}]',
                }
            ],
        },
    ]
    async with client.messages.stream(
        model=MODEL, max_tokens=100, messages=messages, tools=TOOLS
    ) as stream:
        answer = await stream.get_final_text()
    assert answer == "Знайшла: JBL Tune 510BT за 1299 гривень."
    assert standin.requests[-1].rule == "found"
    assert standin.requests[-1].body["messages"][1]["content"][-1]["id"] == call.id


async def test_two_tool_uses_in_one_response(client):
    async with client.messages.stream(
        model=MODEL, max_tokens=100, messages=user("Порівняй"), tools=TOOLS
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [(b.type, b.input) for b in final.content] == [
        ("tool_use", {"query": "JBL"}),
        ("tool_use", {"query": "Sony"}),
    ]
    assert final.content[0].id != final.content[1].id


async def test_non_streaming_message(client, standin):
    message = await client.messages.create(
        model=MODEL, max_tokens=100, messages=user("headphones?"), tools=TOOLS
    )
    assert message.id.startswith("msg_") and message.stop_reason == "tool_use"
    assert message.content[1].input["query"] == "бездротові навушники"
    assert message.usage.output_tokens > 0


async def test_a_tool_not_offered_is_dropped_and_logged(client, standin):
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=user("навушники"))
    assert [b.type for b in message.content] == ["text"]
    assert message.stop_reason == "end_turn"
    assert "not offered" in standin.requests[-1].notes[0]


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
async def test_status_faults_raise_the_sdk_error_once(client, standin, status, error, kind):
    standin.knobs.fault, standin.knobs.fault_status = "status", status
    with pytest.raises(error) as caught:
        await beta_stream(client, user("привіт"))
    assert caught.value.status_code == status
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == kind
    assert caught.value.request_id and caught.value.request_id.startswith("req_")
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "1"
    if status == 529:
        # 529 is its own APIStatusError subclass, not an InternalServerError
        assert not isinstance(caught.value, anthropic.InternalServerError)
    assert standin.knobs.fault is None
    assert standin.requests[-1].outcome == f"fault:status:{status}"
    events = await beta_stream(client, user("привіт"))
    assert events[-1].type == "message_stop"


async def test_fault_times_counts_requests_and_minus_one_is_forever(client, standin):
    standin.knobs.fault, standin.knobs.fault_status, standin.knobs.fault_times = "status", 500, 2
    for _ in range(2):
        with pytest.raises(anthropic.InternalServerError):
            await client.messages.create(model=MODEL, max_tokens=9, messages=user("x"))
    await client.messages.create(model=MODEL, max_tokens=9, messages=user("x"))
    standin.knobs.fault, standin.knobs.fault_times = "status", -1
    for _ in range(3):
        with pytest.raises(anthropic.InternalServerError):
            await client.messages.create(model=MODEL, max_tokens=9, messages=user("x"))
    assert standin.knobs.fault == "status"


async def test_hang_makes_the_sdk_time_out(standin):
    standin.knobs.fault = "hang"
    async with make_client(standin, timeout=0.5) as impatient:
        with pytest.raises(anthropic.APITimeoutError):
            await beta_stream(impatient, user("привіт"))
        assert standin.requests[-1].outcome == "fault:hang"
        assert (await beta_stream(impatient, user("привіт")))[-1].type == "message_stop"


async def test_cut_breaks_the_stream_mid_way(client, standin):
    standin.knobs.fault, standin.knobs.cut_after_events = "cut", 6
    received = []
    stream = await client.beta.messages.create(
        model=MODEL, max_tokens=100, messages=user("привіт"), stream=True
    )
    with pytest.raises((httpx2.HTTPError, anthropic.APIError)):
        async for event in stream:
            received.append(event)
    # message_start, content_block_start, (ping is swallowed by the SDK), three deltas
    assert [e.type for e in received][:2] == ["message_start", "content_block_start"]
    assert len(received) == 5
    assert standin.requests[-1].outcome == "fault:cut"
    assert (await beta_stream(client, user("привіт")))[-1].type == "message_stop"


async def test_first_token_and_interval_knobs_delay_the_stream(client, standin):
    standin.knobs.first_token_ms, standin.knobs.token_interval_ms = 250, 20
    started = time.monotonic()
    stream = await client.beta.messages.create(
        model=MODEL, max_tokens=100, messages=user("привіт"), stream=True
    )
    stamps = []
    async for event in stream:
        stamps.append((event.type, time.monotonic()))
    assert stamps[0][1] - started >= 0.9 * 0.25
    deltas = [t for kind, t in stamps if kind == "content_block_delta"]
    assert deltas[-1] - deltas[0] >= 0.9 * 0.02 * (len(deltas) - 1)


async def test_the_first_token_does_not_wait_for_the_token_interval(client, standin):
    # first_token_ms is the time to the first token: a minute between tokens holds back
    # the second, never the first.
    standin.knobs.first_token_ms, standin.knobs.token_interval_ms = 0, 60_000
    stream = await client.beta.messages.create(
        model=MODEL, max_tokens=100, messages=user("привіт"), stream=True
    )
    async with asyncio.timeout(10):
        async for event in stream:
            if event.type == "content_block_delta":
                break
    await stream.close()


async def test_missing_api_key_is_401(standin):
    async with make_client(standin, default_headers={"X-Api-Key": anthropic.omit}) as keyless:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await keyless.messages.create(model=MODEL, max_tokens=9, messages=user("x"))
    assert caught.value.body["error"]["type"] == "authentication_error"
    assert standin.requests[-1].outcome == "error:401"


async def test_malformed_requests_are_400(client, standin):
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(model=MODEL, max_tokens=0, messages=user("x"))
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.BadRequestError):
        await client.messages.create(model=MODEL, max_tokens=9, messages=[])
    with pytest.raises(anthropic.BadRequestError):
        await client.messages.create(
            model=MODEL, max_tokens=9, messages=[{"role": "system", "content": "x"}]
        )
    async with make_client(standin, default_headers={"anthropic-version": anthropic.omit}) as old:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await old.messages.create(model=MODEL, max_tokens=9, messages=user("x"))
    assert "anthropic-version" in caught.value.body["error"]["message"]
    assert [r.outcome for r in standin.requests] == ["error:400"] * 4


async def test_pipecat_anthropic_service_streams_text_and_calls_tools(client, standin):
    llm = AnthropicLLMService(
        api_key="sk-ant-test",
        client=client,
        settings=AnthropicLLMService.Settings(model=MODEL, system_instruction="Ти помічниця."),
    )
    calls = []

    async def search_products(params):
        calls.append(params.arguments)
        await params.result_callback([{"name": "JBL", "price": 999}])

    llm.register_function("search_products", search_products)
    tools = ToolsSchema(
        standard_tools=[
            FunctionSchema(
                name="search_products",
                description="Search the store catalogue.",
                properties={"query": {"type": "string"}, "limit": {"type": "integer"}},
                required=["query"],
            )
        ]
    )
    hello = LLMContext(messages=user("Привіт!"), tools=tools)
    shop = LLMContext(messages=user("Мені потрібні навушники"), tools=tools)
    down, _ = await run_test(
        llm,
        frames_to_send=[
            LLMContextFrame(context=hello),
            SleepFrame(0.3),
            LLMContextFrame(context=shop),
            SleepFrame(0.3),
        ],
    )
    texts = [f.text for f in down if isinstance(f, LLMTextFrame)]
    assert len(texts) > 3
    assert "".join(texts) == GREETING + "Зараз пошукаю навушники."
    assert calls == [{"query": "бездротові навушники", "limit": 3}]
    first = standin.requests[0]
    assert first.headers["query"] == "beta=true"
    assert first.body["stream"] is True and first.body["system"] == "Ти помічниця."
    assert first.body["tools"][0]["name"] == "search_products"
    assert [r.rule for r in standin.requests] == ["hello", "headphones"]


async def test_a_client_leaving_mid_stream_is_logged(client, standin):
    standin.knobs.token_interval_ms = 200
    stream = await client.beta.messages.create(
        model=MODEL, max_tokens=100, messages=user("привіт"), stream=True
    )
    async for event in stream:
        if event.type == "content_block_start":
            break
    await stream.close()
    for _ in range(100):
        if standin.requests[-1].outcome != "ok":
            break
        await asyncio.sleep(0.02)
    assert standin.requests[-1].outcome == "client_disconnected"
