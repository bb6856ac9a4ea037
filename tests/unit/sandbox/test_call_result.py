"""CallResult.bot_speech_spans: when the simulated caller heard the bot."""

import uuid

import numpy as np
import pytest

from sandbox.caller import CallResult

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
