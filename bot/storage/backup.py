"""Backup and restore of the ``callproc`` schema with the bundled ``pg_dump`` / ``pg_restore``.

A backup is ``pg_dump`` custom format of the schema (tables, rows, grants), timestamped in
UTC. A restore replaces the schema's contents with the file's in one transaction: it all
comes back, or nothing changes. Both run as the owner role. The password travels in
``PGPASSWORD``, never on a command line another user could read.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from bot.storage.embedded import postgres_bin
from bot.storage.roles import SCHEMA


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed; the message carries its last lines."""


@dataclass(frozen=True)
class BackupResult:
    """What a backup or restore did."""

    path: Path
    size_bytes: int
    seconds: float


def split_password(dsn: str) -> tuple[str, str | None]:
    """The URL without its password, and the password (for ``PGPASSWORD``)."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn, None
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{user}@{host}" if user else host
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password)


async def _run(program: str, *args: str, dsn: str) -> None:
    url, password = split_password(dsn)
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if password is not None:
        env["PGPASSWORD"] = password
    proc = await asyncio.create_subprocess_exec(
        str(postgres_bin() / program),
        *args,
        f"--dbname={url}",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        tail = out.decode(errors="replace").strip().splitlines()[-5:]
        raise BackupError(f"{program} failed: " + " | ".join(tail))


async def backup(dsn: str, folder: Path, *, now: datetime | None = None) -> BackupResult:
    """Dump the schema to ``folder/callproc-YYYYmmdd-HHMMSS.dump``."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True, mode=0o700)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    path = folder / f"callproc-{stamp}.dump"
    # Transcripts inside: created private first, pg_dump then writes into it (mode kept).
    await asyncio.to_thread(_private_file, path)
    started = time.monotonic()
    await _run(
        "pg_dump", "--format=custom", f"--schema={SCHEMA}", "--no-owner", f"--file={path}", dsn=dsn
    )
    return BackupResult(path, await _size(path), time.monotonic() - started)


def _private_file(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))


async def _size(path: Path) -> int:
    return (await asyncio.to_thread(path.stat)).st_size


async def restore(dsn: str, path: Path) -> BackupResult:
    """Replace the schema's contents with the backup at ``path`` (all or nothing)."""
    if not await asyncio.to_thread(path.is_file):
        raise BackupError(f"no backup file at {path}")
    started = time.monotonic()
    await _run(
        "pg_restore",
        "--clean",
        "--if-exists",
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        str(path),
        dsn=dsn,
    )
    return BackupResult(path, await _size(path), time.monotonic() - started)
