"""The metric table: bounded labels only, and values clamped to their known sets."""

import pytest
from prometheus_client import CollectorRegistry

from observability.metrics import OUTCOMES, REASONS, SPECS, bounded, build_metrics

pytestmark = pytest.mark.unit

ALLOWED_LABELS = {"stage", "outcome", "reason", "tool", "status", "service", "kind",
                  "operation", "summary_source"}  # fmt: skip


def test_labels_are_bounded_never_ids():
    for name, _kind, _help, labels, _extra in SPECS:
        assert set(labels) <= ALLOWED_LABELS, name
        assert not {"call", "call_uuid", "uuid", "phone", "number"} & set(labels)


def test_every_metric_is_created_on_its_own_registry():
    registry = CollectorRegistry()
    metrics = build_metrics(registry)
    metrics.calls.labels("completed", "none").inc()
    metrics.stage_latency_seconds.labels("voice_to_voice").observe(1.2)
    assert registry.get_sample_value("callproc_calls_total", {"outcome": "completed",
                                                              "reason": "none"}) == 1  # fmt: skip
    assert (
        registry.get_sample_value(
            "callproc_stage_latency_seconds_bucket", {"stage": "voice_to_voice", "le": "1.5"}
        )
        == 1
    )
    assert build_metrics(CollectorRegistry())  # a second service in one process is fine


def test_unknown_values_fall_into_other():
    assert bounded("transferred", OUTCOMES) == "transferred"
    assert bounded("something new", OUTCOMES) == "other"
    assert bounded(None, REASONS) == "none"


def test_the_tool_label_takes_only_our_tools():
    from bot.tools import TOOL_NAMES
    from observability.metrics import TOOLS

    assert set(TOOL_NAMES) == set(TOOLS) - {"other"}  # the two lists agree
    assert bounded("drop_database", TOOLS) == "other"  # a made-up name adds no series
