"""The reference store's data: categories, cities and warehouses, products with stock, seeds.

:meth:`Catalogue.load` reads the shipped ``catalogue.json`` (written by ``make_catalogue.py``)
into a fresh, mutable copy, so each :class:`~sandbox.store.server.ReferenceStore` has its own
stock. Queries over it (search with filters, stock per city, city names in any spelling) live
here; HTTP lives in ``server.py``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sandbox.store.search import SearchDocument, SearchIndex, fold, spoken_price_range

CATALOGUE_PATH = Path(__file__).with_name("catalogue.json")
SKU_PATTERN = re.compile(r"^TD-[0-9]{5}$")
_CITY_PREFIX = re.compile(r"^(?:м\.|м |місто |город |г\. ?|city of )", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Category:
    """A product category.

    Parameters:
        id: Stable identifier used by the API (``"headphones"``).
        name: Ukrainian display name (``"Навушники"``).
        keywords: Words a caller may use for it (search only).
    """

    id: str
    name: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A store branch in a city, where stock is kept and orders are picked up."""

    id: str
    name: str
    address: str


@dataclass(frozen=True, slots=True)
class City:
    """A city the store delivers to.

    Parameters:
        name: The Ukrainian name, as the API returns it (``"Львів"``).
        aliases: Other spellings accepted for it (Russian, Latin, inflected).
        delivery_days: Days from order to pick-up.
        warehouses: Its branches.
    """

    name: str
    aliases: tuple[str, ...]
    delivery_days: int
    warehouses: tuple[Warehouse, ...]


@dataclass(slots=True)
class Product:
    """A product and its stock (mutable: orders take from ``stock``).

    Parameters:
        sku: ``TD-`` and five digits.
        name: Ukrainian name with brand and model.
        category: A category id.
        brand: Brand name.
        price_uah: Price in whole hryvnias.
        description: One or two Ukrainian sentences.
        attributes: Attribute name → value (Ukrainian).
        warranty_months: Warranty.
        keywords: Extra search words (not part of the API).
        stock: Warehouse id → units.
    """

    sku: str
    name: str
    category: str
    brand: str
    price_uah: int
    description: str
    attributes: dict[str, str]
    warranty_months: int
    keywords: list[str] = field(default_factory=list)
    stock: dict[str, int] = field(default_factory=dict)


class CatalogueError(ValueError):
    """The catalogue document is inconsistent (duplicate SKU, unknown warehouse...)."""


def _city_key(name: str) -> str:
    name = _CITY_PREFIX.sub("", name.strip())
    return " ".join(re.sub(r"[\W_]+", " ", fold(name)).split())


def mask_phone(phone: str) -> str:
    """Hide all but the last two digits: ``+380671234567`` → ``+380 ** *** ** 67``."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) == 10 and digits.startswith("0"):
        digits = "38" + digits
    if len(digits) == 12 and digits.startswith("380"):
        return f"+380 ** *** ** {digits[-2:]}"
    return ("+" if phone.strip().startswith("+") else "") + "*" * (len(digits) - 2) + digits[-2:]


@cache
def _shipped_document() -> str:
    return CATALOGUE_PATH.read_text(encoding="utf-8")


class Catalogue:
    """Products, categories, cities and seeded orders, with search and stock queries.

    Args:
        categories: In display order.
        cities: In display order.
        products: Any order; SKUs must be unique.
        seed_orders: Orders (API shape) the store starts with.
    """

    def __init__(
        self,
        categories: Iterable[Category],
        cities: Iterable[City],
        products: Iterable[Product],
        seed_orders: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        self.categories: dict[str, Category] = {c.id: c for c in categories}
        self.cities: list[City] = list(cities)
        self.products: dict[str, Product] = {}
        self.seed_orders: list[dict[str, Any]] = [copy.deepcopy(dict(o)) for o in seed_orders]
        self.warehouses: dict[str, tuple[Warehouse, City]] = {}
        self._city_names: dict[str, City] = {}
        for city in self.cities:
            for spelling in (city.name, *city.aliases):
                self._city_names[_city_key(spelling)] = city
            for warehouse in city.warehouses:
                if warehouse.id in self.warehouses:
                    raise CatalogueError(f"warehouse {warehouse.id} listed twice")
                self.warehouses[warehouse.id] = (warehouse, city)
        for product in products:
            if product.sku in self.products:
                raise CatalogueError(f"SKU {product.sku} listed twice")
            if product.category not in self.categories:
                raise CatalogueError(f"{product.sku}: unknown category {product.category!r}")
            unknown = set(product.stock) - set(self.warehouses)
            if unknown:
                raise CatalogueError(f"{product.sku}: unknown warehouses {sorted(unknown)}")
            self.products[product.sku] = product
        self.index = SearchIndex(
            (
                SearchDocument(
                    id=p.sku,
                    category=p.category,
                    name=p.name,
                    brand=p.brand,
                    keywords=tuple(p.keywords),
                    attributes=tuple(p.attributes.values()),
                    description=p.description,
                )
                for p in self.products.values()
            ),
            {c.id: (c.name, *c.keywords) for c in self.categories.values()},
            ignore_words=[s for c in self.cities for s in (c.name, *c.aliases)],
        )

    @classmethod
    def load(cls, path: Path | str | None = None) -> Catalogue:
        """Read a catalogue document; ``None`` for the shipped one (a fresh copy each call)."""
        text = _shipped_document() if path is None else Path(path).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalogue:
        """Build a catalogue from its JSON document (the format of ``catalogue.json``)."""
        try:
            categories = [
                Category(c["id"], c["name"], tuple(c.get("keywords", ())))
                for c in data["categories"]
            ]
            cities = [
                City(
                    name=c["name"],
                    aliases=tuple(c.get("aliases", ())),
                    delivery_days=int(c["delivery_days"]),
                    warehouses=tuple(
                        Warehouse(w["id"], w["name"], w["address"]) for w in c["warehouses"]
                    ),
                )
                for c in data["cities"]
            ]
            products = [
                Product(
                    sku=p["sku"],
                    name=p["name"],
                    category=p["category"],
                    brand=p["brand"],
                    price_uah=int(p["price_uah"]),
                    description=p["description"],
                    attributes=dict(p.get("attributes", {})),
                    warranty_months=int(p["warranty_months"]),
                    keywords=list(p.get("keywords", [])),
                    stock={k: int(v) for k, v in p.get("stock", {}).items()},
                )
                for p in data["products"]
            ]
        except (KeyError, TypeError, ValueError) as e:
            raise CatalogueError(f"malformed catalogue: {type(e).__name__}: {e}") from e
        return cls(categories, cities, products, data.get("orders", ()))

    # Cities and stock

    def city(self, name: str) -> City | None:
        """The city called ``name`` in any accepted spelling (Київ/Киев/Kyiv/Києві), or None."""
        return self._city_names.get(_city_key(name))

    def quantity(self, sku: str, city: City | None = None) -> int:
        """Units of ``sku`` in ``city``'s warehouses, or in all warehouses when ``city`` is None."""
        stock = self.products[sku].stock
        if city is None:
            return sum(max(0, q) for q in stock.values())
        return sum(max(0, stock.get(w.id, 0)) for w in city.warehouses)

    def take(self, sku: str, city: City, quantity: int, prefer: str | None = None) -> None:
        """Remove ``quantity`` units from ``city``'s warehouses, ``prefer`` first.

        Raises:
            ValueError: The city does not hold that many.
        """
        if self.quantity(sku, city) < quantity:
            raise ValueError(f"only {self.quantity(sku, city)} of {sku} in {city.name}")
        stock = self.products[sku].stock
        order = sorted(city.warehouses, key=lambda w: (w.id != prefer, -stock.get(w.id, 0)))
        left = quantity
        for warehouse in order:
            taken = min(left, max(0, stock.get(warehouse.id, 0)))
            stock[warehouse.id] = stock.get(warehouse.id, 0) - taken
            left -= taken
            if not left:
                break

    def category_counts(self) -> dict[str, int]:
        """Category id → number of products in it."""
        counts = dict.fromkeys(self.categories, 0)
        for product in self.products.values():
            counts[product.category] += 1
        return counts

    # Search

    def search(
        self,
        query: str | None = None,
        *,
        category: str | None = None,
        min_price_uah: int | None = None,
        max_price_uah: int | None = None,
        city: City | None = None,
        in_stock: bool = False,
        limit: int = 5,
    ) -> tuple[list[tuple[Product, float]], int]:
        """Products for a caller's words and filters, best first.

        Args:
            query: Free text; ``None`` or only filler words lists every product that passes
                the filters (score 1.0, available ones first, then cheapest first). A price
                range said in it ("до 2000 гривень", "від 5 тисяч") is a filter too, unless
                the price parameters set that bound.
            category: Only this category id.
            min_price_uah: Only products at least this dear.
            max_price_uah: Only products at most this dear.
            city: With ``in_stock``, only products available in this city.
            in_stock: Only products with stock (in ``city`` if given, else anywhere).
            limit: Most products returned.

        Returns:
            ``(product, score)`` pairs and the number of matches before ``limit``.
        """
        if query:
            said_low, said_high = spoken_price_range(query)
            min_price_uah = said_low if min_price_uah is None else min_price_uah
            max_price_uah = said_high if max_price_uah is None else max_price_uah

        def accept(sku: str) -> bool:
            product = self.products[sku]
            return (
                (category is None or product.category == category)
                and (min_price_uah is None or product.price_uah >= min_price_uah)
                and (max_price_uah is None or product.price_uah <= max_price_uah)
                and (not in_stock or self.quantity(sku, city) > 0)
            )

        if query and self.index.words(query):
            hits, total = self.index.search(query, accept, limit)
            return [(self.products[h.id], h.score) for h in hits], total
        matches = [p for p in self.products.values() if accept(p.sku)]
        matches.sort(key=lambda p: (self.quantity(p.sku, city) == 0, p.price_uah, p.sku))
        return [(p, 1.0) for p in matches[:limit]], len(matches)
