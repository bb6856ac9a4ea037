"""The bench's arithmetic on Prometheus scrapes and figure lists (no processes)."""

import uuid

import numpy as np
import pytest

from bot.bench import (
    Bench,
    PlacedCall,
    Spread,
    StepReport,
    counter_delta,
    histogram_delta,
    quantile,
)
from sandbox.caller import CallResult

pytestmark = pytest.mark.unit

TONE_FRAME = (8000 * np.sin(np.arange(160) / 3)).astype("<i2").tobytes()  # 20 ms, loud

BEFORE = """# TYPE callproc_event_loop_lag_seconds histogram
callproc_event_loop_lag_seconds_bucket{le="0.005"} 10.0
callproc_event_loop_lag_seconds_bucket{le="0.01"} 10.0
callproc_event_loop_lag_seconds_bucket{le="0.05"} 10.0
callproc_event_loop_lag_seconds_bucket{le="+Inf"} 10.0
callproc_event_loop_lag_seconds_count 10.0
callproc_event_loop_lag_seconds_sum 0.01
# TYPE callproc_output_stalls_total counter
callproc_output_stalls_total 3.0
"""
AFTER = """# TYPE callproc_event_loop_lag_seconds histogram
callproc_event_loop_lag_seconds_bucket{le="0.005"} 90.0
callproc_event_loop_lag_seconds_bucket{le="0.01"} 108.0
callproc_event_loop_lag_seconds_bucket{le="0.05"} 110.0
callproc_event_loop_lag_seconds_bucket{le="+Inf"} 110.0
callproc_event_loop_lag_seconds_count 110.0
callproc_event_loop_lag_seconds_sum 0.4
# TYPE callproc_output_stalls_total counter
callproc_output_stalls_total 7.0
"""


def test_only_what_happened_between_the_scrapes_counts():
    buckets = histogram_delta(BEFORE, AFTER, "callproc_event_loop_lag_seconds")
    assert buckets == [(0.005, 80.0), (0.01, 98.0), (0.05, 100.0), (float("inf"), 100.0)]
    assert counter_delta(BEFORE, AFTER, "callproc_output_stalls") == 4.0


def test_quantile_interpolates_within_the_bucket_like_promql():
    buckets = [(0.005, 80.0), (0.01, 98.0), (0.05, 100.0), (float("inf"), 100.0)]
    assert quantile(buckets, 0.5) == pytest.approx(0.005 * 50 / 80)
    assert quantile(buckets, 0.99) == pytest.approx(0.01 + 0.04 * 0.5)
    assert quantile([], 0.99) is None
    assert quantile([(0.01, 0.0), (float("inf"), 0.0)], 0.99) is None


def test_spread_of_figures():
    spread = Spread.of([100.0, 200.0, 300.0, 400.0, 1000.0])
    assert (spread.count, spread.p50, spread.max) == (5, 300.0, 1000.0)
    assert spread.text() == "300 / 880 / 1000 ms"
    assert Spread.of([]).text() == "-"


def test_pacing_reports_gaps_as_played_next_to_the_arrival_gaps():
    # One call whose answer ends with the sender three frames ahead (80 ms between
    # arrivals, nothing missing as played), one with a frame 90 ms late.
    lead = [0.0] * 4 + [0.02 * k for k in range(1, 10)] + [0.26] * 4
    late = [0.02 * k for k in range(10)] + [0.29 + 0.02 * k for k in range(10)]
    accepted = []
    for arrivals in (lead, late):
        result = CallResult(call_id=uuid.uuid4(), rate=8000, connected_at=0.0)
        result.arrivals.extend(arrivals)
        result.received += TONE_FRAME * len(arrivals)  # speech throughout, as echo has
        accepted.append(PlacedCall(uuid.uuid4(), None, result=result))
    report = StepReport(calls=2, pipeline="echo", workers=None)
    Bench._pacing(report, accepted)
    assert report.worst_gap_ms == pytest.approx(110)
    assert report.arrival_gap_ms == pytest.approx(110)
    assert report.most_ahead_ms == pytest.approx(60)
    assert report.gaps_over_limit == 1
