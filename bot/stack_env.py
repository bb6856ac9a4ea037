"""The variables ``docker-compose.yml`` reads from ``.env``, besides the service's own settings.

``.env.example`` lists them after the settings (``render_env_example``); a test checks that
every ``${NAME}`` in the compose file is here or is a setting.
"""

from __future__ import annotations

# (name, default, what it is for); an empty default means it must be set
STACK_VARIABLES: list[tuple[str, str, str]] = [
    (
        "BIND_ADDRESS",
        "127.0.0.1",
        "The LAN address the stack publishes AudioSocket, HTTP and "
        "Grafana on (the one Asterisk reaches); never 0.0.0.0 on a host with a public address.",
    ),
    ("AUDIOSOCKET_PORT", "9092", "Host port for AudioSocket calls."),
    ("HTTP_PORT", "8080", "Host port for health, metrics, the dialplan API and the console."),
    ("GRAFANA_PORT", "3000", "Host port of the reverse proxy in front of Grafana."),
    ("GRAFANA_ROOT_URL", "http://localhost:3000/", "The URL people open Grafana at."),
    ("GRAFANA_ADMIN_PASSWORD", "", "Grafana's admin password (required)."),
    (
        "POSTGRES_PASSWORD",
        "",
        "PostgreSQL superuser password, used only by the migrate job (required).",
    ),
    ("DB_OWNER_PASSWORD", "", "Password of callproc_owner: migrations and backups (required)."),
    (
        "DB_APP_PASSWORD",
        "",
        "Password of callproc_app, the role the service connects as (required).",
    ),
    ("BACKUP_DIR", "./backups", "Host folder for the daily dumps."),
    ("BACKUP_EVERY_SECS", "86400", "Seconds between two dumps."),
    ("BACKUP_KEEP_DAYS", "14", "Dumps older than this many days are deleted."),
    (
        "ALERT_TELEGRAM_BOT_TOKEN",
        "",
        "Telegram bot token for alerts (with the chat id: Telegram on).",
    ),
    ("ALERT_TELEGRAM_CHAT_ID", "", "Telegram chat id for alerts."),
    ("ALERT_SLACK_WEBHOOK_URL", "", "Slack incoming-webhook URL for alerts (set: Slack on)."),
    (
        "APP_IMAGE",
        "call-processor:latest",
        "Tag of the call processor's image (built from this folder unless it exists).",
    ),
    ("APP_VERSION", "dev", "Version label written into a built image."),
    (
        "BASE_IMAGE",
        "python:3.11-slim-bookworm",
        "Base image of the build: Debian bookworm with Python 3.11.",
    ),
    ("POSTGRES_IMAGE", "pgvector/pgvector:pg18", "PostgreSQL with pgvector."),
    ("REDIS_IMAGE", "redis:7.4-alpine", "Redis."),
    ("PROMETHEUS_IMAGE", "prom/prometheus:v2.55.1", "Prometheus."),
    ("ALERTMANAGER_IMAGE", "prom/alertmanager:v0.28.1", "Alertmanager."),
    ("GRAFANA_IMAGE", "grafana/grafana:11.6.0", "Grafana."),
    ("PROXY_IMAGE", "nginx:1.27-alpine", "The reverse proxy in front of Grafana."),
]


def render_stack_section() -> list[str]:
    """The lines of ``.env.example`` that describe the stack's variables."""
    lines = [
        "",
        "# --- docker compose (docker-compose.yml) --------------------------------------",
        "# Read by docker compose itself, not by the service. The service's Google key goes in",
        "# secrets/ (mode 600): CALLPROC_GOOGLE_CREDENTIALS=/run/secrets/callproc/google-key.json",
    ]
    for name, default, description in STACK_VARIABLES:
        lines += ["", f"# {description}", f"# {name}={default}"]
    return lines
