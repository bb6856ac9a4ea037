import numpy as np
import pytest

from sandbox.tonecode import (
    CODE_SECS,
    DATA_HZ,
    MAX_CODE,
    PREAMBLE_HZ,
    UtteranceEnded,
    UtteranceStarted,
    UtteranceTracker,
    encode,
)

pytestmark = pytest.mark.unit

RATES = (8000, 16000)


def pcm(x: np.ndarray) -> bytes:
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


def samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float64)


def silence(secs: float, rate: int) -> np.ndarray:
    return np.zeros(round(secs * rate))


def speech_like(secs: float, rate: int, rng: np.random.Generator, f0: float = 140) -> np.ndarray:
    """Voiced-speech stand-in: a wobbling harmonic series, syllable-rate AM, some noise."""
    t = np.arange(round(secs * rate)) / rate
    pitch = f0 + 20 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 15))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)
    return voiced * envelope * 3000 + rng.normal(0, 200, len(t))


def code_audio(code: int, rate: int) -> np.ndarray:
    return samples(encode(code, rate))


def feed(tracker: UtteranceTracker, data: bytes, chunk: int = 320) -> list:
    events = []
    for i in range(0, len(data), chunk):
        events += tracker.feed(data[i : i + chunk])
    return events


def feed_random(tracker: UtteranceTracker, data: bytes, rng: np.random.Generator) -> list:
    events, i = [], 0
    while i < len(data):
        n = int(rng.integers(1, 1000))
        events += tracker.feed(data[i : i + n])
        i += n
    return events


def starts(events: list) -> list[UtteranceStarted]:
    return [e for e in events if isinstance(e, UtteranceStarted)]


def ends(events: list) -> list[UtteranceEnded]:
    return [e for e in events if isinstance(e, UtteranceEnded)]


# --- encode ---


@pytest.mark.parametrize("rate", RATES)
def test_encoded_code_is_short_telephone_band_and_about_minus_12_dbfs(rate: int) -> None:
    x = code_audio(2748, rate)
    assert len(x) == round(CODE_SECS * rate)
    assert CODE_SECS <= 0.2
    peak_dbfs = 20 * np.log10(np.max(np.abs(x)) / 32768)
    assert -13 < peak_dbfs < -11
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    in_band = spectrum[(freqs >= 300) & (freqs <= 3400)].sum()
    assert in_band / spectrum.sum() > 0.99
    # The tail is silence and the edges fade in and out.
    assert np.all(x[-round(0.015 * rate) :] == 0)
    assert abs(x[0]) < 100


def test_frequencies_are_in_band_and_distinct() -> None:
    freqs = (PREAMBLE_HZ, *DATA_HZ)
    assert len(set(freqs)) == 17 == len(DATA_HZ) + 1
    assert all(500 <= f <= 3300 for f in freqs)


@pytest.mark.parametrize("code", [-1, MAX_CODE + 1])
def test_encode_rejects_out_of_range_codes(code: int) -> None:
    with pytest.raises(ValueError):
        encode(code)


def test_encode_rejects_rates_below_8000() -> None:
    with pytest.raises(ValueError):
        encode(1, rate=4000)


# --- decoding ---


def sample_codes(seed: int, n: int = 40) -> list[int]:
    rng = np.random.default_rng(seed)
    return [0, 1, 15, 16, 255, 256, 4094, MAX_CODE, *map(int, rng.integers(0, MAX_CODE + 1, n))]


@pytest.mark.parametrize("rate", RATES)
def test_round_trip_for_many_codes(rate: int) -> None:
    for code in sample_codes(rate):
        data = pcm(np.concatenate([silence(0.1, rate), code_audio(code, rate), silence(0.5, rate)]))
        events = feed(UtteranceTracker(rate), data, chunk=rate // 50 * 2)
        assert [type(e) for e in events] == [UtteranceStarted, UtteranceEnded], code
        assert events[0].code == code
        assert events[0].at_secs == pytest.approx(0.1, abs=0.002)


@pytest.mark.parametrize("rate", RATES)
def test_code_at_random_offsets_in_random_chunks_followed_by_speech(rate: int) -> None:
    rng = np.random.default_rng(rate + 1)
    for code in sample_codes(rate + 2, n=30):
        offset = int(rng.integers(0, rate))  # anywhere within the first second
        x = np.concatenate(
            [
                np.zeros(offset),
                code_audio(code, rate),
                speech_like(0.6, rate, rng),
                silence(0.5, rate),
            ]
        )
        events = feed_random(UtteranceTracker(rate), pcm(x), rng)
        assert len(starts(events)) == 1 and len(ends(events)) == 1, (code, events)
        assert starts(events)[0].code == code
        assert starts(events)[0].at_secs == pytest.approx(offset / rate, abs=0.002)


def test_one_byte_and_odd_chunks_give_the_same_events_as_whole_frames() -> None:
    rng = np.random.default_rng(3)
    rate = 8000
    x = np.concatenate(
        [silence(0.0137, rate), code_audio(1234, rate), speech_like(0.3, rate, rng)]
        + [silence(0.4, rate)]
    )
    data = pcm(x)
    whole = UtteranceTracker(rate).feed(data)
    bytewise = UtteranceTracker(rate)
    one_byte = [e for i in range(len(data)) for e in bytewise.feed(data[i : i + 1])]
    odd = feed(UtteranceTracker(rate), data, chunk=333)
    assert whole == one_byte == odd
    assert starts(whole)[0].code == 1234
    assert bytewise.now_secs == pytest.approx(len(x) / rate)


@pytest.mark.parametrize("rate", RATES)
def test_code_decodes_under_strong_noise(rate: int) -> None:
    rng = np.random.default_rng(5)
    for code in sample_codes(7, n=20):
        sound = np.concatenate([code_audio(code, rate), speech_like(0.4, rate, rng)])
        sound += rng.normal(0, 2000, len(sound))  # about 9 dB below the tones, full band
        x = np.concatenate([silence(0.2, rate), sound, silence(0.5, rate)])
        assert starts(feed(UtteranceTracker(rate), pcm(x)))[0].code == code


def test_code_decodes_over_background_noise_just_below_the_threshold() -> None:
    rng = np.random.default_rng(11)
    rate = 8000
    for code in sample_codes(13, n=20):
        x = np.concatenate(
            [silence(0.3, rate), code_audio(code, rate), speech_like(0.4, rate, rng)]
        )
        x += rng.normal(0, 150, len(x))  # -47 dBFS: windows sometimes cross -45 dBFS
        events = feed(UtteranceTracker(rate), pcm(x))
        assert [s.code for s in starts(events)][-1:] == [code]


@pytest.mark.parametrize(
    "sound",
    [
        pytest.param(lambda rng, n: rng.normal(0, 3000, n), id="noise"),
        pytest.param(
            lambda rng, n: 5000 * np.sin(2 * np.pi * 1000 * np.arange(n) / 8000), id="tone"
        ),
        pytest.param(
            lambda rng, n: 5000 * np.sin(2 * np.pi * PREAMBLE_HZ * np.arange(n) / 8000),
            id="preamble-only",
        ),
        pytest.param(lambda rng, n: speech_like(n / 8000, 8000, rng), id="speech"),
        pytest.param(lambda rng, n: speech_like(n / 8000, 8000, rng, f0=230), id="high-speech"),
    ],
)
def test_sound_without_a_code_starts_an_utterance_with_code_none(sound) -> None:
    rng = np.random.default_rng(17)
    for _ in range(5):
        x = np.concatenate([silence(0.1, 8000), sound(rng, 8000), silence(0.5, 8000)])
        events = feed(UtteranceTracker(8000), pcm(x))
        assert [type(e) for e in events] == [UtteranceStarted, UtteranceEnded]
        assert events[0].code is None
        assert events[0].at_secs == pytest.approx(0.1, abs=0.002)


def test_a_data_tone_without_preamble_is_not_a_code() -> None:
    rate = 8000
    x = code_audio(0x5A3, rate)
    symbol = round(0.04 * rate)
    x[:symbol] = 0  # drop the preamble
    x = np.concatenate([silence(0.1, rate), x, silence(0.5, rate)])
    assert starts(feed(UtteranceTracker(rate), pcm(x)))[0].code is None


def test_a_brief_click_is_an_utterance_without_code() -> None:
    rate = 8000
    click = np.zeros(round(0.6 * rate))
    click[:40] = 8000
    events = feed(
        UtteranceTracker(rate, silence_ms=100), pcm(np.concatenate([silence(0.1, rate), click]))
    )
    assert [type(e) for e in events] == [UtteranceStarted, UtteranceEnded]
    assert events[0].code is None
    assert events[1].speech_end_secs == pytest.approx(0.105, abs=0.002)


# --- utterance boundaries ---


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("silence_ms", [300, 700])
def test_utterance_end_is_timed_to_the_real_end_of_sound(rate: int, silence_ms: int) -> None:
    rng = np.random.default_rng(rate + silence_ms)
    for _ in range(10):
        lead = float(rng.uniform(0.05, 0.5))
        talk = float(rng.uniform(0.5, 1.5))
        x = np.concatenate(
            [silence(lead, rate), code_audio(42, rate), speech_like(talk, rate, rng)]
            + [silence(2, rate)]
        )
        events = feed_random(UtteranceTracker(rate, silence_ms=silence_ms), pcm(x), rng)
        (end,) = ends(events)
        true_end = round(lead * rate) / rate + CODE_SECS + round(talk * rate) / rate
        assert end.speech_end_secs == pytest.approx(true_end, abs=0.025)
        assert end.at_secs >= end.speech_end_secs + silence_ms / 1000 - 1e-9
        assert end.at_secs == pytest.approx(end.speech_end_secs + silence_ms / 1000, abs=0.025)


def test_two_utterances_one_second_apart_give_two_start_end_pairs() -> None:
    rng = np.random.default_rng(23)
    rate = 8000
    x = np.concatenate(
        [silence(0.2, rate), code_audio(7, rate), speech_like(0.8, rate, rng), silence(1.0, rate)]
        + [code_audio(8, rate), speech_like(0.5, rate, rng), silence(1.0, rate)]
    )
    events = feed(UtteranceTracker(rate, silence_ms=300), pcm(x))
    assert [type(e) for e in events] == [UtteranceStarted, UtteranceEnded] * 2
    assert [s.code for s in starts(events)] == [7, 8]
    first_end, second_end = (e.speech_end_secs for e in ends(events))
    assert first_end == pytest.approx(0.2 + CODE_SECS + 0.8, abs=0.025)
    assert starts(events)[1].at_secs == pytest.approx(first_end + 1.0, abs=0.025)
    assert second_end == pytest.approx(starts(events)[1].at_secs + CODE_SECS + 0.5, abs=0.025)


def test_a_pause_shorter_than_silence_ms_does_not_end_the_utterance() -> None:
    rng = np.random.default_rng(29)
    rate = 8000
    x = np.concatenate(
        [silence(0.1, rate), code_audio(99, rate), speech_like(0.6, rate, rng)]
        + [silence(1.1, rate), speech_like(0.6, rate, rng), silence(1.5, rate)]
    )
    events = feed(UtteranceTracker(rate, silence_ms=1200), pcm(x))
    assert [type(e) for e in events] == [UtteranceStarted, UtteranceEnded]
    assert events[0].code == 99
    assert events[1].speech_end_secs == pytest.approx(0.1 + CODE_SECS + 2.3, abs=0.025)


def test_a_code_inside_a_running_utterance_starts_a_new_one() -> None:
    rng = np.random.default_rng(31)
    rate = 8000
    x = np.concatenate(
        [silence(0.1, rate), code_audio(5, rate), speech_like(0.5, rate, rng), silence(0.2, rate)]
        + [code_audio(6, rate), speech_like(0.5, rate, rng), silence(1.0, rate)]
    )
    events = feed(UtteranceTracker(rate, silence_ms=800), pcm(x))
    assert [type(e) for e in events] == [UtteranceStarted, UtteranceEnded] * 2
    assert [s.code for s in starts(events)] == [5, 6]
    first_end = ends(events)[0].speech_end_secs
    assert first_end == pytest.approx(0.1 + CODE_SECS + 0.5, abs=0.025)
    assert starts(events)[1].at_secs == pytest.approx(first_end + 0.2, abs=0.025)


def test_noise_then_a_code_in_one_stretch_of_sound_gives_a_none_then_the_code() -> None:
    rng = np.random.default_rng(37)
    rate = 8000
    x = np.concatenate(
        [silence(0.1, rate), rng.normal(0, 1000, round(0.6 * rate)), code_audio(77, rate)]
        + [speech_like(0.5, rate, rng), silence(1.0, rate)]
    )
    events = feed(UtteranceTracker(rate), pcm(x))
    assert [type(e) for e in events] == [UtteranceStarted, UtteranceEnded] * 2
    assert [s.code for s in starts(events)] == [None, 77]
    assert starts(events)[1].at_secs == pytest.approx(0.7, abs=0.002)


def test_tracker_exposes_stream_time_and_utterance_state() -> None:
    rate = 8000
    tracker = UtteranceTracker(rate, silence_ms=200)
    assert tracker.last_sound_secs is None and not tracker.in_utterance
    tracker.feed(pcm(np.concatenate([silence(0.1, rate), code_audio(3, rate)])))
    assert tracker.in_utterance
    assert tracker.now_secs == pytest.approx(0.1 + CODE_SECS)
    assert tracker.last_sound_secs == pytest.approx(0.1 + 0.16, abs=0.002)
    tracker.feed(pcm(silence(0.3, rate)))
    assert not tracker.in_utterance


def test_rates_below_8000_are_rejected() -> None:
    with pytest.raises(ValueError):
        UtteranceTracker(4000)
