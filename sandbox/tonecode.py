"""Tone codes: how the simulated caller tells the stand-in STT what it is saying.

Every caller utterance starts with a short MFSK tone sequence that names one line of a
scenario: a preamble symbol, then three data symbols of 16 frequencies each (12 bits,
codes 0..4095), 40 ms per symbol, then 20 ms of silence; the synthesized speech follows.
The stand-in STT decodes the code at the onset of sound and looks the text up in its
phrasebook, so the product hears real audio and gets a transcript without ever knowing.

Frequencies sit inside the telephone band (600..3160 Hz), valid at 8 kHz and above. Each
symbol has 4 ms raised-cosine fades; the level is -12 dBFS peak.

``UtteranceTracker`` does the listening side: fed caller audio in chunks of any size, it
reports when an utterance starts (with its code, or None when the sound carried no valid
code: noise, real speech) and when it ends, after a configurable stretch of silence.

This module is pure: no I/O, no asyncio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PREAMBLE_HZ = 600.0
"""Frequency of the preamble symbol; never used for data."""

DATA_HZ: tuple[float, ...] = tuple(760.0 + 160.0 * i for i in range(16))
"""The 16 data frequencies, 760..3160 Hz, 160 Hz apart."""

SYMBOL_SECS = 0.040
FADE_SECS = 0.004
GAP_SECS = 0.020
LEVEL_DBFS = -12.0
DATA_SYMBOLS = 3
CODE_SECS = (1 + DATA_SYMBOLS) * SYMBOL_SECS + GAP_SECS
"""Length of an encoded code, silence included (0.18 s)."""

MAX_CODE = 16**DATA_SYMBOLS - 1

_FULL_SCALE = 32768.0
_HOP_SECS = 0.005  # energy analysis window
_EDGE_SECS = 0.006  # skipped at both ends of a symbol when decoding
_SEARCH_SECS = (-0.004, 0.008)  # alignment search around the refined onset
_HISTORY_SECS = 0.010  # samples kept from before the onset window
_CANDIDATE_SECS = 0.200  # later candidate starts are looked for this long after an onset
_RISE = 4.0  # RMS ratio (12 dB) over the previous window that makes a candidate start
_MIN_PURITY = 0.5  # share of a symbol window's energy in the winning tone
_MIN_DOMINANCE = 4.0  # winner's power over the runner-up's


def encode(code: int, rate: int = 8000) -> bytes:
    """Synthesize the tone sequence for ``code``.

    Args:
        code: 0..MAX_CODE.
        rate: Sample rate in Hz (8000 or more).

    Returns:
        16-bit little-endian mono PCM, ``CODE_SECS`` long.

    Raises:
        ValueError: If the code or the rate is out of range.
    """
    if not 0 <= code <= MAX_CODE:
        raise ValueError(f"code must be 0..{MAX_CODE}, got {code}")
    if rate < 8000:
        raise ValueError(f"rate must be at least 8000 Hz, got {rate}")
    freqs = [PREAMBLE_HZ] + [DATA_HZ[d] for d in _digits(code)]
    n = round(SYMBOL_SECS * rate)
    t = np.arange(n) / rate
    envelope = np.ones(n)
    nf = round(FADE_SECS * rate)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(nf) / nf)
    envelope[:nf] = ramp
    envelope[n - nf :] = ramp[::-1]
    amplitude = 10 ** (LEVEL_DBFS / 20) * (_FULL_SCALE - 1)
    symbols = [amplitude * envelope * np.sin(2 * np.pi * f * t) for f in freqs]
    gap = np.zeros(round(CODE_SECS * rate) - len(freqs) * n)
    pcm = np.concatenate([*symbols, gap])
    return np.round(pcm).astype("<i2").tobytes()


def _digits(code: int) -> list[int]:
    return [(code >> (4 * (DATA_SYMBOLS - 1 - i))) & 0xF for i in range(DATA_SYMBOLS)]


@dataclass(frozen=True, slots=True)
class UtteranceStarted:
    """Sound started and its code has been read.

    Parameters:
        code: The decoded code, or None when the onset carried no valid code.
        at_secs: Stream time where the sound started (the code's first sample).
        decoded_at_secs: Stream time at which the decision was made.
    """

    code: int | None
    at_secs: float
    decoded_at_secs: float = 0.0


@dataclass(frozen=True, slots=True)
class UtteranceEnded:
    """Silence has lasted ``silence_ms`` after an utterance.

    Parameters:
        at_secs: Stream time at which the end was detected.
        speech_end_secs: Stream time where the sound actually stopped.
    """

    at_secs: float
    speech_end_secs: float


Event = UtteranceStarted | UtteranceEnded


class _Decoder:
    """Reads a code from samples that start near a known onset."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.symbol = round(SYMBOL_SECS * rate)
        edge = round(_EDGE_SECS * rate)
        self.edge = edge
        self.window = self.symbol - 2 * edge
        n = np.arange(self.window)
        w = np.hanning(self.window + 2)[1:-1]
        freqs = np.array((PREAMBLE_HZ, *DATA_HZ))
        self.basis = w[:, None] * np.exp(-2j * np.pi * np.outer(n, freqs) / rate)
        self.w2 = w**2
        # Power of a pure tone at a probed frequency, over its Hann-weighted energy.
        self.pure = float(np.sum(w) ** 2 / (2 * np.sum(self.w2)))
        step = max(1, round(0.001 * rate))
        lo, hi = (round(s * rate) for s in _SEARCH_SECS)
        self.offsets = np.arange(lo, hi + 1, step)
        self.span = self.offsets[-1] + (DATA_SYMBOLS + 1) * self.symbol

    def decode(self, x: np.ndarray, onset: int) -> int | None:
        """Decode the code whose first sample is near ``x[onset]``.

        ``x`` must hold at least ``onset + self.span`` samples and ``onset`` must be at
        least ``-self.offsets[0]``.
        """
        starts = onset + self.offsets
        k = np.arange(DATA_SYMBOLS + 1) * self.symbol + self.edge
        idx = starts[:, None, None] + k[None, :, None] + np.arange(self.window)
        segs = x[idx]  # (offsets, symbols, window)
        power = np.abs(segs @ self.basis) ** 2  # (offsets, symbols, freqs)
        energy = np.einsum("osn,n->os", segs**2, self.w2)
        purity = power / (np.maximum(energy, 1e-9)[..., None] * self.pure)
        score = np.minimum(purity[:, 0, 0], purity[:, 1:, 1:].max(axis=2).min(axis=1))
        best = purity[int(np.argmax(score))]  # (symbols, freqs)
        order = np.argsort(best, axis=1)
        winners, runners = order[:, -1], order[:, -2]
        top = best[np.arange(len(best)), winners]
        second = best[np.arange(len(best)), runners]
        if winners[0] != 0 or np.any(winners[1:] == 0):
            return None
        if np.any(top < _MIN_PURITY) or np.any(top < _MIN_DOMINANCE * second):
            return None
        code = 0
        for d in winners[1:]:
            code = code * 16 + int(d) - 1
        return code


class UtteranceTracker:
    """Streaming utterance detector and tone-code reader for one audio stream.

    Energy is measured in 5 ms windows. The first window above the speech threshold is
    an onset, refined to its first loud sample. Every later window at least 12 dB louder
    than the one before it is another candidate start: a code over faint noise, or the
    caller's next line spoken before ``silence_ms`` of silence has passed. Candidates are
    decoded in order as soon as their audio has arrived (about 170 ms after them).

    - The first candidate that decodes starts the utterance with its code.
    - When no candidate within 200 ms of the onset decodes, the utterance starts with
      code None at the onset (noise, or speech without a code), decided about 0.37 s
      after the onset.
    - A code decoded inside a running utterance ends it (``speech_end_secs`` is where the
      sound before the code stopped) and starts a new one.
    - ``UtteranceEnded`` follows once the sound has stayed below the threshold for
      ``silence_ms``.

    Args:
        rate: Sample rate of the 16-bit mono PCM that will be fed.
        silence_ms: Silence that ends an utterance. Make it longer than the longest
            pause inside one utterance (espeak pauses up to ~1.1 s between sentences).
        speech_threshold_dbfs: RMS level (dB relative to full scale) above which a
            window counts as sound.
    """

    def __init__(
        self, rate: int = 8000, *, silence_ms: int = 300, speech_threshold_dbfs: float = -45
    ) -> None:
        if rate < 8000:
            raise ValueError(f"rate must be at least 8000 Hz, got {rate}")
        self.rate = rate
        self.silence_ms = silence_ms
        self._hop = round(_HOP_SECS * rate)
        self._rms_threshold = 10 ** (speech_threshold_dbfs / 20) * _FULL_SCALE
        self._decoder = _Decoder(rate)
        self._search = round(_CANDIDATE_SECS * rate)
        self._code_len = round(CODE_SECS * rate)
        self._history = round(_HISTORY_SECS * rate) + self._hop
        self._odd = b""
        self._buf = np.zeros(0, dtype=np.float64)
        self._buf_start = 0  # absolute sample index of _buf[0]
        self._analysed = 0  # absolute index of the next window to analyse
        self._fed = 0  # absolute samples received
        self._prev_rms = 0.0
        self._onset: int | None = None  # absolute sample of the current utterance's onset
        # Untried candidate starts, each with where the sound before it stopped.
        self._candidates: list[tuple[int, int]] = []
        self._started = False
        self._last_sound: int | None = None  # absolute end (exclusive) of the last sound

    @property
    def now_secs(self) -> float:
        """Stream time: samples fed so far divided by the rate."""
        return self._fed / self.rate

    @property
    def in_utterance(self) -> bool:
        """Whether sound has started and its utterance has not yet ended."""
        return self._onset is not None

    @property
    def last_sound_secs(self) -> float | None:
        """Stream time where the most recent sound stopped, or None before any sound."""
        return None if self._last_sound is None else self._last_sound / self.rate

    def feed(self, pcm: bytes) -> list[Event]:
        """Add 16-bit little-endian mono PCM of any length; return the events it caused.

        An odd trailing byte is kept for the next call. Events come out in stream order,
        and the same audio yields the same events however it is split into chunks.
        """
        data = self._odd + pcm
        usable = len(data) - len(data) % 2
        self._odd = data[usable:]
        if not usable:
            return []
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.float64)
        self._buf = np.concatenate([self._buf, samples])
        self._fed += len(samples)
        events: list[Event] = []
        hop = self._hop
        n_windows = (self._fed - self._analysed) // hop
        if n_windows:
            lo = self._analysed - self._buf_start
            block = self._buf[lo : lo + n_windows * hop].reshape(n_windows, hop)
            rms = np.sqrt(np.mean(block**2, axis=1))
            for i in range(n_windows):
                self._window(self._analysed + i * hop, block[i], float(rms[i]), events)
            self._analysed += n_windows * hop
        self._trim()
        return events

    def _window(self, start: int, samples: np.ndarray, rms: float, events: list[Event]) -> None:
        end = start + len(samples)
        rise = rms > _RISE * self._prev_rms
        self._prev_rms = rms
        if rms > self._rms_threshold:
            above = np.flatnonzero(np.abs(samples) > self._rms_threshold)
            first = start + (int(above[0]) if len(above) else 0)
            if self._onset is None:
                self._onset = first
                self._started = False
                self._candidates = [(first, first)]
            elif rise:
                self._candidates.append((first, self._last_sound or first))
            self._last_sound = start + (int(above[-1]) + 1 if len(above) else len(samples))
        if self._onset is None:
            return
        self._try_candidates(end, events)
        if not self._started:
            return
        assert self._last_sound is not None
        if end - self._last_sound >= self.silence_ms * self.rate / 1000:
            events.append(UtteranceEnded(end / self.rate, self._last_sound / self.rate))
            self._onset = None
            self._candidates = []
            self._started = False

    def _try_candidates(self, end: int, events: list[Event]) -> None:
        assert self._onset is not None
        span = self._decoder.span
        while self._candidates and end >= self._candidates[0][0] + span:
            at, sound_before = self._candidates.pop(0)
            code = self._decode(at)
            if code is None:
                continue
            if self._started:  # a code inside a running utterance starts a new one
                events.append(UtteranceEnded(end / self.rate, sound_before / self.rate))
            self._start(code, at, end, events)
        if self._started or end < self._onset + self._search + span:
            return
        if not self._candidates or self._candidates[0][0] > self._onset + self._search:
            self._start(None, self._onset, end, events)

    def _start(self, code: int | None, at: int, end: int, events: list[Event]) -> None:
        self._onset = at
        self._started = True
        if code is not None:  # rises inside the code itself are not new starts
            self._candidates = [c for c in self._candidates if c[0] >= at + self._code_len]
        events.append(UtteranceStarted(code, at / self.rate, end / self.rate))

    def _decode(self, onset: int) -> int | None:
        lo = self._buf_start
        pad = max(0, lo - (onset + int(self._decoder.offsets[0])))
        x = np.concatenate([np.zeros(pad), self._buf]) if pad else self._buf
        return self._decoder.decode(x, onset - lo + pad)

    def _trim(self) -> None:
        keep_from = self._analysed - self._history
        if self._candidates:
            keep_from = min(keep_from, self._candidates[0][0] + int(self._decoder.offsets[0]))
        cut = keep_from - self._buf_start
        if cut > 0:
            self._buf = self._buf[cut:]
            self._buf_start = keep_from
