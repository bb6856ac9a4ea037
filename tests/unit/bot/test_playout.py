"""Gaps as a caller hears them: arrivals played in order, frame by frame."""

import pytest

from bot.playout import playout

pytestmark = pytest.mark.unit


def paced(n: int, start: float = 0.0) -> list[float]:
    return [start + 0.02 * k for k in range(n)]


def test_frames_on_time_play_without_a_gap():
    heard = playout(paced(50))
    assert heard.worst_gap_ms == pytest.approx(20)
    assert heard.arrival_gap_ms == pytest.approx(20)
    assert heard.most_ahead_ms == pytest.approx(0)


def test_a_lead_that_plays_out_at_the_end_of_an_answer_is_no_gap():
    # A sender three frames ahead: the answer's 13 frames arrive by 0.18 s and play until
    # 0.26 s; the silence after them starts when it is due (with its own lead of three).
    answer = [0.0] * 4 + paced(9, start=0.02)
    silence = [0.26] * 4 + paced(10, start=0.28)
    heard = playout(answer + silence)
    assert heard.arrival_gap_ms == pytest.approx(80)
    assert heard.worst_gap_ms == pytest.approx(20)
    assert heard.most_ahead_ms == pytest.approx(60)
    assert heard.gaps_over(60) == 0


def test_a_frame_that_comes_late_is_a_gap_of_its_lateness():
    arrivals = paced(10) + paced(10, start=0.29)  # the 11th frame 90 ms after the 10th
    heard = playout(arrivals)
    assert heard.worst_gap_ms == pytest.approx(110)
    assert heard.gaps_over(60) == 1


def test_a_burst_shows_as_audio_far_ahead():
    heard = playout([0.0] * 50)
    assert heard.worst_gap_ms == pytest.approx(20)
    assert heard.most_ahead_ms == pytest.approx(980)


def test_fewer_than_two_frames_have_no_gaps():
    assert playout([]).worst_gap_ms == 0.0
    assert playout([1.0]).most_ahead_ms == 0.0
