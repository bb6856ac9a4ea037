"""The store client against the real reference store over HTTP: answers, faults, guardrails."""

import pytest
from aiohttp import web

from bot.prompts import load_prompts
from bot.settings import StoreSettings
from bot.store_client import StoreClient, StoreError
from bot.tools import StoreTools
from sandbox.store.server import ReferenceStore

pytestmark = pytest.mark.integration

KEY = "test-key"
FAST = StoreSettings(
    read_timeout_secs=0.3,
    order_timeout_secs=0.5,
    read_retries=1,
    retry_backoff_secs=0.01,
    breaker_failures=3,
    breaker_reset_secs=60,
)


@pytest.fixture
async def store():
    store = ReferenceStore(api_key=KEY)
    await store.start()
    yield store
    await store.stop()


@pytest.fixture
async def client(store):
    client = StoreClient(store.base_url, KEY, FAST)
    yield client
    await client.close()


def hits(store, path_part: str) -> int:
    return sum(1 for r in store.requests if path_part in r.path)


def stock(store, sku: str, city: str = "Львів") -> int:
    return store.catalogue.quantity(sku, store.catalogue.city(city))


async def place(client, items, total, **extra):
    return await client.create_order(
        items,
        customer_name="Олена",
        customer_phone="+380671234567",
        delivery_city="Львів",
        expected_total_uah=total,
        **extra,
    )


def a_product_in_stock(store, city: str = "Львів"):
    products = store.catalogue.products.values()
    return next(p for p in products if stock(store, p.sku, city) > 1)


async def test_search_finds_catalogue_products_and_reuses_the_answer(store, client):
    found = await client.search("павербанк 20000", city="Львів", in_stock=True)
    assert found["items"] and "авербанк" in found["items"][0]["name"]
    again = await client.search("павербанк 20000", city="Львів", in_stock=True)
    assert again == found
    assert hits(store, "/v1/products") == 1  # the second answer came from the cache


async def test_product_and_availability(store, client):
    product = a_product_in_stock(store)
    details = await client.product(product.sku)
    assert details["price_uah"] == product.price_uah > 0
    there = await client.availability(product.sku, "Львів")
    assert there["in_stock"] and there["quantity"] == stock(store, product.sku)


async def test_unknown_product_is_not_found_and_not_retried(store, client):
    with pytest.raises(StoreError) as caught:
        await client.product("TD-00000")
    assert caught.value.kind == "not_found"
    assert hits(store, "TD-00000") == 1


async def test_a_slow_store_times_out_after_one_retry(store, client):
    store.knobs.delay_ms = 2000
    with pytest.raises(StoreError) as caught:
        await client.search("чайник")
    assert (caught.value.kind, caught.value.code) == ("unavailable", "timeout")
    assert hits(store, "/v1/products") == 2


async def test_a_passing_server_error_is_retried(store, client):
    store.knobs.fault, store.knobs.fault_status, store.knobs.fault_times = "status", 503, 1
    found = await client.search("чайник")
    assert found["items"]
    assert hits(store, "/v1/products") == 2


@pytest.mark.parametrize(("fault", "code"), [("garbage", "bad_response"), ("cut", "connection")])
async def test_garbage_and_cut_connections_become_unavailable(store, client, fault, code):
    store.knobs.fault, store.knobs.fault_times = fault, -1
    with pytest.raises(StoreError) as caught:
        await client.availability(a_product_in_stock(store).sku, "Львів")
    assert (caught.value.kind, caught.value.code) == ("unavailable", code)


async def test_a_store_that_is_down_is_unavailable(store):
    url = store.base_url
    await store.stop()
    client = StoreClient(url, KEY, FAST)
    try:
        with pytest.raises(StoreError) as caught:
            await client.search("чайник")
        assert (caught.value.kind, caught.value.code) == ("unavailable", "connection")
    finally:
        await client.close()


async def test_the_breaker_stops_calling_a_failing_store(store, client):
    store.knobs.fault, store.knobs.fault_status, store.knobs.fault_times = "status", 500, -1
    for query in ("a", "b"):  # 2 reads x 2 attempts = 4 failures; the breaker opens at 3
        with pytest.raises(StoreError):
            await client.search(query)
    calls = len(store.requests)
    with pytest.raises(StoreError) as caught:
        await client.search("c")
    assert caught.value.code == "circuit_open"
    assert len(store.requests) == calls  # not even tried


async def test_an_order_is_priced_by_the_store_and_stock_goes_down(store, client):
    product = a_product_in_stock(store)
    before = stock(store, product.sku)
    order = await place(client, [(product.sku, 1)], product.price_uah, idempotency_key="k1")
    assert order["total_uah"] == product.price_uah
    assert stock(store, product.sku) == before - 1


async def test_the_store_refuses_a_total_that_is_not_the_catalogue_total(store, client):
    product = a_product_in_stock(store)
    with pytest.raises(StoreError) as caught:
        await place(client, [(product.sku, 1)], product.price_uah - 1)
    assert (caught.value.kind, caught.value.code) == ("rejected", "price_mismatch")
    assert not any(o["items"][0]["sku"] == product.sku for o in store.orders.values())


@pytest.mark.parametrize(
    ("items", "total"),
    [
        ([("TD-10001", 1)], 0),
        ([("TD-10001", 1)], -5),
        ([("TD-10001", 0)], 100),
        ([("TD-10001", 11)], 100),
        ([], 100),
        ([("TD-10001", 1), ("TD-10001", 1)], 100),
        ([(f"TD-1000{i}", 1) for i in range(6)], 100),
    ],
)
async def test_client_guardrails_refuse_before_sending(store, client, items, total):
    with pytest.raises(StoreError) as caught:
        await place(client, items, total)
    assert (caught.value.kind, caught.value.code) == ("rejected", "invalid_order")
    assert hits(store, "/v1/orders") == 0


async def test_an_order_is_not_retried(store, client):
    product = a_product_in_stock(store)
    store.knobs.fault, store.knobs.fault_status, store.knobs.fault_times = "status", 503, 1
    with pytest.raises(StoreError) as caught:
        await place(client, [(product.sku, 1)], product.price_uah)
    assert caught.value.kind == "unavailable"
    assert hits(store, "/v1/orders") == 1


async def test_a_seeded_order_status(client):
    order = await client.order("TD-100001")
    assert order["status"] == "shipped"


async def test_an_answer_of_an_unexpected_shape_still_gets_a_sentence():
    """A store whose order has the right keys but nonsense inside: the tool still answers."""

    async def odd_order(_request):
        return web.json_response(
            {"order_id": "TD-1", "status": "new", "items": [17, None], "total_uah": 1}
        )

    app = web.Application()
    app.router.add_get("/v1/orders/{order_id}", odd_order)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    client = StoreClient(f"http://127.0.0.1:{port}", KEY, FAST)
    prompts = load_prompts("uk-UA", store="ТехноДім")

    async def on_end(outcome, detail):
        raise AssertionError("the call must not end")

    try:
        tools = StoreTools(client, prompts, "call", on_end)
        result = await tools.call("get_order_status", {"order_id": "TD-100001"}, turn=1)
    finally:
        await client.close()
        await runner.cleanup()
    assert result["ok"] is False and result["error"] == "store_unavailable"
    assert result["say"] == prompts.phrase("tool_store_unavailable")
