"""Secrets the service needs but nobody configured: made once, kept in the data folder.

``<data dir>/secrets/<name>`` (folder 0700, file 0600): the caller-number hash key, the
dialplan's API token, the operator console's password. A configured value always wins.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from observability.logging import get_logger

log = get_logger("bot.secrets")

MIN_CHARS = 32


def stored_secret(data_dir: Path, name: str) -> str:
    """The secret called ``name``: read from its file, or made and written there first."""
    path = data_dir / "secrets" / name
    try:
        value: str | None = path.read_text().strip()
    except FileNotFoundError:
        value = None
    if value is not None and len(value) >= MIN_CHARS:
        return value
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written whole to a temporary file, then linked into place: a reader never sees a
    # half-written (or empty) secret, and of two processes racing, one secret wins.
    fresh = path.with_name(f".{name}.{os.getpid()}.tmp")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32))
        f.flush()
        os.fsync(f.fileno())
    try:
        if value is not None:  # an unusable (empty, cut) file: replace it
            log.warning("secret file unusable, replaced", path=str(path))
            os.replace(fresh, path)
        else:
            os.link(fresh, path)
            log.info("secret created", path=str(path))
    except FileExistsError:
        pass  # another process made it just now: theirs is the one
    finally:
        fresh.unlink(missing_ok=True)
    return path.read_text().strip()
