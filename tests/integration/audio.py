"""Helpers to look at recorded call audio: level per 20 ms frame, dominant frequency."""

import numpy as np

FRAME_SECS = 0.02


def frame_levels(pcm: bytes, rate: int = 8000) -> np.ndarray:
    """RMS level (0..1) of each 20 ms frame."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    n = int(rate * FRAME_SECS)
    frames = samples[: len(samples) // n * n].reshape(-1, n)
    return np.sqrt((frames**2).mean(axis=1))


def dominant_hz(pcm: bytes, rate: int = 8000) -> float:
    """The strongest frequency in a stretch of audio."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])
