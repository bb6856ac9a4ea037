"""Caps the size of a value before it is stored or logged: a model can send anything.

A hostile or broken model can put 20 KB of text in a tool argument, a thousand list items, or
nesting without end; the call record, the database row and the demo report must not grow with
it. :func:`limited` returns a copy whose strings, lists and dicts are cut to fixed limits, each
cut leaving a marker that says how much was left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_CHARS = 500  # a search query is at most 200, an address or a message a few hundred
MAX_ITEMS = 20  # list items or dict keys kept
MAX_DEPTH = 6  # containers below this are replaced by a marker


def limited(
    value: Any, *, max_chars: int = MAX_CHARS, max_items: int = MAX_ITEMS, depth: int = MAX_DEPTH
) -> Any:
    """A copy of ``value`` no bigger than the limits; cuts are marked in place.

    Strings over ``max_chars`` keep their start and end with ``[... N chars cut ...]``
    between; lists keep ``max_items`` items and a last ``"[N more items cut]"``; dicts keep
    ``max_items`` keys and a ``"..."`` key saying how many were cut; containers nested deeper
    than ``depth`` become ``"[nested too deep]"``. Numbers, booleans and None pass as they are.
    """
    if isinstance(value, str):
        if len(value) <= max_chars:
            return value
        keep = max_chars // 2
        return f"{value[:keep]}[... {len(value) - 2 * keep} chars cut ...]{value[-keep:]}"
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth <= 0:
        return "[nested too deep]"
    below = {"max_chars": max_chars, "max_items": max_items, "depth": depth - 1}
    if isinstance(value, Mapping):
        items = list(value.items())
        kept = {limited(str(k), max_chars=100): limited(v, **below) for k, v in items[:max_items]}
        if len(items) > max_items:
            kept["..."] = f"[{len(items) - max_items} more keys cut]"
        return kept
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        kept_items = [limited(v, **below) for v in items[:max_items]]
        if len(items) > max_items:
            kept_items.append(f"[{len(items) - max_items} more items cut]")
        return kept_items
    return limited(str(value), max_chars=max_chars)
