"""Checks an Asterisk configuration against the Call Processor's settings (pure: text in).

``callproc asterisk check /etc/asterisk`` reads extensions.conf, queues.conf, manager.conf,
http.conf, ari.conf and pjsip.conf (and the fail2ban jail, if given) and reports what would
break calls or weaken the PBX: a port or queue that differs from the service's settings, a
``Goto`` to a context that does not exist, an inbound context that some callers' numbers
(``+380...``, ``s`` from a trunk without DID) do not reach, a URL the service does not
serve, a ``Dial(AudioSocket/...)`` (16 kHz) that would hang up the caller when the bot hangs
up, a manager user with more rights than it needs, a service listening beyond loopback,
a SIP trunk without an address allow-list, a module the dialplan needs that modules.conf
does not load (with ``autoload = no``) or refuses (``noload``), the queue's music-on-hold
class missing from musiconhold.conf, and every password still a ``CHANGE_ME`` placeholder or
too short. The templates in ``asterisk/`` pass with only their placeholders reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PLACEHOLDER = "CHANGE_ME"
MIN_SECRET_CHARS = 16
SERVICE_PATHS = (  # what the dialplan may call, as the HTTP app routes them
    "/health/ready",
    "/calls/{call_uuid}/caller",
    "/calls/{call_uuid}/handoff",
)
CONTEXTS = ("callproc-incoming", "transfer-to-operator", "operators", "callproc-rollback")
INBOUND_CONTEXTS = ("callproc-incoming", "callproc-rollback")
# What trunks put in ${EXTEN}: a DID with a plus, national and international digits, and `s`
# from a trunk that sends no DID. An inbound context that misses one drops those callers.
INBOUND_NUMBERS = ("+380441234567", "0441234567", "380441234567", "s")
SUMMARY_VARIABLES = ("CALLPROC_SUMMARY", "CALLPROC_REASON")
# What the dialplan and the queue use, and the module each comes from. A real Asterisk with
# `autoload = no` and one of these missing fails the way issue 14 records: no caller-number
# report (func_callerid), IF unregistered and an empty queue name (func_logic), no dialplan
# at all (pbx_config), no goodbye (app_playback), no hold music (res_musiconhold).
REQUIRED_MODULES = {
    "pbx_config.so": "extensions.conf itself",
    "app_audiosocket.so": "AudioSocket()",
    "res_audiosocket.so": "AudioSocket()",
    "func_curl.so": "CURL(), CURLOPT()",
    "res_curl.so": "CURL()",
    "func_strings.so": "HASH()",
    "func_uri.so": "URIENCODE()",
    "func_uuid.so": "UUID()",
    "func_callerid.so": "CALLERID(num), the caller-number report",
    "func_logic.so": "IF(), the queue name",
    "app_queue.so": "Queue()",
    "app_playback.so": "Playback()",
    "res_musiconhold.so": "the queue's music on hold",
}
# 16 kHz takes Dial(AudioSocket/host:port/uuid/c(slin16),,g) in place of AudioSocket().
DIAL_MODULES = {
    "app_dial.so": "Dial(AudioSocket/...)",
    "chan_audiosocket.so": "Dial(AudioSocket/...)",
    "codec_resample.so": "slin16 to and from the caller's 8 kHz codec",
}


@dataclass(frozen=True)
class Finding:
    """One problem: ``error`` (breaks or weakens) or ``placeholder`` (still to fill in)."""

    level: str
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.file}: {self.message}"


Section = list[tuple[str, str]]  # (key, value) in order; keys lower-case


def parse(text: str) -> dict[str, list[Section]]:
    """Asterisk config text as ``{section: [entries, ...]}`` (a name may repeat, as in pjsip)."""
    sections: dict[str, list[Section]] = {}
    current: Section | None = None
    for raw in text.splitlines():
        line = re.split(r"(?<!\\);", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            current = []
            sections.setdefault(header.group(1).strip(), []).append(current)
            continue
        pair = re.match(r"^([^=]+?)\s*=>?\s*(.*)$", line)
        if pair and current is not None:
            current.append((pair.group(1).strip().lower(), pair.group(2).strip()))
    return sections


def _values(section: Section, key: str) -> list[str]:
    return [v for k, v in section if k == key]


def _one(section: Section, key: str) -> str | None:
    values = _values(section, key)
    return values[-1] if values else None


def check(
    files: dict[str, str],
    *,
    http_port: int,
    audiosocket_port: int,
    queue: str,
    fail2ban: str | None = None,
) -> list[Finding]:
    """Every finding for the given config texts (``{"extensions.conf": text, ...}``)."""
    findings: list[Finding] = []
    parsed = {name: parse(text) for name, text in files.items()}
    findings += _secrets(files, fail2ban)
    findings += _extensions(parsed.get("extensions.conf"), http_port, audiosocket_port, queue)
    findings += _queues(parsed.get("queues.conf"), queue)
    findings += _manager(parsed.get("manager.conf"))
    findings += _http(parsed.get("http.conf"))
    findings += _ari(parsed.get("ari.conf"))
    findings += _pjsip(parsed.get("pjsip.conf"))
    dials = any(
        "Dial(AudioSocket/" in re.split(r"(?<!\\);", line, maxsplit=1)[0]
        for line in files.get("extensions.conf", "").splitlines()
    )
    findings += _modules(parsed.get("modules.conf"), DIAL_MODULES if dials else {})
    findings += _music_on_hold(parsed.get("musiconhold.conf"), parsed.get("queues.conf"), queue)
    if fail2ban is not None:
        findings += _fail2ban(parse(fail2ban))
    return findings


def _missing(name: str) -> list[Finding]:
    return [Finding("error", name, "file missing")]


def _extensions(
    conf: dict[str, list[Section]] | None, http_port: int, audio_port: int, queue: str
) -> list[Finding]:
    name = "extensions.conf"
    if conf is None:
        return _missing(name)
    out: list[Finding] = []
    for context in CONTEXTS:
        if context not in conf:
            out.append(Finding("error", name, f"context [{context}] missing"))
    globals_ = dict(conf.get("globals", [[]])[0])
    expected = {
        "callproc_http_port": str(http_port),
        "callproc_audiosocket_port": str(audio_port),
        "callproc_queue": queue,
    }
    for key, want in expected.items():
        got = globals_.get(key)
        if got != want:
            out.append(
                Finding("error", name, f"[globals] {key.upper()}={got} but the service uses {want}")
            )
    dialplan = [v for sections in conf.values() for s in sections for k, v in s if k in
                ("exten", "same")]  # fmt: skip
    text = "\n".join(dialplan)
    gotos = [line for line in dialplan if "Goto" in line]
    for target in re.findall(r"(?<=[?(:])([A-Za-z][\w-]*),(?:s|\$\{EXTEN\}),1\)", "\n".join(gotos)):
        if target not in conf:
            out.append(Finding("error", name, f"Goto to context [{target}], which is missing"))
    for url in re.findall(r"CURL\(http://\$\{CALLPROC_HOST\}:\$\{CALLPROC_HTTP_PORT\}([^,?)]*)",
                          text):  # fmt: skip
        path = re.sub(r"\$\{[^}]+\}", "{call_uuid}", url)
        if path not in SERVICE_PATHS:
            out.append(Finding("error", name, f"CURL to {url}, which the service does not serve"))
    for context in INBOUND_CONTEXTS:
        patterns = [
            v.split(",", 1)[0].strip()
            for section in conf.get(context, [])
            for k, v in section
            if k == "exten" and v.split(",")[1:2] == ["1"]
        ]
        for number in INBOUND_NUMBERS:
            if not any(extension_matches(p, number) for p in patterns):
                out.append(
                    Finding(
                        "error",
                        name,
                        f"[{context}] has no extension for calls to {number} (such callers get "
                        "'No such extension'): add exten => _[+0-9].,1,Goto(s,1) and "
                        "exten => s,1,...",
                    )
                )
    for args in _app_arguments(text, "Dial"):
        if args[0].startswith("AudioSocket/") and "g" not in (args[2] if len(args) > 2 else ""):
            out.append(
                Finding(
                    "error",
                    name,
                    "Dial(AudioSocket/...) without the g option: when the bot hangs up, "
                    "Asterisk hangs up the caller instead of going on to the handoff lookup "
                    "(seen on Asterisk 22): end it with ,,g)",
                )
            )
    if "AudioSocket(" in text and "${CALLPROC_AUDIOSOCKET_PORT}" not in text:
        out.append(Finding("error", name, "AudioSocket() does not use CALLPROC_AUDIOSOCKET_PORT"))
    if "hashcompat" not in text:
        out.append(Finding("error", name, "CURLOPT(hashcompat)=yes is needed to read the handoff"))
    return out


def _app_arguments(text: str, app: str) -> list[list[str]]:
    """The arguments of every ``app(...)`` call in ``text``, split at top-level commas."""
    calls = []
    for start in (m.end() for m in re.finditer(rf"\b{app}\(", text)):
        args, current, depth = [], "", 0
        for char in text[start:]:
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                args.append(current)
                current = ""
                continue
            current += char
        calls.append([*args, current])
    return calls


def extension_matches(pattern: str, extension: str) -> bool:
    """Whether a dialplan extension (``s``, or a pattern such as ``_[+0-9].``) takes ``extension``.

    Patterns as Asterisk matches them: X, Z, N, ``[classes]``, ``.`` (one or more), ``!`` (any).
    """
    if not pattern.startswith("_"):
        return pattern == extension
    regex = ""
    rest = pattern[1:]
    while rest:
        char, rest = rest[0], rest[1:]
        if char == "[":
            body, _, rest = rest.partition("]")
            regex += f"[{re.escape(body).replace(chr(92) + '-', '-')}]"
        else:
            regex += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(
                char.upper(), re.escape(char)
            )
    return re.fullmatch(regex, extension) is not None


def _queues(conf: dict[str, list[Section]] | None, queue: str) -> list[Finding]:
    if conf is None:
        return _missing("queues.conf")
    if queue not in conf:
        return [Finding("error", "queues.conf", f"no queue [{queue}] (CALLPROC_HANDOFF__QUEUE)")]
    return []


def _manager(conf: dict[str, list[Section]] | None) -> list[Finding]:
    name = "manager.conf"
    if conf is None:
        return _missing(name)
    out: list[Finding] = []
    general = conf.get("general", [[]])[0]
    if _one(general, "bindaddr") not in ("127.0.0.1", "::1"):
        out.append(Finding("error", name, "AMI must listen on loopback (bindaddr = 127.0.0.1)"))
    channelvars = _one(general, "channelvars") or ""
    for var in SUMMARY_VARIABLES:
        if var not in channelvars:
            out.append(Finding("error", name, f"channelvars lacks {var} (the screen-pop)"))
    for user, sections in conf.items():
        if user == "general":
            continue
        section = sections[-1]
        rights = {
            kind: {r.strip() for v in _values(section, kind) for r in v.split(",") if r.strip()}
            for kind in ("read", "write")
        }
        if rights["read"] - {"call", "agent"} or rights["write"] - {"call"}:
            out.append(
                Finding(
                    "error",
                    name,
                    f"user [{user}] may do more than it needs (read=call,agent write=call)",
                )
            )
        if "0.0.0.0/0.0.0.0" not in _values(section, "deny") or not _values(section, "permit"):
            out.append(Finding("error", name, f"user [{user}] needs deny=all and a permit list"))
    return out


def _http(conf: dict[str, list[Section]] | None) -> list[Finding]:
    if conf is None:
        return _missing("http.conf")
    general = conf.get("general", [[]])[0]
    plain_open = _one(general, "bindaddr") not in ("127.0.0.1", "::1")
    if plain_open and (_one(general, "tlsenable") or "no").lower() not in ("yes", "true"):
        return [Finding("error", "http.conf", "HTTP (ARI) beyond loopback without TLS")]
    return []


def _ari(conf: dict[str, list[Section]] | None) -> list[Finding]:
    if conf is None:
        return _missing("ari.conf")
    out = []
    for user, sections in conf.items():
        section = sections[-1]
        if _one(section, "type") == "user" and (_one(section, "read_only") or "no") != "yes":
            out.append(Finding("error", "ari.conf", f"ARI user [{user}] should be read_only"))
    return out


def _pjsip(conf: dict[str, list[Section]] | None) -> list[Finding]:
    name = "pjsip.conf"
    if conf is None:
        return _missing(name)
    out: list[Finding] = []
    sections = [(n, s) for n, group in conf.items() for s in group]
    acls = [s for _, s in sections if _one(s, "type") == "acl"]
    if not any("0.0.0.0/0.0.0.0" in _values(s, "deny") and _values(s, "permit") for s in acls):
        out.append(Finding("error", name, "no ACL that denies all and permits the provider"))
    endpoints = [(n, s) for n, s in sections if _one(s, "type") == "endpoint"]
    if not any(_one(s, "context") == "callproc-incoming" for _, s in endpoints):
        out.append(Finding("error", name, "no endpoint sends calls to context callproc-incoming"))
    for n, s in endpoints:
        if (_one(s, "dtmf_mode") or "rfc4733") not in ("rfc4733", "auto"):
            out.append(Finding("error", name, f"endpoint [{n}]: DTMF must be rfc4733 (key 0)"))
    return out


def _modules(conf: dict[str, list[Section]] | None, extra: dict[str, str]) -> list[Finding]:
    """Every module the dialplan needs is loaded (or autoloaded) and none is refused."""
    if conf is None:
        return []  # autoload = yes is the default; `module show` is the check then
    section = [entry for group in conf.get("modules", []) for entry in group]
    autoload = (_one(section, "autoload") or "yes").lower() in ("yes", "true")
    loaded = {v for k, v in section if k in ("load", "preload", "require", "preload-require")}
    refused = set(_values(section, "noload"))
    out = []
    for module, purpose in {**REQUIRED_MODULES, **extra}.items():
        if module in refused:
            out.append(Finding("error", "modules.conf", f"noload = {module}, needed for {purpose}"))
        elif not autoload and module not in loaded:
            out.append(
                Finding(
                    "error",
                    "modules.conf",
                    f"autoload = no and {module} is not loaded ({purpose}): add load = {module}",
                )
            )
    return out


def _music_on_hold(
    conf: dict[str, list[Section]] | None, queues: dict[str, list[Section]] | None, queue: str
) -> list[Finding]:
    """The queue's music-on-hold class exists (else callers wait in silence)."""
    sections = (queues or {}).get(queue)
    musicclass = (_one(sections[-1], "musicclass") if sections else None) or "default"
    if conf is None:
        return [Finding("error", "musiconhold.conf", f"file missing (class [{musicclass}])")]
    if musicclass not in conf:
        return [
            Finding(
                "error",
                "musiconhold.conf",
                f"no class [{musicclass}], the hold music of queue [{queue}]",
            )
        ]
    return []


def _fail2ban(conf: dict[str, list[Section]]) -> list[Finding]:
    jail = conf.get("asterisk", [[]])[-1]
    if (_one(jail, "enabled") or "").lower() != "true":
        return [Finding("error", "fail2ban", "the [asterisk] jail is not enabled")]
    logs = " ".join(_values(jail, "logpath"))
    if "messages" not in logs and "security" not in logs:
        return [Finding("error", "fail2ban", "the jail must read Asterisk's messages log")]
    return []


_SECRET_KEYS = re.compile(r"^\s*(secret|password|CALLPROC_TOKEN)\s*=\s*([^;\s]+)", re.I | re.M)


def _secrets(files: dict[str, str], fail2ban: str | None) -> list[Finding]:
    out = []
    every = {**files, **({"fail2ban": fail2ban} if fail2ban is not None else {})}
    for name, text in every.items():
        for line in text.splitlines():
            code = re.split(r"(?<!\\);", line, maxsplit=1)[0]
            if PLACEHOLDER in code:
                what = re.sub(r"\s+", " ", code.strip())
                out.append(Finding("placeholder", name, f"fill in: {what}"))
        for key, value in _SECRET_KEYS.findall(text):
            if PLACEHOLDER not in value and len(value) < MIN_SECRET_CHARS:
                out.append(
                    Finding(
                        "error",
                        name,
                        f"{key} is only {len(value)} characters; use at least "
                        f"{MIN_SECRET_CHARS} random ones",
                    )
                )
    return out


CONFIG_FILES = (
    "extensions.conf",
    "queues.conf",
    "manager.conf",
    "http.conf",
    "ari.conf",
    "pjsip.conf",
    "modules.conf",
    "musiconhold.conf",
)


def read_folder(folder: Path) -> dict[str, str]:
    """The config files present in ``folder`` (missing ones are reported by :func:`check`)."""
    return {name: (folder / name).read_text() for name in CONFIG_FILES if (folder / name).exists()}
