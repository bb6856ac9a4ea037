"""``callproc demo`` output: the files and the field names downstream tools read."""

import json
import re
import uuid
import wave
from pathlib import Path

import pytest
import yaml

from bot.demo import run_demo
from bot.settings import load_settings
from bot.storage.database import Database
from bot.storage.runtime import open_postgres
from tests.promql import exported_names, metric_names

pytestmark = pytest.mark.integration

OBSERVABILITY = Path(__file__).resolve().parents[2] / "observability"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "callproc.json"
RULES = OBSERVABILITY / "prometheus" / "rules" / "callproc.rules.yml"
STAGE_LABELS = (
    "stt_final",
    "end_of_turn",
    "llm_first_token",
    "tts_first_audio",
    "voice_to_voice",
    "overhead",
)

OWN_LINE = "Скажіть, будь ласка, чи можна у вас купити подарунковий сертифікат?"
STAGES = (
    "voice_to_voice_ms",
    "stt_final_ms",
    "end_of_turn_ms",
    "llm_first_token_ms",
    "tts_first_audio_ms",
)


async def test_demo_writes_a_stereo_recording_and_a_report_per_call(tmp_path: Path) -> None:
    # Embedded PostgreSQL and Redis, as on a fresh machine: no URLs, a data folder of its own.
    settings = load_settings(None, data_dir=tmp_path / "var")
    # A scenario file of the user's own, with a line no shipped scenario has.
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        yaml.safe_dump(
            {
                "name": "mine",
                "steps": [{"say": OWN_LINE}],
                "expect": {"bot_says": ["зрозуміла"]},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    reports = await run_demo(settings, ["product_search", "order", str(mine)], out=tmp_path)

    assert [t["caller"] for t in reports["mine"]["turns"] if t["caller"]] == [OWN_LINE]
    assert all(reports["mine"]["expectations"].values()), reports["mine"]["expectations"]

    order = reports["order"]
    assert all(order["expectations"].values()), order["expectations"]
    assert "orders at the catalogue price" in order["expectations"]
    placed = [t for t in order["tool_calls"] if t["status"] == "ordered"]
    assert len(placed) == 1 and placed[0]["arguments"]["confirmed_total_uah"] > 0
    assert placed[0]["turn"] > order["tool_calls"][1]["turn"]  # confirmed after the quote

    report = json.loads((tmp_path / "product_search.json").read_text(encoding="utf-8"))
    assert report == reports["product_search"]
    assert all(report["expectations"].values()), report["expectations"]
    assert "stand-in" in report["services"] and report["prompt_version"]
    answered = [t for t in report["turns"] if t["caller"]]
    assert len(answered) == 3
    for turn in answered:
        assert all(isinstance(turn[stage], float) and turn[stage] > 0 for stage in STAGES), turn
    with wave.open(str(tmp_path / "product_search.wav")) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        assert wav.getnframes() / 8000 > 15  # greeting and three exchanges

    # Every demo call is in PostgreSQL with its prompt version, transcript and tool calls.
    postgres = await open_postgres(settings)
    database = Database(postgres.app_dsn)
    try:
        listed = {c["call_uuid"]: c for c in await database.list_calls()}
        assert len(listed) == 3
        for name in ("product_search", "order"):
            report = reports[name]
            stored = await database.call_detail(uuid.UUID(report["call_id"]))
            assert stored is not None
            assert stored["prompt_version"] == report["prompt_version"]
            assert stored["outcome"] == report["outcome"]
            said = [t["text"] for t in stored["transcript"] if t["role"] == "caller"]
            assert said == [t["caller"] for t in report["turns"] if t["caller"]]
            assert [t["name"] for t in stored["tool_calls"]] == [
                t["name"] for t in report["tool_calls"]
            ]
        counts = await database.row_counts()
        assert counts["prompt_versions"] == 3  # uk-UA, ru-RU, en-US
    finally:
        await database.close()
        await postgres.close()

    # /metrics after the calls (the demo saved the scrape): every stage was measured, and
    # every metric the dashboard and the alert rules read is one the service exports.
    exposition = (tmp_path / "metrics.prom").read_text()
    for stage in STAGE_LABELS:
        count = re.search(
            rf'callproc_stage_latency_seconds_count{{stage="{stage}"}} (\S+)', exposition
        )
        assert count and float(count.group(1)) > 0, stage
    exported = exported_names(exposition) | {"up"}  # `up` is Prometheus' own
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            missing = metric_names(target["expr"]) - exported
            assert not missing, (panel["title"], missing)
    rules = yaml.safe_load(RULES.read_text())
    for rule in rules["groups"][0]["rules"]:
        assert not metric_names(rule["expr"]) - exported, rule["alert"]
