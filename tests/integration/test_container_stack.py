"""The compose stack, built and run for real in Docker: what an operator's `up -d` gives.

The image is built from a Debian base made here from Debian's packages (no image registry
is reachable); PostgreSQL, Redis and Prometheus are substitutes built the same way
(``tests/docker/compose.test.yml``); Grafana, Alertmanager and the proxy are checked by
``config`` only. Speech, Claude and the store are the sandbox stand-ins, in a container of the
call processor's own image. The test starts the Docker engine if it is not running (and
stops it after), and fails, never skips, where Docker cannot run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import __version__
from sandbox.caller import ArrivalStats, CallScript, place_call
from sandbox.credentials import fake_service_account_json

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "local/debian-python:bookworm"
APP_IMAGE = "callproc-test/call-processor:latest"
PROJECT_FILES = [
    "Dockerfile",
    ".dockerignore",
    "requirements.lock",
    "alembic.ini",
    "docker-compose.yml",
    "docker",
    "bot",
    "transports",
    "processors",
    "observability",
    "sandbox",
    "prompts",
    "migrations",
    "tests/docker",
]
SERVICES = ["postgres", "redis", "migrate", "call-processor", "prometheus", "backup"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        said = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\n{said}")
    return proc


def _until(what: str, probe, timeout: float = 120, every: float = 1.0):
    """Poll ``probe`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except Exception as exc:  # not up yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@dataclass
class Stack:
    """The running stack: where it listens and how to drive its compose project."""

    project: Path
    env: dict[str, str]
    compose_cmd: list[str]
    http: str
    audiosocket_port: int
    secrets: dict[str, str]

    def compose(self, *args: str, timeout: float = 600, check: bool = True):
        files = ["-f", "docker-compose.yml", "-f", "tests/docker/compose.test.yml"]
        return _run(
            [*self.compose_cmd, *files, *args],
            cwd=self.project,
            env=self.env,
            timeout=timeout,
            check=check,
        )

    def sql(self, database: str, query: str) -> str:
        out = self.compose(
            "exec",
            "-T",
            "-e",
            f"PGPASSWORD={self.secrets['POSTGRES_PASSWORD']}",
            "postgres",
            "psql",
            "-U",
            "postgres",
            "-d",
            database,
            "-tAc",
            query,
            timeout=60,
        )
        return out.stdout.strip()


@pytest.fixture(scope="module")
def docker() -> Iterator[None]:
    """A running Docker engine: the one already up, or one started (and stopped) here."""
    proc = _run([str(ROOT / "scripts/docker-daemon.sh"), "start"], timeout=600, check=False)
    if proc.returncode != 0:
        pytest.fail(f"Docker cannot run here, so the container test cannot: {proc.stderr}")
    try:
        _run([str(ROOT / "scripts/docker-base.sh"), BASE_IMAGE], timeout=900)
        yield
    finally:
        if proc.stdout.strip() == "started":
            _run([str(ROOT / "scripts/docker-daemon.sh"), "stop"], check=False)


def _compose_cmd() -> list[str]:
    if _run(["docker", "compose", "version"], check=False).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"]


@pytest.fixture(scope="module")
def stack(docker: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    project = tmp_path_factory.mktemp("stack")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(source, project / name)
    (project / "secrets").mkdir(mode=0o700)
    http_port, as_port = _free_port(), _free_port()
    passwords = {
        n: secrets.token_urlsafe(16)
        for n in ("POSTGRES_PASSWORD", "DB_OWNER_PASSWORD", "DB_APP_PASSWORD")
    }
    dotenv = {
        **passwords,
        "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "BIND_ADDRESS": "127.0.0.1",
        "HTTP_PORT": str(http_port),
        "AUDIOSOCKET_PORT": str(as_port),
        "GRAFANA_PORT": str(_free_port()),
        "CALLPROC_DRAIN_SECS": "5",
    }
    env_file = project / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in dotenv.items()))
    env_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    name = f"callproc-test-{uuid.uuid4().hex[:8]}"
    env |= {
        "COMPOSE_PROJECT_NAME": name,
        "APP_IMAGE": APP_IMAGE,
        "BASE_IMAGE": BASE_IMAGE,
        "APP_VERSION": __version__,
    }
    stack = Stack(project, env, _compose_cmd(), f"http://127.0.0.1:{http_port}", as_port, passwords)
    try:
        stack.compose("build", "call-processor", timeout=1800)
        stack.compose("build", "postgres", "redis", "prometheus", timeout=900)  # FROM the app
        stack.compose("up", "-d", "stand-ins")
        ready = _until(
            "the stand-ins' addresses",
            lambda: next(
                (
                    json.loads(line[line.index("{") :])
                    for line in stack.compose("logs", "--no-color", "stand-ins").stdout.splitlines()
                    if '"stt"' in line
                ),
                None,
            ),
            timeout=120,
        )
        for key in ("stt", "tts", "llm", "store"):
            env[f"TEST_{key.upper()}_PORT"] = ready[key].rsplit(":", 1)[1].rstrip("/")
        stack.compose("up", "-d", *SERVICES, timeout=900)
        _until("readiness", lambda: _get(f"{stack.http}/health/ready")[0] == 200, timeout=180)
        yield stack
    finally:
        print(stack.compose("logs", "--no-color", "--tail", "60", check=False).stdout)
        stack.compose("down", "-v", "--remove-orphans", timeout=300, check=False)


def test_the_compose_file_configures_the_whole_stack(stack: Stack) -> None:
    out = _run(
        [*stack.compose_cmd, "-f", "docker-compose.yml", "config"], cwd=stack.project, env=stack.env
    ).stdout
    for image in ("grafana/grafana:", "prom/alertmanager:", "nginx:", "pgvector/pgvector:"):
        assert image in out
    # PostgreSQL and Redis publish nothing: only the LAN-bound ports of the service and proxy
    assert out.count("published:") in (0, 3) and out.count("127.0.0.1") >= 3
    assert "0.0.0.0:" not in out.replace("CALLPROC_AUDIOSOCKET__HOST: 0.0.0.0", "").replace(
        "CALLPROC_HTTP__HOST: 0.0.0.0", ""
    )


def test_the_service_is_ready_healthy_and_says_its_version(stack: Stack) -> None:
    assert _get(f"{stack.http}/health") == (200, {"status": "ok", "version": __version__})
    container = stack.compose("ps", "-q", "call-processor").stdout.strip()
    health = _until(
        "docker's health check",
        lambda: (
            _run(["docker", "inspect", "-f", "{{.State.Health.Status}}", container]).stdout.strip()
            == "healthy"
        ),
        timeout=90,
    )
    assert health
    label = _run(
        [
            "docker",
            "inspect",
            "-f",
            '{{index .Config.Labels "org.opencontainers.image.version"}}',
            APP_IMAGE,
        ]
    )
    assert label.stdout.strip() == __version__


def test_it_runs_as_a_non_root_user_under_an_init(stack: Stack) -> None:
    uid = stack.compose("exec", "-T", "call-processor", "id", "-u").stdout.strip()
    init = stack.compose("exec", "-T", "call-processor", "cat", "/proc/1/cmdline").stdout
    assert uid == "10001"
    assert init.split("\0")[:4] == ["tini", "--", "python3", "-m"]


def test_a_call_gets_the_greeting_paced_and_is_stored(stack: Stack) -> None:
    import asyncio

    call_id = uuid.uuid4()
    result = asyncio.run(
        place_call(
            "127.0.0.1", stack.audiosocket_port, CallScript(duration_secs=6.0), call_id=call_id
        )
    )
    spans = result.bot_speech_spans()
    assert spans, "the caller heard no greeting"
    pacing = ArrivalStats.from_arrivals(result.arrivals)
    assert pacing.frames >= 200  # about 6 s of 20 ms frames: the line was never silent
    assert pacing.max_burst_frames <= 4, pacing.summary()
    stored = _until(
        "the call in PostgreSQL",
        lambda: stack.sql(
            "callproc", f"SELECT outcome FROM callproc.calls WHERE call_uuid = '{call_id}'"
        ),
        timeout=60,
    )
    assert stored == "caller_hangup"


def test_prometheus_scrapes_the_service(stack: Stack) -> None:
    def up() -> bool:
        out = stack.compose(
            "exec",
            "-T",
            "prometheus",
            "promtool",
            "query",
            "instant",
            "http://localhost:9090",
            'up{job="callproc"}',
            check=False,
        ).stdout
        return "=> 1 @" in out

    assert _until("prometheus scraping call-processor:8080", up, timeout=90, every=2)


def test_the_backup_job_writes_a_dump_that_restores(stack: Stack) -> None:
    calls = int(stack.sql("callproc", "SELECT count(*) FROM callproc.calls"))
    assert calls >= 1
    before = set((stack.project / "backups").glob("callproc-*.dump"))
    stack.compose("restart", "backup")  # it dumps at start, then daily
    dump = _until(
        "a new dump",
        lambda: next(iter(set((stack.project / "backups").glob("callproc-*.dump")) - before), None),
        timeout=120,
    )
    restore = (
        f"createdb restored && pg_restore --no-owner -d restored /backups/{dump.name} && "
        "psql -d restored -tAc 'SELECT count(*) FROM callproc.calls'"
    )
    out = stack.compose(
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        "-e",
        "PGUSER=postgres",
        "-e",
        f"PGPASSWORD={stack.secrets['POSTGRES_PASSWORD']}",
        "backup",
        "-c",
        restore,
        timeout=180,
    ).stdout
    assert out.strip().splitlines()[-1] == str(calls)


def test_a_key_the_service_cannot_use_stops_it_with_the_fix(stack: Stack) -> None:
    folder = stack.project / "secrets"
    key = folder / "google-key.json"
    key.write_text(fake_service_account_json())
    key.chmod(0o644)

    def serve() -> subprocess.CompletedProcess[str]:
        mount = f"{folder}:/run/secrets/callproc:ro"
        where = "CALLPROC_GOOGLE_CREDENTIALS=/run/secrets/callproc/google-key.json"
        return _run(
            ["docker", "run", "--rm", "-v", mount, "-e", where, APP_IMAGE, "serve"],
            check=False,
            timeout=120,
        )

    unreadable = serve()  # the folder is root's, mode 700: user 10001 cannot look inside
    if os.getuid() == 0:
        os.chown(folder, 10001, 10001)
    else:  # the container test needs root or sudo anyway (Docker, apt)
        _run(["sudo", "-n", "chown", "10001:10001", str(folder)])
    too_open = serve()

    for proc in (unreadable, too_open):
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot be read by this process (user id 10001)" in unreadable.stderr
    assert "chmod 600 /run/secrets/callproc/google-key.json" in too_open.stderr


def test_stopping_the_service_drains_it_and_readiness_goes_away(stack: Stack) -> None:
    container = stack.compose("ps", "-q", "call-processor").stdout.strip()
    began = time.monotonic()
    stack.compose("stop", "call-processor", timeout=120)
    print(f"docker compose stop call-processor: {time.monotonic() - began:.1f} s")
    state = _run(["docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", container])
    assert state.stdout.split() == ["exited", "0"]  # SIGTERM handled, not killed
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{stack.http}/health/ready", timeout=5)
