"""The client of the store's API (``docs/store-api.openapi.yaml``), shared by every call.

One aiohttp session per process. Reads (search, product, stock, order status) have their
own timeout, are retried with backoff after a timeout or a 5xx, and are cached briefly;
placing an order has a longer timeout and is never retried (an ``Idempotency-Key`` makes a
repeat by the caller safe). A circuit breaker stops calling a store that keeps failing, so
a caller hears "I can't check that now" at once instead of after every timeout.

Every failure is a :class:`StoreError` with a kind the tools turn into something the bot can
say; nothing else escapes. The order guardrails are checked here too, before anything is
sent: quantities and line counts within the settings, a positive expected total, and no
prices from the caller's side at all (the request has no field for them).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote

import aiohttp

from bot.resilience import CircuitBreaker, TTLCache
from bot.settings import StoreSettings
from observability.logging import get_logger

log = get_logger("bot.store_client")

ErrorKind = Literal["unavailable", "not_found", "rejected"]


class StoreError(Exception):
    """A store request that gave no usable answer.

    Parameters:
        kind: ``unavailable`` (timeout, connection, 5xx, garbage, breaker open: try later),
            ``not_found`` (no such product/order), or ``rejected`` (the store or our
            guardrails refused the request; ``code`` says why).
        code: The store's error code (``price_mismatch``, ``out_of_stock``...) or ours
            (``timeout``, ``connection``, ``server_error``, ``bad_response``,
            ``circuit_open``, ``invalid_order``).
        details: The store's error details, if any.
    """

    def __init__(self, kind: ErrorKind, code: str, message: str = "", details: Any = None):
        super().__init__(f"{kind}/{code}: {message}" if message else f"{kind}/{code}")
        self.kind = kind
        self.code = code
        self.details = details if details is not None else {}


# Keys every answer of an operation must have; anything else counts as a garbled answer.
_SHAPES: dict[str, tuple[str, ...]] = {
    "search": ("items", "total"),
    "product": ("sku", "name", "price_uah"),
    "availability": ("sku", "quantity", "in_stock"),
    "order": ("order_id", "status", "items", "total_uah"),
}


class StoreClient:
    """Calls the store's API with timeouts, retries, a circuit breaker and a read cache.

    Args:
        base_url: The API's base URL (without ``/v1``).
        api_key: Sent as ``X-API-Key``.
        settings: Timeouts, retries, breaker, cache and order limits.
        clock: Monotonic time source (tests step it).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        settings: StoreSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self._headers = {"X-API-Key": api_key, "Accept": "application/json"}
        self._clock = clock
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_secs)
        self.cache: TTLCache[dict[str, Any]] = TTLCache(settings.cache_ttl_secs)
        self._session: aiohttp.ClientSession | None = None
        # Told (operation, outcome, seconds) of every request: the service's metrics.
        self.observe: Callable[[str, str, float], None] | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers)
        return self._session

    # Reads

    async def search(
        self,
        query: str | None = None,
        *,
        category: str | None = None,
        min_price_uah: int | None = None,
        max_price_uah: int | None = None,
        city: str | None = None,
        in_stock: bool | None = None,
        limit: int = 5,
    ) -> dict[str, Any]:
        """Products matching a caller's words and filters, best first."""
        params = {
            "q": query,
            "category": category,
            "min_price_uah": min_price_uah,
            "max_price_uah": max_price_uah,
            "city": city,
            "in_stock": None if in_stock is None else str(in_stock).lower(),
            "limit": limit,
        }
        return await self._read("search", "/v1/products", params)

    async def product(self, sku: str) -> dict[str, Any]:
        """One product's details."""
        return await self._read("product", f"/v1/products/{quote(sku, safe='')}", {})

    async def availability(self, sku: str, city: str | None = None) -> dict[str, Any]:
        """Stock of one product, in ``city`` if given (with its warehouses), else in total."""
        path = f"/v1/products/{quote(sku, safe='')}/availability"
        return await self._read("availability", path, {"city": city})

    async def order(self, order_id: str) -> dict[str, Any]:
        """An order and its current status."""
        return await self._read("order", f"/v1/orders/{quote(order_id, safe='')}", {})

    # Writes

    async def create_order(
        self,
        items: list[tuple[str, int]],
        *,
        customer_name: str,
        customer_phone: str,
        delivery_city: str,
        expected_total_uah: int,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Place an order; the store prices it from its catalogue and checks our total.

        Args:
            items: ``(sku, quantity)`` pairs.
            customer_name: The caller's name.
            customer_phone: The caller's phone number.
            delivery_city: Where it goes.
            expected_total_uah: The catalogue total the caller confirmed; the store refuses
                the order (``price_mismatch``) if its own total differs.
            idempotency_key: Makes a repeated request return the same order.

        Raises:
            StoreError: ``rejected/invalid_order`` from our guardrails before sending, or
                whatever the store answered.
        """
        self._check_order(items, expected_total_uah)
        body = {
            "items": [{"sku": sku, "quantity": qty} for sku, qty in items],
            "customer": {"name": customer_name, "phone": customer_phone},
            "delivery_city": delivery_city,
            "expected_total_uah": expected_total_uah,
        }
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        try:
            order = await self._send(
                "order",
                "POST",
                "/v1/orders",
                json_body=body,
                headers=headers,
                timeout=self.settings.order_timeout_secs,
            )
        except StoreError as e:
            if e.kind == "rejected":
                self.cache.clear()  # a price or stock we quoted from has changed
            raise
        self.cache.clear()  # stock changed
        return order

    def _check_order(self, items: list[tuple[str, int]], expected_total_uah: int) -> None:
        limits = self.settings
        problem = None
        if not items:
            problem = "an order needs at least one item"
        elif len(items) > limits.max_order_lines:
            problem = f"at most {limits.max_order_lines} different items per order"
        elif len({sku for sku, _ in items}) != len(items):
            problem = "the same item twice; give it once with the total quantity"
        elif any(not 1 <= qty <= limits.max_quantity for _, qty in items):
            problem = f"quantities must be 1 to {limits.max_quantity}"
        elif expected_total_uah < 1:
            problem = "the order total must be a positive amount"
        if problem is not None:
            raise StoreError("rejected", "invalid_order", problem)

    # Transport

    async def _read(self, operation: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        query = {k: str(v) for k, v in params.items() if v is not None}
        key = f"{path}?{sorted(query.items())}"
        cached = self.cache.get(key, self._clock())
        if cached is not None:
            return cached
        attempts = 1 + self.settings.read_retries
        for attempt in range(attempts):
            try:
                answer = await self._send(
                    operation, "GET", path, params=query, timeout=self.settings.read_timeout_secs
                )
            except StoreError as e:
                retry = e.kind == "unavailable" and e.code != "circuit_open"
                if not retry or attempt == attempts - 1:
                    raise
                await asyncio.sleep(self.settings.retry_backoff_secs * 2**attempt)
                continue
            self.cache.put(key, answer, self._clock())
            return answer
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float,
    ) -> dict[str, Any]:
        if not self.breaker.allow(self._clock()):
            self._observed(operation, "circuit_open", 0.0)
            raise StoreError("unavailable", "circuit_open", "the store failed repeatedly")
        started = time.monotonic()
        try:
            answer = await self._exchange(method, path, params, json_body, headers, timeout)
            _check_shape(operation, answer)
        except StoreError as e:
            self._observed(operation, e.code if e.kind == "unavailable" else e.kind, started)
            if e.kind == "unavailable":
                self.breaker.failed(self._clock())
                log.warning("store request failed", operation=operation, code=e.code)
            else:
                self.breaker.succeeded()  # the store answered sensibly, it just said no
            raise
        self._observed(operation, "ok", started)
        self.breaker.succeeded()
        return answer

    def _observed(self, operation: str, outcome: str, started: float) -> None:
        if self.observe is not None:
            took = time.monotonic() - started if started else 0.0
            self.observe(operation, outcome, took)

    async def _exchange(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        json_body: Any,
        headers: dict[str, str] | None,
        timeout: float,
    ) -> Any:
        try:
            async with self._http().request(
                method,
                self.base_url + path,
                params=params,
                json=json_body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            raise StoreError("unavailable", "timeout", f"no answer in {timeout:g} s") from None
        except aiohttp.ClientError as e:
            raise StoreError("unavailable", "connection", type(e).__name__) from None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if status >= 500 or status in (401, 403, 429):
            # 401/403: our key is wrong - nothing a caller can fix, treat as an outage.
            raise StoreError("unavailable", "server_error", f"HTTP {status}")
        if status >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            if not isinstance(error, dict):
                raise StoreError("unavailable", "bad_response", f"HTTP {status} without error")
            code = str(error.get("code") or "rejected")
            kind: ErrorKind = "not_found" if status == 404 else "rejected"
            raise StoreError(kind, code, str(error.get("message") or ""), error.get("details"))
        if not isinstance(body, dict):
            raise StoreError("unavailable", "bad_response", "the answer is not a JSON object")
        return body


def _check_shape(operation: str, answer: Any) -> None:
    missing = [k for k in _SHAPES[operation] if k not in answer]
    if missing:
        raise StoreError("unavailable", "bad_response", f"answer lacks {', '.join(missing)}")
