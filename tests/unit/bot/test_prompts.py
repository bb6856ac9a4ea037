from pathlib import Path

import pytest

from bot.prompts import PROMPTS_DIR, PromptError, load_prompts

pytestmark = pytest.mark.unit

LANGUAGES = ("uk-UA", "ru-RU", "en-US")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_a_complete_prompt_set(language: str) -> None:
    prompts = load_prompts(language, store="Техно")
    assert "Техно" in prompts.system and "{store}" not in prompts.system
    assert "Техно" in prompts.phrase("greeting")
    assert prompts.phrase("apology") and prompts.phrase("transfer_after_failure")


def test_greetings_disclose_the_automated_assistant() -> None:
    assert "автоматичний" in load_prompts("uk-UA", store="X").phrase("greeting")
    assert "автоматический" in load_prompts("ru-RU", store="X").phrase("greeting")
    assert "automated" in load_prompts("en-US", store="X").phrase("greeting")


def test_version_follows_the_content() -> None:
    a = load_prompts("uk-UA", store="A")
    assert a.version == load_prompts("uk-UA", store="A").version
    assert a.version != load_prompts("uk-UA", store="B").version
    assert len({load_prompts(lang, store="A").version for lang in LANGUAGES}) == 3


def test_missing_file_and_missing_phrase_are_named(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="no prompt file for de-DE"):
        load_prompts("de-DE", store="X", directory=PROMPTS_DIR)
    (tmp_path / "uk-UA.yaml").write_text("system: hi\nphrases:\n  greeting: hello\n")
    with pytest.raises(
        PromptError, match="missing phrases: apology, transfer, transfer_after_failure"
    ):
        load_prompts("uk-UA", store="X", directory=tmp_path)
