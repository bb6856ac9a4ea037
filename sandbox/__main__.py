"""Run every stand-in in a process of its own: ``python -m sandbox``.

What ``callproc bench`` (and anyone measuring the service) starts, so that the stand-ins'
CPU is not counted as the service's: Google STT and TTS, Anthropic, the reference store, and
a small control endpoint. The first line on stdout is JSON with the addresses, the tone codes
of the scenario lines and the knobs the stand-ins run with, e.g.::

    {"stt": "127.0.0.1:40111", "tts": "127.0.0.1:40112", "llm": "http://127.0.0.1:40113",
     "store": "http://127.0.0.1:40114", "store_key": "sandbox-store-key",
     "control": "http://127.0.0.1:40115", "codes": {...}, "knobs": {...}}

Point the service at them with ``CALLPROC_SANDBOX__STT_ADDRESS``,
``CALLPROC_SANDBOX__TTS_ADDRESS``, ``CALLPROC_SANDBOX__LLM_URL`` and ``CALLPROC_STORE__URL``
(+ ``..._API_KEY``). ``GET <control>/stats`` answers what the STT stand-in received per
stream; ``POST <control>/reset`` forgets it. SIGTERM or SIGINT stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import signal
import sys
from typing import Any

from aiohttp import web

from sandbox.stack import SandboxStack
from sandbox.store.server import ReferenceStore

STORE_KEY = "sandbox-store-key"


def stt_stats(stack: SandboxStack) -> dict[str, Any]:
    """Audio the STT stand-in received: per stream, and how much per second it was open."""
    streams = []
    for record in stack.stt.streams:
        if record.closed_wall is None:
            continue  # still open: its length is not known yet
        open_secs = record.closed_wall - record.opened_wall
        streams.append(
            {"audio_secs": record.audio_secs, "open_secs": open_secs, "requests": record.requests}
        )
    return {
        "streams": streams,
        "open_streams": sum(r.closed_wall is None for r in stack.stt.streams),
    }


async def serve(host: str) -> None:
    """Start the stand-ins, print where they are, serve until a signal."""
    stack = SandboxStack()
    store = ReferenceStore(api_key=STORE_KEY)
    await stack.start(host)
    await store.start(host, 0)

    async def stats(_: web.Request) -> web.Response:
        return web.json_response({"stt": stt_stats(stack)})

    async def reset(_: web.Request) -> web.Response:
        stack.stt.streams.clear()
        stack.llm.requests.clear()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    control_port = runner.addresses[0][1]
    ready = {
        "stt": stack.stt_address,
        "tts": stack.tts_address,
        "llm": stack.llm_base_url,
        "store": store.base_url,
        "store_key": STORE_KEY,
        "control": f"http://{host}:{control_port}",
        "codes": stack.codes,
        "knobs": {
            "stt": dataclasses.asdict(stack.stt.knobs),
            "tts": dataclasses.asdict(stack.tts.knobs),
            "llm": dataclasses.asdict(stack.llm.knobs),
        },
    }
    print(json.dumps(ready, ensure_ascii=False, default=str), flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        await runner.cleanup()
        await store.stop()
        await stack.stop()


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    args = parser.parse_args()
    asyncio.run(serve(args.host))
    sys.exit(0)


if __name__ == "__main__":
    main()
