"""All configuration, read once from the environment (and an optional ``.env``) at start-up.

Every setting has a working local default, a description and validation. Variables are
``CALLPROC_<NAME>``; settings of one component are nested and use a double underscore, e.g.
``CALLPROC_AUDIOSOCKET__PORT``. Nothing else in the code reads ``os.environ``: the CLI builds
one :class:`Settings` and passes it down.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    AnyHttpUrl,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.stack_env import render_stack_section

ENV_PREFIX = "CALLPROC_"
NESTED_DELIMITER = "__"


def _usable_key(path: Path) -> Path:
    from bot.key_file import key_file_problem  # google-auth: only when a key is configured

    problem = key_file_problem(path)
    if problem:
        raise ValueError(problem)
    return path


# 0 asks the OS for any free port (tests, the demo); the bound port is logged at start.
Port = Annotated[int, Field(ge=0, le=65535)]


SAMPLE_RATES = (8000, 16000)


def _sample_rate(rate: int) -> int:
    # Literal[8000, 16000] would refuse "8000" from the environment: a string is no int literal
    if rate not in SAMPLE_RATES:
        raise ValueError(
            "must be 8000 or 16000 (8000 for the dialplan's AudioSocket(), 16000 for "
            "Dial(AudioSocket/host:port/uuid/c(slin16)))"
        )
    return rate


SampleRate = Annotated[int, AfterValidator(_sample_rate)]

Language = Literal["uk-UA", "ru-RU", "en-US"]
"""The languages callers are answered in (each has its prompts and phrases)."""


class AudioSocketSettings(BaseModel):
    """The TCP listener Asterisk's ``AudioSocket()`` connects to, and the per-call audio format."""

    host: str = Field("0.0.0.0", description="Address to listen on for AudioSocket calls.")
    port: Port = Field(9092, description="TCP port for AudioSocket calls.")
    max_calls: int = Field(
        20,
        ge=1,
        le=1000,
        description="Concurrent calls the service takes (shared evenly by its workers); a call "
        "beyond it is refused at once with an AudioSocket hangup, so the dialplan continues "
        "to the operators. Set it from `callproc bench` on the machine (docs/benchmarks.md).",
    )
    max_loop_lag_ms: float = Field(
        80.0,
        ge=5,
        le=5000,
        description="A process whose event loop keeps running more than this late (in a "
        "quarter of the samples of the last second; one stall does not count) takes no new "
        "call (refused with a hangup) until it catches up; calls in progress are never the "
        "price of a new one.",
    )
    handshake_timeout_secs: float = Field(
        2.0, gt=0, le=30, description="Time allowed for the call UUID, the first message."
    )
    first_audio_secs: float = Field(
        1.5,
        ge=0,
        lt=2,
        description="Time allowed after the call UUID for the first frame; only then does the "
        "connection count as a call (a peer that sends a UUID and nothing holds no call slot). "
        "A call without it is refused with a hangup, so the dialplan sends it to the "
        "operators. Under 2 s: Asterisk's AudioSocket() gives up after 2 s with no frame either "
        "way and hangs the caller up. Asterisk sends the channel's audio at once; a trunk with "
        "silence suppression sends nothing until the caller speaks: turn that off towards "
        "AudioSocket, or set 0 to admit calls on the UUID alone.",
    )
    max_waiting_per_peer: int = Field(
        100,
        ge=1,
        le=10000,
        description="Connections one address may have waiting for their UUID or first audio "
        "(a waiting connection holds no call slot; this bounds what one peer can open); more "
        "are refused at once with a hangup. Keep it above the largest burst of calls one "
        "Asterisk sends at once.",
    )
    read_timeout_secs: float = Field(
        60.0,
        gt=0,
        le=600,
        description="A call whose Asterisk side sends nothing at all for this long ends "
        "(outcome read_timeout). Only a last resort: Asterisk sends nothing while a caller on "
        "a trunk with silence suppression is quiet, so the voice pipeline asks first "
        "(CALLPROC_TURN__SILENCE_PROMPT_SECS); keep this above the prompts' total.",
    )
    max_payload_bytes: int = Field(
        16384,
        ge=640,
        le=65535,
        description="Largest message payload accepted; a longer one ends that call as malformed.",
    )
    sample_rate: SampleRate = Field(
        8000,
        description="Pipeline sample rate in Hz; caller audio at another rate is resampled, "
        "bot audio is sent at this rate (0x10 for 8000, 0x12 for 16000).",
    )
    output_lead_frames: int = Field(
        3,
        ge=1,
        le=3,
        description="20 ms frames the bot's audio may run ahead of real time. More rides out "
        "scheduler stalls (a sender later than this restarts its timeline, and the rest of "
        "the answer plays that much later), less keeps barge-in sharp (audio already sent "
        "plays out). 3 measured best under a busy host (docs/benchmarks.md).",
    )


class HttpSettings(BaseModel):
    """The HTTP app: health, readiness, the handoff API for the dialplan, the operator console."""

    host: str = Field("0.0.0.0", description="Address the HTTP app listens on.")
    port: Port = Field(8080, description="Port of the HTTP app.")
    api_token: SecretStr | None = Field(
        None,
        description="Token the dialplan sends (?token=... or Authorization: Bearer) to read "
        "handoffs and report caller numbers; unset means a random one kept in "
        "<data dir>/secrets/api-token.",
    )
    console_token: SecretStr | None = Field(
        None,
        description="Password of the operator console (/console); unset means a random one "
        "kept in <data dir>/secrets/console-token.",
    )
    public_url: str | None = Field(
        None,
        description="How operators reach this service (e.g. https://callproc.lan:8080), for "
        "links in notifications.",
    )


class HandoffSettings(BaseModel):
    """Handing calls to operators: the summary, the queue, notifications."""

    language: Language = Field("uk-UA", description="Language of the operator's summary.")
    summary_deadline_secs: float = Field(
        2.0,
        gt=0,
        le=10,
        description="Longest wait for the model's summary; after it the transfer goes on with "
        "the summary assembled from the call record.",
    )
    summary_model: str | None = Field(
        None, description="Claude model for the summary; unset means the conversation's model."
    )
    customer_name: Literal["initials", "omit", "full"] = Field(
        "initials",
        description="The caller's name (as given for an order) in the summary, the caller's "
        "words and the webhook: initials (О. К.), omit (***) or full. Phones are always masked.",
    )
    queue: str = Field(
        "operators", description="Asterisk queue the dialplan puts transferred calls in."
    )
    webhook_url: str | None = Field(
        None, description="POST each handoff as JSON here (e.g. a CRM or a helpdesk)."
    )
    webhook_secret: SecretStr | None = Field(
        None, description="If set, webhooks carry X-Callproc-Signature: sha256=HMAC of the body."
    )
    telegram_bot_token: SecretStr | None = Field(
        None, description="Telegram bot token; with telegram_chat_id, each handoff is posted."
    )
    telegram_chat_id: str | None = Field(None, description="Telegram chat for handoffs.")
    telegram_api_url: str = Field(
        "https://api.telegram.org", description="Telegram Bot API base URL."
    )
    slack_webhook_url: SecretStr | None = Field(
        None, description="Slack incoming-webhook URL; each handoff is posted."
    )
    notify_template: str = Field(
        "📞 {reason_text}\n{summary}\nCall {call_short} · {console_link}",
        description="Text of Telegram/Slack messages; fields: reason, reason_text, summary "
        "(the facts: products, prices, stock, order - never the caller's words), call_uuid, "
        "call_short, console_link.",
    )
    notify_retries: int = Field(
        3, ge=0, le=10, description="Retries of a failed notification (with backoff)."
    )


class SpeechSettings(BaseModel):
    """Google Speech-to-Text and Text-to-Speech (or their local stand-ins)."""

    stt_model: str = Field("chirp_3", description="Speech-to-Text v2 model.")
    stt_location: str = Field(
        "eu", description="Speech-to-Text location (chirp_3 is served in 'eu' and 'us')."
    )
    tts_voice: str = Field(
        "Achernar",
        description="Chirp 3 HD voice persona; the full name is <language>-Chirp3-HD-<persona>.",
    )
    tts_location: str = Field("eu", description="Text-to-Speech location.")
    tts_speaking_rate: float = Field(
        1.0, ge=0.25, le=2.0, description="Speaking rate (1 = normal)."
    )


class LlmSettings(BaseModel):
    """Claude, the conversation model (or its local stand-in)."""

    model: str = Field("claude-haiku-5-5", description="Claude model id (low latency first).")
    max_tokens: int = Field(
        400, ge=16, le=4096, description="Longest answer, in tokens; phone answers are short."
    )
    base_url: str | None = Field(
        None,
        description="Claude API base URL with ANTHROPIC_API_KEY set, e.g. a company LLM "
        "gateway; unset means Anthropic's own.",
    )


class TurnSettings(BaseModel):
    """When the caller has started and finished speaking."""

    vad_confidence: float = Field(0.7, gt=0, lt=1, description="Silero VAD speech confidence.")
    vad_start_secs: float = Field(
        0.3,
        ge=0.05,
        le=1.0,
        description="Speech needed before the caller counts as speaking; shorter noises "
        "(coughs, clicks) never interrupt the bot.",
    )
    vad_stop_secs: float = Field(
        0.2, ge=0.05, le=1.0, description="Silence after which VAD reports the caller stopped."
    )
    vad_min_volume: float = Field(
        0.3, ge=0, le=1, description="Silero VAD minimum volume (0-1) to count as speech."
    )
    vad_batch_ms: float = Field(
        10.0,
        ge=0,
        le=50,
        description="How long a VAD window may wait to be scored together with other calls' "
        "(one ONNX run for many calls costs far less CPU); VAD decisions come this much later. "
        "0 scores each window at once.",
    )
    user_speech_timeout_secs: float = Field(
        0.4,
        ge=0,
        le=3.0,
        description="After VAD stop, how long the caller may pause and go on before the turn ends.",
    )
    silence_prompt_secs: float = Field(
        8.0,
        ge=2,
        le=60,
        description="Silence on both sides (the bot done speaking, nothing heard from the "
        "caller, no tool running) before the bot asks whether the caller is still there "
        "(phrase still_there).",
    )
    tool_hold_secs: float = Field(
        1.0,
        ge=0.3,
        le=10,
        description="How long a store tool may run in silence before the bot says it is "
        "checking (phrase hold_on), and again after each such wait while it still runs.",
    )
    silence_prompts: int = Field(
        2,
        ge=0,
        le=5,
        description="How many times the bot asks; at the next silence it says goodbye_silent "
        "and hangs up (outcome caller_silent). A line that sends no audio is never taken for "
        "a hangup: Asterisk closes the socket itself when the caller hangs up.",
    )


class DeadlineSettings(BaseModel):
    """How long each stage may take before the caller hears an apology (failure policy)."""

    stt_final_secs: float = Field(
        3.0, gt=0, le=30, description="End of caller speech to the final transcript."
    )
    llm_first_token_secs: float = Field(
        5.0, gt=0, le=60, description="Request to Claude to its first token."
    )
    llm_hold_secs: float = Field(
        1.5,
        ge=0,
        le=60,
        description="Claude's first token this late after the caller's turn: the caller hears "
        'the hold phrase ("Хвилинку, перевіряю.") while the deadline runs on, so a hung '
        "model never leaves more than ~2.5 s of silence. 0, or not below "
        "llm_first_token_secs, turns it off.",
    )
    tts_first_audio_secs: float = Field(
        3.0, gt=0, le=30, description="Text sent to TTS to its first audio."
    )


class StoreSettings(BaseModel):
    """The store's API (the contract in ``docs/store-api.openapi.yaml``) and how it is called."""

    url: AnyHttpUrl | None = Field(
        None,
        description="Base URL of the store's API (the contract in docs/store-api.openapi.yaml); "
        "unset means the reference store with the sample catalogue, run in this process.",
    )
    api_key: SecretStr | None = Field(
        None, description="The store API's key (X-API-Key); required with CALLPROC_STORE__URL."
    )
    read_timeout_secs: float = Field(
        1.5, gt=0, le=10, description="Time allowed for one read (search, product, stock, order)."
    )
    order_timeout_secs: float = Field(
        5.0, gt=0, le=30, description="Time allowed for placing an order (never retried)."
    )
    read_retries: int = Field(
        1, ge=0, le=3, description="Extra attempts for a read after a timeout or a 5xx answer."
    )
    retry_backoff_secs: float = Field(
        0.2, ge=0, le=5, description="Wait before the first retry; doubled for each further one."
    )
    breaker_failures: int = Field(
        5,
        ge=1,
        le=100,
        description="Consecutive failed requests after which the store is not called at all "
        "for breaker_reset_secs (the bot says at once that it cannot check now).",
    )
    breaker_reset_secs: float = Field(
        20.0, gt=0, le=600, description="How long the open circuit breaker waits before a probe."
    )
    cache_ttl_secs: float = Field(
        30.0, ge=0, le=3600, description="How long search, product and stock answers are reused."
    )
    max_quantity: int = Field(
        10, ge=1, le=10, description="Most units of one item per order (the contract allows 10)."
    )
    max_order_lines: int = Field(
        5, ge=1, le=10, description="Most different items per order (the contract allows 10)."
    )

    @model_validator(mode="after")
    def _key_with_url(self) -> StoreSettings:
        if self.url is not None and self.api_key is None:
            raise ValueError(
                "CALLPROC_STORE__API_KEY is required when CALLPROC_STORE__URL is set "
                "(the store API's X-API-Key)"
            )
        return self


class DatabaseSettings(BaseModel):
    """PostgreSQL, where every call is kept (embedded under the data folder without a URL)."""

    migration_url: SecretStr | None = Field(
        None,
        description="PostgreSQL URL of the schema owner role, for `callproc db migrate`, "
        "backup and restore; unset means DATABASE_URL (or the embedded server's owner).",
    )
    admin_url: SecretStr | None = Field(
        None,
        description="PostgreSQL URL of a superuser, for `callproc db setup` only (it creates "
        "the roles, the database and pgvector); the service never uses it.",
    )
    connect_timeout_secs: float = Field(
        2.0, gt=0, le=30, description="Time allowed to connect to PostgreSQL."
    )
    write_buffer: int = Field(
        5000,
        ge=1,
        le=1_000_000,
        description="Call records held in memory while PostgreSQL is unreachable; beyond "
        "that they go to a spill file under the data folder, and all are written once it is back.",
    )
    retry_max_secs: float = Field(
        5.0, gt=0, le=300, description="Longest wait between attempts to write to PostgreSQL."
    )
    retention_days: int = Field(
        90,
        ge=1,
        le=36500,
        description="Default age for `callproc db prune`: transcripts of older calls are removed.",
    )
    caller_number_key: SecretStr | None = Field(
        None,
        description="Key for the keyed hash (HMAC-SHA256) that stands in for caller numbers in "
        "the database; unset means a random key kept in <data dir>/secrets/caller-number.key.",
    )


class RedisSettings(BaseModel):
    """Redis, where live calls keep their session state (embedded without a URL)."""

    session_ttl_secs: int = Field(
        120,
        ge=5,
        le=86400,
        description="A live call's session expires this long after its last activity.",
    )
    ended_ttl_secs: int = Field(
        300, ge=1, le=86400, description="How long a finished call's session stays readable."
    )
    handoff_ttl_secs: int = Field(
        3600, ge=60, le=604800, description="How long a handoff stays in Redis for lookup."
    )
    timeout_secs: float = Field(0.5, gt=0, le=10, description="Time allowed for one Redis command.")


class SandboxSettings(BaseModel):
    """Local stand-ins already running in a process of their own (``python -m sandbox``).

    For services without credentials only; ``callproc bench`` uses them so that the
    stand-ins' CPU is not counted as the service's.
    """

    stt_address: str | None = Field(
        None,
        description="host:port of a running Speech-to-Text stand-in; unset means one is "
        "started in this process when there are no Google credentials.",
    )
    tts_address: str | None = Field(
        None,
        description="host:port of a running Text-to-Speech stand-in; unset means one is "
        "started in this process when there are no Google credentials.",
    )
    llm_url: str | None = Field(
        None,
        description="Base URL of a running Anthropic stand-in; unset means one is started in "
        "this process when there is no Anthropic API key.",
    )


class Settings(BaseSettings):
    """The Call Processor's configuration."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO",
        description="Lowest log level written; DEBUG is for our own code, libraries stay at INFO.",
    )
    log_format: Literal["json", "console"] = Field(
        "json", description="json: one JSON object per line; console: for a person at a terminal."
    )
    drain_secs: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="On SIGTERM, how long active calls may finish before they are ended.",
    )
    workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Worker processes sharing the AudioSocket port (`callproc serve`); 0 means "
        "one per CPU core. A worker that dies is restarted; the others' calls go on.",
    )
    pipeline: Literal["voice", "echo"] = Field(
        "voice",
        description="What answers a call. voice: the store assistant (VAD, STT, Claude, TTS). "
        "echo: a check of the line without speech services - a chime, the caller's audio "
        "looped back, a beep per DTMF digit, '1' a melody that '*' interrupts, '#' hangs up.",
    )
    language: Language = Field(
        "uk-UA", description="Conversation language (prompts, recognition, voice)."
    )
    other_languages: list[Language] = Field(
        ["ru-RU"],
        description='Other languages a caller may speak, as JSON (e.g. ["ru-RU"], or [] for '
        "none): recognised alongside the conversation language, and a caller heard in one is "
        "answered in it for the rest of the call (voice and spoken numbers switch; Claude is "
        "told to reply in the caller's language).",
    )
    store_name: str = Field(
        "ТехноДім", min_length=1, max_length=80, description="The store's name, as the bot says it."
    )
    google_credentials: Annotated[Path, AfterValidator(_usable_key)] | None = Field(
        None,
        validation_alias=AliasChoices(
            f"{ENV_PREFIX}GOOGLE_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS"
        ),
        description="Service-account JSON file for Google STT/TTS (GOOGLE_APPLICATION_CREDENTIALS "
        "works too); unset means the local stand-ins.",
    )
    anthropic_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(f"{ENV_PREFIX}ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
        description="Claude API key (ANTHROPIC_API_KEY works too); unset means the local "
        "Anthropic stand-in.",
    )
    data_dir: Path = Field(
        Path("var"),
        description="Folder for the embedded PostgreSQL and Redis, spill files, backups and "
        "recordings (relative to the working directory).",
    )
    database_url: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(f"{ENV_PREFIX}DATABASE_URL", "DATABASE_URL"),
        description="PostgreSQL URL of the application role (DATABASE_URL works too); unset "
        "means an embedded PostgreSQL under the data folder.",
    )
    redis_url: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(f"{ENV_PREFIX}REDIS_URL", "REDIS_URL"),
        description="Redis URL (REDIS_URL works too); unset means an embedded Redis.",
    )
    audiosocket: AudioSocketSettings = Field(default_factory=AudioSocketSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    turn: TurnSettings = Field(default_factory=TurnSettings)
    deadlines: DeadlineSettings = Field(default_factory=DeadlineSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)


class SettingsError(Exception):
    """Configuration that cannot be used; the message names each variable and what is allowed."""


def load_settings(env_file: Path | str | None = ".env", **overrides: Any) -> Settings:
    """Build the settings from the environment, ``env_file`` and explicit overrides.

    Raises:
        SettingsError: One line per invalid variable, each naming it and what is allowed;
            or ``env_file`` may be read by other users.
    """
    if env_file is not None and Path(env_file).is_file():
        from bot.key_file import exposed

        too_open = exposed(Path(env_file))
        if too_open:
            raise SettingsError(f"refusing the settings file: {too_open}")
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError(format_validation_error(exc)) from None


def env_name(loc: tuple[int | str, ...]) -> str:
    """Map a pydantic error location to the environment variable a person would set."""
    parts = [str(p) for p in loc]
    if parts and parts[0].upper().startswith(ENV_PREFIX):
        return parts[0].upper()  # an alias that already is a variable name
    return ENV_PREFIX + NESTED_DELIMITER.join(parts).upper()


def format_validation_error(exc: ValidationError) -> str:
    """Render every error as ``invalid setting NAME=VALUE: what is allowed`` lines."""
    lines = []
    for error in exc.errors(include_url=False):
        name = env_name(error["loc"])
        value = error.get("input")
        # A whole group (a model-level check) may hold secrets: name it, never print it.
        hidden = _is_secret(error["loc"]) or isinstance(value, dict | list)
        shown = "" if hidden else f"={value!r}"
        message = error["msg"].removeprefix("Value error, ")  # pydantic's, for a ValueError
        lines.append(f"invalid setting {name}{shown}: {message}")
    return "\n".join(lines)


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    words = ("key", "secret", "url", "password", "token")
    return any(word in str(p).lower() for p in loc for word in words)


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """List ``(variable, effective value, description)`` for every setting, secrets masked."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: BaseModel, prefix: tuple[str, ...]) -> None:
        for name, field in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value, (*prefix, name))
                continue
            if isinstance(value, SecretStr):
                shown = "(set)"
            elif isinstance(value, list):
                shown = json.dumps(value)  # as the variable is written
            else:
                shown = str(value)
            rows.append((env_name((*prefix, name)), shown, field.description or ""))

    walk(settings, ())
    return rows


def render_env_example(settings: Settings) -> str:
    """The text of ``.env.example``: every variable, its description, its default."""
    lines = [
        "# Call Processor settings. Copy to .env (git-ignored) and change what you need;",
        "# every value below is the default. `callproc config` prints the effective values.",
    ]
    for name, value, description in describe(settings):
        shown = "" if value in ("None", "(set)") else value
        lines += ["", f"# {description}", f"# {name}={shown}"]
    return "\n".join(lines + render_stack_section()) + "\n"
