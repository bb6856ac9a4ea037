"""Claude with the store tools in a text-only pipecat pipeline, for tool and guardrail tests.

Real parts end to end except speech: pipecat's LLM service (ours, with the parallel tool-use
fix, or the plain one) and its context aggregator, the real ``anthropic`` SDK talking HTTP to
the scripted stand-in, our tool handlers, the real store client talking HTTP to the
reference store. A caller turn is a user message added to the context; the turn is over
when the context ends with the bot's text and no tool call is running, or a tool ended the
call.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx2
from anthropic import AsyncAnthropic
from pipecat.frames.frames import LLMContextFrame, LLMFullResponseStartFrame, LLMTextFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.anthropic.llm import AnthropicLLMService
from pipecat.workers.runner import WorkerRunner

from bot.llm import StoreLLMService
from bot.prompts import load_prompts
from bot.settings import StoreSettings
from bot.store_client import StoreClient
from bot.tools import ENDING_TOOLS, StoreTools, tools_schema
from observability.observers.call_record import CallRecordObserver
from sandbox.anthropic_api import AnthropicStandIn, Knobs, Script
from sandbox.store.server import ReferenceStore

TURN_TIMEOUT_SECS = 15.0


class _BotText(FrameProcessor):
    """Collects what the model says (what TTS would speak)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    async def process_frame(self, frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMTextFrame):
            self.parts.append(frame.text)
        elif isinstance(frame, LLMFullResponseStartFrame) and self.parts:
            self.parts.append(" ")  # the next response is a new sentence
        await self.push_frame(frame, direction)


class Conversation:
    """One text conversation; ``await say(text)`` returns what the bot answered.

    Args:
        llm_url: The Anthropic stand-in's base URL.
        client: The store client the tools use.
        plain: Use pipecat's own ``AnthropicLLMService`` (to show its bug) instead of ours.
    """

    def __init__(self, llm_url: str, client: StoreClient, *, plain: bool = False) -> None:
        prompts = load_prompts("uk-UA", store="ТехноДім")
        self.ended: tuple[str, dict[str, Any]] | None = None
        self.tools = StoreTools(client, prompts, "test-call", self._on_end)
        self._anthropic = AsyncAnthropic(
            api_key="sk-ant-test", base_url=llm_url, http_client=httpx2.AsyncClient()
        )
        service = AnthropicLLMService if plain else StoreLLMService
        llm = service(
            api_key="unused",
            client=self._anthropic,
            settings=service.Settings(model="claude-haiku-5-5", system_instruction=prompts.system),
        )
        self.tools.register(llm)
        self.context = LLMContext(tools=tools_schema())
        _, assistant = LLMContextAggregatorPair(self.context)
        self.assistant = assistant
        self.text = _BotText()
        self.record = CallRecordObserver()
        self.worker = PipelineWorker(
            Pipeline([llm, self.text, assistant]),
            params=PipelineParams(),
            observers=[self.record],
            enable_rtvi=False,
            idle_timeout_secs=None,
        )
        self._runner_task: asyncio.Task | None = None

    async def _on_end(self, outcome: str, detail: dict[str, Any]) -> None:
        self.ended = (outcome, detail)

    async def start(self) -> None:
        """Run the pipeline in the background."""
        runner = WorkerRunner(handle_sigint=False, handle_sigterm=False)
        await runner.add_workers(self.worker)
        self._runner_task = asyncio.create_task(runner.run())

    async def say(self, text: str) -> str:
        """The caller says ``text``; returns everything the bot said in reply."""
        self.text.parts.clear()
        self.context.add_message({"role": "user", "content": text})
        await self.worker.queue_frame(LLMContextFrame(self.context))
        async with asyncio.timeout(TURN_TIMEOUT_SECS):
            # pipecat's context has no change notification, so look at it every 10 ms.
            while not self._answered():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        return " ".join("".join(self.text.parts).split())

    async def wait_ended(self) -> tuple[str, dict[str, Any]]:
        """Wait until a tool ended the call and the record shows that tool call finished.

        The tool's handler ends the call before the call record's observer (which pipecat runs in
        a task of its own) has even seen that call start, so ``ended`` alone comes too early.
        """
        async with asyncio.timeout(TURN_TIMEOUT_SECS):
            while not self._ending_recorded():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert self.ended is not None
        return self.ended

    def _ending_recorded(self) -> bool:
        calls = self.calls
        return (
            self.ended is not None
            and any(c.name in ENDING_TOOLS and c.status == "ok" for c in calls)
            and not any(c.status == "running" for c in calls)
        )

    def _answered(self) -> bool:
        if self.ended is not None and not any(c.status == "running" for c in self.calls):
            return True
        last = self.context.get_messages()[-1]
        if last.get("role") != "assistant" or last.get("tool_calls"):
            return False
        # Text said before tool calls lands first; the tools' messages follow it.
        return not self.assistant.has_function_calls_in_progress

    @property
    def calls(self):
        """The tool calls recorded so far."""
        return self.record.record.tool_calls

    async def stop(self) -> None:
        """Stop the pipeline and close the client."""
        await self.worker.cancel()
        if self._runner_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner_task
        await self._anthropic.close()


class Bench:
    """A running reference store, store client and Anthropic stand-in for one test."""

    def __init__(self, script: Script, store_settings: StoreSettings | None = None) -> None:
        self.store = ReferenceStore(api_key="test-key")
        self.llm = AnthropicStandIn(script, Knobs(first_token_ms=0, token_interval_ms=0))
        self.settings = store_settings or StoreSettings()
        self.client: StoreClient | None = None
        self.conversations: list[Conversation] = []

    async def __aenter__(self) -> Bench:
        await self.store.start()
        await self.llm.start()
        self.client = StoreClient(self.store.base_url, "test-key", self.settings)
        return self

    async def conversation(self, *, plain: bool = False) -> Conversation:
        """Start a conversation with the bench's services."""
        assert self.client is not None
        conversation = Conversation(self.llm.base_url, self.client, plain=plain)
        await conversation.start()
        self.conversations.append(conversation)
        return conversation

    async def __aexit__(self, *exc: object) -> None:
        for conversation in self.conversations:
            await conversation.stop()
        if self.client is not None:
            await self.client.close()
        await self.llm.stop()
        await self.store.stop()
