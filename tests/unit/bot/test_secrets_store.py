"""Secrets made once in the data folder: private, never empty, stable."""

import pytest

from bot.secrets_store import MIN_CHARS, stored_secret

pytestmark = pytest.mark.unit


def test_made_once_kept_private_and_stable(tmp_path):
    first = stored_secret(tmp_path, "api-token")
    assert len(first) >= MIN_CHARS
    assert stored_secret(tmp_path, "api-token") == first
    path = tmp_path / "secrets" / "api-token"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "secrets").stat().st_mode & 0o777 == 0o700
    assert list((tmp_path / "secrets").iterdir()) == [path]  # no temporary file left


def test_an_empty_or_cut_file_is_replaced(tmp_path):
    path = tmp_path / "secrets" / "caller-number.key"
    path.parent.mkdir()
    path.write_text("")  # a crash between creating and writing it
    value = stored_secret(tmp_path, "caller-number.key")
    assert len(value) >= MIN_CHARS and path.read_text() == value
