"""A whole demo call with an API key and a caller's phone number in it: the logs hold neither.

The demo runs as a person runs it (``callproc demo order``, its own process, embedded
storage), with ``ANTHROPIC_API_KEY`` set - so the real Anthropic client carries the key,
pointed by ``CALLPROC_LLM__BASE_URL`` at a local stand-in - and the order scenario, where the
caller dictates a phone number and the dialplan reports the caller's number.
"""

import asyncio
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.anthropic_api import AnthropicStandIn, Script
from sandbox.scenario import ASSISTANT_SCRIPT

pytestmark = pytest.mark.integration

PHONE_FORMS = ("067 123 45 67", "0671234567", "380671234567", "+380 67 123 45 67", "123 45 67")


async def test_no_key_and_no_phone_number_reaches_the_logs(tmp_path: Path):
    key = "sk-ant-api03-" + secrets.token_urlsafe(60)
    stand_in = AnthropicStandIn(Script.from_file(ASSISTANT_SCRIPT))
    await stand_in.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    env.update(ANTHROPIC_API_KEY=key, CALLPROC_LLM__BASE_URL=stand_in.base_url)
    try:
        done = await _run([sys.executable, "-m", "bot.cli", "demo", "order"], tmp_path, env)
    finally:
        await stand_in.stop()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "llm: anthropic (" in done.stdout  # the real client, with the key
    assert "expectations ok" in done.stdout, done.stdout[-3000:]
    assert stand_in.requests  # the model was asked, with the key

    logs = sorted((tmp_path / "var").rglob("*.log"))
    assert logs, "no log files"
    text = "\n".join(p.read_text(errors="replace") for p in logs) + done.stderr
    assert "sk-ant" not in text
    assert key[-20:] not in text
    for form in PHONE_FORMS:
        assert form not in text, form
    assert not re.search(r"\b0\d{9}\b", text)
    # ... while the lines that should be there are: the call, its turns, the order.
    assert '"event": "turn"' in text and '"event": "order placed"' in text


async def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    process = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 300)
    return subprocess.CompletedProcess(args, process.returncode, stdout.decode(), stderr.decode())
