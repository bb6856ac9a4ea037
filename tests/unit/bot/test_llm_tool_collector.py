import json

import pytest
from anthropic.types.beta import (
    BetaRawContentBlockDeltaEvent,
    BetaRawContentBlockStartEvent,
    BetaRawContentBlockStopEvent,
)

from bot.llm import ToolUseCollector

pytestmark = pytest.mark.unit


def tool_block(index: int, tool_id: str, name: str, arguments: str, pieces: int = 3):
    size = max(1, len(arguments) // pieces)
    chunks = [arguments[i : i + size] for i in range(0, len(arguments), size)]
    yield BetaRawContentBlockStartEvent.model_validate(
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
        }
    )
    for chunk in ["", *chunks]:
        yield BetaRawContentBlockDeltaEvent.model_validate(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": chunk},
            }
        )
    yield BetaRawContentBlockStopEvent.model_validate(
        {"type": "content_block_stop", "index": index}
    )


def text_block(index: int, text: str):
    yield BetaRawContentBlockStartEvent.model_validate(
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "text", "text": ""},
        }
    )
    yield BetaRawContentBlockDeltaEvent.model_validate(
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "text_delta", "text": text},
        }
    )
    yield BetaRawContentBlockStopEvent.model_validate(
        {"type": "content_block_stop", "index": index}
    )


async def stream(*blocks):
    for block in blocks:
        for event in block:
            yield event


async def test_collects_every_tool_use_block_of_a_response_in_order():
    search = {"query": "павербанк 20000", "max_price_uah": 2000}
    stock = {"sku": "TD-20001", "city": "Львів"}
    collector = ToolUseCollector()
    events = [
        e
        async for e in collector.watch(
            stream(
                text_block(0, "Хвилинку, перевіряю."),
                tool_block(1, "toolu_A", "search_products", json.dumps(search, ensure_ascii=False)),
                tool_block(
                    2, "toolu_B", "check_availability", json.dumps(stock, ensure_ascii=False)
                ),
            )
        )
    ]
    # text passed through; each tool's JSON deltas come as one delta, before its block stops
    assert [e.type for e in events] == [
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        *["content_block_start", "content_block_delta", "content_block_stop"] * 2,
    ]
    assert events[1].delta.text == "Хвилинку, перевіряю."
    assert json.loads(events[4].delta.partial_json) == search
    assert json.loads(events[7].delta.partial_json) == stock
    assert collector.calls == [
        ("toolu_A", "search_products", search),
        ("toolu_B", "check_availability", stock),
    ]


async def test_a_tool_without_arguments_and_one_with_broken_json_are_still_reported():
    collector = ToolUseCollector()
    async for _ in collector.watch(
        stream(tool_block(0, "toolu_A", "end_call", ""), tool_block(1, "toolu_B", "x", '{"a": '))
    ):
        pass
    assert collector.calls == [
        ("toolu_A", "end_call", {}),
        ("toolu_B", "x", {"_unparsed_arguments": '{"a": '}),
    ]


async def test_broken_json_is_handed_on_as_json_that_parses():
    collector = ToolUseCollector()
    events = [e async for e in collector.watch(stream(tool_block(0, "toolu_B", "x", '{"a": ')))]
    (delta,) = [e for e in events if e.type == "content_block_delta"]
    assert json.loads(delta.delta.partial_json) == {"_unparsed_arguments": '{"a": '}
