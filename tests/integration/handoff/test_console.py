"""The operator console in a real headless Chromium: sign in, watch a transfer arrive live.

Chromium is Debian's (``scripts/test-tools.sh`` installs it); Playwright only drives it.
"""

import asyncio
import shutil

import aiohttp
import pytest
from playwright.async_api import async_playwright

from bot.call import Call
from sandbox.caller import run_call
from sandbox.scenario import ScenarioPlayer, load_scenarios

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


async def test_a_transfer_appears_live_in_the_console(start_service):
    service = await start_service(pipeline="voice")
    calls: list[Call] = []
    service.on_call.append(calls.append)
    base = f"http://127.0.0.1:{service.http_port}/console"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page()
        await page.goto(base)
        # A wrong password is refused; the right one opens the console.
        await page.fill("input[name=password]", "not-it")
        await page.click("button[type=submit]")
        assert "Wrong password" in await page.content()
        await page.fill("input[name=password]", service.console_password)
        await page.click("button[type=submit]")
        await page.wait_for_selector("#status.live", timeout=10_000)
        assert await page.inner_text("#handoffs") == "Ще не було."

        # A caller asks for a person; the page is not reloaded - the summary arrives by itself.
        scenario = load_scenarios()["transfer"]
        call = asyncio.create_task(
            run_call(
                "127.0.0.1",
                service.server.port,
                ScenarioPlayer(scenario, service.backends.sandbox.codes),
            )
        )
        await page.wait_for_selector("#active tbody tr[data-call]", timeout=30_000)
        card = await page.wait_for_selector(".handoff.new", timeout=60_000)
        await call
        text = await card.inner_text()
        assert "клієнт попросив оператора" in text
        assert "Почав з: «Добрий день, я хочу повернути замовлення.»" in text
        assert str(calls[0].call_id)[:8] in text

        # The transcript, from PostgreSQL, and "taken" for the other operators.
        assert await service.storage.writer.flush(10)
        await (await card.query_selector("button.show")).click()
        transcript = await page.wait_for_selector(".transcript .caller", timeout=10_000)
        assert "повернути замовлення" in await transcript.inner_text()
        await (await card.query_selector("button.ack")).click()
        await page.wait_for_selector(".handoff.seen", timeout=10_000)
        await browser.close()
    assert await service.storage.writer.flush(10)
    detail = await service.storage.database.call_detail(calls[0].call_id)
    assert detail["handoff"]["acknowledged_at"] is not None
    assert detail["handoff"]["delivered_at"] is None  # no dialplan asked in this test


async def test_the_console_api_needs_a_signed_in_operator(start_service):
    service = await start_service()
    base = f"http://127.0.0.1:{service.http_port}/console"
    async with aiohttp.ClientSession() as session:
        for path in (
            "/api/calls",
            "/api/active",
            "/api/events",
            f"/api/calls/{'0' * 8}-0000-0000-0000-{'0' * 12}",
        ):
            async with session.get(base + path) as response:
                assert response.status == 401, path
        async with session.get(base) as response:
            assert response.status == 200 and 'name="password"' in await response.text()
