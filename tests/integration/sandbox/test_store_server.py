"""The reference store over real TCP, driven by an aiohttp client as the bot's client drives it."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox.store.server import ReferenceStore, StoreKnobs

pytestmark = pytest.mark.integration

KEY = "test-store-key"
POWER_BANK_20K = "TD-10201"  # Павербанк Xiaomi Redmi 20000 мА·год, 899 UAH; 10 in Lviv, 0 in Odesa
SONY_WF_C510 = "TD-10102"  # 1899 UAH; exactly one unit in Kyiv


@pytest.fixture
async def store() -> AsyncIterator[ReferenceStore]:
    server = ReferenceStore(api_key=KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(headers={"X-API-Key": KEY}, timeout=timeout) as session:
        yield session


async def call(
    client: aiohttp.ClientSession,
    store: ReferenceStore,
    method: str,
    path: str,
    **kwargs: Any,
) -> tuple[int, Any]:
    async with client.request(method, store.base_url + path, **kwargs) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


def order_body(
    sku: str = POWER_BANK_20K, quantity: int = 1, total: int = 899, **overrides: Any
) -> dict[str, Any]:
    return {
        "items": [{"sku": sku, "quantity": quantity}],
        "customer": {"name": "Олена Коваленко", "phone": "+380671234567"},
        "delivery_city": "Львів",
        "expected_total_uah": total,
        **overrides,
    }


async def lviv_stock(client: aiohttp.ClientSession, store: ReferenceStore, sku: str) -> int:
    status, body = await call(client, store, "GET", f"/v1/products/{sku}/availability?city=Львів")
    assert status == 200
    return body["quantity"]


# Service and auth


async def test_health_needs_no_key(store: ReferenceStore) -> None:
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.get(store.base_url + "/health") as response,
    ):
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}])
async def test_v1_needs_the_right_key(store: ReferenceStore, headers: dict[str, str]) -> None:
    async with aiohttp.ClientSession(headers=headers) as session:
        for path in ("/v1/categories", "/v1/products?q=навушники", "/v1/nothing-here"):
            async with session.get(store.base_url + path) as response:
                assert response.status == 401
                body = await response.json()
                assert body["error"]["code"] == "unauthorized"
                assert body["error"]["message"]


async def test_unknown_path_and_method(
    store: ReferenceStore, client: aiohttp.ClientSession
) -> None:
    status, body = await call(client, store, "GET", "/v1/warehouses")
    assert (status, body["error"]["code"]) == (404, "not_found")
    async with client.delete(store.base_url + "/v1/orders") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"
        assert (await response.json())["error"]["code"] == "method_not_allowed"


# Catalogue reads


async def test_categories_and_cities(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    status, categories = await call(client, store, "GET", "/v1/categories")
    assert status == 200
    assert {"id": "headphones", "name": "Навушники", "product_count": 27} in categories["items"]
    assert sum(c["product_count"] for c in categories["items"]) == len(store.catalogue.products)
    status, cities = await call(client, store, "GET", "/v1/cities")
    assert status == 200
    assert len(cities["items"]) == 8
    kyiv = cities["items"][0]
    assert kyiv["name"] == "Київ" and kyiv["delivery_days"] == 1
    assert kyiv["warehouses"][0] == {
        "id": "kyiv-1",
        "name": "Відділення №1",
        "address": "вул. Хрещатик, 22",
    }


async def test_search_in_a_city(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    status, body = await call(
        client,
        store,
        "GET",
        "/v1/products",
        params={"q": "повербанк на 20 000", "city": "Львові", "in_stock": "true", "limit": "3"},
    )
    assert status == 200
    first = body["items"][0]
    assert first["sku"] == POWER_BANK_20K
    assert set(first) == {"sku", "name", "category", "brand", "price_uah", "in_stock", "score"}
    assert first["in_stock"] is True and 0 < first["score"] <= 1
    assert len(body["items"]) <= 3 <= body["total"] or len(body["items"]) == body["total"]
    # Not in Odesa: filtered out there, but listed (as unavailable) without the filter
    _, odesa = await call(
        client, store, "GET", "/v1/products", params={"q": "павербанк 20000", "city": "Одеса"}
    )
    by_sku = {i["sku"]: i for i in odesa["items"]}
    assert by_sku[POWER_BANK_20K]["in_stock"] is False
    _, odesa_in_stock = await call(
        client,
        store,
        "GET",
        "/v1/products",
        params={"q": "павербанк 20000", "city": "Odesa", "in_stock": "true", "limit": "20"},
    )
    assert POWER_BANK_20K not in {i["sku"] for i in odesa_in_stock["items"]}


async def test_search_filters(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    params = {"q": "навушники", "category": "headphones", "max_price_uah": "1999", "limit": "20"}
    status, body = await call(client, store, "GET", "/v1/products", params=params)
    assert status == 200 and body["items"]
    assert all(i["category"] == "headphones" and i["price_uah"] <= 1999 for i in body["items"])
    assert [i["score"] for i in body["items"]] == sorted(
        (i["score"] for i in body["items"]), reverse=True
    )
    # Without a query: everything in the filters, cheapest first
    params = {"category": "kettles", "min_price_uah": "1000", "limit": "20"}
    _, kettles = await call(client, store, "GET", "/v1/products", params=params)
    prices = [i["price_uah"] for i in kettles["items"]]
    assert prices == sorted(prices) and min(prices) >= 1000
    assert {i["score"] for i in kettles["items"]} == {1.0}
    assert kettles["total"] == len(prices)


async def test_search_without_a_match(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    _, body = await call(client, store, "GET", "/v1/products", params={"q": "холодильник"})
    assert body == {"items": [], "total": 0}


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"limit": "0"}, "invalid_request", "limit"),
        ({"limit": "21"}, "invalid_request", "limit"),
        ({"limit": "five"}, "invalid_request", "limit"),
        ({"min_price_uah": "-1"}, "invalid_request", "min_price_uah"),
        ({"in_stock": "yes"}, "invalid_request", "in_stock"),
        ({"q": "а" * 201}, "invalid_request", "q"),
        ({"colour": "red"}, "invalid_request", "colour"),
        ({"category": "fridges"}, "unknown_category", "category"),
        ({"city": "Ужгород"}, "unknown_city", "city"),
    ],
)
async def test_search_refuses_bad_parameters(
    store: ReferenceStore,
    client: aiohttp.ClientSession,
    params: dict[str, str],
    code: str,
    field: str,
) -> None:
    status, body = await call(client, store, "GET", "/v1/products", params=params)
    assert status == 422
    assert body["error"]["code"] == code
    assert body["error"]["message"].startswith(field)
    assert body["error"]["details"]["field"] == field
    if code == "unknown_city":
        assert "Київ" in body["error"]["details"]["valid"]
    if code == "unknown_category":
        assert "headphones" in body["error"]["details"]["valid"]


async def test_repeated_parameter_is_refused(
    store: ReferenceStore, client: aiohttp.ClientSession
) -> None:
    status, body = await call(client, store, "GET", "/v1/products?q=a&q=b")
    assert (status, body["error"]["details"]["field"]) == (422, "q")


async def test_product_details(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    status, product = await call(client, store, "GET", f"/v1/products/{POWER_BANK_20K}")
    assert status == 200
    assert product["name"] == "Павербанк Xiaomi Redmi 20000 мА·год"
    assert product["price_uah"] == 899 and product["in_stock"] is True
    assert product["attributes"]["Ємність"] == "20000 мА·год"
    assert product["warranty_months"] == 12 and product["description"]
    assert "score" not in product and "stock" not in product and "keywords" not in product
    for sku in ("TD-99999", "TD-1", "nonsense"):
        status, body = await call(client, store, "GET", f"/v1/products/{sku}")
        assert (status, body["error"]["code"]) == (404, "not_found")


async def test_availability_in_a_city(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    path = f"/v1/products/{POWER_BANK_20K}/availability"
    status, lviv = await call(client, store, "GET", path, params={"city": "Lviv"})
    assert status == 200
    assert (lviv["city"], lviv["quantity"], lviv["in_stock"]) == ("Львів", 10, True)
    assert lviv["delivery_days"] == 2
    assert [(w["id"], w["quantity"]) for w in lviv["warehouses"]] == [("lviv-1", 7), ("lviv-2", 3)]
    assert lviv["warehouses"][0]["address"] == "вул. Городоцька, 135"
    others = {o["city"]: o["quantity"] for o in lviv["other_cities"]}
    assert "Львів" not in others and "Одеса" not in others and others["Київ"] == 17
    quantities = [o["quantity"] for o in lviv["other_cities"]]
    assert quantities == sorted(quantities, reverse=True)

    _, odesa = await call(client, store, "GET", path, params={"city": "Одесса"})
    assert (odesa["city"], odesa["quantity"], odesa["in_stock"]) == ("Одеса", 0, False)
    assert odesa["warehouses"] == [] and odesa["other_cities"]

    _, anywhere = await call(client, store, "GET", path)
    assert anywhere["city"] is None and anywhere["delivery_days"] is None
    assert anywhere["warehouses"] == []
    assert anywhere["quantity"] == store.catalogue.quantity(POWER_BANK_20K) > 10

    status, body = await call(client, store, "GET", path, params={"city": "Москва"})
    assert (status, body["error"]["code"]) == (422, "unknown_city")
    status, body = await call(client, store, "GET", "/v1/products/TD-99999/availability")
    assert (status, body["error"]["code"]) == (404, "not_found")


# Orders


async def test_order_happy_path_takes_stock(
    store: ReferenceStore, client: aiohttp.ClientSession
) -> None:
    before = await lviv_stock(client, store, POWER_BANK_20K)
    body = order_body(quantity=2, total=1798, warehouse_id="lviv-2")
    async with client.post(store.base_url + "/v1/orders", json=body) as response:
        assert response.status == 201
        order = await response.json()
        assert response.headers["Location"] == f"/v1/orders/{order['order_id']}"
    assert order["order_id"].startswith("TD-1") and len(order["order_id"]) == 9
    assert order["status"] == "created"
    assert order["items"] == [
        {
            "sku": POWER_BANK_20K,
            "name": "Павербанк Xiaomi Redmi 20000 мА·год",
            "quantity": 2,
            "unit_price_uah": 899,
            "line_total_uah": 1798,
        }
    ]
    assert (order["total_uah"], order["delivery_city"], order["warehouse_id"]) == (
        1798,
        "Львів",
        "lviv-2",
    )
    assert order["customer"] == {"name": "Олена Коваленко", "phone_masked": "+380 ** *** ** 67"}
    assert order["estimated_delivery_days"] == 2 and order["created_at"].endswith("Z")
    assert await lviv_stock(client, store, POWER_BANK_20K) == before - 2
    assert store.catalogue.products[POWER_BANK_20K].stock["lviv-2"] == 1  # the chosen branch first
    status, fetched = await call(client, store, "GET", f"/v1/orders/{order['order_id']}")
    assert (status, fetched) == (200, order)
    assert store.orders[order["order_id"]] == order


async def test_price_mismatch(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    before = await lviv_stock(client, store, POWER_BANK_20K)
    status, body = await call(client, store, "POST", "/v1/orders", json=order_body(total=850))
    assert status == 409
    assert body["error"]["code"] == "price_mismatch"
    assert body["error"]["details"] == {"total_uah": 899}
    assert await lviv_stock(client, store, POWER_BANK_20K) == before


async def test_out_of_stock(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    body = order_body(SONY_WF_C510, quantity=2, total=3798, delivery_city="Київ")
    status, answer = await call(client, store, "POST", "/v1/orders", json=body)
    assert status == 409
    assert answer["error"]["code"] == "out_of_stock"
    assert answer["error"]["details"] == {"sku": SONY_WF_C510, "available": 1}
    # Odesa has none of the power bank at all
    body = order_body(delivery_city="Одеса")
    status, answer = await call(client, store, "POST", "/v1/orders", json=body)
    assert (status, answer["error"]["details"]) == (409, {"sku": POWER_BANK_20K, "available": 0})


async def test_unpriced_product_cannot_be_ordered(
    store: ReferenceStore, client: aiohttp.ClientSession
) -> None:
    store.catalogue.products[POWER_BANK_20K].price_uah = 0
    status, body = await call(client, store, "POST", "/v1/orders", json=order_body(total=1))
    assert (status, body["error"]["code"]) == (409, "unpriced_product")
    assert body["error"]["details"] == {"sku": POWER_BANK_20K}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": [{"sku": POWER_BANK_20K, "quantity": 0}]}, "items[0].quantity"),
        ({"items": [{"sku": POWER_BANK_20K, "quantity": 11}]}, "items[0].quantity"),
        ({"items": [{"sku": POWER_BANK_20K, "quantity": "1"}]}, "items[0].quantity"),
        (
            {"items": [{"sku": POWER_BANK_20K, "quantity": 1, "unit_price_uah": 1}]},
            "items[0].unit_price_uah",
        ),
        ({"items": []}, "items"),
        ({"items": [{"sku": POWER_BANK_20K, "quantity": 1}] * 2}, "items"),
        ({"items": [{"sku": "10201", "quantity": 1}]}, "items[0].sku"),
        ({"customer": {"name": "Олена", "phone": "123"}}, "customer.phone"),
        ({"customer": {"name": " ", "phone": "+380671234567"}}, "customer.name"),
        ({"customer": {"phone": "+380671234567"}}, "customer.name"),
        ({"expected_total_uah": 0}, "expected_total_uah"),
        ({"expected_total_uah": 899.0}, "expected_total_uah"),
        ({"total_uah": 899}, "total_uah"),
        ({"delivery_city": ""}, "delivery_city"),
    ],
)
async def test_order_validation(
    store: ReferenceStore, client: aiohttp.ClientSession, change: dict[str, Any], field: str
) -> None:
    status, body = await call(client, store, "POST", "/v1/orders", json=order_body(**change))
    assert status == 422, body
    assert body["error"]["code"] == "invalid_request"
    assert body["error"]["details"]["field"] == field
    assert body["error"]["message"].startswith(field)
    assert len(store.orders) == 4  # only the seeded ones


async def test_order_body_must_be_json(
    store: ReferenceStore, client: aiohttp.ClientSession
) -> None:
    status, body = await call(client, store, "POST", "/v1/orders", data=b"{not json")
    assert (status, body["error"]["code"]) == (422, "invalid_request")
    status, body = await call(client, store, "POST", "/v1/orders", json=[1, 2])
    assert (status, body["error"]["code"]) == (422, "invalid_request")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"delivery_city": "Ужгород"}, "unknown_city"),
        ({"warehouse_id": "kyiv-1"}, "unknown_warehouse"),
        ({"items": [{"sku": "TD-99999", "quantity": 1}]}, "unknown_product"),
    ],
)
async def test_order_refers_to_unknown_things(
    store: ReferenceStore, client: aiohttp.ClientSession, change: dict[str, Any], code: str
) -> None:
    status, body = await call(client, store, "POST", "/v1/orders", json=order_body(**change))
    assert (status, body["error"]["code"]) == (422, code)


async def test_city_spellings_in_orders(
    store: ReferenceStore, client: aiohttp.ClientSession
) -> None:
    body = order_body(delivery_city="Lvov")
    status, order = await call(client, store, "POST", "/v1/orders", json=body)
    assert (status, order["delivery_city"]) == (201, "Львів")


async def test_idempotency(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    before = await lviv_stock(client, store, POWER_BANK_20K)
    headers = {"Idempotency-Key": "call-42-order-1"}
    status, first = await call(
        client, store, "POST", "/v1/orders", json=order_body(), headers=headers
    )
    assert status == 201
    status, again = await call(
        client, store, "POST", "/v1/orders", json=order_body(), headers=headers
    )
    assert (status, again) == (200, first)
    assert await lviv_stock(client, store, POWER_BANK_20K) == before - 1
    status, conflict = await call(
        client,
        store,
        "POST",
        "/v1/orders",
        json=order_body(quantity=2, total=1798),
        headers=headers,
    )
    assert status == 409
    assert conflict["error"]["code"] == "idempotency_conflict"
    assert conflict["error"]["details"] == {"order_id": first["order_id"]}
    # Another key is another order
    status, other = await call(
        client, store, "POST", "/v1/orders", json=order_body(), headers={"Idempotency-Key": "x"}
    )
    assert status == 201 and other["order_id"] != first["order_id"]
    status, body = await call(
        client,
        store,
        "POST",
        "/v1/orders",
        json=order_body(),
        headers={"Idempotency-Key": "k" * 101},
    )
    assert (status, body["error"]["details"]["field"]) == (422, "Idempotency-Key")


@pytest.mark.parametrize(
    ("order_id", "status"),
    [
        ("TD-100001", "shipped"),
        ("TD-100002", "delivered"),
        ("TD-100003", "cancelled"),
        ("TD-100004", "processing"),
    ],
)
async def test_seeded_orders(
    store: ReferenceStore, client: aiohttp.ClientSession, order_id: str, status: str
) -> None:
    code, order = await call(client, store, "GET", f"/v1/orders/{order_id}")
    assert code == 200
    assert order["status"] == status
    assert order["total_uah"] == sum(i["line_total_uah"] for i in order["items"])
    assert order["customer"]["phone_masked"].startswith("+380 ** *** **")


async def test_unknown_order(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    for order_id in ("TD-999999", "100001", "td-100001"):
        status, body = await call(client, store, "GET", f"/v1/orders/{order_id}")
        assert (status, body["error"]["code"]) == (404, "not_found")


async def test_request_log(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    await call(client, store, "GET", "/v1/products", params={"q": "фен", "limit": "2"})
    await call(client, store, "POST", "/v1/orders", json=order_body(total=1))
    search, order = store.requests[-2:]
    assert (search.method, search.path, search.query, search.status, search.body) == (
        "GET",
        "/v1/products",
        {"q": "фен", "limit": "2"},
        200,
        None,
    )
    assert (order.method, order.status, order.outcome) == ("POST", 409, "error:price_mismatch")
    assert order.body == order_body(total=1)


# Fault knobs


async def test_fault_status(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    store.knobs.fault, store.knobs.fault_times = "status", 2
    for _ in range(2):
        status, body = await call(client, store, "GET", "/v1/categories")
        assert (status, body["error"]["code"]) == (503, "unavailable")
    assert store.knobs.fault is None
    status, _ = await call(client, store, "GET", "/v1/categories")
    assert status == 200
    assert [r.outcome for r in store.requests[-3:]] == [
        "fault:status:503",
        "fault:status:503",
        "ok",
    ]


async def test_fault_only_on_matching_paths(
    store: ReferenceStore, client: aiohttp.ClientSession
) -> None:
    store.knobs = StoreKnobs(
        fault="status", fault_status=429, fault_times=-1, fault_paths="/orders"
    )
    status, _ = await call(client, store, "GET", "/v1/categories")
    assert status == 200
    for _ in range(3):
        status, body = await call(client, store, "POST", "/v1/orders", json=order_body())
        assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert store.knobs.fault == "status"  # -1: every request, never clears
    async with (
        aiohttp.ClientSession() as anonymous,  # /health is never faulted
        anonymous.get(store.base_url + "/health") as response,
    ):
        assert response.status == 200


async def test_fault_garbage(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    store.knobs.fault = "garbage"
    async with client.get(store.base_url + "/v1/products?q=фен") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        with pytest.raises(ValueError):
            await response.json()
    store.knobs.fault, store.knobs.garbage_body = "garbage", '{"items": "none"}'
    status, body = await call(client, store, "GET", "/v1/products?q=фен")
    assert (status, body) == (200, {"items": "none"})
    assert store.requests[-1].outcome == "fault:garbage"


async def test_fault_hang_until_the_client_gives_up(
    store: ReferenceStore, client: aiohttp.ClientSession
) -> None:
    store.knobs.fault = "hang"
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await client.get(store.base_url + "/v1/cities", timeout=aiohttp.ClientTimeout(total=0.3))
    assert time.monotonic() - started > 0.25  # the store held it; the client gave up
    assert store.requests[-1].outcome in ("fault:hang", "client_disconnected")
    assert store.requests[-1].status == 0
    status, _ = await call(client, store, "GET", "/v1/cities")  # the fault cleared itself
    assert status == 200


async def test_stop_releases_a_hanging_request(
    store: ReferenceStore, client: aiohttp.ClientSession
) -> None:
    store.knobs.fault = "hang"
    pending = asyncio.ensure_future(client.get(store.base_url + "/v1/cities"))
    for _ in range(300):
        if store.requests and store.requests[-1].outcome == "fault:hang":
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the request never reached the store")
    await asyncio.wait_for(store.stop(), 5)  # does not wait for the hanging request
    try:
        response = await asyncio.wait_for(pending, 3)
        assert response.status == 503
        response.release()
    except aiohttp.ClientError:
        pass  # the connection was closed under it: released all the same


async def test_fault_cut(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    # aiohttp retries a GET once when the connection drops unanswered, so cut both attempts
    store.knobs.fault, store.knobs.fault_times = "cut", 2
    with pytest.raises(aiohttp.ClientError):
        async with client.get(store.base_url + "/v1/products/TD-10201") as response:
            await response.read()
    assert [(r.outcome, r.status) for r in store.requests] == [("fault:cut", 0)] * 2
    store.knobs.fault, store.knobs.fault_times = "cut", 1
    with pytest.raises(aiohttp.ClientError):  # a POST is not retried
        async with client.post(store.base_url + "/v1/orders", json=order_body()) as response:
            await response.read()
    assert len(store.orders) == 4  # the cut came before the order was placed
    status, _ = await call(client, store, "GET", "/v1/products/TD-10201")
    assert status == 200


async def test_delay(store: ReferenceStore, client: aiohttp.ClientSession) -> None:
    delay = 1.0  # long, so that "not delayed" below holds on a busy machine too
    store.knobs.delay_ms = delay * 1000
    started = time.monotonic()
    status, _ = await call(client, store, "GET", "/v1/categories")
    assert status == 200
    assert time.monotonic() - started >= delay - 0.01
    started = time.monotonic()
    async with aiohttp.ClientSession() as anonymous:  # errors are delayed too, /health is not
        async with anonymous.get(store.base_url + "/v1/categories") as response:
            assert response.status == 401
        assert time.monotonic() - started >= delay - 0.01
        started = time.monotonic()
        async with anonymous.get(store.base_url + "/health") as response:
            assert response.status == 200
        assert time.monotonic() - started < delay
