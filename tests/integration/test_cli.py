"""The ``callproc`` command as a person runs it: real processes, real signals, real TCP."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import wave
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CALLPROC = [sys.executable, "-m", "bot.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    return {**env, **extra}


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"callproc serve exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("callproc serve never became ready")


def test_serve_call_and_sigterm(tmp_path: Path) -> None:
    audio_port, http_port = _free_port(), _free_port()
    env = _env(
        CALLPROC_AUDIOSOCKET__HOST="127.0.0.1",
        CALLPROC_AUDIOSOCKET__PORT=str(audio_port),
        CALLPROC_HTTP__HOST="127.0.0.1",
        CALLPROC_HTTP__PORT=str(http_port),
        CALLPROC_DRAIN_SECS="5",
        ANTHROPIC_API_KEY="sk-ant-api03-" + "x" * 40,
    )
    server = subprocess.Popen(
        [*CALLPROC, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    try:
        _wait_ready(http_port, server)
        recording = tmp_path / "call.wav"
        call = subprocess.run(
            [
                *CALLPROC,
                "call",
                "--target",
                f"127.0.0.1:{audio_port}",
                "--duration",
                "5",
                "--dtmf",
                "1.5:#",
                "--record",
                str(recording),
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert "ended by server_hangup" in call.stdout
        with wave.open(str(recording)) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
            assert wav.getnframes() >= 8000 * 1.5
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=30)
    assert server.returncode == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert all({"ts", "level", "logger", "event"} <= line.keys() for line in lines)
    ended = [line for line in lines if line["event"] == "call ended"]
    assert len(ended) == 1 and ended[0]["outcome"] == "bot_hangup" and ended[0]["call_uuid"]
    assert "sk-ant" not in out
    assert any(line["event"] == "stopped" for line in lines)


def test_bad_setting_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*CALLPROC, "serve"],
        env=_env(CALLPROC_AUDIOSOCKET__PORT="ninety"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "CALLPROC_AUDIOSOCKET__PORT='ninety'" in proc.stderr
    assert "valid integer" in proc.stderr
    assert "Traceback" not in proc.stderr
