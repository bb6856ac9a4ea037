import pytest

from bot.prompts import load_prompts
from bot.settings import StoreSettings
from bot.store_client import StoreClient
from bot.tools import TOOL_NAMES, StoreTools, caller_turns, normalise_code, tools_schema

pytestmark = pytest.mark.unit


def schemas():
    return {f.name: f for f in tools_schema().standard_tools}


def test_every_tool_has_a_schema_and_a_description():
    assert (
        set(schemas())
        == set(TOOL_NAMES)
        == {
            "search_products",
            "get_product",
            "check_availability",
            "create_order",
            "get_order_status",
            "transfer_to_operator",
            "end_call",
        }
    )
    for f in schemas().values():
        assert len(f.description) > 30
        assert set(f.required) <= set(f.properties)


def test_the_order_schema_has_no_price_field_and_forbids_extra_fields():
    order = schemas()["create_order"]
    line = order.properties["items"]["items"]
    assert set(line["properties"]) == {"sku", "quantity"}
    assert line["additionalProperties"] is False
    assert "$ref" not in str(order.properties)
    assert set(order.required) == {"items", "customer_name", "customer_phone", "delivery_city"}


@pytest.fixture
def tools():
    # The client is never used: every case below is refused before a request is made.
    client = StoreClient("http://127.0.0.1:9", "key", StoreSettings(max_quantity=3))

    async def on_end(outcome, detail):
        raise AssertionError("no call may end here")

    return StoreTools(client, load_prompts("uk-UA", store="ТехноДім"), "call", on_end)


ORDER = {
    "items": [{"sku": "TD-10001", "quantity": 1}],
    "customer_name": "Олена",
    "customer_phone": "+380671234567",
    "delivery_city": "Львів",
}


@pytest.mark.parametrize(
    ("name", "arguments", "mentions"),
    [
        ("search_products", {}, "query"),
        ("search_products", {"query": "павербанк", "max_price_uah": -1}, "max_price_uah"),
        ("get_product", {"sku": "'; DROP TABLE"}, "sku"),
        ("check_availability", {"sku": "TD-1", "city": "Львів"}, "sku"),
        ("create_order", {**ORDER, "items": []}, "items"),
        ("create_order", {**ORDER, "items": [{"sku": "TD-10001", "quantity": 0}]}, "quantity"),
        ("create_order", {**ORDER, "items": [{"sku": "TD-10001", "quantity": 1000}]}, "quantity"),
        (
            "create_order",
            {**ORDER, "items": [{"sku": "TD-10001", "quantity": 1, "price_uah": 0}]},
            "prices always come from the catalogue",
        ),
        ("create_order", {**ORDER, "total_uah": 0}, "prices always come from the catalogue"),
        ("create_order", {**ORDER, "confirmed_total_uah": 0}, "confirmed_total_uah"),
        ("create_order", {**ORDER, "customer_phone": "call me"}, "customer_phone"),
        ("get_order_status", {"order_id": ""}, "order_id"),
        ("transfer_to_operator", {"reason": "bored", "caller_wants": "x"}, "reason"),
    ],
)
async def test_bad_arguments_come_back_as_a_clear_tool_error(tools, name, arguments, mentions):
    result = await tools.call(name, arguments, turn=1)
    assert result["ok"] is False and result["error"] == "invalid_arguments"
    assert mentions in result["message"]


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        ([{"sku": "TD-10001", "quantity": 4}], "At most 3 units"),
        ([{"sku": f"TD-1000{i}", "quantity": 1} for i in range(6)], "At most 5 different"),
        ([{"sku": "TD-10001", "quantity": 1}, {"sku": "TD-10001", "quantity": 2}], "once"),
    ],
)
async def test_order_limits_are_refused_before_the_store_is_asked(tools, items, problem):
    result = await tools.call("create_order", {**ORDER, "items": items}, turn=1)
    assert result == {"ok": False, "error": "invalid_order", "message": result["message"]}
    assert problem in result["message"]


def test_caller_turns_counts_user_messages_only():
    messages = [
        {"role": "user", "content": "Добрий день"},
        {"role": "assistant", "content": "Вітаю", "tool_calls": [{"id": "1"}]},
        {"role": "tool", "tool_call_id": "1", "content": "{}"},
        {"role": "assistant", "content": "Ось"},
        {"role": "user", "content": "Так"},
    ]
    assert caller_turns(messages) == 2
    assert caller_turns([]) == 0


@pytest.mark.parametrize(
    ("said", "code"),
    [
        ("TD-10201", "TD-10201"),
        ("td10201", "TD-10201"),
        ("td-10201", "TD-10201"),
        ("ТД-100001", "TD-100001"),  # Cyrillic letters
        (" td 100001 ", "TD-100001"),
        ("iPhone 15", "iPhone 15"),  # not a code: left for validation to refuse
    ],
)
def test_codes_are_written_the_way_the_store_writes_them(said, code):
    assert normalise_code(said) == code


def test_the_tool_limits_are_the_contracts():
    schema = schemas()["create_order"]
    items = schema.properties["items"]
    assert items["maxItems"] == 10
    assert items["items"]["properties"]["quantity"]["maximum"] == 10
    assert schema.properties["customer_name"]["maxLength"] == 100
