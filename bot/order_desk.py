"""The confirmation rule for orders: nothing is ordered that the caller has not heard and accepted.

Pure bookkeeping, one desk per call. The first ``create_order`` for a basket only produces a
*quote* priced from the catalogue, which the bot reads to the caller. The order is placed
only when ``create_order`` comes again for the same basket, customer and city, in a later
caller turn than the quote, with the quoted total as the confirmed total, the bot's words
since the quote carried that total, and the caller's latest words said yes
(:mod:`bot.confirmation` judges both). A different total (a wrong or invented price) or a
changed basket gets a fresh quote to confirm instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.confirmation import Verdict


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


Decision = Literal["quote", "total_mismatch", "not_heard", "not_confirmed", "place"]


@dataclass
class OrderDesk:
    """Decides, per ``create_order`` request, whether to quote or to place the order.

    Attributes:
        pending: The quote the caller was last asked to confirm.
        confirmed: The caller said yes to ``pending`` (and has not said no since).
        placed: Keys of quotes already ordered, with their order ids (no double orders).
    """

    pending: Quote | None = None
    confirmed: bool = False
    placed: dict[tuple, str] = field(default_factory=dict)

    def consider(
        self,
        quote: Quote,
        confirmed_total_uah: int | None,
        heard: Callable[[Quote], bool] = lambda _quote: False,
        caller: Verdict = "unclear",
    ) -> Decision:
        """What to do with a freshly priced ``quote`` and the total the model says was confirmed.

        Args:
            quote: The basket as the model asks for it now, priced from the catalogue.
            confirmed_total_uah: The total the model says the caller agreed to.
            heard: Whether the bot's words since the pending quote carried its total.
            caller: What the caller's latest words were: yes, no or unclear.

        Returns:
            ``place`` only if the caller was quoted exactly this basket in an earlier turn,
            heard its total, said yes now, and the confirmed total is the catalogue total;
            ``total_mismatch`` if the model's total is not the catalogue's; ``not_heard`` if
            the bot never read the quote's total (the quote starts again from this turn);
            ``not_confirmed`` if the caller did not say yes (a yes given earlier to the same
            quote counts for a retry, unless they said no since); otherwise ``quote`` (read
            the quote to the caller, ask to confirm).
        """
        earlier = self.pending
        if confirmed_total_uah is not None and confirmed_total_uah != quote.total_uah:
            self.pending, self.confirmed = quote, False
            return "total_mismatch"
        same = earlier is not None and earlier.key == quote.key
        if same and confirmed_total_uah is not None and earlier.turn < quote.turn:
            if not heard(earlier):
                self.pending, self.confirmed = quote, False
                return "not_heard"
            if caller == "no":
                self.confirmed = False
            elif caller == "yes":
                self.confirmed = True
            # A yes holds for a retry after a failed attempt, until the caller says no.
            return "place" if self.confirmed else "not_confirmed"
        if not same:
            self.pending, self.confirmed = quote, False
        return "quote"

    def done(self, quote: Quote, order_id: str) -> None:
        """Remember that ``quote`` became order ``order_id``."""
        self.placed[quote.key] = order_id
        self.pending, self.confirmed = None, False

    def already_placed(self, quote: Quote) -> str | None:
        """The order id if exactly this basket was already ordered on this call."""
        return self.placed.get(quote.key)
