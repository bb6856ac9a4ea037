"""The confirmation rule for orders: nothing is ordered that the caller has not heard and accepted.

Pure bookkeeping, one desk per call. The first ``create_order`` for a basket only produces a
*quote* priced from the catalogue, which the bot reads to the caller. The order is placed
only when ``create_order`` comes again for the same basket, customer and city, in a later
caller turn than the quote, with the quoted total as the confirmed total. A different total
(a wrong or invented price) or a changed basket gets a fresh quote to confirm instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class QuoteLine:
    """One priced line of a quote; the price is the catalogue's."""

    sku: str
    name: str
    quantity: int
    unit_price_uah: int

    @property
    def total_uah(self) -> int:
        """Quantity times the unit price."""
        return self.quantity * self.unit_price_uah


@dataclass(frozen=True)
class Quote:
    """A basket priced from the catalogue, for one customer and city, in one caller turn."""

    lines: tuple[QuoteLine, ...]
    customer_name: str
    customer_phone: str
    delivery_city: str
    turn: int

    @property
    def total_uah(self) -> int:
        """Sum of the lines."""
        return sum(line.total_uah for line in self.lines)

    @property
    def key(self) -> tuple:
        """What must not change between the quote and the confirmation."""
        digits = "".join(c for c in self.customer_phone if c.isdigit())
        return (
            tuple(sorted((line.sku, line.quantity, line.unit_price_uah) for line in self.lines)),
            " ".join(self.customer_name.lower().split()),
            digits[-9:],
            self.delivery_city.strip().lower(),
        )


Decision = Literal["quote", "total_mismatch", "place"]


@dataclass
class OrderDesk:
    """Decides, per ``create_order`` request, whether to quote or to place the order.

    Attributes:
        pending: The quote the caller was last asked to confirm.
        placed: Keys of quotes already ordered, with their order ids (no double orders).
    """

    pending: Quote | None = None
    placed: dict[tuple, str] = field(default_factory=dict)

    def consider(self, quote: Quote, confirmed_total_uah: int | None) -> Decision:
        """What to do with a freshly priced ``quote`` and the total the model says was confirmed.

        ``place`` only if the caller was quoted exactly this basket in an earlier turn and the
        confirmed total is the catalogue total; ``total_mismatch`` if the model's total is not
        the catalogue's; otherwise ``quote`` (read the quote to the caller, ask to confirm).
        """
        earlier = self.pending
        if confirmed_total_uah is not None and confirmed_total_uah != quote.total_uah:
            self.pending = quote
            return "total_mismatch"
        same = earlier is not None and earlier.key == quote.key
        if same and confirmed_total_uah is not None and earlier.turn < quote.turn:
            return "place"
        if not same:
            self.pending = quote
        return "quote"

    def done(self, quote: Quote, order_id: str) -> None:
        """Remember that ``quote`` became order ``order_id``."""
        self.placed[quote.key] = order_id
        self.pending = None

    def already_placed(self, quote: Quote) -> str | None:
        """The order id if exactly this basket was already ordered on this call."""
        return self.placed.get(quote.key)
