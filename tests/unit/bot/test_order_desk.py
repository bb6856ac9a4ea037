import pytest

from bot.order_desk import OrderDesk, Quote, QuoteLine

pytestmark = pytest.mark.unit

POWERBANK = QuoteLine("TD-20001", "Павербанк", 1, 1299)
CABLE = QuoteLine("TD-30001", "Кабель", 2, 199)


def heard(_quote) -> bool:
    return True


def yes(desk: OrderDesk, q: Quote, total: int | None) -> str:
    """The caller heard the quote and said yes: only the desk's own rules decide."""
    return desk.consider(q, total, heard=heard, caller="yes")


def quote(turn: int, *lines: QuoteLine, name="Олена", phone="+380 67 123 45 67", city="Львів"):
    return Quote(tuple(lines or (POWERBANK,)), name, phone, city, turn)


def test_first_request_is_only_a_quote():
    desk = OrderDesk()
    assert desk.consider(quote(1), confirmed_total_uah=None) == "quote"
    assert desk.pending == quote(1)


def test_confirmation_in_a_later_turn_places_the_order():
    desk = OrderDesk()
    desk.consider(quote(1), None)
    assert yes(desk, quote(2), 1299) == "place"


def test_confirmation_in_the_same_turn_as_the_quote_is_not_enough():
    desk = OrderDesk()
    desk.consider(quote(1), None)
    assert yes(desk, quote(1), 1299) == "quote"


def test_a_confirmed_total_without_any_quote_is_only_a_quote():
    desk = OrderDesk()
    assert yes(desk, quote(3), 1299) == "quote"
    assert yes(desk, quote(3), 1299) == "quote"  # same turn again
    assert yes(desk, quote(4), 1299) == "place"


@pytest.mark.parametrize("total", [0, 1, 1298, 1300, 100_000])
def test_a_total_other_than_the_catalogue_total_is_refused_and_requoted(total):
    desk = OrderDesk()
    desk.consider(quote(1), None)
    assert yes(desk, quote(2), total) == "total_mismatch"
    assert desk.pending == quote(2)  # the caller must hear the right total in this turn
    assert yes(desk, quote(2), 1299) == "quote"
    assert yes(desk, quote(3), 1299) == "place"


@pytest.mark.parametrize(
    "changed",
    [
        quote(2, QuoteLine("TD-20001", "Павербанк", 2, 1299)),  # quantity
        quote(2, POWERBANK, CABLE),  # another item
        quote(2, QuoteLine("TD-20001", "Павербанк", 1, 999)),  # catalogue price changed
        quote(2, city="Київ"),
        quote(2, phone="+380 50 000 00 00"),
        quote(2, name="Ірина"),
    ],
)
def test_any_change_to_the_quoted_order_needs_a_new_confirmation(changed):
    desk = OrderDesk()
    desk.consider(quote(1), None)
    assert yes(desk, changed, changed.total_uah) == "quote"
    assert desk.pending == changed


def test_the_key_ignores_formatting_of_phone_name_and_city():
    a = quote(1, name="Олена  Коваль", phone="+380 67 123 45 67", city="Львів")
    b = quote(2, name="олена коваль", phone="067-123-45-67", city=" львів ")
    assert a.key == b.key


def test_a_placed_quote_is_remembered_and_cleared():
    desk = OrderDesk()
    desk.consider(quote(1), None)
    desk.done(quote(2), "TD-100123")
    assert desk.pending is None
    assert desk.already_placed(quote(5)) == "TD-100123"
    assert desk.already_placed(quote(5, CABLE)) is None
    assert quote(1, POWERBANK, CABLE).total_uah == 1299 + 2 * 199


@pytest.mark.parametrize("caller", ["no", "unclear"])
def test_without_the_callers_yes_nothing_is_placed_and_the_quote_stands(caller):
    desk = OrderDesk()
    desk.consider(quote(1), None)
    assert desk.consider(quote(2), 1299, heard=heard, caller=caller) == "not_confirmed"
    assert desk.pending == quote(1)
    assert yes(desk, quote(3), 1299) == "place"  # a yes in a later turn still counts


def test_a_quote_the_caller_never_heard_cannot_be_confirmed():
    desk = OrderDesk()
    desk.consider(quote(1), None)
    told: list[Quote] = []

    def never(q: Quote) -> bool:
        told.append(q)
        return False

    assert desk.consider(quote(2), 1299, heard=never, caller="yes") == "not_heard"
    assert told == [quote(1)]
    assert desk.pending == quote(2)  # it has to be read out from this turn on
    assert yes(desk, quote(3), 1299) == "place"


def test_a_yes_holds_for_a_retry_until_the_caller_says_no():
    desk = OrderDesk()
    desk.consider(quote(1), None)
    assert yes(desk, quote(2), 1299) == "place"  # ... and the store's answer got lost
    assert desk.consider(quote(3), 1299, heard=heard, caller="unclear") == "place"  # retry
    assert desk.consider(quote(4), 1299, heard=heard, caller="no") == "not_confirmed"
    assert desk.consider(quote(5), 1299, heard=heard, caller="unclear") == "not_confirmed"
