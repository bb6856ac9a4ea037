"""The record writer's promises, with a scripted database function: order, retries, spill, replay.

The writer takes the function that writes a batch; here it is an in-process function that
fails on cue (the real one, ``Database.apply``, is exercised against PostgreSQL in
``tests/integration/test_storage_faults.py``).
"""

import asyncio
import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest

from bot.storage.writer import RecordWriter

pytestmark = pytest.mark.unit


class ScriptedDatabase:
    """Keeps what it is given; refuses while ``down``; refuses records marked ``bad``."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.down = False
        self.attempts = 0

    async def apply(self, batch: list[dict]) -> None:
        self.attempts += 1
        await asyncio.sleep(0)
        if self.down:
            raise ConnectionRefusedError("database down")
        if any(r.get("bad") for r in batch):
            raise asyncpg.ForeignKeyViolationError("refused")
        self.rows.extend(batch)


def records(n: int, start: int = 0) -> list[dict]:
    return [{"kind": "turn", "n": i} for i in range(start, start + n)]


def writer(db: ScriptedDatabase, tmp_path: Path, buffer: int = 100) -> RecordWriter:
    return RecordWriter(db.apply, spill_dir=tmp_path, buffer=buffer, retry_max_secs=0.02)


async def test_records_are_written_in_order(tmp_path: Path):
    db = ScriptedDatabase()
    w = writer(db, tmp_path)
    w.start()
    for r in records(500):
        w.submit(r)
    assert await w.flush(5)
    assert [r["n"] for r in db.rows] == list(range(500))
    assert w.written == 500 and w.healthy
    await w.close()


async def test_a_spill_folder_that_cannot_be_written_loses_nothing_while_the_database_is_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
):
    (tmp_path / "a-file").write_text("")  # a full disk or a read-only folder, as root sees it
    db = ScriptedDatabase()
    w = writer(db, tmp_path / "a-file" / "spill")
    w.start()
    for r in records(50):
        w.submit(r)
    assert await w.flush(5)
    w.submit({"kind": "turn", "n": 50})  # after a failed journal reset too
    assert await w.flush(5)
    assert [r["n"] for r in db.rows] == list(range(51)) and w.lost == 0
    out, err = capsys.readouterr()  # structlog prints unless the service configured logging
    assert (out + err + caplog.text).count("journal not writable") == 1  # once, not per record
    await w.close()


async def test_an_outage_keeps_the_records_and_they_land_when_it_ends(tmp_path: Path):
    db = ScriptedDatabase()
    w = writer(db, tmp_path)
    w.start()
    db.down = True
    for r in records(30):
        w.submit(r)
    assert not await w.flush(0.2)
    assert not w.healthy and w.pending == 30 and db.attempts > 1  # retried meanwhile
    db.down = False
    assert await w.flush(5)
    assert [r["n"] for r in db.rows] == list(range(30)) and w.healthy
    assert list(tmp_path.glob("*-b.jsonl")) == []  # never needed to spill
    assert all(p.stat().st_size == 0 for p in tmp_path.iterdir())  # journal emptied
    await w.close()
    assert list(tmp_path.iterdir()) == []


async def test_beyond_the_buffer_records_spill_to_disk_and_keep_their_order(tmp_path: Path):
    db = ScriptedDatabase()
    w = writer(db, tmp_path, buffer=10)
    w.start()
    db.down = True
    for r in records(25):
        w.submit(r)
    assert w.pending == 10 and w.spilled == 15
    (spill,) = tmp_path.glob("records-*-b.jsonl")
    assert len(spill.read_text().splitlines()) == 15
    db.down = False
    assert await w.flush(5)
    w.submit({"kind": "turn", "n": 25})  # after the spill is drained: memory again
    assert await w.flush(5)
    assert [r["n"] for r in db.rows] == list(range(26))
    assert not spill.exists()
    await w.close()


async def test_what_is_left_at_shutdown_is_written_by_the_next_process(tmp_path: Path):
    db = ScriptedDatabase()
    w = writer(db, tmp_path, buffer=5)
    w.start()
    db.down = True
    for r in records(12):
        w.submit(r)
    await w.close(timeout=0.1)
    assert db.rows == []
    leftovers = sorted(tmp_path.glob("records-*.jsonl"))
    assert sum(len(p.read_text().splitlines()) for p in leftovers) == 12
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in leftovers)  # transcripts inside

    db.down = False
    later = writer(db, tmp_path)
    later.start()
    assert await later.flush(5)
    assert [r["n"] for r in db.rows] == list(range(12))  # memory leftovers first, then spill
    assert list(tmp_path.glob("records-*.jsonl")) == []
    await later.close()


async def test_a_spill_file_another_live_writer_owns_is_left_alone(tmp_path: Path):
    other = tmp_path / "records-1-0-b.jsonl"
    other.write_text(json.dumps({"kind": "turn", "n": 0}) + "\n")
    held = os.open(other, os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)  # as its writer, alive, does
    db = ScriptedDatabase()
    w = writer(db, tmp_path)
    w.start()
    assert await w.flush(1)
    assert db.rows == [] and other.exists()
    await w.close()
    os.close(held)  # that writer is gone now: the next one takes the file
    again = writer(db, tmp_path)
    again.start()
    assert await again.flush(5)
    assert [r["n"] for r in db.rows] == [0] and not other.exists()
    await again.close()


async def test_the_writer_survives_its_spill_file_vanishing(tmp_path: Path):
    db = ScriptedDatabase()
    w = writer(db, tmp_path, buffer=1)
    w.start()
    db.down = True
    for r in records(3):
        w.submit(r)
    for path in tmp_path.glob("records-*.jsonl"):
        path.unlink()  # e.g. an operator cleaning up
    db.down = False
    assert await w.flush(5)
    w.submit({"kind": "turn", "n": 99})  # and it still writes what comes next
    assert await w.flush(5)
    assert [r["n"] for r in db.rows] == [0, 99]
    await w.close()


async def test_a_malformed_record_is_set_aside(tmp_path: Path):
    from bot.storage.database import RecordError

    db = ScriptedDatabase()

    async def apply(batch):
        if any("kind" not in r for r in batch):
            raise RecordError("record None: KeyError")
        await db.apply(batch)

    w = RecordWriter(apply, spill_dir=tmp_path, retry_max_secs=0.02)
    w.start()
    w.submit({"n": "old format"})
    w.submit({"kind": "turn", "n": 1})
    assert await w.flush(5)
    assert [r["n"] for r in db.rows] == [1] and w.rejected == 1
    await w.close()


async def test_a_record_the_database_refuses_is_set_aside_not_retried_for_ever(tmp_path: Path):
    db = ScriptedDatabase()
    w = writer(db, tmp_path)
    w.start()
    w.submit({"kind": "turn", "n": 0})
    w.submit({"kind": "turn", "n": 1, "bad": True})
    w.submit({"kind": "turn", "n": 2})
    assert await w.flush(5)
    assert [r["n"] for r in db.rows] == [0, 2]
    assert w.rejected == 1
    (rejected,) = [json.loads(line) for line in (tmp_path / "rejected.jsonl").open()]
    assert rejected["n"] == 1
    await w.close()


async def test_a_torn_last_line_in_a_left_spill_file_is_set_aside(tmp_path: Path):
    path = tmp_path / "records-999-0-b.jsonl"
    path.write_text(json.dumps({"kind": "turn", "n": 0}) + "\nnot json\n" + '{"kind": "tu')
    db = ScriptedDatabase()
    w = writer(db, tmp_path)
    w.start()
    assert await w.flush(5)
    assert [r["n"] for r in db.rows] == [0]  # the unreadable line is skipped
    assert not path.exists()  # its writer is gone: the torn tail is set aside
    (aside,) = [json.loads(line) for line in (tmp_path / "rejected.jsonl").open()]
    assert aside == {"unfinished_line": '{"kind": "tu'}
    await w.close()


def killed_writer(tmp_path: Path, *, database_up: bool, submitted: list[dict]) -> None:
    """A writer in a process of its own is given ``submitted``, then killed with SIGKILL."""
    script = textwrap.dedent(f"""
        import asyncio, json, sys
        from pathlib import Path
        from bot.storage.writer import RecordWriter

        async def apply(batch):
            if not {database_up}:
                raise ConnectionRefusedError("database down")

        async def main():
            w = RecordWriter(apply, spill_dir=Path({str(tmp_path)!r}), retry_max_secs=0.05)
            w.start()
            for record in json.loads(sys.argv[1]):
                w.submit(record)
            await w.flush(0.5)
            print("submitted", flush=True)
            await asyncio.sleep(60)

        asyncio.run(main())
    """)
    proc = subprocess.Popen(  # a real process, really killed: nothing else stands in for it
        [sys.executable, "-c", script, json.dumps(submitted)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert "submitted\n" in iter(proc.stdout.readline, ""), "the writer's process failed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def call_records(call: str, *, ended: bool) -> list[dict]:
    started = {"kind": "call_started", "call_uuid": call, "n": f"{call} started"}
    turn = {"kind": "turn", "call_uuid": call, "n": f"{call} turn"}
    done = {"kind": "call_ended", "call_uuid": call, "n": f"{call} ended"}
    return [started, turn, done] if ended else [started, turn]


async def test_a_killed_process_leaves_its_unwritten_records_and_open_calls_behind(
    tmp_path: Path,
):
    # The database is down: everything is still in the killed process's memory.
    submitted = call_records("a", ended=False) + call_records("b", ended=True)
    killed_writer(tmp_path, database_up=False, submitted=submitted)
    db = ScriptedDatabase()
    later = writer(db, tmp_path)
    later.start()
    assert await later.flush(5)
    assert db.rows[: len(submitted)] == submitted
    (lost,) = db.rows[len(submitted) :]  # "b" ended; "a" was cut off by the kill
    assert lost["kind"] == "call_lost" and lost["call_uuid"] == "a" and lost["ended_at"]
    assert list(tmp_path.iterdir()) == []
    await later.close()


async def test_once_written_the_journal_keeps_only_the_calls_in_progress(tmp_path: Path):
    submitted = call_records("a", ended=False) + call_records("b", ended=True)
    killed_writer(tmp_path, database_up=True, submitted=submitted)
    (journal,) = tmp_path.glob("records-*-a.jsonl")
    assert [json.loads(line) for line in journal.open()] == submitted[:1]
    db = ScriptedDatabase()
    later = writer(db, tmp_path)
    later.start()
    assert await later.flush(5)
    assert [(r["kind"], r["call_uuid"]) for r in db.rows] == [
        ("call_started", "a"),  # written before; writing it again changes nothing
        ("call_lost", "a"),
    ]
    await later.close()
