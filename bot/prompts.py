"""The system prompt and fixed phrases of one conversation language, from ``prompts/``.

A prompt set is versioned by content: the version is a hash of the rendered system prompt
and phrases, so every call can record exactly what its bot was told and said by rote.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
REQUIRED_PHRASES = (
    "greeting",
    "apology",
    "transfer",
    "transfer_after_failure",
    "still_there",
    "hold_on",
    "goodbye_silent",
    "tool_store_unavailable",
    "tool_not_found",
    "tool_order_refused",
    "tool_lookup_refused",
    "output_blocked",
)


class PromptError(Exception):
    """A prompt file is missing or incomplete; the message names the file and the gap."""


@dataclass(frozen=True, slots=True)
class PromptSet:
    """What the bot is told (system prompt) and says by rote (phrases) in one language.

    Parameters:
        language: BCP-47 language of the conversation, e.g. ``uk-UA``.
        system: The rendered system prompt.
        phrases: Fixed phrases by name (greeting with AI disclosure, apology, ...).
        version: Short content hash identifying this exact prompt set.
    """

    language: str
    system: str
    phrases: dict[str, str]
    version: str

    def phrase(self, name: str) -> str:
        """A fixed phrase by name."""
        return self.phrases[name]


def load_prompts(language: str, *, store: str, directory: Path = PROMPTS_DIR) -> PromptSet:
    """Load and render ``<directory>/<language>.yaml`` for the given store name.

    Raises:
        PromptError: The file is missing, malformed, or lacks a required phrase.
    """
    path = directory / f"{language}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PromptError(f"no prompt file for {language}: {path} is missing") from None
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("system"), str):
        raise PromptError(f"{path}: needs a 'system' text and a 'phrases' mapping")
    phrases = data.get("phrases") or {}
    missing = [name for name in REQUIRED_PHRASES if not phrases.get(name)]
    if missing:
        raise PromptError(f"{path}: missing phrases: {', '.join(missing)}")
    system = data["system"].format(store=store).strip()
    rendered = {
        name: " ".join(str(text).format(store=store).split()) for name, text in phrases.items()
    }
    digest = hashlib.sha256(
        json.dumps(
            {"system": system, "phrases": rendered}, ensure_ascii=False, sort_keys=True
        ).encode()
    ).hexdigest()[:12]
    return PromptSet(language=language, system=system, phrases=rendered, version=digest)
