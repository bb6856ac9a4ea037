"""The service's Prometheus metrics: one table of specs, built on an injected registry.

``build_metrics(registry)`` creates every metric (tests use a fresh registry); ``/metrics``
serves :func:`exposition_registry`. Labels are bounded: stage, outcome, reason, tool, status,
service, kind, operation - never a call id or a phone number. Latency buckets span what a
phone call feels: tens of milliseconds (our own overhead) to seconds (a slow turn).

With worker processes (``callproc serve --workers N``, N > 1) the CLI points
``PROMETHEUS_MULTIPROC_DIR`` at an emptied ``<data dir>/metrics`` before anything imports
prometheus-client: every process keeps its values there, and the supervisor's ``/metrics``
reports the sum over all of them (gauges by their ``multiprocess_mode``), with the CPU and
memory of the whole process tree.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import psutil
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

PREFIX = "callproc"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
TOOL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
OUTCOMES = (
    "completed",
    "transferred",
    "caller_hangup",
    "caller_silent",
    "read_timeout",
    "protocol_error",
    "peer_not_reading",
    "peer_unreachable",
    "bot_hangup",
    "service_failure",
    "shutdown",
    "other",
)
REASONS = (
    "caller_request",
    "dtmf_zero",
    "cannot_help",
    "complaint",
    "order_problem",
    "returns",
    "recognition_failures",
    "service_failure",
    "tool_loop",
    "shutdown",
    "other",
    "none",
)
TOOLS = (  # bot/tools.py's tools; a name the model makes up is counted as "other"
    "search_products",
    "get_product",
    "check_availability",
    "create_order",
    "get_order_status",
    "transfer_to_operator",
    "end_call",
    "other",
)
TOOL_STATUSES = (
    "ok",
    "confirmation_required",
    "ordered",
    "already_ordered",
    "invalid_arguments",
    "invalid_json",
    "invalid_order",
    "not_found",
    "out_of_stock",
    "store_unavailable",
    "answer_first",
    "too_many_tools",
    "unknown_tool",
    "cancelled",
    "unfinished",
    "other",
)

# name, kind, help, labels, extra keyword arguments
SPECS: tuple[tuple[str, str, str, tuple[str, ...], dict[str, Any]], ...] = (
    ("active_calls", "gauge", "Calls in progress.", (), {"multiprocess_mode": "livesum"}),
    ("ready", "gauge", "1 while the next call can be taken (what /health/ready says).", (),
     {"multiprocess_mode": "livemin"}),
    ("calls", "counter", "Calls that ended, by outcome and transfer reason.",
     ("outcome", "reason"), {}),
    ("stage_latency_seconds", "histogram",
     "Per turn: end of speech to final transcript (stt_final), to the end-of-turn decision "
     "(end_of_turn); then to Claude's first token (llm_first_token); first text to first "
     "TTS audio (tts_first_audio); end of speech to first bot audio on the socket "
     "(voice_to_voice); what is left of voice_to_voice after those (overhead); barge-in to "
     "the last bot frame (barge_in_stop).",
     ("stage",), {"buckets": LATENCY_BUCKETS}),
    ("barge_ins", "counter", "Times the caller interrupted the bot.", (), {}),
    ("false_barge_ins", "counter",
     "Interruptions after which the caller said nothing recognisable (noise).", (), {}),
    ("tool_calls", "counter", "Tool calls by tool and outcome.", ("tool", "status"), {}),
    ("llm_requests_per_call", "histogram",
     "Requests made of the model per call (each tool round is one more).", (),
     {"buckets": (1, 2, 5, 10, 15, 20, 30, 50, 100)}),
    ("tool_duration_seconds", "histogram", "How long tools took.", ("tool",),
     {"buckets": TOOL_BUCKETS}),
    ("errors", "counter", "Failures by service and kind (error, deadline...).",
     ("service", "kind"), {}),
    ("output_blocked", "counter",
     "Model responses kept from the caller by the output guard, by reason: instructions "
     "(it recited its prompt or tool texts), identifier (tool names, JSON).", ("reason",), {}),
    ("output_frames", "counter", "Audio frames sent to Asterisk.", (), {}),
    ("output_stalls", "counter",
     "Times bot audio was sent so late that the caller's side ran dry (a gap the caller "
     "hears; silence that comes late is not counted).", (), {}),
    ("output_late_seconds", "histogram", "Per call: the latest an audio frame was sent.", (),
     {"buckets": (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.1, 0.2, 0.5)}),
    ("store_requests", "counter", "Store API requests by operation and outcome.",
     ("operation", "outcome"), {}),
    ("store_request_seconds", "histogram", "Store API request time.", ("operation",),
     {"buckets": TOOL_BUCKETS}),
    ("storage_pending_records", "gauge", "Call records waiting to be written to PostgreSQL.",
     (), {"multiprocess_mode": "livesum"}),
    ("storage_spilled_records", "gauge", "Call records that went through the spill file.",
     (), {"multiprocess_mode": "livesum"}),
    ("postgres_up", "gauge", "1 while writes to PostgreSQL succeed.", (),
     {"multiprocess_mode": "livemin"}),
    ("redis_up", "gauge", "1 while writes to Redis succeed.", (),
     {"multiprocess_mode": "livemin"}),
    ("handoffs", "counter", "Handoffs by reason and where the summary came from.",
     ("reason", "summary_source"), {}),
    ("calls_refused", "counter",
     "Calls refused at once with an AudioSocket hangup (the dialplan sends them to the "
     "operators), by reason: at_capacity, overloaded, draining.", ("reason",), {}),
    ("connections_dropped", "counter",
     "AudioSocket connections that never became a call, by reason: handshake_timeout, "
     "protocol_error, closed_early; no_audio and peer_limit got the hangup (the dialplan "
     "sends them to the operators).", ("reason",), {}),
    ("gc_pause_seconds", "histogram",
     "Garbage-collector pauses (no call's audio is sent meanwhile).", (),
     {"buckets": LAG_BUCKETS}),
    ("event_loop_tasks", "gauge", "asyncio tasks alive (a count that keeps growing is a leak).",
     (), {"multiprocess_mode": "livesum"}),
    ("event_loop_lag_seconds", "histogram",
     "How late the event loop ran a timer that was due (sampled every 50 ms).", (),
     {"buckets": LAG_BUCKETS}),
)  # fmt: skip

_KINDS = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}


@dataclass
class Metrics:
    """The metrics, by short name (``metrics.calls.labels(...).inc()``)."""

    registry: CollectorRegistry
    by_name: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.by_name[name]
        except KeyError:
            raise AttributeError(name) from None


def multiprocess() -> bool:
    """Whether prometheus-client keeps values in ``PROMETHEUS_MULTIPROC_DIR``."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def build_metrics(registry: CollectorRegistry | None = None) -> Metrics:
    """Create every metric of :data:`SPECS` on ``registry`` (a new one if None)."""
    registry = registry or CollectorRegistry()
    made: dict[str, Any] = {}
    for name, kind, help_text, labels, extra in SPECS:
        made[name] = _KINDS[kind](f"{PREFIX}_{name}", help_text, labels, registry=registry, **extra)
    if not multiprocess():
        ProcessCollector(registry=registry)  # process_cpu_seconds_total, memory, fds
    return Metrics(registry, made)


def cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """User plus system CPU time of ``processes`` (one that has exited counts nothing)."""
    total = 0.0
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def resident_bytes(processes: Iterable[psutil.Process]) -> int:
    """Resident memory of ``processes`` (one that has exited counts nothing)."""
    total = 0
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total


class ProcessTreeCollector:
    """CPU time and resident memory of this process and its children, summed.

    For multiprocess mode (a supervisor and its workers), where prometheus-client reports no
    ``process_cpu_seconds_total`` or ``process_resident_memory_bytes`` of its own.
    """

    def collect(self) -> Iterator[Metric]:
        """The process tree's CPU time and resident memory, summed."""
        me = psutil.Process()
        tree = [me, *me.children(recursive=True)]
        yield CounterMetricFamily(
            "process_cpu_seconds",
            "CPU time of the service's processes, in seconds.",
            value=cpu_seconds(tree),
        )
        yield GaugeMetricFamily(
            "process_resident_memory_bytes",
            "Resident memory of the service's processes, in bytes.",
            value=resident_bytes(tree),
        )


def exposition_registry(metrics: Metrics) -> CollectorRegistry:
    """What ``/metrics`` serves: this process's registry, or every worker's values."""
    if not multiprocess():
        return metrics.registry
    merged = CollectorRegistry()
    MultiProcessCollector(merged)
    merged.register(ProcessTreeCollector())
    return merged


def bounded(value: str | None, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else the last entry ("other"/"none")."""
    return value if value in allowed else allowed[-1]
