"""The caller's name in what leaves the call for the operators: initials by default.

The summary, the caller's words among the facts, and what the summary model writes go to
Redis, the dialplan, the console and the webhook. Phones there are already masked by the log
scrubber's rules; the names a caller gave for an order (known from the order tool's arguments)
are cut to initials here, or left out, or kept whole, as ``CALLPROC_HANDOFF__CUSTOMER_NAME``
says. Ukrainian and Russian names change their endings ("Олена" / "Олену" / "Олени"), so each
name word of four letters or more matches with any ending on its stem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

NameMode = Literal["initials", "omit", "full"]
OMITTED = "***"


def _pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    words = {w for name in names for w in re.findall(r"[^\W\d_]{2,}", name)}
    if not words:
        return None
    stems = sorted(
        (re.escape(w[:-1]) + r"\w{0,3}" if len(w) >= 4 else re.escape(w) for w in words),
        key=len,
        reverse=True,
    )
    return re.compile(r"(?<!\w)(?:" + "|".join(stems) + r")(?!\w)", re.IGNORECASE)


def minimise(value: Any, names: Iterable[str], mode: NameMode = "initials") -> Any:
    """``value`` (a string, or strings inside lists and dicts) with the caller's names cut."""
    pattern = None if mode == "full" else _pattern(names)
    if pattern is None:
        return value

    def cut(match: re.Match[str]) -> str:
        return match[0][0].upper() + "." if mode == "initials" else OMITTED

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return pattern.sub(cut, v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)
