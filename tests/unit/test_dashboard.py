"""The Grafana dashboard and its provisioning files: valid, complete, pointing at one datasource."""

import json
from pathlib import Path

import pytest
import yaml

from tests.promql import metric_names

pytestmark = pytest.mark.unit

GRAFANA = Path(__file__).resolve().parents[2] / "observability" / "grafana"
DASHBOARD = json.loads((GRAFANA / "dashboards" / "callproc.json").read_text())


def test_the_dashboard_is_complete_and_points_at_the_provisioned_datasource():
    datasource = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "callproc.yml").read_text()
    )["datasources"][0]
    panels = DASHBOARD["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == datasource["uid"]
            assert metric_names(target["expr"]), target["expr"]
    titles = " ".join(p["title"] for p in panels).lower()
    for needed in ("active calls", "voice-to-voice", "per-stage", "errors", "transfers",
                   "tool latency", "barge-ins", "cpu", "memory"):  # fmt: skip
        assert needed in titles, needed


def test_the_dashboard_provider_loads_files():
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "callproc.yml").read_text()
    )
    assert provider["providers"][0]["type"] == "file"


def test_metric_names_are_read_out_of_promql():
    expr = (
        "histogram_quantile(0.95, sum by (le, stage) "
        '(rate(callproc_stage_latency_seconds_bucket{stage!="voice_to_voice"}[5m])))'
    )
    assert metric_names(expr) == {"callproc_stage_latency_seconds_bucket"}
    assert metric_names('sum(increase(a_total{x="y"}[1h])) / sum(b)') == {"a_total", "b"}
