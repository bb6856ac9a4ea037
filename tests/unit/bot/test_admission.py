"""Admission: which load takes one more call, and why a call is refused."""

import pytest

from bot.admission import Admission, Load, Refusal, per_worker

pytestmark = pytest.mark.unit

POLICY = Admission(capacity=10, max_lag_secs=0.08)


@pytest.mark.parametrize(
    ("load", "refusal", "headroom"),
    [
        (Load(active=0, lag_secs=0.0), None, 10),
        (Load(active=9, lag_secs=0.08), None, 1),
        (Load(active=10, lag_secs=0.0), Refusal.AT_CAPACITY, 0),
        (Load(active=3, lag_secs=0.081), Refusal.OVERLOADED, 0),
        (Load(active=12, lag_secs=0.5), Refusal.AT_CAPACITY, 0),
        (Load(active=0, lag_secs=0.0, draining=True), Refusal.DRAINING, 0),
    ],
)
def test_refusal_and_headroom(load, refusal, headroom):
    assert POLICY.refusal(load) == refusal
    assert POLICY.headroom(load) == headroom


@pytest.mark.parametrize(("total", "workers", "each"), [(20, 2, 10), (25, 2, 13), (3, 4, 1)])
def test_each_worker_gets_its_share_rounded_up(total, workers, each):
    assert per_worker(total, workers) == each
