"""The phone VAD against pipecat's Silero analyzer: same decisions, without its costs."""

import asyncio
import threading

import numpy as np
import pytest
from pipecat.audio.utils import calculate_audio_volume
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from processors.phone_vad import (
    PhoneVADAnalyzer,
    SileroBatcher,
    loudness_volume,
    silero_session,
)
from sandbox import speech

pytestmark = pytest.mark.unit

RATE = 8000
FRAME = 320  # bytes in a 20 ms frame
PARAMS = VADParams(confidence=0.7, start_secs=0.3, stop_secs=0.2, min_volume=0.3)


def line_audio() -> bytes:
    """Silence, a spoken line, silence, another line, silence: 16-bit PCM at 8 kHz."""
    quiet = bytes(int(RATE * 0.8) * 2)
    first = speech.synthesize("Добрий день, мені потрібні навушники.", rate=RATE)
    second = speech.synthesize("Так, підтверджую.", rate=RATE)
    return quiet + first + quiet + second + quiet


def states(analyzer, audio: bytes) -> list[VADState]:
    """The analyzer's state after each 20 ms frame."""
    analyzer.set_sample_rate(RATE)

    async def run() -> list[VADState]:
        return [
            await analyzer.analyze_audio(audio[i : i + FRAME]) for i in range(0, len(audio), FRAME)
        ]

    return asyncio.run(run())


def speech_spans(seq: list[VADState]) -> list[tuple[int, int]]:
    """(first, last) frame index of each stretch in the SPEAKING state."""
    spans, start = [], None
    for i, state in enumerate([*seq, VADState.QUIET]):
        if state == VADState.SPEAKING and start is None:
            start = i
        elif state != VADState.SPEAKING and start is not None:
            spans.append((start, i - 1))
            start = None
    return spans


def test_it_finds_the_same_speech_as_pipecats_silero_analyzer():
    audio = line_audio()
    ours = speech_spans(states(PhoneVADAnalyzer(sample_rate=RATE, params=PARAMS), audio))
    pipecat = speech_spans(states(SileroVADAnalyzer(sample_rate=RATE, params=PARAMS), audio))
    assert len(ours) == len(pipecat) >= 2
    for (a, b), (c, d) in zip(ours, pipecat, strict=True):
        assert abs(a - c) <= 2 and abs(b - d) <= 2  # within two 20 ms frames


@pytest.mark.parametrize("dbfs", [-80, -72, -60, -40, -20])
def test_loudness_reads_like_pipecats_meter_on_either_side_of_the_threshold(dbfs):
    rng = np.random.default_rng(7)
    samples = rng.standard_normal(int(RATE * 0.4))
    samples *= 10 ** (dbfs / 20) / np.sqrt(np.mean(samples**2))
    pcm = (samples * 32767).astype("<i2").tobytes()
    floats = np.frombuffer(pcm, "<i2").astype(np.float64) / 32768
    ours = loudness_volume(float(np.mean(floats**2)))
    theirs = calculate_audio_volume(pcm, RATE)
    assert abs(ours - theirs) < 0.05
    assert (ours >= PARAMS.min_volume) == (theirs >= PARAMS.min_volume)


def test_spoken_audio_reads_like_pipecats_meter():
    pcm = speech.synthesize("Підкажіть, чи є в наявності павербанк?", rate=RATE)[: RATE * 2 * 2]
    window = pcm[RATE : RATE + int(RATE * 0.4) * 2]
    floats = np.frombuffer(window, "<i2").astype(np.float64) / 32768
    ours = loudness_volume(float(np.mean(floats**2)))
    assert abs(ours - calculate_audio_volume(window, RATE)) < 0.05


def scoring_threads(analyzer) -> set[int]:
    """The threads ``analyzer`` scores windows on."""
    threads: set[int] = set()
    cls = type(analyzer)
    original = cls.voice_confidence

    def spy(self, buffer):
        threads.add(threading.get_ident())
        return original(self, buffer)

    cls.voice_confidence = spy
    try:
        states(analyzer, bytes(FRAME * 4))
    finally:
        cls.voice_confidence = original
    return threads


def test_pipecat_opens_a_session_per_analyzer_and_scores_on_a_thread_ours_do_neither():
    # What this module works around: each pipecat analyzer has its own ONNX session and
    # scores every window on an executor thread of its own.
    a, b = SileroVADAnalyzer(sample_rate=RATE), SileroVADAnalyzer(sample_rate=RATE)
    assert a._model.session is not b._model.session
    threads = scoring_threads(a)
    assert threads and threading.get_ident() not in threads

    ours_a, ours_b = PhoneVADAnalyzer(sample_rate=RATE), PhoneVADAnalyzer(sample_rate=RATE)
    assert ours_a._session is ours_b._session is silero_session()
    assert scoring_threads(ours_a) == {threading.get_ident()}


def test_each_call_keeps_its_own_model_state_through_the_shared_session():
    audio = line_audio()
    alone = states(PhoneVADAnalyzer(sample_rate=RATE, params=PARAMS), audio)
    first = PhoneVADAnalyzer(sample_rate=RATE, params=PARAMS)
    other = PhoneVADAnalyzer(sample_rate=RATE, params=PARAMS)
    first.set_sample_rate(RATE)
    other.set_sample_rate(RATE)
    noise = (np.random.default_rng(1).standard_normal(len(audio) // 2) * 3000).astype("<i2")

    async def interleaved() -> list[VADState]:
        out = []
        for i in range(0, len(audio), FRAME):
            out.append(await first.analyze_audio(audio[i : i + FRAME]))
            await other.analyze_audio(noise.tobytes()[i : i + FRAME])
        return out

    assert asyncio.run(interleaved()) == alone


def test_batched_scoring_decides_exactly_as_one_window_at_a_time():
    audio = line_audio()
    alone = states(PhoneVADAnalyzer(sample_rate=RATE, params=PARAMS), audio)
    batcher = SileroBatcher(max_wait=0.005)
    calls = [PhoneVADAnalyzer(sample_rate=RATE, params=PARAMS, batcher=batcher) for _ in range(4)]
    for call in calls:
        call.set_sample_rate(RATE)

    async def together() -> list[list[VADState]]:
        seen: list[list[VADState]] = [[] for _ in calls]
        for i in range(0, len(audio), FRAME):
            frame = audio[i : i + FRAME]
            now = await asyncio.gather(*(call.analyze_audio(frame) for call in calls))
            for out, state in zip(seen, now, strict=True):
                out.append(state)
        return seen

    for seen in asyncio.run(together()):
        assert seen == alone
    assert batcher.windows / batcher.runs == 4  # the four calls' windows went together
