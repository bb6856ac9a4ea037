"""What an operator needs to know when a call reaches them, from the call record (pure).

:func:`gather_facts` reads the recorded turns and tool calls: why the call is transferred,
what the caller wanted (their first words, and what they said last), the products discussed
with SKUs and catalogue prices, stock that was checked, and the state of an order.
:func:`draft_summary` writes that as a short text in the operator's language (at most
``SUMMARY_MAX_CHARS``, a screen-pop). It is the summary when the model is slow or fails,
and the draft the model improves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from observability.observers.call_record import CallRecord
from observability.scrub import scrub_text

SUMMARY_MAX_CHARS = 500
PRODUCTS_SHOWN = 3

REASONS = {
    "uk-UA": {
        "caller_request": "клієнт попросив оператора",
        "dtmf_zero": "клієнт натиснув 0",
        "cannot_help": "бот не зміг допомогти",
        "complaint": "скарга",
        "order_problem": "проблема із замовленням",
        "returns": "повернення товару",
        "recognition_failures": "бот не розпізнав мову клієнта",
        "service_failure": "технічний збій бота",
        "tool_loop": "бот зациклився на запитах до магазину",
        "shutdown": "бот перезапускався, розмову не завершено",
        "other": "інше",
    },
    "ru-RU": {
        "caller_request": "клиент попросил оператора",
        "dtmf_zero": "клиент нажал 0",
        "cannot_help": "бот не смог помочь",
        "complaint": "жалоба",
        "order_problem": "проблема с заказом",
        "returns": "возврат товара",
        "recognition_failures": "бот не распознал речь клиента",
        "service_failure": "технический сбой бота",
        "tool_loop": "бот зациклился на запросах к магазину",
        "shutdown": "бот перезапускался, разговор не завершён",
        "other": "другое",
    },
    "en-US": {
        "caller_request": "the caller asked for an operator",
        "dtmf_zero": "the caller pressed 0",
        "cannot_help": "the bot could not help",
        "complaint": "complaint",
        "order_problem": "order problem",
        "returns": "return",
        "recognition_failures": "the bot could not understand the caller",
        "service_failure": "the bot had a technical fault",
        "tool_loop": "the bot kept querying the store without answering",
        "shutdown": "the bot was restarting before the call was done",
        "other": "other",
    },
}
LABELS = {
    "uk-UA": {
        "reason": "Причина",
        "wants": "Хоче",
        "first": "Почав з",
        "last": "Останнє",
        "products": "Товари",
        "stock": "Наявність",
        "order": "Замовлення",
        "uah": "грн",
        "pcs": "шт",
        "ordered": "оформлено",
        "quoted": "названо суму, не підтверджено",
        "status": "статус",
        "none": "немає",
    },
    "ru-RU": {
        "reason": "Причина",
        "wants": "Хочет",
        "first": "Начал с",
        "last": "Последнее",
        "products": "Товары",
        "stock": "Наличие",
        "order": "Заказ",
        "uah": "грн",
        "pcs": "шт",
        "ordered": "оформлен",
        "quoted": "сумма названа, не подтверждено",
        "status": "статус",
        "none": "нет",
    },
    "en-US": {
        "reason": "Reason",
        "wants": "Wants",
        "first": "Opened with",
        "last": "Last said",
        "products": "Products",
        "stock": "Stock",
        "order": "Order",
        "uah": "UAH",
        "pcs": "pcs",
        "ordered": "placed",
        "quoted": "quoted, not confirmed",
        "status": "status",
        "none": "none",
    },
}


@dataclass
class Product:
    """A product the conversation touched, with its catalogue price."""

    sku: str
    name: str
    price_uah: int | None = None


@dataclass
class HandoffFacts:
    """The facts of a call an operator needs, in plain data (JSON-ready via ``as_dict``)."""

    reason: str
    caller_wants: str | None = None
    first_words: str | None = None
    last_words: str | None = None
    products: list[Product] = field(default_factory=list)
    stock: list[str] = field(default_factory=list)  # "Павербанк … — Львів: 10"
    order: str | None = None  # "TD-100101 placed, 899" / "quoted 899" / "TD-1 status shipped"
    order_id: str | None = None
    order_total_uah: int | None = None
    order_state: str | None = None  # ordered, quoted, status:<s>
    caller_turns: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The facts as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HandoffFacts:
        """Facts read back from :meth:`as_dict`."""
        products = [Product(**p) for p in data.get("products") or []]
        return cls(**{**data, "products": products})


def gather_facts(record: CallRecord, reason: str, caller_wants: str | None) -> HandoffFacts:
    """Read the operator's facts out of a call record."""
    # The operator has the caller's number from the PBX; none is repeated here.
    said = [scrub_text(t.user_text) for t in record.turns[1:] if t.user_text]
    facts = HandoffFacts(
        reason=reason,
        caller_wants=caller_wants,
        first_words=said[0] if said else None,
        last_words=said[-1] if len(said) > 1 else None,
        caller_turns=len(said),
    )
    products: dict[str, Product] = {}
    for call in record.tool_calls:
        result = call.result if isinstance(call.result, dict) else {}
        if result.get("ok") is False:
            continue
        if call.name == "search_products":
            for p in (result.get("products") or [])[:PRODUCTS_SHOWN]:
                _note(products, p.get("sku"), p.get("name"), p.get("price_uah"))
        elif call.name == "get_product":
            _note(products, result.get("sku"), result.get("name"), result.get("price_uah"))
        elif call.name == "check_availability":
            _note(products, result.get("sku"), result.get("name"), None)
            where = result.get("city") or "—"
            facts.stock.append(f"{result.get('name') or result.get('sku')} — {where}: "
                               f"{result.get('quantity', 0)}")  # fmt: skip
        elif call.name == "create_order":
            for item in result.get("items") or []:
                _note(products, item.get("sku"), item.get("name"), item.get("unit_price_uah"))
            if result.get("status") in ("ordered", "already_ordered"):
                facts.order_state = "ordered"
                facts.order_id = result.get("order_id")
                facts.order_total_uah = result.get("total_uah") or facts.order_total_uah
            elif result.get("status") == "confirmation_required" and facts.order_state != "ordered":
                facts.order_state = "quoted"
                facts.order_total_uah = result.get("total_uah")
        elif call.name == "get_order_status":
            facts.order_state = f"status:{result.get('status')}"
            facts.order_id = result.get("order_id")
            facts.order_total_uah = result.get("total_uah")
    facts.products = list(products.values())
    return facts


def _note(products: dict[str, Product], sku: Any, name: Any, price: Any) -> None:
    if not sku:
        return
    known = products.setdefault(str(sku), Product(str(sku), str(name or sku)))
    if name:
        known.name = str(name)
    if isinstance(price, int) and price > 0:
        known.price_uah = price


def reason_text(reason: str, language: str) -> str:
    """A reason code in words, for people."""
    return REASONS.get(language, REASONS["uk-UA"]).get(reason, reason)


def draft_summary(facts: HandoffFacts, language: str = "uk-UA") -> str:
    """The facts as a short text for the operator's screen (at most SUMMARY_MAX_CHARS)."""
    words = LABELS.get(language, LABELS["uk-UA"])
    parts = [f"{words['reason']}: {reason_text(facts.reason, language)}."]
    if facts.caller_wants:
        parts.append(f"{words['wants']}: {facts.caller_wants.rstrip('.')}.")
    if facts.products:
        listed = "; ".join(
            f"{p.name} ({p.sku}" + (f", {p.price_uah} {words['uah']})" if p.price_uah else ")")
            for p in facts.products[:PRODUCTS_SHOWN]
        )
        parts.append(f"{words['products']}: {listed}.")
    if facts.stock:
        parts.append(f"{words['stock']}: {'; '.join(facts.stock[-2:])} {words['pcs']}.")
    order = _order_line(facts, words)
    if order:
        parts.append(f"{words['order']}: {order}.")
    if facts.first_words:
        parts.append(f"{words['first']}: «{facts.first_words}»")
    if facts.last_words:
        parts.append(f"{words['last']}: «{facts.last_words}»")
    return fit(" ".join(parts))


def _order_line(facts: HandoffFacts, words: dict[str, str]) -> str | None:
    total = f"{facts.order_total_uah} {words['uah']}" if facts.order_total_uah else ""
    if facts.order_state == "ordered":
        return " ".join(x for x in (facts.order_id, words["ordered"], total) if x)
    if facts.order_state == "quoted":
        return f"{total}, {words['quoted']}" if total else words["quoted"]
    if facts.order_state and facts.order_state.startswith("status:"):
        status = facts.order_state.split(":", 1)[1]
        return f"{facts.order_id} {words['status']} {status}"
    return None


def fit(text: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, with an ellipsis if cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"
