"""The operator's summary: asked of Claude with a strict schema and a deadline, or the draft.

One Messages request with a single tool, ``handoff_summary``, that the model must call
(``tool_choice``): its input is the summary, checked against the schema here again (a
model that ignores the limits gets the draft used instead). The request carries the facts
and the draft written from them, so the model only improves the wording; whatever goes
wrong - an error, a refusal, a malformed answer, or no answer within the deadline - the
draft is the summary, and the transfer never waits longer than the deadline.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from anthropic import AsyncAnthropic
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.handoff.facts import SUMMARY_MAX_CHARS, HandoffFacts, draft_summary
from observability.logging import get_logger

log = get_logger("bot.handoff.summary")

TOOL = "handoff_summary"
LANGUAGE_NAMES = {"uk-UA": "Ukrainian", "ru-RU": "Russian", "en-US": "English"}


class SummaryOut(BaseModel):
    """What the model must return."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=10, max_length=SUMMARY_MAX_CHARS)
    caller_wants: str = Field(min_length=1, max_length=200)


TOOL_SCHEMA = {
    "name": TOOL,
    "description": "Give the operator the summary of this call.",
    "input_schema": {
        "type": "object",
        "properties": {
            "summary": {
                "type": "string",
                "maxLength": SUMMARY_MAX_CHARS,
                "description": "For the operator's screen: why the call is transferred, what "
                "the caller wants, products (names, SKUs, catalogue prices), stock checked, "
                "order state. Facts only, no greeting.",
            },
            "caller_wants": {
                "type": "string",
                "maxLength": 200,
                "description": "In one short sentence, what the caller still wants.",
            },
        },
        "required": ["summary", "caller_wants"],
        "additionalProperties": False,
    },
}


@dataclass(frozen=True)
class Summary:
    """The summary an operator gets, and where it came from (``model`` or ``draft``)."""

    text: str
    caller_wants: str | None
    source: str


def _request(facts: HandoffFacts, draft: str, language: str) -> str:
    hint = facts.caller_wants or facts.first_words or facts.last_words or "-"
    return json.dumps(
        {
            "handoff_request": True,
            "facts": facts.as_dict(),
            "draft": draft,
            "caller_wants_hint": hint,
            "language": language,
        },
        ensure_ascii=False,
    )


def _system(language: str) -> str:
    name = LANGUAGE_NAMES.get(language, "Ukrainian")
    return (
        "You write the note a human call-centre operator of an online store reads in the "
        f"second before they take over a phone call from a voice bot. Write in {name}. "
        f"Use only the facts given; keep SKUs and prices exactly; at most "
        f"{SUMMARY_MAX_CHARS} characters. Improve the draft's wording; never add facts. "
        "Never write the caller's name, phone or address: the operator sees the call itself. "
        f"Answer only by calling {TOOL}."
    )


async def summarize(
    client: AsyncAnthropic | None,
    *,
    model: str,
    facts: HandoffFacts,
    language: str,
    deadline_secs: float,
) -> Summary:
    """The best summary available within ``deadline_secs``: the model's, else the draft."""
    draft = draft_summary(facts, language)
    fallback = Summary(draft, facts.caller_wants, "draft")
    if client is None:
        return fallback
    try:
        async with asyncio.timeout(deadline_secs):
            message = await client.messages.create(
                model=model,
                max_tokens=600,
                system=_system(language),
                messages=[{"role": "user", "content": _request(facts, draft, language)}],
                tools=[TOOL_SCHEMA],
                tool_choice={"type": "tool", "name": TOOL},
            )
    except TimeoutError:
        log.warning("handoff summary: model too slow, draft used", deadline_secs=deadline_secs)
        return fallback
    except Exception as e:  # any API or network failure: the draft is the summary
        log.warning("handoff summary: model failed, draft used", error=type(e).__name__)
        return fallback
    answer = _tool_input(message)
    try:
        out = SummaryOut.model_validate(answer)
    except ValidationError as e:
        log.warning("handoff summary: answer off-schema, draft used", errors=e.error_count())
        return fallback
    return Summary(" ".join(out.summary.split()), " ".join(out.caller_wants.split()), "model")


def _tool_input(message: Any) -> Any:
    for block in getattr(message, "content", None) or []:
        if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == TOOL:
            return block.input
    return None
