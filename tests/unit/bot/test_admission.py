"""Admission: which load takes one more call, and why a call is refused."""

import pytest

from bot.admission import Admission, Load, Refusal, per_worker
from bot.demo import in_process_settings
from bot.settings import Settings

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


def test_a_service_sharing_its_loop_with_its_callers_is_not_refused_for_their_lag():
    # The demo and the eval run callers and stand-ins on the service's loop: a second of
    # their start-up work once refused every call of the eval's first burst as overloaded.
    default, shared = Settings(), in_process_settings(Settings())
    busy = Load(active=0, lag_secs=1.0)
    for settings, refusal in ((default, Refusal.OVERLOADED), (shared, None)):
        audio = settings.audiosocket
        policy = Admission(audio.max_calls, audio.max_loop_lag_ms / 1000)
        assert policy.refusal(busy) == refusal
    assert shared.audiosocket.max_calls == default.audiosocket.max_calls
