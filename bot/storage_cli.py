"""``callproc db ...`` (schema, roles, backup, restore, retention) and ``callproc calls ...``.

Every command works the same against the embedded PostgreSQL (started for the command, or
found already running under a ``callproc serve``) and a real one (``DATABASE_URL``, and
``CALLPROC_DATABASE__MIGRATION_URL`` for the owner role).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.storage.database import Database

_AGE = re.compile(r"^(\d+)\s*([dhw])$")
Command = Callable[[Settings, argparse.Namespace], int]


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``db`` and ``calls`` to the ``callproc`` parser."""
    db = sub.add_parser("db", help="database: migrate, roles, backup, restore, prune")
    db.set_defaults(quiet_logs=True)
    db_sub = db.add_subparsers(required=True, metavar="ACTION")
    migrate = db_sub.add_parser("migrate", help="bring the schema to this release (alembic)")
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")
    migrate.set_defaults(func=_command("db migrate", _migrate))
    setup = db_sub.add_parser(
        "setup",
        help="as a superuser (CALLPROC_DATABASE__ADMIN_URL): roles with the passwords of "
        "DATABASE_URL and CALLPROC_DATABASE__MIGRATION_URL, the database, pgvector; then migrate",
    )
    setup.set_defaults(func=_command("db setup", _setup))
    roles = db_sub.add_parser(
        "roles", help="print the SQL a superuser runs once: roles, database, pgvector"
    )
    roles.add_argument("--database", default="callproc", help="database name")
    roles.set_defaults(func=_command("db roles", _roles))
    backup = db_sub.add_parser("backup", help="pg_dump the schema to a timestamped file")
    backup.add_argument("--dir", type=Path, help="where to write it (default: <data dir>/backups)")
    backup.set_defaults(func=_command("db backup", _backup))
    restore = db_sub.add_parser("restore", help="replace the schema's contents with a backup")
    restore.add_argument("file", type=Path, help="a file written by `callproc db backup`")
    restore.set_defaults(func=_command("db restore", _restore))
    prune = db_sub.add_parser("prune", help="remove transcripts of old calls (retention)")
    prune.add_argument(
        "--older-than",
        help="age such as 90d, 12w or 48h (default: CALLPROC_DATABASE__RETENTION_DAYS days)",
    )
    prune.set_defaults(func=_command("db prune", _prune))

    calls = sub.add_parser("calls", help="review recorded calls")
    calls.set_defaults(quiet_logs=True)
    calls_sub = calls.add_subparsers(required=True, metavar="ACTION")
    listing = calls_sub.add_parser("list", help="recent calls, newest first")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    listing.add_argument("--json", action="store_true", help="JSON for machines")
    listing.set_defaults(func=_command("calls list", _list))
    show = calls_sub.add_parser("show", help="one call: transcript, tool calls, latencies")
    show.add_argument("call", help="the call's UUID (or its first characters)")
    show.add_argument("--json", action="store_true", help="JSON for machines")
    show.set_defaults(func=_command("calls show", _show))


def parse_age(text: str) -> timedelta:
    """``90d`` / ``12w`` / ``48h`` as a timedelta."""
    m = _AGE.match(text.strip().lower())
    if not m or int(m[1]) <= 0:
        raise ValueError(f"--older-than {text!r}: use a positive number with d, w or h, e.g. 90d")
    n = int(m[1])
    return {"d": timedelta(days=n), "w": timedelta(weeks=n), "h": timedelta(hours=n)}[m[2]]


def _command(name: str, run: Command) -> Command:
    """``run`` with its errors printed as ``callproc NAME: error`` and exit code 1."""

    def guarded(settings: Settings, args: argparse.Namespace) -> int:
        try:
            return run(settings, args)
        except Exception as e:
            print(f"callproc {name}: {e}", file=sys.stderr)
            return 1

    return guarded


async def _with_database(settings: Settings, work: Any) -> Any:
    """Open PostgreSQL and the application role's `Database` around ``work(database)``."""
    from bot.storage.database import Database

    async def on_postgres(postgres: Any) -> Any:
        database = Database(postgres.app_dsn)
        try:
            return await work(database)
        finally:
            await database.close()

    return await _with_postgres(settings, on_postgres)


async def _with_postgres(settings: Settings, work: Any) -> Any:
    """Open PostgreSQL (embedded or not) around ``work(postgres)``."""
    from bot.storage.runtime import open_postgres

    postgres = await open_postgres(settings, check_schema=False)
    try:
        return await work(postgres)
    finally:
        await postgres.close()


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage.schema import current_revision, migrate

    async def work(postgres: Any) -> str | None:
        await migrate(postgres.owner_dsn, args.revision)
        return await current_revision(postgres.owner_dsn)

    revision = asyncio.run(_with_postgres(settings, work))
    print(f"database schema at revision {revision}")
    return 0


def _setup(settings: Settings, _: argparse.Namespace) -> int:
    from bot.storage.roles import APP, OWNER
    from bot.storage.schema import current_revision, migrate, provision

    db = settings.database
    urls = {
        "CALLPROC_DATABASE__ADMIN_URL": db.admin_url,
        "DATABASE_URL": settings.database_url,
        "CALLPROC_DATABASE__MIGRATION_URL": db.migration_url,
    }
    missing = [name for name, url in urls.items() if url is None]
    if missing:
        raise ValueError(f"set {', '.join(missing)} (PostgreSQL URLs) for db setup")
    admin, app, owner = (urlsplit(url.get_secret_value()) for url in urls.values() if url)
    for name, url, role in (
        ("DATABASE_URL", app, APP),
        ("CALLPROC_DATABASE__MIGRATION_URL", owner, OWNER),
    ):
        if url.username != role or not url.password:
            raise ValueError(f"{name} must name the role {role} with a password")
    database = owner.path.lstrip("/")
    if not database or app.path.lstrip("/") != database:
        raise ValueError("DATABASE_URL and the migration URL must name the same database")
    admin_dsn = admin.geturl()
    print(f"creating the roles and the database {database} (if missing) ...", flush=True)

    async def work() -> str | None:
        await provision(
            admin_dsn,
            admin._replace(path=f"/{database}").geturl(),
            database,
            owner_password=unquote(owner.password or ""),
            app_password=unquote(app.password or ""),
        )
        owner_dsn = owner.geturl()
        await migrate(owner_dsn)
        return await current_revision(owner_dsn)

    print(f"database schema at revision {asyncio.run(work())}")
    return 0


def _roles(_: Settings, args: argparse.Namespace) -> int:
    from bot.storage.roles import provisioning_script

    print(provisioning_script(database=args.database), end="")
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage.backup import backup

    folder = args.dir or settings.data_dir / "backups"
    print(f"backing up the callproc schema to {folder} ...", flush=True)

    async def work(postgres: Any) -> Any:
        return await backup(postgres.owner_dsn, folder)

    result = asyncio.run(_with_postgres(settings, work))
    print(f"wrote {result.path} ({result.size_bytes / 1024:.0f} KiB in {result.seconds:.1f} s)")
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage.backup import restore
    from bot.storage.database import Database

    print(f"restoring {args.file} (replaces the callproc schema's contents) ...", flush=True)

    async def work(postgres: Any) -> dict[str, int]:
        await restore(postgres.owner_dsn, args.file)
        database = Database(postgres.app_dsn)
        try:
            return await database.row_counts()
        finally:
            await database.close()

    counts = asyncio.run(_with_postgres(settings, work))
    print("restored: " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    return 0


def _prune(settings: Settings, args: argparse.Namespace) -> int:

    age = (
        parse_age(args.older_than)
        if args.older_than
        else timedelta(days=settings.database.retention_days)
    )
    before = datetime.now(UTC) - age

    async def work(database: Database) -> tuple[int, int]:
        return await database.prune(before)

    calls, rows = asyncio.run(_with_database(settings, work))
    print(
        f"calls started before {before:%Y-%m-%d %H:%M} UTC: {calls} transcripts removed "
        f"({rows} rows); call times, outcomes and latencies are kept"
    )
    return 0


def _list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.review import format_call_list

    async def work(database: Database) -> list[dict[str, Any]]:
        return await database.list_calls(max(1, args.limit))

    calls = asyncio.run(_with_database(settings, work))
    print(json.dumps(calls, ensure_ascii=False, indent=1) if args.json else format_call_list(calls))
    return 0


def _show(settings: Settings, args: argparse.Namespace) -> int:
    from bot.review import format_call

    async def work(database: Database) -> dict[str, Any]:
        found = await database.find_call(args.call)
        if isinstance(found, str):
            raise LookupError(found)
        detail = await database.call_detail(found)
        if detail is None:
            raise LookupError(f"no call {args.call}")
        return detail

    detail = asyncio.run(_with_database(settings, work))
    print(json.dumps(detail, ensure_ascii=False, indent=1) if args.json else format_call(detail))
    return 0
