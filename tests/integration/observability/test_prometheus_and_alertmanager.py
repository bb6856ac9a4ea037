"""The Prometheus config, the alert rules (with their promtool tests) and the Alertmanager
config and templates, checked by the real promtool and amtool (scripts/test-tools.sh)."""

import os
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

OBS = Path(__file__).resolve().parents[3] / "observability"
PROMETHEUS = OBS / "prometheus"
ALERTMANAGER = OBS / "alertmanager"
DOCKER = OBS.parent / "docker"


def run(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    assert shutil.which(args[0]), f"{args[0]} missing: run scripts/test-tools.sh"
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_prometheus_config_and_rules_are_valid():
    config = run("promtool", "check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    rules = run("promtool", "check", "rules", "rules/callproc.rules.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "7 rules found" in rules.stdout


def test_every_alert_rule_passes_its_unit_tests():
    done = run("promtool", "test", "rules", "tests/callproc.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    tested = (PROMETHEUS / "tests" / "callproc.test.yml").read_text()
    rules = (PROMETHEUS / "rules" / "callproc.rules.yml").read_text()
    for alert in [line.split(":", 1)[1].strip() for line in rules.splitlines()
                  if line.strip().startswith("- alert:")]:  # fmt: skip
        assert f"alertname: {alert}" in tested, f"{alert} has no unit test"


def test_the_unit_tests_catch_a_wrong_threshold(tmp_path: Path):
    """The promtool tests can fail: loosen a threshold and they do."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    rules = (PROMETHEUS / "rules" / "callproc.rules.yml").read_text()
    assert "> 3\n" in rules
    (tmp_path / "rules" / "callproc.rules.yml").write_text(rules.replace("> 3\n", "> 6\n"))
    shutil.copy(PROMETHEUS / "tests" / "callproc.test.yml", tmp_path / "tests")
    done = run("promtool", "test", "rules", "tests/callproc.test.yml", cwd=tmp_path)
    assert done.returncode != 0 and "CallprocSlowAnswers" in done.stdout + done.stderr


def rendered_config(tmp_path: Path) -> Path:
    """The Alertmanager config as the README says to render it (secrets from the environment)."""
    template = string.Template((ALERTMANAGER / "alertmanager.yml.tmpl").read_text())
    assert "TELEGRAM_BOT_TOKEN" in template.template and "hooks.slack.com" not in template.template
    text = template.substitute(
        TELEGRAM_BOT_TOKEN="123456:fake-token",
        TELEGRAM_CHAT_ID="-1001234567890",
        SLACK_WEBHOOK_URL="https://hooks.slack.com/services/T000/B000/XXXX",
    )
    path = tmp_path / "alertmanager.yml"
    path.write_text(text.replace("/etc/alertmanager/templates", str(ALERTMANAGER / "templates")))
    return path


def test_the_alertmanager_config_is_valid_and_routes_to_telegram_and_slack(tmp_path: Path):
    config = rendered_config(tmp_path)
    done = run("amtool", "check-config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    text = config.read_text()
    assert "telegram_configs" in text and "slack_configs" in text


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("callproc.telegram.message", "since:"),
        ("callproc.slack.title", ""),
        ("callproc.slack.text", "since:"),
    ],
)
def test_the_message_templates_render(template, expected):
    done = run(
        "amtool", "template", "render",
        f"--template.glob={ALERTMANAGER / 'templates' / '*.tmpl'}",
        f"--template.text={{{{ template \"{template}\" . }}}}",
        cwd=ALERTMANAGER,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert expected in done.stdout
    assert "<no value>" not in done.stdout


def _render_for_the_stack(tmp_path: Path, **alert_env: str) -> tuple[Path, str]:
    """What the compose stack's alertmanager-config job writes (docker/render_alertmanager.py)."""
    out = tmp_path / "alertmanager.yml"
    done = subprocess.run(
        [sys.executable, str(DOCKER / "render_alertmanager.py"),
         str(ALERTMANAGER / "alertmanager.yml.tmpl"), str(out)],
        env={"PATH": os.environ["PATH"], **alert_env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = out.read_text().replace("/etc/alertmanager/templates", str(ALERTMANAGER / "templates"))
    out.write_text(text)
    return out, done.stdout


@pytest.mark.parametrize(
    ("alert_env", "channels"),
    [
        ({}, []),
        ({"ALERT_TELEGRAM_BOT_TOKEN": "123:a#b: c", "ALERT_TELEGRAM_CHAT_ID": "-100123"},
         ["telegram_configs"]),
        ({"ALERT_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X"}, ["slack_configs"]),
        ({"ALERT_TELEGRAM_BOT_TOKEN": "123:tok"}, []),  # no chat id: Telegram stays off
    ],
)  # fmt: skip
def test_the_stack_renders_a_valid_alertmanager_config_with_the_channels_set(
    tmp_path: Path, alert_env: dict[str, str], channels: list[str]
):
    config, said = _render_for_the_stack(tmp_path, **alert_env)
    done = run("amtool", "check-config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    text = config.read_text()
    for kind in ("telegram_configs", "slack_configs"):
        assert (kind in text) == (kind in channels)
    for value in alert_env.values():
        assert value not in said  # the job's log names the channels, never their secrets
    if "ALERT_TELEGRAM_CHAT_ID" in alert_env and channels:
        assert "chat_id: -100123" in text and "bot_token: '123:a#b: c'" in text


def test_the_stacks_prometheus_config_and_rules_are_valid(tmp_path: Path):
    (tmp_path / "prometheus.yml").write_text(
        (DOCKER / "prometheus.yml")
        .read_text()
        .replace("/etc/prometheus/rules", str(PROMETHEUS / "rules"))
    )
    done = run("promtool", "check", "config", "prometheus.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 rules found" in done.stdout
