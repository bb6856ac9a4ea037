"""The same scripted call against the real Google and Anthropic services.

Run only when credentials are in the environment (`GOOGLE_APPLICATION_CREDENTIALS` and
`ANTHROPIC_API_KEY`); otherwise reported as skipped. The caller's lines are espeak speech,
which real Speech-to-Text transcribes (the tone code in front is just a short beep to it).
"""

import os

import pytest

from bot.call import Call
from sandbox.caller import run_call
from sandbox.scenario import ScenarioPlayer, build_phrasebook, load_scenarios

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (
            os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") and os.environ.get("ANTHROPIC_API_KEY")
        ),
        reason="live services: set GOOGLE_APPLICATION_CREDENTIALS and ANTHROPIC_API_KEY",
    ),
]


@pytest.fixture(autouse=True)
def _keep_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo the suite's environment cleaning for exactly the two credentials."""
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "ANTHROPIC_API_KEY"):
        if name in LIVE_ENV:
            monkeypatch.setenv(name, LIVE_ENV[name])


LIVE_ENV = {
    k: v
    for k, v in os.environ.items()
    if k in ("GOOGLE_APPLICATION_CREDENTIALS", "ANTHROPIC_API_KEY")
}


async def test_a_real_call_is_answered_in_ukrainian(start_service) -> None:
    service = await start_service(pipeline="voice")
    assert service.backends.sandbox is None  # every service is the real one
    calls: list[Call] = []
    service.on_call.append(calls.append)
    scenario = load_scenarios()["product_search"]

    await run_call(
        "127.0.0.1",
        service.server.port,
        ScenarioPlayer(scenario, build_phrasebook(scenario.lines)),
    )

    turns = calls[0].observer.record.turns
    answered = [t for t in turns[1:] if t.bot_text]
    assert answered, "no answer from the real services"
    for turn in answered:
        print(f"\n{turn.user_text!r} -> {turn.bot_text!r}: {turn.figures()}")
        assert turn.figures()["voice_to_voice_ms"] is not None
