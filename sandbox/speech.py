"""Offline speech synthesis with espeak-ng: real, audible Ukrainian, Russian and English.

The sandbox needs speech that a speech recogniser, a VAD and a human ear all accept as
speech, without any network or cloud account. espeak-ng is robotic but intelligible, tiny
and fast (about 12 ms of CPU for 8 s of Ukrainian). It comes from ``espeakng-loader``, which
ships ``libespeak-ng.so`` and its voice data but no command-line binary, so this module drives
the library through ctypes.

The library keeps global state (one current voice, one callback, one set of parameters), so
every call into it is serialised by one process-wide lock, and it is initialised lazily, once
per process, on first use. espeak-ng always renders at 22050 Hz; the result is resampled with
soxr to the rate asked for.

espeak-ng is not quite deterministic across utterances: its pitch "flutter" oscillator (a
function-static index in ``wavegen.c`` that nothing resets) runs on from one utterance into the
next, so rendering the same text twice gives audio that differs by a few samples in length and
slightly in waveform, though its loudness envelope is the same. Results are therefore cached
(keyed by text, language, rate and speaking rate): within a process, asking again for the same
phrase returns the very same bytes, as long as it is still among the last 256 asked for.

Example::

    from sandbox.speech import synthesize

    pcm = synthesize("Добрий день! Чим можу допомогти?", language="uk-UA", rate=8000)
    # 16-bit little-endian mono PCM at 8 kHz, ready for an AudioSocket frame stream
"""

from __future__ import annotations

import ctypes
import functools
import threading
from ctypes import CFUNCTYPE, POINTER, c_char_p, c_int, c_short, c_uint, c_void_p

import espeakng_loader
import numpy as np
import soxr

ESPEAK_RATE = 22050
"""The rate espeak-ng renders at, in Hz (the value ``espeak_Initialize`` reports)."""

DEFAULT_WPM = 200  # espeak pauses long between sentences; this keeps its pace near a real voice
"""espeak-ng's own default speaking rate, in words per minute."""

MIN_WPM = 80
MAX_WPM = 450

_VOICES = {"uk": "uk", "ru": "ru", "en": "en-us"}
_ALLOWED = ("uk-UA", "ru-RU", "en-US", "uk", "ru", "en")

# espeak-ng API constants (speak_lib.h).
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_ESPEAK_VOLUME = 2
_VOLUME = 90  # of 100..200 "normal".."loud": a little headroom against clipping
_EE_OK = 0

_SynthCallback = CFUNCTYPE(c_int, POINTER(c_short), c_int, c_void_p)

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_callback: object = None  # the CFUNCTYPE object; referenced here so it is never collected
_chunks: list[bytes] = []  # filled by the callback while _lock is held


def espeak_voice(language: str) -> str:
    """Return the espeak-ng voice for a language code.

    Args:
        language: A BCP-47 code such as ``"uk-UA"``, ``"ru-RU"``, ``"en-US"``, or a bare
            ``"uk"``, ``"ru"`` or ``"en"``. Case and ``_`` versus ``-`` do not matter, and
            any region is accepted for a supported language (``"en-GB"`` -> English).

    Returns:
        The espeak-ng voice name: ``"uk"``, ``"ru"`` or ``"en-us"``.

    Raises:
        ValueError: If the language is not one espeak-ng is set up for here.
    """
    primary = language.strip().replace("_", "-").split("-", 1)[0].lower()
    try:
        return _VOICES[primary]
    except KeyError:
        raise ValueError(
            f"unsupported language {language!r}; use one of {', '.join(_ALLOWED)}"
        ) from None


def synthesize(
    text: str,
    *,
    language: str = "uk-UA",
    rate: int = 8000,
    words_per_minute: int = DEFAULT_WPM,
) -> bytes:
    """Speak text with espeak-ng.

    Results are cached (the last 256 distinct requests): scenarios repeat phrases, and a
    repeat gets identical bytes. Safe to call from any thread; calls are serialised.

    Args:
        text: What to say, as plain text (no SSML). Empty or blank text gives ``b""``.
        language: See :func:`espeak_voice`.
        rate: Output sample rate in Hz, e.g. 8000 for telephony, 24000 like Google TTS.
        words_per_minute: Speaking rate, 80..450; espeak-ng's default is 165.

    Returns:
        16-bit little-endian mono PCM at ``rate``.

    Raises:
        ValueError: On an unsupported language, a non-positive rate or an out-of-range
            speaking rate.
        RuntimeError: If espeak-ng refuses to initialise or to synthesise.
    """
    voice = espeak_voice(language)
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    if not MIN_WPM <= words_per_minute <= MAX_WPM:
        raise ValueError(
            f"words_per_minute must be in {MIN_WPM}..{MAX_WPM}, got {words_per_minute}"
        )
    text = text.replace("\0", " ").strip()
    if not text:
        return b""
    return _synthesize_cached(text, voice, int(rate), int(words_per_minute))


def clear_cache() -> None:
    """Forget every cached synthesis result."""
    _synthesize_cached.cache_clear()


@functools.lru_cache(maxsize=256)
def _synthesize_cached(text: str, voice: str, rate: int, wpm: int) -> bytes:
    samples = _render(text, voice, wpm)
    if rate != ESPEAK_RATE and samples.size:
        resampled = soxr.resample(samples.astype(np.float32), ESPEAK_RATE, rate, quality="HQ")
        samples = np.clip(np.rint(resampled), -32768, 32767).astype(np.int16)
    return samples.astype("<i2").tobytes()


def _render(text: str, voice: str, wpm: int) -> np.ndarray:
    """Run espeak-ng once; return its samples at :data:`ESPEAK_RATE` as int16."""
    data = text.encode("utf-8")
    with _lock:
        lib = _library()
        if lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise RuntimeError(f"espeak-ng has no voice {voice!r}")
        lib.espeak_SetParameter(_ESPEAK_RATE, wpm, 0)
        lib.espeak_SetParameter(_ESPEAK_VOLUME, _VOLUME, 0)
        _chunks.clear()
        try:
            status = lib.espeak_Synth(
                data + b"\0",
                len(data) + 1,
                0,
                _POS_CHARACTER,
                0,
                _ESPEAK_CHARS_UTF8,
                None,
                None,
            )
            if status != _EE_OK:
                raise RuntimeError(f"espeak_Synth failed with status {status}")
            lib.espeak_Synchronize()
            pcm = b"".join(_chunks)
        finally:
            _chunks.clear()
    return np.frombuffer(pcm, dtype=np.int16)


def _on_samples(wav: ctypes._Pointer, count: int, _events: int | None) -> int:
    if wav and count > 0:
        _chunks.append(ctypes.string_at(wav, count * 2))
    return 0  # 0 = keep going


def _library() -> ctypes.CDLL:
    """Load and initialise espeak-ng once; the caller holds ``_lock``."""
    global _lib, _callback
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [c_int, c_int, c_char_p, c_int]
    lib.espeak_Initialize.restype = c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [c_char_p]
    lib.espeak_SetVoiceByName.restype = c_int
    lib.espeak_SetParameter.argtypes = [c_int, c_int, c_int]
    lib.espeak_SetParameter.restype = c_int
    lib.espeak_Synth.argtypes = [
        c_char_p,  # text
        ctypes.c_size_t,  # size in bytes, including the terminating NUL
        c_uint,  # position
        c_int,  # position type
        c_uint,  # end position (0 = none)
        c_uint,  # flags
        POINTER(c_uint),  # unique identifier (unused)
        c_void_p,  # user data (unused)
    ]
    lib.espeak_Synth.restype = c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = c_int

    sample_rate = lib.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0
    )
    if sample_rate != ESPEAK_RATE:
        raise RuntimeError(f"espeak_Initialize returned {sample_rate}, expected {ESPEAK_RATE}")
    callback = _SynthCallback(_on_samples)
    lib.espeak_SetSynthCallback(callback)
    _callback = callback
    _lib = lib
    return lib
