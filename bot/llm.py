"""Claude for a call: pipecat's Anthropic service with its parallel tool-use bug worked around.

pipecat 1.14's ``AnthropicLLMService._process_context`` keeps a single ``tool_use`` block
and JSON buffer while it reads the stream, so when Claude asks for several tools in one
response (``search_products`` and ``check_availability`` together, say) only the last one
runs, and the others vanish from the context. ``tests/integration/test_store_tools.py``
shows the bug on the plain service and that this class runs every call.

The fix stays in this one place: the stream is passed through :class:`ToolUseCollector`,
which notes every ``tool_use`` block and its arguments as the events go by; when pipecat
then hands over its (short) list of calls, the full list is run instead. When pipecat fixes
the bug the lists agree and nothing changes.

Two more of pipecat's ways are mended here: a tool call whose streamed JSON is broken makes
pipecat raise (the caller would get an apology for a service failure); the collector hands
it over parsed, so the tool answers with an error the model can act on. And every tool result
goes to Claude as a success; :func:`flag_tool_errors` marks failed ones ``is_error``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipecat.frames.frames import FunctionCallFromLLM
from pipecat.services.anthropic.llm import AnthropicLLMService

from observability.logging import get_logger

log = get_logger("bot.llm")

UNPARSED = "_unparsed_arguments"  # the key a tool call's broken JSON is handed over under


@dataclass
class ToolUseCollector:
    """Every ``tool_use`` block of one streamed response: ``(id, name, arguments)``."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    _open: dict[int, tuple[str, str, list[str]]] = field(default_factory=dict)

    async def watch(self, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Pass the events through, noting the tool calls; each tool's JSON comes whole.

        A tool's ``input_json_delta`` events are held until its block stops and then passed
        on as one delta whose JSON parses: the model's own, or, if it sent broken JSON,
        ``{"_unparsed_arguments": "<what it sent>"}`` - pipecat would raise on it and turn a
        bad tool call into a service failure; this way the tool answers with an error.
        """
        held: dict[int, Any] = {}  # block index -> its first delta event (a template)
        async for event in stream:
            self.note(event)
            kind = getattr(event, "type", None)
            if kind == "content_block_delta" and event.index in self._open:
                held.setdefault(event.index, event)
                continue
            if kind == "content_block_stop" and event.index in held:
                template = held.pop(event.index)
                whole = json.dumps(self.calls[-1][2], ensure_ascii=False)
                delta = template.delta.model_copy(update={"partial_json": whole})
                yield template.model_copy(update={"delta": delta})
            yield event

    def note(self, event: Any) -> None:
        """Take in one stream event."""
        kind = getattr(event, "type", None)
        if kind == "content_block_start" and event.content_block.type == "tool_use":
            block = event.content_block
            self._open[event.index] = (block.id, block.name, [])
        elif kind == "content_block_delta" and event.index in self._open:
            self._open[event.index][2].append(getattr(event.delta, "partial_json", "") or "")
        elif kind == "content_block_stop" and event.index in self._open:
            tool_id, name, parts = self._open.pop(event.index)
            raw = "".join(parts)
            try:
                arguments = json.loads(raw) if raw else {}
            except ValueError:
                arguments = None
            if not isinstance(arguments, dict):  # the tool reports it as invalid
                arguments = {UNPARSED: raw}
            self.calls.append((tool_id, name, arguments))


def flag_tool_errors(messages: list[Any]) -> None:
    """Mark each ``tool_result`` whose result says ``"ok": false`` as ``is_error`` (in place).

    pipecat sends every tool result as a success; Claude handles a failed tool better when the
    API says it failed.
    """
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            try:
                result = json.loads(block.get("content") or "")
            except (TypeError, ValueError):
                continue
            if isinstance(result, dict) and result.get("ok") is False:
                block["is_error"] = True


class StoreLLMService(AnthropicLLMService):
    """``AnthropicLLMService`` that runs every tool call of a response, not just the last."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tool_uses: ToolUseCollector | None = None
        # Told the tool names of each response before they run (see bot/tools.py).
        self.tool_group_listeners: list[Callable[[list[str]], None]] = []

    async def _create_message_stream(self, api_call: Any, params: dict[str, Any]) -> Any:
        flag_tool_errors(params.get("messages") or [])
        stream = await super()._create_message_stream(api_call, params)
        self._tool_uses = ToolUseCollector()
        return self._tool_uses.watch(stream)

    async def run_function_calls(self, function_calls: Sequence[FunctionCallFromLLM]) -> None:
        """Run the calls pipecat found, completed with the ones it dropped."""
        seen = self._tool_uses.calls if self._tool_uses is not None else []
        self._tool_uses = None
        if function_calls and len(seen) > len(function_calls):
            context = function_calls[0].context
            log.debug("parallel tool calls restored", asked=len(seen), kept=len(function_calls))
            function_calls = [
                FunctionCallFromLLM(
                    context=context, tool_call_id=tool_id, function_name=name, arguments=args
                )
                for tool_id, name, args in seen
            ]
        for listener in self.tool_group_listeners:
            listener([call.function_name for call in function_calls])
        await super().run_function_calls(function_calls)
