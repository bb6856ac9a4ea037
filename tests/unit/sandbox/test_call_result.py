"""What the simulated caller heard: when the bot spoke, and the gaps as played."""

import uuid

import numpy as np
import pytest

from sandbox.caller import ArrivalStats, CallResult, played_starts, speech_frames

pytestmark = pytest.mark.unit

RATE = 8000
FRAME = 160  # samples in 20 ms


def _result(loud: list[bool], arrive_every: float = 0.02) -> CallResult:
    result = CallResult(call_id=uuid.uuid4(), rate=RATE, connected_at=100.0)
    tone = (8000 * np.sin(np.arange(FRAME) / 3)).astype("<i2").tobytes()
    for i, is_loud in enumerate(loud):
        result.received += tone if is_loud else bytes(2 * FRAME)
        result.arrivals.append(100.0 + 0.5 + i * arrive_every)
    return result


def test_audible_frames_make_spans_split_at_longer_silences() -> None:
    # 10 loud frames, 10 silent (0.2 s: same span), 5 loud, 20 silent (0.4 s: new span), 5 loud
    result = _result([True] * 10 + [False] * 10 + [True] * 5 + [False] * 20 + [True] * 5)
    spans = result.bot_speech_spans(min_gap_secs=0.3)
    assert [(round(a, 2), round(b, 2)) for a, b in spans] == [(0.5, 1.0), (1.4, 1.5)]


def test_spans_follow_arrival_times_not_frame_counts() -> None:
    # Frames delivered at half speed stretch the span: what the caller heard, when.
    result = _result([True] * 10, arrive_every=0.04)
    assert [(round(a, 2), round(b, 2)) for a, b in result.bot_speech_spans()] == [(0.5, 0.88)]


def test_silence_only_has_no_spans() -> None:
    assert _result([False] * 50).bot_speech_spans() == []
    assert CallResult(call_id=uuid.uuid4()).bot_speech_spans() == []


def paced(n: int, start: float = 0.0) -> list[float]:
    return [start + 0.02 * k for k in range(n)]


def test_frames_on_time_play_without_a_gap() -> None:
    stats = ArrivalStats.from_arrivals(paced(50))
    assert stats.played_gap_ms == pytest.approx(20)
    assert stats.max_gap_ms == pytest.approx(20)
    assert stats.max_burst_frames == pytest.approx(0)


def test_a_lead_that_plays_out_at_the_end_of_an_answer_is_no_gap() -> None:
    # A sender three frames ahead: the answer's 13 frames arrive by 0.18 s and play until
    # 0.26 s; the silence after them starts when it is due (with its own lead of three).
    answer = [0.0] * 4 + paced(9, start=0.02)
    silence = [0.26] * 4 + paced(10, start=0.28)
    stats = ArrivalStats.from_arrivals(answer + silence)
    assert stats.max_gap_ms == pytest.approx(80)
    assert stats.played_gap_ms == pytest.approx(20)
    assert stats.max_burst_frames == pytest.approx(3)
    assert stats.audible_gaps == 0


def test_a_frame_that_comes_late_is_a_gap_of_its_lateness() -> None:
    stats = ArrivalStats.from_arrivals(paced(10) + paced(10, start=0.29))  # 11th 90 ms late
    assert stats.played_gap_ms == pytest.approx(110)
    assert stats.audible_gaps == 1


def test_a_burst_is_no_gap_but_shows_as_frames_ahead() -> None:
    stats = ArrivalStats.from_arrivals([0.0] * 50)
    assert stats.played_gap_ms == pytest.approx(20)
    assert stats.max_burst_frames == pytest.approx(49)
    assert played_starts([0.0] * 3).tolist() == pytest.approx([0.0, 0.02, 0.04])


def test_pauses_inside_speech_count_as_speech_and_silence_around_it_does_not() -> None:
    loud = np.array([c == "x" for c in ".x..x....x."])
    speech = speech_frames(loud, max_pause_frames=2)
    assert "".join("s" if f else "." for f in speech) == ".ssss....s."


def test_a_gap_is_heard_inside_speech_only() -> None:
    # 20 frames; the 6th (silence) and the 16th (speech) each arrive 50 ms late.
    arrivals = [0.02 * k + 0.05 * (k >= 5) + 0.05 * (k >= 15) for k in range(20)]
    loud = np.array([False] * 10 + [True] * 10)
    stats = ArrivalStats.from_arrivals(arrivals, speech=speech_frames(loud, 15))
    assert stats.max_gap_ms == pytest.approx(70)  # both arrive late
    assert stats.played_gap_ms == pytest.approx(70)  # the one in speech is heard
    assert stats.audible_gaps == 1
    silent = ArrivalStats.from_arrivals(arrivals, speech=speech_frames(np.zeros(20, bool), 15))
    assert silent.played_gap_ms == 0.0  # nothing was said: no gap heard
    assert silent.audible_gaps == 0


def test_the_callers_stats_count_gaps_in_the_bots_speech() -> None:
    result = _result([False] * 10 + [True] * 10)
    result.arrivals[5:] = [t + 0.05 for t in result.arrivals[5:]]  # late in the silence
    assert result.stats.max_gap_ms == pytest.approx(70)
    assert result.stats.played_gap_ms == pytest.approx(20)
