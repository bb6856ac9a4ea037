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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.integration

CALLPROC = [sys.executable, "-m", "bot.cli"]


@dataclass
class Served:
    """A running ``callproc serve``: its environment, AudioSocket target and output."""

    env: dict[str, str]
    target: str
    output: str = ""
    returncode: int | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    return {**env, **extra}


@contextmanager
def _serve(cwd: Path, **extra: str) -> Iterator[Served]:
    """Run ``callproc serve`` on free ports until ready; SIGTERM it on exit."""
    audio_port, http_port = _free_port(), _free_port()
    env = _env(
        CALLPROC_AUDIOSOCKET__HOST="127.0.0.1",
        CALLPROC_AUDIOSOCKET__PORT=str(audio_port),
        CALLPROC_HTTP__HOST="127.0.0.1",
        CALLPROC_HTTP__PORT=str(http_port),
        **{"CALLPROC_PIPELINE": "echo", **extra},
    )
    proc = subprocess.Popen(
        [*CALLPROC, "serve"], env=env, cwd=cwd, stdout=subprocess.PIPE, text=True
    )
    served = Served(env=env, target=f"127.0.0.1:{audio_port}")
    try:
        _wait_ready(http_port, proc)
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        served.output, _ = proc.communicate(timeout=30)
        served.returncode = proc.returncode


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"callproc serve exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1):
                return
        except OSError:
            time.sleep(0.1)  # a bounded poll for readiness, not a guessed delay
    raise AssertionError("callproc serve never became ready")


def _run_once(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``callproc ARGS`` to its end (a command that stops by itself, or at start-up)."""
    return subprocess.run(
        [*CALLPROC, *args],
        env=env if env is not None else _env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _call(served: Served, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = _run_once(cwd, "call", "--target", served.target, *args, env=served.env)
    proc.check_returncode()
    return proc


def test_serve_call_and_sigterm(tmp_path: Path) -> None:
    recording = tmp_path / "call.wav"
    key = "sk-ant-api03-" + "x" * 40
    with _serve(tmp_path, CALLPROC_DRAIN_SECS="5", ANTHROPIC_API_KEY=key) as served:
        call = _call(
            served, tmp_path, "--duration", "5", "--dtmf", "1.5:#", "--record", str(recording)
        )

    assert "ended by server_hangup" in call.stdout
    with wave.open(str(recording)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() >= 8000 * 1.5
    assert served.returncode == 0
    lines = [json.loads(line) for line in served.output.splitlines()]
    assert all({"ts", "level", "logger", "event"} <= line.keys() for line in lines)
    ended = [line for line in lines if line["event"] == "call ended"]
    assert len(ended) == 1 and ended[0]["outcome"] == "bot_hangup" and ended[0]["call_uuid"]
    assert "sk-ant" not in served.output
    assert any(line["event"] == "stopped" for line in lines)

    # The call was kept in the embedded PostgreSQL under ./var; a person reviews it later.
    listed = _run_once(tmp_path, "calls", "list", "--json", env=served.env)
    assert listed.returncode == 0, listed.stderr
    (recorded,) = json.loads(listed.stdout)
    assert recorded["call_uuid"] == ended[0]["call_uuid"]
    assert recorded["outcome"] == "bot_hangup" and recorded["duration_ms"] > 1500


def test_call_sends_a_wav_file_of_any_rate(tmp_path: Path) -> None:
    """`callproc call --wav`: a 16 kHz stereo WAV is resampled, sent and echoed back."""
    speech = tmp_path / "speech.wav"
    t = np.arange(16000) / 16000
    samples = (np.sin(2 * np.pi * 400 * t) * 8000).astype("<i2")
    with wave.open(str(speech), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(np.repeat(samples, 2).tobytes())
    recording = tmp_path / "heard.wav"

    with _serve(tmp_path) as served:
        _call(
            served,
            tmp_path,
            "--wav",
            str(speech),
            "--speech-at",
            "1",
            "--duration",
            "3",
            "--record",
            str(recording),
        )

    with wave.open(str(recording)) as wav:
        heard = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    echo = heard[int(1.3 * 8000) : int(1.8 * 8000)].astype(float)  # inside the echoed second
    peak_hz = np.fft.rfftfreq(len(echo), 1 / 8000)[np.argmax(np.abs(np.fft.rfft(echo)))]
    assert abs(peak_hz - 400) < 10


def test_call_refuses_a_file_that_is_not_a_wav(tmp_path: Path) -> None:
    bogus = tmp_path / "speech.wav"
    bogus.write_text("not audio")
    proc = _run_once(tmp_path, "call", "--wav", str(bogus))
    assert proc.returncode == 2
    assert "not a readable WAV file" in proc.stderr


def test_bad_setting_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    proc = _run_once(tmp_path, "serve", env=_env(CALLPROC_AUDIOSOCKET__PORT="ninety"))
    assert proc.returncode == 2
    assert "CALLPROC_AUDIOSOCKET__PORT='ninety'" in proc.stderr
    assert "valid integer" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_port_in_use_stops_start_up_with_the_setting_to_change(tmp_path: Path) -> None:
    with socket.socket() as taken:  # another process (an earlier serve, say) holds the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _run_once(
            tmp_path,
            "serve",
            env=_env(
                CALLPROC_PIPELINE="echo",
                CALLPROC_WORKERS="1",
                CALLPROC_HTTP__HOST="127.0.0.1",
                CALLPROC_HTTP__PORT=str(port),
                CALLPROC_AUDIOSOCKET__HOST="127.0.0.1",
                CALLPROC_AUDIOSOCKET__PORT=str(_free_port()),
            ),
            timeout=120,
        )
    assert proc.returncode == 2, proc.stderr
    assert f"CALLPROC_HTTP__PORT (now {port})" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("wanted", "says"),
    [
        ("nosuch", "no shipped scenario 'nosuch'"),
        ("missing.yaml", "missing.yaml: cannot read"),
        ("broken.yaml", "broken.yaml: needs a 'steps' list"),
    ],
)
def test_demo_names_a_scenario_it_cannot_run_in_one_line(tmp_path: Path, wanted, says) -> None:
    (tmp_path / "broken.yaml").write_text("name: broken\n")
    proc = _run_once(tmp_path, "demo", wanted)
    assert proc.returncode == 2
    assert says in proc.stderr
    assert "Traceback" not in proc.stderr
