"""The schema: alembic up and down on a real PostgreSQL, and who may do what."""

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from bot.storage.roles import APP, OWNER, provisioning_script
from bot.storage.schema import alembic_config, current_revision, head_revision
from tests.integration.databases import new_database

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
TABLES = {"prompt_versions", "calls", "turns", "tool_calls", "handoffs"}


def alembic(*args: str, dsn: str) -> subprocess.CompletedProcess[str]:
    """The alembic command a person runs from the repository, pointed at ``dsn``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    env["CALLPROC_DATABASE__MIGRATION_URL"] = dsn
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'callproc'"
            " AND tablename <> 'alembic_version'"
        )
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_alembic_upgrade_head_from_empty_and_downgrade_base(storage_servers):
    db = await new_database(storage_servers[0], migrated=False)
    assert await tables(db.owner_dsn) == set()

    up = alembic("upgrade", "head", dsn=db.owner_dsn)
    assert up.returncode == 0, up.stderr
    assert await tables(db.owner_dsn) == TABLES
    assert await current_revision(db.owner_dsn) == head_revision()
    conn = await asyncpg.connect(db.owner_dsn)
    try:
        assert await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname='vector'")
        # pgvector works for the owner (the later phase's embeddings)
        assert await conn.fetchval("SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector") == 1.0
    finally:
        await conn.close()

    down = alembic("downgrade", "base", dsn=db.owner_dsn)
    assert down.returncode == 0, down.stderr
    assert await tables(db.owner_dsn) == set()
    assert await current_revision(db.owner_dsn) is None

    again = alembic("upgrade", "head", dsn=db.owner_dsn)
    assert again.returncode == 0, again.stderr
    assert await tables(db.owner_dsn) == TABLES


def test_migrations_have_a_single_head_and_dated_file_names():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        assert Path(revision.path).name[:11].replace("_", "").isdigit(), revision.path


def test_alembic_without_a_database_says_what_to_set():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "CALLPROC_DATABASE__MIGRATION_URL" in done.stderr


async def test_the_service_role_reads_and_writes_rows_and_nothing_more(database):
    conn = await asyncpg.connect(database.app_dsn)
    try:
        assert await conn.fetchval("SELECT current_user") == APP
        assert not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = $1", APP)
        await conn.execute(
            "INSERT INTO callproc.prompt_versions (hash, language, text) VALUES ('h', 'uk-UA', 't')"
        )
        assert await conn.fetchval("SELECT count(*) FROM callproc.prompt_versions") == 1
        await conn.execute("DELETE FROM callproc.prompt_versions")
        refused = [
            "CREATE TABLE callproc.x (a int)",
            "CREATE TABLE public.x (a int)",
            "DROP TABLE callproc.turns",
            "ALTER TABLE callproc.calls ADD COLUMN x int",
            "TRUNCATE callproc.calls",
            "UPDATE callproc.alembic_version SET version_num = 'x'",
            "CREATE ROLE someone",
            "CREATE SCHEMA other",
        ]
        for statement in refused:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_the_owner_role_is_not_a_superuser(database):
    conn = await asyncpg.connect(database.owner_dsn)
    try:
        flags = await conn.fetchrow(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1", OWNER
        )
        assert tuple(flags) == (False, False, False)
    finally:
        await conn.close()


async def test_the_provisioning_script_runs_in_psql_and_is_idempotent(storage_servers):
    """What a DBA pipes into psql on a real server: roles, database, pgvector."""
    server = storage_servers[0]
    script = provisioning_script(
        owner_password="o-secret", app_password="a-secret", database="provisioned"
    )
    psql = server.bin / "psql"
    for _ in range(2):  # running it twice changes nothing and fails nothing
        done = subprocess.run(
            [str(psql), "-X", "-q", server.dsn()],
            input=script,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    conn = await asyncpg.connect(server.dsn(database="provisioned"))
    try:
        assert await conn.fetchval("SELECT extname FROM pg_extension WHERE extname='vector'")
        owner = await conn.fetchval(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname='provisioned'"
        )
        assert owner == OWNER
    finally:
        await conn.close()
    assert "a-secret" in script and "DATABASE_URL=postgresql://callproc_app:a-secret@" in script
