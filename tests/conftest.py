"""Test-suite wide rules: every test module declares its cost category, and no developer
environment leaks into a test."""

import os

import pytest

_CATEGORIES = {"unit", "integration"}
# Set on a developer's machine, these would turn local stand-ins and embedded stores into
# real services; tests that want them (the live ones) put them back explicitly.
_CREDENTIALS_AND_URLS = {
    "ANTHROPIC_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "DATABASE_URL",
    "REDIS_URL",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail collection when a test has no category marker or sits in the wrong folder."""
    for item in items:
        marks = {m.name for m in item.iter_markers()} & _CATEGORIES
        folder = next((c for c in _CATEGORIES if f"{os.sep}{c}{os.sep}" in str(item.path)), None)
        if len(marks) != 1 or folder not in marks:
            raise pytest.UsageError(
                f"{item.nodeid}: declare exactly one of {sorted(_CATEGORIES)} with "
                f"`pytestmark = pytest.mark.<category>`, matching its folder tests/{folder}/"
            )


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's CALLPROC_* variables and credentials out of every test."""
    for name in list(os.environ):
        if name.startswith("CALLPROC_") or name in {
            "ANTHROPIC_API_KEY",
            "DATABASE_URL",
            "REDIS_URL",
        }:
            monkeypatch.delenv(name, raising=False)
