"""``callproc demo``: a whole call on this machine, no accounts, no services to install.

Starts the service in-process on free local ports, places a scripted call with the
simulated caller, saves what the caller heard to a WAV file and prints what happened.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

from bot.service import Service
from bot.settings import Settings
from processors.echo import melody, tone
from sandbox.caller import CallResult, CallScript, place_call

DEMO_WAV = Path("var/demo/echo-call.wav")


def demo_script(rate: int = 8000) -> CallScript:
    """Caller "speech" (a warble the echo sends back), a melody cut short by '*', then '#'."""
    speech = melody((300.0, 420.0, 350.0, 500.0, 380.0), 0.3, rate) + tone(0, 0.5, rate)
    return CallScript(
        audio=speech,
        rate=rate,
        speech_at_secs=1.0,
        dtmf=((3.5, "5"), (4.5, "1"), (6.0, "*"), (7.0, "#")),
        duration_secs=15.0,
    )


async def run_demo(settings: Settings, out: Path = DEMO_WAV) -> CallResult:
    """Run the demo call and print its report; return the call's result."""
    settings = settings.model_copy(deep=True)
    settings.audiosocket.host = "127.0.0.1"
    settings.audiosocket.port = 0
    settings.http.host = "127.0.0.1"
    settings.http.port = 0
    service = Service(settings)
    await service.start()
    try:
        print(
            f"service up: audiosocket 127.0.0.1:{service.server.port}, "
            f"http http://127.0.0.1:{service.http_port}"
        )
        print(f"readiness: {await _get_json(service.http_port, '/health/ready')}")
        script = demo_script(settings.audiosocket.sample_rate)
        print(
            "calling: speech at 1.0 s, keys 5 @3.5 s, 1 (melody) @4.5 s, * (interrupt) @6.0 s,"
            " # (bot hangs up) @7.0 s"
        )
        started = time.monotonic()
        result = await place_call("127.0.0.1", service.server.port, script)
        print(
            f"call {result.call_id} ended by {result.ended_by} after "
            f"{time.monotonic() - started:.2f} s"
        )
        print(f"bot audio timing: {result.stats.summary()}")
        print(
            f"recording: {result.save_wav(out)} "
            f"({len(result.received) / 2 / result.rate:.2f} s at {result.rate} Hz)"
        )
    finally:
        await service.stop()
    return result


async def _get_json(port: int, path: str) -> dict:
    def fetch() -> dict:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())

    return await asyncio.to_thread(fetch)
