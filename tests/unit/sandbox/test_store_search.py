"""Free-text search over the sample catalogue: queries as callers say them and STT writes them."""

import pytest

from sandbox.store.catalogue import Catalogue
from sandbox.store.search import (
    SearchDocument,
    SearchIndex,
    fold,
    spoken_price_range,
    stem,
    trigrams,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


# query, expected category of the top product, its brand (or None), its SKU (or None)
QUERIES = [
    # Ukrainian, inflected, with filler words and punctuation
    ("бездротові навушники сяомі", "headphones", "Xiaomi", None),
    ("Мені потрібні, будь ласка, навушники-вкладиші!", "headphones", None, None),
    ("навушників з шумкою", "headphones", None, None),
    ("НАВУШНИКИ SONY WF-C700N", "headphones", "Sony", "TD-10101"),
    ("павербанку ксіаомі 20000 мА·год", "power-banks", "Xiaomi", "TD-10201"),
    ("зовнішній акумулятор анкер", "power-banks", "Anker", None),
    ("ноутбук леново", "laptops", "Lenovo", None),
    ("фітнес браслет сяомі", "smartwatches", "Xiaomi", "TD-10707"),
    ("філіпс фен", "hair-dryers", "Philips", None),
    ("чайник бош", "kettles", "Bosch", None),
    ("планшет самсунг", "tablets", "Samsung", None),
    # Russian
    ("наушники беспроводные сони", "headphones", "Sony", None),
    ("наушники с шумоподавлением самсунг", "headphones", "Samsung", None),
    ("наушники до 2000 гривен", "headphones", None, None),
    ("пылесос самсунг", "vacuums", "Samsung", None),
    ("робот пылесос сяоми", "vacuums", "Xiaomi", None),
    ("телевизор самсунг 55", "tvs", "Samsung", "TD-10602"),
    ("телефон самсунг", "smartphones", "Samsung", None),
    ("зарядное устройство самсунг", "chargers", "Samsung", None),
    ("кофемашина делонги", "coffee-machines", "De'Longhi", None),
    ("микроволновка с грилем", "microwaves", None, None),
    ("мышка логитек", "mice", "Logitech", None),
    ("игровая мышка", "mice", None, None),
    ("клавиатура механическая", "keyboards", None, None),
    ("роутер тп линк", "routers", "TP-Link", None),
    ("вай фай роутер сяоми", "routers", "Xiaomi", None),
    # Misrecognised words, spoken brands and models
    ("навушнікі джей бі ел", "headphones", "JBL", None),
    ("повербанк на 20 000", "power-banks", "Xiaomi", "TD-10201"),
    ("павер банк сяоми", "power-banks", "Xiaomi", None),
    ("power bank 10000", "power-banks", None, None),
    ("аирподс про", "headphones", "Apple", "TD-10116"),
    ("сяоми редми бадс", "headphones", "Xiaomi", None),
    ("зарядка для айфона", "chargers", "Apple", "TD-10901"),
    ("кабель для айфона", "cables", None, None),
    ("макбук эйр", "laptops", "Apple", None),
    ("айфон 16", "smartphones", "Apple", "TD-10306"),
    ("епл вотч", "smartwatches", "Apple", None),
    ("айпад", "tablets", "Apple", None),
    ("джбл колонка", "speakers", "JBL", None),
    ("колонка блютуз соні", "speakers", "Sony", None),
    ("фен дайсон", "hair-dryers", "Dyson", "TD-11908"),
    ("монітор 27 дюймів", "monitors", None, None),
]


@pytest.mark.parametrize(("query", "category", "brand", "sku"), QUERIES)
def test_top_result(
    catalogue: Catalogue, query: str, category: str, brand: str | None, sku: str | None
) -> None:
    found, total = catalogue.search(query, limit=5)
    assert found, f"nothing found for {query!r}"
    top, score = found[0]
    shown = [(p.sku, p.name, s) for p, s in found]
    assert top.category == category, shown
    if brand is not None:
        assert top.brand == brand, shown
    if sku is not None:
        assert top.sku == sku, shown
    assert 0.5 <= score <= 1
    assert total >= len(found)


def test_power_bank_sizes(catalogue: Catalogue) -> None:
    for query, size in (("power bank 10000", "10000"), ("павербанк на 20 тисяч", "20000")):
        found, _ = catalogue.search(query, limit=3)
        assert all(size in p.name for p, _ in found), found


def test_cheap_in_ear_headphones(catalogue: Catalogue) -> None:
    found, total = catalogue.search(
        "бездротові навушники вкладиші з шумозаглушенням", max_price_uah=2000, limit=20
    )
    assert len(found) >= 3 and total == len(found)
    assert all(p.category == "headphones" and p.price_uah <= 2000 for p, _ in found)
    assert found[0][0].attributes["Шумозаглушення"] == "Активне (ANC)"


def test_scores_are_sorted_and_bounded(catalogue: Catalogue) -> None:
    for query, *_ in QUERIES:
        found, _ = catalogue.search(query, limit=20)
        scores = [s for _, s in found]
        assert scores == sorted(scores, reverse=True)
        assert all(0 <= s <= 1 for s in scores)


def test_category_filter(catalogue: Catalogue) -> None:
    found, total = catalogue.search("сяомі", category="power-banks", limit=20)
    assert found and all(p.category == "power-banks" and p.brand == "Xiaomi" for p, _ in found)
    assert total == len(found)


def test_price_range(catalogue: Catalogue) -> None:
    found, _ = catalogue.search("навушники", min_price_uah=1000, max_price_uah=2000, limit=20)
    assert len(found) >= 5
    assert all(1000 <= p.price_uah <= 2000 for p, _ in found)
    assert catalogue.search("навушники", min_price_uah=2000, max_price_uah=1000) == ([], 0)


def test_city_and_in_stock(catalogue: Catalogue) -> None:
    lviv, odesa = catalogue.city("Львів"), catalogue.city("Одеса")
    found, _ = catalogue.search("павербанк 20000", city=lviv, in_stock=True)
    assert found[0][0].sku == "TD-10201"
    assert all(catalogue.quantity(p.sku, lviv) > 0 for p, _ in found)
    found, _ = catalogue.search("павербанк 20000", city=odesa, in_stock=True, limit=20)
    assert found and "TD-10201" not in {p.sku for p, _ in found}
    # Without in_stock, the city does not filter
    found, _ = catalogue.search("павербанк 20000", city=odesa, limit=20)
    assert "TD-10201" in {p.sku for p, _ in found}


def test_out_of_stock_everywhere_is_filtered(catalogue: Catalogue) -> None:
    found, _ = catalogue.search("airpods max")
    assert found[0][0].sku == "TD-10117"
    found, _ = catalogue.search("airpods max", in_stock=True, limit=20)
    assert "TD-10117" not in {p.sku for p, _ in found}


@pytest.mark.parametrize("query", ["холодильник", "стиральная машина", "zzzz qqqq", "абракадабра"])
def test_no_match(catalogue: Catalogue, query: str) -> None:
    assert catalogue.search(query) == ([], 0)


def test_half_understood_query_scores_low(catalogue: Catalogue) -> None:
    found, _ = catalogue.search("навушники холодильник")
    assert found and found[0][1] < 0.6


def test_only_filler_words_lists_everything(catalogue: Catalogue) -> None:
    found, total = catalogue.search("у вас є", limit=3)
    assert total == len(catalogue.products)
    assert {s for _, s in found} == {1.0}
    assert all(catalogue.quantity(p.sku) > 0 for p, _ in found)  # available ones first


@pytest.mark.parametrize(
    ("said", "bounds"),
    [
        ("навушники до 2000 гривень", (None, 2000)),
        ("наушники дешевле 1500", (None, 1500)),
        ("не дорожче 3 000 грн", (None, 3000)),
        ("менше ніж 800", (None, 800)),
        ("від 5 тисяч до 10 тисяч", (5000, 10000)),
        ("ноутбук от 20000", (20000, None)),
        ("зарядка до 65 Вт", (None, None)),  # a unit, not a price
        ("павербанк на 20 000 мАг", (None, None)),
        ("павербанк до 20000 мА·год", (None, None)),
        ("бездротові навушники", (None, None)),
    ],
)
def test_a_price_range_said_in_words(said: str, bounds: tuple) -> None:
    assert spoken_price_range(said) == bounds


def test_a_price_said_in_the_query_filters(catalogue: Catalogue) -> None:
    found, total = catalogue.search("навушнікі до 2000", limit=20)
    assert found and all(p.price_uah <= 2000 for p, _ in found)
    assert all(p.category == "headphones" for p, _ in found[:3])
    # An explicit parameter wins over the words.
    found, _ = catalogue.search("навушники до 2000", max_price_uah=5000, limit=50)
    assert any(p.price_uah > 2000 for p, _ in found)


# The building blocks


def test_fold_and_stem() -> None:
    assert fold("Навушнікі ЇЖАК Ґанок") == "навушники ижак ганок"
    assert stem(fold("навушників")) == stem(fold("навушники")) == stem(fold("навушнікі"))
    assert stem(fold("павербанку")) == stem(fold("павербанк"))
    assert stem(fold("бездротових")) == stem(fold("бездротові")) == stem(fold("бездротовий"))
    assert stem("sony") == "sony" and stem("20000") == "20000"
    assert stem("миша") == "миш"


def test_trigrams_like_pg_trgm() -> None:
    assert trigrams("cat") == {"  c", " ca", "cat", "at "}


def test_words_normalise_spellings(catalogue: Catalogue) -> None:
    words = catalogue.index.words
    assert words("павер банк") == words("повербанк") == words("Power Bank") == words("павербанк")
    assert words("20 000 мА·год") == words("20000mAh") == words("20 тисяч мач") == ["20000", "mah"]
    assert words("сяомі") == words("ксіаомі") == words("Xiaomi") == ["xiaomi"]
    assert words("джей бі ел") == words("джбл") == ["jbl"]
    assert words("наушники") == words("навушники")
    assert words("до 2000 гривень") == []


def test_index_on_its_own() -> None:
    index = SearchIndex(
        [
            SearchDocument("A", "kettles", "Електрочайник Bosch TWK3A011", "Bosch"),
            SearchDocument("B", "hair-dryers", "Фен Bosch PHD5962", "Bosch"),
        ],
        {"kettles": ["чайник", "електрочайник"], "hair-dryers": ["фен"]},
        ignore_words=["Київ", "Києві"],
    )
    hits, total = index.search("чайник бош у києві")
    assert [h.id for h in hits] == ["A"] and total == 1
    hits, _ = index.search("бош")
    assert {h.id for h in hits} == {"A", "B"}
    hits, _ = index.search("бош", accept=lambda sku: sku == "B")
    assert [h.id for h in hits] == ["B"]
    assert index.search("") == ([], 0)
