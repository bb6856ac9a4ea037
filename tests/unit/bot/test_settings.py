from pathlib import Path

import pytest

from bot.settings import SettingsError, describe, load_settings, render_env_example

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_work_without_any_configuration() -> None:
    settings = load_settings(None)
    assert (settings.audiosocket.host, settings.audiosocket.port) == ("0.0.0.0", 9092)
    assert (settings.http.port, settings.audiosocket.sample_rate) == (8080, 8000)
    assert settings.log_level == "INFO" and settings.anthropic_api_key is None


def test_nested_variables_and_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CALLPROC_HTTP__PORT=8181\nCALLPROC_AUDIOSOCKET__MAX_CALLS=7\n")
    env_file.chmod(0o600)
    monkeypatch.setenv("CALLPROC_AUDIOSOCKET__PORT", "9999")

    settings = load_settings(env_file)

    assert (settings.audiosocket.port, settings.http.port) == (9999, 8181)
    assert settings.audiosocket.max_calls == 7


@pytest.mark.parametrize("rate", [8000, 16000])
def test_the_sample_rate_can_be_set(rate: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLPROC_AUDIOSOCKET__SAMPLE_RATE", str(rate))
    assert load_settings(None).audiosocket.sample_rate == rate


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("CALLPROC_AUDIOSOCKET__PORT", "70000", "less than or equal to 65535"),
        ("CALLPROC_AUDIOSOCKET__PORT", "abc", "valid integer"),
        ("CALLPROC_AUDIOSOCKET__SAMPLE_RATE", "44100", "8000 or 16000"),
        ("CALLPROC_AUDIOSOCKET__OUTPUT_LEAD_FRAMES", "5", "less than or equal to 3"),
        ("CALLPROC_AUDIOSOCKET__MAX_CALLS", "0", "greater than or equal to 1"),
        ("CALLPROC_AUDIOSOCKET__FIRST_AUDIO_SECS", "3", "less than 2"),
        ("CALLPROC_LOG_LEVEL", "LOUD", "'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("CALLPROC_LOG_FORMAT", "xml", "'json' or 'console'"),
        ("CALLPROC_DRAIN_SECS", "-1", "greater than or equal to 0"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, allowed: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        load_settings(None)
    message = str(info.value)
    assert message.count("\n") == 0
    assert message.startswith(f"invalid setting {variable}={value!r}: ")
    assert allowed in message


def test_a_store_url_without_its_key_names_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLPROC_STORE__URL", "https://store.example/api")
    monkeypatch.setenv("CALLPROC_STORE__READ_RETRIES", "2")
    with pytest.raises(SettingsError) as info:
        load_settings(None)
    message = str(info.value)
    assert message.startswith("invalid setting CALLPROC_STORE: ")
    assert "CALLPROC_STORE__API_KEY is required" in message
    assert "store.example" not in message  # a group's values are never printed


def test_a_store_url_with_its_key_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLPROC_STORE__URL", "https://store.example/api")
    monkeypatch.setenv("CALLPROC_STORE__API_KEY", "store-secret")
    store = load_settings(None).store
    assert str(store.url) == "https://store.example/api"
    assert store.api_key is not None and store.api_key.get_secret_value() == "store-secret"


def test_secrets_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-ant-api03-" + "s" * 40
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    settings = load_settings(None)

    assert settings.anthropic_api_key is not None
    assert settings.anthropic_api_key.get_secret_value() == key
    assert key not in repr(settings) and key not in str(settings.model_dump())
    assert ("CALLPROC_ANTHROPIC_API_KEY", "(set)") in [(n, v) for n, v, _ in describe(settings)]


def test_every_setting_has_a_description() -> None:
    assert all(description for _, _, description in describe(load_settings(None)))


def test_env_example_lists_every_setting_with_its_default() -> None:
    assert (ROOT / ".env.example").read_text() == render_env_example(load_settings(None))
