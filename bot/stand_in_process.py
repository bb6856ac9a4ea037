"""The local stand-ins in a process of their own (``python -m sandbox``), and how to reach them.

Used where their CPU must not be counted as the service's or where several service processes
share them: ``callproc bench`` and ``callproc serve`` with several workers and no credentials
(one set of stand-ins, and one reference store, for all workers).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from observability.metrics import cpu_seconds

START_TIMEOUT_SECS = 120.0


class StandIns:
    """The stand-in process.

    Args:
        log_path: Where its stderr goes (None: inherited).
    """

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.info: dict[str, Any] = {}

    async def start(self) -> None:
        """Start the process and read where everything listens."""
        log = self.log_path.open("wb") if self.log_path is not None else None
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sandbox", stdout=asyncio.subprocess.PIPE, stderr=log
            )
        finally:
            if log is not None:
                log.close()
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), START_TIMEOUT_SECS)
        if not line:
            where = f"; see {self.log_path}" if self.log_path else ""
            raise RuntimeError(f"the stand-ins did not start{where}")
        self.info = json.loads(line)

    def cpu_secs(self) -> float:
        """CPU time the stand-ins have used so far (0 when not running)."""
        if self.proc is None or self.proc.returncode is not None:
            return 0.0
        try:
            return cpu_seconds([psutil.Process(self.proc.pid)])
        except psutil.NoSuchProcess:  # gone between the check and the lookup
            return 0.0

    async def stt_stats(self) -> dict[str, Any]:
        """What the STT stand-in received since the last reset."""
        url = f"{self.info['control']}/stats"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return (await response.json())["stt"]

    async def reset(self) -> None:
        """Forget what the stand-ins recorded so far."""
        url = f"{self.info['control']}/reset"
        async with aiohttp.ClientSession() as session, session.post(url) as response:
            response.raise_for_status()

    async def stop(self) -> None:
        """Stop the process."""
        await terminate(self.proc, 15)


def stand_in_env(info: dict[str, Any], *, speech: bool = True, llm: bool = True,
                 store: bool = True) -> dict[str, str]:  # fmt: skip
    """The service's environment variables that point it at the running stand-ins."""
    env: dict[str, str] = {}
    if speech:
        env["CALLPROC_SANDBOX__STT_ADDRESS"] = info["stt"]
        env["CALLPROC_SANDBOX__TTS_ADDRESS"] = info["tts"]
    if llm:
        env["CALLPROC_SANDBOX__LLM_URL"] = info["llm"]
    if store:
        env["CALLPROC_STORE__URL"] = info["store"]
        env["CALLPROC_STORE__API_KEY"] = info["store_key"]
    return env


async def terminate(proc: asyncio.subprocess.Process | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if proc is None or proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
