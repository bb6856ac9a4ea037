"""The caller's name in what leaves the call for the operators: initials by default.

The summary, the caller's words among the facts, and what the summary model writes go to
Redis, the dialplan, the console and the webhook. Phones there are already masked by the log
scrubber's rules; the names a caller gave for an order (known from the order tool's
arguments) or said were theirs ("мене звати ...", :func:`introduced_names`) are cut to
initials here, or left out, or kept whole, as ``CALLPROC_HANDOFF__CUSTOMER_NAME`` says.
Ukrainian and Russian names change their endings ("Олена" / "Олену" / "Олени"), so each name
word of four letters or more matches with any ending on its stem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

NameMode = Literal["initials", "omit", "full"]
OMITTED = "***"


# How a caller gives their name without an order ("мене звати Олена Коваль"): the next word,
# and the one after it when it is capitalised (a surname).
_INTRODUCTION = re.compile(
    r"(?:мене\s+(?:звати|звуть)|моє\s+ім['’ʼ]я|меня\s+зовут|мо[её]\s+имя|my\s+name\s+is)"
    r"[\s,:—-]*([^\W\d_]+)(?:\s+([A-ZА-ЯЁІЇЄҐ][^\W\d_]+))?",
    re.IGNORECASE,
)


def introduced_names(texts: Iterable[str]) -> set[str]:
    """Names the caller said were theirs ("мене звати Олена", "my name is Ann Lee")."""
    found = set()
    for text in texts:
        for match in _INTRODUCTION.finditer(text or ""):
            second = match[2] if match[2] and match[2][0].isupper() else None
            found.add(f"{match[1]} {second}" if second else match[1])
    return found


class NameHider:
    """Cuts the caller's names out of strings (and strings inside lists and dicts).

    Args:
        names: The caller's names: as given for an order, or as they introduced themselves.
        mode: ``initials`` ("О. К."), ``omit`` (``***``) or ``full`` (unchanged).
    """

    def __init__(self, names: Iterable[str], mode: NameMode = "initials") -> None:
        self._mode = mode
        self._pattern = None if mode == "full" else _pattern(names)

    def __call__(self, value: Any) -> Any:
        """``value`` with every name cut as the mode says."""
        if self._pattern is None:
            return value
        return self._walk(value)

    def _cut(self, match: re.Match[str]) -> str:
        return match[0][0].upper() + "." if self._mode == "initials" else OMITTED

    def _walk(self, v: Any) -> Any:
        if isinstance(v, str):
            assert self._pattern is not None
            return self._pattern.sub(self._cut, v)
        if isinstance(v, dict):
            return {k: self._walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self._walk(x) for x in v]
        return v


def minimise(value: Any, names: Iterable[str], mode: NameMode = "initials") -> Any:
    """``value`` with the caller's names cut (a one-off :class:`NameHider`)."""
    return NameHider(names, mode)(value)


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
