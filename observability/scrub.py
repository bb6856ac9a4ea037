"""Masks secrets and personal data in log text and structured log values.

Pure functions with precompiled patterns; `observability.logging` runs them on every log line,
so each rule is guarded by a cheap substring test and anchored at token starts.

Free-text rules (`scrub_text`), applied in this order:

1. PEM private-key blocks (also with escaped newlines, or cut off before the END line)
   become ``[private-key]``.
2. Quoted values of credential fields in JSON / Python-repr text (``"private_key"``,
   ``"private_key_id"``, ``"client_email"``, ``"client_id"``, ``"client_secret"``, and any
   ``*password*``, ``*secret*``, ``*token``, ``*api_key`` name) become ``[secret]``.
3. ``Authorization: <scheme> <credentials>`` and ``Cookie:`` / ``Set-Cookie:`` headers keep the
   header name and scheme; the credentials become ``[secret]``.
4. Unquoted ``name=value`` / ``name: value`` pairs with a credential-like name (as in 2).
5. ``Bearer <token>`` (any case) becomes ``Bearer [secret]``.
6. JWTs (``eyJ….….…``), Anthropic keys (``sk-ant-…``), other ``sk-…`` keys of 20+ characters and
   Google API keys (``AIza…``) become ``[secret]``.
7. E-mail addresses become ``[email]``.
8. Digit runs: a token of digits joined by single spaces, dashes, dots or parentheses, optionally
   led by ``+``, that does not touch letters/digits (so parts of UUIDs, hex ids and words are
   left alone). With 13-19 digits, no ``+``/dots and a valid Luhn checksum it becomes ``[card]``;
   otherwise, with 10 or more digits, ``[phone]``. Exceptions: a single dot means a decimal or an
   Asterisk ``uniqueid`` (``1715500123.45``), four dotted groups of 1-3 digits are an IPv4
   address, and the 8-4-4-4-12 shape is a UUID; those stay. Prices, quantities, years, times,
   ports and order numbers have fewer than 10 digits and stay. Privacy wins over precision: a
   16-digit number that fails Luhn (say, a card number misheard by speech recognition) or any
   other long digit run is masked as ``[phone]``, never shown.

Key rule (`is_sensitive_key`, used by `scrub_value`): a key is sensitive when, lower-cased with
camelCase and dashes turned into underscores, it is in `SENSITIVE_KEYS`, ends with ``_key`` or
``apikey``, or one of its underscore-separated words is in `SENSITIVE_KEY_WORDS` (``secret``,
``token``, ``password``, ``phone``, ``email``, ``card``, ...). Words match whole, so
``input_tokens`` (a count), ``call_uuid``, ``discard`` and a bare ``key`` (a DTMF digit) stay
visible; so does a number under a key whose only such word is ``token`` and whose last word is
a unit (``llm_first_token_ms``, ``token_count``): a figure, not a token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

PHONE_MARK: Final = "[phone]"
EMAIL_MARK: Final = "[email]"
CARD_MARK: Final = "[card]"
SECRET_MARK: Final = "[secret]"
PRIVATE_KEY_MARK: Final = "[private-key]"
REDACTED_MARK: Final = "[redacted]"

SENSITIVE_KEYS: Final[frozenset[str]] = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "authorization",
        "proxy_authorization",
        "private_key",
        "private_key_id",
        "client_secret",
        "client_email",
        "client_id",
        "credentials",
        "caller_number",
        "caller_id",
        "callerid",
        "caller_id_num",
        "caller_id_name",
        "connected_line_num",
        "from_number",
        "to_number",
        "msisdn",
        "phone",
        "email",
        "card",
        "card_number",
        "pan",
        "cvv",
        "cvc",
        "iban",
        "cookie",
        "set_cookie",
        "anthropic_api_key",
        "google_api_key",
        "customer_name",
        "first_name",
        "last_name",
        "middle_name",
        "full_name",
        "surname",
        "patronymic",
        "address",
        "delivery_address",
        "shipping_address",
    }
)
"""Key names (normalised: lower case, ``-`` and camelCase as ``_``) whose values are masked."""

SENSITIVE_KEY_WORDS: Final[frozenset[str]] = frozenset(
    {
        "secret",
        "token",
        "password",
        "passwd",
        "credential",
        "credentials",
        "authorization",
        "cookie",
        "phone",
        "msisdn",
        "email",
        "card",
        "cvv",
        "cvc",
        "iban",
    }
)
"""Whole words that make any key containing them sensitive (``customer_phone``, ``id_token``)."""

# --- patterns -------------------------------------------------------------------------------

_PEM = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----"
    r"(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY-----|(?:[A-Za-z0-9+/=\s]|\\[nr])*)",
    re.DOTALL,
)

# Credential-like field names, shared by the quoted-field rule and the name=value rule.
_CRED_NAME = (
    r"(?:private[_-]?key(?:[_-]?id)?|client[_-]?(?:email|id|secret)"
    r"|[A-Za-z0-9_-]*?(?:password|passwd|secret|token|api[_-]?key))"
)
_QUOTED_FIELD = re.compile(
    rf"""(?P<head>(?P<q>["'])(?i:{_CRED_NAME})(?P=q)\s*:\s*)"""
    r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    # the same, as it looks inside an escaped JSON string: \"private_key\": \"...\"
    rf"""|(?P<ehead>\\"(?i:{_CRED_NAME})\\"\s*:\s*)\\".*?(?<!\\)\\\"""",
)
_AUTH_HEADER = re.compile(
    r"(?P<head>\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:basic|bearer|digest|token|negotiate|apikey)\s+)?)"
    r"[^\s\"',;]+",
    re.IGNORECASE,
)
_COOKIE_HEADER = re.compile(r"(?P<head>\b(?:set-)?cookie[\"']?\s*[:=]\s*)[^\r\n]+", re.IGNORECASE)
_NAME_VALUE = re.compile(
    rf"(?P<head>(?<![A-Za-z0-9_-]){_CRED_NAME}[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&\[]+",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\bbearer\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)
_TOKENS = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"  # JWT
    r"|sk-ant-[A-Za-z0-9_-]{8,}"  # Anthropic
    r"|sk-[A-Za-z0-9_-]{20,}"  # other sk- keys
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API key
    r")"
)
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])",
)
_SEP = r"(?:[ \u00a0.\-]?\(|\)[ \u00a0.\-]?|[ \u00a0.\-])"
_DIGIT_RUN = re.compile(
    r"(?<![0-9A-Za-z_])(?<![0-9A-Za-z][.\-])"  # starts a token; not the tail of a UUID/decimal
    rf"(?:\+[ \u00a0]?)?\(?[0-9](?:{_SEP}?[0-9])*\)?"
    r"(?![0-9A-Za-z_])(?![.\-][0-9A-Za-z])"  # ends a token
)
_NOT_DIGIT = re.compile(r"[^0-9]")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_UUID = re.compile(r"[0-9]{8}-[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{12}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_HAS_DIGIT = re.compile(r"[0-9]")

_CREDENTIAL_HINTS = ("password", "passwd", "secret", "token", "key", "client")


def luhn_valid(digits: str) -> bool:
    """Tell whether a string of ASCII digits passes the Luhn (mod 10) checksum.

    Args:
        digits: Only the digits, no separators.

    Returns:
        True for a valid checksum.
    """
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_ipv4(run: str) -> bool:
    if not _IPV4.fullmatch(run):
        return False
    # "067.123.45.67" has the shape too, but an address has no leading zeros.
    return all(part == "0" or (part[0] != "0" and int(part) <= 255) for part in run.split("."))


def _mask_digit_run(match: re.Match[str]) -> str:
    run = match.group()
    digits = _NOT_DIGIT.sub("", run)
    count = len(digits)
    if count < 10:
        return run
    dots = run.count(".")
    if dots == 1 or (dots == 3 and _is_ipv4(run)) or _UUID.fullmatch(run):
        return run
    # Parentheses around the whole run, or on one side only, belong to the surrounding text.
    opened, closed = run.count("("), run.count(")")
    wrapped = run[0] == "(" and run.index(")") == len(run) - 1 if opened and closed else False
    before = "(" if run[0] == "(" and (wrapped or opened > closed) else ""
    after = ")" if run[-1] == ")" and (wrapped or closed > opened) else ""
    if 13 <= count <= 19 and not dots and run[0] != "+" and luhn_valid(digits):
        return f"{before}{CARD_MARK}{after}"
    return f"{before}{PHONE_MARK}{after}"


def _keep_head(match: re.Match[str]) -> str:
    return (match.group("head") or "") + SECRET_MARK


def _mask_quoted_field(match: re.Match[str]) -> str:
    if match.group("head") is not None:
        quote = match.group("q")
        return f"{match.group('head')}{quote}{SECRET_MARK}{quote}"
    return f'{match.group("ehead")}\\"{SECRET_MARK}\\"'


def scrub_text(text: str) -> str:
    """Mask secrets and personal data in free text.

    See the module docstring for the rules and their order.

    Args:
        text: Any text: a log message, an exception, a header dump.

    Returns:
        The text with every finding replaced by a marker such as ``[phone]`` or ``[secret]``.
    """
    if not text:
        return text
    if "PRIVATE KEY" in text:
        text = _PEM.sub(PRIVATE_KEY_MARK, text)
    lowered = text.lower()
    credentials = any(hint in lowered for hint in _CREDENTIAL_HINTS)
    if credentials and ("'" in text or '"' in text):
        text = _QUOTED_FIELD.sub(_mask_quoted_field, text)
    if "authorization" in lowered:
        text = _AUTH_HEADER.sub(_keep_head, text)
    if credentials and ("=" in text or ":" in text):
        text = _NAME_VALUE.sub(_keep_head, text)
    if "cookie" in lowered:
        text = _COOKIE_HEADER.sub(_keep_head, text)
    if "bearer" in lowered:
        text = _BEARER.sub("Bearer " + SECRET_MARK, text)
    if "eyJ" in text or "sk-" in text or "AIza" in text:
        text = _TOKENS.sub(SECRET_MARK, text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MARK, text)
    if _HAS_DIGIT.search(text):
        text = _DIGIT_RUN.sub(_mask_digit_run, text)
    return text


def is_sensitive_key(key: str) -> bool:
    """Tell whether values stored under ``key`` must always be masked.

    Args:
        key: A dict key or log field name, in any case, snake, kebab or camel style.

    Returns:
        True when the key names a secret or personal data (see the module docstring).
    """
    name = _CAMEL.sub("_", key).lower().replace("-", "_").replace(" ", "_")
    if name in SENSITIVE_KEYS or name.endswith(("_key", "apikey")):
        return True
    return not SENSITIVE_KEY_WORDS.isdisjoint(name.split("_"))


_FIGURE_UNITS: Final = frozenset({"ms", "secs", "seconds", "count"})


def _is_figure(key: str, value: object) -> bool:
    """A number under a key like ``llm_first_token_ms``: a latency or a count, not a token."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    words = _CAMEL.sub("_", key).lower().replace("-", "_").split("_")
    return words[-1] in _FIGURE_UNITS and SENSITIVE_KEY_WORDS.intersection(words) == {"token"}


def _mask_whole(value: object) -> object:
    # None, booleans and empty strings say nothing about the secret; keep them for debugging.
    if value is None or isinstance(value, bool) or value == "":
        return value
    return REDACTED_MARK


def scrub_value(value: object, key: str | None = None) -> object:
    """Mask secrets and personal data in a structured value.

    Dicts, lists, tuples and sets are walked recursively (a copy is returned; sets come back as
    lists). Any value under a sensitive key (see `is_sensitive_key`), whatever its type, becomes
    ``[redacted]``, except None, booleans and empty strings. Strings, and string dict keys, go
    through `scrub_text`. Numbers, booleans and None are returned unchanged. Any other object is
    rendered with ``str()`` and scrubbed, because a log renderer would otherwise print its repr
    unscrubbed.

    Args:
        value: The value to scrub.
        key: The name the value is stored under, if any.

    Returns:
        A scrubbed copy of the value.
    """
    if key is not None and is_sensitive_key(key) and not _is_figure(key, value):
        return _mask_whole(value)
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, Mapping):
        return {
            (scrub_text(k) if isinstance(k, str) else k): scrub_value(
                v, k if isinstance(k, str) else None
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = [scrub_value(item) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    try:
        text = str(value)
    except Exception:  # a broken __str__ must not break logging
        return f"<unprintable {type(value).__name__}>"
    return scrub_text(text)
