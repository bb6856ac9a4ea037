"""Release bookkeeping: one version everywhere, a changelog entry for it, the stack's variables."""

import re
from pathlib import Path

import pytest

from bot import __version__
from bot.cli import _parser
from bot.prompts import load_prompts
from bot.settings import load_settings
from bot.stack_env import STACK_VARIABLES

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_the_version_is_printed_by_the_command_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        _parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"callproc {__version__}"


def test_the_changelog_has_an_entry_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d\d-\d\d$", changelog, re.M)
    assert "## [Unreleased]" in changelog


def test_the_changelog_names_the_prompt_versions_this_code_ships() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    store = load_settings(None).store_name
    for language in ("uk-UA", "ru-RU", "en-US"):
        version = load_prompts(language, store=store).version
        assert f"{language} `{version}`" in changelog, (
            f"prompts/{language}.yaml changed: add 'Prompt versions: {language} `{version}`' "
            "to the Unreleased section of CHANGELOG.md"
        )


def test_every_variable_the_compose_file_reads_is_in_the_env_example() -> None:
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", compose))
    listed = {name for name, _, _ in STACK_VARIABLES}
    assert used <= listed, f"describe in bot/stack_env.py: {sorted(used - listed)}"
    assert listed <= used, f"no longer read by docker-compose.yml: {sorted(listed - used)}"
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in used:
        assert f"# {name}=" in example
