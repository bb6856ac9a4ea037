"""Each handoff reaches a webhook, Telegram and Slack (local receivers that speak their HTTP
APIs), with retries, a signature, and no phone number in what leaves the service."""

import asyncio
import hashlib
import hmac
import json

import pytest
from aiohttp import web

from bot.call import Call
from sandbox.caller import Caller, run_call
from sandbox.scenario import Scenario, ScenarioPlayer, Step

pytestmark = pytest.mark.integration

TOKEN = "123456:TEST-token"
SECRET = "webhook-signing-secret"
ORDER = "Я хочу замовити павербанк Xiaomi на двадцять тисяч."
PHONE_LINE = "Оформіть самовивіз у Львові. Олена Коваль, 067 123 45 67."


class Receivers:
    """One local server standing in for the CRM webhook, the Telegram Bot API and Slack."""

    def __init__(self) -> None:
        self.got: dict[str, list[tuple[dict, dict]]] = {"webhook": [], "telegram": [], "slack": []}
        self.webhook_failures = 2  # the first attempts fail: the notifier must retry

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        app.router.add_post(f"/bot{TOKEN}/sendMessage", self._telegram)
        app.router.add_post("/slack/T000/B000", self._slack)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    async def _hook(self, request: web.Request) -> web.Response:
        if self.webhook_failures:
            self.webhook_failures -= 1
            return web.Response(status=503)
        raw = await request.read()
        self.got["webhook"].append((json.loads(raw), {**request.headers, "raw": raw}))
        return web.json_response({"ok": True})

    async def _telegram(self, request: web.Request) -> web.Response:
        self.got["telegram"].append((await request.json(), dict(request.headers)))
        return web.json_response({"ok": True, "result": {"message_id": 1}})

    async def _slack(self, request: web.Request) -> web.Response:
        self.got["slack"].append((await request.json(), dict(request.headers)))
        return web.Response(text="ok")


async def test_a_handoff_is_posted_everywhere_it_should_be(start_service):
    receivers = Receivers()
    base = await receivers.start()
    service = await start_service(
        pipeline="voice",
        handoff={
            "webhook_url": f"{base}/hook",
            "webhook_secret": SECRET,
            "telegram_bot_token": TOKEN,
            "telegram_chat_id": "-100200300",
            "telegram_api_url": base,
            "slack_webhook_url": f"{base}/slack/T000/B000",
        },
        http={"host": "127.0.0.1", "port": 0, "public_url": "https://callproc.lan:8080"},
    )
    calls: list[Call] = []
    service.on_call.append(calls.append)
    scenario = Scenario("n", "n", "uk-UA", (Step("say", ORDER), Step("say", PHONE_LINE)))
    player = ScenarioPlayer(scenario, service.backends.sandbox.codes)

    async def order_then_press_0(caller: Caller) -> None:
        await player(caller)  # the bot has answered the name and phone (a quote): then 0
        caller.press("0")
        await caller.pause(6)

    await run_call("127.0.0.1", service.server.port, order_then_press_0)
    async with asyncio.timeout(20):
        while not all(receivers.got.values()):  # noqa: ASYNC110 - waits for the receivers
            await asyncio.sleep(0.05)
    call_uuid = str(calls[0].call_id)

    ((hook, headers),) = receivers.got["webhook"]
    assert hook["event"] == "handoff" and hook["call_uuid"] == call_uuid
    assert hook["reason"] == "dtmf_zero" and hook["reason_text"] == "клієнт натиснув 0"
    assert "TD-10201" in hook["summary"]  # the product the bot found, with its price
    assert hook["console_url"] == "https://callproc.lan:8080/console"
    signature = hmac.new(SECRET.encode(), headers["raw"], hashlib.sha256).hexdigest()
    assert headers["X-Callproc-Signature"] == f"sha256={signature}"

    ((telegram, _),) = receivers.got["telegram"]
    assert telegram["chat_id"] == "-100200300"
    assert telegram["text"].startswith("📞 клієнт натиснув 0\n")
    assert f"Call {call_uuid[:8]} · https://callproc.lan:8080/console" in telegram["text"]
    ((slack, _),) = receivers.got["slack"]
    assert slack["text"] == telegram["text"]

    everything = json.dumps(receivers.got, ensure_ascii=False, default=str)
    assert "123 45 67" not in everything and "0671234567" not in everything
    # The name given for the order reaches no receiver in clear: initials (issue 15, point 9).
    assert "Коваль" not in everything and "О. К." in hook["summary"]
    # Chats are wider audiences: facts only, never the caller's words (a name, here).
    assert "Коваль" not in telegram["text"] and "Оформіть" not in telegram["text"]
    assert sorted(c for c, _ in service.notifier.sent) == ["slack", "telegram", "webhook"]
    await receivers.runner.cleanup()
