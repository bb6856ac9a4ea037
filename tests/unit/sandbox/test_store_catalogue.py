"""The sample catalogue's invariants, city names, stock, and order pricing without HTTP."""

import json
import re

import pytest

from sandbox.store import make_catalogue
from sandbox.store.catalogue import CATALOGUE_PATH, Catalogue, CatalogueError, mask_phone
from sandbox.store.server import ApiError, OrderIn, ReferenceStore

pytestmark = pytest.mark.unit

CITIES = ["Київ", "Львів", "Одеса", "Дніпро", "Харків", "Запоріжжя", "Вінниця", "Полтава"]
CYRILLIC = re.compile(r"[а-яіїєґ]", re.IGNORECASE)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def test_size_and_identity(catalogue: Catalogue) -> None:
    products = list(catalogue.products.values())
    assert len(products) >= 200
    skus = [p.sku for p in products]
    assert len(set(skus)) == len(skus)
    assert all(re.fullmatch(r"TD-[0-9]{5}", s) for s in skus)
    assert 15 <= len(catalogue.categories) <= 20


def test_products_are_complete(catalogue: Catalogue) -> None:
    for p in catalogue.products.values():
        assert isinstance(p.price_uah, int) and p.price_uah > 0, p.sku
        assert CYRILLIC.search(p.name) and p.brand in p.name, p.name
        sentences = re.findall(r"[.!?](?:\s|$)", p.description)
        assert CYRILLIC.search(p.description) and 1 <= len(sentences) <= 2, p.description
        assert p.attributes and all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in p.attributes.items()
        )
        assert p.warranty_months in (6, 12, 24, 36)
        assert set(p.stock) == set(catalogue.warehouses), p.sku
        assert all(q >= 0 for q in p.stock.values())


def test_every_category_has_products(catalogue: Catalogue) -> None:
    counts = catalogue.category_counts()
    assert all(n >= 8 for n in counts.values()), counts
    assert catalogue.categories["headphones"].name == "Навушники"


def test_cities_and_warehouses(catalogue: Catalogue) -> None:
    assert [c.name for c in catalogue.cities] == CITIES
    for city in catalogue.cities:
        assert 1 <= len(city.warehouses) <= 3
        assert city.delivery_days >= 1
        for w in city.warehouses:
            assert w.name.startswith("Відділення №")
            assert re.match(r"(вул\.|просп\.|\w+ шосе)", w.address), w.address


def test_stock_varies(catalogue: Catalogue) -> None:
    products = catalogue.products.values()
    nowhere = [p.sku for p in products if catalogue.quantity(p.sku) == 0]
    assert 2 <= len(nowhere) <= 5
    missing_somewhere = [
        p for p in products if any(catalogue.quantity(p.sku, c) == 0 for c in catalogue.cities)
    ]
    assert len(missing_somewhere) > len(catalogue.products) / 4


def test_demo_items(catalogue: Catalogue) -> None:
    kyiv, lviv = catalogue.city("Київ"), catalogue.city("Львів")
    in_ear = [
        p
        for p in catalogue.products.values()
        if p.category == "headphones"
        and p.attributes.get("Тип") == "Вкладиші (TWS)"
        and p.price_uah < 2000
        and catalogue.quantity(p.sku, kyiv) > 0
        and catalogue.quantity(p.sku, lviv) > 0
    ]
    assert len(in_ear) >= 4
    assert sum(p.attributes["Шумозаглушення"] == "Активне (ANC)" for p in in_ear) >= 2
    big = catalogue.products["TD-10201"]
    assert big.name == "Павербанк Xiaomi Redmi 20000 мА·год"
    assert big.attributes["Ємність"] == "20000 мА·год"
    assert catalogue.quantity(big.sku, lviv) > 0
    small = catalogue.products["TD-10202"]
    assert small.name == "Павербанк Xiaomi Redmi 10000 мА·год"
    assert catalogue.quantity(small.sku, lviv) > 0


def test_seeded_orders_match_the_catalogue(catalogue: Catalogue) -> None:
    statuses = {o["order_id"]: o["status"] for o in catalogue.seed_orders}
    assert statuses == {
        "TD-100001": "shipped",
        "TD-100002": "delivered",
        "TD-100003": "cancelled",
        "TD-100004": "processing",
    }
    for order in catalogue.seed_orders:
        for item in order["items"]:
            product = catalogue.products[item["sku"]]
            assert item["unit_price_uah"] == product.price_uah
            assert item["line_total_uah"] == product.price_uah * item["quantity"]
        assert order["total_uah"] == sum(i["line_total_uah"] for i in order["items"])
        assert catalogue.city(order["delivery_city"]) is not None


def test_committed_json_is_what_the_generator_makes() -> None:
    committed = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    assert committed == make_catalogue.build(), "run: python -m sandbox.store.make_catalogue"


@pytest.mark.parametrize(
    ("spoken", "city"),
    [
        ("Київ", "Київ"),
        ("Киев", "Київ"),
        ("Kyiv", "Київ"),
        ("kiev", "Київ"),
        ("Києві", "Київ"),
        ("м. Київ", "Київ"),
        ("  КИЇВ ", "Київ"),
        ("Львів", "Львів"),
        ("Львов", "Львів"),
        ("Lviv", "Львів"),
        ("Львові", "Львів"),
        ("Одесса", "Одеса"),
        ("Odesa", "Одеса"),
        ("Днепр", "Дніпро"),
        ("Dnipro", "Дніпро"),
        ("Харьков", "Харків"),
        ("Kharkiv", "Харків"),
        ("Запорожье", "Запоріжжя"),
        ("Винница", "Вінниця"),
        ("Poltava", "Полтава"),
    ],
)
def test_city_spellings(catalogue: Catalogue, spoken: str, city: str) -> None:
    found = catalogue.city(spoken)
    assert found is not None and found.name == city


@pytest.mark.parametrize("name", ["Москва", "Ужгород", "", "Київська область"])
def test_unknown_city(catalogue: Catalogue, name: str) -> None:
    assert catalogue.city(name) is None


def test_each_load_is_a_fresh_copy() -> None:
    first, second = Catalogue.load(), Catalogue.load()
    first.products["TD-10201"].stock["lviv-1"] = 0
    assert second.products["TD-10201"].stock["lviv-1"] == 7


def test_take_prefers_the_chosen_warehouse() -> None:
    catalogue = Catalogue.load()
    lviv = catalogue.city("Львів")
    catalogue.take("TD-10201", lviv, 4, prefer="lviv-2")  # lviv-1: 7, lviv-2: 3
    assert catalogue.products["TD-10201"].stock["lviv-2"] == 0
    assert catalogue.products["TD-10201"].stock["lviv-1"] == 6
    with pytest.raises(ValueError, match="only 6"):
        catalogue.take("TD-10201", lviv, 7)
    assert catalogue.quantity("TD-10201", lviv) == 6


def test_inconsistent_catalogue_is_refused() -> None:
    data = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    data["products"].append(dict(data["products"][0]))
    with pytest.raises(CatalogueError, match="listed twice"):
        Catalogue.from_dict(data)
    data = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    data["products"][0]["category"] = "fridges"
    with pytest.raises(CatalogueError, match="unknown category"):
        Catalogue.from_dict(data)
    with pytest.raises(CatalogueError, match="malformed"):
        Catalogue.from_dict({"categories": []})


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+380671234567", "+380 ** *** ** 67"),
        ("380671234567", "+380 ** *** ** 67"),
        ("067 123 45 89", "+380 ** *** ** 89"),
        ("+38 (050) 111-22-33", "+380 ** *** ** 33"),
        ("+48123456789", "+*********89"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


# Orders priced without HTTP


def _order(sku: str = "TD-10201", quantity: int = 1, total: int = 899) -> OrderIn:
    return OrderIn.model_validate(
        {
            "items": [{"sku": sku, "quantity": quantity}],
            "customer": {"name": "Тарас", "phone": "+380501112233"},
            "delivery_city": "Львів",
            "expected_total_uah": total,
        }
    )


def _store_with_price(sku: str, price: int) -> ReferenceStore:
    data = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    for product in data["products"]:
        if product["sku"] == sku:
            product["price_uah"] = price
    return ReferenceStore(api_key="k", catalogue=Catalogue.from_dict(data))


@pytest.mark.parametrize("price", [0, -5])
def test_unpriced_product_is_never_sold(price: int) -> None:
    store = _store_with_price("TD-10201", price)
    with pytest.raises(ApiError) as caught:
        store.place_order(_order(total=1))
    assert (caught.value.status, caught.value.code) == (409, "unpriced_product")
    assert caught.value.details == {"sku": "TD-10201"}
    assert store.catalogue.quantity("TD-10201", store.catalogue.city("Львів")) == 10
    assert len(store.orders) == 4


def test_place_order_prices_from_the_catalogue() -> None:
    store = ReferenceStore(api_key="k")
    order = store.place_order(_order(quantity=3, total=2697))
    assert order["total_uah"] == 2697 and order["items"][0]["unit_price_uah"] == 899
    assert order["order_id"] == "TD-100101" and order["status"] == "created"
    assert store.orders["TD-100101"] is order
    assert store.catalogue.quantity("TD-10201", store.catalogue.city("Львів")) == 7
    with pytest.raises(ApiError) as caught:
        store.place_order(_order(total=900))
    assert (caught.value.code, caught.value.details) == ("price_mismatch", {"total_uah": 899})
