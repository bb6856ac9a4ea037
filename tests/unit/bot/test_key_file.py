"""Secret files are checked before anything starts: too open, unreadable or not a key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.key_file import key_file_problem
from bot.settings import SettingsError, load_settings
from sandbox.credentials import fake_service_account_json

pytestmark = pytest.mark.unit


def _file(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def _settings_with_key(key: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CALLPROC_GOOGLE_CREDENTIALS", str(key))
    return load_settings(None)


def test_a_key_only_its_owner_may_read_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _file(tmp_path / "key.json", fake_service_account_json(), 0o600)
    assert key_file_problem(key) is None
    assert _settings_with_key(key, monkeypatch).google_credentials == key


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o601])
def test_a_key_other_users_may_use_is_refused_with_the_fix(
    tmp_path: Path, mode: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _file(tmp_path / "key.json", fake_service_account_json(), mode)
    with pytest.raises(SettingsError) as info:
        _settings_with_key(key, monkeypatch)
    assert str(info.value) == (
        f"invalid setting CALLPROC_GOOGLE_CREDENTIALS={str(key)!r}: {key} can be read by other "
        f"users of this machine (mode {mode:o}): chmod 600 {key}"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not JSON"),
        ('{"type": "authorized_user"}', 'no "type": "service_account"'),
        (
            '{"type": "service_account", "project_id": "p", "client_email": "a@b.c", '
            '"token_uri": "https://oauth2.googleapis.com/token", '
            '"private_key": "-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----\\n"}',
            "unusable service-account key",
        ),
    ],
)
def test_a_file_that_is_not_a_usable_key_is_one_line(
    tmp_path: Path, text: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _file(tmp_path / "key.json", text, 0o600)
    with pytest.raises(SettingsError) as info:
        _settings_with_key(key, monkeypatch)
    message = str(info.value)
    assert "\n" not in message and says in message and "download a JSON key" in message


def test_an_env_file_other_users_may_read_is_refused(tmp_path: Path) -> None:
    env_file = _file(tmp_path / ".env", "CALLPROC_HTTP__PORT=8181\n", 0o644)
    with pytest.raises(SettingsError, match=r"mode 644\): chmod 600 .*\.env$"):
        load_settings(env_file)
    env_file.chmod(0o600)
    assert load_settings(env_file).http.port == 8181


def test_serve_with_a_broken_key_stops_before_starting_anything(tmp_path: Path) -> None:
    key = _file(tmp_path / "key.json", '{"type": "service_account"}', 0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPROC_")}
    env |= {"CALLPROC_GOOGLE_CREDENTIALS": str(key), "CALLPROC_DATA_DIR": str(tmp_path / "var")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--workers", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "callproc: configuration error",
        f"invalid setting CALLPROC_GOOGLE_CREDENTIALS={str(key)!r}: {key}: the key has no "
        "project_id; download a JSON key of a service account with Speech-to-Text and "
        "Text-to-Speech access",
    ]
    assert proc.stdout == "" and not (tmp_path / "var").exists()  # nothing was started


def test_a_key_path_that_is_not_a_file_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path, says in ((tmp_path / "nope.json", "does not exist"), (tmp_path, "is not a file")):
        with pytest.raises(SettingsError) as info:
            _settings_with_key(path, monkeypatch)
        assert str(info.value).endswith(f"{path} {says}")
