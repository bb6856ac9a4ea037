"""Benchmark: N simultaneous calls on one process (prints figures, asserts nothing).

Run: ``.venv/bin/python -m tests.load.concurrent_calls [--calls 50] [--secs 4]``. The service
runs in-process with the ``echo`` pipeline (no speech services) and its embedded PostgreSQL
and Redis in a temporary folder; every call sends speech and records what comes back. Printed:
audio frames received per call against the ideal, the largest gap between frames (what a
caller hears as a dropout), and the largest burst ahead of real time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.service import Service
from bot.settings import load_settings
from observability.logging import configure_logging
from sandbox import speech
from sandbox.caller import FRAME_SECS, CallScript, place_call


async def run(calls: int, secs: float) -> None:
    """Start the service, place the calls at once, print what they received."""
    with tempfile.TemporaryDirectory(prefix="callproc-bench-") as folder:
        settings = load_settings(
            None,
            pipeline="echo",
            data_dir=Path(folder),
            drain_secs=0,
            audiosocket={"host": "127.0.0.1", "port": 0, "max_calls": calls},
            http={"host": "127.0.0.1", "port": 0},
        )
        service = Service(settings)
        await service.start()
        try:
            audio = speech.synthesize("Добрий день, мені потрібні бездротові навушники.", rate=8000)
            script = CallScript(audio=audio, speech_at_secs=0.5, duration_secs=secs)
            started = time.monotonic()
            results = await asyncio.gather(
                *(place_call("127.0.0.1", service.server.port, script) for _ in range(calls))
            )
            took = time.monotonic() - started
            await service.server.wait_idle(5)
        finally:
            await service.stop()
    frames = np.array([r.stats.frames for r in results])
    gaps = np.array([r.stats.max_gap_ms for r in results])
    ideal = secs / FRAME_SECS
    print(f"{calls} calls of {secs:g} s, all done in {took:.1f} s")
    print(
        f"frames received per call: min {frames.min()} / median {np.median(frames):.0f} / "
        f"max {frames.max()} of {ideal:.0f} ideal ({frames.min() / ideal:.0%} worst)"
    )
    print(
        f"largest gap per call: median {np.median(gaps):.1f} ms, worst {gaps.max():.1f} ms; "
        f"largest burst {max(r.stats.max_burst_frames for r in results):.2f} frames"
    )


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--secs", type=float, default=4.0)
    args = parser.parse_args()
    configure_logging("WARNING", json=True)
    asyncio.run(run(args.calls, args.secs))


if __name__ == "__main__":
    main()
