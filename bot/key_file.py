"""Files that hold secrets, checked before anything starts.

A secret file other users of the machine may read is refused (``.env``, the Google key); the
Google key must be a usable service-account key. Each problem is one sentence that names the
file and the fix, so that a bad deployment stops at once with a configuration error instead
of a traceback from the client library halfway through start-up.
"""

from __future__ import annotations

import functools
import json
import os
import stat
from pathlib import Path

from google.oauth2 import service_account

OTHERS = stat.S_IRWXO  # any access for users outside the owner and the group


def exposed(path: Path) -> str | None:
    """Why ``path`` is too open for a secret, or None if only its owner (and group) may use it."""
    mode = path.stat().st_mode
    if mode & OTHERS:
        return (
            f"{path} can be read by other users of this machine "
            f"(mode {stat.S_IMODE(mode):o}): chmod 600 {path}"
        )
    return None


@functools.lru_cache(maxsize=4)
def parse_credentials(credentials_json: str) -> service_account.Credentials:
    """Parse a service-account JSON (the private key included: ~50 ms of CPU).

    Cached: the settings check parses the key, and the service then builds its clients from
    the same text without paying for the private key again.

    Raises:
        ValueError: It is not a service-account key (the message says what is wrong).
    """
    try:
        info = json.loads(credentials_json)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ValueError('not a service-account key (no "type": "service_account")')
    if not info.get("project_id"):
        raise ValueError("the key has no project_id")
    try:
        return service_account.Credentials.from_service_account_info(info)
    except (ValueError, KeyError, TypeError) as exc:  # missing fields, unreadable private key
        raise ValueError(f"unusable service-account key ({type(exc).__name__})") from None


def key_file_problem(path: Path) -> str | None:
    """What is wrong with a Google service-account key file, or None if it can be used."""
    try:
        if not path.is_file():
            return f"{path} is not a file" if path.exists() else f"{path} does not exist"
        too_open = exposed(path)
        if too_open:
            return too_open
        text = path.read_text(encoding="utf-8")
    except PermissionError:  # the file, or a folder on its way
        return (
            f"{path} cannot be read by this process (user id {os.getuid()}): give that user "
            "the file and its folder (for the container: chown -R 10001 secrets on the host) "
            "and keep the file mode 600"
        )
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path} cannot be read ({type(exc).__name__})"
    try:
        parse_credentials(text)
    except ValueError as exc:
        return (
            f"{path}: {exc}; download a JSON key of a service account with Speech-to-Text "
            "and Text-to-Speech access"
        )
    return None
