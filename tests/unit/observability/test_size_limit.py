import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from observability.size_limit import MAX_CHARS, MAX_DEPTH, MAX_ITEMS, limited

pytestmark = pytest.mark.unit


def test_small_values_pass_unchanged():
    value = {"query": "павербанк", "items": [{"sku": "TD-1", "quantity": 2}], "ok": True, "n": None}
    assert limited(value) == value


def test_a_long_string_keeps_its_ends_and_says_how_much_was_cut():
    text = "a" * 10 + "x" * 20_000 + "z" * 10
    cut = limited(text)
    assert cut.startswith("a" * 10) and cut.endswith("z" * 10)
    assert f"[... {20_020 - MAX_CHARS} chars cut ...]" in cut
    assert len(cut) < MAX_CHARS + 40


def test_long_lists_and_wide_dicts_are_cut_with_a_marker():
    assert limited(list(range(100))) == [*range(MAX_ITEMS), "[80 more items cut]"]
    wide = limited({f"k{i}": i for i in range(50)})
    assert len(wide) == MAX_ITEMS + 1 and wide["..."] == "[30 more keys cut]"


def test_deep_nesting_is_cut():
    deep: object = "bottom"
    for _ in range(50):
        deep = [deep]
    assert "[nested too deep]" in json.dumps(limited(deep))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3000),
    lambda children: (
        st.lists(children, max_size=60)
        | st.dictionaries(st.text(max_size=300), children, max_size=60)
    ),
    max_leaves=400,
)


def within_limits(value, depth=0) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_CHARS + 40
    if isinstance(value, dict):
        return len(value) <= MAX_ITEMS + 1 and all(
            within_limits(k, depth) and within_limits(v, depth + 1) for k, v in value.items()
        )
    if isinstance(value, list):
        return len(value) <= MAX_ITEMS + 1 and all(within_limits(v, depth + 1) for v in value)
    return True


def depth_of(value) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


@given(json_values)
def test_anything_a_model_sends_comes_out_bounded(value):
    out = limited(value)
    assert within_limits(out)
    assert depth_of(out) <= MAX_DEPTH
    json.dumps(out)  # still JSON for the database
