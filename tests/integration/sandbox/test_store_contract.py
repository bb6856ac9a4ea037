"""The reference store against its contract, docs/store-api.openapi.yaml, with Schemathesis.

Every operation gets positive and negative generated requests (plus the examples in the
document and Schemathesis' coverage cases) and all default checks: no server error, status
codes, content types, response headers and bodies conforming to the document, invalid data
rejected, missing auth refused. Valid data may only be refused for business reasons the
document names (an unknown city, category, warehouse or product; a duplicate SKU).
"""

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from sandbox.store.catalogue import Catalogue, Product
from sandbox.store.server import ReferenceStore

pytestmark = pytest.mark.integration

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "docs" / "store-api.openapi.yaml"
API_KEY = "contract-test-key"
HEADERS = {"X-API-Key": API_KEY}
# 422 codes that valid-looking data may still get: facts the schema cannot know.
BUSINESS_REJECTIONS = {"unknown_city", "unknown_category", "unknown_warehouse", "unknown_product"}

schema = schemathesis.openapi.from_path(SCHEMA_PATH)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=50,
    deterministic=True,
    database="none",
)


class StoreThread:
    """A store served by its own event loop in a background thread (Schemathesis is sync)."""

    def __init__(self, store: ReferenceStore) -> None:
        self.store = store
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ReferenceStore:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.store.start(), self.loop).result(10)
        return self.store

    def __exit__(self, *_: Any) -> None:
        asyncio.run_coroutine_threadsafe(self.store.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def store() -> Iterator[ReferenceStore]:
    with StoreThread(ReferenceStore(api_key=API_KEY)) as running:
        yield running


def _has_duplicate_skus(case: schemathesis.Case) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    skus = [i.get("sku") for i in body.get("items") or [] if isinstance(i, dict)]
    return len(skus) != len(set(skus))


def valid_data_accepted(ctx: Any, response: schemathesis.Response, case: schemathesis.Case):
    """Positive data gets 2xx, or 404/409, or a 422 only for a business reason."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status < 300 or status in (404, 409):
        return True
    if status == 422:
        code = response.json()["error"]["code"]
        assert code in BUSINESS_REJECTIONS or (
            code == "invalid_request" and _has_duplicate_skus(case)
        ), f"valid data refused: {response.text}"
        return True
    raise AssertionError(f"valid data got HTTP {status}: {response.text}")


@schema.parametrize()
def test_store_conforms_to_its_contract(case: schemathesis.Case, store: ReferenceStore) -> None:
    case.call_and_validate(
        base_url=store.base_url,
        headers=HEADERS,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[valid_data_accepted],
    )
    assert not store.internal_errors, store.internal_errors


class _ChattyStore(ReferenceStore):
    """A store that leaks an undocumented field into search results."""

    def _summary(self, product: Product, city: Any = None) -> dict[str, Any]:
        return {**super()._summary(product, city), "colour": "чорний"}


def test_the_contract_test_catches_an_undocumented_field() -> None:
    operation = schema["/v1/products"]["GET"]
    with StoreThread(_ChattyStore(api_key=API_KEY, catalogue=Catalogue.load())) as chatty:
        case = operation.Case(query={"q": "навушники"})
        with pytest.raises(BaseExceptionGroup, match="colour"):
            case.call_and_validate(base_url=chatty.base_url, headers=HEADERS)
        # The honest store passes the same request.
    with StoreThread(ReferenceStore(api_key=API_KEY)) as honest:
        operation.Case(query={"q": "навушники"}).call_and_validate(
            base_url=honest.base_url, headers=HEADERS
        )
