"""The store tools Claude uses on a call: their JSON schemas, argument checks and handlers.

``search_products``, ``get_product``, ``check_availability``, ``create_order``,
``get_order_status`` read and write through the shared :class:`~bot.store_client.StoreClient`;
``transfer_to_operator`` and ``end_call`` end the call with a marked outcome.

Every handler returns a result the model can act on, never an exception: arguments are
validated (a bad one comes back as ``invalid_arguments`` naming the field), and a store
failure comes back with ``say`` - a sentence in the call's language the bot can say as is.
Prices and totals only ever come from the catalogue: the order tool's schema has no price
field at all (an extra field is refused), and :class:`~bot.order_desk.OrderDesk` places an
order only after the bot read the quoted total out and the caller's own words in a later
turn said yes (or they pressed 1; :mod:`bot.confirmation`). Arguments whose JSON was broken
come back as ``invalid_json``.

A model that keeps calling store tools without answering is stopped: after
``TOOL_CALLS_PER_TURN`` calls in one caller turn (or ``TOOL_CALLS_PER_CALL`` on the call) each
further call is refused (``too_many_tools``: answer now), and after
``REFUSED_BEFORE_GIVING_UP`` refusals the call goes to the operators (reason ``tool_loop``)
instead of leaving the caller in silence. The model's requests on a call are then at most its
caller turns plus about ``TOOL_CALLS_PER_CALL``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import EndWorkerFrame, FunctionCallResultProperties
from pipecat.services.llm_service import FunctionCallParams, LLMService
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from bot import confirmation
from bot.llm import UNPARSED
from bot.order_desk import OrderDesk, Quote, QuoteLine
from bot.prompts import PromptSet
from bot.store_client import StoreClient, StoreError
from observability.logging import get_logger

log = get_logger("bot.tools")

SEARCH_RESULTS = 3  # a caller can take in about three options at a time
PLACES_SHOWN = 3
MAX_QUANTITY = 10  # the Store API contract's limits (docs/store-api.openapi.yaml)
MAX_ORDER_LINES = 10
ENDING_TOOLS = ("transfer_to_operator", "end_call")
TOOL_CALLS_PER_TURN = 8  # an order in one turn takes 4-5 (search, product, stock, order)
TOOL_CALLS_PER_CALL = 24  # three such turns; a model that spreads a loop over turns stops too
REFUSED_BEFORE_GIVING_UP = 2


def _pattern(regex: str) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, pattern=regex)


# Cyrillic letters a model (or a caller spelling "те-де") may put in a Latin code.
_LATIN = str.maketrans("АВДЕКМНОРСТХІ", "ABDEKMHOPCTXI")


def normalise_code(value: Any) -> Any:
    """``td10201``, ``ТД-10201`` or ``td-10201`` as the store writes it: ``TD-10201``."""
    if not isinstance(value, str):
        return value
    compact = re.sub(r"[\s\-]", "", value.strip().upper().translate(_LATIN))
    m = re.fullmatch(r"([A-Z]{1,4})(\d{3,10})", compact)
    return f"{m[1]}-{m[2]}" if m else value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Sku = Annotated[str, BeforeValidator(normalise_code), _pattern(r"^[A-Z]{1,4}-\d{3,8}$")]
Phone = Annotated[str, _pattern(r"^\+?[0-9][0-9 ()-]{8,18}[0-9]$")]
OrderId = Annotated[str, BeforeValidator(normalise_code), _pattern(r"^[A-Z]{1,4}-\d{3,10}$")]
EndCall = Callable[[str, dict[str, Any]], Awaitable[None]]
GiveUp = Callable[[], Awaitable[None]]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchArgs(_Args):
    """``search_products`` arguments."""

    query: Text = Field(description="What the caller is looking for, in their words.")
    category: Text | None = Field(None, description="Category id, if the caller named one.")
    min_price_uah: int | None = Field(None, ge=0, description="Lowest price, UAH.")
    max_price_uah: int | None = Field(None, ge=0, description="Highest price, UAH.")
    city: Text | None = Field(None, description="Caller's city, to see stock there.")
    in_stock_only: bool = Field(False, description="Only products in stock (in the city).")


class ProductArgs(_Args):
    """``get_product`` arguments."""

    sku: Sku = Field(description="Product SKU from a search result, e.g. TD-10423.")


class AvailabilityArgs(_Args):
    """``check_availability`` arguments."""

    sku: Sku = Field(description="Product SKU from a search result.")
    city: Text | None = Field(None, description="City to check; omit for all cities.")


class OrderLine(_Args):
    """One line of an order: which product and how many; never a price."""

    sku: Sku = Field(description="Product SKU from a search result.")
    quantity: int = Field(ge=1, le=MAX_QUANTITY, description="Units of this product.")


class OrderArgs(_Args):
    """``create_order`` arguments."""

    items: list[OrderLine] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    customer_name: Name = Field(description="The caller's name as they said it.")
    customer_phone: Phone = Field(description="The caller's phone number, digits.")
    delivery_city: Text = Field(description="City to deliver to (a warehouse pickup).")
    confirmed_total_uah: int | None = Field(
        None,
        ge=1,
        description="Set ONLY after you read the quoted items and total to the caller and "
        "they said yes: the total they agreed to.",
    )


class OrderStatusArgs(_Args):
    """``get_order_status`` arguments."""

    order_id: OrderId = Field(description="Order number, e.g. TD-100123.")


class TransferArgs(_Args):
    """``transfer_to_operator`` arguments."""

    reason: Literal[
        "caller_request", "cannot_help", "complaint", "order_problem", "returns", "other"
    ] = Field(description="Why the call goes to a person.")
    caller_wants: Text = Field(description="In one sentence, what the caller still wants.")


class EndCallArgs(_Args):
    """``end_call`` arguments."""

    reason: Literal["caller_done", "wrong_number", "other"] = Field(
        description="Why the call ends."
    )


_DESCRIPTIONS = {
    "search_products": "Find products in the catalogue by the caller's words (any language, "
    "misheard words are fine) with optional filters. Returns up to three best matches with "
    "SKU, name, price in UAH and whether they are in stock.",
    "get_product": "Details of one product: description, key attributes, warranty, price.",
    "check_availability": "Stock of one product in a city (with pickup points) or overall, "
    "and the delivery time.",
    "create_order": "Order products for pickup in a city. The first call returns a quote "
    "priced from the catalogue: read the items and total to the caller and ask them to "
    "confirm. Only after the caller said yes, call again with the same items, customer and "
    "city and confirmed_total_uah set to that total. Never invent or change prices.",
    "get_order_status": "The status of an existing order by its number.",
    "transfer_to_operator": "Hand the call to a human operator. Say a short sentence that you "
    "are connecting them first; the call leaves you after this.",
    "end_call": "End the call after saying goodbye, when the caller has nothing more.",
}
_ARGS: dict[str, type[_Args]] = {
    "search_products": SearchArgs,
    "get_product": ProductArgs,
    "check_availability": AvailabilityArgs,
    "create_order": OrderArgs,
    "get_order_status": OrderStatusArgs,
    "transfer_to_operator": TransferArgs,
    "end_call": EndCallArgs,
}
TOOL_NAMES = tuple(_ARGS)


def internal_texts() -> list[str]:
    """What the model is told about its tools and their results; never for the caller's ears."""
    fields = [f.description for m in _ARGS.values() for f in m.model_fields.values()]
    return [*_DESCRIPTIONS.values(), *(d for d in fields if d), *_QUOTE_LEADS.values()]


def tools_schema() -> ToolsSchema:
    """The tools as pipecat's provider-neutral schema, generated from the argument models."""
    functions = []
    for name, model in _ARGS.items():
        schema = model.model_json_schema()
        properties = {
            prop: _inline(value, schema.get("$defs", {}))
            for prop, value in schema["properties"].items()
        }
        functions.append(
            FunctionSchema(
                name=name,
                description=_DESCRIPTIONS[name],
                properties=properties,
                required=list(schema.get("required", [])),
            )
        )
    return ToolsSchema(standard_tools=functions)


def _inline(value: Any, defs: dict[str, Any]) -> Any:
    """Resolve ``$ref``s and drop pydantic's titles (the model needs neither)."""
    if isinstance(value, dict):
        if "$ref" in value:
            return _inline(defs[value["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in value.items() if k != "title"}
    if isinstance(value, list):
        return [_inline(v, defs) for v in value]
    return value


class StoreTools:
    """One call's tool handlers: the store through the client, and the call's two endings.

    Args:
        client: The process's store client.
        prompts: The call's language (for ``say`` sentences).
        call_id: Makes order idempotency keys unique per call.
        on_end: Awaited with ``(outcome, detail)`` when a tool ends the call
            (``transferred`` with the reason, or ``completed``).
        on_tool_loop: Awaited, in a task of its own, when the model keeps calling tools
            after being told to answer (the call should go to the operators).
    """

    def __init__(
        self,
        client: StoreClient,
        prompts: PromptSet,
        call_id: str,
        on_end: EndCall,
        on_tool_loop: GiveUp | None = None,
    ) -> None:
        self.client = client
        self.prompts = prompts
        self.call_id = call_id
        self.on_end = on_end
        self.on_tool_loop = on_tool_loop
        self._turn = 0
        self._turn_calls = 0  # store tool calls in caller turn self._turn
        self._call_calls = 0  # store tool calls on the whole call
        self._giving_up: asyncio.Task | None = None
        self.desk = OrderDesk()
        self.customer_names: set[str] = set()  # as given for orders (the handoff hides them)
        self._ending_must_wait = False
        self._handlers: dict[str, Callable[[Any, CallerTurn], Awaitable[dict[str, Any]]]] = {
            "search_products": self._search,
            "get_product": self._product,
            "check_availability": self._availability,
            "create_order": self._create_order,
            "get_order_status": self._order_status,
        }

    def register(self, llm: LLMService) -> None:
        """Register every handler on the call's LLM service."""
        s = self.client.settings
        backoff = s.retry_backoff_secs * (2**s.read_retries - 1)
        read = s.read_timeout_secs * (1 + s.read_retries) + backoff + 1
        for name in self._handlers:
            # A backstop only: the client's own timeouts end every request sooner.
            budget = read * 2 + s.order_timeout_secs if name == "create_order" else read
            llm.register_function(name, self._run, timeout_secs=budget)
        for name in ENDING_TOOLS:
            llm.register_function(name, self._end, cancel_on_interruption=False)
        llm.register_function(None, self._run)  # any other name the model makes up
        listeners = getattr(llm, "tool_group_listeners", None)
        if listeners is not None:
            listeners.append(self._note_tool_group)

    def _note_tool_group(self, names: list[str]) -> None:
        """The tools of one model response, before they run."""
        ending = any(n in ENDING_TOOLS for n in names)
        self._ending_must_wait = ending and any(n not in ENDING_TOOLS for n in names)

    async def call(
        self, name: str, arguments: dict[str, Any], turn: int, messages: list[Any] | None = None
    ) -> dict[str, Any]:
        """Run tool ``name`` as the model asked; always returns a result for the model.

        ``turn`` is the caller's turn the request belongs to, ``messages`` the conversation so
        far (the order tool reads what the caller was told and what they answered).
        """
        if name not in _ARGS:  # pipecat would answer a made-up tool as a success
            return _refused("unknown_tool", "No such tool. Use only the tools you were given.")
        if UNPARSED in arguments:
            return _unparsed()
        try:
            args = _ARGS[name].model_validate(arguments)
        except ValidationError as e:
            return _invalid(e)
        try:
            return await self._handlers[name](args, CallerTurn(turn, messages or []))
        except StoreError as e:
            return self._store_failure(name, e)
        except Exception as e:  # an answer of a shape we did not expect: still a sentence
            log.error("tool broke", tool=name, error=type(e).__name__)
            return self._store_failure(name, StoreError("unavailable", "bad_response"))

    async def _run(self, params: FunctionCallParams) -> None:
        turn = caller_turns(params.context.get_messages())
        if turn != self._turn:
            self._turn, self._turn_calls = turn, 0
        self._turn_calls += 1
        self._call_calls += 1
        refused = max(
            self._turn_calls - TOOL_CALLS_PER_TURN, self._call_calls - TOOL_CALLS_PER_CALL
        )
        if refused > 0:
            await self._refuse_more_tools(params, refused)
            return
        messages = params.context.get_messages()
        result = await self.call(params.function_name, dict(params.arguments), turn, messages)
        await params.result_callback(result)

    async def _refuse_more_tools(self, params: FunctionCallParams, refused: int) -> None:
        result = _refused(
            "too_many_tools",
            "No more store tools now. Answer the caller with what you know, or offer an operator.",
        )
        if refused <= REFUSED_BEFORE_GIVING_UP or self.on_tool_loop is None:
            await params.result_callback(result)
            return
        if self._giving_up is None:
            log.warning("tool loop, giving the call to the operators", calls=self._turn_calls)
            # A task of its own: the handover interrupts the bot, which cancels this handler.
            self._giving_up = asyncio.create_task(self.on_tool_loop())
        await params.result_callback(result, properties=FunctionCallResultProperties(run_llm=False))

    async def _end(self, params: FunctionCallParams) -> None:
        name = params.function_name
        if UNPARSED in params.arguments:
            await params.result_callback(_unparsed())
            return
        try:
            args = _ARGS[name].model_validate(dict(params.arguments))
        except ValidationError as e:
            await params.result_callback(_invalid(e))
            return
        if self._ending_must_wait:
            # Asked together with store tools: their results (an order number, say) would
            # never be heard. The model answers first and ends the call in its next response.
            await params.result_callback(
                {
                    "ok": False,
                    "error": "answer_first",
                    "message": f"Not done: first tell the caller the results of the other "
                    f"tools, then call {name} again.",
                }
            )
            return
        outcome = "transferred" if name == "transfer_to_operator" else "completed"
        await self.on_end(outcome, args.model_dump())
        await params.result_callback(
            {"ok": True}, properties=FunctionCallResultProperties(run_llm=False)
        )
        # Downstream, behind the sentence being spoken: it plays out, then the bot hangs up
        # (AudioSocket 0x00) and the dialplan continues.
        await params.llm.push_frame(EndWorkerFrame(reason=outcome))

    # Handlers

    async def _search(self, args: SearchArgs, _turn: CallerTurn) -> dict[str, Any]:
        found = await self.client.search(
            args.query,
            category=args.category,
            min_price_uah=args.min_price_uah,
            max_price_uah=args.max_price_uah,
            city=args.city,
            in_stock=args.in_stock_only or None,
            limit=SEARCH_RESULTS,
        )
        products = [
            {k: p.get(k) for k in ("sku", "name", "price_uah", "in_stock")}
            for p in found["items"][:SEARCH_RESULTS]
        ]
        return {"ok": True, "products": products, "total_found": found["total"]}

    async def _product(self, args: ProductArgs, _turn: CallerTurn) -> dict[str, Any]:
        p = await self.client.product(args.sku)
        keys = ("sku", "name", "price_uah", "description", "attributes", "warranty_months")
        return {"ok": True, **{k: p.get(k) for k in keys}}

    async def _availability(self, args: AvailabilityArgs, _turn: CallerTurn) -> dict[str, Any]:
        a = await self.client.availability(args.sku, args.city)
        places = [
            {k: w.get(k) for k in ("name", "address", "quantity")}
            for w in a.get("warehouses") or []
            if w.get("quantity")
        ][:PLACES_SHOWN]
        return {
            "ok": True,
            "sku": a["sku"],
            "name": a.get("name"),
            "city": a.get("city"),
            "in_stock": a["in_stock"],
            "quantity": a["quantity"],
            "pickup_points": places,
            "other_cities": (a.get("other_cities") or [])[:PLACES_SHOWN],
            "delivery_days": a.get("delivery_days"),
        }

    async def _order_status(self, args: OrderStatusArgs, _turn: CallerTurn) -> dict[str, Any]:
        o = await self.client.order(args.order_id)
        return {
            "ok": True,
            "order_id": o["order_id"],
            "status": o["status"],
            "items": [{"name": i.get("name"), "quantity": i.get("quantity")} for i in o["items"]],
            "total_uah": o["total_uah"],
            "delivery_city": o.get("delivery_city"),
        }

    async def _create_order(self, args: OrderArgs, turn: CallerTurn) -> dict[str, Any]:
        self.customer_names.add(args.customer_name)
        limits = self.client.settings
        if len(args.items) > limits.max_order_lines or len({i.sku for i in args.items}) != len(
            args.items
        ):
            return _refused(
                "invalid_order",
                f"At most {limits.max_order_lines} different products, each listed once.",
            )
        if any(i.quantity > limits.max_quantity for i in args.items):
            return _refused("invalid_order", f"At most {limits.max_quantity} units per product.")
        lines = await asyncio.gather(
            *(self._price(i, args.delivery_city) for i in args.items), return_exceptions=True
        )
        for line in lines:
            if isinstance(line, BaseException):
                raise line
        short = [line for line in lines if isinstance(line, dict)]
        if short:
            return {
                "ok": False,
                "error": "out_of_stock",
                "message": "Not enough stock in that city; offer another city or product.",
                "items": short,
            }
        quote = Quote(
            lines=tuple(line for line in lines if isinstance(line, QuoteLine)),
            customer_name=args.customer_name,
            customer_phone=args.customer_phone,
            delivery_city=args.delivery_city,
            turn=turn.number,
        )
        if any(line.unit_price_uah <= 0 for line in quote.lines) or quote.total_uah <= 0:
            return _refused("unpriced_product", "A product has no valid price; do not order it.")
        if (order_id := self.desk.already_placed(quote)) is not None:
            return {"ok": True, "status": "already_ordered", "order_id": order_id}
        decision = self.desk.consider(
            quote,
            args.confirmed_total_uah,
            heard=lambda earlier: confirmation.mentions_amount(
                confirmation.bot_words_between(turn.messages, earlier.turn, turn.number),
                earlier.total_uah,
            ),
            caller=confirmation.verdict(confirmation.latest_caller_words(turn.messages)),
        )
        if decision != "place":
            return _quote_result(quote, decision)
        # Exactly what the caller confirmed, worded as first quoted: a retry after a lost
        # answer sends the same body under the same key, and the store replays the order.
        placing = self.desk.pending or quote
        try:
            order = await self.client.create_order(
                [(line.sku, line.quantity) for line in placing.lines],
                customer_name=placing.customer_name,
                customer_phone=placing.customer_phone,
                delivery_city=placing.delivery_city,
                expected_total_uah=placing.total_uah,
                idempotency_key=self._idempotency_key(placing),
            )
        except StoreError as e:
            existing = e.details.get("order_id") if isinstance(e.details, dict) else None
            if e.code != "idempotency_conflict" or not existing:
                raise
            self.desk.done(placing, str(existing))
            return {"ok": True, "status": "already_ordered", "order_id": existing}
        self.desk.done(placing, order["order_id"])
        log.info("order placed", lines=len(quote.lines), total_uah=order["total_uah"])
        return {
            "ok": True,
            "status": "ordered",
            "order_id": order["order_id"],
            "total_uah": order["total_uah"],
            "estimated_delivery_days": order.get("estimated_delivery_days"),
        }

    async def _price(self, line: OrderLine, city: str) -> QuoteLine | dict[str, Any]:
        product, stock = await asyncio.gather(
            self.client.product(line.sku), self.client.availability(line.sku, city)
        )
        if stock["quantity"] < line.quantity:
            return {"sku": line.sku, "asked": line.quantity, "available": stock["quantity"]}
        return QuoteLine(line.sku, str(product["name"]), line.quantity, int(product["price_uah"]))

    def _idempotency_key(self, quote: Quote) -> str:
        digest = hashlib.sha256(repr((self.call_id, quote.key)).encode()).hexdigest()
        return digest[:32]

    def _store_failure(self, name: str, error: StoreError) -> dict[str, Any]:
        log.warning("tool failed", tool=name, kind=error.kind, code=error.code)
        if error.kind == "not_found":
            return {
                "ok": False,
                "error": "not_found",
                "message": "No such product or order; ask the caller to check it.",
                "say": self.prompts.phrase("tool_not_found"),
            }
        if error.kind == "rejected":
            refused = "tool_order_refused" if name == "create_order" else "tool_lookup_refused"
            return {
                "ok": False,
                "error": error.code,
                "message": str(error),
                "details": error.details,
                "say": self.prompts.phrase(refused),
            }
        return {
            "ok": False,
            "error": "store_unavailable",
            "message": "The store cannot be reached now. Apologise and offer an operator.",
            "say": self.prompts.phrase("tool_store_unavailable"),
        }


@dataclass(frozen=True)
class CallerTurn:
    """The caller's turn a tool request belongs to: its number and the conversation so far."""

    number: int
    messages: list[Any]


def caller_turns(messages: list[Any]) -> int:
    """How many times the caller has spoken so far (user messages in the LLM context)."""
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "user")


def _invalid(error: ValidationError) -> dict[str, Any]:
    problems = []
    for e in error.errors(include_url=False):
        where = ".".join(str(p) for p in e["loc"]) or "arguments"
        priced = e["type"] == "extra_forbidden" and ("price" in where or "total" in where)
        hint = " (prices always come from the catalogue)" if priced else ""
        problems.append(f"{where}: {e['msg']}{hint}")
    return {
        "ok": False,
        "error": "invalid_arguments",
        "message": "; ".join(problems),
    }


def _refused(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message}


def _unparsed() -> dict[str, Any]:
    return _refused("invalid_json", "Your arguments were not valid JSON; call the tool again.")


_QUOTE_LEADS = {
    "quote": "Not ordered yet. ",
    "total_mismatch": "The total you gave is not the catalogue total. ",
    "not_heard": "Not ordered: the caller was never told this total. ",
    "not_confirmed": "Not ordered: the caller's last words were not a clear yes (if they "
    "said no or want a change, ask what to change). ",
}


def _quote_result(quote: Quote, decision: str) -> dict[str, Any]:
    return {
        "ok": True,
        "status": "confirmation_required",
        **({"reason": decision} if decision != "quote" else {}),
        "items": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_uah": line.unit_price_uah,
            }
            for line in quote.lines
        ],
        "total_uah": quote.total_uah,
        "delivery_city": quote.delivery_city,
        "message": _QUOTE_LEADS[decision] + "Read the items and this total to the caller "
        "and ask them to confirm (they say yes or press 1); after they do, call create_order "
        "again with confirmed_total_uah.",
    }
