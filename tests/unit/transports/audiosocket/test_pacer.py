import random

import pytest

from transports.audiosocket.pacer import Pacer

pytestmark = pytest.mark.unit

F = 1 / 64  # binary-exact, so due times and wake-up grids compare exactly
STEP = 1 / 1024


def _run(pacer: Pacer, wake_times: list[float]) -> list[float]:
    """Simulate a sender that wakes at the given times and sends every frame that is due."""
    sent: list[float] = []
    for now in wake_times:
        while pacer.next_due(now) <= now:
            pacer.sent(now)
            sent.append(now)
    return sent


@pytest.mark.parametrize("lead", [1, 2, 3])
def test_start_sends_lead_plus_one_then_one_per_frame(lead: int) -> None:
    pacer = Pacer(frame_secs=F, lead_frames=lead)
    sent = _run(pacer, [i * STEP for i in range(1025)])  # 1 s, waking every ~1 ms
    assert sent[: lead + 1] == [0.0] * (lead + 1)
    # After the initial lead, exactly one frame per frame time: 1 s -> 64 frames + lead + 1.
    assert len(sent) == 64 + lead + 1
    gaps = [b - a for a, b in zip(sent[lead:], sent[lead + 1 :], strict=False)]
    assert all(abs(g - F) < 1e-9 for g in gaps)


def test_never_more_than_lead_frames_ahead_of_real_time() -> None:
    pacer = Pacer(frame_secs=F, lead_frames=2)
    rng = random.Random(7)
    wakes = sorted(rng.uniform(0, 2) for _ in range(3000))  # irregular wake-ups over 2 s
    sent = _run(pacer, wakes)
    for n, t in enumerate(sent, start=1):
        played = int(t / F) + 1  # frames the receiver has started playing by t
        assert n - played <= 2


def test_small_lateness_is_caught_up_without_restart() -> None:
    pacer = Pacer(frame_secs=F, lead_frames=2)
    _run(pacer, [0.0])  # 3 frames at t=0
    # The next frame was due at 1F; wake at 2.5F (inside the 2-frame lead).
    sent = _run(pacer, [2.5 * F])
    assert sent == [2.5 * F, 2.5 * F]  # frames due at 1F and 2F
    assert pacer.stats.stalls == 0
    assert pacer.next_due(2.5 * F) == 3 * F


def test_stall_restarts_timeline_instead_of_bursting() -> None:
    pacer = Pacer(frame_secs=F, lead_frames=2)
    _run(pacer, [0.0])
    sent = _run(pacer, [32 * F])  # 31 frames late: the receiver ran dry long ago
    assert pacer.stats.stalls == 1
    assert len(sent) == 3  # a fresh lead, not 31 catch-up frames
    assert pacer.next_due(32 * F) == 33 * F
    assert pacer.stats.late_secs_max == 31 * F


def test_a_lead_played_out_on_purpose_restarts_without_a_stall() -> None:
    pacer = Pacer(frame_secs=F, lead_frames=2)
    _run(pacer, [0.0])  # 3 frames at t=0; the sender then waits until they have played
    pacer.restart()
    sent = _run(pacer, [3 * F + STEP])  # a tick a little after the last one ended
    assert len(sent) == 3  # a fresh lead
    assert pacer.stats.stalls == 0
    assert pacer.ahead_secs(3 * F + STEP) == 3 * F


def test_a_frame_asked_with_a_smaller_lead_runs_no_further_ahead() -> None:
    pacer = Pacer(frame_secs=F, lead_frames=3)
    now = 0.0
    for _ in range(10):  # silence, one frame ahead
        while pacer.next_due(now, 1) <= now:
            pacer.sent(now, 1)
        assert pacer.ahead_secs(now) == 2 * F  # the frame playing now and one more
        now += F
    assert pacer.stats.stalls == 0
    now += 1.5 * F  # a tick a frame and a half late: the receiver ran out of silence
    while pacer.next_due(now, 1) <= now:
        pacer.sent(now, 1)
    assert pacer.stats.stalls == 0  # not heard, not counted
    assert pacer.ahead_secs(now) == 2 * F  # a fresh timeline from the late frame
    while pacer.next_due(now) <= now:  # then bot audio builds the full lead at once
        pacer.sent(now)
    assert pacer.ahead_secs(now) == 4 * F


@pytest.mark.parametrize("lead", [0, 4])
def test_lead_outside_range_is_refused(lead: int) -> None:
    with pytest.raises(ValueError, match="lead_frames must be 1-3"):
        Pacer(lead_frames=lead)


def test_ahead_counts_the_audio_sent_beyond_real_time() -> None:
    pacer = Pacer(frame_secs=F, lead_frames=3)
    assert pacer.ahead_secs(5.0) == 0.0  # nothing sent yet
    _run(pacer, [0.0])  # the lead and one more go at once
    assert pacer.ahead_secs(0.0) == 4 * F
    assert pacer.ahead_secs(3 * F) == F  # real time caught up three frames
    assert pacer.ahead_secs(5 * F) == -F  # and then ran past them: the receiver ran dry
