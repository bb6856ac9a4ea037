"""Writes call records to PostgreSQL in the background, and loses none when it is down.

A call hands each record to :meth:`RecordWriter.submit`, which never blocks on the database
and never raises: the audio path does not wait for it. One background task writes records
in order, in batches. While PostgreSQL is unreachable the records stay in memory (up to
``buffer`` of them) and the task retries with backoff; beyond that they are appended to a
spill file, and written from there once the database is back. Records are idempotent, so
writing one twice (a replay after a crash mid-batch) changes nothing.

Nothing lives only in memory: every record kept there is first appended to the process's
journal (write-ahead; one ``write`` to the page cache, no ``fsync``: it survives the process
being killed, not the machine losing power). The journal is emptied whenever memory is,
keeping only the ``call_started`` of the calls still in progress. So a process that dies,
even by SIGKILL, leaves its unwritten records and its open calls behind: the next writer to
start writes the records and ends each open call as ``worker_lost`` (``call_lost``). A clean
shutdown leaves the journal too when the database could not take everything in time.

Journal and spill files (``<spill_dir>/records-<pid>-<run>-{a,b}.jsonl``, mode 0600: they
hold transcripts) are owned through an exclusive ``flock``: a live writer holds its own, a
dead one's is released by the kernel, and a new writer adopts exactly the files it can lock
- so two processes never replay the same file, and a reused process id does not matter.

A record the database refuses for what it contains (an integrity or data error, or one that
cannot even be turned into SQL) would block the queue forever; it is set aside in
``rejected.jsonl`` with a log line instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from bot.storage import records
from bot.storage.database import RecordError
from bot.storage.records import Record
from observability.logging import get_logger

log = get_logger("bot.storage.writer")

Apply = Callable[[list[Record]], Awaitable[None]]
BATCH = 200
RETRY_FIRST_SECS = 0.2
# What the database says about a record's *content*: retrying will not help.
_REFUSED = (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError, RecordError)


class _SpillFile:
    """An append-only JSON-lines file read from the front as its records get written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0  # bytes already written to the database
        self._lock: int | None = None

    def lock(self) -> bool:
        """Own the file (create it if needed); False if another live process owns it."""
        if self._lock is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock = fd
        return True

    @property
    def owned(self) -> bool:
        """Whether this process holds the file's lock."""
        return self._lock is not None

    def release(self) -> None:
        """Give up ownership (the process's end does it too)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def size(self) -> int:
        """Bytes in the file (0 if it is gone)."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, records: list[Record]) -> None:
        """Append records, through the owner's descriptor when this process owns the file."""
        lines = b"".join(map(_line, records))
        if self._lock is not None:
            _write_all(self._lock, lines)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            _write_all(fd, lines)
        finally:
            os.close(fd)

    def reset(self, lines: bytes) -> None:
        """Empty the (owned) file and leave only ``lines`` in it."""
        assert self._lock is not None
        os.ftruncate(self._lock, 0)
        if lines:
            _write_all(self._lock, lines)

    def read_all(self) -> list[Record]:
        """Every readable record in the file (a torn or unreadable line is left out)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        found = []
        for line in data.splitlines(keepends=True):
            if line.endswith(b"\n"):
                with contextlib.suppress(ValueError):
                    found.append(json.loads(line))
        return found

    def peek(self, limit: int) -> tuple[list[Record], int]:
        """Up to ``limit`` records from the read position, and the offset after them."""
        records: list[Record] = []
        offset = self.offset
        try:
            f = self.path.open("rb")
        except FileNotFoundError:
            return records, offset
        with f:
            f.seek(offset)
            while len(records) < limit:
                line = f.readline()
                if not line.endswith(b"\n"):
                    break  # end of file, or a line still being written
                offset += len(line)
                try:
                    records.append(json.loads(line))
                except ValueError:
                    log.warning("spill file line unreadable, skipped", file=self.path.name)
        return records, offset

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):  # gone, or never was
            self.path.unlink()
        self.offset = 0
        self.release()


def _line(record: Record) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _OpenCalls(dict[str, bytes]):
    """The ``call_started`` lines of the calls that started and have not ended, by call id."""

    def note(self, record: Record) -> None:
        kind, call = record.get("kind"), record.get("call_uuid")
        if kind == "call_started":
            with contextlib.suppress(TypeError, ValueError):  # unencodable: never written
                self[call] = _line(record)  # type: ignore[index]
        elif kind in ("call_ended", "call_lost"):
            self.pop(call, None)  # type: ignore[arg-type]


class RecordWriter:
    """The background writer of call records.

    Args:
        apply: Writes a batch in one transaction (``Database.apply``).
        spill_dir: Where spill files and rejected records go.
        buffer: Records kept in memory before spilling to disk.
        retry_max_secs: Longest pause between attempts while the database is down.
        on_failure: Awaited after a failed attempt (e.g. to drop the connection pool).
    """

    def __init__(
        self,
        apply: Apply,
        *,
        spill_dir: Path,
        buffer: int = 5000,
        retry_max_secs: float = 5.0,
        on_failure: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._apply = apply
        self._dir = spill_dir
        self._buffer = buffer
        self._retry_max = retry_max_secs
        self._on_failure = on_failure
        self._memory: deque[Record] = deque()
        run = f"records-{os.getpid()}-{time.time_ns():x}"
        self._spill = _SpillFile(spill_dir / f"{run}-b.jsonl")
        self._journal = _SpillFile(spill_dir / f"{run}-a.jsonl")  # what memory holds
        self._journal_whole = True  # the journal holds every record memory holds
        self._open = _OpenCalls()  # the calls in progress
        self._spilling = False  # records go to the spill file until it is drained
        self._backlog: list[_SpillFile] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.failing_since: float | None = None  # monotonic time of the first failed attempt
        self.written = 0
        self.spilled = 0
        self.rejected = 0
        self.lost = 0

    # The calls' side

    def submit(self, record: Record) -> None:
        """Queue ``record`` for writing; returns at once and never raises."""
        self._open.note(record)
        if self._spilling or len(self._memory) >= self._buffer:
            try:
                self._spill.lock()  # ours for as long as this process lives
                self._spill.append([record])
            except Exception as e:  # a full disk, an unencodable text: say so, go on
                self.lost += 1
                log.error("record lost: spill file not writable", error=type(e).__name__)
            else:
                if not self._spilling:
                    log.warning("record buffer full, spilling to disk", file=self._spill.path.name)
                self._spilling = True
                self.spilled += 1
        else:
            self._journal_append(record)
            self._memory.append(record)
        self._idle.clear()
        self._wake.set()

    def _journal_append(self, record: Record) -> None:
        if not self._journal_whole:
            return  # it lacks records memory holds; it starts afresh once memory is written
        try:
            self._journal.lock()  # ours for as long as this process lives
            self._journal.append([record])
        except Exception as e:  # a full disk, a read-only folder: memory still has it
            self._journal_whole = False
            log.error(
                "record journal not writable, records in memory only until it is",
                error=type(e).__name__,
            )

    def _journal_reset(self) -> None:
        """Memory is written: the journal keeps only the calls still in progress."""
        try:
            if not self._journal.lock():
                return
            self._journal.reset(b"".join(self._open.values()))
        except Exception as e:
            if self._journal_whole:
                log.error("record journal not writable", error=type(e).__name__)
            self._journal_whole = False
            return
        if not self._journal_whole:
            self._journal_whole = True
            log.info("record journal writable again")

    @property
    def pending(self) -> int:
        """Records in memory not yet written (spilled ones not counted)."""
        return len(self._memory)

    @property
    def healthy(self) -> bool:
        """Whether the last write attempt succeeded."""
        return self.failing_since is None

    # Lifecycle

    def start(self) -> None:
        """Start writing, beginning with spill files left by processes that are gone."""
        mine = {self._spill.path}
        for path in sorted(self._dir.glob("records-*.jsonl")):
            left = _SpillFile(path)
            if path not in mine and left.lock():
                self._backlog.append(left)
        if self._backlog:
            log.info("writing records left by an earlier run", files=len(self._backlog))
            self._end_lost_calls()
            self._idle.clear()
            self._wake.set()
        self._task = asyncio.create_task(self._run(), name="record-writer")

    def _end_lost_calls(self) -> None:
        """Calls that started in the adopted files and never ended: their process died."""
        open_calls = _OpenCalls()
        for spill in self._backlog:
            for record in spill.read_all():
                open_calls.note(record)
        lost = list(open_calls)
        if not lost:
            return
        at = records.now_iso()
        try:
            self._backlog[-1].append([records.call_lost(call, ended_at=at) for call in lost])
        except Exception as e:
            log.error("calls of a dead process not closed", error=type(e).__name__)
            return
        log.warning("calls ended by a process that died, recorded as lost", calls=len(lost))

    async def flush(self, timeout: float) -> bool:
        """Wait until every queued record is written; False if ``timeout`` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float = 5.0) -> None:
        """Write what can be written within ``timeout``; keep the rest in a spill file."""
        if self._task is not None:
            await self.flush(timeout)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._memory:
            # The journal (older than anything in the spill file) holds them already, unless
            # it could not be written: then try once more.
            try:
                if not self._journal_whole and self._journal.lock():
                    self._journal.reset(b"".join(map(_line, self._memory)))
                log.warning("records kept for the next start", records=len(self._memory))
            except Exception as e:
                self.lost += len(self._memory)
                log.error("records lost at shutdown", error=type(e).__name__)
            self._memory.clear()
        elif self._journal.owned and not self._open:
            self._journal.remove()  # nothing left in it
        for spill in (*self._backlog, self._spill, self._journal):
            spill.release()

    # The writing task

    async def _run(self) -> None:
        first = min(RETRY_FIRST_SECS, self._retry_max)
        delay = first
        while True:
            await self._wake.wait()
            try:
                batch, commit = self._next_batch()
            except Exception as e:  # the spill folder itself failing: keep trying, slowly
                log.error("spill file unreadable", error=type(e).__name__)
                await asyncio.sleep(self._retry_max)
                continue
            if not batch:
                if commit is not None:
                    self._commit(commit)
                    continue
                self._wake.clear()
                self._idle.set()
                continue
            try:
                await self._write(batch)
            except Exception as e:  # any failure: keep the records, try again later
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                    log.warning("database write failed, retrying", error=type(e).__name__)
                if self._on_failure is not None:
                    with contextlib.suppress(Exception):
                        await self._on_failure()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            if self.failing_since is not None:
                log.info(
                    "database writes resumed",
                    outage_secs=round(time.monotonic() - self.failing_since, 1),
                )
                self.failing_since = None
            delay = first
            self.written += len(batch)
            if commit is not None:
                self._commit(commit)

    def _commit(self, commit: Callable[[], None]) -> None:
        try:
            commit()
        except Exception as e:  # bookkeeping of a spill file; its records are written
            log.error("spill file bookkeeping failed", error=type(e).__name__)

    def _next_batch(self) -> tuple[list[Record], Callable[[], None] | None]:
        """The oldest records not yet written, and what to do once they are."""
        if self._memory:
            batch = [self._memory[i] for i in range(min(BATCH, len(self._memory)))]

            def done_memory() -> None:
                for _ in batch:
                    self._memory.popleft()
                if not self._memory:
                    self._journal_reset()

            return batch, done_memory
        for spill in (*self._backlog, self._spill):
            if not spill.path.exists():
                self._forget(spill)
                continue
            records, offset = spill.peek(BATCH)
            if not records and offset == spill.offset:
                if spill.size() > offset:
                    # Only an unfinished last line: its writer died mid-line (ours never does).
                    self._set_aside_tail(spill)
                else:
                    self._forget(spill)
                continue

            def done_file(spill: _SpillFile = spill, offset: int = offset) -> None:
                spill.offset = offset
                if spill.size() <= offset:  # nothing was appended meanwhile
                    self._forget(spill)

            return records, done_file
        return [], None

    def _forget(self, spill: _SpillFile) -> None:
        """A spill file is fully written (or gone): remove it."""
        spill.remove()
        if spill is self._spill:
            self._spilling = False
        elif spill in self._backlog:
            self._backlog.remove(spill)

    def _set_aside_tail(self, spill: _SpillFile) -> None:
        with spill.path.open("rb") as f:
            f.seek(spill.offset)
            tail = f.read().decode(errors="replace")
        log.warning("spill file ends mid-record, set aside", file=spill.path.name)
        self._reject({"unfinished_line": tail})
        self._forget(spill)

    def _reject(self, record: Record) -> None:
        self.rejected += 1
        try:
            _SpillFile(self._dir / "rejected.jsonl").append([record])
        except Exception as e:
            log.error("rejected record not kept", error=type(e).__name__)

    async def _write(self, batch: list[Record]) -> None:
        try:
            await self._apply(batch)
        except _REFUSED:
            # One of them is refused for its content: write them one by one, set it aside.
            for record in batch:
                try:
                    await self._apply([record])
                except _REFUSED as e:
                    log.error(
                        "record refused by the database",
                        kind=record.get("kind"),
                        error=type(e).__name__,
                    )
                    self._reject(record)
