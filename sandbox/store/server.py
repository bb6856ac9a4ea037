"""The reference implementation of the Store API (``docs/store-api.openapi.yaml``).

A wire-real stand-in for the online store's API: the bot's Store API client and Claude's tools
talk to it over HTTP in tests and in the offline demo, exactly as they would to the real store.
It serves the sample catalogue (:mod:`sandbox.store.catalogue`), validates every input strictly
(unknown query parameters and body fields are refused) and never answers 500: anything
unexpected becomes a 400 and is recorded in :attr:`ReferenceStore.internal_errors`.

Like :mod:`sandbox.anthropic_api`, it has knobs for pacing and injected faults
(:class:`StoreKnobs`) and a request log (:attr:`ReferenceStore.requests`). Order of handling
for ``/v1/*``: the ``delay_ms`` pause, the API key (401), an injected fault, then the
operation itself.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sandbox.store.catalogue import SKU_PATTERN, Catalogue, City, Product, mask_phone

MAX_QUERY_CHARS = 200
MAX_LIMIT = 20
DEFAULT_LIMIT = 5
MAX_PRICE_UAH = 10_000_000
MAX_QUANTITY = 10
MAX_ORDER_LINES = 10
MAX_IDEMPOTENCY_KEY = 100
IDEMPOTENCY_KEY_PATTERN = re.compile(rf"[!-~]{{1,{MAX_IDEMPOTENCY_KEY}}}")
ORDER_ID_PATTERN = re.compile(r"^TD-[0-9]{6}$")
PHONE_PATTERN = re.compile(r"\+?[0-9][0-9 ()-]{8,18}[0-9]")
_DIGITS = re.compile(r"[0-9]+")
_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}
_dumps = partial(json.dumps, ensure_ascii=False)


@dataclass
class StoreKnobs:
    """Pacing and faults for ``/v1/*`` requests; mutable between requests.

    Parameters:
        delay_ms: Pause before every ``/v1`` answer (errors and faults included).
        fault: ``"status"`` (answer ``fault_status`` with the error body), ``"garbage"``
            (200 with ``garbage_body``, not valid JSON by default, under
            ``content-type: application/json``), ``"hang"`` (never answer, until the client
            leaves or the store stops), ``"cut"`` (abort the TCP connection without a
            response), or ``None``.
        fault_status: HTTP status for ``"status"`` (503, 500, 429...).
        fault_times: How many upcoming matching requests the fault hits before clearing
            itself; -1 for every request. Note that aiohttp's client silently retries an
            idempotent request (GET) once when the connection drops before any answer, so a
            single ``"cut"`` may go unnoticed there: use 2 or -1 to make it visible.
        fault_paths: Regex searched in the request path; the fault hits only matching
            ``/v1`` paths (``None``: all of them). Requests that do not match leave
            ``fault_times`` alone.
        garbage_body: The body of a ``"garbage"`` answer; set it to JSON of the wrong shape
            (e.g. ``'{"items": "none"}'``) to test shape checks instead of parsing.
    """

    delay_ms: float = 0
    fault: Literal["status", "garbage", "hang", "cut"] | None = None
    fault_status: int = 503
    fault_times: int = 1
    fault_paths: str | None = None
    garbage_body: str = "<html>oops"


@dataclass
class LoggedStoreRequest:
    """One request as the store saw it.

    Parameters:
        method: HTTP method.
        path: Request path (no query string).
        query: Query parameters (first value of each).
        status: Status answered; 0 if no answer was sent (``hang``, ``cut``, client gone).
        body: Parsed JSON body, or ``None`` (no body, or not JSON).
        outcome: ``"ok"``, ``"error:<code>"``, ``"fault:status:<status>"``,
            ``"fault:garbage"``, ``"fault:hang"``, ``"fault:cut"`` or ``"client_disconnected"``.
        idempotency_key: The ``Idempotency-Key`` header, if sent.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int = 0
    body: Any = None
    outcome: str = "ok"
    idempotency_key: str | None = None


class ApiError(Exception):
    """An error answer: HTTP status, error code, message and optional details."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def _invalid(parameter: str, problem: str) -> ApiError:
    return ApiError(422, "invalid_request", f"{parameter}: {problem}", {"field": parameter})


def _error_response(error: ApiError, headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    return web.json_response({"error": body}, status=error.status, headers=headers, dumps=_dumps)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=_dumps)


# Request bodies


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OrderItemIn(_Strict):
    """One order line as a client sends it: a SKU and a quantity, never a price."""

    sku: str = Field(pattern=SKU_PATTERN.pattern)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class CustomerIn(_Strict):
    """Who orders: a name and a phone number."""

    name: str = Field(min_length=1, max_length=100)
    phone: str

    @field_validator("name")
    @classmethod
    def _has_text(cls, value: str) -> str:
        if not re.search(r"\S", value):
            raise ValueError("must contain a non-space character")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if not PHONE_PATTERN.fullmatch(value):
            raise ValueError(f"must match ^{PHONE_PATTERN.pattern}$ (e.g. +380671234567)")
        return value


class OrderIn(_Strict):
    """The body of ``POST /v1/orders``."""

    items: list[OrderItemIn] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    customer: CustomerIn
    delivery_city: str = Field(min_length=1, max_length=100)
    warehouse_id: str | None = Field(None, min_length=1, max_length=50)
    expected_total_uah: int = Field(ge=1)


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


# The server


class ReferenceStore:
    """The Store API over HTTP, backed by a :class:`~sandbox.store.catalogue.Catalogue`.

    Args:
        api_key: The key every ``/v1`` request must send in ``X-API-Key``.
        catalogue: The data; ``None`` loads the shipped catalogue (a fresh copy per store).
        knobs: Pacing and faults; a default :class:`StoreKnobs` if omitted.

    Attributes:
        catalogue: The live data (stock goes down as orders are placed).
        knobs: Mutable pacing and faults.
        orders: Order id → order as the API returns it (seeded ones included).
        requests: Every request received, in order.
        internal_errors: Unexpected exceptions turned into 400 answers (should stay empty).
    """

    def __init__(
        self,
        api_key: str,
        catalogue: Catalogue | None = None,
        knobs: StoreKnobs | None = None,
    ) -> None:
        self.api_key = api_key
        self.catalogue = catalogue if catalogue is not None else Catalogue.load()
        self.knobs = knobs or StoreKnobs()
        self.orders: dict[str, dict[str, Any]] = {
            o["order_id"]: copy.deepcopy(o) for o in self.catalogue.seed_orders
        }
        self.requests: list[LoggedStoreRequest] = []
        self.internal_errors: list[BaseException] = []
        self._idempotency: dict[str, tuple[dict[str, Any], str]] = {}
        numbers = [int(o[3:]) for o in self.orders if ORDER_ID_PATTERN.match(o)]
        self._next_order = max([100100, *numbers]) + 1
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._host = "127.0.0.1"
        self._closing = asyncio.Event()

    # Lifecycle

    @property
    def port(self) -> int:
        """The bound TCP port (after ``start``)."""
        if self._port is None:
            raise RuntimeError("ReferenceStore is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running store (no trailing slash)."""
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def app(self) -> web.Application:
        """The aiohttp application (routes and middleware), e.g. for aiohttp's test client."""
        app = web.Application(middlewares=[self._middleware])
        get = partial(app.router.add_get, allow_head=False)
        get("/health", self._health)
        get("/v1/categories", self._categories)
        get("/v1/cities", self._cities)
        get("/v1/products", self._products)
        get("/v1/products/{sku}", self._product)
        get("/v1/products/{sku}/availability", self._availability)
        app.router.add_post("/v1/orders", self._create_order)
        get("/v1/orders/{order_id}", self._order)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start listening; ``port=0`` picks a free port."""
        self._closing.clear()
        self._host = host
        self._runner = web.AppRunner(
            self.app(), handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening and release hanging requests."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # Plumbing

    def _take_fault(self, path: str) -> str | None:
        knobs = self.knobs
        fault = knobs.fault
        if fault is None or (
            knobs.fault_paths is not None and not re.search(knobs.fault_paths, path)
        ):
            return None
        if knobs.fault_times != -1:
            knobs.fault_times -= 1
            if knobs.fault_times <= 0:
                knobs.fault = None
        return fault

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        log = LoggedStoreRequest(
            request.method,
            request.path,
            {k: request.query[k] for k in request.query},
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        self.requests.append(log)
        try:
            response = await self._handle(request, handler, log)
        except ApiError as e:
            response = _error_response(e)
        except web.HTTPException as e:
            response = self._http_exception(request, e)
        except (asyncio.CancelledError, ConnectionError):
            if log.outcome == "ok":
                log.outcome = "client_disconnected"
            raise
        except Exception as e:  # the contract: never a 500, whatever arrives
            self.internal_errors.append(e)
            response = _error_response(
                ApiError(400, "invalid_request", f"the request could not be processed: {e!r}")
            )
        if log.outcome in ("ok", "client_disconnected") and response.status >= 400:
            log.outcome = f"error:{self._code_of(response)}"
        if log.status == 0 and not log.outcome.startswith(("fault:cut", "fault:hang")):
            log.status = response.status
        return response

    @staticmethod
    def _code_of(response: web.StreamResponse) -> str:
        try:
            body = json.loads(response.body)  # type: ignore[attr-defined]
            return str(body["error"]["code"])
        except Exception:
            return str(response.status)

    def _http_exception(self, request: web.Request, e: web.HTTPException) -> web.Response:
        if e.status == 404:
            error = ApiError(404, "not_found", f"no such path: {request.path}")
        elif e.status == 405:
            allowed = sorted(getattr(e, "allowed_methods", ()) or ())
            error = ApiError(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path}",
                {"allowed": allowed},
            )
            return _error_response(error, {"Allow": ", ".join(allowed)})
        elif e.status == 413:
            error = ApiError(413, "payload_too_large", "the request body is too large")
        else:
            error = ApiError(e.status, _STATUS_CODES.get(e.status, "error"), e.reason)
        return _error_response(error)

    async def _handle(
        self, request: web.Request, handler: Any, log: LoggedStoreRequest
    ) -> web.StreamResponse:
        if request.can_read_body:
            raw = await request.read()
            try:
                log.body = json.loads(raw)
            except (ValueError, RecursionError):
                log.body = None
        if not (request.path == "/v1" or request.path.startswith("/v1/")):
            return await handler(request)
        if self.knobs.delay_ms > 0:
            await asyncio.sleep(self.knobs.delay_ms / 1000)
        key = request.headers.get("X-API-Key")
        if key is None or not hmac.compare_digest(
            key.encode("utf-8", "surrogateescape"), self.api_key.encode()
        ):
            problem = "missing X-API-Key header" if key is None else "invalid API key"
            raise ApiError(401, "unauthorized", problem)
        fault = self._take_fault(request.path)
        if fault == "status":
            status = self.knobs.fault_status
            log.outcome = f"fault:status:{status}"
            code = _STATUS_CODES.get(status, "error")
            return _error_response(ApiError(status, code, "injected fault"))
        if fault == "garbage":
            log.outcome = "fault:garbage"
            return web.Response(
                status=200, text=self.knobs.garbage_body, content_type="application/json"
            )
        if fault == "hang":
            log.outcome = "fault:hang"
            await self._closing.wait()  # the handler is cancelled when the client leaves
            raise ApiError(503, "unavailable", "the store is stopping")
        if fault == "cut":
            log.outcome = "fault:cut"
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        return await handler(request)

    @staticmethod
    def _query(request: web.Request, allowed: set[str]) -> dict[str, str]:
        query = request.query
        for name in query:
            if name not in allowed:
                raise _invalid(
                    name, f"unknown query parameter (allowed: {', '.join(sorted(allowed))})"
                )
            if len(query.getall(name)) > 1:
                raise _invalid(name, "given more than once")
        return {k: query[k] for k in query}

    @staticmethod
    def _int(params: dict[str, str], name: str, low: int, high: int) -> int | None:
        value = params.get(name)
        if value is None:
            return None
        if not _DIGITS.fullmatch(value) or len(value) > 12 or not low <= int(value) <= high:
            raise _invalid(name, f"must be a whole number from {low} to {high}")
        return int(value)

    def _city(self, name: str, parameter: str = "city") -> City:
        city = self.catalogue.city(name) if 0 < len(name) <= 100 else None
        if city is None:
            valid = [c.name for c in self.catalogue.cities]
            raise ApiError(
                422,
                "unknown_city",
                f"{parameter}: we do not deliver to {name[:100]!r}",
                {"field": parameter, "valid": valid},
            )
        return city

    def _product_or_404(self, sku: str) -> Product:
        product = self.catalogue.products.get(sku) if SKU_PATTERN.match(sku) else None
        if product is None:
            raise ApiError(404, "not_found", f"no product {sku[:40]!r}")
        return product

    # Handlers

    async def _health(self, request: web.Request) -> web.Response:
        self._query(request, set())
        return _json({"status": "ok"})

    async def _categories(self, request: web.Request) -> web.Response:
        self._query(request, set())
        counts = self.catalogue.category_counts()
        items = [
            {"id": c.id, "name": c.name, "product_count": counts[c.id]}
            for c in self.catalogue.categories.values()
        ]
        return _json({"items": items})

    async def _cities(self, request: web.Request) -> web.Response:
        self._query(request, set())
        items = [
            {
                "name": c.name,
                "warehouses": [
                    {"id": w.id, "name": w.name, "address": w.address} for w in c.warehouses
                ],
                "delivery_days": c.delivery_days,
            }
            for c in self.catalogue.cities
        ]
        return _json({"items": items})

    async def _products(self, request: web.Request) -> web.Response:
        params = self._query(
            request,
            {"q", "category", "min_price_uah", "max_price_uah", "city", "in_stock", "limit"},
        )
        q = params.get("q")
        if q is not None and len(q) > MAX_QUERY_CHARS:
            raise _invalid("q", f"at most {MAX_QUERY_CHARS} characters")
        category = params.get("category")
        if category is not None and category not in self.catalogue.categories:
            raise ApiError(
                422,
                "unknown_category",
                f"category: no category {category[:60]!r}",
                {"field": "category", "valid": list(self.catalogue.categories)},
            )
        min_price = self._int(params, "min_price_uah", 0, MAX_PRICE_UAH)
        max_price = self._int(params, "max_price_uah", 0, MAX_PRICE_UAH)
        in_stock_text = params.get("in_stock", "false")
        if in_stock_text not in ("true", "false"):
            raise _invalid("in_stock", "must be true or false")
        limit = self._int(params, "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
        city = self._city(params["city"]) if "city" in params else None
        found, total = self.catalogue.search(
            q,
            category=category,
            min_price_uah=min_price,
            max_price_uah=max_price,
            city=city,
            in_stock=in_stock_text == "true",
            limit=limit,
        )
        items = [
            {**self._summary(p, city), "score": round(min(1.0, max(0.0, score)), 4)}
            for p, score in found
        ]
        return _json({"items": items, "total": total})

    def _summary(self, product: Product, city: City | None = None) -> dict[str, Any]:
        return {
            "sku": product.sku,
            "name": product.name,
            "category": product.category,
            "brand": product.brand,
            "price_uah": product.price_uah,
            "in_stock": self.catalogue.quantity(product.sku, city) > 0,
        }

    async def _product(self, request: web.Request) -> web.Response:
        self._query(request, set())
        product = self._product_or_404(request.match_info["sku"])
        return _json(
            {
                **self._summary(product),
                "description": product.description,
                "attributes": dict(product.attributes),
                "warranty_months": product.warranty_months,
            }
        )

    async def _availability(self, request: web.Request) -> web.Response:
        params = self._query(request, {"city"})
        product = self._product_or_404(request.match_info["sku"])
        city = self._city(params["city"]) if "city" in params else None
        stock = product.stock
        quantity = self.catalogue.quantity(product.sku, city)
        warehouses = [
            {"id": w.id, "name": w.name, "address": w.address, "quantity": stock.get(w.id, 0)}
            for w in (city.warehouses if city else ())
            if stock.get(w.id, 0) > 0
        ]
        others = [
            {"city": c.name, "quantity": self.catalogue.quantity(product.sku, c)}
            for c in self.catalogue.cities
            if c is not city and self.catalogue.quantity(product.sku, c) > 0
        ]
        others.sort(key=lambda o: -o["quantity"])
        return _json(
            {
                "sku": product.sku,
                "name": product.name,
                "price_uah": product.price_uah,
                "city": city.name if city else None,
                "quantity": quantity,
                "in_stock": quantity > 0,
                "warehouses": warehouses,
                "other_cities": others,
                "delivery_days": city.delivery_days if city else None,
            }
        )

    async def _order(self, request: web.Request) -> web.Response:
        self._query(request, set())
        order_id = request.match_info["order_id"]
        order = self.orders.get(order_id) if ORDER_ID_PATTERN.match(order_id) else None
        if order is None:
            raise ApiError(404, "not_found", f"no order {order_id[:40]!r}")
        return _json(order)

    async def _create_order(self, request: web.Request) -> web.Response:
        self._query(request, set())
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY_PATTERN.fullmatch(key):
            raise _invalid(
                "Idempotency-Key",
                f"1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters without spaces",
            )
        raw = await request.read()
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            raise _invalid("body", "must be a JSON object")
        try:
            body = OrderIn.model_validate(data)
        except ValidationError as e:
            first = e.errors(include_url=False)[0]
            where = _location(first["loc"])
            raise _invalid(where, first["msg"]) from None
        skus = [item.sku for item in body.items]
        repeated = next((s for s in skus if skus.count(s) > 1), None)
        if repeated is not None:
            problem = f"{repeated} is listed more than once; give each SKU once"
            raise ApiError(
                422, "invalid_request", f"items: {problem}", {"field": "items", "sku": repeated}
            )
        canonical = body.model_dump()
        if key is not None and key in self._idempotency:
            previous, order_id = self._idempotency[key]
            if previous != canonical:
                raise ApiError(
                    409,
                    "idempotency_conflict",
                    "this Idempotency-Key was used with a different order",
                    {"order_id": order_id},
                )
            return _json(self.orders[order_id], 200, {"Location": f"/v1/orders/{order_id}"})
        order = self.place_order(body)
        if key is not None:
            self._idempotency[key] = (canonical, order["order_id"])
        location = {"Location": f"/v1/orders/{order['order_id']}"}
        return _json(order, 201, location)

    def place_order(self, body: OrderIn) -> dict[str, Any]:
        """Price, check and record an order, taking its units from stock (no HTTP involved).

        Args:
            body: A validated request body.

        Returns:
            The order as the API returns it (also stored in :attr:`orders`).

        Raises:
            ApiError: ``unknown_city``, ``unknown_warehouse``, ``unknown_product`` (422),
                ``unpriced_product``, ``out_of_stock``, ``price_mismatch`` (409).
        """
        city = self._city(body.delivery_city, "delivery_city")
        if body.warehouse_id is not None and body.warehouse_id not in {
            w.id for w in city.warehouses
        }:
            raise ApiError(
                422,
                "unknown_warehouse",
                f"warehouse_id: {body.warehouse_id[:50]!r} is not a branch in {city.name}",
                {"field": "warehouse_id", "valid": [w.id for w in city.warehouses]},
            )
        lines: list[tuple[Product, int]] = []
        for item in body.items:
            product = self.catalogue.products.get(item.sku)
            if product is None:
                raise ApiError(422, "unknown_product", f"no product {item.sku}", {"sku": item.sku})
            lines.append((product, item.quantity))
        for product, _ in lines:
            if product.price_uah <= 0:
                raise ApiError(
                    409,
                    "unpriced_product",
                    f"{product.sku} has no valid price; it cannot be ordered now",
                    {"sku": product.sku},
                )
        total = sum(p.price_uah * q for p, q in lines)
        if total <= 0:
            raise ApiError(409, "unpriced_product", "the order has no valid total", {})
        for product, quantity in lines:
            available = self.catalogue.quantity(product.sku, city)
            if available < quantity:
                raise ApiError(
                    409,
                    "out_of_stock",
                    f"only {available} of {product.sku} in {city.name}",
                    {"sku": product.sku, "available": available},
                )
        if total != body.expected_total_uah:
            raise ApiError(
                409,
                "price_mismatch",
                f"the order costs {total} UAH, not {body.expected_total_uah} UAH",
                {"total_uah": total},
            )
        for product, quantity in lines:
            self.catalogue.take(product.sku, city, quantity, prefer=body.warehouse_id)
        order_id = f"TD-{self._next_order}"
        self._next_order += 1
        order = {
            "order_id": order_id,
            "status": "created",
            "items": [
                {
                    "sku": p.sku,
                    "name": p.name,
                    "quantity": q,
                    "unit_price_uah": p.price_uah,
                    "line_total_uah": p.price_uah * q,
                }
                for p, q in lines
            ],
            "total_uah": total,
            "delivery_city": city.name,
            "warehouse_id": body.warehouse_id,
            "customer": {
                "name": body.customer.name,
                "phone_masked": mask_phone(body.customer.phone),
            },
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "estimated_delivery_days": city.delivery_days,
        }
        self.orders[order_id] = order
        return order
