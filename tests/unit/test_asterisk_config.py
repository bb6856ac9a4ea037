"""The Asterisk configs in asterisk/ agree with the service: contexts, ports, URLs, rights."""

from pathlib import Path

import pytest

from bot.asterisk_check import SERVICE_PATHS, check, parse, read_folder
from bot.dialplan_api import DialplanApi
from bot.http import build_app
from bot.settings import load_settings

pytestmark = pytest.mark.unit

ASTERISK = Path(__file__).resolve().parents[2] / "asterisk"
JAIL = (ASTERISK / "fail2ban" / "asterisk-callproc.local").read_text()


def findings(files=None, **overrides):
    settings = load_settings(None)
    options = {
        "http_port": settings.http.port,
        "audiosocket_port": settings.audiosocket.port,
        "queue": settings.handoff.queue,
        "fail2ban": JAIL,
        **overrides,
    }
    return check(files if files is not None else read_folder(ASTERISK), **options)


def test_the_shipped_configs_agree_with_the_default_settings():
    found = findings()
    assert [f for f in found if f.level == "error"] == []
    # Every secret and address is a placeholder an admin must fill in.
    placeholders = {(f.file, f.message.split(":", 1)[1].split("=")[0].strip()) for f in found}
    assert ("manager.conf", "secret") in placeholders
    assert ("ari.conf", "password") in placeholders
    assert ("pjsip.conf", "password") in placeholders
    assert ("extensions.conf", "CALLPROC_TOKEN") in placeholders


def test_every_config_file_parses():
    for path in sorted(ASTERISK.glob("*.conf")):
        assert parse(path.read_text()), path.name
    extensions = parse((ASTERISK / "extensions.conf").read_text())
    assert {"globals", "callproc-incoming", "transfer-to-operator", "operators"} <= set(extensions)


def test_the_urls_the_dialplan_calls_are_the_ones_the_service_serves():
    app = build_app({})
    DialplanApi("token", storage=None, handoffs=None).routes(app)  # type: ignore[arg-type]
    served = {r.canonical for r in app.router.resources()}
    assert set(SERVICE_PATHS) <= served


def mutated(name: str, old: str, new: str) -> dict[str, str]:
    files = read_folder(ASTERISK)
    assert old in files[name], old
    files[name] = files[name].replace(old, new)
    return files


@pytest.mark.parametrize(
    ("name", "old", "new", "complaint"),
    [
        ("extensions.conf", "CALLPROC_HTTP_PORT=8080", "CALLPROC_HTTP_PORT=8081",
         "CALLPROC_HTTP_PORT=8081 but the service uses 8080"),
        ("extensions.conf", "CALLPROC_AUDIOSOCKET_PORT=9092", "CALLPROC_AUDIOSOCKET_PORT=9000",
         "CALLPROC_AUDIOSOCKET_PORT=9000 but the service uses 9092"),
        ("extensions.conf", "[transfer-to-operator]", "[transfer-operator]",
         "Goto to context [transfer-to-operator], which is missing"),
        ("extensions.conf", "/handoff?format=plain", "/handover?format=plain",
         "which the service does not serve"),
        ("extensions.conf", "Set(CURLOPT(hashcompat)=yes)", "NoOp()", "hashcompat"),
        ("extensions.conf", "exten => _[+0-9].,1", "exten => _X.,1",
         "[callproc-incoming] has no extension for calls to +380441234567"),
        ("extensions.conf", "exten => s,1,Answer()", "exten => _X.,1,Answer()",
         "[callproc-rollback] has no extension for calls to s"),
        ("queues.conf", "[operators]", "[sales]", "no queue [operators]"),
        ("manager.conf", "write = call", "write = all", "may do more than it needs"),
        ("manager.conf", "bindaddr = 127.0.0.1", "bindaddr = 0.0.0.0", "loopback"),
        ("manager.conf", "CALLPROC_SUMMARY,", "", "channelvars lacks CALLPROC_SUMMARY"),
        ("http.conf", "bindaddr = 127.0.0.1", "bindaddr = 0.0.0.0", "without TLS"),
        ("ari.conf", "read_only = yes", "read_only = no", "should be read_only"),
        ("pjsip.conf", "deny = 0.0.0.0/0.0.0.0", "deny = 10.0.0.0/8", "denies all"),
        ("pjsip.conf", "context = callproc-incoming", "context = default",
         "callproc-incoming"),
        ("pjsip.conf", "dtmf_mode = rfc4733", "dtmf_mode = inband", "DTMF must be rfc4733"),
        ("manager.conf", "secret = CHANGE_ME_TO_A_LONG_RANDOM_SECRET", "secret = admin123",
         "secret is only 8 characters"),
    ],
)  # fmt: skip
def test_each_mistake_is_named(name, old, new, complaint):
    errors = [str(f) for f in findings(mutated(name, old, new)) if f.level == "error"]
    assert any(complaint in e for e in errors), errors


AUDIOSOCKET_APP = "n,AudioSocket(${CALLPROC_UUID},${CALLPROC_HOST}:${CALLPROC_AUDIOSOCKET_PORT})"
DIAL_16K = (
    "n,Dial(AudioSocket/${CALLPROC_HOST}:${CALLPROC_AUDIOSOCKET_PORT}/${CALLPROC_UUID}/c(slin16)"
)


def test_16_khz_needs_dial_with_the_g_option_and_its_modules():
    # Seen on Asterisk 22.10: without g, the bot's hangup ends Dial() and hangs up the caller.
    files = read_folder(ASTERISK)
    notes = (ASTERISK / "modules.conf.notes").read_text()
    files["modules.conf"] = notes
    shipped = files["extensions.conf"]
    files["extensions.conf"] = shipped.replace(AUDIOSOCKET_APP, DIAL_16K + ")")
    errors = [str(f) for f in findings(files) if f.level == "error"]
    assert any("without the g option" in e for e in errors), errors
    files["extensions.conf"] = shipped.replace(AUDIOSOCKET_APP, DIAL_16K + ",,g)")
    assert [f for f in findings(files) if f.level == "error"] == []
    files["modules.conf"] = notes.replace("load = chan_audiosocket.so\n", "")
    errors = [str(f) for f in findings(files) if f.level == "error"]
    assert any("chan_audiosocket.so is not loaded" in e for e in errors), errors


def test_the_module_list_loads_everything_the_dialplan_needs():
    files = read_folder(ASTERISK)
    files["modules.conf"] = (ASTERISK / "modules.conf.notes").read_text()  # autoload = no
    assert [f for f in findings(files) if f.level == "error"] == []


@pytest.mark.parametrize(
    ("module", "purpose"),
    [("func_logic.so", "IF()"), ("func_callerid.so", "CALLERID"), ("pbx_config.so", "itself"),
     ("app_playback.so", "Playback()"), ("res_musiconhold.so", "music on hold")],
)  # fmt: skip
def test_a_module_missing_with_autoload_off_is_named(module, purpose):
    files = read_folder(ASTERISK)
    notes = (ASTERISK / "modules.conf.notes").read_text()
    files["modules.conf"] = notes.replace(f"load = {module}\n", "")
    errors = [str(f) for f in findings(files) if f.level == "error"]
    assert any(module in e and purpose in e for e in errors), errors
    files["modules.conf"] = f"[modules]\nautoload = yes\nnoload => {module}\n"
    errors = [str(f) for f in findings(files) if f.level == "error"]
    assert any(f"noload = {module}" in e for e in errors), errors


def test_the_queues_hold_music_must_exist():
    files = read_folder(ASTERISK)
    files["musiconhold.conf"] = "[jazz]\nmode = files\ndirectory = moh\n"
    errors = [str(f) for f in findings(files) if f.level == "error"]
    assert "error: musiconhold.conf: no class [default], the hold music of queue [operators]" in (
        errors
    )


def test_a_queue_setting_other_than_the_configs_is_caught():
    errors = [str(f) for f in findings(queue="support") if f.level == "error"]
    assert any("CALLPROC_QUEUE=operators but the service uses support" in e for e in errors)
    assert any("no queue [support]" in e for e in errors)


def test_a_missing_file_and_a_disabled_jail():
    files = read_folder(ASTERISK)
    del files["pjsip.conf"]
    jail = JAIL.replace("enabled  = true", "enabled  = false")
    errors = [str(f) for f in findings(files, fail2ban=jail) if f.level == "error"]
    assert "error: pjsip.conf: file missing" in errors
    assert "error: fail2ban: the [asterisk] jail is not enabled" in errors
