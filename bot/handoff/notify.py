"""Tells the outside world about each handoff: a webhook, Telegram, Slack.

Each configured channel gets every handoff, sent in the background (a transfer never waits
for it), retried with backoff (``notify_retries``), each attempt bounded by a timeout. What
leaves the service is what an operator needs - reason, summary, what the caller wants, the
call id and a console link - with phone numbers and e-mails in the text masked; never the
caller's number, tokens or the transcript. Chat messages (Telegram, Slack: wider audiences)
carry the facts only - reason, products, prices, stock, order - never the caller's own words
or what the model wrote about them; the webhook (an operator system) gets the operator's
summary. The webhook body is JSON, signed with
``X-Callproc-Signature: sha256=<HMAC of the body>`` when ``webhook_secret`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from typing import Any

import aiohttp

from bot.handoff.desk import Handoff
from bot.handoff.facts import HandoffFacts, draft_summary, reason_text
from bot.settings import HandoffSettings
from observability.logging import get_logger
from observability.scrub import scrub_text

log = get_logger("bot.handoff.notify")

ATTEMPT_TIMEOUT_SECS = 5.0
BACKOFF_FIRST_SECS = 0.5


class Notifier:
    """Posts handoffs to the configured channels.

    Args:
        settings: Channels, template, retries.
        public_url: How operators reach the service (for the console link), if known.
    """

    def __init__(self, settings: HandoffSettings, public_url: str | None) -> None:
        self.settings = settings
        self.public_url = public_url.rstrip("/") if public_url else None
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self.sent: list[tuple[str, str]] = []  # (channel, call_uuid) delivered, for tests/ops

    @property
    def channels(self) -> list[str]:
        """The channels that are configured."""
        s = self.settings
        found = []
        if s.webhook_url:
            found.append("webhook")
        if s.telegram_bot_token is not None and s.telegram_chat_id:
            found.append("telegram")
        if s.slack_webhook_url is not None:
            found.append("slack")
        return found

    def __call__(self, handoff: Handoff) -> None:
        """A handoff listener: send in the background."""
        for channel in self.channels:
            task = asyncio.get_running_loop().create_task(self._deliver(channel, handoff))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def message(self, handoff: Handoff) -> str:
        """The text of a Telegram/Slack message."""
        fields = self._fields(handoff)
        try:
            return self.settings.notify_template.format(**fields)
        except (KeyError, IndexError, ValueError) as e:
            log.error("notify template broken, plain text used", error=type(e).__name__)
            return f"{fields['reason_text']}\n{fields['summary']}\n{fields['call_uuid']}"

    def _fields(self, handoff: Handoff) -> dict[str, str]:
        console = f"{self.public_url}/console" if self.public_url else "/console"
        return {
            "reason": handoff.reason,
            "reason_text": reason_text(handoff.reason, self.settings.language),
            "summary": self._facts_only(handoff),
            "caller_wants": "",  # in the console, not in a chat
            "call_uuid": handoff.call_uuid,
            "call_short": handoff.call_uuid[:8],
            "console_link": console,
        }

    def _facts_only(self, handoff: Handoff) -> str:
        facts = {**handoff.facts, "first_words": None, "last_words": None, "caller_wants": None}
        try:
            return draft_summary(HandoffFacts.from_dict(facts), self.settings.language)
        except (TypeError, KeyError):  # a handoff without facts (read back, or bare)
            return reason_text(handoff.reason, self.settings.language)

    def webhook_body(self, handoff: Handoff) -> dict[str, Any]:
        """The JSON a webhook receives."""
        fields = self._fields(handoff)
        return {
            "event": "handoff",
            "call_uuid": handoff.call_uuid,
            "reason": handoff.reason,
            "reason_text": fields["reason_text"],
            "summary": scrub_text(handoff.summary),
            "caller_wants": scrub_text(handoff.caller_wants or "") or None,
            "queue": handoff.queue,
            "created_at": handoff.created_at,
            "console_url": fields["console_link"],
        }

    def _request(self, channel: str, handoff: Handoff) -> tuple[str, bytes, dict[str, str]]:
        s = self.settings
        headers = {"Content-Type": "application/json"}
        if channel == "webhook":
            body = json.dumps(self.webhook_body(handoff), ensure_ascii=False).encode()
            if s.webhook_secret is not None:
                key = s.webhook_secret.get_secret_value().encode()
                headers["X-Callproc-Signature"] = (
                    "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
                )
            return str(s.webhook_url), body, headers
        text = self.message(handoff)
        if channel == "telegram":
            assert s.telegram_bot_token is not None
            url = f"{s.telegram_api_url.rstrip('/')}/bot{s.telegram_bot_token.get_secret_value()}"
            payload = {
                "chat_id": s.telegram_chat_id,
                "text": text,
                "disable_web_page_preview": True,
            }
            return f"{url}/sendMessage", json.dumps(payload, ensure_ascii=False).encode(), headers
        assert s.slack_webhook_url is not None
        body = json.dumps({"text": text}, ensure_ascii=False).encode()
        return s.slack_webhook_url.get_secret_value(), body, headers

    async def _deliver(self, channel: str, handoff: Handoff) -> None:
        url, body, headers = self._request(channel, handoff)
        delay = BACKOFF_FIRST_SECS
        for attempt in range(1 + self.settings.notify_retries):
            try:
                async with self._http().post(
                    url, data=body, headers=headers,
                    timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT_SECS),
                ) as response:  # fmt: skip
                    if response.status < 300:
                        self.sent.append((channel, handoff.call_uuid))
                        log.info("handoff notified", channel=channel, attempts=attempt + 1)
                        return
                    problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as e:
                problem = type(e).__name__
            if attempt < self.settings.notify_retries:
                await asyncio.sleep(delay)
                delay *= 2
        log.error("handoff notification failed", channel=channel, error=problem)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self, timeout: float = 5.0) -> None:
        """Let pending notifications finish (at most ``timeout``), then stop."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
