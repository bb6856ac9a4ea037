"""A local stand-in for the Anthropic Messages API, driven by scripted rules.

The product talks to it through the real ``anthropic`` SDK (``base_url`` pointed here), so
tests, demos and benchmarks run offline. It serves ``POST /v1/messages`` (query strings such
as ``?beta=true`` are ignored) with the real wire format: SSE events ``message_start``,
``content_block_start`` / ``content_block_delta`` / ``content_block_stop``, ``ping``,
``message_delta`` and ``message_stop`` when ``stream`` is true, a JSON ``Message`` otherwise,
and the real error shape ``{"type": "error", "error": {...}, "request_id": ...}``.

What the "model" says comes from a :class:`Script`: ordered rules over the latest user text
or the latest tool result, first match wins. The rule engine is pure (``Script.respond``);
:class:`AnthropicStandIn` adds HTTP, pacing (:class:`Knobs`), injected faults and a request
log (``AnthropicStandIn.requests``).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

_ALPHABET = string.ascii_letters + string.digits
_STATUS_ERRORS = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your rate limit."),
    500: ("api_error", "Internal server error."),
    529: ("overloaded_error", "Overloaded"),
}
DEFAULT_TEXT = "Вибачте, я не зовсім зрозуміла. Чим можу допомогти?"


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(24))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class When(_Strict):
    """When a rule fires; every condition given must hold (none given: always).

    Parameters:
        user_matches: Regex searched in the latest user text (a user message made only of
            tool results has no text and never matches).
        tool_result_for: The last message carries a ``tool_result`` for a ``tool_use`` of this
            name from the assistant message before it, and no caller text.
        result_matches: Regex searched in that tool result's JSON text (with
            ``tool_result_for``; otherwise in every tool result of the last message).
        caller_matches: Regex searched in the caller's latest words, however many tool
            rounds ago they were (a rule for one caller line's whole answer).
    """

    user_matches: str | None = None
    tool_result_for: str | None = None
    result_matches: str | None = None
    caller_matches: str | None = None

    @field_validator("user_matches", "result_matches", "caller_matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        try:
            return None if value is None else re.compile(value).pattern
        except re.error as e:
            raise ValueError(f"bad regex {value!r}: {e}") from e


class ToolUseSpec(_Strict):
    """A tool call to make; string values in ``input`` are templates too.

    ``broken_json`` plays a broken model: the streamed input JSON stops short of its end
    (a non-streamed response carries the input as usual).
    """

    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    broken_json: bool = False


class ReplySpec(_Strict):
    """What to answer: an optional text block, then zero or more tool calls.

    Parameters:
        text: ``str.format_map`` template over ``result`` (parsed tool result), ``results``
            (all parsed tool results, in order), ``user`` (latest user text), ``user_json``
            (that text parsed as JSON, if it is JSON), ``last``
            (the latest parsed result of each tool name anywhere in the conversation, e.g.
            ``{last[create_order][total_uah]}``), ``system`` (the request's system prompt)
            and ``tools_json`` (the request's tool definitions as JSON): a hostile model
            reads them out. A tool input value that is a single
            ``{...}`` placeholder keeps the referenced value's type (a number stays a number).
        tool_use: One tool call.
        tool_uses: Several tool calls in one response (parallel tool use).
    """

    text: str | None = None
    tool_use: ToolUseSpec | None = None
    tool_uses: list[ToolUseSpec] = Field(default_factory=list)


class Rule(_Strict):
    """One scenario rule: a condition and the reply it triggers."""

    when: When = Field(default_factory=When)
    reply: ReplySpec
    name: str | None = None


@dataclass(slots=True)
class Reply:
    """The scripted response to one request.

    Parameters:
        content: Content blocks in the API's format (``text`` / ``tool_use`` with ids).
        stop_reason: ``"tool_use"`` when a tool is called, else ``"end_turn"``.
        rule: The matched rule's name (``"rule[i]"`` if unnamed) or ``"default"``.
        notes: What went off-script: template errors, tools dropped as not offered.
        broken_json: Ids of the ``tool_use`` blocks whose streamed JSON is cut short.
    """

    content: list[dict[str, Any]]
    stop_reason: Literal["end_turn", "tool_use"]
    rule: str
    notes: list[str] = field(default_factory=list)
    broken_json: frozenset[str] = frozenset()


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def _text_of(content: Any) -> str:
    return "".join(b.get("text", "") for b in _blocks(content) if b.get("type") == "text")


_SINGLE_FIELD = re.compile(r"\{[^{}]+\}")
_FORMATTER = string.Formatter()


def _latest_results(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The latest parsed result of each tool name anywhere in ``messages``."""
    names: dict[str, str] = {}
    latest: dict[str, Any] = {}
    for message in messages:
        for b in _blocks(message.get("content")):
            if b.get("type") == "tool_use":
                names[str(b.get("id"))] = str(b.get("name"))
            elif b.get("type") == "tool_result":
                name = names.get(str(b.get("tool_use_id")))
                if name is not None:
                    latest[name] = _parse_result(b.get("content"))
    return latest


def _latest_caller_text(messages: list[dict[str, Any]]) -> str:
    """The text of the latest user message that has any (tool results alone have none)."""
    for message in reversed(messages):
        if message.get("role") == "user" and (text := _text_of(message.get("content"))):
            return text
    return ""


def _internals(body: dict[str, Any]) -> dict[str, str]:
    """What the product told the model and the caller must never hear (for hostile rules)."""
    system = body.get("system")
    return {
        "system": system if isinstance(system, str) else _text_of(system),
        "tools_json": json.dumps(body.get("tools") or [], ensure_ascii=False),
    }


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _parse_result(content: Any) -> Any:
    text = _text_of(content)
    try:
        return json.loads(text)
    except ValueError:
        return text


class Script(_Strict):
    """An ordered list of rules plus a default reply; ``respond`` is pure."""

    rules: list[Rule] = Field(default_factory=list)
    default: ReplySpec = Field(default_factory=lambda: ReplySpec(text=DEFAULT_TEXT))
    # A hostile model calls tools it was never offered; by default such calls are dropped.
    offered_tools_only: bool = True

    @classmethod
    def from_yaml(cls, text: str) -> Script:
        """Build a script from YAML text (``rules:`` and optional ``default:``)."""
        return cls.model_validate(yaml.safe_load(text) or {})

    @classmethod
    def from_file(cls, path: str | Path) -> Script:
        """Build a script from a YAML file."""
        return cls.from_yaml(Path(path).read_text(encoding="utf-8"))

    def respond(self, request_body: dict[str, Any]) -> Reply:
        """Choose and render the reply to a Messages API request body.

        Args:
            request_body: The parsed request JSON (``messages``, optional ``tools``).

        Returns:
            The reply; template errors and unoffered tools are recorded in ``notes``.
        """
        messages = [m for m in request_body.get("messages") or [] if isinstance(m, dict)]
        last = messages[-1] if messages and messages[-1].get("role") == "user" else None
        user_blocks = _blocks(last.get("content")) if last else []
        has_text = any(b.get("type") == "text" for b in user_blocks)
        user_text = _text_of(user_blocks)
        names: dict[str, str] = {}
        if len(messages) >= 2 and messages[-2].get("role") == "assistant":
            for b in _blocks(messages[-2].get("content")):
                if b.get("type") == "tool_use":
                    names[str(b.get("id"))] = str(b.get("name"))
        # Tool results that share a message with the caller's words (pipecat merges a late
        # result and the next utterance) are history: the caller is who gets the answer.
        results = [
            (names.get(str(b.get("tool_use_id"))), _parse_result(b.get("content")))
            for b in user_blocks
            if b.get("type") == "tool_result" and not has_text
        ]
        caller_text = _latest_caller_text(messages)
        values = {
            "result": None,
            "results": [r for _, r in results],
            "user": user_text,
            "user_json": _json_or_none(user_text),
            "last": _latest_results(messages),
            **_internals(request_body),
        }
        for index, rule in enumerate(self.rules):
            cond = rule.when
            if cond.user_matches is not None and not (
                has_text and re.search(cond.user_matches, user_text)
            ):
                continue
            if cond.caller_matches is not None and not re.search(cond.caller_matches, caller_text):
                continue
            if cond.tool_result_for is not None and cond.tool_result_for not in {
                n for n, _ in results
            }:
                continue
            own = [r for n, r in results if n == cond.tool_result_for] or [r for _, r in results]
            if cond.result_matches is not None and not any(
                re.search(cond.result_matches, json.dumps(r, ensure_ascii=False)) for r in own
            ):
                continue
            values["result"] = own[0] if own else None
            return self._render(rule.reply, rule.name or f"rule[{index}]", values, request_body)
        return self._render(self.default, "default", values, request_body)

    def _render(
        self, spec: ReplySpec, rule: str, values: dict[str, Any], body: dict[str, Any]
    ) -> Reply:
        notes: list[str] = []

        def fill(template: Any) -> Any:
            if isinstance(template, dict):
                return {k: fill(v) for k, v in template.items()}
            if isinstance(template, list):
                return [fill(v) for v in template]
            if not isinstance(template, str):
                return template
            try:
                if _SINGLE_FIELD.fullmatch(template):  # keep the value's own type
                    return _FORMATTER.get_field(template[1:-1], (), values)[0]
                return template.format_map(values)
            except Exception as e:  # any template mistake must not crash the stand-in
                notes.append(f"template error in {template!r}: {type(e).__name__}: {e}")
                return template

        offered = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
        calls = [*([spec.tool_use] if spec.tool_use else []), *spec.tool_uses]
        kept = [c for c in calls if c.name in offered or not self.offered_tools_only]
        for c in calls:
            if c not in kept:
                notes.append(f"tool {c.name!r} not offered in tools; dropped")
        text = spec.text
        if text is None and calls and not kept:
            text = self.default.text if self.default.text is not None else DEFAULT_TEXT
        content: list[dict[str, Any]] = []
        if text:
            content.append({"type": "text", "text": fill(text)})
        broken: set[str] = set()
        for c in kept:
            block = {"type": "tool_use", "id": _new_id("toolu_"), "name": c.name}
            content.append({**block, "input": fill(c.input)})
            if c.broken_json:
                broken.add(block["id"])
        return Reply(content, "tool_use" if kept else "end_turn", rule, notes, frozenset(broken))


@dataclass
class Knobs:
    """Pacing and faults; mutable between requests.

    Parameters:
        first_token_ms: Time from receiving a request to its first token (the stream's first
            content delta, or the whole answer when not streamed), the stand-in's own work on
            the request included, as published time-to-first-token figures count it;
            auth/validation errors and ``"status"`` faults answer at once.
        token_interval_ms: Delay between consecutive content deltas after the first.
        fault: ``"status"`` (error response), ``"hang"`` (never answer, until the client
            leaves), ``"cut"`` (drop the connection mid-stream), or ``None``.
        fault_status: HTTP status for ``"status"``: 429 (with ``retry-after: 1``), 500, 529...
        cut_after_events: SSE events sent before ``"cut"`` drops the connection.
        fault_times: How many upcoming requests the fault hits before clearing itself;
            -1 for every request.
    """

    first_token_ms: float = 300
    token_interval_ms: float = 15
    fault: Literal["status", "hang", "cut"] | None = None
    fault_status: int = 529
    cut_after_events: int = 3
    fault_times: int = 1


@dataclass
class LoggedRequest:
    """One request as the stand-in saw it.

    Parameters:
        request_id: The ``request-id`` header sent back (``req_...``).
        body: Parsed JSON body (``None`` if it was not JSON).
        headers: The ``anthropic-version`` / ``anthropic-beta`` headers and the query string.
        outcome: ``"ok"``, ``"fault:status:529"``, ``"fault:hang"``, ``"fault:cut"``,
            ``"error:<status>"``, or ``"client_disconnected"`` (left mid-stream).
        rule: Name of the rule that answered, if any.
        notes: The reply's notes (template errors, dropped tools).
        reply: The content blocks answered (before any fault cut them short).
    """

    request_id: str
    body: dict[str, Any] | None
    headers: dict[str, str]
    outcome: str = "ok"
    rule: str | None = None
    notes: list[str] = field(default_factory=list)
    reply: list[dict[str, Any]] = field(default_factory=list)


def _error(status: int, request_id: str, message: str | None = None) -> web.Response:
    kind, default = _STATUS_ERRORS.get(status, ("api_error", "Error."))
    body = {"type": "error", "error": {"type": kind, "message": message or default}}
    headers = {"request-id": request_id}
    if status == 429:
        headers["retry-after"] = "1"
    return web.json_response({**body, "request_id": request_id}, status=status, headers=headers)


def _validate(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "Request body must be a JSON object."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Field required (an integer >= 1)"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required (a non-empty list)"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if not isinstance(m.get("content"), str | list):
            return f"messages.{i}.content: Field required"
    if not isinstance(body.get("stream", False), bool):
        return "stream: Input should be a valid boolean"
    return None


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _pieces(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _events(reply: Reply, message: dict[str, Any], output_tokens: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"type": "message_start", "message": message}]
    for index, block in enumerate(reply.content):
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            words = re.findall(r"\s*\S+\s*", block["text"]) or [block["text"]]
            deltas = [{"type": "text_delta", "text": w} for w in words]
        else:
            start = {**block, "input": {}}
            raw = json.dumps(block["input"], ensure_ascii=False)
            if block["id"] in reply.broken_json:
                raw = raw[: len(raw) // 2]
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *_pieces(raw)]]
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        if index == 0:
            events.append({"type": "ping"})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
    )
    events.append({"type": "message_stop"})
    return events


class AnthropicStandIn:
    """The HTTP server: ``POST /v1/messages`` answered from a :class:`Script`.

    Args:
        script: The rules that decide every reply (replaceable via ``self.script``).
        knobs: Pacing and faults; a default :class:`Knobs` if omitted.

    Attributes:
        requests: Every request received, in order (:class:`LoggedRequest`).
    """

    def __init__(self, script: Script, knobs: Knobs | None = None) -> None:
        self.script = script
        self.knobs = knobs or Knobs()
        self.requests: list[LoggedRequest] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = asyncio.Event()

    @property
    def port(self) -> int:
        """The bound TCP port (after ``start``)."""
        if self._port is None:
            raise RuntimeError("AnthropicStandIn is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give ``AsyncAnthropic``."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start listening; ``port=0`` picks a free port."""
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._closing.clear()
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening and release hanging requests."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error(404, _new_id("req_"), f"Not found: {request.method} {request.path}")

    def _take_fault(self) -> str | None:
        knobs = self.knobs
        fault = knobs.fault
        if fault is not None and knobs.fault_times != -1:
            knobs.fault_times -= 1
            if knobs.fault_times <= 0:
                knobs.fault = None
        return fault

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        received = loop.time()
        request_id = _new_id("req_")
        try:
            body = await request.json()
        except ValueError:
            body = None
        wanted = ("anthropic-version", "anthropic-beta")
        headers = {k: request.headers[k] for k in wanted if k in request.headers}
        if request.query_string:
            headers["query"] = request.query_string
        log = LoggedRequest(request_id, body if isinstance(body, dict) else None, headers)
        self.requests.append(log)
        problem: tuple[int, str] | None = None
        if not request.headers.get("x-api-key"):
            problem = (401, "x-api-key header is required")
        elif "anthropic-version" not in request.headers:
            problem = (400, "anthropic-version: header is required")
        elif body is None:
            problem = (400, "There was an error parsing the body of your request as JSON.")
        elif (invalid := _validate(body)) is not None:
            problem = (400, invalid)
        if problem is not None:
            log.outcome = f"error:{problem[0]}"
            return _error(problem[0], request_id, problem[1])
        knobs = self.knobs
        fault = self._take_fault()
        if fault == "status":
            log.outcome = f"fault:status:{knobs.fault_status}"
            return _error(knobs.fault_status, request_id)
        if fault == "hang":
            log.outcome = "fault:hang"
            await self._closing.wait()  # the handler is cancelled when the client leaves
            raise web.HTTPServiceUnavailable
        reply = self.script.respond(body)
        log.rule, log.notes, log.reply = reply.rule, reply.notes, reply.content
        if fault == "cut":
            log.outcome = "fault:cut"
        input_tokens = _tokens(
            json.dumps(
                [body.get("system"), body["messages"], body.get("tools")], ensure_ascii=False
            )
        )
        output_tokens = sum(
            _tokens(b.get("text") or json.dumps(b.get("input"), ensure_ascii=False))
            for b in reply.content
        )
        usage = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
            "service_tier": "standard",
        }
        message = {
            "id": _new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        await asyncio.sleep(max(0.0, received + knobs.first_token_ms / 1000 - loop.time()))
        if not body.get("stream"):
            if fault == "cut":
                return self._abort(request)
            message.update(content=reply.content, stop_reason=reply.stop_reason)
            usage["output_tokens"] = output_tokens
            return web.json_response(message, headers={"request-id": request_id})
        return await self._stream(request, log, _events(reply, message, output_tokens), fault)

    async def _stream(
        self,
        request: web.Request,
        log: LoggedRequest,
        events: list[dict[str, Any]],
        fault: str | None,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                "request-id": log.request_id,
            }
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        first_delta = True
        try:
            for sent, event in enumerate(events):
                if fault == "cut" and sent >= self.knobs.cut_after_events:
                    return self._abort(request, response)
                if event["type"] == "content_block_delta":
                    if not first_delta:  # the first token comes at first_token_ms
                        await asyncio.sleep(self.knobs.token_interval_ms / 1000)
                    first_delta = False
                data = json.dumps(event, ensure_ascii=False)
                await response.write(f"event: {event['type']}\ndata: {data}\n\n".encode())
            await response.write_eof()
        except (asyncio.CancelledError, ConnectionError):
            log.outcome = "client_disconnected"  # e.g. the product interrupted the turn
            raise
        return response

    @staticmethod
    def _abort(
        request: web.Request, response: web.StreamResponse | None = None
    ) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()
        return response or web.StreamResponse()
