"""Render the shipped Alertmanager template with the alert channels from the environment.

``python3 render_alertmanager.py TEMPLATE OUT``: each ``${NAME}`` in the template takes the
value of ``ALERT_NAME`` (``ALERT_TELEGRAM_BOT_TOKEN``, ``ALERT_TELEGRAM_CHAT_ID``,
``ALERT_SLACK_WEBHOOK_URL``). A channel whose values are not all set is left out of its
receiver, so the stack starts before any channel is configured; it prints which channels are
on, never their values. The compose stack runs it once before Alertmanager starts.
"""

import os
import re
import sys
from pathlib import Path

import yaml

PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")
CHANNELS = {
    "telegram_configs": ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID"),
    "slack_configs": ("SLACK_WEBHOOK_URL",),
}


def render(template: str, env: dict[str, str]) -> tuple[str, list[str]]:
    """The Alertmanager configuration, and the channels that are on."""

    def value(name: str) -> str:
        return env.get(f"ALERT_{name}", "").strip()

    def fill(node: object, key: str = "") -> object:
        if isinstance(node, dict):
            return {k: fill(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        if isinstance(node, str) and PLACEHOLDER.search(node):
            text = PLACEHOLDER.sub(lambda m: value(m[1]), node)
            return int(text) if key == "chat_id" else text
        return node

    config = yaml.safe_load(template)  # placeholders are plain scalars until filled in
    on = [kind for kind, names in CHANNELS.items() if all(value(n) for n in names)]
    for receiver in config.get("receivers", []):
        for kind in CHANNELS:
            if kind not in on:
                receiver.pop(kind, None)
    return yaml.safe_dump(fill(config), allow_unicode=True, sort_keys=False), on


def main(argv: list[str]) -> int:
    """Render ``argv[1]`` into ``argv[2]``."""
    if len(argv) != 3:
        print("usage: render_alertmanager.py TEMPLATE OUT", file=sys.stderr)
        return 2
    text, on = render(Path(argv[1]).read_text(encoding="utf-8"), dict(os.environ))
    out = Path(argv[2])
    out.write_text(text, encoding="utf-8")
    channels = ", ".join(on) or "none (set ALERT_* in .env)"
    print(f"alertmanager: wrote {out}; channels on: {channels}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
