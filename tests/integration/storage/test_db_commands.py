"""``callproc db ...`` and ``callproc calls ...`` as ops run them, against a real PostgreSQL."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from bot.storage import records
from bot.storage.database import Database
from bot.storage.schema import head_revision
from observability.observers.call_record import ToolCall, Turn
from tests.integration.databases import ScratchDatabase

pytestmark = pytest.mark.integration

TABLES = ("prompt_versions", "calls", "turns", "tool_calls", "handoffs")


def callproc(db: ScratchDatabase, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    urls = {"DATABASE_URL": db.app_dsn, "CALLPROC_DATABASE__MIGRATION_URL": db.owner_dsn}
    return run_with(urls, cwd, *args)


def run_with(urls: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``callproc ARGS`` with only these database settings (none of the developer's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    env.pop("DATABASE_URL", None)
    env.update(urls)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def a_call(started: datetime, *, transferred: bool = False) -> tuple[str, list[dict]]:
    """The records of a two-turn call with a tool call (and a handoff if transferred)."""
    call = str(uuid.uuid4())
    greeting = Turn(index=0, bot_text="Добрий день!", wire_audio=0.3)
    turn = Turn(
        index=1, user_text="Чи є павербанк?", bot_text="Є, 899 грн.", speech_end=3.0,
        stt_final=3.4, turn_end=3.6, llm_first_token=4.0, tts_first_audio=4.2, wire_audio=4.22,
    )  # fmt: skip
    tool = ToolCall("search_products", {"query": "павербанк"}, 1, 3.7, 300.0, "ok")
    made = [
        {"kind": "prompt_version", "hash": "p1", "language": "uk-UA", "text": "{}"},
        records.call_started(
            call,
            started_at=started.isoformat(),
            language="uk-UA",
            pipeline="voice",
            prompt_version="p1",
            caller_number_hash="ab" * 32,
        ),  # fmt: skip
        records.bot_turn(call, greeting),
        records.caller_turn(call, turn),
        records.tool_call(call, 0, tool),
        records.bot_turn(call, turn),
    ]
    if transferred:
        made.append(
            records.handoff(
                call,
                reason="caller_request",
                caller_wants="Повернення",
                summary="Хоче повернути товар",
                created_at=started.isoformat(),
            )  # fmt: skip
        )
    made.append(
        records.call_ended(
            call,
            ended_at=(started + timedelta(seconds=20)).isoformat(),
            duration_ms=20000,
            outcome="transferred" if transferred else "completed",
            outcome_reason="caller_request" if transferred else None,
            turns=[greeting, turn],
        )  # fmt: skip
    )
    return call, made


async def seed(db: ScratchDatabase, *calls: list[dict]) -> Database:
    database = Database(db.app_dsn)
    for made in calls:
        await database.apply(made)
    return database


async def test_calls_list_and_show(database: ScratchDatabase, tmp_path: Path):
    now = datetime.now(UTC)
    first, first_records = a_call(now - timedelta(minutes=5))
    second, second_records = a_call(now, transferred=True)
    await (await seed(database, first_records, second_records)).close()

    listed = callproc(database, tmp_path, "calls", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert second in lines[1] and first in lines[2]  # newest first
    assert "transferred (caller_request)" in lines[1] and "1220 ms" in lines[1]

    machine = json.loads(callproc(database, tmp_path, "calls", "list", "--json").stdout)
    assert [c["call_uuid"] for c in machine] == [second, first]
    assert machine[0]["tool_calls"] == 1

    shown = callproc(database, tmp_path, "calls", "show", second[:8])
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    for expected in (
        f"call {second}",
        "outcome transferred (caller_request)",
        "prompt version p1",
        "caller: Чи є павербанк?",
        'tool  : search_products(query="павербанк") -> ok, 300 ms',
        "bot   : Є, 899 грн.  [voice-to-voice 1220 ms, LLM 400, TTS 200]",
        "handoff: reason caller_request; caller wants: Повернення; summary: Хоче повернути товар",
        "voice-to-voice     1220 /   1220 /   1220 ms  (1 turns)",
    ):
        assert expected in text, expected
    # the tool call is shown between what the caller said and what the bot answered
    assert text.index("caller: Чи є") < text.index("tool  :") < text.index("bot   : Є")

    detail = json.loads(callproc(database, tmp_path, "calls", "show", second, "--json").stdout)
    assert [t["role"] for t in detail["transcript"]] == ["bot", "caller", "bot"]

    missing = callproc(database, tmp_path, "calls", "show", "ffffffff")
    assert missing.returncode == 1 and "no call starts with 'ffffffff'" in missing.stderr
    bad = callproc(database, tmp_path, "calls", "show", "x")
    assert bad.returncode == 1 and "not a call id" in bad.stderr


async def test_backup_drop_restore_gives_the_same_rows(database: ScratchDatabase, tmp_path: Path):
    now = datetime.now(UTC)
    _, one = a_call(now)
    _, two = a_call(now, transferred=True)
    db = await seed(database, one, two)
    before = await db.row_counts()
    assert before == {"prompt_versions": 1, "calls": 2, "turns": 6, "tool_calls": 2,
                      "handoffs": 1}  # fmt: skip

    made = callproc(database, tmp_path, "db", "backup", "--dir", str(tmp_path / "backups"))
    assert made.returncode == 0, made.stderr
    (dump,) = (tmp_path / "backups").glob("callproc-*.dump")
    assert dump.stat().st_size > 0 and str(dump.name) in made.stdout

    conn = await asyncpg.connect(database.owner_dsn)  # lose everything
    try:
        await conn.execute(f"TRUNCATE {', '.join('callproc.' + t for t in TABLES)} CASCADE")
    finally:
        await conn.close()
    assert (await db.row_counts())["calls"] == 0

    restored = callproc(database, tmp_path, "db", "restore", str(dump))
    assert restored.returncode == 0, restored.stderr
    assert await db.row_counts() == before
    # The service role still may write after the restore (grants came back with the tables).
    _, three = a_call(now)
    await db.apply(three)
    assert (await db.row_counts())["calls"] == 3
    await db.close()

    broken = callproc(database, tmp_path, "db", "restore", str(tmp_path / "nope.dump"))
    assert broken.returncode == 1 and "no backup file" in broken.stderr


async def test_prune_removes_old_transcripts_and_keeps_the_calls(
    database: ScratchDatabase, tmp_path: Path
):
    now = datetime.now(UTC)
    old, old_records = a_call(now - timedelta(days=100), transferred=True)
    new, new_records = a_call(now - timedelta(days=10))
    db = await seed(database, old_records, new_records)

    done = callproc(database, tmp_path, "db", "prune", "--older-than", "90d")
    assert done.returncode == 0, done.stderr
    assert "1 transcripts removed" in done.stdout
    pruned = await db.call_detail(uuid.UUID(old))
    kept = await db.call_detail(uuid.UUID(new))
    await db.close()
    assert pruned["transcript"] == [] and pruned["tool_calls"] == []
    assert pruned["handoff"]["summary"] is None and pruned["handoff"]["reason"] == "caller_request"
    assert pruned["outcome"] == "transferred" and pruned["latency"]  # the call itself stays
    assert pruned["transcript_pruned_at"] is not None
    assert len(kept["transcript"]) == 3 and kept["transcript_pruned_at"] is None

    again = callproc(database, tmp_path, "db", "prune")  # default: the retention setting
    assert again.returncode == 0 and "0 transcripts removed" in again.stdout
    wrong = callproc(database, tmp_path, "db", "prune", "--older-than", "soon")
    assert wrong.returncode == 1 and "90d" in wrong.stderr


async def test_migrate_and_roles(database: ScratchDatabase, tmp_path: Path):
    done = callproc(database, tmp_path, "db", "migrate")
    assert done.returncode == 0, done.stderr
    assert "database schema at revision 0004" in done.stdout
    roles = callproc(database, tmp_path, "db", "roles")
    assert roles.returncode == 0
    assert "CREATE ROLE callproc_app" in roles.stdout and "\\connect callproc" in roles.stdout


async def test_a_real_database_behind_the_schema_stops_serve_with_the_fix(
    storage_servers, tmp_path: Path
):
    from tests.integration.databases import new_database

    empty = await new_database(storage_servers[0], migrated=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    env.update(DATABASE_URL=empty.app_dsn, CALLPROC_PIPELINE="echo",
               CALLPROC_AUDIOSOCKET__PORT="0", CALLPROC_HTTP__PORT="0")  # fmt: skip
    served = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert served.returncode != 0
    assert "run `callproc db migrate`" in served.stderr + served.stdout


def test_db_setup_creates_roles_database_and_schema_as_the_stack_does(
    storage_servers, tmp_path: Path
) -> None:
    server = storage_servers[0]
    name = f"setup_{uuid.uuid4().hex[:8]}"
    socket = server.dsn().split("?", 1)[1]
    urls = {
        "CALLPROC_DATABASE__ADMIN_URL": server.dsn(),
        "DATABASE_URL": f"postgresql://callproc_app:app-pw@/{name}?{socket}",
        "CALLPROC_DATABASE__MIGRATION_URL": f"postgresql://callproc_owner:owner-pw@/{name}?{socket}",
    }

    first = run_with(urls, tmp_path, "db", "setup")
    again = run_with(urls, tmp_path, "db", "setup")

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr  # idempotent: the migrate job runs every `up`
    assert first.stdout.splitlines()[-1] == f"database schema at revision {head_revision()}"
    assert again.stdout == first.stdout

    async def check() -> tuple[str, bool]:
        conn = await asyncpg.connect(server.dsn(database=name))
        try:
            owner = await conn.fetchval(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", name
            )
            vector = await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
            return owner, vector == 1
        finally:
            await conn.close()

    assert asyncio.run(check()) == ("callproc_owner", True)


def test_db_setup_names_what_is_missing(tmp_path: Path) -> None:
    proc = run_with(
        {"DATABASE_URL": "postgresql://someone:pw@db/callproc"}, tmp_path, "db", "setup"
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "callproc db setup: set CALLPROC_DATABASE__ADMIN_URL, CALLPROC_DATABASE__MIGRATION_URL "
        "(PostgreSQL URLs) for db setup"
    )
